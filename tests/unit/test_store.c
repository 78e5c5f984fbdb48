/*
 * Mail store: UID assignment, stability, new/ pickup, flags in names,
 * renames by other programs, expunge, append, copy, cache, rebuild and
 * import, foreign Maildir names, two processes at once, folders and
 * subscriptions, and a 10,000-message sync timing (printed, not asserted).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t.h"
#include "store/store.h"
#include "store_t.h"

static const char *msg1 = "From: a@example.com\r\nSubject: one\r\n\r\nbody one\r\n";
static const char *msg2 = "From: b@example.com\r\nSubject: two\r\n\r\nbody two\r\n";
static const char *msg3 = "From: c@example.com\r\nSubject: three\r\n\r\nbody three\r\n";

static void
test_uids(void)
{
	char			 dir[512], name[256], path[2048];
	struct store_mailbox	*mb;
	struct store_msg	 m;
	struct rec		 r;
	uint32_t		 uidv;

	snprintf(dir, sizeof(dir), "%s/u1", tmpdir);
	t_ok(store_open(dir, "INBOX", 0) == NULL && errno == ENOENT);
	mb = store_open(dir, "INBOX", STORE_O_CREATE);
	t_ok(mb != NULL);
	/* Names as our delivery writes them; out of lexical order on purpose (usec). */
	snprintf(name, sizeof(name), "1700000000.M12Qabc.host,S=%zu", strlen(msg2));
	put_msg(dir, "new", name, msg2);
	snprintf(name, sizeof(name), "1700000000.M5Qabd.host,S=%zu", strlen(msg1));
	put_msg(dir, "new", name, msg1);
	snprintf(name, sizeof(name), "1700000001.M1Qabe.host,S=%zu", strlen(msg3));
	put_msg(dir, "new", name, msg3);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 3);
	t_int(tmsg(mb, 0).uid, 1);
	t_int(tmsg(mb, 2).uid, 3);
	t_ok(strncmp(tmsg(mb, 0).name, "1700000000.M5Qabd.host", 22) == 0);
	t_ok(strncmp(tmsg(mb, 1).name, "1700000000.M12Qabc.host", 23) == 0);
	t_int(tmsg(mb, 0).size, strlen(msg1));
	t_int(tmsg(mb, 0).vsize, strlen(msg1));
	t_ok(tmsg(mb, 0).recent);
	t_ok(!tmsg(mb, 0).in_new);
	t_int(count_files(dir, "new"), 0);
	t_int(count_files(dir, "cur"), 3);
	snprintf(name, sizeof(name), "1700000000.M5Qabd.host,S=%zu:2,", strlen(msg1));
	t_ok(exists(dir, "cur", name));
	t_int(store_uidnext(mb), 4);
	uidv = store_uidvalidity(mb);
	t_ok(uidv != 0);
	t_ok(store_highestmodseq(mb) >= 3);
	t_int(store_find_uid(mb, 2), 1);
	t_int(store_find_uid(mb, 9), -1);
	t_int(store_lower_bound(mb, 3), 2);
	store_close(&mb);
	t_ok(mb == NULL);

	/* Stable across reopen; new/ pickup gets the next UIDs. */
	mb = store_open(dir, "INBOX", 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 3);
	t_int(store_uidvalidity(mb), uidv);
	t_int(tmsg(mb, 1).uid, 2);
	t_ok(!tmsg(mb, 1).recent);
	put_msg(dir, "new", "1700000100.M1Qnew1.host,S=5", "a\r\nb\n");
	put_msg(dir, "new", "1700000100.M2Qnew2.host", "x\r\n");
	memset(&r, 0, sizeof(r));
	t_int(store_sync(mb, &rec_cb, &r), 0);
	t_int(store_count(mb), 5);
	t_int(r.nexp + r.nchg, 0);
	m = tmsg(mb, 3);
	t_int(m.uid, 4);
	t_ok(m.recent);
	t_int(m.size, 5);
	m = tmsg(mb, 4);
	t_int(m.uid, 5);
	t_int(m.size, 0);		/* no ,S=: not known until asked */
	m = tmsg_sized(mb, 4);
	t_int(m.size, 3);		/* ...then a stat */
	t_int(m.vsize, 3);
	t_int(tmsg(mb, 4).size, 3);	/* kept */
	t_int(store_uidnext(mb), 6);
	/* Reading a message; its path. */
	t_ok(store_msg_path(mb, 4, path, sizeof(path)) == 0 && strstr(path, "/cur/") != NULL);
	{
		int	 fd = store_msg_open(mb, 0);
		char	 b[64];
		ssize_t	 n = fd >= 0 ? read(fd, b, sizeof(b)) : -1;

		t_ok(fd >= 0 && n > 10 && memcmp(b, "From: a@", 8) == 0);
		if (fd >= 0)
			close(fd);
	}
	store_close(&mb);
}

/*
 * store_msg_get fills the caller's struct: a copy taken before other
 * lookups, a flag change, another handle's change and a sync keeps every
 * byte (h-store handed out a ring of 4 slots that the fifth call reused).
 * The view accessors agree with the full copy and say 0 out of range.
 */
static void
test_msg_copy_owned(void)
{
	char			 dir[512];
	struct store_mailbox	*mb, *mb2;
	struct store_msg	 m0, keep, o;
	size_t			 i, k;

	snprintf(dir, sizeof(dir), "%s/u1", tmpdir);
	mb = store_open(dir, "INBOX", 0);
	mb2 = store_open(dir, "INBOX", STORE_O_NO_RECENT);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_sync(mb2, NULL, NULL), 0);
	t_int(store_count(mb), 5);
	t_int(store_msg_get(mb, 0, &m0), 0);
	keep = m0;
	for (k = 0; k < 3; k++)
		for (i = 0; i < store_count(mb); i++) {
			t_int(store_msg_get(mb, i, &o), 0);
			t_int(o.uid, store_msg_uid(mb, i));
			t_int(o.flags, store_msg_flags(mb, i));
			t_int(o.keywords, store_msg_keywords(mb, i));
			t_int(o.recent, store_msg_recent(mb, i));
			t_int(o.modseq, store_msg_modseq(mb, i));
		}
	t_int(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_ANSWERED, 0, 0), 0);
	t_int(store_set_flags(mb2, 0, STORE_FLAGS_ADD, STORE_F_DRAFT, 0, 0), 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_ok(memcmp(&m0, &keep, sizeof(m0)) == 0);
	t_ok(strchr(m0.name, 'R') == NULL && strchr(m0.name, 'D') == NULL);
	/* A fresh copy sees both changes; the accessors too. */
	t_int(store_msg_get(mb, 0, &o), 0);
	t_int(o.flags & (STORE_F_ANSWERED | STORE_F_DRAFT), STORE_F_ANSWERED | STORE_F_DRAFT);
	t_ok(o.modseq > m0.modseq);
	t_int(store_msg_modseq(mb, 0), o.modseq);
	t_int(store_msg_flags(mb, 0), o.flags);
	t_int(store_set_flags(mb, 0, STORE_FLAGS_REMOVE, STORE_F_ANSWERED | STORE_F_DRAFT, 0, 0), 0);
	/* Out of range. */
	errno = 0;
	t_ok(store_msg_get(mb, 5, &o) == -1 && errno == EINVAL);
	t_int(store_msg_uid(mb, 5), 0);
	t_int(store_msg_flags(mb, 5), 0);
	t_int(store_msg_keywords(mb, 5), 0);
	t_ok(!store_msg_recent(mb, 5));
	t_int(store_msg_modseq(mb, 5), 0);
	store_close(&mb2);
	store_close(&mb);
}

