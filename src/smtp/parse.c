/*
 * SMTP command parsing; see parse.h.  Everything here works on
 * length-carrying bytes from the network: memchr, never strchr, and every
 * copy is bounded by its destination.
 */
#include <string.h>

#include "lib/addr.h"
#include "lib/str.h"
#include "smtp/parse.h"

static const struct { const char *name; enum smtp_verb v; } verbs[] = {
	{ "HELO", SMTP_V_HELO }, { "EHLO", SMTP_V_EHLO }, { "MAIL", SMTP_V_MAIL },
	{ "RCPT", SMTP_V_RCPT }, { "DATA", SMTP_V_DATA }, { "BDAT", SMTP_V_BDAT },
	{ "RSET", SMTP_V_RSET }, { "NOOP", SMTP_V_NOOP }, { "QUIT", SMTP_V_QUIT },
	{ "HELP", SMTP_V_HELP }, { "VRFY", SMTP_V_VRFY }, { "EXPN", SMTP_V_EXPN },
	{ "STARTTLS", SMTP_V_STARTTLS }, { "AUTH", SMTP_V_AUTH },
	{ "GET", SMTP_V_HTTP }, { "POST", SMTP_V_HTTP }, { "HEAD", SMTP_V_HTTP },
	{ "PUT", SMTP_V_HTTP }, { "CONNECT", SMTP_V_HTTP },
};

enum smtp_verb
smtp_parse_verb(const char *line, size_t len, const char **args_r, size_t *argslen_r)
{
	size_t	n = 0, i;

	while (n < len && line[n] != ' ')
		n++;
	*args_r = line + (n < len ? n + 1 : n);
	*argslen_r = n < len ? len - n - 1 : 0;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (str_ieq(line, n, verbs[i].name))
			return verbs[i].v;
	return SMTP_V_UNKNOWN;
}

static bool
ishex_upper(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

bool
smtp_xtext_valid(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 33 || c > 126 || c == '=')
			return false;
		if (c == '+') {
			/* "+XX": two upper-case hex digits */
			if (i + 2 >= len || !ishex_upper(s[i + 1]) || !ishex_upper(s[i + 2]))
				return false;
			i += 2;
		}
	}
	return true;
}

/* Address literal "[1.2.3.4]" / "[IPv6:...]": accepted loosely (bracketed, printable). */
static bool
addr_literal_valid(const char *s, size_t len)
{
	size_t i;

	if (len < 3 || s[0] != '[' || s[len - 1] != ']')
		return false;
	for (i = 1; i < len - 1; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F') || s[i] == '.' || s[i] == ':' ||
		    (s[i] >= 'g' && s[i] <= 'z') || (s[i] >= 'G' && s[i] <= 'Z') || s[i] == '-'))
			return false;
	return true;
}

static bool
domain_valid(const char *s, size_t len, bool utf8)
{
	size_t i, label = 0;

	if (len == 0 || len > 255)
		return false;
	if (s[0] == '[')
		return addr_literal_valid(s, len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || (utf8 && c >= 0x80)))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

bool
smtp_mailbox_valid(const char *s, size_t len, bool utf8)
{
	const char *at;

	if (len == 0 || len > 256)
		return false;
	/* The local part may be quoted and contain '@': split at the last '@'. */
	at = NULL;
	for (size_t i = len; i > 0; i--)
		if (s[i - 1] == '@') {
			at = s + i - 1;
			break;
		}
	if (at == NULL)
		return false;
	return addr_local_valid(s, (size_t)(at - s), utf8) &&
	    domain_valid(at + 1, len - (size_t)(at - s) - 1, utf8);
}

/*
 * "FROM:<path>" / "TO:<path>": checks the keyword, finds the path in angle
 * brackets (tolerating one space after the colon, as many clients send),
 * strips a source route, copies it to dst.  *rest_r gets the parameters.
 */
