/*
 * The POP3 verbs (RFC 1939 §4-7, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034
 * AUTH) as one table: verb, states it is valid in, handler.  Logins are
 * checked on the worker pool (auth/login.h); a failure is answered only
 * after the per-client throttle delay, and auth_failure_limit failures
 * end the session.  Response codes per RFC 2449 §8 and RFC 3206.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <event2/event.h>

#include "auth/login.h"
#include "auth/sasl.h"
#include "auth/throttle.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/listen.h"
#include "net/server.h"
#include "pop3/session.h"

#define ST(x)		(1u << (x))
#define IN_AUTH		ST(POP3_S_AUTH)
#define IN_TRANS	ST(POP3_S_TRANS)

struct pop3_cmd {
	const char	*verb;
	unsigned	 states;
	void		(*fn)(struct pop3_session *s, const char *arg, size_t len);
};

static void
wipe(char *p, size_t n)
{
	if (p != NULL)
		OPENSSL_cleanse(p, n);
}

static bool
plaintext_ok(struct pop3_session *s)
{
	return pop3_tls(s) || !conf_bool(conf_current(), "disable_plaintext_auth");
}

/* A bad command: reply, and close once the client keeps at it. */
static void
bad(struct pop3_session *s, const char *text)
{
	pop3_reply(s, "-ERR %s", text);
	if (++s->errors >= POP3_ERROR_LIMIT) {
		log_info("pop3d sid=%s: too many errors, closing", s->sid);
		pop3_close(s);
	}
}

void
pop3_greeting(struct pop3_session *s)
{
	pop3_reply(s, "+OK letterbox ready.");
}

/* Message number argument: 1..nmsgs, not deleted.  Returns the index or -1 (replied). */
static long
msgno(struct pop3_session *s, const char *arg, size_t len)
{
	uint64_t n;

	if (parse_u64(arg, len, UINT32_MAX, &n) < 0 || n == 0) {
		bad(s, "Invalid message number.");
		return -1;
	}
	if (n > s->nmsgs) {
		pop3_reply(s, "-ERR There's no message %llu.", (unsigned long long)n);
		return -1;
	}
	if (s->msgs[n - 1].deleted) {
		pop3_reply(s, "-ERR Message is deleted.");
		return -1;
	}
	return (long)(n - 1);
}

/* ---------------------------------------------------------------- AUTHORIZATION */

static void
cmd_capa(struct pop3_session *s, const char *arg, size_t len)
{
	pop3_reply(s, "+OK Capability list follows");
	pop3_reply(s, "TOP");
	pop3_reply(s, "UIDL");
	pop3_reply(s, "RESP-CODES");
	pop3_reply(s, "AUTH-RESP-CODE");
	pop3_reply(s, "PIPELINING");
	if (s->state == POP3_S_AUTH) {
		if (plaintext_ok(s)) {
			pop3_reply(s, "USER");
			pop3_reply(s, "SASL " SASL_MECHS);
		}
		if (!pop3_tls(s) && s->srv->tls != NULL)
			pop3_reply(s, "STLS");
	}
	pop3_reply(s, "IMPLEMENTATION letterbox");
	pop3_reply(s, ".");
}

static void
cmd_stls(struct pop3_session *s, const char *arg, size_t len)
{
	if (pop3_tls(s)) {
		bad(s, "TLS is already active.");
		return;
	}
	if (s->srv->tls == NULL) {
		bad(s, "TLS is not available.");
		return;
	}
	pop3_reply(s, "+OK Begin TLS negotiation now.");
	(void)pop3_starttls(s);
}

static void
refuse_plaintext(struct pop3_session *s)
{
	bad(s, "[AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.");
}

static void
cmd_user(struct pop3_session *s, const char *arg, size_t len)
{
	if (!plaintext_ok(s)) {
		refuse_plaintext(s);
		return;
	}
	if (len == 0 || len > SASL_LOGIN_MAX || str_has_nul(arg, len)) {
		bad(s, "Invalid user name.");
		return;
	}
	free(s->user);
	s->user = xstrndup(arg, len);
	/* Always +OK: the answer must not tell which users exist. */
	pop3_reply(s, "+OK");
}

