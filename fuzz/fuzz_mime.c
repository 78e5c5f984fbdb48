/*
 * libFuzzer harness for the MIME parser (src/mime/): parse, then every
 * view IMAP uses: BODY, BODYSTRUCTURE, ENVELOPE, a set of sections and
 * the decoded search text.  The input is copied to an exact-size buffer
 * so ASan catches any read past the message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "mime/mime.h"
#include "mime/rfc2047.h"
#include "mime/rfc5322.h"

static int
sink_cb(const char *text, size_t len, void *arg)
{
	size_t *n = arg;

	/* touch the bytes so ASan checks them */
	if (len > 0)
		*n += (unsigned char)text[0] + (unsigned char)text[len - 1];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const secs[] = { "", "HEADER", "TEXT", "1", "2", "1.MIME",
	    "1.1", "1.2", "2.HEADER", "2.TEXT", "1.1.1", "2.1.MIME", "3.2.1",
	    "1.HEADER.FIELDS (From)" };
	struct mime_part	*p;
	struct buf		 b;
	struct hdr_addr		*a = NULL;
	char			*copy = malloc(size ? size : 1);
	size_t			 off, len, n = 0, i;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	p = mime_parse(copy, size);
	buf_init(&b, 16 << 20);
	(void)mime_bodystructure(p, true, &b);
	buf_reset(&b);
	(void)mime_bodystructure(p, false, &b);
	buf_reset(&b);
	(void)mime_envelope(copy, p->hdr_len, &b);
	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		if (mime_section(p, secs[i], &off, &len) == 0 &&
		    (off > size || len > size - off))
			abort();
	(void)mime_search_text(p, MIME_TEXT_HEADERS | MIME_TEXT_BODY, sink_cb, &n);
	mime_free(&p);
	/* the string-level parsers on the raw input too */
	buf_reset(&b);
	(void)rfc2047_decode(copy, size, &b);
	n = hdr_parse_addresses(copy, size, 1000, &a);
	hdr_addrs_free(&a, n);
	buf_clear(&b);
	free(copy);
	return 0;
}
