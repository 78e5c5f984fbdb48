/*
 * The session core (net/session.h) over socketpairs, with a small test
 * protocol: pipelining (in one write and byte at a time), an over-long
 * line (whole and arriving in pieces), NUL, counted and open-ended raw
 * bytes (SMTP's BDAT and DATA), STARTTLS injection, the TLS minimum after STARTTLS
 * and a real STARTTLS handshake, the last reply surviving close (plain and
 * TLS), output backpressure, the delayed reply, per-client and per-service
 * limits, the login / idle / handshake timeouts, the shutdown walk, a
 * job that outlives its session, and compression (COMPRESS=DEFLATE).  Every wait is on a condition with a
 * deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/thread.h>

#include <zlib.h>

#include "lib/conf.h"
#include "lib/pool.h"
#include "lib/xmalloc.h"
#include "net/listen.h"
#include "net/server.h"
#include "net/session.h"
#include "net/tls.h"
#include "t.h"

static char		 tmpdir[] = "/tmp/test_session.XXXXXX";
static struct event_base *base;
static struct server	 srv;
static struct tls_ctx	*cctx;

/* What the test protocol saw, per session. */
struct tp {
	struct session	*s;
	size_t		 raw_want;	/* bytes of the current RAW still to come */
	bool		 open_raw;	/* DATA: raw until CRLF.CRLF (SMTP's DATA) */
	unsigned	 eod;		/* bytes of "\r\n.\r\n" matched so far */
	struct buf	 raw;
	char		 ended[48];
	int		*freed;		/* incremented by free */
};

static int	nfreed;
static int	tls_min_rc = 1;
static sem_t	job_gate;
static int	job_done_runs, job_done_orphan;

/* ---- the test protocol --------------------------------------------- */

static void *
tp_attach(struct session *s)
{
	struct tp *t = xcalloc(1, sizeof(*t));

	t->s = s;
	t->freed = &nfreed;
	buf_init(&t->raw, 1 << 20);
	return t;
}

static void
tp_start(struct session *s)
{
	session_reply(s, "HELLO");
}

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	session_reply(s, "WAITED");
	session_resume(s);
}

static void
late_reply(struct session *s, void *arg)
{
	session_reply(s, "LATE");
}

static void
job_work(void *arg)
{
	sem_wait(&job_gate);
}

struct tjob {
	struct session_job sj;
};

static void
job_done(void *arg)
{
	struct tjob *j = arg;

	job_done_runs++;
	if (session_job_end(&j->sj) == NULL)
		job_done_orphan++;
	free(j);
}

static void
tp_line(struct session *s, char *line, size_t len)
{
	char		 big[4096];
	unsigned long	 n;
	size_t		 i;

	if (strcmp(line, "WAIT") == 0) {
		/* An async step: the completion replies and resumes. */
		session_wait(s);
		event_base_once(base, -1, EV_TIMEOUT, later_cb, s, &(struct timeval){ 0, 20000 });
	} else if (strcmp(line, "DELAY") == 0)
		session_delay(s, 30, late_reply, NULL);
	else if (strcmp(line, "DATA") == 0) {
		struct tp *t = s->ctx;

		/* As SMTP's DATA: open-ended raw input, the protocol finds the end. */
		t->open_raw = true;
		t->eod = 2;	/* the command's CRLF counts */
		buf_reset(&t->raw);
		session_reply(s, "+GO");
		session_read_raw(s, SIZE_MAX);
	} else if (strcmp(line, "STARTTLS10") == 0) {
		/* SMTP port 25: STARTTLS, then a lower minimum for this connection. */
		session_reply(s, "GO");
		if (session_starttls(s) == 0)
			tls_min_rc = session_tls_min_version(s, 1);	/* TLS 1.0 */
	} else if (strncmp(line, "RAW ", 4) == 0) {
		struct tp *t = s->ctx;

		t->raw_want = strtoul(line + 4, NULL, 10);
		session_reply(s, "+GO");
		session_read_raw(s, t->raw_want);
	} else if (strncmp(line, "BIG ", 4) == 0 || strncmp(line, "BIGQUIT ", 8) == 0) {
		n = strtoul(strchr(line, ' ') + 1, NULL, 10);
		memset(big, 'z', sizeof(big));
		for (i = 0; i < n; i += sizeof(big))
			session_write(s, big, n - i < sizeof(big) ? n - i : sizeof(big));
		session_reply(s, "END");
		if (line[3] == 'Q')
			session_close(s);
	} else if (strcmp(line, "Z") == 0) {
		/* As IMAP's COMPRESS: the reply in clear, then deflate both ways. */
		session_reply(s, "OK Z");
		if (session_compress(s, 6, 8) != 0)
			session_reply(s, "ERR Z");
	} else if (strcmp(line, "QUIT") == 0) {
		session_reply(s, "BYE");
		session_close(s);
	} else if (strcmp(line, "STARTTLS") == 0) {
		session_reply(s, "GO");
		(void)session_starttls(s);
	} else if (strcmp(line, "AUTH") == 0) {
		session_authenticated(s);
		session_reply(s, "OK AUTH");
	} else if (strcmp(line, "JOB") == 0) {
		struct tjob *j = xcalloc(1, sizeof(*j));

		session_job_submit(s, &j->sj, job_work, job_done, j);
		session_reply(s, "OK JOB");
	} else
		session_reply(s, "OK %s", line);
}

