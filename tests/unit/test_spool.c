/*
 * Unit tests for the durable spool (src/spool/spool.c): round trip of every
 * envelope field, status records across reopen, alias expansion, hostile and
 * torn files (every prefix of a valid file), IDs, listing, group commit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "spool/spool.h"
#include "t.h"

static char	root[256];

static char *
mkqdir(const char *name)
{
	char *p = xasprintf("%s/%s", root, name);

	if (spool_recover(p, 0) == -1) {
		printf("spool_recover %s: %s\n", p, strerror(errno));
		exit(1);
	}
	return p;
}

static int
count_files(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
count_sub(const char *qdir, const char *sub)
{
	char	*p = xasprintf("%s/%s", qdir, sub);
	int	 n = count_files(p);

	free(p);
	return n;
}

static char *
read_range(int fd, off_t off, off_t len)
{
	char	*b = xmalloc((size_t)len + 1);
	ssize_t	 n = pread(fd, b, (size_t)len, off);

	if (n != len) {
		free(b);
		return NULL;
	}
	b[len] = '\0';
	return b;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || write(fd, data, len) != (ssize_t)len) {
		printf("write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
}

static char *
slurp(const char *path, size_t *len_r)
{
	struct stat	 st;
	char		*b;
	int		 fd = open(path, O_RDONLY);

	if (fd == -1 || fstat(fd, &st) == -1)
		return NULL;
	b = xmalloc((size_t)st.st_size + 1);
	if (read(fd, b, (size_t)st.st_size) != st.st_size) {
		close(fd);
		free(b);
		return NULL;
	}
	close(fd);
	b[st.st_size] = '\0';
	*len_r = (size_t)st.st_size;
	return b;
}

/* Commit a message with the given body; returns 0 and the qid. */
static int
commit_simple(const char *qdir, const char *body, char qid[SPOOL_QID_SIZE])
{
	struct spool_writer	*w;
	struct spool_rcpt	 rc[1] = { { .addr = "bob@example.org" } };
	struct spool_envelope	 env = { .sender = "alice@example.com", .rcpts = rc, .nrcpt = 1 };

	if ((w = spool_create(qdir)) == NULL)
		return -1;
	if (spool_write_envelope(w, &env) == -1 || spool_write(w, body, strlen(body)) == -1) {
		spool_abort(&w);
		return -1;
	}
	return spool_commit(&w, NULL, qid);
}

static void
test_ids(void)
{
	enum { N = 10000 };
	char	(*ids)[SPOOL_QID_SIZE] = xcalloc(N, SPOOL_QID_SIZE);
	int	 i, sorted = 1, valid = 1;

	for (i = 0; i < N; i++) {
		spool_qid_new(ids[i]);
		valid &= spool_qid_valid(ids[i], strlen(ids[i]));
		if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)
			sorted = 0;	/* strictly increasing => unique too */
	}
	t_ok(valid);
	t_ok(sorted);
	t_int(strlen(ids[0]), SPOOL_QID_LEN);
	free(ids);

	t_ok(!spool_qid_valid("0123456789ABC", 13));
	t_ok(!spool_qid_valid("0123456789ABCI", 14));	/* I is not in the alphabet */
	t_ok(!spool_qid_valid("0123456789abcd", 14));
	t_ok(!spool_qid_valid("0123456789AB/D", 14));
	t_ok(spool_qid_valid("0123456789ABCD", 14));
}

static const char body_text[] =
    "Received: from client.example (client.example [192.0.2.7])\r\n"
    "\tby mx.example.org with ESMTPS id X; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    "From: alice@example.com\r\nSubject: test\r\n\r\nline 1\r\n.dot line\r\n\r\n";

