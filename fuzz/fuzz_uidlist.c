/*
 * libFuzzer harness for the folder index reader (src/store/uidlist.c,
 * ullog.c): the input is split at the first "\n~~~\n" into the snapshot
 * (letterbox-uidlist) and the change log (letterbox-uidlist.log), both
 * written into a private temp directory, and read with ul_load().  An
 * index is ours, but a crash, a disk error or a hand edit can leave any
 * bytes: a broken one must give "rebuild" (1) or an error, never a crash.
 * On success every record is looked up again by UID (the one-probe path)
 * and by base name (builds the name table), and the totals are checked.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char	dir[64];

static void
put(const char *file, const uint8_t *p, size_t n)
{
	char	path[128];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (p == NULL) {
		(void)unlink(path);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (n > 0 && fs_write_all(fd, p, n) == -1) || close(fd) == -1)
		abort();
}

static void
cleanup(void)
{
	put(UIDLIST_FILE, NULL, 0);
	put(UIDLIST_LOG, NULL, 0);
	(void)rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 sep[] = "\n~~~\n";
	struct uidlist		 ul;
	struct ul_rec		*r;
	const uint8_t		*log = NULL;
	size_t			 blen = size, i;
	uint32_t		 unseen = 0;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/fuzz_uidlist.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		atexit(cleanup);
	}
	if (size > 1 << 20)
		return 0;
	for (i = 0; i + sizeof(sep) - 1 <= size; i++)
		if (memcmp(data + i, sep, sizeof(sep) - 1) == 0) {
			blen = i + 1;
			log = data + i + sizeof(sep) - 1;
			break;
		}
	put(UIDLIST_FILE, data, blen);
	put(UIDLIST_LOG, log, log != NULL ? size - (size_t)(log - data) : 0);

	memset(&ul, 0, sizeof(ul));
	if (ul_load(&ul, dir) == 0) {
		for (i = 0; i < ul.n; i++) {
			r = &ul.recs[i];
			if ((i > 0 && r->uid <= ul.recs[i - 1].uid) || ul_find_uid(&ul, r->uid) != r ||
			    r->base_len > strlen(r->name) ||
			    ul_find_base(&ul, r->name, r->base_len) == NULL)
				abort();
			if (r->counted && !r->counted_seen)
				unseen++;
		}
		if (unseen != ul.nunseen || (ul.n > 0 && ul_find_uid(&ul, ul.recs[0].uid - 1) != NULL))
			abort();
	}
	ul_clear(&ul);
	return 0;
}
