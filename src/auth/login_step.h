/*
 * The one login step every protocol uses (POP3 USER/PASS and AUTH, SMTP
 * AUTH, IMAP LOGIN and AUTHENTICATE): the SASL exchange (auth/sasl.h) and
 * its result mapping, the password check on the worker pool
 * (auth/login.h), the per-client throttle delay before a failure reply
 * (auth/throttle.h), the per-session failure limit (auth_failure_limit)
 * and wiping secrets.  The protocol supplies only its wording, through
 * struct login_ops.  While a check or a delay runs, the session waits
 * (session_wait): pipelined commands stay queued.
 */
#ifndef LB_AUTH_LOGIN_STEP_H
#define LB_AUTH_LOGIN_STEP_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/sasl.h"

struct auth_req;
struct session;

enum login_failure {
	LOGIN_FAILED,		/* bad credentials or a malformed exchange (after the delay) */
	LOGIN_TEMPFAIL,		/* the directory could not answer: 4xx / [SYS/TEMP] / [UNAVAILABLE] */
	LOGIN_CANCELLED,	/* the client answered "*" (RFC 4954 §4) */
};

struct login_ops {
	/* Send a SASL challenge (base64, may be ""): "+ %s", "334 %s", "+ %s". */
	void	(*challenge)(struct session *s, const char *b64);
	/*
	 * The password matched: canonical is the user (borrowed for the call).
	 * The session still waits; the protocol replies (now or after its own
	 * async step, e.g. opening the maildrop) and calls session_resume().
	 */
	void	(*success)(struct session *s, const char *canonical);
	/* Reply to a failure.  After LOGIN_FAILED the step may then close the session. */
	void	(*failure)(struct session *s, enum login_failure why);
	/*
	 * Optional: undecodable SASL data (why: static text).  Set: answered
	 * at once and not counted (SMTP's 501, as Postfix).  NULL: a failed
	 * login like any other (POP3).
	 */
	void	(*malformed)(struct session *s, const char *why);
};

struct login_step {
	struct session		*s;
	const struct login_ops	*ops;
	struct sasl		 sasl;
	bool			 in_sasl;	/* the next line is a SASL response */
	const char		*method;	/* "USER", "LOGIN" (IMAP), "PLAIN", ... (static) */
	char			*tried;		/* the login being checked, for the log */
	unsigned		 failures;
	struct auth_req		*auth;
};

void	login_step_init(struct login_step *l, struct session *s, const struct login_ops *ops);
/* Cancel a pending check, wipe and free; login_step_init() may follow. */
void	login_step_clear(struct login_step *l);

/*
 * A login/password pair (POP3 PASS, IMAP LOGIN).  password[0..pwlen) is
 * wiped here; the session's line buffer too.  method is static text.
 */
void	login_step_password(struct login_step *l, const char *method, const char *login,
	    char *password, size_t pwlen);

/*
 * SASL: start with mechanism m and the initial response from the command
 * line (NULL: none; "=": empty), then hand every response line to
 * login_step_sasl_line() while login_step_in_sasl().  Lines are wiped.
 */
void	login_step_sasl_start(struct login_step *l, enum sasl_mech m, const char *initial,
	    size_t len);
void	login_step_sasl_line(struct login_step *l, char *line, size_t len);
bool	login_step_in_sasl(const struct login_step *l);

#endif
