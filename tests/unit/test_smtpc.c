/*
 * Outbound SMTP client (src/mta/client.h) against an SMTP sink and a tiny
 * DNS responder that run in this process on 127.0.0.1, on the same event
 * loop: per-recipient results (250/450/550 in one connection), PIPELINING
 * on and off, STARTTLS with a test certificate, dot-stuffing, DSN
 * parameters, MX/implicit MX/null MX/NXDOMAIN lookups, connection
 * failures, bad replies, a large message (watermarks) and the
 * per-destination concurrency limit.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/xmalloc.h"
#include "mta/client.h"
#include "net/conn.h"
#include "net/dns.h"
#include "net/server.h"
#include "net/tls.h"
#include "t.h"

static struct event_base	*base;
static struct server		 srv;
static struct tls_ctx		*server_tls;
static char			 tmpdir[128];

/* ---- the SMTP sink ---- */

struct sink {
	struct evconnlistener	*l;
	int			 port;
	bool			 pipelining, starttls, dsn;
	int			 greet;		/* 220, or 421 to refuse */
	int			 mail;		/* reply to MAIL: 250 / 452 / 550 */
	bool			 bad_ehlo;	/* an endless multi-line EHLO reply */
	bool			 tls_broken;	/* 220 to STARTTLS, then garbage instead of TLS */
	int			 nconn, active, max_active;
	bool			 saw_batch, saw_tls;
	struct buf		 cmds;		/* every command line, "\n"-separated */
	struct buf		 data;		/* the DATA bytes as on the wire, of all messages */
	int			 nmsg;
};

struct sconn {
	struct sink		*k;
	struct bufferevent	*bev;
	bool			 indata, closing, tls;
	int			 naccepted;
	struct buf		 line;
};

static void sink_read_cb(struct bufferevent *bev, void *arg);

static void
sconn_free(struct sconn *c)
{
	c->k->active--;
	bufferevent_free(c->bev);
	buf_clear(&c->line);
	free(c);
}

static void
sink_write_cb(struct bufferevent *bev, void *arg)
{
	struct sconn *c = arg;

	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		sconn_free(c);
}

static void
sink_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sconn *c = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	sconn_free(c);
}

static void
reply(struct sconn *c, const char *s)
{
	bufferevent_write(c->bev, s, strlen(s));
	bufferevent_write(c->bev, "\r\n", 2);
}

static void
sink_cmd(struct sconn *c, const char *l, size_t len, bool more)
{
	struct sink *k = c->k;

	if (buf_add(&k->cmds, l, len) < 0 || buf_addc(&k->cmds, '\n') < 0)
		printf("FAIL: sink command buffer full\n");
	if (more)
		k->saw_batch = true;
	if (strncasecmp(l, "EHLO", 4) == 0) {
		if (k->bad_ehlo) {
			for (int i = 0; i < 150; i++)
				reply(c, "250-X");
			reply(c, "250 Y");
			return;
		}
		reply(c, "250-sink.test");
		if (k->pipelining)
			reply(c, "250-PIPELINING");
		if (k->starttls && !c->tls)
			reply(c, "250-STARTTLS");
		if (k->dsn)
			reply(c, "250-DSN");
		reply(c, "250-8BITMIME");
		reply(c, "250 SIZE 10000000");
	} else if (strncasecmp(l, "HELO", 4) == 0) {
		reply(c, "250 sink.test");
	} else if (strncasecmp(l, "STARTTLS", 8) == 0) {
		struct bufferevent *t;

		reply(c, "220 2.0.0 go ahead");
		if (k->tls_broken) {
			reply(c, "this is not a TLS server hello, not at all");
			c->closing = true;
			return;
		}
		t = tls_wrap_server(server_tls, base, c->bev, -1);
		c->bev = t;
		c->tls = true;
		k->saw_tls = true;
		bufferevent_setcb(t, sink_read_cb, sink_write_cb, sink_event_cb, c);
		bufferevent_enable(t, EV_READ | EV_WRITE);
	} else if (strncasecmp(l, "MAIL", 4) == 0) {
		c->naccepted = 0;
		reply(c, k->mail == 250 ? "250 2.1.0 Ok" : k->mail == 452 ?
		    "452 4.3.1 Insufficient system storage" : "550 5.7.1 sender rejected");
	} else if (strncasecmp(l, "RCPT", 4) == 0) {
		if (k->mail != 250)
			reply(c, "503 5.5.1 need MAIL");
		else if (memmem(l, len, "<ok", 3) != NULL) {
			c->naccepted++;
			reply(c, "250 2.1.5 Ok");
		} else if (memmem(l, len, "<temp", 5) != NULL)
			reply(c, "450 4.2.0 <temp>: mailbox busy");
		else
			reply(c, "550-5.1.1 <bad>: user unknown\r\n550 5.1.1 second line");
	} else if (strncasecmp(l, "DATA", 4) == 0) {
		if (c->naccepted == 0)
			reply(c, "554 5.5.1 no valid recipients");
		else {
			reply(c, "354 go");
			c->indata = true;
		}
	} else if (strncasecmp(l, "QUIT", 4) == 0) {
		reply(c, "221 2.0.0 bye");
		c->closing = true;
	} else
		reply(c, "250 2.0.0 Ok");
}

