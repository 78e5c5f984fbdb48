/*
 * One delivery pass over a spooled message; see deliver_msg.h.
 *
 * Crash safety: children found by expansion are recorded (spool_rcpt_add)
 * before their parent is marked EXPANDED, and Maildir file names are a
 * function of (queue ID, recipient index), so a pass interrupted anywhere
 * and run again delivers nothing twice and loses nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver/maildir.h"
#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "queue/deliver_msg.h"
#include "queue/expand.h"
#include "queue/spool.h"

#define HEADER_SCAN_MAX	(256 * 1024)

/* What the header section says about loops. */
struct msg_headers {
	unsigned	 received;	/* Received: fields */
	char		**delivered_to;	/* Delivered-To: values, lower case */
	size_t		 ndt;
};

struct pass {
	const struct conf	*c;
	struct spool_msg	*m;
	struct msg_headers	 h;
	time_t			 now;
	bool			 recovered;
	bool			*handled;	/* per recipient index, this pass */
	size_t			 nhandled;
	struct maildir_req	*reqs;		/* local deliveries, batched */
	size_t			*req_idx;
	size_t			 nreqs;
};

time_t
deliver_backoff(const struct conf *c, unsigned attempts)
{
	int64_t min = conf_int(c, "minimal_backoff_time"), max = conf_int(c, "maximal_backoff_time");
	int64_t d = min;

	while (attempts > 1 && d < max) {
		d *= 2;
		attempts--;
	}
	return (time_t)(d < max ? d : max);
}

static void
scan_headers(struct spool_msg *m, struct msg_headers *h)
{
	size_t	 len = m->msg_len < HEADER_SCAN_MAX ? (size_t)m->msg_len : HEADER_SCAN_MAX;
	char	*p = xmalloc(len + 1), *line, *end;
	ssize_t	 n = pread(m->fd, p, len, m->msg_offset);

	memset(h, 0, sizeof(*h));
	if (n <= 0) {
		free(p);
		return;
	}
	p[n] = '\0';
	end = p + n;
	for (line = p; line < end; ) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t ll = nl ? (size_t)(nl - line) : (size_t)(end - line);

		if (ll == 0 || (ll == 1 && line[0] == '\r'))
			break;		/* end of the header section */
		if (str_iprefix(line, ll, "Received:"))
			h->received++;
		else if (str_iprefix(line, ll, "Delivered-To:")) {
			char *v = xstrndup(line + 13, ll - 13);
			char *t = str_trim(v);
			h->delivered_to = xreallocarray(h->delivered_to, h->ndt + 1, sizeof(char *));
			h->delivered_to[h->ndt] = xstrdup(t);
			str_lower(h->delivered_to[h->ndt]);
			h->ndt++;
			free(v);
		}
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	free(p);
}

static void
headers_clear(struct msg_headers *h)
{
	size_t i;

	for (i = 0; i < h->ndt; i++)
		free(h->delivered_to[i]);
	free(h->delivered_to);
}

static bool
delivered_to_seen(const struct msg_headers *h, const char *addr)
{
	size_t i;

	for (i = 0; i < h->ndt; i++)
		if (strcasecmp(h->delivered_to[i], addr) == 0)
			return true;
	return false;
}

static void
log_result(struct pass *p, size_t idx, const char *relay, const char *status, const char *reason)
{
	const struct spool_rcpt	*r = &p->m->env.rcpts[idx];
	double			 delay = (double)p->now - (double)p->m->env.arrival_us / 1e6;
	char			 dsn[16] = "";
	const char		*orig = r->orig;

	if (reason != NULL) {
		size_t n = strcspn(reason, " ");
		if (n < sizeof(dsn))
			memcpy(dsn, reason, n), dsn[n] = '\0';
	}
	if (orig == NULL && r->parent >= 0)
		orig = p->m->env.rcpts[r->parent].addr;
	log_info("deliver qid=%s: to=<%s>%s%s%s relay=%s delay=%.2f dsn=%s status=%s (%s)",
	    p->m->qid, r->addr, orig ? " orig_to=<" : "", orig ? orig : "", orig ? ">" : "",
	    relay, delay < 0 ? 0 : delay, dsn, status, reason ? reason : "");
}

