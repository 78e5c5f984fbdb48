/*
 * SMTP on the session core (net/session.h): the callback table, the
 * limits and per-state timeouts taken from the config (smtpd_timeout, and
 * smtpd_data_timeout in DATA/BDAT), replies with the error counting of
 * smtpd_hard_error_limit, and the module state.  Commands are in cmd.c,
 * the message data in txn.c, the pool jobs in policy.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/sasl.h"
#include "auth/throttle.h"
#include "lib/cidr.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "net/listen.h"
#include "net/server.h"
#include "smtp/session.h"

#define SMTPD_OUT_HIGH	(256 * 1024)	/* stop reading while replies pile up */
#define SMTPD_IN_MAX	(256 * 1024)	/* input held while a step waits (pipelining) */


static const char *const state_names[] = {
	"TLS", "HELO", "MAIL", "RCPT", "DATA", "BDAT", "AUTH", "CLOSING",
};

const char *
smtpd_mode_name(enum smtpd_mode m)
{
	return m == SMTPD_MX ? "smtp" : m == SMTPD_SUBMISSION ? "submission" : "submissions";
}

struct smtpd *
smtpd_init(struct server *srv, char **err_r)
{
	struct smtpd *d = xcalloc(1, sizeof(*d));

	d->srv = srv;
	srv->smtpd = d;
	return d;
}

void
smtpd_stop(struct smtpd *d)
{
	/* Nothing of its own: the session core's shutdown walk ends the sessions. */
}

void
smtpd_free(struct smtpd **dp)
{
	struct smtpd *d = *dp;

	if (d == NULL)
		return;
	netlist_free(&d->mynetworks);
	throttle_free(&d->unknown_rcpts);
	free(d);
	*dp = NULL;
}

static bool
in_data(enum smtpd_state st)
{
	return st == SMTPD_S_DATA || st == SMTPD_S_BDAT;
}

static unsigned
idle_ms(enum smtpd_state st)
{
	return (unsigned)conf_int(conf_current(), in_data(st) ? CK_SMTPD_DATA_TIMEOUT :
	    CK_SMTPD_TIMEOUT) * 1000;
}

void
smtpd_set_state(struct smtpd_session *s, enum smtpd_state st)
{
	enum smtpd_state old = s->state;

	if (old == st)
		return;
	log_debug("smtpd sid=%s: state %s -> %s", s->sid, state_names[old], state_names[st]);
	s->state = st;
	if (in_data(old) != in_data(st) && st != SMTPD_S_CLOSING)
		session_set_idle(s->ss, idle_ms(st));
	if (old == SMTPD_S_AUTH || st == SMTPD_S_AUTH)
		session_set_line_max(s->ss, st == SMTPD_S_AUTH ? SASL_RESPONSE_MAX :
		    (size_t)conf_int(conf_current(), CK_SMTPD_LINE_LIMIT));
}

void
smtpd_close(struct smtpd_session *s)
{
	smtpd_set_state(s, SMTPD_S_CLOSING);
	session_close(s->ss);
}

void
smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[1000];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	if (line[0] == '5' || line[0] == '4') {
		char esc[200];

		log_info("smtpd sid=%s: reject: %s", s->sid, log_escape(esc, sizeof(esc), line, (size_t)n));
		/* Count errors (not the final 421) for smtpd_hard_error_limit. */
		if (strncmp(line, "421", 3) != 0)
			s->errors++;
	}
	session_reply(s->ss, "%s", line);
	if (s->errors >= (unsigned)conf_int(conf_current(), CK_SMTPD_HARD_ERROR_LIMIT) &&
	    !session_closing(s->ss)) {
		log_info("smtpd sid=%s: too many errors (%u), disconnecting", s->sid, s->errors);
		session_reply(s->ss, "421 4.7.0 Error: too many errors");
		smtpd_close(s);
	}
}

/* ---- the callbacks the core calls ---------------------------------- */

