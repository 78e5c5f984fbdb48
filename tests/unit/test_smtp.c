/* SMTP command parser and DATA decoder: tables plus byte-at-a-time feeding. */
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "smtp/data.h"
#include "smtp/parse.h"
#include "t.h"

static const struct { const char *line; enum smtp_verb v; const char *args; } verbs[] = {
	{ "EHLO client.example", SMTP_V_EHLO, "client.example" },
	{ "ehlo x", SMTP_V_EHLO, "x" },
	{ "MAIL FROM:<a@b>", SMTP_V_MAIL, "FROM:<a@b>" },
	{ "QUIT", SMTP_V_QUIT, "" },
	{ "STARTTLS", SMTP_V_STARTTLS, "" },
	{ "GET / HTTP/1.0", SMTP_V_HTTP, "/ HTTP/1.0" },
	{ "MAILX FROM:<a@b>", SMTP_V_UNKNOWN, "FROM:<a@b>" },
	{ "", SMTP_V_UNKNOWN, "" },
};

static const struct { const char *args; int ok; const char *path; uint64_t size; } mails[] = {
	{ "FROM:<alice@example.com>", 1, "alice@example.com", 0 },
	{ "FROM:<>", 1, "", 0 },
	{ "from:<a@example.com> SIZE=999999", 1, "a@example.com", 999999 },
	{ "FROM: <a@example.com>", 1, "a@example.com", 0 },
	{ "FROM:<@relay.example:a@example.com>", 1, "a@example.com", 0 },
	{ "FROM:<\"john doe\"@example.com>", 1, "\"john doe\"@example.com", 0 },
	{ "FROM:<a@[192.0.2.1]>", 1, "a@[192.0.2.1]", 0 },
	{ "FROM:<a@example.com> BODY=8BITMIME RET=HDRS ENVID=QQ+2B1", 1, "a@example.com", 0 },
	{ "FROM:alice@example.com", 0, NULL, 0 },
	{ "FROM:<a@example.com", 0, NULL, 0 },
	{ "FROM:<a@example.com>X", 0, NULL, 0 },
	{ "TO:<a@example.com>", 0, NULL, 0 },
	{ "FROM:<a@example.com> SIZE=abc", 0, NULL, 0 },
	{ "FROM:<a@example.com> SIZE=", 0, NULL, 0 },
	{ "FROM:<a@example.com> FOO=1", 0, NULL, 0 },
	{ "FROM:<a@example.com> ENVID=a+zz", 0, NULL, 0 },
	{ "FROM:<a@example.com> RET=FULL RET=HDRS", 0, NULL, 0 },
	{ "FROM:<a..b@example.com>", 0, NULL, 0 },
	{ "FROM:<a@-example.com.>", 0, NULL, 0 },
	{ "FROM:<a@exa mple.com>", 0, NULL, 0 },
	{ "FROM:<δοκιμή@example.com>", 0, NULL, 0 },
	{ "FROM:<δοκιμή@example.com> SMTPUTF8", 1, "δοκιμή@example.com", 0 },
};

static const struct { const char *args; int ok; const char *path; unsigned notify; } rcpts[] = {
	{ "TO:<bob@example.org>", 1, "bob@example.org", 0 },
	{ "TO:<Postmaster>", 1, "Postmaster", 0 },
	{ "TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.org", 1, "b@example.org",
	  SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE },
	{ "TO:<b@example.org> NOTIFY=NEVER", 1, "b@example.org", SMTP_NOTIFY_NEVER },
	{ "TO:<b@example.org> NOTIFY=NEVER,DELAY", 0, NULL, 0 },
	{ "TO:<b@example.org> NOTIFY=SOMETIMES", 0, NULL, 0 },
	{ "TO:<b@example.org> ORCPT=nosemicolon", 0, NULL, 0 },
	{ "TO:<>", 0, NULL, 0 },
	{ "TO:<bob>", 0, NULL, 0 },
	{ "TO:<bob@example.org> SIZE=1", 0, NULL, 0 },
};

