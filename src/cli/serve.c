/*
 * `letterbox serve`: the daemon.  Checks mail_owner (never uid or gid 0; it
 * must reach the instance) and, as root, repairs the instance's ownership
 * (cli/perms.c).  Binds the listeners and reads the TLS key (as root if
 * started so), drops to mail_owner for good (PR_SET_NO_NEW_PRIVS), then runs
 * the libevent loop with the worker pool.  SIGTERM/SIGINT stop it cleanly:
 * listeners close, services finish or safely abandon in-flight work (the
 * stop hooks), then the loop exits.  SIGHUP reloads the config.
 */
#include <errno.h>
#include <grp.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "cli/cli.h"
#include "cli/services.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/listen.h"
#include "net/fdlimit.h"
#include "net/server.h"
#include "store/store.h"

#define STOP_GRACE_SECONDS 10

/* The daemon context (net/server.h) and what only serve needs around it. */
struct serve {
	struct server		 srv;
	struct services		 svcs;
	struct listen_set	*listeners;
	struct event		*ev_term, *ev_int, *ev_hup, *ev_force;
	const char		*conf_path;
};

static void
run_hooks(struct server_hook *h)
{
	for (; h != NULL; h = h->next)
		h->fn(h->arg);
}

static void
force_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve *sv = arg;

	log_warnx("serve: %u jobs still busy after %d s; exiting anyway (the queue recovers them)",
	    sv->srv.busy, STOP_GRACE_SECONDS);
	event_base_loopexit(sv->srv.base, NULL);
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct serve	*sv = arg;
	struct timeval	 tv = { STOP_GRACE_SECONDS, 0 };

	if (sv->srv.stopping) {
		log_info("serve: second signal, exiting now");
		event_base_loopexit(sv->srv.base, NULL);
		return;
	}
	log_info("serve: stopping on signal %d", (int)sig);
	sv->srv.stopping = true;
	listen_close(&sv->listeners);
	run_hooks(sv->srv.on_stop);
	if (sv->srv.busy == 0)
		event_base_loopexit(sv->srv.base, NULL);
	else {
		sv->ev_force = evtimer_new(sv->srv.base, force_cb, sv);
		evtimer_add(sv->ev_force, &tv);
	}
}

/* Settings the store reads on every commit (process-wide). */
static void
store_conf_apply(const struct conf *c)
{
	store_set_fsync(strcmp(conf_str(c, CK_MAIL_FSYNC), "always") == 0 ?
	    STORE_FSYNC_ALWAYS : STORE_FSYNC_OPTIMIZED);
}

static void
hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct serve	*sv = arg;
	char		*err = NULL;
	struct conf	*c = conf_load(sv->conf_path, &err);

	if (c == NULL) {
		log_warnx("serve: reload failed, keeping the running config: %s", err);
		free(err);
		return;
	}
	conf_set_current(c);
	log_set_debug(conf_bool(c, CK_DEBUG));
	store_conf_apply(c);
	log_info("serve: config reloaded from %s (listener addresses change on restart)", sv->conf_path);
	run_hooks(sv->srv.on_reload);
}

/*
 * Who the daemon will run as: mail_owner when started as root (it must
 * exist, must not be uid or gid 0, and must reach the instance's
 * directories), else nobody to switch to.  Checked before anything is bound.
 * 0, or -1 with the reason logged.
 */
static int
check_owner(const struct conf *c, const char *conf_path, struct passwd *pw_r, char *name,
    size_t namesz)
{
	struct passwd	*pw;
	char		*err = NULL;

	pw_r->pw_name = NULL;
	if (geteuid() != 0) {
		pw = getpwnam(conf_str(c, CK_MAIL_OWNER));
		if (pw == NULL || (pw->pw_uid != 0 && pw->pw_gid != 0))
			return 0;
	}
	if ((pw = cli_owner_lookup(c, &err)) != NULL && geteuid() == 0) {
		*pw_r = *pw;
		str_copy(name, pw->pw_name, namesz);
		pw_r->pw_name = name;
		perms_fix(c, conf_path, pw_r);
		err = cli_owner_unreachable(c, pw_r);
	}
	if (err == NULL)
		return 0;
	log_warnx("serve: %s", err);
	free(err);
	return -1;
}

static int
drop_privileges(const struct passwd *pw)
{
	if (pw->pw_name == NULL)
		return 0;
	if (cli_drop_to(pw) != 0) {
		log_warn("serve: cannot switch to %s", pw->pw_name);
		return -1;
	}
	log_info("serve: running as %s (uid %u)", pw->pw_name, (unsigned)pw->pw_uid);
	return 0;
}

