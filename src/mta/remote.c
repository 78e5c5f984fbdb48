/*
 * The remote phase of a delivery pass (see remote.h): recipients grouped
 * by domain, one route lookup and one SMTP client job per domain, each
 * outcome reported to the queue through the caller's callbacks.  Moved
 * here from the queue manager so that src/queue/ no longer reaches into
 * the SMTP client's internals and src/mta/ needs nothing from the queue.
 */
#include "mta/remote.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "mta/client.h"
#include "mta/route.h"

/* One domain of the phase: one route lookup and SMTP job. */
struct rdomain {
	struct rphase		*rp;
	char			*domain;
	size_t			*idx;		/* spool recipient indexes */
	size_t			 n;
	struct smtpc_job	 job;
	bool			 started;
};

struct rphase {
	struct server		*srv;
	const struct spool_msg	*m;
	mta_result_fn		*result;
	void			(*done)(void *arg);
	void			*arg;
	struct rdomain		*doms;
	size_t			 ndoms, pending;
};

static void
rphase_free(struct rphase *rp)
{
	size_t i;

	for (i = 0; i < rp->ndoms; i++) {
		free(rp->doms[i].domain);
		free(rp->doms[i].idx);
		free(rp->doms[i].job.rcpts);
	}
	free(rp->doms);
	free(rp);
}

static void
rdomain_finished(struct rdomain *d)
{
	struct rphase	*rp = d->rp;
	void		(*done)(void *arg) = rp->done;
	void		*arg = rp->arg;

	if (--rp->pending > 0)
		return;
	rphase_free(rp);
	done(arg);
}

static void
set_all(struct rdomain *d, enum spool_rcpt_state st, const char *reason)
{
	const struct spool_msg	*m = d->rp->m;
	size_t			 i;

	for (i = 0; i < d->n; i++) {
		log_info("deliver qid=%s: to=<%s> relay=none status=%s (%s)", m->qid,
		    m->env.rcpts[d->idx[i]].addr, spool_state_name(st), reason);
		d->rp->result(d->rp->arg, d->idx[i], st, reason, false);
	}
}

static void
smtpc_done_cb(struct smtpc_job *job, void *arg)
{
	struct rdomain	*d = arg;
	size_t		 i;
	char		 reason[SPOOL_REASON_MAX];

	for (i = 0; i < job->nrcpt; i++) {
		const struct smtpc_rcpt *r = &job->rcpts[i];
		enum spool_rcpt_state st = r->status == SMTPC_DELIVERED ? SPOOL_R_RELAYED :
		    r->status == SMTPC_BOUNCED ? SPOOL_R_FAILED : SPOOL_R_DEFERRED;

		smtpc_log(job, i);
		smtpc_reason(r, reason, sizeof(reason));
		d->rp->result(d->rp->arg, r->idx, st, reason, job->peer_dsn);
	}
	rdomain_finished(d);
}

static void
route_cb(const struct route *r, void *arg)
{
	struct rdomain		*d = arg;
	const struct spool_msg	*m = d->rp->m;
	struct smtpc_job	*job = &d->job;
	size_t			 i;

	switch (r->kind) {
	case ROUTE_SMTP:
		memset(job, 0, sizeof(*job));
		job->qid = m->qid;
		job->hop = r->hop;
		memcpy(job->key, r->key, sizeof(job->key));
		job->sender = m->env.sender;
		job->envid = m->env.envid;
		job->ret = m->env.ret;
		job->body = m->env.body;
		job->smtputf8 = m->env.smtputf8;
		job->arrival_us = m->env.arrival_us;
		job->fd = m->fd;
		job->offset = m->msg_offset;
		job->len = m->msg_len;
		job->rcpts = xcalloc(d->n, sizeof(*job->rcpts));
		job->nrcpt = d->n;
		for (i = 0; i < d->n; i++) {
			const struct spool_rcpt *sr = &m->env.rcpts[d->idx[i]];

			job->rcpts[i].addr = sr->addr;
			job->rcpts[i].orcpt = sr->orcpt;
			job->rcpts[i].notify = sr->notify;
			job->rcpts[i].idx = d->idx[i];
		}
		d->started = true;
		smtpc_send(d->rp->srv, job, smtpc_done_cb, d);
		return;
	case ROUTE_LOCAL:
		set_all(d, SPOOL_R_DEFERRED, "4.3.5 transport virtual:/local: names a domain that is not hosted here");
		break;
	case ROUTE_ERROR:
		set_all(d, SPOOL_R_FAILED, r->text);
		break;
	case ROUTE_DISCARD:
		set_all(d, SPOOL_R_DISCARDED, r->text[0] ? r->text : "2.0.0 discarded");
		break;
	case ROUTE_TEMPFAIL:
		set_all(d, SPOOL_R_DEFERRED, r->text);
		break;
	}
	rdomain_finished(d);
}

struct rphase *
mta_remote_start(struct server *srv, const struct spool_msg *m, const struct mta_rcpt *r,
    size_t n, mta_result_fn *result, void (*done)(void *arg), void *arg)
{
	struct rphase	*rp = xcalloc(1, sizeof(*rp));
	size_t		 i, k;

	rp->srv = srv;
	rp->m = m;
	rp->result = result;
	rp->done = done;
	rp->arg = arg;
	for (i = 0; i < n; i++) {
		struct rdomain *d = NULL;

		for (k = 0; k < rp->ndoms; k++)
			if (strcmp(rp->doms[k].domain, r[i].domain) == 0)
				d = &rp->doms[k];
		if (d == NULL) {
			rp->doms = xreallocarray(rp->doms, rp->ndoms + 1, sizeof(*rp->doms));
			d = &rp->doms[rp->ndoms++];
			memset(d, 0, sizeof(*d));
			d->domain = xstrdup(r[i].domain);
		}
		d->idx = xreallocarray(d->idx, d->n + 1, sizeof(size_t));
		d->idx[d->n++] = r[i].idx;
	}
	/* doms is final now: hand out pointers into it. */
	rp->pending = rp->ndoms;
	for (k = 0; k < rp->ndoms; k++) {
		rp->doms[k].rp = rp;
		route_lookup(srv, rp->doms[k].domain, route_cb, &rp->doms[k]);
	}
	return rp;
}