static void
test_flags(void)
{
	char			 dir[512], from[2048], to[1024], kwfile[1024], *s;
	struct store_mailbox	*mb, *mb2;
	struct store_msg	 m;
	struct rec		 r;
	uint64_t		 ms;
	uint32_t		 uid;
	int			 k;

	snprintf(dir, sizeof(dir), "%s/u1", tmpdir);
	mb = store_open(dir, "INBOX", 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	m = tmsg(mb, 0);
	ms = m.modseq;
	t_int(store_set_flags(mb, 0, STORE_FLAGS_SET, STORE_F_SEEN | STORE_F_FLAGGED, 0, 0), 0);
	m = tmsg(mb, 0);	/* a copy: taken again after each change */
	t_ok(strstr(m.name, ":2,FS") != NULL && m.name[strlen(m.name) - 1] == 'S');
	t_int(m.flags, STORE_F_SEEN | STORE_F_FLAGGED);
	t_ok(m.modseq > ms);
	t_ok(exists(dir, "cur", m.name));
	k = store_keyword_index(mb, "$Forwarded", false);
	t_ok(k == -1 && errno == ENOENT);
	t_int(store_keyword_index(mb, "$Forwarded", true), 0);
	t_int(store_keyword_index(mb, "Junk", true), 1);
	t_int(store_keyword_index(mb, "junk", false), 1);
	t_ok(store_keyword_index(mb, "\\Seen", true) == -1 && errno == EINVAL);
	t_str(store_keyword_name(mb, 1), "Junk");
	snprintf(kwfile, sizeof(kwfile), "%s/dovecot-keywords", dir);
	s = read_all(kwfile);
	t_str(s, "0 $Forwarded\n1 Junk\n");
	t_int(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_ANSWERED, 1u << 1, 0), 0);
	t_ok(strstr(tmsg(mb, 0).name, ":2,FRSb") != NULL);
	t_int(store_set_flags(mb, 0, STORE_FLAGS_REMOVE, STORE_F_SEEN, 0, 0), 0);
	m = tmsg(mb, 0);
	t_ok(strstr(m.name, ":2,FRb") != NULL);
	t_int(m.keywords, 1u << 1);
	/* Nothing to change: no rename, same modseq. */
	ms = m.modseq;
	t_int(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_FLAGGED, 0, 0), 0);
	t_int(tmsg(mb, 0).modseq, ms);
	/* CONDSTORE UNCHANGEDSINCE. */
	t_int(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_SEEN, 0, ms - 1), 1);
	t_int(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_SEEN, 0, ms), 0);
	t_ok(tmsg(mb, 0).flags & STORE_F_SEEN);
	/* Batch. */
	t_int(store_update_begin(mb), 0);
	t_int(store_set_flags(mb, 1, STORE_FLAGS_ADD, STORE_F_DELETED, 0, 0), 0);
	t_int(store_set_flags(mb, 2, STORE_FLAGS_ADD, STORE_F_DRAFT | STORE_F_PASSED, 1u, 0), 0);
	t_int(store_update_end(mb), 0);
	t_ok(strstr(tmsg(mb, 1).name, ":2,T") != NULL);
	t_ok(strstr(tmsg(mb, 2).name, ":2,DPa") != NULL);

	/* A second handle (another session) sees the flags from the names. */
	mb2 = store_open(dir, "INBOX", 0);
	t_int(store_sync(mb2, NULL, NULL), 0);
	t_int(tmsg(mb2, 0).flags, STORE_F_FLAGGED | STORE_F_ANSWERED | STORE_F_SEEN);
	t_int(tmsg(mb2, 0).keywords, 2);
	t_str(store_keyword_name(mb2, 0), "$Forwarded");
	t_int(tmsg(mb2, 2).flags, STORE_F_DRAFT | STORE_F_PASSED);

	/* Another program renames a file (flag change): same UID, new flags, reported. */
	m = tmsg(mb, 0);
	uid = m.uid;
	snprintf(from, sizeof(from), "%s/cur/%s", dir, m.name);
	snprintf(to, sizeof(to), "%s/cur/%.*s:2,S", dir, (int)m.base_len, m.name);
	t_int(rename(from, to), 0);
	ms = store_highestmodseq(mb2);
	memset(&r, 0, sizeof(r));
	t_int(store_sync(mb2, &rec_cb, &r), 0);
	t_int(r.nchg, 1);
	t_int(r.chg[0], 0);
	t_int(r.nexp, 0);
	t_int(tmsg(mb2, 0).uid, uid);
	t_int(tmsg(mb2, 0).flags, STORE_F_SEEN);
	t_int(tmsg(mb2, 0).keywords, 0);
	t_ok(tmsg(mb2, 0).modseq > ms);
	/* The first handle still has the old name: setting flags finds the file. */
	t_int(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_FLAGGED, 0, 0), 0);
	t_ok(strstr(tmsg(mb, 0).name, ":2,FS") != NULL);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(tmsg(mb, 0).uid, uid);
	store_close(&mb2);

	/* Opening a message whose file was renamed meanwhile. */
	m = tmsg(mb, 1);
	snprintf(from, sizeof(from), "%s/cur/%s", dir, m.name);
	snprintf(to, sizeof(to), "%s/cur/%.*s:2,RT", dir, (int)m.base_len, m.name);
	t_int(rename(from, to), 0);
	k = store_msg_open(mb, 1);
	t_ok(k >= 0);
	if (k >= 0)
		close(k);
	/* The view learns the new name (and flags) at the next sync. */
	t_int(store_sync(mb, NULL, NULL), 0);
	t_ok(strstr(tmsg(mb, 1).name, ":2,RT") != NULL);
	t_ok(tmsg(mb, 1).flags & STORE_F_DELETED);
	store_close(&mb);
}

