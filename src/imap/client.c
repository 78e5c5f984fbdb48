/*
 * IMAP on the session core (net/session.h): the callback table, limits
 * and timeouts from the config, and the read loop.  The core runs in raw
 * mode and hands over whatever bytes arrived; the incremental parser
 * (parser.h) turns them into commands, literal continuations and streamed
 * APPEND data.  Only a SASL exchange switches the core to line mode: its
 * responses are lines, not commands.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "imap/client.h"
#include "imap/imapd.h"
#include "imap/notify.h"
#include "imap/userlimit.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "net/listen.h"
#include "net/server.h"
#include "net/session.h"

static const char *const state_names[] = { "NOT_AUTH", "AUTH", "SELECTED", "LOGOUT" };

void
imap_set_state(struct imap_client *c, enum imap_state st)
{
	if (c->state != st)
		log_debug("imapd sid=%s: state %s -> %s", c->sid, state_names[c->state],
		    state_names[st]);
	c->state = st;
}

bool
imap_tls(const struct imap_client *c)
{
	return session_tls(c->ss);
}

bool
imap_tls_available(const struct imap_client *c)
{
	/* Never TLS over compression (RFC 4978 §4; reachable after UNAUTHENTICATE). */
	return !session_tls(c->ss) && !session_compressed(c->ss) && c->ss->srv->tls != NULL;
}

bool
imap_plaintext_ok(const struct imap_client *c)
{
	return session_tls(c->ss) || !conf_bool(conf_current(), CK_DISABLE_PLAINTEXT_AUTH);
}

void
imap_close(struct imap_client *c)
{
	imap_stream_stop(c);
	imap_set_state(c, IMAP_S_LOGOUT);
	session_close(c->ss);
}

void
imap_resume(struct imap_client *c)
{
	session_resume(c->ss);
}

void
imap_apply_limits(struct imap_client *c)
{
	const struct conf		*cf = conf_current();
	bool				 authed = c->state != IMAP_S_NOT_AUTH;
	struct imap_parser_limits	 lim = {
		.max_line = authed ? (size_t)conf_int(cf, CK_IMAP_MAX_LINE_LENGTH) :
		    IMAP_LINE_MAX_PREAUTH,
		.max_message = (uint64_t)conf_int(cf, CK_MESSAGE_SIZE_LIMIT),
		.max_depth = IMAP_MAX_DEPTH,
		.max_args = IMAP_MAX_ARGS,
		.max_line_id = IMAP_LINE_MAX_ID,
	};

	lim.max_literal = lim.max_line;
	/* LITERAL+ after login (RFC 7888 §4); before it, LITERAL-'s 4 KiB bound. */
	lim.max_nonsync = authed ? lim.max_message : IMAP_NONSYNC_PREAUTH;
	imap_parser_set_limits(c->parser, &lim);
}

void
imap_sasl_lines(struct imap_client *c, bool on)
{
	c->sasl_lines = on;
	if (on) {
		session_set_line_max(c->ss, SASL_RESPONSE_MAX);
		session_read_lines(c->ss);
	} else
		session_read_raw(c->ss, SIZE_MAX);
}

void
imap_log_end(struct imap_client *c, const char *why)
{
	if (c->logged)
		return;
	c->logged = true;
	if (c->user != NULL)
		log_info("imapd sid=%s: logout user=%s in=%llu out=%llu%s%s", c->sid, c->user,
		    (unsigned long long)c->ss->bytes_in, (unsigned long long)c->ss->bytes_out,
		    why ? " reason=" : "", why ? why : "");
	else
		log_info("imapd sid=%s: disconnect%s%s", c->sid, why ? " reason=" : "",
		    why ? why : "");
}

/* ---- the read loop ------------------------------------------------- */

static void
parse_error(struct imap_client *c)
{
	const struct imap_parse_error *e = imap_parser_error(c->parser);

	imap_append_abort(c);
	if (e->close) {
		log_info("imapd sid=%s: %s, closing", c->sid, e->msg);
		imap_untagged(c, "BYE %s%s%s%s.", e->code ? "[" : "", e->code ? e->code : "",
		    e->code ? "] " : "", e->msg);
		imap_log_end(c, "protocol-error");
		imap_close(c);
		return;
	}
	if (e->tag != NULL)
		imap_tagged_to(c, e->tag, e->no ? "NO" : "BAD", "%s%s%s%s.", e->code ? "[" : "",
		    e->code ? e->code : "", e->code ? "] " : "", e->msg);
	else
		imap_tagged_to(c, "*", "BAD", "%s.", e->msg);
}

