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
#include "lib/addr.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "queue/bounce.h"
#include "queue/deliver_msg.h"
#include "queue/expand.h"
#include "queue/sched.h"
#include "spool/spool.h"

#define HEADER_SCAN_MAX	(256 * 1024)

/* What the header section says about loops. */
struct msg_headers {
	unsigned	 received;	/* Received: fields */
	char		**delivered_to;	/* Delivered-To: values, lower case */
	size_t		 ndt;
};

struct remote_res {
	size_t			 idx;
	enum spool_rcpt_state	 st;
	char			*reason;
	bool			 peer_dsn;
};

struct deliver_pass {
	const struct conf	*c;
	char			 qid[SPOOL_QID_SIZE];
	struct mta_rcpt		*remote;
	size_t			 nremote;
	struct remote_res	*res;
	size_t			 nres;
	bool			*no_success_notice;	/* per idx: relayed to a DSN-capable peer */
	bool			*delay_due;		/* per idx: a delay warning is due now */
	size_t			 ndelay;
	size_t			 nnsn;
	struct spool_msg	*m;
	struct msg_headers	 h;
	time_t			 now;
	bool			 recovered;
	bool			*handled;	/* per recipient index, this pass */
	struct dest_seen	 seen;		/* duplicate filter (expand.h) */
	size_t			 nhandled;
	struct maildir_req	*reqs;		/* local deliveries, batched */
	size_t			*req_idx;
	size_t			 nreqs;
};

time_t
deliver_backoff(const struct conf *c, unsigned attempts)
{
	int64_t min = conf_int(c, CK_MINIMAL_BACKOFF_TIME), max = conf_int(c, CK_MAXIMAL_BACKOFF_TIME);
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
log_result(struct deliver_pass *p, size_t idx, const char *relay, const char *status, const char *reason)
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
set_state(struct deliver_pass *p, size_t idx, enum spool_rcpt_state st, const char *reason)
{
	time_t			 next = 0, arrival = (time_t)(p->m->env.arrival_us / 1000000);
	bool			 null_sender = p->m->env.sender[0] == '\0';
	struct sched_conf	 sc;

	if (st == SPOOL_R_DEFERRED) {
		sched_conf_load(&sc, p->c);
		if (sched_expired(arrival, p->now, null_sender, &sc)) {
			char *why = xasprintf("5.4.7 delivery time expired: %s", reason ? reason : "");
			spool_rcpt_set(p->m, idx, SPOOL_R_FAILED, 0, why);
			log_result(p, idx, "none", "expired", why);
			free(why);
			return;
		}
		next = sched_next_retry(p->m->env.rcpts[idx].attempts + 1, arrival, p->now, null_sender, &sc);
		/* delay_warning_time crossed since the last attempt: warn once */
		if (sched_delay_warning_due(arrival, p->m->env.rcpts[idx].updated, p->now, null_sender, &sc)) {
			if (idx >= p->ndelay) {
				size_t n = idx + 16;
				p->delay_due = xreallocarray(p->delay_due, n, sizeof(bool));
				memset(p->delay_due + p->ndelay, 0, (n - p->ndelay) * sizeof(bool));
				p->ndelay = n;
			}
			p->delay_due[idx] = true;
		}
	}
	if (spool_rcpt_set(p->m, idx, st, next, reason) < 0)
		log_warn("deliver qid=%s: cannot record status", p->m->qid);
}

static void
queue_local(struct deliver_pass *p, size_t idx, const char *maildir)
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
	q->base = conf_str(p->c, CK_VIRTUAL_MAILBOX_BASE);
	q->maildir = xstrdup(maildir);
	q->fd = p->m->fd;
	q->stop_if_unlinked = true;	/* `queue delete` during the pass */
	q->offset = p->m->msg_offset;
	q->length = p->m->msg_len;
	q->return_path = p->m->env.sender;
	q->delivered_to = xstrdup(r->addr);
	q->qid = p->m->qid;
	q->rcpt_idx = (unsigned)idx;
	q->arrival_us = p->m->env.arrival_us;
	q->hostname = conf_str(p->c, CK_MYHOSTNAME);
	q->check_cur = p->recovered || r->attempts > 0;
	q->maildirsize = conf_bool(p->c, CK_VIRTUAL_CREATE_MAILDIRSIZE);
	/* The mailbox's own limit (quota_query), else virtual_mailbox_limit. */
	q->quota_bytes = dir_quota_limit(dir_thread(), r->addr,
	    (uint64_t)conf_int(p->c, CK_VIRTUAL_MAILBOX_LIMIT));
	p->req_idx[p->nreqs++] = idx;
}

