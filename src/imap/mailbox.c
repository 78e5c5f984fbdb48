/*
 * Mailbox commands on the store's public API (store/store.h): SELECT,
 * EXAMINE, UNSELECT, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST,
 * LSUB, STATUS (RFC 3501 §6.3, RFC 9051 §6.3).  Kept thin on purpose: the
 * store is being reworked (snapshots, change log, notifications), and the
 * mailbox view (EXISTS/EXPUNGE bookkeeping) will sit between the two.
 *
 * Every store call runs on the worker pool (one job per command); the
 * session waits, so pipelined commands keep their order.  The user's
 * Maildir is looked up in the directory by the first job and kept (and a
 * new user's special-use folders made then).  Names are translated
 * between the wire and the store by names.h only; LIST/LSUB/STATUS
 * replies are built by list.c on the worker.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory/directory.h"
#include "imap/client.h"
#include "imap/condstore.h"
#include "imap/list.h"
#include "imap/names.h"
#include "imap/quote.h"
#include "imap/select_parse.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/session.h"
#include "store/store.h"

#define EDIRTEMP	IMAP_EDIRTEMP
#define ENOMAILBOX	IMAP_ENOMAILBOX

enum mb_op {
	MB_SELECT, MB_EXAMINE, MB_STATUS, MB_CREATE, MB_DELETE, MB_RENAME,
	MB_SUBSCRIBE, MB_UNSUBSCRIBE, MB_LIST, MB_LSUB,
};

struct mb_job {
	struct session_job	 sj;		/* loop thread only */
	enum mb_op		 op;
	char			*login, *base;	/* to find root when it is not known yet */
	char			*root;		/* the user's Maildir (in, or found) */
	char			*name, *name2;	/* mailbox; RENAME's new name */
	char			 use[IMAP_SPECIAL_USE_MAX];	/* CREATE ... (USE (...)) */
	unsigned		 items;		/* STATUS: IMAP_STATUS_* */
	struct imap_list_req	 req;		/* LIST, LSUB */
	struct select_params	 sp;		/* SELECT/EXAMINE (CONDSTORE / QRESYNC) */
	enum imap_ns		 ns;		/* STATUS reply */
	unsigned		 nflags;

	/* results */
	int			 err;		/* 0, an errno, EDIRTEMP or ENOMAILBOX */
	struct store_mailbox	*mb;		/* SELECT/EXAMINE: the opened folder */
	uint32_t		 uidvalidity, uidnext, exists, recent, unseen, first_unseen;
	struct store_status	 st;		/* STATUS */
	uint32_t		 deleted;
	char			 mailboxid[STORE_OBJID_SIZE];	/* SELECT, CREATE, STATUS */
	struct buf		 out;		/* LIST, LSUB: the untagged lines */
};

static void
job_free(struct mb_job *j)
{
	free(j->login);
	free(j->base);
	free(j->root);
	free(j->name);
	free(j->name2);
	store_close(&j->mb);
	imap_list_req_clear(&j->req);
	select_params_clear(&j->sp);
	buf_clear(&j->out);
	free(j);
}

/* ---- on a worker ---- */

/*
 * RFC 6154 folders for a new user, created and subscribed (with INBOX) the
 * first time a session looks the Maildir up.  "New" = no folder but INBOX:
 * a Maildir taken over from Courier or Dovecot keeps exactly its folders,
 * and a user who deletes Trash is not given it back at every login (as
 * Dovecot's auto=subscribe would).  Failures only cost the folders.
 */
static void
special_folders(const char *root)
{
	static const char *const names[] = { "Drafts", "Sent", "Trash", "Junk", "Archive" };
	enum { NSPECIAL = sizeof(names) / sizeof(names[0]) };
	const char		*subs[NSPECIAL + 1];
	struct store_folder	*f = NULL;
	struct store_mailbox	*mb;
	size_t			 n = 0, i, nsubs = 0;
	bool			 fresh, ok[NSPECIAL];

	if (store_folder_list(root, &f, &n) < 0 && errno != ENOENT)
		return;
	fresh = n == 0 || (n == 1 && strcmp(f[0].name, "INBOX") == 0);
	if (f != NULL)
		store_folder_list_free(&f, n);
	if (!fresh || (mb = store_open(root, "INBOX", STORE_O_CREATE)) == NULL)
		return;
	store_close(&mb);
	/* One fsync of the root and one write of the subscriptions for all. */
	subs[nsubs++] = "INBOX";
	if (store_folders_create(root, names, NSPECIAL, ok) == 0)
		for (i = 0; i < NSPECIAL; i++)
			if (ok[i])
				subs[nsubs++] = names[i];
	(void)store_subscribe_list(root, subs, nsubs, true);
}

