/*
 * Unit tests for FETCH literal bytes (src/imap/fetch_lit.h): LF -> CRLF
 * conversion, NUL replacement, transfer decoding for BINARY, partial
 * windows and sizes, each read whole, byte at a time and in odd pieces
 * (the same bytes must come out however the reader cuts them), the
 * HEADER.FIELDS[.NOT] filter, and sections to byte ranges on a MIME tree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/arena.h"
#include "imap/fetch_lit.h"
#include "imap/fetch_part.h"
#include "imap/fetch_section.h"
#include "lib/buf.h"
#include "mime/mime.h"
#include "t.h"

#define CRLF	FETCH_LIT_CRLF
#define NONUL	FETCH_LIT_NONUL
#define DEC	FETCH_LIT_DECODE

static const struct {
	const char	*in;
	size_t		 len;		/* 0: strlen */
	size_t		 off, n;	/* range; n == 0: to the end */
	unsigned	 flags;
	enum xfer_kind	 kind;
	const char	*want;
	size_t		 wlen;		/* 0: strlen */
} cases[] = {
	{ "", 0, 0, 0, CRLF, XFER_IDENT, "", 0 },
	{ "a\nb\n", 0, 0, 0, CRLF, XFER_IDENT, "a\r\nb\r\n", 0 },
	{ "a\r\nb\r\n", 0, 0, 0, CRLF, XFER_IDENT, "a\r\nb\r\n", 0 },
	{ "a\r\nb\nc", 0, 0, 0, CRLF, XFER_IDENT, "a\r\nb\r\nc", 0 },	/* mixed */
	{ "\n\n", 0, 0, 0, CRLF, XFER_IDENT, "\r\n\r\n", 0 },
	{ "a\rb\n", 0, 0, 0, CRLF, XFER_IDENT, "a\rb\r\n", 0 },		/* lone CR kept */
	{ "x\r\ny", 0, 2, 0, CRLF, XFER_IDENT, "\ny", 0 },	/* CR before the range counts */
	{ "x\ny\n", 0, 1, 0, CRLF, XFER_IDENT, "\r\ny\r\n", 0 },
	{ "a\nb", 0, 0, 0, 0, XFER_IDENT, "a\nb", 0 },		/* no conversion asked */
	{ "a\0b\n", 4, 0, 0, CRLF | NONUL, XFER_IDENT, "a\x80" "b\r\n", 0 },
	{ "a\0b\n", 4, 0, 0, CRLF, XFER_IDENT, "a\0b\r\n", 5 },
	/* BINARY: CRLF first, then the transfer encoding undone */
	{ "SGVs\nbG8=\n", 0, 0, 0, CRLF | DEC, XFER_BASE64, "Hello", 0 },
	{ "AAF4\n", 0, 0, 0, CRLF | DEC, XFER_BASE64, "\0\1x", 3 },
	{ "a=3Db=\nc\n", 0, 0, 0, CRLF | DEC, XFER_QP, "a=bc\r\n", 0 },
	{ "caf=C3=A9\r\n", 0, 0, 0, CRLF | DEC, XFER_QP, "caf\xc3\xa9\r\n", 0 },
	{ "tail=", 0, 0, 0, CRLF | DEC, XFER_QP, "tail=", 0 },	/* pending "=" flushed */
	{ "plain\n", 0, 0, 0, CRLF | DEC, XFER_IDENT, "plain\r\n", 0 },
};

#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/* out holds exactly want[0..n) (memcmp needs non-NULL pointers even for 0) */
static bool
same(const struct buf *out, const char *want, size_t n)
{
	return out->len == n && (n == 0 || memcmp(out->data, want, n) == 0);
}

static void
init_case(struct fetch_lit *l, size_t i)
{
	size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
	size_t n = cases[i].n ? cases[i].n : len - cases[i].off;

	fetch_lit_init(l, cases[i].in, cases[i].off, n, cases[i].flags, cases[i].kind);
}

/* Everything l produces, read cap bytes at a time (cap 0: odd sizes). */
static void
drain(struct fetch_lit *l, size_t cap, struct buf *out)
{
	char	 tmp[40000];
	size_t	 n, k = 0;
	static const size_t odd[] = { 1, 7, 2, 13, 3 };

	for (;;) {
		n = fetch_lit_read(l, tmp, cap ? cap : odd[k++ % 5]);
		if (n == 0)
			break;
		if (buf_add(out, tmp, n) < 0)
			abort();
	}
}

