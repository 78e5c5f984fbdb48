/*
 * STORE and UID STORE (RFC 3501 6.4.6, 6.4.8; RFC 9051 6.4.6): FLAGS,
 * +FLAGS and -FLAGS, each with .SILENT, and RFC 7162's UNCHANGEDSINCE
 * modifier (with [MODIFIED]).  Under CONDSTORE the FETCH responses carry
 * UID and MODSEQ, and .SILENT still reports the new MODSEQs (3.1.3).
 * The flag list is taken apart on the loop; keywords are resolved
 * (created for FLAGS/+FLAGS) and the files renamed on the pool, in store
 * batches of STORE_CHUNK messages: each batch's FETCH responses are
 * written from the view as the socket drains (stream.c) while the next
 * batch renames, then imap_view_done() ends the command.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap/client.h"
#include "imap/condstore.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/session.h"
#include "store/store.h"

struct store_job {
	bool			 uid, silent;
	enum store_flag_op	 op;
	struct imap_flag_names	 fn;
	bool			 conditional;	/* UNCHANGEDSINCE given */
	uint64_t		 unchangedsince;
	struct seqset		 seqs;		/* 1-based sequence numbers */

	/* the batches (store_chunk) */
	uint32_t		 kw;		/* the keywords' bits, resolved by the first */
	struct seqset_iter	 it;		/* where the next batch starts in seqs */
	size_t			 left;		/* messages of seqs not yet stored */
	struct store_mailbox	*mb;		/* the handle a later batch works on */
	struct imap_client	*c;
	struct session_job	 sj;
	bool			 job_running;	/* a later batch is on the pool */
	bool			 stopped;	/* the session ended under it */
	bool			 own_mb;	/* ... and left the handle to the job */

	/* results (upd per batch; the rest for the whole command) */
	const char		*kwerr;		/* keywords could not be resolved */
	bool			 kwbad;		/* ... because one is invalid (BAD, else NO) */
	int			 syserr;
	size_t			*upd;		/* indexes stored by the last batch (for FETCH) */
	size_t			 nupd;
	size_t			 written;	/* FETCH responses of upd streamed so far */
	struct seqset		 modified;	/* UNCHANGEDSINCE failures, as the client numbers */
	size_t			 gone;		/* expunged by someone else meanwhile */
};

static void
job_free(void *arg)
{
	struct store_job *j = arg;

	if (j->own_mb)
		store_close(&j->mb);
	imap_flag_names_clear(&j->fn);
	seqset_clear(&j->seqs);
	seqset_clear(&j->modified);
	free(j->upd);
	free(j);
}

/* ---- on a worker ---- */

/*
 * Messages per store batch.  A STORE 1:* of a big mailbox runs as a chain
 * of batches (one index commit each), each one's FETCH responses written
 * while the next batch renames: the client reads the responses while the
 * files are renamed instead of after all of them (100,000 renames are
 * ~1.3 s of kernel time here), and other sessions get the mailbox's lock
 * between batches.
 */
#define STORE_CHUNK	2048

static void
store_one(struct store_mailbox *mb, struct store_job *j, uint32_t seq)
{
	size_t	 idx = seq - 1;
	int	 r = 1;

	/* RFC 7162 3.1.3: UNCHANGEDSINCE 0 fails for every message (modseqs are > 0). */
	if (!j->conditional || j->unchangedsince > 0)
		r = store_set_flags(mb, idx, j->op, j->fn.flags, j->kw, j->unchangedsince);
	if (r == 0)
		j->upd[j->nupd++] = idx;
	else if (r == 1)
		seqset_append(&j->modified, j->uid ? store_msg_uid(mb, idx) : seq);
	else if (errno == ENOENT)
		j->gone++;
	else
		j->syserr = errno;
}

