/*
 * Mailbox commands on the store's public API (store/store.h): SELECT,
 * EXAMINE, UNSELECT, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST,
 * LSUB, STATUS (RFC 3501 §6.3, RFC 9051 §6.3).  Kept thin on purpose: the
 * store is being reworked (snapshots, change log, notifications), and the
 * mailbox view (EXISTS/EXPUNGE bookkeeping) will sit between the two.
 *
 * Every store call runs on the worker pool (one job per command); the
 * session waits, so pipelined commands keep their order.  The user's
 * Maildir is looked up in the directory by the first job and kept.
 * Names are the store's: '/' separates levels, kept in modified UTF-7
 * as rev1 clients send them (a UTF8=ACCEPT client's UTF-8 names are
 * encoded on the way in and decoded on the way out), INBOX in any case
 * is INBOX.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory/directory.h"
#include "imap/client.h"
#include "imap/names.h"
#include "imap/quote.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/session.h"
#include "store/store.h"

#define EDIRTEMP	(-2)	/* the directory could not answer */
#define ENOMAILBOX	(-3)	/* the user has no mailbox in the directory */

enum mb_op {
	MB_SELECT, MB_EXAMINE, MB_STATUS, MB_CREATE, MB_DELETE, MB_RENAME,
	MB_SUBSCRIBE, MB_UNSUBSCRIBE, MB_LIST, MB_LSUB,
};

/* STATUS items (RFC 3501 §6.3.10). */
#define ST_MESSAGES	0x01
#define ST_RECENT	0x02
#define ST_UIDNEXT	0x04
#define ST_UIDVALIDITY	0x08
#define ST_UNSEEN	0x10

struct mb_job {
	struct session_job	 sj;		/* loop thread only */
	enum mb_op		 op;
	char			*login, *base;	/* to find root when it is not known yet */
	char			*root;		/* the user's Maildir (in, or found) */
	char			*name, *name2;	/* mailbox; RENAME's new name */
	unsigned		 items;		/* STATUS */

	/* results */
	int			 err;		/* 0, an errno, EDIRTEMP or ENOMAILBOX */
	struct store_mailbox	*mb;		/* SELECT/EXAMINE: the opened folder */
	uint32_t		 uidvalidity, uidnext, exists, recent, unseen, first_unseen;
	struct store_folder	*folders;	/* LIST */
	size_t			 nfolders;
	char			**subs;		/* LSUB */
	size_t			 nsubs;
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
	if (j->folders != NULL)
		store_folder_list_free(&j->folders, j->nfolders);
	if (j->subs != NULL)
		store_subscriptions_free(&j->subs, j->nsubs);
	free(j);
}

/* ---- on a worker ---- */

