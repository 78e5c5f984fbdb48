/*
 * SEARCH and UID SEARCH (RFC 3501 6.4.4, RFC 9051 6.4.4) with ESEARCH
 * results (RFC 4731: RETURN MIN MAX COUNT ALL; RFC 9051's default for
 * IMAP4rev2 clients) and RFC 5182 SEARCHRES (RETURN SAVE, "$").
 *
 * The query is parsed on the loop; the evaluation (search_run.c) runs on
 * the worker pool as one job over the whole view (the session waits, so
 * c->mb is used by one thread at a time).  The saved result is kept as
 * UIDs, so expunges drop out of it by themselves.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/client.h"
#include "imap/condstore.h"
#include "imap/search_parse.h"
#include "imap/search_run.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/session.h"
#include "store/store.h"

struct search_job {
	struct session_job	 sj;
	struct search_run	 run;
};

static void
search_work(void *arg)
{
	struct search_job *j = arg;

	search_run_work(&j->run);
}

/* ---- on the loop ---- */

static void
job_free(struct search_job *j)
{
	search_run_clear(&j->run);
	free(j);
}

static void
set_of(const uint32_t *v, size_t n, struct seqset *out)
{
	size_t i;

	seqset_reset(out);
	for (i = 0; i < n; i++)
		seqset_append(out, v[i]);
}

static void
esearch_reply(struct imap_client *c, const struct search_run *j, bool uid, unsigned ret)
{
	const uint32_t	*v = uid ? j->uids : j->seqs;
	struct buf	 b;
	struct seqset	 all;

	buf_init(&b, SIZE_MAX / 2);
	(void)buf_addf(&b, "* ESEARCH (TAG \"%s\")%s", c->tag, uid ? " UID" : "");
	if ((ret & SEARCH_RET_MIN) && j->n > 0)
		(void)buf_addf(&b, " MIN %u", v[0]);
	if ((ret & SEARCH_RET_MAX) && j->n > 0)
		(void)buf_addf(&b, " MAX %u", v[j->n - 1]);
	if (ret & SEARCH_RET_COUNT)
		(void)buf_addf(&b, " COUNT %zu", j->n);
	if ((ret & SEARCH_RET_ALL) && j->n > 0) {
		(void)buf_addf(&b, " ALL ");
		seqset_init(&all);
		set_of(v, j->n, &all);
		(void)seqset_format(&all, &b);
		seqset_clear(&all);
	}
	if (j->q->uses_modseq && j->n > 0)
		(void)buf_addf(&b, " MODSEQ %llu", (unsigned long long)search_run_modseq(j, ret, j->seqs));
	(void)buf_addf(&b, "\r\n");
	search_reply_flush(c, &b, true);
	buf_clear(&b);
}

static void
search_reply(struct imap_client *c, const struct search_run *j, bool uid)
{
	const uint32_t	*v = uid ? j->uids : j->seqs;
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 64 * 1024);
	(void)buf_addf(&b, "* SEARCH");
	for (i = 0; i < j->n; i++) {
		(void)buf_addf(&b, " %u", v[i]);
		search_reply_flush(c, &b, false);
	}
	if (j->q->uses_modseq && j->n > 0)
		(void)buf_addf(&b, " (MODSEQ %llu)", (unsigned long long)j->modseq);
	(void)buf_addf(&b, "\r\n");
	search_reply_flush(c, &b, true);
	buf_clear(&b);
}

static void
search_done(void *arg)
{
	struct search_job	*j = arg;
	struct imap_client	*c = search_run_session(&j->sj, &j->run);
	bool			 uid;
	unsigned		 ret;

	if (c == NULL) {
		job_free(j);
		return;
	}
	uid = c->search_uid;
	ret = j->run.q->ret;
	if (ret & SEARCH_RET_SAVE)
		search_run_save(c, ret, j->run.uids, j->run.n);
	if (j->run.q->esearch || (c->enabled & IMAP_E_REV2)) {
		if (!j->run.q->esearch)
			ret = SEARCH_RET_ALL;
		/* RFC 5182 2.1: SAVE alone answers nothing but the tagged OK */
		if (ret != SEARCH_RET_SAVE)
			esearch_reply(c, &j->run, uid, ret & ~SEARCH_RET_SAVE);
	} else
		search_reply(c, &j->run, uid);
	job_free(j);
	search_run_finish(c, uid, "SEARCH");
}

void
cmd_search(struct imap_client *c, const struct imap_cmd *cmd)
{
	bool			 uid = str_ieq(cmd->name, cmd->name_len, "UID");
	struct search_error	 err;
	struct search_query	*q;
	struct search_job	*j;

	/* UID SEARCH comes as "UID" with "SEARCH" as its first argument */
	if (search_parse(cmd->args + uid, cmd->nargs - uid, IMAP_MAX_DEPTH, &q, &err) < 0) {
		/* RFC 5182 2.1: a failed SEARCH ... RETURN (SAVE) empties the saved result */
		if (c->search_saved != NULL && cmd->nargs > uid &&
		    imap_arg_is_atom(&cmd->args[uid], "RETURN"))
			seqset_reset(c->search_saved);
		search_run_refuse(c, &err);
		return;
	}
	if (q->uses_modseq)
		imap_condstore_on(c);	/* RFC 7162 3.1 */
	j = xcalloc(1, sizeof(*j));
	search_run_init(&j->run, c, q);
	c->search_uid = uid;
	session_wait(c->ss);
	session_job_submit(c->ss, &j->sj, search_work, search_done, j);
}

void
imap_search_reset(struct imap_client *c)
{
	if (c->search_saved != NULL)
		seqset_clear(c->search_saved);
	xfree(&c->search_saved);
}
