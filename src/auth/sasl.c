/*
 * SASL PLAIN (RFC 4616) and LOGIN as protocol-independent state machines;
 * see sasl.h.  Responses are decoded with the strict base64_decode() (a
 * sloppy client is told so, not guessed at).  Every buffer that held a
 * decoded response is wiped before it is freed.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "auth/sasl.h"
#include "lib/base64.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

/* LOGIN's challenges: base64 of "Username:" and "Password:". */
#define CH_USERNAME	"VXNlcm5hbWU6"
#define CH_PASSWORD	"UGFzc3dvcmQ6"

int
sasl_mech_parse(const char *name, size_t len, enum sasl_mech *m_r)
{
	if (str_ieq(name, len, "PLAIN"))
		*m_r = SASL_PLAIN;
	else if (str_ieq(name, len, "LOGIN"))
		*m_r = SASL_LOGIN;
	else
		return -1;
	return 0;
}

const char *
sasl_mech_name(enum sasl_mech m)
{
	return m == SASL_PLAIN ? "PLAIN" : "LOGIN";
}

void
sasl_init(struct sasl *s, enum sasl_mech m)
{
	memset(s, 0, sizeof(*s));
	s->mech = m;
}

static void
wipe_free(char **p)
{
	if (*p != NULL) {
		OPENSSL_cleanse(*p, strlen(*p));
		xfree(p);
	}
}

void
sasl_clear(struct sasl *s)
{
	wipe_free(&s->login);
	wipe_free(&s->password);
	s->step = 0;
}

const char *
sasl_login(const struct sasl *s)
{
	return s->login;
}

const char *
sasl_password(const struct sasl *s)
{
	return s->password;
}

/*
 * RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd.
 * We do not let one user act for another, so authzid must be empty or
 * name the authcid itself.
 */
static enum sasl_status
plain_creds(struct sasl *s, const unsigned char *d, size_t n, const char **err_r)
{
	const unsigned char	*nul1, *nul2;
	size_t			 zlen, clen, plen;

	if (n == 0) {
		/* RFC 4954 §4: "=" is a valid, empty SASL message.  As PLAIN
		 * credentials it names nobody: a failed login (535), as with
		 * Postfix and Dovecot, not a syntax error. */
		s->login = xstrdup("");
		s->password = xstrdup("");
		return SASL_DONE;
	}
	if ((nul1 = memchr(d, '\0', n)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', n - (size_t)(nul1 + 1 - d))) == NULL ||
	    memchr(nul2 + 1, '\0', n - (size_t)(nul2 + 1 - d)) != NULL) {
		*err_r = "malformed PLAIN response";
		return SASL_ERROR;
	}
	zlen = (size_t)(nul1 - d);
	clen = (size_t)(nul2 - nul1 - 1);
	plen = n - (size_t)(nul2 + 1 - d);
	if (clen == 0 || clen > SASL_LOGIN_MAX) {
		*err_r = clen == 0 ? "empty authentication identity" : "authentication identity too long";
		return SASL_ERROR;
	}
	if (zlen != 0 && (zlen != clen || strncasecmp((const char *)d, (const char *)nul1 + 1, clen) != 0)) {
		*err_r = "authorization identity differs from authentication identity";
		return SASL_ERROR;
	}
	s->login = xstrndup((const char *)nul1 + 1, clen);
	s->password = xstrndup((const char *)nul2 + 1, plen);
	return SASL_DONE;
}

/* One LOGIN answer: the user name (step 0) or the password (step 1); no NUL allowed. */
static enum sasl_status
login_answer(struct sasl *s, const unsigned char *d, size_t n, const char **challenge_r,
    const char **err_r)
{
	if (memchr(d, '\0', n) != NULL) {
		*err_r = "NUL in LOGIN response";
		return SASL_ERROR;
	}
	if (s->step == 0) {
		if (n == 0 || n > SASL_LOGIN_MAX) {
			*err_r = n == 0 ? "empty user name" : "user name too long";
			return SASL_ERROR;
		}
		s->login = xstrndup((const char *)d, n);
		s->step = 1;
		*challenge_r = CH_PASSWORD;
		return SASL_CONTINUE;
	}
	s->password = xstrndup((const char *)d, n);
	s->step = 2;
	return SASL_DONE;
}

static enum sasl_status
sasl_feed(struct sasl *s, const char *resp, size_t len, bool initial, const char **challenge_r,
    const char **err_r)
{
	unsigned char		*d;
	long			 n;
	enum sasl_status	 st;

	*challenge_r = "";
	*err_r = "";
	if (s->step >= 2 || (s->mech == SASL_PLAIN && s->step >= 1)) {
		*err_r = "exchange already complete";
		return SASL_ERROR;
	}
	if (!initial && len == 1 && resp[0] == '*')
		return SASL_CANCEL;
	if (len > SASL_RESPONSE_MAX) {
		*err_r = "response too long";
		return SASL_ERROR;
	}
	/* RFC 4954 §4: "=" is an empty initial response. */
	if (initial && len == 1 && resp[0] == '=')
		len = 0;
	d = xmalloc(BASE64_DECODE_MAX(len) + 1);
	if ((n = base64_decode(resp, len, d)) < 0) {
		*err_r = "invalid base64";
		st = SASL_ERROR;
	} else if (s->mech == SASL_PLAIN) {
		st = plain_creds(s, d, (size_t)n, err_r);
		s->step = 1;
	} else
		st = login_answer(s, d, (size_t)n, challenge_r, err_r);
	OPENSSL_cleanse(d, BASE64_DECODE_MAX(len) + 1);
	free(d);
	if (st == SASL_ERROR)
		s->step = 2;
	return st;
}

enum sasl_status
sasl_start(struct sasl *s, const char *initial, size_t len, const char **challenge_r,
    const char **err_r)
{
	*err_r = "";
	if (initial == NULL) {
		*challenge_r = s->mech == SASL_PLAIN ? "" : CH_USERNAME;
		return SASL_CONTINUE;
	}
	return sasl_feed(s, initial, len, true, challenge_r, err_r);
}

enum sasl_status
sasl_step(struct sasl *s, const char *resp, size_t len, const char **challenge_r,
    const char **err_r)
{
	return sasl_feed(s, resp, len, false, challenge_r, err_r);
}
