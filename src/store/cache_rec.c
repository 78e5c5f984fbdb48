/*
 * Records of the parsed-structure cache (letterbox-cache, see cache.c):
 * what a message's parse gives FETCH -- ENVELOPE, BODY, BODYSTRUCTURE,
 * PREVIEW and the MIME part offsets -- as a payload of varint-prefixed fields, raw
 * deflated with a preset dictionary of what those strings are made of
 * (RFC 3501 7.4.2 syntax, common MIME types).  Two kinds (little-endian):
 *   single (written before groups; still read):
 *	u32 uid, u32 zlen | CACHE_REC_MAGIC << 24, u32 rawlen,
 *	u32 crc32(payload), u64 hash of the base name, zlen deflated bytes
 *   group of 1..CACHE_GROUP_MAX messages, their payloads end to end in one
 *   deflate stream (zlib's fixed cost per stream, building its Huffman
 *   trees, was ~100k instructions of a plain message's ~150k deflate; and
 *   neighbours share strings: 389 -> 263 B a message on the imap bench corpus):
 *	u32 count, u32 zlen | CACHE_GROUP_MAGIC << 24, u32 rawlen, u32 crc32(raw),
 *	count x (u32 uid, u32 payload length, u64 hash of the base name),
 *	zlen deflated bytes
 * Payload: varint len + ENVELOPE, BODY, BODYSTRUCTURE, PREVIEW; varint nparts;
 * per part (pre-order) varints parent + 1, flags, hdr_off, hdr_len,
 * body_len, header CRs to add, body CRs to add, body lines.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/str.h"
#include "lib/xmalloc.h"
#include "mime/mime.h"
#include "mime/preview.h"
#include "store/store_int.h"

#define PAYLOAD_MAX	(CACHE_FIELD_MAX * CACHE_NFIELDS + 64 * (size_t)MIME_MAX_PARTS)
#define GROUP_HDR	16
#define MEMBER_SZ	16
/* A group's payloads: its last member may take it past CACHE_GROUP_RAW. */
#define GROUP_RAW_MAX	(CACHE_GROUP_RAW + PAYLOAD_MAX)

/* Deflate's preset dictionary: the most frequent strings last. */
static const char cache_dict[] =
    "\"application\" \"octet-stream\" \"pdf\" (\"name\" \"filename\" \"attachment\" "
    "\"inline\" \"image\" \"jpeg\" \"png\" \"message\" \"rfc822\" \"delivery-status\" "
    "\"report\" \"signed\" \"related\" \"format\" \"flowed\" \"delsp\" \"yes\" \"en-US\" "
    "\"multipart\" \"alternative\" \"mixed\" (\"boundary\" \"----=_Part_\" "
    "\"windows-1252\" \"iso-8859-1\" \"ISO-8859-15\" \"utf-8\" \"UTF-8\" "
    "\"quoted-printable\" \"base64\" \"8bit\" \"html\" "
    "\"Sun, \"Sat, \"Fri, \"Thu, \"Wed, \"Tue, \"Mon, "
    " Dec  Nov  Oct  Sep  Aug  Jul  Jun  May  Apr  Mar  Feb  Jan 2025 2024 "
    ":00 +0100 +0200 -0400 -0500 +0000 \"Re: \"Fwd: "
    "\"gmail.com\" \"example.net\" \"example.com\" \"example.org\")) "
    "((\"Sender\" NIL \"sender\" \"example.org\")) "
    "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
    "NIL NIL NIL NIL \"<";

void
cache_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

uint32_t
cache_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

uint64_t
cache_get64(const unsigned char *p)
{
	return (uint64_t)cache_get32(p) | (uint64_t)cache_get32(p + 4) << 32;
}

uint64_t
cache_base_hash(const char *s, size_t len)
{
	uint64_t	h = 14695981039346656037ULL;	/* FNV-1a 64 */
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static int
put_varint(struct buf *b, uint64_t v)
{
	unsigned char	t[10];
	size_t		n = 0;

	do {
		t[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			t[n] |= 0x80;
		n++;
	} while (v != 0);
	return buf_add(b, t, n);
}

/* 1 ok, -1 truncated or over 64 bits. */
static int
get_varint(const unsigned char **pp, const unsigned char *end, uint64_t *v_r)
{
	const unsigned char	*p = *pp;
	uint64_t		 v = 0;
	unsigned		 shift = 0;

	while (p < end && shift < 64) {
		v |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p++ & 0x80)) {
			*pp = p;
			*v_r = v;
			return 1;
		}
		shift += 7;
	}
	return -1;
}

