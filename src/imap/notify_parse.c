/*
 * NOTIFY SET / NOTIFY NONE arguments (RFC 5465 §3, §5, §8): see
 * notify_parse.h.  The argument tree comes from the command parser;
 * here only its shape and the §5 rules are checked:
 *  - for the selected mailbox, MessageNew and MessageExpunge come
 *    together and FlagChange needs both (§5: else BAD).  For the other
 *    filters a lone event is taken, as Dovecot takes it (and imaptest's
 *    notify group sends it): there the events only choose when a STATUS
 *    goes out, and the pairing protects the selected mailbox's sequence
 *    numbers, which a STATUS does not touch;
 *  - fetch attributes only after MessageNew of selected/selected-delayed,
 *    and none that would set \Seen (§5.1: the client did not read it);
 *  - at most one selected or selected-delayed group (§6);
 *  - events we do not serve (AnnotationChange, MailboxMetadataChange,
 *    ServerMetadataChange, unknown extensions) are NO [BADEVENT] (§3.1).
 */
#include <stdlib.h>
#include <string.h>

#include "imap/arg.h"
#include "imap/fetch_parse.h"
#include "imap/notify_parse.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

static const struct {
	const char		*name;
	enum notify_filter	 filter;
	bool			 takes_names;
} filters[] = {
	{ "selected",		NOTIFY_F_SELECTED,		false },
	{ "selected-delayed",	NOTIFY_F_SELECTED_DELAYED,	false },
	{ "inboxes",		NOTIFY_F_INBOXES,		false },
	{ "personal",		NOTIFY_F_PERSONAL,		false },
	{ "subscribed",		NOTIFY_F_SUBSCRIBED,		false },
	{ "subtree",		NOTIFY_F_SUBTREE,		true },
	{ "mailboxes",		NOTIFY_F_MAILBOXES,		true },
};

static const struct {
	const char	*name;
	unsigned	 bit;		/* 0: known but not served */
} events[] = {
	{ "MessageNew",		NOTIFY_EV_NEW },
	{ "MessageExpunge",	NOTIFY_EV_EXPUNGE },
	{ "FlagChange",		NOTIFY_EV_FLAGS },
	{ "MailboxName",	NOTIFY_EV_NAME },
	{ "SubscriptionChange",	NOTIFY_EV_SUBS },
	{ "AnnotationChange",	0 },
	{ "MailboxMetadataChange", 0 },
	{ "ServerMetadataChange", 0 },
};

struct pctx {
	enum imap_ns	 ns;
	unsigned	 nflags;
	size_t		 max_names, total_names;
	const char	*err;
};

static bool
is_selected(enum notify_filter f)
{
	return f == NOTIFY_F_SELECTED || f == NOTIFY_F_SELECTED_DELAYED;
}

/* One mailbox name into g (store form). */
static int
add_name(struct pctx *p, struct notify_group *g, const struct imap_arg *a)
{
	const char	*s;
	size_t		 len;
	struct buf	 b;

	if (!imap_arg_astring(a, &s, &len)) {
		p->err = "Expected a mailbox name";
		return NOTIFY_PARSE_BAD;
	}
	if (++p->total_names > p->max_names) {
		p->err = "[LIMIT] Too many mailboxes";
		return NOTIFY_PARSE_LIMIT;
	}
	buf_init(&b, 4096);
	if (imap_name_from_wire(p->ns, p->nflags, s, len, &b) < 0) {
		buf_clear(&b);
		p->err = "[CANNOT] Invalid mailbox name";
		return NOTIFY_PARSE_BADNAME;
	}
	/* Courier's view has every folder under INBOX.: its subtree is them all (§6.2) */
	if (g->filter == NOTIFY_F_SUBTREE && p->ns == IMAP_NS_COURIER &&
	    strcmp(buf_str(&b), "INBOX") == 0)
		g->filter = NOTIFY_F_PERSONAL;
	g->names = xreallocarray(g->names, g->nnames + 1, sizeof(*g->names));
	g->names[g->nnames++] = buf_take(&b, NULL);
	buf_clear(&b);
	return NOTIFY_PARSE_OK;
}

/* one-or-more-mailbox: a mailbox, or a non-empty list of them. */
static int
parse_names(struct pctx *p, struct notify_group *g, const struct imap_arg *a)
{
	size_t	i;
	int	r;

	if (a->type != IMAP_ARG_LIST)
		return add_name(p, g, a);
	if (a->count == 0) {
		p->err = "Empty mailbox list";
		return NOTIFY_PARSE_BAD;
	}
	for (i = 0; i < a->count; i++)
		if ((r = add_name(p, g, &a->list[i])) != NOTIFY_PARSE_OK)
			return r;
	return NOTIFY_PARSE_OK;
}

