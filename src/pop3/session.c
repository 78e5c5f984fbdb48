/*
 * POP3 connections: accept, implicit TLS and STLS (RFC 2595), the bounded
 * line reader, timeouts (TLS handshake, login_timeout as a deadline for
 * AUTHORIZATION, pop3_timeout idle afterwards), orderly close and the
 * session list used at shutdown.  The verbs live in cmd.c.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "auth/login.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "net/listen.h"
#include "net/server.h"
#include "net/tls.h"
#include "pop3/pop3.h"
#include "pop3/session.h"

static struct pop3_session	*sessions;
static struct server		*the_srv;

static void	pop3_read_cb(struct bufferevent *, void *);
static void	pop3_write_cb(struct bufferevent *, void *);
static void	pop3_event_cb(struct bufferevent *, short, void *);
static void	pop3_free(struct pop3_session *s);

static const char *const state_names[] = {
	"TLS", "AUTH", "SASL", "TRANS", "UPDATE", "CLOSING",
};

static struct timeval
secs(int64_t n)
{
	struct timeval tv = { (time_t)n, 0 };

	return tv;
}

void
pop3_set_state(struct pop3_session *s, enum pop3_state st)
{
	if (s->state != st)
		log_debug("pop3d sid=%s: state %s -> %s", s->sid, state_names[s->state],
		    state_names[st]);
	s->state = st;
}

bool
pop3_tls(const struct pop3_session *s)
{
	return tls_active(s->bev);
}

void
pop3_tls_short(struct pop3_session *s, char *buf, size_t sz)
{
	tls_describe_short(s->bev, buf, sz);
}

size_t
pop3_output_len(struct pop3_session *s)
{
	return evbuffer_get_length(bufferevent_get_output(s->bev));
}

void
pop3_write(struct pop3_session *s, const void *p, size_t n)
{
	if (s->bev == NULL)
		return;
	bufferevent_write(s->bev, p, n);
	s->bytes_out += n;
}

/*
 * RETR/TOP output: on plain TCP with nothing queued, send at once.  Going
 * through the bufferevent costs a loop turn and three more system calls
 * per message (epoll_ctl to watch for writability, epoll_wait, epoll_ctl
 * to stop), most of a RETR of a small message.  What the socket does not
 * take (or an error, which libevent then sees itself) is queued as
 * before, behind nothing, so the order of bytes is kept.  Short replies
 * keep using pop3_write(), so LIST's many lines still go out together.
 */
void
pop3_send(struct pop3_session *s, const void *p, size_t n)
{
	ssize_t w = 0;

	if (s->bev == NULL)
		return;
	if (s->direct && n > 0 && pop3_output_len(s) == 0) {
		w = send(bufferevent_getfd(s->bev), p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0)
			w = 0;
	}
	if ((size_t)w < n)
		bufferevent_write(s->bev, (const char *)p + w, n - (size_t)w);
	s->bytes_out += n;
}

void
pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	char	line[600];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	pop3_write(s, line, (size_t)n);
}

/* The idle timeout that fits the state (the login deadline is a separate timer). */
static void
set_timeouts(struct pop3_session *s)
{
	const struct conf	*c = conf_current();
	struct timeval		 tv;

	if (s->handshaking) {
		tv = secs(conf_int(c, "tls_handshake_timeout"));
		bufferevent_set_timeouts(s->bev, &tv, &tv);
	} else if (s->login != NULL) {
		tv = secs(conf_int(c, "pop3_timeout"));
		bufferevent_set_timeouts(s->bev, &tv, &tv);
	} else {
		tv = secs(conf_int(c, "login_timeout"));
		bufferevent_set_timeouts(s->bev, &tv, &tv);
	}
}

static void
tls_closed_cb(void *arg)
{
	struct pop3_session *s = arg;

	s->tls_close = NULL;
	pop3_free(s);
}

static void
free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pop3_session	*s = arg;
	struct timeval		 tv = { 0, 50000 };

	/* A plain session waits (bounded) until its last reply has left. */
	if (s->bev != NULL && !tls_active(s->bev) && s->free_tries < 100 && pop3_output_len(s) > 0) {
		s->free_tries++;
		evtimer_add(s->ev_free, &tv);
		return;
	}
	/* TLS: drain through SSL, send close_notify, then free (net/tls.h). */
	if (s->bev != NULL && tls_active(s->bev) && !s->handshaking) {
		s->tls_close = tls_close_gracefully(s->bev, s->srv->base, tls_closed_cb, s);
		s->bev = NULL;
		if (s->tls_close != NULL)
			return;
	}
	pop3_free(s);
}

