/*
 * The network backends' reconnect policy (src/directory/reconnect.h):
 * when a lost statement is retried at once, when it fails and makes
 * reconnects wait, and ROLLBACK without a connection.  Table-driven; the
 * MariaDB/PostgreSQL e2e tests (test_sqlbackends.py) show it end to end.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "directory/reconnect.h"
#include "lib/xmalloc.h"
#include "t.h"

static void
test_lost(void)
{
	static const struct {
		int	 which, attempt;
		bool	 was_tx;
		int	 age;		/* seconds since the statement started */
		bool	 retry;
		enum dir_exec x;	/* when not retried */
	} cases[] = {
		{ DIR_S_USER_GET, 0, false, 0, true, DIR_X_OK },	/* restarted server */
		{ -1, 0, false, 1, true, DIR_X_OK },			/* override query */
		{ DIR_S_USER_GET, 1, false, 0, false, DIR_X_TEMP },	/* only once */
		{ DIR_S_USER_INS, 0, true, 0, false, DIR_X_TEMP },	/* transaction gone */
		{ DIR_S_COMMIT, 0, false, 0, false, DIR_X_TEMP },	/* may have committed */
		{ DIR_S_DOMAIN_GET, 0, false, 2, false, DIR_X_TEMP },	/* hung server */
		{ DIR_S_DOMAIN_GET, 0, false, 30, false, DIR_X_TEMP },
		{ DIR_S_ROLLBACK, 0, true, 0, false, DIR_X_OK },	/* nothing to undo */
		{ DIR_S_ROLLBACK, 1, false, 9, false, DIR_X_OK },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dir_reconnect	 rc = { 0, NULL, 0 };
		enum dir_exec		 x = DIR_X_PERM;
		char			*err = xstrdup("db: server has gone away");
		bool			 retry;

		retry = dir_reconnect_lost(&rc, cases[i].which, cases[i].attempt,
		    cases[i].was_tx, time(NULL) - cases[i].age, &x, &err);
		if (!t_ok(retry == cases[i].retry))
			printf("  case %zu\n", i);
		if (retry) {
			t_ok(err == NULL);
			t_int(rc.last_fail, 0);		/* reconnect at once */
		} else {
			t_int(x, cases[i].x);
			if (x == DIR_X_TEMP) {
				/* Recorded: the next connect waits and says why. */
				t_str(err, "db: server has gone away");
				t_ok(rc.last_fail != 0);
				t_str(rc.last_err, "db: server has gone away");
			} else {
				t_ok(err == NULL);
				t_int(rc.last_fail, 0);
			}
		}
		free(err);
		dir_reconnect_clear(&rc);
	}
}

static void
test_due(void)
{
	struct dir_reconnect	 rc = { 0, NULL, 0 };
	char			*err = NULL;

	/* Never failed: connect now. */
	t_int(dir_reconnect_due(&rc, "db", &err), 0);
	t_ok(err == NULL);

	/* Just failed: wait, and say the last error. */
	dir_reconnect_failed(&rc, "db: Connection refused");
	t_int(dir_reconnect_due(&rc, "db", &err), -1);
	t_str(err, "db: Connection refused (retrying)");
	xfree(&err);

	/* Failed without a message: the label. */
	xfree(&rc.last_err);
	t_int(dir_reconnect_due(&rc, "mysql://u@h/db", &err), -1);
	t_str(err, "mysql://u@h/db (retrying)");
	xfree(&err);

	/* The interval has passed: try again. */
	rc.last_fail = time(NULL) - DIR_RETRY_INTERVAL;
	t_int(dir_reconnect_due(&rc, "db", &err), 0);
	t_ok(err == NULL);

	/* Success forgets the failure. */
	dir_reconnect_failed(&rc, "db: down");
	dir_reconnect_ok(&rc);
	t_int(rc.last_fail, 0);
	t_ok(rc.last_err == NULL);
	t_int(dir_reconnect_due(&rc, "db", &err), 0);
	dir_reconnect_clear(&rc);
}

/* Another thread's handle got through: the server is back, retry at once. */
static void
test_due_after_other_connect(void)
{
	struct dir_reconnect	 a = { 0, NULL, 0 }, b = { 0, NULL, 0 };
	char			*err = NULL;

	dir_reconnect_failed(&a, "db: down");
	dir_reconnect_failed(&b, "db: down");
	t_int(dir_reconnect_due(&a, "db", &err), -1);
	xfree(&err);
	dir_reconnect_ok(&b);
	t_int(dir_reconnect_due(&a, "db", &err), 0);
	t_ok(err == NULL);
	/* It fails again: now it waits its interval like before. */
	dir_reconnect_failed(&a, "db: down again");
	t_int(dir_reconnect_due(&a, "db", &err), -1);
	t_str(err, "db: down again (retrying)");
	xfree(&err);
	dir_reconnect_clear(&a);
	dir_reconnect_clear(&b);
}

static void
test_none(void)
{
	char *err = xstrdup("db: Connection refused (retrying)");

	/* ROLLBACK with no connection: nothing to undo. */
	t_int(dir_reconnect_none(DIR_S_ROLLBACK, DIR_X_TEMP, &err), DIR_X_OK);
	t_ok(err == NULL);
	/* Anything else keeps its result and message. */
	err = xstrdup("db: Access denied");
	t_int(dir_reconnect_none(DIR_S_USER_GET, DIR_X_PERM, &err), DIR_X_PERM);
	t_str(err, "db: Access denied");
	t_int(dir_reconnect_none(-1, DIR_X_TEMP, &err), DIR_X_TEMP);
	free(err);
}

int
main(void)
{
	t_begin("reconnect");
	test_lost();
	test_due();
	test_due_after_other_connect();
	test_none();
	return t_end();
}
