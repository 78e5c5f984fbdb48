/*
 * The services serve runs: each protocol module plugs in here.  Kept apart
 * from serve.c so adding a protocol touches one small file.
 */
#ifndef LB_CLI_SERVICES_H
#define LB_CLI_SERVICES_H

#include "net/listen.h"
#include "smtp/server.h"

struct conf;
struct server;

#define SERVICES_MAX	16

/* The listening services and what their accept callbacks get (serve owns it). */
struct services {
	struct service		 svc[SERVICES_MAX];
	unsigned		 n;
	struct smtpd_listener	 smtp_l[3];	/* the listener argument of each SMTP service */
};

/*
 * init, before privileges are dropped: read keys/certificates, fill sv with
 * the listening services, init every module of srv (net/server.h).
 * 0, or -1 with *err_r allocated.
 */
int	services_init(struct server *srv, struct services *sv, const struct conf *c,
	    char **err_r);
/* start, after the drop and with the pool running; registers the stop hook. */
int	services_start(struct server *srv, char **err_r);
/* free, after the loop ended: what services_init/start made. */
void	services_free(struct server *srv);

#endif
