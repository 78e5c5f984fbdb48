/*
 * The durable spool, writing side (see spool.h for the layout and the file
 * formats): queue IDs, write -> fsync -> rename -> fsync dir, group commit
 * of directory fsyncs, removal, listing, recovery.  Reading and status
 * records are in spool_msg.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "spool/spool.h"
#include "spool/spool_int.h"

#define WBUF_SIZE	(64 * 1024)
#define ENV_MAX		((size_t)SPOOL_RCPT_MAX * SPOOL_LINE_MAX)

/* Crockford's base32 alphabet: ASCII-ordered, so IDs sort like numbers. */
static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

struct spool_writer {
	char		*qdir;
	char		 qid[SPOOL_QID_SIZE];
	char		*tmppath;
	int		 fd;
	bool		 env_done;
	bool		 failed;
	off_t		 env_len;	/* envelope bytes incl. the blank line */
	uint64_t	 msg_bytes;
	char		*wbuf;
	size_t		 wlen;
};

struct spool_syncer {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	char		*qdir;		/* queue_directory it serves (never changes) */
	char		*dir;		/* qdir/queue, the directory fsynced */
	uint64_t	 req_gen;	/* last generation handed to a waiter */
	uint64_t	 done_gen;	/* generations covered by a finished fsync */
	uint64_t	 err_gen;	/* generations up to here got err */
	int		 err;
	bool		 running;
};

const char *const spool_state_names[SPOOL_NSTATES] = {
	[SPOOL_R_PENDING] = "pending",
	[SPOOL_R_DEFERRED] = "deferred",
	[SPOOL_R_DELIVERED] = "delivered",
	[SPOOL_R_RELAYED] = "relayed",
	[SPOOL_R_FAILED] = "failed",
	[SPOOL_R_EXPANDED] = "expanded",
	[SPOOL_R_DISCARDED] = "discarded",
};

/* ---- queue IDs ---- */

static pthread_mutex_t	qid_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t		qid_last;

void
spool_qid_new(char qid_r[SPOOL_QID_SIZE])
{
	struct timespec	ts;
	uint64_t	now;
	uint16_t	rnd;
	int		i;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	/* Strictly increasing within the process, even when the clock steps
	 * back: the time part alone then keeps IDs of one process distinct. */
	pthread_mutex_lock(&qid_mu);
	if (now <= qid_last)
		now = qid_last + 1;
	qid_last = now;
	pthread_mutex_unlock(&qid_mu);
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint16_t)(getpid() ^ (now * 2654435761u));
	/* 11 characters = 55 bits of microseconds (good until year 3111). */
	for (i = 10; i >= 0; i--) {
		qid_r[i] = b32[now & 31];
		now >>= 5;
	}
	for (i = 13; i >= 11; i--) {
		qid_r[i] = b32[rnd & 31];
		rnd >>= 5;
	}
	qid_r[SPOOL_QID_LEN] = '\0';
}

bool
spool_qid_valid(const char *s, size_t len)
{
	size_t	i;

	if (len != SPOOL_QID_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] == '\0' || memchr(b32, s[i], sizeof(b32) - 1) == NULL)
			return false;
	return true;
}

const char *
spool_state_name(enum spool_rcpt_state st)
{
	if ((size_t)st >= SPOOL_NSTATES || spool_state_names[st] == NULL)
		return "unknown";
	return spool_state_names[st];
}

/* ---- escaping ---- */

static bool
esc_needed(unsigned char c)
{
	return c <= 0x20 || c == '%' || c == 0x7f;
}

int
spool_esc_add(struct buf *b, const char *s, size_t max)
{
	static const char	hex[] = "0123456789ABCDEF";
	size_t			i;

	for (i = 0; s[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[3] = { '%', hex[c >> 4], hex[c & 15] };

		if (esc_needed(c)) {
			if (buf_add(b, e, 3) == -1)
				return -1;
		} else if (buf_addc(b, (char)c) == -1)
			return -1;
	}
	return 0;
}

/* Decode an escaped value; NULL when malformed, NUL-bearing or over max. */
char *
spool_unesc(const char *s, size_t len, size_t max)
{
	char	*out;
	size_t	 i, o = 0;

	if (len > max * 3)
		return NULL;
	out = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3 || (hi = str_hexval(s[i + 1])) < 0 ||
			    (lo = str_hexval(s[i + 2])) < 0 || (hi | lo) == 0)
				goto bad;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (c <= 0x20 || c == 0x7f)
			goto bad;	/* the writer never leaves these raw */
		else
			out[o++] = (char)c;
	}
	if (o > max)
		goto bad;
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* ---- paths ---- */

