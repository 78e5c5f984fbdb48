/*
 * Unit tests for the SEARCH and FETCH argument parsers
 * (src/imap/search_parse.h, src/imap/fetch_parse.h).  Each command line
 * goes through the real command parser, whole and one byte at a time,
 * and the resulting tree is printed and compared.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/date.h"
#include "imap/fetch_parse.h"
#include "imap/parser.h"
#include "imap/search_parse.h"
#include "lib/buf.h"
#include "imap_t.h"
#include "t.h"

static const char *const key_names[] = {
	"ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "NEW", "OLD", "RECENT", "SEEN",
	"UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN", "SAVEDATESUPPORTED",
	"KEYWORD", "UNKEYWORD", "EMAILID", "THREADID",
	"BCC", "CC", "FROM", "TO", "SUBJECT", "BODY", "TEXT", "HEADER", "BEFORE", "ON", "SINCE",
	"SENTBEFORE", "SENTON", "SENTSINCE", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE",
	"LARGER", "SMALLER", "OLDER", "YOUNGER", "MODSEQ", "SET", "UID", "AND", "OR", "NOT",
};

static void
dump_key(struct buf *b, const struct search_key *k)
{
	const struct search_key	*c;
	int			 r = buf_adds(b, key_names[k->type]);

	switch (k->type) {
	case SEARCH_AND:
	case SEARCH_OR:
	case SEARCH_NOT:
		r |= buf_addc(b, '(');
		for (c = k->child; c != NULL; c = c->next) {
			dump_key(b, c);
			if (c->next != NULL)
				r |= buf_addc(b, ' ');
		}
		r |= buf_addc(b, ')');
		break;
	case SEARCH_SEQSET:
	case SEARCH_UIDSET:
		r |= buf_addc(b, '=');
		r |= seqset_format(&k->set, b);
		break;
	case SEARCH_BEFORE: case SEARCH_ON: case SEARCH_SINCE:
	case SEARCH_SENTBEFORE: case SEARCH_SENTON: case SEARCH_SENTSINCE:
	case SEARCH_SAVEDBEFORE: case SEARCH_SAVEDON: case SEARCH_SAVEDSINCE:
		r |= buf_addf(b, "=%u", k->date);
		break;
	case SEARCH_LARGER: case SEARCH_SMALLER: case SEARCH_OLDER: case SEARCH_YOUNGER:
		r |= buf_addf(b, "=%llu", (unsigned long long)k->num);
		break;
	case SEARCH_MODSEQ:
		if (k->field != NULL)
			r |= buf_addf(b, "[%s,%d]", k->field, (int)k->modseq_type);
		r |= buf_addf(b, "=%llu", (unsigned long long)k->num);
		break;
	default:
		if (k->field != NULL)
			r |= buf_addf(b, "[%s]", k->field);
		if (k->str != NULL)
			r |= buf_addf(b, "\"%s\"", k->str);
		break;
	}
	if (r != 0)
		abort();
}

static const struct {
	const char	*line;
	int		 want;
	const char	*tree;		/* want 0: the tree; -1: the response code or NULL */
	unsigned	 ret;
	int		 esearch;
} searches[] = {
	{ "ALL", 0, "AND(ALL)", 0, 0 },
	{ "seen unseen Deleted undeleted answered unanswered draft undraft flagged unflagged "
	  "new old recent", 0, "AND(SEEN UNSEEN DELETED UNDELETED ANSWERED UNANSWERED DRAFT "
	  "UNDRAFT FLAGGED UNFLAGGED NEW OLD RECENT)", 0, 0 },
	{ "FROM alice TO \"bob b\" CC c BCC d SUBJECT {3}\r\nhi! BODY x TEXT y", 0,
	  "AND(FROM\"alice\" TO\"bob b\" CC\"c\" BCC\"d\" SUBJECT\"hi!\" BODY\"x\" TEXT\"y\")",
	  0, 0 },
	{ "HEADER Message-ID \"<a@b>\" HEADER X-Spam \"\"", 0,
	  "AND(HEADER[Message-ID]\"<a@b>\" HEADER[X-Spam]\"\")", 0, 0 },
	{ "KEYWORD $Junk UNKEYWORD foo", 0, "AND(KEYWORD\"$Junk\" UNKEYWORD\"foo\")", 0, 0 },
	{ "BEFORE 1-Feb-2024 ON \"29-Feb-2024\" SINCE 31-dec-1999 SENTBEFORE 01-Jan-2000 "
	  "SENTON 9-Sep-2009 SENTSINCE 10-OCT-2010", 0,
	  "AND(BEFORE=20240201 ON=20240229 SINCE=19991231 SENTBEFORE=20000101 "
	  "SENTON=20090909 SENTSINCE=20101010)", 0, 0 },
	{ "LARGER 100 SMALLER 4294967296 OLDER 3600 YOUNGER 1", 0,
	  "AND(LARGER=100 SMALLER=4294967296 OLDER=3600 YOUNGER=1)", 0, 0 },
	{ "MODSEQ 620162338", 0, "AND(MODSEQ=620162338)", 0, 0 },
	{ "SAVEDATESUPPORTED SAVEDBEFORE 1-Jan-2025 SAVEDON 2-Jan-2025 SAVEDSINCE 3-Jan-2025", 0,
	  "AND(SAVEDATESUPPORTED SAVEDBEFORE=20250101 SAVEDON=20250102 SAVEDSINCE=20250103)",
	  0, 0 },
	{ "EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9", 0,
	  "AND(EMAILID\"M6d99ac3275bb4e\" THREADID\"T64b478a75b7ea9\")", 0, 0 },
	{ "MODSEQ \"/flags/\\\\draft\" all 620162338", 0,
	  "AND(MODSEQ[/flags/\\draft,0]=620162338)", 0, 0 },
	{ "MODSEQ \"/flags/\\\\seen\" priv 0", 0, "AND(MODSEQ[/flags/\\seen,1]=0)", 0, 0 },
	{ "1:5,7 UID 3:* NOT 2", 0, "AND(SET=1:5,7 UID=3:* NOT(SET=2))", 0, 0 },
	{ "$ UID $", 0, "AND(SET=$ UID=$)", 0, 0 },
	{ "OR SEEN FLAGGED", 0, "AND(OR(SEEN FLAGGED))", 0, 0 },
	{ "OR (SEEN FROM a) NOT (DELETED)", 0,
	  "AND(OR(AND(SEEN FROM\"a\") NOT(AND(DELETED))))", 0, 0 },
	{ "NOT NOT NOT SEEN", 0, "AND(NOT(NOT(NOT(SEEN))))", 0, 0 },
	{ "CHARSET UTF-8 SUBJECT \"Gr\xc3\xbc\xc3\x9f" "e\"", 0,
	  "AND(SUBJECT\"Gr\xc3\xbc\xc3\x9f" "e\")", 0, 0 },
	{ "CHARSET \"us-ascii\" ALL", 0, "AND(ALL)", 0, 0 },
	{ "RETURN (MIN MAX) UNSEEN", 0, "AND(UNSEEN)", SEARCH_RET_MIN | SEARCH_RET_MAX, 1 },
	{ "RETURN () ALL", 0, "AND(ALL)", SEARCH_RET_ALL, 1 },
	{ "RETURN (SAVE COUNT ALL) CHARSET UTF-8 ALL", 0, "AND(ALL)",
	  SEARCH_RET_SAVE | SEARCH_RET_COUNT | SEARCH_RET_ALL, 1 },

	{ "CHARSET ISO-8859-1 ALL", -1, "BADCHARSET (UTF-8 US-ASCII)", 0, 0 },
	{ "CHARSET", -1, NULL, 0, 0 },
	{ "", -1, NULL, 0, 0 },
	{ "()", -1, NULL, 0, 0 },
	{ "FOO", -1, NULL, 0, 0 },
	{ "FROM", -1, NULL, 0, 0 },
	{ "HEADER X", -1, NULL, 0, 0 },
	{ "OR SEEN", -1, NULL, 0, 0 },
	{ "NOT", -1, NULL, 0, 0 },
	{ "BEFORE 30-Feb-2024", -1, NULL, 0, 0 },
	{ "BEFORE 29-Feb-2023", -1, NULL, 0, 0 },
	{ "BEFORE 0-Jan-2024", -1, NULL, 0, 0 },
	{ "BEFORE 1-Foo-2024", -1, NULL, 0, 0 },
	{ "BEFORE 1-Jan-24", -1, NULL, 0, 0 },
	{ "BEFORE 001-Jan-2024", -1, NULL, 0, 0 },
	{ "BEFORE 1-Jan-2024x", -1, NULL, 0, 0 },
	{ "LARGER -1", -1, NULL, 0, 0 },
	{ "LARGER 9223372036854775808", -1, NULL, 0, 0 },
	{ "OLDER 0", -1, NULL, 0, 0 },
	{ "UID 0", -1, NULL, 0, 0 },
	{ "UID 1:2,0", -1, NULL, 0, 0 },	/* ranges allocated, then refused: no leak */
	{ "1,2,x", -1, NULL, 0, 0 },
	{ "1:", -1, NULL, 0, 0 },
	{ "4294967296", -1, NULL, 0, 0 },
	{ "KEYWORD \\Seen", -1, NULL, 0, 0 },
	{ "KEYWORD \"x y\"", -1, NULL, 0, 0 },
	{ "MODSEQ \"/flags/\\\\seen\" bogus 1", -1, NULL, 0, 0 },
	{ "MODSEQ \"/bogus\" all 1", -1, NULL, 0, 0 },
	{ "MODSEQ", -1, NULL, 0, 0 },
	{ "RETURN (FOO) ALL", -1, NULL, 0, 0 },
	{ "RETURN ALL", -1, NULL, 0, 0 },
	{ "EMAILID a.b", -1, NULL, 0, 0 },
	{ "THREADID \"x\"", -1, NULL, 0, 0 },
	{ "\"ALL\"", -1, NULL, 0, 0 },
	{ "SEEN (NOT)", -1, NULL, 0, 0 },
};

