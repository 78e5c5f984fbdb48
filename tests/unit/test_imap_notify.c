/*
 * Unit tests for the NOTIFY argument parser (src/imap/notify_parse.h,
 * RFC 5465 §3, §5, §6, §8): every filter and event, MessageNew's fetch
 * attributes, the §5 rules, BADEVENT, the name limit, both namespaces;
 * each line through the real command parser, whole and one byte at a
 * time.  Then which events a folder gets (notify_events_for and friends).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/fetch_parse.h"
#include "imap/notify_parse.h"
#include "imap/parser.h"
#include "lib/buf.h"
#include "imap_t.h"
#include "t.h"

static const char *const fnames[] = {
	"selected", "selected-delayed", "inboxes", "personal", "subscribed", "subtree",
	"mailboxes",
};

/* "status selected(NEF) fetch=2 | mailboxes(NE)[A,B]": the spec, comparable. */
static void
dump(struct buf *b, const struct notify_spec *sp)
{
	static const char ev[] = "NEFMS";	/* NOTIFY_EV_* bit order */
	size_t	 i, k;
	int	 r = 0;

	if (sp->none) {
		r |= buf_adds(b, "none");
		goto out;
	}
	if (sp->status)
		r |= buf_adds(b, "status ");
	for (i = 0; i < sp->ngroups; i++) {
		r |= buf_addf(b, "%s%s(", i > 0 ? " | " : "", fnames[sp->groups[i].filter]);
		for (k = 0; k < 5; k++)
			if (sp->groups[i].events & (1u << k))
				r |= buf_addc(b, ev[k]);
		r |= buf_adds(b, ")");
		for (k = 0; k < sp->groups[i].nnames; k++)
			r |= buf_addf(b, "%c%s", k == 0 ? '[' : ',', sp->groups[i].names[k]);
		if (sp->groups[i].nnames > 0)
			r |= buf_adds(b, "]");
	}
	if (sp->fetch != NULL)
		r |= buf_addf(b, " fetch=%zu%s", sp->fetch->n,
		    sp->fetch->want & FETCH_WANT(FETCH_UID) ? "+uid" : "");
out:
	if (r != 0)
		abort();
}

enum { BAD = NOTIFY_PARSE_BAD, BADEVENT = NOTIFY_PARSE_BADEVENT,
	BADNAME = NOTIFY_PARSE_BADNAME, LIMIT = NOTIFY_PARSE_LIMIT };