/*
 * Stop reading and free the session once the queued output is sent (or
 * at once if the peer is gone: bev == NULL).  Safe from any callback.
 */
void
pop3_close(struct pop3_session *s)
{
	struct timeval tv = { 0, 0 };

	if (s->state == POP3_S_CLOSING)
		return;
	pop3_set_state(s, POP3_S_CLOSING);
	auth_cancel(&s->auth);
	tls_close_cancel(&s->tls_close);
	pop3_stream_stop(s);
	if (s->bev != NULL)
		bufferevent_disable(s->bev, EV_READ);
	if (s->bev == NULL || pop3_output_len(s) == 0)
		evtimer_add(s->ev_free, &tv);
	/* else pop3_write_cb schedules it when the output has drained */
}

static void
log_logout(struct pop3_session *s, const char *why)
{
	if (s->login != NULL)
		log_info("pop3d sid=%s: logout user=%s retr=%u top=%u dele=%u bytes=%llu%s%s", s->sid,
		    s->login, s->nretr, s->ntop, s->ndele, (unsigned long long)s->bytes_out,
		    why ? " reason=" : "", why ? why : "");
	else
		log_info("pop3d sid=%s: disconnect%s%s", s->sid, why ? " reason=" : "", why ? why : "");
}

static void
pop3_free(struct pop3_session *s)
{
	size_t i;

	if (s->prev)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	auth_cancel(&s->auth);
	tls_close_cancel(&s->tls_close);
	pop3_stream_stop(s);
	pop3_maildrop_detach(s);
	pop3_maildrop_release(s);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	event_free(s->ev_login);
	event_free(s->ev_delay);
	event_free(s->ev_free);
	buf_clear(&s->line);
	sasl_clear(&s->sasl);
	free(s->user);
	free(s->tried_user);
	free(s->login);
	for (i = 0; i < s->nmsgs; i++)
		free(s->msgs[i].uidl);
	free(s->msgs);
	free(s);
}

/* login_timeout: AUTHORIZATION took too long (idle or not). */
static void
login_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pop3_session *s = arg;

	if (s->login != NULL || s->state == POP3_S_CLOSING)
		return;
	log_logout(s, "login-timeout");
	if (!s->handshaking)
		pop3_reply(s, "-ERR Disconnected for inactivity.");
	pop3_close(s);
}

static void
start_session(struct pop3_session *s)
{
	struct timeval tv = secs(conf_int(conf_current(), "login_timeout"));

	bufferevent_setcb(s->bev, pop3_read_cb, pop3_write_cb, pop3_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, POP3_IN_MAX);
	set_timeouts(s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	evtimer_add(s->ev_login, &tv);
}

/* Client address as text into s->rip / s->rport. */
static void
set_peer(struct pop3_session *s, const struct sockaddr *sa)
{
	const struct sockaddr_in	*in = (const void *)sa;
	const struct sockaddr_in6	*in6 = (const void *)sa;

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &in->sin_addr, s->rip, sizeof(s->rip));
		snprintf(s->rport, sizeof(s->rport), "%u", ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &in6->sin6_addr, s->rip, sizeof(s->rip));
		snprintf(s->rport, sizeof(s->rport), "%u", ntohs(in6->sin6_port));
	} else {
		snprintf(s->rip, sizeof(s->rip), "unknown");
		snprintf(s->rport, sizeof(s->rport), "0");
	}
}

/*
 * pop3_max_connections / pop3_client_connection_count_limit: refuse
 * before any TLS work.  Returns the reason, or NULL to go on.
 */
static const char *
over_limit(const struct pop3_session *n)
{
	const struct conf		*c = conf_current();
	const struct pop3_session	*s;
	int64_t				 all = 0, same = 0;

	for (s = sessions; s != NULL; s = s->next) {
		all++;
		if (strcmp(s->rip, n->rip) == 0)
			same++;
	}
	if (all >= conf_int(c, "pop3_max_connections"))
		return "max-connections";
	if (same >= conf_int(c, "pop3_client_connection_count_limit"))
		return "client-connection-limit";
	return NULL;
}

