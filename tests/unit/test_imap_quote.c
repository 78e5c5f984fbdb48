/*
 * Unit tests for IMAP string output (src/imap/quote.h) and mailbox name
 * encodings (src/imap/mutf7.h): atom/quoted/literal choice, NIL, and
 * modified UTF-7 round trips and the invalid forms a strict decoder must
 * refuse (RFC 3501 5.1.3).
 */
#include <stdint.h>
#include <string.h>

#include "imap/mutf7.h"
#include "imap/quote.h"
#include "lib/buf.h"
#include "t.h"

enum kind { ASTR, STR, NSTR, MBOX };

static const struct {
	enum kind	 kind;
	const char	*in;		/* NULL: a NULL nstring */
	size_t		 len;		/* 0: strlen */
	unsigned	 flags;
	const char	*want;		/* NULL: must fail */
} quotes[] = {
	{ ASTR, "INBOX", 0, 0, "INBOX" },
	{ ASTR, "a]b", 0, 0, "a]b" },
	{ ASTR, "NIL", 0, 0, "\"NIL\"" },
	{ ASTR, "nil", 0, 0, "\"nil\"" },
	{ ASTR, "", 0, 0, "\"\"" },
	{ ASTR, "two words", 0, 0, "\"two words\"" },
	{ ASTR, "a%", 0, 0, "\"a%\"" },
	{ ASTR, "a*", 0, 0, "\"a*\"" },
	{ ASTR, "(x)", 0, 0, "\"(x)\"" },
	{ ASTR, "{5}", 0, 0, "\"{5}\"" },
	{ STR, "plain", 0, 0, "\"plain\"" },
	{ STR, "say \"hi\"", 0, 0, "{8}\r\nsay \"hi\"" },
	{ STR, "back\\slash", 0, 0, "{10}\r\nback\\slash" },
	{ STR, "line\r\nbreak", 0, 0, "{11}\r\nline\r\nbreak" },
	{ STR, "lf\n", 0, 0, "{3}\r\nlf\n" },
	{ STR, "caf\xc3\xa9", 0, 0, "{5}\r\ncaf\xc3\xa9" },
	{ STR, "caf\xc3\xa9", 0, IMAP_Q_UTF8, "\"caf\xc3\xa9\"" },
	{ STR, "bad\xc3", 0, IMAP_Q_UTF8, "{4}\r\nbad\xc3" },
	{ STR, "n\0l", 3, 0, "{3}\r\nn\0l" },
	{ STR, "n\0l", 3, IMAP_Q_LITERAL8, "~{3}\r\nn\0l" },
	{ NSTR, NULL, 0, 0, "NIL" },
	{ NSTR, "", 0, 0, "\"\"" },
	{ NSTR, "x", 0, 0, "\"x\"" },
	{ MBOX, "INBOX", 0, 0, "INBOX" },
	{ MBOX, "Entw\xc3\xbc" "rfe", 0, 0, "Entw&APw-rfe" },
	{ MBOX, "Entw\xc3\xbc" "rfe", 0, IMAP_Q_UTF8, "\"Entw\xc3\xbc" "rfe\"" },	/* no 8-bit atoms */
	{ MBOX, "A & B", 0, 0, "\"A &- B\"" },
	{ MBOX, "bad\xff", 0, 0, NULL },
};

static void
quoting(void)
{
	struct buf	 out;
	size_t		 i, len, wl;
	int		 r;

	buf_init(&out, 1 << 16);
	for (i = 0; i < sizeof(quotes) / sizeof(quotes[0]); i++) {
		const char *in = quotes[i].in;

		len = quotes[i].len ? quotes[i].len : in ? strlen(in) : 0;
		buf_reset(&out);
		switch (quotes[i].kind) {
		case ASTR:
			r = imap_write_astring(&out, in, len, quotes[i].flags);
			break;
		case STR:
			r = imap_write_string(&out, in, len, quotes[i].flags);
			break;
		case NSTR:
			r = imap_write_nstring(&out, in, len, quotes[i].flags);
			break;
		default:
			r = imap_write_mailbox(&out, in, len, quotes[i].flags);
			break;
		}
		if (quotes[i].want == NULL) {
			t_int(r, -1);
			continue;
		}
		t_int(r, 0);
		/* wants may hold NUL: compare by the expected literal length */
		wl = strlen(quotes[i].want);
		if (quotes[i].len == 3)
			wl = out.len;
		if (!t_int(out.len, wl) || !t_ok(memcmp(out.data, quotes[i].want, wl) == 0))
			printf("  case %zu: got %s\n", i, buf_str(&out));
	}
	/* long text goes as a literal */
	{
		char	 big[IMAP_QUOTED_MAX + 1];

		memset(big, 'a', sizeof(big));
		buf_reset(&out);
		t_int(imap_write_string(&out, big, sizeof(big), 0), 0);
		t_ok(out.len > 7 && memcmp(out.data, "{1025}\r\n", 8) == 0);
		buf_reset(&out);
		t_int(imap_write_string(&out, big, IMAP_QUOTED_MAX, 0), 0);
		t_ok(out.data[0] == '"');
	}
	/* a full buffer fails */
	out.max = 4;
	buf_reset(&out);
	t_int(imap_write_string(&out, "abcdef", 6, 0), -1);
	buf_clear(&out);
}

