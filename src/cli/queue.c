/*
 * `queue list | queue flush | queue delete ID|ALL`: mailq, postqueue -f and
 * postsuper -d for the spool.  Safe while the daemon runs: list only reads,
 * flush drops a trigger file the daemon watches (inotify), delete unlinks
 * the queue file (a delivery already under way for that message may still
 * complete, as with postsuper -d on the active queue).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/conf.h"
#include "lib/xmalloc.h"
#include "spool/spool.h"

struct qlist {
	char	**ids;
	size_t	 n;
};

static int
collect(const char *qid, void *arg)
{
	struct qlist *l = arg;

	l->ids = xreallocarray(l->ids, l->n + 1, sizeof(char *));
	l->ids[l->n++] = xstrdup(qid);
	return 0;
}

static int
cmp_ids(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
qlist_free(struct qlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->ids[i]);
	free(l->ids);
}

/* One line per recipient: ID size arrival sender recipient state reason (tab-separated). */
static void
print_msg(struct spool_msg *m)
{
	char		 when[32];
	time_t		 t = (time_t)(m->env.arrival_us / 1000000);
	struct tm	 tm;
	size_t		 i;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (i = 0; i < m->env.nrcpt; i++) {
		const struct spool_rcpt *r = &m->env.rcpts[i];

		printf("%s\t%lld\t%s\t<%s>\t<%s>\t%s\t%s\n", m->qid, (long long)m->msg_len, when,
		    m->env.sender, r->addr, spool_state_name(r->state), r->reason ? r->reason : "");
	}
}

static int
queue_list(const char *qdir)
{
	struct qlist	 l = { NULL, 0 };
	size_t		 i;

	if (spool_list(qdir, collect, &l) < 0)
		return cli_err(EX_IOERR, "%s/queue: %s", qdir, strerror(errno));
	if (l.n > 1)
		qsort(l.ids, l.n, sizeof(char *), cmp_ids);
	for (i = 0; i < l.n; i++) {
		struct spool_msg *m;

		if (spool_open(qdir, l.ids[i], &m) < 0)
			continue;	/* delivered meanwhile, or corrupt (moved aside) */
		print_msg(m);
		spool_msg_free(&m);
	}
	qlist_free(&l);
	return 0;
}

static int
queue_flush(const char *qdir)
{
	char	*path = xasprintf("%s/flush", qdir);
	int	 fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		int rc = cli_err(EX_IOERR, "%s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	(void)!write(fd, "flush\n", 6);
	close(fd);	/* IN_CLOSE_WRITE wakes the daemon */
	free(path);
	return 0;
}

static int
queue_delete(const char *qdir, const char *what)
{
	struct qlist	 l = { NULL, 0 };
	size_t		 i;
	int		 rc = 0;

	if (strcmp(what, "ALL") == 0) {
		if (spool_list(qdir, collect, &l) < 0)
			return cli_err(EX_IOERR, "%s/queue: %s", qdir, strerror(errno));
	} else {
		char *p;

		if (!spool_qid_valid(what, strlen(what)))
			return cli_err(EX_DATAERR, "not a queue ID: %s", what);
		p = xasprintf("%s/queue/%s", qdir, what);
		if (access(p, F_OK) != 0) {
			free(p);
			return cli_err(EX_NOINPUT, "no message %s in the queue", what);
		}
		free(p);
		collect(what, &l);
	}
	for (i = 0; i < l.n; i++) {
		if (spool_remove(qdir, l.ids[i]) < 0)
			rc = cli_err(EX_IOERR, "%s: %s", l.ids[i], strerror(errno));
		else
			fprintf(stderr, "letterbox: %s: deleted\n", l.ids[i]);
	}
	qlist_free(&l);
	return rc;
}

int
cmd_queue(struct cli *c, int argc, char **argv)
{
	struct conf	*conf;
	const char	*qdir;

	if (argc < 2)
		return cli_usage("queue");
	if ((conf = cli_conf(c)) == NULL)
		return EX_CONFIG;
	if (cli_become_owner(conf) < 0)
		return EX_NOPERM;
	qdir = conf_str(conf, CK_QUEUE_DIRECTORY);
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return queue_list(qdir);
	if (strcmp(argv[1], "flush") == 0 && argc == 2)
		return queue_flush(qdir);
	if (strcmp(argv[1], "delete") == 0 && argc == 3)
		return queue_delete(qdir, argv[2]);
	return cli_usage("queue");
}
