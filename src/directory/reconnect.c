/*
 * The network backends' reconnect policy; see reconnect.h (and README,
 * "How it behaves", for what an admin sees).
 */
#include "directory/reconnect.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "lib/xmalloc.h"

#define DIR_HUNG_SECONDS	2	/* a failure slower than this: hung, not restarted */

/* Successful connects in the process: a handle that failed before the latest may retry now. */
static atomic_ulong dir_connects;

int
dir_reconnect_due(const struct dir_reconnect *rc, const char *label, char **err_r)
{
	if (rc->last_fail != 0 && time(NULL) - rc->last_fail < DIR_RETRY_INTERVAL &&
	    atomic_load(&dir_connects) == rc->fail_gen) {
		*err_r = xasprintf("%s (retrying)", rc->last_err != NULL ? rc->last_err : label);
		return -1;
	}
	return 0;
}

void
dir_reconnect_ok(struct dir_reconnect *rc)
{
	rc->last_fail = 0;
	xfree(&rc->last_err);
	atomic_fetch_add(&dir_connects, 1);
}

void
dir_reconnect_failed(struct dir_reconnect *rc, const char *msg)
{
	rc->last_fail = time(NULL);
	rc->fail_gen = atomic_load(&dir_connects);
	free(rc->last_err);
	rc->last_err = xstrdup(msg);
}

enum dir_exec
dir_reconnect_none(int which, enum dir_exec x, char **err_r)
{
	if (which == DIR_S_ROLLBACK) {
		xfree(err_r);
		return DIR_X_OK;
	}
	return x;
}

bool
dir_reconnect_lost(struct dir_reconnect *rc, int which, int attempt, bool was_tx, time_t t0,
    enum dir_exec *x_r, char **err_r)
{
	if (which == DIR_S_ROLLBACK) {
		*x_r = dir_reconnect_none(which, DIR_X_TEMP, err_r);
		return false;
	}
	if (attempt > 0 || was_tx || which == DIR_S_COMMIT || time(NULL) - t0 >= DIR_HUNG_SECONDS) {
		dir_reconnect_failed(rc, *err_r);
		*x_r = DIR_X_TEMP;
		return false;
	}
	xfree(err_r);
	rc->last_fail = 0;	/* reconnect at once, once */
	return true;
}

void
dir_reconnect_clear(struct dir_reconnect *rc)
{
	xfree(&rc->last_err);
	rc->last_fail = 0;
}
