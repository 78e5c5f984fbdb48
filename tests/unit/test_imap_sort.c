/*
 * Unit tests for SORT (src/imap/sort.h): the sort-criteria parser
 * (table-driven, whole line and a byte at a time through the real command
 * parser), SORT/THREAD's "charset search-key" parse, the keys made from an
 * ENVELOPE (RFC 5256 mailbox parts, RFC 5957 display names, sent dates
 * falling back to the internal date) and the ordering with REVERSE and the
 * sequence-number tie-break.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/envelope.h"
#include "imap/search_run.h"
#include "imap/sort.h"
#include "imap_t.h"
#include "t.h"

static const struct {
	const char	*line;		/* after "A SORT " */
	int		 want;		/* number of keys, -1 error */
	const char	*keys;		/* "r" for a reversed key, then the key's number */
} crit_cases[] = {
	{ "(DATE) UTF-8 ALL",				1, "2" },
	{ "(date) UTF-8 ALL",				1, "2" },
	{ "(REVERSE DATE SUBJECT) UTF-8 ALL",		2, "r2 5" },
	{ "(ARRIVAL CC DATE FROM REVERSE SIZE SUBJECT TO) UTF-8 ALL", 7, "0 1 2 3 r4 5 6" },
	{ "(DISPLAYFROM REVERSE DISPLAYTO) UTF-8 ALL",	2, "7 r8" },
	{ "(REVERSE REVERSE DATE) UTF-8 ALL",		-1, NULL },
	{ "(REVERSE) UTF-8 ALL",			-1, NULL },
	{ "(DATE REVERSE) UTF-8 ALL",			-1, NULL },
	{ "() UTF-8 ALL",				-1, NULL },
	{ "DATE UTF-8 ALL",				-1, NULL },
	{ "(FOO) UTF-8 ALL",				-1, NULL },
	{ "((DATE)) UTF-8 ALL",				-1, NULL },
	{ "(\"DATE\") UTF-8 ALL",			-1, NULL },
	{ "(DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE)"
	  " UTF-8 ALL",					16, NULL },
	{ "(DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE"
	  " DATE) UTF-8 ALL",				-1, NULL },
};

static void
test_criteria(void)
{
	struct imap_parser	*p;
	const struct imap_cmd	*cmd;
	struct sort_criteria	 c;
	const char		*err;
	char			 line[512], keys[128];
	size_t			 i, k, o, step;
	int			 r;

	for (i = 0; i < sizeof(crit_cases) / sizeof(crit_cases[0]); i++) {
		for (step = 0; step <= 1; step++) {
			p = imap_parser_new(&lim);
			snprintf(line, sizeof(line), "A SORT %s\r\n", crit_cases[i].line);
			cmd = parse_line(p, line, step);
			if (!t_ok(cmd != NULL)) {
				imap_parser_free(&p);
				continue;
			}
			err = NULL;
			r = sort_parse_criteria(cmd->nargs ? &cmd->args[0] : NULL, &c, &err);
			if (crit_cases[i].want < 0) {
				if (!t_ok(r < 0 && err != NULL))
					printf("  for %s\n", crit_cases[i].line);
			} else if (t_ok(r == 0) && t_int(c.n, crit_cases[i].want) &&
			    crit_cases[i].keys != NULL) {
				for (k = 0, o = 0; k < c.n; k++)
					o += (size_t)snprintf(keys + o, sizeof(keys) - o, "%s%s%d",
					    k ? " " : "", c.reverse[k] ? "r" : "", (int)c.key[k]);
				t_str(keys, crit_cases[i].keys);
			}
			imap_parser_free(&p);
		}
	}
}