static void
test_roundtrip(void)
{
	char			*qdir = mkqdir("rt");
	struct spool_writer	*w;
	struct spool_msg	*m = NULL;
	char			 qid[SPOOL_QID_SIZE], *got, longaddr[SPOOL_ADDR_MAX + 2];
	/* Values that need escaping: space, %, CR/LF, TAB, 8-bit, "=". */
	struct spool_rcpt	 rc[3] = {
		{ .addr = "bob@example.org", .notify = SPOOL_NOTIFY_SUCCESS | SPOOL_NOTIFY_FAILURE,
		  .orcpt = "rfc822;bob+2Bx@example.org" },
		{ .addr = "\"odd local\"@example.org", .orig = "alias%x@example.org",
		  .notify = SPOOL_NOTIFY_NEVER },
		{ .addr = "j\xc3\xbcrgen@b\xc3\xbc" "cher.example", .orcpt = "utf-8;a=b\r\nc" },
	};
	struct spool_envelope	 env = {
		.arrival_us = 1700000000123456LL, .sender = "alice@example.com",
		.envid = "QQ314159+20x", .ret = SPOOL_RET_HDRS, .body = SPOOL_BODY_8BITMIME,
		.smtputf8 = true, .auth_user = "alice@example.com", .helo = "client.example\t x",
		.client_addr = "2001:db8::1", .client_name = "client.example",
		.origin = "submission", .rcpts = rc, .nrcpt = 3,
	};
	int			 fd;
	off_t			 off, len;

	w = spool_create(qdir);
	t_ok(w != NULL);
	if (w == NULL)
		return;
	t_ok(spool_qid_valid(spool_writer_qid(w), SPOOL_QID_LEN));
	t_int(spool_write(w, "x", 1), -1);	/* envelope first */
	t_int(spool_write_envelope(w, &env), 0);
	t_int(spool_write_envelope(w, &env), -1);	/* only once */
	/* Odd chunk sizes through the buffer. */
	t_int(spool_write(w, body_text, 7), 0);
	t_int(spool_write(w, body_text + 7, sizeof(body_text) - 1 - 7), 0);
	t_int(spool_writer_size(w), sizeof(body_text) - 1);
	t_int(spool_writer_range(w, &fd, &off, &len), 0);
	t_int(len, sizeof(body_text) - 1);
	got = read_range(fd, off, len);
	t_str(got, body_text);
	free(got);
	t_int(spool_commit(&w, NULL, qid), 0);
	t_ok(w == NULL);
	t_int(count_sub(qdir, "tmp"), 0);
	t_int(count_sub(qdir, "queue"), 1);

	t_int(spool_open(qdir, qid, &m), 0);
	if (m == NULL)
		return;
	t_str(m->qid, qid);
	t_int(m->env.arrival_us, 1700000000123456LL);
	t_str(m->env.sender, "alice@example.com");
	t_str(m->env.envid, "QQ314159+20x");
	t_int(m->env.ret, SPOOL_RET_HDRS);
	t_int(m->env.body, SPOOL_BODY_8BITMIME);
	t_ok(m->env.smtputf8);
	t_str(m->env.auth_user, "alice@example.com");
	t_str(m->env.helo, "client.example\t x");
	t_str(m->env.client_addr, "2001:db8::1");
	t_str(m->env.client_name, "client.example");
	t_str(m->env.origin, "submission");
	t_int(m->env.nrcpt, 3);
	if (m->env.nrcpt == 3) {
		t_str(m->env.rcpts[0].addr, "bob@example.org");
		t_str(m->env.rcpts[0].orig, NULL);
		t_str(m->env.rcpts[0].orcpt, "rfc822;bob+2Bx@example.org");
		t_int(m->env.rcpts[0].notify, SPOOL_NOTIFY_SUCCESS | SPOOL_NOTIFY_FAILURE);
		t_str(m->env.rcpts[1].addr, "\"odd local\"@example.org");
		t_str(m->env.rcpts[1].orig, "alias%x@example.org");
		t_str(m->env.rcpts[1].orcpt, NULL);
		t_int(m->env.rcpts[1].notify, SPOOL_NOTIFY_NEVER);
		t_str(m->env.rcpts[2].addr, "j\xc3\xbcrgen@b\xc3\xbc" "cher.example");
		t_str(m->env.rcpts[2].orcpt, "utf-8;a=b\r\nc");
		t_int(m->env.rcpts[2].state, SPOOL_R_PENDING);
		t_int(m->env.rcpts[2].parent, -1);
	}
	t_int(m->msg_len, sizeof(body_text) - 1);
	got = read_range(m->fd, m->msg_offset, m->msg_len);
	t_str(got, body_text);
	free(got);
	t_ok(!spool_msg_done(m));
	spool_msg_free(&m);
	t_ok(m == NULL);

	/* Null sender, minimal envelope, defaults. */
	{
		struct spool_rcpt	r1[1] = { { .addr = "x@y" } };
		struct spool_envelope	e1 = { .sender = "", .rcpts = r1, .nrcpt = 1 };

		w = spool_create(qdir);
		t_int(spool_write_envelope(w, &e1), 0);
		t_int(spool_commit(&w, NULL, qid), 0);
		t_int(spool_open(qdir, qid, &m), 0);
		if (m != NULL) {
			t_str(m->env.sender, "");
			t_str(m->env.envid, NULL);
			t_int(m->env.ret, SPOOL_RET_NONE);
			t_int(m->env.body, SPOOL_BODY_7BIT);
			t_ok(!m->env.smtputf8);
			t_int(m->msg_len, 0);
			t_ok(m->env.arrival_us > 1600000000000000LL);
		}
		spool_msg_free(&m);
	}

	/* Envelope validation. */
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	{
		struct spool_rcpt	r1[1] = { { .addr = longaddr } };
		struct spool_rcpt	r2[1] = { { .addr = "" } };
		struct spool_rcpt	r3[1] = { { .addr = "a@b", .notify = 0x10 } };
		struct spool_envelope	bad[] = {
			{ .sender = "a@b", .rcpts = r1, .nrcpt = 1 },	/* too long */
			{ .sender = "a@b", .rcpts = r2, .nrcpt = 1 },	/* empty rcpt */
			{ .sender = "a@b", .rcpts = r3, .nrcpt = 1 },	/* bad notify */
			{ .sender = "a@b", .rcpts = r3, .nrcpt = 0 },	/* no rcpt */
			{ .sender = NULL, .rcpts = r3, .nrcpt = 1 },
			{ .sender = longaddr, .rcpts = r3, .nrcpt = 1 },
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			w = spool_create(qdir);
			errno = 0;
			t_int(spool_write_envelope(w, &bad[i]), -1);
			t_int(errno, EINVAL);
			spool_abort(&w);
		}
		longaddr[SPOOL_ADDR_MAX] = '\0';	/* exactly the limit is fine */
		r1[0].addr = longaddr;
		w = spool_create(qdir);
		t_int(spool_write_envelope(w, &bad[0]), 0);
		t_int(spool_commit(&w, NULL, qid), 0);
		t_int(spool_open(qdir, qid, &m), 0);
		if (m != NULL)
			t_int(strlen(m->env.rcpts[0].addr), SPOOL_ADDR_MAX);
		spool_msg_free(&m);
	}

	/* Abort leaves nothing. */
	w = spool_create(qdir);
	t_int(spool_write_envelope(w, &env), 0);
	t_int(spool_write(w, "abc", 3), 0);
	t_int(count_sub(qdir, "tmp"), 1);
	spool_abort(&w);
	t_ok(w == NULL);
	spool_abort(&w);	/* NULL is fine */
	t_int(count_sub(qdir, "tmp"), 0);
	t_int(count_sub(qdir, "queue"), 3);

	/* Commit without envelope fails and cleans up. */
	w = spool_create(qdir);
	t_int(spool_commit(&w, NULL, qid), -1);
	t_ok(w == NULL);
	t_int(count_sub(qdir, "tmp"), 0);
	free(qdir);
}

