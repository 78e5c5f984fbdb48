/*
 * EXPUNGE, UID EXPUNGE (RFC 4315 UIDPLUS), CLOSE and CHECK (RFC 3501
 * 6.4.1-6.4.3, RFC 9051 6.4.1-6.4.3).  The \Deleted messages, as they are
 * after a sync (another session may have set or cleared the flag), are
 * removed on the pool (store_expunge); the "* N EXPUNGE" responses come
 * from the sync that imap_view_done() runs, in the store's order, each number
 * counted after the earlier removals (RFC 3501 7.4.1).  CLOSE removes
 * them silently (not after EXAMINE) and leaves the mailbox.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap/client.h"
#include "imap/condstore.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "store/store.h"

struct expunge_job {
	bool		 close;		/* CLOSE: silent, then leave */
	bool		 limited;	/* UID EXPUNGE: only messages in seqs */
	struct seqset	 uids;		/* UID EXPUNGE's set, "*" resolved */
	int		 err;
};

static void
job_free(void *arg)
{
	struct expunge_job *j = arg;

	seqset_clear(&j->uids);
	free(j);
}

static void
expunge_work(struct store_mailbox *mb, void *arg)
{
	struct expunge_job	*j = arg;
	size_t			 i, n, nuids = 0;
	uint32_t		*uids, uid;

	/* CLOSE reports nothing: its sync only brings the \Deleted flags up to date. */
	if (j->close)
		(void)store_sync(mb, NULL, NULL);
	n = store_count(mb);
	uids = xreallocarray(NULL, n + 1, sizeof(*uids));
	for (i = 0; i < n; i++) {
		uid = store_msg_uid(mb, i);
		if ((store_msg_flags(mb, i) & STORE_F_DELETED) &&
		    (!j->limited || seqset_contains(&j->uids, uid)))
			uids[nuids++] = uid;
	}
	j->err = store_expunge(mb, uids, nuids) < 0 ? errno : 0;
	free(uids);
}

static void
expunge_done(struct imap_client *c, void *arg)
{
	struct expunge_job *j = arg;

	if (j->err != 0)
		log_warnx("imapd sid=%s: expunge %s: %s", c->sid, store_name(c->mb),
		    strerror(j->err));
	if (j->close) {
		/* RFC 3501 6.4.2: no untagged EXPUNGE; the mailbox is left either way. */
		imap_mailbox_leave(c);
		imap_tagged(c, "OK", "CLOSE completed.");
		imap_resume(c);
	} else if (j->err != 0)
		imap_view_done(c, "NO", "[SERVERBUG] Internal error expunging messages.");
	else {
		/* RFC 7162 3.2.10: the client learns the modseq its VANISHED brought it to. */
		if (imap_qresync(c))
			imap_view_modseq_code(c);
		imap_view_done(c, "OK", "EXPUNGE completed.");
	}
	job_free(j);
}

void
cmd_expunge(struct imap_client *c, const struct imap_cmd *cmd)
{
	bool			 uid = str_ieq(cmd->name, cmd->name_len, "UID");
	struct expunge_job	*j;
	const char		*err;
	size_t			 n;

	if (cmd->nargs != (uid ? 2u : 0u)) {
		imap_tagged(c, "BAD", uid ? "UID EXPUNGE needs a UID set." :
		    "EXPUNGE takes no arguments.");
		return;
	}
	if (c->mb_readonly) {
		imap_tagged(c, "NO", "Mailbox is read-only.");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	seqset_init(&j->uids);
	if (uid) {
		/* Kept as UIDs: the sync before the expunge may renumber the view. */
		j->limited = true;
		n = store_count(c->mb);
		if (cmd->args[1].type != IMAP_ARG_ATOM || seqset_parse(&j->uids,
		    cmd->args[1].str, cmd->args[1].len, 0, &err) < 0) {
			job_free(j);
			imap_tagged(c, "BAD", "Invalid UID set.");
			return;
		}
		seqset_resolve(&j->uids, n > 0 ? store_msg_uid(c->mb, n - 1) : 0);
		/* RFC 5182 "$": the saved result is UIDs already (none: nothing) */
		if (j->uids.saved && c->search_saved != NULL)
			seqset_copy(&j->uids, c->search_saved);
	}
	imap_view_run_synced(c, expunge_work, expunge_done, job_free, j);
}

void
cmd_close(struct imap_client *c, const struct imap_cmd *cmd)
{
	struct expunge_job *j;

	if (cmd->nargs != 0) {
		imap_tagged(c, "BAD", "CLOSE takes no arguments.");
		return;
	}
	if (c->mb_readonly) {
		imap_mailbox_leave(c);
		imap_tagged(c, "OK", "CLOSE completed.");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	seqset_init(&j->uids);
	j->close = true;
	imap_view_run(c, expunge_work, expunge_done, job_free, j);
}

/* RFC 3501 6.4.1: a checkpoint; our writes are durable already, so it is a sync. */
void
cmd_check(struct imap_client *c, const struct imap_cmd *cmd)
{
	if (cmd->nargs != 0) {
		imap_tagged(c, "BAD", "CHECK takes no arguments.");
		return;
	}
	imap_view_done(c, "OK", "CHECK completed.");
}
