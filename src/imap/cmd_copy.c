/*
 * COPY, MOVE and their UID forms (RFC 3501 6.4.7, RFC 6851 MOVE, RFC 4315
 * UIDPLUS COPYUID).  On the pool: the target is opened as a second store
 * handle, the quota checked (virtual_mailbox_limit -> NO [OVERQUOTA],
 * RFC 9208), each message copied (a hard link when possible), and for
 * MOVE the originals expunged.  All or nothing (RFC 3501 6.4.7): when a
 * copy fails, or a source message was expunged meanwhile (RFC 2180
 * 4.4.1), the copies made are removed again.  MOVE's "* OK [COPYUID]"
 * comes before its EXPUNGEs, which the closing sync reports.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap/client.h"
#include "imap/names.h"
#include "imap/notify.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* Longest COPYUID code; the whole reply line must fit IMAP_REPLY_MAX. */
#define COPYUID_MAX	(IMAP_REPLY_MAX - 1024)

struct copy_job {
	bool		 move;
	char		*root, *name;	/* the user's Maildir, the target folder */
	char		*login;		/* whose quota (imap_quota_limit) */
	uint64_t	 limit;		/* the user's quota, 0 = none */
	struct seqset	 seqs;		/* 1-based sequence numbers */

	/* results */
	int		 err;		/* errno; ENOENT: no target; ESTALE: a source was gone */
	uint32_t	 uidvalidity;	/* the target's */
	struct seqset	 src, dst;	/* COPYUID, paired by position */
};

static void
job_free(void *arg)
{
	struct copy_job *j = arg;

	free(j->root);
	free(j->login);
	free(j->name);
	seqset_clear(&j->seqs);
	seqset_clear(&j->src);
	seqset_clear(&j->dst);
	free(j);
}

/* ---- on a worker ---- */

static int
quota_check(struct store_mailbox *mb, struct copy_job *j)
{
	struct seqset_iter	 it = { 0 };
	struct store_msg	 m;
	uint64_t		 bytes = 0;
	uint32_t		 seq;

	if ((j->limit = imap_quota_limit(j->login)) == 0)
		return 0;
	while (seqset_next(&j->seqs, &it, &seq))
		if (store_msg_get(mb, seq - 1, &m) == 0 && store_msg_size(mb, seq - 1, &m) == 0)
			bytes += m.size;
	return store_quota_check(j->root, j->limit, bytes);
}

/* Copy every message; on failure remove the copies made.  0 or -1 (j->err). */
static int
copy_all(struct store_mailbox *mb, struct store_mailbox *dst, struct copy_job *j,
    uint32_t *srcuids, uint32_t *dstuids, size_t *n_r)
{
	struct seqset_iter	 it = { 0 };
	uint32_t		 seq;
	size_t			 n = 0;

	while (seqset_next(&j->seqs, &it, &seq)) {
		srcuids[n] = store_msg_uid(mb, seq - 1);
		if (store_copy(mb, seq - 1, dst, &dstuids[n]) < 0) {
			j->err = errno == ENOENT ? ESTALE : errno;
			(void)store_expunge(dst, dstuids, n);
			return -1;
		}
		n++;
	}
	*n_r = n;
	return 0;
}

static void
copy_work(struct store_mailbox *mb, void *arg)
{
	struct copy_job		*j = arg;
	struct store_mailbox	*dst;
	size_t			 total = seqset_count(&j->seqs), n = 0, i;
	uint32_t		*srcuids, *dstuids;

	/* Our own handle, claiming no \Recent: the copies stay \Recent for the target's users. */
	if ((dst = store_open(j->root, j->name, STORE_O_NO_RECENT)) == NULL) {
		j->err = errno;
		return;
	}
	if (quota_check(mb, j) < 0) {
		j->err = errno;
		store_close(&dst);
		return;
	}
	srcuids = xreallocarray(NULL, total + 1, sizeof(*srcuids));
	dstuids = xreallocarray(NULL, total + 1, sizeof(*dstuids));
	if (copy_all(mb, dst, j, srcuids, dstuids, &n) == 0) {
		for (i = 0; i < n; i++) {
			seqset_append(&j->src, srcuids[i]);
			seqset_append(&j->dst, dstuids[i]);
		}
		if (store_sync(dst, NULL, NULL) == 0)
			j->uidvalidity = store_uidvalidity(dst);
		if (j->move && store_expunge(mb, srcuids, n) < 0)
			j->err = errno;
	}
	free(srcuids);
	free(dstuids);
	store_close(&dst);
}

