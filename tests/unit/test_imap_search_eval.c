/*
 * Unit tests for SEARCH evaluation (src/imap/search_eval.h): every key of
 * RFC 3501 / RFC 9051 (and the extension keys the parser knows) against
 * five messages with known flags, sizes, dates and content, table-driven.
 * Each criteria line goes through the real command parser and
 * search_parse().  The content callback counts its calls: a search on
 * flags, sizes, dates and sets must never read a message.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/parser.h"
#include "imap/search_eval.h"
#include "imap/search_parse.h"
#include "lib/buf.h"
#include "store/store.h"
#include "t.h"

#define NOW	1700000000	/* 2023-11-14 22:13:20 UTC */

static const struct imap_parser_limits lim = {
	.max_line = 65536, .max_literal = 65536, .max_message = 1 << 20,
	.max_nonsync = 4096, .max_depth = 16, .max_args = 5000,
};

static const char *const contents[] = {
	/* 1: plain CRLF */
	"From: Alice Example <alice@example.org>\r\n"
	"To: bob@example.com\r\n"
	"Subject: Hello world\r\n"
	"Date: Mon, 1 Jan 2024 10:00:00 +0100\r\n"
	"\r\n"
	"The quick brown fox.\r\n",
	/* 2: LF on disk, an encoded word, a quoted-printable UTF-8 body */
	"From: carol@example.net\n"
	"To: bob@example.com\n"
	"Cc: Carol Copy <carol@example.net>\n"
	"Subject: =?UTF-8?B?w5xiZXIgR3LDvMOfZQ==?=\n"
	"Date: Thu, 15 Feb 2024 23:30:00 -0800\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"Un caf=C3=A9 cr=C3=A8me, s'il vous pla=\n"
	"=C3=AEt.\n",
	/* 3: multipart, Latin-1 QP and a base64 part, an obsolete 2-digit year */
	"From: =?ISO-8859-1?Q?Ren=E9?= <rene@example.fr>\r\n"
	"Subject: Report\r\n"
	"Date: 1 Jun 20 08:00:00 +0000\r\n"
	"Content-Type: multipart/mixed; boundary=b1\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"A na=EFve summary.\r\n"
	"--b1\r\n"
	"Content-Type: text/plain\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"VGhlIHNlY3JldCBiYW5hbmEgcmVjaXBlLgo=\r\n"
	"--b1\r\n"
	"Content-Type: application/octet-stream\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"AAECAwQF\r\n"
	"--b1--\r\n",
	/* 4: Bcc, a custom header, Greek subject, Cyrillic body, no Date: */
	"From: dave@example.com\r\n"
	"Bcc: Dave Hidden <dave@example.com>\r\n"
	"To: <eve (the boss)@ (her) example.org>\r\n"
	"X-Custom: yes please\r\n"
	"Subject: =?UTF-8?Q?=CE=9A=CE=91=CE=9B=CE=97=CE=9C=CE=95=CE=A1=CE=91?=\r\n"
	"Content-Type: text/plain; charset=koi8-r\r\n"
	"\r\n"
	"\xf0\xd2\xc9\xd7\xc5\xd4 \xed\xc9\xd2\r\n",		/* "Привет Мир" in KOI8-R */
	/* 5: its file cannot be read */
	NULL,
};

