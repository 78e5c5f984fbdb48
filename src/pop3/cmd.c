/*
 * The POP3 verbs (RFC 1939 §4-7, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034
 * AUTH) as one table: verb, states it is valid in, handler.  Logins go
 * through the shared login step (auth/login_step.h: worker-pool check,
 * throttle delay, failure limit, wiping); this file gives it POP3's
 * wording.  Response codes per RFC 2449 §8 and RFC 3206.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/login_step.h"
#include "auth/sasl.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/server.h"
#include "net/session.h"
#include "pop3/session.h"

#define ST(x)		(1u << (x))
#define IN_AUTH		ST(POP3_S_AUTH)
#define IN_TRANS	ST(POP3_S_TRANS)

struct pop3_cmd {
	const char	*verb;
	unsigned	 states;
	void		(*fn)(struct pop3_session *s, const char *arg, size_t len);
};

static bool
plaintext_ok(struct pop3_session *s)
{
	return pop3_tls(s) || !conf_bool(conf_current(), CK_DISABLE_PLAINTEXT_AUTH);
}

/* A bad command: reply, and close once the client keeps at it. */
void
pop3_bad(struct pop3_session *s, const char *text)
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
		pop3_bad(s, "Invalid message number.");
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
		pop3_bad(s, "TLS is already active.");
		return;
	}
	if (s->srv->tls == NULL) {
		pop3_bad(s, "TLS is not available.");
		return;
	}
	pop3_reply(s, "+OK Begin TLS negotiation now.");
	if (session_starttls(s->ss) == 0) {
		/* RFC 2595 §4: forget what was said before TLS; stay in AUTHORIZATION. */
		xfree(&s->user);
		login_step_clear(&s->login_step);
	}
}

static void
refuse_plaintext(struct pop3_session *s)
{
	pop3_bad(s, "[AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.");
}

static void
cmd_user(struct pop3_session *s, const char *arg, size_t len)
{
	if (!plaintext_ok(s)) {
		refuse_plaintext(s);
		return;
	}
	if (len == 0 || len > SASL_LOGIN_MAX || str_has_nul(arg, len)) {
		pop3_bad(s, "Invalid user name.");
		return;
	}
	free(s->user);
	s->user = xstrndup(arg, len);
	/* Always +OK: the answer must not tell which users exist. */
	pop3_reply(s, "+OK");
}

/* ---- the login step's POP3 wording ---- */

static void
login_challenge(struct session *ss, const char *b64)
{
	pop3_set_state(ss->ctx, POP3_S_SASL);
	pop3_reply(ss->ctx, "+ %s", b64);
}

static void
login_success(struct session *ss, const char *canonical)
{
	struct pop3_session *s = ss->ctx;

	s->login = xstrdup(canonical);
	/* Still waiting: the maildrop is opened and locked on a worker. */
	pop3_maildrop_open(s);
}

static void
login_failure(struct session *ss, enum login_failure why)
{
	struct pop3_session *s = ss->ctx;

	pop3_set_state(s, POP3_S_AUTH);
	switch (why) {
	case LOGIN_FAILED:
		pop3_reply(s, "-ERR [AUTH] Authentication failed.");
		break;
	case LOGIN_TEMPFAIL:
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary authentication failure, try again later.");
		break;
	case LOGIN_CANCELLED:
		pop3_bad(s, "Authentication cancelled.");
		break;
	}
}

const struct login_ops pop3_login_ops = {
	.challenge = login_challenge,
	.success = login_success,
	.failure = login_failure,
};

static void
cmd_pass(struct pop3_session *s, const char *arg, size_t len)
{
	char *pw;

	if (!plaintext_ok(s)) {
		refuse_plaintext(s);
		return;
	}
	if (s->user == NULL) {
		pop3_bad(s, "No user name given.");
		return;
	}
	pw = xstrndup(arg, len);
	login_step_password(&s->login_step, "USER", s->user, pw, len);
	free(pw);
	xfree(&s->user);
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

static void
cmd_auth(struct pop3_session *s, const char *arg, size_t len)
{
	const char	*sp;
	size_t		 mlen;
	enum sasl_mech	 m;

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
		pop3_bad(s, "Unsupported authentication mechanism.");
		return;
	}
	if (sp != NULL)
		login_step_sasl_start(&s->login_step, m, sp + 1, len - mlen - 1);
	else
		login_step_sasl_start(&s->login_step, m, NULL, 0);
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
			/*
			 * RFC 1939 §6: the UPDATE state.  The worker removes the
			 * files and releases the lock; its completion answers with
			 * the result.
			 */
			pop3_set_state(s, POP3_S_UPDATE);
			session_wait(s->ss);
			pop3_maildrop_update(s);
			return;
		}
		/* Nothing to remove: unlock before the +OK, so a client that
		 * reconnects at once finds the maildrop free. */
		pop3_maildrop_release(s);
		pop3_log_logout(s, NULL);
	} else
		pop3_log_logout(s, "quit");
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

/* A message is still going out: later commands wait until it has (p_drain resumes). */
static void
streaming(struct pop3_session *s)
{
	if (s->stream.fd >= 0)
		session_wait(s->ss);
}

static void
cmd_retr(struct pop3_session *s, const char *arg, size_t len)
{
	long idx;

	if ((idx = msgno(s, arg, len)) < 0)
		return;
	if (pop3_stream_start(s, (size_t)idx, false, 0) == 0)
		s->nretr++;
	streaming(s);
}

static void
cmd_top(struct pop3_session *s, const char *arg, size_t len)
{
	const char	*sp = memchr(arg, ' ', len);
	uint64_t	 lines;
	long		 idx;

	if (sp == NULL || parse_u64(sp + 1, len - (size_t)(sp + 1 - arg), UINT64_MAX / 2, &lines) < 0) {
		pop3_bad(s, "Usage: TOP msg lines");
		return;
	}
	if ((idx = msgno(s, arg, (size_t)(sp - arg))) < 0)
		return;
	if (pop3_stream_start(s, (size_t)idx, true, lines) == 0)
		s->ntop++;
	streaming(s);
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
			pop3_bad(s, "Command not valid in this state.");
			return;
		}
		cmds[i].fn(s, arg, alen);
		return;
	}
	pop3_bad(s, "Unknown command.");
}