/* "charset search-key..." as SORT and THREAD take it */
static void
test_charset_first(void)
{
	static const struct { const char *line; int want; bool no; } cases[] = {
		{ "UTF-8 ALL", 0, false },
		{ "us-ascii FROM x SINCE 1-Jan-2024", 0, false },
		{ "UTF-8 OLDER 10 YOUNGER 5", 0, false },
		{ "KOI8-R ALL", -1, true },		/* NO [BADCHARSET] */
		{ "UTF-8", -1, false },
		{ "", -1, false },
		{ "ALL", -1, false },			/* "ALL" taken as the charset */
		{ "UTF-8 RETURN (MIN) ALL", -1, false },	/* no RETURN after the charset */
		{ "UTF-8 OLDER 0", -1, false },
		{ "UTF-8 BOGUS", -1, false },
	};
	struct imap_parser	*p;
	const struct imap_cmd	*cmd;
	struct search_query	*q;
	struct search_error	 err;
	char			 line[256];
	size_t			 i;
	int			 r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = imap_parser_new(&lim);
		snprintf(line, sizeof(line), "A THREAD %s\r\n", cases[i].line);
		if (!t_ok((cmd = parse_line(p, line, 0)) != NULL)) {
			imap_parser_free(&p);
			continue;
		}
		q = NULL;
		r = search_parse_charset_first(cmd->args, cmd->nargs, &q, &err);
		if (!t_int(r, cases[i].want) || (r < 0 && !t_ok(err.no == cases[i].no)))
			printf("  for \"%s\"\n", cases[i].line);
		search_query_free(&q);
		imap_parser_free(&p);
	}
}

static void
key(const char *name, const char *mailbox, const char *host, bool display, const char *want)
{
	struct env_addr	 a = {
		{ (char *)name, name ? strlen(name) : 0 },
		{ (char *)mailbox, mailbox ? strlen(mailbox) : 0 },
		{ (char *)host, host ? strlen(host) : 0 },
	};
	struct buf	 b;

	buf_init(&b, 1024);
	t_ok(sort_addr_key(&a, display, &b) == 0);
	t_str(buf_str(&b), want);
	buf_clear(&b);
}

static void
test_keys(void)
{
	struct envelope	 e;
	struct buf	 b;
	bool		 reply;

	key("Alice", "alice.smith", "Example.ORG", false, "ALICE.SMITH");
	key("Alice Smith", "alice", "example.org", true, "ALICE SMITH");
	key(NULL, "bob", "example.org", true, "BOB@EXAMPLE.ORG");
	key("", "bob", "example.org", true, "BOB@EXAMPLE.ORG");	/* empty name: the address */
	key("=?UTF-8?Q?=C3=A9mile_z?=", "e", "x", true, "\xc3\xa9MILE Z");
	key(NULL, "group", NULL, true, "GROUP");		/* a group's start: its name */
	key(NULL, "group", NULL, false, "GROUP");
	key(NULL, NULL, NULL, true, "");
	key(NULL, NULL, NULL, false, "");

	memset(&e, 0, sizeof(e));
	t_int(sort_sent_date(NULL, 77), 77);
	t_int(sort_sent_date(&e, 77), 77);			/* no Date: */
	e.date.s = (char *)"not a date";
	e.date.len = strlen(e.date.s);
	t_int(sort_sent_date(&e, 77), 77);
	e.date.s = (char *)"Thu, 1 Jan 1970 01:00:00 +0100";
	e.date.len = strlen(e.date.s);
	t_int(sort_sent_date(&e, 77), 0);

	buf_init(&b, 1024);
	e.subject.s = (char *)"Re: [List] Fwd: Hello World (fwd)";
	e.subject.len = strlen(e.subject.s);
	t_ok(sort_subject_key(&e, &b, &reply) == 0);
	t_str(buf_str(&b), "HELLO WORLD");
	t_ok(reply);
	buf_reset(&b);
	t_ok(sort_subject_key(NULL, &b, &reply) == 0 && b.len == 0 && !reply);
	buf_clear(&b);
}

