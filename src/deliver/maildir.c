/*
 * Maildir delivery with deterministic names and batched fsyncs, plus the
 * Maildir++ maildirsize quota file (see maildir.h for the contract).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deliver/maildir.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define COPY_CHUNK		(64 * 1024)
#define MAILDIRSIZE_MAX		5120	/* Maildir++: recalculate past this */
#define HOST_MAX		256
/* Room for "/new/" + a 255-byte name after a Maildir path within PATH_MAX. */
#define DIR_MAX			(PATH_MAX - 512)

/* One recipient's delivery in progress. */
struct job {
	const struct maildir_req	*req;
	struct maildir_result		*res;
	char				 dir[DIR_MAX];		/* BASE/MAILDIR, no trailing '/' */
	char				 tmp[PATH_MAX];		/* dir/tmp/NAME */
	char				 hdr[2 * 1100];		/* Return-Path + Delivered-To */
	size_t				 hdrlen;
	bool				 strip_cr;	/* the spool has CRLF: write LF */
	int				 fd;
	bool				 active;	/* still to be written/linked */
	bool				 linked;	/* new link made by us */
	bool				 sync_dir;	/* new/ must be fsynced for this one */
};

static const char *
err_text(int err, char *buf, size_t sz)
{
	/* GNU strerror_r: thread-safe, may return a static string. */
	return strerror_r(err, buf, sz);
}

/* Fill res for a failure of op with errno err; classifies temp/perm. */
static void
job_fail(struct job *j, const char *op, int err)
{
	struct maildir_result	*res = j->res;
	char			 eb[128];
	const char		*e = err_text(err, eb, sizeof(eb));

	res->name[0] = '\0';
	switch (err) {
	case ENOSPC:
		res->status = MAILDIR_TEMPFAIL;
		snprintf(res->reason, sizeof(res->reason), "4.3.1 disk full (%s: %s)", op, e);
		break;
	case EDQUOT:
		res->status = MAILDIR_TEMPFAIL;
		snprintf(res->reason, sizeof(res->reason), "4.2.2 mailbox full (%s: %s)", op, e);
		break;
	case EINVAL:
	case ENAMETOOLONG:
	case ENOTDIR:
	case ELOOP:
		res->status = MAILDIR_PERMFAIL;
		snprintf(res->reason, sizeof(res->reason), "5.3.5 bad mailbox path (%s: %s)", op, e);
		break;
	default:
		res->status = MAILDIR_TEMPFAIL;
		snprintf(res->reason, sizeof(res->reason), "4.3.0 %s: %s", op, e);
		break;
	}
	if (j->fd != -1) {
		close(j->fd);
		j->fd = -1;
	}
	if (j->tmp[0] != '\0')
		(void)unlink(j->tmp);
	j->active = false;
	j->sync_dir = false;
	log_warnx("deliver qid=%s: maildir %s: %s", j->req->qid ? j->req->qid : "-",
	    j->dir, res->reason);
}

int
maildir_relpath(const char *addr, char *dst, size_t dstsz)
{
	const char	*at = strrchr(addr, '@');
	size_t		 llen, dlen, i;
	int		 n;

	if (at == NULL) {
		errno = EINVAL;
		return -1;
	}
	llen = (size_t)(at - addr);
	dlen = strlen(at + 1);
	/* Each part becomes one path component: no empty, ".", "..", '/'. */
	if (llen == 0 || dlen == 0 || (llen == 1 && addr[0] == '.') ||
	    (llen == 2 && addr[0] == '.' && addr[1] == '.') ||
	    (dlen == 1 && at[1] == '.') || (dlen == 2 && at[1] == '.' && at[2] == '.')) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; addr[i] != '\0'; i++)
		if (addr[i] == '/' || (unsigned char)addr[i] < 0x20 || addr[i] == 0x7f ||
		    (i > llen && addr[i] == '@')) {
			errno = EINVAL;
			return -1;
		}
	n = snprintf(dst, dstsz, "%s/%.*s/", at + 1, (int)llen, addr);
	if (n < 0 || (size_t)n >= dstsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Lowercase the domain part only. */
	for (i = 0; i < dlen; i++)
		if (dst[i] >= 'A' && dst[i] <= 'Z')
			dst[i] = (char)(dst[i] + 32);
	return 0;
}

