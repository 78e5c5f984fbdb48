/*
 * Maildrop pickup (see pickup.h).  One scan at a time runs on a worker; an
 * event during a scan asks for one more.  A scan takes at most
 * PICKUP_BATCH files, then schedules the next.  A file that cannot be
 * parsed goes to QDIR/corrupt/ with a log line; a file still being written
 * has a name starting with '.' and is skipped (removed after a day: its
 * writer died).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/conf.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/xmalloc.h"
#include "net/server.h"
#include "queue/drop.h"
#include "queue/pickup.h"

#define PICKUP_BATCH		200
#define PICKUP_RESCAN_SECONDS	60
#define PICKUP_STALE_SECONDS	86400
#define PICKUP_ENVELOPE_SLACK	((off_t)DROP_RCPT_MAX * (SPOOL_ADDR_MAX + 2) + 4096)

struct pickup {
	struct server	*srv;
	char		*dir;		/* QDIR/maildrop */
	int		 ino_fd;
	struct event	*ino_ev, *tick;
	bool		 scanning, again, stopping;
};

/* What one scan needs, copied on the loop thread (workers read no conf). */
struct pickup_job {
	struct pickup	*p;
	char		*qdir, *host;
	char		*dir;		/* qdir/maildrop: the watch may move meanwhile */
	off_t		 max;
	bool		 more;		/* the batch was full */
};

static void scan_submit(struct pickup *p);

static void
to_corrupt(const struct pickup_job *j, const char *name, const char *why)
{
	char	*from = xasprintf("%s/%s", j->dir, name);
	char	*to = xasprintf("%s/corrupt/maildrop.%s", j->qdir, name);

	log_warnx("pickup: %s: %s; moved to %s", from, why, to);
	if (rename(from, to) != 0 && unlink(from) != 0)
		log_warn("pickup: cannot remove %s", from);
	free(from);
	free(to);
}

/* Read one complete file; 0 with the bytes, 1 to skip it, -1 corrupt (*why_r). */
static int
read_drop(const struct pickup_job *j, int dfd, const char *name, struct stat *st,
    char **data_r, const char **why_r)
{
	int	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ssize_t	n;

	*data_r = NULL;
	if (fd < 0)
		return errno == ENOENT ? 1 : (*why_r = "cannot open", -1);
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_nlink != 1) {
		close(fd);
		*why_r = "not a plain file";
		return -1;
	}
	if (st->st_size > j->max + PICKUP_ENVELOPE_SLACK) {
		close(fd);
		*why_r = "larger than message_size_limit";
		return -1;
	}
	*data_r = xmalloc((size_t)st->st_size + 1);
	n = pread(fd, *data_r, (size_t)st->st_size, 0);
	close(fd);
	if (n != st->st_size) {
		free(*data_r);
		*data_r = NULL;
		*why_r = "short read";
		return -1;
	}
	return 0;
}

static void
pickup_one(const struct pickup_job *j, int dfd, const char *name)
{
	struct drop_msg	 m;
	struct stat	 st;
	struct passwd	 pw, *pwp = NULL;
	char		 pwbuf[1024], qid[SPOOL_QID_SIZE];
	char		*data;
	const char	*why = NULL;
	int		 r;

	if ((r = read_drop(j, dfd, name, &st, &data, &why)) != 0) {
		if (r < 0)
			to_corrupt(j, name, why);
		return;
	}
	if (drop_parse(data, (size_t)st.st_size, &m, &why) < 0) {
		to_corrupt(j, name, why);
		free(data);
		return;
	}
	getpwuid_r(st.st_uid, &pw, pwbuf, sizeof(pwbuf), &pwp);
	if (drop_enqueue(j->qdir, j->host, st.st_uid, pwp ? pwp->pw_name : NULL, &m, qid) < 0) {
		/* The file stays: the next scan retries (disk full, ...). */
		log_warn("pickup: %s/%s: cannot queue", j->dir, name);
	} else {
		log_info("pickup qid=%s: uid=%ld from=<%s> nrcpt=%zu", qid, (long)st.st_uid,
		    m.sender, m.nrcpt);
		if (unlinkat(dfd, name, 0) != 0)
			log_warn("pickup: cannot remove %s/%s (it may be queued twice)", j->dir, name);
	}
	drop_msg_clear(&m);
	free(data);
}