static void	auth_done(void *arg, enum auth_result r, const char *canonical);

/* Hand login/password to the worker pool; the session waits. */
static void
start_login(struct pop3_session *s, const char *login, const char *password, const char *method)
{
	s->method = method;
	free(s->tried_user);
	s->tried_user = xstrdup(login);
	s->waiting = true;
	s->auth = auth_login_async(s->srv, login, password, s->rip, s->svc->name, auth_done, s);
}

/* A failed login: log it, and answer only after the throttle delay. */
static void
login_failed(struct pop3_session *s, const char *user)
{
	unsigned	ms;
	struct timeval	tv;

	auth_log_failure(s->sid, s->svc->name, s->rip, s->method ? s->method : "-",
	    user, user ? strlen(user) : 0);
	s->auth_failures++;
	ms = auth_throttle_fail(s->rip);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	s->waiting = true;
	evtimer_add(s->ev_delay, &tv);
}

void
pop3_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pop3_session *s = arg;

	if (s->state == POP3_S_CLOSING)
		return;
	pop3_reply(s, "-ERR [AUTH] Authentication failed.");
	if ((int64_t)s->auth_failures >= conf_int(conf_current(), "auth_failure_limit")) {
		log_info("pop3d sid=%s: disconnect reason=auth-failure-limit failures=%u",
		    s->sid, s->auth_failures);
		pop3_close(s);
		return;
	}
	s->waiting = false;
	pop3_resume(s);
}

static void
auth_done(void *arg, enum auth_result r, const char *canonical)
{
	struct pop3_session *s = arg;

	s->auth = NULL;
	switch (r) {
	case AUTH_OK:
		auth_throttle_success(s->rip);
		s->login = xstrdup(canonical);
		/* Still waiting: the maildrop is opened and locked on a worker. */
		pop3_maildrop_open(s);
		return;
	case AUTH_TEMPFAIL:
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary authentication failure, try again later.");
		s->waiting = false;
		pop3_resume(s);
		return;
	case AUTH_FAIL:
		login_failed(s, s->tried_user);
		return;
	}
}

static void
cmd_pass(struct pop3_session *s, const char *arg, size_t len)
{
	char *pw;

	if (!plaintext_ok(s)) {
		refuse_plaintext(s);
		return;
	}
	if (s->user == NULL) {
		bad(s, "No user name given.");
		return;
	}
	if (str_has_nul(arg, len)) {
		bad(s, "Invalid password.");
		return;
	}
	pw = xstrndup(arg, len);
	start_login(s, s->user, pw, "USER");
	wipe(pw, len);
	free(pw);
	free(s->user);
	s->user = NULL;
}

/* AUTH without argument (RFC 1734, still sent by old clients): the mechanism list. */
static void
auth_list(struct pop3_session *s)
{
	pop3_reply(s, "+OK");
	if (plaintext_ok(s)) {
		pop3_reply(s, "PLAIN");
		pop3_reply(s, "LOGIN");
	}
	pop3_reply(s, ".");
}

/* Act on one SASL step's result. */
static void
sasl_result(struct pop3_session *s, enum sasl_status st, const char *challenge, const char *err)
{
	switch (st) {
	case SASL_CONTINUE:
		pop3_set_state(s, POP3_S_SASL);
		pop3_reply(s, "+ %s", challenge);
		return;
	case SASL_DONE:
		pop3_set_state(s, POP3_S_AUTH);
		start_login(s, sasl_login(&s->sasl), sasl_password(&s->sasl), s->method);
		sasl_clear(&s->sasl);
		return;
	case SASL_CANCEL:
		pop3_set_state(s, POP3_S_AUTH);
		sasl_clear(&s->sasl);
		bad(s, "Authentication cancelled.");
		return;
	case SASL_ERROR:
		pop3_set_state(s, POP3_S_AUTH);
		log_info("pop3d sid=%s: AUTH %s: %s", s->sid, s->method, err);
		login_failed(s, s->sasl.login);
		sasl_clear(&s->sasl);
		return;
	}
}

