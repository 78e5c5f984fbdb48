/*
 * Listening sockets for the services.  A service names its config key
 * ("smtp_listen") and an accept callback; listen_open() binds every address
 * the key lists (before privileges are dropped) and hands each accepted
 * socket, already non-blocking, to the callback on the loop thread.
 */
#ifndef LB_NET_LISTEN_H
#define LB_NET_LISTEN_H

#include <stdbool.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "lib/conf.h"

struct event_base;
struct conf;
struct listen_set;

struct service {
	const char	*name;		/* "smtp", "submission", ... (logs) */
	enum conf_id	 listen_key;	/* config key with the addresses */
	bool		 implicit_tls;	/* TLS from the first byte (465, 993, 995) */
	/* Config key: this service's own session limit (as a master.cf process
	 * limit; a flood on one port leaves the others reachable), or CK__COUNT. */
	enum conf_id	 max_key;
	/* Called with a new connection; the callee owns fd. */
	void		(*accept)(const struct service *svc, evutil_socket_t fd,
			    const struct sockaddr *sa, socklen_t salen, void *arg);
	void		*arg;
};

/* This service's session limit from the config; 0 when it has none. */
unsigned	 service_max_sessions(const struct service *svc, const struct conf *c);

/* Bind every service's addresses; NULL with *err_r allocated on failure. */
struct listen_set *listen_open(struct event_base *base, const struct conf *c,
		    const struct service *svcs, unsigned nsvcs, char **err_r);
void		 listen_close(struct listen_set **ls);
/* Stop/resume accepting (e.g. at the connection limit). */
void		 listen_pause(struct listen_set *ls, bool paused);
unsigned	 listen_count(const struct listen_set *ls);

#endif