char *
spool_path(const char *qdir, const char *sub, const char *name, const char *suffix)
{
	return xasprintf("%s/%s%s%s%s", qdir, sub, name ? "/" : "", name ? name : "",
	    suffix ? suffix : "");
}

int
spool_ensure_dirs(const char *qdir)
{
	static const char *const subs[] = { "tmp", "queue", "corrupt" };
	size_t	i;
	int	r = 0;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]) && r == 0; i++) {
		char *p = spool_path(qdir, subs[i], NULL, NULL);

		r = fs_mkdir_p(p, 0700);
		free(p);
	}
	return r;
}

/* ---- writing ---- */

/*
 * A temp file is locked (flock) by its writer for as long as the writer
 * lives, so spool_recover() can tell an orphan from a message that a
 * sendmail or a session is still writing: it removes only what it can lock.
 * Returns 0 when fd holds the lock and still is the file at path.
 */
static int
tmp_claim(int fd, const char *path)
{
	struct stat	 a, b;

	if (flock(fd, LOCK_EX) == -1 || fstat(fd, &a) == -1 || stat(path, &b) == -1)
		return -1;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino ? 0 : -1;
}

/* Remove an orphaned temp file; a file whose writer still holds it stays. */
static bool
tmp_remove_orphan(const char *path, time_t now, time_t min_age)
{
	struct stat	 st;
	bool		 removed = false;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) == -1)
		return false;
	if (fstat(fd, &st) == 0 && (min_age == 0 || now - st.st_mtime >= min_age) &&
	    flock(fd, LOCK_EX | LOCK_NB) == 0)
		removed = unlink(path) == 0;
	close(fd);
	return removed;
}

