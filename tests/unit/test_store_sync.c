/*
 * What a sync reads (issue 12): after this handle's own changes (flag
 * renames, expunges, appends, the moves out of new/) the index records
 * the directories' mtimes they left, so the next sync reads no directory;
 * a change by another program is still seen -- at once when it moved the
 * mtime, at the re-check once the tick is old when it did not (same
 * coarse tick).  Also: what a sync must do without any readdir (messages
 * indexed in new/, old tmp/ files).
 */
#include <time.h>

#include "t.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store_t.h"

/* A folder of n messages whose index records a settled scan. */
static struct store_mailbox *
settled(const char *dir, int n, int oflags)
{
	struct store_mailbox	*mb;
	time_t			 old = time(NULL) - 3600;

	mkmaildir(dir);
	put_some(dir, 0, n);
	set_mtime(dir, "cur", old);
	set_mtime(dir, "new", old);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC | oflags);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), n);
	return mb;
}

/* Rename message file name (in cur/) to carry flags "S": another program's flag change. */
static void
foreign_seen(const char *dir, const char *name)
{
	char	from[2048], to[2048];

	snprintf(from, sizeof(from), "%s/cur/%s", dir, name);
	snprintf(to, sizeof(to), "%s/cur/%.*sS", dir, (int)strlen(name), name);
	t_int(rename(from, to), 0);
}

/*
 * In a settled folder: our own flag change on message 0, then another
 * program's on message victim; returns cur/'s mtime after our change.
 */
static struct timespec
own_then_foreign(struct store_mailbox *mb, const char *dir, size_t victim)
{
	char		name[STORE_NAME_SZ];
	struct timespec	m1;

	t_int(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_FLAGGED, 0, 0), 0);
	m1 = get_mtime(dir, "cur");
	snprintf(name, sizeof(name), "%s", tmsg(mb, victim).name);
	foreign_seen(dir, name);
	return m1;
}

/* The predicate alone, at chosen times. */
static void
test_usable(void)
{
	int64_t		now = 2000000000;
	uint64_t	s = 1000000000u;

	/* Settled (the scan came over a second after the mtimes): always. */
	t_ok(st_scan_usable((uint64_t)(now - 100) * s, (uint64_t)(now - 90) * s, now - 50, now));
	/* Young: taken while its tick is young... */
	t_ok(st_scan_usable((uint64_t)(now - 100) * s, (uint64_t)now * s, now, now));
	t_ok(st_scan_usable((uint64_t)(now - 100) * s, (uint64_t)(now - 1) * s, now - 1, now));
	/* ...due once a scan now would be settled (the re-check)... */
	t_ok(!st_scan_usable((uint64_t)(now - 100) * s, (uint64_t)(now - 2) * s, now - 2, now));
	/* ...or SCAN_RECHECK_MAX after its scan_at, however young the mtime. */
	t_ok(st_scan_usable((uint64_t)(now - 100) * s, (uint64_t)now * s,
	    now - SCAN_RECHECK_MAX, now));
	t_ok(!st_scan_usable((uint64_t)(now - 100) * s, (uint64_t)now * s,
	    now - SCAN_RECHECK_MAX - 1, now));
	/* No record. */
	t_ok(!st_scan_usable(0, 0, 0, now));
}

