/*
 * Mailbox names between the wire and the store (see names.h).  The
 * separators are ASCII and never occur inside a modified UTF-7 base64 run
 * (its alphabet has ',' where base64 has '/'), so the level separator can
 * be swapped byte by byte on either encoding.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/arg.h"
#include "imap/client.h"
#include "imap/mutf7.h"
#include "imap/names.h"
#include "imap/quote.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "store/store.h"

#define COURIER_PREFIX	"INBOX."
#define NAME_MAX_WIRE	4096	/* well above the store's folder name limit */

enum imap_ns
imap_ns_current(void)
{
	enum imap_ns ns = IMAP_NS_MODERN;

	(void)imap_ns_parse(conf_str(conf_current(), CK_IMAP_NAMESPACE), &ns);
	return ns;
}

int
imap_ns_parse(const char *s, enum imap_ns *ns_r)
{
	if (strcmp(s, "modern") == 0)
		*ns_r = IMAP_NS_MODERN;
	else if (strcmp(s, "courier") == 0)
		*ns_r = IMAP_NS_COURIER;
	else
		return -1;
	return 0;
}

char
imap_ns_sep(enum imap_ns ns)
{
	return ns == IMAP_NS_COURIER ? '.' : '/';
}

const char *
imap_ns_prefix(enum imap_ns ns)
{
	return ns == IMAP_NS_COURIER ? COURIER_PREFIX : "";
}

/* Copy s[0..len) to out with from -> to; -1 when s holds `to` already (it would merge levels). */
static int
swap_sep(const char *s, size_t len, char from, char to, struct buf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == to && from != to)
			return -1;
		if (buf_addc(out, s[i] == from ? to : s[i]) < 0)
			return -1;
	}
	return 0;
}

int
imap_name_from_wire(enum imap_ns ns, unsigned flags, const char *wire, size_t len,
    struct buf *out)
{
	struct buf	 lvl;
	size_t		 plen = strlen(COURIER_PREFIX), start = out->len;
	int		 r;

	if (str_ieq(wire, len, "INBOX"))
		return buf_adds(out, "INBOX");
	if (ns == IMAP_NS_COURIER) {
		/* Courier shows everything below INBOX.; a name outside it does not exist. */
		if (len <= plen || strncasecmp(wire, COURIER_PREFIX, plen) != 0)
			return -1;
		wire += plen;
		len -= plen;
	}
	buf_init(&lvl, NAME_MAX_WIRE);
	r = swap_sep(wire, len, imap_ns_sep(ns), '/', &lvl);
	/* RFC 6855 §3: after ENABLE UTF8=ACCEPT names come in UTF-8; the store keeps mUTF-7. */
	if (r == 0)
		r = (flags & IMAP_NAME_UTF8) ? mutf7_encode(lvl.data, lvl.len, out) :
		    buf_add(out, lvl.data, lvl.len);
	buf_clear(&lvl);
	/* An empty name (no folder has it) leaves out without memory: no pointer to check. */
	if (r == 0 && out->len == start)
		r = -1;
	/* The terminator is written for the check, then dropped from len. */
	if (r == 0 && (str_has_nul(out->data + start, out->len - start) || buf_addc(out, '\0') < 0))
		r = -1;
	if (r == 0 && (out->len--, !store_folder_valid(out->data + start)))
		r = -1;
	if (r < 0)
		out->len = start;
	return r;
}

int
imap_name_to_wire(enum imap_ns ns, unsigned flags, const char *name, struct buf *out)
{
	struct buf	 u;
	size_t		 start = out->len;
	int		 r;

	if (strcmp(name, "INBOX") == 0)
		return buf_adds(out, "INBOX");
	buf_init(&u, NAME_MAX_WIRE);
	r = (flags & IMAP_NAME_UTF8) ? mutf7_decode(name, strlen(name), &u) :
	    buf_adds(&u, name);
	if (r == 0 && ns == IMAP_NS_COURIER)
		r = buf_adds(out, COURIER_PREFIX);
	/* A '.' inside a level has no spelling in Courier's view. */
	if (r == 0)
		r = swap_sep(u.data, u.len, '/', imap_ns_sep(ns), out);
	buf_clear(&u);
	if (r < 0)
		out->len = start;
	return r;
}

/*
 * '*' and '%' by dynamic programming over pattern positions: O(name x
 * pattern), where the obvious recursion is exponential in the number of
 * wildcards ("*a*a*a*a*b" is a cheap attack).  can[j]: pat[0..j) matches
 * the name read so far.
 */
static bool
match(const char *name, const char *pat, char sep)
{
	size_t	 m = strlen(pat), j;
	bool	*can = xcalloc(m + 1, sizeof(*can)), diag, up, r;

	can[0] = true;
	for (j = 1; j <= m && (pat[j - 1] == '*' || pat[j - 1] == '%'); j++)
		can[j] = true;
	for (; *name != '\0'; name++) {
		diag = can[0];
		can[0] = false;
		for (j = 1; j <= m; j++) {
			up = can[j];
			if (pat[j - 1] == '*')
				can[j] = can[j - 1] || up;
			else if (pat[j - 1] == '%')
				can[j] = can[j - 1] || (up && *name != sep);
			else
				can[j] = diag && *name == pat[j - 1];
			diag = up;
		}
	}
	r = can[m];
	free(can);
	return r;
}

bool
imap_name_match(const char *wire, const char *pat, char sep)
{
	/* INBOX is case-insensitive (RFC 3501 §5.1): compare its head as upper case. */
	if (strncasecmp(pat, "INBOX", 5) == 0 && strncmp(wire, "INBOX", 5) == 0)
		return match(wire + 5, pat + 5, sep);
	return match(wire, pat, sep);
}

unsigned
imap_name_flags(const struct imap_client *c)
{
	/* RFC 9051 §5.1: rev2 names are UTF-8 too. */
	return (c->enabled & (IMAP_E_UTF8 | IMAP_E_REV2)) ? IMAP_NAME_UTF8 : 0;
}

char *
imap_mailbox_arg(struct imap_client *c, const struct imap_arg *a)
{
	const char	*s;
	size_t		 len;
	struct buf	 b;
	char		*name;

	if (!imap_arg_astring(a, &s, &len) || str_has_nul(s, len)) {
		imap_tagged(c, "BAD", "Invalid mailbox name.");
		return NULL;
	}
	buf_init(&b, NAME_MAX_WIRE);
	if (imap_name_from_wire(imap_ns_current(), imap_name_flags(c), s, len, &b) < 0) {
		buf_clear(&b);
		imap_tagged(c, "NO", "[CANNOT] Invalid mailbox name.");
		return NULL;
	}
	name = buf_take(&b, NULL);
	buf_clear(&b);
	return name;
}

int
imap_write_mailbox_name(struct imap_client *c, struct buf *out, const char *name)
{
	struct buf	 w;
	unsigned	 f = imap_name_flags(c);
	int		 r;

	buf_init(&w, NAME_MAX_WIRE);
	if ((r = imap_name_to_wire(imap_ns_current(), f, name, &w)) == 0)
		(void)imap_write_astring(out, w.data != NULL ? w.data : "", w.len,
		    (f & IMAP_NAME_UTF8) ? IMAP_Q_UTF8 : 0);
	else
		(void)imap_write_astring(out, name, strlen(name), 0);
	buf_clear(&w);
	return r;
}
