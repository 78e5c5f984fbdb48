/*
 * SMTP commands (RFC 5321 4.1, ESMTP extensions) as one table: verb,
 * states it is valid in, handler.  Handlers reply themselves; an async
 * step makes the session wait (session_wait) and its completion replies
 * and resumes (policy.c, txn.c).  AUTH goes through the shared login step
 * (auth/login_step.h); this file gives it SMTP's wording (RFC 4954).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/login_step.h"
#include "lib/conf.h"
#include "lib/conf_check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "net/server.h"
#include "net/session.h"
#include "smtp/session.h"

#define ST(x)		(1u << (x))
#define IN_HELO		ST(SMTPD_S_HELO)
#define IN_MAIL		ST(SMTPD_S_MAIL)
#define IN_RCPT		ST(SMTPD_S_RCPT)
#define ANY		(IN_HELO | IN_MAIL | IN_RCPT)

struct smtpd_cmd {
	const char	*verb;
	unsigned	 states;
	void		(*fn)(struct smtpd_session *s, const char *args, size_t len);
	/* The reply outside states (before EHLO: "send HELO/EHLO first"). */
	const char	*wrong_state;
};

static const char *
myhostname(void)
{
	return conf_str(conf_current(), CK_MYHOSTNAME);
}

void
smtpd_txn_reset(struct smtpd_session *s)
{
	smtpd_txn_clear(&s->txn);
	if (s->state == SMTPD_S_RCPT || s->state == SMTPD_S_DATA || s->state == SMTPD_S_BDAT)
		smtpd_set_state(s, SMTPD_S_MAIL);
}

/* TLS is available here and AUTH may be offered (STARTTLS done, or plaintext allowed). */
static bool
auth_offered(const struct smtpd_session *s)
{
	return s->tls[0] != '\0' || !conf_bool(conf_current(), CK_DISABLE_PLAINTEXT_AUTH);
}

static bool
starttls_offered(const struct smtpd_session *s)
{
	return s->ss->srv->tls != NULL && s->tls[0] == '\0' && s->mode != SMTPD_SUBMISSIONS;
}

static void
helo(struct smtpd_session *s, const char *args, size_t len, bool ehlo)
{
	const struct conf *c = conf_current();

	if (len == 0 || len >= sizeof(s->helo) || memchr(args, ' ', len) != NULL) {
		smtpd_reply(s, "501 5.5.4 Syntax: %s hostname", ehlo ? "EHLO" : "HELO");
		return;
	}
	memcpy(s->helo, args, len);
	s->helo[len] = '\0';
	s->esmtp = ehlo;
	smtpd_txn_reset(s);
	smtpd_set_state(s, SMTPD_S_MAIL);
	if (!ehlo) {
		smtpd_reply(s, "250 %s", myhostname());
		return;
	}
	smtpd_reply(s, "250-%s", myhostname());
	smtpd_reply(s, "250-PIPELINING");
	smtpd_reply(s, "250-SIZE %lld", (long long)conf_int(c, CK_MESSAGE_SIZE_LIMIT));
	if (starttls_offered(s))
		smtpd_reply(s, "250-STARTTLS");
	if (auth_offered(s)) {
		smtpd_reply(s, "250-AUTH %s", SASL_MECHS);
		if (conf_bool(c, CK_BROKEN_SASL_AUTH_CLIENTS))
			smtpd_reply(s, "250-AUTH=%s", SASL_MECHS);
	}
	smtpd_reply(s, "250-ENHANCEDSTATUSCODES");
	smtpd_reply(s, "250-8BITMIME");
	smtpd_reply(s, "250-BINARYMIME");
	smtpd_reply(s, "250-CHUNKING");
	smtpd_reply(s, "250-SMTPUTF8");
	smtpd_reply(s, "250 DSN");
}

static void
cmd_helo(struct smtpd_session *s, const char *args, size_t len)
{
	helo(s, args, len, false);
}

static void
cmd_ehlo(struct smtpd_session *s, const char *args, size_t len)
{
	helo(s, args, len, true);
}

