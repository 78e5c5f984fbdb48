/*
 * Helpers every protocol session uses: session ids and a bounded line
 * reader over a libevent input buffer.
 */
#ifndef LB_NET_CONN_H
#define LB_NET_CONN_H

#include <stddef.h>

struct evbuffer;
struct buf;

#define SID_LEN 8	/* hex digits */

/* Fill sid (SID_LEN + 1 bytes) with a fresh random id. */
void	conn_new_sid(char sid[SID_LEN + 1]);

/*
 * Take one line from in into line (reset first), without its CRLF or LF.
 * Returns 1 with a line, 0 if no complete line is buffered yet, -1 if the
 * line (buffered or still arriving) is longer than max: then the bytes up
 * to the next LF, or all buffered bytes, are dropped so the caller may
 * reply and go on or close.  A bare CR inside a line is kept (the caller
 * decides).  Never reads past the first LF.
 */
int	conn_readline(struct evbuffer *in, size_t max, struct buf *line);

#endif
