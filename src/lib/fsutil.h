/*
 * File system helpers for durable writes: fsync of a directory, mkdir -p
 * that makes each new directory durable, streaming copy of a byte range.
 * Thread-safe, no static state; all calls block on disk I/O.
 */
#ifndef LB_FSUTIL_H
#define LB_FSUTIL_H

#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

/* fsync the directory at path.  Returns 0 or -1/errno. */
int	fs_fsync_dir(const char *path);

/*
 * Create path and any missing parents with mode (like mkdir -p).  Each
 * directory this call creates has its parent fsynced afterwards, so the new
 * entry survives a power loss.  An existing non-directory -> ENOTDIR.
 * Returns 0 (also when it all existed) or -1/errno.
 */
int	fs_mkdir_p(const char *path, mode_t mode);

/*
 * Copy len bytes from in at offset off to out at its current position,
 * with copy_file_range() when the kernel can, else pread/write in 64 KiB
 * chunks.  Never holds more than one chunk in memory.  Returns 0, or -1
 * with errno (EIO also for a source shorter than len).
 */
int	fs_copy_range(int in, off_t off, off_t len, int out);

/*
 * Can a process with uid, gid and the supplementary groups[0..ngroups)
 * search every directory on the way to path (path itself too, when it is
 * a directory)?  Decided from the mode bits as the kernel does (owner,
 * else group, else other; ACLs are not read).  Returns 0 (all searchable,
 * or the rest does not exist yet), 1 with the first blocking directory in
 * blocked_r, or -1/errno.
 */
int	fs_search_blocked(const char *path, uid_t uid, gid_t gid, const gid_t *groups,
	    int ngroups, char *blocked_r, size_t blocked_sz);

/* write() all of p, retrying on EINTR and short writes.  0 or -1/errno. */
int	fs_write_all(int fd, const void *p, size_t len);

/*
 * True when the file open on fd has no name left (st_nlink 0): `queue
 * delete` unlinked a message while it was being delivered, and the
 * delivery must not complete.  False on any fstat error.
 */
bool	fs_fd_unlinked(int fd);

#endif
