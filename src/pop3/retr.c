/*
 * RETR and TOP: stream a message file to the client in chunks, with
 * backpressure (a chunk is read only while the output holds less than
 * POP3_OUT_HIGH), so a large message is never held in memory.  Each chunk
 * goes through pop3_stuff(): RFC 1939 §3 dot-stuffing, bare LF -> CRLF
 * (our deliveries are CRLF already; foreign Maildirs may be LF-only), and
 * TOP's line limit (RFC 1939 §7: the header, the blank line, n body lines).
 *
 * The file is read on the loop thread: one read(2) of CHUNK bytes from a
 * local file between client writes, like Dovecot's pop3 process does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "pop3/session.h"
#include "store/store.h"

#define CHUNK	(32 * 1024)

int
pop3_stuff(struct pop3_stream *st, const unsigned char *in, size_t n, struct buf *out)
{
	char	*o = xmalloc(2 * n + 4), c;
	size_t	 i, k = 0;
	int	 done = 0;

	if (st->top && st->in_body && st->body_lines >= st->lines)
		done = 1;
	for (i = 0; i < n && !done; i++) {
		c = (char)in[i];
		if (st->bol && c == '.')
			o[k++] = '.';		/* RFC 1939 §3: byte-stuff a leading "." */
		if (c == '\n') {
			if (!st->cr)
				o[k++] = '\r';
			o[k++] = '\n';
			if (st->in_body)
				st->body_lines++;
			else if (st->linelen == 0)
				st->in_body = true;	/* the empty line after the header */
			st->linelen = 0;
			st->bol = true;
			st->cr = false;
			if (st->top && st->in_body && st->body_lines >= st->lines)
				done = 1;
			continue;
		}
		o[k++] = c;
		st->bol = false;
		st->cr = c == '\r';
		if (c != '\r')
			st->linelen++;
	}
	if (buf_add(out, o, k) < 0)
		fatalx("pop3: stuffing buffer too small");
	free(o);
	return done;
}

void
pop3_stuff_end(struct pop3_stream *st, struct buf *out)
{
	/* A last line without its line end still needs one before the ".". */
	if (!st->bol && buf_add(out, st->cr ? "\n" : "\r\n", st->cr ? 1 : 2) < 0)
		fatalx("pop3: stuffing buffer too small");
	if (buf_add(out, ".\r\n", 3) < 0)
		fatalx("pop3: stuffing buffer too small");
}

int
pop3_stream_start(struct pop3_session *s, size_t idx, bool top, uint64_t lines)
{
	int fd;

	if ((fd = store_msg_open(s->mb, idx)) < 0) {
		if (errno == ENOENT)
			pop3_reply(s, "-ERR Message no longer exists.");
		else {
			log_warn("pop3d sid=%s: user=%s: cannot open message %zu", s->sid, s->login,
			    idx + 1);
			pop3_reply(s, "-ERR [SYS/TEMP] Cannot read the message.");
		}
		return -1;
	}
	memset(&s->stream, 0, sizeof(s->stream));
	s->stream.fd = fd;
	s->stream.top = top;
	s->stream.lines = lines;
	s->stream.bol = true;
	if (top)
		pop3_reply(s, "+OK");
	else
		pop3_reply(s, "+OK %llu octets", (unsigned long long)s->msgs[idx].size);
	/* Call us again (write callback) when the output has drained to half. */
	bufferevent_setwatermark(s->bev, EV_WRITE, POP3_OUT_HIGH / 2, 0);
	pop3_stream_more(s);
	return 0;
}

void
pop3_stream_more(struct pop3_session *s)
{
	unsigned char	*chunk;
	struct buf	 out;
	ssize_t		 n;
	int		 done = 0;

	if (s->stream.fd < 0 || s->bev == NULL)
		return;
	chunk = xmalloc(CHUNK);
	buf_init(&out, 2 * CHUNK + 8);
	while (!done && pop3_output_len(s) < POP3_OUT_HIGH) {
		n = read(s->stream.fd, chunk, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* Half a message is out: nothing can be said in-band any more. */
			log_warn("pop3d sid=%s: user=%s: reading a message failed", s->sid, s->login);
			free(chunk);
			buf_clear(&out);
			pop3_close(s);
			return;
		}
		if (n == 0)
			done = 1;
		else
			done = pop3_stuff(&s->stream, chunk, (size_t)n, &out);
		if (done)
			pop3_stuff_end(&s->stream, &out);
		if (out.len > 0)
			pop3_write(s, out.data, out.len);
		buf_reset(&out);
	}
	free(chunk);
	buf_clear(&out);
	if (done)
		pop3_stream_stop(s);
}

void
pop3_stream_stop(struct pop3_session *s)
{
	if (s->stream.fd < 0)
		return;
	close(s->stream.fd);
	s->stream.fd = -1;
	if (s->bev != NULL)
		bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
}
