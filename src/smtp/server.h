/*
 * The SMTP server (RFC 5321) for the smtp (25), submission (587, STARTTLS
 * then AUTH) and submissions (465, implicit TLS) listeners: a state machine
 * per connection over a bufferevent (STYLE.md §6).  Recipient checks,
 * password checks and the spool commit run on the worker pool; the 250
 * after DATA is sent only once the message is durable in the spool.
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
int	smtpd_init(struct server *srv, char **err_r);
/* Accept callback for the three services; svc->arg is a struct smtpd_listener. */
void	smtpd_accept(const struct service *svc, evutil_socket_t fd, const struct sockaddr *sa,
	    socklen_t salen, void *arg);
/* Stop: close idle sessions; sessions in DATA finish their message. */
void	smtpd_shutdown(void);
void	smtpd_free(void);

struct smtpd_listener {
	struct server	*srv;
	enum smtpd_mode	 mode;
};

#endif