int
imap_find_root(const char *login, const char *base, char **root_r)
{
	struct directory	*d;
	char			*rel = NULL;
	size_t			 n;

	if ((d = dir_thread()) == NULL)
		return EDIRTEMP;
	switch (dir_mailbox(d, login, &rel)) {
	case DIR_TEMPFAIL:
		return EDIRTEMP;
	case DIR_NOTFOUND:
		return ENOMAILBOX;
	case DIR_FOUND:
		break;
	}
	n = strlen(rel);
	while (n > 0 && rel[n - 1] == '/')
		n--;
	*root_r = xasprintf("%s/%.*s", base, (int)n, rel);
	free(rel);
	special_folders(*root_r);
	return 0;
}

static int
find_root(struct mb_job *j)
{
	return imap_find_root(j->login, j->base, &j->root);
}

/* Counts for SELECT and STATUS from a synced view. */
static void
count(struct mb_job *j)
{
	size_t			 i, n = store_count(j->mb);

	j->exists = (uint32_t)n;
	j->uidvalidity = store_uidvalidity(j->mb);
	j->uidnext = store_uidnext(j->mb);
	for (i = 0; i < n; i++) {
		if (store_msg_recent(j->mb, i))
			j->recent++;
		if (!(store_msg_flags(j->mb, i) & STORE_F_SEEN) && j->unseen++ == 0)
			j->first_unseen = (uint32_t)i + 1;
	}
}

static int
open_sync(struct mb_job *j)
{
	/* A user who never got mail has no Maildir yet: an empty INBOX is right. */
	int flags = strcmp(j->name, "INBOX") == 0 ? STORE_O_CREATE : 0;

	if (j->op == MB_EXAMINE)	/* read-only: \Recent stays for the next SELECT */
		flags |= STORE_O_PEEK_RECENT;

	if ((j->mb = store_open(j->root, j->name, flags)) == NULL)
		return errno;
	if (store_sync(j->mb, NULL, NULL) < 0)
		return errno;
	count(j);
	/* RFC 8474 4.3: nothing to report when it cannot be had */
	if (store_mailbox_id(j->root, j->name, j->mailboxid) < 0)
		j->mailboxid[0] = '\0';
	return 0;
}

static int
list_work(struct mb_job *j)
{
	struct store_folder	*folders = NULL;
	char			**subs = NULL;
	size_t			 nfolders = 0, nsubs = 0;
	int			 r = 0;

	/* A new user's Maildir may not exist yet: an empty list, INBOX added by the builder. */
	if (store_folder_list(j->root, &folders, &nfolders) < 0 && errno != ENOENT)
		r = -1;
	if (r == 0 && store_subscriptions(j->root, &subs, &nsubs) < 0 && errno != ENOENT)
		r = -1;
	if (r == 0)
		imap_list_build(&j->req, j->root, folders, nfolders, subs, nsubs, &j->out);
	if (folders != NULL)
		store_folder_list_free(&folders, nfolders);
	if (subs != NULL)
		store_subscriptions_free(&subs, nsubs);
	return r;
}

/*
 * RENAME INBOX (RFC 3501 6.3.5): a new folder gets all of INBOX's
 * messages (hard links, flags and keywords kept) and INBOX stays, empty.
 * When a copy fails the new folder goes again, so nothing is half done.
 */
