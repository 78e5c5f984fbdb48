/*
 * LIST / LSUB / STATUS replies (see list.h).  One pass builds the set of
 * names a LIST can talk about -- the folders (with the store's missing
 * parents), INBOX, the subscriptions, and for RECURSIVEMATCH the parents
 * of subscriptions -- then each is matched in the wire form against the
 * patterns and written with its attributes.  Everything here is pure but
 * for store_status(), so it runs on the worker that read the folder list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/arg.h"
#include "imap/list.h"
#include "imap/quote.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "store/store.h"

#define NAME_WIRE_MAX	4096

/* ---- STATUS --------------------------------------------------------- */

static const struct {
	const char	*name;
	unsigned	 bit;
} status_items[] = {
	{ "MESSAGES", IMAP_STATUS_MESSAGES }, { "RECENT", IMAP_STATUS_RECENT },
	{ "UIDNEXT", IMAP_STATUS_UIDNEXT }, { "UIDVALIDITY", IMAP_STATUS_UIDVALIDITY },
	{ "UNSEEN", IMAP_STATUS_UNSEEN }, { "SIZE", IMAP_STATUS_SIZE },
	{ "DELETED", IMAP_STATUS_DELETED }, { "HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ },
	{ "MAILBOXID", IMAP_STATUS_MAILBOXID },
};

bool
imap_status_items(const struct imap_arg *l, unsigned *items_r)
{
	size_t		 i, k;
	unsigned	 bit, want = 0;

	if (!imap_arg_is_list(l) || l->count == 0)
		return false;
	for (i = 0; i < l->count; i++) {
		bit = 0;
		for (k = 0; k < sizeof(status_items) / sizeof(status_items[0]); k++)
			if (imap_arg_is_atom(&l->list[i], status_items[k].name))
				bit = status_items[k].bit;
		if (bit == 0)
			return false;
		want |= bit;
	}
	*items_r = want;
	return true;
}

/* A store name in the wire form, quoted as needed; -1 when the view cannot say it. */
static int
write_name(struct buf *out, enum imap_ns ns, unsigned nflags, const char *name)
{
	struct buf	w;
	int		r;

	buf_init(&w, NAME_WIRE_MAX);
	/* An old install's 8-bit name is not mUTF-7: shown as stored rather than hidden. */
	if ((r = imap_name_to_wire(ns, nflags, name, &w)) < 0 && (nflags & IMAP_NAME_UTF8))
		r = imap_name_to_wire(ns, 0, name, &w), nflags = 0;
	if (r == 0)
		r = imap_write_astring(out, buf_str(&w), w.len,
		    (nflags & IMAP_NAME_UTF8) ? IMAP_Q_UTF8 : 0);
	buf_clear(&w);
	return r;
}

int
imap_status_get(const char *root, const char *name, unsigned items, struct store_status *st_r,
    uint32_t *deleted_r, char *mailboxid_r)
{
	struct store_mailbox	*mb;
	size_t			 i, n;
	int			 r = 0;

	*deleted_r = 0;
	mailboxid_r[0] = '\0';
	if (store_status(root, name, (items & IMAP_STATUS_SIZE) ? STORE_STATUS_SIZE : 0,
	    st_r) < 0)
		return -1;
	if ((items & IMAP_STATUS_MAILBOXID) && store_mailbox_id(root, name, mailboxid_r) < 0)
		return -1;
	if (!(items & IMAP_STATUS_DELETED))
		return 0;
	/* counting only: STATUS must not claim \Recent (RFC 3501 6.3.10) */
	if ((mb = store_open(root, name, STORE_O_NO_RECENT)) == NULL)
		return -1;
	if (store_sync(mb, NULL, NULL) < 0)
		r = -1;
	n = r == 0 ? store_count(mb) : 0;
	for (i = 0; i < n; i++)
		if (store_msg_flags(mb, i) & STORE_F_DELETED)
			(*deleted_r)++;
	store_close(&mb);
	return r;
}

void
imap_status_line(struct buf *out, enum imap_ns ns, unsigned nflags, const char *name,
    unsigned items, const struct store_status *st, uint32_t deleted, const char *mailboxid)
{
	(void)buf_addf(out, "* STATUS ");
	if (write_name(out, ns, nflags, name) < 0)
		(void)imap_write_astring(out, name, strlen(name), 0);
	(void)buf_addf(out, " (");
	if (items & IMAP_STATUS_MESSAGES)
		(void)buf_addf(out, "MESSAGES %u ", st->messages);
	if (items & IMAP_STATUS_RECENT)
		(void)buf_addf(out, "RECENT %u ", st->recent);
	if (items & IMAP_STATUS_UIDNEXT)
		(void)buf_addf(out, "UIDNEXT %u ", st->uidnext);
	if (items & IMAP_STATUS_UIDVALIDITY)
		(void)buf_addf(out, "UIDVALIDITY %u ", st->uidvalidity);
	if (items & IMAP_STATUS_UNSEEN)
		(void)buf_addf(out, "UNSEEN %u ", st->unseen);
	if (items & IMAP_STATUS_SIZE)
		(void)buf_addf(out, "SIZE %llu ", (unsigned long long)st->size);
	if (items & IMAP_STATUS_DELETED)
		(void)buf_addf(out, "DELETED %u ", deleted);
	if (items & IMAP_STATUS_HIGHESTMODSEQ)
		/* RFC 7162 7: at least 1 (see imap_highestmodseq) */
		(void)buf_addf(out, "HIGHESTMODSEQ %llu ", st->highestmodseq > 0 ?
		    (unsigned long long)st->highestmodseq : 1ull);
	if (items & IMAP_STATUS_MAILBOXID)
		(void)buf_addf(out, "MAILBOXID (%s) ", mailboxid);
	if (out->len > 0 && out->data[out->len - 1] == ' ')
		out->len--;
	(void)buf_addf(out, ")\r\n");
}

/* ---- LIST arguments -------------------------------------------------- */

static const struct {
	const char	*name;
	unsigned	 bit;
} sel_opts[] = {
	{ "SUBSCRIBED", IMAP_LSEL_SUBSCRIBED }, { "REMOTE", IMAP_LSEL_REMOTE },
	{ "RECURSIVEMATCH", IMAP_LSEL_RECURSIVE }, { "SPECIAL-USE", IMAP_LSEL_SPECIALUSE },
}, ret_opts[] = {
	{ "SUBSCRIBED", IMAP_LRET_SUBSCRIBED }, { "CHILDREN", IMAP_LRET_CHILDREN },
	{ "SPECIAL-USE", IMAP_LRET_SPECIALUSE }, { "STATUS", IMAP_LRET_STATUS },
};

static unsigned
opt_bit(const struct imap_arg *a, bool ret)
{
	size_t i, n = ret ? sizeof(ret_opts) / sizeof(ret_opts[0]) :
	    sizeof(sel_opts) / sizeof(sel_opts[0]);

	for (i = 0; i < n; i++)
		if (imap_arg_is_atom(a, ret ? ret_opts[i].name : sel_opts[i].name))
			return ret ? ret_opts[i].bit : sel_opts[i].bit;
	return 0;
}

static const char *
parse_return(struct imap_list_req *req, const struct imap_arg *l)
{
	size_t		i;
	unsigned	bit;

	for (i = 0; i < l->count; i++) {
		if ((bit = opt_bit(&l->list[i], true)) == 0)
			return "Unknown LIST return option.";
		req->ret |= bit;
		if (bit == IMAP_LRET_STATUS &&
		    (i + 1 >= l->count || !imap_status_items(&l->list[++i], &req->status)))
			return "RETURN STATUS needs a list of STATUS items.";
	}
	return NULL;
}

static const char *
add_pattern(struct imap_list_req *req, const char *ref, size_t rlen, const struct imap_arg *a)
{
	const char	*p;
	size_t		 plen;

	if (!imap_arg_astring(a, &p, &plen) || memchr(p, '\0', plen) != NULL)
		return "Invalid LIST pattern.";
	/* Matching costs name x pattern: no name is longer than this. */
	if (rlen + plen > IMAP_LIST_PATTERN_MAX)
		return "LIST pattern too long.";
	if (req->npats >= IMAP_LIST_PATTERNS_MAX)
		return "Too many LIST patterns.";
	req->pats[req->npats++] = xasprintf("%.*s%.*s", (int)rlen, ref, (int)plen, p);
	return NULL;
}

const char *
imap_list_parse(struct imap_list_req *req, const struct imap_arg *args, size_t nargs, bool lsub)
{
	const char	*ref, *err = NULL;
	size_t		 rlen, i = 0, k;
	unsigned	 bit;

	req->lsub = lsub;
	if (!lsub && nargs > 0 && imap_arg_is_list(&args[0])) {
		req->extended = true;
		for (k = 0; k < args[0].count; k++) {
			if ((bit = opt_bit(&args[0].list[k], false)) == 0)
				return "Unknown LIST selection option.";
			req->sel |= bit;
		}
		/* RFC 5258 §3.1: RECURSIVEMATCH needs an option it can modify. */
		if ((req->sel & IMAP_LSEL_RECURSIVE) &&
		    !(req->sel & (IMAP_LSEL_SUBSCRIBED | IMAP_LSEL_SPECIALUSE)))
			return "RECURSIVEMATCH needs another selection option.";
		i++;
	}
	if (i + 2 > nargs || !imap_arg_astring(&args[i], &ref, &rlen) ||
	    memchr(ref, '\0', rlen) != NULL)
		return "Expected a reference and a pattern.";
	i++;
	if (imap_arg_is_list(&args[i]) && !lsub) {
		req->extended = true;
		if (args[i].count == 0)
			return "Empty pattern list.";
		for (k = 0; k < args[i].count && err == NULL; k++)
			err = add_pattern(req, ref, rlen, &args[i].list[k]);
	} else
		err = add_pattern(req, ref, rlen, &args[i]);
	if (err != NULL)
		return err;
	i++;
	if (i == nargs)
		return NULL;
	if (lsub || i + 2 != nargs || !imap_arg_is_atom(&args[i], "RETURN") ||
	    !imap_arg_is_list(&args[i + 1]))
		return "Expected RETURN (options).";
	req->extended = true;
	return parse_return(req, &args[i + 1]);
}

void
imap_list_req_clear(struct imap_list_req *req)
{
	size_t i;

	for (i = 0; i < req->npats; i++)
		free(req->pats[i]);
	req->npats = 0;
}

/* ---- the reply ------------------------------------------------------- */

/* RFC 6154 uses a folder may have, and the names that give them by default. */
static const char *const uses[][2] = {
	{ "Sent", "\\Sent" }, { "Drafts", "\\Drafts" }, { "Trash", "\\Trash" },
	{ "Junk", "\\Junk" }, { "Archive", "\\Archive" },
};

const char *
imap_special_use(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(uses) / sizeof(uses[0]); i++)
		if (strcmp(name, uses[i][0]) == 0)
			return uses[i][1];
	return NULL;
}

