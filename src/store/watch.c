/*
 * Change notification for IDLE and NOTIFY: one inotify instance for the
 * whole daemon (the kernel allows 128 per user here, and a session each
 * would run out), one watch per folder directory (cur/, new/, and the
 * folder itself for the index log and keywords), and callbacks run on the
 * libevent loop.  Sessions watching the same folder share the kernel
 * watches (inotify hands out one descriptor per inode); each gets its own
 * callback, at most once per batch of events.
 *
 * inotify sees only this host's changes: on NFS a session should also
 * poll (store_sync on a timer), see store.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/store_int.h"
#include "store/watch.h"

#define WATCH_MASK	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | \
			 IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

struct store_watch {
	struct store_watch	*next;
	struct store_watcher	*w;
	int			 wd[3];		/* folder, cur/, new/ */
	store_watch_cb		 cb;
	void			*arg;
	/* The folder's entry in the process's registry (flock.c): mail
	 * arriving in new/ is noted there for the next sync. */
	struct folder_mutex	*fmu;
	bool			 pending, arrived, dead;
};

struct store_watcher {
	int			 fd;
	struct event		*ev;
	struct store_watch	*list;
	bool			 dispatching;
};

static void
watch_free(struct store_watch *sw)
{
	fmutex_put(&sw->fmu);
	free(sw);
}

static void
watcher_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_watcher		*w = arg;
	struct store_watch		*sw, **pp;
	char				 buf[8192] __attribute__((aligned(8)));
	const struct inotify_event	*ev;
	ssize_t				 n;
	size_t				 off;
	int				 i, rounds;

	/* Drain (bounded): a burst of deliveries gives one callback each. */
	for (rounds = 0; rounds < 64; rounds++) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (off = 0; off + sizeof(*ev) <= (size_t)n; off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			for (sw = w->list; sw != NULL; sw = sw->next) {
				for (i = 0; i < 3; i++)
					if (sw->wd[i] == ev->wd || (ev->mask & IN_Q_OVERFLOW))
						sw->pending = true;
				/* A file into new/: delivery (our own moves leave it). */
				if ((sw->wd[2] == ev->wd && (ev->mask & (IN_CREATE | IN_MOVED_TO))) ||
				    (ev->mask & IN_Q_OVERFLOW))
					sw->arrived = true;
			}
		}
	}
	w->dispatching = true;
	for (sw = w->list; sw != NULL; sw = sw->next) {
		if (!sw->pending || sw->dead)
			continue;
		sw->pending = false;
		if (sw->arrived && sw->fmu != NULL)
			fmutex_set_arrived(sw->fmu);
		sw->arrived = false;
		sw->cb(sw->arg);
	}
	w->dispatching = false;
	/* Watches removed from inside a callback go now. */
	for (pp = &w->list; *pp != NULL;) {
		sw = *pp;
		if (sw->dead) {
			*pp = sw->next;
			watch_free(sw);
		} else
			pp = &sw->next;
	}
}

struct store_watcher *
store_watcher_new(struct event_base *base)
{
	struct store_watcher	*w = xcalloc(1, sizeof(*w));

	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd == -1) {
		log_warn("store: inotify_init1");
		free(w);
		return NULL;
	}
	w->ev = event_new(base, w->fd, EV_READ | EV_PERSIST, watcher_read_cb, w);
	if (w->ev == NULL || event_add(w->ev, NULL) == -1) {
		if (w->ev != NULL)
			event_free(w->ev);
		close(w->fd);
		free(w);
		return NULL;
	}
	return w;
}

void
store_watcher_free(struct store_watcher **wp)
{
	struct store_watcher	*w = *wp;
	struct store_watch	*sw;

	if (w == NULL)
		return;
	while ((sw = w->list) != NULL) {
		w->list = sw->next;
		watch_free(sw);
	}
	event_free(w->ev);
	close(w->fd);	/* drops every kernel watch */
	free(w);
	*wp = NULL;
}

static bool
wd_in_use(const struct store_watcher *w, const struct store_watch *except, int wd)
{
	const struct store_watch	*sw;
	int				 i;

	for (sw = w->list; sw != NULL; sw = sw->next)
		if (sw != except && !sw->dead)
			for (i = 0; i < 3; i++)
				if (sw->wd[i] == wd)
					return true;
	return false;
}

struct store_watch *
store_watch_add(struct store_watcher *w, const char *dir, store_watch_cb cb, void *arg)
{
	static const char *const subs[3] = { "", "/cur", "/new" };
	struct store_watch	*sw;
	char			 path[PATH_MAX];
	int			 i, saved;

	sw = xcalloc(1, sizeof(*sw));
	sw->w = w;
	sw->cb = cb;
	sw->arg = arg;
	for (i = 0; i < 3; i++)
		sw->wd[i] = -1;
	for (i = 0; i < 3; i++) {
		if (st_join(path, sizeof(path), dir, subs[i], "") == -1 ||
		    (sw->wd[i] = inotify_add_watch(w->fd, path, WATCH_MASK | IN_ONLYDIR)) == -1)
			goto fail;
	}
	sw->fmu = fmutex_get(dir);
	sw->next = w->list;
	w->list = sw;
	return sw;
fail:
	saved = errno;
	for (i = 0; i < 3; i++)
		if (sw->wd[i] != -1 && !wd_in_use(w, sw, sw->wd[i]))
			(void)inotify_rm_watch(w->fd, sw->wd[i]);
	free(sw);
	errno = saved;
	return NULL;
}

void
store_watch_remove(struct store_watch **swp)
{
	struct store_watch	*sw = *swp, **pp;
	struct store_watcher	*w;
	int			 i;

	if (sw == NULL)
		return;
	w = sw->w;
	for (i = 0; i < 3; i++)
		if (!wd_in_use(w, sw, sw->wd[i]))
			(void)inotify_rm_watch(w->fd, sw->wd[i]);
	*swp = NULL;
	if (w->dispatching) {
		sw->dead = true;
		for (i = 0; i < 3; i++)
			sw->wd[i] = -1;
		return;
	}
	for (pp = &w->list; *pp != sw; pp = &(*pp)->next)
		;
	*pp = sw->next;
	watch_free(sw);
}
