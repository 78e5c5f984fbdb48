/*
 * Unit tests for the incremental IMAP command parser (src/imap/parser.h):
 * a table of good and hostile commands, each fed whole, one byte at a
 * time and in 7-byte pieces, which must agree; plus pipelining, recovery
 * after errors, streamed APPEND literals and huge declared sizes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/parser.h"
#include "lib/buf.h"
#include "t.h"

static const struct imap_parser_limits lim = {
	.max_line = 65536, .max_literal = 65536, .max_message = 10240000,
	.max_nonsync = 4096, .max_depth = 16, .max_args = 1000,
};

struct run {
	int		 res;		/* 1 done, -1 error, 0 ran out of input */
	char		 dump[8192];
	char		 stream[256];
	size_t		 stream_len;
	int		 conts, lits;
	size_t		 at;		/* input offset just after the DONE/ERROR */
	struct imap_parse_error err;
	char		 tag[64];
};

static void
dump_args(struct buf *b, const struct imap_arg *a, size_t n)
{
	size_t	 i;
	int	 r = 0;

	for (i = 0; i < n; i++) {
		if (i > 0)
			r |= buf_addc(b, ' ');
		switch (a[i].type) {
		case IMAP_ARG_NIL:
			r |= buf_adds(b, "%NIL");
			break;
		case IMAP_ARG_ATOM:
			r |= buf_add(b, a[i].str, a[i].len);
			break;
		case IMAP_ARG_STRING:
			r |= buf_addf(b, "\"%s\"", a[i].str);
			break;
		case IMAP_ARG_LITERAL:
			r |= buf_addf(b, "%s{%zu}", a[i].literal8 ? "~" : "", a[i].len);
			r |= buf_add(b, a[i].str, a[i].len);
			break;
		case IMAP_ARG_LITERAL_SIZE:
			r |= buf_addf(b, "<%llu>", (unsigned long long)a[i].literal_size);
			break;
		case IMAP_ARG_LIST:
			r |= buf_addc(b, '(');
			dump_args(b, a[i].list, a[i].count);
			r |= buf_addc(b, ')');
			break;
		}
	}
	if (r != 0)
		abort();
}

static void
dump_cmd(const struct imap_cmd *c, char *out, size_t outsz)
{
	struct buf	 b;

	buf_init(&b, outsz - 1);
	if (buf_addf(&b, "%s %.*s", c->tag, (int)c->name_len, c->name) < 0)
		abort();
	if (c->nargs > 0) {
		if (buf_addc(&b, ' ') < 0)
			abort();
		dump_args(&b, c->args, c->nargs);
	}
	memcpy(out, buf_str(&b), b.len + 1);
	buf_clear(&b);
}

/*
 * Feed in[0..len) in pieces of step bytes (0 = whole) until the first
 * DONE or ERROR, answering continuations and collecting streamed data.
 */
static void
run_feed(struct imap_parser *p, const char *in, size_t len, size_t step, struct run *r)
{
	size_t		 off = 0, n, used, c;
	enum imap_parse	 res;

	memset(r, 0, sizeof(*r));
	while (off < len) {
		n = step == 0 || step > len - off ? len - off : step;
		for (c = 0;;) {
			res = imap_parser_feed(p, in + off + c, n - c, &used);
			c += used;
			if (res == IMAP_PARSE_MORE) {
				if (c != n)
					r->res = 99;	/* MORE must consume everything */
				break;
			}
			if (res == IMAP_PARSE_CONTINUE) {
				r->conts++;
				imap_parser_continue(p);
			} else if (res == IMAP_PARSE_LITERAL) {
				r->lits++;
			} else if (res == IMAP_PARSE_DATA) {
				if (r->stream_len + used < sizeof(r->stream)) {
					memcpy(r->stream + r->stream_len, in + off + c - used, used);
					r->stream_len += used;
				}
			} else {
				r->at = off + c;
				r->res = res == IMAP_PARSE_DONE ? 1 : -1;
				if (res == IMAP_PARSE_DONE)
					dump_cmd(imap_parser_command(p), r->dump, sizeof(r->dump));
				else {
					r->err = *imap_parser_error(p);
					snprintf(r->tag, sizeof(r->tag), "%s",
					    r->err.tag ? r->err.tag : "*");
				}
				return;
			}
		}
		off += n;
	}
	r->at = off;
}

