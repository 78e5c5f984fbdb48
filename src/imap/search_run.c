/*
 * SEARCH evaluation over the selected mailbox's view; see search_run.h.
 * The evaluator (search_eval.c) sees one message at a time: what the
 * index holds, plus a callback that reads the file only when asked.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imap/client.h"
#include "imap/envelope.h"
#include "imap/search_eval.h"
#include "imap/search_run.h"
#include "imap/view.h"
#include "net/session.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* ---- on a worker ---- */

/* Larger files are mapped (lib/fblob.h: why not all). */
#define READ_MAX	(256 * 1024)

static int
content_cb(void *arg, const struct search_msg *m, const char **data_r, size_t *len_r)
{
	struct search_run	*j = arg;
	int			 fd, rc, saved;

	fblob_release(&j->file);
	if ((fd = store_msg_open(j->mb, m->seq - 1)) < 0)
		return -1;
	rc = fblob_load(&j->file, fd, READ_MAX);
	saved = errno;
	close(fd);
	errno = saved;
	if (rc == -1)
		return -1;
	*data_r = j->file.data;
	*len_r = j->file.len;
	return 0;
}

static int
keyword_cb(void *arg, const char *name)
{
	struct search_run *j = arg;

	return store_keyword_index(j->mb, name, false);
}

static uint32_t
local_day(int64_t t)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return (uint32_t)(tm.tm_year + 1900) * 10000 + (uint32_t)(tm.tm_mon + 1) * 100 +
	    (uint32_t)tm.tm_mday;
}

void
search_run_work(struct search_run *j)
{
	size_t			 i, count = store_count(j->mb);
	struct store_msg	 sm;
	struct search_msg	 m;
	char			 emailid[STORE_OBJID_SIZE];
	bool			 want_idate = search_needs_idate(j->q);
	bool			 want_size = search_needs_size(j->q);
	struct search_ctx	 ctx = {
		.now = j->now,
		.saved = j->has_saved ? &j->saved : NULL,
		.keyword_index = keyword_cb,
		.content = content_cb,
		.arg = j,
	};

	search_eval_prepare(j->q, (uint32_t)count,
	    count > 0 ? store_msg_uid(j->mb, count - 1) : 0);
	j->seqs = xcalloc(count + 1, sizeof(*j->seqs));
	j->uids = xcalloc(count + 1, sizeof(*j->uids));
	for (i = 0; i < count; i++) {
		(void)store_msg_get(j->mb, i, &sm);	/* i < count */
		/* A size not known yet: the stat learns the internal date too. */
		if (want_size)
			(void)store_msg_size(j->mb, i, &sm);
		memset(&m, 0, sizeof(m));
		m.seq = (uint32_t)i + 1;
		m.uid = sm.uid;
		m.flags = sm.flags;
		m.keywords = sm.keywords;
		m.recent = sm.recent;
		m.size = sm.vsize;
		m.modseq = sm.modseq;
		/* kept in the index: a stat only the first time */
		if (want_idate) {
			m.idate = store_msg_idate(j->mb, i);
			m.iday = local_day(m.idate);
		}
		/* RFC 8514 / RFC 8474: from the file name, no disk access */
		m.sday = local_day(store_msg_savedate(j->mb, i));
		store_msg_emailid(&sm, emailid);
		m.emailid = emailid;
		if (search_eval(j->q, &ctx, &m) != SEARCH_YES)
			continue;
		j->seqs[j->n] = m.seq;
		j->uids[j->n] = m.uid;
		j->n++;
		if (m.modseq > j->modseq)
			j->modseq = m.modseq;
	}
	fblob_clear(&j->file);
}

int
search_run_envelope(struct search_run *r, size_t idx, struct envelope *e)
{
	const char	*data;
	size_t		 len;

	memset(e, 0, sizeof(*e));
	if (store_msg_cached(r->mb, idx, STORE_CACHE_ENVELOPE, &data, &len) < 0)
		return -1;
	return envelope_read(data, len, e);
}

/* ---- on the loop ---- */

int
search_parse_charset_first(const struct imap_arg *args, size_t nargs,
    struct search_query **q_r, struct search_error *err)
{
	static const struct imap_arg	 kw = { .type = IMAP_ARG_ATOM, .str = "CHARSET", .len = 7 };
	struct imap_arg			*v;
	int				 r;

