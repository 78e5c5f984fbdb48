/*
 * libFuzzer harness for the decompressing side of net/zlayer.h, which
 * inflates whatever a client sends after IMAP COMPRESS (RFC 4978) before
 * any parser sees it.  The first byte picks the cap on decompressed bytes
 * and how the input is cut into pieces (a real peer's bytes arrive in any
 * split); the rest is fed piece by piece, draining the output as the core
 * would.  The output may never pass the cap by more than one chunk, and
 * after an error nothing more is read.  A round trip through our own
 * compressor must give the input back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "net/zlayer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip(const uint8_t *data, size_t size)
{
	struct zlayer	*a = zlayer_new(6, 1, 9), *b = zlayer_new(1, 1, 9);
	struct evbuffer	*wire = evbuffer_new(), *in;
	unsigned	 turns = 0;

	if (zlayer_write(a, data, size, wire) != 0 || zlayer_flush(a, wire) != 0)
		abort();
	in = zlayer_input(b);
	/* Everything flushed comes out: one read, or a few when the input is large. */
	while (evbuffer_get_length(wire) > 0 || evbuffer_get_length(in) < size)
		if (zlayer_read(b, wire, size + 1) != 0 || ++turns > 3)
			abort();
	if (evbuffer_get_length(in) != size ||
	    (size > 0 && memcmp(evbuffer_pullup(in, -1), data, size) != 0))
		abort();
	evbuffer_free(wire);
	zlayer_free(&a);
	zlayer_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zlayer	*z;
	struct evbuffer	*wire, *out;
	size_t		 cap, piece, off, n, got;
	unsigned	 turns;
	int		 r = 0;

	if (size < 1 || size > 65536)
		return 0;
	cap = 1 + (size_t)(data[0] & 0x0f) * 4096;
	piece = 1 + (data[0] >> 4) * 97;
	data++;
	size--;
	round_trip(data, size);
	if ((z = zlayer_new(6, 1, 9)) == NULL)
		return 0;
	wire = evbuffer_new();
	out = zlayer_input(z);
	for (off = 0; off < size && r == 0; off += n) {
		n = size - off < piece ? size - off : piece;
		evbuffer_add(wire, data + off, n);
		/* As the core: read, take what came out, read again while it gives more. */
		for (turns = 0; turns < 100000; turns++) {
			r = zlayer_read(z, wire, cap);
			got = evbuffer_get_length(out);
			if (got > cap + 16384)
				abort();
			evbuffer_drain(out, got);
			if (r != 0 || got == 0)
				break;
		}
	}
	evbuffer_free(wire);
	zlayer_free(&z);
	return 0;
}
