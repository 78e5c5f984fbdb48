/*
 * POP3 on the session core (net/session.h): the callback table, the
 * limits and timeouts taken from the config (login_timeout as the
 * AUTHORIZATION deadline, pop3_timeout idle afterwards), and the few
 * helpers cmd.c, maildrop.c and retr.c share.  The verbs live in cmd.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "net/listen.h"
#include "net/session.h"
#include "pop3/pop3.h"
#include "pop3/session.h"

static const char *const state_names[] = {
	"TLS", "AUTH", "SASL", "TRANS", "UPDATE", "CLOSING",
};

void
pop3_set_state(struct pop3_session *s, enum pop3_state st)
{
	if (s->state != st)
		log_debug("pop3d sid=%s: state %s -> %s", s->sid, state_names[s->state],
		    state_names[st]);
	s->state = st;
	/* A SASL response may be longer than a command (an initial response fits both). */
	session_set_line_max(s->ss, st == POP3_S_SASL ? SASL_RESPONSE_MAX : POP3_LINE_MAX);
}

bool
pop3_tls(const struct pop3_session *s)
{
	return session_tls(s->ss);
}

void
pop3_tls_short(struct pop3_session *s, char *buf, size_t sz)
{
	session_tls_short(s->ss, buf, sz);
}

size_t
pop3_output_len(struct pop3_session *s)
{
	return session_output_len(s->ss);
}

void
pop3_send(struct pop3_session *s, const void *p, size_t n)
{
	session_send(s->ss, p, n);
}

void
pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vreply(s->ss, fmt, ap);
	va_end(ap);
}

void
pop3_close(struct pop3_session *s)
{
	if (s->state == POP3_S_CLOSING)
		return;
	pop3_set_state(s, POP3_S_CLOSING);
	pop3_stream_stop(s);
	session_close(s->ss);
}

void
pop3_resume(struct pop3_session *s)
{
	session_resume(s->ss);
}

void
pop3_logged_in(struct pop3_session *s)
{
	session_authenticated(s->ss);
	session_set_idle(s->ss, (unsigned)conf_int(conf_current(), CK_POP3_TIMEOUT) * 1000);
}

void
pop3_log_logout(struct pop3_session *s, const char *why)
{
	if (s->login != NULL)
		log_info("pop3d sid=%s: logout user=%s retr=%u top=%u dele=%u bytes=%llu%s%s", s->sid,
		    s->login, s->nretr, s->ntop, s->ndele, (unsigned long long)s->ss->bytes_out,
		    why ? " reason=" : "", why ? why : "");
	else
		log_info("pop3d sid=%s: disconnect%s%s", s->sid, why ? " reason=" : "", why ? why : "");
}

/* ---- the callbacks the core calls ---------------------------------- */

static void *
p_attach(struct session *ss)
{
	struct pop3_session *s = xcalloc(1, sizeof(*s));

	s->ss = ss;
	s->srv = ss->srv;
	s->sid = ss->sid;
	s->lock_fd = -1;
	s->stream.fd = -1;
	s->state = ss->svc->implicit_tls ? POP3_S_TLS : POP3_S_AUTH;
	login_step_init(&s->login_step, ss, &pop3_login_ops);
	return s;
}

static void
p_start(struct session *ss)
{
	struct pop3_session *s = ss->ctx;

	pop3_set_state(s, POP3_S_AUTH);
	pop3_greeting(s);
}

static void
p_line(struct session *ss, char *line, size_t len)
{
	struct pop3_session *s = ss->ctx;

	if (s->state != POP3_S_SASL) {
		pop3_dispatch(s, line, len);
		return;
	}
	pop3_set_state(s, POP3_S_AUTH);
	login_step_sasl_line(&s->login_step, line, len);
	if (login_step_in_sasl(&s->login_step))
		pop3_set_state(s, POP3_S_SASL);
}

