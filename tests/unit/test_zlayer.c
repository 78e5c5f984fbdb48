/*
 * net/zlayer: raw deflate both ways through a socketpair (what an IMAP
 * COMPRESS session does), against zlib used directly as a peer would;
 * input that expands a lot stops at the cap; corrupt input fails; and
 * the memory a layer costs, per memLevel (printed for the README).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zlib.h>

#include <event2/buffer.h>

#include "net/zlayer.h"
#include "t.h"

/* Move everything in b through the socket pair: write on a, read on b. */
static void
through(int a, int b, struct evbuffer *from, struct evbuffer *to)
{
	while (evbuffer_get_length(from) > 0) {
		int n = evbuffer_write(from, a);

		t_ok(n > 0);
		if (n <= 0)
			return;
		while (n > 0) {
			int r = evbuffer_read(to, b, n);

			t_ok(r > 0);
			if (r <= 0)
				return;
			n -= r;
		}
	}
}

/* Ours compressed, read by a peer's inflate; the peer's deflate, read by ours. */
static void
test_round_trip(void)
{
	struct zlayer	*z = zlayer_new(6, 8, 15);
	struct evbuffer	*wire = evbuffer_new(), *got = evbuffer_new();
	unsigned char	 out[4096], *plain, *p;
	z_stream	 peer;
	int		 sv[2];
	size_t		 len;

	t_ok(z != NULL);
	t_int(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Server to client: two writes, one flush; the peer sees all of it. */
	t_int(zlayer_write(z, "* 1 EXISTS\r\n", 12, wire), 0);
	t_int(zlayer_write(z, "* 1 RECENT\r\n", 12, wire), 0);
	t_ok(zlayer_unflushed(z));
	t_int(zlayer_flush(z, wire), 0);
	t_ok(!zlayer_unflushed(z));
	through(sv[0], sv[1], wire, got);
	memset(&peer, 0, sizeof(peer));
	t_int(inflateInit2(&peer, -15), Z_OK);
	len = evbuffer_get_length(got);
	peer.next_in = evbuffer_pullup(got, -1);
	peer.avail_in = (uInt)len;
	peer.next_out = out;
	peer.avail_out = sizeof(out);
	t_int(inflate(&peer, Z_SYNC_FLUSH), Z_OK);
	t_int(sizeof(out) - peer.avail_out, 24);
	t_ok(memcmp(out, "* 1 EXISTS\r\n* 1 RECENT\r\n", 24) == 0);
	inflateEnd(&peer);
	evbuffer_drain(got, len);

	/* Client to server: a peer's deflate, fed one byte at a time. */
	memset(&peer, 0, sizeof(peer));
	t_int(deflateInit2(&peer, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
	peer.next_in = (Bytef *)"a1 NOOP\r\na2 SELECT INBOX\r\n";
	peer.avail_in = 26;
	peer.next_out = out;
	peer.avail_out = sizeof(out);
	t_int(deflate(&peer, Z_SYNC_FLUSH), Z_OK);
	len = sizeof(out) - peer.avail_out;
	deflateEnd(&peer);
	for (p = out; p < out + len; p++) {
		t_int(evbuffer_add(wire, p, 1), 0);
		through(sv[0], sv[1], wire, got);
		t_int(zlayer_read(z, got, 65536), 0);
	}
	t_int(evbuffer_get_length(got), 0);
	t_int(evbuffer_get_length(zlayer_input(z)), 26);
	plain = evbuffer_pullup(zlayer_input(z), -1);
	t_ok(memcmp(plain, "a1 NOOP\r\na2 SELECT INBOX\r\n", 26) == 0);

	close(sv[0]);
	close(sv[1]);
	evbuffer_free(wire);
	evbuffer_free(got);
	zlayer_free(&z);
	t_ok(z == NULL);
	zlayer_free(&z);	/* NULL is fine */
}

/* 4 MiB of zeros compress to a few KiB: the layer stops at the cap and resumes. */
static void
test_expansion_capped(void)
{
	struct zlayer	*z = zlayer_new(1, 1, 9), *src = zlayer_new(9, 9, 15);
	struct evbuffer	*wire = evbuffer_new(), *in;
	char		*zeros = calloc(1, 1 << 20);
	size_t		 total = 0, i;

	for (i = 0; i < 4; i++)
		t_int(zlayer_write(src, zeros, 1 << 20, wire), 0);
	t_int(zlayer_flush(src, wire), 0);
	t_ok(evbuffer_get_length(wire) < 16384);
	in = zlayer_input(z);
	for (i = 0; i < 1000 && total < (4u << 20); i++) {
		t_int(zlayer_read(z, wire, 65536), 0);
		/* At most one output chunk past the cap. */
		t_ok(evbuffer_get_length(in) < 65536 + 16384);
		total += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
	}
	t_int(total, 4u << 20);
	t_int(evbuffer_get_length(wire), 0);
	free(zeros);
	evbuffer_free(wire);
	zlayer_free(&z);
	zlayer_free(&src);
}

static void
test_corrupt(void)
{
	struct zlayer	*z = zlayer_new(6, 8, 15);
	struct evbuffer	*wire = evbuffer_new();

	/* Block type 3 is reserved (RFC 1951 3.2.3). */
	t_int(evbuffer_add(wire, "\xff\xff\xff\xff", 4), 0);
	t_int(zlayer_read(z, wire, 65536), -1);
	evbuffer_free(wire);
	zlayer_free(&z);
}

static void
test_memory(void)
{
	static const int levels[] = { 8, 5, 1 }, windows[] = { 15, 15, 12 };
	struct evbuffer	*wire = evbuffer_new();
	size_t		 i, m;

	for (i = 0; i < 3; i++) {
		struct zlayer *z = zlayer_new(6, levels[i], windows[i]);

		/* inflate's window is allocated on first use: count it too */
		t_int(zlayer_write(z, "x", 1, wire), 0);
		t_int(zlayer_flush(z, wire), 0);
		t_int(zlayer_read(z, wire, 65536), 0);
		m = zlayer_memory(z);
		printf("# zlayer memLevel %d window %d: %zu bytes\n", levels[i], windows[i], m);
		t_ok(m > 0 && m < 400 * 1024);
		zlayer_free(&z);
	}
	evbuffer_free(wire);
}

int
main(void)
{
	t_begin("zlayer");
	test_round_trip();
	test_expansion_capped();
	test_corrupt();
	test_memory();
	return t_end();
}
