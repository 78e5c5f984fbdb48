/*
 * Private to src/directory/: the backend vtable.  directory.c owns the
 * logic (validation, case folding, transactions, what a row means); a
 * backend owns a connection and the SQL text of its dialect for a fixed set
 * of statements, each taking text parameters ?1, ?2 ... in order.  A new
 * backend (mysql.c, pgsql.c) supplies one struct dir_backend and its row of
 * SQL; nothing else changes.
 */
#ifndef LB_DIRECTORY_BACKEND_H
#define LB_DIRECTORY_BACKEND_H

#include <stdbool.h>

#include "directory/directory.h"

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
};

struct directory {
	const struct dir_backend *be;
	void		*priv;		/* the backend's connection state */
	bool		 case_sensitive;	/* localpart_case_sensitive */
};

extern const struct dir_backend dir_backend_sqlite;

#endif