static const struct {
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	int		 want;
	const char	*dump;		/* DONE: the tree; ERROR: the tag ("*" untagged) */
	int		 conts;
	const char	*stream;	/* streamed literal bytes, or NULL */
	const char	*code;		/* ERROR: response code */
	int		 close;		/* ERROR: must close */
} cases[] = {
	{ "A1 NOOP\r\n", 0, 1, "A1 NOOP", 0, NULL, NULL, 0 },
	{ "a001 LOGIN alice secret\r\n", 0, 1, "a001 LOGIN alice secret", 0, NULL, NULL, 0 },
	{ "A1 LOGIN \"al\\\"ice\" \"p\\\\w\"\r\n", 0, 1, "A1 LOGIN \"al\"ice\" \"p\\w\"", 0,
	    NULL, NULL, 0 },
	{ "A1 LOGIN {5}\r\nalice {2}\r\npw\r\n", 0, 1, "A1 LOGIN {5}alice {2}pw", 2, NULL,
	    NULL, 0 },
	{ "A1 LOGIN {5+}\r\nalice pw\r\n", 0, 1, "A1 LOGIN {5}alice pw", 0, NULL, NULL, 0 },
	{ "A1 LOGIN {0}\r\n {0+}\r\n\r\n", 0, 1, "A1 LOGIN {0} {0}", 1, NULL, NULL, 0 },
	{ "A1 X ~{3}\r\na\0b\r\n", 16, 1, "A1 X ~{3}a", 1, NULL, NULL, 0 },
	{ "A1 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM \"TO\")]<0.100>)\r\n", 0, 1,
	    "A1 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM \"TO\")]<0.100>)", 0, NULL,
	    NULL, 0 },
	{ "A1 UID FETCH 1 (BODY[])\r\n", 0, 1, "A1 UID FETCH 1 (BODY[])", 0, NULL, NULL, 0 },
	{ "A1 X NIL nil \"NIL\"\r\n", 0, 1, "A1 X %NIL %NIL \"NIL\"", 0, NULL, NULL, 0 },
	{ "A1 NOOP\n", 0, 1, "A1 NOOP", 0, NULL, NULL, 0 },
	{ "A1 NOOP \r\n", 0, 1, "A1 NOOP", 0, NULL, NULL, 0 },
	{ "\r\n\r\nA1 NOOP\r\n", 0, 1, "A1 NOOP", 0, NULL, NULL, 0 },
	{ "A1 X ()\r\n", 0, 1, "A1 X ()", 0, NULL, NULL, 0 },
	{ "A1 X ((a) (b (c)) \"\")\r\n", 0, 1, "A1 X ((a) (b (c)) \"\")", 0, NULL, NULL, 0 },
	{ "A1 SELECT \"Entw\xc3\xbc" "rfe\"\r\n", 0, 1, "A1 SELECT \"Entw\xc3\xbc" "rfe\"", 0,
	    NULL, NULL, 0 },
	{ "A1 LIST \"\" %\r\n", 0, 1, "A1 LIST \"\" %", 0, NULL, NULL, 0 },
	{ "A1 STORE 1 +FLAGS.SILENT (\\Seen $Junk)\r\n", 0, 1,
	    "A1 STORE 1 +FLAGS.SILENT (\\Seen $Junk)", 0, NULL, NULL, 0 },
	{ "A1 SEARCH SUBJECT [PATCH ALL\r\n", 0, 1, "A1 SEARCH SUBJECT [PATCH ALL", 0, NULL,
	    NULL, 0 },
	{ "A1 X ~foo\r\n", 0, 1, "A1 X ~foo", 0, NULL, NULL, 0 },
	{ "A]1 NOOP\r\n", 0, 1, "A]1 NOOP", 0, NULL, NULL, 0 },
	{ "A1 APPEND INBOX (\\Seen) \"05-Dec-2026 10:00:00 +0000\" {5}\r\nhello\r\n", 0, 1,
	    "A1 APPEND INBOX (\\Seen) \"05-Dec-2026 10:00:00 +0000\" <5>", 1, "hello", NULL, 0 },
	{ "A1 append INBOX {5+}\r\nhello\r\n", 0, 1, "A1 append INBOX <5>", 0, "hello", NULL, 0 },
	{ "A1 APPEND INBOX {2+}\r\nab {3+}\r\ncde\r\n", 0, 1, "A1 APPEND INBOX <2> <3>", 0,
	    "abcde", NULL, 0 },
	{ "A1 APPEND {5}\r\nINBOX {3}\r\nabc\r\n", 0, 1, "A1 APPEND {5}INBOX <3>", 2, "abc",
	    NULL, 0 },
	{ "A1 APPEND INBOX UTF8 (~{3+}\r\nabc)\r\n", 0, 1, "A1 APPEND INBOX UTF8 (<3>)", 0,
	    "abc", NULL, 0 },
	{ "A1 APPEND INBOX {0+}\r\n\r\n", 0, 1, "A1 APPEND INBOX <0>", 0, "", NULL, 0 },

	/* issue 14 syntax: NOTIFY, QRESYNC, SORT/THREAD, ESEARCH, LIST-EXTENDED, ...
	 * (dump NULL: the line itself without CRLF) */
	{ "A1 NOTIFY SET STATUS (SELECTED (MessageNew (uid "
	  "body.peek[header.fields (from to subject)]) MessageExpunge)) "
	  "(personal (MessageNew MessageExpunge MailboxName))\r\n", 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 SELECT INBOX (QRESYNC (67890007 20050715194045000 "
	  "41,43:211,214:541 (1,3:5 11,15:17)))\r\n", 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 UID SORT (REVERSE DATE DISPLAYFROM) UTF-8 UNDELETED SINCE "
	  "1-Feb-1994\r\n", 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 UID THREAD REFERENCES UTF-8 ALL\r\n", 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 SEARCH RETURN (MIN COUNT SAVE) UNSEEN\r\n", 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 UID EXPUNGE 3000:3002\r\n", 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 STATUS blurdybloop (MESSAGES UIDNEXT HIGHESTMODSEQ SIZE MAILBOXID)\r\n",
	    0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 LIST (SUBSCRIBED SPECIAL-USE) \"\" (\"INBOX\" \"Drafts\" %) RETURN "
	  "(CHILDREN STATUS (MESSAGES UNSEEN))\r\n", 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 ENABLE QRESYNC UTF8=ACCEPT\r\n", 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 STORE 1:* (UNCHANGEDSINCE 12345) +FLAGS.SILENT (\\Deleted)\r\n",
	    0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 ID (\"name\" \"sodr\" \"version\" NIL)\r\n",
	    0, 1, "A1 ID (\"name\" \"sodr\" \"version\" %NIL)", 0, NULL, NULL, 0 },
	{ "A1 AUTHENTICATE PLAIN AGFsaWNlAHB3ZA==\r\n", 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 FETCH 1 (PREVIEW (LAZY) EMAILID SAVEDATE)\r\n", 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 CREATE Archive (USE (\\Archive))\r\n", 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 GETQUOTAROOT INBOX\r\n", 0, 1, NULL, 0, NULL, NULL, 0 },
	{ "A1 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
	    0, 1, NULL, 0, NULL, NULL, 0 },

	{ "A1\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ " A1 NOOP\r\n", 0, -1, "*", 0, NULL, NULL, 0 },
	{ "A+1 NOOP\r\n", 0, -1, "*", 0, NULL, NULL, 0 },
	{ "A1 NOOP\0\r\n", 10, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 LOGIN \"abc\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 LOGIN \"a\0\"\r\n", 15, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 LOGIN \"a\\b\"\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 X (a\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 X a)\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 X \"a\"b\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 X {abc}\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 X {5\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 X {}\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 X {5}x\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 X {5-}\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 X {99999999999999999999999999}\r\n", 0, -1, "A1", 0, NULL, "TOOBIG", 0 },
	{ "A1 X {18446744073709551615}\r\n", 0, -1, "A1", 0, NULL, "TOOBIG", 0 },
	{ "A1 X {100000}\r\n", 0, -1, "A1", 0, NULL, "TOOBIG", 0 },
	{ "A1 X {5000+}\r\n", 0, -1, "A1", 0, NULL, "TOOBIG", 0 },
	{ "A1 APPEND INBOX {20000000}\r\n", 0, -1, "A1", 0, NULL, "TOOBIG", 0 },
	{ "A1 APPEND INBOX {4294967295}\r\n", 0, -1, "A1", 0, NULL, "TOOBIG", 0 },
	{ "A1 APPEND INBOX {4294967295+}\r\n", 0, -1, "A1", 0, NULL, "TOOBIG", 1 },
	{ "A1 APPEND INBOX {5000+}\r\n", 0, -1, "A1", 0, NULL, "TOOBIG", 0 },
	{ "A1 X {3}\r\na\0b\r\n", 15, -1, "A1", 1, NULL, NULL, 0 },
	{ "A1 NOOP\rX\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 X \xc3\xa9\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 (X)\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 \"NOOP\"\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 X BODY[HEADER\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 X a{5}\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
	{ "A1 X \x01\r\n", 0, -1, "A1", 0, NULL, NULL, 0 },
};

static void
check_case(size_t i)
{
	const char	*in = cases[i].in;
	size_t		 len = cases[i].len ? cases[i].len : strlen(in);
	static const size_t steps[] = { 0, 1, 7 };
	struct run	 r[3];
	struct imap_parser *p;
	size_t		 s;
	int		 ok;

	for (s = 0; s < 3; s++) {
		p = imap_parser_new(&lim);
		run_feed(p, in, len, steps[s], &r[s]);
		imap_parser_free(&p);
	}
	ok = t_int(r[0].res, cases[i].want);
	if (cases[i].want == 1 && cases[i].dump == NULL) {
		ok &= t_ok(strlen(r[0].dump) + 2 == len);
		ok &= t_ok(strncmp(r[0].dump, in, len - 2) == 0);
	} else if (cases[i].want == 1) {
		ok &= t_str(r[0].dump, cases[i].dump);
	}
	if (cases[i].want == 1) {
		ok &= t_int(r[0].at, len);	/* done only at the last LF */
		ok &= t_int(r[0].conts, cases[i].conts);
		if (cases[i].stream != NULL) {
			ok &= t_int(r[0].stream_len, strlen(cases[i].stream));
			ok &= t_ok(memcmp(r[0].stream, cases[i].stream, r[0].stream_len) == 0);
		}
	} else if (cases[i].want == -1) {
		ok &= t_str(r[0].tag, cases[i].dump);
		ok &= t_str(r[0].err.code, cases[i].code);
		ok &= t_int(r[0].err.close, cases[i].close);
		ok &= t_ok(r[0].err.msg != NULL);
	}
	for (s = 1; s < 3; s++) {
		ok &= t_int(r[s].res, r[0].res);
		ok &= t_int(r[s].at, r[0].at);
		ok &= t_str(r[s].dump, r[0].dump);
		ok &= t_int(r[s].stream_len, r[0].stream_len);
		ok &= t_int(r[s].conts, r[0].conts);
		ok &= t_str(r[s].tag, r[0].tag);
	}
	if (!ok)
		printf("  case %zu: %.60s\n", i, in);
}


/* Feed everything; return the results in order as a string like "E D". */
static void
feed_all(struct imap_parser *p, const char *in, size_t len, size_t step, char *out,
    size_t outsz, char *last, size_t lastsz)
{
	size_t		 off = 0, n, used, c, o = 0;
	enum imap_parse	 res;

	out[0] = last[0] = '\0';
	while (off < len) {
		n = step == 0 || step > len - off ? len - off : step;
		for (c = 0;;) {
			res = imap_parser_feed(p, in + off + c, n - c, &used);
			c += used;
			if (res == IMAP_PARSE_MORE)
				break;
			if (res == IMAP_PARSE_CONTINUE)
				imap_parser_continue(p);
			if ((res == IMAP_PARSE_DONE || res == IMAP_PARSE_ERROR) && o + 3 < outsz) {
				out[o++] = res == IMAP_PARSE_DONE ? 'D' : 'E';
				out[o] = '\0';
				if (res == IMAP_PARSE_DONE)
					dump_cmd(imap_parser_command(p), last, lastsz);
				else
					snprintf(last, lastsz, "%s", imap_parser_error(p)->msg);
				if (res == IMAP_PARSE_ERROR && imap_parser_error(p)->close)
					return;
			}
		}
		off += n;
	}
}

static char *
repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t	 hl = strlen(head), ul = strlen(unit), tl = strlen(tail), i;
	char	*s = malloc(hl + ul * n + tl + 1);

	memcpy(s, head, hl);
	for (i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + n * ul, tail, tl + 1);
	return s;
}

static void
sequence(const struct imap_parser_limits *l, const char *in, size_t len, const char *want,
    const char *want_last)
{
	static const size_t steps[] = { 0, 1, 7, 4096 };
	struct imap_parser *p;
	char		 got[64], last[256];
	size_t		 s;

	if (len == 0)
		len = strlen(in);
	for (s = 0; s < 4; s++) {
		p = imap_parser_new(l);
		feed_all(p, in, len, steps[s], got, sizeof(got), last, sizeof(last));
		if (!t_str(got, want) || !t_str(last, want_last))
			printf("  step %zu: %.50s\n", steps[s], in);
		imap_parser_free(&p);
	}
}

/* sequence() over head + n * unit + tail */
static void
sequence_rep(const struct imap_parser_limits *l, const char *head, const char *unit, size_t n,
    const char *tail, const char *want, const char *want_last)
{
	char	*in = repeat(head, unit, n, tail);

	sequence(l, in, strlen(in), want, want_last);
	free(in);
}

/* "A1 X (((...)))" nested depth deep, then A2 NOOP */
static void
nested(size_t depth, const char *want)
{
	char	*open = repeat("A1 X ", "(", depth, "");

	sequence_rep(&lim, open, ")", depth, "\r\nA2 NOOP\r\n", want, "A2 NOOP");
	free(open);
}

static void
more_tests(void)
{
	struct imap_parser_limits l = lim;
	struct imap_parser	*p;
	const struct imap_cmd	*c;
	enum imap_parse		 res;
	size_t			 used, n;

	/* pipelining and recovery after errors */
	sequence(&lim, "A1 NOOP\r\nA2 CHECK\r\n", 0, "DD", "A2 CHECK");
	sequence(&lim, "A1 X \"a\\b\" rest\r\nA2 NOOP\r\n", 0, "ED", "A2 NOOP");
	sequence(&lim, "A1 APPEND INBOX {20000000}\r\nA2 NOOP\r\n", 0, "ED", "A2 NOOP");
	sequence_rep(&lim, "A1 X {5000+}\r\n", "x", 5000, "\r\nA2 NOOP\r\n", "ED", "A2 NOOP");
	sequence_rep(&lim, "A1 APPEND INBOX {5000+}\r\n", "x", 5000,
	    " {1+}\r\ny\r\nA2 NOOP\r\n", "ED", "A2 NOOP");
	/* a line skipped after an error keeps skipping its non-sync literals */
	sequence(&lim, "A1 X \x01 {3+}\r\nA0 {2+}\r\nA9\r\nA2 NOOP\r\n", 0, "ED", "A2 NOOP");
	sequence(&lim, "A1 X \x01 {3}\r\nA3 NOOP\r\n", 0, "ED", "A3 NOOP");

	/* nesting: 16 is fine, 17 and a bomb are refused without closing */
	nested(16, "DD");
	nested(17, "ED");
	/* skipping the rest of a bad line is not bounded by max_line: it costs no memory */
	sequence_rep(&lim, "A1 X ", "(", 100000, "\r\nA2 NOOP\r\n", "ED", "A2 NOOP");
	sequence_rep(&lim, "A1 X ", "(", 1000, "\r\nA2 NOOP\r\n", "ED", "A2 NOOP");

	/* an overlong line closes; so does one just past the limit */
	sequence_rep(&lim, "A1 X ", "a", 70000, "\r\n", "E", "Command line too long");
	l = lim;
	l.max_line = 20;
	sequence(&l, "A1 LOGIN abc defghi\r\n", 0, "E", "Command line too long");
	sequence(&l, "A1 LOGIN abc defgh\r\n", 0, "D", "A1 LOGIN abc defgh");

	/* too many arguments */
	sequence_rep(&lim, "A1 X", " a", 1200, "\r\nA2 NOOP\r\n", "ED", "A2 NOOP");

	/* literals count toward the line, except APPEND messages */
	sequence_rep(&lim, "A1 X {60000}\r\n", "y", 60000, " {6000}\r\nA2 NOOP\r\n", "ED",
	    "A2 NOOP");
	l = lim;
	l.max_line = 1024;
	sequence_rep(&l, "A1 APPEND INBOX {5000}\r\n", "m", 5000, "\r\n", "D",
	    "A1 APPEND INBOX <5000>");

	/* CONTINUE: nothing is read until the session says so; refusing resets */
	p = imap_parser_new(&lim);
	res = imap_parser_feed(p, "A1 APPEND INBOX {5}\r\nhello\r\n", 28, &used);
	t_int(res, IMAP_PARSE_CONTINUE);
	t_int(used, 21);
	t_int(imap_parser_literal(p)->size, 5);
	t_ok(imap_parser_literal(p)->stream);
	t_ok(!imap_parser_literal(p)->nonsync);
	/* the session decides on "+" by the command: it is shown so far */
	t_str(imap_parser_command(p)->name, "APPEND");
	t_int(imap_parser_command(p)->nargs, 2);
	t_str(imap_parser_command(p)->args[0].str, "INBOX");
	res = imap_parser_feed(p, "hello\r\n", 7, &used);
	t_int(res, IMAP_PARSE_CONTINUE);
	t_int(used, 0);
	imap_parser_reset(p);
	res = imap_parser_feed(p, "A2 NOOP\r\n", 9, &used);
	t_int(res, IMAP_PARSE_DONE);
	t_str(imap_parser_command(p)->tag, "A2");
	imap_parser_free(&p);

	/* the partial command at LITERAL, then the data, then the rest */
	p = imap_parser_new(&lim);
	res = imap_parser_feed(p, "A1 APPEND Sent (\\Seen) {3+}\r\nabc\r\n", 34, &used);
	t_int(res, IMAP_PARSE_LITERAL);
	t_int(used, 29);
	c = imap_parser_command(p);
	t_int(c->nargs, 3);
	t_str(c->name, "APPEND");
	t_str(c->args[0].str, "Sent");
	t_ok(imap_arg_is_list(&c->args[1]) && c->args[1].count == 1);
	t_int(c->args[2].type, IMAP_ARG_LITERAL_SIZE);
	t_int(c->args[2].literal_size, 3);
	t_ok(c->args[2].nonsync);
	t_int(imap_parser_literal_left(p), 3);
	res = imap_parser_feed(p, "ab", 2, &used);
	t_int(res, IMAP_PARSE_DATA);
	t_int(used, 2);
	t_int(imap_parser_literal_left(p), 1);
	res = imap_parser_feed(p, "c\r\n", 3, &used);
	t_int(res, IMAP_PARSE_DATA);
	t_int(used, 1);
	res = imap_parser_feed(p, "\r\n", 2, &used);
	t_int(res, IMAP_PARSE_DONE);
	imap_parser_free(&p);

	/* a mailbox literal in APPEND is not streamed */
	p = imap_parser_new(&lim);
	res = imap_parser_feed(p, "A1 APPEND {5}\r\n", 15, &used);
	t_int(res, IMAP_PARSE_CONTINUE);
	t_ok(!imap_parser_literal(p)->stream);
	imap_parser_free(&p);

	/* numbers: number64 bounds */
	p = imap_parser_new(&lim);
	res = imap_parser_feed(p, "A1 X 123 9223372036854775807 9223372036854775808 0 12a\r\n",
	    56, &used);
	t_int(res, IMAP_PARSE_DONE);
	c = imap_parser_command(p);
	n = c->nargs;
	t_int(n, 5);
	t_ok(c->args[0].numeric && c->args[0].num == 123);
	t_ok(c->args[1].numeric && c->args[1].num == IMAP_NUMBER64_MAX);
	t_ok(!c->args[2].numeric);
	t_ok(c->args[3].numeric && c->args[3].num == 0);
	t_ok(!c->args[4].numeric);
	{
		uint32_t v;
		uint64_t v64;

		t_ok(imap_arg_nz_number(&c->args[0], &v) && v == 123);
		t_ok(!imap_arg_nz_number(&c->args[3], &v));
		t_ok(!imap_arg_number(&c->args[1], &v));
		t_ok(imap_arg_number64(&c->args[1], &v64));
	}
	imap_parser_free(&p);

	/* after a fatal error the parser stays closed */
	l = lim;
	l.max_line = 10;
	p = imap_parser_new(&l);
	res = imap_parser_feed(p, "A1 XXXXXXXXXXXXXX\r\n", 19, &used);
	t_int(res, IMAP_PARSE_ERROR);
	t_ok(imap_parser_error(p)->close);
	res = imap_parser_feed(p, "A2 NOOP\r\n", 9, &used);
	t_int(res, IMAP_PARSE_ERROR);
	t_int(used, 0);
	imap_parser_free(&p);
	imap_parser_free(&p);	/* harmless twice */
}

/*
 * Feed in whole, one byte at a time and in 7-byte pieces; each must end in
 * DONE at the last byte with a first argument of want_items list items.
 * (sequence() cannot: its dump of a command this long would not fit.)
 */
static void
id_done(const struct imap_parser_limits *l, const char *in, size_t want_items)
{
	static const size_t steps[] = { 0, 1, 7 };
	struct imap_parser *p;
	enum imap_parse	 res = IMAP_PARSE_MORE;
	size_t		 len = strlen(in), off, n, used, s;

	for (s = 0; s < 3; s++) {
		p = imap_parser_new(l);
		for (off = 0; off < len && res != IMAP_PARSE_DONE; off += used) {
			n = steps[s] == 0 || steps[s] > len - off ? len - off : steps[s];
			res = imap_parser_feed(p, in + off, n, &used);
			if (res != IMAP_PARSE_MORE && res != IMAP_PARSE_DONE)
				break;
		}
		if (!t_int(res, IMAP_PARSE_DONE) || !t_int(off, len) ||
		    !t_int(imap_parser_command(p)->nargs, 1) ||
		    !t_int(imap_parser_command(p)->args[0].count, want_items))
			printf("  step %zu: %.40s\n", steps[s], in);
		res = IMAP_PARSE_MORE;
		imap_parser_free(&p);
	}
}

/*
 * RFC 2971's largest ID (30 pairs, 1024-octet values, as imaptest's "id" test
 * sends before login) fits max_line_id though it is past max_line; the same
 * line as another command, or an ID past max_line_id, is too long.
 */
static void
id_limit_tests(void)
{
	struct imap_parser_limits l = lim;
	char	*unit, *in;

	/* a 30-octet field and a 1024-octet value */
	unit = repeat("\"f23456789012345678901234567890\" \"", "1234567890", 102, "1234\" ");
	l.max_line = 8192;
	l.max_line_id = 30 * (2 + 30 + 1 + 2 + 1024 + 1) + 512;
	in = repeat("A1 ID (", unit, 29, "\"a\" NIL)\r\n");
	t_ok(strlen(in) > 30000);
	id_done(&l, in, 60);
	in[3] = 'i';		/* "id": command names are case-insensitive */
	in[4] = 'd';
	id_done(&l, in, 60);
	free(in);
	sequence_rep(&l, "A1 NOOP (", unit, 29, "\"a\" NIL)\r\n", "E", "Command line too long");
	sequence_rep(&l, "A1 X ID (", unit, 29, "\"a\" NIL)\r\n", "E", "Command line too long");
	sequence_rep(&l, "A1 ID (", unit, 31, "\"a\" NIL)\r\n", "E", "Command line too long");
	/* the raised limit ends with the command */
	in = repeat("A1 ID NIL\r\nA2 NOOP ", "a", 8200, "\r\n");
	sequence(&l, in, strlen(in), "DE", "Command line too long");
	free(in);
	/* without max_line_id an ID is held to max_line */
	l.max_line_id = 0;
	sequence_rep(&l, "A1 ID (", unit, 29, "\"a\" NIL)\r\n", "E", "Command line too long");
	free(unit);
}

/* imap_parser_trim between commands: the next command parses as before. */
static void
trim_tests(void)
{
	struct imap_parser_limits	 l = { .max_line = 1024, .max_message = 1 << 20,
	    .max_depth = 4, .max_args = 64 };
	struct imap_parser		*p = imap_parser_new(&l);
	const char			*a = "A1 IDLE\r\n", *b = "A2 FETCH 1 (FLAGS)\r\n";
	size_t				 used;

	t_int(imap_parser_feed(p, a, strlen(a), &used), IMAP_PARSE_DONE);
	t_int(used, strlen(a));
	imap_parser_trim(p);
	imap_parser_trim(p);		/* twice: nothing left to free */
	t_int(imap_parser_feed(p, b, strlen(b), &used), IMAP_PARSE_DONE);
	t_str(imap_parser_command(p)->tag, "A2");
	t_int(imap_parser_command(p)->nargs, 2);
	imap_parser_free(&p);
}

int
main(void)
{
	size_t	 i;

	t_begin("imap_parser");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(i);
	more_tests();
	id_limit_tests();
	trim_tests();
	return t_end();
}
