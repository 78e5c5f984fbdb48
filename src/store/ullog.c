/*
 * The index's change log, letterbox-uidlist.log (as Dovecot's
 * dovecot.index.log): a change costs one append and one fdatasync instead
 * of rewriting the whole index.
 *	LBL1 G<generation of the snapshot it follows>
 *	u <uid> <modseq> <size> <vsize> <idate> <n|c> <name>	(new or changed)
 *	x <lo> <hi> <modseq>					(expunged)
 *	h <uidnext> <highestmodseq> <first recent> <messages> <unseen>
 *	  <size> <new/ mtime> <cur/ mtime> <scan time>		(end of a commit)
 * A commit is the lines up to its "h" line, written with one write(2)
 * under the folder lock; a reader applies whole commits only, so a torn
 * tail (a crash mid-write) is never half-applied, and the next writer cuts
 * it off before appending.  When the log outgrows a quarter of the
 * snapshot it is compacted: a new snapshot (generation + 1) and an empty
 * log for it, each by temp + rename.
 *
 * Also the folder's UIDVALIDITY record, letterbox-uidvalidity ("V<last>
 * N<highest uidnext>"): it outlives the index so a rebuild never hands out
 * an old UIDVALIDITY again (RFC 3501 2.3.1.1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "store/store_int.h"

#define LOG_COMPACT_MIN	(64 * 1024)	/* never compact a log smaller than this */

/* Space-separated numbers of line p..nl into v[0..n). */
static int
nums(const char *p, const char *nl, uint64_t *v, size_t n)
{
	const char	*e;
	size_t		 i;

	for (i = 0; i < n; i++) {
		e = memchr(p, ' ', (size_t)(nl - p));
		if (e == NULL)
			e = nl;
		if (parse_u64(p, (size_t)(e - p), UINT64_MAX / 2, &v[i]) == -1)
			return -1;
		p = e < nl ? e + 1 : e;
	}
	return p == nl ? 0 : -1;
}

int
ul_parse_hvals(const char *p, const char *nl, uint64_t v[UL_HVALS])
{
	if (nums(p, nl, v, UL_HVALS) == -1 || v[0] == 0 || v[0] > UINT32_MAX ||
	    v[2] > UINT32_MAX)
		return -1;
	return 0;
}

ssize_t
ullog_apply(struct uidlist *ul, const char *data, size_t len)
{
	const char	*p, *nl, *end = data + len, *commit_end = data;
	struct ul_rec	 r;
	uint64_t	 v[UL_HVALS];

	/* Whole commits only: find the last "h" line. */
	for (p = data; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if (nl - p < 2 || p[1] != ' ' || (p[0] != 'u' && p[0] != 'x' && p[0] != 'h'))
			return -1;
		if (p[0] == 'h')
			commit_end = nl + 1;
	}
	for (p = data; p < commit_end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(commit_end - p));
		switch (p[0]) {
		case 'u':
			if (ul_parse_rec(p + 2, nl, &r) == -1)
				return -1;
			ul_upsert(ul, &r);
			break;
		case 'x':
			if (nums(p + 2, nl, v, 3) == -1 || v[0] == 0 || v[0] > v[1] ||
			    v[1] > UINT32_MAX)
				return -1;
			ul_remove_range(ul, (uint32_t)v[0], (uint32_t)v[1]);
			ul_xr_add(ul, (uint32_t)v[0], (uint32_t)v[1], v[2]);
			break;
		default:
			if (ul_parse_hvals(p + 2, nl, v) == -1)
				return -1;
			ul_hvals_set(ul, v);
			break;
		}
	}
	return commit_end - data;
}