static const struct {
	const char	*args;		/* after "A1 NOTIFY " */
	int		 ns;		/* enum imap_ns */
	int		 want;		/* NOTIFY_PARSE_* */
	const char	*spec;		/* dump() when OK */
} cases[] = {
	{ "NONE", 0, 0, "none" },
	{ "none", 0, 0, "none" },
	{ "SET (selected (MessageNew MessageExpunge))", 0, 0, "selected(NE)" },
	{ "SET STATUS (personal (MessageNew MessageExpunge FlagChange MailboxName "
	  "SubscriptionChange))", 0, 0, "status personal(NEFMS)" },
	{ "set status (SELECTED-DELAYED (messagenew messageexpunge flagchange))", 0, 0,
	  "status selected-delayed(NEF)" },
	{ "SET (inboxes (MessageNew MessageExpunge)) (subscribed NONE)", 0, 0,
	  "inboxes(NE) | subscribed()" },
	{ "SET (subtree Lists (MessageNew MessageExpunge))", 0, 0, "subtree(NE)[Lists]" },
	{ "SET (subtree (Lists \"Work/Old\") (MailboxName))", 0, 0, "subtree(M)[Lists,Work/Old]" },
	{ "SET (mailboxes (A \"C D\" inbox) (MessageNew MessageExpunge))", 0, 0,
	  "mailboxes(NE)[A,C D,INBOX]" },
	{ "SET (mailboxes {3+}\r\nA%* (SubscriptionChange))", 0, 0, "mailboxes(S)[A%*]" },
	{ "SET (selected NONE) (subtree INBOX (MessageNew MessageExpunge)) "
	  "(mailboxes Sent (MailboxName))", 0, 0,
	  "selected() | subtree(NE)[INBOX] | mailboxes(M)[Sent]" },
	/* §5.2: MessageNew's fetch attributes, UID always added */
	{ "SET (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From Subject)] ENVELOPE) "
	  "MessageExpunge))", 0, 0, "selected(NE) fetch=3+uid" },
	{ "SET (selected (MessageNew (FLAGS) MessageExpunge FlagChange))", 0, 0,
	  "selected(NEF) fetch=2+uid" },
	{ "SET (selected-delayed (MessageExpunge MessageNew (BODYSTRUCTURE RFC822.SIZE "
	  "BODY.PEEK[1] BINARY.PEEK[1]<0.10> MODSEQ)))", 0, 0,
	  "selected-delayed(NE) fetch=6+uid" },
	/* a lone event outside the selected mailbox is taken (as Dovecot, imaptest) */
	{ "SET (personal (FlagChange))", 0, 0, "personal(F)" },
	{ "SET STATUS (mailboxes A (MessageExpunge))", 0, 0, "status mailboxes(E)[A]" },
	{ "SET (personal (MessageNew))", 0, 0, "personal(N)" },
	/* Courier's namespace: names under "INBOX.", its INBOX subtree is everything */
	{ "SET (mailboxes (INBOX.Sent INBOX.Lists.a INBOX) (MessageNew MessageExpunge))", 1, 0,
	  "mailboxes(NE)[Sent,Lists/a,INBOX]" },
	{ "SET (subtree INBOX (MessageNew MessageExpunge))", 1, 0, "personal(NE)[INBOX]" },
	{ "SET (mailboxes Sent (MessageNew MessageExpunge))", 1, BADNAME, NULL },
	{ "SET (mailboxes \"\" (MessageNew MessageExpunge))", 0, BADNAME, NULL },

	{ "", 0, BAD, NULL },
	{ "SET", 0, BAD, NULL },
	{ "FOO", 0, BAD, NULL },
	{ "NONE NONE", 0, BAD, NULL },
	{ "(NONE)", 0, BAD, NULL },
	{ "SET STATUS", 0, BAD, NULL },
	{ "SET (STATUS) (personal (MessageNew MessageExpunge))", 0, BAD, NULL },
	{ "SET personal", 0, BAD, NULL },
	{ "SET (personal)", 0, BAD, NULL },
	{ "SET (personal ())", 0, BAD, NULL },
	{ "SET (personal NIL)", 0, BAD, NULL },
	{ "SET (personal (MessageNew MessageExpunge) extra)", 0, BAD, NULL },
	{ "SET (nosuch (MessageNew MessageExpunge))", 0, BAD, NULL },
	{ "SET (\"personal\" (MessageNew MessageExpunge))", 0, BAD, NULL },
	{ "SET (personal (\"MessageNew\" MessageExpunge))", 0, BAD, NULL },
	{ "SET (personal ((MessageNew) MessageExpunge))", 0, BAD, NULL },
	{ "SET (subtree (MessageNew MessageExpunge))", 0, BAD, NULL },
	{ "SET (mailboxes () (MessageNew MessageExpunge))", 0, BAD, NULL },
	{ "SET (mailboxes (A (B)) (MessageNew MessageExpunge))", 0, BAD, NULL },
	{ "SET (personal A (MessageNew MessageExpunge))", 0, BAD, NULL },
	/* §5: the selected mailbox's pairs */
	{ "SET (selected (MessageNew))", 0, BAD, NULL },
	{ "SET (selected (MessageExpunge))", 0, BAD, NULL },
	{ "SET (selected (FlagChange))", 0, BAD, NULL },
	{ "SET (selected-delayed (MessageExpunge FlagChange))", 0, BAD, NULL },
	/* §6.1: one selected group */
	{ "SET (selected NONE) (selected-delayed NONE)", 0, BAD, NULL },
	{ "SET (selected NONE) (selected NONE)", 0, BAD, NULL },
	/* §8: fetch attributes only for the selected mailbox, once, not setting \Seen */
	{ "SET (personal (MessageNew (UID) MessageExpunge))", 0, BAD, NULL },
	{ "SET (selected (MessageNew (BODY[]) MessageExpunge))", 0, BAD, NULL },
	{ "SET (selected (MessageNew (RFC822) MessageExpunge))", 0, BAD, NULL },
	{ "SET (selected (MessageNew (RFC822.TEXT UID) MessageExpunge))", 0, BAD, NULL },
	{ "SET (selected (MessageNew (UID) MessageNew (FLAGS) MessageExpunge))", 0, BAD, NULL },
	{ "SET (selected (MessageNew (NOSUCH) MessageExpunge))", 0, BAD, NULL },
	{ "SET (selected (MessageNew () MessageExpunge))", 0, BAD, NULL },
	{ "SET (selected (MessageNew (BODY.PEEK[99999999999]) MessageExpunge))", 0, BAD, NULL },
	{ "SET (selected (MessageExpunge (UID) MessageNew))", 0, BAD, NULL },
	/* §3.1: events not served here are NO [BADEVENT], after the grammar */
	{ "SET (personal (AnnotationChange))", 0, BADEVENT, NULL },
	{ "SET (personal (MailboxMetadataChange))", 0, BADEVENT, NULL },
	{ "SET (personal (ServerMetadataChange))", 0, BADEVENT, NULL },
	{ "SET (personal (MessageNew MessageExpunge Foo))", 0, BADEVENT, NULL },
	{ "SET (personal (Foo)) (selected (MessageNew MessageExpunge))", 0, BADEVENT, NULL },
	{ "SET (personal (Foo)) (selected (MessageNew))", 0, BAD, NULL },
	{ "SET (selected (MessageNew Foo))", 0, BAD, NULL },
	/* the name limit (3 here) counts every group */
	{ "SET (mailboxes (A B C) (MessageNew MessageExpunge))", 0, 0,
	  "mailboxes(NE)[A,B,C]" },
	{ "SET (mailboxes (A B C D) (MessageNew MessageExpunge))", 0, LIMIT, NULL },
	{ "SET (mailboxes (A B) (MailboxName)) (subtree (C D) (MailboxName))", 0, LIMIT, NULL },
};