static void
sink_read_cb(struct bufferevent *bev, void *arg)
{
	struct sconn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);

	while (!c->closing && bev == c->bev) {
		int r = conn_readline(in, 100000, &c->line);

		if (r <= 0)
			return;
		if (c->indata) {
			if (c->line.len == 1 && c->line.data[0] == '.') {
				c->indata = false;
				c->k->nmsg++;
				reply(c, "250 2.0.0 Ok: queued as SINK1");
				continue;
			}
			if (buf_add(&c->k->data, c->line.data, c->line.len) < 0 ||
			    buf_add(&c->k->data, "\r\n", 2) < 0)
				printf("FAIL: sink data buffer full\n");
			continue;
		}
		sink_cmd(c, c->line.data, c->line.len, evbuffer_get_length(in) > 0);
	}
}

static void
sink_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct sink	*k = arg;
	struct sconn	*c = xcalloc(1, sizeof(*c));

	c->k = k;
	buf_init(&c->line, 200000);
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, sink_read_cb, sink_write_cb, sink_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	k->nconn++;
	if (++k->active > k->max_active)
		k->max_active = k->active;
	reply(c, k->greet == 220 ? "220 sink.test ESMTP" : "421 4.3.2 go away");
	if (k->greet != 220)
		c->closing = true;
}

static void
sink_start(struct sink *k)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	k->l = evconnlistener_new_bind(base, sink_accept_cb, k,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(evconnlistener_get_fd(k->l), (struct sockaddr *)&sin, &sl);
	k->port = ntohs(sin.sin_port);
	buf_init(&k->cmds, 1 << 20);
	buf_init(&k->data, 16 << 20);
}

static void
sink_stop(struct sink *k)
{
	evconnlistener_free(k->l);
	buf_clear(&k->cmds);
	buf_clear(&k->data);
}

/* ---- the DNS responder ---- */

static int dns_port;
static unsigned dns_queries;

static void
dns_cb(evutil_socket_t fd, short what, void *arg)
{
	uint8_t			 q[512], r[600];
	char			 name[DNS_NAME_MAX];
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	ssize_t			 n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&ss, &sl);
	size_t			 off = 12, len;
	uint16_t		 qtype;
	unsigned		 an = 0, rcode = 0;

	if (n < 12 || dns_read_name(q, (size_t)n, &off, name) < 0 || off + 4 > (size_t)n)
		return;
	dns_queries++;
	qtype = (uint16_t)((q[off] << 8) | q[off + 1]);
	memcpy(r, q, off + 4);
	len = off + 4;
	r[2] = 0x81;
	r[3] = 0x80;
	r[10] = r[11] = 0;	/* no additional section */