static int
parse_fetch(struct pctx *p, struct notify_spec *spec, const struct imap_arg *a)
{
	const char *err;

	if (spec->fetch != NULL) {
		p->err = "Fetch attributes given twice";
		return NOTIFY_PARSE_BAD;
	}
	/* UID always: with MessageExpunge the sequence number alone may be stale (§5.3) */
	if (fetch_parse(a, 1, true, &spec->fetch, &err) < 0) {
		p->err = err;
		return NOTIFY_PARSE_BAD;
	}
	if (spec->fetch->sets_seen) {
		p->err = "MessageNew fetch attributes must not set \\Seen (use BODY.PEEK)";
		return NOTIFY_PARSE_BAD;
	}
	return NOTIFY_PARSE_OK;
}

/* events: "NONE" or "(" event *(SP event) ")"; MessageNew may take a fetch-att list. */
static int
parse_events(struct pctx *p, struct notify_spec *spec, struct notify_group *g,
    const struct imap_arg *a)
{
	size_t	i, j;
	bool	badevent = false;
	int	r;

	if (imap_arg_is_atom(a, "NONE"))
		return NOTIFY_PARSE_OK;
	if (a->type != IMAP_ARG_LIST || a->count == 0) {
		p->err = "Expected an event list or NONE";
		return NOTIFY_PARSE_BAD;
	}
	for (i = 0; i < a->count; i++) {
		const struct imap_arg *e = &a->list[i];

		if (e->type != IMAP_ARG_ATOM) {
			p->err = "Expected an event name";
			return NOTIFY_PARSE_BAD;
		}
		for (j = 0; j < sizeof(events) / sizeof(events[0]); j++)
			if (str_ieq(e->str, e->len, events[j].name))
				break;
		if (j == sizeof(events) / sizeof(events[0]) || events[j].bit == 0) {
			/* The grammar is checked to the end first: a BAD outranks a BADEVENT. */
			badevent = true;
			continue;
		}
		g->events |= events[j].bit;
		if (events[j].bit == NOTIFY_EV_NEW && i + 1 < a->count &&
		    a->list[i + 1].type == IMAP_ARG_LIST) {
			if (!is_selected(g->filter)) {
				p->err = "Fetch attributes are for the selected mailbox only";
				return NOTIFY_PARSE_BAD;
			}
			if ((r = parse_fetch(p, spec, &a->list[++i])) != NOTIFY_PARSE_OK)
				return r;
		}
	}
	if (is_selected(g->filter) &&
	    ((g->events & NOTIFY_EV_NEW) != 0) != ((g->events & NOTIFY_EV_EXPUNGE) != 0)) {
		p->err = "MessageNew and MessageExpunge go together";
		return NOTIFY_PARSE_BAD;
	}
	if (is_selected(g->filter) && (g->events & NOTIFY_EV_FLAGS) &&
	    !(g->events & NOTIFY_EV_NEW)) {
		p->err = "FlagChange needs MessageNew and MessageExpunge";
		return NOTIFY_PARSE_BAD;
	}
	if (badevent) {
		p->err = "[BADEVENT (" NOTIFY_SUPPORTED_EVENTS ")] Event not supported";
		return NOTIFY_PARSE_BADEVENT;
	}
	return NOTIFY_PARSE_OK;
}

/* event-group: "(" filter [SP mailboxes] SP events ")" */
static int
parse_group(struct pctx *p, struct notify_spec *spec, const struct imap_arg *a,
    bool *have_selected)
{
	struct notify_group	*g;
	const struct imap_arg	*f;
	size_t			 i, at = 1;
	int			 r;

	if (a->type != IMAP_ARG_LIST || a->count < 2 || a->list[0].type != IMAP_ARG_ATOM) {
		p->err = "Expected an event group";
		return NOTIFY_PARSE_BAD;
	}
	f = &a->list[0];
	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (str_ieq(f->str, f->len, filters[i].name))
			break;
	if (i == sizeof(filters) / sizeof(filters[0])) {
		p->err = "Unknown mailbox filter";
		return NOTIFY_PARSE_BAD;
	}
	if (a->count != (filters[i].takes_names ? 3u : 2u)) {
		p->err = "Wrong number of items in an event group";
		return NOTIFY_PARSE_BAD;
	}
	if (is_selected(filters[i].filter)) {
		if (*have_selected) {
			p->err = "Only one selected or selected-delayed group";
			return NOTIFY_PARSE_BAD;
		}
		*have_selected = true;
	}
	spec->groups = xreallocarray(spec->groups, spec->ngroups + 1, sizeof(*spec->groups));
	g = &spec->groups[spec->ngroups++];
	memset(g, 0, sizeof(*g));
	g->filter = filters[i].filter;
	if (filters[i].takes_names && (r = parse_names(p, g, &a->list[at++])) != NOTIFY_PARSE_OK)
		return r;
	return parse_events(p, spec, g, &a->list[at]);
}

