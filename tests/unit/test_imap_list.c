/*
 * Unit tests for src/imap/list.h: LIST/LSUB argument parsing (through the
 * real command parser, whole and byte at a time) and the reply lines over
 * a fixed folder and subscription list, in both namespaces.  STATUS items
 * are parsed here; their values need a Maildir (e2e).
 */
#include <stdlib.h>
#include <string.h>

#include "imap/list.h"
#include "lib/buf.h"
#include "store/store.h"
#include "imap_t.h"
#include "t.h"

/* The store's view: "a" is only a parent, "Gone" subscribed but deleted. */
static struct store_folder folders[] = {
	{ "INBOX", 0 }, { "Sent", 0 }, { "Trash", 0 }, { "a", STORE_FOLDER_NONEXISTENT |
	STORE_FOLDER_CHILDREN }, { "a/b", 0 }, { "john.doe", 0 },
};
static char *subs[] = { "Gone", "Sent", "a/b" };

#define M	IMAP_NS_MODERN
#define C	IMAP_NS_COURIER

static const struct {
	enum imap_ns	 ns;
	const char	*line;		/* after "t " */
	const char	*want;		/* reply lines, or "BAD text" */
} lists[] = {
	{ M, "LIST \"\" %", "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
	    "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
	    "* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n"
	    "* LIST (\\Noselect \\HasChildren) \"/\" a\r\n"
	    "* LIST (\\HasNoChildren) \"/\" john.doe\r\n" },
	{ M, "LIST \"a/\" *", "* LIST (\\HasNoChildren) \"/\" a/b\r\n" },
	{ M, "LIST \"\" (Sent a)", "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
	    "* LIST (\\NonExistent \\HasChildren) \"/\" a\r\n" },
	{ M, "LIST (SPECIAL-USE) \"\" *", "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
	    "* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n" },
	{ M, "LIST (SUBSCRIBED) \"\" *", "* LIST (\\HasNoChildren \\Subscribed \\Sent) \"/\" Sent\r\n"
	    "* LIST (\\HasNoChildren \\Subscribed) \"/\" a/b\r\n"
	    "* LIST (\\NonExistent \\Subscribed) \"/\" Gone\r\n" },
	{ M, "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %",
	    "* LIST (\\HasNoChildren \\Subscribed \\Sent) \"/\" Sent\r\n"
	    "* LIST (\\NonExistent \\HasChildren) \"/\" a (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
	    "* LIST (\\NonExistent \\Subscribed) \"/\" Gone\r\n" },
	/* RFC 5258 3.5: no CHILDINFO (and no "a") when a/b itself matches */
	{ M, "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" *",
	    "* LIST (\\HasNoChildren \\Subscribed \\Sent) \"/\" Sent\r\n"
	    "* LIST (\\HasNoChildren \\Subscribed) \"/\" a/b\r\n"
	    "* LIST (\\NonExistent \\Subscribed) \"/\" Gone\r\n" },
	{ M, "LIST \"\" S* RETURN (SUBSCRIBED CHILDREN)",
	    "* LIST (\\HasNoChildren \\Subscribed \\Sent) \"/\" Sent\r\n" },
	{ M, "LSUB \"\" *", "* LSUB () \"/\" Sent\r\n* LSUB () \"/\" a/b\r\n* LSUB () \"/\" Gone\r\n" },
	{ C, "LIST \"\" *", "* LIST (\\HasChildren) \".\" INBOX\r\n"
	    "* LIST (\\HasNoChildren \\Sent) \".\" INBOX.Sent\r\n"
	    "* LIST (\\HasNoChildren \\Trash) \".\" INBOX.Trash\r\n"
	    "* LIST (\\Noselect \\HasChildren) \".\" INBOX.a\r\n"
	    "* LIST (\\HasNoChildren) \".\" INBOX.a.b\r\n" },
	{ C, "LIST \"\" %", "* LIST (\\HasChildren) \".\" INBOX\r\n" },
	{ C, "LIST \"INBOX.\" %", "* LIST (\\HasNoChildren \\Sent) \".\" INBOX.Sent\r\n"
	    "* LIST (\\HasNoChildren \\Trash) \".\" INBOX.Trash\r\n"
	    "* LIST (\\Noselect \\HasChildren) \".\" INBOX.a\r\n" },
	{ C, "LSUB \"\" INBOX.a*", "* LSUB () \".\" INBOX.a.b\r\n" },
	/* RFC 3501 6.3.9: "%" shows the unsubscribed parent of a hidden subscription */
	{ M, "LSUB \"\" %", "* LSUB () \"/\" Sent\r\n* LSUB (\\Noselect) \"/\" a\r\n"
	    "* LSUB () \"/\" Gone\r\n" },
	{ M, "LSUB \"\" a", "" },
	{ C, "LSUB \"\" %", "* LSUB (\\Noselect) \".\" INBOX\r\n" },
	{ C, "LSUB \"\" INBOX.%", "* LSUB () \".\" INBOX.Sent\r\n"
	    "* LSUB (\\Noselect) \".\" INBOX.a\r\n* LSUB () \".\" INBOX.Gone\r\n" },
	{ M, "LIST (RECURSIVEMATCH) \"\" *", "BAD RECURSIVEMATCH needs another selection option." },
	{ M, "LIST (REMOTE RECURSIVEMATCH) \"\" *",
	    "BAD RECURSIVEMATCH needs another selection option." },
	{ M, "LIST (BOGUS) \"\" *", "BAD Unknown LIST selection option." },
	{ M, "LIST \"\" * RETURN (BOGUS)", "BAD Unknown LIST return option." },
	{ M, "LIST \"\" * RETURN (STATUS)", "BAD RETURN STATUS needs a list of STATUS items." },
	{ M, "LIST \"\" * RETURN (STATUS (MESSAGES NOPE))",
	    "BAD RETURN STATUS needs a list of STATUS items." },
	{ M, "LIST \"\" * RETURN", "BAD Expected RETURN (options)." },
	{ M, "LIST \"\" () ", "BAD Empty pattern list." },
	{ M, "LIST \"\"", "BAD Expected a reference and a pattern." },
	{ M, "LSUB \"\" (a b)", "BAD Invalid LIST pattern." },
	{ M, "LSUB (SUBSCRIBED) \"\" *", "BAD Expected a reference and a pattern." },
};