static void
test_keep_new_and_expunge(void)
{
	char			 dir[512], from[2048], to[1024];
	struct store_mailbox	*mb, *mb2;
	struct rec		 r;
	uint32_t		 uids[2];
	uint64_t		 hm;

	snprintf(dir, sizeof(dir), "%s/u2", tmpdir);
	mkmaildir(dir);
	put_msg(dir, "new", "1700000200.M1Qk1.host,S=10", "0123456789");
	put_msg(dir, "new", "1700000201.M1Qk2.host,S=10", "0123456789");
	put_msg(dir, "new", "1700000202.M1Qk3.host,S=10", "0123456789");
	put_msg(dir, "new", "1700000203.M1Qk4.host,S=10", "0123456789");
	mb = store_open(dir, "INBOX", STORE_O_KEEP_NEW);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 4);
	t_int(count_files(dir, "new"), 4);
	t_ok(tmsg(mb, 0).in_new);
	/* Another program (an IMAP client elsewhere) moves it to cur/ with flags. */
	snprintf(from, sizeof(from), "%s/new/1700000200.M1Qk1.host,S=10", dir);
	snprintf(to, sizeof(to), "%s/cur/1700000200.M1Qk1.host,S=10:2,S", dir);
	t_int(rename(from, to), 0);
	memset(&r, 0, sizeof(r));
	t_int(store_sync(mb, &rec_cb, &r), 0);
	t_int(store_count(mb), 4);
	t_int(tmsg(mb, 0).uid, 1);
	t_ok(!tmsg(mb, 0).in_new);
	t_int(tmsg(mb, 0).flags, STORE_F_SEEN);
	t_int(r.nchg, 1);

	/* Expunge (POP3 DELE + QUIT): gone on disk at once, in the view after sync. */
	snprintf(from, sizeof(from), "%s/maildirsize", dir);
	xwrite_file(from, "0S\n40 4\n");
	hm = store_highestmodseq(mb);
	uids[0] = 2;
	uids[1] = 4;
	t_int(store_expunge(mb, uids, 2), 0);
	t_int(count_files(dir, "new"), 1);
	t_int(store_count(mb), 4);
	memset(&r, 0, sizeof(r));
	t_int(store_sync(mb, &rec_cb, &r), 0);
	t_int(store_count(mb), 2);
	t_int(r.nexp, 2);
	t_int(r.exp_idx[0], 1);		/* seq 2 */
	t_int(r.exp_uid[0], 2);
	t_int(r.exp_idx[1], 2);		/* uid 4 was seq 4, seq 3 after the first */
	t_int(r.exp_uid[1], 4);
	t_ok(store_highestmodseq(mb) > hm);
	t_int(tmsg(mb, 1).uid, 3);
	t_str(read_all(from), "0S\n40 4\n-20 -2\n");

	/* Another program deletes a file: reported as expunged. */
	mb2 = store_open(dir, "INBOX", 0);
	t_int(store_sync(mb2, NULL, NULL), 0);
	t_int(store_count(mb2), 2);
	t_int(count_files(dir, "new"), 0);	/* mb2 moves new -> cur */
	snprintf(from, sizeof(from), "%s/cur/%s", dir, tmsg(mb2, 0).name);
	t_int(unlink(from), 0);
	memset(&r, 0, sizeof(r));
	t_int(store_sync(mb, &rec_cb, &r), 0);
	t_int(r.nexp, 1);
	t_int(r.exp_uid[0], 1);
	t_int(store_count(mb), 1);
	t_int(tmsg(mb, 0).uid, 3);
	t_ok(!tmsg(mb, 0).in_new);	/* mb2 moved it */
	/* Setting flags on a message expunged elsewhere. */
	uids[0] = 3;
	t_int(store_expunge(mb2, uids, 1), 0);
	t_ok(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0) == -1 && errno == ENOENT);
	t_ok(store_msg_open(mb, 0) == -1 && errno == ENOENT);
	store_close(&mb2);
	store_close(&mb);
}

static void
test_append_copy_cache(void)
{
	char			 dir[512], path[2048];
	struct store_mailbox	*mb, *sent, *mb2;
	struct store_append	*a;
	struct store_msg	 m;
	const char		*data, *data2;
	size_t			 len, len2;
	uint32_t		 uid, uid2;
	int			 kw;
	ssize_t			 i;

	snprintf(dir, sizeof(dir), "%s/u3", tmpdir);
	mb = store_open(dir, "INBOX", STORE_O_CREATE);
	t_ok(mb != NULL);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_append(mb, msg1, strlen(msg1), STORE_F_SEEN, 0, 1234567890, &uid), 0);
	t_int(uid, 1);
	t_int(store_count(mb), 0);		/* shows after the next sync */
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 1);
	m = tmsg(mb, 0);
	t_int(m.uid, 1);
	t_int(m.flags, STORE_F_SEEN);
	/* LF on disk (4 lines: 4 CRs dropped); ,W= keeps the CRLF size. */
	t_int(m.size, strlen(msg1) - 4);
	t_int(m.vsize, strlen(msg1));
	snprintf(path, sizeof(path), ",S=%zu,W=%zu:2,S", strlen(msg1) - 4, strlen(msg1));
	t_ok(strstr(m.name, path) != NULL);
	t_int(store_msg_idate(mb, 0), 1234567890);
	{
		char	b[128];
		int	fd = store_msg_open(mb, 0);
		ssize_t	n = fd >= 0 ? read(fd, b, sizeof(b)) : -1;

		t_ok(n == (ssize_t)strlen(msg1) - 4 && memchr(b, '\r', (size_t)n) == NULL &&
		    memcmp(b, "From: a@example.com\nSubject: one\n\nbody one\n", (size_t)n) == 0);
		if (fd >= 0)
			close(fd);
	}
	/* Streamed, with bare LFs and a CRLF split between writes. */
	a = store_append_begin(mb);
	t_ok(a != NULL);
	t_int(store_append_write(a, "Subject: lf\n", 12), 0);
	t_int(store_append_write(a, "\nline\r", 6), 0);
	t_int(store_append_write(a, "\nend\n", 5), 0);
	kw = store_keyword_index(mb, "Work", true);
	t_int(kw, 0);
	t_int(store_append_commit(&a, 0, 1u << kw, 0, &uid2), 0);
	t_ok(a == NULL);
	t_int(uid2, 2);
	t_int(store_sync(mb, NULL, NULL), 0);
	m = tmsg(mb, 1);
	t_int(m.size, 22);
	t_int(m.vsize, 26);
	t_ok(strstr(m.name, ",S=22,W=26:2,a") != NULL);
	t_int(m.keywords, 1);
	a = store_append_begin(mb);
	store_append_abort(&a);
	t_int(count_files(dir, "tmp"), 0);

	/* Cache: computed once, then read from letterbox-cache by another handle. */
	t_int(store_msg_cached(mb, 0, STORE_CACHE_ENVELOPE, &data, &len), 0);
	t_ok(len > 0 && memmem(data, len, "\"one\"", 5) != NULL);
	t_ok(memmem(data, len, "\"example.com\"", 13) != NULL);
	t_int(store_msg_cached(mb, 0, STORE_CACHE_ENVELOPE, &data2, &len2), 0);
	t_ok(data2 == data);
	t_int(store_msg_cached(mb, 0, STORE_CACHE_BODYSTRUCTURE, &data, &len), 0);
	t_ok(len > 0 && strncmp(data, "(\"text\" \"plain\"", 15) == 0);
	t_int(store_msg_cached(mb, 0, STORE_CACHE_BODY, &data2, &len2), 0);
	t_ok(len2 > 0 && len2 <= len);
	snprintf(path, sizeof(path), "%s/letterbox-cache", dir);
	t_ok(access(path, F_OK) == 0);
	mb2 = store_open(dir, "INBOX", 0);
	t_int(store_sync(mb2, NULL, NULL), 0);
	/* Hide the file: only the cache can answer now. */
	{
		char from[2048], to[1024];

		snprintf(from, sizeof(from), "%s/cur/%s", dir, tmsg(mb2, 0).name);
		snprintf(to, sizeof(to), "%s/hidden", dir);
		t_int(rename(from, to), 0);
		t_int(store_msg_cached(mb2, 0, STORE_CACHE_BODYSTRUCTURE, &data2, &len2), 0);
		t_ok(len2 == len && memcmp(data, data2, len) == 0);
		t_ok(store_msg_cached(mb2, 1, STORE_CACHE_ENVELOPE, &data2, &len2) == 0);
		t_int(rename(to, from), 0);
	}
	store_close(&mb2);

	/* Copy to a folder: new UID there, flags and keywords (by name) kept. */
	t_int(store_folder_create(dir, "Sent"), 0);
	sent = store_open(dir, "Sent", 0);
	t_ok(sent != NULL);
	t_int(store_keyword_index(sent, "Other", true), 0);
	t_int(store_copy(mb, 1, sent, &uid), 0);
	t_int(uid, 1);
	t_int(store_copy(mb, 0, sent, &uid), 0);
	t_int(uid, 2);
	t_int(store_sync(sent, NULL, NULL), 0);
	t_int(store_count(sent), 2);
	m = tmsg(sent, 0);
	t_int(m.keywords, 1u << 1);
	t_str(store_keyword_name(sent, 1), "Work");
	t_int(m.vsize, 26);
	i = store_find_uid(sent, 2);
	t_int(i, 1);
	t_int(tmsg(sent, 1).flags, STORE_F_SEEN);
	t_int(store_msg_idate(sent, 1), 1234567890);
	store_close(&sent);
	store_close(&mb);
}

