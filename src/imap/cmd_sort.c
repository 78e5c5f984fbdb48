/*
 * SORT and UID SORT (RFC 5256 3, RFC 5957 SORT=DISPLAY) with RFC 5267
 * ESORT results (SORT RETURN (MIN MAX COUNT ALL)) and RFC 5182 SAVE.
 *
 * Scheduled like SEARCH (cmd_search.c): parsed on the loop, then one job
 * on the worker pool evaluates the search keys, reads each match's sort
 * keys from the store's cache (the ENVELOPE; the file is parsed only for
 * a message not cached yet) and sorts, while the session waits and lends
 * c->mb.  The loop only formats the answer, so a 100k-message SORT
 * never stalls other sessions.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/client.h"
#include "imap/condstore.h"
#include "imap/envelope.h"
#include "imap/search_run.h"
#include "imap/sort.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/session.h"
#include "store/store.h"

struct sort_job {
	struct session_job	 sj;
	struct search_run	 run;
	struct sort_criteria	 crit;
	bool			 uid;
	bool			 esort;		/* RETURN given: answer with ESEARCH */
	unsigned		 ret;		/* SEARCH_RET_* */
	struct sort_table	*table;
	const uint32_t		*seqs, *uids;	/* sorted, borrowed from table */
	size_t			 n;
};

/* ---- on a worker ---- */

/*
 * RFC822.SIZE as FETCH gives it: the index knows the CRLF size when the
 * file name says (,W=); a file with LF line ends gets it from the cached
 * part sizes, so SORT SIZE agrees with FETCH without reading the file.
 */
static uint64_t
crlf_size(struct store_mailbox *mb, size_t idx)
{
	struct store_msg	 sm;
	const struct store_part	*parts;
	size_t			 np;

	if (store_msg_get(mb, idx, &sm) == -1)
		return 0;
	if (sm.vsize != sm.size || store_msg_parts(mb, idx, &parts, &np) < 0 || np == 0)
		return store_msg_size(mb, idx, &sm) == 0 ? sm.vsize : 0;
	return parts[0].hdr_vsize + parts[0].body_vsize;
}

static void
sort_work(void *arg)
{
	struct sort_job		*j = arg;
	bool			 env = sort_needs_envelope(&j->crit), size = false, date = false;
	struct envelope		 e;
	struct sort_msg		 m;
	size_t			 i, idx;

	/* The internal date for ARRIVAL, and for DATE without a Date: field. */
	for (i = 0; i < j->crit.n; i++) {
		size |= j->crit.key[i] == SORT_SIZE;
		date |= j->crit.key[i] == SORT_ARRIVAL || j->crit.key[i] == SORT_DATE;
	}
	search_run_work(&j->run);
	j->table = sort_table_new(&j->crit);
	for (i = 0; i < j->run.n; i++) {
		idx = j->run.seqs[i] - 1;
		memset(&m, 0, sizeof(m));
		m.seq = j->run.seqs[i];
		m.uid = j->run.uids[i];
		if (date)
			m.idate = store_msg_idate(j->run.mb, idx);
		if (size)
			m.size = crlf_size(j->run.mb, idx);
		if (env && search_run_envelope(&j->run, idx, &e) == 0)
			m.env = &e;
		sort_table_add(j->table, &m);
		if (m.env != NULL)
			envelope_clear(&e);
	}
	j->n = sort_table_sort(j->table, &j->seqs, &j->uids);
}

/* ---- on the loop ---- */

static void
job_free(struct sort_job *j)
{
	search_run_clear(&j->run);
	sort_table_free(&j->table);
	free(j);
}

/*
 * RFC 5267 3.2: ALL lists the matches in sort order as a sequence-set,
 * so only ascending runs of consecutive numbers may become ranges.
 */
static void
ordered_set(struct imap_client *c, struct buf *b, const uint32_t *v, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		for (k = i; k + 1 < n && v[k + 1] == v[k] + 1; k++)
			;
		(void)buf_addf(b, i > 0 ? ",%u" : "%u", v[i]);
		if (k > i)
			(void)buf_addf(b, ":%u", v[k]);
		i = k + 1;
		search_reply_flush(c, b, false);
	}
}

static void
esort_reply(struct imap_client *c, const struct sort_job *j)
{
	const uint32_t	*v = j->uid ? j->uids : j->seqs;
	struct buf	 b;

	buf_init(&b, 64 * 1024);
	(void)buf_addf(&b, "* ESEARCH (TAG \"%s\")%s", c->tag, j->uid ? " UID" : "");
	/* RFC 5267 3.2: MIN and MAX are the first and last in sort order */
	if ((j->ret & SEARCH_RET_MIN) && j->n > 0)
		(void)buf_addf(&b, " MIN %u", v[0]);
	if ((j->ret & SEARCH_RET_MAX) && j->n > 0)
		(void)buf_addf(&b, " MAX %u", v[j->n - 1]);
	if (j->ret & SEARCH_RET_COUNT)
		(void)buf_addf(&b, " COUNT %zu", j->n);
	if ((j->ret & SEARCH_RET_ALL) && j->n > 0) {
		(void)buf_addf(&b, " ALL ");
		ordered_set(c, &b, v, j->n);
	}
	if (j->run.q->uses_modseq && j->n > 0)
		(void)buf_addf(&b, " MODSEQ %llu",
		    (unsigned long long)search_run_modseq(&j->run, j->ret, j->seqs));
	(void)buf_addf(&b, "\r\n");
	search_reply_flush(c, &b, true);
	buf_clear(&b);
}