static const struct search_msg msgs[] = {
	{ .seq = 1, .uid = 10, .flags = STORE_F_SEEN, .keywords = 0x1, .size = 100,
	  .modseq = 5, .idate = 1704110400, .iday = 20240101, .sday = 20240101,
	  .emailid = "M1" },
	{ .seq = 2, .uid = 20, .flags = STORE_F_SEEN | STORE_F_FLAGGED | STORE_F_ANSWERED,
	  .keywords = 0x3, .size = 2000, .modseq = 9, .idate = 1708000000, .iday = 20240215,
	  .sday = 20240215, .emailid = "M0123456789abcdef" },
	{ .seq = 3, .uid = 30, .flags = STORE_F_DELETED | STORE_F_DRAFT, .recent = true,
	  .size = 50, .modseq = 7, .idate = 1591012800, .iday = 20200601,
	  .sday = 20240301 },	/* APPENDed with an old date: saved later */
	{ .seq = 4, .uid = 40, .recent = true, .size = 5000, .modseq = 12,
	  .idate = NOW - 100, .iday = 20231114, .sday = 20231114,
	  .emailid = "M0123456789abcdef" },	/* a copy of 2 */
	{ .seq = 5, .uid = 50, .flags = STORE_F_SEEN, .size = 100, .modseq = 1,
	  .idate = NOW - 100000, .iday = 20231113, .sday = 20231113 },
};
#define NMSGS	(sizeof(msgs) / sizeof(msgs[0]))

static unsigned content_calls;

static int
content_cb(void *arg, const struct search_msg *m, const char **data_r, size_t *len_r)
{
	content_calls++;
	if (contents[m->seq - 1] == NULL)
		return -1;
	*data_r = contents[m->seq - 1];
	*len_r = strlen(contents[m->seq - 1]);
	return 0;
}

static int
keyword_cb(void *arg, const char *name)
{
	if (strcasecmp(name, "$Label1") == 0)
		return 0;
	if (strcasecmp(name, "Work") == 0)
		return 1;
	return -1;
}

/* Parse "SEARCH <criteria>"; NULL (and a failed check) on error. */
static struct search_query *
query(struct imap_parser *p, const char *criteria)
{
	char			 line[1024];
	const struct imap_cmd	*cmd = NULL;
	struct search_query	*q = NULL;
	struct search_error	 err;
	size_t			 used, off = 0, len;
	enum imap_parse		 r = IMAP_PARSE_MORE;

	len = (size_t)snprintf(line, sizeof(line), "A SEARCH %s\r\n", criteria);
	while (off < len && r != IMAP_PARSE_DONE && r != IMAP_PARSE_ERROR) {
		r = imap_parser_feed(p, line + off, len - off, &used);
		if (r == IMAP_PARSE_CONTINUE)
			imap_parser_continue(p);
		off += used;
	}
	if (r == IMAP_PARSE_DONE)
		cmd = imap_parser_command(p);
	if (!t_ok(cmd != NULL) ||
	    !t_ok(search_parse(cmd->args, cmd->nargs, 16, &q, &err) == 0)) {
		printf("  criteria: %s\n", criteria);
		return NULL;
	}
	return q;
}

/* The sequence numbers of the matches, "1 3", or "-" for none. */
static void
run(const char *criteria, const struct seqset *saved, char *out, size_t outsz)
{
	struct imap_parser	*p = imap_parser_new(&lim);
	struct search_query	*q = query(p, criteria);
	struct search_ctx	 ctx = { .now = NOW, .saved = saved, .keyword_index = keyword_cb,
				    .content = content_cb };
	size_t			 i, o = 0;

	out[0] = '\0';
	if (q != NULL) {
		search_eval_prepare(q, NMSGS, msgs[NMSGS - 1].uid);
		for (i = 0; i < NMSGS; i++)
			if (search_eval(q, &ctx, &msgs[i]) == SEARCH_YES)
				o += (size_t)snprintf(out + o, outsz - o, "%s%u", o ? " " : "",
				    msgs[i].seq);
		search_query_free(&q);
	}
	if (o == 0)
		snprintf(out, outsz, "-");
	imap_parser_free(&p);
}