static void
test_large(void)
{
	char			*qdir = mkqdir("large");
	struct spool_writer	*w;
	struct spool_msg	*m = NULL;
	struct spool_rcpt	 rc[1] = { { .addr = "b@example.org" } };
	struct spool_envelope	 env = { .sender = "a@example.com", .rcpts = rc, .nrcpt = 1 };
	size_t			 size = 300 * 1024 + 17, i, off = 0, chunk;
	char			*data = xmalloc(size), *got, qid[SPOOL_QID_SIZE];

	for (i = 0; i < size; i++)
		data[i] = (char)("abcdefghij\r\n"[i % 12] + (i / 4096) % 3);
	w = spool_create(qdir);
	t_int(spool_write_envelope(w, &env), 0);
	/* Mixed chunks: small, exactly the buffer, bigger than the buffer. */
	for (i = 0; off < size; i++) {
		chunk = (size_t[]){ 1, 100, 65536, 70000, 3 }[i % 5];
		if (chunk > size - off)
			chunk = size - off;
		if (spool_write(w, data + off, chunk) == -1)
			break;
		off += chunk;
	}
	t_int(off, size);
	t_int(spool_commit(&w, NULL, qid), 0);
	t_int(spool_open(qdir, qid, &m), 0);
	if (m != NULL) {
		t_int(m->msg_len, size);
		got = read_range(m->fd, m->msg_offset, m->msg_len);
		t_ok(got != NULL && memcmp(got, data, size) == 0);
		free(got);
	}
	spool_msg_free(&m);
	free(data);
	free(qdir);
}

