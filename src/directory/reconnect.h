/*
 * Private to src/directory/: the reconnect policy of the network backends
 * (mysql.c, pgsql.c), in one place so that both behave the same:
 *
 * - A connection that dies (server restarted, failover) is reopened and
 *   the statement retried once, at once, when that is safe: outside a
 *   transaction (inside one the transaction is gone with the
 *   connection), not for COMMIT (it may have happened), not on a second
 *   attempt, and only when the failure came fast: a server that took
 *   seconds to fail is hung, not restarted, and a second wait would
 *   double the stall.
 * - Otherwise the statement fails with DIR_X_TEMP, and while the server
 *   stays down every statement fails at once ("... (retrying)") and a
 *   reconnect is tried at most once every DIR_RETRY_INTERVAL seconds,
 *   or at once when another thread's handle has connected since this
 *   one failed: the server is back, so no thread waits out its interval.
 * - ROLLBACK without a connection succeeds: there is nothing to undo.
 *
 * The backend owns the connection; it tells the policy what happened.
 */
#ifndef LB_DIRECTORY_RECONNECT_H
#define LB_DIRECTORY_RECONNECT_H

#include <stdbool.h>
#include <time.h>

#include "directory/backend.h"

struct dir_reconnect {
	time_t	 last_fail;	/* of the last failed attempt, 0: connect at once */
	char	*last_err;	/* its message, or NULL */
	unsigned long fail_gen;	/* dir_reconnect_ok()s in the process before last_fail */
};

/*
 * Before connecting: 0 when an attempt is due, or -1 with *err_r (the
 * last error, or label, with " (retrying)") while the last failure is
 * younger than DIR_RETRY_INTERVAL.
 */
int		 dir_reconnect_due(const struct dir_reconnect *rc, const char *label, char **err_r);
/* A connect succeeded. */
void		 dir_reconnect_ok(struct dir_reconnect *rc);
/* A connect failed with msg (copied): the next attempt waits. */
void		 dir_reconnect_failed(struct dir_reconnect *rc, const char *msg);

/*
 * Statement which (a dir_stmt, or -1 for others) found no connection and
 * none could be made (x, *err_r): what the caller returns.
 */
enum dir_exec	 dir_reconnect_none(int which, enum dir_exec x, char **err_r);

/*
 * Statement which, started at t0 on attempt (0 first), lost its
 * connection, which the backend has closed; was_tx: a transaction was
 * open.  Returns true with *err_r freed: reconnect and run it again now.
 * Returns false with *x_r set (and *err_r kept) for the caller to return;
 * a DIR_X_TEMP is recorded so that reconnects wait.
 */
bool		 dir_reconnect_lost(struct dir_reconnect *rc, int which, int attempt, bool was_tx,
		    time_t t0, enum dir_exec *x_r, char **err_r);

/* Free what rc holds (the backend's close). */
void		 dir_reconnect_clear(struct dir_reconnect *rc);

#endif