static int
find_root(struct mb_job *j)
{
	struct directory	*d;
	char			*rel = NULL;
	size_t			 n;

	if ((d = dir_thread()) == NULL)
		return EDIRTEMP;
	switch (dir_mailbox(d, j->login, &rel)) {
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
	j->root = xasprintf("%s/%.*s", j->base, (int)n, rel);
	free(rel);
	return 0;
}

/* Counts for SELECT and STATUS from a synced view. */
static void
count(struct mb_job *j)
{
	const struct store_msg	*m;
	size_t			 i, n = store_count(j->mb);

	j->exists = (uint32_t)n;
	j->uidvalidity = store_uidvalidity(j->mb);
	j->uidnext = store_uidnext(j->mb);
	for (i = 0; i < n; i++) {
		m = store_msg(j->mb, i);
		if (m->recent)
			j->recent++;
		if (!(m->flags & STORE_F_SEEN) && j->unseen++ == 0)
			j->first_unseen = (uint32_t)i + 1;
	}
}

static int
open_sync(struct mb_job *j)
{
	/* A user who never got mail has no Maildir yet: an empty INBOX is right. */
	int flags = strcmp(j->name, "INBOX") == 0 ? STORE_O_CREATE : 0;

	if ((j->mb = store_open(j->root, j->name, flags)) == NULL)
		return errno;
	if (store_sync(j->mb, NULL, NULL) < 0)
		return errno;
	count(j);
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
		j->err = open_sync(j);
		store_close(&j->mb);
		return;
	case MB_CREATE:
		r = store_folder_create(j->root, j->name);
		break;
	case MB_DELETE:
		r = store_folder_delete(j->root, j->name);
		break;
	case MB_RENAME:
		r = store_folder_rename(j->root, j->name, j->name2);
		break;
	case MB_SUBSCRIBE:
	case MB_UNSUBSCRIBE:
		r = store_subscribe(j->root, j->name, j->op == MB_SUBSCRIBE);
		break;
	case MB_LIST:
		/* A new user's Maildir may not exist yet: an empty list, INBOX added later. */
		if (store_folder_list(j->root, &j->folders, &j->nfolders) < 0 && errno != ENOENT)
			r = -1;
		break;
	case MB_LSUB:
		if (store_subscriptions(j->root, &j->subs, &j->nsubs) < 0 && errno != ENOENT)
			r = -1;
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

	imap_untagged(c, "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)");
	imap_untagged(c, "OK [PERMANENTFLAGS (%s)] Flags permitted.",
	    ro ? "" : "\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*");
	imap_untagged(c, "%u EXISTS", j->exists);
	imap_untagged(c, "%u RECENT", j->recent);
	if (j->first_unseen > 0)
		imap_untagged(c, "OK [UNSEEN %u] First unseen.", j->first_unseen);
	imap_untagged(c, "OK [UIDVALIDITY %u] UIDs valid.", j->uidvalidity);
	imap_untagged(c, "OK [UIDNEXT %u] Predicted next UID.", j->uidnext);
	c->mb = j->mb;
	j->mb = NULL;
	c->mb_readonly = ro;
	imap_set_state(c, IMAP_S_SELECTED);
	imap_tagged(c, "OK", "[%s] %s completed.", ro ? "READ-ONLY" : "READ-WRITE",
	    ro ? "EXAMINE" : "SELECT");
}

static void
status_reply(struct imap_client *c, struct mb_job *j)
{
	struct buf b;

	buf_init(&b, 8192);
	(void)buf_addf(&b, "* STATUS ");
	(void)imap_write_mailbox_name(c, &b, j->name);
	(void)buf_addf(&b, " (");
	if (j->items & ST_MESSAGES)
		(void)buf_addf(&b, "MESSAGES %u ", j->exists);
	if (j->items & ST_RECENT)
		(void)buf_addf(&b, "RECENT %u ", j->recent);
	if (j->items & ST_UIDNEXT)
		(void)buf_addf(&b, "UIDNEXT %u ", j->uidnext);
	if (j->items & ST_UIDVALIDITY)
		(void)buf_addf(&b, "UIDVALIDITY %u ", j->uidvalidity);
	if (j->items & ST_UNSEEN)
		(void)buf_addf(&b, "UNSEEN %u ", j->unseen);
	if (b.data[b.len - 1] == ' ')
		b.len--;
	(void)buf_addf(&b, ")\r\n");
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
list_line(struct imap_client *c, const char *verb, const char *flags, const char *name)
{
	struct buf b;

	buf_init(&b, 8192);
	(void)buf_addf(&b, "* %s (%s) \"/\" ", verb, flags);
	(void)imap_write_mailbox_name(c, &b, name);
	(void)buf_addf(&b, "\r\n");
	imap_write(c, b.data, b.len);
	buf_clear(&b);
}

static void
list_reply(struct imap_client *c, struct mb_job *j)
{
	const char	*pat = j->name2;
	bool		 inbox = false;
	size_t		 i;
	unsigned	 f;

	for (i = 0; i < j->nfolders; i++) {
		if (strcmp(j->folders[i].name, "INBOX") == 0)
			inbox = true;
		if (!imap_list_match(j->folders[i].name, pat))
			continue;
		f = j->folders[i].flags;
		list_line(c, "LIST", (f & STORE_FOLDER_NONEXISTENT) ?
		    ((f & STORE_FOLDER_CHILDREN) ? "\\Noselect \\HasChildren" :
		    "\\Noselect \\HasNoChildren") :
		    (f & STORE_FOLDER_CHILDREN) ? "\\HasChildren" : "\\HasNoChildren",
		    j->folders[i].name);
	}
	if (!inbox && imap_list_match("INBOX", pat))
		list_line(c, "LIST", "\\HasNoChildren", "INBOX");
	imap_tagged(c, "OK", "LIST completed.");
}

static void
lsub_reply(struct imap_client *c, struct mb_job *j)
{
	size_t i;

	for (i = 0; i < j->nsubs; i++)
		if (imap_list_match(j->subs[i], j->name2))
			list_line(c, "LSUB", "", j->subs[i]);
	imap_tagged(c, "OK", "LSUB completed.");
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
		list_reply(c, j);
		break;
	case MB_LSUB:
		lsub_reply(c, j);
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
	return j;
}

/* Commands taking one mailbox: SELECT EXAMINE CREATE DELETE SUBSCRIBE UNSUBSCRIBE. */
static void
one_mailbox(struct imap_client *c, const struct imap_cmd *cmd, enum mb_op op)
{
	struct mb_job	*j;
	char		*name;

	if (cmd->nargs != 1) {
		imap_tagged(c, "BAD", "Expected one mailbox name.");
		return;
	}
	if ((name = imap_mailbox_arg(c, &cmd->args[0])) == NULL)
		return;
	if (op == MB_DELETE && strcmp(name, "INBOX") == 0) {
		free(name);
		imap_tagged(c, "NO", "[CANNOT] INBOX can't be deleted.");
		return;
	}
	/* CREATE "a/" creates "a" (RFC 3501 §6.3.3: the trailing separator is a hint). */
	if (op == MB_CREATE && strlen(name) > 1 && name[strlen(name) - 1] == '/')
		name[strlen(name) - 1] = '\0';
	j = job_new(op);
	j->name = name;
	submit(c, j);
}

static void
leave_mailbox(struct imap_client *c)
{
	store_close(&c->mb);
	if (c->state == IMAP_S_SELECTED)
		imap_set_state(c, IMAP_S_AUTH);
}

void
cmd_select(struct imap_client *c, const struct imap_cmd *cmd)
{
	/* RFC 3501 §6.3.1: a failed SELECT leaves no mailbox selected. */
	leave_mailbox(c);
	one_mailbox(c, cmd, str_ieq(cmd->name, cmd->name_len, "EXAMINE") ? MB_EXAMINE : MB_SELECT);
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
	/* RFC 3501 §6.3.5: renaming INBOX moves its messages; that needs the message commands. */
	if (strcmp(from, "INBOX") == 0 || strcmp(to, "INBOX") == 0) {
		free(from);
		free(to);
		imap_tagged(c, "NO", "[CANNOT] Renaming INBOX is not supported yet.");
		return;
	}
	j = job_new(MB_RENAME);
	j->name = from;
	j->name2 = to;
	submit(c, j);
}

/* LIST / LSUB reference pattern (RFC 3501 §6.3.8-9); the reference is prefixed. */
void
cmd_list(struct imap_client *c, const struct imap_cmd *cmd)
{
	bool		 lsub = str_ieq(cmd->name, cmd->name_len, "LSUB");
	const char	*ref, *pat;
	size_t		 rlen, plen;
	struct mb_job	*j;

	if (cmd->nargs != 2 || !imap_arg_astring(&cmd->args[0], &ref, &rlen) ||
	    !imap_arg_astring(&cmd->args[1], &pat, &plen) || str_has_nul(ref, rlen) ||
	    str_has_nul(pat, plen)) {
		imap_tagged(c, "BAD", "Expected a reference and a pattern.");
		return;
	}
	if (plen == 0 && !lsub) {
		/* The hierarchy separator and the root (RFC 3501 §6.3.8). */
		imap_untagged(c, "LIST (\\Noselect) \"/\" \"\"");
		imap_tagged(c, "OK", "LIST completed.");
		return;
	}
	j = job_new(lsub ? MB_LSUB : MB_LIST);
	j->name2 = xasprintf("%.*s%.*s", (int)rlen, ref, (int)plen, pat);
	submit(c, j);
}

void
cmd_status(struct imap_client *c, const struct imap_cmd *cmd)
{
	static const struct { const char *name; unsigned bit; } items[] = {
		{ "MESSAGES", ST_MESSAGES }, { "RECENT", ST_RECENT }, { "UIDNEXT", ST_UIDNEXT },
		{ "UIDVALIDITY", ST_UIDVALIDITY }, { "UNSEEN", ST_UNSEEN },
	};
	const struct imap_arg	*l;
	unsigned		 want = 0, bit;
	size_t			 i, k;
	struct mb_job		*j;
	char			*name;

	if (cmd->nargs != 2 || !imap_arg_is_list(&cmd->args[1]) || cmd->args[1].count == 0) {
		imap_tagged(c, "BAD", "Expected a mailbox and a list of items.");
		return;
	}
	l = &cmd->args[1];
	for (i = 0; i < l->count; i++) {
		bit = 0;
		for (k = 0; k < sizeof(items) / sizeof(items[0]); k++)
			if (imap_arg_is_atom(&l->list[i], items[k].name))
				bit = items[k].bit;
		if (bit == 0) {
			imap_tagged(c, "BAD", "Unknown STATUS item.");
			return;
		}
		want |= bit;
	}
	if ((name = imap_mailbox_arg(c, &cmd->args[0])) == NULL)
		return;
	j = job_new(MB_STATUS);
	j->name = name;
	j->items = want;
	submit(c, j);
}

void
imap_mailbox_free(struct imap_client *c)
{
	store_close(&c->mb);
	xfree(&c->root);
}
