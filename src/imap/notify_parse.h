/*
 * NOTIFY arguments (RFC 5465 §8 grammar) taken apart into a spec: the
 * STATUS indicator, the event groups in order (filter, events, mailbox
 * names in the store's form) and MessageNew's fetch attributes for the
 * selected mailbox.  Pure: no session, no store; the namespace, name
 * encoding and limits are arguments, so the unit tests and the fuzz
 * harness run it as the command does.  The spec owns its memory.
 */
#ifndef LB_IMAP_NOTIFY_PARSE_H
#define LB_IMAP_NOTIFY_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/names.h"

struct imap_arg;
struct fetch_attrs;

/* Events we serve (RFC 5465 §5). */
#define NOTIFY_EV_NEW		0x01	/* MessageNew */
#define NOTIFY_EV_EXPUNGE	0x02	/* MessageExpunge */
#define NOTIFY_EV_FLAGS		0x04	/* FlagChange */
#define NOTIFY_EV_NAME		0x08	/* MailboxName */
#define NOTIFY_EV_SUBS		0x10	/* SubscriptionChange */
#define NOTIFY_EV_MESSAGE	(NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE | NOTIFY_EV_FLAGS)
#define NOTIFY_EV_MAILBOX	(NOTIFY_EV_NAME | NOTIFY_EV_SUBS)

/* The BADEVENT code's list: what a client may ask for here (§3.1). */
#define NOTIFY_SUPPORTED_EVENTS	\
	"MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"

enum notify_filter {
	NOTIFY_F_SELECTED,
	NOTIFY_F_SELECTED_DELAYED,
	NOTIFY_F_INBOXES,
	NOTIFY_F_PERSONAL,
	NOTIFY_F_SUBSCRIBED,
	NOTIFY_F_SUBTREE,
	NOTIFY_F_MAILBOXES,
};

struct notify_group {
	enum notify_filter	 filter;
	unsigned		 events;	/* NOTIFY_EV_*; 0 for NONE */
	char			**names;	/* SUBTREE, MAILBOXES: store names */
	size_t			 nnames;
};

struct notify_spec {
	bool			 none;		/* NOTIFY NONE */
	bool			 status;	/* SET (STATUS) */
	struct notify_group	*groups;
	size_t			 ngroups;
	struct fetch_attrs	*fetch;		/* selected MessageNew (...), or NULL */
};

enum notify_parse_err {
	NOTIFY_PARSE_OK = 0,
	NOTIFY_PARSE_BAD = -1,		/* syntax or a §5 rule: tagged BAD */
	NOTIFY_PARSE_BADEVENT = -2,	/* an event we do not serve: NO [BADEVENT (...)] (§3.1) */
	NOTIFY_PARSE_BADNAME = -3,	/* a mailbox name the store cannot have: NO */
	NOTIFY_PARSE_LIMIT = -4,	/* more names than max_names: NO [LIMIT] */
};

/*
 * Parse the arguments after "NOTIFY" into spec (zeroed here; free with
 * notify_spec_clear even after an error).  ns and nflags translate names
 * (names.h); max_names bounds the names of all groups together.  Returns
 * NOTIFY_PARSE_OK or an error with *err_r a static text for the reply.
 */
int	 notify_parse(const struct imap_arg *args, size_t nargs, enum imap_ns ns,
	    unsigned nflags, size_t max_names, struct notify_spec *spec, const char **err_r);
void	 notify_spec_clear(struct notify_spec *spec);

/* Does a group's filter with names cover store name (SUBTREE, MAILBOXES only)? */
bool	 notify_names_match(const struct notify_group *g, const char *name);
/*
 * The events of folder name (subscribed or not) under the non-selected
 * filters: the first group that covers it decides (0: not followed).
 */
unsigned notify_events_for(const struct notify_spec *spec, const char *name, bool subscribed);
/* The selected(-delayed) group's events (0: none); *delayed_r for selected-delayed. */
unsigned notify_selected_events(const struct notify_spec *spec, bool *delayed_r);

#endif
