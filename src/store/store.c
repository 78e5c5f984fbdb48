/*
 * Mail store: mailbox handles, the folder lock, syncing the index with
 * cur/ + new/ (one readdir each) and the session's view with the index.
 * See store.h for the on-disk layout and the guarantees.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "store/store_int.h"

#define NAME_MAX_LEN	1000	/* longer Maildir names are not ours to index */
#define TMP_CLEAN_EVERY	3600

static time_t tmp_max_age = 36 * 3600;

int
st_join(char *dst, size_t dstsz, const char *a, const char *b, const char *c)
{
	int	r = snprintf(dst, dstsz, "%s%s%s", a, b, c);

	if (r < 0 || (size_t)r >= dstsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

uint64_t
st_ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* Directory mtimes have a coarse clock: a change in the same tick as the
 * scan is invisible, so only mtimes over a second older than it count. */
bool
st_scan_trusted(uint64_t new_ns, uint64_t cur_ns, int64_t scan_at)
{
	uint64_t	newest = new_ns > cur_ns ? new_ns : cur_ns;

	return scan_at > 0 && newest / 1000000000u + 1 < (uint64_t)scan_at;
}

/*
 * May a sync at time now take the recorded scan for the folder when the
 * directories still have its mtimes?  Yes when it is settled (trusted);
 * and also while it is young: what it can miss is a change by another
 * program within the same clock tick as the mtime it recorded (that
 * tick's mtime does not move).  Reading the directories at every sync
 * while the tick is young (110-190 ms at 100k messages) does not buy
 * much, since a change in that tick shows up no later than the re-check
 * that is due once the tick is old enough (a scan then is settled), or
 * SCAN_RECHECK_MAX after the record's scan_at when our own changes keep
 * the mtime young (see st_own_adopt).  Dovecot's maildir sync does the
 * same (its DIR_DELAYED_REFRESH).
 */
bool
st_scan_usable(uint64_t new_ns, uint64_t cur_ns, int64_t scan_at, int64_t now)
{
	if (st_scan_trusted(new_ns, cur_ns, scan_at))
		return true;
	return scan_at > 0 && !st_scan_trusted(new_ns, cur_ns, now) &&
	    now <= scan_at + SCAN_RECHECK_MAX;
}

/* ---- open / close ---- */

static int
make_maildir(const char *dir, bool folder)
{
	static const char *const subs[] = { "/cur", "/new", "/tmp" };
	char	path[PATH_MAX];
	size_t	i;
	int	fd;

	if (fs_mkdir_p(dir, 0700) == -1)
		return -1;
	for (i = 0; i < 3; i++) {
		if (st_join(path, sizeof(path), dir, subs[i], "") == -1)
			return -1;
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			return -1;
	}
	if (folder) {
		/* Maildir++: marks a folder (Courier's maildirquota looks for it). */
		if (st_join(path, sizeof(path), dir, "/maildirfolder", "") == -1)
			return -1;
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd != -1)
			close(fd);
	}
	return fs_fsync_dir(dir);
}

struct store_mailbox *
store_open(const char *root, const char *folder, int flags)
{
	struct store_mailbox	*mb;
	char			 dir[PATH_MAX], cur[PATH_MAX];
	struct stat		 st;

	if (store_folder_path(root, folder, dir, sizeof(dir)) == -1 ||
	    st_join(cur, sizeof(cur), dir, "/cur", "") == -1)
		return NULL;
	if (stat(cur, &st) == -1) {
		if (errno != ENOENT || !(flags & STORE_O_CREATE))
			return NULL;
		if (make_maildir(dir, strcasecmp(folder, "INBOX") != 0) == -1)
			return NULL;
	} else if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return NULL;
	}
	mb = xcalloc(1, sizeof(*mb));
	mb->root = xstrdup(root);
	mb->name = xstrdup(folder);
	mb->dir = xstrdup(dir);
	mb->oflags = flags;
	mb->lockfd = -1;
	mb->dirfd[0] = mb->dirfd[1] = -1;
	mb->fmu = fmutex_get(dir);
	mb->ul = mb->fmu != NULL ? fmutex_ul(mb->fmu) : &mb->own_ul;
	mb->cache.sh = mb->fmu != NULL ? fmutex_cache(mb->fmu) : &mb->cache.own_sh;
	return mb;
}

void
store_close(struct store_mailbox **mbp)
{
	struct store_mailbox	*mb = *mbp;
	size_t			 i;

	if (mb == NULL)
		return;
	if (mb->lockfd != -1)
		st_unlock(mb);
	store_msg_dirs_release(mb);
	fmutex_put(&mb->fmu);
	ul_clear(&mb->own_ul);
	cache_reset(mb);
	st_view_free(mb);
	for (i = 0; i < STORE_MAX_KEYWORDS; i++)
		free(mb->kw[i]);
	free(mb->root);
	free(mb->name);
	free(mb->dir);
	free(mb);
	*mbp = NULL;
}

/* ---- scan of cur/ + new/ ---- */

struct pending {
	char	*name;
	size_t	 base_len;
	bool	 in_new;
	int64_t	 sec, usec;
};

/* A file name seen for an indexed base that is not the indexed name. */
struct sighting {
	char	*name;
	bool	 in_new;
};

