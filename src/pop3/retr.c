/*
 * RETR and TOP: stream a message file to the client in chunks, with
 * backpressure (a chunk is read only while the output holds less than
 * POP3_OUT_HIGH), so a large message is never held in memory.  Each chunk
 * goes through pop3_stuff(): RFC 1939 §3 dot-stuffing, LF -> CRLF (files
 * are stored with LF, as Postfix, Courier and Dovecot store them; older
 * CRLF files pass unchanged), and
 * TOP's line limit (RFC 1939 §7: the header, the blank line, n body lines).
 *
 * The file is read on the loop thread: one read(2) of CHUNK bytes from a
 * local file between client writes, like Dovecot's pop3 process does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "net/session.h"
#include "pop3/session.h"
#include "store/store.h"

#define CHUNK	(32 * 1024)

static void
emit(struct buf *out, const void *p, size_t n)
{
	if (buf_add(out, p, n) < 0)
		fatalx("pop3: stuffing buffer too small");
}

/*
 * Line by line (memchr to the next LF, one copy per line) rather than byte
 * by byte: this is the inner loop of RETR.  Output is at most 2n bytes.
 */
int
pop3_stuff(struct pop3_stream *st, const unsigned char *in, size_t n, struct buf *out)
{
	const unsigned char	*p = in, *end = in + n, *nl, *q;
	size_t			 seg;

	if (st->top && st->in_body && st->body_lines >= st->lines)
		return 1;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		seg = (size_t)((nl != NULL ? nl : end) - p);
		if (seg > 0) {
			if (st->bol && *p == '.')
				emit(out, ".", 1);	/* RFC 1939 §3: byte-stuff a leading "." */
			emit(out, p, seg);
			/* Only the header needs the length: an empty line ends it. */
			if (!st->in_body)
				for (q = p; q < p + seg; q++)
					if (*q != '\r')
						st->linelen++;
			st->bol = false;
			st->cr = p[seg - 1] == '\r';
			p += seg;
		}
		if (nl == NULL)
			break;
		emit(out, st->cr ? "\n" : "\r\n", st->cr ? 1 : 2);
		p++;
		if (st->in_body)
			st->body_lines++;
		else if (st->linelen == 0)
			st->in_body = true;	/* the empty line after the header */
		st->linelen = 0;
		st->bol = true;
		st->cr = false;
		if (st->top && st->in_body && st->body_lines >= st->lines)
			return 1;
	}
	return 0;
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
	struct store_msg	m;
	int			fd, r;

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
	s->stream.fsize = store_msg_get(s->mb, idx, &m) == 0 &&
	    store_msg_size(s->mb, idx, &m) == 0 ? m.size : 0;
	/* The reply line goes out with the first chunk: one write, one packet. */
	if (top)
		r = snprintf(s->stream.head, sizeof(s->stream.head), "+OK\r\n");
	else
		r = snprintf(s->stream.head, sizeof(s->stream.head), "+OK %llu octets\r\n",
		    (unsigned long long)s->msgs[idx].size);
	s->stream.headlen = r > 0 && (size_t)r < sizeof(s->stream.head) ? (size_t)r : 0;
	/* Call us again (proto->drain) when the output has drained to half. */
	session_watch_drain(s->ss, true);
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

	if (s->stream.fd < 0 || session_gone(s->ss))
		return;
	chunk = xmalloc(CHUNK);
	buf_init(&out, 2 * CHUNK + 8 + sizeof(s->stream.head));
	if (s->stream.headlen > 0) {
		if (buf_add(&out, s->stream.head, s->stream.headlen) < 0)
			fatalx("pop3: stuffing buffer too small");
		s->stream.headlen = 0;
	}
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
		else {
			done = pop3_stuff(&s->stream, chunk, (size_t)n, &out);
			/*
			 * A short read that reaches the size the store has for
			 * the file is its end (Maildir files do not grow): saves
			 * the read(2) that would return 0.  A file larger than
			 * that is still read to its real end.
			 */
			s->stream.got += (uint64_t)n;
			if ((size_t)n < CHUNK && s->stream.got == s->stream.fsize)
				done = 1;
		}
		if (done)
			pop3_stuff_end(&s->stream, &out);
		if (out.len > 0)
			pop3_send(s, out.data, out.len);
		buf_reset(&out);
	}
	/* The output was full before the first read: the reply line still goes. */
	if (out.len > 0)
		pop3_send(s, out.data, out.len);
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
	session_watch_drain(s->ss, false);
}
