/*
 * ENVELOPE reader; see envelope.h.  A cursor over the string: nstrings
 * are NIL, quoted (with \" and \\ escapes) or literals {n}CRLF; the two
 * levels of parentheses (address list, address) are read by loops, so
 * nesting deeper than the grammar allows is simply a syntax error.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/envelope.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

struct cur {
	const char	*s;
	size_t		 len, i;
};

static void
sp(struct cur *c)
{
	while (c->i < c->len && c->s[c->i] == ' ')
		c->i++;
}

static bool
eat(struct cur *c, char ch)
{
	sp(c);
	if (c->i < c->len && c->s[c->i] == ch) {
		c->i++;
		return true;
	}
	return false;
}

static void
str_set(struct env_str *out, const char *p, size_t n)
{
	if (out == NULL)
		return;
	free(out->s);
	out->s = xmalloc(n + 1);
	memcpy(out->s, p, n);
	out->s[n] = '\0';
	out->len = n;
}

/* An nstring into out (NULL: skip it).  0 or -1. */
static int
nstring(struct cur *c, struct env_str *out)
{
	uint64_t	 n;
	size_t		 start, j, k;

	sp(c);
	if (c->len - c->i >= 3 && memcmp(c->s + c->i, "NIL", 3) == 0) {
		c->i += 3;
		return 0;
	}
	if (eat(c, '"')) {
		/* measure, then copy without the escapes */
		for (j = c->i; j < c->len && c->s[j] != '"'; j++)
			if (c->s[j] == '\\' && ++j == c->len)
				return -1;
		if (j >= c->len)
			return -1;
		if (out != NULL) {
			str_set(out, c->s + c->i, j - c->i);
			for (k = 0, start = c->i; start < j; start++) {
				if (c->s[start] == '\\')
					start++;
				out->s[k++] = c->s[start];
			}
			out->s[k] = '\0';
			out->len = k;
		}
		c->i = j + 1;
		return 0;
	}
	if (eat(c, '{')) {
		for (start = c->i; c->i < c->len && c->s[c->i] != '}'; c->i++)
			;
		if (c->i >= c->len || parse_u64(c->s + start, c->i - start, c->len, &n) < 0 ||
		    c->len - c->i < 3 || memcmp(c->s + c->i, "}\r\n", 3) != 0)
			return -1;
		c->i += 3;
		if (n > c->len - c->i)
			return -1;
		str_set(out, c->s + c->i, (size_t)n);
		c->i += (size_t)n;
		return 0;
	}
	return -1;
}

static void
addr_clear(struct env_addr *a)
{
	free(a->name.s);
	free(a->mailbox.s);
	free(a->host.s);
	memset(a, 0, sizeof(*a));
}

/* NIL or ( 1*address ); the first goes to first (may be NULL). */
static int
addr_list(struct cur *c, struct env_addr *first)
{
	struct env_addr	 a;
	bool		 got = false;

	sp(c);
	if (c->len - c->i >= 3 && memcmp(c->s + c->i, "NIL", 3) == 0) {
		c->i += 3;
		return 0;
	}
	if (!eat(c, '('))
		return -1;
	while (!eat(c, ')')) {
		memset(&a, 0, sizeof(a));
		if (!eat(c, '(') || nstring(c, &a.name) < 0 || nstring(c, NULL) < 0 ||
		    nstring(c, &a.mailbox) < 0 || nstring(c, &a.host) < 0 || !eat(c, ')')) {
			addr_clear(&a);
			return -1;
		}
		/*
		 * The first entry, even a group's start (NIL NIL "name" NIL,
		 * RFC 3501 7.4.2): SORT then compares the group name, as
		 * Dovecot does (imaptest's sort-addresses, sort-display-to).
		 */
		if (!got && first != NULL) {
			*first = a;
			got = true;
			continue;
		}
		addr_clear(&a);
	}
	return 0;
}

int
envelope_read(const char *s, size_t len, struct envelope *e)
{
	struct cur	 c = { s, len, 0 };

	memset(e, 0, sizeof(*e));
	if (!eat(&c, '(') || nstring(&c, &e->date) < 0 || nstring(&c, &e->subject) < 0 ||
	    addr_list(&c, &e->from) < 0 || addr_list(&c, NULL) < 0 ||
	    addr_list(&c, NULL) < 0 || addr_list(&c, &e->to) < 0 ||
	    addr_list(&c, &e->cc) < 0 || addr_list(&c, NULL) < 0 ||
	    nstring(&c, &e->in_reply_to) < 0 || nstring(&c, &e->message_id) < 0 ||
	    !eat(&c, ')')) {
		envelope_clear(e);
		return -1;
	}
	return 0;
}

void
envelope_clear(struct envelope *e)
{
	free(e->date.s);
	free(e->subject.s);
	free(e->in_reply_to.s);
	free(e->message_id.s);
	addr_clear(&e->from);
	addr_clear(&e->to);
	addr_clear(&e->cc);
	memset(e, 0, sizeof(*e));
}