static void
test_cases(void)
{
	static const size_t caps[] = { 40000, 1, 0 };
	struct fetch_lit	*l = malloc(sizeof(*l));
	struct buf		 out;
	size_t			 i, c, wlen;
	uint64_t		 size;
	bool			 nul;

	buf_init(&out, 1 << 20);
	for (i = 0; i < NCASES; i++) {
		wlen = cases[i].wlen ? cases[i].wlen : strlen(cases[i].want);
		for (c = 0; c < 3; c++) {
			init_case(l, i);
			size = fetch_lit_size(l, &nul);
			buf_reset(&out);
			drain(l, caps[c], &out);
			if (!t_ok(same(&out, cases[i].want, wlen)))
				printf("  case %zu cap %zu: got %zu bytes\n", i, caps[c], out.len);
			t_ok(size == wlen);
			t_ok(nul == (memchr(cases[i].want, '\0', wlen) != NULL));
			fetch_lit_clear(l);
		}
	}
	buf_clear(&out);
	free(l);
}

/* <offset.count> over every case: the window is a slice of the whole. */
static void
test_windows(void)
{
	static const uint64_t w[][2] = { { 0, 1 }, { 1, 1 }, { 0, 3 }, { 2, 100 }, { 5, 2 },
		{ 100, 5 }, { 0, UINT64_MAX } };
	struct fetch_lit	*l = malloc(sizeof(*l));
	struct buf		 out;
	size_t			 i, k, wlen, lo, hi;

	buf_init(&out, 1 << 20);
	for (i = 0; i < NCASES; i++) {
		wlen = cases[i].wlen ? cases[i].wlen : strlen(cases[i].want);
		for (k = 0; k < sizeof(w) / sizeof(w[0]); k++) {
			lo = w[k][0] < wlen ? (size_t)w[k][0] : wlen;
			hi = w[k][1] < wlen - lo ? lo + (size_t)w[k][1] : wlen;
			init_case(l, i);
			fetch_lit_window(l, w[k][0], w[k][1]);
			t_ok(fetch_lit_size(l, NULL) == hi - lo);
			buf_reset(&out);
			drain(l, k % 2 ? 1 : 0, &out);
			t_ok(same(&out, cases[i].want + lo, hi - lo));
			fetch_lit_clear(l);
		}
	}
	buf_clear(&out);
	free(l);
}

/* Past one chunk: line ends across step boundaries, and a window deep in. */
static void
test_large(void)
{
	struct fetch_lit	*l = malloc(sizeof(*l));
	struct buf		 out;
	char			*in, *want;
	size_t			 n = 100000, i, wn = 0;

	in = malloc(n);
	want = malloc(2 * n);
	for (i = 0; i < n; i++) {
		/* CRLF and bare LF mixed, an LF right after each chunk edge */
		in[i] = i % 97 == 0 || i % FETCH_LIT_CHUNK == 0 ? '\n' : i % 89 == 0 ? '\r' : 'a';
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			want[wn++] = '\r';
		want[wn++] = in[i];
	}
	buf_init(&out, 4 * n);
	fetch_lit_init(l, in, 0, n, CRLF, XFER_IDENT);
	t_ok(fetch_lit_size(l, NULL) == wn);
	t_ok(fetch_bare_lfs(in, 0, n) == wn - n);
	drain(l, 3000, &out);
	t_ok(same(&out, want, wn));
	fetch_lit_init(l, in, 0, n, CRLF, XFER_IDENT);
	fetch_lit_window(l, 54321, 20000);
	buf_reset(&out);
	drain(l, 0, &out);
	t_ok(same(&out, want + 54321, 20000));
	buf_clear(&out);
	free(in);
	free(want);
	free(l);
}

/*
 * Reads straight into the caller's buffer (no window start, no decoding):
 * every room size from 1 up, so the room ends before, between and after
 * the CR and LF of each line end; a CR as the last source byte of a read,
 * lone CRs, CRLF already there, NULs, and a window from 0 that ends
 * inside a line end.
 */
