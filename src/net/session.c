/*
 * The session core's life cycle: accept (limits before any TLS work, socket
 * options), implicit TLS and STARTTLS (RFC 3207 §4.2 / RFC 2595 injection
 * check), the handshake / login / idle timeouts, the one close path
 * (drain, close_notify through net/tls.h, deferred free with event_active)
 * and the job handles that outlive a session.  Input and output are in
 * session_io.c, the registry in session_registry.c.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/xmalloc.h"
#include "net/listen.h"
#include "net/server.h"
#include "net/session.h"
#include "net/session_int.h"
#include "net/tls.h"

#define SESSION_MAX_WRITE	(64 * 1024)	/* bytes per write(2) (session_bev_setup) */

static const char *const refusal_names[] = {
	"shutting-down", "service-connection-limit", "client-connection-limit", "fd-limit",
};

static struct timeval
ms_tv(unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	return tv;
}

void
session_ended(struct session *s, const char *reason)
{
	if (s->closing)
		return;
	if (s->proto->ended != NULL)
		s->proto->ended(s, reason);
}

/*
 * The timeval to arm a session timer with: one of libevent's common
 * timeouts when it can, so the thousands of sessions that share a duration
 * sit in one queue (O(1) to re-arm on every read) instead of the timer heap.
 * The result is copied by event_add()/bufferevent_set_timeouts().
 */
static struct timeval
session_tv(struct session *s, unsigned ms)
{
	struct timeval		 tv = ms_tv(ms);
	const struct timeval	*common;

	if (ms == 0)		/* no timeout: a cleared timeval, not a common one */
		return tv;
	common = event_base_init_common_timeout(s->srv->base, &tv);
	return common != NULL ? *common : tv;
}

/* Read and write timeouts for the current phase. */
static void
set_timeouts(struct session *s)
{
	struct timeval tv;

	if (s->bev == NULL)
		return;
	tv = session_tv(s, s->handshaking ? s->lim.handshake_ms : s->lim.idle_ms);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

void
session_set_idle(struct session *s, unsigned ms)
{
	s->lim.idle_ms = ms;
	if (!s->handshaking && !s->closing)
		set_timeouts(s);
}

void
session_authenticated(struct session *s)
{
	evtimer_del(s->ev_login);
}

bool
session_tls(const struct session *s)
{
	return s->bev != NULL && tls_active(s->bev);
}

int
session_tls_min_version(struct session *s, int minor)
{
	return s->bev != NULL ? tls_server_min_version(s->bev, minor) : -1;
}

void
session_tls_short(const struct session *s, char *buf, size_t sz)
{
	if (s->bev != NULL)
		tls_describe_short(s->bev, buf, sz);
	else if (sz > 0)
		snprintf(buf, sz, "no");
}

void
session_tls_describe(const struct session *s, char *buf, size_t sz)
{
	if (s->bev != NULL)
		tls_describe(s->bev, buf, sz);
	else if (sz > 0)
		buf[0] = '\0';
}

bool
session_closing(const struct session *s)
{
	return s->closing;
}

bool
session_gone(const struct session *s)
{
	return s->bev == NULL;
}

/* ---- closing and freeing ------------------------------------------- */

void
session_free_now(struct session *s)
{
	struct session_job *j;

	session_reg_remove(s);
	/* Jobs still running find out through session_job_end(). */
	while ((j = s->jobs) != NULL) {
		s->jobs = j->next;
		j->s = NULL;
		j->prev = j->next = NULL;
	}
	tls_close_cancel(&s->tls_close);
	session_z_free(s);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	s->bev = NULL;
	if (s->proto->free != NULL)
		s->proto->free(s);
	event_free(s->ev_free);
	event_free(s->ev_login);
	event_free(s->ev_delay);
	session_wipe_line(s);
	buf_clear(&s->line);
	free(s);
}

static void
tls_closed_cb(void *arg)
{
	struct session *s = arg;

	s->tls_close = NULL;
	session_free_now(s);
}

/*
 * The deferred free: the output has drained into the socket (or the peer
 * is gone).  TLS still needs its close_notify after the last record.
 */
static void
free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session		*s = arg;
	struct bufferevent	*bev = s->bev;

	if (bev != NULL && !s->handshaking) {
		/* A reply written after session_close() still gets out. */
		session_z_flush(s);
		s->bev = NULL;
		if ((s->tls_close = tls_close_gracefully(bev, s->srv->base, tls_closed_cb, s)) != NULL)
			return;
	}
	session_free_now(s);
}

