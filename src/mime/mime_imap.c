/*
 * IMAP views of a parsed message (see mime.h): BODY/BODYSTRUCTURE and
 * ENVELOPE strings (RFC 3501 7.4.2) and section specs to byte ranges
 * (RFC 3501 6.4.5).  Values are written as the message spells them, in
 * the shapes Dovecot uses (defaults spelled out, Sender/Reply-To copied
 * from From), so clients see what they already know.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "mime/mime.h"
#include "mime/rfc5322.h"

/* Longer strings go out as literals; keeps quoted lines reasonable. */
#define QUOTED_MAX	1024

#define R16(x)	x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
/*
 * Bytes a quoted string cannot carry as they are: 1 escaped or dropped
 * (quote, backslash, NUL), 2 only in a literal (CR, LF, 8-bit).
 */
static const unsigned char str_class[256] = {
	1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 2, 0, 0,		/* NUL LF CR */
	R16(0),
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,		/* '"' */
	R16(0), R16(0),
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,		/* '\\' */
	R16(0), R16(0),
	R16(2), R16(2), R16(2), R16(2), R16(2), R16(2), R16(2), R16(2),
};
#undef R16

int
mime_imap_string(struct buf *out, const char *s, size_t len)
{
	size_t		 i, start, nul = 0;
	bool		 quoted = len <= QUOTED_MAX;
	unsigned	 m = 0;
	char		*d;

	if (s == NULL)
		return buf_add(out, "NIL", 3);
	/*
	 * Nearly every string (names, addresses, MIME tokens) is plain: one
	 * table pass, one copy.  When it does not fit, the byte-wise path
	 * below leaves what it always left.
	 */
	for (i = 0; i < len; i++)
		m |= str_class[(unsigned char)s[i]];
	if (m == 0 && quoted && (d = buf_space(out, len + 2)) != NULL) {
		d[0] = '"';
		memcpy(d + 1, s, len);
		d[len + 1] = '"';
		buf_commit(out, len + 2);
		return 0;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0')
			nul++;
		else if (c == '\r' || c == '\n' || c >= 0x80)
			quoted = false;
	}
	if (quoted) {
		if (buf_addc(out, '"') < 0)
			return -1;
		/* runs of plain bytes in one buf_add; a quote or backslash escaped, a NUL dropped */
		for (i = start = 0; i < len; i++) {
			if (s[i] != '\0' && s[i] != '"' && s[i] != '\\')
				continue;
			if (buf_add(out, s + start, i - start) < 0 ||
			    (s[i] != '\0' && (buf_addc(out, '\\') < 0 || buf_addc(out, s[i]) < 0)))
				return -1;
			start = i + 1;
		}
		if (buf_add(out, s + start, len - start) < 0)
			return -1;
		return buf_addc(out, '"');
	}
	if (buf_addf(out, "{%zu}\r\n", len - nul) < 0)
		return -1;
	for (i = 0; i < len; i = start) {
		start = i;
		while (start < len && s[start] != '\0')
			start++;
		if (buf_add(out, s + i, start - i) < 0)
			return -1;
		start++;	/* skip the NUL */
	}
	return 0;
}

/* " %zu", all or nothing (as buf_addf) without printf. */
static int
num_out(struct buf *out, size_t v)
{
	char	t[1 + STR_U64_MAX];

	t[0] = ' ';
	return buf_add(out, t, 1 + str_u64(t + 1, v));
}

static int
nstr(struct buf *out, const char *s)
{
	return mime_imap_string(out, s, s ? strlen(s) : 0);
}

static int
params_out(struct buf *out, const struct mime_param *pv, size_t n)
{
	size_t	i;

	if (n == 0)
		return buf_adds(out, "NIL");
	if (buf_addc(out, '(') < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if ((i > 0 && buf_addc(out, ' ') < 0) || nstr(out, pv[i].name) < 0 ||
		    buf_addc(out, ' ') < 0 || nstr(out, pv[i].value) < 0)
			return -1;
	}
	return buf_addc(out, ')');
}