#define PUT(...) do { const uint8_t b_[] = { __VA_ARGS__ }; memcpy(r + len, b_, sizeof(b_)); len += sizeof(b_); } while (0)
	if (strcmp(name, "mx.test") == 0 && qtype == DNS_T_MX) {
		/* 10 mail.mx.test */
		PUT(0xc0, 12, 0, 15, 0, 1, 0, 0, 1, 0, 0, 9, 0, 10,
		    4, 'm', 'a', 'i', 'l', 0xc0, 12);
		an = 1;
	} else if (strcmp(name, "mail.mx.test") == 0 && qtype == DNS_T_A) {
		PUT(0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 127, 0, 0, 1);
		an = 1;
	} else if (strcmp(name, "implicit.test") == 0 && qtype == DNS_T_A) {
		PUT(0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 127, 0, 0, 1);
		an = 1;
	} else if (strcmp(name, "nullmx.test") == 0 && qtype == DNS_T_MX) {
		PUT(0xc0, 12, 0, 15, 0, 1, 0, 0, 1, 0, 0, 3, 0, 0, 0);
		an = 1;
	} else if (strncmp(name, "nx.", 3) == 0 || strcmp(name, "nx.test") == 0)
		rcode = 3;
#undef PUT
	r[3] |= (uint8_t)rcode;
	r[6] = 0;
	r[7] = (uint8_t)an;
	(void)sendto(fd, r, len, 0, (struct sockaddr *)&ss, sl);
}

static struct event *
dns_start(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	int			 fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct event		*ev;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return NULL;
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	dns_port = ntohs(sin.sin_port);
	ev = event_new(base, fd, EV_READ | EV_PERSIST, dns_cb, NULL);
	event_add(ev, NULL);
	return ev;
}

/* ---- jobs ---- */

static int	 msg_fd;
static off_t	 msg_len;
static int	 pending;

static const char *MSG =
    "From: a@example.test\r\n"
    "Subject: test\r\n"
    "\r\n"
    "line one\r\n"
    ".leading dot\r\n"
    "..two dots\r\n"
    "bare lf\n"
    "no newline at end";

static void
job_done(struct smtpc_job *job, void *arg)
{
	if (--pending == 0)
		event_base_loopexit(base, NULL);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	printf("FAIL: test timed out\n");
	event_base_loopexit(base, NULL);
}

static void
run(void)
{
	struct event *t = evtimer_new(base, timeout_cb, NULL);
	struct timeval tv = { 20, 0 };

	evtimer_add(t, &tv);
	event_base_dispatch(base);
	event_free(t);
}

static struct smtpc_rcpt rc[3];

static void
job_init(struct smtpc_job *job, const char *host, int port, bool mx)
{
	memset(job, 0, sizeof(*job));
	memset(rc, 0, sizeof(rc));
	rc[0].addr = "ok@remote.test";
	rc[0].notify = SPOOL_NOTIFY_SUCCESS | SPOOL_NOTIFY_FAILURE;
	rc[0].orcpt = "rfc822;ok+40remote.test";
	rc[1].addr = "temp@remote.test";
	rc[2].addr = "bad@remote.test";
	rc[2].notify = SPOOL_NOTIFY_NEVER;
	job->qid = "TESTQID";
	snprintf(job->hop.host, sizeof(job->hop.host), "%s", host);
	job->hop.port = (uint16_t)port;
	job->hop.mx = mx;
	job->sender = "sender@example.test";
	job->envid = "ENV1";
	job->ret = SPOOL_RET_HDRS;
	job->fd = msg_fd;
	job->offset = 0;
	job->len = msg_len;
	job->rcpts = rc;
	job->nrcpt = 3;
}

static void
check_three(struct smtpc_job *job)
{
	t_int(rc[0].status, SMTPC_DELIVERED);
	t_int(rc[0].code, 250);
	t_str(rc[0].dsn, "2.0.0");
	t_int(rc[1].status, SMTPC_DEFERRED);
	t_int(rc[1].code, 450);
	t_str(rc[1].dsn, "4.2.0");
	t_ok(strstr(rc[1].text, "mailbox busy (in reply to RCPT TO command)") != NULL);
	t_int(rc[2].status, SMTPC_BOUNCED);
	t_int(rc[2].code, 550);
	t_str(rc[2].dsn, "5.1.1");
	t_ok(strstr(rc[2].diag, "550 5.1.1 <bad>: user unknown 5.1.1 second line") != NULL);
	t_ok(strncmp(rc[2].text, "host ", 5) == 0);
	{
		char reason[SPOOL_REASON_MAX];

		smtpc_reason(&rc[2], reason, sizeof(reason));
		t_ok(strncmp(reason, "5.1.1 host 127.0.0.1[127.0.0.1] said: 550 5.1.1", 47) == 0);
	}
}