static void
test_status(void)
{
	char			*qdir = mkqdir("status");
	struct spool_writer	*w;
	struct spool_msg	*m = NULL;
	struct spool_rcpt	 rc[3] = {
		{ .addr = "a@example.org" },
		{ .addr = "list@example.org", .notify = SPOOL_NOTIFY_DELAY, .orcpt = "rfc822;list@example.org" },
		{ .addr = "c@remote.test" },
	};
	struct spool_envelope	 env = { .sender = "s@example.com", .rcpts = rc, .nrcpt = 3 };
	char			 qid[SPOOL_QID_SIZE], *st;
	size_t			 idx = 99, idx2 = 99, len;

	w = spool_create(qdir);
	t_int(spool_write_envelope(w, &env), 0);
	t_int(spool_write(w, "hi\r\n", 4), 0);
	t_int(spool_commit(&w, NULL, qid), 0);

	t_int(spool_open(qdir, qid, &m), 0);
	if (m == NULL)
		return;
	t_int(spool_status_sync(m), 0);	/* nothing yet */
	t_int(spool_rcpt_set(m, 0, SPOOL_R_DELIVERED, 0, NULL), 0);
	t_int(spool_rcpt_set(m, 2, SPOOL_R_DEFERRED, 1700000300, "4.4.1 connect to mx.remote.test: timed out"), 0);
	t_int(spool_rcpt_set(m, 3, SPOOL_R_DELIVERED, 0, NULL), -1);	/* no such idx */
	/* Alias expansion: list -> x, y (and x again: same index). */
	t_int(spool_rcpt_add(m, 1, "x@example.org", &idx), 0);
	t_int(idx, 3);
	t_int(spool_rcpt_add(m, 1, "y@example.org", &idx2), 0);
	t_int(idx2, 4);
	t_int(spool_rcpt_add(m, 1, "x@example.org", &idx), 0);
	t_int(idx, 3);
	t_int(spool_rcpt_add(m, 1, "", &idx), -1);
	t_int(spool_rcpt_set(m, 1, SPOOL_R_EXPANDED, 0, NULL), 0);
	t_int(spool_rcpt_set(m, 3, SPOOL_R_FAILED, 0, "5.1.1 no such user"), 0);
	t_int(spool_rcpt_dsn_sent(m, 3), 0);
	t_int(spool_status_sync(m), 0);
	t_ok(!spool_msg_done(m));
	spool_msg_free(&m);

	/* Everything survives reopen. */
	t_int(spool_open(qdir, qid, &m), 0);
	if (m == NULL)
		return;
	t_int(m->env.nrcpt, 5);
	t_int(m->env.rcpts[0].state, SPOOL_R_DELIVERED);
	t_int(m->env.rcpts[0].attempts, 1);
	t_int(m->env.rcpts[1].state, SPOOL_R_EXPANDED);
	t_int(m->env.rcpts[2].state, SPOOL_R_DEFERRED);
	t_int(m->env.rcpts[2].next_retry, 1700000300);
	t_str(m->env.rcpts[2].reason, "4.4.1 connect to mx.remote.test: timed out");
	t_int(m->env.rcpts[2].attempts, 1);
	t_ok(m->env.rcpts[2].updated > 0);
	t_str(m->env.rcpts[3].addr, "x@example.org");
	t_int(m->env.rcpts[3].parent, 1);
	t_str(m->env.rcpts[3].orig, "list@example.org");
	t_str(m->env.rcpts[3].orcpt, "rfc822;list@example.org");
	t_int(m->env.rcpts[3].notify, SPOOL_NOTIFY_DELAY);
	t_int(m->env.rcpts[3].state, SPOOL_R_FAILED);
	t_str(m->env.rcpts[3].reason, "5.1.1 no such user");
	t_ok(m->env.rcpts[3].dsn_sent);
	t_int(m->env.rcpts[4].state, SPOOL_R_PENDING);
	t_ok(!m->env.rcpts[4].dsn_sent);
	/* Second deferral counts the attempt. */
	t_int(spool_rcpt_set(m, 2, SPOOL_R_DEFERRED, 1700000900, "4.4.1 again"), 0);
	t_int(spool_rcpt_set(m, 4, SPOOL_R_DELIVERED, 0, NULL), 0);
	t_int(spool_rcpt_set(m, 2, SPOOL_R_RELAYED, 0, "250 ok"), 0);
	t_ok(spool_msg_done(m));
	t_int(spool_status_sync(m), 0);
	spool_msg_free(&m);
	t_int(spool_open(qdir, qid, &m), 0);
	if (m != NULL) {
		t_int(m->env.rcpts[2].state, SPOOL_R_RELAYED);
		t_int(m->env.rcpts[2].attempts, 3);
		t_ok(spool_msg_done(m));
	}
	spool_msg_free(&m);

	/* Hostile status lines are ignored; a torn last record too. */
	{
		char	*stp = xasprintf("%s/queue/%s.st", qdir, qid);
		int	 fd = open(stp, O_WRONLY | O_APPEND);
		static const char junk[] =
		    "S 9999 delivered 1 1 1\n"		/* no such rcpt */
		    "S 0 bogus 1 1 1\n"
		    "S 0 pending x 1 1\n"
		    "A 77 0 z@example.org\n"		/* index gap: refused */
		    "A 5 0 %00@x\n"			/* NUL */
		    "garbage\n"
		    "\n"
		    "S 0 pending 1 1 1 a b c d e f\n"	/* too many fields */
		    "N 99999999999999999999\n"
		    "S 4 pending 1 1 1";			/* torn: no LF */

		t_ok(fd != -1);
		t_int(write(fd, junk, sizeof(junk) - 1), sizeof(junk) - 1);
		close(fd);
		t_int(spool_open(qdir, qid, &m), 0);
		if (m != NULL) {
			t_int(m->env.nrcpt, 5);
			t_int(m->env.rcpts[0].state, SPOOL_R_DELIVERED);
			t_int(m->env.rcpts[4].state, SPOOL_R_DELIVERED);
			t_ok(spool_msg_done(m));
		}
		spool_msg_free(&m);
		st = slurp(stp, &len);
		t_ok(st != NULL);
		free(st);
		free(stp);
	}

	/* A lost "A" record: the EXPANDED parent is re-expanded. */
	{
		char	*stp = xasprintf("%s/queue/%s.st", qdir, qid);
		static const char lost[] =
		    "A 3 1 x@example.org\n"
		    "S 1 expanded 1 0 2\n";		/* said 2 children, only 1 */

		write_file(stp, lost, sizeof(lost) - 1);
		t_int(spool_open(qdir, qid, &m), 0);
		if (m != NULL) {
			t_int(m->env.nrcpt, 4);
			t_int(m->env.rcpts[1].state, SPOOL_R_PENDING);
			t_int(spool_rcpt_add(m, 1, "x@example.org", &idx), 0);
			t_int(idx, 3);
			t_int(spool_rcpt_add(m, 1, "y@example.org", &idx), 0);
			t_int(idx, 4);
		}
		spool_msg_free(&m);
		free(stp);
	}

	/* Remove takes the status file too. */
	t_int(spool_remove(qdir, qid), 0);
	t_int(count_sub(qdir, "queue"), 0);
	t_int(spool_remove(qdir, qid), 0);	/* already gone */
	errno = 0;
	t_int(spool_open(qdir, qid, &m), -1);
	t_int(errno, ENOENT);
	free(qdir);
}

