/*
 * Mail store changes: flags and keywords (file renames), expunge, append
 * and copy.  Each takes the folder lock, brings the index up to date,
 * changes the Maildir, writes the index, and unlocks (see store.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "store/store_int.h"

#define NAME_BUF	1100

/* ---- keywords (dovecot-keywords: "<n> <name>" lines) ---- */

static int
kw_path(const struct store_mailbox *mb, char *dst, size_t dstsz)
{
	return st_join(dst, dstsz, mb->dir, "/", KEYWORDS_FILE);
}

void
kw_load(struct store_mailbox *mb)
{
	char		 path[PATH_MAX], line[512], *sp, *nl;
	struct stat	 st;
	FILE		*f;
	uint64_t	 n;
	size_t		 i;

	if (kw_path(mb, path, sizeof(path)) == -1)
		return;
	if (stat(path, &st) == -1) {
		/* No keywords file, as last time: nothing to do (no fopen). */
		if (mb->kw_loaded && mb->kw_ino == 0)
			return;
		memset(&st, 0, sizeof(st));
	} else if (st.st_ino == mb->kw_ino && st.st_size == mb->kw_size &&
	    st.st_mtim.tv_sec == mb->kw_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == mb->kw_mtime.tv_nsec)
		return;
	for (i = 0; i < STORE_MAX_KEYWORDS; i++)
		xfree(&mb->kw[i]);
	mb->kw_ino = st.st_ino;
	mb->kw_size = st.st_size;
	mb->kw_mtime = st.st_mtim;
	mb->kw_loaded = true;
	if (st.st_ino == 0 || (f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if ((sp = strchr(line, ' ')) == NULL || sp[1] == '\0' ||
		    parse_u64(line, (size_t)(sp - line), STORE_MAX_KEYWORDS - 1, &n) == -1 ||
		    mb->kw[n] != NULL)
			continue;
		mb->kw[n] = xstrdup(sp + 1);
	}
	fclose(f);
}

static int
kw_write(struct store_mailbox *mb)
{
	char	path[PATH_MAX], tmp[PATH_MAX], line[512];
	int	fd, r, saved;
	size_t	i;

	if (kw_path(mb, path, sizeof(path)) == -1 ||
	    st_join(tmp, sizeof(tmp), path, ".tmp", "") == -1)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	for (i = 0; i < STORE_MAX_KEYWORDS; i++) {
		if (mb->kw[i] == NULL)
			continue;
		r = snprintf(line, sizeof(line), "%zu %s\n", i, mb->kw[i]);
		if (r < 0 || (size_t)r >= sizeof(line) || fs_write_all(fd, line, (size_t)r) == -1)
			goto fail;
	}
	if (fsync(fd) == -1)
		goto fail;
	close(fd);
	if (rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	mb->kw_ino = 0;		/* our own write: reload to learn its stat */
	mb->kw_loaded = false;
	return 0;
fail:
	saved = errno;
	close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

const char *
store_keyword_name(const struct store_mailbox *mb, unsigned i)
{
	return i < STORE_MAX_KEYWORDS ? mb->kw[i] : NULL;
}

/* RFC 3501 flag-keyword = atom: no specials, no '\' (system flags). */
static bool
kw_valid(const char *s)
{
	size_t	len = strlen(s), i;

	if (len == 0 || len > 200)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

int
store_keyword_index(struct store_mailbox *mb, const char *name, bool create)
{
	bool	locked_here = false;
	int	i, freeslot = -1, rc = -1;

	if (!kw_valid(name)) {
		errno = EINVAL;
		return -1;
	}
	kw_load(mb);
	for (i = 0; i < STORE_MAX_KEYWORDS; i++)
		if (mb->kw[i] != NULL && strcasecmp(mb->kw[i], name) == 0)
			return i;
	if (!create) {
		errno = ENOENT;
		return -1;
	}
	if (mb->lockfd == -1) {
		if (st_lock(mb) == -1)
			return -1;
		locked_here = true;
	}
	/* Another process may have added keywords since: reread under the lock. */
	mb->kw_ino = 0;
	mb->kw_loaded = false;
	kw_load(mb);
	for (i = 0; i < STORE_MAX_KEYWORDS; i++) {
		if (mb->kw[i] != NULL && strcasecmp(mb->kw[i], name) == 0) {
			rc = i;
			goto out;
		}
		if (mb->kw[i] == NULL && freeslot == -1)
			freeslot = i;
	}
	if (freeslot == -1) {
		errno = ENOSPC;
		goto out;
	}
	mb->kw[freeslot] = xstrdup(name);
	if (kw_write(mb) == -1) {
		xfree(&mb->kw[freeslot]);
		goto out;
	}
	rc = freeslot;
out:
	if (locked_here)
		st_unlock(mb);
	return rc;
}

/* ---- flags ---- */

static uint32_t
apply_op(enum store_flag_op op, uint32_t old, uint32_t v)
{
	switch (op) {
	case STORE_FLAGS_SET:
		return v;
	case STORE_FLAGS_ADD:
		return old | v;
	case STORE_FLAGS_REMOVE:
		return old & ~v;
	}
	return old;
}

/* The rename itself; r is current (under the lock). 0, 1 (no change), -1. */
static int
rename_flags(struct store_mailbox *mb, struct ul_rec *r, enum store_flag_op op,
    uint32_t flags, uint32_t kw)
{
	char		 from[PATH_MAX], to[PATH_MAX], nname[NAME_BUF], *found;
	uint32_t	 of, ok, nf, nk;
	bool		 in_new;
	int		 tries, sfd, dfd;

	for (tries = 0; tries < 3; tries++) {
		name_flags(r->name, &of, &ok);
		nf = apply_op(op, of, flags & STORE_F_ALL);
		nk = apply_op(op, ok, kw & ((1u << STORE_MAX_KEYWORDS) - 1));
		if (nf == of && nk == ok && !r->in_new)
			return 1;
		if (name_compose(nname, sizeof(nname), r->name, r->base_len, nf, nk) == -1)
			return -1;
		sfd = st_dirfd(mb, r->in_new);
		dfd = st_dirfd(mb, false);
		if ((sfd == -1 || dfd == -1) &&
		    (st_join(from, sizeof(from), mb->dir, r->in_new ? "/new/" : "/cur/", r->name) == -1 ||
		    st_join(to, sizeof(to), mb->dir, "/cur/", nname) == -1))
			return -1;
		st_own_begin(mb);
		if ((sfd != -1 && dfd != -1 ? renameat(sfd, r->name, dfd, nname) :
		    rename(from, to)) == 0) {
			mb->dir_dirty |= ST_DIRTY_INTO_CUR(r->in_new);
			ul_name_free(mb->ul, r->name);
			r->name = xstrdup(nname);
			r->in_new = false;
			r->modseq = ++mb->ul->highestmodseq;
			ul_touch(mb->ul, r);
			return 0;
		}
		if (errno != ENOENT)
			return -1;
		/* Renamed by a program that does not take our lock: find it. */
		st_own_spoil(mb);
		if (st_find_base(mb, r->name, r->base_len, &found, &in_new) != 0) {
			errno = ENOENT;
			return -1;
		}
		ul_name_free(mb->ul, r->name);
		r->name = found;
		r->in_new = in_new;
		ul_touch(mb->ul, r);
	}
	errno = ENOENT;
	return -1;
}

int
store_set_flags(struct store_mailbox *mb, size_t idx, enum store_flag_op op,
    uint32_t flags, uint32_t keywords, uint64_t unchangedsince)
{
	struct ul_rec		*r;
	uint32_t		 uid;
	bool			 changed = false;
	int			 rc;

	if (idx >= mb->nmsgs) {
		errno = EINVAL;
		return -1;
	}
	uid = mb->vw[idx].uid;
	/* In a batch the lock is held and the index was read at its begin:
	 * nobody else can have written it since. */
	if (!mb->batch && (st_lock(mb) == -1))
		return -1;
	if (!mb->batch && (rc = st_refresh(mb, false, &changed)) == -1)
		goto out;
	r = mb->ul->uidvalidity == mb->v_uidvalidity ? ul_find_uid(mb->ul, uid) : NULL;
	if (r == NULL) {
		errno = ENOENT;
		rc = -1;
		goto out;
	}
	if (unchangedsince != 0 && r->modseq > unchangedsince) {
		rc = 1;
		goto out;
	}
	rc = rename_flags(mb, r, op, flags, keywords);
	if (rc == 1)
		rc = 0;
	else if (rc == 0)
		changed = true;
	if (rc == 0)
		st_view_flags(mb, idx, r, changed);
	else if (errno == ENOENT)
		changed = true;		/* the name we knew may have been fixed up */
out:
	if (mb->batch)
		mb->batch_dirty |= changed;
	else {
		if (changed && st_commit(mb) == -1 && rc == 0)
			rc = -1;
		st_unlock(mb);
	}
	return rc;
}

int
store_update_begin(struct store_mailbox *mb)
{
	bool	changed;

	if (mb->batch) {
		errno = EINVAL;
		return -1;
	}
	if (st_lock(mb) == -1)
		return -1;
	if (st_refresh(mb, false, &changed) == -1) {
		st_unlock(mb);
		return -1;
	}
	mb->batch = true;
	mb->batch_dirty = changed;
	/* renames relative to held new/ and cur/, unless the caller holds them already */
	mb->batch_dirs = !mb->dirs_held;
	if (mb->batch_dirs)
		store_msg_dirs_hold(mb);
	return 0;
}

int
store_update_end(struct store_mailbox *mb)
{
	int	rc = 0;

	if (!mb->batch) {
		errno = EINVAL;
		return -1;
	}
	if (mb->batch_dirty)
		rc = st_commit(mb);
	if (mb->batch_dirs)
		store_msg_dirs_release(mb);
	mb->batch = mb->batch_dirty = mb->batch_dirs = false;
	st_unlock(mb);
	return rc;
}

/* ---- expunge ---- */

int
store_expunge(struct store_mailbox *mb, const uint32_t *uids, size_t n)
{
	char		 path[PATH_MAX], *found;
	struct ul_rec	*r;
	struct stat	 st;
	size_t		 i, j, removed = 0;
	int64_t		 freed = 0;
	uint64_t	 modseq;
	bool		 changed, in_new;
	int		 rc = 0;

	if (n == 0)
		return 0;
	if (st_lock(mb) == -1)
		return -1;
	if (st_refresh(mb, false, &changed) == -1) {
		st_unlock(mb);
		return -1;
	}
	for (i = 0; i < mb->ul->n; i++)
		mb->ul->recs[i].mark = true;
	st_own_begin(mb);
	for (i = 0; i < n; i++) {
		if ((r = ul_find_uid(mb->ul, uids[i])) == NULL || !r->mark)
			continue;
		if (st_join(path, sizeof(path), mb->dir, r->in_new ? "/new/" : "/cur/", r->name) == -1)
			continue;
		/* maildirsize gets what went: a size not known yet is read now. */
		if (r->size == 0 && stat(path, &st) == 0) {
			st_rec_learn(r, (uint64_t)st.st_size, st.st_mtime);
			mb->ul->learned = true;	/* kept if the unlink fails */
		}
		if (unlink(path) == -1) {
			if (errno != ENOENT) {
				rc = -1;	/* EACCES, EIO...: keep it indexed */
				continue;
			}
			/* Renamed by a program that does not take our lock. */
			st_own_spoil(mb);
			if (st_find_base(mb, r->name, r->base_len, &found, &in_new) == 0) {
				if (st_join(path, sizeof(path), mb->dir,
				    in_new ? "/new/" : "/cur/", found) == 0 &&
				    unlink(path) == -1 && errno != ENOENT) {
					free(found);
					rc = -1;
					continue;
				}
				free(found);
			}
		}
		r->mark = false;
		removed++;
		freed += (int64_t)r->size;
	}
	if (removed > 0) {
		/* One modseq for the whole expunge, kept with the UIDs (VANISHED). */
		modseq = ++mb->ul->highestmodseq;
		for (i = j = 0; i < mb->ul->n; i++) {
			if (!mb->ul->recs[i].mark) {
				ul_expunged(mb->ul, mb->ul->recs[i].uid, modseq);
				ul_name_free(mb->ul, mb->ul->recs[i].name);
				continue;
			}
			mb->ul->recs[j++] = mb->ul->recs[i];
		}
		mb->ul->n = j;
		ul_rehash(mb->ul);
		changed = true;
	}
	if (changed && st_commit(mb) == -1)
		rc = -1;
	/* The cache loses the records of what went (when they add up). */
	if (rc == 0 && removed > 0)
		cache_compact(mb, removed);
	st_unlock(mb);
	st_quota_note(mb->root, -freed, -(int64_t)removed);
	return rc;
}

/* ---- append and copy ---- */

/*
 * Link the finished tmp file into cur/ as name and give it the next UID,
 * under the lock.  The tmp file is removed in every case.
 */
static int
commit_new(struct store_mailbox *mb, const char *tmppath, const char *name,
    uint64_t size, uint64_t vsize, int64_t idate, uint32_t *uid_r)
{
	char		 path[PATH_MAX];
	struct ul_rec	*r;
	bool		 changed;
	int		 saved;

	if (st_join(path, sizeof(path), mb->dir, "/cur/", name) == -1)
		goto fail_nolock;
	if (st_lock(mb) == -1)
		goto fail_nolock;
	if (st_refresh(mb, false, &changed) == -1)
		goto fail;
	st_own_begin(mb);
	if (link(tmppath, path) == -1)
		goto fail;
	r = ul_add(mb->ul);
	r->uid = mb->ul->uidnext++;
	r->modseq = ++mb->ul->highestmodseq;
	r->name = xstrdup(name);
	r->base_len = (uint16_t)name_base_len(name);
	r->size = size;
	r->vsize = vsize;
	r->idate = idate;
	ul_touch(mb->ul, r);
	ul_hash_last(mb->ul);
	mb->dir_dirty |= ST_DIRTY_CUR;	/* linked into cur/ */
	if (st_commit(mb) == -1) {
		saved = errno;
		unlink(path);
		mb->ul->loaded = false;	/* reread on next use */
		errno = saved;
		goto fail;
	}
	if (uid_r != NULL)
		*uid_r = r->uid;
	st_unlock(mb);
	st_quota_note(mb->root, (int64_t)size, 1);
	unlink(tmppath);
	return 0;
fail:
	saved = errno;
	st_unlock(mb);
	errno = saved;
fail_nolock:
	saved = errno;
	unlink(tmppath);
	errno = saved;
	return -1;
}

struct store_append {
	struct store_mailbox	*mb;
	int			 fd;
	bool			 failed;
	bool			 held_cr;	/* the last write ended in CR */
	bool			 raw;		/* bytes kept as they come (store_append_raw) */
	bool			 last_cr;	/* raw: the last byte written was CR */
	uint64_t		 size, lfs;	/* lfs: LFs the CRLF form adds a CR to */
	char			 base[256];
	char			 tmppath[PATH_MAX];
};

struct store_append *
store_append_begin(struct store_mailbox *mb)
{
	struct store_append	*a;

	a = xcalloc(1, sizeof(*a));
	a->mb = mb;
	if (name_unique(a->base, sizeof(a->base)) == -1 ||
	    st_join(a->tmppath, sizeof(a->tmppath), mb->dir, "/tmp/", a->base) == -1)
		goto fail;
	a->fd = open(a->tmppath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (a->fd == -1)
		goto fail;
	return a;
fail:
	free(a);
	return NULL;
}

static int
append_out(struct store_append *a, const char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (fs_write_all(a->fd, p, n) == -1) {
		a->failed = true;
		return -1;
	}
	a->size += n;
	return 0;
}

/*
 * LF on disk (as Postfix, Courier and Dovecot write Maildirs): the CR of
 * each CRLF is dropped, a CR elsewhere kept; each LF counts one byte more
 * in the CRLF size (,W=).
 */
void
store_append_raw(struct store_append *a)
{
	a->raw = true;
}

/* Raw: the file keeps every byte; only LFs without a CR before them count. */
static int
append_raw(struct store_append *a, const char *s, size_t n)
{
	a->lfs += str_bare_lfs(s, n, a->last_cr);
	if (n > 0)
		a->last_cr = s[n - 1] == '\r';
	return append_out(a, s, n);
}

int
store_append_write(struct store_append *a, const void *p, size_t n)
{
	const char	*s = p, *end = s + n, *q, *nl;

	if (a->failed)
		return -1;
	if (a->raw)
		return append_raw(a, s, n);
	if (n > 0 && a->held_cr) {
		a->held_cr = false;
		if (*s != '\n' && append_out(a, "\r", 1) == -1)
			return -1;
	}
	for (q = s; q < end && (nl = memchr(q, '\n', (size_t)(end - q))) != NULL; q = nl + 1)
		a->lfs++;
	while (s < end) {
		if ((q = memchr(s, '\r', (size_t)(end - s))) == NULL)
			return append_out(a, s, (size_t)(end - s));
		if (append_out(a, s, (size_t)(q - s)) == -1)
			return -1;
		if (q + 1 == end) {
			a->held_cr = true;
			return 0;
		}
		if (q[1] != '\n' && append_out(a, "\r", 1) == -1)
			return -1;
		s = q + 1;
	}
	return 0;
}

void
store_append_abort(struct store_append **ap)
{
	struct store_append	*a = *ap;

	if (a == NULL)
		return;
	if (a->fd != -1)
		close(a->fd);
	unlink(a->tmppath);
	free(a);
	*ap = NULL;
}

/* ",E=<hex>" after a fresh unique name: the EMAILID m has (see name_emailid). */
static int
with_emailid(char *unique, size_t sz, const struct store_msg *m)
{
	size_t	n = strlen(unique);
	int	r = snprintf(unique + n, sz - n, ",E=%016llx",
		    (unsigned long long)name_emailid(m->name, m->base_len));

	if (r < 0 || (size_t)r >= sz - n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Base name with the Maildir++ sizes: "<unique>,S=<size>[,W=<vsize>]". */
static int
sized_base(char *dst, size_t dstsz, const char *unique, uint64_t size, uint64_t vsize)
{
	int	r;

	if (vsize != size)
		r = snprintf(dst, dstsz, "%s,S=%llu,W=%llu", unique,
		    (unsigned long long)size, (unsigned long long)vsize);
	else
		r = snprintf(dst, dstsz, "%s,S=%llu", unique, (unsigned long long)size);
	if (r < 0 || (size_t)r >= dstsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
set_idate(int fd, int64_t idate)
{
	struct timespec	ts[2];

	ts[0].tv_sec = ts[1].tv_sec = (time_t)idate;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	return futimens(fd, ts);
}

int
store_append_commit(struct store_append **ap, uint32_t flags, uint32_t keywords,
    int64_t idate, uint32_t *uid_r)
{
	struct store_append	*a = *ap;
	char			 base[NAME_BUF], name[NAME_BUF];
	uint64_t		 vsize;
	int			 rc, saved;

	if (a->held_cr && append_out(a, "\r", 1) == -1)
		goto fail;
	if (a->failed)
		goto fail;
	if (idate <= 0)
		idate = time(NULL);
	/* The date first: the fsync then makes it durable too. */
	if (set_idate(a->fd, idate) == -1 ||
	    (!(a->mb->oflags & STORE_O_NOFSYNC) && fsync(a->fd) == -1))
		goto fail;
	if (close(a->fd) == -1) {
		a->fd = -1;
		goto fail;
	}
	a->fd = -1;
	vsize = a->size + a->lfs;
	if (sized_base(base, sizeof(base), a->base, a->size, vsize) == -1 ||
	    name_compose(name, sizeof(name), base, strlen(base), flags & STORE_F_ALL,
	    keywords & ((1u << STORE_MAX_KEYWORDS) - 1)) == -1)
		goto fail;
	rc = commit_new(a->mb, a->tmppath, name, a->size, vsize, idate, uid_r);
	free(a);
	*ap = NULL;
	return rc;
fail:
	saved = errno;
	store_append_abort(ap);
	errno = saved;
	return -1;
}

int
store_append(struct store_mailbox *mb, const void *data, size_t len, uint32_t flags,
    uint32_t keywords, int64_t idate, uint32_t *uid_r)
{
	struct store_append	*a;
	int			 saved;

	if ((a = store_append_begin(mb)) == NULL)
		return -1;
	if (store_append_write(a, data, len) == -1) {
		saved = errno;
		store_append_abort(&a);
		errno = saved;
		return -1;
	}
	return store_append_commit(&a, flags, keywords, idate, uid_r);
}

/* Byte copy of src's message into tmppath (when a hard link is impossible). */
static int
copy_bytes(struct store_mailbox *src, size_t idx, const char *tmppath, int64_t idate,
    bool dosync)
{
	struct stat	st;
	int		in, out, saved;

	if ((in = store_msg_open(src, idx)) == -1)
		return -1;
	out = open(tmppath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out == -1 || fstat(in, &st) == -1 ||
	    fs_copy_range(in, 0, st.st_size, out) == -1 ||
	    set_idate(out, idate) == -1 || (dosync && fsync(out) == -1)) {
		saved = errno;
		close(in);
		if (out != -1) {
			close(out);
			unlink(tmppath);
		}
		errno = saved;
		return -1;
	}
	close(in);
	return close(out);
}

int
store_copy(struct store_mailbox *src, size_t idx, struct store_mailbox *dst, uint32_t *uid_r)
{
	char			 unique[256], base[NAME_BUF], name[NAME_BUF];
	char			 from[PATH_MAX], tmppath[PATH_MAX];
	struct store_msg	 msg, *m = &msg;
	uint32_t		 kw = 0;
	int64_t			 idate;
	int			 i, k, tries;

	/* The copy's name carries the sizes (",S="): learn them if need be. */
	if (store_msg_get(src, idx, m) == -1)
		return -1;
	if (m->name[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (store_msg_size(src, idx, m) == -1)
		return -1;
	kw_load(src);
	for (i = 0; i < STORE_MAX_KEYWORDS; i++) {
		if (!(m->keywords & (1u << i)) || src->kw[i] == NULL)
			continue;
		if ((k = store_keyword_index(dst, src->kw[i], true)) >= 0)
			kw |= 1u << k;
	}
	idate = store_msg_idate(src, idx);
	/* RFC 8474 5.1: the copy keeps the original's EMAILID, in its name */
	if (name_unique(unique, sizeof(unique)) == -1 || with_emailid(unique, sizeof(unique), m) == -1 ||
	    sized_base(base, sizeof(base), unique, m->size, m->vsize) == -1 ||
	    name_compose(name, sizeof(name), base, strlen(base), m->flags, kw) == -1 ||
	    st_join(tmppath, sizeof(tmppath), dst->dir, "/tmp/", base) == -1)
		return -1;
	for (tries = 0;; tries++) {
		if (st_join(from, sizeof(from), src->dir, m->in_new ? "/new/" : "/cur/",
		    m->name) == -1)
			return -1;
		if (link(from, tmppath) == 0)
			break;
		if (errno == ENOENT && tries < 2) {
			if (st_relocate(src, m) == -1)
				return -1;
			continue;
		}
		/* EXDEV, EMLINK, EPERM (no hard links here): copy the bytes. */
		if (copy_bytes(src, idx, tmppath, idate,
		    !(dst->oflags & STORE_O_NOFSYNC)) == -1)
			return -1;
		break;
	}
	return commit_new(dst, tmppath, name, m->size, m->vsize, idate, uid_r);
}
