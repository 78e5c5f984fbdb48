/*
 * Whole-file loads, read or mapped (see fblob.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fblob.h"
#include "lib/xmalloc.h"

void
fblob_init(struct fblob *b)
{
	memset(b, 0, sizeof(*b));
}

void
fblob_release(struct fblob *b)
{
	if (b->map != NULL)
		munmap(b->map, b->maplen);
	b->map = NULL;
	b->maplen = 0;
	b->data = NULL;
	b->len = 0;
}

void
fblob_clear(struct fblob *b)
{
	fblob_release(b);
	free(b->buf);
	fblob_init(b);
}

/* b->buf holds at least size bytes (its contents are not kept). */
static void
reserve(struct fblob *b, size_t size)
{
	if (size > b->cap) {
		free(b->buf);
		b->buf = xmalloc(size);
		b->cap = size;
	}
}

/* Read size bytes (fewer if the file shrank) into b->buf. */
static int
read_in(struct fblob *b, int fd, size_t size)
{
	size_t	 got = 0;
	ssize_t	 n;

	reserve(b, size);
	while (got < size) {
		n = pread(fd, b->buf + got, size - got, (off_t)got);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	b->data = b->buf;
	b->len = got;
	return 0;
}

int
fblob_load(struct fblob *b, int fd, size_t read_max)
{
	struct stat	 st;
	void		*p;
	size_t		 size;

	fblob_release(b);
	if (fstat(fd, &st) == -1)
		return -1;
	b->mtime = st.st_mtime;
	size = (size_t)st.st_size;
	if (size == 0) {
		b->data = "";		/* mmap refuses an empty file */
		return 0;
	}
	if (size <= read_max)
		return read_in(b, fd, size);
	p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	b->map = p;
	b->maplen = b->len = size;
	b->data = p;
	return 0;
}

int
fblob_load_expect(struct fblob *b, int fd, size_t read_max, size_t size)
{
	ssize_t	 n;

	if (size == 0 || size >= read_max)
		return fblob_load(b, fd, read_max);
	fblob_release(b);
	reserve(b, size + 1);
	/* one byte more than expected: getting exactly size means the end */
	n = pread(fd, b->buf, size + 1, 0);
	if (n != (ssize_t)size)
		return fblob_load(b, fd, read_max);
	b->data = b->buf;
	b->len = size;
	b->mtime = -1;		/* no fstat on this path: not known */
	return 0;
}