static void
tp_bad_line(struct session *s, enum session_bad_line why)
{
	session_reply(s, why == SESSION_BAD_NUL ? "ERR nul" : "ERR long");
}

/* DATA: take bytes up to and including CRLF.CRLF; what follows is the next command. */
static size_t
tp_raw_open(struct session *s, struct tp *t, const unsigned char *p, size_t n)
{
	static const char	 eod[] = "\r\n.\r\n";
	size_t			 i;

	for (i = 0; i < n; i++) {
		t->eod = p[i] == (unsigned char)eod[t->eod] ? t->eod + 1 :
		    p[i] == '\r' ? 1 : 0;
		if (t->eod == 5) {
			i++;
			break;
		}
	}
	if (buf_add(&t->raw, p, i) < 0)
		return n;
	if (t->eod == 5) {
		t->open_raw = false;
		session_read_lines(s);
		session_reply(s, "GOT DATA %zu", t->raw.len);
	}
	return i;
}

static size_t
tp_raw(struct session *s, const unsigned char *p, size_t n)
{
	struct tp *t = s->ctx;

	if (t->open_raw)
		return tp_raw_open(s, t, p, n);

	if (buf_add(&t->raw, p, n) < 0)
		return n;
	t->raw_want -= n;
	if (t->raw_want == 0)
		session_reply(s, "GOT %zu", t->raw.len);
	return n;
}

static void
tp_timeout(struct session *s, enum session_timeout k)
{
	session_reply(s, "TIMEOUT %s", k == SESSION_T_LOGIN ? "login" : "idle");
}

static void
tp_ended(struct session *s, const char *reason)
{
	struct tp *t = s->ctx;

	snprintf(t->ended, sizeof(t->ended), "%s", reason);
}

static char last_ended[48];

static void
tp_free(struct session *s)
{
	struct tp *t = s->ctx;

	memcpy(last_ended, t->ended, sizeof(last_ended));
	(*t->freed)++;
	buf_clear(&t->raw);
	free(t);
}

static const struct session_proto tproto = {
	.name = "testd",
	.flags = SESSION_F_DEFER_CB | SESSION_F_DIRECT_SEND,
	.in_max = 64 * 1024,
	.out_high = 64 * 1024,
	.refuse = { "BUSY shutdown\r\n", "BUSY service\r\n", "BUSY client\r\n" },
	.attach = tp_attach,
	.start = tp_start,
	.line = tp_line,
	.bad_line = tp_bad_line,
	.raw = tp_raw,
	.timeout = tp_timeout,
	.ended = tp_ended,
	.free = tp_free,
};

