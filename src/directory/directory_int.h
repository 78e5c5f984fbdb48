/*
 * Private to src/directory/: what the directory's files (directory.c,
 * lookup.c, admin.c, check.c) share beyond the backend vtable (backend.h).
 */
#ifndef LB_DIRECTORY_INT_H
#define LB_DIRECTORY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "directory/backend.h"
#include "lib/buf.h"

#define DIR_DEST_MAX	65536	/* a forwarding's destination list, bytes */
#define DIR_SHOW	160	/* user input quoted in an error message */

/* The config keys of the override queries, by enum dir_query (directory.c). */
extern const char *const dir_query_keys[DIR_Q_COUNT];

/* Replace *err_r (when err_r is not NULL) with the formatted message. */
void		 dir_seterr(char **err_r, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* User input shown in an error line: escaped, cut; buf has DIR_SHOW bytes. */
const char	*dir_show(char *buf, const char *s);

/* ---- lookup.c */

/*
 * The lookup key of an address or (catch_all) "@domain": q is the query
 * parameter, all lower case; under case sensitivity exact holds the local
 * part that a row must match byte for byte (SQL only folded it).
 */
struct lkey {
	char	*q;
	char	*exact;		/* "Local@domain" or NULL */
};

void		 lkey_clear(struct lkey *k);
/* The key of address s, or of "@domain" when catch_all; 0 or -1 (not an address). */
int		 lkey_make(struct directory *d, const char *s, bool catch_all, struct lkey *k);

/* The first row whose first column matches the key (see struct lkey). */
struct pick {
	const char	*exact;
	size_t		 exact_len;	/* of exact's local part */
	bool		 found;
	char		*col0, *col1;
};

void		 pick_clear(struct pick *p);
/* Run a *_GET for key k; DIR_X_* with *err_r. */
enum dir_exec	 dir_get(struct directory *d, enum dir_stmt s, const struct lkey *k, struct pick *p,
		    char **err_r);

/*
 * An override query's rows (struct dir_query): the first column of the
 * first row, or with join of every row, joined by ',' as Postfix does for
 * a multi-row virtual_alias_maps answer.
 */
struct qacc {
	bool		 join;
	bool		 found;
	bool		 overflow;
	struct buf	 val;
};

/* Run the override for key; DIR_X_* with *err_r, and the answer in a. */
enum dir_exec	 dir_query_run(struct directory *d, enum dir_query which, const char *key,
		    struct qacc *a, char **err_r);

/* May this local part name a Maildir directory (no '/', ".", "..")? */
bool		 maildir_name_ok(const char *local, size_t len);

#endif