	if (nargs < 2) {
		memset(err, 0, sizeof(*err));
		err->msg = nargs == 0 ? "Missing charset" : "Missing search key";
		return -1;
	}
	/* shallow copies: the lists still point into the parser's tree */
	v = xreallocarray(NULL, nargs + 1, sizeof(*v));
	v[0] = kw;
	memcpy(v + 1, args, nargs * sizeof(*v));
	r = search_parse(v, nargs + 1, IMAP_MAX_DEPTH, q_r, err);
	free(v);
	return r;
}

void
search_run_init(struct search_run *r, struct imap_client *c, struct search_query *q)
{
	memset(r, 0, sizeof(*r));
	r->q = q;
	/* lent to the job: a session that ends meanwhile must not close it under the worker */
	r->mb = c->mb;
	c->mb = NULL;
	r->now = (int64_t)time(NULL);
	seqset_init(&r->saved);
	if (c->search_saved != NULL) {
		r->has_saved = true;
		seqset_copy(&r->saved, c->search_saved);
	}
}

void
search_run_clear(struct search_run *r)
{
	search_query_free(&r->q);
	seqset_clear(&r->saved);
	xfree(&r->seqs);
	xfree(&r->uids);
	fblob_clear(&r->file);
	r->n = 0;
}

void
search_run_save(struct imap_client *c, unsigned ret, const uint32_t *uids, size_t n)
{
	size_t i;

	if (c->search_saved == NULL) {
		c->search_saved = xcalloc(1, sizeof(*c->search_saved));
		seqset_init(c->search_saved);
	}
	seqset_reset(c->search_saved);
	if (!(ret & (SEARCH_RET_ALL | SEARCH_RET_COUNT)) &&
	    (ret & (SEARCH_RET_MIN | SEARCH_RET_MAX))) {
		if (n > 0 && (ret & SEARCH_RET_MIN))
			seqset_add_range(c->search_saved, uids[0], uids[0]);
		if (n > 0 && (ret & SEARCH_RET_MAX))
			seqset_add_range(c->search_saved, uids[n - 1], uids[n - 1]);
	} else
		for (i = 0; i < n; i++)
			seqset_add_range(c->search_saved, uids[i], uids[i]);
	seqset_normalize(c->search_saved);
}

uint64_t
search_run_modseq(const struct search_run *r, unsigned ret, const uint32_t *seqs)
{
	uint64_t a = 0, b = 0;

	if ((ret & (SEARCH_RET_ALL | SEARCH_RET_COUNT)) ||
	    !(ret & (SEARCH_RET_MIN | SEARCH_RET_MAX)) || r->n == 0)
		return r->modseq;
	if (ret & SEARCH_RET_MIN)
		a = store_msg_modseq(r->mb, seqs[0] - 1);
	if (ret & SEARCH_RET_MAX)
		b = store_msg_modseq(r->mb, seqs[r->n - 1] - 1);
	return a > b ? a : b;
}

void
search_reply_flush(struct imap_client *c, struct buf *b, bool last)
{
	if (b->len >= 32 * 1024 || (last && b->len > 0)) {
		imap_write(c, b->data, b->len);
		buf_reset(b);
	}
}

void
search_run_refuse(struct imap_client *c, const struct search_error *err)
{
	imap_view_done(c, err->no ? "NO" : "BAD", "%s%s%s%s.", err->code ? "[" : "",
	    err->code ? err->code : "", err->code ? "] " : "", err->msg);
}

struct imap_client *
search_run_session(struct session_job *sj, struct search_run *r)
{
	struct session		*ss = session_job_end(sj);
	struct imap_client	*c;

	if (ss == NULL) {		/* the session ended: the handle is ours to close */
		store_close(&r->mb);
		return NULL;
	}
	c = ss->ctx;
	c->mb = r->mb;			/* back to its owner; r->mb stays a borrowed alias */
	return c;
}

void
search_run_finish(struct imap_client *c, bool uid, const char *what)
{
	imap_view_done(c, "OK", "%s%s completed.", uid ? "UID " : "", what);
	/* view_done may go asynchronous; it then resumes the session itself */
	if (c->cmd == NULL)
		imap_resume(c);
}
