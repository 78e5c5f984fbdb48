/*
 * The IMAP server (RFC 3501 IMAP4rev1, RFC 9051 IMAP4rev2) for the imap
 * (143, STARTTLS) and imaps (993, implicit TLS) listeners, on the session
 * core (net/session.h) and the shared login step (auth/login_step.h).
 * client.c holds the session, cmd.c the command table and dispatch, one
 * cmd_*.c file per command group (Dovecot's src/imap as the model).
 */
#ifndef LB_IMAP_IMAPD_H
#define LB_IMAP_IMAPD_H

#include <sys/socket.h>

#include <event2/util.h>

struct service;

/* Accept callback of both services; arg is the struct server. */
void	imapd_accept(const struct service *svc, evutil_socket_t fd, const struct sockaddr *sa,
	    socklen_t salen, void *arg);

#endif