/* Own flag changes, batches, expunges and appends: the next sync reads nothing. */
static void
test_own_changes(void)
{
	char			 dir[512];
	struct store_mailbox	*mb, *mb2;
	struct rec		 r;
	uint32_t		 uid;
	unsigned		 s0;
	int			 i;

	snprintf(dir, sizeof(dir), "%s/own", tmpdir);
	mb = settled(dir, 20, 0);
	s0 = mb->scans;

	t_int(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0), 0);
	memset(&r, 0, sizeof(r));
	t_int(store_sync(mb, &rec_cb, &r), 0);
	t_int(mb->scans, s0);			/* no readdir */
	t_int(r.nchg, 0);			/* and our own change not told back */
	t_ok(tmsg(mb, 0).flags & STORE_F_SEEN);

	t_int(store_update_begin(mb), 0);
	for (i = 1; i < 6; i++)
		t_int(store_set_flags(mb, (size_t)i, STORE_FLAGS_ADD, STORE_F_FLAGGED, 0, 0), 0);
	t_int(store_update_end(mb), 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(mb->scans, s0);

	uid = store_msg_uid(mb, 7);
	t_int(store_expunge(mb, &uid, 1), 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(mb->scans, s0);
	t_int(store_count(mb), 19);

	t_int(store_append(mb, "Subject: x\r\n\r\nbody\r\n", 20, 0, 0, 0, &uid), 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(mb->scans, s0);
	t_int(store_count(mb), 20);
	t_int(store_msg_uid(mb, 19), uid);

	/* Another handle of the process shares the record: no readdir either,
	 * and it sees every change. */
	mb2 = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb2, NULL, NULL), 0);
	t_int(mb2->scans, 0);
	t_int(store_count(mb2), 20);
	t_ok(tmsg(mb2, 0).flags & STORE_F_SEEN);
	t_ok(tmsg(mb2, 5).flags & STORE_F_FLAGGED);
	store_close(&mb2);

	/* Mail delivered into new/: read, moved to cur/ by us; the sync after reads nothing. */
	put_msg(dir, "new", "1800000000.M1P1.host", "Subject: new\n\nx\n");
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(mb->scans, s0 + 1);
	t_int(store_count(mb), 21);
	t_int(count_files(dir, "new"), 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(mb->scans, s0 + 1);
	store_close(&mb);
}

/* Another program's rename in cur/ right after our own is seen by the next sync. */
static void
test_foreign_after_own(void)
{
	char			 dir[512];
	struct store_mailbox	*mb;
	struct timespec		 m1, m2;
	struct rec		 r;
	unsigned		 s0;

	snprintf(dir, sizeof(dir), "%s/foreign", tmpdir);
	mb = settled(dir, 10, 0);
	s0 = mb->scans;
	m1 = own_then_foreign(mb, dir, 3);
	m2 = get_mtime(dir, "cur");
	if (m2.tv_sec == m1.tv_sec && m2.tv_nsec == m1.tv_nsec) {
		/* A coarse clock put it in our tick: make it the next one
		 * (the same tick is the next test). */
		m2.tv_nsec += 10000000;
		if (m2.tv_nsec >= 1000000000) {
			m2.tv_sec++;
			m2.tv_nsec -= 1000000000;
		}
		set_mtime_ts(dir, "cur", m2);
	}
	memset(&r, 0, sizeof(r));
	t_int(store_sync(mb, &rec_cb, &r), 0);
	t_int(mb->scans, s0 + 1);
	t_int(r.nchg, 1);
	t_int(r.chg[0], 3);
	t_ok(tmsg(mb, 3).flags & STORE_F_SEEN);
	t_ok(tmsg(mb, 0).flags & STORE_F_FLAGGED);
	store_close(&mb);
}

/*
 * The same in our own tick (a coarse clock: cur/'s mtime does not move):
 * not seen at once, but by the re-check once that tick is old.  Waits
 * for the clock (up to ~2 s).
 */
static void
test_foreign_same_tick(void)
{
	char			 dir[512];
	struct store_mailbox	*mb, *mb2;
	struct timespec		 m1, ts = { 0, 20 * 1000 * 1000 };
	struct store_status	 st;
	struct rec		 r;
	unsigned		 s0;
	time_t			 deadline;

	snprintf(dir, sizeof(dir), "%s/sametick", tmpdir);
	mb = settled(dir, 10, 0);
	s0 = mb->scans;
	m1 = own_then_foreign(mb, dir, 4);
	set_mtime_ts(dir, "cur", m1);
	memset(&r, 0, sizeof(r));
	t_int(store_sync(mb, &rec_cb, &r), 0);
	t_int(mb->scans, s0);
	t_int(r.nchg, 0);
	/* STATUS from the header meanwhile: the index's numbers. */
	t_int(store_status(dir, "INBOX", STORE_STATUS_SIZE, &st), 0);
	t_int(st.messages, 10);

	/* Once the tick is over a second old, a sync reads the directories. */
	deadline = time(NULL) + 10;
	while (time(NULL) <= m1.tv_sec + 1 && time(NULL) < deadline)
		nanosleep(&ts, NULL);
	memset(&r, 0, sizeof(r));
	t_int(store_sync(mb, &rec_cb, &r), 0);
	t_int(mb->scans, s0 + 1);
	t_int(r.nchg, 1);
	t_int(r.chg[0], 4);
	t_ok(tmsg(mb, 4).flags & STORE_F_SEEN);
	/* That scan is settled: nobody reads again. */
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(mb->scans, s0 + 1);
	mb2 = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb2, NULL, NULL), 0);
	t_int(mb2->scans, 0);
	store_close(&mb2);
	store_close(&mb);
}

/* Messages a KEEP_NEW handle (POP3) indexed in new/ go to cur/ at an IMAP
 * handle's sync, also when the index matches the directories. */
static void
test_indexed_new(void)
{
	char			 dir[512];
	struct store_mailbox	*pop, *mb;
	time_t			 old = time(NULL) - 3600;

	snprintf(dir, sizeof(dir), "%s/keepnew", tmpdir);
	mkmaildir(dir);
	put_msg(dir, "new", "1700000001.M1P1.host", "Subject: a\n\nx\n");
	put_msg(dir, "new", "1700000002.M2P1.host", "Subject: b\n\nx\n");
	set_mtime(dir, "cur", old);
	set_mtime(dir, "new", old);
	pop = store_open(dir, "INBOX", STORE_O_NOFSYNC | STORE_O_KEEP_NEW);
	t_int(store_sync(pop, NULL, NULL), 0);
	t_int(store_count(pop), 2);
	t_ok(tmsg(pop, 0).in_new);
	store_close(&pop);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(mb->scans, 0);
	t_int(count_files(dir, "new"), 0);
	t_int(count_files(dir, "cur"), 2);
	t_ok(!tmsg(mb, 0).in_new && !tmsg(mb, 1).in_new);
	t_int(store_msg_uid(mb, 1), 2);
	store_close(&mb);
}

/* A sync that reads no directory still removes what dead writers left in tmp/. */
static void
test_tmp_without_scan(void)
{
	char			 dir[512];
	struct store_mailbox	*mb;

	snprintf(dir, sizeof(dir), "%s/tmpclean", tmpdir);
	mb = settled(dir, 3, 0);
	store_close(&mb);
	put_msg(dir, "tmp", "dead.writer", "x");
	store_set_tmp_max_age(0);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(mb->scans, 0);
	t_ok(!exists(dir, "tmp", "dead.writer"));
	store_close(&mb);
	store_set_tmp_max_age(36 * 3600);
}

int
main(void)
{
	t_begin("store_sync");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lb-storesync-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_usable();
	test_own_changes();
	test_foreign_after_own();
	test_foreign_same_tick();
	test_indexed_new();
	test_tmp_without_scan();
	rm_tree(tmpdir);
	return t_end();
}