/* Content-Language: NIL or ("en" "de") (RFC 3501 body-fld-lang; a list
 * even for one tag, as Dovecot writes it). */
static int
language_out(struct buf *out, const char *lang)
{
	const char	*p, *e;
	size_t		 n = 0, l;
	int		 r = 0;

	if (lang == NULL)
		return buf_adds(out, "NIL");
	for (p = lang; *p != '\0' && r == 0; p = *e ? e + 1 : e) {
		while (*p == ' ' || *p == '\t')
			p++;
		e = p + strcspn(p, ",");
		l = (size_t)(e - p);
		while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
			l--;
		if (l == 0)
			continue;
		r |= buf_addc(out, n++ > 0 ? ' ' : '(');
		r |= mime_imap_string(out, p, l);
	}
	if (n == 0)
		return r | buf_adds(out, "NIL");
	return r | buf_addc(out, ')');
}

static int
disposition_out(struct buf *out, const struct mime_part *p)
{
	if (p->disposition == NULL)
		return buf_adds(out, "NIL");
	if (buf_addc(out, '(') < 0 || nstr(out, p->disposition) < 0 ||
	    buf_addc(out, ' ') < 0 ||
	    params_out(out, p->disp_params, p->ndisp_params) < 0)
		return -1;
	return buf_addc(out, ')');
}

/* body-ext-1part / body-ext-mpart after md5 or params. */
static int
ext_tail(struct buf *out, const struct mime_part *p)
{
	if (buf_addc(out, ' ') < 0 || disposition_out(out, p) < 0 ||
	    buf_addc(out, ' ') < 0 || language_out(out, p->language) < 0 ||
	    buf_addc(out, ' ') < 0)
		return -1;
	return nstr(out, p->location);
}

static const char empty_part[] =
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
static const char empty_part_ext[] =
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"
    " NIL NIL NIL NIL)";

static int
bs_part(const struct mime_part *p, bool ext, struct buf *out)
{
	const struct mime_part	*c;
	bool			 opaque = (p->flags & MIME_F_OPAQUE) != 0;

	if (p->flags & MIME_F_MULTIPART) {
		if (buf_addc(out, '(') < 0)
			return -1;
		for (c = p->children; c != NULL; c = c->next)
			if (bs_part(c, ext, out) < 0)
				return -1;
		/* RFC 3501 body-type-mpart needs one part: an empty one */
		if (p->children == NULL &&
		    buf_adds(out, ext ? empty_part_ext : empty_part) < 0)
			return -1;
		if (buf_addc(out, ' ') < 0 || nstr(out, p->subtype) < 0)
			return -1;
		if (ext && (buf_addc(out, ' ') < 0 ||
		    params_out(out, p->params, p->nparams) < 0 || ext_tail(out, p) < 0))
			return -1;
		return buf_addc(out, ')');
	}
	if (buf_addc(out, '(') < 0)
		return -1;
	if (opaque) {
		/* a container we did not open (too deep, too many parts, cut short) */
		if (buf_adds(out, "\"text\" \"plain\" (\"charset\" \"us-ascii\")") < 0)
			return -1;
	} else if (nstr(out, p->type) < 0 || buf_addc(out, ' ') < 0 ||
	    nstr(out, p->subtype) < 0 || buf_addc(out, ' ') < 0 ||
	    params_out(out, p->params, p->nparams) < 0)
		return -1;
	if (buf_addc(out, ' ') < 0 || nstr(out, p->id) < 0 || buf_addc(out, ' ') < 0 ||
	    nstr(out, p->description) < 0 || buf_addc(out, ' ') < 0 ||
	    nstr(out, p->encoding ? p->encoding : "7bit") < 0 ||
	    num_out(out, p->body_len) < 0)
		return -1;
	if ((p->flags & MIME_F_MESSAGE) && p->children != NULL) {
		c = p->children;
		if (buf_addc(out, ' ') < 0 ||
		    mime_envelope(c->data + c->hdr_off, c->hdr_len, out) < 0 ||
		    buf_addc(out, ' ') < 0 || bs_part(c, ext, out) < 0 ||
		    num_out(out, p->body_lines) < 0)
			return -1;
	} else if ((p->flags & MIME_F_TEXT) || opaque) {
		if (num_out(out, p->body_lines) < 0)
			return -1;
	}
	if (ext && (buf_addc(out, ' ') < 0 || nstr(out, p->md5) < 0 ||
	    ext_tail(out, p) < 0))
		return -1;
	return buf_addc(out, ')');
}