int
notify_parse(const struct imap_arg *args, size_t nargs, enum imap_ns ns, unsigned nflags,
    size_t max_names, struct notify_spec *spec, const char **err_r)
{
	struct pctx	 p = { .ns = ns, .nflags = nflags, .max_names = max_names };
	bool		 have_selected = false, badevent = false;
	size_t		 i = 1;
	int		 r;

	memset(spec, 0, sizeof(*spec));
	*err_r = "Expected SET or NONE";
	if (nargs == 1 && imap_arg_is_atom(&args[0], "NONE")) {
		spec->none = true;
		return NOTIFY_PARSE_OK;
	}
	if (nargs < 2 || !imap_arg_is_atom(&args[0], "SET"))
		return NOTIFY_PARSE_BAD;
	/* status-indicator = SP "STATUS", right after SET (§8) */
	if (imap_arg_is_atom(&args[1], "STATUS")) {
		spec->status = true;
		i = 2;
	}
	if (i >= nargs) {
		*err_r = "Expected an event group";
		return NOTIFY_PARSE_BAD;
	}
	for (; i < nargs; i++) {
		r = parse_group(&p, spec, &args[i], &have_selected);
		if (r == NOTIFY_PARSE_BADEVENT)
			badevent = true;
		else if (r != NOTIFY_PARSE_OK) {
			*err_r = p.err;
			return r;
		}
	}
	if (badevent) {
		*err_r = "[BADEVENT (" NOTIFY_SUPPORTED_EVENTS ")] Event not supported";
		return NOTIFY_PARSE_BADEVENT;
	}
	return NOTIFY_PARSE_OK;
}

void
notify_spec_clear(struct notify_spec *spec)
{
	size_t i, j;

	for (i = 0; i < spec->ngroups; i++) {
		for (j = 0; j < spec->groups[i].nnames; j++)
			free(spec->groups[i].names[j]);
		free(spec->groups[i].names);
	}
	free(spec->groups);
	fetch_attrs_free(&spec->fetch);
	memset(spec, 0, sizeof(*spec));
}

bool
notify_names_match(const struct notify_group *g, const char *name)
{
	size_t i, n;

	for (i = 0; i < g->nnames; i++) {
		n = strlen(g->names[i]);
		if (strcmp(name, g->names[i]) == 0)
			return true;
		/* subtree: the mailbox and all below it (§6) */
		if (g->filter == NOTIFY_F_SUBTREE && strncmp(name, g->names[i], n) == 0 &&
		    name[n] == '/')
			return true;
	}
	return false;
}

unsigned
notify_events_for(const struct notify_spec *spec, const char *name, bool subscribed)
{
	const struct notify_group	*g;
	size_t				 i;
	bool				 hit;

	for (i = 0; i < spec->ngroups; i++) {
		g = &spec->groups[i];
		switch (g->filter) {
		case NOTIFY_F_INBOXES:
			/* Where new mail is delivered here: INBOX only (no Sieve fileinto). */
			hit = strcmp(name, "INBOX") == 0;
			break;
		case NOTIFY_F_PERSONAL:
			hit = true;
			break;
		case NOTIFY_F_SUBSCRIBED:
			hit = subscribed;
			break;
		case NOTIFY_F_SUBTREE:
		case NOTIFY_F_MAILBOXES:
			hit = notify_names_match(g, name);
			break;
		default:
			hit = false;
			break;
		}
		if (hit)
			return g->events;
	}
	return 0;
}

unsigned
notify_selected_events(const struct notify_spec *spec, bool *delayed_r)
{
	size_t i;

	*delayed_r = false;
	for (i = 0; i < spec->ngroups; i++)
		if (is_selected(spec->groups[i].filter)) {
			*delayed_r = spec->groups[i].filter == NOTIFY_F_SELECTED_DELAYED;
			return spec->groups[i].events;
		}
	return 0;
}
