/*
 * The SMTP server (RFC 5321) for the smtp (25), submission (587, STARTTLS
 * then AUTH) and submissions (465, implicit TLS) listeners, on the session
 * core (net/session.h): this module has only the protocol.  Recipient
 * checks, password checks and the spool commit run on the worker pool;
 * the 250 after DATA is sent only once the message is durable in the spool.
 */
#ifndef LB_SMTP_SERVER_H
#define LB_SMTP_SERVER_H

#include <sys/socket.h>

#include <event2/util.h>

struct conf;
struct server;
struct service;

enum smtpd_mode { SMTPD_MX, SMTPD_SUBMISSION, SMTPD_SUBMISSIONS };

/* Once, before listeners open (as root: nothing here needs it). */
/* Init: the module object, also set as srv->smtpd; NULL + *err_r on failure. */
struct smtpd *smtpd_init(struct server *srv, char **err_r);
/*
 * Accept callback for the three services; arg is a struct smtpd_listener.
 * Each service has its own session limit (svc->max_key) and its own
 * per-client count (smtpd_client_connection_count_limit, mynetworks exempt).
 */
void	smtpd_accept(const struct service *svc, evutil_socket_t fd, const struct sockaddr *sa,
	    socklen_t salen, void *arg);
/*
 * Server stop.  The session core's shutdown walk already answers 421 to
 * idle sessions and lets one in DATA or a commit finish; nothing else here.
 */
void	smtpd_stop(struct smtpd *d);
/* After the loop: the module's state (the sessions are the core's). */
void	smtpd_free(struct smtpd **dp);

struct smtpd_listener {
	struct server	*srv;
	enum smtpd_mode	 mode;
};

#endif