/* Relative path from the queue: no absolute path, no "." or ".." parts. */
static bool
relpath_ok(const char *p)
{
	const char	*s = p, *e;
	size_t		 len;

	if (p[0] == '\0' || p[0] == '/')
		return false;
	while (*s != '\0') {
		e = strchr(s, '/');
		len = e ? (size_t)(e - s) : strlen(s);
		if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (len == 0 && s != p && e != NULL)
			return false;	/* "a//b" */
		s += len;
		if (*s == '/')
			s++;
	}
	return true;
}

static void
host_escape(const char *host, char *dst, size_t dstsz)
{
	size_t	o = 0;

	for (; *host != '\0' && o + 5 < dstsz; host++) {
		if (*host == '/' || *host == ':') {
			memcpy(dst + o, *host == '/' ? "\\057" : "\\072", 4);
			o += 4;
		} else if ((unsigned char)*host > 0x20 && *host != 0x7f)
			dst[o++] = *host;
	}
	dst[o] = '\0';
}

int
maildir_basename(const struct maildir_req *req, const char *host, char *dst, size_t dstsz)
{
	char	h[HOST_MAX];
	int64_t	sec = req->arrival_us / 1000000, usec = req->arrival_us % 1000000;
	int	n;

	host_escape(host, h, sizeof(h));
	n = snprintf(dst, dstsz, "%lld.M%06lldQ%sR%u.%s", (long long)sec, (long long)usec,
	    req->qid, req->rcpt_idx, h[0] ? h : "localhost");
	if (n < 0 || (size_t)n >= dstsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * LF on disk, as Postfix's virtual(8), Courier and Dovecot write it (local
 * tools expect it, and Courier adds the CR itself when serving).  The
 * spool holds CRLF: count the CRs that end lines (they are dropped) and
 * the LFs (each one is a CRLF again on output: ,W= counts them).
 */
static int
measure_lf(const struct maildir_req *req, uint64_t *crs_r, uint64_t *lfs_r)
{
	char		*buf = xmalloc(COPY_CHUNK);
	off_t		 off = req->offset, left = req->length;
	bool		 cr = false;
	ssize_t		 n, i;

	*crs_r = *lfs_r = 0;
	while (left > 0) {
		n = pread(req->fd, buf, left < COPY_CHUNK ? (size_t)left : COPY_CHUNK, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			if (n == 0)
				errno = EIO;
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				(*lfs_r)++;
				if (cr)
					(*crs_r)++;
			}
			cr = buf[i] == '\r';
		}
		off += n;
		left -= n;
	}
	free(buf);
	return 0;
}

/* Copy [off, off + len) of in to out without the CRs that end lines. */
static int
copy_strip_cr(int in, off_t off, off_t len, int out)
{
	char		*ib = xmalloc(COPY_CHUNK), *ob = xmalloc(COPY_CHUNK + 1);
	const char	*p, *end, *q;
	bool		 held = false;	/* a CR ended the last chunk */
	size_t		 o;
	ssize_t		 n;
	int		 rc = -1;

	while (len > 0) {
		n = pread(in, ib, len < COPY_CHUNK ? (size_t)len : COPY_CHUNK, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto out;
		}
		off += n;
		len -= n;
		p = ib;
		end = ib + n;
		o = 0;
		if (held && *p != '\n')
			ob[o++] = '\r';
		held = false;
		while (p < end) {
			if ((q = memchr(p, '\r', (size_t)(end - p))) == NULL) {
				memcpy(ob + o, p, (size_t)(end - p));
				o += (size_t)(end - p);
				break;
			}
			memcpy(ob + o, p, (size_t)(q - p));
			o += (size_t)(q - p);
			if (q + 1 == end) {
				held = true;
				break;
			}
			if (q[1] != '\n')
				ob[o++] = '\r';
			p = q + 1;
		}
		if (fs_write_all(out, ob, o) == -1)
			goto out;
	}
	rc = held ? fs_write_all(out, "\r", 1) : 0;
out:
	free(ib);
	free(ob);
	return rc;
}

