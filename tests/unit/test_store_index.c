/*
 * Mail store index (issue 12): UIDVALIDITY never comes back after an index
 * loss, the cache checks base names, one MODSEQ per change in a batch,
 * duplicate base names, \Recent for exactly one session, expunged UID
 * ranges (VANISHED), the change log, and a writer killed at random points.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "t.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store_t.h"

static const char *const subj[] = { "zero", "one", "two", "three", "four", "five" };

static void
put_n(const char *dir, int from, int to)
{
	char	name[128], body[128];
	int	i;

	for (i = from; i < to; i++) {
		snprintf(body, sizeof(body), "From: a@example.com\r\nSubject: %s\r\n\r\nx\r\n",
		    subj[i % 6]);
		snprintf(name, sizeof(name), "17000%05d.M%dP1.host,S=%zu", i, i, strlen(body));
		put_msg(dir, "new", name, body);
	}
}

static void
rm_index(const char *dir)
{
	char	cmd[1024];

	snprintf(cmd, sizeof(cmd), "rm -f '%s'/letterbox-uidlist*", dir);
	t_int(system(cmd), 0);
}

/* Every cached ENVELOPE names its own message's subject. */
static void
check_envelopes(struct store_mailbox *mb)
{
	const char	*env;
	char		 want[64], body[256];
	size_t		 i, len;
	ssize_t		 n;
	int		 fd;

	for (i = 0; i < store_count(mb); i++) {
		t_int(store_msg_cached(mb, i, STORE_CACHE_ENVELOPE, &env, &len), 0);
		fd = store_msg_open(mb, i);
		n = fd >= 0 ? read(fd, body, sizeof(body) - 1) : -1;
		if (fd >= 0)
			close(fd);
		body[n > 0 ? n : 0] = '\0';
		{
			const char	*s = strstr(body, "Subject: ");
			const char	*e = s != NULL ? strpbrk(s, "\r\n") : NULL;

			t_ok(s != NULL && e != NULL);
			if (s == NULL || e == NULL)
				continue;
			snprintf(want, sizeof(want), "\"%.*s\"", (int)(e - s - 9), s + 9);
		}
		t_ok(memmem(env, len, want, strlen(want)) != NULL);
	}
}

/* The reproduction of issue 12: index loss after a Dovecot import. */
static void
test_uidvalidity_never_reused(void)
{
	char			 dir[512], path[2048], name[128];
	struct store_mailbox	*mb;
	uint32_t		 uid, v1, v2, v3;
	int			 i;

	snprintf(dir, sizeof(dir), "%s/reuse", tmpdir);
	mkmaildir(dir);
	put_msg(dir, "cur", "1600000000.M1P1.mail,S=17:2,S", "Subject: four\n\nb\n");
	put_msg(dir, "cur", "1600000001.M1P1.mail,S=17:2,", "Subject: five\n\nb\n");
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", dir);
	xwrite_file(path, "3 V1500000000 N11\n5 :1600000000.M1P1.mail,S=17\n"
	    "6 :1600000001.M1P1.mail,S=17\n");
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_uidvalidity(mb), 1500000000);
	t_int(tmsg(mb, 1).uid, 6);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "From: x\r\nSubject: %s\r\n\r\nx\r\n", subj[i + 1]);
		t_int(store_append(mb, name, strlen(name), 0, 0, 0, &uid), 0);
		t_int(uid, 11 + i);
	}
	t_int(store_sync(mb, NULL, NULL), 0);
	uid = 11;
	t_int(store_expunge(mb, &uid, 1), 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	check_envelopes(mb);		/* fills the cache */
	store_close(&mb);

	/* Index gone: the import is stale now, so a new, higher V. */
	rm_index(dir);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	v1 = store_uidvalidity(mb);
	t_ok(v1 > 1500000000);
	t_int(store_count(mb), 4);
	/* The cache (keyed by UID) must not answer with another message. */
	check_envelopes(mb);
	store_close(&mb);

	/* Deleting the index again and again, within one second: V still grows. */
	rm_index(dir);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	v2 = store_uidvalidity(mb);
	store_close(&mb);
	rm_index(dir);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	v3 = store_uidvalidity(mb);
	t_ok(v2 > v1 && v3 > v2);
	check_envelopes(mb);
	store_close(&mb);

	/* The record of V outlives everything named letterbox-uidlist*. */
	snprintf(path, sizeof(path), "%s/letterbox-uidvalidity", dir);
	t_ok(read_all(path) != NULL && strtoul(read_all(path) + 1, NULL, 10) == v3);
}

/* A big expunge compacts the cache; what stays is still served. */
static void
test_cache_compaction(void)
{
	char			 dir[512], path[2048];
	struct store_mailbox	*mb, *mb2;
	struct stat		 st0, st1;
	uint32_t		 uids[6];
	const char		*env;
	size_t			 len, i;

	snprintf(dir, sizeof(dir), "%s/cachecompact", tmpdir);
	mkmaildir(dir);
	put_n(dir, 0, 8);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	check_envelopes(mb);
	mb2 = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb2, NULL, NULL), 0);
	check_envelopes(mb2);		/* from the file (mapped) */
	snprintf(path, sizeof(path), "%s/letterbox-cache", dir);
	t_int(stat(path, &st0), 0);
	for (i = 0; i < 6; i++)
		uids[i] = tmsg(mb, i).uid;
	t_int(store_expunge(mb, uids, 6), 0);
	t_int(stat(path, &st1), 0);
	/* rewritten: the 8 were one group, now one of the 2 left */
	t_ok(st1.st_ino != st0.st_ino && st1.st_size * 3 < st0.st_size * 2);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 2);
	check_envelopes(mb);
	/* The other handle's fields point into its map of the old file. */
	t_int(store_msg_cached(mb2, 7, STORE_CACHE_ENVELOPE, &env, &len), 0);
	t_ok(memmem(env, len, "\"one\"", 5) != NULL);
	t_int(store_sync(mb2, NULL, NULL), 0);
	check_envelopes(mb2);
	store_close(&mb2);
	store_close(&mb);
}

/* A cache record of another message under the same UID is not used. */
static void
test_cache_checks_base(void)
{
	char			 dir[512], path[2048], rec[512];
	struct store_mailbox	*mb;
	const char		*env;
	size_t			 len;
	int			 n;

	snprintf(dir, sizeof(dir), "%s/cachebase", tmpdir);
	mkmaildir(dir);
	put_n(dir, 1, 2);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s/letterbox-cache", dir);
	n = snprintf(rec, sizeof(rec), "LBC2 V%u\n1 0 9 1699999999.M1P1.other\n(\"WRONG\")\n",
	    store_uidvalidity(mb));
	(void)n;
	xwrite_file(path, rec);
	t_int(store_msg_cached(mb, 0, STORE_CACHE_ENVELOPE, &env, &len), 0);
	t_ok(memmem(env, len, "WRONG", 5) == NULL && memmem(env, len, "\"one\"", 5) != NULL);
	store_close(&mb);
}

