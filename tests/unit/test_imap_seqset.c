/*
 * Unit tests for IMAP sequence sets (src/imap/seqset.h): parsing good and
 * bad sets, resolving "*", normalising, membership, iteration, counting
 * and compact formatting (UIDPLUS / VANISHED).
 */
#include <stdint.h>
#include <string.h>

#include "imap/seqset.h"
#include "lib/buf.h"
#include "t.h"

static const struct {
	const char	*in;
	unsigned	 flags;
	int		 want;
	uint32_t	 max;		/* for "*" */
	const char	*resolved;	/* formatted after seqset_resolve(max) */
} cases[] = {
	{ "1", 0, 0, 10, "1" },
	{ "1:5,7,9:*", 0, 0, 15, "1:5,7,9:15" },
	{ "2,4:7,9,12:*", 0, 0, 15, "2,4:7,9,12:15" },
	{ "*", 0, 0, 42, "42" },
	{ "*:4", 0, 0, 10, "4:10" },
	{ "7:3", 0, 0, 10, "3:7" },
	{ "559:*", 0, 0, 3, "3:559" },		/* RFC 9051 6.4.8 */
	{ "1:*", 0, 0, 0, "" },			/* empty mailbox */
	{ "3,1,2", 0, 0, 10, "1:3" },
	{ "1:3,2:6,8,9", 0, 0, 10, "1:6,8:9" },
	{ "5,5,5", 0, 0, 10, "5" },
	{ "4294967295", 0, 0, 10, "4294967295" },
	{ "1:4294967295", 0, 0, 10, "1:4294967295" },
	{ "4294967294:4294967295,1", 0, 0, 10, "1,4294967294:4294967295" },
	{ "$", 0, 0, 10, "$" },
	{ "10:20,*", SEQSET_NO_STAR, -1, 0, NULL },
	{ "$", SEQSET_NO_SAVED, -1, 0, NULL },
	{ "0", 0, -1, 0, NULL },
	{ "0:5", 0, -1, 0, NULL },
	{ "1:0", 0, -1, 0, NULL },
	{ "01", 0, -1, 0, NULL },
	{ "4294967296", 0, -1, 0, NULL },
	{ "99999999999999999999", 0, -1, 0, NULL },
	{ "1:", 0, -1, 0, NULL },
	{ ":1", 0, -1, 0, NULL },
	{ ",", 0, -1, 0, NULL },
	{ "1,", 0, -1, 0, NULL },
	{ ",1", 0, -1, 0, NULL },
	{ "1,,2", 0, -1, 0, NULL },
	{ "1:2:3", 0, -1, 0, NULL },
	{ "", 0, -1, 0, NULL },
	{ "1 ", 0, -1, 0, NULL },
	{ "-1", 0, -1, 0, NULL },
	{ "+1", 0, -1, 0, NULL },
	{ "1:**", 0, -1, 0, NULL },
	{ "$,1", 0, -1, 0, NULL },
	{ "a", 0, -1, 0, NULL },
};

static void
table(void)
{
	struct seqset	 s;
	struct buf	 out;
	const char	*err;
	size_t		 i;
	int		 r;

	seqset_init(&s);
	buf_init(&out, 4096);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = NULL;
		r = seqset_parse(&s, cases[i].in, strlen(cases[i].in), cases[i].flags, &err);
		if (!t_int(r, cases[i].want))
			printf("  case %s\n", cases[i].in);
		if (r < 0) {
			t_ok(err != NULL);
			t_int(s.n, 0);
			continue;
		}
		seqset_resolve(&s, cases[i].max);
		buf_reset(&out);
		t_int(seqset_format(&s, &out), 0);
		if (!t_str(buf_str(&out), cases[i].resolved))
			printf("  case %s\n", cases[i].in);
	}
	buf_clear(&out);
	seqset_clear(&s);
}