static int
rename_inbox(const char *root, const char *to)
{
	struct store_mailbox	*src = NULL, *dst = NULL;
	uint32_t		*uids = NULL;
	size_t			 i, n, k = 0;
	int			 r = -1, saved;

	/* a user who never got mail has no Maildir yet: an empty INBOX to move */
	if ((src = store_open(root, "INBOX", STORE_O_CREATE | STORE_O_NO_RECENT)) == NULL ||
	    store_sync(src, NULL, NULL) < 0 || store_folder_create(root, to) < 0)
		goto out;
	if ((dst = store_open(root, to, STORE_O_NO_RECENT)) == NULL)
		goto undo;
	n = store_count(src);
	uids = xcalloc(n + 1, sizeof(*uids));
	for (i = 0; i < n; i++) {
		if (store_copy(src, i, dst, NULL) == 0)
			uids[k++] = store_msg_uid(src, i);
		else if (errno != ENOENT)	/* ENOENT: expunged meanwhile */
			goto undo;
	}
	r = k > 0 ? store_expunge(src, uids, k) : 0;
	goto out;
undo:
	saved = errno;
	store_close(&dst);
	(void)store_folder_delete(root, to);
	errno = saved;
out:
	saved = errno;
	free(uids);
	store_close(&dst);
	store_close(&src);
	errno = saved;
	return r;
}

/*
 * CREATE: the folder, its special use (RFC 6154 §5.2) and its MAILBOXID
 * for the reply (RFC 8474 4.1).  A use that cannot be stored takes the
 * folder away again: the CREATE failed.
 */
static int
create_work(struct mb_job *j)
{
	int saved;

	if (store_folder_create(j->root, j->name) < 0)
		return -1;
	if (j->use[0] != '\0' && store_folder_set_special_use(j->root, j->name, j->use) < 0) {
		saved = errno;
		(void)store_folder_delete(j->root, j->name);
		errno = saved;
		return -1;
	}
	if (store_mailbox_id(j->root, j->name, j->mailboxid) < 0)
		j->mailboxid[0] = '\0';
	return 0;
}

static void
mb_work(void *arg)
{
	struct mb_job	*j = arg;
	int		 r = 0;

	if (j->root == NULL && (j->err = find_root(j)) != 0)
		return;
	switch (j->op) {
	case MB_SELECT:
	case MB_EXAMINE:
		j->err = open_sync(j);
		return;
	case MB_STATUS:
		/* The index header alone when nothing changed (no open + sync per STATUS). */
		if (imap_status_get(j->root, j->name, j->items, &j->st, &j->deleted,
		    j->mailboxid) < 0)
			r = -1;
		break;
	case MB_CREATE:
		r = create_work(j);
		break;
	case MB_DELETE:
		r = store_folder_delete(j->root, j->name);
		break;
	case MB_RENAME:
		r = strcmp(j->name, "INBOX") == 0 ? rename_inbox(j->root, j->name2) :
		    store_folder_rename(j->root, j->name, j->name2);
		break;
	case MB_SUBSCRIBE:
	case MB_UNSUBSCRIBE:
		r = store_subscribe(j->root, j->name, j->op == MB_SUBSCRIBE);
		break;
	case MB_LIST:
	case MB_LSUB:
		r = list_work(j);
		break;
	}
	j->err = r < 0 ? errno : 0;
}

/* ---- on the loop ---- */

/* A failed command's reply (RFC 5530 response codes). */
static void
fail(struct imap_client *c, struct mb_job *j)
{
	switch (j->err) {
	case EDIRTEMP:
		imap_tagged(c, "NO", "[UNAVAILABLE] Temporary failure, try again later.");
		break;
	case ENOMAILBOX:
	case ENOENT:
		imap_tagged(c, "NO", "[NONEXISTENT] Mailbox doesn't exist.");
		break;
	case EEXIST:
		imap_tagged(c, "NO", "[ALREADYEXISTS] Mailbox already exists.");
		break;
	case EINVAL:
	case ENAMETOOLONG:
		imap_tagged(c, "NO", "[CANNOT] Invalid mailbox name.");
		break;
	case ENOTEMPTY:
		imap_tagged(c, "NO", "[CANNOT] Mailbox has children, delete them first.");
		break;
	default:
		log_warnx("imapd sid=%s: mailbox %s: %s", c->sid, j->name ? j->name : "-",
		    strerror(j->err));
		imap_tagged(c, "NO", "[SERVERBUG] Internal error.");
		break;
	}
}