static bool
client_trusted(struct smtpd *d, const struct sockaddr *sa)
{
	const struct conf	*c = conf_current();
	const char		*err;

	/* mynetworks is parsed once per config, not per connection. */
	if (d->mynetworks_conf != c) {
		netlist_free(&d->mynetworks);
		d->mynetworks = netlist_parse(conf_str(c, CK_MYNETWORKS), &err);
		d->mynetworks_conf = c;
	}
	return netlist_match(d->mynetworks, sa);
}

static void *
s_attach(struct session *ss)
{
	struct smtpd_session		*s = xcalloc(1, sizeof(*s));
	const struct smtpd_listener	*l = ss->svc->arg;

	s->ss = ss;
	s->d = l->srv->smtpd;
	s->sid = ss->sid;
	s->mode = l->mode;
	s->state = ss->svc->implicit_tls ? SMTPD_S_TLS : SMTPD_S_HELO;
	s->in_mynetworks = ss->lim.client_exempt;
	smtpd_txn_init(&s->txn);
	login_step_init(&s->login, ss, &smtpd_login_ops);
	return s;
}

/* After a TLS handshake: the description for Received: and the log. */
static void
note_tls(struct smtpd_session *s)
{
	char shortd[96];

	session_tls_describe(s->ss, s->tls, sizeof(s->tls));
	session_tls_short(s->ss, shortd, sizeof(shortd));
	log_info("smtpd sid=%s: tls=%s", s->sid, shortd);
}

static void
s_start(struct session *ss)
{
	struct smtpd_session *s = ss->ctx;

	if (session_tls(ss))
		note_tls(s);
	smtpd_set_state(s, SMTPD_S_HELO);
	smtpd_reply(s, "220 %s", conf_str(conf_current(), CK_SMTPD_BANNER));
}

static void
s_tls_done(struct session *ss)
{
	note_tls(ss->ctx);
}

static void
s_line(struct session *ss, char *line, size_t len)
{
	struct smtpd_session *s = ss->ctx;

	/* AUTH state ends in the login step's outcome (cmd.c smtpd_login_ops). */
	if (login_step_in_sasl(&s->login))
		login_step_sasl_line(&s->login, line, len);
	else
		smtpd_dispatch(s, line, len);
}

static void
s_bad_line(struct session *ss, enum session_bad_line why)
{
	struct smtpd_session *s = ss->ctx;

	if (s->state == SMTPD_S_AUTH) {
		login_step_clear(&s->login);
		session_wipe_line(ss);
		smtpd_set_state(s, SMTPD_S_MAIL);
		smtpd_reply(s, why == SESSION_BAD_NUL ? "501 5.5.2 NUL character in AUTH response" :
		    "501 5.5.2 AUTH response too long");
		return;
	}
	if (why == SESSION_BAD_NUL) {
		smtpd_reply(s, "500 5.5.2 Error: NUL character in command");
		return;
	}
	log_info("smtpd sid=%s: line too long", s->sid);
	smtpd_reply(s, "500 5.5.2 Error: line too long");
	smtpd_close(s);
}

/* DATA (open-ended raw input) or a BDAT chunk (counted). */
static size_t
s_raw(struct session *ss, const unsigned char *p, size_t n)
{
	struct smtpd_session *s = ss->ctx;

	if (s->state == SMTPD_S_DATA)
		return smtpd_data_input(s, p, n);
	smtpd_bdat_input(s, p, n);
	return n;
}

static void
s_timeout(struct session *ss, enum session_timeout t)
{
	smtpd_reply(ss->ctx, "421 4.4.2 %s Error: timeout exceeded",
	    conf_str(conf_current(), CK_MYHOSTNAME));
}