/* Hostile queue files: each must give EBADMSG and move to corrupt/. */
static const char *const corrupt_files[] = {
	"",
	"hello\n",
	"LBSPOOL 2\nT 1\nS a@b\nR to=c@d\n\nbody",
	"LBSPOOL 1\nT 1\nS a@b\nR to=c@d\n",		/* no blank line */
	"LBSPOOL 1\nT 1\nS a@b\n\nbody",			/* no recipient */
	"LBSPOOL 1\nS a@b\nR to=c@d\n\n",		/* no time */
	"LBSPOOL 1\nT 1\nR to=c@d\n\n",			/* no sender */
	"LBSPOOL 1\nT x\nS a@b\nR to=c@d\n\n",
	"LBSPOOL 1\nT 1\nT 2\nS a@b\nR to=c@d\n\n",	/* duplicate */
	"LBSPOOL 1\nT 1\nS a@b\nS x@y\nR to=c@d\n\n",
	"LBSPOOL 1\nT 1\nS a@b\nR orig=c@d\n\n",	/* R without to= */
	"LBSPOOL 1\nT 1\nS a@b\nR to=\n\n",
	"LBSPOOL 1\nT 1\nS a@b\nR to=c@d notify=16\n\n",
	"LBSPOOL 1\nT 1\nS a@b\nR to=c@d to=e@f\n\n",
	"LBSPOOL 1\nT 1\nS a%0@b\nR to=c@d\n\n",	/* short escape */
	"LBSPOOL 1\nT 1\nS a%00b\nR to=c@d\n\n",	/* escaped NUL */
	"LBSPOOL 1\nT 1\nS a%zzb\nR to=c@d\n\n",
	"LBSPOOL 1\nT 1\nS a\rb\nR to=c@d\n\n",		/* raw CR */
	"LBSPOOL 1\nT 1\nS a@b\nB 9BIT\nR to=c@d\n\n",
	"LBSPOOL 1\nT 1\nS a@b\nN SOME\nR to=c@d\n\n",
	"LBSPOOL 1\nT 1\nS a@b\nUx\nR to=c@d\n\n",
	"LBSPOOL 1\nT 1\nS a@b\nE \nR to=c@d\n\n",	/* empty value */
	"LBSPOOL 1\nT 99999999999999999999999\nS a@b\nR to=c@d\n\n",
	"LBSPOOL 1\nT 1\nS a@b\nR to=c@d junk\n\n",
};