static struct service svc_a = { .name = "a" }, svc_b = { .name = "b" };
static struct service svc_tls = { .name = "tls", .implicit_tls = true };

static struct session_limits
limits(void)
{
	struct session_limits l = {
		.handshake_ms = 2000, .idle_ms = 5000, .line_max = 16, .line_cap = 64,
	};

	return l;
}

/* ---- the client side ----------------------------------------------- */

struct client {
	int		 fd;
	struct event	*ev;
	struct buf	 in;
	bool		 eof;
	bool		 paused;	/* not reading: the server's output backs up */
	struct session	*s;
	struct bufferevent *tls;	/* after STARTTLS */
};

static void
client_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	char		 b[65536];
	ssize_t		 n;

	if (c->paused)
		return;
	while ((n = read(c->fd, b, sizeof(b))) > 0)
		if (buf_add(&c->in, b, (size_t)n) < 0)
			break;
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		c->eof = true;
		event_del(c->ev);
	}
}

static void
client_pause(struct client *c, bool on)
{
	c->paused = on;
	if (on)
		event_del(c->ev);
	else
		event_add(c->ev, NULL);
}

/* A connection from addr (IPv4 text) to svc; c->s is NULL when refused. */
static void
client_open(struct client *c, const struct service *svc, const char *addr,
    const struct session_limits *lim)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET, .sin_port = htons(40000) };
	int			sv[2];

	memset(c, 0, sizeof(*c));
	buf_init(&c->in, 4 << 20);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	evutil_make_socket_nonblocking(sv[0]);
	evutil_make_socket_nonblocking(sv[1]);
	c->fd = sv[1];
	inet_pton(AF_INET, addr, &sin.sin_addr);
	c->ev = event_new(base, c->fd, EV_READ | EV_PERSIST, client_read_cb, c);
	event_add(c->ev, NULL);
	c->s = session_accept(&srv, svc, &tproto, lim, sv[0], (struct sockaddr *)&sin, sizeof(sin));
}

static void
client_close(struct client *c)
{
	if (c->tls != NULL)
		bufferevent_free(c->tls);
	else if (c->fd >= 0)
		close(c->fd);
	if (c->ev != NULL)
		event_free(c->ev);
	buf_clear(&c->in);
	c->fd = -1;
	c->ev = NULL;
	c->tls = NULL;
}

static void
client_send(struct client *c, const char *p, size_t n)
{
	if (c->tls != NULL)
		bufferevent_write(c->tls, p, n);
	else if (write(c->fd, p, n) != (ssize_t)n)
		abort();
}

static bool	 deadline_hit;

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	deadline_hit = true;
}

/* Run the loop until cond(arg) holds or ms pass; returns cond's last value. */
static bool
wait_for(bool (*cond)(void *), void *arg, unsigned ms)
{
	struct event	*dl = evtimer_new(base, deadline_cb, NULL);
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	bool		 ok;

	deadline_hit = false;
	evtimer_add(dl, &tv);
	while (!(ok = cond(arg)) && !deadline_hit)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(dl);
	return ok;
}

struct has { struct client *c; const char *text; };

static bool
has_cond(void *arg)
{
	struct has *h = arg;

	return h->c->in.len > 0 && memmem(h->c->in.data, h->c->in.len, h->text,
	    strlen(h->text)) != NULL;
}

static bool
got(struct client *c, const char *text)
{
	struct has h = { c, text };

	return wait_for(has_cond, &h, 3000);
}

static bool
eof_cond(void *arg)
{
	return ((struct client *)arg)->eof;
}

static bool
freed_cond(void *arg)
{
	return nfreed >= *(int *)arg;
}

/* Wait until n sessions in all have been freed. */
static bool
freed_total(int n)
{
	return wait_for(freed_cond, &n, 3000);
}

/* One turn of the loop that runs everything ready (no waiting). */
static void
spin(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
}

/* ---- the tests ----------------------------------------------------- */

