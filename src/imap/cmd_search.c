/*
 * SEARCH and UID SEARCH (RFC 3501 6.4.4, RFC 9051 6.4.4) with ESEARCH
 * results (RFC 4731: RETURN MIN MAX COUNT ALL; RFC 9051's default for
 * IMAP4rev2 clients) and RFC 5182 SEARCHRES (RETURN SAVE, "$").
 *
 * The query is parsed on the loop; the evaluation runs on the worker
 * pool as one job over the whole view (the session waits, so c->mb is
 * used by one thread at a time).  Message files are mapped only for keys
 * that need content (search_eval decides per message).  The saved result
 * is kept as UIDs, so expunges drop out of it by themselves.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imap/client.h"
#include "imap/search_eval.h"
#include "imap/search_parse.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/session.h"
#include "store/store.h"

struct search_job {
	struct session_job	 sj;
	struct store_mailbox	*mb;		/* borrowed: c->mb, the session waits */
	struct search_query	*q;
	struct seqset		 saved;		/* copy of the session's saved UIDs */
	bool			 has_saved;
	int64_t			 now;

	/* the mapped message file (content callback) */
	void			*map;
	size_t			 map_len;

	/* results, ascending */
	uint32_t		*seqs, *uids;
	size_t			 n;
	uint64_t		 modseq;	/* highest of the matches (RFC 7162 3.1.5) */
};

/* ---- on a worker ---- */

static void
unmap(struct search_job *j)
{
	if (j->map != NULL && j->map != MAP_FAILED)
		munmap(j->map, j->map_len);
	j->map = NULL;
	j->map_len = 0;
}