/* ---- on the loop ---- */

static void
copy_fail(struct imap_client *c, struct copy_job *j)
{
	switch (j->err) {
	case ENOENT:
		imap_view_done(c, "NO", "[TRYCREATE] Mailbox doesn't exist.");
		break;
	case EDQUOT:
		imap_view_done(c, "NO", "[OVERQUOTA] Quota exceeded.");
		break;
	case ESTALE:
		imap_view_done(c, "NO", "[EXPUNGEISSUED] Some of the requested messages no "
		    "longer exist.");
		break;
	case EINVAL:
	case ENAMETOOLONG:
		imap_view_done(c, "NO", "[CANNOT] Invalid mailbox name.");
		break;
	default:
		log_warnx("imapd sid=%s: %s to %s: %s", c->sid, j->move ? "move" : "copy",
		    j->name, strerror(j->err));
		imap_view_done(c, "NO", "[SERVERBUG] Internal error.");
		break;
	}
}

static void
copy_done(struct imap_client *c, void *arg)
{
	struct copy_job	*j = arg;
	struct buf	 code;

	buf_init(&code, COPYUID_MAX);
	/* RFC 4315 3: COPYUID <target UIDVALIDITY> <source UIDs> <new UIDs>. */
	if (j->src.n > 0 && j->uidvalidity != 0 &&
	    (buf_addf(&code, "[COPYUID %u ", j->uidvalidity) < 0 ||
	    seqset_format(&j->src, &code) < 0 || buf_addc(&code, ' ') < 0 ||
	    seqset_format(&j->dst, &code) < 0 || buf_adds(&code, "] ") < 0))
		buf_reset(&code);
	imap_notify_own(c, j->name, &j->dst);
	if (j->err != 0 && !(j->move && j->src.n > 0))
		copy_fail(c, j);
	else if (j->move) {
		/* RFC 6851 4.3: the COPYUID comes untagged, before the EXPUNGEs. */
		if (code.len > 0)
			imap_untagged(c, "OK %sMoved UIDs.", buf_str(&code));
		if (j->err != 0)
			copy_fail(c, j);
		else
			imap_view_done(c, "OK", "MOVE completed.");
	} else
		imap_view_done(c, "OK", "%sCOPY completed.", buf_str(&code));
	buf_clear(&code);
	job_free(j);
}

void
cmd_copy(struct imap_client *c, const struct imap_cmd *cmd)
{
	bool			 uid = str_ieq(cmd->name, cmd->name_len, "UID");
	const struct imap_arg	*args = cmd->args + uid;
	const char		*verb = uid ? cmd->args[0].str : cmd->name, *err;
	struct copy_job		*j;
	struct seqset		 set;
	char			*name;

	if (cmd->nargs - uid != 2) {
		imap_tagged(c, "BAD", "Expected a message set and a mailbox.");
		return;
	}
	seqset_init(&set);
	if (args[0].type != IMAP_ARG_ATOM ||
	    seqset_parse(&set, args[0].str, args[0].len, 0, &err) < 0) {
		imap_tagged(c, "BAD", "Invalid messageset.");
		return;
	}
	if ((name = imap_mailbox_arg(c, &args[1])) == NULL) {
		seqset_clear(&set);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->move = str_ieq(verb, strlen(verb), "MOVE");
	j->name = name;
	seqset_init(&j->seqs);
	seqset_init(&j->src);
	seqset_init(&j->dst);
	if (imap_view_resolve(c, &set, uid, &j->seqs) < 0) {
		seqset_clear(&set);
		job_free(j);
		imap_tagged(c, "BAD", "Invalid messageset.");
		return;
	}
	seqset_clear(&set);
	/* RFC 6851 3.3: MOVE needs a mailbox that may be changed. */
	if (j->move && c->mb_readonly) {
		job_free(j);
		imap_tagged(c, "NO", "Mailbox is read-only.");
		return;
	}
	if (j->seqs.n == 0 || c->root == NULL) {
		imap_view_done(c, "OK", "%s completed.", j->move ? "MOVE" : "COPY");
		job_free(j);
		return;
	}
	j->root = xstrdup(c->root);
	j->login = xstrdup(c->user);
	imap_view_run(c, copy_work, copy_done, job_free, j);
}
