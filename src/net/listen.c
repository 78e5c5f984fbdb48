/* Listener plumbing over libevent's evconnlistener; see listen.h. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "lib/cidr.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/listen.h"

/*
 * Unsent bytes the kernel may queue on a session's socket.  Without a
 * bound a socket takes up to tcp_wmem's maximum (4 MiB here) of a FETCH
 * or RETR the peer has no window for, and those bytes are sent from the
 * peer's context when its window opens: on loopback the reading client
 * ran our transmit path (perf: tcp_write_xmit and the softirq in the
 * client, its CPU +15% on FETCH 1:* BODY.PEEK[]).  Past the bound the
 * data waits in the session's own bounded output and goes out from our
 * write(), and the kernel holds 128 KiB a socket at most, not megabytes.
 */
#define LISTEN_NOTSENT_LOWAT	(128 * 1024)

struct listen_one {
	struct evconnlistener	*l;
	const struct service	*svc;
};

struct listen_set {
	struct listen_one	*v;
	unsigned		 n;
};

static void
listen_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct listen_one *one = arg;

	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	/* Replies are small and often end a burst (a reply, the last piece
	 * of a streamed FETCH or RETR): do not let Nagle hold the last
	 * segment for the peer's delayed ACK (40 ms per reply).  Every
	 * session protocol wants both options, so they are set here once. */
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT,
		    &(int){ LISTEN_NOTSENT_LOWAT }, sizeof(int));
	}
	one->svc->accept(one->svc, fd, sa, (socklen_t)salen, one->svc->arg);
}

static void
listen_error_cb(struct evconnlistener *l, void *arg)
{
	struct listen_one *one = arg;

	/* EMFILE and friends: log and keep listening; libevent retries. */
	log_warn("listen service=%s: accept failed", one->svc->name);
}

struct bind_ctx {
	struct event_base	*base;
	struct listen_set	*ls;
	const struct service	*svc;
	char			*err;
};

static int
bind_one(const char *item, size_t len, void *arg)
{
	struct bind_ctx		*b = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	char			 text[128];
	struct evconnlistener	*l;
	struct listen_one	*one;

	if (len >= sizeof(text) || (memcpy(text, item, len), text[len] = '\0',
	    sockaddr_parse(text, &ss, &sl) < 0)) {
		b->err = xasprintf("%s: bad address \"%.*s\"", conf_keys(NULL)[b->svc->listen_key].name, (int)len,
		    item);
		return -1;
	}
	b->ls->v = xreallocarray(b->ls->v, b->ls->n + 1, sizeof(*b->ls->v));
	one = &b->ls->v[b->ls->n];
	one->svc = b->svc;
	/* No LEV_OPT_DEFERRED_ACCEPT: in SMTP, IMAP and POP3 the server speaks
	 * first, so the kernel would hold every connection until its timeout. */
	l = evconnlistener_new_bind(b->base, listen_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    511, (struct sockaddr *)&ss, (int)sl);
	if (l == NULL) {
		b->err = xasprintf("%s: cannot listen on %s: %s", conf_keys(NULL)[b->svc->listen_key].name, text,
		    strerror(errno));
		return -1;
	}
	one->l = l;
	b->ls->n++;
	log_info("listen service=%s addr=%s", b->svc->name, text);
	return 0;
}

struct listen_set *
listen_open(struct event_base *base, const struct conf *c, const struct service *svcs,
    unsigned nsvcs, char **err_r)
{
	struct listen_set	*ls = xcalloc(1, sizeof(*ls));
	struct bind_ctx		 b = { base, ls, NULL, NULL };
	unsigned		 i;

	for (i = 0; i < nsvcs; i++) {
		b.svc = &svcs[i];
		if (str_each_item(conf_str(c, svcs[i].listen_key), bind_one, &b) != 0) {
			*err_r = b.err;
			listen_close(&ls);
			return NULL;
		}
	}
	/* evconnlistener keeps a pointer to its arg: set them once v is final. */
	for (i = 0; i < ls->n; i++) {
		evconnlistener_set_cb(ls->v[i].l, listen_accept_cb, &ls->v[i]);
		evconnlistener_set_error_cb(ls->v[i].l, listen_error_cb);
	}
	return ls;
}

void
listen_close(struct listen_set **lsp)
{
	struct listen_set	*ls = *lsp;
	unsigned		 i;

	if (ls == NULL)
		return;
	for (i = 0; i < ls->n; i++)
		evconnlistener_free(ls->v[i].l);
	free(ls->v);
	xfree(lsp);
}

void
listen_pause(struct listen_set *ls, bool paused)
{
	unsigned i;

	for (i = 0; i < ls->n; i++) {
		if (paused)
			evconnlistener_disable(ls->v[i].l);
		else
			evconnlistener_enable(ls->v[i].l);
	}
}

unsigned
listen_count(const struct listen_set *ls)
{
	return ls->n;
}

unsigned
service_max_sessions(const struct service *svc, const struct conf *c)
{
	return svc->max_key == CK__COUNT ? 0 : (unsigned)conf_int(c, svc->max_key);
}
