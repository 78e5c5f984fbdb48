/*
 * The running daemon's shared context: the event loop, the worker pool and
 * the hooks services register to hear about reload and stop.  There is one
 * per process (serve creates it); protocol sessions keep a pointer to it.
 */
#ifndef LB_NET_SERVER_H
#define LB_NET_SERVER_H

#include <stdbool.h>

struct event_base;
struct pool;
struct conf;
struct tls_ctx;
struct session_reg;

struct server_hook {
	struct server_hook	*next;
	void			(*fn)(void *arg);
	void			*arg;
};

struct server {
	struct event_base	*base;
	struct pool		*pool;
	struct tls_ctx		*tls;		/* NULL until the TLS layer is set up */
	struct server_hook	*on_reload;	/* after a new conf is current */
	struct server_hook	*on_stop;	/* stop accepting, finish or abandon work */
	struct session_reg	*sessions;	/* every protocol session (net/session.h) */
	bool			 stopping;
	unsigned		 busy;		/* in-flight work that delays the exit */
};

/* Register fn to run on SIGHUP reload / on stop (LIFO order). */
void	server_hook_reload(struct server *s, void (*fn)(void *), void *arg);
void	server_hook_stop(struct server *s, void (*fn)(void *), void *arg);
/* Work that must finish before exit: busy++ / busy-- (the loop exits at 0 once stopping). */
void	server_busy(struct server *s);
void	server_idle(struct server *s);

#endif
