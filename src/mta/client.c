/*
 * Outbound SMTP client: destinations (concurrency, dead-destination
 * backoff), the per-job session state machine and reply reader.  The
 * message body is streamed by client_body below.  See client.h.
 */
#include "mta/client.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/conn.h"
#include "net/server.h"
#include "net/tls.h"

#define BODY_CHUNK	65536		/* bytes read from the spool at a time */
#define OUT_HIGH	(4 * BODY_CHUNK)	/* stop filling the output above this */
#define QUIT_WAIT	10		/* seconds to wait for the 221 */

enum smtpc_state {
	SC_RESOLVE,	/* waiting for route_resolve() */
	SC_CONNECT,	/* TCP connect in progress */
	SC_GREET,	/* waiting for the 220 banner */
	SC_EHLO,
	SC_HELO,
	SC_STARTTLS,	/* STARTTLS sent, waiting for 220 */
	SC_TLS,		/* handshake running */
	SC_TRANS,	/* MAIL / RCPT / DATA replies (pipelined or one by one) */
	SC_BODY,	/* streaming the message */
	SC_DOT,		/* "." sent, waiting for the final reply */
	SC_QUIT,	/* QUIT sent */
	SC_DONE,
};

static const char *const state_names[] = {
	"RESOLVE", "CONNECT", "GREET", "EHLO", "HELO", "STARTTLS", "TLS", "TRANS", "BODY",
	"DOT", "QUIT", "DONE",
};

/* What we were doing, for "lost connection ... while X" texts (Postfix's words). */
static const char *const state_doing[] = {
	"resolving", "connecting", "receiving the initial server greeting",
	"performing the EHLO handshake", "performing the HELO handshake",
	"sending STARTTLS", "performing the TLS handshake", "sending MAIL FROM / RCPT TO",
	"sending message body", "sending end of data -- message may be sent more than once",
	"sending QUIT", "done",
};

struct dest {
	struct dest		*next;
	char			 key[ROUTE_KEY_MAX];
	unsigned		 active;
	struct sess		*wait_head, **wait_tail;	/* FIFO of queued jobs */
	time_t			 dead_until;
	char			 dead_reason[SMTPC_TEXT_MAX];
};

struct sess {
	struct sess		*next, **prevp;		/* all sessions (stop hook) */
	struct sess		*wnext;			/* dest wait queue */
	struct smtpc		*mc;			/* NULL: not initialised */
	struct server		*srv;
	struct smtpc_job	*job;
	void			(*done)(struct smtpc_job *, void *);
	void			*arg;
	struct dest		*dest;
	bool			 queued, counted;
	enum smtpc_state	 state;
	struct event		*ev_done;
	struct route_query	*rq;
	struct route_result	*rr;
	unsigned		 ai;			/* address being tried */
	bool			 notls;			/* plaintext retry after a TLS failure */
	bool			 reached;		/* some host talked to us */
	struct bufferevent	*bev;
	unsigned		 gen;			/* bumped when bev is replaced */
	char			 peer[ROUTE_HOST_MAX + 48];	/* "host[addr]" */
	/* ESMTP */
	bool			 esmtp, pipelining, starttls, dsn, eightbit, utf8, tls_on;
	/* reply reader */
	struct buf		 line;
	unsigned		 nlines;
	int			 code;
	char			 reply[SMTPC_TEXT_MAX];	/* escaped, lines joined by ' ' */
	/* transaction: step 0 = MAIL, 1..nsend = RCPT order[i-1], nsend+1 = DATA */
	size_t			*order, nsend;
	size_t			 sent, replied;
	bool			 mail_ok;
	int			 mail_code;
	char			 mail_reply[SMTPC_TEXT_MAX];
	unsigned		 naccepted;
	/* body */
	off_t			 pos;
	bool			 bol, cr;
	char			*chunk, *xbuf;
	/* the last failure, for deferring what is left */
	char			 last_dsn[12];
	char			 last_text[SMTPC_TEXT_MAX];
};

/* The module (daemon context member srv->smtpc; see net/server.h). */
struct smtpc {
	bool			 stopping;
	struct server		*srv;
	struct tls_ctx		*tls;
	struct route_resolver	*res;
	struct route_resolver	*retired[8];
	unsigned		 nretired;
	char			 helo[256];
	char			 resolver_spec[128];
	struct timeval		 connect_tv, reply_tv;
	unsigned		 limit;
	time_t			 backoff;
	struct dest		*dests;
	struct sess		*sessions;
};

static void	sess_read_cb(struct bufferevent *, void *);
static void	sess_write_cb(struct bufferevent *, void *);
static void	sess_event_cb(struct bufferevent *, short, void *);
static void	try_connect(struct sess *s);
static void	sess_finish(struct sess *s);
static void	body_fill(struct sess *s);
static void	dest_release(struct sess *s);

const char *
smtpc_status_name(enum smtpc_status st)
{
	switch (st) {
	case SMTPC_DELIVERED:	return "sent";
	case SMTPC_DEFERRED:	return "deferred";
	case SMTPC_BOUNCED:	return "bounced";
	default:		return "pending";
	}
}

static int64_t
now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void
set_state(struct sess *s, enum smtpc_state st)
{
	if (log_debug_enabled())
		log_debug("smtp qid=%s: %s -> %s", s->job->qid ? s->job->qid : "-",
		    state_names[s->state], state_names[st]);
	s->state = st;
}