int
imap_use_parse(const struct imap_arg *list, char *dst)
{
	const struct imap_arg	*a;
	size_t			 i, k, n = 0;
	unsigned		 have = 0;

	dst[0] = '\0';
	if (!imap_arg_is_list(list) || list->count > 16)
		return -1;
	for (i = 0; i < list->count; i++) {
		a = &list->list[i];
		if (a->type != IMAP_ARG_ATOM || a->len < 2 || a->str[0] != '\\')
			return -1;
		for (k = 0; k < sizeof(uses) / sizeof(uses[0]); k++)
			if (str_ieq(a->str, a->len, uses[k][1]))
				break;
		/* \All, \Flagged (virtual folders here), \Important, anything else */
		if (k == sizeof(uses) / sizeof(uses[0]))
			return 1;
		if (have & (1u << k))
			continue;
		have |= 1u << k;
		n += (size_t)snprintf(dst + n, IMAP_SPECIAL_USE_MAX - n, "%s%s",
		    n > 0 ? " " : "", uses[k][1]);
	}
	return 0;
}

/*
 * A folder's special use: what CREATE ... (USE (...)) stored with it
 * (RFC 6154 §5.2), else the one its name gives (imap_special_use).
 * Borrowed from dst or static; NULL when it has none.
 */
static const char *
folder_use(const char *root, const char *name, char *dst, size_t dstsz)
{
	if (store_folder_special_use(root, name, dst, dstsz) == 1)
		return dst[0] != '\0' ? dst : NULL;
	return imap_special_use(name);
}