static const struct {
	const char	*criteria;
	const char	*want;
	bool		 content;	/* may read messages */
} cases[] = {
	/* flags and states */
	{ "ALL",			"1 2 3 4 5",	false },
	{ "ANSWERED",			"2",		false },
	{ "UNANSWERED",			"1 3 4 5",	false },
	{ "DELETED",			"3",		false },
	{ "UNDELETED",			"1 2 4 5",	false },
	{ "DRAFT",			"3",		false },
	{ "UNDRAFT",			"1 2 4 5",	false },
	{ "FLAGGED",			"2",		false },
	{ "UNFLAGGED",			"1 3 4 5",	false },
	{ "SEEN",			"1 2 5",	false },
	{ "UNSEEN",			"3 4",		false },
	{ "RECENT",			"3 4",		false },
	{ "NEW",			"3 4",		false },
	{ "OLD",			"1 2 5",	false },
	{ "KEYWORD $label1",		"1 2",		false },
	{ "KEYWORD Work",		"2",		false },
	{ "KEYWORD Unknown",		"-",		false },
	{ "UNKEYWORD Work",		"1 3 4 5",	false },
	{ "UNKEYWORD Unknown",		"1 2 3 4 5",	false },
	{ "EMAILID abc",		"-",		false },
	{ "EMAILID M0123456789abcdef",	"2 4",		false },
	{ "EMAILID M0123456789ABCDEF",	"-",		false },	/* ids are exact */
	{ "NOT EMAILID M1",		"2 3 4 5",	false },
	{ "THREADID abc",		"-",		true },
	/* no Message-ID: a thread of one, from the EMAILID (2 and its copy 4) */
	{ "THREADID T0123456789abcdef",	"2 4",		true },
	{ "NOT THREADID T0123456789abcdef", "1 3",	true },	/* 5 is unreadable */
	{ "SAVEDATESUPPORTED",		"1 2 3 4 5",	false },
	/* sizes and internal dates */
	{ "LARGER 100",			"2 4",		false },
	{ "SMALLER 100",		"3",		false },
	{ "LARGER 4999 SMALLER 5001",	"4",		false },
	{ "BEFORE 1-Jan-2024",		"3 4 5",	false },
	{ "ON 15-Feb-2024",		"2",		false },
	{ "SINCE 14-Nov-2023",		"1 2 4",	false },
	{ "SAVEDBEFORE 1-Jan-2024",	"4 5",		false },
	{ "SAVEDON 1-Mar-2024",		"3",		false },
	{ "SAVEDON 1-Jun-2020",		"-",		false },
	{ "SAVEDSINCE 1-Jan-2024",	"1 2 3",	false },
	{ "OLDER 1000",			"3 5",		false },
	{ "YOUNGER 1000",		"1 2 4",	false },	/* 1, 2: in the future */
	{ "MODSEQ 9",			"2 4",		false },
	/* sets */
	{ "2:4",			"2 3 4",	false },
	{ "4:*",			"4 5",		false },
	{ "*",				"5",		false },
	{ "1,3,9",			"1 3",		false },
	{ "UID 20:30",			"2 3",		false },
	{ "UID 35:*",			"4 5",		false },
	{ "UID 1:9",			"-",		false },
	{ "$",				"-",		false },	/* nothing saved */
	/* logic */
	{ "SEEN FLAGGED",		"2",		false },
	{ "(SEEN (FLAGGED))",		"2",		false },
	{ "OR DELETED FLAGGED",		"2 3",		false },
	{ "NOT SEEN",			"3 4",		false },
	{ "NOT NOT SEEN",		"1 2 5",	false },
	{ "OR (SEEN ANSWERED) NOT 1:4",	"2 5",		false },
	/* headers, decoded */
	{ "FROM alice",			"1",		true },
	{ "FROM \"ALICE EXAMPLE\"",	"1",		true },
	{ "FROM \"René\"",			"3",		true },
	{ "FROM \"RENÉ\"",			"3",		true },
	{ "TO bob@example.com",		"1 2",		true },
	/* the parsed address, without the comments inside it */
	{ "TO eve@example.org",		"4",		true },
	{ "TO \"the boss\"",		"4",		true },
	{ "SUBJECT eve@example.org",	"-",		true },
	{ "CC \"carol copy\"",		"2",		true },
	{ "BCC hidden",			"4",		true },
	{ "SUBJECT HELLO",		"1",		true },
	{ "SUBJECT \"über grüße\"",	"2",		true },
	{ "SUBJECT \"καλημερα\"",		"4",		true },
	{ "SUBJECT \"\"",		"1 2 3 4",	true },	/* has a Subject */
	{ "HEADER X-Custom \"\"",	"4",		true },
	{ "HEADER x-custom PLEASE",	"4",		true },
	{ "HEADER X-Other \"\"",	"-",		true },
	{ "HEADER Content-Type koi8",	"4",		true },
	/* Date: header */
	{ "SENTON 15-Feb-2024",		"2",		true },
	{ "SENTBEFORE 1-Jan-2024",	"3",		true },
	{ "SENTSINCE 1-Jan-2024",	"1 2",		true },
	{ "SENTON 1-Jun-2020",		"3",		true },
	/* bodies, transfer- and charset-decoded */
	{ "BODY quick",			"1",		true },
	{ "BODY hello",			"-",		true },
	{ "TEXT hello",			"1",		true },
	{ "BODY \"CAFÉ CRÈME\"",	"2",		true },
	{ "BODY \"plaît\"",			"2",		true },	/* across a soft line break */
	{ "BODY \"naïve\"",			"3",		true },
	{ "BODY \"banana recipe\"",	"3",		true },
	{ "TEXT AAECAwQF",		"-",		true },	/* not a text part */
	{ "BODY \"привет мир\"",	"4",		true },
	{ "TEXT report",		"3",		true },
	{ "BODY \"\"",			"1 2 3 4",	true },
	/* mixed: content only where the cheap keys leave it open */
	{ "FLAGGED BODY \"café\"",		"2",		true },
	{ "OR SEEN BODY banana",	"1 2 3 5",	true },
	{ "NOT BODY fox",		"2 3 4",	true },
	{ "UNSEEN SUBJECT report",	"3",		true },
};