static void
test_basic(bool pipelining)
{
	struct sink		 k = { .pipelining = pipelining, .dsn = true, .greet = 220, .mail = 250 };
	struct smtpc_job	 job;
	char			 want[64];

	sink_start(&k);
	job_init(&job, "127.0.0.1", k.port, false);
	pending = 1;
	smtpc_send(&srv, &job, job_done, NULL);
	t_int(rc[0].status, SMTPC_PENDING);	/* done() never from inside smtpc_send */
	run();
	check_three(&job);
	t_int(k.nconn, 1);
	t_int(k.nmsg, 1);
	t_int(k.saw_batch, pipelining);
	snprintf(want, sizeof(want), "127.0.0.1[127.0.0.1]:%d", k.port);
	t_str(job.relay, want);
	t_str(job.tls, "no");
	t_ok(job.peer_dsn);
	/* the wire: dot-stuffed, CRLF everywhere, final CRLF added */
	t_str(k.data.data, "From: a@example.test\r\nSubject: test\r\n\r\nline one\r\n"
	    "..leading dot\r\n...two dots\r\nbare lf\r\nno newline at end\r\n");
	/* DSN parameters, as the peer offered DSN */
	t_ok(strstr(k.cmds.data, "MAIL FROM:<sender@example.test> SIZE=") != NULL);
	t_ok(strstr(k.cmds.data, " RET=HDRS ENVID=ENV1\n") != NULL);
	t_ok(strstr(k.cmds.data, "RCPT TO:<ok@remote.test> NOTIFY=SUCCESS,FAILURE"
	    " ORCPT=rfc822;ok+40remote.test\n") != NULL);
	t_ok(strstr(k.cmds.data, "RCPT TO:<bad@remote.test> NOTIFY=NEVER\n") != NULL);
	t_ok(strstr(k.cmds.data, "QUIT\n") != NULL);
	smtpc_log(&job, 0);
	sink_stop(&k);
}

static void
test_starttls(void)
{
	struct sink		 k = { .pipelining = true, .starttls = true, .greet = 220, .mail = 250 };
	struct smtpc_job	 job;

	sink_start(&k);
	job_init(&job, "127.0.0.1", k.port, false);
	pending = 1;
	smtpc_send(&srv, &job, job_done, NULL);
	run();
	check_three(&job);
	t_ok(k.saw_tls);
	t_ok(strncmp(job.tls, "TLS", 3) == 0);
	t_ok(!job.peer_dsn);
	/* no DSN offered: no DSN parameters */
	t_ok(strstr(k.cmds.data, "NOTIFY=") == NULL);
	t_ok(strstr(k.cmds.data, "RET=") == NULL);
	/* EHLO again after TLS */
	t_ok(strstr(k.cmds.data, "STARTTLS\nEHLO ") != NULL);
	smtpc_log(&job, 0);
	sink_stop(&k);
}

/* The TLS handshake fails: the same host again, in plaintext, once. */
static void
test_tls_fallback(void)
{
	struct sink		 k = { .pipelining = true, .starttls = true, .tls_broken = true,
				       .greet = 220, .mail = 250 };
	struct smtpc_job	 job;

	sink_start(&k);
	job_init(&job, "127.0.0.1", k.port, false);
	pending = 1;
	smtpc_send(&srv, &job, job_done, NULL);
	run();
	check_three(&job);
	t_int(k.nconn, 2);
	t_int(k.nmsg, 1);
	t_str(job.tls, "no");
	sink_stop(&k);
}

static void
test_mx(const char *domain, enum smtpc_status want, const char *dsn)
{
	struct sink		 k = { .pipelining = true, .greet = 220, .mail = 250 };
	struct smtpc_job	 job;

	sink_start(&k);
	job_init(&job, domain, k.port, true);
	rc[1].addr = "ok2@remote.test";
	rc[2].addr = "ok3@remote.test";
	pending = 1;
	smtpc_send(&srv, &job, job_done, NULL);
	run();
	for (int i = 0; i < 3; i++) {
		if (!t_int(rc[i].status, want))
			printf("  %s: %s\n", domain, rc[i].text);
		if (dsn != NULL)
			t_str(rc[i].dsn, dsn);
	}
	if (want == SMTPC_DELIVERED) {
		char r[128];

		snprintf(r, sizeof(r), "%s[127.0.0.1]:%d",
		    strcmp(domain, "mx.test") == 0 ? "mail.mx.test" : domain, k.port);
		t_str(job.relay, r);
		t_int(k.nconn, 1);
	} else
		t_int(k.nconn, 0);
	smtpc_log(&job, 0);
	sink_stop(&k);
}