static void
select_reply(struct imap_client *c, struct mb_job *j)
{
	bool ro = j->op == MB_EXAMINE;

	imap_view_flag_lists(c, j->mb, ro);
	imap_untagged(c, "%u EXISTS", j->exists);
	imap_untagged(c, "%u RECENT", j->recent);
	if (j->first_unseen > 0)
		imap_untagged(c, "OK [UNSEEN %u] First unseen.", j->first_unseen);
	imap_untagged(c, "OK [UIDVALIDITY %u] UIDs valid.", j->uidvalidity);
	imap_untagged(c, "OK [UIDNEXT %u] Predicted next UID.", j->uidnext);
	if (j->mailboxid[0] != '\0')
		imap_untagged(c, "OK [MAILBOXID (%s)] Ok", j->mailboxid);
	c->mb = j->mb;
	j->mb = NULL;
	c->mb_readonly = ro;
	/* RFC 7162 3.1.2.1; our store keeps modseqs for every folder, so never NOMODSEQ. */
	if (j->sp.condstore)
		c->enabled |= IMAP_E_CONDSTORE;
	if (imap_condstore(c))
		imap_highestmodseq_write(c);
	if (j->sp.qresync)
		imap_qresync_select(c, &j->sp);
	imap_view_selected(c);
	imap_set_state(c, IMAP_S_SELECTED);
	imap_tagged(c, "OK", "[%s] %s completed.", ro ? "READ-ONLY" : "READ-WRITE",
	    ro ? "EXAMINE" : "SELECT");
}

static void
status_reply(struct imap_client *c, struct mb_job *j)
{
	struct buf b;

	buf_init(&b, 8192);
	imap_status_line(&b, j->ns, j->nflags, j->name, j->items, &j->st, j->deleted,
	    j->mailboxid);
	imap_write(c, b.data, b.len);
	buf_clear(&b);
	imap_tagged(c, "OK", "STATUS completed.");
}

/* The modern view's match, kept for the command tests. */
bool
imap_list_match(const char *name, const char *pat)
{
	return imap_name_match(name, pat, '/');
}

static void
list_reply(struct imap_client *c, struct mb_job *j)
{
	imap_write(c, j->out.data, j->out.len);
	imap_tagged(c, "OK", "%s completed.", j->op == MB_LSUB ? "LSUB" : "LIST");
}

static void
mb_done(void *arg)
{
	struct mb_job		*j = arg;
	struct session		*ss = session_job_end(&j->sj);
	struct imap_client	*c;

	if (ss == NULL) {
		job_free(j);
		return;
	}
	c = ss->ctx;
	if (c->root == NULL && j->root != NULL)
		c->root = xstrdup(j->root);
	if (j->err != 0)
		fail(c, j);
	else switch (j->op) {
	case MB_SELECT:
	case MB_EXAMINE:
		select_reply(c, j);
		break;
	case MB_STATUS:
		status_reply(c, j);
		break;
	case MB_LIST:
	case MB_LSUB:
		list_reply(c, j);
		break;
	case MB_CREATE:
		if (j->mailboxid[0] != '\0')
			imap_tagged(c, "OK", "[MAILBOXID (%s)] Completed.", j->mailboxid);
		else
			imap_tagged(c, "OK", "Completed.");
		break;
	default:
		imap_tagged(c, "OK", "Completed.");
		break;
	}
	job_free(j);
	imap_resume(c);
}

static void
submit(struct imap_client *c, struct mb_job *j)
{
	j->root = c->root != NULL ? xstrdup(c->root) : NULL;
	j->login = xstrdup(c->user);
	j->base = xstrdup(conf_str(conf_current(), CK_VIRTUAL_MAILBOX_BASE));
	session_wait(c->ss);
	session_job_submit(c->ss, &j->sj, mb_work, mb_done, j);
}

static struct mb_job *
job_new(enum mb_op op)
{
	struct mb_job *j = xcalloc(1, sizeof(*j));

	j->op = op;
	buf_init(&j->out, 64 * 1024 * 1024);
	return j;
}

/*
 * CREATE's parameters (RFC 4466 create-params): only USE (RFC 6154 §5.2).
 * 0 with use filled, -1 malformed or unknown (BAD), 1 a use we cannot
 * keep (NO [USEATTR]).
 */
static int
create_params(const struct imap_arg *params, char *use)
{
	if (!imap_arg_is_list(params) || params->count != 2 ||
	    !imap_arg_is_atom(&params->list[0], "USE"))
		return -1;
	return imap_use_parse(&params->list[1], use);
}