static void
test_direct_edges(void)
{
	static const char in[] = "ab\r\ncd\n\ne\rf\r\r\ng\0h\nlast\r";
	static const char want[] = "ab\r\ncd\r\n\r\ne\rf\r\r\ng\x80h\r\nlast\r";
	struct fetch_lit	*l = malloc(sizeof(*l));
	struct buf		 out;
	size_t			 cap, n = sizeof(in) - 1, wn = sizeof(want) - 1, cut;

	buf_init(&out, 1 << 20);
	for (cap = 1; cap <= wn + 1; cap++) {
		fetch_lit_init(l, in, 0, n, CRLF | NONUL, XFER_IDENT);
		t_ok(fetch_lit_size(l, NULL) == wn);
		buf_reset(&out);
		drain(l, cap, &out);
		if (!t_ok(same(&out, want, wn)))
			printf("  cap %zu: got %zu bytes\n", cap, out.len);
		fetch_lit_clear(l);
	}
	/* <0.cut>: the window may end between a CR and its LF */
	for (cut = 0; cut <= wn; cut++) {
		fetch_lit_init(l, in, 0, n, CRLF | NONUL, XFER_IDENT);
		fetch_lit_window(l, 0, cut);
		t_ok(fetch_lit_size(l, NULL) == cut);
		buf_reset(&out);
		drain(l, cut % 3 + 2, &out);
		t_ok(same(&out, want, cut));
		fetch_lit_clear(l);
	}
	buf_clear(&out);
	free(l);
}

/* A literal that owns its bytes (HEADER.FIELDS) frees them at clear. */
static void
test_own(void)
{
	struct fetch_lit	*l = malloc(sizeof(*l));
	struct buf		 out;
	char			*own = strdup("A: 1\n\r\n");

	buf_init(&out, 100);
	fetch_lit_init_own(l, own, strlen(own), CRLF);
	drain(l, 1, &out);
	t_ok(same(&out, "A: 1\r\n\r\n", 8));
	fetch_lit_clear(l);
	t_ok(l->own == NULL);
	buf_clear(&out);
	free(l);
}

static const char hdr[] =
    "From: a@example.org\n"
    "Subject: hello\n"
    "X-Long: one\n"
    "\ttwo\n"
    "subject: again\r\n"
    "To: b@example.org\n"
    "\n";

static const struct {
	const char	*names[4];	/* NULL-terminated */
	bool		 exclude;
	const char	*want;
} filters[] = {
	{ { "Subject" }, false, "Subject: hello\nsubject: again\r\n\r\n" },
	{ { "SUBJECT", "x-long" }, false,
	    "Subject: hello\nX-Long: one\n\ttwo\nsubject: again\r\n\r\n" },
	{ { "Nothing" }, false, "\r\n" },
	{ { "From", "Subject", "X-LONG" }, true, "To: b@example.org\n\r\n" },
	{ { "Nothing" }, true, "From: a@example.org\nSubject: hello\nX-Long: one\n\ttwo\n"
	    "subject: again\r\nTo: b@example.org\n\r\n" },
	{ { "From-" }, false, "\r\n" },	/* whole names only */
};

static void
test_filter(void)
{
	const char	*names[1];
	size_t		 i, n;
	struct buf	 out;

	buf_init(&out, 4096);
	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		for (n = 0; n < 4 && filters[i].names[n] != NULL; n++)
			;
		buf_reset(&out);
		t_ok(fetch_header_filter(hdr, strlen(hdr), filters[i].names, n,
		    filters[i].exclude, &out) == 0);
		t_str(buf_str(&out), filters[i].want);
	}
	/* a header cut off without its last line end gets one */
	names[0] = "B";
	buf_reset(&out);
	t_ok(fetch_header_filter("A: 1\nB: 2", 9, names, 1, false, &out) == 0);
	t_str(buf_str(&out), "B: 2\r\n\r\n");
	/* a full buffer is an error */
	buf_clear(&out);
	buf_init(&out, 4);
	t_ok(fetch_header_filter(hdr, strlen(hdr), names, 1, true, &out) == -1);
	buf_clear(&out);
}

