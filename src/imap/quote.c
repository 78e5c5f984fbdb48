/* IMAP string output: atom, quoted or literal; see quote.h. */
#include <stdbool.h>
#include <string.h>

#include "imap/mutf7.h"
#include "imap/quote.h"
#include "lib/buf.h"
#include "lib/str.h"

/* Can s go out as a quoted string? */
static bool
quotable(const char *s, size_t len, unsigned flags)
{
	bool	 eight = false;
	size_t	 i;

	if (len > IMAP_QUOTED_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* '"' and '\\' could be escaped, but some clients mishandle escapes */
		if (c == '\r' || c == '\n' || c == '\0' || c == '"' || c == '\\')
			return false;
		if (c >= 0x80)
			eight = true;
	}
	if (eight)
		return (flags & IMAP_Q_UTF8) && utf8_valid(s, len);
	return true;
}

static int
write_literal(struct buf *out, const char *s, size_t len, unsigned flags)
{
	bool	 nul = (flags & IMAP_Q_LITERAL8) && len > 0 && memchr(s, '\0', len) != NULL;

	if (buf_addf(out, "%s{%zu}\r\n", nul ? "~" : "", len) < 0)
		return -1;
	return buf_add(out, s, len);
}

int
imap_write_string(struct buf *out, const char *s, size_t len, unsigned flags)
{
	if (!quotable(s, len, flags))
		return write_literal(out, s, len, flags);
	if (buf_addc(out, '"') < 0 || buf_add(out, s, len) < 0)
		return -1;
	return buf_addc(out, '"');
}

int
imap_write_nstring(struct buf *out, const char *s, size_t len, unsigned flags)
{
	if (s == NULL)
		return buf_adds(out, "NIL");
	return imap_write_string(out, s, len, flags);
}

/* ASTRING-CHAR (RFC 9051 9): ATOM-CHAR or "]". */
static bool
astring_atom(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || str_ieq(s, len, "NIL"))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\", c) != NULL)
			return false;
	}
	return true;
}

int
imap_write_astring(struct buf *out, const char *s, size_t len, unsigned flags)
{
	if (astring_atom(s, len))
		return buf_add(out, s, len);
	return imap_write_string(out, s, len, flags);
}

int
imap_write_mailbox(struct buf *out, const char *utf8, size_t len, unsigned flags)
{
	struct buf	 enc;
	int		 r;

	if (!utf8_valid(utf8, len))
		return -1;
	if (flags & IMAP_Q_UTF8)
		return imap_write_astring(out, utf8, len, flags);
	/* mUTF-7 is at most 8/3 of the UTF-8 plus the shifts: bounded by out */
	buf_init(&enc, out->max);
	r = mutf7_encode(utf8, len, &enc);
	if (r == 0)
		r = imap_write_astring(out, enc.len ? enc.data : "", enc.len, flags);
	buf_clear(&enc);
	return r;
}