/* Batches: one modseq per change, and no phantom foreign changes after. */
static void
test_batch_modseq(void)
{
	char			 dir[512];
	struct store_mailbox	*mb, *mb2;
	struct rec		 r;
	uint64_t		 h0;
	size_t			 i;

	snprintf(dir, sizeof(dir), "%s/batch", tmpdir);
	mkmaildir(dir);
	put_n(dir, 0, 5);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	mb2 = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_sync(mb2, NULL, NULL), 0);
	h0 = store_highestmodseq(mb);
	t_int(store_update_begin(mb), 0);
	for (i = 0; i < 3; i++)
		t_int(store_set_flags(mb, i, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0), 0);
	t_int(store_update_end(mb), 0);
	t_int(tmsg(mb, 0).modseq, h0 + 1);
	t_int(tmsg(mb, 1).modseq, h0 + 2);
	t_int(tmsg(mb, 2).modseq, h0 + 3);
	memset(&r, 0, sizeof(r));
	t_int(store_sync(mb, &rec_cb, &r), 0);
	t_int(r.nchg, 0);			/* our own changes are not foreign */
	t_int(store_highestmodseq(mb), h0 + 3);
	memset(&r, 0, sizeof(r));
	t_int(store_sync(mb2, &rec_cb, &r), 0);
	t_int(r.nchg, 3);
	t_int(store_highestmodseq(mb2), h0 + 3);
	t_int(tmsg(mb2, 2).modseq, h0 + 3);
	t_ok(tmsg(mb2, 2).flags & STORE_F_SEEN);
	/* A second sync reports nothing again. */
	memset(&r, 0, sizeof(r));
	t_int(store_sync(mb2, &rec_cb, &r), 0);
	t_int(r.nchg + r.nexp, 0);
	store_close(&mb2);
	store_close(&mb);
}

/* A flag change appends to the log; the snapshot is not rewritten. */
static void
test_change_log(void)
{
	char			 dir[512], path[2048], lpath[1024];
	struct store_mailbox	*mb, *mb2;
	struct stat		 st0, st1, l0, l1;
	size_t			 i;

	snprintf(dir, sizeof(dir), "%s/log", tmpdir);
	mkmaildir(dir);
	put_n(dir, 0, 6);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s/letterbox-uidlist", dir);
	snprintf(lpath, sizeof(lpath), "%s/letterbox-uidlist.log", dir);
	t_int(stat(path, &st0), 0);
	t_int(stat(lpath, &l0), 0);
	t_int(store_set_flags(mb, 2, STORE_FLAGS_ADD, STORE_F_FLAGGED, 0, 0), 0);
	t_int(stat(path, &st1), 0);
	t_int(stat(lpath, &l1), 0);
	t_ok(st0.st_ino == st1.st_ino && st0.st_size == st1.st_size);
	t_ok(l1.st_size > l0.st_size);
	/* Another handle reads only the tail and agrees. */
	mb2 = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb2, NULL, NULL), 0);
	t_ok(tmsg(mb2, 2).flags & STORE_F_FLAGGED);
	t_int(tmsg(mb2, 2).modseq, tmsg(mb, 2).modseq);
	/* A torn commit at the end (a writer that died) is ignored, then cut off. */
	{
		int fd = open(lpath, O_WRONLY | O_APPEND);

		t_ok(fd >= 0 && write(fd, "u 3 999 1 1 1 c garbage", 23) == 23);
		close(fd);
	}
	t_int(store_set_flags(mb2, 3, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0), 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_ok(tmsg(mb, 3).flags & STORE_F_SEEN);
	t_ok(tmsg(mb, 2).modseq < 999);
	/* Many changes: the log is compacted into a new snapshot, nothing lost. */
	for (i = 0; i < 1500; i++)
		t_int(store_set_flags(mb, i % 6, (i / 6) % 2 ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE,
		    STORE_F_ANSWERED, 0, 0), 0);
	/* (Inode numbers may be reused: look at the generation instead.) */
	{
		const char	*g = strstr(read_all(path), " G");

		t_ok(g != NULL && strtoul(g + 2, NULL, 10) > 1);
	}
	t_int(stat(lpath, &l1), 0);
	t_ok(l1.st_size < 70 * 1024);	/* 1500 commits of ~150 B were written */
	store_close(&mb2);
	mb2 = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb2, NULL, NULL), 0);
	t_int(store_count(mb2), 6);
	for (i = 0; i < 6; i++) {
		t_int(tmsg(mb2, i).flags, tmsg(mb, i).flags);
		t_int(tmsg(mb2, i).modseq, tmsg(mb, i).modseq);
	}
	t_int(store_highestmodseq(mb2), tmsg(mb, 5).modseq);
	store_close(&mb2);
	store_close(&mb);
}

/*
 * An index read from disk by a fresh handle (its base-name table is built
 * only when a scan needs it): a file renamed by another program keeps its
 * UID, a new one gets the next; an empty snapshot is rebuilt, not trusted.
 */
static void
test_reopen_scan(void)
{
	char			 dir[512], from[2048], to[2048], path[1024];
	struct store_mailbox	*mb;
	struct store_msg	 m;
	uint32_t		 uids[6], v;
	size_t			 i;

	snprintf(dir, sizeof(dir), "%s/reopen", tmpdir);
	mkmaildir(dir);
	put_n(dir, 0, 6);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 6);
	for (i = 0; i < 6; i++)
		uids[i] = tmsg(mb, i).uid;
	v = store_uidvalidity(mb);
	m = tmsg(mb, 2);
	store_close(&mb);
	/* mutt sets \Flagged; a delivery adds a seventh message. */
	snprintf(from, sizeof(from), "%s/cur/%s", dir, m.name);
	snprintf(to, sizeof(to), "%s/cur/%.*s:2,F", dir, (int)m.base_len, m.name);
	t_int(rename(from, to), 0);
	put_n(dir, 6, 7);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_uidvalidity(mb), v);
	t_int(store_count(mb), 7);
	for (i = 0; i < 6; i++)
		t_int(tmsg(mb, i).uid, uids[i]);
	t_int(tmsg(mb, 2).flags, STORE_F_FLAGGED);
	t_int(tmsg(mb, 6).uid, uids[5] + 1);
	/* Names read from the snapshot (one block) replaced and dropped. */
	t_int(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0), 0);
	t_int(store_expunge(mb, &uids[1], 1), 0);
	store_close(&mb);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 6);
	t_int(tmsg(mb, 0).flags, STORE_F_SEEN);
	t_int(tmsg(mb, 1).uid, uids[2]);
	store_close(&mb);
	/* A snapshot cut to nothing (and its log gone): a rebuild, new V. */
	snprintf(path, sizeof(path), "%s/letterbox-uidlist", dir);
	t_int(truncate(path, 0), 0);
	snprintf(path, sizeof(path), "%s/letterbox-uidlist.log", dir);
	t_int(unlink(path), 0);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 6);
	t_ok(store_uidvalidity(mb) > v);
	store_close(&mb);
}

