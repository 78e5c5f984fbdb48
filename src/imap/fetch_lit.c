/*
 * FETCH literal bytes: see fetch_lit.h.  One step takes at most
 * FETCH_LIT_CHUNK source bytes through CRLF, NUL and transfer decoding
 * into pend[]; the window then drops and keeps what it must.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/fetch_lit.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "mime/rfc5322.h"

void
fetch_lit_init(struct fetch_lit *l, const char *data, size_t off, size_t len, unsigned flags,
    enum xfer_kind kind)
{
	l->data = data;
	l->pos = off;
	l->end = off + len;
	l->own = NULL;
	l->flags = flags;
	xfer_init(&l->dec, kind);
	l->flushed = false;
	l->skip = 0;
	l->left = UINT64_MAX;
	l->pend_off = l->pend_len = 0;
}

void
fetch_lit_init_own(struct fetch_lit *l, char *own, size_t len, unsigned flags)
{
	fetch_lit_init(l, own != NULL ? own : "", 0, len, flags, XFER_IDENT);
	l->own = own;
}

void
fetch_lit_window(struct fetch_lit *l, uint64_t offset, uint64_t count)
{
	l->skip = offset;
	l->left = count;
}

void
fetch_lit_clear(struct fetch_lit *l)
{
	free(l->own);
	l->own = NULL;
	l->data = NULL;
	l->pos = l->end = 0;
}

uint64_t
fetch_bare_lfs(const char *data, size_t off, size_t len)
{
	return str_bare_lfs(data + off, len, off > 0 && data[off - 1] == '\r');
}

/* Whether an LF at data[pos] has its CR already (read from the source). */
static bool
cr_before(const struct fetch_lit *l)
{
	return l->pos > 0 && l->data[l->pos - 1] == '\r';
}

/* CRLF step: src bytes data[pos..pos + take) into out; returns bytes written. */
static size_t
crlf(const struct fetch_lit *l, size_t take, char *out)
{
	size_t	 used;

	/* 2 * take: room for every byte to be a bare LF, so all of it is used */
	return str_crlf_fit(l->data + l->pos, take, cr_before(l), out, 2 * take, &used);
}

/* Transform the next chunk of the source into pend[]; false at the end. */
static bool
step(struct fetch_lit *l)
{
	size_t	 take = l->end - l->pos, n;
	char	*buf, *q;

	if (take > FETCH_LIT_CHUNK)
		take = FETCH_LIT_CHUNK;
	l->pend_off = 0;
	l->pend_len = 0;
	if (take == 0) {
		if (!(l->flags & FETCH_LIT_DECODE) || l->flushed)
			return false;
		l->flushed = true;
		l->pend_len = xfer_finish(&l->dec, l->pend);
		return l->pend_len > 0;
	}
	/* decoding reads tmp and writes pend; otherwise straight into pend */
	buf = (l->flags & FETCH_LIT_DECODE) ? l->tmp : l->pend;
	if (l->flags & FETCH_LIT_CRLF)
		n = crlf(l, take, buf);
	else {
		memcpy(buf, l->data + l->pos, take);
		n = take;
	}
	l->pos += take;
	if (l->flags & FETCH_LIT_NONUL)
		for (q = buf; (q = memchr(q, '\0', (size_t)(buf + n - q))) != NULL; q++)
			*q = (char)0x80;
	l->pend_len = (l->flags & FETCH_LIT_DECODE) ? xfer_feed(&l->dec, buf, n, l->pend) : n;
	return true;
}

/*
 * CRLF straight from the source into out[0..cap): whole lines while they
 * fit, then the part of a line that does; a line end stops short when its
 * CR and LF do not both fit.  *take_r: source bytes used.  Whether an LF
 * needs a CR is read from the source (data[pos - 1]), so where the reads
 * cut the bytes does not matter.
 */
static size_t
crlf_fit(const struct fetch_lit *l, char *out, size_t cap, size_t *take_r)
{
	return str_crlf_fit(l->data + l->pos, l->end - l->pos, cr_before(l), out, cap, take_r);
}

