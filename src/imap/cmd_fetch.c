/*
 * FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8; RFC 9051 6.4.5; RFC 3516
 * BINARY): the loop side.  The item list is parsed (fetch_parse.c), the
 * set resolved against the view, then the response is a stream
 * (stream.c) whose pieces are made on the worker pool (fetch_run.c), one
 * batch per job, the next job submitted as soon as the previous batch is
 * handed to the socket: a FETCH 1:* BODY[] of a large mailbox is never
 * whole in memory and never holds up the other sessions on the loop.
 * While a job runs the session waits and lends it c->mb; if the session
 * ends meanwhile, the run takes the handle and closes it when the job
 * comes back.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/client.h"
#include "imap/condstore.h"
#include "imap/fetch_run.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/session.h"
#include "store/store.h"


static void
job_work(void *arg)
{
	fetch_run_fill(arg);
}

static void
job_done(void *arg)
{
	struct fetch_run	*r = arg;
	struct session		*ss = session_job_end(&r->sj);

	r->job_running = false;
	if (ss == NULL || r->stopped) {
		fetch_run_free(&r);
		return;
	}
	imap_stream_drain(ss->ctx);
}

/*
 * Bytes to the socket in pieces of at most WRITE_PIECE: libevent sizes a
 * new output chain to the write (rounded up to a power of two), so one
 * 256 KiB batch made a 512 KiB chain, above the mmap threshold
 * (cli/serve.c): every batch was mapped, faulted in page by page and
 * unmapped once sent (perf, FETCH 1:* BODY.PEEK[]: a fifth of the
 * server's CPU).  Chains of 64 KiB come from the heap and are reused.
 */
#define WRITE_PIECE	(32 * 1024)

static void
write_pieces(struct imap_client *c, const char *p, size_t n)
{
	size_t	 k;

	while (n > 0) {
		k = n < WRITE_PIECE ? n : WRITE_PIECE;
		imap_write(c, p, k);
		p += k;
		n -= k;
	}
}

/* Hand the batch to the socket, filling the FLAGS holes from the view. */
static void
flush(struct imap_client *c, struct fetch_run *r)
{
	struct buf	 fl;
	size_t		 i, at = 0;

	buf_init(&fl, 64 * 1024);
	for (i = 0; i < r->nholes; i++) {
		write_pieces(c, r->out.data + at, r->holes[i].off - at);
		buf_reset(&fl);
		imap_view_flags(c, r->holes[i].idx, &fl);
		imap_write(c, fl.data, fl.len);
		at = r->holes[i].off;
	}
	if (r->out.len > at)
		write_pieces(c, r->out.data + at, r->out.len - at);
	buf_clear(&fl);
	buf_reset(&r->out);
	r->nholes = 0;
}

static void
finish_reply(struct imap_client *c, const struct fetch_run *r)
{
	if (r->unknown_cte)
		imap_view_done(c, "NO", "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding.");
	else if (r->failed > 0)
		imap_view_done(c, "NO", "[SERVERBUG] Some messages could not be read.");
	else if (r->expunged > 0)
		/* RFC 2180 4.1.2, RFC 5530: as Dovecot answers */
		imap_view_done(c, "NO", "[EXPUNGEISSUED] Some of the requested messages no "
		    "longer exist.");
	else
		imap_view_done(c, "OK", "FETCH completed.");
}

static int
more(struct imap_client *c, void *arg)
{
	struct fetch_run *r = arg;

	if (r->job_running)
		return IMAP_STREAM_WAIT;
	flush(c, r);
	if (r->done) {
		if (r->end != NULL)
			r->end(c);
		else
			finish_reply(c, r);
		return 1;
	}
	/* the next batch is made while this one drains */
	r->job_running = true;
	session_job_submit(c->ss, &r->sj, job_work, job_done, r);
	return IMAP_STREAM_WAIT;
}

static void
done(void *arg)
{
	struct fetch_run *r = arg;

	if (!r->job_running) {
		fetch_run_free(&r);
		return;
	}
	/* The session ends under a running job: it frees the run, and the handle. */
	r->stopped = true;
	if (r->c->mb == r->mb) {
		r->c->mb = NULL;
		r->own_mb = true;
	}
}

/*
 * UID FETCH ... (CHANGEDSINCE m VANISHED): "* VANISHED (EARLIER)" for the
 * requested UIDs expunged since m, before the FETCH responses (RFC 7162
 * 3.2.6).  "*" reaches up to UIDNEXT - 1 here: the highest UIDs may be
 * the ones that went.
 */