static void
test_parse(void)
{
	struct imap_parser	*p = imap_parser_new(&lim);
	const struct imap_cmd	*cmd;
	struct notify_spec	 sp;
	struct buf		 b, line;
	const char		*err;
	size_t			 i, step;
	int			 r;

	buf_init(&b, 1 << 16);
	buf_init(&line, 1 << 16);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (step = 0; step < 2; step++) {
			buf_reset(&line);
			if (buf_addf(&line, "A1 NOTIFY%s%s\r\n", cases[i].args[0] ? " " : "",
			    cases[i].args) < 0)
				abort();
			cmd = parse_line(p, line.data, step);
			if (!t_ok(cmd != NULL)) {
				printf("  line %s\n", cases[i].args);
				continue;
			}
			err = NULL;
			r = notify_parse(cmd->args, cmd->nargs, (enum imap_ns)cases[i].ns, 0, 3,
			    &sp, &err);
			if (!t_int(r, cases[i].want))
				printf("  %s: %s\n", cases[i].args, r < 0 ? err : "accepted");
			else if (r != 0) {
				/* a static reply text; the codes the RFC names */
				t_ok(err != NULL && err[0] != '\0');
				if (r == BADEVENT)
					t_ok(strncmp(err, "[BADEVENT (MessageNew MessageExpunge "
					    "FlagChange MailboxName SubscriptionChange)]", 80) == 0);
				if (r == LIMIT)
					t_ok(strncmp(err, "[LIMIT]", 7) == 0);
			} else {
				buf_reset(&b);
				dump(&b, &sp);
				if (!t_str(buf_str(&b), cases[i].spec))
					printf("  %s\n", cases[i].args);
			}
			notify_spec_clear(&sp);
			t_ok(sp.groups == NULL && sp.fetch == NULL && sp.ngroups == 0);
		}
	}
	buf_clear(&b);
	buf_clear(&line);
	imap_parser_free(&p);
}