static void
test_failures(void)
{
	struct sink		 k = { .pipelining = true, .greet = 220, .mail = 550 };
	struct smtpc_job	 job;
	int			 fd, port;
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);

	/* MAIL 550: every recipient bounces */
	sink_start(&k);
	job_init(&job, "127.0.0.1", k.port, false);
	pending = 1;
	smtpc_send(&srv, &job, job_done, NULL);
	run();
	for (int i = 0; i < 3; i++) {
		t_int(rc[i].status, SMTPC_BOUNCED);
		t_str(rc[i].dsn, "5.7.1");
	}
	t_ok(strstr(rc[0].text, "(in reply to MAIL FROM command)") != NULL);
	t_int(k.nmsg, 0);
	sink_stop(&k);

	/* MAIL 452 (only one address): deferred */
	memset(&k, 0, sizeof(k));
	k.greet = 220;
	k.mail = 452;
	sink_start(&k);
	job_init(&job, "127.0.0.1", k.port, false);
	pending = 1;
	smtpc_send(&srv, &job, job_done, NULL);
	run();
	for (int i = 0; i < 3; i++)
		t_int(rc[i].status, SMTPC_DEFERRED);
	sink_stop(&k);

	/* 421 greeting: deferred */
	memset(&k, 0, sizeof(k));
	k.greet = 421;
	k.mail = 250;
	sink_start(&k);
	job_init(&job, "127.0.0.1", k.port, false);
	pending = 1;
	smtpc_send(&srv, &job, job_done, NULL);
	run();
	for (int i = 0; i < 3; i++)
		t_int(rc[i].status, SMTPC_DEFERRED);
	t_ok(strstr(rc[0].text, "refused to talk to me: 421 4.3.2 go away") != NULL);
	sink_stop(&k);
	smtpc_flush_backoff(srv.smtpc);

	/* too many reply lines: deferred, connection dropped */
	memset(&k, 0, sizeof(k));
	k.greet = 220;
	k.mail = 250;
	k.bad_ehlo = true;
	sink_start(&k);
	job_init(&job, "127.0.0.1", k.port, false);
	pending = 1;
	smtpc_send(&srv, &job, job_done, NULL);
	run();
	for (int i = 0; i < 3; i++)
		t_int(rc[i].status, SMTPC_DEFERRED);
	t_ok(strstr(rc[0].text, "too many lines") != NULL);
	sink_stop(&k);
	smtpc_flush_backoff(srv.smtpc);

	/* connection refused: a port nobody listens on */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	port = ntohs(sin.sin_port);
	close(fd);
	job_init(&job, "127.0.0.1", port, false);
	pending = 1;
	smtpc_send(&srv, &job, job_done, NULL);
	run();
	for (int i = 0; i < 3; i++)
		t_int(rc[i].status, SMTPC_DEFERRED);
	t_ok(strstr(rc[0].text, "Connection refused") != NULL);
	smtpc_log(&job, 0);
	/* the destination is now dead: the next job defers at once */
	job_init(&job, "127.0.0.1", port, false);
	pending = 1;
	smtpc_send(&srv, &job, job_done, NULL);
	run();
	t_int(rc[0].status, SMTPC_DEFERRED);
	t_ok(strstr(rc[0].text, "delivery temporarily suspended") != NULL);
	smtpc_flush_backoff(srv.smtpc);
}