static void
test_corrupt(void)
{
	char			*qdir = mkqdir("corrupt");
	struct spool_msg	*m = NULL;
	char			 qid[SPOOL_QID_SIZE], *path, *big;
	size_t			 i;

	for (i = 0; i < sizeof(corrupt_files) / sizeof(corrupt_files[0]); i++) {
		spool_qid_new(qid);
		path = xasprintf("%s/queue/%s", qdir, qid);
		write_file(path, corrupt_files[i], strlen(corrupt_files[i]));
		errno = 0;
		if (!t_int(spool_open(qdir, qid, &m), -1))
			printf("  case %zu accepted\n", i);
		t_int(errno, EBADMSG);
		t_ok(m == NULL);
		t_ok(access(path, F_OK) == -1);
		free(path);
		spool_msg_free(&m);
	}
	t_int(count_sub(qdir, "corrupt"), (int)i);

	/* An over-long line and NUL in the envelope. */
	big = xmalloc(40000);
	memcpy(big, "LBSPOOL 1\nT 1\nS ", 16);
	memset(big + 16, 'a', 40000 - 16);
	big[39999] = '\n';
	spool_qid_new(qid);
	path = xasprintf("%s/queue/%s", qdir, qid);
	write_file(path, big, 40000);
	t_int(spool_open(qdir, qid, &m), -1);
	t_int(errno, EBADMSG);
	write_file(path, "LBSPOOL 1\nT 1\nS a\0b\nR to=c@d\n\n", 30);
	t_int(spool_open(qdir, qid, &m), -1);
	t_int(errno, EBADMSG);
	free(path);
	free(big);

	/* Unknown fields of a later revision are skipped. */
	{
		static const char fwd[] = "LBSPOOL 1\nT 5\nS a@b\nZ whatever\nR to=c@d new=1\n\nbody";

		spool_qid_new(qid);
		path = xasprintf("%s/queue/%s", qdir, qid);
		write_file(path, fwd, sizeof(fwd) - 1);
		t_int(spool_open(qdir, qid, &m), 0);
		if (m != NULL) {
			t_str(m->env.rcpts[0].addr, "c@d");
			t_int(m->msg_len, 4);
		}
		spool_msg_free(&m);
		free(path);
	}
	/* Bad qid argument. */
	t_int(spool_open(qdir, "../../etc/pass", &m), -1);
	t_int(errno, EINVAL);
	free(qdir);
}

