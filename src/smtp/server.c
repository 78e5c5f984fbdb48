/*
 * SMTP server connections: accept and limits, the read loop, replies,
 * timeouts, STARTTLS and the deferred free.  Commands are in cmd.c, the
 * message data in txn.c, the pool jobs in policy.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "auth/login.h"
#include "lib/cidr.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "net/listen.h"
#include "net/server.h"
#include "net/tls.h"
#include "smtp/session.h"
#include "spool/spool.h"

#define SMTPD_OUT_HIGH	(256 * 1024)	/* stop reading while replies pile up */

struct peer_count {
	char	addr[64];
	unsigned n;
};

static struct {
	struct server		*srv;
	unsigned		 nsessions;
	struct peer_count	*peers;
	size_t			 npeers;
	struct smtpd_session	**all;
	size_t			 nall;
	bool			 stopping;
	struct netlist		*mynetworks;	/* parsed from mynetworks_conf */
	const struct conf	*mynetworks_conf;
} g;

static void smtpd_read_cb(struct bufferevent *bev, void *arg);
static void smtpd_write_cb(struct bufferevent *bev, void *arg);
static void smtpd_event_cb(struct bufferevent *bev, short what, void *arg);

struct server *
smtpd_srv(const struct smtpd_session *s)
{
	return s->l->srv;
}

const char *
smtpd_mode_name(enum smtpd_mode m)
{
	return m == SMTPD_MX ? "smtp" : m == SMTPD_SUBMISSION ? "submission" : "submissions";
}

int
smtpd_init(struct server *srv, char **err_r)
{
	g.srv = srv;
	return 0;
}

static unsigned *
peer_slot(const char *addr, bool create)
{
	size_t i;

	for (i = 0; i < g.npeers; i++)
		if (strcmp(g.peers[i].addr, addr) == 0)
			return &g.peers[i].n;
	if (!create)
		return NULL;
	g.peers = xreallocarray(g.peers, g.npeers + 1, sizeof(*g.peers));
	snprintf(g.peers[g.npeers].addr, sizeof(g.peers[0].addr), "%s", addr);
	g.peers[g.npeers].n = 0;
	return &g.peers[g.npeers++].n;
}

static void
peer_release(const char *addr)
{
	size_t i;

	for (i = 0; i < g.npeers; i++)
		if (strcmp(g.peers[i].addr, addr) == 0) {
			if (--g.peers[i].n == 0)
				g.peers[i] = g.peers[--g.npeers];
			return;
		}
}

static bool
in_data(enum smtpd_state st)
{
	return st == SMTPD_S_DATA || st == SMTPD_S_BDAT;
}

static void set_idle_timeout(struct smtpd_session *s);

void
smtpd_set_state(struct smtpd_session *s, enum smtpd_state st)
{
	bool switch_timeout = in_data(s->state) != in_data(st);

	if (s->state != st)
		log_debug("smtpd sid=%s: state %d -> %d", s->sid, (int)s->state, (int)st);
	s->state = st;
	if (switch_timeout && st != SMTPD_S_CLOSING && s->bev != NULL && !s->closing)
		set_idle_timeout(s);	/* smtpd_data_timeout inside DATA/BDAT */
}

static void smtpd_free_cb(evutil_socket_t fd, short what, void *arg);

/* tls_close_gracefully() has freed the bufferevent: free the rest. */
static void
smtpd_closed_cb(void *arg)
{
	struct smtpd_session *s = arg;

	s->tls_close = NULL;
	smtpd_free_cb(-1, 0, s);
}

static void
smtpd_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_session	*s = arg;
	size_t			 i;

	/* Nothing may call back into the session while its close lingers. */
	smtpd_job_cancel(s);
	auth_cancel(&s->auth);
	if (s->bev != NULL && !s->peer_gone) {
		/* 221/421 on TLS: send it and close_notify before the free */
		s->tls_close = tls_close_gracefully(s->bev, s->l->srv->base, smtpd_closed_cb, s);
		s->bev = NULL;
		if (s->tls_close != NULL)
			return;
	}
	tls_close_cancel(&s->tls_close);	/* smtpd_free() at exit */
	smtpd_txn_reset(s);
	sasl_clear(&s->sasl);
	if (s->bev)
		bufferevent_free(s->bev);
	event_free(s->ev_free);
	if (s->ev_resume)
		event_free(s->ev_resume);
	buf_clear(&s->line);
	buf_clear(&s->out);
	buf_clear(&s->hf_out);
	free(s->auth_user);
	peer_release(s->addr);
	g.nsessions--;
	for (i = 0; i < g.nall; i++)
		if (g.all[i] == s) {
			g.all[i] = g.all[--g.nall];
			break;
		}
	log_info("smtpd sid=%s: disconnect", s->sid);
	free(s);
}