static void
test_pipelining(void)
{
	struct session_limits	 lim = limits();
	struct client		 c;
	const char		*in = "A\r\nWAIT\r\nB\r\nDELAY\r\nC\r\nQUIT\r\n";
	size_t			 i;
	int			 f = nfreed;

	client_open(&c, &svc_a, "192.0.2.1", &lim);
	client_send(&c, in, strlen(in));
	t_ok(wait_for(eof_cond, &c, 3000));
	t_str(c.in.data, "HELLO\r\nOK A\r\nWAITED\r\nOK B\r\nLATE\r\nOK C\r\nBYE\r\n");
	client_close(&c);
	t_ok(freed_total(f + 1));
	t_int(session_count_service(&srv, &svc_a), 0);

	/* Byte at a time, a loop turn between bytes. */
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	for (i = 0; in[i] != '\0'; i++) {
		client_send(&c, in + i, 1);
		spin();
	}
	t_ok(wait_for(eof_cond, &c, 3000));
	t_str(c.in.data, "HELLO\r\nOK A\r\nWAITED\r\nOK B\r\nLATE\r\nOK C\r\nBYE\r\n");
	client_close(&c);
	t_ok(freed_total(f + 2));
}

/* SMTP's DATA: open-ended raw input, then lines again with a pipelined command. */
static void
test_open_raw(void)
{
	struct session_limits	 lim = limits();
	struct client		 c;
	const char		*in = "DATA\r\nab\r\n.x\r\n\r\n.\r\nNEXT\r\nQUIT\r\n";
	const char		*want = "HELLO\r\n+GO\r\nGOT DATA 13\r\nOK NEXT\r\nBYE\r\n";
	size_t			 i;
	int			 f = nfreed;

	client_open(&c, &svc_a, "192.0.2.1", &lim);
	client_send(&c, in, strlen(in));
	t_ok(wait_for(eof_cond, &c, 3000));
	t_str(c.in.data, want);
	client_close(&c);
	t_ok(freed_total(f + 1));

	client_open(&c, &svc_a, "192.0.2.1", &lim);
	for (i = 0; in[i] != '\0'; i++) {
		client_send(&c, in + i, 1);
		spin();
	}
	t_ok(wait_for(eof_cond, &c, 3000));
	t_str(c.in.data, want);
	client_close(&c);
	t_ok(freed_total(f + 2));
}

static void
test_bad_lines(void)
{
	struct session_limits	 lim = limits();
	struct client		 c;
	char			 longl[64];
	int			 f = nfreed;

	client_open(&c, &svc_a, "192.0.2.1", &lim);
	/* 16 bytes is the limit itself; 17 is one too many. */
	client_send(&c, "0123456789abcdef\r\n0123456789abcdefg\r\nC\r\n", 41);
	t_ok(got(&c, "OK C\r\n"));
	t_str(c.in.data, "HELLO\r\nOK 0123456789abcdef\r\nERR long\r\nOK C\r\n");
	buf_reset(&c.in);

	/* An over-long line arriving in pieces: its tail is never a command. */
	memset(longl, 'x', sizeof(longl));
	client_send(&c, longl, sizeof(longl));
	t_ok(got(&c, "ERR long\r\n"));
	client_send(&c, "QUIT\r\n", 6);	/* still the same line */
	client_send(&c, "D\r\n", 3);
	t_ok(got(&c, "OK D\r\n"));
	t_str(c.in.data, "ERR long\r\nOK D\r\n");
	buf_reset(&c.in);

	/* NUL in a line; bare LF ends a line too. */
	client_send(&c, "A\0B\r\nE\n", 7);
	t_ok(got(&c, "OK E\r\n"));
	t_str(c.in.data, "ERR nul\r\nOK E\r\n");
	buf_reset(&c.in);

	/* Raw bytes (a literal, a BDAT chunk): NUL and CRLF pass, then lines again. */
	client_send(&c, "RAW 7\r\na\0b\r\ncdF\r\n", 18);
	t_ok(got(&c, "OK F\r\n"));
	t_str(c.in.data, "+GO\r\nGOT 7\r\nOK F\r\n");
	t_ok(((struct tp *)c.s->ctx)->raw.len == 7 &&
	    memcmp(((struct tp *)c.s->ctx)->raw.data, "a\0b\r\ncd", 7) == 0);
	client_close(&c);
	t_ok(freed_total(f + 1));
	t_str(last_ended, "eof");
}