static void
test_lists(void)
{
	struct imap_parser		*p = imap_parser_new(&lim);
	const struct imap_cmd		*cmd;
	struct imap_list_req		 req;
	struct buf			 out, line;
	const char			*err;
	size_t				 i, step;

	buf_init(&out, 1 << 16);
	buf_init(&line, 1 << 16);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		for (step = 0; step < 2; step++) {
			buf_reset(&line);
			(void)buf_addf(&line, "t %s\r\n", lists[i].line);
			imap_parser_reset(p);
			if (!t_ok((cmd = parse_line(p, line.data, step)) != NULL)) {
				printf("  %s\n", lists[i].line);
				continue;
			}
			memset(&req, 0, sizeof(req));
			req.ns = lists[i].ns;
			buf_reset(&out);
			if ((err = imap_list_parse(&req, cmd->args, cmd->nargs,
			    lists[i].line[1] == 'S')) != NULL)
				(void)buf_addf(&out, "BAD %s", err);
			else
				imap_list_build(&req, "/nonexistent", folders,
				    sizeof(folders) / sizeof(folders[0]), subs,
				    sizeof(subs) / sizeof(subs[0]), &out);
			if (!t_str(buf_str(&out), lists[i].want))
				printf("  %s\n", lists[i].line);
			imap_list_req_clear(&req);
		}
	}
	buf_clear(&out);
	buf_clear(&line);
	imap_parser_free(&p);
}

static void
test_status_items(void)
{
	struct imap_parser	*p = imap_parser_new(&lim);
	const struct imap_cmd	*cmd;
	unsigned		 items = 0;

	cmd = parse_line(p, "t STATUS x (messages SIZE deleted UIDNEXT)\r\n", 1);
	t_ok(cmd != NULL && imap_status_items(&cmd->args[1], &items));
	t_int(items, IMAP_STATUS_MESSAGES | IMAP_STATUS_SIZE | IMAP_STATUS_DELETED |
	    IMAP_STATUS_UIDNEXT);
	imap_parser_reset(p);
	cmd = parse_line(p, "t STATUS x ()\r\n", 0);
	t_ok(cmd != NULL && !imap_status_items(&cmd->args[1], &items));
	imap_parser_reset(p);
	cmd = parse_line(p, "t STATUS x (MESSAGES HIGHESTMODSEQ)\r\n", 0);
	t_ok(cmd != NULL && imap_status_items(&cmd->args[1], &items));
	t_int(items, IMAP_STATUS_MESSAGES | IMAP_STATUS_HIGHESTMODSEQ);
	imap_parser_reset(p);
	cmd = parse_line(p, "t STATUS x (MESSAGES BOGUS)\r\n", 0);
	t_ok(cmd != NULL && !imap_status_items(&cmd->args[1], &items));
	imap_parser_reset(p);
	cmd = parse_line(p, "t STATUS x (mailboxid UNSEEN)\r\n", 0);
	t_ok(cmd != NULL && imap_status_items(&cmd->args[1], &items));
	t_int(items, IMAP_STATUS_MAILBOXID | IMAP_STATUS_UNSEEN);
	imap_parser_free(&p);
}

/* CREATE ... (USE (...)) lists, RFC 6154 §5.2 */
static const struct {
	const char	*list;
	int		 want;
	const char	*use;
} uses[] = {
	{ "(\\Sent)",				0, "\\Sent" },
	{ "(\\sent \\ARCHIVE \\Sent)",		0, "\\Sent \\Archive" },	/* case, repeats */
	{ "()",					0, "" },
	{ "(\\Drafts \\Trash \\Junk)",		0, "\\Drafts \\Trash \\Junk" },
	{ "(\\All)",				1, NULL },	/* virtual: USEATTR */
	{ "(\\Sent \\Flagged)",			1, NULL },
	{ "(\\Important)",			1, NULL },
	{ "(Sent)",				-1, NULL },	/* not a flag */
	{ "(\"\\\\Sent\")",			-1, NULL },	/* a string */
	{ "(\\)",				-1, NULL },
};

static void
test_use_parse(void)
{
	struct imap_parser	*p = imap_parser_new(&lim);
	const struct imap_cmd	*cmd;
	char			 line[256], use[IMAP_SPECIAL_USE_MAX];
	size_t			 i;

	for (i = 0; i < sizeof(uses) / sizeof(uses[0]); i++) {
		imap_parser_reset(p);
		snprintf(line, sizeof(line), "t CREATE x (USE %s)\r\n", uses[i].list);
		cmd = parse_line(p, line, 0);
		t_ok(cmd != NULL && cmd->nargs == 2);
		if (cmd == NULL || cmd->nargs != 2)
			continue;
		t_int(imap_use_parse(&cmd->args[1].list[1], use), uses[i].want);
		if (uses[i].use != NULL)
			t_str(use, uses[i].use);
	}
	imap_parser_free(&p);
}

int
main(void)
{
	t_begin("imap_list");
	test_lists();
	test_status_items();
	test_use_parse();
	return t_end();
}