/*
 * A synchronising literal was announced: "+ OK" unless the command cannot
 * take it.  An APPEND message is never invited before login (the client
 * would upload it for nothing) nor for a command we do not run.
 */
static void
literal_continue(struct imap_client *c)
{
	const struct imap_literal_info	*li = imap_parser_literal(c->parser);
	const struct imap_cmd		*cmd = imap_parser_command(c->parser);
	const struct imap_command	*def = imap_command_find(cmd->name, cmd->name_len);

	if (li->stream && (c->state == IMAP_S_NOT_AUTH || def == NULL)) {
		imap_tagged_to(c, cmd->tag, c->state == IMAP_S_NOT_AUTH ? "NO" : "BAD",
		    c->state == IMAP_S_NOT_AUTH ? "Log in first." : "Unknown command.");
		imap_parser_reset(c->parser);
		return;
	}
	if (li->stream && imap_append_literal(c, true))
		return;
	imap_write(c, "+ OK\r\n", 6);
	imap_parser_continue(c->parser);
}

/* A streamed literal starts: APPEND's, else drop it, then BAD. */
static void
literal_start(struct imap_client *c)
{
	if (!imap_append_literal(c, false))
		c->skip_literal = true;
}

static void
starttls_cb(struct session *ss, void *arg)
{
	imap_starttls_now(arg);
}

static size_t
i_raw(struct session *ss, const unsigned char *p, size_t n)
{
	struct imap_client	*c = ss->ctx;
	size_t			 off = 0, used;
	enum imap_parse		 r;
	bool			 z = session_compressed(ss);

	/* After COMPRESS the rest of p is deflated: the core hands it over again. */
	while (off < n && !session_waiting(ss) && !session_closing(ss) && !c->sasl_lines &&
	    !c->starttls && c->idle == NULL && session_compressed(ss) == z) {
		r = imap_parser_feed(c->parser, (const char *)p + off, n - off, &used);
		off += used;
		switch (r) {
		case IMAP_PARSE_MORE:
			break;
		case IMAP_PARSE_DONE:
			if (c->skip_literal) {
				c->skip_literal = false;
				imap_tagged_to(c, imap_parser_command(c->parser)->tag, "BAD",
				    "Unknown command.");
			} else
				imap_dispatch(c, imap_parser_command(c->parser));
			break;
		case IMAP_PARSE_ERROR:
			parse_error(c);
			break;
		case IMAP_PARSE_CONTINUE:
			literal_continue(c);
			break;
		case IMAP_PARSE_LITERAL:
			literal_start(c);
			break;
		case IMAP_PARSE_DATA:
			/* skip_literal: the bytes are consumed and dropped */
			if (!c->skip_literal && c->append != NULL)
				imap_append_data(c, p + off - used, used);
			break;
		}
		/* Many small pipelined replies: let the client read before we parse on. */
		if (session_output_len(ss) >= IMAP_OUT_HIGH && !session_waiting(ss) &&
		    !session_closing(ss))
			imap_stream_start(c, NULL);
	}
	if (c->starttls) {
		/* The core drains the STARTTLS line first; then any plaintext left is injected. */
		session_delay(ss, 0, starttls_cb, c);
	}
	return off;
}

static void
i_line(struct session *ss, char *line, size_t len)
{
	struct imap_client *c = ss->ctx;

	if (c->idle != NULL) {
		imap_idle_line(c, line, len);
		return;
	}
	login_step_sasl_line(&c->login_step, line, len);
	if (!login_step_in_sasl(&c->login_step))
		imap_sasl_lines(c, false);
}

/* Only SASL responses and IDLE's DONE are lines: too long or with a NUL, they fail. */
static void
i_bad_line(struct session *ss, enum session_bad_line why)
{
	struct imap_client *c = ss->ctx;

	if (c->idle != NULL) {
		imap_idle_line(c, NULL, 0);
		return;
	}
	login_step_clear(&c->login_step);
	imap_sasl_lines(c, false);
	imap_tagged(c, "BAD", why == SESSION_BAD_NUL ? "NUL in SASL response." :
	    "SASL response too long.");
}

