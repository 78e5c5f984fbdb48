/*
 * Store bench (issue 12's table): builds a folder of N messages and times
 * what IMAP does most -- flag changes, appends, syncs, STATUS, opens --
 * and measures memory per session and cache bytes per message.
 *	store_bench <dir> <N>
 * Memory is counted by wrapping malloc (glibc's __libc_* underneath).
 * Figures, not pass/fail.
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_int.h"	/* the index's names block (mmap'd, not malloc'd) */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static size_t	live, allocated;

/*
 * The target for an append excludes the message's own fsync (issue 12):
 * while skip_file_fsync is set, fsync() of a regular file returns at once;
 * directories and fdatasync() (the index log) go to the disk as usual.
 * The store's objects are linked into this program, so their calls come here.
 */
static int	skip_file_fsync;

int
fsync(int fd)
{
	struct stat	st;

	if (skip_file_fsync && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		return 0;
	return (int)syscall(SYS_fsync, fd);
}

void *
malloc(size_t n)
{
	void	*p = __libc_malloc(n);

	if (p != NULL) {
		live += malloc_usable_size(p);
		allocated += n;
	}
	return p;
}

void *
calloc(size_t a, size_t b)
{
	void	*p = __libc_calloc(a, b);

	if (p != NULL) {
		live += malloc_usable_size(p);
		allocated += a * b;
	}
	return p;
}

void *
realloc(void *old, size_t n)
{
	size_t	 o = old != NULL ? malloc_usable_size(old) : 0;
	void	*p = __libc_realloc(old, n);

	if (p != NULL) {
		live += malloc_usable_size(p) - o;
		allocated += n;
	}
	return p;
}

void
free(void *p)
{
	if (p != NULL)
		live -= malloc_usable_size(p);
	__libc_free(p);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Back-date cur/ and new/ by ago seconds: a scan then counts as settled. */
static void
age_dirs_by(const char *dir, time_t ago)
{
	char		path[1024];
	struct timespec	ts[2] = { { time(NULL) - ago, 0 }, { time(NULL) - ago, 0 } };

	snprintf(path, sizeof(path), "%s/cur", dir);
	(void)utimensat(AT_FDCWD, path, ts, 0);
	snprintf(path, sizeof(path), "%s/new", dir);
	(void)utimensat(AT_FDCWD, path, ts, 0);
}

static void
age_dirs(const char *dir)
{
	age_dirs_by(dir, 3600);
}

static void
make_folder(const char *dir, int n)
{
	char	path[1024], body[600];
	int	i, fd, len;

	snprintf(path, sizeof(path), "mkdir -p '%s/cur' '%s/new' '%s/tmp'", dir, dir, dir);
	if (system(path) != 0)
		exit(2);
	for (i = 0; i < n; i++) {
		len = snprintf(body, sizeof(body),
		    "Return-Path: <sender%d@example.org>\n"
		    "From: Sender %d <sender%d@example.org>\n"
		    "To: user@example.com\n"
		    "Subject: bench message %d\n"
		    "Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
		    "Message-ID: <%d@example.org>\n"
		    "MIME-Version: 1.0\n"
		    "Content-Type: text/plain; charset=us-ascii\n\n"
		    "Hello, this is message %d.\n", i, i, i, i, i, i);
		snprintf(path, sizeof(path), "%s/cur/%d.M%dP1.bench,S=%d,W=%d:2,%s", dir,
		    1700000000 + i, i, len, len + 10, i % 3 ? "S" : "");
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd == -1 || write(fd, body, (size_t)len) != len)
			exit(2);
		close(fd);
	}
	age_dirs(dir);
}

static void
row(const char *what, double ms, const char *extra)
{
	if (ms > 0)
		printf("| %-52s | %9.3f ms %s\n", what, ms, extra);
	else
		printf("| %-52s | %s\n", what, extra);
}

static off_t
file_size(const char *dir, const char *file)
{
	char		path[1024];
	struct stat	sb;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/*
 * A cold open reads the snapshot and replays the change log, which is
 * compacted when it reaches a quarter of the snapshot: the open just
 * before that, after as many flag changes as it takes (bounded).
 */
static void
log_replay(const char *dir, size_t cnt)
{
	struct store_mailbox	*mb;
	char			 extra[128];
	off_t			 base, log;
	double			 t0;
	int			 k;

	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	if (mb == NULL || store_sync(mb, NULL, NULL) == -1)
		return;
	base = file_size(dir, "letterbox-uidlist");
	for (k = 0; k < 200000; k++) {
		(void)store_set_flags(mb, (size_t)k * 7919 % cnt,
		    k / (int)cnt % 2 ? STORE_FLAGS_REMOVE : STORE_FLAGS_ADD, STORE_F_FLAGGED, 0, 0);
		if (k % 64 == 0 && (log = file_size(dir, "letterbox-uidlist.log")) > base / 4 - base / 40)
			break;
	}
	/* Settle the recorded scan, so the open below trusts it (no readdir). */
	age_dirs(dir);
	(void)store_sync(mb, NULL, NULL);
	store_close(&mb);
	log = file_size(dir, "letterbox-uidlist.log");
	t0 = now();
	mb = store_open(dir, "INBOX", 0);
	if (store_sync(mb, NULL, NULL) == -1)
		return;
	snprintf(extra, sizeof(extra), "(after %d flag changes: %lld KB of log, snapshot %lld KB)",
	    k, (long long)log / 1024, (long long)file_size(dir, "letterbox-uidlist") / 1024);
	row("new handle open (cold), log near compaction", (now() - t0) * 1e3, extra);
	store_close(&mb);
}

int
main(int argc, char **argv)
{
	struct store_mailbox	*mb, *mb2;
	struct store_status	 st;
	const char		*dir, *d;
	char			 path[1024], extra[128];
	struct stat		 sb;
	size_t			 i, l0, a0, len, cnt;
	double			 t0, t;
	uint32_t		 uid;
	int			 n, k;

	if (argc != 3)
		return 2;
	dir = argv[1];
	n = atoi(argv[2]);
	make_folder(dir, n);
	mb = store_open(dir, "INBOX", 0);
	t0 = now();
	if (mb == NULL || store_sync(mb, NULL, NULL) == -1)
		return 1;
	printf("store bench: %d messages in %s\n", n, dir);
	row("first index build (rebuild)", (now() - t0) * 1e3, "");
	/* The build's scan saw mtimes of this very second, which a scan never
	 * trusts; a later sync rescans the settled folder and records that. */
	age_dirs(dir);
	(void)store_sync(mb, NULL, NULL);
	store_close(&mb);

	/* The index records a scan of cur/ and new/ as they are: the open
	 * reads the index alone (the usual case for a new session). */
	t0 = now();
	mb = store_open(dir, "INBOX", 0);
	if (store_sync(mb, NULL, NULL) == -1)
		return 1;
	row("new handle open (cold: no other handle)", (now() - t0) * 1e3, "");
	store_close(&mb);
	/* Someone changed cur/ since (its mtime moved): the open rescans it. */
	age_dirs_by(dir, 7200);
	t0 = now();
	mb = store_open(dir, "INBOX", 0);
	if (store_sync(mb, NULL, NULL) == -1)
		return 1;
	row("  the same after cur/ changed (a readdir)", (now() - t0) * 1e3, "");
	store_close(&mb);

	/* A second process holds the folder open: the shared part is not ours. */
	l0 = live;
	t0 = now();
	mb = store_open(dir, "INBOX", 0);
	if (store_sync(mb, NULL, NULL) == -1)
		return 1;
	row("new handle open (cold, again)", (now() - t0) * 1e3, "");
	snprintf(extra, sizeof(extra), "(%zu B/msg with the index it alone holds)",
	    (live - l0 + mb->ul->names_cap) / (size_t)n);
	row("memory of one session after open", 0, extra);

	store_set_fsync(STORE_FSYNC_OPTIMIZED);
	for (k = 0, t0 = now(); k < 200; k++)
		(void)store_set_flags(mb, (size_t)(k * 7919) % (size_t)n, STORE_FLAGS_ADD,
		    STORE_F_FLAGGED, 0, 0);
	row("one flag change (mail_fsync=optimized, default)", (now() - t0) * 1e3 / 200, "");
	store_set_fsync(STORE_FSYNC_ALWAYS);
	for (k = 0, t0 = now(); k < 200; k++)
		(void)store_set_flags(mb, (size_t)(k * 7919) % (size_t)n, STORE_FLAGS_ADD,
		    STORE_F_SEEN, 0, 0);
	row("  the same, mail_fsync=always (fdatasync'ed)", (now() - t0) * 1e3 / 200, "");
	store_set_fsync(STORE_FSYNC_OPTIMIZED);
	t0 = now();
	(void)store_update_begin(mb);
	for (k = 0; k < 100; k++)
		(void)store_set_flags(mb, (size_t)(k * 104729) % (size_t)n, STORE_FLAGS_ADD,
		    STORE_F_ANSWERED, 0, 0);
	(void)store_update_end(mb);
	row("100 flag changes in one batch", (now() - t0) * 1e3, "");
	store_close(&mb);

	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	(void)store_sync(mb, NULL, NULL);
	for (k = 0, t0 = now(); k < 200; k++)
		(void)store_set_flags(mb, (size_t)(k * 7919) % (size_t)n, STORE_FLAGS_REMOVE,
		    STORE_F_FLAGGED, 0, 0);
	row("one flag change (no fsync)", (now() - t0) * 1e3 / 200, "");
	/* A client's STORE then NOOP: the sync right after this handle's own
	 * flag change (its renames moved cur/'s mtime). */
	age_dirs(dir);
	(void)store_sync(mb, NULL, NULL);
	for (k = 0, t = 0; k < 20; k++) {
		(void)store_set_flags(mb, (size_t)(k * 7919) % (size_t)n, STORE_FLAGS_ADD,
		    STORE_F_DRAFT, 0, 0);
		t0 = now();
		(void)store_sync(mb, NULL, NULL);
		t += now() - t0;
	}
	row("sync right after an own flag change", t * 1e3 / 20, "");
	for (k = 0, t0 = now(); k < 100; k++)
		(void)store_append(mb, "Subject: x\r\n\r\nbody\r\n", 20, 0, 0, 0, &uid);
	row("one append (no fsync at all)", (now() - t0) * 1e3 / 100, "");
	store_close(&mb);
	mb = store_open(dir, "INBOX", 0);
	(void)store_sync(mb, NULL, NULL);
	skip_file_fsync = 1;
	for (k = 0, t0 = now(); k < 50; k++)
		(void)store_append(mb, "Subject: x\r\n\r\nbody\r\n", 20, 0, 0, 0, &uid);
	skip_file_fsync = 0;
	row("one append (log and dir fsync'ed, not the message)", (now() - t0) * 1e3 / 50, "");
	for (k = 0, t0 = now(); k < 50; k++)
		(void)store_append(mb, "Subject: x\r\n\r\nbody\r\n", 20, 0, 0, 0, &uid);
	row("  the same with the message's fsync", (now() - t0) * 1e3 / 50, "");
	age_dirs(dir);
	(void)store_sync(mb, NULL, NULL);
	(void)store_sync(mb, NULL, NULL);
	a0 = allocated;
	for (k = 0, t0 = now(); k < 1000; k++)
		(void)store_sync(mb, NULL, NULL);
	t = (now() - t0) * 1e3 / 1000;
	snprintf(extra, sizeof(extra), "(%zu B allocated per sync)", (allocated - a0) / 1000);
	row("sync with nothing changed", t, extra);
	for (k = 0, t0 = now(); k < 1000; k++)
		(void)store_status(dir, "INBOX", STORE_STATUS_SIZE, &st);
	row("status from the header", (now() - t0) * 1e3 / 1000, "");
	snprintf(extra, sizeof(extra), "(messages %u, unseen %u)", st.messages, st.unseen);
	row("  status result", 0, extra);

	/* Another session on top of mb: what it adds, then after a FETCH ENVELOPE of all. */
	l0 = live;
	t0 = now();
	mb2 = store_open(dir, "INBOX", 0);
	(void)store_sync(mb2, NULL, NULL);
	row("second handle open (folder already open)", (now() - t0) * 1e3, "");
	cnt = store_count(mb2);
	snprintf(extra, sizeof(extra), "(%zu B/msg)", (live - l0) / cnt);
	row("memory per session (second handle)", 0, extra);
	for (i = 0, t0 = now(); i < cnt; i++)
		(void)store_msg_cached(mb2, i, STORE_CACHE_ENVELOPE, &d, &len);
	t = now() - t0;
	snprintf(extra, sizeof(extra), "(%zu B/msg after FETCH ENVELOPE 1:*, %.0f ms to fill)",
	    (live - l0) / cnt, t * 1e3);
	/* Counts the folder's shared cache table too (this session filled
	 * it); the session's own part is the last row. */
	row("memory, first session to FETCH, with shared", 0, extra);
	{
		struct store_mailbox	*mb3;

		l0 = live;
		mb3 = store_open(dir, "INBOX", 0);
		(void)store_sync(mb3, NULL, NULL);
		for (i = 0, t0 = now(); i < cnt; i++)
			(void)store_msg_cached(mb3, i, STORE_CACHE_ENVELOPE, &d, &len);
		t = now() - t0;
		snprintf(extra, sizeof(extra), "(%zu B/msg, FETCH ENVELOPE 1:* from the cache "
		    "in %.0f ms)", (live - l0) / cnt, t * 1e3);
		row("memory per session, cache already filled", 0, extra);
		store_close(&mb3);
	}
	snprintf(path, sizeof(path), "%s/letterbox-cache", dir);
	if (stat(path, &sb) == 0) {
		snprintf(extra, sizeof(extra), "(%lld B/msg)", (long long)sb.st_size / (long long)cnt);
		row("cache on disk", 0, extra);
	}
	/* What is the session's own, not the folder's shared part (index
	 * snapshot, cache offset table) that mb still holds: what its close frees. */
	l0 = live;
	store_close(&mb2);
	snprintf(extra, sizeof(extra), "(%zu B/msg: what closing that session frees)",
	    (l0 - live) / cnt);
	row("memory per session after a cached FETCH", 0, extra);
	store_close(&mb);
	log_replay(dir, cnt);
	return 0;
}