/* A lost or garbled log: the UIDs in it cannot be trusted -> new UIDVALIDITY. */
static void
test_log_loss(void)
{
	char			 dir[512], lpath[1024];
	struct store_mailbox	*mb;
	uint32_t		 v0, v1, uid;
	int			 fd;

	snprintf(dir, sizeof(dir), "%s/logloss", tmpdir);
	mkmaildir(dir);
	put_n(dir, 0, 2);
	snprintf(lpath, sizeof(lpath), "%s/letterbox-uidlist.log", dir);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	v0 = store_uidvalidity(mb);
	t_int(store_append(mb, "x\r\n", 3, 0, 0, 0, &uid), 0);	/* only in the log */
	store_close(&mb);
	t_int(unlink(lpath), 0);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	v1 = store_uidvalidity(mb);
	t_ok(v1 > v0);
	t_int(store_count(mb), 3);
	store_close(&mb);
	/* A complete line that does not parse. */
	fd = open(lpath, O_WRONLY | O_APPEND);
	t_ok(fd >= 0 && write(fd, "u bogus\nh 1 1 1 1 1 1 1 1 1\n", 29) == 29);
	close(fd);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_ok(store_uidvalidity(mb) > v1);
	t_int(store_count(mb), 3);
	store_close(&mb);
}

/* Two files with one base name: the newcomer gets a fresh base and a UID. */
static void
test_duplicate_base(void)
{
	char			 dir[512], from[2048], to[3200], name[256];
	struct store_mailbox	*mb;
	uint64_t		 h;
	int			 i;

	snprintf(dir, sizeof(dir), "%s/dup", tmpdir);
	mkmaildir(dir);
	put_n(dir, 0, 2);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 2);
	/* cp of a message with other flags (a restore). */
	snprintf(from, sizeof(from), "%s/cur/%s", dir, tmsg(mb, 0).name);
	snprintf(name, sizeof(name), "%.*s:2,FS", (int)tmsg(mb, 0).base_len,
	    tmsg(mb, 0).name);
	snprintf(to, sizeof(to), "cp '%s' '%s/cur/%s'", from, dir, name);
	t_int(system(to), 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 3);
	t_int(tmsg(mb, 0).uid, 1);
	t_int(tmsg(mb, 0).flags, 0);	/* the original kept its name */
	t_int(tmsg(mb, 2).uid, 3);
	t_int(tmsg(mb, 2).flags, STORE_F_FLAGGED | STORE_F_SEEN);
	t_ok(strncmp(tmsg(mb, 2).name, tmsg(mb, 0).name,
	    tmsg(mb, 0).base_len) != 0);
	t_int(count_files(dir, "cur"), 3);
	/* Stable: syncing again changes nothing. */
	h = store_highestmodseq(mb);
	for (i = 0; i < 3; i++) {
		store_close(&mb);
		mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
		t_int(store_sync(mb, NULL, NULL), 0);
	}
	t_int(store_highestmodseq(mb), h);
	t_int(store_count(mb), 3);
	/* Two new files with one base (new/ and cur/), neither indexed yet. */
	put_msg(dir, "new", "1700099999.M1P9.host,S=3", "a\r\n");
	put_msg(dir, "cur", "1700099999.M1P9.host,S=3:2,S", "a\r\n");
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 5);
	t_int(tmsg(mb, 3).flags, STORE_F_SEEN);
	h = store_highestmodseq(mb);
	store_close(&mb);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 5);
	t_int(store_highestmodseq(mb), h);
	store_close(&mb);
}

/* \Recent: exactly one session, whether by delivery or APPEND. */
static void
test_recent(void)
{
	char			 dir[512];
	struct store_mailbox	*a, *b, *pop;
	uint32_t		 uid;
	int			 i;

	snprintf(dir, sizeof(dir), "%s/recent", tmpdir);
	mkmaildir(dir);
	a = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	b = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	pop = store_open(dir, "INBOX", STORE_O_NOFSYNC | STORE_O_KEEP_NEW | STORE_O_NO_RECENT);
	t_int(store_sync(a, NULL, NULL), 0);
	t_int(store_sync(b, NULL, NULL), 0);
	put_n(dir, 0, 2);
	t_int(store_sync(pop, NULL, NULL), 0);		/* POP3 takes nothing */
	t_int(store_sync(b, NULL, NULL), 0);
	t_int(store_sync(a, NULL, NULL), 0);
	t_int(store_count(a), 2);
	t_int(store_count(b), 2);
	for (i = 0; i < 2; i++) {
		t_ok(tmsg(b, (size_t)i).recent);
		t_ok(!tmsg(a, (size_t)i).recent);
		t_ok(!tmsg(pop, (size_t)i).recent);
	}
	/* APPEND by b: a syncs first and gets it. */
	t_int(store_append(b, "x\r\n", 3, 0, 0, 0, &uid), 0);
	t_int(store_sync(a, NULL, NULL), 0);
	t_int(store_sync(b, NULL, NULL), 0);
	t_int(store_find_uid(a, uid), 2);
	t_ok(tmsg(a, 2).recent);
	t_ok(!tmsg(b, 2).recent);
	t_ok(tmsg(b, 0).recent);		/* kept for the session's life */
	store_close(&pop);
	store_close(&b);
	store_close(&a);
}

