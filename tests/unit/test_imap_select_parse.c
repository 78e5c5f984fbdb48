/*
 * Unit tests for SELECT / EXAMINE parameters (src/imap/select_parse.h,
 * RFC 7162 CONDSTORE and QRESYNC).  Each line goes through the real
 * command parser, whole and one byte at a time; the parsed parameters are
 * printed and compared.
 */
#include <stdio.h>
#include <stdlib.h>

#include "imap/parser.h"
#include "imap/select_parse.h"
#include "lib/buf.h"
#include "imap_t.h"
#include "t.h"

static void
dump(struct buf *b, const struct select_params *p)
{
	int r = 0;

	r |= buf_addf(b, "%s", p->condstore ? "condstore" : "-");
	if (p->qresync)
		r |= buf_addf(b, " qresync %u %llu", p->uidvalidity,
		    (unsigned long long)p->modseq);
	if (p->has_known) {
		r |= buf_adds(b, " known=");
		r |= seqset_format(&p->known_uids, b);
	}
	if (p->has_match) {
		r |= buf_adds(b, " match=");
		r |= seqset_format(&p->seq_match, b);
		r |= buf_adds(b, "/");
		r |= seqset_format(&p->uid_match, b);
	}
	if (r != 0)
		abort();
}

static const struct {
	const char	*params;
	const char	*want;		/* NULL: BAD */
} cases[] = {
	{ "(CONDSTORE)", "condstore" },
	{ "(condstore)", "condstore" },
	{ "(QRESYNC (67890007 20050715194045000))", "condstore qresync 67890007 20050715194045000" },
	/* RFC 7162 3.2.5.2's example */
	{ "(QRESYNC (67890007 90060115194045000 41:211,214:541))",
	  "condstore qresync 67890007 90060115194045000 known=41:211,214:541" },
	{ "(QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 "
	  "15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))",
	  "condstore qresync 67890007 90060115194045000 known=1:29997 "
	  "match=5000,7500,9000,9990:9999/15000,22500,27000,29970,29973,29976,29979,29982,"
	  "29985,29988,29991,29994,29997" },
	/* known UIDs are normalised; seq-match without known-uids */
	{ "(QRESYNC (1 2 9,3:5,4))", "condstore qresync 1 2 known=3:5,9" },
	{ "(QRESYNC (1 2 (1:3 7:9)))", "condstore qresync 1 2 match=1:3/7:9" },
	{ "(CONDSTORE QRESYNC (1 9223372036854775807))",
	  "condstore qresync 1 9223372036854775807" },

	{ "()", NULL },
	{ "(FOO)", NULL },
	{ "CONDSTORE", NULL },
	{ "(QRESYNC)", NULL },
	{ "(QRESYNC ())", NULL },
	{ "(QRESYNC (1))", NULL },
	{ "(QRESYNC (0 5))", NULL },			/* uidvalidity is nz-number */
	{ "(QRESYNC (1 0))", NULL },			/* mod-sequence-value is >= 1 */
	{ "(QRESYNC (1 9223372036854775808))", NULL },
	{ "(QRESYNC (x 5))", NULL },
	{ "(QRESYNC (1 5 1:*))", NULL },		/* "*" never in known-uids */
	{ "(QRESYNC (1 5 $))", NULL },
	{ "(QRESYNC (1 5 1:3 (1:2 1:3)))", NULL },	/* 2 sequence numbers, 3 UIDs */
	{ "(QRESYNC (1 5 1:3 (1:3)))", NULL },
	{ "(QRESYNC (1 5 1:3 (1:* 1:3)))", NULL },
	{ "(QRESYNC (1 5 1:3 (1:3 4:6) x))", NULL },
	{ "(QRESYNC (1 5 \"1:3\"))", NULL },
	{ "(QRESYNC (1 5) QRESYNC (1 5))", NULL },
	{ "(QRESYNC 1 5)", NULL },
};

int
main(void)
{
	struct imap_parser	*p = imap_parser_new(&lim);
	const struct imap_cmd	*cmd;
	struct select_params	 sp;
	struct buf		 b, line;
	const char		*err;
	size_t			 i, step;
	int			 r;

	t_begin("imap_select_parse");
	buf_init(&b, 1 << 16);
	buf_init(&line, 1 << 16);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (step = 0; step < 2; step++) {
			buf_reset(&line);
			if (buf_addf(&line, "A1 SELECT INBOX %s\r\n", cases[i].params) < 0)
				abort();
			cmd = parse_line(p, line.data, step);
			if (!t_ok(cmd != NULL && cmd->nargs == 2)) {
				printf("  line %s\n", cases[i].params);
				continue;
			}
			err = NULL;
			r = select_params_parse(&cmd->args[1], &sp, &err);
			if (!t_int(r, cases[i].want ? 0 : -1)) {
				printf("  %s: %s\n", cases[i].params, r < 0 ? err : "accepted");
				select_params_clear(&sp);
				continue;
			}
			if (r < 0) {
				t_ok(err != NULL && !sp.qresync && sp.known_uids.r == NULL);
				continue;
			}
			buf_reset(&b);
			dump(&b, &sp);
			if (!t_str(buf_str(&b), cases[i].want))
				printf("  %s\n", cases[i].params);
			select_params_clear(&sp);
		}
	}
	buf_clear(&b);
	buf_clear(&line);
	imap_parser_free(&p);
	return t_end();
}