struct scan {
	struct pending	*p;
	size_t		 n, cap;
	struct sighting	*alt;
	size_t		 nalt, altcap;
	/* For a rec with seen == SEEN_OTHER: its sighting in alt, by rec
	 * index (made at the first one; a rec has no room for an index). */
	uint32_t	*alt_of;
	struct sighting	*dup;		/* second files with an indexed base */
	size_t		 ndup, dupcap;
	/* cur/ and new/ open after the readdirs: a rename or stat relative
	 * to them spares the kernel a walk of the whole path per message
	 * (the rename of 100,000 new files by full path was half of a cold
	 * SELECT).  -1 when it could not be opened (the op then fails). */
	int		 dfd_cur, dfd_new;
};

/* Sizes from the name's ",S="/",W=" alone; without ",S=" unknown (0). */
static void
rec_name_sizes(struct ul_rec *r)
{
	if (!name_size(r->name, r->base_len, 'S', &r->size)) {
		r->size = r->vsize = 0;
		return;
	}
	if (!name_size(r->name, r->base_len, 'W', &r->vsize))
		r->vsize = r->size;
}

/*
 * May the scan leave the sizes of nnew new files without ",S=" unknown
 * (read when something asks: store_msg_size, store_fill_sizes, as the
 * internal date is)?  A first SELECT of mail dropped into new/ then stats
 * no file (a stat each was a third of its system time, as Dovecot reads
 * sizes lazily).  Yes when the commit writes a new snapshot anyway -- a
 * rebuilt index, or a batch big next to the folder -- since the
 * snapshot's header must count the unknown sizes (ullog.c
 * needs_compaction); a few new files in a big folder are stat()ed
 * rather than rewrite its whole index.
 */
static bool
sizes_lazy(const struct store_mailbox *mb, size_t nnew)
{
	return !mb->ul->log_ok || nnew * 8 >= mb->ul->n;
}

/* The sizes of a new record, with a stat when the name lacks them (not lazy). */
static void
rec_new_sizes(const struct scan *sc, struct ul_rec *r, bool lazy)
{
	struct stat	st;

	rec_name_sizes(r);
	if (r->size != 0 || lazy ||
	    fstatat(r->in_new ? sc->dfd_new : sc->dfd_cur, r->name, &st, 0) == -1)
		return;
	st_rec_learn(r, (uint64_t)st.st_size, st.st_mtime);
	r->learned = false;	/* a new record: committed with the rest */
}

/* Another program renamed the file: a flag change gets its own modseq. */
static void
rec_set_name(struct uidlist *ul, struct ul_rec *r, const char *name, bool in_new)
{
	uint32_t	of, ok, nf, nk;

	name_flags(r->name, &of, &ok);
	name_flags(name, &nf, &nk);
	if (of != nf || ok != nk)
		r->modseq = ++ul->highestmodseq;
	ul_name_free(ul, r->name);
	r->name = xstrdup(name);
	r->in_new = in_new;
	ul_touch(ul, r);
}

static size_t
sighting_push(struct sighting **v, size_t *n, size_t *cap, const char *name, bool in_new)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[*n].name = xstrdup(name);
	(*v)[*n].in_new = in_new;
	return (*n)++;
}

/*
 * A file whose base name is indexed.  When two files carry one base (a
 * cp, a restore, or one file seen in new/ and again in cur/ because it
 * moved during the scan), the one to keep is in cur/ and, among those,
 * has exactly the indexed name; the other is a duplicate (see dup_rename).
 */
/* The sighting of rec r (seen == SEEN_OTHER) in sc->alt. */
static struct sighting *
alt_get(const struct scan *sc, const struct uidlist *ul, const struct ul_rec *r)
{
	return &sc->alt[sc->alt_of[r - ul->recs]];
}

/* r was seen under another name: note it (r->seen = SEEN_OTHER). */
static void
alt_set(struct scan *sc, const struct uidlist *ul, struct ul_rec *r, const char *name,
    bool in_new)
{
	if (sc->alt_of == NULL)
		sc->alt_of = xcalloc(ul->n, sizeof(*sc->alt_of));
	sc->alt_of[r - ul->recs] =
	    (uint32_t)sighting_push(&sc->alt, &sc->nalt, &sc->altcap, name, in_new);
	r->seen = SEEN_OTHER;
}

static void
sight(struct scan *sc, const struct uidlist *ul, struct ul_rec *r, const char *name,
    bool in_new)
{
	bool		 exact = in_new == r->in_new && strcmp(name, r->name) == 0;
	struct sighting	*k = NULL;
	const char	*kname;
	bool		 kin_new, kexact;

	if (!r->mark) {
		r->mark = true;
		if (exact)
			r->seen = SEEN_EXACT;
		else
			alt_set(sc, ul, r, name, in_new);
		return;
	}
	kexact = r->seen == SEEN_EXACT;
	if (!kexact)
		k = alt_get(sc, ul, r);
	kname = kexact ? r->name : k->name;
	kin_new = kexact ? r->in_new : k->in_new;
	if ((kin_new && !in_new) || (kin_new == in_new && exact && !kexact)) {
		(void)sighting_push(&sc->dup, &sc->ndup, &sc->dupcap, kname, kin_new);
		if (exact)
			r->seen = SEEN_EXACT;
		else if (kexact)
			alt_set(sc, ul, r, name, in_new);
		else {
			free(k->name);
			k->name = xstrdup(name);
			k->in_new = in_new;
		}
	} else
		(void)sighting_push(&sc->dup, &sc->ndup, &sc->dupcap, name, in_new);
}