/* ---- configuration ---- */

static void
load_conf(struct smtpc *mc, const struct conf *c)
{
	const char *h = conf_str(c, CK_MYHOSTNAME);

	if (*h != '\0')
		str_copy(mc->helo, h, sizeof(mc->helo));
	else if (gethostname(mc->helo, sizeof(mc->helo)) < 0 || mc->helo[0] == '\0')
		str_copy(mc->helo, "localhost", sizeof(mc->helo));
	mc->helo[sizeof(mc->helo) - 1] = '\0';
	mc->connect_tv.tv_sec = (time_t)conf_int(c, CK_SMTP_CONNECT_TIMEOUT);
	mc->connect_tv.tv_usec = 0;
	mc->reply_tv.tv_sec = (time_t)conf_int(c, CK_SMTP_TIMEOUT);
	mc->reply_tv.tv_usec = 0;
	mc->limit = (unsigned)conf_int(c, CK_DEFAULT_DESTINATION_CONCURRENCY_LIMIT);
	mc->backoff = (time_t)conf_int(c, CK_MINIMAL_BACKOFF_TIME);
}

static void
reload_hook(void *arg)
{
	struct smtpc		*mc = arg;
	const struct conf	*c = conf_current();
	const char		*spec;
	struct route_resolver	*nr;
	char			*err = NULL;

	if (c == NULL)
		return;
	load_conf(mc, c);
	spec = conf_str(c, CK_DNS_RESOLVER);
	if (strcmp(spec, mc->resolver_spec) == 0)
		return;
	if ((nr = route_resolver_new(mc->srv->base, spec, &err)) == NULL) {
		log_warnx("smtp: %s; keeping the old resolver", err);
		free(err);
		return;
	}
	/* Lookups in flight keep using the old one: retire it, free at shutdown. */
	if (mc->nretired < sizeof(mc->retired) / sizeof(mc->retired[0]))
		mc->retired[mc->nretired++] = mc->res;
	mc->res = nr;
	str_copy(mc->resolver_spec, spec, sizeof(mc->resolver_spec));
}

static void
fail_pending(struct sess *s, enum smtpc_status st, int code, const char *dsn, const char *text)
{
	size_t i;

	for (i = 0; i < s->job->nrcpt; i++) {
		struct smtpc_rcpt *r = &s->job->rcpts[i];

		if (r->status != SMTPC_PENDING)
			continue;
		r->status = st;
		r->code = code;
		r->remote = false;
		str_copy(r->dsn, dsn, sizeof(r->dsn));
		str_copy(r->text, text, sizeof(r->text));
		r->diag[0] = '\0';
	}
}

void
smtpc_stop(struct smtpc *mc)
{
	struct sess *s, *next;

	if (mc == NULL)
		return;
	mc->stopping = true;
	for (s = mc->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->state == SC_DONE)
			continue;
		fail_pending(s, SMTPC_DEFERRED, 0, "4.3.2", "delivery aborted: shutting down");
		sess_finish(s);
	}
}

struct smtpc *
smtpc_init(struct server *srv, const struct conf *c)
{
	struct smtpc *mc = xcalloc(1, sizeof(*mc));

	mc->srv = srv;
	load_conf(mc, c);
	return mc;
}

int
smtpc_start(struct smtpc *mc, char **err_r)
{
	const char *spec = conf_str(conf_current(), CK_DNS_RESOLVER);

	if (mc->res != NULL) {
		*err_r = xstrdup("smtp client started twice");
		return -1;
	}
	if ((mc->res = route_resolver_new(mc->srv->base, spec, err_r)) == NULL)
		return -1;
	str_copy(mc->resolver_spec, spec, sizeof(mc->resolver_spec));
	/* No trust store configured: opportunistic TLS with the system's (the
	 * result only shows in tls_peer_verified()). */
	if ((mc->tls = tls_client_ctx_new(NULL, err_r)) == NULL) {
		route_resolver_free(&mc->res);
		return -1;
	}
	server_hook_reload(mc->srv, reload_hook, mc);
	return 0;
}

static void sess_free(struct sess *s);

void
smtpc_free(struct smtpc **mcp)
{
	struct smtpc	*mc = *mcp;
	struct dest	*d;
	unsigned	 i;

	if (mc == NULL)
		return;
	mc->stopping = true;
	while (mc->sessions != NULL)
		sess_free(mc->sessions);
	while ((d = mc->dests) != NULL) {
		mc->dests = d->next;
		free(d);
	}
	route_resolver_free(&mc->res);
	for (i = 0; i < mc->nretired; i++)
		route_resolver_free(&mc->retired[i]);
	tls_ctx_free(&mc->tls);
	xfree(mcp);
}

void
smtpc_flush_backoff(struct smtpc *mc)
{
	struct dest *d;

	if (mc == NULL)
		return;
	for (d = mc->dests; d != NULL; d = d->next)
		d->dead_until = 0;
}

/* ---- sessions ---- */

static void
conn_close(struct sess *s)
{
	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	s->gen++;
	buf_reset(&s->line);
	s->nlines = 0;
	s->esmtp = s->pipelining = s->starttls = s->dsn = s->eightbit = s->utf8 = false;
	s->tls_on = false;
}