static void
test_rebuild_import(void)
{
	char			 dir[512], path[2048];
	struct store_mailbox	*mb;
	uint32_t		 uidv, uidv2;

	/* Rebuild from a bare Maildir: same messages, new UIDVALIDITY. */
	snprintf(dir, sizeof(dir), "%s/u1", tmpdir);
	mb = store_open(dir, "INBOX", 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	uidv = store_uidvalidity(mb);
	t_int(store_count(mb), 5);
	store_close(&mb);
	snprintf(path, sizeof(path), "%s/letterbox-uidlist", dir);
	t_int(unlink(path), 0);
	mb = store_open(dir, "INBOX", 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 5);
	uidv2 = store_uidvalidity(mb);
	t_ok(uidv2 != uidv && uidv2 > uidv);
	t_int(tmsg(mb, 4).uid, 5);
	t_int(store_uidnext(mb), 6);
	store_close(&mb);
	/* A corrupt index is rebuilt too; an open handle sees everything go and come back. */
	mb = store_open(dir, "INBOX", 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	xwrite_file(path, "garbage\n");
	{
		struct store_mailbox	*mb2 = store_open(dir, "INBOX", 0);
		struct rec		 r;

		t_int(store_sync(mb2, NULL, NULL), 0);
		t_int(store_count(mb2), 5);
		t_ok(store_uidvalidity(mb2) > uidv2);
		memset(&r, 0, sizeof(r));
		t_int(store_sync(mb, &rec_cb, &r), 0);
		t_int(r.nexp, 5);
		t_int(r.exp_idx[4], 0);
		t_int(store_count(mb), 5);
		t_int(store_uidvalidity(mb), store_uidvalidity(mb2));
		store_close(&mb2);
	}
	store_close(&mb);

	/* Dovecot: UIDs and UIDVALIDITY kept; unknown files get UIDs >= N. */
	snprintf(dir, sizeof(dir), "%s/dovecot", tmpdir);
	mkmaildir(dir);
	put_msg(dir, "cur", "1600000000.M100P200.mail,S=4,W=5:2,RS", "a\nb\n");
	put_msg(dir, "cur", "1600000001.M100P201.mail,S=4,W=5:2,", "a\nb\n");
	put_msg(dir, "new", "1600000002.M100P202.mail,S=4,W=5", "a\nb\n");
	put_msg(dir, "new", "1600000003.M100P203.mail", "a\nb\n");
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", dir);
	xwrite_file(path, "3 V1500000000 N40 Gf3b5a8c4f\n"
	    "12 :1600000000.M100P200.mail,S=4,W=5\n"
	    "17 W5 S4 :1600000001.M100P201.mail,S=4,W=5\n"
	    "30 :1600000002.M100P202.mail,S=4,W=5\n"
	    "35 :1599999999.M1P1.gone\n");
	mb = store_open(dir, "INBOX", 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_uidvalidity(mb), 1500000000);
	t_int(store_count(mb), 4);
	t_int(tmsg(mb, 0).uid, 12);
	t_int(tmsg(mb, 0).flags, STORE_F_ANSWERED | STORE_F_SEEN);
	t_int(tmsg(mb, 0).size, 4);
	t_int(tmsg(mb, 0).vsize, 5);
	t_int(tmsg(mb, 1).uid, 17);
	t_int(tmsg(mb, 2).uid, 30);
	t_int(tmsg(mb, 3).uid, 40);
	t_int(store_uidnext(mb), 41);
	store_close(&mb);

	/* Courier: courierimapuiddb "1 <uidvalidity> <nextuid>", "<uid> <base>". */
	snprintf(dir, sizeof(dir), "%s/courier", tmpdir);
	mkmaildir(dir);
	put_msg(dir, "cur", "1234567890.M123P456V0000000000000803I00000000001234AB_0.host,S=7:2,S",
	    "1234567");
	put_msg(dir, "cur", "1234567891.M1P457V0000000000000803I00000000001234AC_0.host:2,FS",
	    "12345");
	snprintf(path, sizeof(path), "%s/courierimapuiddb", dir);
	xwrite_file(path, "1 1111 9\n"
	    "3 1234567890.M123P456V0000000000000803I00000000001234AB_0.host,S=7\n"
	    "5 1234567891.M1P457V0000000000000803I00000000001234AC_0.host\n");
	mb = store_open(dir, "INBOX", 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_uidvalidity(mb), 1111);
	t_int(store_count(mb), 2);
	t_int(tmsg(mb, 0).uid, 3);
	t_int(tmsg(mb, 1).uid, 5);
	t_int(tmsg(mb, 1).flags, STORE_F_FLAGGED | STORE_F_SEEN);
	t_int(tmsg_sized(mb, 1).size, 5);	/* stat: no ,S= */
	t_int(store_uidnext(mb), 9);
	store_close(&mb);
}

static void
test_foreign_names(void)
{
	char			 dir[512];
	struct store_mailbox	*mb;
	struct store_msg	 m;

	snprintf(dir, sizeof(dir), "%s/foreign", tmpdir);
	mkmaildir(dir);
	/* ,S= is trusted (no stat): the content is deliberately shorter. */
	put_msg(dir, "cur", "1100000000.M1P1V0000000000000803I0000000000000001_0.h,S=999:2,S", "x");
	put_msg(dir, "cur", "1100000001.M2P2.h,S=10,W=12:2,RSTa", "0123456789");
	put_msg(dir, "cur", "1100000002.3333_1.h:2,", "12345678");	/* Postfix/qmail */
	put_msg(dir, "cur", "1100000003.M4P4.h:1,experimental", "1");	/* not ":2," */
	put_msg(dir, "cur", ".hidden", "ignored");
	put_msg(dir, "new", "1100000004.V803I5M6.h", "abc");
	mb = store_open(dir, "INBOX", STORE_O_KEEP_NEW);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 5);
	m = tmsg(mb, 0);
	t_int(m.size, 999);
	t_int(m.flags, STORE_F_SEEN);
	m = tmsg(mb, 1);
	t_int(m.size, 10);
	t_int(m.vsize, 12);
	t_int(m.flags, STORE_F_ANSWERED | STORE_F_SEEN | STORE_F_DELETED);
	t_int(m.keywords, 1);
	m = tmsg_sized(mb, 2);
	t_int(m.size, 8);
	t_int(m.flags, 0);
	m = tmsg(mb, 3);
	t_int(m.flags, 0);
	t_int(m.base_len, strlen("1100000003.M4P4.h"));
	m = tmsg_sized(mb, 4);
	t_ok(m.in_new);
	t_int(m.size, 3);
	/* Setting flags on a ":1," name replaces that info. */
	t_int(store_set_flags(mb, 3, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0), 0);
	t_str(tmsg(mb, 3).name, "1100000003.M4P4.h:2,S");
	t_int(store_set_flags(mb, 4, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0), 0);
	t_ok(!tmsg(mb, 4).in_new);
	t_str(tmsg(mb, 4).name, "1100000004.V803I5M6.h:2,S");
	store_close(&mb);
}

/* ---- two processes ---- */

static void
child_appender(const char *dir, int id, int n, int wfd)
{
	struct store_mailbox	*mb;
	char			 msg[128];
	uint32_t		 uid;
	int			 i;

	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	if (mb == NULL)
		_exit(3);
	for (i = 0; i < n; i++) {
		snprintf(msg, sizeof(msg), "Subject: p%d m%d\r\n\r\nx\r\n", id, i);
		if (store_append(mb, msg, strlen(msg), 0, 0, 0, &uid) == -1)
			_exit(4);
		if (write(wfd, &uid, sizeof(uid)) != sizeof(uid))
			_exit(5);
		if (i % 7 == 0 && store_sync(mb, NULL, NULL) == -1)
			_exit(6);
		if (i % 11 == 0 && store_count(mb) > 0 &&
		    store_set_flags(mb, (size_t)i % store_count(mb), STORE_FLAGS_ADD,
		    STORE_F_SEEN, 0, 0) == -1 && errno != ENOENT)
			_exit(7);
	}
	store_close(&mb);
	_exit(0);
}

/* A delivery agent: files into new/ without any lock, as maildir.c does. */
static void
child_deliverer(const char *dir, int n)
{
	char	name[256];
	int	i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%lld.M%dQdeliv%d.host,S=3", (long long)time(NULL), i, i);
		put_msg(dir, "new", name, "d\r\n");
		if (i % 10 == 0)
			usleep(1000);
	}
	_exit(0);
}