/* Expunged UIDs with their modseq, across reopen and compaction. */
static void
test_vanished(void)
{
	char			 dir[512];
	struct store_mailbox	*mb, *mb2;
	struct store_uid_range	*rg;
	uint32_t		 uids[2] = { 2, 3 }, five = 5;
	uint64_t		 m0, m1;
	size_t			 n, i;
	char			 path[2048];

	snprintf(dir, sizeof(dir), "%s/vanished", tmpdir);
	mkmaildir(dir);
	put_n(dir, 0, 6);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	m0 = store_highestmodseq(mb);
	t_int(store_expunge(mb, uids, 2), 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	m1 = store_highestmodseq(mb);
	t_int(store_expunge(mb, &five, 1), 0);
	/* Someone deletes uid 6's file directly. */
	snprintf(path, sizeof(path), "%s/cur/%s", dir, tmsg(mb, 3).name);
	t_int(tmsg(mb, 3).uid, 6);
	t_int(unlink(path), 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 2);
	t_int(store_expunged_since(mb, m0, &rg, &n), 0);
	t_int(n, 2);
	t_ok(n == 2 && rg[0].lo == 2 && rg[0].hi == 3 && rg[1].lo == 5 && rg[1].hi == 6);
	free(rg);
	t_int(store_expunged_since(mb, m1, &rg, &n), 0);
	t_ok(n == 1 && rg[0].lo == 5 && rg[0].hi == 6);
	free(rg);
	t_int(store_expunged_since(mb, store_highestmodseq(mb), &rg, &n), 0);
	t_int(n, 0);
	free(rg);
	/* From the log in another handle, then after compaction. */
	for (i = 0; i < 2; i++) {
		mb2 = store_open(dir, "INBOX", STORE_O_NOFSYNC);
		t_int(store_sync(mb2, NULL, NULL), 0);
		t_int(store_expunged_since(mb2, m1, &rg, &n), 0);
		t_ok(n == 1 && rg[0].lo == 5 && rg[0].hi == 6);
		free(rg);
		t_int(store_expunged_since(mb2, 0, &rg, &n), 0);
		t_ok(n == 2 && rg[0].lo == 2 && rg[1].hi == 6);
		free(rg);
		store_close(&mb2);
		for (n = 0; n < 1500; n++)
			(void)store_set_flags(mb, 0, n % 2 ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE,
			    STORE_F_SEEN, 0, 0);
	}
	store_close(&mb);
}

static void
age_dirs(const char *dir, time_t when)
{
	char		path[2048];
	struct timespec	ts[2] = { { when, 0 }, { when, 0 } };

	snprintf(path, sizeof(path), "%s/cur", dir);
	t_int(utimensat(AT_FDCWD, path, ts, 0), 0);
	snprintf(path, sizeof(path), "%s/new", dir);
	t_int(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* STATUS from the header, and by a full sync when the folder changed. */
static void
test_status(void)
{
	char			 dir[512], path[2048];
	struct store_mailbox	*mb;
	struct store_status	 st;
	time_t			 old = time(NULL) - 3600;

	snprintf(dir, sizeof(dir), "%s/status", tmpdir);
	mkmaildir(dir);
	put_n(dir, 0, 4);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);		/* claims all 4 as recent */
	t_int(store_set_flags(mb, 1, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0), 0);
	age_dirs(dir, old);
	t_int(store_sync(mb, NULL, NULL), 0);		/* records the aged mtimes */
	t_int(store_status(dir, "INBOX", STORE_STATUS_SIZE, &st), 0);
	t_int(st.messages, 4);
	t_int(st.unseen, 3);
	t_int(st.uidnext, 5);
	t_int(st.recent, 0);
	t_int(st.uidvalidity, store_uidvalidity(mb));
	t_int(st.highestmodseq, store_highestmodseq(mb));
	t_int(st.size, tmsg(mb, 0).vsize + tmsg(mb, 1).vsize +
	    tmsg(mb, 2).vsize + tmsg(mb, 3).vsize);
	/* Proof that only the header was read: a file removed behind its back
	 * with the mtime put back is not noticed. */
	snprintf(path, sizeof(path), "%s/cur/%s", dir, tmsg(mb, 3).name);
	t_int(unlink(path), 0);
	age_dirs(dir, old);
	t_int(store_status(dir, "INBOX", STORE_STATUS_SIZE, &st), 0);
	t_int(st.messages, 4);
	/* New mail in new/ (mtime changes): a full sync counts it. */
	put_n(dir, 4, 6);
	t_int(store_status(dir, "INBOX", STORE_STATUS_SIZE, &st), 0);
	t_int(st.messages, 5);
	t_int(st.unseen, 4);
	t_int(st.recent, 2);
	t_int(st.uidnext, 7);
	/* STATUS did not claim \Recent: the session still gets it. */
	t_int(store_sync(mb, NULL, NULL), 0);
	t_ok(tmsg(mb, 4).recent);
	store_close(&mb);
}

/* The index's snapshot and log, one string (caller frees). */
static char *
index_text(const char *dir)
{
	char		 path[2048], *a, *out;
	const char	*b;
	size_t		 n;

	/* read_all's buffer is static: copy the first before the second. */
	snprintf(path, sizeof(path), "%s/letterbox-uidlist", dir);
	a = strdup((b = read_all(path)) != NULL ? b : "");
	snprintf(path, sizeof(path), "%s/letterbox-uidlist.log", dir);
	if ((b = read_all(path)) == NULL)
		b = "";
	n = strlen(a) + strlen(b) + 1;
	out = malloc(n);
	snprintf(out, n, "%s%s", a, b);
	free(a);
	return out;
}

/* Does the index hold uid's record with these size, vsize and idate? */
static bool
index_has(const char *dir, uint32_t uid, size_t size, long long idate)
{
	char	 want[128], *text = index_text(dir), *p;
	bool	 found = false;

	snprintf(want, sizeof(want), " %zu %zu %lld c ", size, size, idate);
	for (p = text; (p = strstr(p, want)) != NULL; p++) {
		const char	*bol = p;

		while (bol > text && bol[-1] != '\n')
			bol--;
		if (bol[0] == 'u' && bol[1] == ' ')
			bol += 2;
		if ((uint32_t)strtoul(bol, NULL, 10) == uid) {
			found = true;
			break;
		}
	}
	free(text);
	return found;
}

/* The last "h" line of the log has the 9 values older versions read. */
static bool
last_h_has_9(const char *dir)
{
	char		 path[2048];
	const char	*log, *h, *p;
	int		 fields = 0;

	snprintf(path, sizeof(path), "%s/letterbox-uidlist.log", dir);
	if ((log = read_all(path)) == NULL)
		return false;
	for (h = NULL, p = log; (p = strstr(p, "\nh ")) != NULL; p++)
		h = p + 1;
	if (h == NULL)
		return false;
	for (p = h + 1; *p != '\n' && *p != '\0'; p++)
		if (*p == ' ')
			fields++;
	return fields == 9;
}

/*
 * Mail dropped into new/ without ",S=" (another MDA): the first sync
 * moves it to cur/ and stats no file; sizes and internal dates are
 * learned when first asked (store_msg_size, store_msg_idate, STATUS SIZE)
 * and then kept in the index.
 */
static void
test_lazy_sizes(void)
{
	enum { N = 4 };
	static const char *const body[N] = { "a\r\n", "Subject: x\r\n\r\nbody\r\n",
		"12345678901234567890\r\n", "z\n" };
	char			 dir[512], path[2048], name[128];
	struct store_mailbox	*mb;
	struct store_status	 st;
	struct store_msg	 m;
	time_t			 old = time(NULL) - 3600;
	size_t			 i, total = 0;
	char			*text;

	snprintf(dir, sizeof(dir), "%s/lazy", tmpdir);
	mkmaildir(dir);
	for (i = 0; i < N; i++) {
		struct timespec	ts[2] = { { 1600000000 + (time_t)i, 0 }, { 1600000000 + (time_t)i, 0 } };

		snprintf(name, sizeof(name), "17100%05zu.M%zuP1.host", i, i);
		put_msg(dir, "new", name, body[i]);
		snprintf(path, sizeof(path), "%s/new/%s", dir, name);
		t_int(utimensat(AT_FDCWD, path, ts, 0), 0);
		total += strlen(body[i]);
	}
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), N);
	t_int(count_files(dir, "cur"), N);
	t_int(mb->scans, 1);		/* the rebuild's scan, not a second one */
	for (i = 0; i < N; i++) {
		t_int(tmsg(mb, i).size, 0);		/* not stat()ed by the scan */
		t_int(tmsg(mb, i).vsize, 0);
	}
	text = index_text(dir);
	t_ok(strstr(text, " Q4\n") != NULL);		/* the header counts them */
	free(text);
	/* Asked for: a stat, the date learned with it. */
	m = tmsg_sized(mb, 1);
	t_int(m.size, strlen(body[1]));
	t_int(m.vsize, strlen(body[1]));
	t_int(store_msg_idate(mb, 1), 1600000001);
	t_int(store_msg_idate(mb, 2), 1600000002);	/* the date first: size too */
	t_int(tmsg(mb, 2).size, strlen(body[2]));
	/* The next sync keeps what was learned in the index. */
	t_int(store_sync(mb, NULL, NULL), 0);
	t_ok(index_has(dir, tmsg(mb, 1).uid, strlen(body[1]), 1600000001));
	t_ok(index_has(dir, tmsg(mb, 2).uid, strlen(body[2]), 1600000002));
	t_ok(last_h_has_9(dir));		/* appended to the log, as ever */
	t_ok(!index_has(dir, tmsg(mb, 3).uid, strlen(body[3]), 1600000003));
	/* STATUS from the header: without SIZE it stays cheap... */
	age_dirs(dir, old);
	t_int(store_sync(mb, NULL, NULL), 0);		/* records the aged mtimes */
	t_int(store_status(dir, "INBOX", 0, &st), 0);
	t_int(st.messages, N);
	t_int(st.size, 0);
	t_ok(!index_has(dir, tmsg(mb, 0).uid, strlen(body[0]), 1600000000));
	/* ...SIZE learns the two sizes still unknown, once, and is exact. */
	t_int(store_status(dir, "INBOX", STORE_STATUS_SIZE, &st), 0);
	t_int(st.messages, N);
	t_int(st.size, total);
	t_ok(index_has(dir, tmsg(mb, 0).uid, strlen(body[0]), 1600000000));
	t_ok(index_has(dir, tmsg(mb, 3).uid, strlen(body[3]), 1600000003));
	/* Now the header alone answers SIZE: a file removed behind its back
	 * (mtimes put back) is not noticed. */
	snprintf(path, sizeof(path), "%s/cur/%s", dir, tmsg(mb, 0).name);
	t_int(unlink(path), 0);
	age_dirs(dir, old);
	t_int(store_status(dir, "INBOX", STORE_STATUS_SIZE, &st), 0);
	t_int(st.messages, N);
	t_int(st.size, total);
	text = index_text(dir);
	t_ok(strstr(text, " Q") == NULL);		/* the snapshot says: all known */
	free(text);
	/* A message gone before its size was asked for: ENOENT, no size. */
	m = tmsg(mb, 0);
	m.size = m.vsize = 0;
	t_int(store_msg_size(mb, 0, &m), -1);
	t_int(errno, ENOENT);
	store_close(&mb);
}