/* Commands taking one mailbox: SELECT EXAMINE CREATE DELETE SUBSCRIBE UNSUBSCRIBE. */
static void
one_mailbox(struct imap_client *c, const struct imap_cmd *cmd, enum mb_op op)
{
	struct mb_job	*j;
	struct imap_arg	 a;
	char		*name, use[IMAP_SPECIAL_USE_MAX] = "";
	int		 r;

	if (cmd->nargs != 1 && (op != MB_CREATE || cmd->nargs != 2)) {
		imap_tagged(c, "BAD", "Expected one mailbox name.");
		return;
	}
	if (cmd->nargs == 2 && (r = create_params(&cmd->args[1], use)) != 0) {
		if (r < 0)
			imap_tagged(c, "BAD", "Invalid CREATE parameters.");
		else
			imap_tagged(c, "NO", "[USEATTR] Special use not supported.");
		return;
	}
	/* CREATE "a/" creates "a" (RFC 3501 §6.3.3: the trailing separator is a hint). */
	a = cmd->args[0];
	if (op == MB_CREATE && a.type != IMAP_ARG_LIST && a.len > 1 &&
	    a.str[a.len - 1] == imap_ns_sep(imap_ns_current()))
		a.len--;
	if ((name = imap_mailbox_arg(c, &a)) == NULL)
		return;
	if (op == MB_DELETE && strcmp(name, "INBOX") == 0) {
		free(name);
		imap_tagged(c, "NO", "[CANNOT] INBOX can't be deleted.");
		return;
	}
	j = job_new(op);
	j->name = name;
	str_copy(j->use, use, sizeof(j->use));
	submit(c, j);
}

/*
 * Close the selected mailbox.  After a big one, give the freed memory back
 * to the system: the handle's arrays were made on a worker, in that
 * thread's malloc arena, and glibc keeps an arena's freed pages (measured:
 * 22 MB still resident after a 100,000-message session logged out, which
 * the next session's SELECT did not reuse).  malloc_trim costs a walk of
 * the arenas, so only past TRIM_AFTER messages.
 */
#define TRIM_AFTER	10000

static void
close_mailbox(struct imap_client *c)
{
	size_t n = c->mb != NULL ? store_count(c->mb) : 0;

	imap_view_free(c);
	store_close(&c->mb);
#ifdef __GLIBC__
	if (n >= TRIM_AFTER)
		(void)malloc_trim(0);
#else
	(void)n;
#endif
}

static void
leave_mailbox(struct imap_client *c)
{
	imap_search_reset(c);
	close_mailbox(c);
	if (c->state == IMAP_S_SELECTED)
		imap_set_state(c, IMAP_S_AUTH);
}

void
cmd_select(struct imap_client *c, const struct imap_cmd *cmd)
{
	enum mb_op		 op = str_ieq(cmd->name, cmd->name_len, "EXAMINE") ?
				    MB_EXAMINE : MB_SELECT;
	struct select_params	 sp;
	struct mb_job		*j;
	const char		*err;
	char			*name;

	/* RFC 3501 §6.3.1: a failed SELECT leaves no mailbox selected. */
	if (c->state == IMAP_S_SELECTED && (imap_qresync(c) || (c->enabled & IMAP_E_REV2)))
		/* RFC 7162 3.2.11, RFC 9051 7.1: what follows is about the new mailbox */
		imap_untagged(c, "OK [CLOSED] Previous mailbox closed.");
	leave_mailbox(c);
	if (cmd->nargs != 2) {
		one_mailbox(c, cmd, op);
		return;
	}
	if (select_params_parse(&cmd->args[1], &sp, &err) < 0) {
		imap_tagged(c, "BAD", "%s.", err);
		return;
	}
	/* RFC 7162 3.2.5: QRESYNC only after ENABLE QRESYNC */
	if (sp.qresync && !imap_qresync(c)) {
		select_params_clear(&sp);
		imap_tagged(c, "BAD", "QRESYNC is not enabled.");
		return;
	}
	if ((name = imap_mailbox_arg(c, &cmd->args[0])) == NULL) {
		select_params_clear(&sp);
		return;
	}
	j = job_new(op);
	j->name = name;
	j->sp = sp;
	submit(c, j);
}

