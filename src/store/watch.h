/*
 * Folder change notification (IDLE, NOTIFY): one inotify instance per
 * daemon, a watch per folder, callbacks on the libevent loop.  See watch.c.
 * Not thread-safe: use from the loop thread only.
 */
#ifndef LB_STORE_WATCH_H
#define LB_STORE_WATCH_H

struct event_base;
struct store_watcher;
struct store_watch;

/* Something changed in the folder (new mail, flags, expunge, index). */
typedef void	(*store_watch_cb)(void *arg);

/* The daemon's one watcher on base; NULL (errno) when inotify fails. */
struct store_watcher *store_watcher_new(struct event_base *base);
void	 store_watcher_free(struct store_watcher **w);	/* drops all watches */

/*
 * Watch folder directory dir (store_path()); cb(arg) runs on the loop,
 * at most once per batch of changes.  NULL with errno (ENOENT, ENOSPC when
 * fs.inotify.max_user_watches is reached).  Removing is allowed from
 * inside any callback.
 */
struct store_watch *store_watch_add(struct store_watcher *w, const char *dir,
	    store_watch_cb cb, void *arg);
void	 store_watch_remove(struct store_watch **sw);

#endif