static void
add_remote(struct deliver_pass *p, size_t idx, const char *addr)
{
	const char		*at = addr_at(addr), *err;
	char			*domain = NULL;
	struct mta_rcpt		*r;

	if (at == NULL || domain_normalize(at + 1, &domain, &err) < 0) {
		set_state(p, idx, SPOOL_R_FAILED, "5.1.2 bad destination domain");
		log_result(p, idx, "none", "bounced", "5.1.2 bad destination domain");
		return;
	}
	p->remote = xreallocarray(p->remote, p->nremote + 1, sizeof(*p->remote));
	r = &p->remote[p->nremote++];
	r->idx = idx;
	r->addr = xstrdup(p->m->env.rcpts[idx].addr);
	r->domain = domain;
}

static void
apply_dest(struct deliver_pass *p, size_t idx, const struct dest *d)
{
	if (!dest_seen_add(&p->seen, p->c, d)) {
		/* Issue 10: the same mailbox once per message; the first recipient's DSN wins. */
		set_state(p, idx, SPOOL_R_DISCARDED, "2.0.0 duplicate recipient");
		log_result(p, idx, "none", "discarded", "2.0.0 duplicate recipient");
		return;
	}
	switch (d->kind) {
	case DEST_MAILBOX:
		queue_local(p, idx, d->maildir);
		break;
	case DEST_REMOTE:
		add_remote(p, idx, d->addr);
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
mark_handled(struct deliver_pass *p, size_t idx)
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
was_handled(const struct deliver_pass *p, size_t idx)
{
	return idx < p->nhandled && p->handled[idx];
}

/* An original envelope recipient: expand, record children, deliver. */
static void
handle_original(struct deliver_pass *p, struct directory *d, size_t idx)
{
	struct dest_list	 dl = { NULL, 0 };
	const char		*addr = p->m->env.rcpts[idx].addr;
	size_t			 i;

	if (p->h.received > (unsigned)conf_int(p->c, CK_HOPCOUNT_LIMIT)) {
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
deliver_local_batch(struct deliver_pass *p)
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

struct deliver_pass *
deliver_begin(const struct conf *c, const char *qid, bool force, bool recovered,
    struct deliver_outcome *out)
{
	const char		*qdir = conf_str(c, CK_QUEUE_DIRECTORY);
	struct deliver_pass	*p = xcalloc(1, sizeof(*p));
	struct directory	*d = dir_thread();
	size_t			 i, n0;

	memset(out, 0, sizeof(*out));
	if (spool_open(qdir, qid, &p->m) < 0) {
		if (errno == ENOENT || errno == EBADMSG)
			out->done = true;
		else {
			log_warn("deliver qid=%s: cannot open the queue file", qid);
			out->next_retry = time(NULL) + 60;
		}
		free(p);
		return NULL;
	}
	p->c = c;
	memcpy(p->qid, p->m->qid, SPOOL_QID_SIZE);
	p->now = time(NULL);
	p->recovered = recovered;
	scan_headers(p->m, &p->h);
	n0 = p->m->env.nrcpt;
	for (i = 0; i < n0; i++)	/* delivered by an earlier pass: still count as seen */
		if (p->m->env.rcpts[i].state == SPOOL_R_DELIVERED)
			dest_seen_addr(&p->seen, c, p->m->env.rcpts[i].addr);
	for (i = 0; i < n0; i++) {
		const struct spool_rcpt *r = &p->m->env.rcpts[i];

		if (was_handled(p, i))
			continue;
		if (r->state != SPOOL_R_PENDING && r->state != SPOOL_R_DEFERRED)
			continue;
		if (r->state == SPOOL_R_DEFERRED && r->next_retry > p->now && !force)
			continue;
		mark_handled(p, i);
		if (r->parent < 0)
			handle_original(p, d, i);
		else {
			struct dest dest;

			expand_resolve_final(d, c, r->addr, &dest);
			apply_dest(p, i, &dest);
			dest_clear(&dest);
		}
	}
	deliver_local_batch(p);
	return p;
}

size_t
deliver_remote_list(struct deliver_pass *p, const struct mta_rcpt **r_r)
{
	*r_r = p->remote;
	return p->nremote;
}

const struct spool_msg *
deliver_msg(const struct deliver_pass *p)
{
	return p->m;
}

void
deliver_remote_result(struct deliver_pass *p, size_t idx, enum spool_rcpt_state st,
    const char *reason, bool peer_dsn)
{
	p->res = xreallocarray(p->res, p->nres + 1, sizeof(*p->res));
	p->res[p->nres].idx = idx;
	p->res[p->nres].st = st;
	p->res[p->nres].reason = reason ? xstrdup(reason) : NULL;
	p->res[p->nres].peer_dsn = peer_dsn;
	p->nres++;
}

/* Queue one DSN of kind for the recipients that want it; marks them. */
static int
notify(struct deliver_pass *p, enum bounce_kind kind)
{
	const char	*qdir = conf_str(p->c, CK_QUEUE_DIRECTORY);
	size_t		*idx = xcalloc(p->m->env.nrcpt, sizeof(size_t)), n = 0, i;
	char		 qid[SPOOL_QID_SIZE], *err = NULL;
	int		 r = 0;

	for (i = 0; i < p->m->env.nrcpt; i++) {
		const struct spool_rcpt *rc = &p->m->env.rcpts[i];
		bool st_ok = kind == BOUNCE_FAILURE ? rc->state == SPOOL_R_FAILED :
		    kind == BOUNCE_DELAY ? rc->state == SPOOL_R_DEFERRED && i < p->ndelay && p->delay_due[i] :
		    rc->state == SPOOL_R_DELIVERED || (rc->state == SPOOL_R_RELAYED &&
		    !(i < p->nnsn && p->no_success_notice[i]));

		if (st_ok && !rc->dsn_sent && bounce_wanted(rc, kind))
			idx[n++] = i;
	}
	if (n > 0) {
		r = bounce_create(qdir, p->m, idx, n, kind, p->c, qid, &err);
		if (r < 0) {
			log_warnx("deliver qid=%s: cannot queue a delivery status notification: %s",
			    p->qid, err ? err : "?");
			free(err);
		} else {
			if (r == 1)
				log_info("deliver qid=%s: sender %s notification: %s", p->qid,
				    kind == BOUNCE_FAILURE ? "non-delivery" : kind == BOUNCE_DELAY ? "delay" :
				    "delivery", qid);
			/* A delay warning is not final: the failure notice may still follow. */
			for (i = 0; kind != BOUNCE_DELAY && i < n; i++)
				spool_rcpt_dsn_sent(p->m, idx[i]);
		}
	}
	free(idx);
	return r < 0 ? -1 : 0;
}

void
deliver_end(struct deliver_pass **pp, struct deliver_outcome *out)
{
	struct deliver_pass	*p = *pp;
	const char		*qdir;
	size_t			 i;
	time_t			 next = 0;
	bool			 dsn_failed = false;

	if (p == NULL)
		return;
	qdir = conf_str(p->c, CK_QUEUE_DIRECTORY);
	memset(out, 0, sizeof(*out));
	p->now = time(NULL);
	for (i = 0; i < p->nres; i++) {
		struct remote_res *r = &p->res[i];

		if (r->st == SPOOL_R_RELAYED && r->peer_dsn) {
			if (r->idx >= p->nnsn) {
				size_t n = r->idx + 16;
				p->no_success_notice = xreallocarray(p->no_success_notice, n, sizeof(bool));
				memset(p->no_success_notice + p->nnsn, 0, (n - p->nnsn) * sizeof(bool));
				p->nnsn = n;
			}
			p->no_success_notice[r->idx] = true;
		}
		set_state(p, r->idx, r->st, r->reason);
	}
	if (notify(p, BOUNCE_FAILURE) < 0)
		dsn_failed = true;
	notify(p, BOUNCE_SUCCESS);
	notify(p, BOUNCE_DELAY);
	/* A finished message is removed without syncing its status file: after a
	 * crash it would be recovered and redelivered idempotently (the Maildir
	 * names are deterministic), so the fsync would buy nothing. */
	if (!(spool_msg_done(p->m) && !dsn_failed) && spool_status_sync(p->m) < 0)
		log_warn("deliver qid=%s: status sync", p->qid);
	if (spool_msg_done(p->m) && !dsn_failed) {
		spool_remove(qdir, p->qid);
		log_info("deliver qid=%s: removed", p->qid);
		out->done = true;
	} else {
		for (i = 0; i < p->m->env.nrcpt; i++) {
			const struct spool_rcpt *r = &p->m->env.rcpts[i];
			if (r->state == SPOOL_R_DEFERRED && (next == 0 || r->next_retry < next))
				next = r->next_retry;
			if (r->state == SPOOL_R_PENDING)
				next = p->now;
		}
		out->next_retry = next ? next : p->now + deliver_backoff(p->c, 1);
	}
	headers_clear(&p->h);
	free(p->reqs);
	free(p->req_idx);
	free(p->handled);
	dest_seen_clear(&p->seen);
	for (i = 0; i < p->nremote; i++) {
		free(p->remote[i].addr);
		free(p->remote[i].domain);
	}
	free(p->remote);
	for (i = 0; i < p->nres; i++)
		free(p->res[i].reason);
	free(p->res);
	free(p->no_success_notice);
	free(p->delay_due);
	spool_msg_free(&p->m);
	xfree(pp);
}
