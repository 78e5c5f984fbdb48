/*
 * A raw-deflate layer over byte buffers (RFC 1951 without zlib or gzip
 * framing; what IMAP COMPRESS=DEFLATE, RFC 4978, puts on the wire): one
 * compressor for what we send, one decompressor for what the peer sends.
 * Knows nothing of sessions or protocols; the session core (session.c,
 * session_io.c) puts it between its bufferevent and the protocol.
 */
#ifndef LB_NET_ZLAYER_H
#define LB_NET_ZLAYER_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;
struct zlayer;

/*
 * level 0..9 (zlib's), mem_level 1..9 (the compressor's hash tables:
 * 1 << (mem_level + 9) bytes), window_bits 9..15 for our side (the peer's
 * window is always read with 15, the largest a peer may use).
 * Returns NULL when zlib cannot set up (memory).
 */
struct zlayer	*zlayer_new(int level, int mem_level, int window_bits);
void		 zlayer_free(struct zlayer **zp);

/*
 * Compress n bytes onto the end of out.  zlib may keep some back until
 * zlayer_flush().  Returns 0, or -1 (the stream is broken; close).
 */
int		 zlayer_write(struct zlayer *z, const void *p, size_t n, struct evbuffer *out);
/* Z_SYNC_FLUSH: everything written so far can be decompressed by the peer. */
int		 zlayer_flush(struct zlayer *z, struct evbuffer *out);
/* Bytes written since the last flush (a flush is due). */
bool		 zlayer_unflushed(const struct zlayer *z);

/*
 * Decompress what in holds (drained as it is used) onto zlayer_input(),
 * stopping once that holds max bytes or more (a small compressed input
 * can expand a thousandfold: the rest waits in in).  Returns 0, or -1 on
 * a corrupt stream or data after its end.
 */
int		 zlayer_read(struct zlayer *z, struct evbuffer *in, size_t max);
/* The decompressed input; the caller reads and drains it.  Owned by z. */
struct evbuffer	*zlayer_input(struct zlayer *z);

/* Bytes zlib holds for this layer now (both directions), for the log. */
size_t		 zlayer_memory(const struct zlayer *z);

#endif