static void
schedule_free(struct smtpd_session *s)
{
	if (s->free_scheduled)
		return;
	s->free_scheduled = true;
	event_active(s->ev_free, EV_TIMEOUT, 0);
}

void
smtpd_close(struct smtpd_session *s)
{
	smtpd_set_state(s, SMTPD_S_CLOSING);
	s->closing = true;
	if (s->bev == NULL) {
		schedule_free(s);
		return;
	}
	bufferevent_disable(s->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		schedule_free(s);
	/* else smtpd_write_cb frees once the output has drained */
}

void
smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[1024];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	/* Count errors (4xx/5xx, not the final 421/221) for smtpd_hard_error_limit. */
	if ((line[0] == '4' || line[0] == '5') && strncmp(line, "421", 3) != 0)
		s->errors++;
	if (line[0] == '5' || line[0] == '4') {
		char esc[200];
		log_info("smtpd sid=%s: reject: %s", s->sid, log_escape(esc, sizeof(esc), line, (size_t)n));
	}
	memcpy(line + n, "\r\n", 2);
	if (s->bev != NULL && !s->free_scheduled)
		bufferevent_write(s->bev, line, (size_t)n + 2);
	if (s->errors >= (unsigned)conf_int(conf_current(), CK_SMTPD_HARD_ERROR_LIMIT) && !s->closing) {
		const char *m = "421 4.7.0 Error: too many errors\r\n";
		log_info("smtpd sid=%s: too many errors (%u), disconnecting", s->sid, s->errors);
		if (s->bev != NULL)
			bufferevent_write(s->bev, m, strlen(m));
		smtpd_close(s);
	}
}

static size_t
line_limit(const struct smtpd_session *s)
{
	if (s->state == SMTPD_S_AUTH)
		return SASL_RESPONSE_MAX;
	return (size_t)conf_int(conf_current(), CK_SMTPD_LINE_LIMIT);
}

/* Run commands/data from the input buffer until it is empty or an async step waits. */
static void
smtpd_process(struct smtpd_session *s)
{
	struct evbuffer *in;

	while (!s->waiting && !s->closing && s->bev != NULL) {
		in = bufferevent_get_input(s->bev);
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) > SMTPD_OUT_HIGH)
			return;		/* the client does not read its replies: wait */
		if (s->state == SMTPD_S_DATA) {
			if (evbuffer_get_length(in) == 0)
				return;
			smtpd_data_input(s);
			continue;
		}
		if (s->state == SMTPD_S_BDAT) {
			if (evbuffer_get_length(in) == 0 && s->bdat_left > 0)
				return;
			smtpd_bdat_input(s);
			continue;
		}
		switch (conn_readline(in, line_limit(s), &s->line)) {
		case 0:
			return;
		case -1:
			if (s->state == SMTPD_S_AUTH) {
				s->sasl_active = false;
				sasl_clear(&s->sasl);
				smtpd_set_state(s, s->have_mail ? SMTPD_S_RCPT : SMTPD_S_MAIL);
				smtpd_reply(s, "501 5.5.2 AUTH response too long");
				continue;
			}
			log_info("smtpd sid=%s: line too long", s->sid);
			smtpd_reply(s, "500 5.5.2 Error: line too long");
			smtpd_close(s);
			return;
		}
		if (memchr(s->line.data, '\0', s->line.len) != NULL) {
			smtpd_reply(s, "500 5.5.2 Error: NUL character in command");
			continue;
		}
		if (s->state == SMTPD_S_AUTH)
			smtpd_auth_line(s, s->line.data, s->line.len);
		else
			smtpd_dispatch(s, s->line.data, s->line.len);
	}
}

void
smtpd_resume(struct smtpd_session *s)
{
	s->waiting = false;
	if (!s->closing)
		smtpd_process(s);
}

