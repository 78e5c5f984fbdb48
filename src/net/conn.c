/* Session ids and the bounded line reader; see conn.h. */
#include <string.h>

#include <event2/buffer.h>
#include <event2/util.h>

#include "lib/buf.h"
#include "net/conn.h"

void
conn_new_sid(char sid[SID_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 r[SID_LEN / 2];
	int			 i;

	evutil_secure_rng_get_bytes(r, sizeof(r));
	for (i = 0; i < SID_LEN / 2; i++) {
		sid[2 * i] = hex[r[i] >> 4];
		sid[2 * i + 1] = hex[r[i] & 15];
	}
	sid[SID_LEN] = '\0';
}

int
conn_readline(struct evbuffer *in, size_t max, struct buf *line)
{
	struct evbuffer_ptr	 p;
	size_t			 n;

	buf_reset(line);
	p = evbuffer_search_eol(in, NULL, &n, EVBUFFER_EOL_LF);
	if (p.pos < 0) {
		if (evbuffer_get_length(in) > max) {
			/* Drop what we have; the caller treats this as fatal or resyncs. */
			evbuffer_drain(in, evbuffer_get_length(in));
			return -1;
		}
		return 0;
	}
	if ((size_t)p.pos > max + 1) {	/* +1: a CR before the LF does not count */
		evbuffer_drain(in, (size_t)p.pos + 1);
		return -1;
	}
	n = (size_t)p.pos;
	if (n > 0) {
		char tmp[512];
		size_t left = n;
		/* Copy out in chunks through a bounded buffer. */
		while (left > 0) {
			size_t c = left < sizeof(tmp) ? left : sizeof(tmp);
			evbuffer_remove(in, tmp, c);
			if (buf_add(line, tmp, c) < 0) {
				evbuffer_drain(in, left - c + 1);
				return -1;
			}
			left -= c;
		}
	}
	evbuffer_drain(in, 1);	/* the LF */
	if (line->len > 0 && line->data[line->len - 1] == '\r') {
		line->len--;
		line->data[line->len] = '\0';
	}
	if (line->len > max)
		return -1;
	return 1;
}
