/*
 * libFuzzer harness for the preview extractor (src/mime/preview.c): the
 * input as a message (mime_preview) and as raw text and HTML
 * (mime_preview_text); the result must be valid UTF-8 of at most
 * PREVIEW_CHARS code points, with no control characters.  The input is
 * copied to an exact-size buffer so ASan catches any read past it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "mime/mime.h"
#include "mime/preview.h"

/* Abort unless out is valid UTF-8, free of controls, of at most max code points. */
static void
check(const struct buf *out, size_t max)
{
	const unsigned char	*s = (const unsigned char *)buf_str(out);
	size_t			 i = 0, n = 0, k, len;

	while (i < out->len) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			abort();
		len = s[i] < 0x80 ? 1 : s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : s[i] >= 0xc2 ? 2 : 0;
		if (len == 0 || i + len > out->len)
			abort();
		for (k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				abort();
		i += len;
		n++;
	}
	if (n > max || (out->len > 0 && (s[0] == ' ' || s[out->len - 1] == ' ')))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_part	*p;
	struct buf		 b;
	char			*copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	buf_init(&b, 4096);
	p = mime_parse(copy, size);
	if (mime_preview(p, &b) < 0)
		abort();
	check(&b, PREVIEW_CHARS);
	mime_free(&p);
	buf_reset(&b);
	(void)mime_preview_text(copy, size, true, 40, &b);
	check(&b, 40);
	buf_reset(&b);
	(void)mime_preview_text(copy, size, false, PREVIEW_CHARS, &b);
	check(&b, PREVIEW_CHARS);
	buf_clear(&b);
	free(copy);
	return 0;
}