static void
pending_push(struct scan *sc, char *name, size_t base, bool in_new)
{
	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 64;
		sc->p = xreallocarray(sc->p, sc->cap, sizeof(*sc->p));
	}
	sc->p[sc->n].name = name;
	sc->p[sc->n].base_len = base;
	sc->p[sc->n].in_new = in_new;
	name_time(name, &sc->p[sc->n].sec, &sc->p[sc->n].usec);
	sc->n++;
}

static int
scan_dir(struct store_mailbox *mb, bool in_new, struct scan *sc)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	struct ul_rec	*r;
	size_t		 len, base;

	if (st_join(path, sizeof(path), mb->dir, in_new ? "/new" : "/cur", "") == -1)
		return -1;
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		len = strlen(de->d_name);
		if (len > NAME_MAX_LEN || memchr(de->d_name, '\n', len) != NULL)
			continue;
		base = name_base_len(de->d_name);
		r = mb->ul->hcap ? ul_find_base(mb->ul, de->d_name, base) : NULL;
		if (r != NULL)
			sight(sc, mb->ul, r, de->d_name, in_new);
		else
			pending_push(sc, xstrdup(de->d_name), base, in_new);
	}
	closedir(d);
	return 0;
}

static void
sightings_free(struct sighting **v, size_t *n, size_t *cap)
{
	size_t	i;

	for (i = 0; i < *n; i++)
		free((*v)[i].name);
	free(*v);
	*v = NULL;
	*n = *cap = 0;
}

static void
scan_free(struct scan *sc)
{
	size_t	i;

	for (i = 0; i < sc->n; i++)
		free(sc->p[i].name);
	free(sc->p);
	sightings_free(&sc->alt, &sc->nalt, &sc->altcap);
	free(sc->alt_of);
	sightings_free(&sc->dup, &sc->ndup, &sc->dupcap);
	if (sc->dfd_cur != -1)
		close(sc->dfd_cur);
	if (sc->dfd_new != -1)
		close(sc->dfd_new);
	memset(sc, 0, sizeof(*sc));
	sc->dfd_cur = sc->dfd_new = -1;
}

/* New mail in arrival order; the same base twice (moved mid-scan): cur/ first. */
static int
pending_cmp(const void *a, const void *b)
{
	const struct pending	*x = a, *y = b;
	size_t			 n = x->base_len < y->base_len ? x->base_len : y->base_len;
	int			 c;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if (x->usec != y->usec)
		return x->usec < y->usec ? -1 : 1;
	if ((c = memcmp(x->name, y->name, n)) != 0)
		return c;
	if (x->base_len != y->base_len)
		return x->base_len < y->base_len ? -1 : 1;
	return (int)x->in_new - (int)y->in_new;
}

static int
scan_stat_dirs(struct store_mailbox *mb, struct timespec *cur, struct timespec *new)
{
	char		path[PATH_MAX];
	struct stat	st;

	if (st_join(path, sizeof(path), mb->dir, "/cur", "") == -1 || stat(path, &st) == -1)
		return -1;
	*cur = st.st_mtim;
	if (st_join(path, sizeof(path), mb->dir, "/new", "") == -1 || stat(path, &st) == -1)
		return -1;
	*new = st.st_mtim;
	return 0;
}

/*
 * A second file with a base name already in use gets a fresh base (as
 * Dovecot does), keeping its ",S=/,W=" fields and flags, so it becomes a
 * message of its own.  Returns the new name (malloc), or NULL when the file
 * is gone (it was the same file seen twice mid-rename).
 */
static char *
dup_rename(struct store_mailbox *mb, const char *name, bool in_new)
{
	char		 from[PATH_MAX], to[PATH_MAX], uniq[300], nname[NAME_MAX_LEN + 400];
	const char	*sub = in_new ? "/new/" : "/cur/";
	size_t		 base = name_base_len(name);
	const char	*fields = memchr(name, ',', base);
	int		 r;

	if (name_unique(uniq, sizeof(uniq)) == -1)
		return NULL;
	st_own_begin(mb);
	r = snprintf(nname, sizeof(nname), "%s%.*s%s", uniq,
	    fields != NULL ? (int)(base - (size_t)(fields - name)) : 0,
	    fields != NULL ? fields : "", name + base);
	if (r < 0 || (size_t)r >= sizeof(nname) ||
	    st_join(from, sizeof(from), mb->dir, sub, name) == -1 ||
	    st_join(to, sizeof(to), mb->dir, sub, nname) == -1)
		return NULL;
	if (rename(from, to) == -1) {
		if (errno != ENOENT)
			log_warn("store: rename duplicate %s", from);
		return NULL;
	}
	log_info("store: %s%s has a base name already in use: renamed to %s", mb->dir, sub,
	    nname);
	mb->dir_dirty |= in_new ? ST_DIRTY_NEW : ST_DIRTY_CUR;
	return xstrdup(nname);
}