static int
content_cb(void *arg, const struct search_msg *m, const char **data_r, size_t *len_r)
{
	struct search_job	*j = arg;
	struct stat		 st;
	int			 fd;

	unmap(j);
	if ((fd = store_msg_open(j->mb, m->seq - 1)) < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {		/* mmap refuses an empty file */
		close(fd);
		*data_r = "";
		*len_r = 0;
		return 0;
	}
	j->map_len = (size_t)st.st_size;
	j->map = mmap(NULL, j->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (j->map == MAP_FAILED) {
		j->map = NULL;
		return -1;
	}
	*data_r = j->map;
	*len_r = j->map_len;
	return 0;
}

static int
keyword_cb(void *arg, const char *name)
{
	struct search_job *j = arg;

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

static void
search_work(void *arg)
{
	struct search_job	*j = arg;
	size_t			 i, count = store_count(j->mb);
	const struct store_msg	*sm;
	struct search_msg	 m;
	char			 emailid[STORE_OBJID_SIZE];
	struct search_ctx	 ctx = {
		.now = j->now,
		.saved = j->has_saved ? &j->saved : NULL,
		.keyword_index = keyword_cb,
		.content = content_cb,
		.arg = j,
	};

	search_eval_prepare(j->q, (uint32_t)count,
	    count > 0 ? store_msg(j->mb, count - 1)->uid : 0);
	j->seqs = xcalloc(count + 1, sizeof(*j->seqs));
	j->uids = xcalloc(count + 1, sizeof(*j->uids));
	for (i = 0; i < count; i++) {
		sm = store_msg(j->mb, i);
		memset(&m, 0, sizeof(m));
		m.seq = (uint32_t)i + 1;
		m.uid = sm->uid;
		m.flags = sm->flags;
		m.keywords = sm->keywords;
		m.recent = sm->recent;
		m.size = sm->vsize;
		m.modseq = sm->modseq;
		/* kept in the index: a stat only the first time */
		m.idate = store_msg_idate(j->mb, i);
		m.iday = local_day(m.idate);
		/* RFC 8514 / RFC 8474: from the file name, no disk access */
		m.sday = local_day(store_msg_savedate(j->mb, i));
		store_msg_emailid(sm, emailid);
		m.emailid = emailid;
		if (search_eval(j->q, &ctx, &m) != SEARCH_YES)
			continue;
		j->seqs[j->n] = m.seq;
		j->uids[j->n] = m.uid;
		j->n++;
		if (m.modseq > j->modseq)
			j->modseq = m.modseq;
	}
	unmap(j);
}

/* ---- on the loop ---- */

static void
job_free(struct search_job *j)
{
	search_query_free(&j->q);
	seqset_clear(&j->saved);
	free(j->seqs);
	free(j->uids);
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

/* RFC 5182 2.4: SAVE with MIN/MAX only keeps those; else every match. */
static void
save_result(struct imap_client *c, const struct search_job *j)
{
	unsigned	 ret = j->q->ret;

	if (c->search_saved == NULL) {
		c->search_saved = xcalloc(1, sizeof(*c->search_saved));
		seqset_init(c->search_saved);
	}
	seqset_reset(c->search_saved);
	if ((ret & (SEARCH_RET_ALL | SEARCH_RET_COUNT)) ||
	    !(ret & (SEARCH_RET_MIN | SEARCH_RET_MAX))) {
		set_of(j->uids, j->n, c->search_saved);
		return;
	}
	if (j->n == 0)
		return;
	if (ret & SEARCH_RET_MIN)
		seqset_append(c->search_saved, j->uids[0]);
	if (ret & SEARCH_RET_MAX)
		seqset_add_range(c->search_saved, j->uids[j->n - 1], j->uids[j->n - 1]);
	seqset_normalize(c->search_saved);
}

/* Long answers go out in pieces: the core's output has no length limit. */
static void
flush_if_big(struct imap_client *c, struct buf *b, bool last)
{
	if (b->len >= 32 * 1024 || (last && b->len > 0)) {
		imap_write(c, b->data, b->len);
		buf_reset(b);
	}
}

static void
esearch_reply(struct imap_client *c, const struct search_job *j, bool uid, unsigned ret)
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
		(void)buf_addf(&b, " MODSEQ %llu", (unsigned long long)j->modseq);
	(void)buf_addf(&b, "\r\n");
	flush_if_big(c, &b, true);
	buf_clear(&b);
}

static void
search_reply(struct imap_client *c, const struct search_job *j, bool uid)
{
	const uint32_t	*v = uid ? j->uids : j->seqs;
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 64 * 1024);
	(void)buf_addf(&b, "* SEARCH");
	for (i = 0; i < j->n; i++) {
		(void)buf_addf(&b, " %u", v[i]);
		flush_if_big(c, &b, false);
	}
	if (j->q->uses_modseq && j->n > 0)
		(void)buf_addf(&b, " (MODSEQ %llu)", (unsigned long long)j->modseq);
	(void)buf_addf(&b, "\r\n");
	flush_if_big(c, &b, true);
	buf_clear(&b);
}

static void
search_done(void *arg)
{
	struct search_job	*j = arg;
	struct session		*ss = session_job_end(&j->sj);
	struct imap_client	*c;
	bool			 uid;
	unsigned		 ret;

	if (ss == NULL) {
		job_free(j);
		return;
	}
	c = ss->ctx;
	uid = c->search_uid;
	ret = j->q->ret;
	if (ret & SEARCH_RET_SAVE)
		save_result(c, j);
	if (j->q->esearch || (c->enabled & IMAP_E_REV2)) {
		if (!j->q->esearch)
			ret = SEARCH_RET_ALL;
		/* RFC 5182 2.1: SAVE alone answers nothing but the tagged OK */
		if (ret != SEARCH_RET_SAVE)
			esearch_reply(c, j, uid, ret & ~SEARCH_RET_SAVE);
	} else
		search_reply(c, j, uid);
	job_free(j);
	imap_view_done(c, "OK", "%sSEARCH completed.", uid ? "UID " : "");
	/* view_done may go asynchronous; it then resumes the session itself */
	if (c->cmd == NULL)
		imap_resume(c);
}

void
cmd_search(struct imap_client *c, const struct imap_cmd *cmd)
{
	bool			 uid = str_ieq(cmd->name, cmd->name_len, "UID");
	struct search_error	 err;
	struct search_query	*q;
	struct search_job	*j;
	size_t			 i;

	/* UID SEARCH comes as "UID" with "SEARCH" as its first argument */
	if (search_parse(cmd->args + uid, cmd->nargs - uid, IMAP_MAX_DEPTH, &q, &err) < 0) {
		/* RFC 5182 2.1: a failed SEARCH ... RETURN (SAVE) empties the saved result */
		if (c->search_saved != NULL && cmd->nargs > uid &&
		    imap_arg_is_atom(&cmd->args[uid], "RETURN"))
			seqset_reset(c->search_saved);
		imap_view_done(c, err.no ? "NO" : "BAD", "%s%s%s%s.", err.code ? "[" : "",
		    err.code ? err.code : "", err.code ? "] " : "", err.msg);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->q = q;
	j->mb = c->mb;
	j->now = (int64_t)time(NULL);
	seqset_init(&j->saved);
	if (c->search_saved != NULL) {
		j->has_saved = true;
		for (i = 0; i < c->search_saved->n; i++)
			seqset_add_range(&j->saved, c->search_saved->r[i].lo,
			    c->search_saved->r[i].hi);
	}
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