static int
parse_path(const char *args, size_t len, const char *kw, char *dst, size_t dstsz,
    const char **rest_r, size_t *restlen_r, const char **reply_r)
{
	size_t		 kl = strlen(kw), i, start, end;
	bool		 inq = false;

	if (len < kl || !str_iprefix(args, len, kw)) {
		*reply_r = kw[0] == 'F' ? "501 5.5.4 Syntax: MAIL FROM:<address>" :
		    "501 5.5.4 Syntax: RCPT TO:<address>";
		return -1;
	}
	i = kl;
	if (i < len && args[i] == ' ')
		i++;
	if (i >= len || args[i] != '<') {
		*reply_r = "501 5.1.7 Bad address syntax (angle brackets required)";
		return -1;
	}
	start = ++i;
	for (; i < len; i++) {
		if (args[i] == '\\' && inq) {
			i++;
			continue;
		}
		if (args[i] == '"')
			inq = !inq;
		else if (args[i] == '>' && !inq)
			break;
	}
	if (i >= len) {
		*reply_r = "501 5.1.7 Bad address syntax (missing '>')";
		return -1;
	}
	end = i;
	/* RFC 5321 4.1.2: an obsolete source route "@a,@b:" is ignored. */
	if (end > start && args[start] == '@') {
		const char *colon = memchr(args + start, ':', end - start);
		if (colon == NULL) {
			*reply_r = "501 5.1.7 Bad address syntax";
			return -1;
		}
		start = (size_t)(colon - args) + 1;
	}
	if (end - start >= dstsz) {
		*reply_r = "501 5.1.7 Address too long";
		return -1;
	}
	memcpy(dst, args + start, end - start);
	dst[end - start] = '\0';
	i = end + 1;
	if (i < len && args[i] != ' ') {
		*reply_r = "501 5.5.4 Syntax error after the address";
		return -1;
	}
	while (i < len && args[i] == ' ')
		i++;
	*rest_r = args + i;
	*restlen_r = len - i;
	return 0;
}

/* Walk "K=V K2 K3=V3" calling fn for each (value NULL when no '='). */
static int
each_param(const char *p, size_t len, int (*fn)(const char *k, size_t kl, const char *v,
    size_t vl, void *arg, const char **reply_r), void *arg, const char **reply_r)
{
	size_t i = 0;

	while (i < len) {
		size_t s = i, e, kl;
		const char *eq;

		while (i < len && p[i] != ' ')
			i++;
		e = i;
		while (i < len && p[i] == ' ')
			i++;
		if (e == s)
			continue;
		eq = memchr(p + s, '=', e - s);
		kl = eq ? (size_t)(eq - (p + s)) : e - s;
		if (kl == 0) {
			*reply_r = "501 5.5.4 Bad parameter syntax";
			return -1;
		}
		if (fn(p + s, kl, eq ? eq + 1 : NULL, eq ? (size_t)(p + e - eq - 1) : 0, arg, reply_r) < 0)
			return -1;
	}
	return 0;
}

static int
copy_val(char *dst, size_t dstsz, const char *v, size_t vl)
{
	if (v == NULL || vl == 0 || vl >= dstsz)
		return -1;
	memcpy(dst, v, vl);
	dst[vl] = '\0';
	return 0;
}

static int
mail_param(const char *k, size_t kl, const char *v, size_t vl, void *arg, const char **reply_r)
{
	struct smtp_mail *m = arg;

	if (str_ieq(k, kl, "SIZE")) {
		if (v == NULL || parse_u64(v, vl, UINT64_MAX, &m->size) < 0) {
			*reply_r = "501 5.5.4 Bad SIZE= parameter";
			return -1;
		}
	} else if (str_ieq(k, kl, "BODY")) {
		if (v != NULL && str_ieq(v, vl, "7BIT"))
			m->body = SMTP_BODY_7BIT;
		else if (v != NULL && str_ieq(v, vl, "8BITMIME"))
			m->body = SMTP_BODY_8BITMIME;
		else if (v != NULL && str_ieq(v, vl, "BINARYMIME"))
			m->body = SMTP_BODY_BINARYMIME;
		else {
			*reply_r = "501 5.5.4 Bad BODY= parameter";
			return -1;
		}
	} else if (str_ieq(k, kl, "SMTPUTF8")) {
		if (v != NULL) {
			*reply_r = "501 5.5.4 SMTPUTF8 takes no value";
			return -1;
		}
		m->smtputf8 = true;
	} else if (str_ieq(k, kl, "RET")) {
		if (m->ret != SMTP_RET_NONE) {
			*reply_r = "501 5.5.4 Duplicate RET= parameter";
			return -1;
		}
		if (v != NULL && str_ieq(v, vl, "FULL"))
			m->ret = SMTP_RET_FULL;
		else if (v != NULL && str_ieq(v, vl, "HDRS"))
			m->ret = SMTP_RET_HDRS;
		else {
			*reply_r = "501 5.5.4 Bad RET= parameter";
			return -1;
		}
	} else if (str_ieq(k, kl, "ENVID")) {
		if (m->envid[0] != '\0' || copy_val(m->envid, sizeof(m->envid), v, vl) < 0 ||
		    !smtp_xtext_valid(v, vl)) {
			*reply_r = "501 5.5.4 Bad ENVID= parameter";
			return -1;
		}
	} else if (str_ieq(k, kl, "AUTH")) {
		if (copy_val(m->auth, sizeof(m->auth), v, vl) < 0 || !smtp_xtext_valid(v, vl)) {
			*reply_r = "501 5.5.4 Bad AUTH= parameter";
			return -1;
		}
	} else {
		*reply_r = "555 5.5.4 Unsupported MAIL parameter";
		return -1;
	}
	return 0;
}