void
session_close(struct session *s)
{
	if (s->closing)
		return;
	s->closing = true;
	s->watch_drain = false;
	evtimer_del(s->ev_login);
	evtimer_del(s->ev_delay);
	if (s->bev != NULL) {
		bufferevent_disable(s->bev, EV_READ);
		session_z_flush(s);	/* the last reply may still sit in the compressor */
		session_update_write_mark(s);
	}
	/* Otherwise session_write_cb() schedules the free once the output is out. */
	if (s->bev == NULL || session_output_len(s) == 0)
		event_active(s->ev_free, EV_TIMEOUT, 0);
}

/* ---- events -------------------------------------------------------- */

static void
login_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	if (s->closing)
		return;
	session_ended(s, "login-timeout");
	if (!s->handshaking && s->proto->timeout != NULL)
		s->proto->timeout(s, SESSION_T_LOGIN);
	session_close(s);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session	*s = arg;
	char		 err[256];

	if (what & BEV_EVENT_CONNECTED) {
		/* The TLS handshake finished (implicit TLS or after STARTTLS). */
		s->handshaking = false;
		set_timeouts(s);
		if (!s->started) {
			s->started = true;
			s->proto->start(s);
		} else if (s->proto->tls_done != NULL)
			s->proto->tls_done(s);
		session_process(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->closing) {
			/* The client stopped reading our last reply. */
			bufferevent_free(s->bev);
			s->bev = NULL;
			event_active(s->ev_free, EV_TIMEOUT, 0);
			return;
		}
		session_ended(s, s->handshaking ? "tls-handshake-timeout" : "timeout");
		if (!s->handshaking && s->proto->timeout != NULL) {
			s->proto->timeout(s, SESSION_T_IDLE);
			/* The timeout disabled the bufferevent; the reply needs writing. */
			bufferevent_enable(s->bev, EV_WRITE);
		}
		session_close(s);
		return;
	}
	if ((what & BEV_EVENT_ERROR) && s->handshaking) {
		tls_last_error(s->bev, err, sizeof(err));
		log_info("%s sid=%s: TLS handshake failed: %s", s->proto->name, s->sid, err);
	}
	/* EOF or error: the peer is gone; nothing more can be sent. */
	session_ended(s, (what & BEV_EVENT_EOF) ? "eof" : s->handshaking ?
	    "tls-handshake-failed" : "io-error");
	bufferevent_free(s->bev);
	s->bev = NULL;
	s->closing = true;
	evtimer_del(s->ev_login);
	evtimer_del(s->ev_delay);
	event_active(s->ev_free, EV_TIMEOUT, 0);
}

