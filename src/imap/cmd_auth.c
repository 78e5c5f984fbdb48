/*
 * Commands of the not-authenticated state and those valid in any state
 * (RFC 3501 §6.1-6.2, RFC 9051 §6.1-6.2): CAPABILITY, NOOP, LOGOUT,
 * STARTTLS, LOGIN, AUTHENTICATE (RFC 4959 SASL-IR), and UNAUTHENTICATE
 * (RFC 8437) back to that state.  Logins go through the shared login step
 * (auth/login_step.h: worker-pool check, throttle delay, failure limit,
 * wiping); this file gives it IMAP's wording and response codes (RFC 5530).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/login_step.h"
#include "auth/sasl.h"
#include "imap/client.h"
#include "imap/userlimit.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/session.h"

void
imap_greeting(struct imap_client *c)
{
	struct buf b;

	buf_init(&b, 1024);
	imap_capabilities(c, &b);
	imap_untagged(c, "OK [CAPABILITY %s] letterbox ready.", buf_str(&b));
	buf_clear(&b);
}

void
cmd_capability(struct imap_client *c, const struct imap_cmd *cmd)
{
	struct buf b;

	if (cmd->nargs != 0) {
		imap_tagged(c, "BAD", "CAPABILITY takes no arguments.");
		return;
	}
	buf_init(&b, 1024);
	imap_capabilities(c, &b);
	imap_untagged(c, "CAPABILITY %s", buf_str(&b));
	buf_clear(&b);
	imap_tagged(c, "OK", "Capability completed.");
}

void
cmd_noop(struct imap_client *c, const struct imap_cmd *cmd)
{
	if (cmd->nargs != 0) {
		imap_tagged(c, "BAD", "NOOP takes no arguments.");
		return;
	}
	/* RFC 3501 6.1.2: in the selected state NOOP polls for updates. */
	if (c->state == IMAP_S_SELECTED) {
		imap_view_done(c, "OK", "NOOP completed.");
		return;
	}
	imap_tagged(c, "OK", "NOOP completed.");
}

void
cmd_logout(struct imap_client *c, const struct imap_cmd *cmd)
{
	if (cmd->nargs != 0) {
		imap_tagged(c, "BAD", "LOGOUT takes no arguments.");
		return;
	}
	imap_untagged(c, "BYE Logging out.");
	imap_tagged(c, "OK", "Logout completed.");
	imap_log_end(c, NULL);
	imap_close(c);
}

/* ---- STARTTLS (RFC 3501 §6.2.1, RFC 2595) ---- */

void
cmd_starttls(struct imap_client *c, const struct imap_cmd *cmd)
{
	if (cmd->nargs != 0) {
		imap_tagged(c, "BAD", "STARTTLS takes no arguments.");
		return;
	}
	if (imap_tls(c)) {
		imap_tagged(c, "BAD", "TLS is already active.");
		return;
	}
	if (!imap_tls_available(c)) {
		imap_tagged(c, "NO", "TLS is not available.");
		return;
	}
	imap_tagged(c, "OK", "Begin TLS negotiation now.");
	/* The read loop stops and calls imap_starttls_now() once this line is consumed. */
	c->starttls = true;
}

void
imap_starttls_now(struct imap_client *c)
{
	c->starttls = false;
	if (session_starttls(c->ss) < 0)
		return;
	/* RFC 3501 §6.2.1: forget what was learnt before TLS (capabilities). */
	login_step_clear(&c->login_step);
	imap_parser_reset(c->parser);
}

/* ---- the login step's IMAP wording ---- */

static void
login_challenge(struct session *ss, const char *b64)
{
	struct imap_client *c = ss->ctx;

	imap_sasl_lines(c, true);
	imap_write(c, "+ ", 2);
	imap_write(c, b64, strlen(b64));
	imap_write(c, "\r\n", 2);
}

static void
login_success(struct session *ss, const char *canonical)
{
	struct imap_client	*c = ss->ctx;
	struct buf		 b;
	char			 tls[96];
	unsigned		 max = (unsigned)conf_int(conf_current(), CK_IMAP_USER_CONNECTION_LIMIT);

	if (!imap_user_take(canonical, max)) {
		/* Still not authenticated: the client may close or try later. */
		log_info("imapd sid=%s: login refused user=%s: user-connection-limit=%u", c->sid,
		    canonical, max);
		imap_tagged(c, "NO", "[LIMIT] Too many connections for this user (%u), try again"
		    " later.", max);
		imap_resume(c);
		return;
	}
	c->user = xstrdup(canonical);
	session_authenticated(ss);
	session_set_idle(ss, (unsigned)conf_int(conf_current(), CK_IMAP_IDLE_TIMEOUT) * 1000);
	imap_set_state(c, IMAP_S_AUTH);
	imap_apply_limits(c);
	session_tls_short(ss, tls, sizeof(tls));
	log_info("imapd sid=%s: login user=%s method=%s tls=%s", c->sid, c->user,
	    c->login_step.method != NULL ? c->login_step.method : "-", tls);
	/* RFC 3501 §6.2.3 / RFC 9051: the capabilities change after login; save a round trip. */
	buf_init(&b, 1024);
	imap_capabilities(c, &b);
	imap_tagged(c, "OK", "[CAPABILITY %s] Logged in.", buf_str(&b));
	buf_clear(&b);
	imap_resume(c);
}

