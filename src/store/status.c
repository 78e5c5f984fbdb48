/*
 * STATUS without opening the folder (RFC 3501 6.3.10): the numbers come
 * from the index's header -- the snapshot's first line, or the last "h"
 * line of the log -- when the directories have not changed since the scan
 * recorded there.  Otherwise (new mail not indexed yet, a torn log tail,
 * a compaction under our feet) it falls back to a full open + sync.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/str.h"
#include "store/store_int.h"

#define HDR_MAX	512

/* The first line of dir/file into buf; its length, or -1. */
static ssize_t
first_line(int fd, char *buf, size_t bufsz)
{
	ssize_t	 r = pread(fd, buf, bufsz - 1, 0);
	char	*nl;

	if (r <= 0)
		return -1;
	buf[r] = '\0';
	if ((nl = memchr(buf, '\n', (size_t)r)) == NULL)
		return -1;
	return nl - buf;
}

static int
open_in(const char *dir, const char *file)
{
	char	path[PATH_MAX];

	if (st_join(path, sizeof(path), dir, "/", file) == -1)
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* The last whole "h" line of the log, if the log follows generation gen.
 * 1 found, 0 none (log holds only its header), -1 unusable. */
static int
log_last_h(const char *dir, uint64_t gen, uint64_t v[UL_HVALS])
{
	char		 buf[HDR_MAX], want[64];
	struct stat	 st;
	ssize_t		 len, r;
	off_t		 off;
	char		*p, *nl;
	int		 fd, n, rc = -1;

	if ((fd = open_in(dir, UIDLIST_LOG)) == -1)
		return -1;
	n = snprintf(want, sizeof(want), "LBL1 G%llu", (unsigned long long)gen);
	if ((len = first_line(fd, buf, sizeof(buf))) != n || memcmp(buf, want, (size_t)n) != 0 ||
	    fstat(fd, &st) == -1)
		goto out;
	if (st.st_size == len + 1) {
		rc = 0;
		goto out;
	}
	off = st.st_size > (off_t)sizeof(buf) - 1 ? st.st_size - (off_t)sizeof(buf) + 1 : 0;
	if ((r = pread(fd, buf, sizeof(buf) - 1, off)) <= 0 || buf[r - 1] != '\n')
		goto out;	/* a torn commit at the end */
	buf[r - 1] = '\0';
	p = (nl = strrchr(buf, '\n')) != NULL ? nl + 1 : NULL;
	if (p != NULL && p[0] == 'h' && p[1] == ' ' &&
	    ul_parse_hvals(p + 2, buf + r - 1, v) == 0)
		rc = 1;
out:
	close(fd);
	return rc;
}

static int
status_from_header(const char *dir, unsigned want, struct store_status *st_r)
{
	char		 buf[HDR_MAX], path[PATH_MAX];
	struct uidlist	 ul;
	struct stat	 sn, sc;
	uint64_t	 v[UL_HVALS];
	ssize_t		 len;
	int		 fd, rc;

	if (st_join(path, sizeof(path), dir, "/new", "") == -1 || stat(path, &sn) == -1 ||
	    st_join(path, sizeof(path), dir, "/cur", "") == -1 || stat(path, &sc) == -1)
		return -1;
	if ((fd = open_in(dir, UIDLIST_FILE)) == -1)
		return -1;
	len = first_line(fd, buf, sizeof(buf));
	close(fd);
	memset(&ul, 0, sizeof(ul));
	if (len <= 0 || memcmp(buf, "LB2 ", 4) != 0 || ul_parse_header(buf, (size_t)len, &ul) == -1)
		return -1;
	ul_hvals_get(&ul, v);
	v[3] = ul.hdr_messages;
	if ((rc = log_last_h(dir, ul.gen, v)) == -1)
		return -1;
	if (v[6] != st_ts_ns(&sn.st_mtim) || v[7] != st_ts_ns(&sc.st_mtim) ||
	    !st_scan_usable(v[6], v[7], (int64_t)v[8], (int64_t)time(NULL)) ||
	    fmutex_arrived_dir(dir))
		return -1;
	/* Sizes not known yet (mail dropped into new/, not stat()ed by the
	 * scan): SIZE takes the open, which learns them once.  The snapshot's
	 * count is never too low for its log (ullog.c needs_compaction). */
	if ((want & STORE_STATUS_SIZE) && ul.nosize > 0)
		return -1;
	st_r->uidvalidity = ul.uidvalidity;
	st_r->uidnext = (uint32_t)v[0];
	st_r->highestmodseq = v[1];
	st_r->messages = (uint32_t)v[3];
	st_r->unseen = (uint32_t)v[4];
	st_r->size = (want & STORE_STATUS_SIZE) ? v[5] : 0;
	/* UIDs from first-recent on, bounded by the count (an expunged
	 * recent message may make this one too high). */
	st_r->recent = v[0] > v[2] ? (uint32_t)(v[0] - v[2]) : 0;
	if (st_r->recent > st_r->messages)
		st_r->recent = st_r->messages;
	return 0;
}

int
store_status(const char *root, const char *folder, unsigned want, struct store_status *st_r)
{
	char			 dir[PATH_MAX];
	struct store_mailbox	*mb;
	size_t			 i;
	uint32_t		 f, kw;

	memset(st_r, 0, sizeof(*st_r));
	if (store_folder_path(root, folder, dir, sizeof(dir)) == -1)
		return -1;
	if (status_from_header(dir, want, st_r) == 0)
		return 0;
	/* Do not claim \Recent: STATUS only counts it (RFC 3501 6.3.10). */
	if ((mb = store_open(root, folder, STORE_O_NO_RECENT)) == NULL)
		return -1;
	if (store_sync(mb, NULL, NULL) == -1 ||
	    ((want & STORE_STATUS_SIZE) && store_fill_sizes(mb) == -1)) {
		store_close(&mb);
		return -1;
	}
	memset(st_r, 0, sizeof(*st_r));
	if (st_mutex_lock(mb) == -1) {
		store_close(&mb);
		return -1;
	}
	/* The index as this sync left it (the view was made from it). */
	st_r->messages = (uint32_t)mb->ul->n;
	for (i = 0; i < mb->ul->n; i++) {
		name_flags(mb->ul->recs[i].name, &f, &kw);
		if (!(f & STORE_F_SEEN))
			st_r->unseen++;
		if (want & STORE_STATUS_SIZE)
			st_r->size += mb->ul->recs[i].vsize;
		if (mb->ul->recs[i].uid >= mb->ul->first_recent)
			st_r->recent++;
	}
	st_mutex_unlock(mb);
	st_r->uidnext = mb->v_uidnext;
	st_r->uidvalidity = mb->v_uidvalidity;
	st_r->highestmodseq = mb->v_highestmodseq;
	store_close(&mb);
	return 0;
}
