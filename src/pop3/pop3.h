/*
 * The POP3 server (RFC 1939, RFC 2449 CAPA and response codes, RFC 2595
 * STLS, RFC 5034 SASL, RFC 3206 SYS/TEMP and AUTH codes) for the pop3 (110, STLS)
 * and pop3s (995, implicit TLS) listeners.  Logins go through the shared
 * SASL/login/throttle layer (src/auth), mailboxes through the store
 * (src/store), opened without moving new/ to cur/ (as Courier does).
 */
#ifndef LB_POP3_POP3_H
#define LB_POP3_POP3_H

#include <sys/socket.h>

#include <event2/util.h>

struct server;
struct service;

/* Once, before the listeners open: registers the stop hook. 0 or -1 with *err_r. */
int	pop3d_init(struct server *srv, char **err_r);
/* Accept callback of both services; svc->arg is the struct server. */
void	pop3d_accept(const struct service *svc, evutil_socket_t fd, const struct sockaddr *sa,
	    socklen_t salen, void *arg);
/* Free every session (after the loop ended). */
void	pop3d_free(void);

#endif