static void
test_parse(void)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		const char	*args;
		size_t		 al;
		enum smtp_verb	 v = smtp_parse_verb(verbs[i].line, strlen(verbs[i].line), &args, &al);

		t_int(v, verbs[i].v);
		t_ok(al == strlen(verbs[i].args) && memcmp(args, verbs[i].args, al) == 0);
	}
	for (i = 0; i < sizeof(mails) / sizeof(mails[0]); i++) {
		struct smtp_mail	 m;
		const char		*reply = NULL;
		int			 r = smtp_parse_mail(mails[i].args, strlen(mails[i].args), &m, &reply);

		if (!t_int(r == 0, mails[i].ok))
			printf("  MAIL case %zu: %s -> %s\n", i, mails[i].args, reply ? reply : "ok");
		if (r == 0 && mails[i].ok) {
			t_str(m.path, mails[i].path);
			t_ok(m.size == mails[i].size);
		}
		if (r != 0)
			t_ok(reply != NULL && (reply[0] == '5' || reply[0] == '4'));
	}
	{
		struct smtp_mail m;
		const char *reply;
		const char *a = "FROM:<a@example.com> BODY=8BITMIME RET=HDRS ENVID=QQ+2B1 AUTH=<>";
		t_int(smtp_parse_mail(a, strlen(a), &m, &reply), 0);
		t_int(m.body, SMTP_BODY_8BITMIME);
		t_int(m.ret, SMTP_RET_HDRS);
		t_str(m.envid, "QQ+2B1");
		t_str(m.auth, "<>");
	}
	for (i = 0; i < sizeof(rcpts) / sizeof(rcpts[0]); i++) {
		struct smtp_rcpt	 r;
		const char		*reply = NULL;
		int			 rc = smtp_parse_rcpt(rcpts[i].args, strlen(rcpts[i].args), false, &r, &reply);

		if (!t_int(rc == 0, rcpts[i].ok))
			printf("  RCPT case %zu: %s -> %s\n", i, rcpts[i].args, reply ? reply : "ok");
		if (rc == 0 && rcpts[i].ok) {
			t_str(r.path, rcpts[i].path);
			t_int(r.notify, rcpts[i].notify);
		}
	}
	{
		uint64_t	 n;
		bool		 last;
		const char	*reply;

		t_ok(smtp_parse_bdat("100 LAST", 8, &n, &last, &reply) == 0 && n == 100 && last);
		t_ok(smtp_parse_bdat("0", 1, &n, &last, &reply) == 0 && n == 0 && !last);
		t_ok(smtp_parse_bdat("-1", 2, &n, &last, &reply) < 0);
		t_ok(smtp_parse_bdat("10 FIRST", 8, &n, &last, &reply) < 0);
		t_ok(smtp_parse_bdat("", 0, &n, &last, &reply) < 0);
	}
	t_ok(smtp_xtext_valid("a+2Bb", 5));
	t_ok(!smtp_xtext_valid("a+2b", 4));
	t_ok(!smtp_xtext_valid("a+2", 3));
	t_ok(!smtp_xtext_valid("a b", 3));
}

/* in -> expected stored message, and whether the data ended (rest = bytes left over). */
static const struct { const char *in; const char *out; int done; const char *rest; } datas[] = {
	{ "Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n", 1, "" },
	{ ".\r\n", "", 1, "" },
	{ "a\r\n..b\r\n.\r\nQUIT\r\n", "a\r\n.b\r\n", 1, "QUIT\r\n" },
	{ "a\r\n...\r\n.\r\n", "a\r\n..\r\n", 1, "" },
	/* smuggling attempts: none of these ends the data */
	{ "a\n.\nMAIL FROM:<x@y>\n", "a\r\n.\r\nMAIL FROM:<x@y>\r\n", 0, "" },
	{ "a\r\n.\nRCPT\r\n", "a\r\n.\r\nRCPT\r\n", 0, "" },
	{ "a\n.\r\nRCPT\r\n", "a\r\n.\r\nRCPT\r\n", 0, "" },
	{ "a\r.\rX", "a\r\n.\r\nX", 0, "" },
	{ "a\r\n.\rX", "a\r\n.\r\nX", 0, "" },
	/* bare LF lines are normalised; the real end still works */
	{ "a\nb\n.\r\n", "a\r\nb\r\n.\r\n", 0, "" },
	{ "a\nb\r\n.\r\n", "a\r\nb\r\n", 1, "" },
	{ "x\r\n.y\r\n.\r\n", "x\r\ny\r\n", 1, "" },
};

static void
run_data(const char *in, size_t step, struct buf *out, int *done, size_t *consumed)
{
	struct smtp_data	 d;
	size_t			 len = strlen(in), i = 0;
	bool			 fin = false;

	smtp_data_init(&d);
	buf_reset(out);
	while (i < len && !fin) {
		size_t n = len - i < step ? len - i : step;
		i += smtp_data_feed(&d, in + i, n, out, &fin);
	}
	*done = fin;
	*consumed = i;
}

static void
test_data(void)
{
	struct buf	 out;
	size_t		 i, step;

	buf_init(&out, 1 << 20);
	for (i = 0; i < sizeof(datas) / sizeof(datas[0]); i++) {
		for (step = 1; step <= 1000; step = step == 1 ? 2 : step == 2 ? 3 : step == 3 ? 1000 : 1001) {
			int	 done;
			size_t	 used;

			run_data(datas[i].in, step, &out, &done, &used);
			if (!t_str(buf_str(&out), datas[i].out))
				printf("  data case %zu, step %zu\n", i, step);
			t_int(done, datas[i].done);
			if (datas[i].done)
				t_str(datas[i].in + used, datas[i].rest);
		}
	}
	buf_clear(&out);
}

int
main(void)
{
	t_begin("smtp");
	test_parse();
	test_data();
	return t_end();
}
