/*
 * The service registry: which protocols run, their listeners, and the
 * shared pieces they need (TLS context, queue manager); see services.h.
 * Adding a protocol: its listeners in services_init(), its stop hook, and
 * its teardown in services_free().
 */
#include <stddef.h>
#include <stdlib.h>

#include "cli/services.h"
#include "deliver/aliases.h"
#include "directory/directory.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "mta/client.h"
#include "net/listen.h"
#include "net/server.h"
#include "net/session.h"
#include "net/tls.h"
#include "pop3/pop3.h"
#include "queue/manager.h"
#include "queue/pickup.h"
#include "smtp/server.h"

static struct service		 services[16];
static unsigned			 nservices;
static struct smtpd_listener	 smtp_l[3];
static struct qmgr		*qmgr;
static struct pickup		*pickup;

static void
add_service(const char *name, const char *key, const char *max_key, bool implicit_tls,
    void (*accept)(const struct service *, evutil_socket_t, const struct sockaddr *, socklen_t, void *),
    void *arg)
{
	struct service *s = &services[nservices++];

	s->name = name;
	s->listen_key = key;
	s->max_key = max_key;
	s->implicit_tls = implicit_tls;
	s->accept = accept;
	s->arg = arg;
}

static void
stop_smtpd(void *arg)
{
	smtpd_stop();
}

static void
stop_qmgr(void *arg)
{
	pickup_stop(pickup);
	qmgr_stop(qmgr);
}

int
services_init(struct server *srv, const struct conf *c, const struct service **svcs_r,
    unsigned *n_r, char **err_r)
{
	char *err = NULL;

	nservices = 0;
	/* The key is read here, before the privilege drop (it is mode 0600). */
	if ((srv->tls = tls_ctx_new(c, &err)) == NULL) {
		log_warnx("serve: TLS disabled: %s", err);
		free(err);
	}
	if (smtpd_init(srv, err_r) < 0)
		return -1;
	smtp_l[0] = (struct smtpd_listener){ srv, SMTPD_MX };
	smtp_l[1] = (struct smtpd_listener){ srv, SMTPD_SUBMISSION };
	smtp_l[2] = (struct smtpd_listener){ srv, SMTPD_SUBMISSIONS };
	add_service("smtp", "smtp_listen", "smtpd_max_connections", false, smtpd_accept, &smtp_l[0]);
	add_service("submission", "submission_listen", "submission_max_connections", false,
	    smtpd_accept, &smtp_l[1]);
	if (srv->tls != NULL)
		add_service("submissions", "submissions_listen", "submissions_max_connections", true,
		    smtpd_accept, &smtp_l[2]);
	add_service("pop3", "pop3_listen", "pop3_max_connections", false, pop3d_accept, srv);
	if (srv->tls != NULL)
		add_service("pop3s", "pop3s_listen", "pop3s_max_connections", true, pop3d_accept, srv);
	*svcs_r = services;
	*n_r = nservices;
	return 0;
}

int
services_start(struct server *srv, char **err_r)
{
	if (smtpc_init(srv, conf_current(), err_r) < 0)
		return -1;
	if ((qmgr = qmgr_start(srv, err_r)) == NULL)
		return -1;
	if ((pickup = pickup_start(srv, err_r)) == NULL)
		return -1;
	server_hook_stop(srv, stop_qmgr, NULL);
	server_hook_stop(srv, stop_smtpd, NULL);
	return 0;
}

void
services_free(struct server *srv)
{
	smtpd_free();
	session_free_all(srv);
	pickup_free(&pickup);
	qmgr_free(&qmgr);
	smtpc_shutdown();
	tls_ctx_free(&srv->tls);
	aliases_flush();
	dir_thread_close();
}
