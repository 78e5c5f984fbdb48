/*
 * Unit tests for the mailbox view's pure parts (src/imap/view.c): flag
 * lists taken apart on the loop (table-driven), keyword resolution and
 * creation on a real Maildir (the 27th refused), sequence sets and UID
 * sets resolved against a view with holes ("*" included), and the
 * command table's rows for the view's commands and their capabilities.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap/client.h"
#include "imap/parser.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "store/store.h"
#include "store_t.h"
#include "t.h"

static struct imap_parser *parser;

/* The arguments of "a X <args>\r\n", parsed whole. */
static const struct imap_cmd *
parse(const char *args)
{
	char	line[1024];
	size_t	used;

	snprintf(line, sizeof(line), "a X %s\r\n", args);
	imap_parser_reset(parser);
	if (imap_parser_feed(parser, line, strlen(line), &used) != IMAP_PARSE_DONE)
		return NULL;
	return imap_parser_command(parser);
}

static const struct {
	const char	*in;
	int		 want;
	uint32_t	 flags;
	const char	*kws;	/* space separated, as collected */
} flag_cases[] = {
	{ "(\\Seen)",			 0, STORE_F_SEEN, "" },
	{ "\\Seen \\Deleted",		 0, STORE_F_SEEN | STORE_F_DELETED, "" },
	{ "(\\seen \\ANSWERED $Work)",	 0, STORE_F_SEEN | STORE_F_ANSWERED, "$Work" },
	{ "()",				 0, 0, "" },
	{ "(\\Flagged \\Draft a b)",	 0, STORE_F_FLAGGED | STORE_F_DRAFT, "a b" },
	{ "(\\Recent)",			-1, 0, NULL },
	{ "(\\Bogus)",			-1, 0, NULL },
	{ "(\"quoted\")",		-1, 0, NULL },
	{ "((nested))",			-1, 0, NULL },
};

static void
test_flag_names(void)
{
	struct imap_flag_names	 fn;
	const struct imap_cmd	*cmd;
	const char		*err;
	struct buf		 b;
	size_t			 i, k;
	int			 r;

	buf_init(&b, 4096);
	for (i = 0; i < sizeof(flag_cases) / sizeof(flag_cases[0]); i++) {
		err = NULL;
		if (!t_ok((cmd = parse(flag_cases[i].in)) != NULL))
			continue;
		r = imap_flag_names_parse(cmd->args, cmd->nargs, &fn, &err);
		t_int(r, flag_cases[i].want);
		if (r < 0) {
			t_ok(err != NULL);
			t_ok(fn.nkw == 0 && fn.kw == NULL);
			continue;
		}
		t_int(fn.flags, flag_cases[i].flags);
		buf_reset(&b);
		for (k = 0; k < fn.nkw; k++)
			(void)buf_addf(&b, "%s%s", k ? " " : "", fn.kw[k]);
		t_str(buf_str(&b), flag_cases[i].kws);
		imap_flag_names_clear(&fn);
	}
	buf_clear(&b);
}

static void
test_keywords(const char *root)
{
	struct store_mailbox	*mb = store_open(root, "INBOX", STORE_O_CREATE | STORE_O_NOFSYNC);
	struct imap_flag_names	 fn;
	const struct imap_cmd	*cmd;
	const char		*err = NULL;
	char			 list[1024];
	uint32_t		 kw;
	size_t			 i, o;

	t_ok(mb != NULL && store_sync(mb, NULL, NULL) == 0);
	/* Unknown and not created: matches nothing (-FLAGS). */
	cmd = parse("(nothere)");
	t_ok(imap_flag_names_parse(cmd->args, cmd->nargs, &fn, &err) == 0);
	t_int(imap_flag_names_resolve(mb, &fn, false, &kw, &err), 0);
	t_int(kw, 0);
	/* Created: bit 0, then found again in any case. */
	t_int(imap_flag_names_resolve(mb, &fn, true, &kw, &err), 0);
	t_int(kw, 1);
	imap_flag_names_clear(&fn);
	cmd = parse("(NOTHERE)");
	t_ok(imap_flag_names_parse(cmd->args, cmd->nargs, &fn, &err) == 0);
	t_int(imap_flag_names_resolve(mb, &fn, false, &kw, &err), 0);
	t_int(kw, 1);
	imap_flag_names_clear(&fn);
	/* 25 more fill the 26 slots; the 27th is refused. */
	o = (size_t)snprintf(list, sizeof(list), "(");
	for (i = 0; i < 25; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "k%zu ", i);
	snprintf(list + o - 1, sizeof(list) - o + 1, ")");
	cmd = parse(list);
	t_ok(imap_flag_names_parse(cmd->args, cmd->nargs, &fn, &err) == 0);
	t_int(imap_flag_names_resolve(mb, &fn, true, &kw, &err), 0);
	t_int(kw, 0x03fffffe);
	imap_flag_names_clear(&fn);
	cmd = parse("(onetoomany)");
	t_ok(imap_flag_names_parse(cmd->args, cmd->nargs, &fn, &err) == 0);
	err = NULL;
	t_int(imap_flag_names_resolve(mb, &fn, true, &kw, &err), -1);
	t_ok(err != NULL && strstr(err, "Too many keywords") != NULL);
	imap_flag_names_clear(&fn);
	store_close(&mb);
}

