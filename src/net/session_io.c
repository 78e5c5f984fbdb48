/*
 * The session core's input and output: the input loop (bounded lines with
 * resync after an over-long one, NUL rejection, counted or open-ended raw
 * bytes), waiting and delayed replies, reply writing with byte counts and
 * the output backpressure (no input is read while out_high bytes wait;
 * streaming producers are called back at out_high / 2).
 */
#include <sys/socket.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lib/str.h"
#include "net/session.h"
#include "net/session_int.h"
#include "net/tls.h"
#include "net/zlayer.h"

#define REPLY_MAX	1000	/* RFC 5321 §4.5.3.1.5: a reply line, CRLF included */

/* ---- output -------------------------------------------------------- */

size_t
session_output_len(const struct session *s)
{
	return s->bev != NULL ? evbuffer_get_length(bufferevent_get_output(s->bev)) : 0;
}

void
session_update_write_mark(struct session *s)
{
	size_t low = 0;

	/* Closing: called when the output is empty.  Streaming or full: at half. */
	if (!s->closing && (s->watch_drain || s->out_full))
		low = s->proto->out_high / 2;
	if (s->bev != NULL)
		bufferevent_setwatermark(s->bev, EV_WRITE, low, 0);
}

void
session_watch_drain(struct session *s, bool on)
{
	if (s->closing)
		on = false;
	s->watch_drain = on;
	session_update_write_mark(s);
}

void
session_write(struct session *s, const void *p, size_t n)
{
	if (s->bev == NULL || n == 0)
		return;
	if (s->z != NULL)
		session_z_write(s, p, n);
	else
		bufferevent_write(s->bev, p, n);
	s->bytes_out += n;
}

void
session_send(struct session *s, const void *p, size_t n)
{
	ssize_t w = 0;

	if (s->bev == NULL || n == 0)
		return;
	if (s->z != NULL) {
		session_write(s, p, n);
		return;
	}
	if ((s->proto->flags & SESSION_F_DIRECT_SEND) && !tls_active(s->bev) &&
	    session_output_len(s) == 0) {
		w = send(bufferevent_getfd(s->bev), p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0)
			w = 0;	/* libevent sees a real error itself on its next write */
	}
	if ((size_t)w < n)
		bufferevent_write(s->bev, (const char *)p + w, n - (size_t)w);
	s->bytes_out += n;
}

void
session_reply(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vreply(s, fmt, ap);
	va_end(ap);
}

void
session_vreply(struct session *s, const char *fmt, va_list ap)
{
	char	line[REPLY_MAX];
	int	n;

	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	session_write(s, line, (size_t)n);
}

/* ---- input modes and waiting --------------------------------------- */

void
session_set_line_max(struct session *s, size_t max)
{
	s->lim.line_max = max < s->lim.line_cap ? max : s->lim.line_cap;
}

void
session_read_raw(struct session *s, size_t n)
{
	s->raw_left = n;
}

void
session_read_lines(struct session *s)
{
	s->raw_left = 0;
}

void
session_wait(struct session *s)
{
	s->waiting = true;
}

bool
session_waiting(const struct session *s)
{
	return s->waiting;
}

void
session_resume(struct session *s)
{
	s->waiting = false;
	/* Inside the loop the loop itself goes on. */
	if (!s->in_loop)
		session_process(s);
}

void
session_delay(struct session *s, unsigned ms, void (*fn)(struct session *, void *), void *arg)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	s->waiting = true;
	s->delay_fn = fn;
	s->delay_arg = arg;
	evtimer_add(s->ev_delay, &tv);
}

void
session_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;
	void		(*fn)(struct session *, void *) = s->delay_fn;

	s->delay_fn = NULL;
	if (s->closing || fn == NULL)
		return;
	s->waiting = false;
	fn(s, s->delay_arg);
	if (!s->waiting && !s->closing)
		session_process(s);
}

void
session_wipe_line(struct session *s)
{
	if (s->line.data != NULL)
		OPENSSL_cleanse(s->line.data, s->line.cap);
}