static void
test_cases(void)
{
	char		 got[64];
	size_t		 i;
	unsigned	 before;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		before = content_calls;
		run(cases[i].criteria, NULL, got, sizeof(got));
		if (!t_str(got, cases[i].want))
			printf("  criteria: %s\n", cases[i].criteria);
		if (!cases[i].content && !t_ok(content_calls == before))
			printf("  read a message for: %s\n", cases[i].criteria);
	}
}

/* Only the messages the cheap keys leave open are read. */
static void
test_lazy_content(void)
{
	char got[64];

	content_calls = 0;
	run("FLAGGED BODY \"café\"", NULL, got, sizeof(got));
	t_int(content_calls, 1);
	content_calls = 0;
	run("OR SEEN BODY banana", NULL, got, sizeof(got));
	t_int(content_calls, 2);	/* 3 and 4 */
	content_calls = 0;
	run("BODY x SUBJECT y FROM z", NULL, got, sizeof(got));
	t_int(content_calls, NMSGS);	/* once per message, however many keys */
}

static void
test_saved(void)
{
	struct seqset	 saved;
	char		 got[64];

	seqset_init(&saved);
	seqset_add_range(&saved, 20, 20);
	seqset_add_range(&saved, 40, 45);
	seqset_normalize(&saved);
	run("$", &saved, got, sizeof(got));
	t_str(got, "2 4");
	run("UID $", &saved, got, sizeof(got));
	t_str(got, "2 4");
	run("OR $ 1", &saved, got, sizeof(got));
	t_str(got, "1 2 4");
	run("NOT $", &saved, got, sizeof(got));
	t_str(got, "1 3 5");
	seqset_clear(&saved);
}