struct spool_writer *
spool_create(const char *qdir)
{
	struct spool_writer	*w;
	int			 tries, saved;

	w = xcalloc(1, sizeof(*w));
	w->fd = -1;
	w->qdir = xstrdup(qdir);
	for (tries = 0; tries < 2; tries++) {
		spool_qid_new(w->qid);
		free(w->tmppath);
		w->tmppath = spool_path(qdir, "tmp", w->qid, NULL);
		w->fd = open(w->tmppath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (w->fd != -1 && tmp_claim(w->fd, w->tmppath) == 0)
			break;
		if (w->fd != -1) {
			close(w->fd);	/* recovery took it between open and lock */
			w->fd = -1;
			errno = EEXIST;
		}
		if (errno == ENOENT && tries == 0 && spool_ensure_dirs(qdir) == 0)
			continue;	/* first use of this queue_directory */
		if (errno == EEXIST && tries == 0)
			continue;
		break;
	}
	if (w->fd == -1) {
		saved = errno;
		free(w->tmppath);
		free(w->qdir);
		free(w);
		errno = saved;
		return NULL;
	}
	w->wbuf = xmalloc(WBUF_SIZE);
	return w;
}

const char *
spool_writer_qid(const struct spool_writer *w)
{
	return w->qid;
}

uint64_t
spool_writer_size(const struct spool_writer *w)
{
	return w->msg_bytes;
}

static int
w_flush(struct spool_writer *w)
{
	if (w->wlen == 0)
		return 0;
	if (fs_write_all(w->fd, w->wbuf, w->wlen) == -1) {
		w->failed = true;
		return -1;
	}
	w->wlen = 0;
	return 0;
}

static bool
val_ok(const char *s, bool required)
{
	if (s == NULL)
		return !required;
	return strlen(s) <= SPOOL_ADDR_MAX;
}

static int
env_format(struct buf *b, const struct spool_envelope *env)
{
	static const char *const bodies[] = { "7BIT", "8BITMIME", "BINARYMIME" };
	const struct { char key; const char *val; } opt[] = {
		{ 'E', env->envid }, { 'A', env->auth_user }, { 'H', env->helo },
		{ 'I', env->client_addr }, { 'D', env->client_name }, { 'O', env->origin },
	};
	size_t	i;
	int	r = 0;

	r |= buf_addf(b, "LBSPOOL %d\nT %lld\nS ", SPOOL_VERSION, (long long)env->arrival_us);
	r |= spool_esc_add(b, env->sender, SPOOL_ADDR_MAX);
	r |= buf_addf(b, "\nB %s\n", bodies[env->body]);
	if (env->ret != SPOOL_RET_NONE)
		r |= buf_addf(b, "N %s\n", env->ret == SPOOL_RET_FULL ? "FULL" : "HDRS");
	if (env->smtputf8)
		r |= buf_adds(b, "U\n");
	for (i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		if (opt[i].val == NULL)
			continue;
		r |= buf_addf(b, "%c ", opt[i].key);
		r |= spool_esc_add(b, opt[i].val, SPOOL_ADDR_MAX);
		r |= buf_addc(b, '\n');
	}
	for (i = 0; i < env->nrcpt; i++) {
		const struct spool_rcpt *rc = &env->rcpts[i];

		r |= buf_adds(b, "R to=");
		r |= spool_esc_add(b, rc->addr, SPOOL_ADDR_MAX);
		if (rc->orig != NULL) {
			r |= buf_adds(b, " orig=");
			r |= spool_esc_add(b, rc->orig, SPOOL_ADDR_MAX);
		}
		r |= buf_addf(b, " notify=%u", rc->notify);
		if (rc->orcpt != NULL) {
			r |= buf_adds(b, " orcpt=");
			r |= spool_esc_add(b, rc->orcpt, SPOOL_ADDR_MAX);
		}
		r |= buf_addc(b, '\n');
	}
	r |= buf_addc(b, '\n');
	return r == 0 ? 0 : -1;
}

int
spool_write_envelope(struct spool_writer *w, const struct spool_envelope *env)
{
	struct spool_envelope	 e = *env;
	struct buf		 b;
	struct timespec		 ts;
	size_t			 i;
	int			 r;

	if (w->env_done || w->failed || !val_ok(e.sender, true) || !val_ok(e.envid, false) ||
	    !val_ok(e.auth_user, false) || !val_ok(e.helo, false) ||
	    !val_ok(e.client_addr, false) || !val_ok(e.client_name, false) ||
	    !val_ok(e.origin, false) || e.nrcpt == 0 || e.nrcpt > SPOOL_RCPT_MAX ||
	    (unsigned)e.ret > SPOOL_RET_HDRS || (unsigned)e.body > SPOOL_BODY_BINARYMIME ||
	    e.arrival_us < 0) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < e.nrcpt; i++) {
		const struct spool_rcpt *rc = &e.rcpts[i];

		if (!val_ok(rc->addr, true) || rc->addr[0] == '\0' || !val_ok(rc->orig, false) ||
		    !val_ok(rc->orcpt, false) || rc->notify > 0x0f) {
			errno = EINVAL;
			return -1;
		}
	}
	if (e.arrival_us == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		e.arrival_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	}
	buf_init(&b, ENV_MAX);
	if (env_format(&b, &e) == -1) {
		buf_clear(&b);
		errno = EINVAL;
		return -1;
	}
	r = fs_write_all(w->fd, b.data, b.len);
	if (r == 0) {
		w->env_len = (off_t)b.len;
		w->env_done = true;
	} else
		w->failed = true;
	buf_clear(&b);
	return r;
}