static void
cmd_mail(struct smtpd_session *s, const char *args, size_t len)
{
	struct smtpd_txn	*t = &s->txn;
	const char		*reply;
	int64_t			 limit = conf_int(conf_current(), CK_MESSAGE_SIZE_LIMIT);

	if (s->mode != SMTPD_MX && s->auth_user == NULL) {
		smtpd_reply(s, "530 5.7.0 Authentication required");
		return;
	}
	if (smtp_parse_mail(args, len, &t->mail, &reply) < 0) {
		smtpd_reply(s, "%s", reply);
		return;
	}
	if (!s->esmtp && (t->mail.size || t->mail.body != SMTP_BODY_7BIT || t->mail.smtputf8 ||
	    t->mail.ret || t->mail.envid[0])) {
		smtpd_reply(s, "555 5.5.4 ESMTP parameters need EHLO");
		return;
	}
	if (t->mail.size > (uint64_t)limit) {
		smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (!smtpd_queue_space_ok(s, t->mail.size)) {
		memset(&t->mail, 0, sizeof(t->mail));
		smtpd_reply(s, "452 4.3.1 Insufficient system storage");
		return;
	}
	if (s->mode != SMTPD_MX && t->mail.path[0] != '\0' &&
	    conf_bool(conf_current(), CK_SMTPD_SENDER_LOGIN_CHECK)) {
		smtpd_check_sender(s);		/* replies 250 or 553 when done */
		return;
	}
	t->have_mail = true;
	smtpd_set_state(s, SMTPD_S_RCPT);
	smtpd_reply(s, "250 2.1.0 Ok");
}

static void
cmd_rcpt(struct smtpd_session *s, const char *args, size_t len)
{
	struct smtpd_txn	*t = &s->txn;
	struct smtp_rcpt	 r;
	const char		*reply;
	char			*key;

	if (t->rcpt_count >= (size_t)conf_int(conf_current(), CK_SMTPD_RECIPIENT_LIMIT)) {
		smtpd_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (smtp_parse_rcpt(args, len, t->mail.smtputf8, &r, &reply) < 0) {
		smtpd_reply(s, "%s", reply);
		return;
	}
	if (smtpd_unknown_rcpt_blocked(s))
		return;
	key = smtpd_rcpt_key(r.path);
	if (smtpd_rcpt_seen(s, key)) {
		/* Issue 10: one copy per address; the first RCPT's NOTIFY/ORCPT stand. */
		log_debug("smtpd sid=%s: duplicate recipient <%s> merged", s->sid, key);
		free(key);
		t->rcpt_count++;
		smtpd_reply(s, "250 2.1.5 Ok");
		return;
	}
	smtpd_check_rcpt(s, &r, key);	/* replies when the lookup is done */
}

static void
cmd_data(struct smtpd_session *s, const char *args, size_t len)
{
	struct smtpd_txn *t = &s->txn;

	if (len != 0) {
		smtpd_reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (t->bdat_started) {
		smtpd_reply(s, "503 5.5.1 Error: DATA after BDAT");
		return;
	}
	if (t->nrcpt == 0) {
		smtpd_reply(s, t->rcpt_rejected ? "554 5.5.1 Error: no valid recipients" :
		    "503 5.5.1 Error: need RCPT command");
		return;
	}
	if (t->mail.body == SMTP_BODY_BINARYMIME) {
		smtpd_reply(s, "503 5.5.1 Error: BINARYMIME requires BDAT");
		return;
	}
	if (smtpd_txn_begin(s) < 0) {
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		smtpd_txn_reset(s);
		return;
	}
	smtp_data_init(&t->dec);
	smtpd_set_state(s, SMTPD_S_DATA);
	/* Until CRLF.CRLF the input goes to smtpd_data_input(); it switches back. */
	session_read_raw(s->ss, SIZE_MAX);
	smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void
cmd_bdat(struct smtpd_session *s, const char *args, size_t len)
{
	struct smtpd_txn	*t = &s->txn;
	const char		*reply;
	uint64_t		 size;
	bool			 last;

	if (smtp_parse_bdat(args, len, &size, &last, &reply) < 0) {
		/* The chunk size is unknown, so the stream cannot be resynchronised. */
		smtpd_reply(s, "%s", reply);
		smtpd_close(s);
		return;
	}
	t->bdat_left = size;
	t->bdat_last = last;
	if (!t->have_mail || t->nrcpt == 0) {
		/* RFC 3030 2: the data is read and discarded, then the error. */
		t->w_failed = true;
		t->too_big = false;
	} else if (!t->bdat_started) {
		t->bdat_started = true;
		if (smtpd_txn_begin(s) < 0)
			t->w_failed = true;
	}
	smtpd_set_state(s, SMTPD_S_BDAT);
	if (size == 0)
		smtpd_bdat_end(s);
	else
		session_read_raw(s->ss, size);
}

static void
cmd_rset(struct smtpd_session *s, const char *args, size_t len)
{
	smtpd_txn_reset(s);
	smtpd_reply(s, "250 2.0.0 Ok");
}

static void
cmd_noop(struct smtpd_session *s, const char *args, size_t len)
{
	smtpd_reply(s, "250 2.0.0 Ok");
}

static void
cmd_quit(struct smtpd_session *s, const char *args, size_t len)
{
	smtpd_reply(s, "221 2.0.0 Bye");
	smtpd_close(s);
}

static void
cmd_help(struct smtpd_session *s, const char *args, size_t len)
{
	smtpd_reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS AUTH");
}

static void
cmd_vrfy(struct smtpd_session *s, const char *args, size_t len)
{
	if (len == 0)
		smtpd_reply(s, "501 5.5.4 Syntax: VRFY address");
	else	/* RFC 5321 3.5.3: no user enumeration */
		smtpd_reply(s, "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
}

static void
cmd_expn(struct smtpd_session *s, const char *args, size_t len)
{
	smtpd_reply(s, "502 5.5.1 Error: EXPN not available");
}

static void
cmd_starttls(struct smtpd_session *s, const char *args, size_t len)
{
	if (len != 0) {
		smtpd_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->tls[0] != '\0') {
		smtpd_reply(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (s->ss->srv->tls == NULL) {
		smtpd_reply(s, "502 5.5.1 Error: STARTTLS not available (no certificate loaded)");
		return;
	}
	smtpd_reply(s, "220 2.0.0 Ready to start TLS");
	if (session_starttls(s->ss) < 0)
		return;
	/* RFC 3207 4.2: forget everything learned before TLS. */
	s->esmtp = false;
	s->helo[0] = '\0';
	xfree(&s->auth_user);
	login_step_clear(&s->login);
	smtpd_txn_reset(s);
	smtpd_set_state(s, SMTPD_S_HELO);
	/* Port 25 is opportunistic: as Postfix, old TLS beats plaintext (smtpd_tls_protocols). */
	if (s->mode == SMTPD_MX && session_tls_min_version(s->ss,
	    conf_tls_min_minor(conf_str(conf_current(), CK_SMTPD_TLS_PROTOCOLS))) < 0)
		log_warnx("smtpd sid=%s: cannot apply smtpd_tls_protocols", s->sid);
}

static void
cmd_http(struct smtpd_session *s, const char *args, size_t len)
{
	log_info("smtpd sid=%s: HTTP command from a web client: closing", s->sid);
	smtpd_reply(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
	smtpd_close(s);
}

/* ---- AUTH (RFC 4954) through the shared login step ---- */

static void
login_challenge(struct session *ss, const char *b64)
{
	smtpd_set_state(ss->ctx, SMTPD_S_AUTH);
	smtpd_reply(ss->ctx, "334 %s", b64);
}

static void
login_success(struct session *ss, const char *canonical)
{
	struct smtpd_session *s = ss->ctx;

	smtpd_set_state(s, SMTPD_S_MAIL);
	s->auth_user = xstrdup(canonical);
	log_info("smtpd sid=%s: login user=%s method=%s tls=%s", s->sid, canonical,
	    s->login.method, s->tls[0] ? "yes" : "no");
	smtpd_reply(s, "235 2.7.0 Authentication successful");
	session_resume(ss);
}

static void
login_failure(struct session *ss, enum login_failure why)
{
	struct smtpd_session *s = ss->ctx;

	smtpd_set_state(s, SMTPD_S_MAIL);
	switch (why) {
	case LOGIN_FAILED:
		smtpd_reply(s, "535 5.7.8 Error: authentication failed");
		/* The step closes at the limit; the client hears why first. */
		if ((int64_t)s->login.failures >= conf_int(conf_current(), CK_AUTH_FAILURE_LIMIT)) {
			log_info("smtpd sid=%s: too many authentication failures", s->sid);
			smtpd_reply(s, "421 4.7.0 %s Error: too many authentication failures",
			    myhostname());
		}
		break;
	case LOGIN_TEMPFAIL:
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure");
		break;
	case LOGIN_CANCELLED:
		smtpd_reply(s, "501 5.7.0 Authentication aborted");
		break;
	}
}

/* Postfix: undecodable SASL data is a syntax error, answered at once and not counted. */
static void
login_malformed(struct session *ss, const char *why)
{
	smtpd_set_state(ss->ctx, SMTPD_S_MAIL);
	smtpd_reply(ss->ctx, "501 5.5.2 %s", why != NULL ? why : "Bad AUTH data");
}

const struct login_ops smtpd_login_ops = {
	.challenge = login_challenge,
	.success = login_success,
	.failure = login_failure,
	.malformed = login_malformed,
};

static void
cmd_auth(struct smtpd_session *s, const char *args, size_t len)
{
	enum sasl_mech	 mech;
	const char	*sp = memchr(args, ' ', len);
	size_t		 ml = sp ? (size_t)(sp - args) : len;

	if (!s->esmtp) {
		smtpd_reply(s, "503 5.5.1 Error: send EHLO first");
		return;
	}
	if (!auth_offered(s)) {
		smtpd_reply(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		return;
	}
	if (s->auth_user != NULL) {
		smtpd_reply(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (sasl_mech_parse(args, ml, &mech) < 0) {
		smtpd_reply(s, "504 5.5.4 Unrecognized authentication mechanism");
		return;
	}
	if (sp != NULL)
		login_step_sasl_start(&s->login, mech, sp + 1, len - ml - 1);
	else
		login_step_sasl_start(&s->login, mech, NULL, 0);
}

/* ---- the table ---- */

static const struct smtpd_cmd cmds[] = {
	[SMTP_V_HELO] = { "HELO", ANY, cmd_helo, NULL },
	[SMTP_V_EHLO] = { "EHLO", ANY, cmd_ehlo, NULL },
	[SMTP_V_MAIL] = { "MAIL", IN_MAIL, cmd_mail, "503 5.5.1 Error: nested MAIL command" },
	[SMTP_V_RCPT] = { "RCPT", IN_RCPT, cmd_rcpt, "503 5.5.1 Error: need MAIL command" },
	[SMTP_V_DATA] = { "DATA", IN_RCPT, cmd_data, "503 5.5.1 Error: need MAIL command" },
	/* RFC 3030 2: a chunk out of sequence is still read, then refused. */
	[SMTP_V_BDAT] = { "BDAT", ANY, cmd_bdat, NULL },
	[SMTP_V_RSET] = { "RSET", ANY, cmd_rset, NULL },
	[SMTP_V_NOOP] = { "NOOP", ANY, cmd_noop, NULL },
	[SMTP_V_QUIT] = { "QUIT", ANY, cmd_quit, NULL },
	[SMTP_V_HELP] = { "HELP", ANY, cmd_help, NULL },
	[SMTP_V_VRFY] = { "VRFY", ANY, cmd_vrfy, NULL },
	[SMTP_V_EXPN] = { "EXPN", ANY, cmd_expn, NULL },
	[SMTP_V_STARTTLS] = { "STARTTLS", IN_HELO | IN_MAIL, cmd_starttls,
	    "503 5.5.1 Error: STARTTLS in a mail transaction" },
	[SMTP_V_AUTH] = { "AUTH", IN_MAIL, cmd_auth, "503 5.5.1 Error: MAIL transaction in progress" },
	[SMTP_V_HTTP] = { "GET", ANY, cmd_http, NULL },
};

void
smtpd_dispatch(struct smtpd_session *s, const char *line, size_t len)
{
	const struct smtpd_cmd	*c;
	const char		*args;
	size_t			 alen;
	enum smtp_verb		 v;

	if (smtpd_error_delay(s, line, len))
		return;		/* dispatched again after smtpd_error_sleep_time */
	v = smtp_parse_verb(line, len, &args, &alen);
	if ((size_t)v >= sizeof(cmds) / sizeof(cmds[0]) || cmds[v].fn == NULL) {
		smtpd_reply(s, "502 5.5.2 Error: command not recognized");
		return;
	}
	c = &cmds[v];
	if ((c->states & ST(s->state)) == 0) {
		smtpd_reply(s, "%s", s->state == SMTPD_S_HELO ? "503 5.5.1 Error: send HELO/EHLO first" :
		    c->wrong_state);
		return;
	}
	c->fn(s, args, alen);
}