static void
test_last_reply_and_backpressure(void)
{
	struct session_limits	 lim = limits();
	struct client		 c;
	int			 f = nfreed;

	/* 1 MB then END, and session_close() at once: everything arrives. */
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	client_send(&c, "BIGQUIT 1000000\r\n", 17);
	t_ok(wait_for(eof_cond, &c, 5000));
	t_int(c.in.len, 7 + 1000000 + 5);
	t_ok(c.in.len > 5 && memcmp(c.in.data + c.in.len - 5, "END\r\n", 5) == 0);
	client_close(&c);
	t_ok(freed_total(f + 1));

	/* A client that does not read: its next command waits behind the output. */
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	t_ok(got(&c, "HELLO\r\n"));
	client_pause(&c, true);
	client_send(&c, "BIG 1000000\r\nA\r\n", 16);
	spin();
	spin();
	t_ok(c.s->bytes_in == 13);	/* "A" not taken while 1 MB waits */
	client_pause(&c, false);
	t_ok(got(&c, "END\r\nOK A\r\n"));
	t_int(c.s->bytes_in, 16);
	t_int(c.s->bytes_out, 7 + 1000000 + 5 + 6);
	client_close(&c);
	t_ok(freed_total(f + 2));
}

/* Raw deflate of p as a peer's zlib would send it (Z_SYNC_FLUSH). */
static size_t
zpeer(const char *p, unsigned char *out, size_t outsz)
{
	z_stream	z;
	size_t		n;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)strlen(p);
	z.next_out = out;
	z.avail_out = (uInt)outsz;
	if (deflate(&z, Z_SYNC_FLUSH) != Z_OK)
		abort();
	n = outsz - z.avail_out;
	deflateEnd(&z);
	return n;
}

/* The client's view of what followed "OK Z\r\n": inflated; NULL if it does not inflate. */
static char *
zunpeer(const struct client *c, size_t *len_r)
{
	const char	*p = memmem(c->in.data, c->in.len, "OK Z\r\n", 6);
	size_t		 cap = 4 << 20;
	char		*out = xmalloc(cap);
	z_stream	 z;
	int		 r;

	memset(&z, 0, sizeof(z));
	if (p == NULL || inflateInit2(&z, -15) != Z_OK) {
		free(out);
		return NULL;
	}
	p += 6;
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)(c->in.data + c->in.len - p);
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap - 1;
	r = inflate(&z, Z_SYNC_FLUSH);
	*len_r = cap - 1 - z.avail_out;
	out[*len_r] = '\0';
	inflateEnd(&z);
	if (r != Z_OK && r != Z_BUF_ERROR) {
		free(out);
		return NULL;
	}
	return out;
}