/*
 * glibc serves a block above M_MMAP_THRESHOLD with its own mmap and
 * unmaps it on free, but by default raises the threshold to the size of
 * each such block freed (up to 32 MB): after the first big mailbox, its
 * 1-10 MB arrays (index records, views, scan lists, a STORE 1:*'s output)
 * come from the heap arenas instead, where a worker thread's arena keeps
 * the pages after the free.  Measured on a 100,000-message session:
 * the server's peak grew by 40 MB with the default, 26 MB with the
 * threshold fixed (which also fixes the trim threshold), and 2 MB instead
 * of 22 MB stayed resident after the logout.
 *
 * Fixing the mmap threshold also fixes the trim threshold at its 128 KiB
 * default: each time a big reply's output chains (libevent, 64 KiB each,
 * a few hundred KiB per streamed FETCH batch) were freed at the top of the
 * heap, glibc gave the pages back with brk, and the next batch faulted
 * them in again: FETCH 1:* BODY.PEEK[] of 10,000 messages (98 MB) took
 * 2,000-12,000 page faults and a fifth of the server's CPU (perf:
 * exc_page_fault under evbuffer_add's memcpy).  With 1 MiB the heap keeps
 * that much free memory at its top (once per process, not per session):
 * about 100 faults for the same FETCH.
 */
#define MMAP_THRESHOLD	(256 * 1024)
#define TRIM_THRESHOLD	(1024 * 1024)	/* free heap top kept (above) */

static void
malloc_tune(void)
{
#ifdef __GLIBC__
	if (mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1)
		log_warnx("serve: mallopt(M_MMAP_THRESHOLD) failed");
	if (mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) != 1)
		log_warnx("serve: mallopt(M_TRIM_THRESHOLD) failed");
#endif
}

static void
free_hooks(struct server_hook **h)
{
	while (*h != NULL) {
		struct server_hook *n = (*h)->next;
		free(*h);
		*h = n;
	}
}

int
cmd_serve(struct cli *c, int argc, char **argv)
{
	struct serve		 sv;
	struct passwd		 owner;
	char			 owner_name[256];
	struct conf		*conf;
	char			*err = NULL;
	const char		*dest;
	int			 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-d") == 0)
			c->debug = true;
		else
			return cli_usage("serve");
	}
	if ((conf = cli_conf(c)) == NULL)
		return EX_CONFIG;
	c->conf = NULL;		/* the current-conf registry owns it now */
	conf_set_current(conf);
	dest = conf_str(conf, CK_LOG_DESTINATION);
	log_init("letterbox", strcmp(dest, "syslog") == 0 ? LOG_TO_SYSLOG :
	    strcmp(dest, "both") == 0 ? LOG_TO_BOTH : LOG_TO_STDERR,
	    c->debug || conf_bool(conf, CK_DEBUG));

	if (check_owner(conf, c->conf_path, &owner, owner_name, sizeof(owner_name)) < 0)
		return EX_NOPERM;
	malloc_tune();
	store_conf_apply(conf);
	memset(&sv, 0, sizeof(sv));
	sv.conf_path = c->conf_path;
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0)
		fatalx("serve: libevent without pthreads support");
	if ((sv.srv.base = event_base_new()) == NULL)
		fatalx("serve: event_base_new failed");

	/* Signals first: a client may connect (and a test or init script send
	 * SIGHUP/SIGTERM) as soon as the listeners exist. */
	sv.ev_term = evsignal_new(sv.srv.base, SIGTERM, stop_cb, &sv);
	sv.ev_int = evsignal_new(sv.srv.base, SIGINT, stop_cb, &sv);
	sv.ev_hup = evsignal_new(sv.srv.base, SIGHUP, hup_cb, &sv);
	event_add(sv.ev_term, NULL);
	event_add(sv.ev_int, NULL);
	event_add(sv.ev_hup, NULL);

	/* Privileged part: services load their keys, then we bind. */
	if (services_init(&sv.srv, &sv.svcs, conf, &err) < 0) {
		log_warnx("serve: %s", err);
		free(err);
		return EX_CONFIG;
	}
	if ((sv.listeners = listen_open(sv.srv.base, conf, sv.svcs.svc, sv.svcs.n, &err)) == NULL) {
		log_warnx("serve: %s", err);
		free(err);
		return EX_UNAVAILABLE;
	}
	/* Every session is a descriptor of this one process. */
	sv.srv.fd_max = net_fd_limit_raise((unsigned)conf_int(conf, CK_MAX_OPEN_FILES));
	if (drop_privileges(&owner) < 0)
		return EX_NOPERM;
	sv.srv.pool = pool_new(sv.srv.base, (int)conf_int(conf, CK_WORKER_THREADS));
	if (services_start(&sv.srv, &err) < 0) {
		log_warnx("serve: %s", err);
		free(err);
		return EX_SOFTWARE;
	}

	log_info("serve: started pid=%ld listeners=%u workers=%lld fd_limit=%u", (long)getpid(),
	    listen_count(sv.listeners), (long long)conf_int(conf, CK_WORKER_THREADS), sv.srv.fd_max);

	event_base_dispatch(sv.srv.base);

	listen_close(&sv.listeners);
	pool_free(&sv.srv.pool);
	services_free(&sv.srv);
	event_free(sv.ev_term);
	event_free(sv.ev_int);
	event_free(sv.ev_hup);
	if (sv.ev_force)
		event_free(sv.ev_force);
	free_hooks(&sv.srv.on_reload);
	free_hooks(&sv.srv.on_stop);
	event_base_free(sv.srv.base);
	libevent_global_shutdown();
	log_info("serve: stopped");
	return 0;
}