static void
test_big_and_concurrency(void)
{
	struct sink		 k = { .pipelining = true, .greet = 220, .mail = 250 };
	struct smtpc_job	 jobs[4];
	struct smtpc_rcpt	 r[4];
	char			 path[256], line[100];
	int			 fd;
	off_t			 len = 0;
	const struct conf	*c;
	struct server_hook	*h;

	/* a 4 MB message of 100-byte lines, some starting with "." */
	snprintf(path, sizeof(path), "%s/big", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (int i = 0; i < 40000; i++) {
		memset(line, i % 7 == 0 ? '.' : 'x', 98);
		line[98] = '\r';
		line[99] = '\n';
		(void)!write(fd, line, 100);
		len += 100;
	}
	sink_start(&k);
	/* concurrency 1 for this destination: reload with a new conf */
	{
		char cpath[256], *err = NULL;
		FILE *f;
		struct conf *nc;

		snprintf(cpath, sizeof(cpath), "%s/c2.conf", tmpdir);
		f = fopen(cpath, "w");
		fprintf(f, "myhostname = client.test\ndns_resolver = 127.0.0.1:%d\n"
		    "default_destination_concurrency_limit = 1\n", dns_port);
		fclose(f);
		nc = conf_load(cpath, &err);
		t_ok(nc != NULL);
		conf_set_current(nc);
		for (h = srv.on_reload; h != NULL; h = h->next)
			h->fn(h->arg);
	}
	c = conf_current();
	t_int(conf_int(c, CK_DEFAULT_DESTINATION_CONCURRENCY_LIMIT), 1);
	pending = 4;
	for (int i = 0; i < 4; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		memset(&r[i], 0, sizeof(r[i]));
		r[i].addr = "ok@remote.test";
		jobs[i].qid = "BIG";
		snprintf(jobs[i].hop.host, sizeof(jobs[i].hop.host), "127.0.0.1");
		jobs[i].hop.port = (uint16_t)k.port;
		jobs[i].sender = "";
		jobs[i].fd = fd;
		jobs[i].len = len;
		jobs[i].rcpts = &r[i];
		jobs[i].nrcpt = 1;
		smtpc_send(&srv, &jobs[i], job_done, NULL);
	}
	run();
	for (int i = 0; i < 4; i++)
		t_int(r[i].status, SMTPC_DELIVERED);
	t_int(k.nmsg, 4);
	t_int(k.nconn, 4);
	t_int(k.max_active, 1);
	/* every line arrived, dot-stuffed where it started with "." */
	t_int(k.data.len, 4 * (len + 40000 / 7 + 1));
	t_ok(strstr(k.cmds.data, "MAIL FROM:<> SIZE=4000000") != NULL);
	close(fd);
	sink_stop(&k);
}

static void
test_route(void)
{
	static const struct {
		const char *domain, *transport, *relayhost;
		int rc;
		enum route_kind kind;
		const char *host;
		unsigned port;
		bool mx;
		const char *key;
	} cases[] = {
		{ "remote.test", NULL, NULL, 0, ROUTE_SMTP, "remote.test", 25, true, "remote.test" },
		{ "remote.test", "", "", 0, ROUTE_SMTP, "remote.test", 25, true, "remote.test" },
		{ "remote.test", "smtp:[127.0.0.1]:2525", NULL, 0, ROUTE_SMTP, "127.0.0.1", 2525,
		  false, "[127.0.0.1]:2525" },
		{ "remote.test", "smtp:[mx.Other.test]", NULL, 0, ROUTE_SMTP, "mx.other.test", 25,
		  false, "[mx.other.test]:25" },
		{ "remote.test", "smtp:other.test:587", NULL, 0, ROUTE_SMTP, "other.test", 587, true,
		  "other.test:587" },
		{ "remote.test", "relay:other.test", NULL, 0, ROUTE_SMTP, "other.test", 25, true,
		  "other.test" },
		{ "remote.test", "smtp:", "[10.0.0.1]:26", 0, ROUTE_SMTP, "10.0.0.1", 26, false,
		  "[10.0.0.1]:26" },
		{ "remote.test", NULL, "relay.test", 0, ROUTE_SMTP, "relay.test", 25, true,
		  "relay.test" },
		{ "remote.test", NULL, "[relay.test]:2525", 0, ROUTE_SMTP, "relay.test", 2525, false,
		  "[relay.test]:2525" },
		{ "remote.test", "smtp:[::1]:25", NULL, 0, ROUTE_SMTP, "::1", 25, false, "[::1]:25" },
		{ "remote.test", "virtual:", NULL, 0, ROUTE_LOCAL, NULL, 0, false, NULL },
		{ "remote.test", "error:5.7.1 go away", NULL, 0, ROUTE_ERROR, NULL, 0, false, NULL },
		{ "remote.test", "error:", NULL, 0, ROUTE_ERROR, NULL, 0, false, NULL },
		{ "remote.test", "discard:", NULL, 0, ROUTE_DISCARD, NULL, 0, false, NULL },
		{ "remote.test", "bogus:x", NULL, -1, ROUTE_TEMPFAIL, NULL, 0, false, NULL },
		{ "remote.test", "smtp:[1.2.3.4]:0", NULL, -1, ROUTE_TEMPFAIL, NULL, 0, false, NULL },
		{ "remote.test", NULL, "[bad", -1, ROUTE_TEMPFAIL, NULL, 0, false, NULL },
	};
	struct route r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = route_decide(cases[i].domain, cases[i].transport, cases[i].relayhost, &r);

		if (!t_int(got, cases[i].rc) || !t_int(r.kind, cases[i].kind)) {
			printf("  case %zu: %s\n", i, r.text);
			continue;
		}
		if (cases[i].host != NULL) {
			t_str(r.hop.host, cases[i].host);
			t_int(r.hop.port, cases[i].port);
			t_int(r.hop.mx, cases[i].mx);
			t_str(r.key, cases[i].key);
		}
	}
	route_decide("remote.test", "error:5.7.1 go away", NULL, &r);
	t_str(r.text, "5.7.1 go away");
	route_decide("remote.test", "error:", NULL, &r);
	t_str(r.text, "5.0.0 mail for remote.test is not deliverable");
}