#define E_LISTED	0x01	/* in the folder list (a folder or a missing parent) */
#define E_NOSELECT	0x02	/* no folder of that name */
#define E_CHILDREN	0x04
#define E_SUB		0x08	/* subscribed */
#define E_SUBCHILD	0x10	/* a descendant is subscribed */

struct ent {
	const char	*name;		/* borrowed from the folder or subscription list */
	char		*own;		/* a parent made up for RECURSIVEMATCH */
	unsigned	 fl;
};

struct ents {
	struct ent	*v;
	size_t		 n, cap;
};

static struct ent *
ent_get(struct ents *e, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (strncmp(e->v[i].name, name, len) == 0 && e->v[i].name[len] == '\0')
			return &e->v[i];
	if (e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 32;
		e->v = xreallocarray(e->v, e->cap, sizeof(*e->v));
	}
	e->v[e->n].own = name[len] == '\0' ? NULL : xstrndup(name, len);
	e->v[e->n].name = e->v[e->n].own != NULL ? e->v[e->n].own : name;
	e->v[e->n].fl = E_NOSELECT;
	return &e->v[e->n++];
}

static void
collect(const struct imap_list_req *req, const struct store_folder *folders, size_t nfolders,
    char *const *subs, size_t nsubs, struct ents *e)
{
	struct ent	*x;
	const char	*p;
	size_t		 i;

	for (i = 0; i < nfolders; i++) {
		x = ent_get(e, folders[i].name, strlen(folders[i].name));
		x->fl = E_LISTED |
		    ((folders[i].flags & STORE_FOLDER_NONEXISTENT) ? E_NOSELECT : 0) |
		    ((folders[i].flags & STORE_FOLDER_CHILDREN) ? E_CHILDREN : 0);
	}
	/* INBOX always exists (delivery creates it); in Courier's view every folder is its child. */
	x = ent_get(e, "INBOX", 5);
	x->fl = (x->fl & ~E_NOSELECT) | E_LISTED;
	if (req->ns == IMAP_NS_COURIER && e->n > 1)
		x->fl |= E_CHILDREN;
	for (i = 0; i < nsubs; i++) {
		ent_get(e, subs[i], strlen(subs[i]))->fl |= E_SUB;
		if (!(req->sel & IMAP_LSEL_RECURSIVE) && !req->lsub)
			continue;
		for (p = strchr(subs[i], '/'); p != NULL; p = strchr(p + 1, '/'))
			ent_get(e, subs[i], (size_t)(p - subs[i]))->fl |= E_SUBCHILD;
		if (req->ns == IMAP_NS_COURIER && strcmp(subs[i], "INBOX") != 0)
			ent_get(e, "INBOX", 5)->fl |= E_SUBCHILD;
	}
}