int
mime_bodystructure(const struct mime_part *part, bool extended, struct buf *out)
{
	return bs_part(part, extended, out);
}

/* --- ENVELOPE --- */

enum env_field {
	E_DATE, E_SUBJECT, E_FROM, E_SENDER, E_REPLY_TO, E_TO, E_CC, E_BCC,
	E_IN_REPLY_TO, E_MESSAGE_ID, E_COUNT
};

static const char *const env_names[E_COUNT] = {
	"date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc",
	"in-reply-to", "message-id",
};
/* Their lengths: most header fields are none of them, and fail here. */
static const size_t env_name_len[E_COUNT] = { 4, 7, 4, 6, 8, 2, 2, 3, 11, 10 };

/* Addresses per list in an ENVELOPE; the rest are left out. */
#define ENV_ADDR_MAX	1000

static int
addr_list_out(struct buf *out, const struct hdr_field *f)
{
	struct hdr_addr	*a = NULL;
	size_t		 n, i;
	int		 r = 0;

	n = hdr_parse_addresses(f->value, f->value_len, ENV_ADDR_MAX, &a);
	if (n == 0) {
		hdr_addrs_free(&a, n);
		return buf_adds(out, "NIL");
	}
	r |= buf_addc(out, '(');
	for (i = 0; i < n && r == 0; i++) {
		r |= buf_addc(out, '(');
		r |= nstr(out, a[i].name);
		r |= buf_addc(out, ' ');
		r |= nstr(out, a[i].adl);
		r |= buf_addc(out, ' ');
		r |= nstr(out, a[i].mailbox);
		r |= buf_addc(out, ' ');
		r |= nstr(out, a[i].host);
		r |= buf_addc(out, ')');
	}
	r |= buf_addc(out, ')');
	hdr_addrs_free(&a, n);
	return r ? -1 : 0;
}

static bool
has_addresses(const struct hdr_field *f)
{
	struct hdr_addr	*a = NULL;
	size_t		 n = hdr_parse_addresses(f->value, f->value_len, 1, &a);

	hdr_addrs_free(&a, n);
	return n > 0;
}