static int
write_new_file(const char *dir, const char *file, const char *data, size_t len,
    bool dosync, struct stat *st_r)
{
	char	tmp[PATH_MAX], path[PATH_MAX];
	int	fd, saved;

	if (st_join(path, sizeof(path), dir, "/", file) == -1 ||
	    st_join(tmp, sizeof(tmp), path, ".tmp", "") == -1)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		return -1;
	if (fs_write_all(fd, data, len) == -1 || (dosync && fdatasync(fd) == -1) ||
	    (st_r != NULL && fstat(fd, st_r) == -1)) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

int
ullog_create(const char *dir, uint64_t gen, bool dosync, struct ul_fstate *st_r, off_t *off_r)
{
	char		hdr[64];
	struct stat	st;
	int		n;

	n = snprintf(hdr, sizeof(hdr), "LBL1 G%llu\n", (unsigned long long)gen);
	if (write_new_file(dir, UIDLIST_LOG, hdr, (size_t)n, dosync, &st) == -1)
		return -1;
	ul_fstate_set(st_r, &st);
	*off_r = st.st_size;
	return 0;
}

/*
 * Also a new snapshot when the count of unknown sizes it records (its Q)
 * would be too low for what the log adds (an h line has no room for it,
 * and older versions read the log), or is above 0 when none is left: so
 * a header whose Q is 0 means every size is known (status.c).
 */
static bool
needs_compaction(const struct uidlist *ul)
{
	return !ul->log_ok || ul->nosize > ul->snap_nosize ||
	    (ul->nosize == 0 && ul->snap_nosize > 0) ||
	    (ul->log_off > LOG_COMPACT_MIN && ul->log_off > ul->base_size / 4);
}

/*
 * Append what changed since the last commit to the log (or compact).
 * dosync: make it durable; flags_sync: also when it carries only flag
 * changes (no UID handed out, nothing expunged).  Dovecot's default
 * (mail_fsync=optimized) does not fsync those either: losing one to a
 * power cut costs a flag, never a message or a UID, and a kill -9 loses
 * nothing, since the write is done before the reply.
 */
int
ul_commit(struct uidlist *ul, const char *dir, bool dosync, bool flags_sync)
{
	char		 path[PATH_MAX];
	struct buf	 b;
	struct ul_rec	*r;
	struct stat	 st;
	uint64_t	 hv[UL_HVALS];
	size_t		 i;
	int		 fd = -1, saved;
	bool		 datasync = dosync;

	if (needs_compaction(ul))
		return ul_write(ul, dir, dosync);
	if (!flags_sync && ul->npend == 0 && ul->uidnext == ul->disk_uidnext)
		datasync = false;
	buf_init(&b, SIZE_MAX);
	for (i = 0; i < ul->ndirty; i++) {
		if ((r = ul_find_uid(ul, ul->dirty[i])) == NULL || !r->dirty)
			continue;
		r->dirty = false;
		if (buf_add(&b, "u ", 2) == -1 || ul_format_rec(&b, r) == -1)
			goto fail;
	}
	for (i = 0; i < ul->npend; i++)
		buf_addf(&b, "x %u %u %llu\n", ul->pend[i].lo, ul->pend[i].hi,
		    (unsigned long long)ul->pend[i].modseq);
	ul_hvals_get(ul, hv);
	buf_addf(&b, "h %llu %llu %llu %llu %llu %llu %llu %llu %llu\n",
	    (unsigned long long)hv[0], (unsigned long long)hv[1], (unsigned long long)hv[2],
	    (unsigned long long)hv[3], (unsigned long long)hv[4], (unsigned long long)hv[5],
	    (unsigned long long)hv[6], (unsigned long long)hv[7], (unsigned long long)hv[8]);
	ul->ndirty = ul->npend = 0;
	if (st_join(path, sizeof(path), dir, "/", UIDLIST_LOG) == -1 ||
	    (fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1)
		goto fail;
	if (st.st_ino != ul->logst.ino || st.st_size < ul->log_off) {
		/* Not the log we read (should not happen under the lock). */
		close(fd);
		buf_clear(&b);
		return ul_write(ul, dir, dosync);
	}
	/* A torn commit of a writer that died: cut it off first. */
	if (st.st_size > ul->log_off && ftruncate(fd, ul->log_off) == -1)
		goto fail;
	if (fs_write_all(fd, b.data, b.len) == -1 || (datasync && fdatasync(fd) == -1) ||
	    fstat(fd, &st) == -1)
		goto fail;
	close(fd);
	ul->log_off += (off_t)b.len;
	ul->disk_uidnext = ul->uidnext;
	ul_fstate_set(&ul->logst, &st);
	buf_clear(&b);
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	buf_clear(&b);
	ul->loaded = false;	/* memory is ahead of the disk: reread next time */
	errno = saved;
	return -1;
}

int
uidv_read(const char *dir, uint32_t *v_r, uint32_t *next_r)
{
	return uidv_read_in(dir, UIDV_FILE, v_r, next_r);
}

int
uidv_read_in(const char *dir, const char *file, uint32_t *v_r, uint32_t *next_r)
{
	char		*data, *nl, *sp;
	size_t		 len;
	uint64_t	 v[2];
	int		 rc;

	*v_r = *next_r = 0;
	if ((rc = ul_read_file(dir, file, &data, &len)) != 0)
		return rc;
	nl = memchr(data, '\n', len);
	sp = nl != NULL && data[0] == 'V' ? memchr(data, ' ', (size_t)(nl - data)) : NULL;
	if (sp != NULL) {
		if (sp[1] == 'N' &&
		    parse_u64(data + 1, (size_t)(sp - data - 1), UINT32_MAX, &v[0]) == 0 &&
		    parse_u64(sp + 2, (size_t)(nl - sp - 2), UINT32_MAX, &v[1]) == 0) {
			*v_r = (uint32_t)v[0];
			*next_r = (uint32_t)v[1];
		}
	}
	free(data);
	/* Unreadable counts as present: never import over a folder we knew. */
	return 0;
}

int
uidv_write(const char *dir, uint32_t v, uint32_t next, bool dosync)
{
	return uidv_write_in(dir, UIDV_FILE, v, next, dosync);
}

int
uidv_write_in(const char *dir, const char *file, uint32_t v, uint32_t next, bool dosync)
{
	char		line[64];
	uint32_t	ov, onext;
	int		n;

	/* Never lower either value. */
	if (uidv_read_in(dir, file, &ov, &onext) == 0) {
		if (ov > v)
			return 0;
		if (onext > next && ov == v)
			next = onext;
		if (ov == v && onext == next)
			return 0;
	}
	n = snprintf(line, sizeof(line), "V%u N%u\n", v, next);
	if (write_new_file(dir, file, line, (size_t)n, dosync, NULL) == -1)
		return -1;
	return dosync ? fs_fsync_dir(dir) : 0;
}
