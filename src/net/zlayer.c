/*
 * Raw deflate in both directions over evbuffers (see zlayer.h).  zlib's
 * allocations go through counting hooks, so the memory a compressed
 * session costs can be read back (zlayer_memory) rather than guessed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include <event2/buffer.h>

#include "lib/xmalloc.h"
#include "net/zlayer.h"

#define ZCHUNK		16384	/* output reserved per deflate()/inflate() call */

struct zlayer {
	z_stream	 out;		/* deflate: ours to the peer */
	z_stream	 in;		/* inflate: the peer's to us */
	bool		 out_ok, in_ok;
	bool		 in_ended;	/* the peer finished its stream (Z_STREAM_END) */
	bool		 in_more;	/* inflate filled its output: it may hold more */
	bool		 unflushed;
	size_t		 mem;		/* bytes zlib holds (hooks below) */
	struct evbuffer	*plain;		/* decompressed input */
};

/* Each block carries its size in front, so zfree can count it out. */
#define ZHDR	sizeof(max_align_t)

static voidpf
z_alloc(voidpf opaque, uInt items, uInt size)
{
	struct zlayer	*z = opaque;
	size_t		 n;
	unsigned char	*p;

	if (size != 0 && items > (SIZE_MAX - ZHDR) / size)
		return Z_NULL;
	n = (size_t)items * size;
	if ((p = malloc(n + ZHDR)) == NULL)
		return Z_NULL;
	memcpy(p, &n, sizeof(n));
	z->mem += n;
	return p + ZHDR;
}

static void
z_free(voidpf opaque, voidpf addr)
{
	struct zlayer	*z = opaque;
	unsigned char	*p = addr;
	size_t		 n;

	if (p == NULL)
		return;
	p -= ZHDR;
	memcpy(&n, p, sizeof(n));
	z->mem -= n;
	free(p);
}

struct zlayer *
zlayer_new(int level, int mem_level, int window_bits)
{
	struct zlayer *z = xcalloc(1, sizeof(*z));

	z->out.zalloc = z->in.zalloc = z_alloc;
	z->out.zfree = z->in.zfree = z_free;
	z->out.opaque = z->in.opaque = z;
	/* Negative window bits: raw deflate, no zlib header or checksum (RFC 4978 §2). */
	z->out_ok = deflateInit2(&z->out, level, Z_DEFLATED, -window_bits, mem_level,
	    Z_DEFAULT_STRATEGY) == Z_OK;
	z->in_ok = inflateInit2(&z->in, -15) == Z_OK;
	z->plain = evbuffer_new();
	if (!z->out_ok || !z->in_ok || z->plain == NULL)
		zlayer_free(&z);
	return z;
}

void
zlayer_free(struct zlayer **zp)
{
	struct zlayer *z = *zp;

	if (z == NULL)
		return;
	if (z->out_ok)
		deflateEnd(&z->out);
	if (z->in_ok)
		inflateEnd(&z->in);
	if (z->plain != NULL)
		evbuffer_free(z->plain);
	free(z);
	*zp = NULL;
}

/* Run deflate over what z->out holds as input with this flush mode. */
static int
deflate_into(struct zlayer *z, int flush, struct evbuffer *out)
{
	struct evbuffer_iovec	v;
	int			r;

	do {
		if (evbuffer_reserve_space(out, ZCHUNK, &v, 1) < 1)
			return -1;
		z->out.next_out = v.iov_base;
		z->out.avail_out = (uInt)v.iov_len;
		r = deflate(&z->out, flush);
		if (r == Z_STREAM_ERROR)
			return -1;
		v.iov_len -= z->out.avail_out;
		if (evbuffer_commit_space(out, &v, 1) == -1)
			return -1;
		/* A full output buffer means deflate may have more to give. */
	} while (z->out.avail_out == 0 || z->out.avail_in > 0);
	return 0;
}

int
zlayer_write(struct zlayer *z, const void *p, size_t n, struct evbuffer *out)
{
	const unsigned char *b = p;

	while (n > 0) {
		/* avail_in is a uInt: hand over at most 1 GiB at a time */
		size_t k = n > (1u << 30) ? (1u << 30) : n;

		z->out.next_in = (Bytef *)(uintptr_t)b;
		z->out.avail_in = (uInt)k;
		if (deflate_into(z, Z_NO_FLUSH, out) == -1)
			return -1;
		b += k;
		n -= k;
		z->unflushed = true;
	}
	return 0;
}

int
zlayer_flush(struct zlayer *z, struct evbuffer *out)
{
	if (!z->unflushed)
		return 0;
	z->unflushed = false;
	z->out.next_in = NULL;
	z->out.avail_in = 0;
	return deflate_into(z, Z_SYNC_FLUSH, out);
}

bool
zlayer_unflushed(const struct zlayer *z)
{
	return z->unflushed;
}

int
zlayer_read(struct zlayer *z, struct evbuffer *in, size_t max)
{
	struct evbuffer_iovec	src, dst;
	size_t			used;
	bool			have;
	int			r;

	while (evbuffer_get_length(z->plain) < max) {
		have = evbuffer_peek(in, -1, NULL, &src, 1) == 1 && src.iov_len > 0;
		/* Without new input, go on only while inflate still holds output. */
		if (!have && !z->in_more)
			break;
		if (have && z->in_ended)
			return -1;	/* bytes after the end of the stream */
		if (evbuffer_reserve_space(z->plain, ZCHUNK, &dst, 1) < 1)
			return -1;
		/* It may give more room than asked: keep the overshoot of max bounded. */
		if (dst.iov_len > ZCHUNK)
			dst.iov_len = ZCHUNK;
		z->in.next_in = have ? src.iov_base : NULL;
		z->in.avail_in = have ? (uInt)(src.iov_len > UINT32_MAX ? UINT32_MAX :
		    src.iov_len) : 0;
		z->in.next_out = dst.iov_base;
		z->in.avail_out = (uInt)dst.iov_len;
		r = inflate(&z->in, Z_SYNC_FLUSH);
		used = have ? (size_t)((const unsigned char *)z->in.next_in -
		    (const unsigned char *)src.iov_base) : 0;
		z->in_more = z->in.avail_out == 0;
		dst.iov_len -= z->in.avail_out;
		if (evbuffer_commit_space(z->plain, &dst, 1) == -1)
			return -1;
		if (used > 0)
			evbuffer_drain(in, used);
		if (r == Z_STREAM_END)
			z->in_ended = true;
		else if (r == Z_BUF_ERROR && used == 0 && dst.iov_len == 0) {
			z->in_more = false;
			break;		/* a partial block: wait for more */
		} else if (r != Z_OK && r != Z_BUF_ERROR)
			return -1;
	}
	return 0;
}

struct evbuffer *
zlayer_input(struct zlayer *z)
{
	return z->plain;
}

size_t
zlayer_memory(const struct zlayer *z)
{
	return z->mem;
}
