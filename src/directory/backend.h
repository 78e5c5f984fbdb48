/*
 * Private to src/directory/: the backend vtable.  directory.c, lookup.c and
 * admin.c own the logic (validation, case folding, transactions, what a
 * row means); a backend owns a connection and the SQL text of its dialect for a fixed set
 * of statements, each taking text parameters ?1, ?2 ... in order.  A new
 * backend (mysql.c, pgsql.c) supplies one struct dir_backend and its row of
 * SQL; nothing else changes.
 */
#ifndef LB_DIRECTORY_BACKEND_H
#define LB_DIRECTORY_BACKEND_H

#include <stdbool.h>

#include "directory/directory.h"
#include "directory/sqlquery.h"

/*
 * The statements.  Every key compare is lower(col) = ?1 with ?1 already in
 * lookup form (lower case, A-label domain), so rows typed by hand in any case
 * match.  *_BY_STORED statements name the exact stored value that a *_GET
 * returned, so a write touches exactly the row the check saw.
 * DOM_SUFFIX: ?1 is "@domain"; rows whose lower(col) ends with it.
 */
enum dir_stmt {
	DIR_S_BEGIN,		/* a write transaction that takes the write lock now */
	DIR_S_COMMIT,
	DIR_S_ROLLBACK,
	DIR_S_DOMAIN_GET,	/* -> domain */
	DIR_S_USER_GET,		/* -> email, password */
	DIR_S_FORWARD_GET,	/* -> source, destination */
	DIR_S_TRANSPORT_GET,	/* -> domain, transport */
	DIR_S_DOMAIN_INS,	/* domain */
	DIR_S_DOMAIN_DEL,	/* stored domain */
	DIR_S_DOMAIN_REFS,	/* DOM_SUFFIX -> count of users, count of forwardings */
	DIR_S_USER_INS,		/* email, password */
	DIR_S_USER_DEL,		/* stored email */
	DIR_S_USER_SETPW,	/* stored email, password */
	DIR_S_FORWARD_INS,	/* source, destination */
	DIR_S_FORWARD_DEL,	/* stored source */
	DIR_S_TRANSPORT_INS,	/* domain, transport */
	DIR_S_TRANSPORT_UPD,	/* stored domain, transport */
	DIR_S_TRANSPORT_DEL,	/* stored domain */
	DIR_S_DOMAIN_LIST,	/* -> domain */
	DIR_S_USER_LIST,	/* -> email */
	DIR_S_USER_LIST_DOM,	/* DOM_SUFFIX -> email */
	DIR_S_FORWARD_LIST,	/* -> source, destination */
	DIR_S_TRANSPORT_LIST,	/* -> domain, transport */
	DIR_S_COUNT
};

/*
 * Lookups an admin may override with a Postfix-style query in the config
 * (domain_query, ...): the first column of the first row is the answer
 * (forward_query: of every row, joined with ',').
 */
enum dir_query {
	DIR_Q_DOMAIN,		/* %s = domain; any row: hosted */
	DIR_Q_MAILBOX,		/* %s = address; -> Maildir path below virtual_mailbox_base, or "" */
	DIR_Q_FORWARD,		/* %s = address or @domain; -> destinations */
	DIR_Q_TRANSPORT,	/* %s = domain; -> transport */
	DIR_Q_PASSWORD,		/* %s = login; -> crypt hash */
	DIR_Q_QUOTA,		/* %s = address; -> bytes, "NNNS[,NNNC]" (Courier), 0 = none */
	DIR_Q_COUNT
};

/* Backend result of one statement. */
enum dir_exec { DIR_X_OK = 0, DIR_X_TEMP = -1, DIR_X_PERM = -2 };

struct dir_backend {
	const char	*name;		/* for messages: "sqlite" */
	/* Does the `database` value name this backend? */
	bool		(*match)(const char *database);
	/*
	 * Connect; on success set d->priv and return 0.  create: may create an
	 * empty database (init); otherwise a missing one is an error.
	 */
	int		(*open)(struct directory *d, const char *database, const char *confdir,
			    bool create, char **err_r);
	void		(*close)(struct directory *d);
	int		(*create_schema)(struct directory *d, char **err_r);
	/*
	 * Run statement s with n text parameters; row() (may be NULL) is called
	 * for each result row with its columns (a NULL column is "").  Returns
	 * DIR_X_OK, or DIR_X_TEMP (busy, locked, down, I/O) / DIR_X_PERM (schema,
	 * constraint) with *err_r allocated.
	 */
	enum dir_exec	(*exec)(struct directory *d, enum dir_stmt s, const char *const *params, int n,
			    dir_row_fn *row, void *arg, char **err_r);

	/* The placeholder dialect of exec_sql's text (sqlquery.h). */
	enum sqlq_dialect dialect;
	/*
	 * Run an override query: sql (compiled by sqlq_compile for this
	 * dialect; the same text every time for a given slot, so it may be
	 * prepared once per connection under that slot) with n text params.
	 * Results and errors as exec().
	 */
	enum dir_exec	(*exec_sql)(struct directory *d, enum dir_query slot, const char *sql,
			    const char *const *params, int n, dir_row_fn *row, void *arg, char **err_r);
	/*
	 * The declared width of users.password in characters: 0 with
	 * *width_r = 0 when unlimited or not enforced (SQLite), -1 with *err_r
	 * when it cannot be read.  NULL: never enforced.
	 */
	int		(*password_width)(struct directory *d, long *width_r, char **err_r);
	/* The statement that widens users.password, for messages. */
	const char	*widen_sql;
};

struct directory {
	const struct dir_backend *be;
	void		*priv;		/* the backend's connection state */
	bool		 case_sensitive;	/* localpart_case_sensitive */
	struct sqlq	*q[DIR_Q_COUNT];	/* override queries, NULL: the built-in lookup */
	/*
	 * For open() only: the SQL password from database_password_file (NULL
	 * when unset); directory.c wipes and frees it after open.
	 */
	const char	*password;
};

/* Connection timeouts of the network backends: a dead server costs seconds, not minutes. */
#define DIR_CONNECT_TIMEOUT	3	/* seconds */
#define DIR_IO_TIMEOUT		5	/* seconds, one statement's round trip */
#define DIR_RETRY_INTERVAL	1	/* seconds between reconnect attempts */

extern const struct dir_backend dir_backend_sqlite;
extern const struct dir_backend dir_backend_mysql;
extern const struct dir_backend dir_backend_pgsql;

#endif
