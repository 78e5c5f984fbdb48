/*
 * Unit tests for src/imap/names.h: store <-> wire names in both
 * namespaces and both encodings, the names that must be refused, round
 * trips, and LIST pattern matching with either separator.
 */
#include <string.h>

#include "imap/names.h"
#include "lib/buf.h"
#include "t.h"

#define M	IMAP_NS_MODERN
#define C	IMAP_NS_COURIER
#define U	IMAP_NAME_UTF8

/* Wire -> store; the reverse must give the canonical wire name (rt, or wire). */
static const struct {
	enum imap_ns	 ns;
	unsigned	 flags;
	const char	*wire;
	const char	*store;		/* NULL: refused */
	const char	*rt;		/* NULL: wire itself */
} from[] = {
	{ M, 0, "INBOX", "INBOX", NULL },
	{ M, 0, "inbox", "INBOX", "INBOX" },
	{ M, 0, "Sent", "Sent", NULL },
	{ M, 0, "a/b", "a/b", NULL },
	{ M, 0, "a.b", "a.b", NULL },
	{ M, 0, "Entw&APw-rfe", "Entw&APw-rfe", NULL },
	{ M, U, "Entw\xc3\xbcrfe", "Entw&APw-rfe", NULL },
	{ M, U, "a/\xc3\xa9t\xc3\xa9", "a/&AOk-t&AOk-", NULL },
	{ M, 0, "", NULL, NULL },
	{ M, 0, "/a", NULL, NULL },
	{ M, 0, "a/", NULL, NULL },
	{ M, 0, "a//b", NULL, NULL },
	{ M, 0, "a/../b", NULL, NULL },
	{ M, U, "bad\xc3", NULL, NULL },
	{ C, 0, "INBOX", "INBOX", NULL },
	{ C, 0, "Inbox", "INBOX", "INBOX" },
	{ C, 0, "INBOX.Sent", "Sent", NULL },
	{ C, 0, "inbox.Sent", "Sent", "INBOX.Sent" },
	{ C, 0, "INBOX.a.b", "a/b", NULL },
	{ C, 0, "INBOX.Entw&APw-rfe", "Entw&APw-rfe", NULL },
	{ C, U, "INBOX.Entw\xc3\xbcrfe", "Entw&APw-rfe", NULL },
	{ C, 0, "INBOX.INBOX.x", "INBOX/x", NULL },
	{ C, 0, "Sent", NULL, NULL },
	{ C, 0, "INBOX.", NULL, NULL },
	{ C, 0, "INBOX.a/b", NULL, NULL },
	{ C, 0, "INBOX.a..b", NULL, NULL },
	{ C, 0, "INBOX.a.", NULL, NULL },
	{ C, 0, "INBOXSent", NULL, NULL },
};

/* Store names the courier view cannot say. */
static const struct {
	enum imap_ns	 ns;
	unsigned	 flags;
	const char	*store;
	const char	*wire;		/* NULL: refused */
} to[] = {
	{ C, 0, "john.doe", NULL },
	{ C, 0, "a/b.c", NULL },
	{ M, 0, "john.doe", "john.doe" },
	{ M, U, "bad&-x&AOk", NULL },
	{ M, 0, "bad&-x&AOk", "bad&-x&AOk" },
};

static void
test_from_wire(void)
{
	struct buf	b, w;
	size_t		i;
	int		r;

	buf_init(&b, 4096);
	buf_init(&w, 4096);
	for (i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		buf_reset(&b);
		buf_reset(&w);
		r = imap_name_from_wire(from[i].ns, from[i].flags, from[i].wire,
		    strlen(from[i].wire), &b);
		if (from[i].store == NULL) {
			if (!t_ok(r == -1 && b.len == 0))
				printf("  wire=%s\n", from[i].wire);
			continue;
		}
		if (!t_ok(r == 0) || !t_str(buf_str(&b), from[i].store))
			printf("  wire=%s\n", from[i].wire);
		r = imap_name_to_wire(from[i].ns, from[i].flags, buf_str(&b), &w);
		if (!t_ok(r == 0) || !t_str(buf_str(&w), from[i].rt ? from[i].rt : from[i].wire))
			printf("  store=%s\n", buf_str(&b));
	}
	for (i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
		buf_reset(&w);
		r = imap_name_to_wire(to[i].ns, to[i].flags, to[i].store, &w);
		if (!t_ok(to[i].wire == NULL ? r == -1 && w.len == 0 :
		    r == 0 && strcmp(buf_str(&w), to[i].wire) == 0))
			printf("  store=%s\n", to[i].store);
	}
	buf_clear(&b);
	buf_clear(&w);
}

static const struct {
	const char	*wire, *pat;
	char		 sep;
	bool		 want;
} matches[] = {
	{ "INBOX", "*", '.', true },
	{ "INBOX", "inbox", '.', true },
	{ "INBOX.Sent", "INBOX.%", '.', true },
	{ "INBOX.Sent", "inbox.%", '.', true },
	{ "INBOX.a.b", "INBOX.%", '.', false },
	{ "INBOX.a.b", "INBOX.*", '.', true },
	{ "INBOX.a.b", "INBOX.%.%", '.', true },
	{ "INBOX.Sent", "%", '.', false },
	{ "INBOX", "%", '.', true },
	{ "a/b", "%", '/', false },
	{ "a.b", "%", '/', true },
	{ "a/b", "a/%", '/', true },
	{ "Sent", "S*t", '/', true },
	{ "Sent", "s*", '/', false },
	{ "a/b/c", "*c", '/', true },
	{ "a/b/c", "%c", '/', false },
	{ "a/b/c", "a%%/%/%", '/', true },
	{ "", "*", '/', true },
	{ "", "%", '/', true },
	{ "x", "", '/', false },
	{ "abc", "a**c", '/', true },
};

/* Many wildcards over a long name: the exponential backtracking case must stay cheap. */
static void
test_match_hostile(void)
{
	char	name[401], pat[82];
	size_t	i;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	for (i = 0; i < 80; i += 2) {
		pat[i] = i % 4 == 0 ? '*' : '%';
		pat[i + 1] = 'a';
	}
	pat[i] = 'b';
	pat[i + 1] = '\0';
	t_ok(!imap_name_match(name, pat, '/'));
	pat[i] = 'a';
	t_ok(imap_name_match(name, pat, '/'));
}

static void
test_match(void)
{
	size_t i;

	for (i = 0; i < sizeof(matches) / sizeof(matches[0]); i++)
		if (!t_ok(imap_name_match(matches[i].wire, matches[i].pat, matches[i].sep) ==
		    matches[i].want))
			printf("  wire=%s pat=%s\n", matches[i].wire, matches[i].pat);
}

static void
test_ns(void)
{
	enum imap_ns ns = M;

	t_ok(imap_ns_parse("courier", &ns) == 0 && ns == C);
	t_ok(imap_ns_parse("modern", &ns) == 0 && ns == M);
	t_ok(imap_ns_parse("Courier", &ns) == -1);
	t_ok(imap_ns_sep(C) == '.' && imap_ns_sep(M) == '/');
	t_str(imap_ns_prefix(C), "INBOX.");
	t_str(imap_ns_prefix(M), "");
}

int
main(void)
{
	t_begin("imap_names");
	test_from_wire();
	test_match();
	test_match_hostile();
	test_ns();
	return t_end();
}