static void
scan_work(void *arg)
{
	struct pickup_job	*j = arg;
	DIR			*d = opendir(j->dir);
	struct dirent		*de;
	struct stat		 st;
	unsigned		 n = 0;

	if (d == NULL) {
		if (errno != ENOENT)
			log_warn("pickup: %s", j->dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_name[0] == '.') {
			/* A writer's temporary name: gone after a day means it died. */
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    st.st_mtime + PICKUP_STALE_SECONDS < time(NULL))
				unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (n++ >= PICKUP_BATCH) {
			j->more = true;
			break;
		}
		pickup_one(j, dirfd(d), de->d_name);
	}
	closedir(d);
}

static void
scan_done(void *arg)
{
	struct pickup_job	*j = arg;
	struct pickup		*p = j->p;

	p->scanning = false;
	if (j->more)
		p->again = true;
	free(j->qdir);
	free(j->dir);
	free(j->host);
	free(j);
	server_idle(p->srv);
	if (p->again && !p->stopping)
		scan_submit(p);
}

static void
scan_submit(struct pickup *p)
{
	const struct conf	*c = conf_current();
	struct pickup_job	*j;

	if (p->stopping)
		return;
	if (p->scanning) {
		p->again = true;
		return;
	}
	p->again = false;
	p->scanning = true;
	j = xcalloc(1, sizeof(*j));
	j->p = p;
	j->qdir = xstrdup(conf_str(c, CK_QUEUE_DIRECTORY));
	j->dir = xasprintf("%s/%s", j->qdir, DROP_SUBDIR);
	j->host = xstrdup(conf_str(c, CK_MYHOSTNAME));
	j->max = (off_t)conf_int(c, CK_MESSAGE_SIZE_LIMIT);
	server_busy(p->srv);
	pool_submit(p->srv->pool, scan_work, scan_done, j);
}

static void
inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	scan_submit(arg);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	scan_submit(arg);
}

/* Watch p->dir; an instance without a maildrop gets no watch. */
static int
watch(struct pickup *p, char **err_r)
{
	struct stat st;

	if (stat(p->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_debug("pickup: no %s; local users other than the mail owner cannot submit", p->dir);
		return 0;
	}
	p->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (p->ino_fd < 0 || inotify_add_watch(p->ino_fd, p->dir, IN_MOVED_TO) < 0) {
		*err_r = xasprintf("cannot watch %s: %s", p->dir, strerror(errno));
		return -1;
	}
	p->ino_ev = event_new(p->srv->base, p->ino_fd, EV_READ | EV_PERSIST, inotify_cb, p);
	event_add(p->ino_ev, NULL);
	return 0;
}

static void
unwatch(struct pickup *p)
{
	if (p->ino_ev)
		event_free(p->ino_ev);
	p->ino_ev = NULL;
	if (p->ino_fd >= 0)
		close(p->ino_fd);
	p->ino_fd = -1;
}

/* SIGHUP moved queue_directory: watch the new maildrop (scans read the conf). */
static void
reload_hook(void *arg)
{
	struct pickup	*p = arg;
	char		*nd = xasprintf("%s/%s", conf_str(conf_current(), CK_QUEUE_DIRECTORY),
			    DROP_SUBDIR);
	char		*err = NULL;

	if (p->stopping || strcmp(nd, p->dir) == 0) {
		free(nd);
		return;
	}
	unwatch(p);
	free(p->dir);
	p->dir = nd;
	if (watch(p, &err) < 0) {
		log_warnx("pickup: %s; found by the periodic scan only", err);
		free(err);
	}
	scan_submit(p);
}

struct pickup *
pickup_init(struct server *srv, const struct conf *c)
{
	struct pickup *p = xcalloc(1, sizeof(*p));

	p->srv = srv;
	p->ino_fd = -1;
	p->dir = xasprintf("%s/%s", conf_str(c, CK_QUEUE_DIRECTORY), DROP_SUBDIR);
	return p;
}

int
pickup_start(struct pickup *p, char **err_r)
{
	struct timeval tv = { PICKUP_RESCAN_SECONDS, 0 };

	if (watch(p, err_r) < 0)
		return -1;
	/* The tick also finds a maildrop that appears later. */
	p->tick = event_new(p->srv->base, -1, EV_PERSIST, tick_cb, p);
	event_add(p->tick, &tv);
	server_hook_reload(p->srv, reload_hook, p);
	scan_submit(p);
	return 0;
}

void
pickup_stop(struct pickup *p)
{
	if (p == NULL)
		return;
	p->stopping = true;
	if (p->ino_ev)
		event_del(p->ino_ev);
	if (p->tick)
		event_del(p->tick);
}

void
pickup_free(struct pickup **pp)
{
	struct pickup *p = *pp;

	if (p == NULL)
		return;
	if (p->tick)
		event_free(p->tick);
	unwatch(p);
	free(p->dir);
	xfree(pp);
}
