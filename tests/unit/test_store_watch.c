/*
 * Store change notification: one inotify instance, a callback per watch
 * on the event loop when mail arrives or flags change, shared kernel
 * watches for two sessions on one folder, removal from a callback.
 */
#include <event2/event.h>
#include <time.h>

#include "t.h"
#include "store/store.h"
#include "store/watch.h"
#include "store_t.h"

struct hits {
	int			 n;
	struct store_watch	**self;		/* remove itself when set */
};

static void
hit_cb(void *arg)
{
	struct hits	*h = arg;

	h->n++;
	if (h->self != NULL)
		store_watch_remove(h->self);
}

/* Run the loop until *a (and *b, if given) counted something; 5 s at most. */
static void
run_until(struct event_base *base, const int *a, const int *b)
{
	struct timeval	tv = { 0, 20000 };
	double		t0 = now_s();

	while ((*a == 0 || (b != NULL && *b == 0)) && now_s() - t0 < 5) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

/*
 * Mail put into new/ in the same clock tick as the folder's last change
 * leaves new/'s mtime as the index recorded it (played here by setting the
 * mtime back): a sync alone cannot see it, but a watch saw the file
 * arrive and tells the next sync to read the directories.  Also for
 * store_status(), which otherwise answers from the index's header.
 */
static void
test_same_tick_arrival(struct event_base *base, struct store_watcher *w)
{
	struct store_mailbox	*mb, *other;
	struct store_watch	*sw;
	struct store_status	 st;
	struct hits		 h = { 0, NULL };
	struct timespec		 m;
	char			 dir[512];

	snprintf(dir, sizeof(dir), "%s/tick", tmpdir);
	mkmaildir(dir);
	put_some(dir, 0, 2);
	set_mtime(dir, "cur", time(NULL) - 3600);
	set_mtime(dir, "new", time(NULL) - 3600);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 2);
	t_int(store_status(dir, "INBOX", 0, &st), 0);
	t_int(st.messages, 2);

	/* Without a watch: the index's record is taken, the file unseen. */
	m = get_mtime(dir, "new");
	put_msg(dir, "new", "1700000100.M1P1.host,S=3", "a\r\n");
	set_mtime_ts(dir, "new", m);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 2);

	/* With one: the arrival is noted, the next sync reads new/. */
	sw = store_watch_add(w, dir, hit_cb, &h);
	t_ok(sw != NULL);
	m = get_mtime(dir, "new");
	put_msg(dir, "new", "1700000101.M1P1.host,S=3", "b\r\n");
	set_mtime_ts(dir, "new", m);
	run_until(base, &h.n, NULL);
	t_ok(h.n >= 1);
	other = store_open(dir, "INBOX", STORE_O_NOFSYNC | STORE_O_NO_RECENT);
	t_int(store_status(dir, "INBOX", 0, &st), 0);
	t_int(st.messages, 4);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 4);
	/* The scan took the note: the other handle's sync needs no readdir. */
	t_int(store_sync(other, NULL, NULL), 0);
	t_int(store_count(other), 4);
	store_close(&other);
	/* A file into cur/ is seen by cur/'s mtime, as ever. */
	h.n = 0;
	put_msg(dir, "cur", "1700000102.M1P1.host,S=3:2,", "c\r\n");
	run_until(base, &h.n, NULL);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 5);
	store_watch_remove(&sw);
	store_close(&mb);
}

static int
count_inotify_fds(void)
{
	char		 path[64], link[256];
	int		 fd, n = 0;
	ssize_t		 r;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		r = readlink(path, link, sizeof(link) - 1);
		if (r > 0) {
			link[r] = '\0';
			n += strstr(link, "inotify") != NULL;
		}
	}
	return n;
}

int
main(void)
{
	struct event_base	*base;
	struct store_watcher	*w;
	struct store_watch	*wa, *wb;
	struct store_mailbox	*mb;
	struct hits		 a = { 0, NULL }, b = { 0, NULL };
	char			 dir[512];
	int			 before;

	t_begin("store_watch");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lb-storew-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	snprintf(dir, sizeof(dir), "%s/INBOX", tmpdir);
	mkmaildir(dir);
	base = event_base_new();
	before = count_inotify_fds();
	w = store_watcher_new(base);
	t_ok(w != NULL);
	wa = store_watch_add(w, dir, hit_cb, &a);
	wb = store_watch_add(w, dir, hit_cb, &b);
	t_ok(wa != NULL && wb != NULL);
	t_int(count_inotify_fds(), before + 1);		/* one instance for all */

	/* Delivery into new/: both sessions hear of it. */
	put_msg(dir, "new", "1700000000.M1P1.host,S=3", "a\r\n");
	run_until(base, &a.n, &b.n);
	t_ok(a.n >= 1 && b.n >= 1);

	/* A flag change by a store handle (rename in cur/ + the index log). */
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	run_until(base, &a.n, NULL);
	a.n = b.n = 0;
	t_int(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0), 0);
	run_until(base, &a.n, &b.n);
	t_ok(a.n >= 1 && b.n >= 1);

	/* One removes itself from its callback; the other still hears. */
	a.n = b.n = 0;
	a.self = &wa;
	put_msg(dir, "new", "1700000001.M1P1.host,S=3", "b\r\n");
	run_until(base, &a.n, &b.n);
	t_ok(wa == NULL);
	a.n = b.n = 0;
	put_msg(dir, "new", "1700000002.M1P1.host,S=3", "c\r\n");
	run_until(base, &b.n, NULL);
	t_int(a.n, 0);
	t_ok(b.n >= 1);
	store_watch_remove(&wb);
	t_ok(wb == NULL);

	test_same_tick_arrival(base, w);

	/* A folder that is not there. */
	snprintf(dir, sizeof(dir), "%s/missing", tmpdir);
	t_ok(store_watch_add(w, dir, hit_cb, &a) == NULL);

	store_close(&mb);
	store_watcher_free(&w);
	t_ok(w == NULL);
	t_int(count_inotify_fds(), before);
	event_base_free(base);
	rm_tree(tmpdir);
	return t_end();
}