/* Compression on after a line, with compressed commands pipelined behind it. */
static void
test_compress(void)
{
	struct session_limits	 lim = limits();
	struct client		 c;
	unsigned char		 z[1024];
	size_t			 n, len, i;
	char			*plain;
	int			 f = nfreed;

	/* One write: "Z" in clear, then deflated commands; the last reply survives close. */
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	memcpy(z, "Z\r\n", 3);
	n = 3 + zpeer("A\r\nWAIT\r\nZ\r\nBIGQUIT 300000\r\n", z + 3, sizeof(z) - 3);
	client_send(&c, (const char *)z, n);
	t_ok(wait_for(eof_cond, &c, 5000));
	t_ok(memcmp(c.in.data, "HELLO\r\nOK Z\r\n", 13) == 0);
	plain = zunpeer(&c, &len);
	t_ok(plain != NULL);
	if (plain != NULL) {
		/* A second Z: refused by the core, the session goes on. */
		t_ok(strncmp(plain, "OK A\r\nWAITED\r\nOK Z\r\nERR Z\r\n", 27) == 0);
		t_int(len, 27 + 300000 + 5);
		t_ok(len > 5 && memcmp(plain + len - 5, "END\r\n", 5) == 0);
		/* 300000 'z' went over the wire as much less. */
		t_ok(c.in.len < 20000);
		free(plain);
	}
	client_close(&c);
	t_ok(freed_total(f + 1));

	/* Byte at a time, with a loop turn between bytes. */
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	t_ok(got(&c, "HELLO\r\n"));
	client_send(&c, "Z\r\n", 3);
	t_ok(got(&c, "OK Z\r\n"));
	n = zpeer("ONE\r\nQUIT\r\n", z, sizeof(z));
	/* The flush's empty block after QUIT may meet a closed socket: no abort. */
	for (i = 0; i < n && !c.eof; i++) {
		(void)!write(c.fd, z + i, 1);
		spin();
	}
	t_ok(wait_for(eof_cond, &c, 3000));
	plain = zunpeer(&c, &len);
	t_ok(plain != NULL && strcmp(plain, "OK ONE\r\nBYE\r\n") == 0);
	free(plain);
	client_close(&c);
	t_ok(freed_total(f + 2));

	/* Not deflate: the session ends. */
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	client_send(&c, "Z\r\n\xff\xff\xff\xff\r\n", 9);
	t_ok(wait_for(eof_cond, &c, 3000));
	client_close(&c);
	t_ok(freed_total(f + 3));
	t_str(last_ended, "compress-error");
}

static void
test_limits(void)
{
	struct session_limits	 lim = limits();
	struct client		 c[6];
	int			 f = nfreed, i;

	lim.max_client = 2;
	lim.max_service = 3;
	client_open(&c[0], &svc_a, "192.0.2.7", &lim);
	client_open(&c[1], &svc_a, "192.0.2.7", &lim);
	client_open(&c[2], &svc_a, "192.0.2.7", &lim);	/* third from one address */
	t_ok(c[0].s != NULL && c[1].s != NULL && c[2].s == NULL);
	t_ok(got(&c[2], "BUSY client\r\n"));
	t_ok(wait_for(eof_cond, &c[2], 3000));
	t_int(session_count_client(&srv, &tproto, "192.0.2.7"), 2);
	client_open(&c[3], &svc_a, "192.0.2.8", &lim);	/* another address: fine */
	t_ok(c[3].s != NULL);
	/* The service is full (3), whoever asks... */
	client_open(&c[4], &svc_a, "192.0.2.9", &lim);
	t_ok(c[4].s == NULL);
	t_ok(got(&c[4], "BUSY service\r\n"));
	/* ...but another service has its own limit. */
	client_open(&c[5], &svc_b, "192.0.2.9", &lim);
	t_ok(c[5].s != NULL);
	t_int(session_count_service(&srv, &svc_a), 3);
	t_int(session_count_service(&srv, &svc_b), 1);
	client_close(&c[2]);
	client_close(&c[4]);
	/* One leaves: room again for its address. */
	client_close(&c[0]);
	t_ok(freed_total(f + 1));
	t_int(session_count_client(&srv, &tproto, "192.0.2.7"), 1);
	client_open(&c[0], &svc_a, "192.0.2.7", &lim);
	t_ok(c[0].s != NULL);
	/* An exempt client (SMTP's mynetworks) is not counted. */
	lim.max_service = 0;
	lim.client_exempt = true;
	client_open(&c[2], &svc_a, "192.0.2.7", &lim);
	t_ok(c[2].s != NULL);
	t_int(session_count_client(&srv, &tproto, "192.0.2.7"), 2);
	for (i = 0; i < 6; i++)
		if (i != 4)
			client_close(&c[i]);
	t_ok(freed_total(f + 6));
	t_int(session_count_client(&srv, &tproto, "192.0.2.7"), 0);
	t_int(session_count_service(&srv, &svc_a), 0);
	t_int(session_count_service(&srv, &svc_b), 0);
}