/* The next STORE_CHUNK messages of the set, in one store batch. */
static void
store_chunk(struct store_mailbox *mb, struct store_job *j)
{
	size_t		 n = j->left < STORE_CHUNK ? j->left : STORE_CHUNK, i;
	uint32_t	 seq;
	bool		 batch = n > 1;

	j->nupd = j->written = 0;
	if (batch && store_update_begin(mb) < 0) {
		j->syserr = errno;
		return;
	}
	for (i = 0; i < n && seqset_next(&j->seqs, &j->it, &seq); i++)
		store_one(mb, j, seq);
	j->left = i < n ? 0 : j->left - n;
	if (batch && store_update_end(mb) < 0)
		j->syserr = errno;
}

/* The first batch, with the mailbox lent by imap_view_run(). */
static void
store_work(struct store_mailbox *mb, void *arg)
{
	struct store_job	*j = arg;

	if (imap_flag_names_resolve(mb, &j->fn, j->op != STORE_FLAGS_REMOVE, &j->kw,
	    &j->kwerr) < 0) {
		j->kwbad = errno == EINVAL;
		return;
	}
	j->left = seqset_count(&j->seqs);
	j->upd = xreallocarray(NULL, (j->left < STORE_CHUNK ? j->left : STORE_CHUNK) + 1,
	    sizeof(*j->upd));
	store_chunk(mb, j);
}

/* A later batch, on the session's handle while its output drains. */
static void
chunk_work(void *arg)
{
	struct store_job *j = arg;

	store_chunk(j->mb, j);
}

/* ---- on the loop ---- */

/* FETCH responses written per call of more(): ~50 bytes each. */
#define STORE_PIECE	256

static void
chunk_done(void *arg)
{
	struct store_job	*j = arg;
	struct session		*ss = session_job_end(&j->sj);

	j->job_running = false;
	if (ss == NULL || j->stopped) {
		job_free(j);
		return;
	}
	imap_stream_drain(ss->ctx);
}

static void
store_end(struct imap_client *c, struct store_job *j)
{
	struct buf	b;

	if (j->syserr != 0) {
		log_warnx("imapd sid=%s: store %s: %s", c->sid, store_name(c->mb),
		    strerror(j->syserr));
		imap_view_done(c, "NO", "[SERVERBUG] Internal error storing flags.");
	} else if (j->modified.n > 0) {
		buf_init(&b, 64 * 1024);
		if (seqset_format(&j->modified, &b) < 0)
			b.len = 0;
		imap_view_done(c, "OK", "[MODIFIED %s] Conditional STORE failed.", buf_str(&b));
		buf_clear(&b);
	} else if (j->gone > 0)
		/*
		 * RFC 2180 4.2.1 allows NO or OK; OK as Dovecot (the rest was
		 * stored, and clients treat a NO as the whole STORE failing).
		 */
		imap_view_done(c, "OK", "[EXPUNGEISSUED] Some of the messages no longer exist.");
	else
		imap_view_done(c, "OK", "Store completed.");
}

/*
 * The stream's producer: the last batch's FETCH responses piece by piece,
 * then the next batch on the pool while they drain, then the end.
 */
static int
store_more(struct imap_client *c, void *arg)
{
	struct store_job	*j = arg;
	size_t			 end = j->nupd - j->written > STORE_PIECE ?
				    j->written + STORE_PIECE : j->nupd;
	bool			 modseq = imap_condstore(c);

	if (j->job_running)
		return IMAP_STREAM_WAIT;
	if (j->silent && !modseq)
		j->written = j->nupd;	/* nothing to tell */
	for (; j->written < end; j->written++)
		if (!j->silent)
			imap_view_write_flags(c, j->upd[j->written], j->uid);
		else
			imap_view_write_modseq(c, j->upd[j->written]);
	if (j->written < j->nupd)
		return 0;
	if (j->left > 0 && j->syserr == 0) {
		j->mb = c->mb;
		j->job_running = true;
		session_job_submit(c->ss, &j->sj, chunk_work, chunk_done, j);
		return IMAP_STREAM_WAIT;
	}
	store_end(c, j);
	return 1;
}