/* A view with UIDs 2 4 6 8 10 (1 3 5 7 9 expunged). */
static void
test_resolve(const char *root)
{
	static const struct {
		const char	*set;
		bool		 uid;
		int		 want;
		const char	*out;
	} cases[] = {
		{ "1:*",	false,	 0, "1:5" },
		{ "*",		false,	 0, "5" },
		{ "*:4",	false,	 0, "4:5" },
		{ "2,4,1",	false,	 0, "1:2,4" },
		{ "6",		false,	-1, NULL },
		{ "1:*",	true,	 0, "1:5" },
		{ "*",		true,	 0, "5" },
		{ "3:7",	true,	 0, "2:3" },
		{ "1,3,5",	true,	 0, "" },
		{ "11:20",	true,	 0, "" },
		{ "20:*",	true,	 0, "5" },	/* RFC 9051 6.4.8: 20:* is 10:20 */
		{ "4:4294967295", true,	 0, "2:5" },
	};
	struct imap_client	 c;
	struct seqset		 in, out;
	struct buf		 b;
	char			 dir[600], name[64], data[64];
	const char		*err;
	uint32_t		 uids[5];
	size_t			 i;

	snprintf(dir, sizeof(dir), "%s/r", root);
	mkmaildir(dir);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "%zu.M%zuP1.host", 1000 + i, i);
		snprintf(data, sizeof(data), "Subject: %zu\r\n\r\nx\r\n", i);
		put_msg(dir, "new", name, data);
	}
	memset(&c, 0, sizeof(c));
	c.mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_ok(c.mb != NULL && store_sync(c.mb, NULL, NULL) == 0);
	t_int(store_count(c.mb), 10);
	for (i = 0; i < 5; i++)
		uids[i] = tmsg(c.mb, i * 2).uid;
	t_ok(store_expunge(c.mb, uids, 5) == 0 && store_sync(c.mb, NULL, NULL) == 0);
	t_int(store_count(c.mb), 5);
	t_int(tmsg(c.mb, 0).uid, 2);
	seqset_init(&in);
	seqset_init(&out);
	buf_init(&b, 1024);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_ok(seqset_parse(&in, cases[i].set, strlen(cases[i].set), 0, &err) == 0);
		t_int(imap_view_resolve(&c, &in, cases[i].uid, &out), cases[i].want);
		if (cases[i].want < 0)
			continue;
		buf_reset(&b);
		t_ok(seqset_format(&out, &b) == 0);
		t_str(buf_str(&b), cases[i].out);
	}
	/* Flags as FETCH writes them, \Recent included for the claiming view. */
	t_ok(store_set_flags(c.mb, 0, STORE_FLAGS_ADD, STORE_F_SEEN | STORE_F_FLAGGED, 0, 0) == 0);
	buf_reset(&b);
	imap_view_flags(&c, 0, &b);
	t_str(buf_str(&b), "\\Flagged \\Seen \\Recent");
	buf_clear(&b);
	seqset_clear(&in);
	seqset_clear(&out);
	store_close(&c.mb);
}

static void
test_table(void)
{
	static const struct {
		const char	*name;
		unsigned	 flags;
	} rows[] = {
		{ "STORE",	IMAP_CF_USES_SEQS | IMAP_CF_UID },
		{ "COPY",	IMAP_CF_USES_SEQS | IMAP_CF_UID },
		{ "MOVE",	IMAP_CF_USES_SEQS | IMAP_CF_BREAKS_SEQS | IMAP_CF_UID },
		{ "EXPUNGE",	IMAP_CF_BREAKS_SEQS | IMAP_CF_UID },
		{ "CLOSE",	0 },
		{ "CHECK",	0 },
		{ "IDLE",	0 },
	};
	const struct imap_command	*def;
	struct buf			 b;
	size_t				 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		def = imap_command_find(rows[i].name, strlen(rows[i].name));
		if (t_ok(def != NULL))
			t_int(def->flags, rows[i].flags);
	}
	def = imap_command_find("IDLE", 4);
	t_ok(def != NULL && (def->states & IMAP_ST(IMAP_S_AUTH)));
	buf_init(&b, 4096);
	imap_capability_list(IMAP_S_AUTH, false, true, &b);
	t_ok(strstr(buf_str(&b), " IDLE") != NULL);
	t_ok(strstr(buf_str(&b), " UIDPLUS") != NULL);
	t_ok(strstr(buf_str(&b), " MOVE") != NULL);
	t_ok(strstr(buf_str(&b), " CONDSTORE") != NULL);
	t_ok(strstr(buf_str(&b), " QRESYNC") != NULL);
	buf_clear(&b);
}

int
main(void)
{
	struct imap_parser_limits lim = {
		.max_line = 4096, .max_literal = 4096, .max_message = 4096,
		.max_nonsync = 4096, .max_depth = 16, .max_args = 256,
	};

	t_begin("imap_view");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lb-view-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	parser = imap_parser_new(&lim);
	test_flag_names();
	test_keywords(tmpdir);
	test_resolve(tmpdir);
	test_table();
	imap_parser_free(&parser);
	rm_tree(tmpdir);
	return t_end();
}