int
smtp_parse_mail(const char *args, size_t len, struct smtp_mail *m, const char **reply_r)
{
	const char	*rest;
	size_t		 rl;

	memset(m, 0, sizeof(*m));
	if (parse_path(args, len, "FROM:", m->path, sizeof(m->path), &rest, &rl, reply_r) < 0)
		return -1;
	if (each_param(rest, rl, mail_param, m, reply_r) < 0)
		return -1;
	if (m->path[0] != '\0' && !smtp_mailbox_valid(m->path, strlen(m->path), m->smtputf8)) {
		*reply_r = "553 5.1.7 Bad sender address syntax";
		return -1;
	}
	return 0;
}

struct rcpt_ctx {
	struct smtp_rcpt	*r;
};

static int
notify_item(const char *v, size_t vl, unsigned *bits)
{
	size_t i = 0;

	while (i <= vl) {
		size_t s = i;
		while (i < vl && v[i] != ',')
			i++;
		if (str_ieq(v + s, i - s, "NEVER"))
			*bits |= SMTP_NOTIFY_NEVER;
		else if (str_ieq(v + s, i - s, "SUCCESS"))
			*bits |= SMTP_NOTIFY_SUCCESS;
		else if (str_ieq(v + s, i - s, "FAILURE"))
			*bits |= SMTP_NOTIFY_FAILURE;
		else if (str_ieq(v + s, i - s, "DELAY"))
			*bits |= SMTP_NOTIFY_DELAY;
		else
			return -1;
		i++;
	}
	/* RFC 3461 4.1: NEVER must appear alone. */
	if ((*bits & SMTP_NOTIFY_NEVER) && *bits != SMTP_NOTIFY_NEVER)
		return -1;
	return 0;
}

static int
rcpt_param(const char *k, size_t kl, const char *v, size_t vl, void *arg, const char **reply_r)
{
	struct smtp_rcpt *r = arg;

	if (str_ieq(k, kl, "NOTIFY")) {
		if (r->notify != 0 || v == NULL || notify_item(v, vl, &r->notify) < 0) {
			*reply_r = "501 5.5.4 Bad NOTIFY= parameter";
			return -1;
		}
	} else if (str_ieq(k, kl, "ORCPT")) {
		const char *semi = v ? memchr(v, ';', vl) : NULL;
		if (r->orcpt[0] != '\0' || semi == NULL || semi == v ||
		    copy_val(r->orcpt, sizeof(r->orcpt), v, vl) < 0 ||
		    !smtp_xtext_valid(semi + 1, vl - (size_t)(semi - v) - 1)) {
			*reply_r = "501 5.5.4 Bad ORCPT= parameter";
			return -1;
		}
	} else {
		*reply_r = "555 5.5.4 Unsupported RCPT parameter";
		return -1;
	}
	return 0;
}

int
smtp_parse_rcpt(const char *args, size_t len, bool utf8_ok, struct smtp_rcpt *r, const char **reply_r)
{
	const char	*rest;
	size_t		 rl, pl;

	memset(r, 0, sizeof(*r));
	if (parse_path(args, len, "TO:", r->path, sizeof(r->path), &rest, &rl, reply_r) < 0)
		return -1;
	if (each_param(rest, rl, rcpt_param, r, reply_r) < 0)
		return -1;
	pl = strlen(r->path);
	/* RFC 5321 4.5.1: <postmaster> without a domain must be accepted. */
	if (str_ieq(r->path, pl, "postmaster"))
		return 0;
	if (pl == 0 || !smtp_mailbox_valid(r->path, pl, utf8_ok)) {
		*reply_r = "501 5.1.3 Bad recipient address syntax";
		return -1;
	}
	return 0;
}

int
smtp_parse_bdat(const char *args, size_t len, uint64_t *size_r, bool *last_r, const char **reply_r)
{
	size_t n = 0;

	while (n < len && args[n] != ' ')
		n++;
	if (parse_u64(args, n, UINT64_MAX / 2, size_r) < 0) {
		*reply_r = "501 5.5.4 Syntax: BDAT <size> [LAST]";
		return -1;
	}
	while (n < len && args[n] == ' ')
		n++;
	*last_r = false;
	if (n < len) {
		if (!str_ieq(args + n, len - n, "LAST")) {
			*reply_r = "501 5.5.4 Syntax: BDAT <size> [LAST]";
			return -1;
		}
		*last_r = true;
	}
	return 0;
}