static bool
selected(const struct imap_list_req *req, const char *root, const struct ent *x)
{
	char use[IMAP_SPECIAL_USE_MAX];

	if (req->lsub)		/* parents: see lsub_parent() */
		return x->fl & (E_SUB | E_SUBCHILD);
	if ((req->sel & IMAP_LSEL_SPECIALUSE) &&
	    ((x->fl & E_NOSELECT) || folder_use(root, x->name, use, sizeof(use)) == NULL))
		return false;
	if (req->sel & IMAP_LSEL_SUBSCRIBED)
		return (x->fl & E_SUB) || ((req->sel & IMAP_LSEL_RECURSIVE) && (x->fl & E_SUBCHILD));
	return x->fl & E_LISTED;
}

static void
attrs(const struct imap_list_req *req, const char *root, const struct ent *x, struct buf *out)
{
	const char	*su;
	char		 use[IMAP_SPECIAL_USE_MAX];
	size_t		 start = out->len;

	if (req->lsub) {
		if (!(x->fl & E_SUB))
			(void)buf_addf(out, "%s", "\\Noselect");
		return;
	}
	if (x->fl & E_NOSELECT)
		(void)buf_addf(out, "%s", req->extended || req->rev2 || !(x->fl & E_LISTED) ?
		    "\\NonExistent " : "\\Noselect ");
	if (x->fl & E_LISTED)
		(void)buf_addf(out, "%s", (x->fl & E_CHILDREN) ? "\\HasChildren " : "\\HasNoChildren ");
	if ((x->fl & E_SUB) && (req->sel & IMAP_LSEL_SUBSCRIBED || req->ret & IMAP_LRET_SUBSCRIBED))
		(void)buf_addf(out, "%s", "\\Subscribed ");
	/* RFC 6154 §2: shown in every LIST, so clients without LIST-EXTENDED find them. */
	if (!(x->fl & E_NOSELECT) && (su = folder_use(root, x->name, use, sizeof(use))) != NULL)
		(void)buf_addf(out, "%s ", su);
	if (out->len > start)
		out->len--;
}

static bool
matches(const struct imap_list_req *req, const char *wire)
{
	size_t i;

	for (i = 0; i < req->npats; i++)
		if (imap_name_match(wire, req->pats[i], imap_ns_sep(req->ns)))
			return true;
	return false;
}