static void
s_ended(struct session *ss, const char *reason)
{
	struct smtpd_session	*s = ss->ctx;
	const char		*st = state_names[s->state];

	if (strcmp(reason, "eof") == 0)
		log_info("smtpd sid=%s: lost connection in state %s", s->sid, st);
	else if (strcmp(reason, "timeout") == 0 || strcmp(reason, "tls-handshake-timeout") == 0)
		log_info("smtpd sid=%s: timeout in state %s", s->sid, st);
	else if (strcmp(reason, "starttls-injection") == 0)
		log_info("smtpd sid=%s: STARTTLS command injection attempt (plaintext after STARTTLS): closing",
		    s->sid);
	else if (strcmp(reason, "shutdown") != 0)
		log_info("smtpd sid=%s: connection error in state %s (%s)", s->sid, st, reason);
	smtpd_set_state(s, SMTPD_S_CLOSING);
}

/* Server stop: idle sessions go now; one in DATA or waiting for its commit finishes. */
static void
s_shutdown(struct session *ss)
{
	struct smtpd_session *s = ss->ctx;

	if (session_waiting(ss) || in_data(s->state) || s->state == SMTPD_S_CLOSING)
		return;
	smtpd_reply(s, "421 4.3.2 %s Service shutting down", conf_str(conf_current(), CK_MYHOSTNAME));
	smtpd_close(s);
}

static void
s_free(struct session *ss)
{
	struct smtpd_session *s = ss->ctx;

	login_step_clear(&s->login);
	smtpd_txn_clear(&s->txn);
	if (s->held != NULL) {
		OPENSSL_cleanse(s->held, strlen(s->held));
		free(s->held);
	}
	free(s->auth_user);
	log_info("smtpd sid=%s: disconnect", s->sid);
	free(s);
}

/*
 * One table per service: the registry counts clients per protocol table,
 * so each service has its own smtpd_client_connection_count_limit (as
 * Postfix's anvil counts per service), and a flood on 25 leaves 587 open.
 */
#define SMTPD_PROTO {							\
	.name = "smtpd",						\
	.starttls_verb = "STARTTLS",					\
	.in_max = SMTPD_IN_MAX,						\
	.out_high = SMTPD_OUT_HIGH,					\
	.refuse = {							\
		[SESSION_R_SHUTDOWN] = "421 4.3.2 Service shutting down, closing transmission channel\r\n", \
		[SESSION_R_SERVICE] = "421 4.7.0 Error: too many connections\r\n", \
		[SESSION_R_CLIENT] = "421 4.7.0 Error: too many connections from your address\r\n", \
	},								\
	.attach = s_attach,						\
	.start = s_start,						\
	.line = s_line,							\
	.bad_line = s_bad_line,						\
	.raw = s_raw,							\
	.tls_done = s_tls_done,						\
	.timeout = s_timeout,						\
	.ended = s_ended,						\
	.shutdown = s_shutdown,						\
	.free = s_free,							\
}

static const struct session_proto smtpd_protos[3] = { SMTPD_PROTO, SMTPD_PROTO, SMTPD_PROTO };

void
smtpd_accept(const struct service *svc, evutil_socket_t fd, const struct sockaddr *sa,
    socklen_t salen, void *arg)
{
	const struct smtpd_listener	*l = arg;
	const struct conf		*c = conf_current();
	size_t				 line = (size_t)conf_int(c, CK_SMTPD_LINE_LIMIT);
	struct session_limits		 lim = {
		.max_service = service_max_sessions(svc, c),
		.max_client = (unsigned)conf_int(c, CK_SMTPD_CLIENT_CONNECTION_COUNT_LIMIT),
		.client_exempt = client_trusted(l->srv->smtpd, sa),
		.handshake_ms = (unsigned)conf_int(c, CK_TLS_HANDSHAKE_TIMEOUT) * 1000,
		.idle_ms = idle_ms(SMTPD_S_HELO),
		.line_max = line,
		.line_cap = line > SASL_RESPONSE_MAX ? line : SASL_RESPONSE_MAX,
	};

	(void)session_accept(l->srv, svc, &smtpd_protos[l->mode], &lim, fd, sa, salen);
}