/*
 * Without a window start or decoding, the bytes go into dst directly
 * (no pass through pend[]: for FETCH 1:* BODY[] that was two more copies
 * of every byte).  0 when nothing fits (a CRLF into one byte of room).
 */
static size_t
direct(struct fetch_lit *l, char *dst, size_t cap)
{
	size_t	 take, n;
	char	*q;

	if (cap > l->left)
		cap = (size_t)l->left;
	if (l->flags & FETCH_LIT_CRLF)
		n = crlf_fit(l, dst, cap, &take);
	else {
		take = n = l->end - l->pos < cap ? l->end - l->pos : cap;
		memcpy(dst, l->data + l->pos, n);
	}
	l->pos += take;
	if (l->flags & FETCH_LIT_NONUL)
		for (q = dst; (q = memchr(q, '\0', (size_t)(dst + n - q))) != NULL; q++)
			*q = (char)0x80;
	if (l->left != UINT64_MAX)
		l->left -= n;
	return n;
}

size_t
fetch_lit_read(struct fetch_lit *l, char *dst, size_t cap)
{
	size_t		 n = 0, k;

	while (n < cap && l->left > 0) {
		if (l->pend_off == l->pend_len && l->skip == 0 &&
		    !(l->flags & FETCH_LIT_DECODE) && l->pos < l->end &&
		    (k = direct(l, dst + n, cap - n)) > 0) {
			n += k;
			continue;
		}
		if (l->pend_off == l->pend_len && !step(l))
			break;
		k = l->pend_len - l->pend_off;
		if (l->skip > 0) {
			if (k > l->skip)
				k = (size_t)l->skip;
			l->skip -= k;
			l->pend_off += k;
			continue;
		}
		if (k > cap - n)
			k = cap - n;
		if (k > l->left)
			k = (size_t)l->left;
		memcpy(dst + n, l->pend + l->pend_off, k);
		l->pend_off += k;
		l->left -= k;
		n += k;
	}
	return n;
}

uint64_t
fetch_lit_size(const struct fetch_lit *l, bool *nul_r)
{
	struct fetch_lit	*c;
	uint64_t		 total, rest;
	size_t			 n;
	char			 sink[4096];

	if (nul_r != NULL)
		*nul_r = false;
	if (!(l->flags & FETCH_LIT_DECODE) && (nul_r == NULL || (l->flags & FETCH_LIT_NONUL))) {
		/* the common case without running the transform */
		total = (l->pend_len - l->pend_off) + (uint64_t)(l->end - l->pos);
		if (l->flags & FETCH_LIT_CRLF)
			total += fetch_bare_lfs(l->data, l->pos, l->end - l->pos);
		rest = total > l->skip ? total - l->skip : 0;
		return rest < l->left ? rest : l->left;
	}
	/* a copy runs the transform; it shares data but owns nothing */
	c = malloc(sizeof(*c));
	if (c == NULL)
		abort();
	memcpy(c, l, sizeof(*c));
	c->own = NULL;
	total = 0;
	while ((n = fetch_lit_read(c, sink, sizeof(sink))) > 0) {
		total += n;
		if (nul_r != NULL && !*nul_r && memchr(sink, '\0', n) != NULL)
			*nul_r = true;
	}
	free(c);
	return total;
}

static bool
name_in(const struct hdr_field *f, const char *const *names, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (str_ieq(f->name, f->name_len, names[i]))
			return true;
	return false;
}

int
fetch_header_filter(const char *hdr, size_t len, const char *const *names, size_t nnames,
    bool exclude, struct buf *out)
{
	struct hdr_iter		 it;
	struct hdr_field	 f;

	hdr_iter_init(&it, hdr, len);
	while (hdr_next(&it, &f) == 1) {
		if (name_in(&f, names, nnames) == exclude)
			continue;
		if (buf_add(out, hdr + f.off, f.len) < 0)
			return -1;
		/* the last field of a header without a body may lack its line end */
		if ((f.len == 0 || hdr[f.off + f.len - 1] != '\n') && buf_add(out, "\r\n", 2) < 0)
			return -1;
	}
	return buf_add(out, "\r\n", 2);
}