int
mime_envelope(const char *data, size_t hdr_len, struct buf *out)
{
	struct hdr_field	 fields[E_COUNT];
	bool			 seen[E_COUNT] = { false };
	struct hdr_iter		 it;
	struct hdr_field	 f;
	struct buf		 v;
	size_t			 from_off = 0, from_len = 0, tlen;
	const char		*t;
	char			*d;
	int			 i, r = 0;

	hdr_iter_init(&it, data, hdr_len);
	while (hdr_next(&it, &f) == 1) {
		for (i = 0; i < E_COUNT; i++)
			if (!seen[i] && f.name_len == env_name_len[i] &&
			    str_ieq(f.name, f.name_len, env_names[i])) {
				fields[i] = f;
				seen[i] = true;
			}
	}
	/* RFC 3501 7.4.2: absent or empty Sender/Reply-To take From's value */
	if (seen[E_FROM]) {
		if (!seen[E_SENDER] || !has_addresses(&fields[E_SENDER])) {
			fields[E_SENDER] = fields[E_FROM];
			seen[E_SENDER] = true;
		}
		if (!seen[E_REPLY_TO] || !has_addresses(&fields[E_REPLY_TO])) {
			fields[E_REPLY_TO] = fields[E_FROM];
			seen[E_REPLY_TO] = true;
		}
	}
	buf_init(&v, HDR_VALUE_MAX);
	r |= buf_addc(out, '(');
	for (i = 0; i < E_COUNT && r == 0; i++) {
		if (i > 0)
			r |= buf_addc(out, ' ');
		if (!seen[i]) {
			r |= buf_adds(out, "NIL");
		} else if (i > E_FROM && i <= E_BCC && seen[E_FROM] &&
		    fields[i].value == fields[E_FROM].value &&
		    (d = buf_space(out, from_len)) != NULL) {
			/* Sender/Reply-To taken from From: its list once more, not parsed again */
			memcpy(d, out->data + from_off, from_len);
			buf_commit(out, from_len);
		} else if (i >= E_FROM && i <= E_BCC) {
			if (i == E_FROM)
				from_off = out->len;
			r |= addr_list_out(out, &fields[i]);
			if (i == E_FROM)
				from_len = out->len - from_off;
		} else {
			buf_reset(&v);
			t = hdr_unfold_view(fields[i].value, fields[i].value_len, &v, &tlen);
			r |= mime_imap_string(out, t, tlen);
		}
	}
	r |= buf_addc(out, ')');
	buf_clear(&v);
	return r ? -1 : 0;
}

/* --- sections (RFC 3501 6.4.5) --- */

static bool
is_message_part(const struct mime_part *p)
{
	return (p->flags & MIME_F_MESSAGE) && p->children != NULL;
}

int
mime_section(const struct mime_part *root, const char *spec,
    size_t *off_r, size_t *len_r)
{
	const struct mime_part	*x = root, *c;
	bool			 as_msg = true;	/* x is a message, not a part */
	const char		*s = spec;
	uint64_t		 n;
	size_t			 dl, i;

	while (*s >= '0' && *s <= '9') {
		dl = strspn(s, "0123456789");
		if (parse_u64(s, dl, MIME_MAX_PARTS, &n) < 0 || n == 0)
			return -1;
		s += dl;
		if (*s == '.')
			s++;
		else if (*s != '\0')
			return -1;
		if (!as_msg && is_message_part(x)) {
			x = x->children;	/* into the enclosed message */
			as_msg = true;
		}
		if (x->flags & MIME_F_MULTIPART) {
			for (c = x->children, i = 1; c != NULL && i < n; c = c->next)
				i++;
			if (c == NULL)
				return -1;
			x = c;
		} else if (!(as_msg && n == 1))
			return -1;	/* a single-part body has only part 1 */
		as_msg = false;
	}
	if (*s == '\0') {
		if (as_msg) {		/* BODY[]: the whole message */
			*off_r = x->hdr_off;
			*len_r = x->hdr_len + x->body_len;
		} else {
			*off_r = x->body_off;
			*len_r = x->body_len;
		}
		return 0;
	}
	if (strcasecmp(s, "MIME") == 0) {
		if (as_msg)
			return -1;	/* RFC 3501: MIME needs a part number */
		*off_r = x->hdr_off;
		*len_r = x->hdr_len;
		return 0;
	}
	if (!as_msg) {
		/* HEADER and TEXT of a part: only of a message/rfc822 part */
		if (!is_message_part(x))
			return -1;
		x = x->children;
	}
	if (strcasecmp(s, "HEADER") == 0 ||
	    strncasecmp(s, "HEADER.FIELDS ", 14) == 0 ||
	    strncasecmp(s, "HEADER.FIELDS.NOT ", 18) == 0) {
		*off_r = x->hdr_off;
		*len_r = x->hdr_len;
		return 0;
	}
	if (strcasecmp(s, "TEXT") == 0) {
		*off_r = x->body_off;
		*len_r = x->body_len;
		return 0;
	}
	return -1;
}
