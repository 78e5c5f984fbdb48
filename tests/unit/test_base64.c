/*
 * lib/base64: the strict codec (RFC 4648 §10 vectors, every malformation
 * SASL must reject, round trips) and the lenient stream decoder (same
 * vectors a byte at a time and split at every point, line breaks and
 * junk skipped).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"
#include "t.h"

static const struct {
	const char	*in;
	long		 want;		/* decoded length or -1 */
	const char	*out;
} strict[] = {
	{ "", 0, "" },			/* RFC 4648 §10 from here */
	{ "Zg==", 1, "f" },
	{ "Zm8=", 2, "fo" },
	{ "Zm9v", 3, "foo" },
	{ "Zm9vYg==", 4, "foob" },
	{ "Zm9vYmE=", 5, "fooba" },
	{ "Zm9vYmFy", 6, "foobar" },
	{ "Zm9vYmFy\r", -1, NULL },	/* stray CR */
	{ "Zm9", -1, NULL },		/* not a multiple of 4 */
	{ "Zg=", -1, NULL },
	{ "Zg", -1, NULL },		/* padding is required */
	{ "Z===", -1, NULL },
	{ "====", -1, NULL },
	{ "Zg==Zg==", -1, NULL },	/* padding in the middle */
	{ "Zm=v", -1, NULL },
	{ "Zh==", -1, NULL },		/* non-zero bits under the padding */
	{ "Zm9=", -1, NULL },
	{ "Zm 9", -1, NULL },
	{ "Zm9v!A==", -1, NULL },
	{ "Zm-_", -1, NULL },		/* URL-safe alphabet is not base64 here */
	{ "Zm9v\nYmFy", -1, NULL },	/* no line breaks either */
};

static void
test_strict(void)
{
	unsigned char	out[64];
	char		enc[64];
	size_t		i;
	long		n;

	for (i = 0; i < sizeof(strict) / sizeof(strict[0]); i++) {
		n = base64_decode(strict[i].in, strlen(strict[i].in), out);
		if (!t_int(n, strict[i].want))
			printf("  case %zu: \"%s\"\n", i, strict[i].in);
		if (n >= 0) {
			out[n] = '\0';
			t_str((char *)out, strict[i].out);
			t_int(base64_encode(out, (size_t)n, enc), strlen(strict[i].in));
			t_str(enc, strict[i].in);
		}
	}
	/* Every byte value survives a round trip. */
	{
		unsigned char	all[256], back[256];
		char		e[BASE64_ENCODE_SIZE(256)];
		size_t		k;

		for (k = 0; k < 256; k++)
			all[k] = (unsigned char)k;
		k = base64_encode(all, 256, e);
		t_int(k, BASE64_ENCODE_SIZE(256) - 1);
		t_int(base64_decode(e, k, back), 256);
		t_ok(memcmp(all, back, 256) == 0);
	}
	/* A NUL inside (the length carries past it). */
	t_int(base64_decode("Zm9v\0mFy", 8, out), -1);
	t_int(BASE64_DECODE_MAX(8), 6);
	t_int(BASE64_ENCODE_SIZE(0), 1);
	t_int(BASE64_ENCODE_SIZE(4), 9);
}

static const struct {
	const char	*in;
	const char	*out;
} lenient[] = {
	{ "", "" },
	{ "Zg==", "f" },
	{ "Zm8=", "fo" },
	{ "Zm9vYmFy", "foobar" },
	{ "Zm9v\r\nYmFy\r\n", "foobar" },	/* RFC 2045 6.8: line breaks */
	{ "aGVs\r\nbG8=!!", "hello" },		/* junk after the padding */
	{ "Zm 9v*Ym\tFy", "foobar" },		/* junk anywhere is skipped */
	{ "Zg", "f" },				/* missing padding */
	{ "Zm9vY", "foo" },			/* a lone sixth bit is dropped */
	{ "!!!", "" },
};

/* Decode s split at one point (cut = strlen: in one piece). */
static size_t
stream_split(const char *s, size_t cut, char *out)
{
	struct base64_stream	st;
	size_t			n;

	base64_stream_init(&st);
	n = base64_stream_feed(&st, s, cut, out);
	return n + base64_stream_feed(&st, s + cut, strlen(s) - cut, out + n);
}

static void
test_stream(void)
{
	struct base64_stream	st;
	char			out[64];
	size_t			i, k, n, len;

	for (i = 0; i < sizeof(lenient) / sizeof(lenient[0]); i++) {
		len = strlen(lenient[i].out);
		/* byte at a time */
		base64_stream_init(&st);
		for (k = n = 0; lenient[i].in[k] != '\0'; k++)
			n += base64_stream_feed(&st, lenient[i].in + k, 1, out + n);
		if (!t_int(n, len) || !t_ok(memcmp(out, lenient[i].out, len) == 0))
			printf("  byte at a time, case %zu: \"%s\"\n", i, lenient[i].in);
		/* every split point gives the same */
		for (k = 0; k <= strlen(lenient[i].in); k++) {
			n = stream_split(lenient[i].in, k, out);
			if (n != len || memcmp(out, lenient[i].out, len) != 0) {
				t_ok(0);
				printf("  split at %zu, case %zu\n", k, i);
			}
		}
	}
	/* A 256-byte blob folded into 76-character lines, as a MIME body is. */
	{
		unsigned char	all[256];
		char		e[BASE64_ENCODE_SIZE(256)], folded[512], back[256];
		size_t		el, fl = 0;

		for (k = 0; k < 256; k++)
			all[k] = (unsigned char)(255 - k);
		el = base64_encode(all, 256, e);
		for (k = 0; k < el; k++) {
			folded[fl++] = e[k];
			if (k % 76 == 75) {
				folded[fl++] = '\r';
				folded[fl++] = '\n';
			}
		}
		base64_stream_init(&st);
		n = 0;
		for (k = 0; k < fl; k += 7)
			n += base64_stream_feed(&st, folded + k, fl - k < 7 ? fl - k : 7,
			    back + n);
		t_int(n, 256);
		t_ok(memcmp(all, back, 256) == 0);
	}
}

int
main(void)
{
	t_begin("base64");
	test_strict();
	test_stream();
	return t_end();
}