static void
vanished(struct imap_client *c, const struct seqset *set, uint64_t since)
{
	struct seqset	 within, gone;
	size_t		 i;
	uint32_t	 next = store_uidnext(c->mb);

	seqset_init(&within);
	seqset_init(&gone);
	/* a copy as parsed, "*" (SEQ_STAR) and all */
	within.r = xreallocarray(NULL, set->n + 1, sizeof(*within.r));
	for (i = 0; i < set->n; i++)
		within.r[i] = set->r[i];
	within.n = within.cap = set->n;
	seqset_resolve(&within, next > 1 ? next - 1 : 0);
	imap_vanished_since(c, since, &within, &gone);
	imap_vanished_write(c, true, &gone);
	seqset_clear(&within);
	seqset_clear(&gone);
}

/* FETCH ... (CHANGEDSINCE m): only messages whose modseq is above m (RFC 7162 3.1.4). */
static void
changed_since(struct imap_client *c, struct seqset *seqs, uint64_t since)
{
	struct seqset		 keep;
	struct seqset_iter	 it = { 0 };
	uint32_t		 seq;

	seqset_init(&keep);
	while (seqset_next(seqs, &it, &seq))
		if (store_msg_modseq(c->mb, seq - 1) > since)
			seqset_append(&keep, seq);
	seqset_clear(seqs);
	*seqs = keep;
}

void
cmd_fetch(struct imap_client *c, const struct imap_cmd *cmd)
{
	bool			 uid = str_ieq(cmd->name, cmd->name_len, "UID");
	const struct imap_arg	*args = cmd->args + uid;
	size_t			 nargs = cmd->nargs - uid;
	struct fetch_attrs	*fa = NULL;
	struct seqset		 set, seqs;
	struct fetch_run	*r;
	const char		*err;
	size_t			 n;

	seqset_init(&set);
	seqset_init(&seqs);
	if (nargs < 2 || args[0].type != IMAP_ARG_ATOM ||
	    seqset_parse(&set, args[0].str, args[0].len, 0, &err) < 0) {
		imap_tagged(c, "BAD", "Invalid messageset.");
		goto out;
	}
	if (fetch_parse(args + 1, nargs - 1, uid, &fa, &err) < 0) {
		imap_tagged(c, "BAD", "%s.", err);
		goto out;
	}
	/* RFC 7162 3.2.6: VANISHED only once QRESYNC is enabled */
	if (fa->vanished && !imap_qresync(c)) {
		imap_tagged(c, "BAD", "QRESYNC is not enabled.");
		goto out;
	}
	if ((fa->want & FETCH_WANT(FETCH_MODSEQ)) || fa->changedsince)
		imap_condstore_on(c);	/* RFC 7162 3.1 */
	if (fa->vanished)
		vanished(c, &set, fa->changedsince_modseq);
	/*
	 * "*" resolved here first: imap_view_resolve() (first cut) drops
	 * ranges holding it.  Harmless once it handles them itself.
	 */
	n = store_count(c->mb);
	seqset_resolve(&set, !uid ? (uint32_t)n : n > 0 ? store_msg_uid(c->mb, n - 1) : 0);
	if (imap_view_resolve(c, &set, uid, &seqs) < 0) {
		imap_tagged(c, "BAD", "Invalid messageset.");
		goto out;
	}
	if (fa->changedsince)
		changed_since(c, &seqs, fa->changedsince_modseq);
	if (seqs.n == 0) {
		imap_view_done(c, "OK", "FETCH completed.");
		goto out;
	}
	r = fetch_run_new(c, c->mb, fa, &seqs, fa->sets_seen && !c->mb_readonly);
	r->condstore = imap_condstore(c);
	fa = NULL;
	imap_stream_start(c, &(struct imap_stream){ .more = more, .done = done, .arg = r });
out:
	fetch_attrs_free(&fa);
	seqset_clear(&set);
	seqset_clear(&seqs);
}

void
imap_fetch_push(struct imap_client *c, struct fetch_attrs *fa, struct seqset *seqs,
    void (*end)(struct imap_client *c))
{
	struct fetch_run *r = fetch_run_new(c, c->mb, fetch_attrs_ref(fa), seqs, false);

	r->condstore = imap_condstore(c);
	r->end = end;
	imap_stream_start(c, &(struct imap_stream){ .more = more, .done = done, .arg = r });
}