static void
child_syncer(const char *dir, int rounds)
{
	struct store_mailbox	*mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	int			 i;

	if (mb == NULL)
		_exit(3);
	for (i = 0; i < rounds; i++) {
		if (store_sync(mb, NULL, NULL) == -1)
			_exit(4);
		usleep(500);
	}
	store_close(&mb);
	_exit(0);
}

static int
u32cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_concurrent(void)
{
	enum { NAPP = 150, NDELIV = 200 };
	char			 dir[512];
	struct store_mailbox	*mb;
	int			 p[2], status, ok = 1, i, nchild = 4;
	pid_t			 pid[4];
	uint32_t		 got[2 * NAPP], uid;
	size_t			 ngot = 0, k;
	bool			 dup = false, sorted = true;
	time_t			 deadline;

	snprintf(dir, sizeof(dir), "%s/conc", tmpdir);
	mb = store_open(dir, "INBOX", STORE_O_CREATE);
	store_close(&mb);
	if (pipe(p) == -1)
		return;
	for (i = 0; i < nchild; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			close(p[0]);
			if (i < 2)
				child_appender(dir, i, NAPP, p[1]);
			else if (i == 2)
				child_deliverer(dir, NDELIV);
			else
				child_syncer(dir, 200);
		}
	}
	close(p[1]);
	while (read(p[0], &uid, sizeof(uid)) == sizeof(uid) && ngot < 2 * NAPP)
		got[ngot++] = uid;
	close(p[0]);
	for (i = 0; i < nchild; i++) {
		waitpid(pid[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			printf("child %d status %d\n", i, status);
			ok = 0;
		}
	}
	t_ok(ok);
	t_int(ngot, 2 * NAPP);
	qsort(got, ngot, sizeof(got[0]), u32cmp);
	for (k = 1; k < ngot; k++)
		if (got[k] == got[k - 1])
			dup = true;
	t_ok(!dup);

	/*
	 * A delivery in the clock tick of the index's last record of the
	 * directories (the appenders' own renames, st_own_adopt) shows at the
	 * re-check, once that tick is over a second old (st_scan_usable):
	 * sync until every message is there, within a deadline past that.
	 */
	mb = store_open(dir, "INBOX", 0);
	deadline = time(NULL) + 5;
	do {
		if (store_sync(mb, NULL, NULL) != 0)
			break;
	} while (store_count(mb) < 2 * NAPP + NDELIV && time(NULL) < deadline &&
	    usleep(20 * 1000) == 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 2 * NAPP + NDELIV);
	for (k = 1; k < store_count(mb); k++)
		if (tmsg(mb, k).uid <= tmsg(mb, k - 1).uid)
			sorted = false;
	t_ok(sorted);
	/* Every UID an appender was given is the UID of a message now. */
	for (k = 0; k < ngot; k++)
		if (store_find_uid(mb, got[k]) < 0)
			dup = true;
	t_ok(!dup);
	t_int(count_files(dir, "new") + count_files(dir, "cur"), 2 * NAPP + NDELIV);
	t_int(count_files(dir, "tmp"), 0);
	store_close(&mb);
}

