/*
 * The shared login step; see login_step.h.  Order of a failure: log line
 * (auth_log_failure, which fail2ban matches), count, throttle delay, the
 * protocol's failure reply, then the limit check (close).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/login.h"
#include "auth/login_step.h"
#include "auth/throttle.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "net/listen.h"
#include "net/session.h"

void
login_step_init(struct login_step *l, struct session *s, const struct login_ops *ops)
{
	memset(l, 0, sizeof(*l));
	l->s = s;
	l->ops = ops;
}

void
login_step_clear(struct login_step *l)
{
	auth_cancel(&l->auth);
	sasl_clear(&l->sasl);
	l->in_sasl = false;
	xfree(&l->tried);
}

bool
login_step_in_sasl(const struct login_step *l)
{
	return l->in_sasl;
}

/* After the throttle delay: the reply, then the failure limit. */
static void
failed_reply(struct session *s, void *arg)
{
	struct login_step *l = arg;

	l->ops->failure(s, LOGIN_FAILED);
	if ((int64_t)l->failures >= conf_int(conf_current(), CK_AUTH_FAILURE_LIMIT)) {
		log_info("%s sid=%s: disconnect reason=auth-failure-limit failures=%u",
		    s->proto->name, s->sid, l->failures);
		session_close(s);
	}
}

static void
failed(struct login_step *l, const char *user)
{
	auth_log_failure(l->s->sid, l->s->svc->name, l->s->addr, l->method ? l->method : "-",
	    user, user != NULL ? strlen(user) : 0);
	l->failures++;
	session_delay(l->s, auth_throttle_fail(l->s->addr), failed_reply, l);
}

static void
checked(void *arg, enum auth_result r, const char *canonical)
{
	struct login_step *l = arg;

	l->auth = NULL;
	switch (r) {
	case AUTH_OK:
		auth_throttle_success(l->s->addr);
		l->ops->success(l->s, canonical);
		return;
	case AUTH_TEMPFAIL:
		l->ops->failure(l->s, LOGIN_TEMPFAIL);
		session_resume(l->s);
		return;
	case AUTH_FAIL:
		failed(l, l->tried);
		return;
	}
}

/* Hand the pair to the worker pool; the session waits for checked(). */
static void
check(struct login_step *l, const char *login, const char *password)
{
	free(l->tried);
	l->tried = xstrdup(login);
	session_wait(l->s);
	l->auth = auth_login_async(l->s->srv, login, password, l->s->addr, l->s->svc->name,
	    checked, l);
}

void
login_step_password(struct login_step *l, const char *method, const char *login, char *password,
    size_t pwlen)
{
	l->method = method;
	check(l, login, password);
	OPENSSL_cleanse(password, pwlen);
	session_wipe_line(l->s);
}

static void
sasl_result(struct login_step *l, enum sasl_status st, const char *challenge, const char *err)
{
	l->in_sasl = st == SASL_CONTINUE;
	switch (st) {
	case SASL_CONTINUE:
		l->ops->challenge(l->s, challenge);
		return;
	case SASL_DONE:
		check(l, sasl_login(&l->sasl), sasl_password(&l->sasl));
		break;
	case SASL_CANCEL:
		l->ops->failure(l->s, LOGIN_CANCELLED);
		break;
	case SASL_ERROR:
		if (l->ops->malformed != NULL) {
			l->ops->malformed(l->s, err);
			break;
		}
		log_info("%s sid=%s: AUTH %s: %s", l->s->proto->name, l->s->sid, l->method, err);
		failed(l, l->sasl.login);
		break;
	}
	sasl_clear(&l->sasl);
}

void
login_step_sasl_start(struct login_step *l, enum sasl_mech m, const char *initial, size_t len)
{
	const char		*ch = NULL, *err = NULL;
	enum sasl_status	 st;

	sasl_clear(&l->sasl);
	sasl_init(&l->sasl, m);
	l->method = sasl_mech_name(m);
	st = sasl_start(&l->sasl, initial, len, &ch, &err);
	/* An initial response holds credentials too. */
	session_wipe_line(l->s);
	sasl_result(l, st, ch, err);
}

void
login_step_sasl_line(struct login_step *l, char *line, size_t len)
{
	const char		*ch = NULL, *err = NULL;
	enum sasl_status	 st;

	st = sasl_step(&l->sasl, line, len, &ch, &err);
	/* The response held credentials: do not keep them in the line buffer. */
	OPENSSL_cleanse(line, len);
	session_wipe_line(l->s);
	sasl_result(l, st, ch, err);
}