static void
sess_free(struct sess *s)
{
	conn_close(s);
	route_query_cancel(&s->rq);
	dest_release(s);
	if (s->ev_done != NULL)
		event_free(s->ev_done);
	if (s->prevp != NULL) {
		*s->prevp = s->next;
		if (s->next != NULL)
			s->next->prevp = s->prevp;
	}
	if (s->job != NULL)
		s->job->priv = NULL;
	buf_clear(&s->line);
	free(s->rr);
	free(s->order);
	free(s->chunk);
	free(s->xbuf);
	free(s);
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sess		*s = arg;
	struct smtpc_job	*job = s->job;
	void			(*done)(struct smtpc_job *, void *) = s->done;
	void			*darg = s->arg;
	struct server		*srv = s->srv;

	s->job = NULL;
	job->priv = NULL;
	sess_free(s);
	server_idle(srv);
	done(job, darg);
}

/* All results are final: close, release the destination slot, call done() from the loop. */
static void
sess_finish(struct sess *s)
{
	struct smtpc_job *job = s->job;

	if (s->state == SC_DONE)
		return;
	fail_pending(s, SMTPC_DEFERRED, 0, s->last_dsn[0] ? s->last_dsn : "4.4.1",
	    s->last_text[0] ? s->last_text : "delivery temporarily failed");
	if (s->bev != NULL && s->tls_on)
		tls_describe_short(s->bev, job->tls, sizeof(job->tls));
	conn_close(s);
	route_query_cancel(&s->rq);
	set_state(s, SC_DONE);
	job->end_us = now_us();
	dest_release(s);
	s->ev_done = event_new(s->srv->base, -1, 0, done_cb, s);
	event_active(s->ev_done, EV_TIMEOUT, 0);
}

