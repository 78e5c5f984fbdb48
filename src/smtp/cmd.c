/*
 * SMTP commands (RFC 5321 4.1, ESMTP extensions): one handler per verb,
 * called with the argument text.  Handlers reply themselves; an async step
 * sets s->waiting and its completion replies and resumes (policy.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "auth/login.h"
#include "auth/throttle.h"
#include "lib/conf.h"
#include "lib/conf_check.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/server.h"
#include "net/tls.h"
#include "smtp/session.h"
#include "spool/spool.h"

static const char *
myhostname(void)
{
	return conf_str(conf_current(), CK_MYHOSTNAME);
}

void
smtpd_txn_reset(struct smtpd_session *s)
{
	size_t i;

	spool_abort(&s->w);
	for (i = 0; i < s->nrcpt; i++) {
		free(s->rcpts[i].addr);
		free(s->rcpts[i].key);
		free(s->rcpts[i].orcpt);
	}
	xfree(&s->rcpts);
	s->nrcpt = 0;
	s->rcpt_count = 0;
	s->rcpt_rejected = 0;
	s->have_mail = false;
	memset(&s->mail, 0, sizeof(s->mail));
	s->w_failed = false;
	s->size = 0;
	s->too_big = false;
	s->hdr_too_big = false;
	s->bdat_left = 0;
	s->bdat_last = false;
	s->bdat_started = false;
	s->received_hops = 0;
	s->hf_on = false;
	buf_reset(&s->out);
	buf_reset(&s->hf_out);
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
	return smtpd_srv(s)->tls != NULL && s->tls[0] == '\0' && s->l->mode != SMTPD_SUBMISSIONS;
}

static void
cmd_helo(struct smtpd_session *s, const char *args, size_t len, bool ehlo)
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
cmd_mail(struct smtpd_session *s, const char *args, size_t len)
{
	const char	*reply;
	int64_t		 limit = conf_int(conf_current(), CK_MESSAGE_SIZE_LIMIT);

	if (s->state == SMTPD_S_HELO) {
		smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->have_mail) {
		smtpd_reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (s->l->mode != SMTPD_MX && s->auth_user == NULL) {
		smtpd_reply(s, "530 5.7.0 Authentication required");
		return;
	}
	if (smtp_parse_mail(args, len, &s->mail, &reply) < 0) {
		smtpd_reply(s, "%s", reply);
		return;
	}
	if (!s->esmtp && (s->mail.size || s->mail.body != SMTP_BODY_7BIT || s->mail.smtputf8 ||
	    s->mail.ret || s->mail.envid[0])) {
		smtpd_reply(s, "555 5.5.4 ESMTP parameters need EHLO");
		return;
	}
	if (s->mail.size > (uint64_t)limit) {
		smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (!smtpd_queue_space_ok(s, s->mail.size)) {
		memset(&s->mail, 0, sizeof(s->mail));
		smtpd_reply(s, "452 4.3.1 Insufficient system storage");
		return;
	}
	if (s->l->mode != SMTPD_MX && s->mail.path[0] != '\0' &&
	    conf_bool(conf_current(), CK_SMTPD_SENDER_LOGIN_CHECK)) {
		smtpd_check_sender(s);		/* replies 250 or 553 when done */
		return;
	}
	s->have_mail = true;
	smtpd_set_state(s, SMTPD_S_RCPT);
	smtpd_reply(s, "250 2.1.0 Ok");
}