static void
cmd_auth(struct pop3_session *s, const char *arg, size_t len)
{
	const char		*sp, *ch, *err;
	size_t			 mlen;
	enum sasl_mech		 m;
	enum sasl_status	 st;

	if (len == 0) {
		auth_list(s);
		return;
	}
	if (!plaintext_ok(s)) {
		refuse_plaintext(s);
		return;
	}
	sp = memchr(arg, ' ', len);
	mlen = sp != NULL ? (size_t)(sp - arg) : len;
	if (sasl_mech_parse(arg, mlen, &m) < 0) {
		bad(s, "Unsupported authentication mechanism.");
		return;
	}
	sasl_clear(&s->sasl);
	sasl_init(&s->sasl, m);
	s->method = sasl_mech_name(m);
	if (sp != NULL)
		st = sasl_start(&s->sasl, sp + 1, len - mlen - 1, &ch, &err);
	else
		st = sasl_start(&s->sasl, NULL, 0, &ch, &err);
	sasl_result(s, st, ch, err);
}

void
pop3_sasl_line(struct pop3_session *s, const char *line, size_t len)
{
	const char		*ch, *err;
	enum sasl_status	 st;

	st = sasl_step(&s->sasl, line, len, &ch, &err);
	/* The response held credentials: do not keep them in the line buffer. */
	wipe(s->line.data, s->line.len);
	sasl_result(s, st, ch, err);
}

static void
cmd_quit(struct pop3_session *s, const char *arg, size_t len)
{
	size_t i;

	if (s->state == POP3_S_TRANS) {
		for (i = 0; i < s->nmsgs; i++)
			if (s->msgs[i].deleted)
				break;
		if (i < s->nmsgs) {
			/* RFC 1939 §6: the UPDATE state; the reply waits for the unlinks. */
			pop3_set_state(s, POP3_S_UPDATE);
			s->waiting = true;
			pop3_maildrop_update(s);
			return;
		}
		log_info("pop3d sid=%s: logout user=%s retr=%u top=%u dele=0 bytes=%llu", s->sid,
		    s->login, s->nretr, s->ntop, (unsigned long long)s->bytes_out);
	} else
		log_info("pop3d sid=%s: disconnect reason=quit", s->sid);
	pop3_reply(s, "+OK Logging out.");
	pop3_close(s);
}

/* ---------------------------------------------------------------- TRANSACTION */

static void
cmd_noop(struct pop3_session *s, const char *arg, size_t len)
{
	pop3_reply(s, "+OK");
}

static void
cmd_stat(struct pop3_session *s, const char *arg, size_t len)
{
	size_t		i, n = 0;
	uint64_t	total = 0;

	for (i = 0; i < s->nmsgs; i++)
		if (!s->msgs[i].deleted) {
			n++;
			total += s->msgs[i].size;
		}
	pop3_reply(s, "+OK %zu %llu", n, (unsigned long long)total);
}

/* LIST and UIDL: one message, or all that are not deleted. */
static void
list_or_uidl(struct pop3_session *s, const char *arg, size_t len, bool uidl)
{
	long	idx;
	size_t	i;

	if (len > 0) {
		if ((idx = msgno(s, arg, len)) < 0)
			return;
		if (uidl)
			pop3_reply(s, "+OK %ld %s", idx + 1, s->msgs[idx].uidl);
		else
			pop3_reply(s, "+OK %ld %llu", idx + 1, (unsigned long long)s->msgs[idx].size);
		return;
	}
	pop3_reply(s, "+OK");
	for (i = 0; i < s->nmsgs; i++) {
		if (s->msgs[i].deleted)
			continue;
		if (uidl)
			pop3_reply(s, "%zu %s", i + 1, s->msgs[i].uidl);
		else
			pop3_reply(s, "%zu %llu", i + 1, (unsigned long long)s->msgs[i].size);
	}
	pop3_reply(s, ".");
}