/* Give new mail its UIDs (moving it into cur/ unless KEEP_NEW). */
static void
assign_new(struct store_mailbox *mb, struct scan *sc)
{
	char		 nname[NAME_MAX_LEN + 400], *dn;
	char		 prev[NAME_MAX_LEN + 1];
	struct pending	*p;
	struct ul_rec	*r;
	size_t		 i, prev_len = 0;
	bool		 in_new, have_prev = false, lazy = sizes_lazy(mb, sc->n);

	qsort(sc->p, sc->n, sizeof(*sc->p), pending_cmp);
	for (i = 0; i < sc->n; i++) {
		p = &sc->p[i];
		/* Same base as the one before (cur/ sorts first): a copy, or
		 * the same file seen twice while it moved. */
		if (have_prev && p->base_len == prev_len && memcmp(p->name, prev, prev_len) == 0) {
			if ((dn = dup_rename(mb, p->name, p->in_new)) == NULL)
				continue;
			free(p->name);
			p->name = dn;
			p->base_len = name_base_len(dn);
		} else if (p->base_len <= NAME_MAX_LEN) {
			memcpy(prev, p->name, p->base_len);
			prev_len = p->base_len;
			have_prev = true;
		}
		in_new = p->in_new;
		if (in_new && !(mb->oflags & STORE_O_KEEP_NEW) &&
		    name_compose(nname, sizeof(nname), p->name, p->base_len, 0, 0) == 0) {
			st_own_begin(mb);
			/* No dir_dirty: see move_indexed_new. */
			if (renameat(sc->dfd_new, p->name, sc->dfd_cur, nname) == 0) {
				free(p->name);
				p->name = xstrdup(nname);
				in_new = false;
			} else if (errno == ENOENT) {
				st_own_spoil(mb);
				continue;	/* moved by someone else: next scan */
			}
		}
		r = ul_add(mb->ul);
		r->uid = mb->ul->uidnext++;
		r->modseq = ++mb->ul->highestmodseq;
		r->name = p->name;
		p->name = NULL;
		r->base_len = (uint16_t)p->base_len;
		r->in_new = in_new;
		rec_new_sizes(sc, r, lazy);
		ul_touch(mb->ul, r);
	}
}

/* Messages indexed while in new/ (by a KEEP_NEW handle) move to cur/ too.
 * false when one was not in new/ any more (moved by another program). */
static bool
move_indexed_new(struct store_mailbox *mb, const struct scan *sc)
{
	char		 nname[NAME_MAX_LEN + 64];
	struct ul_rec	*r;
	size_t		 i;
	bool		 all = true;

	for (i = 0; i < mb->ul->n && mb->ul->nnew > 0; i++) {
		r = &mb->ul->recs[i];
		if (!r->in_new ||
		    name_compose(nname, sizeof(nname), r->name, r->base_len, 0, 0) == -1)
			continue;
		st_own_begin(mb);
		if (renameat(sc->dfd_new, r->name, sc->dfd_cur, nname) == -1) {
			if (errno == ENOENT) {
				st_own_spoil(mb);
				all = false;
			}
			continue;
		}
		ul_name_free(mb->ul, r->name);
		r->name = xstrdup(nname);
		r->in_new = false;
		/*
		 * No fsync of cur/ and new/ for this move (dir_dirty): lost in a
		 * power cut, the file is back in new/ under the same base name
		 * and no flags, which the next scan maps to the same UID and
		 * moves again; nothing a client was told changes.  (A flag
		 * change or an APPEND's link must reach the disk, this need not:
		 * two fsyncs less in a first SELECT; Dovecot syncs neither.)
		 */
		ul_touch(mb->ul, r);
	}
	return all;
}

/* After the readdirs: renamed files, fresh bases for duplicates. */
static void
scan_apply(struct store_mailbox *mb, struct scan *sc)
{
	struct ul_rec	*r;
	char		*dn;
	size_t		 i;

	for (i = 0; i < mb->ul->n; i++) {
		r = &mb->ul->recs[i];
		if (r->mark && r->seen == SEEN_OTHER)
			rec_set_name(mb->ul, r, alt_get(sc, mb->ul, r)->name,
			    alt_get(sc, mb->ul, r)->in_new);
		/* Imported (base names only) or renamed to a name with ",S=". */
		if (r->mark && r->size == 0 && name_size(r->name, r->base_len, 'S', &r->size)) {
			rec_name_sizes(r);
			ul_touch(mb->ul, r);
		}
	}
	for (i = 0; i < sc->ndup; i++) {
		if ((dn = dup_rename(mb, sc->dup[i].name, sc->dup[i].in_new)) != NULL)
			pending_push(sc, dn, name_base_len(dn), sc->dup[i].in_new);
	}
}

/*
 * Record in the index what this scan saw (the directories' mtimes before
 * the readdirs, at scan_at), so later syncs and store_status() can take
 * the index for the folder while they stay the same (st_scan_usable);
 * a settled record of the same mtimes is kept as it is.
 */
static void
note_scan(struct store_mailbox *mb, const struct timespec *cur, const struct timespec *new,
    int64_t scan_at)
{
	struct uidlist	*ul = mb->ul;
	uint64_t	 nns = st_ts_ns(new), cns = st_ts_ns(cur);
	bool		 same = ul->scan_new_ns == nns && ul->scan_cur_ns == cns;

	if (same && (ul->scan_at == scan_at ||
	    st_scan_trusted(ul->scan_new_ns, ul->scan_cur_ns, ul->scan_at)))
		return;
	ul->scan_new_ns = nns;
	ul->scan_cur_ns = cns;
	ul->scan_at = scan_at;
	ul->version++;
}

/*
 * Our own changes to cur/ and new/ (flag renames, expunges, appends, the
 * moves out of new/ of a scan) move the directories' mtimes, and the next
 * sync would read them again.  Under the lock, before the first change,
 * st_own_begin checks that the directories still have the recorded mtimes
 * (nobody else changed them since the index was made to match); then at
 * the commit st_own_adopt records the mtimes our changes left as the
 * index's.  What this can miss is a change by a program that does not
 * take our lock, made between that check and the stat after our last
 * change, or in the same tick as that stat: the recorded scan stays young
 * (see st_scan_usable) and is checked by a readdir once its tick is old.
 */
