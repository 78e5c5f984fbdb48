/*
 * NOTIFY (RFC 5465 §3): SET [(STATUS)] event groups, or NONE.  The
 * arguments are taken apart by notify_parse.c; notify.c follows the
 * folders and pushes.  Replies: BAD for the grammar and the §5 rules,
 * NO [BADEVENT (...)] for events not served here (§5.9), NO [LIMIT] past
 * imap_notify_max_mailboxes names.
 */
#include "imap/client.h"
#include "imap/names.h"
#include "imap/notify.h"
#include "imap/notify_parse.h"
#include "lib/conf.h"

void
cmd_notify(struct imap_client *c, const struct imap_cmd *cmd)
{
	struct notify_spec	 spec;
	const char		*err;
	int			 r;

	r = notify_parse(cmd->args, cmd->nargs, imap_ns_current(), imap_name_flags(c),
	    (size_t)conf_int(conf_current(), CK_IMAP_NOTIFY_MAX_MAILBOXES), &spec, &err);
	if (r != NOTIFY_PARSE_OK) {
		notify_spec_clear(&spec);
		imap_tagged(c, r == NOTIFY_PARSE_BAD ? "BAD" : "NO", "%s.", err);
		return;
	}
	if (spec.none) {
		notify_spec_clear(&spec);
		imap_notify_free(c);
		imap_tagged(c, "OK", "NOTIFY completed.");
		return;
	}
	imap_notify_set(c, &spec);
}