/* Parse args (OK expected) into sp. */
static void
spec_of(struct imap_parser *p, const char *args, struct notify_spec *sp)
{
	char		 line[1024];
	const char	*err;
	const struct imap_cmd *cmd;

	if (snprintf(line, sizeof(line), "A1 NOTIFY %s\r\n", args) >= (int)sizeof(line) ||
	    (cmd = parse_line(p, line, 0)) == NULL ||
	    notify_parse(cmd->args, cmd->nargs, IMAP_NS_MODERN, 0, 100, sp, &err) != 0)
		abort();
}

static void
test_events_for(void)
{
	struct imap_parser	*p = imap_parser_new(&lim);
	struct notify_spec	 sp;
	bool			 delayed;

	/* the first group that covers a folder decides (§6) */
	spec_of(p, "SET (selected-delayed (MessageNew MessageExpunge FlagChange)) "
	    "(subtree Lists (MessageNew MessageExpunge)) "
	    "(mailboxes (INBOX Lists/b) (MessageNew MessageExpunge FlagChange)) "
	    "(subscribed (MailboxName)) (personal NONE) (personal (SubscriptionChange))", &sp);
	t_int(notify_selected_events(&sp, &delayed), NOTIFY_EV_MESSAGE);
	t_ok(delayed);
	t_int(notify_events_for(&sp, "Lists", false), NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE);
	t_int(notify_events_for(&sp, "Lists/a/b", true), NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE);
	t_int(notify_events_for(&sp, "Lists/b", false), NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE);
	t_int(notify_events_for(&sp, "INBOX", false), NOTIFY_EV_MESSAGE);
	t_int(notify_events_for(&sp, "Listsx", true), NOTIFY_EV_NAME);
	t_int(notify_events_for(&sp, "Listsx", false), 0);	/* personal NONE comes first */
	t_int(notify_events_for(&sp, "Other", false), 0);
	t_ok(notify_names_match(&sp.groups[1], "Lists/x"));
	t_ok(!notify_names_match(&sp.groups[1], "List"));
	t_ok(!notify_names_match(&sp.groups[2], "Lists/b/c"));	/* mailboxes: no children */
	notify_spec_clear(&sp);

	/* inboxes: where mail is delivered, INBOX here; no selected group */
	spec_of(p, "SET (inboxes (MessageNew MessageExpunge)) (personal (MailboxName))", &sp);
	t_int(notify_selected_events(&sp, &delayed), 0);
	t_ok(!delayed);
	t_int(notify_events_for(&sp, "INBOX", false), NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE);
	t_int(notify_events_for(&sp, "Sent", false), NOTIFY_EV_NAME);
	notify_spec_clear(&sp);

	spec_of(p, "SET (selected (MessageNew (UID) MessageExpunge))", &sp);
	t_int(notify_selected_events(&sp, &delayed), NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE);
	t_ok(!delayed);
	t_int(notify_events_for(&sp, "INBOX", true), 0);
	t_ok(sp.fetch != NULL && sp.fetch->refs == 1 && !sp.fetch->sets_seen);
	/* a pushed FETCH shares the list (fetch_attrs_ref): the last owner frees it */
	{
		struct fetch_attrs *run = fetch_attrs_ref(sp.fetch);

		t_int(sp.fetch->refs, 2);
		notify_spec_clear(&sp);
		t_int(run->refs, 1);
		fetch_attrs_free(&run);
		t_ok(run == NULL);
	}
	imap_parser_free(&p);
}

int
main(void)
{
	t_begin("imap_notify");
	test_parse();
	test_events_for();
	return t_end();
}