/* 6 messages; keys from envelopes read back from ENVELOPE strings */
static const struct {
	const char	*env;
	int64_t		 idate;
	uint64_t	 size;
} msgs[] = {
	{ "(\"Mon, 1 Jan 2024 10:00:00 +0000\" \"b\" ((NIL NIL \"zed\" \"x\")) NIL NIL"
	  " ((\"Yan\" NIL \"a\" \"x\")) NIL NIL NIL NIL)", 500, 10 },
	{ "(\"Mon, 1 Jan 2024 09:00:00 -0200\" \"Re: a\" ((\"Bob\" NIL \"amy\" \"x\")) NIL NIL"
	  " NIL ((NIL NIL \"c\" \"x\")) NIL NIL NIL)", 400, 30 },
	{ "(NIL \"A\" ((NIL NIL \"amy\" \"x\")) NIL NIL ((NIL NIL \"b\" \"x\")) NIL NIL NIL NIL)",
	  1704103200, 20 },	/* no Date: the internal date, = message 1's date */
	{ "(\"garbage\" NIL NIL NIL NIL NIL NIL NIL NIL NIL)", 100, 20 },
	{ NULL, 300, 5 },	/* unreadable: empty keys, the internal date */
	{ "(\"Sun, 31 Dec 2023 23:00:00 +0000\" \"[x] B\" ((\"al\" NIL \"Carl\" \"x\")) NIL"
	  " NIL ((\"yan\" NIL \"d\" \"x\")) NIL NIL NIL NIL)", 200, 10 },
};
#define NMSGS (sizeof(msgs) / sizeof(msgs[0]))

static void
sorted(const char *crit, bool uid, const char *want)
{
	struct imap_parser	*p = imap_parser_new(&lim);
	const struct imap_cmd	*cmd;
	struct sort_criteria	 c;
	struct sort_table	*t;
	struct envelope		 e[NMSGS];
	struct sort_msg		 m;
	const uint32_t		*seqs, *uids;
	const char		*err;
	char			 line[256], out[128];
	size_t			 i, n, o = 0;

	snprintf(line, sizeof(line), "A SORT %s UTF-8 ALL\r\n", crit);
	if (!t_ok((cmd = parse_line(p, line, 0)) != NULL) ||
	    !t_ok(sort_parse_criteria(&cmd->args[0], &c, &err) == 0)) {
		imap_parser_free(&p);
		return;
	}
	imap_parser_free(&p);
	t = sort_table_new(&c);
	for (i = 0; i < NMSGS; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		m = (struct sort_msg){ .seq = (uint32_t)i + 1, .uid = (uint32_t)i * 10 + 10,
		    .idate = msgs[i].idate, .size = msgs[i].size };
		if (msgs[i].env != NULL &&
		    t_ok(envelope_read(msgs[i].env, strlen(msgs[i].env), &e[i]) == 0))
			m.env = &e[i];
		sort_table_add(t, &m);
		envelope_clear(&e[i]);		/* the table copied what it needs */
	}
	n = sort_table_sort(t, &seqs, &uids);
	t_int(n, NMSGS);
	out[0] = '\0';
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%u", i ? " " : "",
		    uid ? uids[i] : seqs[i]);
	if (!t_str(out, want))
		printf("  for %s\n", crit);
	sort_table_free(&t);
}

static void
test_order(void)
{
	/* ties keep mailbox order, also under REVERSE */
	sorted("(ARRIVAL)", false, "4 6 5 2 1 3");
	sorted("(REVERSE ARRIVAL)", false, "3 1 2 5 6 4");
	sorted("(REVERSE ARRIVAL)", true, "30 10 20 50 60 40");
	/* 4 and 5 have no usable date: their internal dates, 100 and 300 */
	sorted("(DATE)", false, "4 5 6 1 3 2");
	sorted("(SIZE)", false, "5 1 6 3 4 2");
	sorted("(REVERSE SIZE)", false, "2 3 4 1 6 5");
	sorted("(SIZE REVERSE ARRIVAL)", false, "5 1 6 3 4 2");
	sorted("(SUBJECT)", false, "4 5 2 3 1 6");
	sorted("(SUBJECT REVERSE DATE)", false, "5 4 2 3 1 6");
	sorted("(FROM)", false, "4 5 2 3 6 1");		/* "", "", AMY, AMY, CARL, ZED */
	sorted("(DISPLAYFROM)", false, "4 5 6 3 2 1");	/* "", "", AL, AMY@X, BOB, ZED@X */
	sorted("(TO)", false, "2 4 5 1 3 6");
	sorted("(DISPLAYTO)", false, "2 4 5 3 1 6");	/* "", "", "", B@X, YAN, YAN */
	sorted("(CC ARRIVAL)", false, "4 6 5 1 3 2");
	sorted("(REVERSE CC)", false, "2 1 3 4 5 6");
}

int
main(void)
{
	t_begin("imap_sort");
	test_criteria();
	test_charset_first();
	test_keys();
	test_order();
	return t_end();
}