static void
test_timeouts(void)
{
	struct session_limits	 lim = limits();
	struct client		 c;
	int			 f = nfreed;

	/* Idle. */
	lim.idle_ms = 100;
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	t_ok(wait_for(eof_cond, &c, 3000));
	t_str(c.in.data, "HELLO\r\nTIMEOUT idle\r\n");
	client_close(&c);
	t_ok(freed_total(f + 1));
	t_str(last_ended, "timeout");

	/* The login deadline holds even for a client that keeps talking... */
	lim.idle_ms = 5000;
	lim.login_ms = 200;
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	client_send(&c, "A\r\n", 3);
	t_ok(got(&c, "OK A\r\n"));
	client_send(&c, "B\r\n", 3);
	t_ok(wait_for(eof_cond, &c, 3000));
	t_str(c.in.data, "HELLO\r\nOK A\r\nOK B\r\nTIMEOUT login\r\n");
	client_close(&c);
	t_ok(freed_total(f + 2));
	t_str(last_ended, "login-timeout");

	/* ...and goes away once authenticated; a per-state idle time then rules. */
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	client_send(&c, "AUTH\r\n", 6);
	t_ok(got(&c, "OK AUTH\r\n"));
	session_set_idle(c.s, 400);
	t_ok(wait_for(eof_cond, &c, 3000));
	t_str(c.in.data, "HELLO\r\nOK AUTH\r\nTIMEOUT idle\r\n");
	client_close(&c);
	t_ok(freed_total(f + 3));
	t_str(last_ended, "timeout");

	/* A TLS client that never says hello. */
	lim = limits();
	lim.handshake_ms = 100;
	client_open(&c, &svc_tls, "192.0.2.1", &lim);
	t_ok(c.s != NULL);
	t_ok(wait_for(eof_cond, &c, 3000));
	t_int(c.in.len, 0);
	client_close(&c);
	t_ok(freed_total(f + 4));
	t_str(last_ended, "tls-handshake-timeout");
}

static void
test_starttls(void)
{
	struct session_limits	 lim = limits();
	struct client		 c;
	struct bufferevent	*plain;
	int			 f = nfreed;

	/* Plaintext pipelined after STARTTLS: closed, never executed. */
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	client_send(&c, "STARTTLS\r\nQUIT\r\n", 16);
	t_ok(wait_for(eof_cond, &c, 3000));
	t_str(c.in.data, "HELLO\r\nGO\r\n");
	client_close(&c);
	t_ok(freed_total(f + 1));
	t_str(last_ended, "starttls-injection");

	/* SMTP port 25 lowers the TLS minimum of one connection after STARTTLS. */
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	client_send(&c, "STARTTLS10\r\n", 12);
	t_ok(got(&c, "GO\r\n"));
	t_int(tls_min_rc, 0);
	client_close(&c);
	t_ok(freed_total(f + 2));

	/* A real handshake; the last reply (and close_notify) survive the close. */
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	client_send(&c, "STARTTLS\r\n", 10);
	t_ok(got(&c, "GO\r\n"));
	event_del(c.ev);
	plain = bufferevent_socket_new(base, c.fd, BEV_OPT_CLOSE_ON_FREE);
	c.tls = tls_wrap_client(cctx, base, plain, -1, "test.example");
	t_ok(c.tls != NULL);
	if (c.tls == NULL)
		return;
	bufferevent_enable(c.tls, EV_READ | EV_WRITE);
	client_send(&c, "A\r\nBIGQUIT 300000\r\n", 19);
	buf_reset(&c.in);
	{
		struct evbuffer *in = bufferevent_get_input(c.tls);
		bool		 done = false;
		int		 turns;

		for (turns = 0; turns < 100000 && !done; turns++) {
			event_base_loop(base, EVLOOP_ONCE);
			done = evbuffer_get_length(in) >= 6 + 300000 + 5 && nfreed >= f + 2;
		}
		t_int(evbuffer_get_length(in), 6 + 300000 + 5);
		t_ok(session_count_service(&srv, &svc_a) == 0);
	}
	client_close(&c);
	t_ok(freed_total(f + 3));
}