/*
 * New mail without ",S=" in a folder that has an index: a few files are
 * stat()ed by the scan (the commit appends to the log, whose "h" lines
 * have no room for a count of unknown sizes); a batch big next to the
 * folder is left unknown, and the commit writes a snapshot that counts it.
 */
static void
test_lazy_sizes_incremental(void)
{
	char			 dir[512], name[128];
	struct store_mailbox	*mb;
	struct store_status	 st;
	uint64_t		 total = 0;
	size_t			 i;
	char			*text;

	snprintf(dir, sizeof(dir), "%s/lazyinc", tmpdir);
	mkmaildir(dir);
	put_n(dir, 0, 16);			/* with ,S= */
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 16);
	put_msg(dir, "new", "1720000000.M1P1.other", "one\r\n");
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 17);
	t_int(tmsg(mb, 16).size, 5);		/* stat()ed by the scan */
	text = index_text(dir);
	t_ok(strstr(text, " Q") == NULL);
	free(text);
	t_ok(last_h_has_9(dir));
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "172000001%zu.M1P1.other", i);
		put_msg(dir, "new", name, "four\r\n");
	}
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 21);
	t_int(tmsg(mb, 20).size, 0);		/* 4 next to 17: left unknown */
	text = index_text(dir);
	t_ok(strstr(text, " Q4\n") != NULL);	/* in a new snapshot */
	free(text);
	for (i = 0; i < 21; i++)
		total += tmsg_sized(mb, i).vsize;
	t_int(store_sync(mb, NULL, NULL), 0);	/* commits what was learned */
	text = index_text(dir);
	t_ok(strstr(text, " Q") == NULL);	/* all known: a snapshot says so */
	free(text);
	age_dirs(dir, time(NULL) - 3600);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_status(dir, "INBOX", STORE_STATUS_SIZE, &st), 0);
	t_int(st.messages, 21);
	t_int(st.size, total);
	store_close(&mb);
}

/* LF on disk; BODYSTRUCTURE of the CRLF form, same as for an old CRLF file. */
static void
test_lf_on_disk(void)
{
	static const char	 msg[] = "Subject: lf\r\nContent-Type: text/plain\r\n\r\n"
	    "line one\r\nline two\r\n";
	char			 dir[512], name[128], a[512], b[512];
	struct store_mailbox	*mb;
	const char		*d;
	size_t			 len;
	uint32_t		 uid;

	snprintf(dir, sizeof(dir), "%s/lf", tmpdir);
	mkmaildir(dir);
	snprintf(name, sizeof(name), "1600000000.M1P1.old,S=%zu:2,S", strlen(msg));
	put_msg(dir, "cur", name, msg);		/* as an older version stored it */
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_append(mb, msg, strlen(msg), 0, 0, 0, &uid), 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 2);
	t_int(tmsg(mb, 0).size, strlen(msg));
	t_int(tmsg(mb, 0).vsize, strlen(msg));
	t_int(tmsg(mb, 1).size, strlen(msg) - 5);
	t_int(tmsg(mb, 1).vsize, strlen(msg));
	t_int(store_msg_cached(mb, 0, STORE_CACHE_BODYSTRUCTURE, &d, &len), 0);
	snprintf(a, sizeof(a), "%.*s", (int)len, d);
	t_int(store_msg_cached(mb, 1, STORE_CACHE_BODYSTRUCTURE, &d, &len), 0);
	snprintf(b, sizeof(b), "%.*s", (int)len, d);
	t_str(b, a);
	t_ok(strstr(a, " 20 2") != NULL);	/* body: 20 octets, 2 lines (CRLF) */
	store_close(&mb);
}

