/*
 * NOTIFY state and pushes: see notify.h.
 *
 * The folders of the account are kept as small structs (name, inode,
 * subscribed, events, last STATUS sent); a folder with message events
 * has a store watch.  Watches only mark things dirty and arm a zero
 * timer; the timer's callback acts when the session may write (between
 * commands, or in IDLE):
 *  - dirty folders and a changed Maildir root go to one pool job at a
 *    time, which reads STATUS (and, for the root, the folder list and
 *    the subscriptions); its results are written when it comes back if
 *    the session may still write, else marked dirty again for the next
 *    idle point;
 *  - a changed selected folder is synced through view.c, as IDLE does
 *    (EXISTS, EXPUNGE, FETCH FLAGS), and only between commands, so no
 *    EXPUNGE ever lands inside a FETCH, STORE or SEARCH.
 * Renames are told apart from delete + create by the folder directory's
 * inode, which rename(2) keeps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "imap/client.h"
#include "imap/list.h"
#include "imap/names.h"
#include "imap/notify.h"
#include "imap/notify_parse.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "net/server.h"
#include "net/session.h"
#include "store/store.h"
#include "store/watch.h"

/*
 * What an unsolicited STATUS carries: MESSAGES, UIDNEXT and UIDVALIDITY
 * (RFC 5465 §3.1, §5.2-5.3), UNSEEN (the one flag count without
 * CONDSTORE), and HIGHESTMODSEQ once CONDSTORE is on (§5.2) or when flag
 * changes are followed (§5.1: UIDVALIDITY and HIGHESTMODSEQ), as
 * Dovecot and imaptest have it.
 */
#define NOTIFY_ITEMS	(IMAP_STATUS_MESSAGES | IMAP_STATUS_UIDNEXT | \
			 IMAP_STATUS_UIDVALIDITY | IMAP_STATUS_UNSEEN)

struct nbox {
	char			*name;		/* store name */
	struct imap_notify	*n;
	struct store_watch	*watch;		/* with message events only */
	uint64_t		 ino;		/* folder directory: renames keep it */
	uint64_t		 modseq;	/* last sent (known): HIGHESTMODSEQ, */
	uint32_t		 messages, uidnext, uidvalidity, unseen;	/* and the rest */
	unsigned		 events;	/* NOTIFY_EV_* from the filters */
	bool			 subscribed, known, dirty;
};

struct imap_notify {
	struct imap_client	*c;		/* NULL once the session let go of it */
	struct notify_spec	 spec;
	unsigned		 sel_events;	/* the selected(-delayed) group's */
	bool			 sel_delayed;
	struct nbox		**boxes;
	size_t			 nboxes;
	struct store_watch	*root_watch;	/* folder create/delete/rename, subscriptions */
	struct store_watch	*sel_watch;
	char			*sel_name;	/* the selected folder sel_watch follows */
	struct event		*tick;
	bool			 scan_needed, sel_dirty, job_running, syncing;
	/*
	 * MessageNew's FETCH (RFC 5465 5.2): the lowest UID a sync reported
	 * as new since the last push (0: none), and UIDs this session put
	 * into the selected mailbox itself (APPEND, COPY, MOVE), which get
	 * no FETCH.
	 */
	uint32_t		 new_uid;
	struct seqset		 own;
	bool			 pushing;	/* a FETCH push is being written */
};

/* One folder as a job found it. */
struct nent {
	char			*name;
	uint64_t		 ino;
	unsigned		 events;
	bool			 subscribed, has_st;
	struct store_status	 st;
};

struct njob {
	struct session_job	 sj;
	struct imap_notify	*n;
	const struct notify_spec *spec;		/* n's: fixed while the job runs */
	bool			 set, scan;
	char			*login, *base, *root;
	char			**names;	/* scan: folders known; else: to read */
	bool			*want;		/* per name: STATUS wanted */
	size_t			 nnames;
	int			 err;
	struct nent		*ents;
	size_t			 nents;
};

