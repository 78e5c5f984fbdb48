/*
 * libFuzzer harness for NOTIFY arguments (src/imap/notify_parse.h,
 * RFC 5465 §8): the first input byte picks the namespace, the name
 * encoding and the name limit; the rest is a command line, parsed by the
 * real command parser, then by notify_parse().  Checks what notify.c
 * relies on: an accepted spec is NONE or has groups, holds at most one
 * selected group whose events keep the §5 pairs, has fetch attributes
 * only with a selected MessageNew and never ones that set \Seen, keeps
 * to the name limit with names the store accepts; a refusal has a reply
 * text; the lookups run on every name; clearing leaves nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/fetch_parse.h"
#include "imap/notify_parse.h"
#include "imap/parser.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_parser_limits lim = {
	.max_line = 4096, .max_literal = 1024, .max_message = 4096,
	.max_nonsync = 1024, .max_depth = 8, .max_args = 200,
};

static void
must(int ok)
{
	if (!ok)
		abort();
}

static void
check_spec(const struct notify_spec *sp, size_t max_names)
{
	const struct notify_group	*g;
	size_t				 i, k, names = 0, nsel = 0;
	unsigned			 sel = 0;
	bool				 delayed;

	must(sp->none ? sp->ngroups == 0 && !sp->status && sp->fetch == NULL : sp->ngroups > 0);
	for (i = 0; i < sp->ngroups; i++) {
		g = &sp->groups[i];
		must((g->events & ~(NOTIFY_EV_MESSAGE | NOTIFY_EV_MAILBOX)) == 0);
		if (g->filter == NOTIFY_F_SELECTED || g->filter == NOTIFY_F_SELECTED_DELAYED) {
			nsel++;
			sel = g->events;
			must(((g->events & NOTIFY_EV_NEW) != 0) ==
			    ((g->events & NOTIFY_EV_EXPUNGE) != 0));
			must(!(g->events & NOTIFY_EV_FLAGS) || (g->events & NOTIFY_EV_NEW));
		}
		must(g->filter != NOTIFY_F_MAILBOXES || g->nnames > 0);
		for (k = 0; k < g->nnames; k++) {
			names++;
			must(store_folder_valid(g->names[k]));
			(void)notify_events_for(sp, g->names[k], k & 1);
			(void)notify_names_match(g, g->names[k]);
		}
	}
	must(nsel <= 1 && names <= max_names);
	must(notify_selected_events(sp, &delayed) == sel);
	if (sp->fetch != NULL)
		must((sel & NOTIFY_EV_NEW) && !sp->fetch->sets_seen && sp->fetch->n > 0 &&
		    sp->fetch->refs == 1 && !sp->fetch->changedsince && !sp->fetch->vanished);
	(void)notify_events_for(sp, "INBOX", true);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser	*ps;
	const struct imap_cmd	*cmd;
	struct notify_spec	 sp;
	enum imap_parse		 r = IMAP_PARSE_MORE;
	const char		*err;
	size_t			 off = 1, used, max_names;
	enum imap_ns		 ns;
	unsigned		 nflags;
	int			 rc;

	if (size < 1)
		return 0;
	ns = (data[0] & 1) ? IMAP_NS_COURIER : IMAP_NS_MODERN;
	nflags = (data[0] & 2) ? IMAP_NAME_UTF8 : 0;
	max_names = (size_t)(data[0] >> 2);	/* 0..63: the limit is reached too */
	ps = imap_parser_new(&lim);
	while (off < size) {
		r = imap_parser_feed(ps, (const char *)data + off, size - off, &used);
		if (r == IMAP_PARSE_CONTINUE)
			imap_parser_continue(ps);
		off += used;
		if (r == IMAP_PARSE_DONE || r == IMAP_PARSE_ERROR || used == 0)
			break;
	}
	if (r == IMAP_PARSE_DONE && (cmd = imap_parser_command(ps)) != NULL) {
		err = NULL;
		rc = notify_parse(cmd->args, cmd->nargs, ns, nflags, max_names, &sp, &err);
		if (rc == NOTIFY_PARSE_OK)
			check_spec(&sp, max_names);
		else
			must(err != NULL && err[0] != '\0' && rc >= NOTIFY_PARSE_LIMIT &&
			    rc <= NOTIFY_PARSE_BAD);
		notify_spec_clear(&sp);
		must(sp.groups == NULL && sp.fetch == NULL && sp.ngroups == 0);
	}
	imap_parser_free(&ps);
	return 0;
}