void
session_bev_setup(struct session *s)
{
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb, event_cb, s);
	if (s->proto->in_max > 0)
		bufferevent_setwatermark(s->bev, EV_READ, 0, s->proto->in_max);
	/*
	 * libevent writes 16 KiB per loop turn by default; 64 KiB keeps a
	 * streamed FETCH or RETR going with few syscalls.  Not out_high
	 * (256 KiB) in one go: on loopback such writes made the reader do more
	 * of the TCP receive work (a 10k FETCH BODY.PEEK[] cost Python's
	 * imaplib 0.61-0.69 s of CPU against letterbox, 0.50 s against
	 * Dovecot; with 64 KiB, 0.46-0.63 s, the same as Dovecot's in each run).
	 */
	if (s->proto->out_high > 0)
		bufferevent_set_max_single_write(s->bev,
		    s->proto->out_high < SESSION_MAX_WRITE ? s->proto->out_high : SESSION_MAX_WRITE);
	set_timeouts(s);
	session_update_write_mark(s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

int
session_starttls(struct session *s)
{
	struct bufferevent *tls;

	/* TLS goes under compression, never over it (RFC 4978 §4). */
	if (s->z != NULL) {
		log_warnx("%s sid=%s: STARTTLS after compression", s->proto->name, s->sid);
		session_close(s);
		return -1;
	}
	if (tls_starttls_injection(s->bev)) {
		log_info("%s sid=%s: plaintext pipelined after %s, closing", s->proto->name,
		    s->sid, s->proto->starttls_verb != NULL ? s->proto->starttls_verb : "STARTTLS");
		session_ended(s, "starttls-injection");
		session_close(s);
		return -1;
	}
	if (s->srv->tls == NULL ||
	    (tls = tls_wrap_server(s->srv->tls, s->srv->base, s->bev, -1)) == NULL) {
		log_warnx("%s sid=%s: cannot start TLS", s->proto->name, s->sid);
		session_close(s);
		return -1;
	}
	s->bev = tls;
	s->handshaking = true;
	/* The filter moves records into the plain bufferevent only below this,
	 * so the output backpressure reaches the socket. */
	if (s->proto->out_high > 0)
		bufferevent_setwatermark(bufferevent_get_underlying(tls), EV_WRITE, 0,
		    s->proto->out_high);
	session_bev_setup(s);
	return 0;
}

/* ---- accept -------------------------------------------------------- */

static void
refuse(struct server *srv, const struct service *svc, const struct session_proto *proto,
    evutil_socket_t fd, const char *sid, const char *addr, const char *port, int why)
{
	const char *msg = proto->refuse[why];

	if (msg == NULL && why == SESSION_R_FDS)
		msg = proto->refuse[SESSION_R_SERVICE];

	log_info("%s sid=%s: connect addr=%s:%s service=%s refused reason=%s", proto->name, sid,
	    addr, port, svc->name, refusal_names[why]);
	/* Best effort, non-blocking; a TLS client just sees the close. */
	if (!svc->implicit_tls && msg != NULL)
		(void)!send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
	evutil_closesocket(fd);
}

struct session *
session_accept(struct server *srv, const struct service *svc, const struct session_proto *proto,
    const struct session_limits *lim, evutil_socket_t fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct session	*s = xcalloc(1, sizeof(*s));
	int		 why;

	s->srv = srv;
	s->svc = svc;
	s->proto = proto;
	s->lim = *lim;
	if (s->lim.line_cap < s->lim.line_max)
		s->lim.line_cap = s->lim.line_max;
	conn_new_sid(s->sid);
	memcpy(&s->peer, sa, salen < sizeof(s->peer) ? salen : sizeof(s->peer));
	sockaddr_ntop(sa, s->addr, sizeof(s->addr));
	snprintf(s->port, sizeof(s->port), "%d", sockaddr_port(sa));
	/* Linux hands out the lowest free descriptor, so a high one means few
	 * are left: keep SESSION_FD_RESERVE for the store, the queue and SQL. */
	if (srv->fd_max > SESSION_FD_RESERVE && fd >= (evutil_socket_t)(srv->fd_max -
	    SESSION_FD_RESERVE))
		why = SESSION_R_FDS;
	else
		why = session_reg_check(srv, s);
	if (why >= 0) {
		refuse(srv, svc, proto, fd, s->sid, s->addr, s->port, why);
		free(s);
		return NULL;
	}
	if (svc->implicit_tls) {
		s->bev = srv->tls != NULL ? tls_wrap_server(srv->tls, srv->base, NULL, fd) : NULL;
		s->handshaking = true;
	} else
		s->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE |
		    ((proto->flags & SESSION_F_DEFER_CB) ? BEV_OPT_DEFER_CALLBACKS : 0));
	if (s->bev == NULL) {
		log_warnx("%s sid=%s: cannot set up the connection from %s", proto->name, s->sid,
		    s->addr);
		evutil_closesocket(fd);
		free(s);
		return NULL;
	}
	buf_init(&s->line, s->lim.line_cap + 2);
	s->ev_free = event_new(srv->base, -1, 0, free_cb, s);
	s->ev_login = evtimer_new(srv->base, login_timeout_cb, s);
	s->ev_delay = evtimer_new(srv->base, session_delay_cb, s);
	session_reg_add(srv, s);
	s->ctx = proto->attach(s);
	log_info("%s sid=%s: connect addr=%s:%s service=%s tls=%s", proto->name, s->sid, s->addr,
	    s->port, svc->name, svc->implicit_tls ? "implicit" : "no");
	if (s->lim.login_ms > 0) {
		struct timeval tv = session_tv(s, s->lim.login_ms);

		evtimer_add(s->ev_login, &tv);
	}
	session_bev_setup(s);
	if (!s->handshaking) {
		s->started = true;
		proto->start(s);
	}
	return s;
}

/* ---- jobs ---------------------------------------------------------- */

void
session_job_attach(struct session *s, struct session_job *j)
{
	j->s = s;
	j->prev = NULL;
	j->next = s->jobs;
	if (s->jobs != NULL)
		s->jobs->prev = j;
	s->jobs = j;
}

struct session *
session_job_end(struct session_job *j)
{
	struct session *s = j->s;

	if (s == NULL)
		return NULL;
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		s->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	j->s = NULL;
	j->prev = j->next = NULL;
	return s;
}

void
session_job_submit(struct session *s, struct session_job *j, void (*work)(void *),
    void (*done)(void *), void *arg)
{
	session_job_attach(s, j);
	pool_submit(s->srv->pool, work, done, arg);
}
