/*
 * The daemon context: one per process (serve creates it), the only place
 * the running daemon's state hangs from.  It holds the event loop, the
 * worker pool, the hooks modules register for reload and stop, the session
 * registry, and one pointer per module.  The module types are opaque here
 * so net/ includes no protocol folder; cli/services.c fills them.
 *
 * Every module has the same four steps, with the same meaning everywhere:
 *   X_init   allocate from the config, before the privilege drop (keys,
 *            certificates and listeners are read/bound then); no I/O on
 *            files the daemon owns, no events started.
 *   X_start  begin serving, after the drop and with the pool running:
 *            timers, inotify watches, spool recovery, reload/stop hooks.
 *   X_stop   stop taking new work and wind down gracefully: in-flight work
 *            finishes or is safely abandoned (it may keep srv->busy > 0);
 *            memory stays.  Runs from the stop hooks on SIGTERM/SIGINT.
 *   X_free   release memory, after the loop has ended; void X_free(X **),
 *            accepting NULL and setting the pointer to NULL.
 * The shapes: struct X *X_init(srv, conf[, err_r]) (NULL + *err_r when it
 * can fail), int X_start(X *, err_r), void X_stop(X *) (accepts NULL).
 * A module without work of its own in a step has no function for it (POP3
 * keeps no module state: its sessions are in the registry).
 * IMAP keeps none either.  SMTP's commits use the queue manager's syncer
 * (qmgr_syncer) and hand new messages to it (qmgr_submit).
 */
#ifndef LB_NET_SERVER_H
#define LB_NET_SERVER_H

#include <stdbool.h>

struct event_base;
struct pool;
struct conf;
struct tls_ctx;
struct session_reg;
struct smtpd;
struct smtpc;
struct qmgr;
struct pickup;
struct store_watcher;

struct server_hook {
	struct server_hook	*next;
	void			(*fn)(void *arg);
	void			*arg;
};

struct server {
	struct event_base	*base;
	struct pool		*pool;
	struct tls_ctx		*tls;		/* NULL until the TLS layer is set up */
	struct server_hook	*on_reload;	/* after a new conf is current */
	struct server_hook	*on_stop;	/* stop accepting, finish or abandon work */
	struct session_reg	*sessions;	/* every protocol session (net/session.h) */
	/* The modules (see the steps above); NULL when not running. */
	struct smtpd		*smtpd;		/* SMTP server, smtp/server.h */
	struct smtpc		*smtpc;		/* outbound SMTP client, mta/client.h */
	struct qmgr		*qmgr;		/* queue manager + its syncer, queue/manager.h */
	struct pickup		*pickup;	/* maildrop pickup, queue/pickup.h */
	struct store_watcher	*watcher;	/* folder change notification (IMAP IDLE),
						   store/watch.h; NULL without inotify */
	/* The descriptor limit (RLIMIT_NOFILE, raised to the hard limit at start,
	   net/fdlimit.h); sessions are refused from fd_max - SESSION_FD_RESERVE
	   on (0: no check). */
	unsigned		 fd_max;
	bool			 stopping;
	unsigned		 busy;		/* in-flight work that delays the exit */
};

/* Register fn to run on SIGHUP reload / on stop (LIFO order). */
void	server_hook_reload(struct server *s, void (*fn)(void *), void *arg);
void	server_hook_stop(struct server *s, void (*fn)(void *), void *arg);
/* Work that must finish before exit: busy++ / busy-- (the loop exits at 0 once stopping). */
void	server_busy(struct server *s);
void	server_idle(struct server *s);

#endif