static void
set_last(struct sess *s, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_last(struct sess *s, const char *dsn, const char *fmt, ...)
{
	va_list ap;

	str_copy(s->last_dsn, dsn, sizeof(s->last_dsn));
	va_start(ap, fmt);
	vsnprintf(s->last_text, sizeof(s->last_text), fmt, ap);
	va_end(ap);
}

/* Give up on this address (before any transaction result) and try the next. */
static void
next_addr(struct sess *s)
{
	size_t i;

	conn_close(s);
	for (i = 0; i < s->job->nrcpt; i++)
		s->job->rcpts[i].status = SMTPC_PENDING;
	s->naccepted = 0;
	s->mail_ok = false;
	s->notls = false;
	s->ai++;
	try_connect(s);
}

/* The connection is gone or unusable. */
static void
conn_failed(struct sess *s, const char *why)
{
	if (s->state <= SC_TLS || (s->state == SC_TRANS && s->replied == 0 && !s->mail_ok)) {
		/* Nothing was decided at this host yet: another may do better. */
		set_last(s, "4.4.2", "%s while %s", why, state_doing[s->state]);
		log_info("smtp qid=%s: %s", s->job->qid ? s->job->qid : "-", s->last_text);
		if (s->state == SC_TLS && !s->notls) {
			/* Opportunistic TLS failed: the same host once more, in plaintext. */
			s->notls = true;
			conn_close(s);
			try_connect(s);
			return;
		}
		s->notls = false;
		next_addr(s);
		return;
	}
	if (s->state == SC_QUIT) {
		sess_finish(s);
		return;
	}
	set_last(s, "4.4.2", "%s while %s", why, state_doing[s->state]);
	sess_finish(s);
}

static void
send_line(struct sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
send_line(struct sess *s, const char *fmt, ...)
{
	struct evbuffer	*out = bufferevent_get_output(s->bev);
	va_list		 ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

static void
try_connect(struct sess *s)
{
	struct route_addr	*a;
	char			 ip[INET6_ADDRSTRLEN];
	uint16_t		 port;

	if (s->rr == NULL || s->ai >= s->rr->naddr) {
		/* Every address failed: the last reason stands.  If none even
		 * talked to us, the destination is dead for a while. */
		if (!s->reached && s->dest != NULL && s->mc->backoff > 0) {
			s->dest->dead_until = time(NULL) + s->mc->backoff;
			str_copy(s->dest->dead_reason, s->last_text, sizeof(s->dest->dead_reason));
		}
		sess_finish(s);
		return;
	}
	a = &s->rr->addrs[s->ai];
	if (a->ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

		evutil_inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		port = ntohs(sin->sin_port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

		evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		port = ntohs(sin6->sin6_port);
	}
	snprintf(s->peer, sizeof(s->peer), "%s[%s]", a->host, ip);
	snprintf(s->job->relay, sizeof(s->job->relay), "%s:%u", s->peer, (unsigned)port);
	str_copy(s->job->tls, "no", sizeof(s->job->tls));
	s->sent = s->replied = 0;
	s->bev = bufferevent_socket_new(s->srv->base, -1,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL) {
		set_last(s, "4.3.0", "cannot create a socket");
		sess_finish(s);
		return;
	}
	bufferevent_setcb(s->bev, sess_read_cb, NULL, sess_event_cb, s);
	bufferevent_set_timeouts(s->bev, &s->mc->connect_tv, &s->mc->connect_tv);
	set_state(s, SC_CONNECT);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&a->ss, (int)a->sslen) < 0) {
		set_last(s, "4.4.1", "connect to %s:%u: %s", s->peer, (unsigned)port,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		log_info("smtp qid=%s: %s", s->job->qid ? s->job->qid : "-", s->last_text);
		s->notls = false;
		next_addr(s);
	}
}

static void
resolve_cb(const struct route_result *rr, void *arg)
{
	struct sess *s = arg;

	s->rq = NULL;
	if (rr->status != ROUTE_R_OK) {
		fail_pending(s, rr->status == ROUTE_R_PERMFAIL ? SMTPC_BOUNCED : SMTPC_DEFERRED, 0,
		    rr->dsn, rr->text);
		str_copy(s->job->relay, "none", sizeof(s->job->relay));
		set_last(s, rr->dsn, "%s", rr->text);
		sess_finish(s);
		return;
	}
	s->rr = xmemdup(rr, sizeof(*rr));
	s->ai = 0;
	try_connect(s);
}

static void
sess_run(struct sess *s)
{
	time_t now = time(NULL);

	if (s->dest->dead_until > now) {
		set_last(s, "4.4.1", "delivery temporarily suspended: %s", s->dest->dead_reason);
		str_copy(s->job->relay, "none", sizeof(s->job->relay));
		sess_finish(s);
		return;
	}
	s->dest->active++;
	s->counted = true;
	set_state(s, SC_RESOLVE);
	s->rq = route_resolve(s->mc->res, &s->job->hop, resolve_cb, s);
}

/* A job ends: free its slot and start the next waiting job of the destination. */
static void
dest_release(struct sess *s)
{
	struct dest	*d = s->dest, **dp;
	struct sess	**wp, *w;

	if (d == NULL)
		return;
	s->dest = NULL;
	if (s->queued) {
		for (wp = &d->wait_head; *wp != NULL; wp = &(*wp)->wnext)
			if (*wp == s) {
				*wp = s->wnext;
				break;
			}
		d->wait_tail = &d->wait_head;
		for (w = d->wait_head; w != NULL; w = w->wnext)
			d->wait_tail = &w->wnext;
		s->queued = false;
	}
	if (s->counted) {
		d->active--;
		s->counted = false;
	}
	while (!s->mc->stopping && d->active < s->mc->limit && (w = d->wait_head) != NULL) {
		d->wait_head = w->wnext;
		if (d->wait_head == NULL)
			d->wait_tail = &d->wait_head;
		w->queued = false;
		if (d->dead_until > time(NULL)) {
			/* Finish without re-entering here (no recursion per waiter). */
			w->dest = NULL;
			set_last(w, "4.4.1", "delivery temporarily suspended: %s", d->dead_reason);
			sess_finish(w);
			continue;
		}
		sess_run(w);
	}
	if (d->active == 0 && d->wait_head == NULL && d->dead_until <= time(NULL)) {
		for (dp = &s->mc->dests; *dp != NULL; dp = &(*dp)->next)
			if (*dp == d) {
				*dp = d->next;
				break;
			}
		free(d);
	}
}

void
smtpc_send(struct server *srv, struct smtpc_job *job,
    void (*done)(struct smtpc_job *job, void *arg), void *arg)
{
	struct smtpc	*mc = srv->smtpc;
	struct sess	*s = xcalloc(1, sizeof(*s));
	struct dest	*d;
	size_t		 i;
	char		 key[ROUTE_KEY_MAX];

	s->mc = mc != NULL && mc->res != NULL ? mc : NULL;
	s->srv = srv;
	s->job = job;
	s->done = done;
	s->arg = arg;
	buf_init(&s->line, SMTPC_LINE_MAX + 2);
	job->priv = s;
	job->start_us = now_us();
	job->end_us = 0;
	job->peer_dsn = false;
	str_copy(job->relay, "none", sizeof(job->relay));
	str_copy(job->tls, "no", sizeof(job->tls));
	for (i = 0; i < job->nrcpt; i++) {
		struct smtpc_rcpt *r = &job->rcpts[i];

		r->status = SMTPC_PENDING;
		r->code = 0;
		r->dsn[0] = r->text[0] = r->diag[0] = '\0';
		r->remote = false;
	}
	server_busy(srv);
	if (s->mc == NULL) {
		set_last(s, "4.3.2", "smtp client not initialised");
		sess_finish(s);
		return;
	}
	s->next = mc->sessions;
	if (s->next != NULL)
		s->next->prevp = &s->next;
	s->prevp = &mc->sessions;
	mc->sessions = s;
	if (mc->stopping || job->nrcpt == 0) {
		set_last(s, "4.3.2", "delivery aborted: shutting down");
		sess_finish(s);
		return;
	}
	if (job->key[0] != '\0')
		str_copy(key, job->key, sizeof(key));
	else
		route_hop_key(&job->hop, key, sizeof(key));
	for (d = s->mc->dests; d != NULL; d = d->next)
		if (strcmp(d->key, key) == 0)
			break;
	if (d == NULL) {
		d = xcalloc(1, sizeof(*d));
		str_copy(d->key, key, sizeof(d->key));
		d->wait_tail = &d->wait_head;
		d->next = s->mc->dests;
		s->mc->dests = d;
	}
	s->dest = d;
	if (d->active >= s->mc->limit && d->dead_until <= time(NULL)) {
		s->queued = true;
		*d->wait_tail = s;
		d->wait_tail = &s->wnext;
		return;
	}
	sess_run(s);
}

void
smtpc_cancel(struct smtpc_job *job)
{
	struct sess *s = job->priv;

	if (s == NULL)
		return;
	server_idle(s->srv);
	s->job = NULL;
	job->priv = NULL;
	sess_free(s);
}

/* ---- replies ---- */

/* Enhanced status code at the start of text ("5.1.1 ..."), class must match code. */
static bool
get_enhanced(const char *t, int code, char out[12])
{
	size_t	 i = 0, n;
	int	 part;

	if (t[0] != '0' + code / 100 || t[1] != '.')
		return false;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; t[i] >= '0' && t[i] <= '9' && n < 3; i++, n++)
			;
		if (n == 0 || (part == 0 && t[i] != '.'))
			return false;
		if (part == 0)
			i++;
	}
	if (t[i] != ' ' && t[i] != '\0')
		return false;
	if (i >= 12)
		return false;
	memcpy(out, t, i);
	out[i] = '\0';
	return true;
}

static void
reply_dsn(int code, const char *text, char out[12])
{
	if (!get_enhanced(text, code, out))
		snprintf(out, 12, "%d.0.0", (code / 100) % 10);
}

static void
rcpt_result(struct sess *s, struct smtpc_rcpt *r, int code, const char *text, const char *cmd)
{
	r->code = code;
	r->remote = true;
	r->status = code / 100 == 2 ? SMTPC_DELIVERED : code / 100 == 5 ? SMTPC_BOUNCED :
	    SMTPC_DEFERRED;
	reply_dsn(code, text, r->dsn);
	snprintf(r->diag, sizeof(r->diag), "%d %s", code, text);
	if (code / 100 == 2)
		snprintf(r->text, sizeof(r->text), "%d %s", code, text);
	else
		snprintf(r->text, sizeof(r->text), "host %s said: %d %s (in reply to %s command)",
		    s->peer, code, text, cmd);
}

static void
ehlo_cap(struct sess *s, const char *kw, size_t len)
{
	size_t	 n;

	for (n = 0; n < len && kw[n] != ' ' && kw[n] != '='; n++)
		;
	if (str_ieq(kw, n, "PIPELINING"))
		s->pipelining = true;
	else if (str_ieq(kw, n, "STARTTLS"))
		s->starttls = true;
	else if (str_ieq(kw, n, "DSN"))
		s->dsn = true;
	else if (str_ieq(kw, n, "8BITMIME"))
		s->eightbit = true;
	else if (str_ieq(kw, n, "SMTPUTF8"))
		s->utf8 = true;
}

static bool
ascii(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return false;
	return true;
}

static const char *
notify_param(unsigned n, char *b, size_t sz)
{
	if (n == 0)
		return "";
	if (n & SPOOL_NOTIFY_NEVER) {
		str_copy(b, " NOTIFY=NEVER", sz);
		return b;
	}
	snprintf(b, sz, " NOTIFY=%s%s%s%s%s",
	    n & SPOOL_NOTIFY_SUCCESS ? "SUCCESS" : "",
	    (n & SPOOL_NOTIFY_SUCCESS) && (n & (SPOOL_NOTIFY_FAILURE | SPOOL_NOTIFY_DELAY)) ? "," : "",
	    n & SPOOL_NOTIFY_FAILURE ? "FAILURE" : "",
	    (n & SPOOL_NOTIFY_FAILURE) && (n & SPOOL_NOTIFY_DELAY) ? "," : "",
	    n & SPOOL_NOTIFY_DELAY ? "DELAY" : "");
	return b;
}

/* Send transaction step k (0 = MAIL, 1..nsend = RCPT, nsend+1 = DATA). */
static void
send_step(struct sess *s, size_t k)
{
	struct smtpc_job *job = s->job;
	char		  nb[64];

	if (k == 0) {
		send_line(s, "MAIL FROM:<%s> SIZE=%lld%s%s%s%s%s%s", job->sender,
		    (long long)job->len,
		    job->body != SPOOL_BODY_7BIT && s->eightbit ? " BODY=8BITMIME" : "",
		    job->smtputf8 && s->utf8 ? " SMTPUTF8" : "",
		    s->dsn && job->ret == SPOOL_RET_FULL ? " RET=FULL" : "",
		    s->dsn && job->ret == SPOOL_RET_HDRS ? " RET=HDRS" : "",
		    s->dsn && job->envid != NULL ? " ENVID=" : "",
		    s->dsn && job->envid != NULL ? job->envid : "");
	} else if (k <= s->nsend) {
		struct smtpc_rcpt *r = &job->rcpts[s->order[k - 1]];

		send_line(s, "RCPT TO:<%s>%s%s%s", r->addr,
		    s->dsn ? notify_param(r->notify, nb, sizeof(nb)) : "",
		    s->dsn && r->orcpt != NULL ? " ORCPT=" : "",
		    s->dsn && r->orcpt != NULL ? r->orcpt : "");
	} else
		send_line(s, "DATA");
	s->sent = k + 1;
}

static void
start_trans(struct sess *s)
{
	struct smtpc_job	*job = s->job;
	size_t			 i;
	bool			 need_utf8 = false;

	job->peer_dsn = s->dsn;
	if (s->tls_on)
		tls_describe_short(s->bev, job->tls, sizeof(job->tls));
	/* RFC 6531 3.4: non-ASCII addresses need a SMTPUTF8 peer. */
	if (job->smtputf8 && !s->utf8 && !ascii(job->sender))
		need_utf8 = true;
	free(s->order);
	s->order = xreallocarray(NULL, job->nrcpt, sizeof(*s->order));
	s->nsend = 0;
	for (i = 0; i < job->nrcpt; i++) {
		struct smtpc_rcpt *r = &job->rcpts[i];

		if (need_utf8 || (job->smtputf8 && !s->utf8 && !ascii(r->addr))) {
			r->status = SMTPC_BOUNCED;
			r->code = 0;
			r->remote = false;
			str_copy(r->dsn, "5.6.7", sizeof(r->dsn));
			snprintf(r->text, sizeof(r->text), "SMTPUTF8 is required, but was not"
			    " offered by host %s", s->peer);
			continue;
		}
		s->order[s->nsend++] = i;
	}
	if (s->nsend == 0) {
		send_line(s, "QUIT");
		set_state(s, SC_QUIT);
		return;
	}
	s->mail_ok = false;
	s->naccepted = 0;
	s->sent = s->replied = 0;
	set_state(s, SC_TRANS);
	if (s->pipelining) {
		/* RFC 2920: MAIL, every RCPT and DATA in one go; replies come in order. */
		for (i = 0; i <= s->nsend + 1; i++)
			send_step(s, i);
	} else
		send_step(s, 0);
}

static void
send_ehlo(struct sess *s)
{
	s->esmtp = s->pipelining = s->starttls = s->dsn = s->eightbit = s->utf8 = false;
	send_line(s, "EHLO %s", s->mc->helo);
	set_state(s, SC_EHLO);
}

static void
after_ehlo(struct sess *s)
{
	if (s->starttls && !s->tls_on && !s->notls && s->mc->tls != NULL) {
		send_line(s, "STARTTLS");
		set_state(s, SC_STARTTLS);
		return;
	}
	start_trans(s);
}

/* The transaction reply for step s->replied. */
static void
trans_reply(struct sess *s, int code, const char *text)
{
	struct smtpc_job	*job = s->job;
	size_t			 k = s->replied++;
	size_t			 i;

	if (k == 0) {
		s->mail_ok = code / 100 == 2;
		s->mail_code = code;
		str_copy(s->mail_reply, text, sizeof(s->mail_reply));
		if (!s->mail_ok && code / 100 == 4 && s->ai + 1 < s->rr->naddr) {
			/* A temporary MAIL failure: another MX may take it. */
			set_last(s, "4.0.0", "host %s said: %d %s (in reply to MAIL FROM command)",
			    s->peer, code, text);
			if (s->pipelining) {
				/* The RCPT/DATA replies are on their way; do not wait. */
			}
			s->replied = 0;
			s->mail_ok = false;
			s->notls = false;
			next_addr(s);
			return;
		}
		if (!s->mail_ok) {
			for (i = 0; i < s->nsend; i++)
				rcpt_result(s, &job->rcpts[s->order[i]], code, text, "MAIL FROM");
		}
	} else if (k <= s->nsend) {
		struct smtpc_rcpt *r = &job->rcpts[s->order[k - 1]];

		if (s->mail_ok) {
			if (code / 100 == 2)
				s->naccepted++;
			else
				rcpt_result(s, r, code, text, "RCPT TO");
		}
	} else {
		/* DATA */
		if (code == 354 && s->mail_ok && s->naccepted > 0) {
			s->pos = 0;
			s->bol = true;
			s->cr = false;
			set_state(s, SC_BODY);
			/* No reply is due while we stream: no read timeout. */
			bufferevent_set_timeouts(s->bev, NULL, &s->mc->reply_tv);
			bufferevent_setwatermark(s->bev, EV_WRITE, BODY_CHUNK, 0);
			bufferevent_setcb(s->bev, sess_read_cb, sess_write_cb, sess_event_cb, s);
			body_fill(s);
			return;
		}
		if (code == 354) {
			/* Nobody to deliver to but the peer wants data: end it empty. */
			send_line(s, ".");
			set_state(s, SC_DOT);
			s->naccepted = 0;
			return;
		}
		if (s->mail_ok && code / 100 != 3)
			for (i = 0; i < s->nsend; i++) {
				struct smtpc_rcpt *r = &job->rcpts[s->order[i]];

				if (r->status == SMTPC_PENDING)
					rcpt_result(s, r, code, text, "DATA");
			}
		send_line(s, "QUIT");
		set_state(s, SC_QUIT);
		return;
	}
	if (!s->pipelining) {
		if (k == 0 && !s->mail_ok) {
			send_line(s, "QUIT");
			set_state(s, SC_QUIT);
			return;
		}
		if (k == s->nsend && s->naccepted == 0) {
			send_line(s, "QUIT");
			set_state(s, SC_QUIT);
			return;
		}
		send_step(s, k + 1);
	}
}

static void
dot_reply(struct sess *s, int code, const char *text)
{
	size_t i;

	for (i = 0; i < s->nsend && s->naccepted > 0; i++) {
		struct smtpc_rcpt *r = &s->job->rcpts[s->order[i]];

		if (r->status == SMTPC_PENDING)
			rcpt_result(s, r, code, text, "end of DATA");
	}
	send_line(s, "QUIT");
	set_state(s, SC_QUIT);
	{
		struct timeval tv = { QUIT_WAIT, 0 };

		bufferevent_set_timeouts(s->bev, &tv, &tv);
	}
}

static void
start_tls(struct sess *s)
{
	struct bufferevent *tls;

	/* Anything the server sent after its 220 arrived in plaintext and
	 * must never count as coming over TLS. */
	evbuffer_drain(bufferevent_get_input(s->bev),
	    evbuffer_get_length(bufferevent_get_input(s->bev)));
	tls = tls_wrap_client(s->mc->tls, s->srv->base, s->bev, -1, s->rr->addrs[s->ai].host);
	if (tls == NULL) {
		set_last(s, "4.7.0", "cannot start TLS with %s", s->peer);
		conn_failed(s, "TLS setup failed");
		return;
	}
	s->bev = tls;
	s->gen++;
	s->tls_on = true;
	set_state(s, SC_TLS);
	bufferevent_setcb(tls, sess_read_cb, NULL, sess_event_cb, s);
	bufferevent_set_timeouts(tls, &s->mc->connect_tv, &s->mc->connect_tv);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
}

/* One complete reply. */
static void
on_reply(struct sess *s, int code, const char *text)
{
	switch (s->state) {
	case SC_GREET:
		if (code / 100 != 2) {
			s->reached = true;
			set_last(s, code / 100 == 5 ? "5.0.0" : "4.0.0",
			    "host %s refused to talk to me: %d %s", s->peer, code, text);
			log_info("smtp qid=%s: %s", s->job->qid ? s->job->qid : "-", s->last_text);
			/* Even a 5xx greeting: the next MX may be fine (RFC 5321 3.1
			 * says try later); the message defers if all say no. */
			str_copy(s->last_dsn, "4.0.0", sizeof(s->last_dsn));
			s->notls = false;
			next_addr(s);
			return;
		}
		s->reached = true;
		send_ehlo(s);
		break;
	case SC_EHLO:
		if (code / 100 == 2) {
			s->esmtp = true;
			after_ehlo(s);
		} else {
			send_line(s, "HELO %s", s->mc->helo);
			set_state(s, SC_HELO);
		}
		break;
	case SC_HELO:
		if (code / 100 != 2) {
			set_last(s, "4.0.0", "host %s refused to talk to me: %d %s (in reply to"
			    " HELO command)", s->peer, code, text);
			s->notls = false;
			next_addr(s);
			return;
		}
		start_trans(s);
		break;
	case SC_STARTTLS:
		if (code == 220) {
			start_tls(s);
			return;
		}
		/* STARTTLS refused: carry on in plaintext (opportunistic). */
		start_trans(s);
		break;
	case SC_TRANS:
		trans_reply(s, code, text);
		break;
	case SC_DOT:
		dot_reply(s, code, text);
		break;
	case SC_QUIT:
		sess_finish(s);
		break;
	default:
		conn_failed(s, "unexpected reply");
		break;
	}
}

/* Parse buffered reply lines until the session moves to another bufferevent or ends. */
static void
sess_read_cb(struct bufferevent *bev, void *arg)
{
	struct sess	*s = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	int		 r, code;
	const char	*l;
	char		 esc[SMTPC_LINE_MAX + 8];
	size_t		 rl;
	unsigned	 gen = s->gen;

	while (s->gen == gen && s->state != SC_DONE && s->state != SC_BODY) {
		r = conn_readline(in, SMTPC_LINE_MAX, &s->line);
		if (r == 0)
			return;
		if (r < 0) {
			conn_failed(s, "reply line too long");
			return;
		}
		l = s->line.data;
		if (s->line.len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
		    l[2] < '0' || l[2] > '9' || (s->line.len > 3 && l[3] != ' ' && l[3] != '-')) {
			conn_failed(s, "malformed reply");
			return;
		}
		code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		if (s->nlines == 0) {
			s->code = code;
			s->reply[0] = '\0';
		} else if (code != s->code) {
			conn_failed(s, "malformed multi-line reply");
			return;
		}
		if (++s->nlines > SMTPC_REPLY_LINES) {
			conn_failed(s, "reply has too many lines");
			return;
		}
		if (s->state == SC_EHLO && s->nlines > 1 && s->line.len > 4)
			ehlo_cap(s, l + 4, s->line.len - 4);
		log_escape(esc, sizeof(esc), l + (s->line.len > 4 ? 4 : s->line.len),
		    s->line.len > 4 ? s->line.len - 4 : 0);
		rl = strlen(s->reply);
		/* Joined with spaces, cut at SMTPC_TEXT_MAX (the first lines matter most). */
		if (rl > 0 && rl + 2 < sizeof(s->reply))
			s->reply[rl++] = ' ';
		if (rl + 1 < sizeof(s->reply))
			str_copy(s->reply + rl, esc, sizeof(s->reply) - rl);
		if (s->line.len > 3 && l[3] == '-')
			continue;
		s->nlines = 0;
		on_reply(s, s->code, s->reply);
	}
}

static void
sess_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sess	*s = arg;
	char		 why[SMTPC_TEXT_MAX], tlserr[128];
	int		 err = EVUTIL_SOCKET_ERROR();

	if (bev != s->bev)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->state == SC_CONNECT) {
			set_state(s, SC_GREET);
			bufferevent_set_timeouts(bev, &s->mc->reply_tv, &s->mc->reply_tv);
		} else if (s->state == SC_TLS) {
			bufferevent_set_timeouts(bev, &s->mc->reply_tv, &s->mc->reply_tv);
			send_ehlo(s);
		}
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->state == SC_CONNECT)
			snprintf(why, sizeof(why), "connect to %s: Connection timed out", s->peer);
		else
			snprintf(why, sizeof(why), "conversation with %s timed out", s->peer);
		conn_failed(s, why);
		return;
	}
	if (s->state == SC_CONNECT) {
		set_last(s, "4.4.1", "connect to %s: %s", s->job->relay,
		    evutil_socket_error_to_string(err));
		log_info("smtp qid=%s: %s", s->job->qid ? s->job->qid : "-", s->last_text);
		s->notls = false;
		next_addr(s);
		return;
	}
	if (s->state == SC_TLS) {
		tls_last_error(bev, tlserr, sizeof(tlserr));
		snprintf(why, sizeof(why), "TLS handshake with %s failed: %s", s->peer, tlserr);
		conn_failed(s, why);
		return;
	}
	snprintf(why, sizeof(why), "lost connection with %s", s->peer);
	conn_failed(s, why);
}