int
main(void)
{
	char		 cpath[256], cert[256], key[256], *err = NULL;
	FILE		*f;
	struct conf	*c;
	struct event	*dns;
	int		 fd;

	t_begin("smtpc");
	log_init("test_smtpc", LOG_TO_STDERR, getenv("SMTPC_DEBUG") != NULL);
	evthread_use_pthreads();
	base = event_base_new();
	srv.base = base;
	srv.pool = pool_new(base, 1);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lbsmtpc.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	if (tls_cert_create(cert, key, "sink.test", &err) < 0) {
		printf("cert: %s\n", err);
		return 1;
	}
	dns = dns_start();
	t_ok(dns != NULL);
	snprintf(cpath, sizeof(cpath), "%s/letterbox.conf", tmpdir);
	f = fopen(cpath, "w");
	fprintf(f, "myhostname = client.test\ndns_resolver = 127.0.0.1:%d\n"
	    "smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"
	    "smtp_timeout = 5s\nsmtp_connect_timeout = 5s\n", dns_port, cert, key);
	fclose(f);
	if ((c = conf_load(cpath, &err)) == NULL) {
		printf("conf: %s\n", err);
		return 1;
	}
	if ((server_tls = tls_ctx_new(c, &err)) == NULL) {
		printf("tls: %s\n", err);
		return 1;
	}
	conf_set_current(c);
	srv.smtpc = smtpc_init(&srv, c);
	t_ok(smtpc_start(srv.smtpc, &err) == 0);

	snprintf(cpath, sizeof(cpath), "%s/msg", tmpdir);
	fd = open(cpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	(void)!write(fd, MSG, strlen(MSG));
	msg_fd = fd;
	msg_len = (off_t)strlen(MSG);

	test_route();
	test_basic(true);
	test_basic(false);
	test_starttls();
	test_tls_fallback();
	test_mx("mx.test", SMTPC_DELIVERED, "2.0.0");
	test_mx("implicit.test", SMTPC_DELIVERED, "2.0.0");
	test_mx("nullmx.test", SMTPC_BOUNCED, "5.1.10");
	test_mx("nx.test", SMTPC_BOUNCED, "5.4.4");
	t_ok(dns_queries >= 5);
	test_failures();
	test_big_and_concurrency();

	smtpc_free(&srv.smtpc);
	t_ok(srv.smtpc == NULL);
	close(fd);
	event_free(dns);
	tls_ctx_free(&server_tls);
	pool_free(&srv.pool);
	event_base_free(base);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		(void)!system(cmd);
	}
	return t_end();
}