static void
set_state(struct pass *p, size_t idx, enum spool_rcpt_state st, const char *reason)
{
	time_t next = 0;

	if (st == SPOOL_R_DEFERRED) {
		int64_t life = p->m->env.sender[0] == '\0' ? conf_int(p->c, "bounce_queue_lifetime") :
		    conf_int(p->c, "maximal_queue_lifetime");
		if ((int64_t)p->now - p->m->env.arrival_us / 1000000 >= life) {
			char *why = xasprintf("5.4.7 delivery time expired: %s", reason ? reason : "");
			spool_rcpt_set(p->m, idx, SPOOL_R_FAILED, 0, why);
			log_result(p, idx, "none", "expired", why);
			free(why);
			return;
		}
		next = p->now + deliver_backoff(p->c, p->m->env.rcpts[idx].attempts + 1);
	}
	if (spool_rcpt_set(p->m, idx, st, next, reason) < 0)
		log_warn("deliver qid=%s: cannot record status", p->m->qid);
}

static void
queue_local(struct pass *p, size_t idx, const char *maildir)
{
	struct maildir_req	*q;
	const struct spool_rcpt	*r = &p->m->env.rcpts[idx];

	if (delivered_to_seen(&p->h, r->addr)) {
		set_state(p, idx, SPOOL_R_FAILED, "5.4.6 mail forwarding loop (Delivered-To)");
		log_result(p, idx, "none", "bounced", "5.4.6 mail forwarding loop (Delivered-To)");
		return;
	}
	p->reqs = xreallocarray(p->reqs, p->nreqs + 1, sizeof(*p->reqs));
	p->req_idx = xreallocarray(p->req_idx, p->nreqs + 1, sizeof(size_t));
	q = &p->reqs[p->nreqs];
	memset(q, 0, sizeof(*q));
	q->base = conf_str(p->c, "virtual_mailbox_base");
	q->maildir = xstrdup(maildir);
	q->fd = p->m->fd;
	q->offset = p->m->msg_offset;
	q->length = p->m->msg_len;
	q->return_path = p->m->env.sender;
	q->delivered_to = xstrdup(r->addr);
	q->qid = p->m->qid;
	q->rcpt_idx = (unsigned)idx;
	q->arrival_us = p->m->env.arrival_us;
	q->hostname = conf_str(p->c, "myhostname");
	q->check_cur = p->recovered || r->attempts > 0;
	q->maildirsize = conf_bool(p->c, "virtual_create_maildirsize");
	q->quota_bytes = (uint64_t)conf_int(p->c, "virtual_mailbox_limit");
	p->req_idx[p->nreqs++] = idx;
}

static void
apply_dest(struct pass *p, size_t idx, const struct dest *d)
{
	switch (d->kind) {
	case DEST_MAILBOX:
		queue_local(p, idx, d->maildir);
		break;
	case DEST_REMOTE:
		set_state(p, idx, SPOOL_R_DEFERRED, "4.4.1 remote delivery is not enabled");
		log_result(p, idx, "none", "deferred", "4.4.1 remote delivery is not enabled");
		break;
	case DEST_BOUNCE:
		set_state(p, idx, SPOOL_R_FAILED, d->reason);
		log_result(p, idx, "none", "bounced", d->reason);
		break;
	case DEST_TEMPFAIL:
		set_state(p, idx, SPOOL_R_DEFERRED, d->reason);
		log_result(p, idx, "none", "deferred", d->reason);
		break;
	case DEST_DISCARD:
		set_state(p, idx, SPOOL_R_DISCARDED, d->reason);
		log_result(p, idx, "none", "discarded", d->reason);
		break;
	}
}

static void
mark_handled(struct pass *p, size_t idx)
{
	if (idx >= p->nhandled) {
		size_t n = idx + 16;
		p->handled = xreallocarray(p->handled, n, sizeof(bool));
		memset(p->handled + p->nhandled, 0, (n - p->nhandled) * sizeof(bool));
		p->nhandled = n;
	}
	p->handled[idx] = true;
}

static bool
was_handled(const struct pass *p, size_t idx)
{
	return idx < p->nhandled && p->handled[idx];
}