static void
smtpd_read_cb(struct bufferevent *bev, void *arg)
{
	smtpd_process(arg);
}

static void
smtpd_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtpd_session *s = arg;

	if (s->closing) {
		/* A deferred callback (TLS) may report a drain that happened before
		 * the last replies were queued: free only when really empty. */
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			schedule_free(s);
		return;
	}
	/* Output drained below the mark: commands may have been waiting. */
	if (!s->waiting && evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		smtpd_process(s);
}

static void
set_idle_timeout(struct smtpd_session *s)
{
	enum conf_id	 key = in_data(s->state) ? CK_SMTPD_DATA_TIMEOUT : CK_SMTPD_TIMEOUT;
	struct timeval	 tv = { conf_int(conf_current(), key), 0 };

	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

static void
greet(struct smtpd_session *s)
{
	smtpd_set_state(s, SMTPD_S_HELO);
	smtpd_reply(s, "220 %s", conf_str(conf_current(), CK_SMTPD_BANNER));
}

static void
smtpd_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtpd_session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		/* Implicit TLS (465) or STARTTLS handshake done. */
		tls_describe(bev, s->tls, sizeof(s->tls));
		{
			char shortd[96];
			tls_describe_short(bev, shortd, sizeof(shortd));
			log_info("smtpd sid=%s: tls=%s", s->sid, shortd);
		}
		set_idle_timeout(s);
		if (s->state == SMTPD_S_TLS)
			greet(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (!s->closing) {
			struct timeval drain = { 5, 0 };

			log_info("smtpd sid=%s: timeout in state %d", s->sid, (int)s->state);
			bufferevent_enable(bev, EV_WRITE);
			/* the peer may be gone: give the 421 a few seconds to drain */
			bufferevent_set_timeouts(bev, NULL, &drain);
			smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded", conf_str(conf_current(), CK_MYHOSTNAME));
			smtpd_close(s);
		} else
			schedule_free(s);	/* the close did not drain in time */
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		char err[128] = "";
		if (s->tls[0] == '\0' && tls_active(bev))
			tls_last_error(bev, err, sizeof(err));
		log_info("smtpd sid=%s: connection error%s%s", s->sid, err[0] ? ": " : "", err);
	} else if ((what & BEV_EVENT_EOF) && s->state != SMTPD_S_CLOSING)
		log_info("smtpd sid=%s: lost connection in state %d", s->sid, (int)s->state);
	s->peer_gone = true;	/* no close_notify, no waiting for output */
	s->closing = true;
	smtpd_set_state(s, SMTPD_S_CLOSING);
	schedule_free(s);
}