int
spool_write(struct spool_writer *w, const void *data, size_t len)
{
	const char	*p = data;
	size_t		 n;

	if (!w->env_done || w->failed) {
		errno = w->failed ? EIO : EINVAL;
		return -1;
	}
	w->msg_bytes += len;
	/* Large chunks bypass the buffer once it is empty. */
	while (len > 0) {
		if (w->wlen == 0 && len >= WBUF_SIZE) {
			if (fs_write_all(w->fd, p, len) == -1) {
				w->failed = true;
				return -1;
			}
			return 0;
		}
		n = WBUF_SIZE - w->wlen;
		if (n > len)
			n = len;
		memcpy(w->wbuf + w->wlen, p, n);
		w->wlen += n;
		p += n;
		len -= n;
		if (w->wlen == WBUF_SIZE && w_flush(w) == -1)
			return -1;
	}
	return 0;
}

int
spool_writer_range(struct spool_writer *w, int *fd_r, off_t *offset_r, off_t *len_r)
{
	if (!w->env_done || w->failed) {
		errno = w->failed ? EIO : EINVAL;
		return -1;
	}
	if (w_flush(w) == -1)
		return -1;
	*fd_r = w->fd;
	*offset_r = w->env_len;
	*len_r = (off_t)w->msg_bytes;
	return 0;
}

static void
writer_free(struct spool_writer **wp)
{
	struct spool_writer *w = *wp;

	if (w == NULL)
		return;
	if (w->fd != -1)
		close(w->fd);
	free(w->tmppath);
	free(w->qdir);
	free(w->wbuf);
	free(w);
	*wp = NULL;
}

void
spool_abort(struct spool_writer **wp)
{
	if (*wp == NULL)
		return;
	if ((*wp)->tmppath != NULL)
		unlink((*wp)->tmppath);
	writer_free(wp);
}

/* rename(from, to) that never replaces to: EEXIST instead. */
static int
rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -1;
	/* File system without RENAME_NOREPLACE: link() refuses too. */
	if (link(from, to) == -1)
		return -1;
	unlink(from);
	return 0;
}

static int	syncer_sync(struct spool_syncer *sy);

int
spool_commit(struct spool_writer **wp, struct spool_syncer *sy, char qid_r[SPOOL_QID_SIZE])
{
	struct spool_writer	*w = *wp;
	char			*dst = NULL, *qdir;
	int			 tries, saved, r;

	qid_r[0] = '\0';
	if (!w->env_done || w->failed) {
		spool_abort(wp);
		errno = EINVAL;
		return -1;
	}
	if (w_flush(w) == -1 || fdatasync(w->fd) == -1)
		goto fail;
	for (tries = 0;; tries++) {
		free(dst);
		dst = spool_path(w->qdir, "queue", w->qid, NULL);
		if (rename_noreplace(w->tmppath, dst) == 0)
			break;
		if (errno != EEXIST || tries == 5)
			goto fail;
		spool_qid_new(w->qid);	/* another process drew the same ID */
	}
	free(w->tmppath);
	w->tmppath = NULL;	/* from here on abort must not unlink */
	/* A syncer serves one queue_directory: after a reload moved it, a
	 * commit into the new one must fsync that, not share the old fsync. */
	if (sy != NULL && strcmp(sy->qdir, w->qdir) == 0)
		r = syncer_sync(sy);
	else {
		qdir = spool_path(w->qdir, "queue", NULL, NULL);
		r = fs_fsync_dir(qdir);
		free(qdir);
	}
	if (r == -1) {
		/* Not durable: take it back so no 250 is given for it. */
		saved = errno;
		unlink(dst);
		free(dst);
		writer_free(wp);
		errno = saved;
		return -1;
	}
	memcpy(qid_r, w->qid, SPOOL_QID_SIZE);
	free(dst);
	writer_free(wp);
	return 0;
fail:
	saved = errno;
	free(dst);
	spool_abort(wp);
	errno = saved;
	return -1;
}

/* ---- group commit ---- */

struct spool_syncer *
spool_syncer_new(const char *qdir)
{
	struct spool_syncer *sy = xcalloc(1, sizeof(*sy));

	pthread_mutex_init(&sy->mu, NULL);
	pthread_cond_init(&sy->cv, NULL);
	sy->qdir = xstrdup(qdir);
	sy->dir = spool_path(qdir, "queue", NULL, NULL);
	return sy;
}

