/*
 * net/listen.c over real loopback sockets: what an accepted socket is set
 * to before the service gets it, and a bind that fails.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "net/listen.h"
#include "t.h"

static char		 tmpdir[] = "/tmp/test_listen.XXXXXX";
static struct event_base *base;

struct got {
	int	 fd;
	int	 nodelay, lowat, nonblock;
};

static void
on_accept(const struct service *svc, evutil_socket_t fd, const struct sockaddr *sa,
    socklen_t salen, void *arg)
{
	struct got	*g = arg;
	socklen_t	 l = sizeof(int);

	g->fd = fd;
	(void)getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &g->nodelay, &l);
	l = sizeof(int);
	(void)getsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &g->lowat, &l);
	g->nonblock = (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
	event_base_loopbreak(base);
}

/* A port free now on 127.0.0.1 (the kernel's pick for a socket bound to 0). */
static int
free_port(void)
{
	struct sockaddr_in	 a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t		 l = sizeof(a);
	int			 s = socket(AF_INET, SOCK_STREAM, 0), port;

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &l) != 0)
		fatal("free_port");
	port = ntohs(a.sin_port);
	close(s);
	return port;
}

static struct conf *
conf_with(const char *line)
{
	char		*path = xasprintf("%s/l.conf", tmpdir), *err = NULL;
	struct conf	*c;
	FILE		*f;

	if ((f = fopen(path, "w")) == NULL)
		fatal("%s", path);
	fprintf(f, "%s\n", line);
	fclose(f);
	if ((c = conf_load(path, &err)) == NULL)
		fatalx("%s", err);
	free(path);
	return c;
}

static int
dial(int port)
{
	struct sockaddr_in	 a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int			 s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
		fatal("connect");
	return s;
}

/* Run the loop until the accept callback breaks it, or 5 s pass. */
static void
run_loop(void)
{
	struct timeval	 tv = { 5, 0 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void
test_accepted_socket(void)
{
	int			 port = free_port(), s;
	char			*line = xasprintf("imap_listen = 127.0.0.1:%d", port), *err = NULL;
	struct conf		*c = conf_with(line);
	struct got		 g = { .fd = -1 };
	struct service		 svc = { .name = "imap", .listen_key = CK_IMAP_LISTEN,
				    .max_key = CK__COUNT, .accept = on_accept, .arg = &g };
	struct listen_set	*ls = listen_open(base, c, &svc, 1, &err);

	t_ok(ls != NULL);
	if (ls == NULL)
		goto out;
	t_int(listen_count(ls), 1);
	s = dial(port);
	run_loop();
	t_ok(g.fd >= 0);
	t_int(g.nodelay, 1);
	/* the kernel queues at most this much unsent data: the rest waits in the session */
	t_int(g.lowat, 128 * 1024);
	t_ok(g.nonblock);
	if (g.fd >= 0)
		close(g.fd);
	close(s);

	listen_close(&ls);
	t_ok(ls == NULL);
out:
	conf_free(&c);
	free(line);
}

/* An address already taken: listen_open says which, and binds nothing. */
static void
test_bind_fails(void)
{
	int			 port = free_port();
	char			*line = xasprintf("imap_listen = 127.0.0.1:%d, 127.0.0.1:%d", port, port);
	char			*err = NULL;
	struct conf		*c = conf_with(line);
	struct got		 g = { .fd = -1 };
	struct service		 svc = { .name = "imap", .listen_key = CK_IMAP_LISTEN,
				    .max_key = CK__COUNT, .accept = on_accept, .arg = &g };
	struct listen_set	*ls = listen_open(base, c, &svc, 1, &err);

	t_ok(ls == NULL);
	t_ok(err != NULL);
	free(err);
	conf_free(&c);
	free(line);
}

int
main(void)
{
	t_begin("listen");
	log_init("test_listen", LOG_TO_STDERR, 0);
	if (mkdtemp(tmpdir) == NULL)
		fatal("mkdtemp");
	base = event_base_new();
	test_accepted_socket();
	test_bind_fails();
	event_base_free(base);
	{
		char *cmd = xasprintf("rm -rf %s", tmpdir);

		if (system(cmd) != 0)
			t_ok(0);
		free(cmd);
	}
	return t_end();
}
