/*
 * A whole file's bytes in memory, for code that wants one contiguous range
 * (a message to FETCH, to parse for the cache, to SEARCH).  Files up to a
 * size the caller gives are read into a buffer the blob keeps and reuses
 * for the next file; larger ones are mapped.
 *
 * Why not always mmap: every munmap in a process with several threads
 * flushes the TLB of each CPU the process runs on (one IPI each, costly
 * under a hypervisor).  For a mailbox of ~10 KB messages that flush was
 * most of a FETCH 1:* (perf: smp_call_function_many_cond under munmap),
 * far more than copying the bytes once.  Large files still map, so
 * memory stays bounded by read_max whatever a message weighs.
 * Not thread-safe per blob; no static state.
 */
#ifndef LB_FBLOB_H
#define LB_FBLOB_H

#include <stddef.h>
#include <stdint.h>

struct fblob {
	const char	*data;		/* the bytes; "" for an empty file; NULL when released */
	size_t		 len;
	char		*buf;		/* kept between loads */
	size_t		 cap;
	void		*map;		/* when the file was mapped */
	size_t		 maplen;
	int64_t		 mtime;		/* the file's at the last fblob_load(); -1 after an fstat-less load */
};

/* An empty blob (zeroing it does the same). */
void	 fblob_init(struct fblob *b);

/*
 * Load the file open on fd (left open, its offset unused): read when it
 * holds at most read_max bytes, else mapped.  The previous bytes are
 * released first.  A file that shrinks while read gives what was there.
 * 0, or -1/errno.
 */
int	 fblob_load(struct fblob *b, int fd, size_t read_max);

/*
 * As fblob_load(), for a file the caller expects to hold size bytes (a
 * mail store's index knows its messages' sizes): when it does, one pread
 * of size + 1 bytes and no fstat (a FETCH 1:* BODY[] reads thousands of
 * small files; each syscall counts).  Any other outcome (shorter, longer,
 * an error, size 0 or over read_max) goes the fblob_load() way, so a
 * wrong expectation costs a syscall, never bytes.
 */
int	 fblob_load_expect(struct fblob *b, int fd, size_t read_max, size_t size);

/* Drop the bytes (unmap), keep the buffer for the next load. */
void	 fblob_release(struct fblob *b);

/* Free everything; the blob is empty again. */
void	 fblob_clear(struct fblob *b);

#endif
