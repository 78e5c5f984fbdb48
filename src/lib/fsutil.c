/*
 * File system helpers for durable writes (see fsutil.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"

#define COPY_CHUNK	(64 * 1024)

int
fs_fsync_dir(const char *path)
{
	int	fd, r, saved;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	r = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* mkdir one level; *created_r tells whether it was new. */
static int
mkdir_one(const char *path, mode_t mode, bool *created_r)
{
	struct stat	st;

	*created_r = false;
	if (mkdir(path, mode) == 0) {
		*created_r = true;
		return 0;
	}
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int
fs_mkdir_p(const char *path, mode_t mode)
{
	char		 p[PATH_MAX];
	size_t		 len, i;
	struct stat	 st;
	bool		 created;

	len = strlen(path);
	if (len == 0) {
		errno = ENOENT;
		return -1;
	}
	if (len >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Common case: it is all there already. */
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTDIR;
		return -1;
	}
	memcpy(p, path, len + 1);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	for (i = 1; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		if (i < len && p[i - 1] == '/')
			continue;	/* "a//b" */
		p[i] = '\0';
		if (mkdir_one(p, mode, &created) == -1) {
			p[i] = i < len ? '/' : '\0';
			return -1;
		}
		if (created) {
			/* The new entry lives in the parent: make it durable. */
			char	*slash = strrchr(p, '/');
			int	 r;

			if (slash == NULL)
				r = fs_fsync_dir(".");
			else if (slash == p)
				r = fs_fsync_dir("/");
			else {
				*slash = '\0';
				r = fs_fsync_dir(p);
				*slash = '/';
			}
			if (r == -1)
				return -1;
		}
		if (i < len)
			p[i] = '/';
	}
	return 0;
}

static bool
may_search(const struct stat *st, uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	int i;

	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return (st->st_mode & S_IXUSR) != 0;
	for (i = -1; i < ngroups; i++)
		if (st->st_gid == (i < 0 ? gid : groups[i]))
			return (st->st_mode & S_IXGRP) != 0;
	return (st->st_mode & S_IXOTH) != 0;
}

int
fs_search_blocked(const char *path, uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
    char *blocked_r, size_t blocked_sz)
{
	char		 p[PATH_MAX];
	size_t		 len = strlen(path), i;
	struct stat	 st;

	if (len == 0 || len >= sizeof(p)) {
		errno = len ? ENAMETOOLONG : ENOENT;
		return -1;
	}
	memcpy(p, path, len + 1);
	if (p[0] == '/') {
		if (stat("/", &st) != 0)
			return -1;
		if (!may_search(&st, uid, gid, groups, ngroups)) {
			snprintf(blocked_r, blocked_sz, "/");
			return 1;
		}
	}
	for (i = 1; i <= len; i++) {
		if ((i < len && p[i] != '/') || p[i - 1] == '/')
			continue;
		p[i] = '\0';
		if (stat(p, &st) != 0)
			return errno == ENOENT ? 0 : -1;
		if (S_ISDIR(st.st_mode) && !may_search(&st, uid, gid, groups, ngroups)) {
			snprintf(blocked_r, blocked_sz, "%s", p);
			return 1;
		}
		if (i < len)
			p[i] = '/';
	}
	return 0;
}

int
fs_write_all(int fd, const void *p, size_t len)
{
	const char	*c = p;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, c, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
copy_rw(int in, off_t off, off_t len, int out)
{
	char	buf[COPY_CHUNK];
	ssize_t	n;
	size_t	want;

	while (len > 0) {
		want = len > COPY_CHUNK ? COPY_CHUNK : (size_t)len;
		n = pread(in, buf, want, off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;	/* the source shrank under us */
			return -1;
		}
		if (fs_write_all(out, buf, (size_t)n) == -1)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

int
fs_copy_range(int in, off_t off, off_t len, int out)
{
	ssize_t	n;
	size_t	want;

	while (len > 0) {
		want = len > (off_t)1 << 30 ? (size_t)1 << 30 : (size_t)len;
		n = copy_file_range(in, &off, out, NULL, want, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			/* Not supported here (old kernel, cross-fs, special
			 * file): fall back to the portable loop. */
			if (errno == ENOSYS || errno == EXDEV || errno == EINVAL ||
			    errno == EOPNOTSUPP || errno == EBADF)
				return copy_rw(in, off, len, out);
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		len -= n;
	}
	return 0;
}

bool
fs_fd_unlinked(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_nlink == 0;
}