static void
setup_bev(struct smtpd_session *s)
{
	bufferevent_setcb(s->bev, smtpd_read_cb, smtpd_write_cb, smtpd_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

void
smtpd_starttls(struct smtpd_session *s)
{
	struct bufferevent	*tls;
	struct timeval		 hs = { conf_int(conf_current(), CK_TLS_HANDSHAKE_TIMEOUT), 0 };

	if (tls_starttls_injection(s->bev)) {
		log_info("smtpd sid=%s: STARTTLS command injection attempt (plaintext after STARTTLS): closing",
		    s->sid);
		smtpd_close(s);
		return;
	}
	tls = tls_wrap_server(s->l->srv->tls, s->l->srv->base, s->bev, -1);
	if (tls == NULL) {
		log_warnx("smtpd sid=%s: cannot start TLS", s->sid);
		smtpd_close(s);
		return;
	}
	s->bev = tls;
	setup_bev(s);
	bufferevent_set_timeouts(s->bev, &hs, &hs);
	/* RFC 3207 4.2: forget everything learned before TLS. */
	s->esmtp = false;
	s->helo[0] = '\0';
	free(s->auth_user);
	s->auth_user = NULL;
	smtpd_txn_reset(s);
	smtpd_set_state(s, SMTPD_S_HELO);
}

void
smtpd_accept(const struct service *svc, evutil_socket_t fd, const struct sockaddr *sa,
    socklen_t salen, void *arg)
{
	struct smtpd_listener	*l = arg;
	const struct conf	*c = conf_current();
	struct smtpd_session	*s;
	struct netlist		*nl;
	const char		*err;
	unsigned		*cnt;
	char			 addr[64];

	sockaddr_ntop(sa, addr, sizeof(addr));
	/* mynetworks is parsed once per config, not per connection. */
	if (g.mynetworks_conf != c) {
		netlist_free(&g.mynetworks);
		g.mynetworks = netlist_parse(conf_str(c, CK_MYNETWORKS), &err);
		g.mynetworks_conf = c;
	}
	nl = g.mynetworks;
	{
		bool trusted = netlist_match(nl, sa);
		const char *msg = NULL;

		cnt = peer_slot(addr, false);
		if (g.stopping)
			msg = "421 4.3.2 Service shutting down, closing transmission channel\r\n";
		else if (g.nsessions >= (unsigned)conf_int(c, CK_SMTPD_MAX_CONNECTIONS))
			msg = "421 4.7.0 Error: too many connections\r\n";
		else if (!trusted && cnt != NULL && *cnt >= (unsigned)conf_int(c, CK_SMTPD_CLIENT_CONNECTION_COUNT_LIMIT))
			msg = "421 4.7.0 Error: too many connections from your address\r\n";
		if (msg != NULL) {
			log_info("smtpd: refused addr=%s: %.*s", addr, (int)strlen(msg) - 2, msg);
			if (svc->implicit_tls == false)
				(void)!write(fd, msg, strlen(msg));
			close(fd);
			return;
		}
		s = xcalloc(1, sizeof(*s));
		s->in_mynetworks = trusted;
	}
	cnt = peer_slot(addr, true);
	(*cnt)++;
	g.nsessions++;
	g.all = xreallocarray(g.all, g.nall + 1, sizeof(*g.all));
	g.all[g.nall++] = s;
	s->l = l;
	conn_new_sid(s->sid);
	memcpy(&s->peer, sa, salen < sizeof(s->peer) ? salen : sizeof(s->peer));
	memcpy(s->addr, addr, sizeof(s->addr));
	buf_init(&s->line, 1 << 20);
	buf_init(&s->out, 1 << 20);
	buf_init(&s->hf_out, SMTPD_HF_CHUNK + HDRFIX_NAME_MAX + 2 * HDRFIX_FIELD_MAX + 4);
	s->ev_free = event_new(l->srv->base, -1, 0, smtpd_free_cb, s);
	log_info("smtpd sid=%s: connect addr=%s:%d service=%s", s->sid, addr, sockaddr_port(sa),
	    svc->name);
	if (svc->implicit_tls) {
		struct timeval hs = { conf_int(c, CK_TLS_HANDSHAKE_TIMEOUT), 0 };

		s->bev = l->srv->tls ? tls_wrap_server(l->srv->tls, l->srv->base, NULL, fd) : NULL;
		if (s->bev == NULL) {
			close(fd);
			smtpd_close(s);
			return;
		}
		setup_bev(s);
		bufferevent_set_timeouts(s->bev, &hs, &hs);
		smtpd_set_state(s, SMTPD_S_TLS);
		return;
	}
	s->bev = bufferevent_socket_new(l->srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		close(fd);
		smtpd_close(s);
		return;
	}
	setup_bev(s);
	set_idle_timeout(s);
	greet(s);
}

void
smtpd_shutdown(void)
{
	size_t i;

	g.stopping = true;
	/* Sessions between transactions go now; one in DATA or waiting for its
	 * commit finishes (the stop grace period bounds it). */
	for (i = 0; i < g.nall; i++) {
		struct smtpd_session *s = g.all[i];

		if (s->closing || s->waiting || s->state == SMTPD_S_DATA || s->state == SMTPD_S_BDAT)
			continue;
		smtpd_reply(s, "421 4.3.2 %s Service shutting down", conf_str(conf_current(), CK_MYHOSTNAME));
		smtpd_close(s);
	}
}

void
smtpd_free(void)
{
	while (g.nall > 0) {
		struct smtpd_session *s = g.all[0];
		s->free_scheduled = true;
		s->peer_gone = true;	/* exiting: no time for a graceful close */
		smtpd_free_cb(-1, 0, s);
	}
	free(g.all);
	free(g.peers);
	netlist_free(&g.mynetworks);
	smtpd_limits_free();
	memset(&g, 0, sizeof(g));
}