void
spool_syncer_free(struct spool_syncer **syp)
{
	struct spool_syncer *sy = *syp;

	if (sy == NULL)
		return;
	pthread_mutex_destroy(&sy->mu);
	pthread_cond_destroy(&sy->cv);
	free(sy->qdir);
	free(sy->dir);
	free(sy);
	*syp = NULL;
}

/*
 * Wait for an fsync of queue/ that started after our rename.  The first
 * waiter to find no fsync running performs one for every generation
 * requested so far; the others sleep and share its result.
 */
static int
syncer_sync(struct spool_syncer *sy)
{
	uint64_t	my, target;
	int		r, err = 0;

	pthread_mutex_lock(&sy->mu);
	my = ++sy->req_gen;
	while (sy->done_gen < my) {
		if (sy->running) {
			pthread_cond_wait(&sy->cv, &sy->mu);
			continue;
		}
		sy->running = true;
		target = sy->req_gen;
		pthread_mutex_unlock(&sy->mu);
		r = fs_fsync_dir(sy->dir);
		err = r == -1 ? errno : 0;
		pthread_mutex_lock(&sy->mu);
		sy->running = false;
		sy->done_gen = target;
		if (err != 0) {
			sy->err_gen = target;
			sy->err = err;
		}
		pthread_cond_broadcast(&sy->cv);
	}
	/* Did the fsync that covered us fail?  (A later success does not
	 * help: the error may have been for our entry.) */
	if (sy->err_gen >= my && sy->err != 0)
		err = sy->err;
	else
		err = 0;
	pthread_mutex_unlock(&sy->mu);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* ---- removal, listing, recovery ---- */

int
spool_remove(const char *qdir, const char *qid)
{
	char	*p;
	int	 r, saved = 0;

	if (!spool_qid_valid(qid, strlen(qid))) {
		errno = EINVAL;
		return -1;
	}
	/* The message first: an orphaned .st is harmless (spool_recover). */
	p = spool_path(qdir, "queue", qid, NULL);
	r = unlink(p);
	if (r == -1 && errno == ENOENT)
		r = 0;
	if (r == -1)
		saved = errno;
	free(p);
	p = spool_path(qdir, "queue", qid, ".st");
	(void)unlink(p);
	free(p);
	errno = saved;
	return r;
}

int
spool_list(const char *qdir, int (*fn)(const char *qid, void *arg), void *arg)
{
	DIR		*d;
	struct dirent	*de;
	char		*p;
	int		 r = 0;

	p = spool_path(qdir, "queue", NULL, NULL);
	d = opendir(p);
	free(p);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (!spool_qid_valid(de->d_name, strlen(de->d_name)))
			continue;
		if ((r = fn(de->d_name, arg)) != 0)
			break;
	}
	closedir(d);
	return r;
}

int
spool_recover(const char *qdir, time_t min_age)
{
	DIR		*d;
	struct dirent	*de;
	char		*dir, *p;
	time_t		 now = time(NULL);
	int		 removed = 0;
	size_t		 len;

	if (spool_ensure_dirs(qdir) == -1)
		return -1;
	dir = spool_path(qdir, "tmp", NULL, NULL);
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!spool_qid_valid(de->d_name, strlen(de->d_name)))
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (tmp_remove_orphan(p, now, min_age))
			removed++;
		free(p);
	}
	closedir(d);
	free(dir);
	/* Status files whose message is gone (crash inside spool_remove). */
	dir = spool_path(qdir, "queue", NULL, NULL);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			len = strlen(de->d_name);
			if (len != SPOOL_QID_LEN + 3 || strcmp(de->d_name + SPOOL_QID_LEN, ".st") != 0 ||
			    !spool_qid_valid(de->d_name, SPOOL_QID_LEN))
				continue;
			p = xasprintf("%s/%.*s", dir, SPOOL_QID_LEN, de->d_name);
			if (access(p, F_OK) == -1 && errno == ENOENT) {
				free(p);
				p = xasprintf("%s/%s", dir, de->d_name);
				(void)unlink(p);
			}
			free(p);
		}
		closedir(d);
	}
	free(dir);
	if (removed > 0)
		log_info("spool: removed %d unfinished temp file(s) from %s/tmp", removed, qdir);
	return removed;
}