/*
 * Where the CRLF form of a file has a CR the file lacks: at[k] is the
 * offset in the CRLF form of the k-th CR added (before each bare LF).
 */
struct crs {
	size_t	*at;
	size_t	 n;
};

/* CRs added before offset x of the CRLF form. */
static size_t
crs_below(const struct crs *c, size_t x)
{
	size_t	lo = 0, hi = c->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (c->at[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Room for n more bytes of out and one more CR in c (grown by an eighth of what is left, at least). */
static void
crlf_room(char **out, size_t *cap, size_t used, size_t n, size_t left, struct crs *c,
    size_t *acap)
{
	if (n > *cap - used) {
		*cap = used + n + left + left / 8 + 64;
		*out = xreallocarray(*out, *cap, 1);
	}
	if (c->n == *acap) {
		*acap = *acap + *acap / 2 + left / 32 + 16;
		c->at = xreallocarray(c->at, *acap, sizeof(*c->at));
	}
}

/*
 * The CRLF form of data (what FETCH sends; RFC822.SIZE and BODYSTRUCTURE
 * count it): NULL when the file has no bare LF.  c gets the CRs added.
 * A file without CR (most) is converted 16 bytes a step (str_lf_to_crlf).
 * Else one pass: nothing is copied before the first bare LF, then the
 * bytes since the last one go over with each (a CRLF file costs one
 * memchr a line, a mixed one a memchr and a memcpy a line).
 */
static char *
crlf_form(const char *data, size_t len, size_t *len_r, struct crs *c)
{
	const char	*p, *end = data + len, *nl, *from = data;
	char		*out = NULL;
	size_t		 n = 0, cap = 0, acap = 0, k;

	c->at = NULL;
	c->n = 0;
	/* no CR at all (a Maildir file as MTAs write it): every LF gets one */
	if (memchr(data, '\r', len) == NULL && (k = str_count(data, len, '\n')) > 0) {
		out = xmalloc(len + k + 16);
		c->at = xreallocarray(NULL, k, sizeof(*c->at));
		c->n = k;
		*len_r = str_lf_to_crlf(data, len, out, c->at);
		return out;
	}
	for (p = data; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
		if (nl > data && nl[-1] == '\r')
			continue;
		k = (size_t)(nl - from);
		if (k + 2 > cap - n || c->n == acap)
			crlf_room(&out, &cap, n, k + 2, (size_t)(end - nl), c, &acap);
		memcpy(out + n, from, k);
		n += k;
		c->at[c->n++] = n;
		out[n++] = '\r';
		out[n++] = '\n';
		from = nl + 1;
	}
	if (out == NULL)
		return NULL;
	k = (size_t)(end - from);
	crlf_room(&out, &cap, n, k + 1, 0, c, &acap);
	memcpy(out + n, from, k);
	n += k;
	*len_r = n;
	return out;
}

/*
 * Pre-order walk: append part p (and below) to the payload.  p is of the
 * CRLF form; its offsets go in as the file's, with the CRs added counted.
 */
static int
put_parts(struct buf *b, const struct mime_part *p, const struct crs *cr, uint64_t parent,
    uint64_t *n)
{
	const struct mime_part	*c;
	uint64_t		 me = *n;
	size_t			 h0 = crs_below(cr, p->hdr_off), h1 = crs_below(cr, p->body_off);
	size_t			 b0 = h1, b1 = crs_below(cr, p->body_off + p->body_len);

	(*n)++;
	/* the parser sets body_off = hdr_off + hdr_len */
	if (put_varint(b, parent) == -1 ||
	    put_varint(b, (p->flags & MIME_F_MULTIPART ? STORE_PART_MULTIPART : 0) |
		(p->flags & MIME_F_MESSAGE && p->children != NULL ? STORE_PART_MESSAGE : 0)) == -1 ||
	    put_varint(b, p->hdr_off - h0) == -1 || put_varint(b, p->hdr_len - (h1 - h0)) == -1 ||
	    put_varint(b, p->body_len - (b1 - b0)) == -1 ||
	    put_varint(b, h1 - h0) == -1 || put_varint(b, b1 - b0) == -1 ||
	    put_varint(b, p->body_lines) == -1)
		return -1;
	for (c = p->children; c != NULL; c = c->next)
		if (put_parts(b, c, cr, me + 1, n) == -1)
			return -1;
	return 0;
}

static int
count_parts(const struct mime_part *p)
{
	const struct mime_part	*c;
	int			 n = 1;

	for (c = p->children; c != NULL; c = c->next)
		n += count_parts(c);
	return n;
}

/*
 * The payload of a message: one parse, of the CRLF form (what FETCH
 * sends), for the fields; the parts' offsets mapped back to the file's
 * bytes, with the CRs the CRLF form adds counted per part.
 */
int
cache_payload_build(const char *file, size_t flen, struct buf *pl)
{
	struct mime_part	*cp;
	struct crs		 cr;
	struct buf		 f;
	char			*crlf;
	size_t			 clen = 0;
	uint64_t		 n = 0;
	int			 i, rc = 0;

	crlf = crlf_form(file, flen, &clen, &cr);
	cp = mime_parse(crlf != NULL ? crlf : file, crlf != NULL ? clen : flen);
	buf_init(&f, CACHE_FIELD_MAX);
	(void)buf_space(&f, 2048);	/* room for most fields at once, not grown by doubling */
	for (i = 0; i < CACHE_NFIELDS && rc == 0; i++) {
		buf_reset(&f);
		if (i == STORE_CACHE_ENVELOPE)
			(void)mime_envelope(cp->data, cp->hdr_len, &f);
		else if (i == STORE_CACHE_PREVIEW)
			(void)mime_preview(cp, &f);
		else
			(void)mime_bodystructure(cp, i == STORE_CACHE_BODYSTRUCTURE, &f);
		if (put_varint(pl, f.len) == -1 || buf_add(pl, buf_str(&f), f.len) == -1)
			rc = -1;
	}
	buf_clear(&f);
	if (rc == 0 && (put_varint(pl, (uint64_t)count_parts(cp)) == -1 ||
	    put_parts(pl, cp, &cr, 0, &n) == -1))
		rc = -1;
	mime_free(&cp);
	free(cr.at);
	free(crlf);
	return rc;
}

/* Split a payload into e's fields and parts (e->raw owns the bytes). */
static int
payload_split(struct cache_ent *e)
{
	const unsigned char	*p = (const unsigned char *)e->raw, *end = p + e->rawlen;
	uint64_t		 v, np, w[8];
	size_t			 i, k;

	for (i = 0; i < CACHE_NFIELDS; i++) {
		if (get_varint(&p, end, &v) == -1 || v > (uint64_t)(end - p))
			return -1;
		e->f[i] = (const char *)p;
		e->flen[i] = (uint32_t)v;
		p += v;
	}
	if (get_varint(&p, end, &np) == -1 || np == 0 || np > MIME_MAX_PARTS + 1)
		return -1;
	e->parts = xcalloc((size_t)np, sizeof(*e->parts));
	for (i = 0; i < np; i++) {
		for (k = 0; k < 8; k++)
			if (get_varint(&p, end, &w[k]) == -1)
				return -1;
		if (w[0] > i || w[2] > UINT64_MAX / 4 || w[3] > UINT64_MAX / 4 ||
		    w[4] > UINT64_MAX / 4)
			return -1;
		e->parts[i].parent = w[0] == 0 ? STORE_PART_NONE : (uint32_t)(w[0] - 1);
		e->parts[i].flags = (uint32_t)w[1];
		e->parts[i].hdr_off = w[2];
		e->parts[i].body_off = w[2] + w[3];
		e->parts[i].body_end = w[2] + w[3] + w[4];
		e->parts[i].hdr_vsize = w[3] + w[5];
		e->parts[i].body_vsize = w[4] + w[6];
		e->parts[i].body_lines = w[7];
	}
	e->nparts = (size_t)np;
	return p == end ? 0 : -1;
}

void
cache_ent_clear(struct cache_ent *e)
{
	free(e->raw);
	free(e->parts);
	memset(e, 0, sizeof(*e));
}

int
cache_ent_set(struct cache_ent *e, uint32_t uid, uint64_t hash, const char *pl, size_t len)
{
	cache_ent_clear(e);
	e->uid = uid;
	e->hash = hash;
	e->raw = xmalloc(len + 1);
	memcpy(e->raw, pl, len);
	e->raw[len] = '\0';
	e->rawlen = len;
	if (payload_split(e) == -1) {
		cache_ent_clear(e);
		return -1;
	}
	return 0;
}

/*
 * Level 1: on a group of plain messages it deflates to within 15% of level
 * 6's bytes for two thirds of its instructions (measured on the imap bench
 * corpus: 263 vs 231 B a message).  A 32 KiB window and memLevel 8 let a
 * group's records match whole earlier ones (a 4 KiB window held ~5 of
 * them): 214 B and ~26k instructions a message instead of 263 B and ~56k.
 */
static int
z_init(z_stream *z, bool deflating)
{
	int	rc;

	memset(z, 0, sizeof(*z));
	if (deflating) {
		rc = deflateInit2(z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
		if (rc == Z_OK && deflateSetDictionary(z, (const Bytef *)cache_dict,
		    sizeof(cache_dict) - 1) != Z_OK) {
			deflateEnd(z);
			rc = Z_STREAM_ERROR;
		}
	} else {
		rc = inflateInit2(z, -15);
		if (rc == Z_OK && inflateSetDictionary(z, (const Bytef *)cache_dict,
		    sizeof(cache_dict) - 1) != Z_OK) {
			inflateEnd(z);
			rc = Z_STREAM_ERROR;
		}
	}
	return rc == Z_OK ? 0 : -1;
}

int
cache_group_build(const struct buf *raw, const struct cache_member *m, size_t n,
    struct buf *rec)
{
	unsigned char	 hdr[GROUP_HDR + MEMBER_SZ * CACHE_GROUP_MAX];
	size_t		 i, hlen = GROUP_HDR + MEMBER_SZ * n, sum = 0;
	z_stream	 z;
	uLong		 bound;
	char		*zout;
	int		 rc = -1;

	for (i = 0; i < n; i++)
		sum += m[i].len;
	if (n == 0 || n > CACHE_GROUP_MAX || raw->len > GROUP_RAW_MAX || sum != raw->len ||
	    z_init(&z, true) == -1) {
		errno = EFBIG;
		return -1;
	}
	bound = deflateBound(&z, raw->len);
	zout = bound <= CACHE_ZLEN_MAX ? xmalloc(bound) : NULL;
	z.next_in = (Bytef *)(uintptr_t)raw->data;
	z.avail_in = (uInt)raw->len;
	z.next_out = (Bytef *)zout;
	z.avail_out = (uInt)bound;
	if (zout != NULL && deflate(&z, Z_FINISH) == Z_STREAM_END) {
		cache_put32(hdr, (uint32_t)n);
		cache_put32(hdr + 4, (uint32_t)z.total_out | CACHE_GROUP_MAGIC << 24);
		cache_put32(hdr + 8, (uint32_t)raw->len);
		cache_put32(hdr + 12, (uint32_t)crc32(0, (const Bytef *)raw->data, (uInt)raw->len));
		for (i = 0; i < n; i++) {
			cache_put32(hdr + GROUP_HDR + MEMBER_SZ * i, m[i].uid);
			cache_put32(hdr + GROUP_HDR + MEMBER_SZ * i + 4, m[i].len);
			cache_put32(hdr + GROUP_HDR + MEMBER_SZ * i + 8, (uint32_t)m[i].hash);
			cache_put32(hdr + GROUP_HDR + MEMBER_SZ * i + 12, (uint32_t)(m[i].hash >> 32));
		}
		if (buf_add(rec, hdr, hlen) == 0 && buf_add(rec, zout, z.total_out) == 0)
			rc = 0;
	}
	deflateEnd(&z);
	free(zout);
	if (rc == -1)
		errno = EFBIG;
	return rc;
}

static bool
is_group(const unsigned char *p)
{
	return cache_get32(p + 4) >> 24 == CACHE_GROUP_MAGIC;
}

int
cache_rec_span(const unsigned char *p, size_t avail, size_t *len_r)
{
	uint32_t	w, n;
	size_t		hlen, zlen, i, sum = 0;

	if (avail < 8)
		return 0;
	w = cache_get32(p + 4);
	zlen = w & CACHE_ZLEN_MAX;
	if (w >> 24 == CACHE_REC_MAGIC) {
		if (avail < CACHE_REC_HDR)
			return 0;
		if (cache_get32(p) == 0 || cache_get32(p + 8) > PAYLOAD_MAX)
			return -1;
		hlen = CACHE_REC_HDR;
	} else if (w >> 24 == CACHE_GROUP_MAGIC) {
		n = cache_get32(p);
		if (n == 0 || n > CACHE_GROUP_MAX)
			return -1;
		hlen = GROUP_HDR + MEMBER_SZ * (size_t)n;
		if (avail < hlen)
			return 0;
		for (i = 0; i < n; i++) {
			if (cache_get32(p + GROUP_HDR + MEMBER_SZ * i) == 0)
				return -1;
			sum += cache_get32(p + GROUP_HDR + MEMBER_SZ * i + 4);
		}
		if (sum != cache_get32(p + 8) || sum > GROUP_RAW_MAX)
			return -1;
	} else
		return -1;
	if (avail - hlen < zlen)
		return 0;
	*len_r = hlen + zlen;
	return 1;
}

size_t
cache_rec_count(const unsigned char *p)
{
	return is_group(p) ? cache_get32(p) : 1;
}

void
cache_rec_member(const unsigned char *p, size_t i, uint32_t *uid_r, uint64_t *hash_r,
    size_t *off_r, size_t *len_r)
{
	const unsigned char	*q = p + GROUP_HDR;
	size_t			 k, off = 0;

	if (!is_group(p)) {
		*uid_r = cache_get32(p);
		*hash_r = cache_get64(p + 16);
		*off_r = 0;
		*len_r = cache_get32(p + 8);
		return;
	}
	for (k = 0; k < i; k++)
		off += cache_get32(q + MEMBER_SZ * k + 4);
	q += MEMBER_SZ * i;
	*uid_r = cache_get32(q);
	*hash_r = cache_get64(q + 8);
	*off_r = off;
	*len_r = cache_get32(q + 4);
}

uint32_t
cache_rec_uid(const unsigned char *p, size_t i)
{
	return is_group(p) ? cache_get32(p + GROUP_HDR + MEMBER_SZ * i) : cache_get32(p);
}

int
cache_rec_find(const unsigned char *p, uint32_t uid, uint64_t *hash_r, size_t *off_r,
    size_t *len_r)
{
	const unsigned char	*q = p + GROUP_HDR;
	size_t			 i, n, off = 0;

	if (!is_group(p)) {
		if (cache_get32(p) != uid)
			return -1;
		*hash_r = cache_get64(p + 16);
		*off_r = 0;
		*len_r = cache_get32(p + 8);
		return 0;
	}
	n = cache_get32(p);
	for (i = 0; i < n; i++, q += MEMBER_SZ) {
		if (cache_get32(q) == uid) {
			*hash_r = cache_get64(q + 8);
			*off_r = off;
			*len_r = cache_get32(q + 4);
			return 0;
		}
		off += cache_get32(q + 4);
	}
	return -1;
}

int
cache_rec_inflate(const unsigned char *p, char **raw_r, size_t *len_r)
{
	z_stream	 z;
	size_t		 hlen, zlen = cache_get32(p + 4) & CACHE_ZLEN_MAX;
	size_t		 rawlen = cache_get32(p + 8);
	char		*raw;
	int		 rc;

	hlen = is_group(p) ? GROUP_HDR + MEMBER_SZ * (size_t)cache_get32(p) : CACHE_REC_HDR;
	if (z_init(&z, false) == -1)
		return -1;
	raw = xmalloc(rawlen + 1);
	z.next_in = (Bytef *)(uintptr_t)(p + hlen);
	z.avail_in = (uInt)zlen;
	z.next_out = (Bytef *)raw;
	z.avail_out = (uInt)rawlen + 1;
	rc = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (rc != Z_STREAM_END || z.total_out != rawlen ||
	    crc32(0, (const Bytef *)raw, (uInt)rawlen) != cache_get32(p + 12)) {
		free(raw);
		return -1;
	}
	raw[rawlen] = '\0';
	*raw_r = raw;
	*len_r = rawlen;
	return 0;
}