static void
test_folders(void)
{
	char			 dir[512], path[2048], **subs;
	struct store_folder	*v;
	size_t			 n, i;
	struct store_mailbox	*mb;

	snprintf(dir, sizeof(dir), "%s/f1", tmpdir);
	mkmaildir(dir);
	t_int(store_folder_create(dir, "Sent"), 0);
	t_ok(store_folder_create(dir, "Sent") == -1 && errno == EEXIST);
	t_ok(store_folder_create(dir, "inbox") == -1 && errno == EEXIST);
	t_int(store_folder_create(dir, "a/b"), 0);
	t_int(store_folder_create(dir, "x.y"), 0);
	t_int(store_folder_create(dir, "Sent/2020"), 0);
	t_ok(store_folder_create(dir, "a//b") == -1 && errno == EINVAL);
	t_ok(store_folder_create(dir, "/a") == -1 && errno == EINVAL);
	t_ok(store_folder_create(dir, "a/../b") == -1 && errno == EINVAL);
	t_ok(store_folder_create(dir, "bad\nname") == -1 && errno == EINVAL);
	snprintf(path, sizeof(path), "%s/.a.b/maildirfolder", dir);
	t_ok(access(path, F_OK) == 0);
	snprintf(path, sizeof(path), "%s/.x%%2Ey/cur", dir);
	t_ok(access(path, F_OK) == 0);
	t_ok(store_folder_exists(dir, "a/b"));
	t_ok(!store_folder_exists(dir, "a"));
	t_ok(store_folder_exists(dir, "INBOX"));
	t_int(store_folder_path(dir, "x.y", path, sizeof(path)), 0);
	t_ok(strstr(path, "/.x%2Ey") != NULL);

	t_int(store_folder_list(dir, &v, &n), 0);
	t_int(n, 6);
	if (n == 6) {
		t_str(v[0].name, "INBOX");
		t_int(v[0].flags, 0);
		t_str(v[1].name, "Sent");
		t_int(v[1].flags, STORE_FOLDER_CHILDREN);
		t_str(v[2].name, "Sent/2020");
		t_str(v[3].name, "a");
		t_int(v[3].flags, STORE_FOLDER_NONEXISTENT | STORE_FOLDER_CHILDREN);
		t_str(v[4].name, "a/b");
		t_int(v[4].flags, 0);
		t_str(v[5].name, "x.y");
	}
	store_folder_list_free(&v, n);

	/* A message in a folder, then rename with children. */
	mb = store_open(dir, "Sent", 0);
	t_ok(mb != NULL);
	t_int(store_append(mb, msg1, strlen(msg1), STORE_F_SEEN, 0, 0, NULL), 0);
	store_close(&mb);
	t_int(store_subscribe(dir, "Sent", true), 0);
	t_int(store_subscribe(dir, "Sent/2020", true), 0);
	t_int(store_subscribe(dir, "a/b", true), 0);
	t_int(store_subscribe(dir, "a/b", true), 0);
	t_int(store_folder_rename(dir, "Sent", "Old/Sent"), 0);
	t_ok(!store_folder_exists(dir, "Sent"));
	t_ok(store_folder_exists(dir, "Old/Sent"));
	t_ok(store_folder_exists(dir, "Old/Sent/2020"));
	mb = store_open(dir, "Old/Sent", 0);
	t_ok(mb != NULL && store_sync(mb, NULL, NULL) == 0 && store_count(mb) == 1);
	store_close(&mb);
	t_ok(store_folder_rename(dir, "Nope", "Nope2") == -1 && errno == ENOENT);
	t_ok(store_folder_rename(dir, "a/b", "x.y") == -1 && errno == EEXIST);
	t_ok(store_folder_rename(dir, "INBOX", "x") == -1 && errno == EINVAL);
	t_ok(store_folder_rename(dir, "Old", "Old/Sub") == -1 && errno == EINVAL);
	t_int(store_subscriptions(dir, &subs, &n), 0);
	t_int(n, 3);
	if (n == 3) {
		t_str(subs[0], "Old/Sent");
		t_str(subs[1], "Old/Sent/2020");
		t_str(subs[2], "a/b");
	}
	store_subscriptions_free(&subs, n);
	snprintf(path, sizeof(path), "%s/subscriptions", dir);
	t_str(read_all(path), "V\t2\n\nOld\tSent\nOld\tSent\t2020\na\tb\n");
	t_int(store_subscribe(dir, "a/b", false), 0);
	t_int(store_subscriptions(dir, &subs, &n), 0);
	t_int(n, 2);
	store_subscriptions_free(&subs, n);

	/* Delete: not with children, not INBOX; a leaf goes with its messages. */
	t_ok(store_folder_delete(dir, "Old/Sent") == -1 && errno == ENOTEMPTY);
	t_ok(store_folder_delete(dir, "INBOX") == -1 && errno == EINVAL);
	t_ok(store_folder_delete(dir, "zzz") == -1 && errno == ENOENT);
	t_int(store_folder_delete(dir, "Old/Sent/2020"), 0);
	t_int(store_folder_delete(dir, "Old/Sent"), 0);
	t_ok(!store_folder_exists(dir, "Old/Sent"));
	t_int(store_folder_list(dir, &v, &n), 0);
	t_int(n, 4);		/* INBOX a a/b x.y */
	for (i = 0; i < n; i++)
		t_ok(strncmp(v[i].name, "Old", 3) != 0);
	store_folder_list_free(&v, n);
	{
		DIR		*d = opendir(dir);
		struct dirent	*de;
		int		 trash = 0;

		while (d != NULL && (de = readdir(d)) != NULL)
			if (strncmp(de->d_name, "..", 2) == 0 && de->d_name[2] != '\0')
				trash++;
		if (d != NULL)
			closedir(d);
		t_int(trash, 0);	/* the renamed-away folder is removed */
	}

	/* Courier's subscriptions file and folder names. */
	xwrite_file(path, "INBOX.Sent\nINBOX.a.b\nINBOX\n");
	t_int(store_subscriptions(dir, &subs, &n), 0);
	t_int(n, 3);
	if (n == 3) {
		t_str(subs[0], "INBOX");
		t_str(subs[1], "Sent");
		t_str(subs[2], "a/b");
	}
	store_subscriptions_free(&subs, n);
	/* INBOX children. */
	t_int(store_folder_create(dir, "inbox/sub"), 0);
	t_ok(store_folder_exists(dir, "INBOX/sub"));
	t_int(store_folder_list(dir, &v, &n), 0);
	t_ok(n > 0 && v[0].flags == STORE_FOLDER_CHILDREN);
	store_folder_list_free(&v, n);

	/* Several at once (a new user's special-use folders): one that exists
	 * counts as there, a bad name does not; one write subscribes all. */
	{
		static const char *const many[] = { "M1", "a/b", "M2", "bad//name" };
		static const char *const some[] = { "M1", "a/b", "M2", "Sent" };
		bool	ok[4];

		t_int(store_folders_create(dir, many, 4, ok), 0);
		t_ok(ok[0] && ok[1] && ok[2] && !ok[3]);
		t_ok(store_folder_exists(dir, "M1") && store_folder_exists(dir, "M2"));
		snprintf(path, sizeof(path), "%s/.M2/maildirfolder", dir);
		t_ok(access(path, F_OK) == 0);
		t_ok(store_folders_create(dir, many + 3, 1, ok) == -1 && !ok[0]);
		t_ok(store_subscribe_list(dir, many, 4, true) == -1 && errno == EINVAL);
		t_int(store_subscribe_list(dir, some, 4, true), 0);
		t_int(store_subscriptions(dir, &subs, &n), 0);
		t_int(n, 5);		/* INBOX M1 M2 Sent a/b: Sent and a/b once */
		if (n == 5) {
			t_str(subs[1], "M1");
			t_str(subs[2], "M2");
			t_str(subs[3], "Sent");
		}
		store_subscriptions_free(&subs, n);
		t_int(store_subscribe_list(dir, some, 2, false), 0);
		t_int(store_subscriptions(dir, &subs, &n), 0);
		t_int(n, 3);		/* INBOX M2 Sent */
		store_subscriptions_free(&subs, n);
	}
}