static void
login_failure(struct session *ss, enum login_failure why)
{
	struct imap_client *c = ss->ctx;

	imap_sasl_lines(c, false);
	switch (why) {
	case LOGIN_FAILED:
		imap_tagged(c, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
		break;
	case LOGIN_TEMPFAIL:
		imap_tagged(c, "NO", "[UNAVAILABLE] Temporary authentication failure, try again later.");
		break;
	case LOGIN_CANCELLED:
		imap_tagged(c, "BAD", "Authentication cancelled.");
		break;
	}
}

const struct login_ops imap_login_ops = {
	.challenge = login_challenge,
	.success = login_success,
	.failure = login_failure,
};

static bool
refuse_plaintext(struct imap_client *c)
{
	if (imap_plaintext_ok(c))
		return false;
	imap_tagged(c, "NO", "[PRIVACYREQUIRED] Plaintext authentication disallowed on "
	    "non-secure (SSL/TLS) connections.");
	return true;
}

/* The password lives in the parser's arena; wipe it there too. */
static void
wipe_arg(const struct imap_arg *a)
{
	if (a != NULL && a->str != NULL)
		OPENSSL_cleanse((char *)a->str, a->len);
}

void
cmd_login(struct imap_client *c, const struct imap_cmd *cmd)
{
	const char	*user, *pass;
	size_t		 ulen, plen;
	char		*pw;

	if (cmd->nargs != 2 || !imap_arg_astring(&cmd->args[0], &user, &ulen) ||
	    !imap_arg_astring(&cmd->args[1], &pass, &plen)) {
		wipe_arg(cmd->nargs == 2 ? &cmd->args[1] : NULL);
		imap_tagged(c, "BAD", "LOGIN needs a user name and a password.");
		return;
	}
	if (refuse_plaintext(c)) {
		wipe_arg(&cmd->args[1]);
		return;
	}
	if (ulen == 0 || ulen > SASL_LOGIN_MAX || str_has_nul(user, ulen) ||
	    str_has_nul(pass, plen)) {
		wipe_arg(&cmd->args[1]);
		imap_tagged(c, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
		return;
	}
	pw = xstrndup(pass, plen);
	wipe_arg(&cmd->args[1]);
	/* The session waits; login_success / login_failure reply to this tag. */
	login_step_password(&c->login_step, "LOGIN", user, pw, plen);
	free(pw);
}

/* AUTHENTICATE mechanism [initial-response] (RFC 4959: "=" is an empty one). */
void
cmd_authenticate(struct imap_client *c, const struct imap_cmd *cmd)
{
	const char	*mech, *ir = NULL;
	size_t		 mlen, irlen = 0;
	enum sasl_mech	 m;

	if (cmd->nargs < 1 || cmd->nargs > 2 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    (cmd->nargs == 2 && !imap_arg_astring(&cmd->args[1], &ir, &irlen))) {
		imap_tagged(c, "BAD", "AUTHENTICATE needs a mechanism.");
		return;
	}
	mech = cmd->args[0].str;
	mlen = cmd->args[0].len;
	if (sasl_mech_parse(mech, mlen, &m) < 0) {
		imap_tagged(c, "NO", "Unsupported authentication mechanism.");
		return;
	}
	if (refuse_plaintext(c)) {
		wipe_arg(cmd->nargs == 2 ? &cmd->args[1] : NULL);
		return;
	}
	login_step_sasl_start(&c->login_step, m, ir, irlen);
	wipe_arg(cmd->nargs == 2 ? &cmd->args[1] : NULL);
}

/*
 * UNAUTHENTICATE (RFC 8437): back to the not-authenticated state on the
 * same connection, as if it had just been opened, except that TLS and
 * COMPRESS stay (§3).  Everything of the user goes: the selected mailbox
 * with its view and change watch, the saved SEARCH result, ENABLEd
 * extensions, the Maildir path, the name; the logout line is written as
 * for LOGOUT, so the next login gets its own.
 */
void
cmd_unauthenticate(struct imap_client *c, const struct imap_cmd *cmd)
{
	if (cmd->nargs != 0) {
		imap_tagged(c, "BAD", "UNAUTHENTICATE takes no arguments.");
		return;
	}
	imap_log_end(c, "unauthenticate");
	imap_search_reset(c);
	imap_mailbox_free(c);
	login_step_clear(&c->login_step);
	login_step_init(&c->login_step, c->ss, &imap_login_ops);
	xfree(&c->user);
	c->enabled = 0;
	c->logged = false;
	imap_set_state(c, IMAP_S_NOT_AUTH);
	imap_apply_limits(c);
	session_set_idle(c->ss, (unsigned)conf_int(conf_current(), CK_LOGIN_TIMEOUT) * 1000);
	imap_tagged(c, "OK", "Not authenticated any more.");
}