/* ---- the input loop ------------------------------------------------ */

/*
 * One line into s->line (without CRLF or LF).  1: a line, 0: need more,
 * -1: too long (dropped through its LF; if the LF has not arrived yet,
 * what follows is dropped until it does, so the tail is never taken for
 * a command).
 */
static int
read_line(struct session *s, struct evbuffer *in)
{
	struct evbuffer_ptr	 p;
	size_t			 n, len, max = s->lim.line_max;
	const unsigned char	*d;

	buf_reset(&s->line);
	if (s->skip_line) {
		p = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (p.pos < 0) {
			evbuffer_drain(in, evbuffer_get_length(in));
			return 0;
		}
		evbuffer_drain(in, (size_t)p.pos + 1);
		s->skip_line = false;
	}
	p = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (p.pos < 0) {
		/* +1: a CR may still come before the LF */
		if (evbuffer_get_length(in) > max + 1) {
			evbuffer_drain(in, evbuffer_get_length(in));
			s->skip_line = true;
			return -1;
		}
		return 0;
	}
	n = (size_t)p.pos;
	if (n > max + 1) {
		evbuffer_drain(in, n + 1);
		return -1;
	}
	d = evbuffer_pullup(in, (ssize_t)n + 1);
	len = n > 0 && d[n - 1] == '\r' ? n - 1 : n;
	if (len > max || buf_add(&s->line, d, len) < 0) {
		evbuffer_drain(in, n + 1);
		return -1;
	}
	evbuffer_drain(in, n + 1);
	s->bytes_in += n + 1;
	return 1;
}

/* Raw mode: hand over the first contiguous piece.  false: wait for input. */
static bool
read_raw(struct session *s, struct evbuffer *in)
{
	struct evbuffer_iovec	v;
	size_t			n, took;
	bool			open_ended = s->raw_left == SIZE_MAX;

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
		return false;
	n = v.iov_len;
	if (!open_ended) {
		/* Counted: back to lines before the last piece's callback, so it may ask again. */
		if (n > s->raw_left)
			n = s->raw_left;
		s->raw_left -= n;
	}
	took = s->proto->raw(s, v.iov_base, n);
	if (took > n || !open_ended)
		took = n;
	evbuffer_drain(in, took);
	s->bytes_in += took;
	/* Compression just came on: what is left of in is compressed, read it so. */
	if (s->z != NULL && in != zlayer_input(s->z))
		return true;
	return took == n || s->raw_left != SIZE_MAX;
}

void
session_process(struct session *s)
{
	struct evbuffer	*in;
	int		 r;

	if (s->in_loop)
		return;
	s->in_loop = true;
	while (s->bev != NULL && !s->waiting && !s->handshaking && !s->closing) {
		if (s->proto->out_high > 0 && session_output_len(s) >= s->proto->out_high) {
			/* The client does not read: stop reading it too. */
			s->out_full = true;
			session_update_write_mark(s);
			break;
		}
		if ((in = session_input(s)) == NULL) {
			session_ended(s, "compress-error");
			session_close(s);
			break;
		}
		if (s->raw_left > 0) {
			if (!read_raw(s, in))
				break;
			continue;
		}
		if ((r = read_line(s, in)) == 0)
			break;
		if (r < 0)
			s->proto->bad_line(s, SESSION_BAD_TOO_LONG);
		else if (str_has_nul(s->line.data, s->line.len))
			s->proto->bad_line(s, SESSION_BAD_NUL);
		else
			s->proto->line(s, s->line.data, s->line.len);
	}
	s->in_loop = false;
}

void
session_read_cb(struct bufferevent *bev, void *arg)
{
	session_process(arg);
}

void
session_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->closing) {
		if (session_output_len(s) == 0)
			event_active(s->ev_free, EV_TIMEOUT, 0);
		return;
	}
	if (s->watch_drain && s->proto->drain != NULL)
		s->proto->drain(s);
	if (s->out_full && !s->closing && session_output_len(s) < s->proto->out_high) {
		s->out_full = false;
		session_update_write_mark(s);
		session_process(s);
	}
}