static void
cmd_rcpt(struct smtpd_session *s, const char *args, size_t len)
{
	struct smtp_rcpt	 r;
	const char		*reply;
	char			*key;

	if (!s->have_mail) {
		smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->rcpt_count >= (size_t)conf_int(conf_current(), CK_SMTPD_RECIPIENT_LIMIT)) {
		smtpd_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (smtp_parse_rcpt(args, len, s->mail.smtputf8, &r, &reply) < 0) {
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
		s->rcpt_count++;
		smtpd_reply(s, "250 2.1.5 Ok");
		return;
	}
	smtpd_check_rcpt(s, &r, key);	/* replies when the lookup is done */
}

static void
cmd_data(struct smtpd_session *s, const char *args, size_t len)
{
	if (len != 0) {
		smtpd_reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (!s->have_mail) {
		smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->bdat_started) {
		smtpd_reply(s, "503 5.5.1 Error: DATA after BDAT");
		return;
	}
	if (s->nrcpt == 0) {
		smtpd_reply(s, s->rcpt_rejected ? "554 5.5.1 Error: no valid recipients" :
		    "503 5.5.1 Error: need RCPT command");
		return;
	}
	if (s->mail.body == SMTP_BODY_BINARYMIME) {
		smtpd_reply(s, "503 5.5.1 Error: BINARYMIME requires BDAT");
		return;
	}
	if (smtpd_txn_begin(s) < 0) {
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		smtpd_txn_reset(s);
		return;
	}
	smtp_data_init(&s->dec);
	smtpd_set_state(s, SMTPD_S_DATA);
	smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void
cmd_bdat(struct smtpd_session *s, const char *args, size_t len)
{
	const char	*reply;
	uint64_t	 size;
	bool		 last;

	if (smtp_parse_bdat(args, len, &size, &last, &reply) < 0) {
		/* The chunk size is unknown, so the stream cannot be resynchronised. */
		smtpd_reply(s, "%s", reply);
		smtpd_close(s);
		return;
	}
	s->bdat_left = size;
	s->bdat_last = last;
	if (!s->have_mail || s->nrcpt == 0) {
		/* RFC 3030 2: the data is read and discarded, then the error. */
		s->w_failed = true;
		s->too_big = false;
		smtpd_set_state(s, SMTPD_S_BDAT);
		return;
	}
	if (!s->bdat_started) {
		s->bdat_started = true;
		if (smtpd_txn_begin(s) < 0)
			s->w_failed = true;
	}
	smtpd_set_state(s, SMTPD_S_BDAT);
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
	if (smtpd_srv(s)->tls == NULL) {
		smtpd_reply(s, "502 5.5.1 Error: STARTTLS not available (no certificate loaded)");
		return;
	}
	if (s->have_mail) {
		smtpd_reply(s, "503 5.5.1 Error: STARTTLS in a mail transaction");
		return;
	}
	smtpd_reply(s, "220 2.0.0 Ready to start TLS");
	smtpd_starttls(s);
	/* Port 25 is opportunistic: as Postfix, old TLS beats plaintext (smtpd_tls_protocols). */
	if (!s->closing && s->l->mode == SMTPD_MX && tls_server_min_version(s->bev,
	    conf_tls_min_minor(conf_str(conf_current(), CK_SMTPD_TLS_PROTOCOLS))) < 0)
		log_warnx("smtpd sid=%s: cannot apply smtpd_tls_protocols", s->sid);
}

/* ---- AUTH (RFC 4954) ---- */

static void
auth_fail_reply(struct smtpd_session *s)
{
	s->waiting = false;
	smtpd_reply(s, "%s", s->pending_reply);
	if (s->auth_failures >= (unsigned)conf_int(conf_current(), CK_AUTH_FAILURE_LIMIT)) {
		smtpd_reply(s, "421 4.7.0 %s Error: too many authentication failures", myhostname());
		smtpd_close(s);
		return;
	}
	smtpd_resume(s);
}

static void
auth_done(void *arg, enum auth_result r, const char *user)
{
	struct smtpd_session	*s = arg;
	const char		*login = sasl_login(&s->sasl);

	s->auth = NULL;
	if (r == AUTH_OK) {
		auth_throttle_success(s->addr);
		s->auth_user = xstrdup(user);
		log_info("smtpd sid=%s: login user=%s method=%s tls=%s", s->sid, user,
		    sasl_mech_name(s->sasl.mech), s->tls[0] ? "yes" : "no");
		sasl_clear(&s->sasl);
		smtpd_reply(s, "235 2.7.0 Authentication successful");
		smtpd_resume(s);
		return;
	}
	if (r == AUTH_TEMPFAIL) {
		sasl_clear(&s->sasl);
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure");
		smtpd_resume(s);
		return;
	}
	auth_log_failure(s->sid, smtpd_mode_name(s->l->mode), s->addr, sasl_mech_name(s->sasl.mech),
	    login ? login : "", login ? strlen(login) : 0);
	sasl_clear(&s->sasl);
	s->auth_failures++;
	snprintf(s->pending_reply, sizeof(s->pending_reply), "535 5.7.8 Error: authentication failed");
	smtpd_after(s, auth_throttle_fail(s->addr), auth_fail_reply);
}

static void
auth_step_result(struct smtpd_session *s, enum sasl_status st, const char *challenge, const char *err)
{
	switch (st) {
	case SASL_CONTINUE:
		smtpd_set_state(s, SMTPD_S_AUTH);
		smtpd_reply(s, "334 %s", challenge);
		return;
	case SASL_CANCEL:
		sasl_clear(&s->sasl);
		smtpd_set_state(s, SMTPD_S_MAIL);
		smtpd_reply(s, "501 5.7.0 Authentication aborted");
		return;
	case SASL_ERROR:
		sasl_clear(&s->sasl);
		smtpd_set_state(s, SMTPD_S_MAIL);
		smtpd_reply(s, "501 5.5.2 %s", err ? err : "Bad AUTH data");
		return;
	case SASL_DONE:
		smtpd_set_state(s, SMTPD_S_MAIL);
		s->waiting = true;
		s->auth = auth_login_async(smtpd_srv(s), sasl_login(&s->sasl), sasl_password(&s->sasl),
		    s->addr, smtpd_mode_name(s->l->mode), auth_done, s);
		return;
	}
}

static void
cmd_auth(struct smtpd_session *s, const char *args, size_t len)
{
	enum sasl_mech	 mech;
	const char	*sp = memchr(args, ' ', len), *challenge = NULL, *err = NULL;
	size_t		 ml = sp ? (size_t)(sp - args) : len;
	enum sasl_status st;

	if (s->state == SMTPD_S_HELO || !s->esmtp) {
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
	if (s->have_mail) {
		smtpd_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	if (sasl_mech_parse(args, ml, &mech) < 0) {
		smtpd_reply(s, "504 5.5.4 Unrecognized authentication mechanism");
		return;
	}
	sasl_init(&s->sasl, mech);
	st = sasl_start(&s->sasl, sp ? sp + 1 : NULL, sp ? len - ml - 1 : 0, &challenge, &err);
	auth_step_result(s, st, challenge, err);
}

void
smtpd_auth_line(struct smtpd_session *s, const char *line, size_t len)
{
	const char	*challenge = NULL, *err = NULL;
	enum sasl_status st = sasl_step(&s->sasl, line, len, &challenge, &err);

	auth_step_result(s, st, challenge, err);
}

void
smtpd_dispatch(struct smtpd_session *s, const char *line, size_t len)
{
	const char	*args;
	size_t		 alen;
	enum smtp_verb	 v;

	if (smtpd_error_delay(s, line, len))
		return;		/* dispatched again after smtpd_error_sleep_time */
	v = smtp_parse_verb(line, len, &args, &alen);
	switch (v) {
	case SMTP_V_HELO:
		cmd_helo(s, args, alen, false);
		break;
	case SMTP_V_EHLO:
		cmd_helo(s, args, alen, true);
		break;
	case SMTP_V_MAIL:
		cmd_mail(s, args, alen);
		break;
	case SMTP_V_RCPT:
		cmd_rcpt(s, args, alen);
		break;
	case SMTP_V_DATA:
		cmd_data(s, args, alen);
		break;
	case SMTP_V_BDAT:
		cmd_bdat(s, args, alen);
		break;
	case SMTP_V_RSET:
		smtpd_txn_reset(s);
		if (s->state != SMTPD_S_HELO)
			smtpd_set_state(s, SMTPD_S_MAIL);
		smtpd_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_V_NOOP:
		smtpd_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_V_QUIT:
		smtpd_reply(s, "221 2.0.0 Bye");
		smtpd_close(s);
		break;
	case SMTP_V_HELP:
		smtpd_reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS AUTH");
		break;
	case SMTP_V_VRFY:
		if (alen == 0)
			smtpd_reply(s, "501 5.5.4 Syntax: VRFY address");
		else	/* RFC 5321 3.5.3: no user enumeration */
			smtpd_reply(s, "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
		break;
	case SMTP_V_EXPN:
		smtpd_reply(s, "502 5.5.1 Error: EXPN not available");
		break;
	case SMTP_V_STARTTLS:
		cmd_starttls(s, args, alen);
		break;
	case SMTP_V_AUTH:
		cmd_auth(s, args, alen);
		break;
	case SMTP_V_HTTP:
		log_info("smtpd sid=%s: HTTP command from a web client: closing", s->sid);
		smtpd_reply(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
		smtpd_close(s);
		break;
	case SMTP_V_UNKNOWN:
		smtpd_reply(s, "502 5.5.2 Error: command not recognized");
		break;
	}
}
