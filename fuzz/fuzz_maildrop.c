/*
 * libFuzzer harness for the maildrop file parser (queue/drop.c): the
 * daemon reads these files from any local user.  The input is copied to an
 * exact-size buffer so ASan catches any read past it; an accepted file is
 * written back with drop_write() and parsed again, which must give the same
 * envelope and message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "queue/drop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
roundtrip(const struct drop_msg *m)
{
	struct drop_msg	 again;
	const char	*err;
	int		 fd = memfd_create("drop", MFD_CLOEXEC);
	off_t		 len;
	char		*buf;
	size_t		 i;

	if (fd < 0)
		return;
	if (drop_write(fd, m) != 0 || (len = lseek(fd, 0, SEEK_END)) < 0)
		abort();
	buf = malloc((size_t)len + 1);
	if (pread(fd, buf, (size_t)len, 0) != len)
		abort();
	close(fd);
	if (drop_parse(buf, (size_t)len, &again, &err) != 0 || again.nrcpt != m->nrcpt ||
	    strcmp(again.sender, m->sender) != 0 || again.len != m->len ||
	    memcmp(again.data, m->data, m->len) != 0)
		abort();
	for (i = 0; i < m->nrcpt; i++)
		if (strcmp(again.rcpts[i], m->rcpts[i]) != 0)
			abort();
	drop_msg_clear(&again);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drop_msg	 m;
	const char	*err;
	char		*copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	if (drop_parse(copy, size, &m, &err) == 0) {
		roundtrip(&m);
		drop_msg_clear(&m);
	}
	free(copy);
	return 0;
}