/*
 * Does a subscribed descendant of x not match the patterns?  Then x is
 * shown for it: LSUB with "%" shows x, \Noselect when x is not subscribed
 * itself (RFC 3501 6.3.9), so a client walking the tree level by level
 * still finds it; LIST (SUBSCRIBED RECURSIVEMATCH) shows x with CHILDINFO
 * (RFC 5258 3.5).  A descendant that matches is listed itself instead.
 */
static bool
hidden_sub_child(const struct imap_list_req *req, const struct ent *x, char *const *subs,
    size_t nsubs)
{
	struct buf	 w;
	size_t		 i, len = strlen(x->name);
	bool		 hidden = false;
	bool		 all = req->ns == IMAP_NS_COURIER && strcmp(x->name, "INBOX") == 0;

	if (!(x->fl & E_SUBCHILD))
		return false;
	buf_init(&w, NAME_WIRE_MAX);
	for (i = 0; i < nsubs && !hidden; i++) {
		if (all ? strcmp(subs[i], "INBOX") == 0 :
		    strncmp(subs[i], x->name, len) != 0 || subs[i][len] != '/')
			continue;
		buf_reset(&w);
		if (imap_name_to_wire(req->ns, req->nflags, subs[i], &w) == 0 &&
		    !matches(req, buf_str(&w)))
			hidden = true;
	}
	buf_clear(&w);
	return hidden;
}

/* LSUB shows parents only for "%" patterns: the name asked for exactly is not a subscription. */
static bool
has_percent(const struct imap_list_req *req)
{
	size_t i;

	for (i = 0; i < req->npats; i++)
		if (strchr(req->pats[i], '%') != NULL)
			return true;
	return false;
}

static void
one(const struct imap_list_req *req, const char *root, const struct ent *x, struct buf *w,
    bool childinfo, struct buf *out)
{
	struct store_status	st;
	uint32_t		deleted;
	char			mailboxid[STORE_OBJID_SIZE];

	(void)buf_addf(out, "* %s (", req->lsub ? "LSUB" : "LIST");
	attrs(req, root, x, out);
	(void)buf_addf(out, ") \"%c\" ", imap_ns_sep(req->ns));
	(void)imap_write_astring(out, buf_str(w), w->len,
	    (req->nflags & IMAP_NAME_UTF8) ? IMAP_Q_UTF8 : 0);
	/* RFC 5258 §3.5: why a name that is not subscribed itself is shown. */
	if (childinfo)
		(void)buf_addf(out, "%s", " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	(void)buf_addf(out, "%s", "\r\n");
	/* RFC 5819: a STATUS that cannot be had is left out, the LIST still answers. */
	if ((req->ret & IMAP_LRET_STATUS) && !(x->fl & E_NOSELECT) &&
	    imap_status_get(root, x->name, req->status, &st, &deleted, mailboxid) == 0)
		imap_status_line(out, req->ns, req->nflags, x->name, req->status, &st, deleted,
		    mailboxid);
}

void
imap_list_build(const struct imap_list_req *req, const char *root,
    const struct store_folder *folders, size_t nfolders, char *const *subs, size_t nsubs,
    struct buf *out)
{
	struct ents	 e = { NULL, 0, 0 };
	struct buf	 w;
	size_t		 i;
	unsigned	 f;
	bool		 hidden;

	collect(req, folders, nfolders, subs, nsubs, &e);
	buf_init(&w, NAME_WIRE_MAX);
	for (i = 0; i < e.n; i++) {
		if (!selected(req, root, &e.v[i]))
			continue;
		buf_reset(&w);
		f = req->nflags;
		/* A name the view cannot say (a '.' in Courier's) is not listed. */
		if (imap_name_to_wire(req->ns, f, e.v[i].name, &w) < 0 &&
		    (!(f & IMAP_NAME_UTF8) || imap_name_to_wire(req->ns, 0, e.v[i].name, &w) < 0))
			continue;
		if (!matches(req, buf_str(&w)))
			continue;
		hidden = hidden_sub_child(req, &e.v[i], subs, nsubs);
		if (!(e.v[i].fl & E_SUB) && (req->lsub || (req->sel & IMAP_LSEL_SUBSCRIBED)) &&
		    (!hidden || (req->lsub && !has_percent(req))))
			continue;	/* a parent shown for nothing */
		one(req, root, &e.v[i], &w,
		    hidden && !req->lsub && (req->sel & IMAP_LSEL_RECURSIVE), out);
	}
	buf_clear(&w);
	for (i = 0; i < e.n; i++)
		free(e.v[i].own);
	free(e.v);
}
