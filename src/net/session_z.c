/*
 * Compression in the session core (IMAP COMPRESS=DEFLATE, RFC 4978): once
 * a protocol turns it on, everything written goes through a raw-deflate
 * stream and everything read comes out of one (net/zlayer.h).  It sits
 * on the session's bufferevent, so plain TCP, implicit TLS and STARTTLS
 * are the same, and the core's timeouts, output backpressure and close
 * path see the compressed bytes as they always saw bytes.  Writes are
 * flushed (Z_SYNC_FLUSH) once per loop turn, from an event: a burst of
 * small replies shares one flush, and an IDLE push leaves at once.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lib/log.h"
#include "net/server.h"
#include "net/session.h"
#include "net/session_int.h"
#include "net/zlayer.h"

/* The decompressed input held at most (the rest waits compressed). */
static size_t
plain_max(const struct session *s)
{
	size_t max = s->proto->in_max > 0 ? s->proto->in_max : 64 * 1024;

	/* Enough for the longest line, so a line can always be taken. */
	return max > s->lim.line_cap + 2 ? max : s->lim.line_cap + 2;
}

static void
zflush_cb(evutil_socket_t fd, short what, void *arg)
{
	session_z_flush(arg);
}

void
session_z_flush(struct session *s)
{
	if (s->z == NULL || s->bev == NULL)
		return;
	if (zlayer_flush(s->z, bufferevent_get_output(s->bev)) == -1)
		log_warnx("%s sid=%s: compression failed", s->proto->name, s->sid);
}

void
session_z_write(struct session *s, const void *p, size_t n)
{
	if (zlayer_write(s->z, p, n, bufferevent_get_output(s->bev)) == -1) {
		log_warnx("%s sid=%s: compression failed", s->proto->name, s->sid);
		return;
	}
	/* Already active: this burst shares the pending flush. */
	event_active(s->ev_zflush, EV_TIMEOUT, 0);
}

struct evbuffer *
session_input(struct session *s)
{
	struct evbuffer *raw = bufferevent_get_input(s->bev);

	if (s->z == NULL)
		return raw;
	if (zlayer_read(s->z, raw, plain_max(s)) == -1) {
		log_info("%s sid=%s: corrupt compressed input, closing", s->proto->name, s->sid);
		return NULL;
	}
	return zlayer_input(s->z);
}

void
session_z_free(struct session *s)
{
	if (s->ev_zflush != NULL)
		event_free(s->ev_zflush);
	s->ev_zflush = NULL;
	zlayer_free(&s->z);
}

int
session_compress(struct session *s, int level, int mem_level)
{
	if (s->z != NULL || s->bev == NULL || s->closing || s->handshaking)
		return -1;
	if ((s->z = zlayer_new(level, mem_level, 15)) == NULL ||
	    (s->ev_zflush = event_new(s->srv->base, -1, 0, zflush_cb, s)) == NULL) {
		session_z_free(s);
		return -1;
	}
	log_debug("%s sid=%s: compression on, zlib memory=%zu", s->proto->name, s->sid,
	    zlayer_memory(s->z));
	return 0;
}

bool
session_compressed(const struct session *s)
{
	return s->z != NULL;
}

size_t
session_compress_memory(const struct session *s)
{
	return s->z != NULL ? zlayer_memory(s->z) : 0;
}