static void	schedule(struct imap_notify *n);
static void	sel_update(struct imap_client *c, struct imap_notify *n);

/* ---- state ---------------------------------------------------------- */

static void
box_free(struct nbox *b)
{
	store_watch_remove(&b->watch);
	free(b->name);
	free(b);
}

static void
state_free(struct imap_notify *n)
{
	size_t i;

	for (i = 0; i < n->nboxes; i++)
		box_free(n->boxes[i]);
	free(n->boxes);
	store_watch_remove(&n->root_watch);
	store_watch_remove(&n->sel_watch);
	free(n->sel_name);
	if (n->tick != NULL)
		event_free(n->tick);
	seqset_clear(&n->own);
	notify_spec_clear(&n->spec);
	free(n);
}

void
imap_notify_free(struct imap_client *c)
{
	struct imap_notify	*n = c->notify;
	size_t			 i;

	if (n == NULL)
		return;
	c->notify = NULL;
	n->c = NULL;
	/* The callbacks name the session: they go now, the rest with the job. */
	for (i = 0; i < n->nboxes; i++)
		store_watch_remove(&n->boxes[i]->watch);
	store_watch_remove(&n->root_watch);
	store_watch_remove(&n->sel_watch);
	if (n->tick != NULL)
		event_del(n->tick);
	if (!n->job_running)
		state_free(n);
}

static struct nbox *
box_find(const struct imap_notify *n, const char *name)
{
	size_t i;

	/* apply_scan leaves NULL holes where it took boxes over */
	for (i = 0; i < n->nboxes; i++)
		if (n->boxes[i] != NULL && strcmp(n->boxes[i]->name, name) == 0)
			return n->boxes[i];
	return NULL;
}

/* ---- the pool job --------------------------------------------------- */

static void
job_free(struct njob *j)
{
	size_t i;

	for (i = 0; i < j->nnames; i++)
		free(j->names[i]);
	free(j->names);
	free(j->want);
	for (i = 0; i < j->nents; i++)
		free(j->ents[i].name);
	free(j->ents);
	free(j->login);
	free(j->base);
	free(j->root);
	free(j);
}

static ssize_t
name_index(char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (ssize_t)i;
	return -1;
}