static void
test_job_and_shutdown(void)
{
	struct session_limits	 lim = limits();
	struct client		 c, d;
	struct server_hook	*h;
	int			 f = nfreed, runs = job_done_runs;

	/* A job whose session goes away first finds no session. */
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	client_send(&c, "JOB\r\n", 5);
	t_ok(got(&c, "OK JOB\r\n"));
	client_close(&c);
	t_ok(freed_total(f + 1));
	sem_post(&job_gate);
	while (job_done_runs == runs && pool_pending(srv.pool) > 0)
		event_base_loop(base, EVLOOP_ONCE);
	t_int(job_done_runs, runs + 1);
	t_int(job_done_orphan, 1);

	/* The stop walk closes every session; new ones are refused. */
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	client_open(&d, &svc_b, "192.0.2.2", &lim);
	t_ok(got(&c, "HELLO\r\n") && got(&d, "HELLO\r\n"));
	srv.stopping = true;
	for (h = srv.on_stop; h != NULL; h = h->next)
		h->fn(h->arg);
	t_ok(wait_for(eof_cond, &c, 3000) && wait_for(eof_cond, &d, 3000));
	t_ok(freed_total(f + 3));
	t_str(last_ended, "shutdown");
	client_close(&c);
	client_close(&d);
	client_open(&c, &svc_a, "192.0.2.1", &lim);
	t_ok(c.s == NULL);
	t_ok(got(&c, "BUSY shutdown\r\n"));
	client_close(&c);
	srv.stopping = false;
}

static struct tls_ctx *
make_tls(char **cafile_r)
{
	char		*cert = xasprintf("%s/cert.pem", tmpdir);
	char		*key = xasprintf("%s/key.pem", tmpdir);
	char		*conf = xasprintf("%s/letterbox.conf", tmpdir);
	char		*err = NULL;
	struct conf	*c;
	struct tls_ctx	*t = NULL;
	FILE		*fp;

	if (tls_cert_create(cert, key, "test.example", &err) < 0 || (fp = fopen(conf, "w")) == NULL)
		goto out;
	fprintf(fp, "smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n", cert, key);
	fclose(fp);
	if ((c = conf_load(conf, &err)) == NULL)
		goto out;
	t = tls_ctx_new(c, &err);
	conf_free(&c);
out:
	if (err != NULL)
		printf("  tls setup: %s\n", err);
	free(err);
	free(key);
	free(conf);
	*cafile_r = cert;
	return t;
}

int
main(void)
{
	char	*ca, *cmd, *err = NULL;

	t_begin("session");
	signal(SIGPIPE, SIG_IGN);	/* as the daemon does */
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	evthread_use_pthreads();
	base = event_base_new();
	srv.base = base;
	srv.pool = pool_new(base, 1);
	sem_init(&job_gate, 0, 0);
	srv.tls = make_tls(&ca);
	cctx = tls_client_ctx_new(ca, &err);
	free(err);
	t_ok(srv.tls != NULL && cctx != NULL);

	test_pipelining();
	test_bad_lines();
	test_open_raw();
	test_last_reply_and_backpressure();
	test_compress();
	test_limits();
	test_timeouts();
	if (srv.tls != NULL && cctx != NULL)
		test_starttls();
	test_job_and_shutdown();

	session_free_all(&srv);
	pool_free(&srv.pool);
	tls_ctx_free(&srv.tls);
	tls_ctx_free(&cctx);
	while (srv.on_stop != NULL) {
		struct server_hook *h = srv.on_stop;

		srv.on_stop = h->next;
		free(h);
	}
	event_base_free(base);
	cmd = xasprintf("rm -rf %s", tmpdir);
	(void)!system(cmd);
	free(cmd);
	free(ca);
	return t_end();
}