/* maildirsize follows append, copy, expunge and folder delete; the check. */
static void
test_quota(void)
{
	char			 dir[512], path[2048];
	struct store_mailbox	*in, *f;
	uint32_t		 uid;
	uint64_t		 sz, n, keep;

	snprintf(dir, sizeof(dir), "%s/quota", tmpdir);
	mkmaildir(dir);
	snprintf(path, sizeof(path), "%s/maildirsize", dir);
	xwrite_file(path, "1000S\n0 0\n");
	in = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(in, NULL, NULL), 0);
	t_int(store_append(in, "Subject: q\r\n\r\n12345\r\n", 22, 0, 0, 0, &uid), 0);
	t_int(store_sync(in, NULL, NULL), 0);
	sz = tmsg(in, 0).size;
	t_int(sz, 19);
	t_int(store_folder_create(dir, "Archive"), 0);
	f = store_open(dir, "Archive", STORE_O_NOFSYNC);
	t_int(store_copy(in, 0, f, &uid), 0);
	t_int(store_copy(in, 0, f, &uid), 0);
	store_close(&f);
	t_str(read_all(path), "1000S\n0 0\n19 1\n19 1\n19 1\n");
	t_int(store_quota_check(dir, 1000, 900), 0);
	t_ok(store_quota_check(dir, 1000, 950) == -1 && errno == EDQUOT);
	t_int(store_quota_check(dir, 0, 1u << 30), 0);
	/* Deleting the folder takes its two messages out. */
	t_int(store_folder_delete(dir, "Archive"), 0);
	t_str(read_all(path), "1000S\n0 0\n19 1\n19 1\n19 1\n-38 -2\n");
	uid = tmsg(in, 0).uid;
	t_int(store_expunge(in, &uid, 1), 0);
	t_str(read_all(path), "1000S\n0 0\n19 1\n19 1\n19 1\n-38 -2\n-19 -1\n");
	t_int(store_quota_check(dir, 19, 19), 0);
	/* A recount (no maildirsize) agrees with the file, and skips a half-deleted
	 * "..name" folder (its bytes already left the file). */
	t_int(store_folder_create(dir, "Keep"), 0);
	f = store_open(dir, "Keep", STORE_O_NOFSYNC);
	t_int(store_append(f, "Subject: k\r\n\r\n1234567\r\n", 23, 0, 0, 0, &uid), 0);
	t_int(store_sync(f, NULL, NULL), 0);
	keep = tmsg(f, 0).size;
	store_close(&f);
	snprintf(path, sizeof(path), "%s/..Gone.1.2", dir);
	mkmaildir(path);
	snprintf(path, sizeof(path), "%s/..Gone.1.2/cur/1.M1.h,S=5000:2,", dir);
	xwrite_file(path, "x");
	t_int(store_quota_usage(dir, 1000, &sz, &n), 0);
	t_int(sz, keep);	/* Keep's message only: INBOX's was expunged */
	t_int(n, 1);
	snprintf(path, sizeof(path), "%s/maildirsize", dir);
	t_int(unlink(path), 0);
	t_int(store_quota_usage(dir, 1000, &sz, &n), 0);
	t_int(sz, keep);	/* Keep's message only: INBOX's was expunged */
	t_int(n, 1);
	store_close(&in);
}

/* A Maildir as Courier leaves it: uiddb, keywords, subscriptions, POP3 UIDLs. */
static void
test_courier_fixture(void)
{
	char			 dir[512], path[2048], **subs;
	struct store_mailbox	*mb;
	struct store_pop3_uidls	*pl;
	const char		*kw0, *kw1;
	size_t			 nsubs, i;
	uint32_t		 want0 = 0, want1 = 0;
	int			 k;

	snprintf(dir, sizeof(dir), "%s/courier", tmpdir);
	mkmaildir(dir);
	put_msg(dir, "cur", "1000000001.M1P1.courier,S=20:2,S", "Subject: a\n\nbody\n");
	put_msg(dir, "cur", "1000000002.M2P1.courier,S=20:2,", "Subject: b\n\nbody\n");
	put_msg(dir, "new", "1000000003.M3P1.courier,S=20", "Subject: c\n\nbody\n");
	snprintf(path, sizeof(path), "%s/courierimapuiddb", dir);
	xwrite_file(path, "1 777 10\n5 1000000001.M1P1.courier,S=20\n"
	    "6 1000000002.M2P1.courier,S=20\n");
	snprintf(path, sizeof(path), "%s/courierimapkeywords", dir);
	t_int(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/courierimapkeywords/:list", dir);
	xwrite_file(path, "Work\n$Label1\n\n1000000001.M1P1.courier,S=20:0 1\n"
	    "1000000002.M2P1.courier,S=20:1\n");
	/* Pending updates: the highest number wins. */
	snprintf(path, sizeof(path), "%s/courierimapkeywords/.3.1000000002.M2P1.courier,S=20", dir);
	xwrite_file(path, "Work\nTodo\n");
	snprintf(path, sizeof(path), "%s/courierimapkeywords/.1.1000000002.M2P1.courier,S=20", dir);
	xwrite_file(path, "Old\n");
	snprintf(path, sizeof(path), "%s/courierimapsubscribed", dir);
	xwrite_file(path, "INBOX\nINBOX.Sent\nINBOX.a.b\n");
	snprintf(path, sizeof(path), "%s/courierpop3dsizelist", dir);
	xwrite_file(path, "/3 8 777\n1000000001.M1P1.courier,S=20:2,S 22 5:777:0\n"
	    "1000000002.M2P1.courier,S=20:2, 22 0:777:0\n");

	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_uidvalidity(mb), 777);
	t_int(store_count(mb), 3);
	t_int(tmsg(mb, 0).uid, 5);
	t_int(tmsg(mb, 1).uid, 6);
	t_int(tmsg(mb, 2).uid, 10);
	t_int(tmsg(mb, 0).flags, STORE_F_SEEN);
	for (i = 0; i < STORE_MAX_KEYWORDS; i++) {
		const char *n = store_keyword_name(mb, (unsigned)i);

		if (n == NULL)
			continue;
		if (strcmp(n, "Work") == 0 || strcmp(n, "$Label1") == 0)
			want0 |= 1u << i;
		if (strcmp(n, "Work") == 0 || strcmp(n, "Todo") == 0)
			want1 |= 1u << i;
		t_ok(strcmp(n, "Old") != 0);
	}
	t_int(tmsg(mb, 0).keywords, want0);
	t_int(tmsg(mb, 1).keywords, want1);
	t_int(tmsg(mb, 2).keywords, 0);
	k = store_keyword_index(mb, "todo", false);
	t_ok(k >= 0 && (want1 & (1u << k)));
	kw0 = store_keyword_name(mb, 0);
	kw1 = store_keyword_name(mb, 1);
	t_ok(kw0 != NULL && kw1 != NULL);

	t_int(store_subscriptions(dir, &subs, &nsubs), 0);
	t_int(nsubs, 3);
	if (nsubs == 3) {
		t_str(subs[0], "INBOX");
		t_str(subs[1], "Sent");
		t_str(subs[2], "a/b");
	}
	store_subscriptions_free(&subs, nsubs);

	pl = store_pop3_uidls_load(dir);
	t_ok(pl != NULL);
	t_str(store_pop3_uidl(pl, tmsg(mb, 0).name, tmsg(mb, 0).base_len), "UID5-777");
	t_str(store_pop3_uidl(pl, tmsg(mb, 1).name, tmsg(mb, 1).base_len),
	    "1000000002.M2P1.courier,S=20");
	t_ok(store_pop3_uidl(pl, tmsg(mb, 2).name, tmsg(mb, 2).base_len) == NULL);
	store_pop3_uidls_free(&pl);
	t_ok(pl == NULL);
	store_close(&mb);
}