static struct nent *
add_ent(struct njob *j, const char *name)
{
	struct nent *e;

	j->ents = xreallocarray(j->ents, j->nents + 1, sizeof(*j->ents));
	e = &j->ents[j->nents++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	return e;
}

static void
read_status(struct njob *j, struct nent *e)
{
	e->has_st = store_status(j->root, e->name, 0, &e->st) == 0;
}

/* The folder list, subscriptions and inodes; STATUS of new, dirty or (SET) all followed. */
static int
scan(struct njob *j)
{
	struct store_folder	*fl;
	char			**subs, path[4096];
	size_t			 nf, ns, i;
	struct nent		*e;
	struct stat		 sb;
	ssize_t			 k;

	if (store_folder_list(j->root, &fl, &nf) < 0)
		return -1;
	if (store_subscriptions(j->root, &subs, &ns) < 0) {
		subs = NULL;
		ns = 0;
	}
	for (i = 0; i < nf; i++) {
		if (fl[i].flags & STORE_FOLDER_NONEXISTENT)
			continue;
		e = add_ent(j, fl[i].name);
		e->subscribed = name_index(subs, ns, fl[i].name) >= 0;
		if (store_folder_path(j->root, fl[i].name, path, sizeof(path)) == 0 &&
		    stat(path, &sb) == 0)
			e->ino = (uint64_t)sb.st_ino;
		e->events = notify_events_for(j->spec, e->name, e->subscribed);
		k = name_index(j->names, j->nnames, e->name);
		if ((e->events & NOTIFY_EV_MESSAGE) && (j->set || k < 0 || j->want[k]))
			read_status(j, e);
	}
	store_subscriptions_free(&subs, ns);
	store_folder_list_free(&fl, nf);
	return 0;
}

static void
job_work(void *arg)
{
	struct njob	*j = arg;
	size_t		 i;
	int		 r;

	if (j->root == NULL && (r = imap_find_root(j->login, j->base, &j->root)) < 0) {
		j->err = r;
		return;
	}
	if (j->scan) {
		j->err = scan(j) < 0 ? errno : 0;
		return;
	}
	for (i = 0; i < j->nnames; i++)
		read_status(j, add_ent(j, j->names[i]));
}

/* ---- writing -------------------------------------------------------- */

static bool
can_write(const struct imap_client *c)
{
	return (c->state == IMAP_S_AUTH || c->state == IMAP_S_SELECTED) &&
	    !session_closing(c->ss) && !imap_streaming(c) && (c->cmd == NULL || c->idle != NULL);
}

/* "* LIST (attrs) sep name [("OLDNAME" (old))]" (RFC 5465 §5.4-5.5, RFC 5258 §3). */
static void
write_list(struct imap_client *c, const char *attrs, const char *name, const char *old)
{
	struct buf b;

	buf_init(&b, 16384);
	(void)buf_addf(&b, "* LIST (%s) \"%c\" ", attrs, imap_ns_sep(imap_ns_current()));
	(void)imap_write_mailbox_name(c, &b, name);
	if (old != NULL) {
		(void)buf_addf(&b, " (\"OLDNAME\" (");
		(void)imap_write_mailbox_name(c, &b, old);
		(void)buf_addf(&b, "))");
	}
	(void)buf_addf(&b, "\r\n");
	imap_write(c, b.data, b.len);
	buf_clear(&b);
}

static bool
is_selected_box(const struct imap_notify *n, const char *name)
{
	return n->sel_events != 0 && n->sel_name != NULL && strcmp(n->sel_name, name) == 0;
}

/* The STATUS items for b (see NOTIFY_ITEMS). */
static unsigned
status_items(const struct imap_client *c, const struct nbox *b)
{
	return NOTIFY_ITEMS | ((c->enabled & IMAP_E_CONDSTORE) || (b->events & NOTIFY_EV_FLAGS) ?
	    IMAP_STATUS_HIGHESTMODSEQ : 0);
}

/* New STATUS values for b: written when they differ from what the client was told. */
static void
status_update(struct imap_client *c, struct nbox *b, const struct store_status *st, bool tell)
{
	bool		changed = !b->known || st->messages != b->messages ||
			    st->uidnext != b->uidnext || st->uidvalidity != b->uidvalidity ||
			    ((b->events & NOTIFY_EV_FLAGS) && (st->unseen != b->unseen ||
			    st->highestmodseq != b->modseq));
	struct buf	out;

	b->messages = st->messages;
	b->uidnext = st->uidnext;
	b->uidvalidity = st->uidvalidity;
	b->unseen = st->unseen;
	b->modseq = st->highestmodseq;
	b->known = true;
	/* The selected mailbox speaks through its view (EXISTS...), not STATUS. */
	if (!tell || !changed || !(b->events & NOTIFY_EV_MESSAGE) ||
	    is_selected_box(c->notify, b->name))
		return;
	buf_init(&out, 16384);
	imap_status_line(&out, imap_ns_current(), imap_name_flags(c), b->name,
	    status_items(c, b), st, 0, NULL);
	imap_write(c, out.data, out.len);
	buf_clear(&out);
}

static void
root_cb(void *arg)
{
	struct imap_notify *n = arg;

	n->scan_needed = true;
	schedule(n);
}

static void
sel_cb(void *arg)
{
	struct imap_notify *n = arg;

	n->sel_dirty = true;
	schedule(n);
}

static void
box_cb(void *arg)
{
	struct nbox *b = arg;

	b->dirty = true;
	schedule(b->n);
}

/* Watch b when it has message events; false when the kernel is out of watches. */
static bool
box_watch(struct imap_client *c, struct nbox *b)
{
	char path[4096];

	if (!(b->events & NOTIFY_EV_MESSAGE)) {
		store_watch_remove(&b->watch);
		return true;
	}
	if (b->watch != NULL)
		return true;
	if (c->ss->srv->watcher == NULL ||
	    store_folder_path(c->root, b->name, path, sizeof(path)) < 0)
		return false;
	b->watch = store_watch_add(c->ss->srv->watcher, path, box_cb, b);
	/* ENOENT: gone meanwhile, the root watch tells */
	return b->watch != NULL || errno == ENOENT;
}

static struct nbox *
box_new(struct imap_notify *n, const struct nent *e)
{
	struct nbox *b = xcalloc(1, sizeof(*b));

	b->name = xstrdup(e->name);
	b->n = n;
	b->ino = e->ino;
	b->events = e->events;
	b->subscribed = e->subscribed;
	return b;
}

static size_t
count_watched(const struct njob *j)
{
	size_t i, k = 0;

	for (i = 0; i < j->nents; i++)
		if (j->ents[i].events & NOTIFY_EV_MESSAGE)
			k++;
	return k;
}

/* The kernel (or the per-session limit) cannot follow more: RFC 5465 §5.8. */
static void
overflow(struct imap_client *c)
{
	log_warnx("imapd sid=%s: NOTIFY out of change-notification watches", c->sid);
	imap_untagged(c, "OK [NOTIFICATIONOVERFLOW] Too many changes to follow, NOTIFY is off.");
	imap_notify_free(c);
}

/* ---- applying a job's results ---------------------------------------- */

static const struct nent *
ent_find(const struct njob *j, const char *name)
{
	size_t i;

	for (i = 0; i < j->nents; i++)
		if (strcmp(j->ents[i].name, name) == 0)
			return &j->ents[i];
	return NULL;
}

/* The folder list changed: LIST for names gone, renamed, new, (un)subscribed. */
static void
apply_scan(struct imap_client *c, struct imap_notify *n, const struct njob *j)
{
	struct nbox		**nb = xcalloc(j->nents + 1, sizeof(*nb)), *b;
	bool			*renamed = xcalloc(j->nents + 1, sizeof(*renamed));
	const struct nent	*e;
	size_t			 i, k;
	bool			 ok = true;

	for (i = 0; i < n->nboxes; i++) {
		b = n->boxes[i];
		if (ent_find(j, b->name) != NULL)
			continue;
		for (k = 0; k < j->nents; k++)
			if (b->ino != 0 && j->ents[k].ino == b->ino && box_find(n, j->ents[k].name) == NULL)
				break;
		if (k < j->nents) {
			renamed[k] = true;
			if ((b->events | j->ents[k].events) & NOTIFY_EV_NAME)
				write_list(c, "", j->ents[k].name, b->name);
		} else if (b->events & NOTIFY_EV_NAME)
			write_list(c, "\\NonExistent", b->name, NULL);
	}
	for (k = 0; k < j->nents; k++) {
		e = &j->ents[k];
		b = box_find(n, e->name);
		if (b == NULL) {
			if (!renamed[k] && (e->events & NOTIFY_EV_NAME))
				write_list(c, "", e->name, NULL);
			b = box_new(n, e);
		} else {
			/* taken over: the old array must not free it */
			for (i = 0; i < n->nboxes; i++)
				if (n->boxes[i] == b)
					n->boxes[i] = NULL;
			if (b->subscribed != e->subscribed &&
			    ((b->events | e->events) & NOTIFY_EV_SUBS))
				write_list(c, e->subscribed ? "\\Subscribed" : "", e->name, NULL);
			b->subscribed = e->subscribed;
			/* 0: renamed between the job's readdir and its stat; the
			 * old inode is what tells the coming rename apart */
			if (e->ino != 0)
				b->ino = e->ino;
			b->events = e->events;
		}
		nb[k] = b;
		if (ok && !box_watch(c, b))
			ok = false;
		if (e->has_st)
			status_update(c, b, &e->st, true);
	}
	for (i = 0; i < n->nboxes; i++)
		if (n->boxes[i] != NULL)
			box_free(n->boxes[i]);
	free(n->boxes);
	n->boxes = nb;
	n->nboxes = j->nents;
	free(renamed);
	if (!ok || count_watched(j) > (size_t)conf_int(conf_current(),
	    CK_IMAP_NOTIFY_MAX_MAILBOXES))
		overflow(c);
}

static void
apply_status(struct imap_client *c, struct imap_notify *n, const struct njob *j)
{
	struct nbox	*b;
	size_t		 i;

	for (i = 0; i < j->nents; i++)
		if (j->ents[i].has_st && (b = box_find(n, j->ents[i].name)) != NULL)
			status_update(c, b, &j->ents[i].st, true);
}

/* Not the time to write: everything the job was about is pending again. */
static void
requeue(struct imap_notify *n, const struct njob *j)
{
	struct nbox	*b;
	size_t		 i;

	if (j->scan)
		n->scan_needed = true;
	for (i = 0; i < j->nnames; i++)
		if ((j->scan ? j->want[i] : true) && (b = box_find(n, j->names[i])) != NULL)
			b->dirty = true;
}

static void
set_done(struct imap_client *c, struct imap_notify *n, struct njob *j)
{
	size_t	 i, max = (size_t)conf_int(conf_current(), CK_IMAP_NOTIFY_MAX_MAILBOXES);
	bool	 ok = true;

	if (j->err != 0) {
		imap_notify_free(c);
		imap_tagged(c, "NO", "%s", j->err == IMAP_EDIRTEMP ?
		    "[UNAVAILABLE] Temporary failure, try again later." :
		    "[SERVERBUG] Cannot read the mailbox list.");
		return;
	}
	if (count_watched(j) > max) {
		imap_notify_free(c);
		imap_tagged(c, "NO", "[LIMIT] NOTIFY would follow %zu mailboxes, the limit is %zu.",
		    count_watched(j), max);
		return;
	}
	n->boxes = xcalloc(j->nents + 1, sizeof(*n->boxes));
	for (i = 0; i < j->nents; i++) {
		n->boxes[n->nboxes++] = box_new(n, &j->ents[i]);
		if (ok && !box_watch(c, n->boxes[i]))
			ok = false;
	}
	if (ok && n->spec.ngroups > 0 && c->ss->srv->watcher != NULL) {
		n->root_watch = store_watch_add(c->ss->srv->watcher, c->root,
		    root_cb, n);
		ok = n->root_watch != NULL;
	}
	if (!ok) {
		imap_notify_free(c);
		imap_tagged(c, "NO", "[LIMIT] Out of change-notification watches, try fewer mailboxes.");
		return;
	}
	sel_update(c, n);
	/* §3: SET STATUS tells the current state of every followed mailbox first. */
	for (i = 0; i < j->nents; i++)
		if (j->ents[i].has_st)
			status_update(c, n->boxes[i], &j->ents[i].st, n->spec.status);
	imap_tagged(c, "OK", "NOTIFY completed.");
}

static void
job_done(void *arg)
{
	struct njob		*j = arg;
	struct imap_notify	*n = j->n;
	struct session		*ss = session_job_end(&j->sj);
	struct imap_client	*c;

	n->job_running = false;
	if (ss == NULL || n->c == NULL) {
		if (n->c == NULL)
			state_free(n);
		job_free(j);
		return;
	}
	c = n->c;
	if (c->root == NULL && j->root != NULL)
		c->root = xstrdup(j->root);
	if (j->set) {
		set_done(c, n, j);
		job_free(j);
		imap_resume(c);
		return;
	}
	if (j->err != 0)
		log_warnx("imapd sid=%s: NOTIFY: %s", c->sid, j->err > 0 ? strerror(j->err) :
		    "no mailbox");
	else if (!can_write(c))
		requeue(n, j);
	else if (j->scan)
		apply_scan(c, n, j);
	else
		apply_status(c, n, j);
	job_free(j);
	if (c->notify == n)
		schedule(n);
}

static void
start_job(struct imap_client *c, struct imap_notify *n, bool set)
{
	struct njob	*j = xcalloc(1, sizeof(*j));
	size_t		 i;

	j->n = n;
	j->spec = &n->spec;
	j->set = set;
	j->scan = set || n->scan_needed;
	n->scan_needed = false;
	j->login = xstrdup(c->user);
	j->base = xstrdup(conf_str(conf_current(), CK_VIRTUAL_MAILBOX_BASE));
	j->root = c->root != NULL ? xstrdup(c->root) : NULL;
	j->names = xcalloc(n->nboxes + 1, sizeof(*j->names));
	j->want = xcalloc(n->nboxes + 1, sizeof(*j->want));
	for (i = 0; i < n->nboxes; i++) {
		if (!j->scan && !n->boxes[i]->dirty)
			continue;
		j->want[j->nnames] = n->boxes[i]->dirty;
		j->names[j->nnames++] = xstrdup(n->boxes[i]->name);
		n->boxes[i]->dirty = false;
	}
	n->job_running = true;
	session_job_submit(c->ss, &j->sj, job_work, job_done, j);
}

/* ---- the selected mailbox ------------------------------------------- */

/* Follow the folder now selected (or none). */
static void
sel_update(struct imap_client *c, struct imap_notify *n)
{
	if (c->state != IMAP_S_SELECTED || n->sel_events == 0) {
		store_watch_remove(&n->sel_watch);
		xfree(&n->sel_name);
		return;
	}
	if (c->mb == NULL)	/* lent to a job: as it was */
		return;
	if (n->sel_name != NULL && strcmp(n->sel_name, store_name(c->mb)) == 0)
		return;
	store_watch_remove(&n->sel_watch);
	free(n->sel_name);
	n->sel_name = xstrdup(store_name(c->mb));
	if (c->ss->srv->watcher != NULL)
		n->sel_watch = store_watch_add(c->ss->srv->watcher, store_path(c->mb),
		    sel_cb, n);
	n->sel_dirty = true;	/* what happened before the watch */
}

static void
sel_synced(struct imap_client *c)
{
	struct imap_notify *n = c->notify;

	c->cmd_uid = false;
	if (n != NULL)
		n->syncing = false;
	imap_resume(c);
	if (n != NULL)
		schedule(n);
}

/* ---- MessageNew's FETCH (RFC 5465 5.2) -------------------------------- */

static void
push_end(struct imap_client *c)
{
	struct imap_notify *n = c->notify;

	if (n == NULL)
		return;
	n->pushing = false;
	/* IDLE's sync waited for the push; the timer runs it */
	schedule(n);
}

/*
 * "* n FETCH (...)" with the client's MessageNew items for the messages
 * from n->new_uid on that are still there, except this session's own.
 */
static void
push_new(struct imap_client *c, struct imap_notify *n)
{
	struct seqset	 seqs;
	size_t		 i, count = store_count(c->mb);
	uint32_t	 uid;

	seqset_init(&seqs);
	for (i = store_lower_bound(c->mb, n->new_uid); i < count; i++) {
		uid = store_msg_uid(c->mb, i);
		if (!seqset_contains(&n->own, uid))
			seqset_append(&seqs, (uint32_t)i + 1);
	}
	n->new_uid = 0;
	/* own UIDs the view has now reached were skipped once: forget them */
	if (count == 0 || seqset_max(&n->own) <= store_msg_uid(c->mb, count - 1))
		seqset_reset(&n->own);
	if (seqs.n == 0) {
		seqset_clear(&seqs);
		return;
	}
	n->pushing = true;
	imap_fetch_push(c, n->spec.fetch, &seqs, push_end);
	seqset_clear(&seqs);
}

void
imap_notify_new(struct imap_client *c, uint32_t uid)
{
	struct imap_notify *n = c->notify;

	if (n == NULL || n->spec.fetch == NULL || !(n->sel_events & NOTIFY_EV_NEW))
		return;
	if (uid == 0) {		/* another mailbox: nothing pending applies */
		n->new_uid = 0;
		seqset_reset(&n->own);
		return;
	}
	if (n->new_uid == 0 || uid < n->new_uid)
		n->new_uid = uid;
	schedule(n);
}

void
imap_notify_own(struct imap_client *c, const char *name, const struct seqset *uids)
{
	struct imap_notify	*n = c->notify;
	size_t			 i;

	if (n == NULL || n->spec.fetch == NULL || c->mb == NULL ||
	    strcmp(name, store_name(c->mb)) != 0)
		return;
	for (i = 0; i < uids->n; i++)
		seqset_add_range(&n->own, uids->r[i].lo, uids->r[i].hi);
	seqset_normalize(&n->own);
}

/* ---- the timer: act when the session may write ------------------------ */

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imap_notify	*n = arg;
	struct imap_client	*c = n->c;
	size_t			 i;
	bool			 dirty = n->scan_needed;

	if (c == NULL || !can_write(c))
		return;
	/* an IDLE sync that waited for a FETCH push */
	imap_idle_pending(c);
	sel_update(c, n);
	/*
	 * The selected mailbox between commands only (in IDLE, IDLE syncs
	 * it).  selected-delayed (§6) waits for the commands' own syncs: an
	 * EXPUNGE must not overtake a pipelined command using sequence numbers.
	 */
	if (c->idle != NULL)
		n->sel_dirty = false;
	if (n->sel_dirty && !n->sel_delayed && !n->syncing && c->cmd == NULL && c->mb != NULL &&
	    c->view != NULL && !session_waiting(c->ss)) {
		n->sel_dirty = false;
		n->syncing = true;
		/* RFC 5465 §5.3: FETCH for flag changes carries UID. */
		c->cmd_uid = true;
		imap_view_sync(c, sel_synced);
	}
	if (n->new_uid != 0 && !n->pushing && c->mb != NULL && c->view != NULL &&
	    !session_waiting(c->ss))
		push_new(c, n);
	for (i = 0; i < n->nboxes && !dirty; i++)
		dirty = n->boxes[i]->dirty;
	if (dirty && !n->job_running)
		start_job(c, n, false);
}

/* Arm the timer: it runs once the current callback chain is over. */
static void
schedule(struct imap_notify *n)
{
	static const struct timeval zero = { 0, 0 };

	if (n->c == NULL || n->tick == NULL)
		return;
	(void)evtimer_add(n->tick, &zero);
}

/* ---- entry points ----------------------------------------------------- */

void
imap_notify_idle_point(struct imap_client *c)
{
	if (c->notify != NULL)
		schedule(c->notify);
}

void
imap_notify_set(struct imap_client *c, struct notify_spec *spec)
{
	struct imap_notify *n;

	imap_notify_free(c);
	n = xcalloc(1, sizeof(*n));
	n->c = c;
	seqset_init(&n->own);
	n->spec = *spec;
	memset(spec, 0, sizeof(*spec));
	n->sel_events = notify_selected_events(&n->spec, &n->sel_delayed);
	n->tick = evtimer_new(c->ss->srv->base, tick_cb, n);
	c->notify = n;
	session_wait(c->ss);
	start_job(c, n, true);
}