static void
test_big(void)
{
	enum { N = 10000 };
	char			 dir[512], name[256], path[2048];
	char			 body[2048];
	struct store_mailbox	*mb;
	double			 t0, t1, t2, t3, t4;
	size_t			 i, len;
	uint64_t		 total = 0;
	int			 fd;

	snprintf(dir, sizeof(dir), "%s/big", tmpdir);
	mkmaildir(dir);
	memset(body, 'x', sizeof(body));
	for (i = 0; i < N; i++) {
		len = 500 + (i * 37) % 1500;
		snprintf(name, sizeof(name), "%lld.M%zuQ8ZKQ%zuR0.mail.example.test,S=%zu",
		    1700000000LL + (long long)i / 10, i % 10 * 1000, i, len);
		snprintf(path, sizeof(path), "%s/new/%s", dir, name);
		fd = open(path, O_WRONLY | O_CREAT, 0600);
		if (fd == -1 || write(fd, body, len) != (ssize_t)len)
			return;
		close(fd);
	}
	t0 = now_s();
	mb = store_open(dir, "INBOX", STORE_O_KEEP_NEW);
	t_int(store_sync(mb, NULL, NULL), 0);
	t1 = now_s();
	t_int(store_count(mb), N);
	for (i = 0; i < store_count(mb); i++)
		total += tmsg(mb, i).vsize;
	store_close(&mb);
	t2 = now_s();
	mb = store_open(dir, "INBOX", STORE_O_KEEP_NEW);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t3 = now_s();
	t_int(store_count(mb), N);
	store_close(&mb);
	/* IMAP-style open: moves everything new/ -> cur/. */
	mb = store_open(dir, "INBOX", 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t4 = now_s();
	t_int(count_files(dir, "cur"), N);
	store_close(&mb);
	printf("store bench: %d msgs (%llu bytes): rebuild %.3f s, reopen+sync %.3f s, "
	    "move new->cur %.3f s\n", N, (unsigned long long)total, t1 - t0, t3 - t2, t4 - t3);
}

/*
 * Many files renamed by another program between two scans (a flag change
 * of a whole folder by another client): each message keeps its UID and
 * takes the name of its own file.  The scan once kept the new name's
 * index in a byte of the record, so from the 254th on they got another
 * message's name.  The files have no ",S=": sizes come from a stat.
 */
static void
test_many_renamed(void)
{
	enum { N = 600 };
	char			 dir[512], name[256], from[2048], to[2048], body[64];
	struct store_mailbox	*mb, *mb2;
	struct store_msg	 m;
	size_t			 i;

	snprintf(dir, sizeof(dir), "%s/renamed", tmpdir);
	mkmaildir(dir);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "%lld.M%zuP1.host", 1700000000LL + (long long)i, i);
		snprintf(body, sizeof(body), "Subject: %zu\r\n\r\n%*s\r\n", i, (int)(i % 40), "");
		put_msg(dir, "new", name, body);
	}
	mb = store_open(dir, "INBOX", 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), N);
	t_int(count_files(dir, "cur"), N);
	for (i = 0; i < N; i++) {
		m = tmsg_sized(mb, i);
		snprintf(body, sizeof(body), "Subject: %zu\r\n\r\n%*s\r\n", i, (int)(i % 40), "");
		t_int(m.size, strlen(body));
		snprintf(name, sizeof(name), "%lld.M%zuP1.host", 1700000000LL + (long long)i, i);
		t_ok(m.base_len == strlen(name) && strncmp(m.name, name, m.base_len) == 0);
		snprintf(from, sizeof(from), "%s/cur/%s", dir, m.name);
		snprintf(to, sizeof(to), "%s/cur/%.*s:2,%s", dir, (int)m.base_len, m.name,
		    i % 2 ? "S" : "F");
		t_int(rename(from, to), 0);
	}
	mb2 = store_open(dir, "INBOX", 0);
	t_int(store_sync(mb2, NULL, NULL), 0);
	t_int(store_count(mb2), N);
	for (i = 0; i < N; i++) {
		m = tmsg(mb2, i);
		t_int(m.uid, tmsg(mb, i).uid);
		t_int(m.flags, i % 2 ? STORE_F_SEEN : STORE_F_FLAGGED);
		snprintf(name, sizeof(name), "%lld.M%zuP1.host:2,%s", 1700000000LL + (long long)i, i,
		    i % 2 ? "S" : "F");
		t_str(m.name, name);
	}
	store_close(&mb2);
	store_close(&mb);
}

/*
 * \Recent: a STORE_O_PEEK_RECENT handle (EXAMINE) sees unclaimed messages
 * as \Recent and leaves them to the next claiming handle; a folder deleted
 * and made again at once gets a higher UIDVALIDITY (RFC 3501 2.3.1.1).
 */
