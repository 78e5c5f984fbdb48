/*
 * SMTP command-line parsing (RFC 5321 4.1, with the ESMTP parameters of
 * RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 3030 BINARYMIME/BDAT, RFC 6531
 * SMTPUTF8, RFC 3461 DSN, RFC 4954 AUTH=).  Pure functions over one line
 * (without CRLF) that the session got from conn_readline(); no I/O.
 */
#ifndef LB_SMTP_PARSE_H
#define LB_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtp_verb {
	SMTP_V_UNKNOWN, SMTP_V_HELO, SMTP_V_EHLO, SMTP_V_MAIL, SMTP_V_RCPT, SMTP_V_DATA,
	SMTP_V_BDAT, SMTP_V_RSET, SMTP_V_NOOP, SMTP_V_QUIT, SMTP_V_HELP, SMTP_V_VRFY,
	SMTP_V_EXPN, SMTP_V_STARTTLS, SMTP_V_AUTH,
	SMTP_V_HTTP,	/* "GET", "POST", ... : a web client talking to us; close */
};

/* Split "VERB args": returns the verb, *args_r points after the verb and one space. */
enum smtp_verb	 smtp_parse_verb(const char *line, size_t len, const char **args_r, size_t *argslen_r);

#define SMTP_NOTIFY_NEVER	0x01
#define SMTP_NOTIFY_SUCCESS	0x02
#define SMTP_NOTIFY_FAILURE	0x04
#define SMTP_NOTIFY_DELAY	0x08

enum smtp_body { SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };
enum smtp_ret { SMTP_RET_NONE, SMTP_RET_FULL, SMTP_RET_HDRS };

/* MAIL FROM:<path> [params] */
struct smtp_mail {
	char		 path[257];	/* without <>, "" = null sender */
	uint64_t	 size;		/* SIZE=, 0 = not given */
	enum smtp_body	 body;
	bool		 smtputf8;
	enum smtp_ret	 ret;
	char		 envid[101];	/* xtext as received, "" = none (RFC 3461: 100 chars) */
	char		 auth[257];	/* AUTH=<mailbox> xtext as received, "" = none */
};

/* RCPT TO:<path> [params] */
struct smtp_rcpt {
	char		 path[257];	/* without <>; "postmaster" allowed */
	unsigned	 notify;	/* SMTP_NOTIFY_*, 0 = not given */
	char		 orcpt[501];	/* "rfc822;xtext" as received, "" = none */
};

/*
 * Parse the arguments of MAIL / RCPT (after the verb): "FROM:<a@b> SIZE=1".
 * utf8_ok: SMTPUTF8 may be used (for RCPT: was given on MAIL).
 * Returns 0, or -1 with *reply_r set to a complete reply text ("501 5.1.7 ...").
 */
int	 smtp_parse_mail(const char *args, size_t len, struct smtp_mail *m, const char **reply_r);
int	 smtp_parse_rcpt(const char *args, size_t len, bool utf8_ok, struct smtp_rcpt *r,
	    const char **reply_r);

/*
 * Validate a path's mailbox (local@domain, local part Dot-string or
 * Quoted-string, domain a name or address literal): bool.  utf8: SMTPUTF8
 * allowed.  A source route "@a,@b:x@y" is accepted and stripped (RFC 5321 4.1.2)
 * by the parsers before this is called.
 */
bool	 smtp_mailbox_valid(const char *s, size_t len, bool utf8);

/* RFC 3461 4: xtext well-formed (no "+" without two upper-case hex digits). */
bool	 smtp_xtext_valid(const char *s, size_t len);

/* BDAT <size> [LAST]: 0 and fields, or -1 with *reply_r. */
int	 smtp_parse_bdat(const char *args, size_t len, uint64_t *size_r, bool *last_r,
	    const char **reply_r);

#endif