void
cmd_unselect(struct imap_client *c, const struct imap_cmd *cmd)
{
	if (cmd->nargs != 0) {
		imap_tagged(c, "BAD", "UNSELECT takes no arguments.");
		return;
	}
	leave_mailbox(c);
	imap_tagged(c, "OK", "UNSELECT completed.");
}

void
cmd_create(struct imap_client *c, const struct imap_cmd *cmd)
{
	one_mailbox(c, cmd, MB_CREATE);
}

void
cmd_delete(struct imap_client *c, const struct imap_cmd *cmd)
{
	one_mailbox(c, cmd, MB_DELETE);
}

void
cmd_subscribe(struct imap_client *c, const struct imap_cmd *cmd)
{
	one_mailbox(c, cmd, str_ieq(cmd->name, cmd->name_len, "SUBSCRIBE") ? MB_SUBSCRIBE :
	    MB_UNSUBSCRIBE);
}

void
cmd_rename(struct imap_client *c, const struct imap_cmd *cmd)
{
	struct mb_job	*j;
	char		*from, *to;

	if (cmd->nargs != 2) {
		imap_tagged(c, "BAD", "Expected two mailbox names.");
		return;
	}
	if ((from = imap_mailbox_arg(c, &cmd->args[0])) == NULL)
		return;
	if ((to = imap_mailbox_arg(c, &cmd->args[1])) == NULL) {
		free(from);
		return;
	}
	/* INBOX always exists; renaming it moves its messages (rename_inbox). */
	if (strcmp(to, "INBOX") == 0) {
		free(from);
		free(to);
		imap_tagged(c, "NO", "[ALREADYEXISTS] INBOX always exists.");
		return;
	}
	j = job_new(MB_RENAME);
	j->name = from;
	j->name2 = to;
	submit(c, j);
}

/*
 * LIST / LSUB (RFC 3501 §6.3.8-9, RFC 5258 extended form, RFC 9051
 * §6.3.9); the reference is prefixed to each pattern.
 */
void
cmd_list(struct imap_client *c, const struct imap_cmd *cmd)
{
	bool		 lsub = str_ieq(cmd->name, cmd->name_len, "LSUB");
	enum imap_ns	 ns = imap_ns_current();
	const char	*err;
	struct mb_job	*j = job_new(lsub ? MB_LSUB : MB_LIST);

	j->req.ns = ns;
	j->req.nflags = imap_name_flags(c);
	j->req.rev2 = (c->enabled & IMAP_E_REV2) != 0;
	if ((err = imap_list_parse(&j->req, cmd->args, cmd->nargs, lsub)) != NULL) {
		job_free(j);
		imap_tagged(c, "BAD", "%s", err);
		return;
	}
	if (!j->req.extended && !lsub && j->req.pats[0][0] == '\0') {
		/* The hierarchy separator and the root (RFC 3501 §6.3.8). */
		job_free(j);
		imap_untagged(c, "LIST (\\Noselect) \"%c\" \"\"", imap_ns_sep(ns));
		imap_tagged(c, "OK", "LIST completed.");
		return;
	}
	submit(c, j);
}

void
cmd_status(struct imap_client *c, const struct imap_cmd *cmd)
{
	struct mb_job	*j;
	unsigned	 want;
	char		*name;

	if (cmd->nargs != 2 || !imap_status_items(&cmd->args[1], &want)) {
		imap_tagged(c, "BAD", "Expected a mailbox and a list of STATUS items.");
		return;
	}
	if ((name = imap_mailbox_arg(c, &cmd->args[0])) == NULL)
		return;
	if (want & IMAP_STATUS_HIGHESTMODSEQ)
		imap_condstore_on(c);	/* RFC 7162 3.1 */
	j = job_new(MB_STATUS);
	j->name = name;
	j->items = want;
	j->ns = imap_ns_current();
	j->nflags = imap_name_flags(c);
	submit(c, j);
}

void
imap_mailbox_free(struct imap_client *c)
{
	close_mailbox(c);
	xfree(&c->root);
}

void
imap_mailbox_leave(struct imap_client *c)
{
	leave_mailbox(c);
}