/* ---- the body ---- */

/*
 * Copy n spool bytes into x, normalising line ends to CRLF and doubling a
 * "." at the start of a line (RFC 5321 4.5.2).  x has room for 2n bytes.
 */
static size_t
body_transform(struct sess *s, const char *p, size_t n, char *x)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c == '\n') {
			if (!s->cr)
				x[o++] = '\r';
			x[o++] = '\n';
			s->bol = true;
			s->cr = false;
			continue;
		}
		if (s->cr) {
			/* A bare CR: make it a line end (as the server's decoder does). */
			x[o++] = '\n';
			s->bol = true;
		}
		if (c == '.' && s->bol)
			x[o++] = '.';
		x[o++] = c;
		s->cr = c == '\r';
		s->bol = false;
	}
	return o;
}

static void
body_fill(struct sess *s)
{
	struct evbuffer	*out = bufferevent_get_output(s->bev);
	ssize_t		 n;
	size_t		 want, o;

	if (s->chunk == NULL) {
		s->chunk = xmalloc(BODY_CHUNK);
		s->xbuf = xmalloc(2 * BODY_CHUNK + 4);
	}
	while (s->state == SC_BODY && evbuffer_get_length(out) < OUT_HIGH) {
		if (s->pos >= s->job->len && fs_fd_unlinked(s->job->fd)) {
			/* `queue delete` during the transfer: hang up without the
			 * final dot, so the peer discards what it got. */
			set_last(s, "4.3.0", "queue file deleted during delivery");
			log_info("smtp qid=%s: %s: not ending the DATA", s->job->qid ? s->job->qid : "-",
			    s->last_text);
			sess_finish(s);
			return;
		}
		if (s->pos >= s->job->len) {
			o = 0;
			if (s->cr)
				s->xbuf[o++] = '\n';
			else if (!s->bol) {
				s->xbuf[o++] = '\r';
				s->xbuf[o++] = '\n';
			}
			memcpy(s->xbuf + o, ".\r\n", 3);
			evbuffer_add(out, s->xbuf, o + 3);
			set_state(s, SC_DOT);
			bufferevent_setcb(s->bev, sess_read_cb, NULL, sess_event_cb, s);
			bufferevent_set_timeouts(s->bev, &s->mc->reply_tv, &s->mc->reply_tv);
			return;
		}
		want = (size_t)(s->job->len - s->pos) < BODY_CHUNK ?
		    (size_t)(s->job->len - s->pos) : BODY_CHUNK;
		/* A pread of a local, usually cached file: short enough for the loop. */
		n = pread(s->job->fd, s->chunk, want, s->job->offset + s->pos);
		if (n <= 0) {
			set_last(s, "4.3.0", "error reading the queue file: %s",
			    n < 0 ? strerror(errno) : "unexpected end of file");
			log_warnx("smtp qid=%s: %s", s->job->qid ? s->job->qid : "-", s->last_text);
			/* Never let the peer accept a truncated message: hang up. */
			sess_finish(s);
			return;
		}
		s->pos += n;
		o = body_transform(s, s->chunk, (size_t)n, s->xbuf);
		evbuffer_add(out, s->xbuf, o);
	}
}

static void
sess_write_cb(struct bufferevent *bev, void *arg)
{
	struct sess *s = arg;

	if (bev == s->bev && s->state == SC_BODY)
		body_fill(s);
}

/* ---- logging ---- */

void
smtpc_reason(const struct smtpc_rcpt *r, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s %s", r->dsn[0] ? r->dsn : "4.0.0", r->text);
}

void
smtpc_log(const struct smtpc_job *job, size_t i)
{
	const struct smtpc_rcpt	*r = &job->rcpts[i];
	char			 to[300];
	double			 delay = 0;
	int64_t			 end = job->end_us ? job->end_us : now_us();

	if (job->arrival_us > 0 && end > job->arrival_us)
		delay = (double)(end - job->arrival_us) / 1e6;
	log_escape(to, sizeof(to), r->addr, strlen(r->addr));
	log_info("smtp qid=%s: to=<%s> relay=%s delay=%.2f tls=%s dsn=%s status=%s (%s)",
	    job->qid ? job->qid : "-", to, job->relay, delay, job->tls,
	    r->dsn[0] ? r->dsn : "4.0.0", smtpc_status_name(r->status), r->text);
}
