/*
 * IDLE (RFC 2177, RFC 9051 6.3.13): "+ idling", then the untagged updates
 * of the selected mailbox as they happen, until the client's "DONE".
 * Pushed, not polled: a watch on the folder (store/watch.h, the daemon's
 * one inotify instance) calls back on the loop, and a sync on the pool
 * (imap_view_sync) writes what changed; changes that arrive during a sync
 * start one more when it ends.  While IDLE runs the core reads lines (the
 * only one expected is DONE), and the session's timeout is
 * imap_idle_timeout (RFC 3501 5.4: at least 30 minutes).
 */
#include <stdlib.h>
#include <string.h>

#include "imap/client.h"
#include "imap/notify.h"
#include "imap/view.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/server.h"
#include "net/session.h"
#include "store/store.h"
#include "store/watch.h"

/* Longest line read while idling ("DONE"; anything longer is an error). */
#define IDLE_LINE_MAX	1024

struct imap_idle {
	struct store_watch	*watch;		/* NULL: nothing selected, or no inotify */
	bool			 syncing;	/* a sync job has the mailbox */
	bool			 again;		/* changes came in during it */
};

static void	idle_synced(struct imap_client *c);

static void
idle_kick(struct imap_client *c)
{
	struct imap_idle *idle = c->idle;

	/* A NOTIFY FETCH push reads the mailbox: the sync waits for its end. */
	if (idle->syncing || imap_streaming(c)) {
		idle->again = true;
		return;
	}
	if (c->state != IMAP_S_SELECTED || c->mb == NULL || session_closing(c->ss))
		return;
	idle->syncing = true;
	idle->again = false;
	imap_view_sync(c, idle_synced);
}

static void
idle_synced(struct imap_client *c)
{
	c->idle->syncing = false;
	if (c->idle->again) {
		idle_kick(c);
		return;
	}
	imap_resume(c);		/* a DONE that came meanwhile is read now */
	/* NOTIFY's FETCH for what the sync reported as new (RFC 5465 5.2). */
	imap_notify_idle_point(c);
}

void
imap_idle_pending(struct imap_client *c)
{
	if (c->idle != NULL && c->idle->again && !c->idle->syncing)
		idle_kick(c);
}

static void
idle_watch_cb(void *arg)
{
	struct imap_client *c = arg;

	if (c->idle != NULL)
		idle_kick(c);
}

void
cmd_idle(struct imap_client *c, const struct imap_cmd *cmd)
{
	struct store_watcher	*w = c->ss->srv->watcher;
	struct imap_idle	*idle;

	if (cmd->nargs != 0) {
		imap_tagged(c, "BAD", "IDLE takes no arguments.");
		return;
	}
	/* An idle session keeps only what it needs to wait (the arguments are
	 * not used past this point): the parser's blocks go back. */
	imap_parser_trim(c->parser);
	idle = c->idle = xcalloc(1, sizeof(*idle));
	imap_write(c, "+ idling\r\n", 10);
	session_set_idle(c->ss, (unsigned)conf_int(conf_current(), CK_IMAP_IDLE_TIMEOUT) * 1000);
	session_set_line_max(c->ss, IDLE_LINE_MAX);
	session_read_lines(c->ss);
	/* NOTIFY's pending pushes go out while idling too (RFC 5465 §4). */
	imap_notify_idle_point(c);
	if (c->state != IMAP_S_SELECTED || c->mb == NULL)
		return;
	if (w == NULL || (idle->watch = store_watch_add(w, store_path(c->mb), idle_watch_cb,
	    c)) == NULL)
		log_warnx("imapd sid=%s: IDLE on %s without change notification", c->sid,
		    store_name(c->mb));
	/* What came in since the last command goes out now. */
	idle_kick(c);
}

static void
idle_end(struct imap_client *c)
{
	imap_idle_free(c);
	session_read_raw(c->ss, SIZE_MAX);
}

void
imap_idle_line(struct imap_client *c, const char *line, size_t len)
{
	idle_end(c);
	if (line == NULL || !str_ieq(line, len, "DONE")) {
		imap_tagged(c, "BAD", "Expected DONE.");
		return;
	}
	imap_view_done(c, "OK", "IDLE terminated.");
}

void
imap_idle_free(struct imap_client *c)
{
	if (c->idle == NULL)
		return;
	store_watch_remove(&c->idle->watch);
	free(c->idle);
	c->idle = NULL;
}