/* An original envelope recipient: expand, record children, deliver. */
static void
handle_original(struct pass *p, struct directory *d, size_t idx)
{
	struct dest_list	 dl = { NULL, 0 };
	const char		*addr = p->m->env.rcpts[idx].addr;
	size_t			 i;

	if (p->h.received > (unsigned)conf_int(p->c, "hopcount_limit")) {
		set_state(p, idx, SPOOL_R_FAILED, "5.4.6 too many hops (mail loop?)");
		log_result(p, idx, "none", "bounced", "5.4.6 too many hops (mail loop?)");
		return;
	}
	expand_recipient(d, p->c, addr, &dl);
	if (dl.n == 1 && (dl.v[0].kind != DEST_MAILBOX && dl.v[0].kind != DEST_REMOTE ?
	    true : strcasecmp(dl.v[0].addr, addr) == 0)) {
		apply_dest(p, idx, &dl.v[0]);	/* no expansion happened */
	} else {
		for (i = 0; i < dl.n; i++) {
			size_t cidx;

			if (spool_rcpt_add(p->m, idx, dl.v[i].addr, &cidx) < 0) {
				set_state(p, idx, SPOOL_R_DEFERRED, "4.3.0 cannot record the expansion");
				dest_list_clear(&dl);
				return;
			}
			if (was_handled(p, cidx))
				continue;
			mark_handled(p, cidx);
			apply_dest(p, cidx, &dl.v[i]);
		}
		set_state(p, idx, SPOOL_R_EXPANDED, NULL);
	}
	dest_list_clear(&dl);
}

static void
deliver_local_batch(struct pass *p)
{
	struct maildir_result	*res;
	size_t			 i;

	if (p->nreqs == 0)
		return;
	res = xcalloc(p->nreqs, sizeof(*res));
	maildir_deliver_many(p->reqs, res, p->nreqs);
	for (i = 0; i < p->nreqs; i++) {
		size_t idx = p->req_idx[i];

		switch (res[i].status) {
		case MAILDIR_OK:
			set_state(p, idx, SPOOL_R_DELIVERED, res[i].reason);
			log_result(p, idx, "maildir", "sent", res[i].reason);
			break;
		case MAILDIR_TEMPFAIL:
			set_state(p, idx, SPOOL_R_DEFERRED, res[i].reason);
			log_result(p, idx, "maildir", "deferred", res[i].reason);
			break;
		case MAILDIR_PERMFAIL:
			set_state(p, idx, SPOOL_R_FAILED, res[i].reason);
			log_result(p, idx, "maildir", "bounced", res[i].reason);
			break;
		}
		free((char *)p->reqs[i].maildir);
		free((char *)p->reqs[i].delivered_to);
	}
	free(res);
}

void
deliver_message(const struct conf *c, const char *qid, bool force, bool recovered,
    struct deliver_outcome *out)
{
	const char		*qdir = conf_str(c, "queue_directory");
	struct pass		 p;
	struct directory	*d = dir_thread();
	size_t			 i, n0;
	time_t			 next = 0;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	if (spool_open(qdir, qid, &p.m) < 0) {
		if (errno == ENOENT || errno == EBADMSG) {
			out->done = true;
			return;
		}
		log_warn("deliver qid=%s: cannot open the queue file", qid);
		out->next_retry = time(NULL) + 60;
		return;
	}
	p.c = c;
	p.now = time(NULL);
	p.recovered = recovered;
	scan_headers(p.m, &p.h);
	n0 = p.m->env.nrcpt;
	for (i = 0; i < n0; i++) {
		const struct spool_rcpt *r = &p.m->env.rcpts[i];

		if (was_handled(&p, i))
			continue;
		if (r->state != SPOOL_R_PENDING && r->state != SPOOL_R_DEFERRED)
			continue;
		if (r->state == SPOOL_R_DEFERRED && r->next_retry > p.now && !force)
			continue;
		mark_handled(&p, i);
		if (r->parent < 0)
			handle_original(&p, d, i);
		else {
			struct dest dest;

			expand_resolve_final(d, c, r->addr, &dest);
			apply_dest(&p, i, &dest);
			dest_clear(&dest);
		}
	}
	deliver_local_batch(&p);
	if (spool_status_sync(p.m) < 0)
		log_warn("deliver qid=%s: status sync", qid);
	if (spool_msg_done(p.m)) {
		spool_remove(qdir, qid);
		log_info("deliver qid=%s: removed", qid);
		out->done = true;
	} else {
		for (i = 0; i < p.m->env.nrcpt; i++) {
			const struct spool_rcpt *r = &p.m->env.rcpts[i];
			if (r->state == SPOOL_R_DEFERRED && (next == 0 || r->next_retry < next))
				next = r->next_retry;
			if (r->state == SPOOL_R_PENDING)
				next = p.now;
		}
		out->next_retry = next ? next : p.now + deliver_backoff(c, 1);
	}
	headers_clear(&p.h);
	free(p.reqs);
	free(p.req_idx);
	free(p.handled);
	spool_msg_free(&p.m);
}