static void
searching(void)
{
	struct imap_parser	*p = imap_parser_new(&lim);
	const struct imap_cmd	*cmd;
	struct search_query	*q;
	struct search_error	 err;
	struct buf		 b, line;
	size_t			 i, step;
	int			 r;

	buf_init(&b, 1 << 16);
	buf_init(&line, 1 << 16);
	for (i = 0; i < sizeof(searches) / sizeof(searches[0]); i++) {
		for (step = 0; step < 2; step++) {
			buf_reset(&line);
			if (buf_addf(&line, "A1 SEARCH %s\r\n", searches[i].line) < 0)
				abort();
			cmd = parse_line(p, line.data, step);
			if (!t_ok(cmd != NULL))
				continue;
			q = NULL;
			r = search_parse(cmd->args, cmd->nargs, 32, &q, &err);
			if (!t_int(r, searches[i].want)) {
				printf("  search %s: %s\n", searches[i].line, r < 0 ? err.msg : "");
				search_query_free(&q);
				continue;
			}
			if (r < 0) {
				t_ok(q == NULL && err.msg != NULL);
				t_str(err.code, searches[i].tree);
				t_int(err.no, searches[i].tree != NULL);
				continue;
			}
			buf_reset(&b);
			dump_key(&b, q->root);
			t_str(buf_str(&b), searches[i].tree);
			t_int(q->ret, searches[i].ret);
			t_int(q->esearch, searches[i].esearch);
			search_query_free(&q);
		}
	}
	/* the query outlives the parser's tree; flags for the session */
	cmd = parse_line(p, "A1 SEARCH MODSEQ 5 UID $ SUBJECT x\r\n", 0);
	t_int(search_parse(cmd->args, cmd->nargs, 32, &q, &err), 0);
	t_ok(q->uses_modseq && q->uses_saved);
	t_ok(parse_line(p, "A2 NOOP other words here\r\n", 0) != NULL);
	t_str(q->root->child->next->next->str, "x");
	search_query_free(&q);
	search_query_free(&q);
	/* a depth limit stops NOT chains and nested groups */
	buf_reset(&line);
	r = buf_adds(&line, "A1 SEARCH");
	for (i = 0; i < 40; i++)
		r |= buf_adds(&line, " NOT");
	r |= buf_adds(&line, " SEEN\r\n");
	t_int(r, 0);
	cmd = parse_line(p, line.data, 0);
	t_int(search_parse(cmd->args, cmd->nargs, 32, &q, &err), -1);
	t_int(search_parse(cmd->args, cmd->nargs, 64, &q, &err), 0);
	search_query_free(&q);
	buf_clear(&b);
	buf_clear(&line);
	imap_parser_free(&p);
}