static void
ops(void)
{
	struct seqset		 s;
	struct seqset_iter	 it;
	struct buf		 out;
	const char		*err;
	uint32_t		 v, got[16];
	size_t			 n = 0;

	seqset_init(&s);
	t_int(seqset_parse(&s, "9,1:3,*,5", 9, 0, &err), 0);
	/* unresolved: formatted as written */
	buf_init(&out, 256);
	t_int(seqset_format(&s, &out), 0);
	t_str(buf_str(&out), "9,1:3,*,5");
	seqset_resolve(&s, 10);
	t_ok(seqset_contains(&s, 1));
	t_ok(seqset_contains(&s, 3));
	t_ok(!seqset_contains(&s, 4));
	t_ok(seqset_contains(&s, 5));
	t_ok(seqset_contains(&s, 10));
	t_ok(!seqset_contains(&s, 11));
	t_ok(!seqset_contains(&s, 0));
	t_int(seqset_count(&s), 6);
	t_int(seqset_max(&s), 10);
	memset(&it, 0, sizeof(it));
	while (n < 16 && seqset_next(&s, &it, &v))
		got[n++] = v;
	t_int(n, 6);
	t_ok(got[0] == 1 && got[1] == 2 && got[2] == 3 && got[3] == 5 && got[4] == 9 &&
	    got[5] == 10);

	/* iteration at the top of the range does not wrap */
	t_int(seqset_parse(&s, "4294967294:*", 12, 0, &err), 0);
	seqset_resolve(&s, UINT32_MAX);
	memset(&it, 0, sizeof(it));
	n = 0;
	while (n < 16 && seqset_next(&s, &it, &v))
		got[n++] = v;
	t_int(n, 2);
	t_ok(got[1] == UINT32_MAX);
	t_int(seqset_count(&s), 2);

	/* COPYUID: appended in order, contiguous runs collapse */
	seqset_reset(&s);
	seqset_append(&s, 7);
	seqset_append(&s, 8);
	seqset_append(&s, 9);
	seqset_append(&s, 3);
	seqset_append(&s, 4);
	seqset_append(&s, 0);		/* ignored */
	seqset_append(&s, UINT32_MAX);
	buf_reset(&out);
	t_int(seqset_format(&s, &out), 0);
	t_str(buf_str(&out), "7:9,3:4,4294967295");
	seqset_normalize(&s);
	buf_reset(&out);
	t_int(seqset_format(&s, &out), 0);
	t_str(buf_str(&out), "3:4,7:9,4294967295");

	/* ranges added in any order, merged when adjacent */
	seqset_reset(&s);
	seqset_add_range(&s, 20, 10);
	seqset_add_range(&s, 21, 21);
	seqset_add_range(&s, 1, 9);
	seqset_add_range(&s, 0, 5);	/* ignored: 0 is not a number here */
	seqset_normalize(&s);
	buf_reset(&out);
	t_int(seqset_format(&s, &out), 0);
	t_str(buf_str(&out), "1:21");
	t_int(seqset_count(&s), 21);

	/* a full output buffer is an error, not an overflow */
	out.max = 3;
	buf_reset(&out);
	t_int(seqset_format(&s, &out), -1);
	t_ok(out.len <= 3);

	/* the parse bound is the input: a long set parses */
	{
		char	 big[60000];
		size_t	 i, o = 0;

		for (i = 1; o + 12 < sizeof(big); i += 2)
			o += (size_t)snprintf(big + o, sizeof(big) - o, "%zu,", i);
		big[o - 1] = '\0';
		t_int(seqset_parse(&s, big, o - 1, 0, &err), 0);
		seqset_resolve(&s, UINT32_MAX);
		t_ok(seqset_contains(&s, 1) && !seqset_contains(&s, 2) && seqset_contains(&s, 3));
	}
	buf_clear(&out);
	seqset_clear(&s);
	seqset_clear(&s);
}

int
main(void)
{
	t_begin("imap_seqset");
	table();
	ops();
	return t_end();
}
