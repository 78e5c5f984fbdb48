/*
 * The service registry: which protocols run, their listeners, and the
 * modules of the daemon context (net/server.h); see services.h.  Each
 * module follows the context's steps: init here in services_init (before
 * the privilege drop), start in services_start, stop from the stop hook,
 * free in services_free.  Adding a protocol: its listeners and init in
 * services_init, a line in stop_modules and in services_free.
 */
#include <stddef.h>
#include <stdlib.h>

#include "cli/services.h"
#include "deliver/aliases.h"
#include "directory/directory.h"
#include "imap/imapd.h"
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
#include "store/watch.h"

static void
add_service(struct services *sv, const char *name, enum conf_id key, enum conf_id max_key,
    bool implicit_tls,
    void (*accept)(const struct service *, evutil_socket_t, const struct sockaddr *, socklen_t, void *),
    void *arg)
{
	struct service *s;

	if (sv->n == SERVICES_MAX)
		fatalx("services: more than %d services", SERVICES_MAX);
	s = &sv->svc[sv->n++];
	s->name = name;
	s->listen_key = key;
	s->max_key = max_key;
	s->implicit_tls = implicit_tls;
	s->accept = accept;
	s->arg = arg;
}

/* The stop hook: every module's stop step, the producers of work first. */
static void
stop_modules(void *arg)
{
	struct server *srv = arg;

	smtpd_stop(srv->smtpd);
	pickup_stop(srv->pickup);
	qmgr_stop(srv->qmgr);
	smtpc_stop(srv->smtpc);
}

int
services_init(struct server *srv, struct services *sv, const struct conf *c, char **err_r)
{
	char *err = NULL;

	sv->n = 0;
	/* The key is read here, before the privilege drop (it is mode 0600). */
	if ((srv->tls = tls_ctx_new(c, &err)) == NULL) {
		log_warnx("serve: TLS disabled: %s", err);
		free(err);
	}
	if (smtpd_init(srv, err_r) == NULL)
		return -1;
	sv->smtp_l[0] = (struct smtpd_listener){ srv, SMTPD_MX };
	sv->smtp_l[1] = (struct smtpd_listener){ srv, SMTPD_SUBMISSION };
	sv->smtp_l[2] = (struct smtpd_listener){ srv, SMTPD_SUBMISSIONS };
	add_service(sv, "smtp", CK_SMTP_LISTEN, CK_SMTPD_MAX_CONNECTIONS, false, smtpd_accept,
	    &sv->smtp_l[0]);
	add_service(sv, "submission", CK_SUBMISSION_LISTEN, CK_SUBMISSION_MAX_CONNECTIONS, false,
	    smtpd_accept, &sv->smtp_l[1]);
	if (srv->tls != NULL)
		add_service(sv, "submissions", CK_SUBMISSIONS_LISTEN, CK_SUBMISSIONS_MAX_CONNECTIONS,
		    true, smtpd_accept, &sv->smtp_l[2]);
	/* IMAP and POP3 have no module state: their sessions live in srv->sessions. */
	add_service(sv, "imap", CK_IMAP_LISTEN, CK_IMAP_MAX_CONNECTIONS, false, imapd_accept, srv);
	if (srv->tls != NULL)
		add_service(sv, "imaps", CK_IMAPS_LISTEN, CK_IMAPS_MAX_CONNECTIONS, true, imapd_accept,
		    srv);
	add_service(sv, "pop3", CK_POP3_LISTEN, CK_POP3_MAX_CONNECTIONS, false, pop3d_accept, srv);
	if (srv->tls != NULL)
		add_service(sv, "pop3s", CK_POP3S_LISTEN, CK_POP3S_MAX_CONNECTIONS, true,
		    pop3d_accept, srv);
	srv->smtpc = smtpc_init(srv, c);
	srv->qmgr = qmgr_init(srv, c);
	srv->pickup = pickup_init(srv, c);
	return 0;
}

int
services_start(struct server *srv, char **err_r)
{
	if (smtpc_start(srv->smtpc, err_r) < 0 || qmgr_start(srv->qmgr, err_r) < 0 ||
	    pickup_start(srv->pickup, err_r) < 0)
		return -1;
	server_hook_stop(srv, stop_modules, srv);
	/* One inotify instance for every IDLE session (after the drop: it watches as vmail). */
	if ((srv->watcher = store_watcher_new(srv->base)) == NULL)
		log_warnx("serve: no folder change notification; IDLE sees changes at DONE only");
	return 0;
}

void
services_free(struct server *srv)
{
	session_free_all(srv);
	store_watcher_free(&srv->watcher);	/* after the sessions: they drop their watches */
	smtpd_free(&srv->smtpd);
	pickup_free(&srv->pickup);
	qmgr_free(&srv->qmgr);
	smtpc_free(&srv->smtpc);
	tls_ctx_free(&srv->tls);
	aliases_flush();
	dir_thread_close();
}