static void
p_bad_line(struct session *ss, enum session_bad_line why)
{
	struct pop3_session *s = ss->ctx;

	if (why == SESSION_BAD_NUL) {
		if (s->state == POP3_S_SASL)
			pop3_set_state(s, POP3_S_AUTH);
		pop3_bad(s, "NUL in command.");
		return;
	}
	log_info("pop3d sid=%s: line too long, closing", s->sid);
	pop3_reply(s, "-ERR Line too long.");
	pop3_log_logout(s, "line-too-long");
	pop3_close(s);
}

/* RETR/TOP: the output drained to half; send more of the message. */
static void
p_drain(struct session *ss)
{
	struct pop3_session *s = ss->ctx;

	pop3_stream_more(s);
	if (s->stream.fd < 0) {
		session_watch_drain(ss, false);
		session_resume(ss);
	}
}

static void
p_timeout(struct session *ss, enum session_timeout t)
{
	pop3_reply(ss->ctx, "-ERR Disconnected for inactivity.");
}

static void
p_ended(struct session *ss, const char *reason)
{
	struct pop3_session *s = ss->ctx;

	/* A client that just goes away before logging in is not news. */
	if (strcmp(reason, "eof") == 0 && s->login == NULL)
		reason = NULL;
	pop3_log_logout(s, reason);
	if (s->state != POP3_S_UPDATE)
		pop3_set_state(s, POP3_S_CLOSING);
}

/* Server stop: sessions end now (RFC 1939 keeps messages a session did not QUIT). */
static void
p_shutdown(struct session *ss)
{
	struct pop3_session *s = ss->ctx;

	if (s->state == POP3_S_UPDATE || s->state == POP3_S_CLOSING)
		return;
	if (s->state != POP3_S_TLS)
		pop3_reply(s, "-ERR [SYS/TEMP] Server shutting down.");
	pop3_log_logout(s, "shutdown");
	pop3_close(s);
}

static void
p_free(struct session *ss)
{
	struct pop3_session	*s = ss->ctx;
	size_t			 i;

	pop3_stream_stop(s);
	pop3_maildrop_release(s);
	login_step_clear(&s->login_step);
	free(s->user);
	free(s->login);
	for (i = 0; i < s->nmsgs; i++)
		free(s->msgs[i].uidl);
	free(s->msgs);
	free(s);
}

static const struct session_proto pop3_proto = {
	.name = "pop3d",
	.starttls_verb = "STLS",
	.flags = SESSION_F_DEFER_CB | SESSION_F_DIRECT_SEND,
	.in_max = POP3_IN_MAX,
	.out_high = POP3_OUT_HIGH,
	.refuse = {
		[SESSION_R_SHUTDOWN] = "-ERR [SYS/TEMP] Server shutting down.\r\n",
		[SESSION_R_SERVICE] = "-ERR [SYS/TEMP] Too many connections, try again later.\r\n",
		[SESSION_R_CLIENT] = "-ERR [SYS/TEMP] Too many connections, try again later.\r\n",
	},
	.attach = p_attach,
	.start = p_start,
	.line = p_line,
	.bad_line = p_bad_line,
	.drain = p_drain,
	.timeout = p_timeout,
	.ended = p_ended,
	.shutdown = p_shutdown,
	.free = p_free,
};

void
pop3d_accept(const struct service *svc, evutil_socket_t fd, const struct sockaddr *sa,
    socklen_t salen, void *arg)
{
	const struct conf	*c = conf_current();
	struct session_limits	 lim = {
		.max_service = service_max_sessions(svc, c),
		.max_client = (unsigned)conf_int(c, CK_POP3_CLIENT_CONNECTION_COUNT_LIMIT),
		.handshake_ms = (unsigned)conf_int(c, CK_TLS_HANDSHAKE_TIMEOUT) * 1000,
		.login_ms = (unsigned)conf_int(c, CK_LOGIN_TIMEOUT) * 1000,
		.idle_ms = (unsigned)conf_int(c, CK_LOGIN_TIMEOUT) * 1000,
		.line_max = POP3_LINE_MAX,
		.line_cap = SASL_RESPONSE_MAX,
	};

	(void)session_accept(arg, svc, &pop3_proto, &lim, fd, sa, salen);
}