/* Does dir/cur hold "base" followed by ',' ':' or nothing? */
static int
find_in_cur(const char *dir, const char *base, char *found, size_t foundsz)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	size_t		 blen = strlen(base);
	int		 r = 0;

	if (snprintf(path, sizeof(path), "%s/cur", dir) >= (int)sizeof(path))
		return 0;
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, blen) == 0 &&
		    (de->d_name[blen] == '\0' || de->d_name[blen] == ',' ||
		    de->d_name[blen] == ':')) {
			str_copy(found, de->d_name, foundsz);
			r = 1;
			break;
		}
	}
	closedir(d);
	return r;
}

/* ---- Maildir++ quota ---- */

/* Size of one message file from its ",S=" field, else stat. */
static uint64_t
file_size(const char *subdir, const char *name)
{
	const char	*s = strstr(name, ",S=");
	char		 path[PATH_MAX];
	struct stat	 st;
	uint64_t	 v;
	size_t		 n = 0;

	if (s != NULL) {
		s += 3;
		while (s[n] >= '0' && s[n] <= '9')
			n++;
		if (parse_u64(s, n, UINT64_MAX, &v) == 0)
			return v;
	}
	if (snprintf(path, sizeof(path), "%s/%s", subdir, name) >= (int)sizeof(path) ||
	    stat(path, &st) == -1)
		return 0;
	return (uint64_t)st.st_size;
}

