/*
 * Server side SASL mechanisms shared by SMTP (RFC 4954), IMAP (RFC 3501
 * AUTHENTICATE) and POP3 (RFC 5034): PLAIN (RFC 4616) and LOGIN (the
 * de-facto draft-murchison-sasl-login).  A small state machine that knows
 * nothing of the protocol: the session hands it the client's base64 lines
 * and sends back the challenges it returns, wrapped in "334 ", "+ " etc.
 *
 * Responses must be strict base64 (lib/base64.h: RFC 4648 §4, padding
 * required, no white space).  Owns the decoded credentials, which are
 * wiped (OPENSSL_cleanse) by sasl_clear().
 */
#ifndef LB_AUTH_SASL_H
#define LB_AUTH_SASL_H

#include <stdbool.h>
#include <stddef.h>

/* Longest client response (base64 text, without CRLF) we accept: STYLE.md §7. */
#define SASL_RESPONSE_MAX	8192
/* Longest authentication identity (an address, with room to spare). */
#define SASL_LOGIN_MAX		512

enum sasl_mech { SASL_PLAIN, SASL_LOGIN };

enum sasl_status {
	SASL_CONTINUE,		/* send *challenge_r (base64, maybe "") and read a response */
	SASL_DONE,		/* sasl_login() / sasl_password() are set */
	SASL_ERROR,		/* malformed exchange; *err_r says why (static text) */
	SASL_CANCEL,		/* the client answered "*" (RFC 4954 §4: 501 / BAD / -ERR) */
};

struct sasl {
	enum sasl_mech	 mech;
	int		 step;		/* private: which response comes next */
	char		*login;		/* authcid, NUL-terminated, no NUL inside */
	char		*password;	/* may be empty */
};

/*
 * Mechanism by name, case-insensitive ("PLAIN", "login").  Returns 0 with
 * *m_r, or -1 if we do not offer it.
 */
int		 sasl_mech_parse(const char *name, size_t len, enum sasl_mech *m_r);
const char	*sasl_mech_name(enum sasl_mech m);		/* "PLAIN" / "LOGIN" */
/* What we advertise, space separated: "PLAIN LOGIN". */
#define SASL_MECHS	"PLAIN LOGIN"

void		 sasl_init(struct sasl *s, enum sasl_mech m);
/* Wipe and free the credentials; the struct may be sasl_init()ed again. */
void		 sasl_clear(struct sasl *s);

/*
 * Begin the exchange.  initial is the initial response from the command
 * line (RFC 4954 §4 / RFC 5034 §4) or NULL when the client sent none; "="
 * stands for an empty initial response.  Then call sasl_step() with each
 * response line for as long as SASL_CONTINUE comes back.
 * Return values as enum sasl_status; *challenge_r is a static base64 string
 * (empty for PLAIN's "send me your credentials"), *err_r a static text.
 */
enum sasl_status sasl_start(struct sasl *s, const char *initial, size_t len,
		    const char **challenge_r, const char **err_r);
enum sasl_status sasl_step(struct sasl *s, const char *resp, size_t len,
		    const char **challenge_r, const char **err_r);

/* After SASL_DONE: borrowed, valid until sasl_clear(). */
const char	*sasl_login(const struct sasl *s);
const char	*sasl_password(const struct sasl *s);

#endif