static const char msg[] =
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: Base64\n"
    "\n"
    "b25l\n"
    "--b\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: in\n"
    "Content-Type: multipart/alternative; boundary=c\n"
    "\n"
    "--c\n"
    "\n"
    "alt1\n"
    "--c\n"
    "Content-Transfer-Encoding: x-uuencode\n"
    "\n"
    "alt2\n"
    "--c--\n"
    "--b--\n";

static const struct {
	const char	*section;	/* "[...]" */
	const char	*want;		/* NULL: no such part */
	const char	*cte;		/* the body part's encoding ("-": none, a header) */
	bool		 prefix;	/* want is only the start of the range */
} sections[] = {
	{ "[]", msg, "-", false },
	{ "[HEADER]", "Content-Type: multipart/mixed; boundary=b\n\n", "-", false },
	{ "[TEXT]", "--b\nContent-Type: text/plain; charset=utf-8\n", "-", true },
	{ "[1]", "b25l", "Base64", false },
	{ "[1.MIME]", "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: Base64\n\n", "-", false },
	{ "[2]", "Subject: in\nContent-Type: multipart/alternative; boundary=c\n\n--c\n", NULL,
	    true },
	{ "[2.HEADER]", "Subject: in\nContent-Type: multipart/alternative; boundary=c\n\n", "-", false },
	{ "[2.HEADER.FIELDS (Subject)]", "Subject: in\n", "-", true },	/* the whole header */
	{ "[2.TEXT]", "--c\n\nalt1\n--c\n", "-", true },
	{ "[2.1]", "alt1", NULL, false },
	{ "[2.2]", "alt2", "x-uuencode", false },
	{ "[2.1.MIME]", "\n", "-", false },
	{ "[3]", NULL, NULL, false },
	{ "[1.1]", NULL, NULL, false },
	{ "[1.HEADER]", NULL, NULL, false },		/* HEADER of a part that is no message */
	{ "[1.TEXT]", NULL, NULL, false },
	{ "[2.1.1]", NULL, NULL, false },
	{ "[2.3]", NULL, NULL, false },
};

static void
test_sections(void)
{
	struct mime_part	*root = mime_parse(msg, strlen(msg));
	struct imap_arena	 a;
	struct fetch_item	 it;
	struct fetch_range	 r;
	const char		*err, *cte;
	size_t			 i, wl;
	enum xfer_kind		 k;

	imap_arena_init(&a);
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		memset(&it, 0, sizeof(it));
		it.type = FETCH_BODY_SECTION;
		if (!t_ok(fetch_section_parse(&a, &it, "BODY", sections[i].section,
		    strlen(sections[i].section), &err) == 0))
			continue;
		fetch_section_range(root, &it, &r);
		if (sections[i].want == NULL) {
			if (!t_ok(!r.found))
				printf("  %s found\n", sections[i].section);
			continue;
		}
		wl = strlen(sections[i].want);
		t_ok(r.found && r.off + r.len <= strlen(msg));
		if (!t_ok(r.len >= wl && memcmp(msg + r.off, sections[i].want, wl) == 0))
			printf("  %s: %.*s\n", sections[i].section, (int)r.len, msg + r.off);
		if (!sections[i].prefix)
			t_ok(r.len == wl);
		cte = sections[i].cte;
		if (cte != NULL && strcmp(cte, "-") == 0)
			t_ok(r.body == NULL);
		else if (t_ok(r.body != NULL))
			t_str(r.body->encoding, cte);
	}
	imap_arena_free(&a);
	mime_free(&root);
	/* BINARY's encodings */
	t_ok(fetch_cte_kind(NULL, &k) == 0 && k == XFER_IDENT);
	t_ok(fetch_cte_kind("8BIT", &k) == 0 && k == XFER_IDENT);
	t_ok(fetch_cte_kind("binary", &k) == 0 && k == XFER_IDENT);
	t_ok(fetch_cte_kind("BASE64", &k) == 0 && k == XFER_BASE64);
	t_ok(fetch_cte_kind("Quoted-Printable", &k) == 0 && k == XFER_QP);
	t_ok(fetch_cte_kind("x-uuencode", &k) == -1);
	t_ok(fetch_cte_kind("", &k) == -1);
}

int
main(void)
{
	t_begin("imap_fetch");
	test_cases();
	test_windows();
	test_large();
	test_direct_edges();
	test_own();
	test_filter();
	test_sections();
	return t_end();
}
