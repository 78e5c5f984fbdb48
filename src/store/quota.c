/*
 * Maildir++ quota (courier-mta.org/imap/README.maildirquota.html) in the
 * store: ROOT/maildirsize is kept right by every change the store makes
 * (append, copy, expunge, folder delete: one "<bytes> <count>" line each,
 * negative for removals), and store_quota_check() lets IMAP APPEND and
 * COPY refuse what would pass the limit.  Delivery keeps the same file
 * (src/deliver/maildir.c), which also recalculates it when it is missing
 * or has grown past 5120 bytes; the check reuses that reader.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/maildir.h"
#include "lib/fsutil.h"
#include "store/store_int.h"

void
st_quota_note(const char *root, int64_t bytes, int64_t count)
{
	char	path[PATH_MAX], line[64];
	int	fd, n;

	/* Only when the file exists (virtual_create_maildirsize): not ours to create. */
	if (count == 0 || st_join(path, sizeof(path), root, "/maildirsize", "") == -1)
		return;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1)
		return;
	n = snprintf(line, sizeof(line), "%lld %lld\n", (long long)bytes, (long long)count);
	/* One small O_APPEND write: concurrent writers do not interleave. */
	if (n > 0 && (size_t)n < sizeof(line))
		(void)fs_write_all(fd, line, (size_t)n);
	close(fd);
}

void
st_dir_usage(const char *dir, uint64_t *bytes, uint64_t *count)
{
	static const char *const subs[] = { "/cur", "/new" };
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	uint64_t	 v;
	size_t		 i, base;

	for (i = 0; i < 2; i++) {
		if (st_join(path, sizeof(path), dir, subs[i], "") == -1 ||
		    (d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			base = name_base_len(de->d_name);
			if (!name_size(de->d_name, base, 'S', &v)) {
				if (fstatat(dirfd(d), de->d_name, &st, 0) == -1)
					continue;
				v = (uint64_t)st.st_size;
			}
			*bytes += v;
			(*count)++;
		}
		closedir(d);
	}
}

int
store_quota_check(const char *root, uint64_t limit_bytes, uint64_t add_bytes)
{
	uint64_t	used = 0, count = 0;

	if (limit_bytes == 0)
		return 0;
	if (maildir_quota_usage(root, ".", limit_bytes, &used, &count) == -1)
		return -1;
	if (add_bytes > limit_bytes || used + add_bytes > limit_bytes) {
		errno = EDQUOT;
		return -1;
	}
	return 0;
}

int
store_quota_usage(const char *root, uint64_t limit_bytes, uint64_t *bytes_r,
    uint64_t *count_r)
{
	*bytes_r = *count_r = 0;
	return maildir_quota_usage(root, ".", limit_bytes, bytes_r, count_r);
}
