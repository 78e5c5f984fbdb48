/* POP3 RETR/TOP byte transform: dot-stuffing, LF -> CRLF, TOP line limit. */
#include <stdlib.h>
#include <string.h>

#include "pop3/session.h"
#include "t.h"

/* Run the transform over in, split into pieces of `step` bytes (0 = whole). */
static char *
stuff(const char *in, bool top, uint64_t lines, size_t step)
{
	struct pop3_stream	st;
	struct buf		out;
	size_t			n = strlen(in), off = 0, k;
	int			done = 0;

	memset(&st, 0, sizeof(st));
	st.bol = true;
	st.top = top;
	st.lines = lines;
	buf_init(&out, 1 << 20);
	while (off < n && !done) {
		k = step == 0 || n - off < step ? n - off : step;
		done = pop3_stuff(&st, (const unsigned char *)in + off, k, &out);
		off += k;
	}
	pop3_stuff_end(&st, &out);
	return buf_take(&out, NULL);
}

static const struct {
	const char	*in;
	bool		 top;
	uint64_t	 lines;
	const char	*want;
} cases[] = {
	{ "A: b\r\n\r\nbody\r\n", false, 0, "A: b\r\n\r\nbody\r\n.\r\n" },
	{ "A: b\n\nbody\n", false, 0, "A: b\r\n\r\nbody\r\n.\r\n" },			/* LF only */
	{ "A: b\r\n\r\n.hidden\r\n..two\r\n.\r\n", false, 0,
	  "A: b\r\n\r\n..hidden\r\n...two\r\n..\r\n.\r\n" },
	{ ".first\n", false, 0, "..first\r\n.\r\n" },
	{ "no newline at end", false, 0, "no newline at end\r\n.\r\n" },
	{ "x\r", false, 0, "x\r\n.\r\n" },
	{ "", false, 0, ".\r\n" },
	{ "a.b\r\n x.\r\n", false, 0, "a.b\r\n x.\r\n.\r\n" },				/* only a leading dot */
	{ "bare\rcr\r\n", false, 0, "bare\rcr\r\n.\r\n" },
	/* TOP */
	{ "A: b\r\nC: d\r\n\r\nl1\r\nl2\r\nl3\r\n", true, 0, "A: b\r\nC: d\r\n\r\n.\r\n" },
	{ "A: b\r\nC: d\r\n\r\nl1\r\nl2\r\nl3\r\n", true, 2, "A: b\r\nC: d\r\n\r\nl1\r\nl2\r\n.\r\n" },
	{ "A: b\r\n\r\nl1\r\n", true, 5, "A: b\r\n\r\nl1\r\n.\r\n" },
	{ "A: b\n\n.l1\nl2\n", true, 1, "A: b\r\n\r\n..l1\r\n.\r\n" },
	{ "A: b\r\nno blank line\r\n", true, 0, "A: b\r\nno blank line\r\n.\r\n" },
};

int
main(void)
{
	size_t	 i, step;
	char	*got;
	static const size_t steps[] = { 0, 1, 2, 3, 7 };

	t_begin("pop3");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (step = 0; step < sizeof(steps) / sizeof(steps[0]); step++) {
			got = stuff(cases[i].in, cases[i].top, cases[i].lines, steps[step]);
			if (!t_str(got, cases[i].want))
				printf("  case %zu step %zu\n", i, steps[step]);
			free(got);
		}
	return t_end();
}