static void
dump_fetch(struct buf *b, const struct fetch_attrs *fa)
{
	size_t	 i, j;
	int	 r = 0;

	for (i = 0; i < fa->n; i++) {
		const struct fetch_item *it = &fa->items[i];

		r |= buf_addf(b, "%s%d", i ? " " : "", (int)it->type);
		if (it->label != NULL)
			r |= buf_addf(b, ":%s%s", it->label, it->peek ? ":peek" : "");
		if (it->partial)
			r |= buf_addf(b, ":%llu+%llu", (unsigned long long)it->offset,
			    (unsigned long long)it->count);
		for (j = 0; j < it->nfields; j++)
			r |= buf_addf(b, "%s%s", j ? "," : ":f=", it->fields[j]);
	}
	if (fa->changedsince)
		r |= buf_addf(b, " cs=%llu", (unsigned long long)fa->changedsince_modseq);
	if (fa->vanished)
		r |= buf_adds(b, " vanished");
	if (fa->sets_seen)
		r |= buf_adds(b, " seen");
	if (r != 0)
		abort();
}

static const struct {
	const char	*line;		/* after "A1 FETCH 1:* " or "A1 UID FETCH 1:* " */
	int		 uid;
	const char	*want;		/* NULL: must fail */
} fetches[] = {
	{ "ALL", 0, "1 2 5 0" },
	{ "FAST", 0, "1 2 5" },
	{ "full", 0, "1 2 5 0 7" },
	{ "FLAGS", 1, "1 9" },
	{ "(UID FLAGS)", 1, "9 1" },
	{ "(ENVELOPE FLAGS INTERNALDATE RFC822.SIZE RFC822.HEADER BODY BODYSTRUCTURE UID "
	  "MODSEQ EMAILID THREADID SAVEDATE PREVIEW)", 0, "0 1 2 5 4 7 8 9 10 11 12 13 14" },
	{ "(RFC822)", 0, "3 seen" },
	{ "RFC822.TEXT", 0, "6 seen" },
	{ "BODY[]", 0, "15:BODY[] seen" },
	{ "BODY.PEEK[]", 0, "15:BODY[]:peek" },
	{ "body.peek[1.2.3]<0.1024>", 0, "15:BODY[1.2.3]<0>:peek:0+1024" },
	{ "(BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1.MIME] BODY.PEEK[2.HEADER])", 0,
	  "15:BODY[HEADER]:peek 15:BODY[TEXT]:peek 15:BODY[1.MIME]:peek "
	  "15:BODY[2.HEADER]:peek" },
	{ "(BODY.PEEK[HEADER.FIELDS (From To \"X-Weird Name\")])", 0,
	  "15:BODY[HEADER.FIELDS (From To \"X-Weird Name\")]:peek:f=From,To,X-Weird Name" },
	{ "BODY[1.HEADER.FIELDS.NOT (Received)]<10.20>", 0,
	  "15:BODY[1.HEADER.FIELDS.NOT (Received)]<10>:10+20:f=Received seen" },
	{ "(BINARY[1] BINARY.PEEK[2.1]<5.5> BINARY.SIZE[3] BINARY.PEEK[])", 0,
	  "16:BINARY[1] 16:BINARY[2.1]<5>:peek:5+5 17:BINARY.SIZE[3]:peek 16:BINARY[]:peek seen" },
	{ "(FLAGS) (CHANGEDSINCE 12345)", 0, "1 10 cs=12345" },
	/* as NOTIFY (RFC 5465) sends it: lower case */
	{ "(uid body.peek[header.fields (from to subject)])", 0,
	  "9 15:BODY[HEADER.FIELDS (from to subject)]:peek:f=from,to,subject" },
	{ "(FLAGS) (CHANGEDSINCE 12345 VANISHED)", 1, "1 9 10 cs=12345 vanished" },
	/* RFC 8970 3.1: PREVIEW's own modifier list, in a list and alone */
	{ "(UID PREVIEW (LAZY) FLAGS)", 0, "9 14 1" },
	{ "PREVIEW (LAZY)", 0, "14" },
	{ "(PREVIEW (lazy LAZY))", 0, "14" },
	{ "PREVIEW (LAZY) (CHANGEDSINCE 3)", 0, NULL },
	{ "PREVIEW (CHANGEDSINCE 3)", 0, "14 10 cs=3" },

	{ "", 0, NULL },
	{ "()", 0, NULL },
	{ "(ALL)", 0, NULL },
	{ "(FLAGS FAST)", 0, NULL },
	{ "FOO", 0, NULL },
	{ "\"FLAGS\"", 0, NULL },
	{ "BODY[", 0, NULL },
	{ "BODY.PEEK", 0, NULL },
	{ "BINARY", 0, NULL },
	{ "BODY[MIME]", 0, NULL },
	{ "BODY[0]", 0, NULL },
	{ "BODY[1.]", 0, NULL },
	{ "BODY[.1]", 0, NULL },
	{ "BODY[1..2]", 0, NULL },
	{ "BODY[4294967296]", 0, NULL },
	{ "BODY[HEADER.FIELDS]", 0, NULL },
	{ "BODY[HEADER.FIELDS ()]", 0, NULL },
	{ "BODY[HEADER.FIELDS (a]", 0, NULL },
	{ "BODY[HEADER.FIELDS (\"\")]", 0, NULL },
	{ "BODY[FOO]", 0, NULL },
	{ "BODY[TEXT]x", 0, NULL },
	{ "BODY[]<0>", 0, NULL },
	{ "BODY[]<0.0>", 0, NULL },
	{ "BODY[]<1.2", 0, NULL },
	{ "BODY[]<-1.2>", 0, NULL },
	{ "BINARY[HEADER]", 0, NULL },
	{ "BINARY[1.TEXT]", 0, NULL },
	{ "BINARY.SIZE[1]<0.5>", 0, NULL },
	{ "BODYX[]", 0, NULL },
	{ "(FLAGS) (VANISHED)", 1, NULL },
	{ "(FLAGS) (CHANGEDSINCE 1 VANISHED)", 0, NULL },
	{ "(FLAGS) (CHANGEDSINCE x)", 0, NULL },
	{ "(FLAGS) (CHANGEDSINCE 1 CHANGEDSINCE 2)", 0, NULL },
	{ "(FLAGS) (CHANGEDSINCE 1) x", 0, NULL },
	{ "(FLAGS) FOO", 0, NULL },
	{ "(PREVIEW (FUZZY))", 0, NULL },
	{ "(PREVIEW ())", 0, NULL },
	{ "(FLAGS (LAZY))", 0, NULL },
	{ "((LAZY) PREVIEW)", 0, NULL },
	{ "FLAGS (LAZY)", 0, NULL },
};