void
pop3d_accept(const struct service *svc, evutil_socket_t fd, const struct sockaddr *sa,
    socklen_t salen, void *arg)
{
	static const char	 busy[] = "-ERR [SYS/TEMP] Too many connections, try again later.\r\n";
	struct server		*srv = arg;
	struct pop3_session	*s;
	const char		*why;

	s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->svc = svc;
	s->lock_fd = -1;
	s->stream.fd = -1;
	conn_new_sid(s->sid);
	set_peer(s, sa);
	if ((why = over_limit(s)) != NULL) {
		log_info("pop3d sid=%s: connect addr=%s:%s refused reason=%s", s->sid, s->rip,
		    s->rport, why);
		/* Best effort, non-blocking; a TLS client just sees the close. */
		if (!svc->implicit_tls)
			(void)!write(fd, busy, sizeof(busy) - 1);
		evutil_closesocket(fd);
		free(s);
		return;
	}
	/*
	 * RETR answers are written in pieces (one per loop turn); with Nagle the
	 * last short piece of a message waits for the client's delayed ACK
	 * (40 ms on Linux) while the client waits for the end of the message.
	 */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (svc->implicit_tls) {
		s->bev = srv->tls != NULL ? tls_wrap_server(srv->tls, srv->base, NULL, fd) : NULL;
		s->handshaking = true;
		s->state = POP3_S_TLS;
	} else {
		s->bev = bufferevent_socket_new(srv->base, fd,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		s->state = POP3_S_AUTH;
		s->direct = true;
	}
	if (s->bev == NULL) {
		log_warnx("pop3d sid=%s: cannot set up the connection from %s", s->sid, s->rip);
		evutil_closesocket(fd);
		free(s);
		return;
	}
	/* libevent writes 16 KiB per loop turn by default: a message in one go. */
	bufferevent_set_max_single_write(s->bev, POP3_OUT_HIGH);
	buf_init(&s->line, SASL_RESPONSE_MAX + 2);
	s->ev_login = evtimer_new(srv->base, login_timeout_cb, s);
	s->ev_delay = evtimer_new(srv->base, pop3_delay_cb, s);
	s->ev_free = evtimer_new(srv->base, free_cb, s);
	s->next = sessions;
	if (sessions)
		sessions->prev = s;
	sessions = s;
	log_info("pop3d sid=%s: connect addr=%s:%s service=%s tls=%s", s->sid, s->rip, s->rport,
	    svc->name, svc->implicit_tls ? "implicit" : "no");
	start_session(s);
	if (!s->handshaking)
		pop3_greeting(s);
}

/*
 * STLS step (tls.h recipe): the "+OK" is queued; refuse injected
 * plaintext, wrap, and continue on the TLS bufferevent.  Returns 0, or
 * -1 when the session was closed.
 */
int
pop3_starttls(struct pop3_session *s)
{
	struct bufferevent *tls;

	if (tls_starttls_injection(s->bev)) {
		log_info("pop3d sid=%s: plaintext pipelined after STLS, closing", s->sid);
		pop3_close(s);
		return -1;
	}
	if ((tls = tls_wrap_server(s->srv->tls, s->srv->base, s->bev, -1)) == NULL) {
		log_warnx("pop3d sid=%s: cannot start TLS", s->sid);
		pop3_close(s);
		return -1;
	}
	s->bev = tls;
	s->handshaking = true;
	s->direct = false;	/* from here on every byte goes through TLS */
	/* The filter moves records into the plain bufferevent only below this,
	 * so RETR's backpressure (on our output) reaches the socket. */
	bufferevent_setwatermark(bufferevent_get_underlying(tls), EV_WRITE, 0, POP3_OUT_HIGH);
	free(s->user);
	s->user = NULL;
	sasl_clear(&s->sasl);
	bufferevent_setcb(s->bev, pop3_read_cb, pop3_write_cb, pop3_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, POP3_IN_MAX);
	set_timeouts(s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	return 0;
}

void
pop3_logged_in(struct pop3_session *s)
{
	evtimer_del(s->ev_login);
	set_timeouts(s);
}

/* Handle queued input lines until we must wait. */
void
pop3_resume(struct pop3_session *s)
{
	struct evbuffer	*in;
	size_t		 max;
	int		 r;

	while (s->bev != NULL && !s->waiting && !s->handshaking && s->stream.fd < 0 &&
	    (s->state == POP3_S_AUTH || s->state == POP3_S_SASL || s->state == POP3_S_TRANS)) {
		in = bufferevent_get_input(s->bev);
		max = s->state == POP3_S_SASL ? SASL_RESPONSE_MAX : POP3_LINE_MAX;
		r = conn_readline(in, max, &s->line);
		if (r == 0)
			return;
		if (r < 0) {
			log_info("pop3d sid=%s: line too long, closing", s->sid);
			pop3_reply(s, "-ERR Line too long.");
			log_logout(s, "line-too-long");
			pop3_close(s);
			return;
		}
		if (s->state == POP3_S_SASL)
			pop3_sasl_line(s, s->line.data, s->line.len);
		else
			pop3_dispatch(s, s->line.data, s->line.len);
	}
}

static void
pop3_read_cb(struct bufferevent *bev, void *arg)
{
	struct pop3_session *s = arg;

	pop3_resume(s);
}

static void
pop3_write_cb(struct bufferevent *bev, void *arg)
{
	struct pop3_session	*s = arg;
	struct timeval		 tv = { 0, 0 };

	if (s->state == POP3_S_CLOSING) {
		if (pop3_output_len(s) == 0)
			evtimer_add(s->ev_free, &tv);
		return;
	}
	if (s->stream.fd >= 0) {
		pop3_stream_more(s);
		if (s->stream.fd < 0)
			pop3_resume(s);
	}
}

static void
pop3_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct pop3_session	*s = arg;
	char			 err[256], tls[96];

	if (what & BEV_EVENT_CONNECTED) {
		/* The TLS handshake finished (implicit TLS or after STLS). */
		s->handshaking = false;
		set_timeouts(s);
		tls_describe_short(s->bev, tls, sizeof(tls));
		log_debug("pop3d sid=%s: tls=%s", s->sid, tls);
		if (s->state == POP3_S_TLS) {
			pop3_set_state(s, POP3_S_AUTH);
			pop3_greeting(s);
		}
		pop3_resume(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->state == POP3_S_CLOSING) {
			bufferevent_free(s->bev);
			s->bev = NULL;
			pop3_free(s);
			return;
		}
		log_logout(s, s->handshaking ? "tls-handshake-timeout" : "timeout");
		if (!s->handshaking) {
			pop3_reply(s, "-ERR Disconnected for inactivity.");
			/* The timeout disabled the bufferevent; the reply needs writing. */
			bufferevent_enable(s->bev, EV_WRITE);
			set_timeouts(s);
		}
		pop3_close(s);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (s->handshaking) {
			tls_last_error(s->bev, err, sizeof(err));
			log_info("pop3d sid=%s: TLS handshake failed: %s", s->sid, err);
		}
	}
	/* EOF or error: the peer is gone; nothing more can be sent. */
	if (s->state != POP3_S_CLOSING)
		log_logout(s, (what & BEV_EVENT_EOF) ? (s->login ? "eof" : NULL) : "io-error");
	bufferevent_free(s->bev);
	s->bev = NULL;
	if (s->state == POP3_S_UPDATE) {
		/* QUIT's deletions are being applied; they finish without us. */
		pop3_set_state(s, POP3_S_CLOSING);
		pop3_free(s);
		return;
	}
	pop3_set_state(s, POP3_S_CLOSING);
	pop3_free(s);
}

/* Server stop: sessions end now (RFC 1939 keeps messages a session did not QUIT). */
static void
pop3_stop_hook(void *arg)
{
	struct pop3_session *s, *n;

	for (s = sessions; s != NULL; s = n) {
		n = s->next;
		if (s->state == POP3_S_UPDATE || s->state == POP3_S_CLOSING)
			continue;
		if (s->bev != NULL && !s->handshaking)
			pop3_reply(s, "-ERR [SYS/TEMP] Server shutting down.");
		log_logout(s, "shutdown");
		pop3_close(s);
	}
}

int
pop3d_init(struct server *srv, char **err_r)
{
	if (the_srv == NULL)
		server_hook_stop(srv, pop3_stop_hook, NULL);
	the_srv = srv;
	return 0;
}

void
pop3d_free(void)
{
	while (sessions != NULL)
		pop3_free(sessions);
	the_srv = NULL;
}
