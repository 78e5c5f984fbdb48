/*
 * The maildrop format (queue/drop.c): table-driven parse cases, every
 * prefix of a good file, write -> parse round trip, and fs_search_blocked()
 * that init/serve use to say which directory keeps the mail owner out.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "queue/drop.h"
#include "t.h"

static const struct {
	const char	*in;
	int		 want;
	const char	*sender, *rcpt0, *data;
	size_t		 nrcpt;
} cases[] = {
	{ "letterbox-maildrop 1\nSa@example.org\nRb@example.com\n\nSubject: x\r\n\r\nhi\r\n", 0,
	  "a@example.org", "b@example.com", "Subject: x\r\n\r\nhi\r\n", 1 },
	{ "letterbox-maildrop 1\nS\nRb@Example.COM\nRc@example.com\n\n", 0,
	  "", "b@example.com", "", 2 },					/* null sender, empty message */
	{ "letterbox-maildrop 1\nRb@example.com\nSa@example.org\n\nx", 0,
	  "a@example.org", "b@example.com", "x", 1 },			/* order does not matter */
	{ "letterbox-maildrop 2\nSa@example.org\nRb@example.com\n\n", -1, NULL, NULL, NULL, 0 },
	{ "Sa@example.org\nRb@example.com\n\n", -1, NULL, NULL, NULL, 0 },	/* no magic */
	{ "letterbox-maildrop 1\nRb@example.com\n\n", -1, NULL, NULL, NULL, 0 },	/* no sender */
	{ "letterbox-maildrop 1\nSa@example.org\n\n", -1, NULL, NULL, NULL, 0 },	/* no rcpt */
	{ "letterbox-maildrop 1\nSa@example.org\nSb@example.org\nRb@example.com\n\n", -1,
	  NULL, NULL, NULL, 0 },					/* two senders */
	{ "letterbox-maildrop 1\nSa@example.org\nR<b@example.com>\n\n", -1, NULL, NULL, NULL, 0 },
	{ "letterbox-maildrop 1\nSa@example.org\nRb@example.com\r\n\n", -1, NULL, NULL, NULL, 0 },
	{ "letterbox-maildrop 1\nSa@example.org\nRnodomain\n\n", -1, NULL, NULL, NULL, 0 },
	{ "letterbox-maildrop 1\nSa@example.org\nUuid 0\nRb@example.com\n\n", -1,
	  NULL, NULL, NULL, 0 },					/* nothing claims a uid */
	{ "letterbox-maildrop 1\nSa@example.org\nRb@example.com\n", -1, NULL, NULL, NULL, 0 },
};

static void
test_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct drop_msg	 m;
		const char	*err = NULL;
		size_t		 len = strlen(cases[i].in);
		char		*copy = malloc(len);	/* exact size: ASan sees any overread */
		int		 r;

		memcpy(copy, cases[i].in, len);
		r = drop_parse(copy, len, &m, &err);
		if (!t_int(r, cases[i].want))
			printf("  case %zu: %s\n", i, err ? err : "");
		if (r == 0 && cases[i].want == 0) {
			t_str(m.sender, cases[i].sender);
			t_int(m.nrcpt, cases[i].nrcpt);
			t_str(m.rcpts[0], cases[i].rcpt0);
			t_int(m.len, strlen(cases[i].data));
			t_ok(memcmp(m.data, cases[i].data, m.len) == 0);
			drop_msg_clear(&m);
		} else if (r < 0)
			t_ok(err != NULL && m.rcpts == NULL && m.sender == NULL);
		free(copy);
	}
}

/* Every prefix of a good file either fails cleanly or parses a shorter message. */
static void
test_prefixes(void)
{
	const char	*good = cases[0].in;
	size_t		 len = strlen(good), n, envlen = strstr(good, "\n\n") - good + 2;

	for (n = 0; n <= len; n++) {
		struct drop_msg	 m;
		const char	*err;
		char		*copy = malloc(n ? n : 1);
		int		 r;

		memcpy(copy, good, n);
		r = drop_parse(copy, n, &m, &err);
		t_int(r, n >= envlen ? 0 : -1);
		if (r == 0) {
			t_int(m.len, n - envlen);
			drop_msg_clear(&m);
		}
		free(copy);
	}
}

static void
test_roundtrip(void)
{
	char		*rc[] = { "b@example.com", "c@example.net" };
	struct drop_msg	 in = { "a@example.org", rc, 2, "Subject: r\r\n\r\nbody\r\n", 21 }, out;
	char		 path[] = "/tmp/test_drop.XXXXXX", buf[4096];
	const char	*err;
	int		 fd = mkstemp(path);
	ssize_t		 n;

	t_ok(fd >= 0);
	t_int(drop_write(fd, &in), 0);
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	unlink(path);
	t_ok(n > 0);
	t_int(drop_parse(buf, (size_t)n, &out, &err), 0);
	t_str(out.sender, "a@example.org");
	t_int(out.nrcpt, 2);
	t_str(out.rcpts[1], "c@example.net");
	t_int(out.len, in.len);
	t_ok(memcmp(out.data, in.data, in.len) == 0);
	drop_msg_clear(&out);
}

static void
test_search_blocked(void)
{
	char	 top[] = "/tmp/test_reach.XXXXXX", sub[256], deep[256], blocked[256];
	gid_t	 other = 4242;

	t_ok(mkdtemp(top) != NULL);
	snprintf(sub, sizeof(sub), "%s/a", top);
	snprintf(deep, sizeof(deep), "%s/a/b", top);
	t_int(mkdir(sub, 0755), 0);
	t_int(mkdir(deep, 0755), 0);
	t_int(chmod(top, 0700), 0);
	/* uid 0 passes everything; another uid is stopped at top (owner-only). */
	t_int(fs_search_blocked(deep, 0, 0, NULL, 0, blocked, sizeof(blocked)), 0);
	if (getuid() == 0) {
		t_int(fs_search_blocked(deep, 4242, 4242, NULL, 0, blocked, sizeof(blocked)), 1);
		t_str(blocked, top);
		chmod(top, 0711);
		t_int(fs_search_blocked(deep, 4242, 4242, NULL, 0, blocked, sizeof(blocked)), 0);
		/* group bits decide for a group member, even when "other" may pass */
		t_int(chown(sub, 0, other), 0);
		chmod(sub, 0701);
		t_int(fs_search_blocked(deep, 4243, 4242, NULL, 0, blocked, sizeof(blocked)), 1);
		t_str(blocked, sub);
		t_int(fs_search_blocked(deep, 4243, 1, &other, 1, blocked, sizeof(blocked)), 1);
		t_int(fs_search_blocked(deep, 4243, 4243, NULL, 0, blocked, sizeof(blocked)), 0);
		/* a path that does not exist yet is reachable as far as it goes */
		t_int(fs_search_blocked("/tmp/test_reach.none/x", 4242, 4242, NULL, 0, blocked,
		    sizeof(blocked)), 0);
	}
	rmdir(deep);
	rmdir(sub);
	rmdir(top);
}

int
main(void)
{
	t_begin("drop");
	test_table();
	test_prefixes();
	test_roundtrip();
	test_search_blocked();
	return t_end();
}
