/*
 * libFuzzer harness for what FETCH does to a message's bytes
 * (src/imap/fetch_part.h, fetch_lit.h, fetch_section.h): the input's
 * first line is a section "[...]<o.n>" for the section parser, the rest
 * is a message.  Its MIME tree is parsed, that section and a fixed list
 * are resolved to ranges (which must lie inside the message), and each
 * range goes through the literal transform as BODY and as BINARY: the
 * announced size must be the number of bytes produced, and reading in
 * one piece or in pieces whose sizes come from the input must give the
 * same bytes (a literal whose bytes depend on the reader's buffer would
 * corrupt streamed FETCH responses).
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fixed[] = {
	"[]", "[HEADER]", "[TEXT]", "[1]", "[1.MIME]", "[2]", "[1.2]", "[2.HEADER]",
	"[2.1.TEXT]", "[1.HEADER.FIELDS (From Subject)]", "[HEADER.FIELDS.NOT (To)]<3.40>",
	"[]<5.7>", "[1]<0.1>",
};

static void
must(int ok)
{
	if (!ok)
		abort();
}

/* Read all of l, cap bytes at a time (0: sizes from seed). */
static size_t
drain(struct fetch_lit *l, size_t cap, const uint8_t *seed, size_t nseed, struct buf *out)
{
	char	 tmp[4096];
	size_t	 n, k = 0, c;

	for (;;) {
		c = cap ? cap : (nseed ? seed[k++ % nseed] % 64 + 1 : 1);
		if ((n = fetch_lit_read(l, tmp, c)) == 0)
			return out->len;
		must(n <= c);
		must(buf_add(out, tmp, n) == 0);
	}
}

static void
one(const struct mime_part *root, const char *msg, size_t len, const struct fetch_item *it,
    bool binary, const uint8_t *seed, size_t nseed)
{
	struct fetch_range	 r = { true, 0, len, NULL };
	struct fetch_lit	*l = malloc(sizeof(*l)), *l2 = malloc(sizeof(*l2));
	struct buf		 a, b, h;
	enum xfer_kind		 k = XFER_IDENT;
	unsigned		 fl = FETCH_LIT_CRLF | (binary ? 0 : FETCH_LIT_NONUL);
	uint64_t		 size;
	bool			 nul;

	must(l != NULL && l2 != NULL);
	fetch_section_range(root, it, &r);
	must(!r.found || (r.off <= len && r.len <= len - r.off));
	if (binary && r.body != NULL && fetch_cte_kind(r.body->encoding, &k) == 0)
		fl |= FETCH_LIT_DECODE;
	buf_init(&a, 1 << 22);
	buf_init(&b, 1 << 22);
	buf_init(&h, len + 8);
	if (it->text == FETCH_SEC_HEADER_FIELDS || it->text == FETCH_SEC_HEADER_FIELDS_NOT) {
		if (r.found)
			must(fetch_header_filter(msg + r.off, r.len, it->fields, it->nfields,
			    it->text == FETCH_SEC_HEADER_FIELDS_NOT, &h) == 0);
		fetch_lit_init(l, h.data ? h.data : "", 0, h.len, fl, k);
		fetch_lit_init(l2, h.data ? h.data : "", 0, h.len, fl, k);
	} else {
		fetch_lit_init(l, msg, r.off, r.len, fl, k);
		fetch_lit_init(l2, msg, r.off, r.len, fl, k);
	}
	if (it->partial) {
		fetch_lit_window(l, it->offset, it->count);
		fetch_lit_window(l2, it->offset, it->count);
	}
	size = fetch_lit_size(l, &nul);
	must(drain(l, 4096, seed, nseed, &a) == size);
	must(drain(l2, 0, seed, nseed, &b) == size);
	must(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	must(nul == (a.len > 0 && memchr(a.data, '\0', a.len) != NULL));
	if (!binary)
		must(!nul);
	fetch_lit_clear(l);
	fetch_lit_clear(l2);
	free(l);
	free(l2);
	buf_clear(&a);
	buf_clear(&b);
	buf_clear(&h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*msg = (const char *)data, *nl, *err;
	struct mime_part	*root;
	struct imap_arena	 ar;
	struct fetch_item	 it;
	size_t			 len = size, i, slen = 0;

	if ((nl = memchr(data, '\n', size < 200 ? size : 200)) != NULL) {
		slen = (size_t)(nl - msg);
		msg = nl + 1;
		len = size - slen - 1;
	}
	if (len > 1 << 16)
		return 0;
	root = mime_parse(msg, len);
	imap_arena_init(&ar);
	for (i = 0; i <= sizeof(fixed) / sizeof(fixed[0]); i++) {
		const char *s = i == 0 ? (const char *)data : fixed[i - 1];
		size_t n = i == 0 ? slen : strlen(s);

		memset(&it, 0, sizeof(it));
		it.type = FETCH_BODY_SECTION;
		if (fetch_section_parse(&ar, &it, "BODY", s, n, &err) != 0)
			continue;
		one(root, msg, len, &it, false, data, size < 16 ? size : 16);
		one(root, msg, len, &it, true, data, size < 16 ? size : 16);
	}
	imap_arena_free(&ar);
	mime_free(&root);
	return 0;
}