/* Byte at a time: every prefix of a valid file is either corrupt (inside
 * the envelope) or a valid message with the bytes that are there. */
static void
test_prefixes(void)
{
	char			*qdir = mkqdir("prefix"), *path, *full, *cut;
	struct spool_msg	*m = NULL;
	char			 qid[SPOOL_QID_SIZE], qid2[SPOOL_QID_SIZE];
	size_t			 len, i, envlen = 0;
	int			 bad = 0;

	t_int(commit_simple(qdir, "Subject: x\r\n\r\nbody\r\n", qid), 0);
	path = xasprintf("%s/queue/%s", qdir, qid);
	full = slurp(path, &len);
	t_ok(full != NULL);
	if (full == NULL)
		return;
	t_int(spool_open(qdir, qid, &m), 0);
	if (m != NULL)
		envlen = (size_t)m->msg_offset;
	spool_msg_free(&m);
	t_ok(envlen > 0 && envlen < len);
	free(path);
	for (i = 0; i <= len; i++) {
		int r;

		spool_qid_new(qid2);
		path = xasprintf("%s/queue/%s", qdir, qid2);
		write_file(path, full, i);
		r = spool_open(qdir, qid2, &m);
		if (i < envlen) {
			if (r != -1 || errno != EBADMSG)
				bad++;
		} else if (r != 0 || m->msg_len != (off_t)(i - envlen) ||
		    m->msg_offset != (off_t)envlen)
			bad++;
		spool_msg_free(&m);
		(void)spool_remove(qdir, qid2);
		free(path);
	}
	t_int(bad, 0);
	/* And every byte flipped to a hostile value: never a crash. */
	cut = xmalloc(len);
	for (i = 0; i < envlen; i++) {
		static const char evil[] = { '\0', '\n', ' ', '%', '\xff' };
		size_t k;

		for (k = 0; k < sizeof(evil); k++) {
			memcpy(cut, full, len);
			cut[i] = evil[k];
			spool_qid_new(qid2);
			path = xasprintf("%s/queue/%s", qdir, qid2);
			write_file(path, cut, len);
			if (spool_open(qdir, qid2, &m) == 0)
				t_ok(m->env.nrcpt >= 1 && m->env.sender != NULL);
			spool_msg_free(&m);
			(void)spool_remove(qdir, qid2);
			free(path);
		}
	}
	free(cut);
	free(full);
	free(qdir);
}

static int
list_cb(const char *qid, void *arg)
{
	int *n = arg;

	(*n)++;
	return spool_qid_valid(qid, strlen(qid)) ? 0 : -5;
}

static int
stop_cb(const char *qid, void *arg)
{
	return 7;
}

static void
test_list_recover(void)
{
	char	*qdir = mkqdir("list"), *p, qid[SPOOL_QID_SIZE];
	int	 i, n = 0;
	struct spool_writer *w;

	for (i = 0; i < 5; i++)
		t_int(commit_simple(qdir, "x\r\n", qid), 0);
	/* Junk and status files are not messages. */
	p = xasprintf("%s/queue/%s.st", qdir, qid);
	write_file(p, "N 0\n", 4);
	free(p);
	p = xasprintf("%s/queue/README", qdir);
	write_file(p, "x", 1);
	free(p);
	t_int(spool_list(qdir, list_cb, &n), 0);
	t_int(n, 5);
	t_int(spool_list(qdir, stop_cb, NULL), 7);

	/* Recovery: temp leftovers and orphan status files go; a temp file
	 * whose writer is alive (a sendmail still reading its input) stays. */
	w = spool_create(qdir);
	t_ok(w != NULL);
	p = xasprintf("%s/queue/%s.st", qdir, "0000000000ZZZZ");
	write_file(p, "N 0\n", 4);
	{
		char *orphan = xasprintf("%s/tmp/%s", qdir, "0000000000YYYY");

		write_file(orphan, "x", 1);	/* its writer died: nobody locks it */
		t_int(spool_recover(qdir, 3600), 0);	/* too young to remove */
		t_int(count_sub(qdir, "tmp"), 2);
		t_int(spool_recover(qdir, 0), 1);
		t_int(count_sub(qdir, "tmp"), 1);
		t_ok(access(orphan, F_OK) == -1);
		free(orphan);
	}
	t_ok(access(p, F_OK) == -1);
	free(p);
	t_int(count_sub(qdir, "queue"), 7);	/* 5 + README + 1 .st */
	spool_abort(&w);
	t_int(count_sub(qdir, "tmp"), 0);
	free(qdir);

	/* A fresh queue_directory is created on first use. */
	p = xasprintf("%s/fresh/spool", root);
	t_int(commit_simple(p, "x", qid), 0);
	t_int(count_sub(p, "queue"), 1);
	free(p);
}