static void
test_needs_content(void)
{
	/* content, internal date, size: what a search must read per message */
	static const struct { const char *c; bool want, idate, size; } t[] = {
		{ "ALL", false, false, false },
		{ "SEEN 1:3 LARGER 5", false, false, true },
		{ "NOT OR 1 2", false, false, false },
		{ "BODY x", true, false, false }, { "NOT SUBJECT x", true, false, false },
		{ "OR SEEN TEXT x", true, false, false }, { "OR TEXT x SEEN", true, false, false },
		{ "(SEEN (SENTON 1-Jan-2020))", true, false, false },
		{ "HEADER a b", true, false, false }, { "OR 1 OR 2 CC x", true, false, false },
		{ "TEXT x SINCE 1-Jan-2020", true, true, false },
		{ "NOT BEFORE 1-Jan-2020", false, true, false },
		{ "OR SEEN (ON 1-Jan-2020)", false, true, false },
		{ "OR 1 OR 2 YOUNGER 60", false, true, false },
		{ "OLDER 60 NOT SMALLER 10", false, true, true },
		{ "SAVEDSINCE 1-Jan-2020 SENTBEFORE 1-Jan-2020", true, false, false },
		{ "OR (SEEN) (NOT LARGER 1)", false, false, true },
	};
	struct imap_parser	*p = imap_parser_new(&lim);
	struct search_query	*q;
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if ((q = query(p, t[i].c)) == NULL)
			continue;
		if (!t_ok(search_needs_content(q) == t[i].want) ||
		    !t_ok(search_needs_idate(q) == t[i].idate) ||
		    !t_ok(search_needs_size(q) == t[i].size))
			printf("  criteria: %s\n", t[i].c);
		search_query_free(&q);
	}
	imap_parser_free(&p);
}

static void
test_text_match(void)
{
	static const struct { const char *hay, *needle; bool want; } t[] = {
		{ "Hello World", "world", true },
		{ "Hello World", "WORLD", true },
		{ "Hello", "", true },
		{ "", "x", false },
		{ "abc", "abcd", false },
		{ "ÜBER", "über", true },
		{ "Ørsted Æble", "øRSTED æBLE", true },
		{ "ŁÓDŹ", "łódź", true },
		{ "ΣΟΦΙΑ", "σοφια", true },
		{ "ΣΟΦΟΣ", "σοφος", true },
		{ "σοφος", "ΣΟΦΟΣ", true },	/* final sigma folds too */
		{ "МОСКВА Ёлка", "москва ёлка", true },
		{ "×÷", "×÷", true },		/* not letters: unchanged */
		{ "straße", "STRASSE", false },	/* no full case folding */
		{ "a\xc3", "a\xc3", true },	/* a cut sequence matches itself */
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!t_ok(search_text_match(t[i].hay, strlen(t[i].hay), t[i].needle,
		    strlen(t[i].needle)) == t[i].want))
			printf("  %s ~ %s\n", t[i].hay, t[i].needle);
}

static void
test_sent_date(void)
{
	static const struct { const char *in; int r; uint32_t want; } t[] = {
		{ "Mon, 1 Jan 2024 10:00:00 +0100", 0, 20240101 },
		{ "  Thu,  15 feb 2024 23:30 -0800", 0, 20240215 },
		{ "1 Jun 20 08:00:00 +0000", 0, 20200601 },
		{ "1 Jun 99 08:00:00 +0000", 0, 19990601 },
		{ "1 Jun 103 08:00:00 +0000", 0, 20030601 },
		{ "01-Dec-2023", 0, 20231201 },
		{ "Tue, 31 Dec 1996 (comment)", 0, 19961231 },
		{ "", -1, 0 },
		{ "Mon,", -1, 0 },
		{ "32 Jan 2024", -1, 0 },
		{ "0 Jan 2024", -1, 0 },
		{ "1 Foo 2024", -1, 0 },
		{ "1 Jan", -1, 0 },
		{ "1 Jan 2", -1, 0 },
		{ "123 Jan 2024", -1, 0 },
		{ "1 Ja", -1, 0 },
	};
	uint32_t	d;
	size_t		i;
	int		r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		d = 0;
		r = search_parse_sent_date(t[i].in, strlen(t[i].in), &d);
		if (!t_int(r, t[i].r) || (r == 0 && !t_int(d, t[i].want)))
			printf("  date: %s\n", t[i].in);
	}
}

int
main(void)
{
	t_begin("imap_search_eval");
	test_cases();
	test_lazy_content();
	test_saved();
	test_needs_content();
	test_text_match();
	test_sent_date();
	return t_end();
}