/* Modified UTF-7 <-> UTF-8 (table), and UTF-8 folder directories. */
static void
test_utf7_names(void)
{
	static const struct {
		const char	*m7, *u8;
	} tab[] = {
		{ "Entw&APw-rfe", "Entw\xc3\xbcrfe" },
		{ "&-", "&" },
		{ "a&-b", "a&b" },
		{ "A&AMQ-B", "A\xc3\x84" "B" },
		{ "&ZeVnLIqe-", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
		{ "&2D3eAA-", "\xf0\x9f\x98\x80" },
		{ "plain", "plain" },
	};
	static const char *const bad7[] = { "&AGE-", "&Jjo", "&2D3-", "&APw", "&A-" };
	static const char *const bad8[] = { "\xc3", "\xed\xa0\x80", "\xc0\xaf" };
	char			 dir[512], path[2048], *r;
	struct store_folder	*list;
	struct store_mailbox	*mb;
	size_t			 i, n;
	bool			 found = false;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		r = mutf7_to_utf8(tab[i].m7);
		t_ok(r != NULL && strcmp(r, tab[i].u8) == 0);
		free(r);
		r = utf8_to_mutf7(tab[i].u8);
		t_ok(r != NULL && strcmp(r, tab[i].m7) == 0);
		free(r);
	}
	for (i = 0; i < sizeof(bad7) / sizeof(bad7[0]); i++) {
		r = mutf7_to_utf8(bad7[i]);
		t_ok(r == NULL);
		free(r);
	}
	for (i = 0; i < sizeof(bad8) / sizeof(bad8[0]); i++) {
		r = utf8_to_mutf7(bad8[i]);
		t_ok(r == NULL);
		free(r);
	}
	/* A folder Courier 5 made with a UTF-8 name. */
	snprintf(dir, sizeof(dir), "%s/utf8root", tmpdir);
	mkmaildir(dir);
	snprintf(path, sizeof(path), "%s/.Entw\xc3\xbcrfe", dir);
	mkmaildir(path);
	put_n(path, 0, 1);
	t_int(store_folder_list(dir, &list, &n), 0);
	for (i = 0; i < n; i++)
		found |= strcmp(list[i].name, "Entw&APw-rfe") == 0;
	t_ok(found);
	store_folder_list_free(&list, n);
	mb = store_open(dir, "Entw&APw-rfe", STORE_O_NOFSYNC);
	t_ok(mb != NULL);
	if (mb != NULL) {
		t_str(store_path(mb), path);
		t_int(store_sync(mb, NULL, NULL), 0);
		t_int(store_count(mb), 1);
		store_close(&mb);
	}
}

/*
 * tmp/ files untouched for 36 hours go; younger ones stay.  Age counts from
 * the newest of mtime, atime and ctime: an APPEND in progress set its mtime
 * to an old internal date but its ctime is now, so it stays.  The ctime
 * cannot be set back, so the removal is checked with the age lowered.
 */
static void
test_tmp_cleanup(void)
{
	char			 dir[512], path[2048];
	struct store_mailbox	*mb;
	struct timespec		 ts[2] = { { time(NULL) - 37 * 3600, 0 }, { time(NULL) - 37 * 3600, 0 } };

	snprintf(dir, sizeof(dir), "%s/tmpclean", tmpdir);
	mkmaildir(dir);
	put_msg(dir, "tmp", "old.writer", "x");
	put_msg(dir, "tmp", "young.writer", "x");
	snprintf(path, sizeof(path), "%s/tmp/old.writer", dir);
	t_int(utimensat(AT_FDCWD, path, ts, 0), 0);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_ok(exists(dir, "tmp", "old.writer"));		/* its ctime is now */
	t_ok(exists(dir, "tmp", "young.writer"));
	store_close(&mb);
	store_set_tmp_max_age(0);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_ok(!exists(dir, "tmp", "old.writer"));
	t_ok(!exists(dir, "tmp", "young.writer"));
	store_close(&mb);
	store_set_tmp_max_age(36 * 3600);
}

/* Two handles of one process exclude each other (mutex + flock). */
struct excl {
	const char	*dir;
	double		 done;
};

static void *
excl_thread(void *arg)
{
	struct excl		*x = arg;
	struct store_mailbox	*mb = store_open(x->dir, "INBOX", STORE_O_NOFSYNC);

	if (mb != NULL && store_sync(mb, NULL, NULL) == 0 && store_count(mb) > 0)
		(void)store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_DRAFT, 0, 0);
	x->done = now_s();
	store_close(&mb);
	return NULL;
}

static void
test_in_process_lock(void)
{
	char			 dir[512];
	struct store_mailbox	*mb;
	struct excl		 x;
	pthread_t		 th;
	double			 released;
	struct timespec		 ts = { 0, 200 * 1000 * 1000 };

	snprintf(dir, sizeof(dir), "%s/excl", tmpdir);
	mkmaildir(dir);
	put_n(dir, 0, 2);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_update_begin(mb), 0);
	x.dir = dir;
	x.done = 0;
	t_int(pthread_create(&th, NULL, excl_thread, &x), 0);
	nanosleep(&ts, NULL);
	released = now_s();
	t_int(store_update_end(mb), 0);
	pthread_join(th, NULL);
	t_ok(x.done >= released);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_ok(tmsg(mb, 0).flags & STORE_F_DRAFT);
	store_close(&mb);
}

/*
 * Two processes appending, changing flags and syncing, plus a delivery
 * agent writing into new/, for a bounded time; then each process's view
 * (UID -> base name) is compared with a fresh one: the same UID must name
 * the same message everywhere, and no UID twice.
 */
static void
two_proc_child(const char *dir, const char *out, double secs, int id)
{
	struct store_mailbox	*mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	double			 t0 = now_s();
	char			 body[64];
	uint32_t		 uid;
	size_t			 i;
	FILE			*f;
	int			 n = 0;

	if (mb == NULL)
		_exit(3);
	while (now_s() - t0 < secs) {
		snprintf(body, sizeof(body), "Subject: p%d %d\r\n\r\nx\r\n", id, n++);
		if (store_append(mb, body, strlen(body), 0, 0, 0, &uid) == -1 ||
		    store_sync(mb, NULL, NULL) == -1)
			_exit(4);
		if (store_count(mb) > 0 &&
		    store_set_flags(mb, (size_t)n % store_count(mb), STORE_FLAGS_ADD,
		    STORE_F_SEEN, 0, 0) == -1 && errno != ENOENT)
			_exit(5);
	}
	if (store_sync(mb, NULL, NULL) == -1 || (f = fopen(out, "w")) == NULL)
		_exit(6);
	for (i = 0; i < store_count(mb); i++)
		fprintf(f, "%u %.*s\n", tmsg(mb, i).uid, (int)tmsg(mb, i).base_len,
		    tmsg(mb, i).name);
	fclose(f);
	store_close(&mb);
	_exit(0);
}