struct thr_arg {
	const char		*qdir;
	struct spool_syncer	*sy;
	int			 ok;
};

static void *
commit_thread(void *arg)
{
	struct thr_arg		*a = arg;
	struct spool_rcpt	 rc[1] = { { .addr = "b@example.org" } };
	struct spool_envelope	 env = { .sender = "a@example.com", .rcpts = rc, .nrcpt = 1 };
	char			 qid[SPOOL_QID_SIZE];
	int			 i;

	for (i = 0; i < 40; i++) {
		struct spool_writer *w = spool_create(a->qdir);

		if (w == NULL || spool_write_envelope(w, &env) == -1 ||
		    spool_write(w, "body\r\n", 6) == -1) {
			spool_abort(&w);
			continue;
		}
		if (spool_commit(&w, a->sy, qid) == 0)
			a->ok++;
	}
	return NULL;
}

static void
test_syncer(void)
{
	enum { NT = 8 };
	char			*qdir = mkqdir("sync");
	struct spool_syncer	*sy = spool_syncer_new(qdir);
	pthread_t		 th[NT];
	struct thr_arg		 a[NT];
	int			 i, total = 0, n = 0;

	for (i = 0; i < NT; i++) {
		a[i] = (struct thr_arg){ .qdir = qdir, .sy = sy };
		pthread_create(&th[i], NULL, commit_thread, &a[i]);
	}
	for (i = 0; i < NT; i++) {
		pthread_join(th[i], NULL);
		total += a[i].ok;
	}
	t_int(total, NT * 40);
	t_int(spool_list(qdir, list_cb, &n), 0);
	t_int(n, NT * 40);
	spool_syncer_free(&sy);
	t_ok(sy == NULL);
	free(qdir);
}

/*
 * queue_directory moved by a reload while a syncer for the old one is still
 * in use: a commit into the new directory must fsync the new queue/ (before
 * the fix it fsynced the old one, which here no longer exists: -1).
 */
static void
test_syncer_other_dir(void)
{
	char			*old = mkqdir("sync-old"), *new = mkqdir("sync-new");
	struct spool_syncer	*sy = spool_syncer_new(old);
	struct thr_arg		 a = { .qdir = new, .sy = sy };
	char			*p = xasprintf("%s/queue", old);
	char			*gone = xasprintf("%s.gone", p);
	int			 n = 0;

	t_int(rename(p, gone), 0);
	commit_thread(&a);
	t_int(a.ok, 40);
	t_int(spool_list(new, list_cb, &n), 0);
	t_int(n, 40);
	spool_syncer_free(&sy);
	free(gone);
	free(p);
	free(old);
	free(new);
}

int
main(void)
{
	char tmpl[] = "/tmp/test_spool.XXXXXX";

	t_begin("spool");
	log_init("test_spool", LOG_TO_STDERR, false);
	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(root, sizeof(root), "%s", tmpl);
	test_ids();
	test_roundtrip();
	test_large();
	test_status();
	test_corrupt();
	test_prefixes();
	test_list_recover();
	test_syncer();
	test_syncer_other_dir();
	if (t_fail == 0) {
		char *cmd = xasprintf("rm -rf '%s'", root);

		if (system(cmd) != 0)
			printf("could not remove %s\n", root);
		free(cmd);
	}
	return t_end();
}