static void
fetching(void)
{
	struct imap_parser	*p = imap_parser_new(&lim);
	const struct imap_cmd	*cmd;
	struct fetch_attrs	*fa;
	struct buf		 b, line;
	const char		*err;
	size_t			 i, step, off;
	int			 r;

	buf_init(&b, 1 << 16);
	buf_init(&line, 1 << 16);
	for (i = 0; i < sizeof(fetches) / sizeof(fetches[0]); i++) {
		for (step = 0; step < 2; step++) {
			buf_reset(&line);
			if (buf_addf(&line, "A1 %sFETCH 1:* %s\r\n", fetches[i].uid ? "UID " : "",
			    fetches[i].line) < 0)
				abort();
			cmd = parse_line(p, line.data, step);
			if (cmd == NULL) {
				/* a line the command parser refuses is fine for a bad case */
				t_ok(fetches[i].want == NULL);
				continue;
			}
			off = fetches[i].uid ? 2 : 1;	/* skip FETCH and the set */
			fa = NULL;
			r = fetch_parse(cmd->args + off, cmd->nargs - off, fetches[i].uid, &fa, &err);
			if (!t_int(r, fetches[i].want ? 0 : -1)) {
				printf("  fetch %s: %s\n", fetches[i].line, r < 0 ? err : "");
				fetch_attrs_free(&fa);
				continue;
			}
			if (r < 0) {
				t_ok(fa == NULL && err != NULL);
				continue;
			}
			buf_reset(&b);
			dump_fetch(&b, fa);
			if (!t_str(buf_str(&b), fetches[i].want))
				printf("  fetch %s\n", fetches[i].line);
			fetch_attrs_free(&fa);
		}
	}
	/* a deep part path is bounded */
	buf_reset(&line);
	r = buf_adds(&line, "A1 FETCH 1 BODY[1");
	for (i = 0; i < FETCH_MAX_PART_DEPTH; i++)
		r |= buf_adds(&line, ".1");
	r |= buf_adds(&line, "]\r\n");
	t_int(r, 0);
	cmd = parse_line(p, line.data, 0);
	t_ok(cmd != NULL);
	t_int(fetch_parse(cmd->args + 1, cmd->nargs - 1, false, &fa, &err), -1);
	buf_clear(&b);
	buf_clear(&line);
	imap_parser_free(&p);
}