/* ---- the callbacks the core calls ---------------------------------- */

static void *
i_attach(struct session *ss)
{
	struct imap_client *c = xcalloc(1, sizeof(*c));

	c->ss = ss;
	c->sid = ss->sid;
	c->state = IMAP_S_NOT_AUTH;
	c->parser = imap_parser_new(&(struct imap_parser_limits){ .max_line = 1 });
	imap_apply_limits(c);
	login_step_init(&c->login_step, ss, &imap_login_ops);
	return c;
}

static void
i_start(struct session *ss)
{
	session_read_raw(ss, SIZE_MAX);
	imap_greeting(ss->ctx);
}

static void
i_drain(struct session *ss)
{
	imap_stream_drain(ss->ctx);
}

static void
i_timeout(struct session *ss, enum session_timeout t)
{
	imap_untagged(ss->ctx, "BYE Disconnected for inactivity.");
}

static void
i_ended(struct session *ss, const char *reason)
{
	struct imap_client *c = ss->ctx;

	/* A client that just goes away before logging in is not news. */
	if (strcmp(reason, "eof") == 0 && c->user == NULL)
		reason = NULL;
	imap_log_end(c, reason);
	imap_set_state(c, IMAP_S_LOGOUT);
}

static void
i_shutdown(struct session *ss)
{
	struct imap_client *c = ss->ctx;

	if (c->state == IMAP_S_LOGOUT)
		return;
	imap_untagged(c, "BYE Server shutting down.");
	imap_log_end(c, "shutdown");
	imap_close(c);
}

static void
i_free(struct session *ss)
{
	struct imap_client *c = ss->ctx;

	imap_stream_stop(c);
	imap_idle_free(c);
	imap_notify_free(c);
	imap_append_abort(c);
	imap_search_reset(c);
	imap_mailbox_free(c);
	login_step_clear(&c->login_step);
	imap_parser_free(&c->parser);
	if (c->user != NULL)
		imap_user_release(c->user);	/* counted at login (cmd_auth.c) */
	free(c->tag);
	free(c->user);
	free(c);
}

static const struct session_proto imap_proto = {
	.name = "imapd",
	.starttls_verb = "STARTTLS",
	.flags = SESSION_F_DEFER_CB,
	.in_max = IMAP_IN_MAX,
	.out_high = IMAP_OUT_HIGH,
	.refuse = {
		[SESSION_R_SHUTDOWN] = "* BYE [UNAVAILABLE] Server shutting down.\r\n",
		[SESSION_R_SERVICE] = "* BYE [UNAVAILABLE] Too many connections, try again later.\r\n",
		[SESSION_R_CLIENT] = "* BYE [UNAVAILABLE] Too many connections from your address.\r\n",
	},
	.attach = i_attach,
	.start = i_start,
	.line = i_line,
	.bad_line = i_bad_line,
	.raw = i_raw,
	.drain = i_drain,
	.timeout = i_timeout,
	.ended = i_ended,
	.shutdown = i_shutdown,
	.free = i_free,
};

void
imapd_accept(const struct service *svc, evutil_socket_t fd, const struct sockaddr *sa,
    socklen_t salen, void *arg)
{
	const struct conf	*c = conf_current();
	struct session_limits	 lim = {
		.max_service = service_max_sessions(svc, c),
		.max_client = (unsigned)conf_int(c, CK_IMAP_CLIENT_CONNECTION_COUNT_LIMIT),
		.handshake_ms = (unsigned)conf_int(c, CK_TLS_HANDSHAKE_TIMEOUT) * 1000,
		.login_ms = (unsigned)conf_int(c, CK_LOGIN_TIMEOUT) * 1000,
		.idle_ms = (unsigned)conf_int(c, CK_LOGIN_TIMEOUT) * 1000,
		.line_max = SASL_RESPONSE_MAX,
		.line_cap = SASL_RESPONSE_MAX,
	};

	(void)session_accept(arg, svc, &imap_proto, &lim, fd, sa, salen);
}
