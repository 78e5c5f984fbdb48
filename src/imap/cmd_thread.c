/*
 * THREAD and UID THREAD (RFC 5256 3): ORDEREDSUBJECT and REFERENCES.
 * Scheduled like SEARCH and SORT: one worker job evaluates the search
 * keys, gathers each match's sent date, base subject and ids (ENVELOPE
 * from the store's cache; REFERENCES also reads the References field from
 * the message's header, which the cache does not keep: only the header's
 * bytes), threads them (thread.c) and formats the answer; the loop writes it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap/client.h"
#include "imap/envelope.h"
#include "imap/search_run.h"
#include "imap/sort.h"
#include "imap/thread.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "mime/rfc5322.h"
#include "net/session.h"
#include "store/store.h"

/* A header larger than this is read up to here for References. */
#define THREAD_HDR_MAX	(256 * 1024)

struct thread_job {
	struct session_job	 sj;
	struct search_run	 run;
	enum thread_algo	 algo;
	bool			 uid;
	struct buf		 out;		/* the thread lists */
};

/* What one message contributes; owned strings. */
struct thread_src {
	struct envelope	 env;
	struct buf	 subject;	/* base subject, folded */
	char		*refs;		/* unfolded References, or NULL */
	size_t		 refs_len;
};

/* ---- on a worker ---- */

/* The References field of message idx, unfolded (malloc'd), or NULL. */
static char *
references(struct store_mailbox *mb, size_t idx, size_t *len_r)
{
	const struct store_part	*parts;
	struct hdr_field	 f;
	struct buf		 v;
	size_t			 np, hlen;
	ssize_t			 got;
	char			*hdr, *r = NULL;
	int			 fd;

	if (store_msg_parts(mb, idx, &parts, &np) < 0 || np == 0)
		return NULL;
	hlen = parts[0].body_off < THREAD_HDR_MAX ? (size_t)parts[0].body_off : THREAD_HDR_MAX;
	if (hlen == 0 || (fd = store_msg_open(mb, idx)) < 0)
		return NULL;
	hdr = xmalloc(hlen);
	got = pread(fd, hdr, hlen, 0);
	close(fd);
	if (got > 0 && hdr_find(hdr, (size_t)got, "References", &f)) {
		buf_init(&v, HDR_VALUE_MAX);
		(void)hdr_unfold(f.value, f.value_len, &v);
		*len_r = v.len;
		r = buf_take(&v, len_r);
	}
	free(hdr);
	return r;
}

static void
thread_work(void *arg)
{
	struct thread_job	*j = arg;
	struct thread_src	*src;
	struct thread_msg	*m;
	size_t			 i, idx, n;
	bool			 reply;

	search_run_work(&j->run);
	n = j->run.n;
	src = xcalloc(n + 1, sizeof(*src));
	m = xcalloc(n + 1, sizeof(*m));
	for (i = 0; i < n; i++) {
		idx = j->run.seqs[i] - 1;
		(void)search_run_envelope(&j->run, idx, &src[i].env);
		buf_init(&src[i].subject, HDR_VALUE_MAX * 2);
		(void)sort_subject_key(&src[i].env, &src[i].subject, &reply);
		m[i] = (struct thread_msg){
			.id = j->uid ? j->run.uids[i] : j->run.seqs[i],
			.seq = j->run.seqs[i],
			.date = sort_sent_date(&src[i].env, store_msg_idate(j->run.mb, idx)),
			.subject = buf_str(&src[i].subject),
			.subject_len = src[i].subject.len,
			.is_reply = reply,
			.message_id = src[i].env.message_id.s,
			.message_id_len = src[i].env.message_id.len,
			.in_reply_to = src[i].env.in_reply_to.s,
			.in_reply_to_len = src[i].env.in_reply_to.len,
		};
		if (j->algo == THREAD_REFERENCES) {
			src[i].refs = references(j->run.mb, idx, &src[i].refs_len);
			m[i].references = src[i].refs;
			m[i].references_len = src[i].refs_len;
		}
	}
	(void)thread_build(j->algo, m, n, &j->out);
	for (i = 0; i < n; i++) {
		envelope_clear(&src[i].env);
		buf_clear(&src[i].subject);
		free(src[i].refs);
	}
	free(src);
	free(m);
}

/* ---- on the loop ---- */

static void
job_free(struct thread_job *j)
{
	search_run_clear(&j->run);
	buf_clear(&j->out);
	free(j);
}

static void
thread_done(void *arg)
{
	struct thread_job	*j = arg;
	struct imap_client	*c = search_run_session(&j->sj, &j->run);
	bool			 uid = j->uid;

	if (c == NULL) {
		job_free(j);
		return;
	}
	imap_write(c, "* THREAD", 8);
	if (j->out.len > 0) {
		imap_write(c, " ", 1);
		imap_write(c, j->out.data, j->out.len);
	}
	imap_write(c, "\r\n", 2);
	job_free(j);
	search_run_finish(c, uid, "THREAD");
}

void
cmd_thread(struct imap_client *c, const struct imap_cmd *cmd)
{
	bool			 uid = str_ieq(cmd->name, cmd->name_len, "UID");
	const struct imap_arg	*a = cmd->args + uid;
	size_t			 n = cmd->nargs - uid;
	enum thread_algo	 algo;
	struct search_error	 err;
	struct search_query	*q;
	struct thread_job	*j;

	if (n > 0 && imap_arg_is_atom(&a[0], "ORDEREDSUBJECT"))
		algo = THREAD_ORDEREDSUBJECT;
	else if (n > 0 && imap_arg_is_atom(&a[0], "REFERENCES"))
		algo = THREAD_REFERENCES;
	else {
		imap_view_done(c, "BAD", "Unknown threading algorithm.");
		return;
	}
	if (search_parse_charset_first(a + 1, n - 1, &q, &err) < 0) {
		search_run_refuse(c, &err);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	search_run_init(&j->run, c, q);
	j->algo = algo;
	j->uid = uid;
	buf_init(&j->out, SIZE_MAX / 2);
	session_wait(c->ss);
	session_job_submit(c->ss, &j->sj, thread_work, thread_done, j);
}