static const struct {
	const char	*in;
	int		 ok;
	int64_t		 utc;
	int		 zone;
	const char	*out;		/* formatted back in the same zone */
} datetimes[] = {
	{ "05-Dec-2026 10:00:00 +0000", 1, 1796464800, 0, "05-Dec-2026 10:00:00 +0000" },
	{ " 5-Dec-2026 11:30:00 +0130", 1, 1796464800, 90, "05-Dec-2026 11:30:00 +0130" },
	{ "01-Jan-1970 00:00:00 +0000", 1, 0, 0, "01-Jan-1970 00:00:00 +0000" },
	{ "31-Dec-1969 19:00:00 -0500", 1, 0, -300, "31-Dec-1969 19:00:00 -0500" },
	{ "29-Feb-2024 23:59:59 +2359", 1, 1709251199 - 86340, 1439,
	  "29-Feb-2024 23:59:59 +2359" },
	{ "17-Jul-1996 02:44:25 -0700", 1, 837596665, -420, "17-Jul-1996 02:44:25 -0700" },
	{ "01-Mar-2000 00:00:00 +0000", 1, 951868800, 0, "01-Mar-2000 00:00:00 +0000" },
	{ "29-Feb-2023 00:00:00 +0000", 0, 0, 0, NULL },
	{ "5-Dec-2026 10:00:00 +0000", 0, 0, 0, NULL },
	{ "05-Dec-2026 24:00:00 +0000", 0, 0, 0, NULL },
	{ "05-Dec-2026 10:60:00 +0000", 0, 0, 0, NULL },
	{ "05-Dec-2026 10:00:00 0000", 0, 0, 0, NULL },
	{ "05-Dec-2026 10:00:00 +0060", 0, 0, 0, NULL },
	{ "05-Dec-2026T10:00:00 +0000", 0, 0, 0, NULL },
	{ "05-Dez-2026 10:00:00 +0000", 0, 0, 0, NULL },
	{ "05-Dec-2026 10:00:00 +00000", 0, 0, 0, NULL },
	{ "", 0, 0, 0, NULL },
};