static void
count_dir(const char *subdir, uint64_t *bytes, uint64_t *count)
{
	DIR		*d;
	struct dirent	*de;

	if ((d = opendir(subdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		*bytes += file_size(subdir, de->d_name);
		(*count)++;
	}
	closedir(d);
}

/* Recalculate from the file names: INBOX and every Maildir++ folder. */
static int
quota_scan(const char *dir, uint64_t *bytes_r, uint64_t *count_r)
{
	char		 sub[PATH_MAX];
	DIR		*d;
	struct dirent	*de;

	*bytes_r = *count_r = 0;
	if ((d = opendir(dir)) == NULL)
		return -1;
	snprintf(sub, sizeof(sub), "%s/new", dir);
	count_dir(sub, bytes_r, count_r);
	snprintf(sub, sizeof(sub), "%s/cur", dir);
	count_dir(sub, bytes_r, count_r);
	while ((de = readdir(d)) != NULL) {
		/* ".." prefix: a folder the store is deleting (its bytes already
		 * left maildirsize, or are about to), and "." / "..". */
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    de->d_name[1] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s/new", dir, de->d_name) < (int)sizeof(sub))
			count_dir(sub, bytes_r, count_r);
		if (snprintf(sub, sizeof(sub), "%s/%s/cur", dir, de->d_name) < (int)sizeof(sub))
			count_dir(sub, bytes_r, count_r);
	}
	closedir(d);
	return 0;
}

/* Parse maildirsize: 1 = summed, 0 = needs recalculation, -1 = error. */
static int
quota_read(const char *path, uint64_t *bytes_r, uint64_t *count_r)
{
	char		 buf[MAILDIRSIZE_MAX + 1];
	ssize_t		 n;
	int		 fd;
	char		*p, *end, *nl, *sp;
	int64_t		 b = 0, c = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || n > MAILDIRSIZE_MAX)
		return 0;
	end = buf + n;
	if ((nl = memchr(buf, '\n', (size_t)n)) == NULL)
		return 0;
	for (p = nl + 1; p < end; p = nl + 1) {
		bool	 neg_b, neg_c;
		uint64_t vb, vc;

		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;		/* a torn append: ignore it */
		while (p < nl && *p == ' ')
			p++;
		if ((sp = memchr(p, ' ', (size_t)(nl - p))) == NULL)
			return 0;
		neg_b = *p == '-';
		if (parse_u64(p + neg_b, (size_t)(sp - p - neg_b), INT32_MAX * 1024ULL, &vb) == -1)
			return 0;
		while (sp < nl && *sp == ' ')
			sp++;
		neg_c = *sp == '-';
		if (parse_u64(sp + neg_c, (size_t)(nl - sp - neg_c), INT32_MAX, &vc) == -1)
			return 0;
		b += neg_b ? -(int64_t)vb : (int64_t)vb;
		c += neg_c ? -(int64_t)vc : (int64_t)vc;
	}
	*bytes_r = b < 0 ? 0 : (uint64_t)b;
	*count_r = c < 0 ? 0 : (uint64_t)c;
	return 1;
}

/* Write a fresh maildirsize (temp file + rename). */
static int
quota_write(const char *dir, uint64_t quota, uint64_t bytes, uint64_t count)
{
	char	tmp[PATH_MAX], path[PATH_MAX], text[128];
	int	fd, n, saved;

	n = snprintf(text, sizeof(text), "%lluS\n%llu %llu\n", (unsigned long long)quota,
	    (unsigned long long)bytes, (unsigned long long)count);
	if (snprintf(path, sizeof(path), "%s/maildirsize", dir) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/tmp/maildirsize.%ld.%ld", dir,
	    (long)getpid(), (long)gettid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		return -1;
	if (fs_write_all(fd, text, (size_t)n) == -1 || close(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

static int
quota_usage_dir(const char *dir, uint64_t quota, bool rewrite, uint64_t *bytes_r,
    uint64_t *count_r)
{
	char	path[PATH_MAX];
	int	r;

	if (snprintf(path, sizeof(path), "%s/maildirsize", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	r = quota_read(path, bytes_r, count_r);
	if (r == 1)
		return 0;
	if (r == -1 || quota_scan(dir, bytes_r, count_r) == -1)
		return -1;
	if (rewrite && quota_write(dir, quota, *bytes_r, *count_r) == -1)
		log_warn("deliver: cannot write %s", path);
	return 0;
}

int
maildir_quota_usage(const char *base, const char *maildir, uint64_t quota_bytes,
    uint64_t *bytes_r, uint64_t *count_r)
{
	char		dir[DIR_MAX], path[PATH_MAX];
	struct stat	st;
	int		n;

	n = snprintf(dir, sizeof(dir), "%s/%s", base, maildir);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	snprintf(path, sizeof(path), "%s/maildirsize", dir);
	/* Rewrite only a file that exists (too big or broken). */
	return quota_usage_dir(dir, quota_bytes, stat(path, &st) == 0, bytes_r, count_r);
}

/* Account a delivered message in maildirsize (creating it if missing). */
static void
quota_add(const struct job *j)
{
	char		path[PATH_MAX], line[64];
	uint64_t	b, c;
	struct stat	st;
	int		fd, n;

	snprintf(path, sizeof(path), "%s/maildirsize", j->dir);
	if (stat(path, &st) == -1 || st.st_size > MAILDIRSIZE_MAX) {
		/* New or due: recalculate; the scan already sees the new file. */
		if (quota_scan(j->dir, &b, &c) == 0 &&
		    quota_write(j->dir, j->req->quota_bytes, b, c) == -1)
			log_warn("deliver: cannot write %s", path);
		return;
	}
	n = snprintf(line, sizeof(line), "%llu 1\n", (unsigned long long)j->res->size);
	/* One small O_APPEND write: concurrent deliveries do not interleave. */
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1 ||
	    fs_write_all(fd, line, (size_t)n) == -1)
		log_warn("deliver: cannot update %s", path);
	if (fd != -1)
		close(fd);
}

/* ---- the delivery steps ---- */

/* Paths, name, directories, duplicate and quota checks. */
static void
job_prepare(struct job *j, const char *host)
{
	const struct maildir_req	*req = j->req;
	struct maildir_result		*res = j->res;
	char				 base[200], sub[PATH_MAX], found[256];
	struct stat			 st;
	uint64_t			 used, cnt, crs, lfs;
	int				 n;
	size_t				 i;

	j->fd = -1;
	j->active = true;
	j->tmp[0] = '\0';
	if (req->base == NULL || req->maildir == NULL || !relpath_ok(req->maildir) ||
	    req->qid == NULL || req->qid[0] == '\0' || strpbrk(req->qid, "./:") != NULL ||
	    req->return_path == NULL || req->delivered_to == NULL || req->length < 0 ||
	    strlen(req->return_path) > 1000 || strlen(req->delivered_to) > 1000 ||
	    strpbrk(req->return_path, "\r\n") != NULL || strpbrk(req->delivered_to, "\r\n") != NULL) {
		snprintf(j->dir, sizeof(j->dir), "%s/%s", req->base ? req->base : "?",
		    req->maildir ? req->maildir : "?");
		job_fail(j, "request", EINVAL);
		return;
	}
	n = snprintf(j->dir, sizeof(j->dir), "%s/%s", req->base, req->maildir);
	if (n < 0 || (size_t)n >= sizeof(j->dir)) {
		job_fail(j, "path", ENAMETOOLONG);
		return;
	}
	while (n > 1 && j->dir[n - 1] == '/')
		j->dir[--n] = '\0';
	if (measure_lf(req, &crs, &lfs) == -1) {
		job_fail(j, "read spool", errno);
		return;
	}
	j->strip_cr = crs > 0;
	n = snprintf(j->hdr, sizeof(j->hdr), "Return-Path: <%s>\nDelivered-To: %s\n",
	    req->return_path, req->delivered_to);
	j->hdrlen = (size_t)n;
	res->size = j->hdrlen + (uint64_t)req->length - crs;
	res->vsize = res->size + lfs + 2;
	if (maildir_basename(req, host, base, sizeof(base)) == -1) {
		job_fail(j, "name", ENAMETOOLONG);
		return;
	}
	/* ,W=: the size with CRLF line ends (Dovecot), so POP3 LIST and IMAP
	 * RFC822.SIZE need not read the file. */
	snprintf(res->name, sizeof(res->name), "%s,S=%llu,W=%llu", base,
	    (unsigned long long)res->size, (unsigned long long)res->vsize);

	/* mkdir -p the Maildir on first delivery (0700, parents fsynced). */
	for (i = 0; i < 3; i++) {
		static const char *const subs[] = { "tmp", "new", "cur" };

		snprintf(sub, sizeof(sub), "%s/%s", j->dir, subs[i]);
		if (fs_mkdir_p(sub, 0700) == -1) {
			job_fail(j, "mkdir", errno);
			return;
		}
	}

	/* Delivered before (crash after link, before the spool learnt it)? */
	snprintf(sub, sizeof(sub), "%s/new/%s", j->dir, res->name);
	if (stat(sub, &st) == 0) {
		/* Its new/ may not have been fsynced before the crash. */
		res->existed = true;
		j->active = false;
		j->sync_dir = true;
		return;
	}
	if (req->check_cur) {
		int r = find_in_cur(j->dir, base, found, sizeof(found));

		if (r == -1) {
			job_fail(j, "scan cur", errno);
			return;
		}
		if (r == 1) {
			str_copy(res->name, found, sizeof(res->name));
			res->existed = true;
			j->active = false;
			return;
		}
	}

	if (req->quota_bytes > 0) {
		if (quota_usage_dir(j->dir, req->quota_bytes, req->maildirsize, &used, &cnt) == -1) {
			job_fail(j, "quota", errno);
			return;
		}
		if (res->size > req->quota_bytes) {
			res->status = MAILDIR_PERMFAIL;
			snprintf(res->reason, sizeof(res->reason),
			    "5.2.3 message larger than the mailbox quota");
			res->name[0] = '\0';
			j->active = false;
			return;
		}
		if (used + res->size > req->quota_bytes) {
			res->status = MAILDIR_TEMPFAIL;
			snprintf(res->reason, sizeof(res->reason), "4.2.2 mailbox full");
			res->name[0] = '\0';
			j->active = false;
			return;
		}
	}
	snprintf(j->tmp, sizeof(j->tmp), "%s/tmp/%s", j->dir, res->name);
}

/* Write tmp/NAME and start its writeback. */
static void
job_write(struct job *j)
{
	struct stat st;

	/* O_TRUNC: a tmp file of ours may be left from a crash. */
	j->fd = open(j->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (j->fd == -1) {
		job_fail(j, "create", errno);
		return;
	}
	if (fs_write_all(j->fd, j->hdr, j->hdrlen) == -1 ||
	    (j->strip_cr ? copy_strip_cr(j->req->fd, j->req->offset, j->req->length, j->fd) :
	    fs_copy_range(j->req->fd, j->req->offset, j->req->length, j->fd)) == -1) {
		job_fail(j, "write", errno);
		return;
	}
	if (fstat(j->fd, &st) == -1) {
		job_fail(j, "fstat", errno);
		return;
	}
	if ((uint64_t)st.st_size != j->res->size) {
		job_fail(j, "write", EIO);	/* the name would lie about the size */
		return;
	}
	/* Start writeback now so that the fsyncs of a batch overlap. */
	(void)sync_file_range(j->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

static void
job_sync(struct job *j)
{
	if (fdatasync(j->fd) == -1) {
		job_fail(j, "fsync", errno);
		return;
	}
	if (close(j->fd) == -1) {
		j->fd = -1;
		job_fail(j, "close", errno);
		return;
	}
	j->fd = -1;
}

static void
job_link(struct job *j)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/new/%s", j->dir, j->res->name);
	if (link(j->tmp, path) == -1) {
		if (errno != EEXIST) {
			job_fail(j, "link", errno);
			return;
		}
		/* Same name = same qid, recipient and size: ours already. */
		j->res->existed = true;
	} else
		j->linked = true;
	j->sync_dir = true;
	(void)unlink(j->tmp);
}

/* fsync new/ of every job that needs it, each distinct directory once. */
static void
sync_new_dirs(struct job *jobs, size_t n)
{
	char	path[PATH_MAX];
	size_t	i, k;
	int	err;

	for (i = 0; i < n; i++) {
		if (!jobs[i].sync_dir)
			continue;
		for (k = 0; k < i; k++)
			if (jobs[k].sync_dir && strcmp(jobs[k].dir, jobs[i].dir) == 0)
				break;
		if (k < i)
			continue;	/* done with jobs[k] */
		snprintf(path, sizeof(path), "%s/new", jobs[i].dir);
		if (fs_fsync_dir(path) == 0)
			continue;
		err = errno;
		/* Not durable: take back the links in this directory. */
		for (k = i; k < n; k++) {
			if (!jobs[k].sync_dir || strcmp(jobs[k].dir, jobs[i].dir) != 0)
				continue;
			if (jobs[k].linked) {
				snprintf(path, sizeof(path), "%s/new/%s", jobs[k].dir,
				    jobs[k].res->name);
				(void)unlink(path);
			}
			jobs[k].tmp[0] = '\0';
			job_fail(&jobs[k], "fsync new", err);
		}
	}
}

size_t
maildir_deliver_many(const struct maildir_req *reqs, struct maildir_result *res, size_t n)
{
	struct job	*jobs;
	char		 hostbuf[HOST_MAX];
	const char	*host;
	size_t		 i, ok = 0;

	if (n == 0)
		return 0;
	jobs = xcalloc(n, sizeof(*jobs));
	for (i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].status = MAILDIR_OK;
		jobs[i].req = &reqs[i];
		jobs[i].res = &res[i];
		host = reqs[i].hostname;
		if (host == NULL) {
			if (gethostname(hostbuf, sizeof(hostbuf)) == -1)
				str_copy(hostbuf, "localhost", sizeof(hostbuf));
			hostbuf[sizeof(hostbuf) - 1] = '\0';
			host = hostbuf;
		}
		job_prepare(&jobs[i], host);
	}
	/* Write every copy, then fsync them all (their writeback was started
	 * in job_write, so the waits overlap), then link, then one fsync per
	 * new/ directory. */
	for (i = 0; i < n; i++)
		if (jobs[i].active)
			job_write(&jobs[i]);
	for (i = 0; i < n; i++)
		if (jobs[i].active)
			job_sync(&jobs[i]);
	for (i = 0; i < n; i++) {
		/* `queue delete` while we wrote: the message must not arrive. */
		if (jobs[i].active && reqs[i].stop_if_unlinked && fs_fd_unlinked(reqs[i].fd))
			job_fail(&jobs[i], "queue file deleted", ENOENT);
		if (jobs[i].active)
			job_link(&jobs[i]);
	}
	sync_new_dirs(jobs, n);
	for (i = 0; i < n; i++) {
		if (res[i].status != MAILDIR_OK)
			continue;
		ok++;
		if (jobs[i].linked && reqs[i].maildirsize)
			quota_add(&jobs[i]);
		snprintf(res[i].reason, sizeof(res[i].reason), "2.0.0 delivered to maildir%s",
		    res[i].existed ? " (already there)" : "");
	}
	free(jobs);
	return ok;
}

enum maildir_status
maildir_deliver(const struct maildir_req *req, struct maildir_result *res)
{
	maildir_deliver_many(req, res, 1);
	return res->status;
}