static void
test_recent_peek_uidvalidity(void)
{
	char			 dir[512];
	struct store_mailbox	*mb, *peek;
	uint32_t		 uidv;

	snprintf(dir, sizeof(dir), "%s/rp", tmpdir);
	mkmaildir(dir);
	t_int(store_folder_create(dir, "Box"), 0);
	mb = store_open(dir, "Box", STORE_O_NO_RECENT);
	t_ok(mb != NULL);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_append(mb, msg1, strlen(msg1), 0, 0, 0, NULL), 0);
	uidv = store_uidvalidity(mb);
	store_close(&mb);

	peek = store_open(dir, "Box", STORE_O_PEEK_RECENT);
	t_int(store_sync(peek, NULL, NULL), 0);
	t_int(store_count(peek), 1);
	t_ok(store_count(peek) == 1 && tmsg(peek, 0).recent);
	mb = store_open(dir, "Box", STORE_O_NO_RECENT);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_append(mb, msg2, strlen(msg2), 0, 0, 0, NULL), 0);
	store_close(&mb);
	t_int(store_sync(peek, NULL, NULL), 0);		/* new since: \Recent too */
	t_ok(store_count(peek) == 2 && tmsg(peek, 1).recent);
	store_close(&peek);

	mb = store_open(dir, "Box", 0);			/* SELECT: claims both */
	t_int(store_sync(mb, NULL, NULL), 0);
	t_ok(store_count(mb) == 2 && tmsg(mb, 0).recent && tmsg(mb, 1).recent);
	store_close(&mb);
	mb = store_open(dir, "Box", STORE_O_PEEK_RECENT);	/* claimed: none left */
	t_int(store_sync(mb, NULL, NULL), 0);
	t_ok(store_count(mb) == 2 && !tmsg(mb, 0).recent && !tmsg(mb, 1).recent);
	store_close(&mb);

	/* tmp/: a file being appended with an old internal date is not a
	 * dead writer's (its ctime is now), whatever its mtime says */
	{
		char		 tmpf[1024];
		struct timeval	 old[2] = { { 1200000000, 0 }, { 1200000000, 0 } };

		snprintf(tmpf, sizeof(tmpf), "%s/.Box/tmp/1.M1P1.host", dir);
		put_msg(dir, ".Box/tmp", "1.M1P1.host", msg1);
		t_int(utimes(tmpf, old), 0);
		mb = store_open(dir, "Box", 0);
		t_int(store_sync(mb, NULL, NULL), 0);
		t_ok(access(tmpf, F_OK) == 0);
		store_close(&mb);
	}

	/* store_append_raw: bytes kept, CR LF and all; the CRLF size counts
	 * only the LFs without a CR (split across writes too) */
	{
		static const char bin[] = "A: b\r\n\r\n\0-\xe4\n\r\n\n\r";
		struct store_append	*sa;
		char			 path[2048], got[64];
		uint32_t		 uid = 0;
		int			 fd;
		ssize_t			 r = -1;

		mb = store_open(dir, "Box", 0);
		t_int(store_sync(mb, NULL, NULL), 0);
		sa = store_append_begin(mb);
		t_ok(sa != NULL);
		store_append_raw(sa);
		t_int(store_append_write(sa, bin, 13), 0);	/* ends after the CR of "\r\n" */
		t_int(store_append_write(sa, bin + 13, sizeof(bin) - 1 - 13), 0);
		t_int(store_append_commit(&sa, 0, 0, 0, &uid), 0);
		t_int(store_sync(mb, NULL, NULL), 0);
		t_int(tmsg(mb, store_count(mb) - 1).size, sizeof(bin) - 1);
		t_int(tmsg(mb, store_count(mb) - 1).vsize, sizeof(bin) - 1 + 2);
		t_int(store_msg_path(mb, store_count(mb) - 1, path, sizeof(path)), 0);
		if ((fd = open(path, O_RDONLY)) >= 0) {
			r = read(fd, got, sizeof(got));
			close(fd);
		}
		t_ok(r == (ssize_t)sizeof(bin) - 1 && memcmp(got, bin, sizeof(bin) - 1) == 0);
		store_close(&mb);
	}

	t_int(store_folder_delete(dir, "Box"), 0);
	t_int(store_folder_create(dir, "Box"), 0);
	mb = store_open(dir, "Box", 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_ok(store_uidvalidity(mb) > uidv);
	store_close(&mb);
}

/* Open descriptors of this process (the directory's own one included). */
static int
count_fds(void)
{
	DIR		*d = opendir("/proc/self/fd");
	int		 n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* The first len bytes of message idx, through store_msg_open(). */
static bool
msg_reads(struct store_mailbox *mb, size_t idx, const char *want)
{
	char	 b[256];
	int	 fd = store_msg_open(mb, idx);
	ssize_t	 n;

	if (fd == -1)
		return false;
	n = read(fd, b, sizeof(b));
	close(fd);
	return n == (ssize_t)strlen(want) && memcmp(b, want, (size_t)n) == 0;
}

/* store_msg_dirs_hold(): messages in new/ and cur/ open relative to the
 * held directories, renamed files are found again, release closes them. */
static void
test_msg_dirs_hold(void)
{
	char			 dir[512], from[2048], to[2048];
	struct store_mailbox	*mb;
	struct store_msg	 m;
	int			 base;

	snprintf(dir, sizeof(dir), "%s/dirs", tmpdir);
	mkmaildir(dir);
	put_msg(dir, "new", "1700000300.M1Qd1.host,S=47", msg1);
	put_msg(dir, "cur", "1700000301.M1Qd2.host,S=47:2,", msg2);
	mb = store_open(dir, "INBOX", STORE_O_KEEP_NEW);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 2);
	t_ok(tmsg(mb, 0).in_new && !tmsg(mb, 1).in_new);
	base = count_fds();
	store_msg_dirs_hold(mb);
	t_int(count_fds(), base);		/* nothing opened before it is needed */
	t_ok(msg_reads(mb, 0, msg1));
	t_int(count_fds(), base + 1);		/* new/ */
	t_ok(msg_reads(mb, 1, msg2));
	t_ok(msg_reads(mb, 0, msg1));
	t_int(count_fds(), base + 2);		/* and cur/, each once */
	/* renamed by another program while held: found by its base name */
	m = tmsg(mb, 1);
	snprintf(from, sizeof(from), "%s/cur/%s", dir, m.name);
	snprintf(to, sizeof(to), "%s/cur/%.*s:2,S", dir, (int)m.base_len, m.name);
	t_int(rename(from, to), 0);
	t_ok(msg_reads(mb, 1, msg2));
	store_msg_dirs_release(mb);
	t_int(count_fds(), base);
	t_ok(msg_reads(mb, 1, msg2));		/* by path again */
	t_int(count_fds(), base);
	/* store_close() closes what is still held */
	store_msg_dirs_hold(mb);
	t_ok(msg_reads(mb, 0, msg1));
	store_close(&mb);
	t_int(count_fds(), base);
}

int
main(void)
{
	t_begin("store");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lb-store-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_uids();
	test_msg_copy_owned();
	test_flags();
	test_keep_new_and_expunge();
	test_append_copy_cache();
	test_rebuild_import();
	test_foreign_names();
	test_concurrent();
	test_folders();
	test_recent_peek_uidvalidity();
	test_many_renamed();
	test_big();
	test_msg_dirs_hold();
	rm_tree(tmpdir);
	return t_end();
}
