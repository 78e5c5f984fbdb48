/* Unit tests for src/smtp/headers.c: Message-ID:/Date: added on submission. */
#include <string.h>

#include "lib/buf.h"
#include "smtp/headers.h"
#include "t.h"

#define MID	"Message-ID: <1@h>\r\n"
#define DATE	"Date: D\r\n"

static const struct {
	const char	*in;
	const char	*out;
} cases[] = {
	/* both missing: before the empty line */
	{ "Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n" MID DATE "\r\nbody\r\n" },
	/* both present, any case, obsolete space before ':' */
	{ "message-id: <a@b>\r\nDATE : now\r\n\r\nb\r\n", "message-id: <a@b>\r\nDATE : now\r\n\r\nb\r\n" },
	/* one missing */
	{ "Date: x\r\n\r\n", "Date: x\r\n" MID "\r\n" },
	{ "Message-Id: <x>\r\n\r\n", "Message-Id: <x>\r\n" DATE "\r\n" },
	/* folded fields; names inside continuations or the body do not count */
	{ "Subject: a\r\n Date: no\r\n\tMessage-ID: no\r\n\r\nDate: body\r\n",
	  "Subject: a\r\n Date: no\r\n\tMessage-ID: no\r\n" MID DATE "\r\nDate: body\r\n" },
	/* similar names are other fields */
	{ "Dates: x\r\nMessage-IDs: y\r\nX-Date: z\r\n\r\n",
	  "Dates: x\r\nMessage-IDs: y\r\nX-Date: z\r\n" MID DATE "\r\n" },
	/* no header section at all */
	{ "\r\nbody\r\n", MID DATE "\r\nbody\r\n" },
	/* a line that is no header field starts the body: an empty line is inserted */
	{ "Subject: x\r\nhello world\r\nmore\r\n", "Subject: x\r\n" MID DATE "\r\nhello world\r\nmore\r\n" },
	{ "just text\r\n", MID DATE "\r\njust text\r\n" },
	{ "a b: c\r\n\r\n", MID DATE "\r\na b: c\r\n\r\n" },
	{ ": x\r\n", MID DATE "\r\n: x\r\n" },
	{ "Subj\xc3\xa9t: x\r\n", MID DATE "\r\nSubj\xc3\xa9t: x\r\n" },
	/* only a header section: the fields go at the end */
	{ "Subject: x\r\n", "Subject: x\r\n" MID DATE },
	/* ... even without the last CRLF (BDAT) */
	{ "Subject: x", "Subject: x\r\n" MID DATE },
	{ "Subject", MID DATE "\r\nSubject" },
	{ "", MID DATE },
	/* a bare LF line end (BDAT keeps it) */
	{ "Subject: x\n\nb\n", "Subject: x\n" MID DATE "\nb\n" },
	/* an over-long name is no field name */
	{ "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX: y\r\n\r\n",
	  MID DATE "\r\nXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX: y\r\n\r\n" },
};

static void
run(const char *in, size_t step, const char *want)
{
	struct hdrfix	 h;
	struct buf	 out;
	size_t		 len = strlen(in), off, n;
	int		 r = 0;

	buf_init(&out, 1 << 16);
	hdrfix_init(&h, MID, DATE);
	for (off = 0; off < len && r == 0; off += n) {
		n = len - off < step ? len - off : step;
		r = hdrfix_feed(&h, in + off, n, &out);
	}
	if (r == 0)
		r = hdrfix_finish(&h, &out);
	t_int(r, 0);
	if (!t_ok(out.len == strlen(want) && memcmp(out.data, want, out.len) == 0))
		printf("  in %s\n  step %zu got [%.*s]\n", in, step, (int)out.len, out.data ? out.data : "");
	/* finish twice adds nothing */
	n = out.len;
	t_int(hdrfix_finish(&h, &out), 0);
	t_int(out.len, n);
	buf_clear(&out);
}

/* header_size_limit: max 20 bytes of header section */
static const struct { const char *in; int want; } hl_cases[] = {
	{ "A: b\r\n\r\nbody that is long enough to pass twenty\r\n", 1 },
	{ "A: b\r\n", 0 },					/* still inside */
	{ "A: b\r\n  continued!\r\n\r\n", -1 },		/* 20 bytes, then the CR of the end */
	{ "A: b\r\n  continued\r\n\r\nbody", 1 },		/* 19 + the CR: exactly 20 */
	{ "A: 012345678901234\r\n\r\nb", -1 },		/* 20 then the CR of the end line */
	{ "\r\nno header at all, a long body line here", 1 },
	{ "not a header line, so the body starts at once", 1 },
	{ "A: b\nB: c\n\nbody with bare LF, long long long", 1 },	/* BDAT */
	{ "A: b\r\nnot a field line: the body starts here, long", 1 },
	{ "A: b\r\n\rxxxxxx: yyyyyy\r\n\r\n", -1 },			/* CR not followed by LF: a line */
	{ "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", -1 },	/* a name longer than the limit */
	{ "", 0 },
};

static void
hl_run(const char *in, size_t step, int want)
{
	struct hdrlen	 h;
	size_t		 len = strlen(in), off, n;
	int		 r = 0;

	hdrlen_init(&h, 20);
	for (off = 0; off < len && r == 0; off += n) {
		n = len - off < step ? len - off : step;
		r = hdrlen_feed(&h, in + off, n);
	}
	if (!t_ok(r == want))
		printf("  hdrlen in [%s] step %zu got %d want %d\n", in, step, r, want);
	/* sticky */
	t_int(hdrlen_feed(&h, "\r\n\r\n", 4), want == 0 ? (h.n + 2 > 20 ? -1 : 1) : want);
}

int
main(void)
{
	size_t		 i;
	struct hdrfix	 h;
	struct buf	 out;

	t_begin("smtp_headers");
	for (i = 0; i < sizeof(hl_cases) / sizeof(hl_cases[0]); i++) {
		hl_run(hl_cases[i].in, strlen(hl_cases[i].in) + 1, hl_cases[i].want);
		hl_run(hl_cases[i].in, 1, hl_cases[i].want);	/* byte at a time */
		hl_run(hl_cases[i].in, 3, hl_cases[i].want);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(cases[i].in, strlen(cases[i].in) + 1, cases[i].out);
		run(cases[i].in, 1, cases[i].out);	/* byte at a time */
		run(cases[i].in, 3, cases[i].out);
	}
	/* done() after the empty line; the body is copied as is */
	buf_init(&out, 1 << 16);
	hdrfix_init(&h, MID, DATE);
	t_ok(!hdrfix_done(&h));
	t_int(hdrfix_feed(&h, "A: b\r\n", 6, &out), 0);
	t_ok(!hdrfix_done(&h));
	t_int(hdrfix_feed(&h, "\r\nx\0y", 5, &out), 0);
	t_ok(hdrfix_done(&h));
	t_int(out.len, 6 + strlen(MID DATE) + 5);
	buf_clear(&out);
	/* a full output buffer is an error, not an overflow */
	buf_init(&out, 8);
	hdrfix_init(&h, MID, DATE);
	t_int(hdrfix_feed(&h, "A: b\r\n\r\n", 8, &out), -1);
	t_ok(out.len <= 8);
	buf_clear(&out);
	/* over-long field texts are truncated, not overflowed */
	{
		char big[1000];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		hdrfix_init(&h, big, big);
		t_int(strlen(h.msgid), HDRFIX_FIELD_MAX - 1);
	}
	return t_end();
}
