/*
 * `config check` for the directory (dir_check, see directory.h): every
 * lookup or its *_query override runs once against a key no install
 * hosts, and users.password must be wide enough for modern hashes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "directory/directory_int.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

#define DIR_HASH_MODERN	106	/* longest hash we expect to write: SHA-512 crypt; yescrypt is 73 */

/* ---------------------------------------------------------------- check */

static void
warnf(dir_warn_fn *warn, void *arg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
warnf(dir_warn_fn *warn, void *arg, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn(arg, msg);
}

static void
nop_row(void *arg, const char *const *cols, int ncols)
{
}

int
dir_check(struct directory *d, dir_warn_fn *warn, void *arg)
{
	/* Each lookup once, with a key no install hosts: it proves the SQL runs. */
	static const struct {
		enum dir_query	 q;
		enum dir_stmt	 s;
		const char	*table, *key;
	} probes[] = {
		{ DIR_Q_DOMAIN, DIR_S_DOMAIN_GET, "domains", "letterbox-check.invalid" },
		{ DIR_Q_PASSWORD, DIR_S_USER_GET, "users", "postmaster@letterbox-check.invalid" },
		{ DIR_Q_MAILBOX, DIR_S_USER_GET, "users", "postmaster@letterbox-check.invalid" },
		{ DIR_Q_FORWARD, DIR_S_FORWARD_GET, "forwardings", "postmaster@letterbox-check.invalid" },
		{ DIR_Q_TRANSPORT, DIR_S_TRANSPORT_GET, "transport", "letterbox-check.invalid" },
		{ DIR_Q_QUOTA, DIR_S_USER_GET, "users", "postmaster@letterbox-check.invalid" },
	};
	struct qacc	 a;
	const char	*params[1];
	char		*err = NULL;
	long		 width = 0;
	size_t		 i;
	int		 n = 0;
	enum dir_exec	 x;

	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		if (d->q[probes[i].q] != NULL) {
			x = dir_query_run(d, probes[i].q, probes[i].key, &a, &err);
			buf_clear(&a.val);
			if (x != DIR_X_OK) {
				warnf(warn, arg, "database: %s does not run: %s",
				    dir_query_keys[probes[i].q], err);
				n++;
			}
		} else {
			params[0] = probes[i].key;
			x = d->be->exec(d, probes[i].s, params, 1, nop_row, NULL, &err);
			if (x == DIR_X_TEMP) {
				warnf(warn, arg, "database: does not answer: %s", err);
				n++;
			} else if (x != DIR_X_OK) {
				warnf(warn, arg, "database: table %s: %s", probes[i].table, err);
				n++;
			}
		}
		xfree(&err);
		/* A server that is down fails every probe: say it once. */
		if (x == DIR_X_TEMP)
			return n;
	}
	if (d->be->password_width != NULL) {
		if (d->be->password_width(d, &width, &err) < 0) {
			warnf(warn, arg, "database: cannot read the width of users.password: %s", err);
			xfree(&err);
			n++;
		} else if (width > 0 && width < DIR_HASH_MODERN) {
			warnf(warn, arg, "database: users.password is only %ld characters wide:"
			    " enough for old DES crypt hashes, too narrow for modern ones (yescrypt"
			    " needs 73, SHA-512 crypt 106); user add, user passwd and"
			    " password_upgrade will refuse until you run: %s", width,
			    d->be->widen_sql);
			n++;
		}
	}
	return n;
}