void
st_own_begin(struct store_mailbox *mb)
{
	struct timespec	cur, new;

	if (mb->own_state != OWN_UNKNOWN)
		return;
	mb->own_state = scan_stat_dirs(mb, &cur, &new) == 0 &&
	    st_ts_ns(&cur) == mb->ul->scan_cur_ns && st_ts_ns(&new) == mb->ul->scan_new_ns &&
	    mb->ul->scan_at > 0 ? OWN_ADOPT : OWN_NO;
}

/* Something changed under us that the recorded scan did not see. */
void
st_own_spoil(struct store_mailbox *mb)
{
	mb->own_state = OWN_NO;
}

/*
 * A message file was not where the index said (renamed by a program that
 * does not take our lock): the recorded scan missed it (a change in its
 * tick), so the next sync of any handle reads the directories.
 */
void
st_scan_suspect(struct store_mailbox *mb)
{
	bool	locked = mb->lockfd != -1;

	if (!locked && st_mutex_lock(mb) == -1)
		return;
	mb->ul->scan_at = 0;
	if (!locked)
		st_mutex_unlock(mb);
}

/*
 * At the commit of our changes: the directories' mtimes are ours.  A
 * settled record becomes a young one of now; a young one keeps its
 * scan_at, so a run of changes gets its re-check SCAN_RECHECK_MAX after
 * the first at the latest.
 */
static void
st_own_adopt(struct store_mailbox *mb)
{
	struct uidlist	*ul = mb->ul;
	struct timespec	 cur, new;

	if (mb->own_state != OWN_ADOPT)
		return;
	if (scan_stat_dirs(mb, &cur, &new) == -1) {
		mb->own_state = OWN_NO;
		return;
	}
	if (st_ts_ns(&cur) == ul->scan_cur_ns && st_ts_ns(&new) == ul->scan_new_ns)
		return;
	if (st_scan_trusted(ul->scan_new_ns, ul->scan_cur_ns, ul->scan_at))
		ul->scan_at = time(NULL);
	ul->scan_new_ns = st_ts_ns(&new);
	ul->scan_cur_ns = st_ts_ns(&cur);
	ul->version++;
}

/* mail_fsync: read by every worker thread, set at start and on reload. */
static _Atomic int fsync_mode = STORE_FSYNC_OPTIMIZED;

void
store_set_fsync(enum store_fsync mode)
{
	atomic_store_explicit(&fsync_mode, (int)mode, memory_order_relaxed);
}

enum store_fsync
store_get_fsync(void)
{
	return (enum store_fsync)atomic_load_explicit(&fsync_mode, memory_order_relaxed);
}

void
store_set_tmp_max_age(time_t secs)
{
	tmp_max_age = secs;
}

/*
 * Maildir: a file left in tmp/ for 36 hours is a writer that died; remove
 * it (what qmail, Courier and Dovecot do).  At most once an hour per handle.
 * Its age counts from the last change of any time: an APPEND in progress
 * sets the mtime to the internal date (maybe years ago), but that moves
 * the ctime to now.
 */
static void
clean_tmp(struct store_mailbox *mb)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	time_t		 now = time(NULL);

	if (mb->tmp_cleaned != 0 && now - mb->tmp_cleaned < TMP_CLEAN_EVERY)
		return;
	mb->tmp_cleaned = now;
	if (st_join(path, sizeof(path), mb->dir, "/tmp", "") == -1 || (d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode) || now - st.st_mtime < tmp_max_age ||
		    now - st.st_atime < tmp_max_age || now - st.st_ctime < tmp_max_age)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			log_info("store: removed %s/%s (left over by a writer that died)", path, de->d_name);
	}
	closedir(d);
}

static int
scan_dir_fd(const struct store_mailbox *mb, const char *sub)
{
	char	path[PATH_MAX];

	if (st_join(path, sizeof(path), mb->dir, sub, "") == -1)
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Read cur/ and new/ and bring mb->ul up to date.  Under the lock. */
static int
do_scan(struct store_mailbox *mb, bool *changed)
{
	struct scan	 sc;
	struct timespec	 cur, new;
	uint64_t	 v0 = mb->ul->version, modseq;
	size_t		 i, j, missing;
	int64_t		 scan_at;
	int		 pass;

	/* Before the stat: mail arriving from now on sets it again. */
	if (mb->fmu != NULL)
		fmutex_clear_arrived(mb->fmu);
	if (scan_stat_dirs(mb, &cur, &new) == -1)
		return -1;
	scan_at = time(NULL);
	mb->scans++;
	memset(&sc, 0, sizeof(sc));
	sc.dfd_cur = sc.dfd_new = -1;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < mb->ul->n; i++) {
			mb->ul->recs[i].mark = false;
			mb->ul->recs[i].seen = SEEN_NONE;
		}
		/* new/ before cur/: a message moved between the two reads is seen. */
		if (scan_dir(mb, true, &sc) == -1 || scan_dir(mb, false, &sc) == -1) {
			scan_free(&sc);
			return -1;
		}
		for (i = missing = 0; i < mb->ul->n; i++)
			if (!mb->ul->recs[i].mark)
				missing++;
		/*
		 * readdir() may miss an entry renamed during the scan (another
		 * program changing flags): before calling a message expunged, look
		 * once more.
		 */
		if (missing == 0 || pass == 1)
			break;
		scan_free(&sc);
	}
	/* What the readdirs saw; the renames below are ours (st_own_begin). */
	note_scan(mb, &cur, &new, scan_at);
	mb->own_state = OWN_UNKNOWN;
	sc.dfd_cur = scan_dir_fd(mb, "/cur");
	sc.dfd_new = scan_dir_fd(mb, "/new");
	scan_apply(mb, &sc);
	if (missing > 0) {
		/* Gone without store_expunge (a POP3 DELE elsewhere, rm). */
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
	}
	if (!(mb->oflags & STORE_O_KEEP_NEW))
		(void)move_indexed_new(mb, &sc);
	if (sc.n > 0)
		assign_new(mb, &sc);
	scan_free(&sc);
	ul_rehash(mb->ul);
	if (mb->ul->version != v0)
		*changed = true;
	return 0;
}