static void
sort_reply(struct imap_client *c, const struct sort_job *j)
{
	const uint32_t	*v = j->uid ? j->uids : j->seqs;
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 64 * 1024);
	(void)buf_addf(&b, "* SORT");
	for (i = 0; i < j->n; i++) {
		(void)buf_addf(&b, " %u", v[i]);
		search_reply_flush(c, &b, false);
	}
	/* RFC 7162 3.1.5: a MODSEQ key adds the highest modseq of the matches */
	if (j->run.q->uses_modseq && j->n > 0)
		(void)buf_addf(&b, " (MODSEQ %llu)", (unsigned long long)j->run.modseq);
	(void)buf_addf(&b, "\r\n");
	search_reply_flush(c, &b, true);
	buf_clear(&b);
}

static void
sort_done(void *arg)
{
	struct sort_job		*j = arg;
	struct imap_client	*c = search_run_session(&j->sj, &j->run);
	bool			 uid = j->uid;

	if (c == NULL) {
		job_free(j);
		return;
	}
	if (j->ret & SEARCH_RET_SAVE)
		search_run_save(c, j->ret, j->uids, j->n);
	if (!j->esort)
		sort_reply(c, j);
	else if (j->ret != SEARCH_RET_SAVE)	/* RFC 5182 2.1: SAVE alone answers nothing */
		esort_reply(c, j);
	job_free(j);
	search_run_finish(c, uid, "SORT");
}

/* RETURN (MIN MAX COUNT ALL SAVE), RFC 5267 3.1 / RFC 5182: 0 or -1. */
static int
return_opts(const struct imap_arg *list, unsigned *ret_r)
{
	static const struct { const char *name; unsigned bit; } opts[] = {
		{ "MIN", SEARCH_RET_MIN }, { "MAX", SEARCH_RET_MAX },
		{ "ALL", SEARCH_RET_ALL }, { "COUNT", SEARCH_RET_COUNT },
		{ "SAVE", SEARCH_RET_SAVE },
	};
	size_t	 i, k;

	if (!imap_arg_is_list(list))
		return -1;
	*ret_r = 0;
	for (i = 0; i < list->count; i++) {
		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (imap_arg_is_atom(&list->list[i], opts[k].name))
				break;
		if (k == sizeof(opts) / sizeof(opts[0]))
			return -1;
		*ret_r |= opts[k].bit;
	}
	if (*ret_r == 0)
		*ret_r = SEARCH_RET_ALL;	/* RFC 4731 3.1: RETURN () means ALL */
	return 0;
}

void
cmd_sort(struct imap_client *c, const struct imap_cmd *cmd)
{
	bool			 uid = str_ieq(cmd->name, cmd->name_len, "UID");
	const struct imap_arg	*a = cmd->args + uid;
	size_t			 n = cmd->nargs - uid;
	struct sort_criteria	 crit;
	struct search_error	 err;
	struct search_query	*q;
	struct sort_job		*j;
	const char		*msg;
	unsigned		 ret = 0;
	bool			 esort = false;

	if (n >= 2 && imap_arg_is_atom(&a[0], "RETURN")) {
		if (return_opts(&a[1], &ret) < 0) {
			imap_view_done(c, "BAD", "Invalid RETURN options.");
			return;
		}
		esort = true;
		a += 2;
		n -= 2;
	}
	if (sort_parse_criteria(n > 0 ? &a[0] : NULL, &crit, &msg) < 0) {
		imap_view_done(c, "BAD", "%s.", msg);
		return;
	}
	if (search_parse_charset_first(a + 1, n - 1, &q, &err) < 0) {
		/* RFC 5182 2.1: a failed command with SAVE empties the saved result */
		if ((ret & SEARCH_RET_SAVE) && c->search_saved != NULL)
			seqset_reset(c->search_saved);
		search_run_refuse(c, &err);
		return;
	}
	if (q->uses_modseq)
		imap_condstore_on(c);	/* RFC 7162 3.1 */
	j = xcalloc(1, sizeof(*j));
	search_run_init(&j->run, c, q);
	j->crit = crit;
	j->uid = uid;
	j->esort = esort;
	j->ret = ret;
	session_wait(c->ss);
	session_job_submit(c->ss, &j->sj, sort_work, sort_done, j);
}