/* The stream's end: the session ended under a running batch leaves it the handle. */
static void
store_stream_free(void *arg)
{
	struct store_job *j = arg;

	if (!j->job_running) {
		job_free(j);
		return;
	}
	j->stopped = true;
	if (j->c->mb == j->mb) {
		j->c->mb = NULL;
		j->own_mb = true;
	}
}

static void
store_done(struct imap_client *c, void *arg)
{
	struct store_job	*j = arg;

	if (j->kwerr != NULL) {
		imap_view_done(c, j->kwbad ? "BAD" : "NO", "%s", j->kwerr);
		job_free(j);
		return;
	}
	imap_view_tell_keywords(c);	/* even .SILENT: a later FETCH shows them */
	j->c = c;
	/* The stream owns j from here (its done frees it, also when the session ends first). */
	imap_stream_start(c, &(struct imap_stream){ .more = store_more,
	    .done = store_stream_free, .arg = j });
}

/* "+FLAGS.SILENT" and friends; false when it is none of them. */
static bool
store_item(const struct imap_arg *a, struct store_job *j)
{
	const char	*s;
	size_t		 len;

	if (a->type != IMAP_ARG_ATOM)
		return false;
	s = a->str;
	len = a->len;
	j->op = STORE_FLAGS_SET;
	if (len > 0 && (*s == '+' || *s == '-')) {
		j->op = *s == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		s++;
		len--;
	}
	j->silent = len > 7 && str_ieq(s + len - 7, 7, ".SILENT");
	if (j->silent)
		len -= 7;
	return str_ieq(s, len, "FLAGS");
}

/* "(UNCHANGEDSINCE n)" (RFC 7162 3.1.3); false on anything else. */
static bool
store_modifiers(const struct imap_arg *a, struct store_job *j)
{
	if (a->count != 2 || !imap_arg_is_atom(&a->list[0], "UNCHANGEDSINCE") ||
	    !imap_arg_number64(&a->list[1], &j->unchangedsince))
		return false;
	j->conditional = true;
	return true;
}

void
cmd_store(struct imap_client *c, const struct imap_cmd *cmd)
{
	bool			 uid = str_ieq(cmd->name, cmd->name_len, "UID");
	const struct imap_arg	*args = cmd->args + uid;
	size_t			 nargs = cmd->nargs - uid, k = 1;
	struct seqset		 set;
	struct store_job	*j = xcalloc(1, sizeof(*j));
	const char		*err;

	j->uid = uid;
	seqset_init(&set);
	seqset_init(&j->seqs);
	seqset_init(&j->modified);
	if (nargs < 3 || args[0].type != IMAP_ARG_ATOM ||
	    seqset_parse(&set, args[0].str, args[0].len, 0, &err) < 0) {
		imap_tagged(c, "BAD", "Invalid messageset.");
		goto out;
	}
	if (imap_arg_is_list(&args[k]) && !store_modifiers(&args[k++], j)) {
		imap_tagged(c, "BAD", "Invalid STORE modifier.");
		goto out;
	}
	if (k + 1 >= nargs) {
		imap_tagged(c, "BAD", "Expected a STORE item and flags.");
		goto out;
	}
	if (!store_item(&args[k], j)) {
		imap_tagged(c, "BAD", "Invalid STORE item.");
		goto out;
	}
	if (imap_flag_names_parse(args + k + 1, nargs - k - 1, &j->fn, &err) < 0) {
		imap_tagged(c, "BAD", "%s", err);
		goto out;
	}
	if (c->mb_readonly) {
		imap_tagged(c, "NO", "Mailbox is read-only.");
		goto out;
	}
	if (j->conditional)
		imap_condstore_on(c);	/* RFC 7162 3.1 */
	if (imap_view_resolve(c, &set, uid, &j->seqs) < 0) {
		imap_tagged(c, "BAD", "Invalid messageset.");
		goto out;
	}
	seqset_clear(&set);
	if (j->seqs.n == 0) {
		job_free(j);
		imap_view_done(c, "OK", "Store completed.");
		return;
	}
	imap_view_run(c, store_work, store_done, job_free, j);
	return;
out:
	seqset_clear(&set);
	job_free(j);
}