/*
 * The index matches the directories but has messages in new/ (indexed by
 * a KEEP_NEW handle, POP3): move them to cur/ without a readdir; a scan
 * when one of them moved elsewhere.  Under the lock.
 */
static int
move_new(struct store_mailbox *mb, bool *changed)
{
	struct scan	sc;
	uint64_t	v0 = mb->ul->version;
	bool		all;

	memset(&sc, 0, sizeof(sc));
	sc.dfd_cur = scan_dir_fd(mb, "/cur");
	sc.dfd_new = scan_dir_fd(mb, "/new");
	all = move_indexed_new(mb, &sc);
	scan_free(&sc);
	if (mb->ul->version != v0)
		*changed = true;
	return all ? 0 : do_scan(mb, changed);
}

/*
 * The last UIDVALIDITY handed out here by older versions, kept in the lock
 * file.  0 when unknown.
 */
static uint32_t
lock_uidvalidity(struct store_mailbox *mb)
{
	char		buf[32];
	ssize_t		r;
	uint64_t	v = 0;

	if (mb->lockfd == -1)
		return 0;
	r = pread(mb->lockfd, buf, sizeof(buf) - 1, 0);
	if (r <= 1 || buf[r - 1] != '\n' ||
	    parse_u64(buf, (size_t)r - 1, UINT32_MAX, &v) == -1)
		return 0;
	return (uint32_t)v;
}

/*
 * A fresh index (under the lock).  A foreign UID list (Dovecot, Courier)
 * is imported only when the folder never had an index of ours: after that
 * it is stale, and importing it again would hand out its UIDVALIDITY with
 * other UIDs.  A rebuild takes V = max(now, last + 1), last being the
 * highest V this folder ever had (letterbox-uidvalidity, the old index,
 * the lock file of older versions), so no V comes back (RFC 3501 2.3.1.1).
 */
static int
ul_fresh(struct store_mailbox *mb)
{
	uint32_t	last = mb->ul->uidvalidity, v, next, now = (uint32_t)time(NULL);
	int		known;

	if ((known = uidv_read(mb->dir, &v, &next)) == -1)
		return -1;
	if (v > last)
		last = v;
	if ((v = lock_uidvalidity(mb)) > last)
		last = v;
	if (last != 0)
		known = 0;
	/* Only for new V: read after the import decision, which it must not sway. */
	if (uidv_read_in(mb->root, UIDV_LAST_FILE, &v, &next) == 0 && v > last)
		last = v;
	ul_clear(mb->ul);
	if (known != 0 && ul_import(mb->ul, mb->dir) == 0) {
		if (mb->ul->uidnext == 0)
			mb->ul->uidnext = 1;
	} else {
		ul_clear(mb->ul);
		mb->ul->uidvalidity = now > last ? now : last + 1;
		mb->ul->uidnext = 1;
		if (uidv_write_in(mb->root, UIDV_LAST_FILE, mb->ul->uidvalidity, 0,
		    !(mb->oflags & STORE_O_NOFSYNC)) == -1)
			return -1;
	}
	if (known != 0)
		courier_kw_import(mb);
	/*
	 * RFC 7162 3.1.2.1: a HIGHESTMODSEQ is at least 1, also for an empty
	 * folder; the first change then gets 2, above what a client was told.
	 */
	if (mb->ul->highestmodseq == 0)
		mb->ul->highestmodseq = 1;
	/* Everything already in the folder is \Recent to the first session. */
	mb->ul->first_recent = 1;
	mb->ul->loaded = true;
	/* Durable before any UID of this V is handed out. */
	return uidv_write(mb->dir, mb->ul->uidvalidity, mb->ul->uidnext,
	    !(mb->oflags & STORE_O_NOFSYNC));
}

int
st_refresh(struct store_mailbox *mb, bool scan, bool *changed_r)
{
	int	rc;

	*changed_r = false;
	if (!ul_current(mb->ul, mb->dir)) {
		rc = ul_load(mb->ul, mb->dir);
		if (rc == -1)
			return -1;
		if (rc == 1) {
			/* Missing or unreadable: rebuild from the Maildir. */
			if (ul_fresh(mb) == -1)
				return -1;
			scan = true;
		}
		/* No log (an index of an older version): the commit writes one. */
		if (!mb->ul->log_ok)
			*changed_r = true;
	}
	if (scan && do_scan(mb, changed_r) == -1)
		return -1;
	return 0;
}

