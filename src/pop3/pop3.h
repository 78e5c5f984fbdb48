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

struct service;

/*
 * Accept callback of both services; arg is the struct server.  Sessions
 * live in the session core's registry (net/session.h): the shutdown walk
 * and session_free_all() reach them there.
 */
void	pop3d_accept(const struct service *svc, evutil_socket_t fd, const struct sockaddr *sa,
	    socklen_t salen, void *arg);

#endif