static void
dates(void)
{
	char		 out[IMAP_DATETIME_LEN + 1];
	int64_t		 utc;
	int		 zone, r;
	uint32_t	 ymd;
	size_t		 i;

	for (i = 0; i < sizeof(datetimes) / sizeof(datetimes[0]); i++) {
		r = imap_parse_datetime(datetimes[i].in, strlen(datetimes[i].in), &utc, &zone);
		if (!t_int(r, datetimes[i].ok ? 0 : -1))
			printf("  datetime %s\n", datetimes[i].in);
		if (r < 0)
			continue;
		t_int(utc, datetimes[i].utc);
		t_int(zone, datetimes[i].zone);
		imap_format_datetime(utc, zone, out);
		t_str(out, datetimes[i].out);
	}
	imap_format_datetime(-1, 0, out);
	t_str(out, "31-Dec-1969 23:59:59 +0000");
	imap_format_datetime(INT64_MAX / 2, 0, out);	/* past 9999: clamped, still 26 bytes */
	t_int(strlen(out), IMAP_DATETIME_LEN);
	t_int(imap_parse_date("7-jUL-1996", 10, &ymd), 0);
	t_int(ymd, 19960707);
	t_int(imap_parse_date("31-Apr-2020", 11, &ymd), -1);
	t_int(imap_parse_date("29-Feb-2000", 11, &ymd), 0);
	t_int(imap_parse_date("29-Feb-1900", 11, &ymd), -1);
}

int
main(void)
{
	t_begin("imap_search_parse");
	searching();
	fetching();
	dates();
	return t_end();
}