int
st_commit(struct store_mailbox *mb)
{
	bool	dosync = !(mb->oflags & STORE_O_NOFSYNC);
	bool	flags_sync = store_get_fsync() == STORE_FSYNC_ALWAYS;
	bool	flags_only = mb->ul->npend == 0 && mb->ul->uidnext == mb->ul->disk_uidnext;
	int	rc;

	st_own_adopt(mb);
	rc = ul_commit(mb->ul, mb->dir, dosync, flags_sync);
	/* Renames and links in cur/ and new/ reach the disk before the lock
	 * goes, so a UID we acknowledged (APPENDUID) survives a power cut;
	 * a flag change's rename only as the log's line does (ul_commit). */
	if (mb->dir_dirty != 0 && dosync && (flags_sync || !flags_only)) {
		char	path[PATH_MAX];

		if ((mb->dir_dirty & ST_DIRTY_CUR) &&
		    st_join(path, sizeof(path), mb->dir, "/cur", "") == 0)
			(void)fs_fsync_dir(path);
		if ((mb->dir_dirty & ST_DIRTY_NEW) &&
		    st_join(path, sizeof(path), mb->dir, "/new", "") == 0)
			(void)fs_fsync_dir(path);
	}
	mb->dir_dirty = 0;
	return rc;
}

/*
 * \Recent (RFC 3501 2.3.2): UIDs from the index's first-recent UID up to
 * UIDNEXT belong to the first session that syncs after they arrive; it
 * moves first-recent to UIDNEXT (under the lock), so no other session sees
 * them as \Recent, however they came (delivery, APPEND, COPY).
 */
/*
 * A STORE_O_PEEK_RECENT handle (EXAMINE, which "MUST NOT cause messages
 * to lose the \Recent flag", RFC 3501 6.3.2) sees what nobody claimed yet
 * as \Recent and leaves it for the next claimer.
 */
static void
peek_recent(struct store_mailbox *mb)
{
	mb->recent_lo = mb->ul->first_recent;
	mb->recent_hi = mb->ul->uidnext;
}

static bool
claim_recent(struct store_mailbox *mb)
{
	if (mb->oflags & STORE_O_PEEK_RECENT)
		peek_recent(mb);
	if (mb->oflags & (STORE_O_NO_RECENT | STORE_O_PEEK_RECENT) ||
	    mb->ul->first_recent >= mb->ul->uidnext)
		return false;
	mb->recent_lo = mb->ul->first_recent;
	mb->recent_hi = mb->ul->uidnext;
	mb->ul->first_recent = mb->ul->uidnext;
	mb->ul->version++;
	return true;
}

static bool
recent_unclaimed(const struct store_mailbox *mb)
{
	return !(mb->oflags & (STORE_O_NO_RECENT | STORE_O_PEEK_RECENT)) &&
	    mb->ul->first_recent < mb->ul->uidnext;
}

/* Sizes and internal dates sessions learned (st_learn) go into the index file. */
static bool
merge_learned(struct store_mailbox *mb)
{
	struct ul_rec	*r;
	size_t		 i;
	bool		 any = false;

	if (!mb->ul->learned)
		return false;
	for (i = 0; i < mb->ul->n; i++) {
		r = &mb->ul->recs[i];
		if (r->learned) {
			ul_touch(mb->ul, r);
			any = true;
		}
		r->learned = false;
	}
	mb->ul->learned = false;
	return any;
}

int
store_fill_sizes(struct store_mailbox *mb)
{
	struct ul_rec	*r;
	struct stat	 st;
	size_t		 i;
	bool		 any = false, changed;
	int		 dfd_cur, dfd_new, dfd, rc;

	if (mb->batch) {
		errno = EINVAL;
		return -1;
	}
	if (st_mutex_lock(mb) == -1)
		return -1;
	for (i = 0; i < mb->ul->n && !any; i++)
		any = mb->ul->recs[i].size == 0 || mb->ul->recs[i].learned;
	st_mutex_unlock(mb);
	if (!any)
		return 0;
	if (st_lock(mb) == -1)
		return -1;
	if ((rc = st_refresh(mb, false, &changed)) == 0) {
		dfd_cur = scan_dir_fd(mb, "/cur");
		dfd_new = scan_dir_fd(mb, "/new");
		for (i = 0; i < mb->ul->n; i++) {
			r = &mb->ul->recs[i];
			dfd = r->in_new ? dfd_new : dfd_cur;
			/* A file renamed meanwhile is learned when it is next asked for. */
			if (r->size == 0 && dfd != -1 && fstatat(dfd, r->name, &st, 0) == 0)
				st_rec_learn(r, (uint64_t)st.st_size, st.st_mtime);
			if (r->learned)
				mb->ul->learned = true;
		}
		if (dfd_cur != -1)
			close(dfd_cur);
		if (dfd_new != -1)
			close(dfd_new);
		if (merge_learned(mb) || changed)
			rc = st_commit(mb);
	}
	st_unlock(mb);
	return rc;
}

/*
 * Does the index describe cur/ and new/ as they are: does it record a
 * scan of their present mtimes that may be taken (st_scan_usable)?  Two
 * stat(2)s; the record is the folder's, whichever handle or process made
 * it (a new session on a big folder reads no directory).
 */
