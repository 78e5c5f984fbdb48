/*
 * Unit tests for Maildir delivery (src/deliver/maildir.c): directory
 * creation, byte-exact content, deterministic names and idempotent
 * redelivery (also after a client moved the file to cur/), maildirsize and
 * quota, failures that must leave nothing in new/, many-recipient delivery.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/maildir.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "t.h"

static char	root[256];

static const char msg_crlf[] = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
static const char msg_lf[] = "From: a@example.com\nSubject: hi\n\nbody\n";
static const char junk[] = "LBSPOOL 1\nenvelope junk before the message\n\n";

/* A spool-like source file: junk, then the message; returns the fd. */
static int
make_source(const char *msg, size_t len, off_t *off_r)
{
	char	*p = xasprintf("%s/src.XXXXXX", root);
	int	 fd = mkstemp(p);

	unlink(p);
	free(p);
	if (fd == -1 || write(fd, junk, sizeof(junk) - 1) != (ssize_t)sizeof(junk) - 1 ||
	    write(fd, msg, len) != (ssize_t)len) {
		printf("source: %s\n", strerror(errno));
		exit(1);
	}
	*off_r = sizeof(junk) - 1;
	return fd;
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
countf(const char *fmt, const char *a, const char *b)
{
	char	*p = xasprintf(fmt, a, b);
	int	 n = count_files(p);

	free(p);
	return n;
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

static mode_t
dir_mode(const char *fmt, const char *a, const char *b)
{
	char		*p = xasprintf(fmt, a, b);
	struct stat	 st;
	mode_t		 m = 0;

	if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
		m = st.st_mode & 07777;
	free(p);
	return m;
}

static struct maildir_req
req_for(const char *base, const char *maildir, int fd, off_t off, off_t len,
    const char *rcpt, unsigned idx)
{
	return (struct maildir_req){
		.base = base, .maildir = maildir, .fd = fd, .offset = off, .length = len,
		.return_path = "a@example.com", .delivered_to = rcpt,
		.qid = "1K11SKMZHFMEZ4", .rcpt_idx = idx, .arrival_us = 1700000000123456LL,
		.hostname = "mx.example.org",
	};
}

static void
test_relpath(void)
{
	static const struct { const char *in; int want; const char *out; } cases[] = {
		{ "bob@Example.ORG", 0, "example.org/bob/" },
		{ "Bob.Smith@example.org", 0, "example.org/Bob.Smith/" },
		{ "a@b@example.org", 0, "example.org/a@b/" },
		{ "bob", -1, NULL },
		{ "@example.org", -1, NULL },
		{ "bob@", -1, NULL },
		{ "..@example.org", -1, NULL },
		{ ".@example.org", -1, NULL },
		{ "bob@..", -1, NULL },
		{ "a/b@example.org", -1, NULL },
		{ "bob@exa/mple.org", -1, NULL },
		{ "bob\n@example.org", -1, NULL },
		{ "...@example.org", 0, "example.org/.../" },
	};
	char	out[256];
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = maildir_relpath(cases[i].in, out, sizeof(out));

		if (!t_int(r, cases[i].want))
			printf("  case %s\n", cases[i].in);
		if (r == 0)
			t_str(out, cases[i].out);
	}
	t_int(maildir_relpath("bob@example.org", out, 10), -1);
	t_int(errno, ENAMETOOLONG);
}

static void
test_basic(void)
{
	char			*base = xasprintf("%s/vmail1", root), *path, *got, *want;
	struct maildir_req	 req;
	struct maildir_result	 res;
	char			 name[300];
	off_t			 off;
	size_t			 len;
	int			 fd = make_source(msg_crlf, sizeof(msg_crlf) - 1, &off);

	req = req_for(base, "example.org/bob/", fd, off, sizeof(msg_crlf) - 1,
	    "bob@example.org", 0);
	t_int(maildir_deliver(&req, &res), MAILDIR_OK);
	t_ok(!res.existed);
	t_ok(strncmp(res.reason, "2.0.0", 5) == 0);
	t_int(dir_mode("%s/%s", base, "example.org"), 0700);
	t_int(dir_mode("%s/%s", base, "example.org/bob"), 0700);
	t_int(dir_mode("%s/%s", base, "example.org/bob/tmp"), 0700);
	t_int(dir_mode("%s/%s", base, "example.org/bob/new"), 0700);
	t_int(dir_mode("%s/%s", base, "example.org/bob/cur"), 0700);
	t_int(countf("%s/%s", base, "example.org/bob/new"), 1);
	t_int(countf("%s/%s", base, "example.org/bob/tmp"), 0);

	/* Name: deterministic, with ,S= equal to the file size. */
	t_int(maildir_basename(&req, "mx.example.org", name, sizeof(name)), 0);
	t_str(name, "1700000000.M123456Q1K11SKMZHFMEZ4R0.mx.example.org");
	/* LF on disk (the CRs of the spool's CRLFs dropped); ,W= the CRLF size. */
	want = xasprintf("Return-Path: <a@example.com>\nDelivered-To: bob@example.org\n%s",
	    msg_lf);
	{
		char *full = xasprintf("%s,S=%zu,W=%zu", name, strlen(want), strlen(want) + 6);

		t_str(res.name, full);
		free(full);
	}
	t_int(res.size, strlen(want));
	t_int(res.vsize, strlen(want) + 6);
	path = xasprintf("%s/example.org/bob/new/%s", base, res.name);
	got = slurp(path, &len);
	t_str(got, want);
	t_int(len, res.size);
	free(got);
	free(want);

	/* Redelivery of the same qid + recipient: one file. */
	t_int(maildir_deliver(&req, &res), MAILDIR_OK);
	t_ok(res.existed);
	t_int(countf("%s/%s", base, "example.org/bob/new"), 1);

	/* A client moved it to cur/ with flags: found with check_cur. */
	{
		char *moved = xasprintf("%s/example.org/bob/cur/%s:2,S", base, res.name);

		t_int(rename(path, moved), 0);
		req.check_cur = true;
		t_int(maildir_deliver(&req, &res), MAILDIR_OK);
		t_ok(res.existed);
		t_ok(strstr(res.name, ":2,S") != NULL);
		t_int(countf("%s/%s", base, "example.org/bob/new"), 0);
		t_int(countf("%s/%s", base, "example.org/bob/cur"), 1);
		free(moved);
	}
	free(path);

	/* Another recipient index is another file. */
	req.rcpt_idx = 1;
	t_int(maildir_deliver(&req, &res), MAILDIR_OK);
	t_ok(!res.existed);
	t_int(countf("%s/%s", base, "example.org/bob/new"), 1);
	close(fd);

	/* LF message: LF header lines, no mixing. */
	fd = make_source(msg_lf, sizeof(msg_lf) - 1, &off);
	req = req_for(base, "example.org/lf/", fd, off, sizeof(msg_lf) - 1, "lf@example.org", 0);
	t_int(maildir_deliver(&req, &res), MAILDIR_OK);
	path = xasprintf("%s/example.org/lf/new/%s", base, res.name);
	got = slurp(path, &len);
	want = xasprintf("Return-Path: <a@example.com>\nDelivered-To: lf@example.org\n%s", msg_lf);
	t_str(got, want);
	free(got);
	free(want);
	free(path);

	/* Null sender: "Return-Path: <>"; host name escaping. */
	req.return_path = "";
	req.hostname = "odd/host:name";
	req.rcpt_idx = 5;
	t_int(maildir_deliver(&req, &res), MAILDIR_OK);
	t_ok(strstr(res.name, ".odd\\057host\\072name,S=") != NULL);
	path = xasprintf("%s/example.org/lf/new/%s", base, res.name);
	got = slurp(path, &len);
	t_ok(got != NULL && strncmp(got, "Return-Path: <>\n", 16) == 0);
	free(got);
	free(path);
	close(fd);
	free(base);
}

static void
test_large(void)
{
	char			*base = xasprintf("%s/vmail2", root), *path, *got;
	size_t			 size = 1024 * 1024 + 3, i, len, hl;
	char			*msg = xmalloc(size);
	struct maildir_req	 req;
	struct maildir_result	 res;
	off_t			 off;
	int			 fd;

	char			*lf = xmalloc(size);
	size_t			 nlf = 0, lfs = 0;

	for (i = 0; i < size; i++)
		msg[i] = (char)('A' + i % 23);
	memcpy(msg, "Subject: big\r\n\r\n", 16);
	/* A CRLF split by the 64 KiB copy chunks, a lone CR, a bare LF, a CR last. */
	msg[65535] = '\r';
	msg[65536] = '\n';
	msg[70000] = '\r';
	msg[80000] = '\n';
	msg[size - 1] = '\r';
	for (i = 0; i < size; i++) {
		if (msg[i] == '\r' && i + 1 < size && msg[i + 1] == '\n')
			continue;
		lfs += msg[i] == '\n';
		lf[nlf++] = msg[i];
	}
	fd = make_source(msg, size, &off);
	req = req_for(base, "example.org/big/", fd, off, (off_t)size, "big@example.org", 0);
	t_int(maildir_deliver(&req, &res), MAILDIR_OK);
	path = xasprintf("%s/example.org/big/new/%s", base, res.name);
	got = slurp(path, &len);
	hl = strlen("Return-Path: <a@example.com>\nDelivered-To: big@example.org\n");
	t_int(len, nlf + hl);
	t_ok(got != NULL && len == nlf + hl && memcmp(got + hl, lf, nlf) == 0);
	t_int(res.vsize, nlf + hl + lfs + 2);
	free(got);
	free(lf);
	free(path);
	free(msg);
	close(fd);
	free(base);
}

static void
test_maildirsize(void)
{
	char			*base = xasprintf("%s/vmail3", root), *path, *path2, *got, *want;
	struct maildir_req	 req;
	struct maildir_result	 res;
	uint64_t		 b, c, s1;
	off_t			 off;
	size_t			 len;
	int			 fd = make_source(msg_crlf, sizeof(msg_crlf) - 1, &off);

	req = req_for(base, "example.org/q/", fd, off, sizeof(msg_crlf) - 1, "q@example.org", 0);
	req.maildirsize = true;
	t_int(maildir_deliver(&req, &res), MAILDIR_OK);
	s1 = res.size;
	req.rcpt_idx = 1;
	t_int(maildir_deliver(&req, &res), MAILDIR_OK);
	path = xasprintf("%s/example.org/q/maildirsize", base);
	got = slurp(path, &len);
	want = xasprintf("0S\n%llu 1\n%llu 1\n", (unsigned long long)s1,
	    (unsigned long long)res.size);
	t_str(got, want);
	free(got);
	free(want);
	/* A redelivery is not counted twice. */
	t_int(maildir_deliver(&req, &res), MAILDIR_OK);
	t_ok(res.existed);
	t_int(maildir_quota_usage(base, "example.org/q/", 0, &b, &c), 0);
	t_int(b, 2 * s1);
	t_int(c, 2);

	/* Quota: room for 3 messages; the 4th defers, a huge one bounces. */
	req.maildir = "example.org/quota/";
	req.quota_bytes = 3 * s1 + 5;
	for (req.rcpt_idx = 0; req.rcpt_idx < 3; req.rcpt_idx++)
		t_int(maildir_deliver(&req, &res), MAILDIR_OK);
	t_int(maildir_deliver(&req, &res), MAILDIR_TEMPFAIL);
	t_ok(strncmp(res.reason, "4.2.2", 5) == 0);
	t_int(countf("%s/%s", base, "example.org/quota/new"), 3);
	req.quota_bytes = s1 - 1;
	req.rcpt_idx = 10;
	t_int(maildir_deliver(&req, &res), MAILDIR_PERMFAIL);
	t_ok(strncmp(res.reason, "5.2.3", 5) == 0);
	t_int(countf("%s/%s", base, "example.org/quota/tmp"), 0);

	/* Quota without maildirsize: counted from the names. */
	req.maildirsize = false;
	req.maildir = "example.org/quota2/";
	req.quota_bytes = 2 * s1;
	for (req.rcpt_idx = 0; req.rcpt_idx < 2; req.rcpt_idx++)
		t_int(maildir_deliver(&req, &res), MAILDIR_OK);
	t_int(maildir_deliver(&req, &res), MAILDIR_TEMPFAIL);
	path2 = xasprintf("%s/example.org/quota2/maildirsize", base);
	t_ok(access(path2, F_OK) == -1);
	free(path2);

	/* An oversized maildirsize is recalculated. */
	{
		int	 mfd = open(path, O_WRONLY | O_APPEND);
		int	 i;

		for (i = 0; i < 600; i++)
			t_int(write(mfd, "1 1\n-1 -1\n", 10), 10);
		close(mfd);
		req.maildir = "example.org/q/";
		req.maildirsize = true;
		req.quota_bytes = 0;
		req.rcpt_idx = 2;
		t_int(maildir_deliver(&req, &res), MAILDIR_OK);
		got = slurp(path, &len);
		want = xasprintf("0S\n%llu 3\n", (unsigned long long)(3 * s1));
		t_str(got, want);
		free(got);
		free(want);
	}

	/* Hostile maildirsize contents: recalculated from the names. */
	{
		static const char *const bad[] = {
			"", "0S", "0S\nx y\n", "0S\n1\n", "0S\n99999999999999999999999 1\n",
			"0S\n1 1 1\n", "0S\n--1 1\n", "\n\n\n",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			int mfd = open(path, O_WRONLY | O_TRUNC);

			t_int(write(mfd, bad[i], strlen(bad[i])), strlen(bad[i]));
			close(mfd);
			b = c = 0;
			t_int(maildir_quota_usage(base, "example.org/q/", 0, &b, &c), 0);
			t_int(b, 3 * s1);
			t_int(c, 3);
		}
		/* A torn last line is ignored; negative lines count. */
		{
			int mfd = open(path, O_WRONLY | O_TRUNC);
			static const char txt[] = "0S\n100 2\n-40 -1\n7 ";

			t_int(write(mfd, txt, sizeof(txt) - 1), sizeof(txt) - 1);
			close(mfd);
			t_int(maildir_quota_usage(base, "example.org/q/", 0, &b, &c), 0);
			t_int(b, 60);
			t_int(c, 1);
		}
	}
	free(path);
	close(fd);
	free(base);
}

static void
test_failures(void)
{
	char			*base = xasprintf("%s/vmail4", root), *p;
	struct maildir_req	 req;
	struct maildir_result	 res;
	off_t			 off;
	int			 fd = make_source(msg_crlf, sizeof(msg_crlf) - 1, &off);
	int			 dfd;

	/* Source shorter than promised (the spool file shrank): temp, clean. */
	req = req_for(base, "example.org/f/", fd, off, 100000, "f@example.org", 0);
	t_int(maildir_deliver(&req, &res), MAILDIR_TEMPFAIL);
	t_ok(strncmp(res.reason, "4.", 2) == 0);
	t_str(res.name, "");
	/* Found while measuring, before any directory is made. */
	t_ok(countf("%s/%s", base, "example.org/f/new") <= 0);
	t_ok(countf("%s/%s", base, "example.org/f/tmp") <= 0);

	/* An fd that cannot be read. */
	dfd = open(root, O_RDONLY | O_DIRECTORY);
	req = req_for(base, "example.org/f/", dfd, 0, 100, "f@example.org", 0);
	t_int(maildir_deliver(&req, &res), MAILDIR_TEMPFAIL);
	t_ok(countf("%s/%s", base, "example.org/f/new") <= 0);
	t_ok(countf("%s/%s", base, "example.org/f/tmp") <= 0);
	close(dfd);

	/* File size limit (stands in for a full disk: write fails midway). */
	{
		struct rlimit	old, lim;
		size_t		size = 200000;
		char		*big = xmalloc(size);
		int		bfd;
		off_t		boff;

		memset(big, 'x', size);
		bfd = make_source(big, size, &boff);
		getrlimit(RLIMIT_FSIZE, &old);
		lim = old;
		lim.rlim_cur = 65536;
		signal(SIGXFSZ, SIG_IGN);
		t_int(setrlimit(RLIMIT_FSIZE, &lim), 0);
		req = req_for(base, "example.org/f/", bfd, boff, (off_t)size, "f@example.org", 0);
		t_int(maildir_deliver(&req, &res), MAILDIR_TEMPFAIL);
		setrlimit(RLIMIT_FSIZE, &old);
		t_int(countf("%s/%s", base, "example.org/f/new"), 0);
		t_int(countf("%s/%s", base, "example.org/f/tmp"), 0);
		/* And once the disk has room again, it goes through. */
		t_int(maildir_deliver(&req, &res), MAILDIR_OK);
		t_int(countf("%s/%s", base, "example.org/f/new"), 1);
		close(bfd);
		free(big);
	}

	/* Bad paths: permanent, nothing created outside the base. */
	req = req_for(base, "../escape/", fd, off, sizeof(msg_crlf) - 1, "x@example.org", 0);
	t_int(maildir_deliver(&req, &res), MAILDIR_PERMFAIL);
	p = xasprintf("%s/escape", root);
	t_ok(access(p, F_OK) == -1);
	free(p);
	req.maildir = "/etc/";
	t_int(maildir_deliver(&req, &res), MAILDIR_PERMFAIL);
	req.maildir = "example.org/./x/";
	t_int(maildir_deliver(&req, &res), MAILDIR_PERMFAIL);
	req.maildir = "example.org/x/";
	req.delivered_to = "x@example.org\r\nBcc: evil";
	t_int(maildir_deliver(&req, &res), MAILDIR_PERMFAIL);

	/* A file where the Maildir should be. */
	p = xasprintf("%s/example.org/file", base);
	close(open(p, O_WRONLY | O_CREAT, 0600));
	req = req_for(base, "example.org/file/", fd, off, sizeof(msg_crlf) - 1, "x@example.org", 0);
	t_int(maildir_deliver(&req, &res), MAILDIR_PERMFAIL);
	free(p);

	/* Base not writable (only meaningful when not root). */
	if (geteuid() != 0) {
		p = xasprintf("%s/ro", root);
		mkdir(p, 0500);
		req = req_for(p, "example.org/x/", fd, off, sizeof(msg_crlf) - 1, "x@example.org", 0);
		t_int(maildir_deliver(&req, &res), MAILDIR_TEMPFAIL);
		free(p);
	}
	close(fd);
	free(base);
}

static void
test_many(void)
{
	enum { N = 6 };
	char			*base = xasprintf("%s/vmail5", root), *path, *got;
	static const char *const boxes[N] = {
		"example.org/a/", "example.org/b/", "example.org/a/",
		"example.net/c/", "../bad/", "example.org/b/",
	};
	static const char *const rcpts[N] = {
		"a@example.org", "b@example.org", "a2@example.org",
		"c@example.net", "bad@example.org", "b@example.org",
	};
	struct maildir_req	 reqs[N];
	struct maildir_result	 res[N];
	off_t			 off;
	size_t			 i, len;
	int			 fd = make_source(msg_crlf, sizeof(msg_crlf) - 1, &off);

	for (i = 0; i < N; i++)
		reqs[i] = req_for(base, boxes[i], fd, off, sizeof(msg_crlf) - 1, rcpts[i],
		    (unsigned)i);
	t_int(maildir_deliver_many(reqs, res, 0), 0);
	t_int(maildir_deliver_many(reqs, res, N), N - 1);
	t_int(res[4].status, MAILDIR_PERMFAIL);
	t_int(countf("%s/%s", base, "example.org/a/new"), 2);
	t_int(countf("%s/%s", base, "example.org/b/new"), 2);
	t_int(countf("%s/%s", base, "example.net/c/new"), 1);
	for (i = 0; i < N; i++) {
		char *want;

		if (i == 4)
			continue;
		path = xasprintf("%s/%snew/%s", base, boxes[i], res[i].name);
		got = slurp(path, &len);
		want = xasprintf("Return-Path: <a@example.com>\nDelivered-To: %s\n%s",
		    rcpts[i], msg_lf);
		t_str(got, want);
		free(want);
		free(got);
		free(path);
	}
	/* The whole batch again: all found, nothing doubled. */
	t_int(maildir_deliver_many(reqs, res, N), N - 1);
	for (i = 0; i < N; i++)
		if (i != 4)
			t_ok(res[i].existed);
	t_int(countf("%s/%s", base, "example.org/a/new"), 2);
	close(fd);
	free(base);
}

struct thr_arg {
	const char	*base;
	int		 fd;
	off_t		 off;
	unsigned	 first;
	int		 ok;
};

static void *
deliver_thread(void *arg)
{
	struct thr_arg		*a = arg;
	struct maildir_req	 req;
	struct maildir_result	 res;
	unsigned		 i;

	for (i = 0; i < 20; i++) {
		req = req_for(a->base, "example.org/busy/", a->fd, a->off,
		    sizeof(msg_crlf) - 1, "busy@example.org", a->first + i);
		req.maildirsize = true;
		if (maildir_deliver(&req, &res) == MAILDIR_OK && !res.existed)
			a->ok++;
	}
	return NULL;
}

/* Worker threads delivering into one Maildir at once. */
static void
test_threads(void)
{
	enum { NT = 8 };
	char		*base = xasprintf("%s/vmail6", root);
	pthread_t	 th[NT];
	struct thr_arg	 a[NT];
	off_t		 off;
	int		 fd = make_source(msg_crlf, sizeof(msg_crlf) - 1, &off), i, total = 0;
	uint64_t	 b, c;

	for (i = 0; i < NT; i++) {
		a[i] = (struct thr_arg){ .base = base, .fd = fd, .off = off,
		    .first = (unsigned)i * 100 };
		pthread_create(&th[i], NULL, deliver_thread, &a[i]);
	}
	for (i = 0; i < NT; i++) {
		pthread_join(th[i], NULL);
		total += a[i].ok;
	}
	t_int(total, NT * 20);
	t_int(countf("%s/%s", base, "example.org/busy/new"), NT * 20);
	t_int(countf("%s/%s", base, "example.org/busy/tmp"), 0);
	/* maildirsize is approximate under races (Maildir++); it must parse. */
	t_int(maildir_quota_usage(base, "example.org/busy/", 0, &b, &c), 0);
	t_ok(c > 0 && c <= NT * 20 + NT);
	close(fd);
	free(base);
}

/* `queue delete` during a delivery: a source without a name is not linked. */
static void
test_source_unlinked(void)
{
	char			*base = xasprintf("%s/vmail6", root);
	off_t			 off;
	int			 fd = make_source(msg_crlf, sizeof(msg_crlf) - 1, &off);	/* unlinked */
	struct maildir_req	 req = req_for(base, "example.org/del/", fd, off, sizeof(msg_crlf) - 1,
				    "del@example.org", 0);
	struct maildir_result	 res;

	req.stop_if_unlinked = true;
	t_int(maildir_deliver_many(&req, &res, 1), 0);
	t_int(res.status, MAILDIR_TEMPFAIL);
	t_ok(strstr(res.reason, "queue file deleted") != NULL);
	t_int(countf("%s/%s", base, "example.org/del/new"), 0);
	t_int(countf("%s/%s", base, "example.org/del/tmp"), 0);
	/* without the flag (an anonymous source is fine): delivered */
	req.stop_if_unlinked = false;
	t_int(maildir_deliver_many(&req, &res, 1), 1);
	t_int(countf("%s/%s", base, "example.org/del/new"), 1);
	close(fd);
	free(base);
}

int
main(void)
{
	char tmpl[] = "/tmp/test_maildir.XXXXXX";

	t_begin("maildir");
	log_init("test_maildir", LOG_TO_STDERR, false);
	umask(022);
	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(root, sizeof(root), "%s", tmpl);
	test_relpath();
	test_basic();
	test_large();
	test_maildirsize();
	test_failures();
	test_many();
	test_threads();
	test_source_unlinked();
	if (t_fail == 0) {
		char *cmd = xasprintf("rm -rf '%s'", root);

		if (system(cmd) != 0)
			printf("could not remove %s\n", root);
		free(cmd);
	}
	return t_end();
}