static void
cmd_list(struct pop3_session *s, const char *arg, size_t len)
{
	list_or_uidl(s, arg, len, false);
}

static void
cmd_uidl(struct pop3_session *s, const char *arg, size_t len)
{
	list_or_uidl(s, arg, len, true);
}

static void
cmd_retr(struct pop3_session *s, const char *arg, size_t len)
{
	long idx;

	if ((idx = msgno(s, arg, len)) < 0)
		return;
	if (pop3_stream_start(s, (size_t)idx, false, 0) == 0)
		s->nretr++;
}

static void
cmd_top(struct pop3_session *s, const char *arg, size_t len)
{
	const char	*sp = memchr(arg, ' ', len);
	uint64_t	 lines;
	long		 idx;

	if (sp == NULL || parse_u64(sp + 1, len - (size_t)(sp + 1 - arg), UINT64_MAX / 2, &lines) < 0) {
		bad(s, "Usage: TOP msg lines");
		return;
	}
	if ((idx = msgno(s, arg, (size_t)(sp - arg))) < 0)
		return;
	if (pop3_stream_start(s, (size_t)idx, true, lines) == 0)
		s->ntop++;
}

static void
cmd_dele(struct pop3_session *s, const char *arg, size_t len)
{
	long idx;

	if ((idx = msgno(s, arg, len)) < 0)
		return;
	s->msgs[idx].deleted = true;
	pop3_reply(s, "+OK Marked to be deleted.");
}

static void
cmd_rset(struct pop3_session *s, const char *arg, size_t len)
{
	size_t i;

	for (i = 0; i < s->nmsgs; i++)
		s->msgs[i].deleted = false;
	pop3_reply(s, "+OK");
}

static const struct pop3_cmd cmds[] = {
	{ "CAPA", IN_AUTH | IN_TRANS, cmd_capa },
	{ "QUIT", IN_AUTH | IN_TRANS, cmd_quit },
	{ "STLS", IN_AUTH, cmd_stls },
	{ "USER", IN_AUTH, cmd_user },
	{ "PASS", IN_AUTH, cmd_pass },
	{ "AUTH", IN_AUTH, cmd_auth },
	{ "NOOP", IN_TRANS, cmd_noop },
	{ "STAT", IN_TRANS, cmd_stat },
	{ "LIST", IN_TRANS, cmd_list },
	{ "UIDL", IN_TRANS, cmd_uidl },
	{ "RETR", IN_TRANS, cmd_retr },
	{ "TOP", IN_TRANS, cmd_top },
	{ "DELE", IN_TRANS, cmd_dele },
	{ "RSET", IN_TRANS, cmd_rset },
};

void
pop3_dispatch(struct pop3_session *s, const char *line, size_t len)
{
	const char	*sp, *arg;
	size_t		 vlen, alen, i;

	if (str_has_nul(line, len)) {
		bad(s, "NUL in command.");
		return;
	}
	sp = memchr(line, ' ', len);
	vlen = sp != NULL ? (size_t)(sp - line) : len;
	arg = sp != NULL ? sp + 1 : line + len;
	alen = sp != NULL ? len - vlen - 1 : 0;
	/* PASS keeps its argument whole (a password may hold spaces); others are trimmed. */
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!str_ieq(line, vlen, cmds[i].verb))
			continue;
		if (strcmp(cmds[i].verb, "PASS") != 0) {
			while (alen > 0 && arg[alen - 1] == ' ')
				alen--;
			while (alen > 0 && arg[0] == ' ') {
				arg++;
				alen--;
			}
		}
		if ((cmds[i].states & ST(s->state)) == 0) {
			bad(s, "Command not valid in this state.");
			return;
		}
		cmds[i].fn(s, arg, alen);
		if (strcmp(cmds[i].verb, "PASS") == 0)
			wipe(s->line.data, s->line.len);
		return;
	}
	bad(s, "Unknown command.");
}