static bool
scan_usable(struct store_mailbox *mb)
{
	const struct uidlist	*ul = mb->ul;
	struct timespec		 cur, new;

	if (mb->fmu != NULL && fmutex_arrived(mb->fmu))
		return false;
	return ul->loaded && ul->log_ok && scan_stat_dirs(mb, &cur, &new) == 0 &&
	    st_ts_ns(&cur) == ul->scan_cur_ns && st_ts_ns(&new) == ul->scan_new_ns &&
	    st_scan_usable(ul->scan_new_ns, ul->scan_cur_ns, ul->scan_at, (int64_t)time(NULL));
}

/* Under the mutex: 1 when the index alone brought the view up to date
 * (nothing in the directories changed), 0 when a scan is needed, -1. */
static int
sync_unlocked(struct store_mailbox *mb, struct sync_ev *ev)
{
	int	rc;

	/* Reading the index needs no flock (the snapshot is replaced by
	 * rename, the log only grows by whole commits). */
	if (!ul_current(mb->ul, mb->dir)) {
		rc = ul_load(mb->ul, mb->dir);
		if (rc == -1)
			return -1;
		if (rc == 1 || !mb->ul->log_ok)
			return 0;	/* gone: rebuild under the lock */
	}
	if (mb->ul->learned || recent_unclaimed(mb) || !scan_usable(mb) ||
	    (mb->ul->nnew > 0 && !(mb->oflags & STORE_O_KEEP_NEW)))
		return 0;
	if (mb->oflags & STORE_O_PEEK_RECENT)
		peek_recent(mb);
	st_view_reconcile(mb, ev);
	return 1;
}

int
store_sync(struct store_mailbox *mb, const struct store_sync_cb *cb, void *arg)
{
	struct sync_ev	ev;
	bool		changed = false;
	unsigned	scans0 = mb->scans;
	int		rc;

	if (mb->batch) {
		errno = EINVAL;
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	/* Not tied to a scan: a folder whose index stays current may not be
	 * read for hours. */
	clean_tmp(mb);
	if (st_mutex_lock(mb) == -1)
		return -1;
	rc = sync_unlocked(mb, &ev);
	st_mutex_unlock(mb);
	if (rc == -1)
		return -1;
	if (rc == 0) {
		if (st_lock(mb) == -1)
			return -1;
		/* The lock may be wanted only for \Recent or learned dates:
		 * read the directories only when the index may not match them. */
		rc = st_refresh(mb, false, &changed);
		/* Not twice: a rebuilt index has no log yet (scan_usable says
		 * no), but st_refresh has just read the directories. */
		if (rc == 0 && mb->scans == scans0 && !scan_usable(mb))
			rc = do_scan(mb, &changed);
		else if (rc == 0 && mb->ul->nnew > 0 && !(mb->oflags & STORE_O_KEEP_NEW))
			rc = move_new(mb, &changed);
		if (rc == 0 && claim_recent(mb))
			changed = true;
		if (rc == 0 && (merge_learned(mb) || changed))
			rc = st_commit(mb);
		if (rc == 0)
			st_view_reconcile(mb, &ev);
		st_unlock(mb);
		if (rc == -1) {
			st_ev_fire(&ev, NULL, NULL);
			return -1;
		}
	}
	kw_load(mb);
	st_ev_fire(&ev, cb, arg);
	return 0;
}

int
store_expunged_since(const struct store_mailbox *mb, uint64_t since,
    struct store_uid_range **ranges_r, size_t *n_r)
{
	const struct uidlist	*ul = mb->ul;
	struct store_uid_range	*out;
	size_t			 i, n = 0;

	if (st_mutex_lock(mb) == -1)
		return -1;
	out = xcalloc(ul->nxr + 1, sizeof(*out));

	for (i = 0; i < ul->nxr; i++) {
		if (ul->xr[i].modseq <= since)
			continue;
		if (n > 0 && out[n - 1].hi + 1 == ul->xr[i].lo)
			out[n - 1].hi = ul->xr[i].hi;
		else {
			out[n].lo = ul->xr[i].lo;
			out[n++].hi = ul->xr[i].hi;
		}
	}
	st_mutex_unlock(mb);
	*ranges_r = out;
	*n_r = n;
	return 0;
}

uint32_t store_uidvalidity(const struct store_mailbox *mb) { return mb->v_uidvalidity; }
uint32_t store_uidnext(const struct store_mailbox *mb) { return mb->v_uidnext; }
uint64_t store_highestmodseq(const struct store_mailbox *mb) { return mb->v_highestmodseq; }
const char *store_name(const struct store_mailbox *mb) { return mb->name; }
const char *store_path(const struct store_mailbox *mb) { return mb->dir; }

/*
 * Find the file of base name name[0..base_len) again after someone
 * renamed it: cur/ first (where renames go), then new/, then cur/ again
 * for a move new -> cur during our look.  Returns 0 with *name_r (malloc)
 * and *in_new_r, 1 when not found, -1 on error.
 */
int
st_find_base(struct store_mailbox *mb, const char *name, size_t base_len,
    char **name_r, bool *in_new_r)
{
	static const char *const subs[] = { "/cur", "/new", "/cur" };
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	size_t		 i;

	for (i = 0; i < 3; i++) {
		if (st_join(path, sizeof(path), mb->dir, subs[i], "") == -1)
			return -1;
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, name, base_len) == 0 &&
			    (de->d_name[base_len] == '\0' || de->d_name[base_len] == ':')) {
				*name_r = xstrdup(de->d_name);
				*in_new_r = i == 1;
				closedir(d);
				return 0;
			}
		}
		closedir(d);
	}
	return 1;
}
