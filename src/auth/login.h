/*
 * Password logins for every protocol (SMTP AUTH, IMAP LOGIN/AUTHENTICATE,
 * POP3 USER/PASS/AUTH): the directory lookup and the crypt(3) check run on
 * the worker pool, the result comes back on the event loop.  Also the one
 * log line for a failed login, which contrib/fail2ban matches.
 */
#ifndef LB_AUTH_LOGIN_H
#define LB_AUTH_LOGIN_H

#include <stddef.h>

struct server;
struct auth_req;

enum auth_result {
	AUTH_OK,		/* the password matches */
	AUTH_FAIL,		/* unknown user, wrong password, unusable hash */
	AUTH_TEMPFAIL,		/* the directory could not answer: 4xx / [SYS/TEMP] */
};

typedef void	 auth_done_fn(void *arg, enum auth_result r, const char *canonical_user);

/*
 * Check login/password.  The password is copied (and the copy wiped once
 * checked); the caller should wipe its own.  Steps on a worker thread:
 * dir_thread() -> dir_password(lookup key of login, see addr_lookup_key)
 * -> passwd_verify(allow_plaintext_passwords); on a match with
 * password_upgrade = yes and an old scheme, the password is rehashed as
 * yescrypt and stored (a failure there is logged, the login still works).
 * An unknown user costs the same hashing time as a wrong password.
 *
 * done() runs later on the event loop thread, never from inside this call,
 * with canonical_user (borrowed for the call: the login in lookup form,
 * "local@domain" lower-cased) on AUTH_OK and NULL otherwise.
 * client_addr and service are for log lines only.
 *
 * Returns a handle for auth_cancel(); it is freed right after done() runs,
 * so the caller must forget it in done() (or before, by cancelling).
 */
struct auth_req	*auth_login_async(struct server *srv, const char *login, const char *password,
		    const char *client_addr, const char *service, auth_done_fn *done, void *arg);

/*
 * The session goes away before done() ran: done() will not be called.
 * Accepts NULL / *r == NULL; sets *r = NULL.  Loop thread only.
 */
void		 auth_cancel(struct auth_req **r);

/*
 * The log line for a failed login (one per failure, info level):
 *   auth sid=SID: login failed service=pop3 rip=192.0.2.7 method=PLAIN user="u\x22ser"
 * rip and service come before the client-chosen user name, which is
 * escaped and quoted, so a crafted name cannot fake a rip= for fail2ban.
 * user may be NULL/empty (a malformed exchange); ulen is its length.
 */
void		 auth_log_failure(const char *sid, const char *service, const char *rip,
		    const char *method, const char *user, size_t ulen);

#endif