static const struct {
	const char	*utf8;
	const char	*mutf7;
} pairs[] = {
	{ "INBOX", "INBOX" },
	{ "", "" },
	{ "&", "&-" },
	{ "a&&b", "a&-&-b" },
	{ "Entw\xc3\xbc" "rfe", "Entw&APw-rfe" },
	{ "R\xc3\xa4mpspost", "R&AOQ-mpspost" },
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },		/* RFC 3501 5.1.3 example */
	{ "\xc3\xa4\xc3\xb6\xc3\xbc", "&AOQA9gD8-" },
	{ "\xf0\x9f\x93\xa7 Mail", "&2D3c5w- Mail" },	/* U+1F4E7: a surrogate pair */
	{ "tab\there", "tab&AAk-here" },
	{ "\x7f", "&AH8-" },
};

static const char *const bad_mutf7[] = {
	"&",			/* unterminated */
	"&AOQ",			/* no "-" */
	"&AOQ-&APw-",		/* adjacent runs: must be one */
	"&AGE-",		/* "a" encoded: printable ASCII stands for itself */
	"&ACY-",		/* "&" encoded */
	"&AOR-",		/* non-zero padding bits */
	"&AOQA-",		/* leftover 6 bits: not a whole unit */
	"&2D3-",		/* lone high surrogate */
	"&3OcA5A-",		/* lone low surrogate */
	"&2D3YPQ-",		/* high surrogate then high */
	"&A/Q-",		/* "/" is not in the modified alphabet */
	"&A=Q-",
	"caf\xc3\xa9",		/* raw 8-bit */
	"a\tb",			/* raw control */
	"&-&",
};

static const char *const bad_utf8[] = {
	"\xc0\xaf",		/* overlong "/" */
	"\xe0\x80\xaf",		/* overlong */
	"\xed\xa0\x80",		/* surrogate D800 */
	"\xf4\x90\x80\x80",	/* > U+10FFFF */
	"\xc3",			/* truncated */
	"\xff",
	"\x80",
};

/* An independent UTF-8 encoder for the test oracle (BMP only). */
static size_t
bmp_utf8(uint32_t cp, char *u)
{
	size_t	 n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3, i;

	for (i = n - 1; i > 0; i--, cp >>= 6)
		u[i] = (char)(0x80 | (cp & 0x3f));
	u[0] = (char)(n == 1 ? cp : n == 2 ? 0xc0 | cp : 0xe0 | cp);
	return n;
}

static void
utf7(void)
{
	struct buf	 out;
	size_t		 i;

	buf_init(&out, 4096);
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		buf_reset(&out);
		t_int(mutf7_encode(pairs[i].utf8, strlen(pairs[i].utf8), &out), 0);
		t_str(buf_str(&out), pairs[i].mutf7);
		buf_reset(&out);
		t_int(mutf7_decode(pairs[i].mutf7, strlen(pairs[i].mutf7), &out), 0);
		t_str(buf_str(&out), pairs[i].utf8);
	}
	for (i = 0; i < sizeof(bad_mutf7) / sizeof(bad_mutf7[0]); i++) {
		buf_reset(&out);
		if (!t_int(mutf7_decode(bad_mutf7[i], strlen(bad_mutf7[i]), &out), -1))
			printf("  accepted %s\n", bad_mutf7[i]);
	}
	for (i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		buf_reset(&out);
		t_ok(!utf8_valid(bad_utf8[i], strlen(bad_utf8[i])));
		t_int(mutf7_encode(bad_utf8[i], strlen(bad_utf8[i]), &out), -1);
	}
	t_ok(utf8_valid("\xf4\x8f\xbf\xbf", 4));	/* U+10FFFF */
	t_ok(utf8_valid("\xef\xbf\xbf", 3));
	t_ok(ascii_printable("a b~", 4));
	t_ok(!ascii_printable("a\x7f", 2));
	/* every BMP code point but surrogates round-trips */
	{
		uint32_t	 cp;
		char		 u[4];
		struct buf	 back;
		int		 bad = 0;

		buf_init(&back, 64);
		for (cp = 1; cp < 0x10000; cp++) {
			size_t n;

			if (cp >= 0xd800 && cp <= 0xdfff)
				continue;
			n = bmp_utf8(cp, u);
			buf_reset(&out);
			buf_reset(&back);
			if (mutf7_encode(u, n, &out) < 0 || mutf7_decode(out.data, out.len, &back) < 0 ||
			    back.len != n || memcmp(back.data, u, n) != 0)
				bad++;
		}
		t_int(bad, 0);
		buf_clear(&back);
	}
	buf_clear(&out);
}

int
main(void)
{
	t_begin("imap_quote");
	quoting();
	utf7();
	return t_end();
}
