/*
 * Helpers shared by the store's unit tests (test_store*.c): Maildir
 * fixtures, file checks, and a recorder for store_sync() callbacks.
 */
#ifndef LB_STORE_T_H
#define LB_STORE_T_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "store/store.h"

static char	tmpdir[256];	/* each test program makes its own */

static inline void
xwrite_file(const char *path, const char *data)
{
	int	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || write(fd, data, strlen(data)) != (ssize_t)strlen(data)) {
		perror(path);
		exit(2);
	}
	close(fd);
}

static inline char *
read_all(const char *path)
{
	static char	buf[65536];
	int		fd = open(path, O_RDONLY);
	ssize_t		n;

	if (fd == -1)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Put a message file into DIR/sub/name. */
static inline void
put_msg(const char *dir, const char *sub, const char *name, const char *data)
{
	char	path[1024];

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	xwrite_file(path, data);
}

static inline void
mkmaildir(const char *dir)
{
	char	p[1024];

	mkdir(dir, 0700);
	snprintf(p, sizeof(p), "%s/cur", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/new", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/tmp", dir);
	mkdir(p, 0700);
}

static inline bool
exists(const char *dir, const char *sub, const char *name)
{
	char		path[2048];	/* a dir[512] + a STORE_NAME_SZ name */
	struct stat	st;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	return stat(path, &st) == 0;
}

static inline int
count_files(const char *dir, const char *sub)
{
	char		 path[1024];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static inline double
now_s(void)
{
	struct timeval	tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

/*
 * Message idx of mb's view by value, so a check reads tmsg(mb, 0).uid: a
 * fresh copy per call (all zero, name "", when idx is out of range).
 */
static inline struct store_msg
tmsg(const struct store_mailbox *mb, size_t idx)
{
	struct store_msg	m;

	if (store_msg_get(mb, idx, &m) == -1)
		memset(&m, 0, sizeof(m));
	return m;
}

/*
 * The same with its sizes (store_msg_size: a name without ",S=" is
 * stat()ed when asked, not by the scan).
 */
static inline struct store_msg
tmsg_sized(struct store_mailbox *mb, size_t idx)
{
	struct store_msg	m = tmsg(mb, idx);

	if (store_msg_size(mb, idx, &m) == -1)
		memset(&m, 0, sizeof(m));
	return m;
}

/* Messages from..to-1 in cur/ (distinct names and bodies). */
static inline void
put_some(const char *dir, int from, int to)
{
	char	name[128], body[128];
	int	i;

	for (i = from; i < to; i++) {
		snprintf(body, sizeof(body), "From: a@example.com\nSubject: m%d\n\nx\n", i);
		snprintf(name, sizeof(name), "17000%05d.M%dP1.host,S=%zu:2,", i, i, strlen(body));
		put_msg(dir, "cur", name, body);
	}
}

static inline void
set_mtime(const char *dir, const char *sub, time_t t)
{
	char		path[1024];
	struct timespec	ts[2] = { { t, 0 }, { t, 0 } };

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (utimensat(AT_FDCWD, path, ts, 0) == -1) {
		perror(path);
		exit(2);
	}
}

static inline void
set_mtime_ts(const char *dir, const char *sub, struct timespec t)
{
	char		path[1024];
	struct timespec	ts[2] = { t, t };

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (utimensat(AT_FDCWD, path, ts, 0) == -1) {
		perror(path);
		exit(2);
	}
}

static inline struct timespec
get_mtime(const char *dir, const char *sub)
{
	char		path[1024];
	struct stat	st;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (stat(path, &st) == -1)
		memset(&st, 0, sizeof(st));
	return st.st_mtim;
}

/* ---- sync callbacks recorder ---- */

struct rec {
	size_t		exp_idx[64];
	uint32_t	exp_uid[64];
	size_t		nexp;
	size_t		chg[64];
	size_t		nchg;
};

static inline void
rec_expunged(void *arg, size_t idx, uint32_t uid)
{
	struct rec	*r = arg;

	if (r->nexp < 64) {
		r->exp_idx[r->nexp] = idx;
		r->exp_uid[r->nexp++] = uid;
	}
}

static inline void
rec_changed(void *arg, size_t idx)
{
	struct rec	*r = arg;

	if (r->nchg < 64)
		r->chg[r->nchg++] = idx;
}

static const struct store_sync_cb rec_cb __attribute__((unused)) = { rec_expunged, rec_changed };

static inline int
rm_tree(const char *path)
{
	char	cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

#endif