static void
test_two_processes_and_delivery(void)
{
	char			 dir[512], out[2][600], line[400], name[128];
	struct store_mailbox	*mb;
	pid_t			 pid[3];
	int			 i, st, ok = 1, compared = 0, bad = 0;
	double			 t0;
	ssize_t			 k;
	FILE			*f;
	unsigned		 uid;

	snprintf(dir, sizeof(dir), "%s/twoproc", tmpdir);
	mkmaildir(dir);
	for (i = 0; i < 2; i++) {
		snprintf(out[i], sizeof(out[i]), "%s/view%d", tmpdir, i);
		if ((pid[i] = fork()) == 0)
			two_proc_child(dir, out[i], 6.0, i);
	}
	if ((pid[2] = fork()) == 0) {
		for (t0 = now_s(), i = 0; now_s() - t0 < 6.0; i++) {
			snprintf(name, sizeof(name), "%lld.M%dQdel.host,S=3", (long long)time(NULL), i);
			put_msg(dir, "new", name, "d\r\n");
			usleep(2000);
		}
		_exit(0);
	}
	for (i = 0; i < 3; i++) {
		waitpid(pid[i], &st, 0);
		ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	t_ok(ok);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	for (k = 1; k < (ssize_t)store_count(mb); k++)
		if (tmsg(mb, (size_t)k).uid <= tmsg(mb, (size_t)k - 1).uid)
			bad++;
	for (i = 0; i < 2; i++) {
		if ((f = fopen(out[i], "r")) == NULL) {
			bad++;
			continue;
		}
		while (fscanf(f, "%u %399s", &uid, line) == 2) {
			k = store_find_uid(mb, uid);
			compared++;
			if (k < 0 || strncmp(tmsg(mb, (size_t)k).name, line, strlen(line)) != 0 ||
			    tmsg(mb, (size_t)k).base_len != strlen(line))
				bad++;
		}
		fclose(f);
	}
	printf("two processes + delivery: %zu messages, %d view entries compared\n",
	    store_count(mb), compared);
	t_ok(compared > 100);
	t_int(bad, 0);
	t_int(count_files(dir, "new") + count_files(dir, "cur"), store_count(mb));
	store_close(&mb);
}

/*
 * Power cut: a writer appending and changing flags is killed (-9) at a
 * random point, 200 times; after each, a reopen must show every
 * acknowledged message under its UID with the last acknowledged flags,
 * and no UID twice.  The writer tells the parent through a pipe:
 * 'A' uid id (appended), 'S' uid (about to change), 'F' uid flags (done).
 */
struct ack {
	char		op;
	uint32_t	uid, v;
};

static void
pc_writer(const char *dir, int wfd, unsigned seed)
{
	static const uint32_t	 fl[4] = { 0, STORE_F_SEEN, STORE_F_FLAGGED,
	    STORE_F_SEEN | STORE_F_FLAGGED };
	struct store_mailbox	*mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	char			 body[96];
	struct ack		 a;
	uint32_t		 uid;
	size_t			 idx;
	int			 i;

	if (mb == NULL || store_sync(mb, NULL, NULL) == -1)
		_exit(3);
	srand(seed);
	for (i = 0; i < 1000; i++) {
		if (i % 3 == 0 || store_count(mb) == 0) {
			a.v = (uint32_t)seed * 1000 + (uint32_t)i;
			snprintf(body, sizeof(body), "Subject: id %u\r\n\r\nx\r\n", a.v);
			if (store_append(mb, body, strlen(body), 0, 0, 0, &uid) == -1)
				_exit(4);
			a.op = 'A';
			a.uid = uid;
		} else {
			idx = (size_t)rand() % store_count(mb);
			a.op = 'S';
			a.uid = tmsg(mb, idx).uid;
			if (write(wfd, &a, sizeof(a)) != sizeof(a))
				_exit(5);
			if (store_set_flags(mb, idx, STORE_FLAGS_SET, fl[rand() % 4], 0, 0) == -1)
				_exit(6);
			a.op = 'F';
			a.v = tmsg(mb, idx).flags;
		}
		if (write(wfd, &a, sizeof(a)) != sizeof(a))
			_exit(5);
		if (i % 5 == 0 && store_sync(mb, NULL, NULL) == -1)
			_exit(7);
	}
	_exit(0);
}

#define PC_MAXUID	20000

static void
test_power_cut(void)
{
	char			 dir[512], body[128];
	static uint32_t		 ids[PC_MAXUID], flags[PC_MAXUID];
	static char		 state[PC_MAXUID];	/* 0 none, 'F' acked, 'S' unsure */
	struct store_mailbox	*mb;
	struct ack		 a;
	struct timespec		 ts;
	double			 t0 = now_s();
	int			 iter, p[2], st, bad = 0, fd;
	pid_t			 pid;
	size_t			 i;
	ssize_t			 n;

	snprintf(dir, sizeof(dir), "%s/powercut", tmpdir);
	mkmaildir(dir);
	for (iter = 0; iter < 200 && now_s() - t0 < 25; iter++) {
		if (pipe(p) == -1)
			break;
		if ((pid = fork()) == 0) {
			close(p[0]);
			pc_writer(dir, p[1], (unsigned)iter + 1);
		}
		close(p[1]);
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(rand() % 4000) * 1000;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		while ((n = read(p[0], &a, sizeof(a))) == sizeof(a)) {
			if (a.uid >= PC_MAXUID)
				continue;
			if (a.op == 'A') {
				if (ids[a.uid] != 0)
					bad++;		/* a UID given twice */
				ids[a.uid] = a.v;
				state[a.uid] = 'F';
				flags[a.uid] = 0;
			} else if (a.op == 'S')
				state[a.uid] = 'S';
			else {
				state[a.uid] = 'F';
				flags[a.uid] = a.v;
			}
		}
		close(p[0]);
		mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
		t_ok(mb != NULL && store_sync(mb, NULL, NULL) == 0);
		for (i = 1; mb != NULL && i < PC_MAXUID; i++) {
			ssize_t	k;

			if (ids[i] == 0)
				continue;
			k = store_find_uid(mb, (uint32_t)i);
			if (k < 0) {
				bad++;
				continue;
			}
			if (state[i] == 'F' && tmsg(mb, (size_t)k).flags != flags[i])
				bad++;
			if (iter % 20 == 0 && (fd = store_msg_open(mb, (size_t)k)) >= 0) {
				n = read(fd, body, sizeof(body) - 1);
				close(fd);
				body[n > 0 ? n : 0] = '\0';
				if (strtoul(body + 12, NULL, 10) != ids[i])
					bad++;
			}
		}
		store_close(&mb);
	}
	printf("power cut: %d kills in %.1f s\n", iter, now_s() - t0);
	t_ok(iter >= 50);
	t_int(bad, 0);
}

int
main(void)
{
	t_begin("store_index");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lb-storeidx-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_uidvalidity_never_reused();
	test_cache_checks_base();
	test_cache_compaction();
	test_batch_modseq();
	test_change_log();
	test_reopen_scan();
	test_log_loss();
	test_duplicate_base();
	test_recent();
	test_vanished();
	test_status();
	test_lf_on_disk();
	test_tmp_cleanup();
	test_quota();
	test_courier_fixture();
	test_lazy_sizes();
	test_lazy_sizes_incremental();
	test_utf7_names();
	test_in_process_lock();
	test_power_cut();
	test_two_processes_and_delivery();
	rm_tree(tmpdir);
	return t_end();
}
