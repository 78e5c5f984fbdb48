/*
 * Per-lookup SQL overrides in Postfix's style (mysql_table(5)):
 *	mailbox_query = SELECT maildir FROM mailbox WHERE username = '%s'
 * turned into the dialect's placeholders and a list of bound arguments:
 * %s (the whole key), %u (its local part), %d (its domain) never reach the
 * SQL text.  A quoted '%s' becomes one placeholder; text around an escape
 * inside quotes ('%u@example.com') becomes a concatenation of literal and
 * placeholder.  Also the ?N -> ? rewriting of our own fixed statements for
 * dialects without numbered placeholders (MySQL).  Pure functions, no I/O.
 */
#ifndef LB_DIRECTORY_SQLQUERY_H
#define LB_DIRECTORY_SQLQUERY_H

#include <stdbool.h>
#include <stddef.h>

#define SQLQ_MAXARGS	16	/* placeholders in one query */

enum sqlq_dialect {
	SQLQ_SQLITE,	/* ? placeholders, 'a' || ? */
	SQLQ_MYSQL,	/* ? placeholders, CONCAT('a', ?), "..." is a string too, \ escapes */
	SQLQ_PGSQL,	/* $1 $2 ..., 'a' || $1 */
};

struct sqlq {
	char	*sql;			/* dialect text with placeholders */
	int	 nargs;
	char	 args[SQLQ_MAXARGS];	/* per placeholder in order: 's', 'u' or 'd' */
};

/*
 * Compile a template.  Returns a new query (free with sqlq_free) or NULL
 * with *err_r allocated: an unterminated quote, an unknown %x (%% is a
 * literal '%'), a '?' or (PostgreSQL) $N outside quotes, more than
 * SQLQ_MAXARGS escapes, or an escape inside a double-quoted identifier
 * (not MySQL, where "..." is a string).
 */
struct sqlq	*sqlq_compile(const char *tmpl, enum sqlq_dialect dialect, char **err_r);
void		 sqlq_free(struct sqlq **q);

/*
 * The values for key ("local@domain", "@domain" or a bare domain).  Fills
 * params[0..q->nargs-1] with pointers into bufs (caller's storage, valid as
 * long as bufs and key) and returns 0; returns 1 when Postfix would
 * suppress the query (no match): %u with an empty local part or %d with no
 * domain.  A bare name without '@' is all local part for %u, as in Postfix.
 */
struct sqlq_vals {
	char	*local;		/* allocated copies; sqlq_vals_clear frees */
	char	*domain;
};
int		 sqlq_bind(const struct sqlq *q, const char *key, struct sqlq_vals *v,
		    const char **params);
void		 sqlq_vals_clear(struct sqlq_vals *v);

/*
 * Rewrite numbered placeholders ?1 ?2 ... (outside quotes) to plain '?'.
 * map[i] gets the 0-based parameter index of the i-th placeholder, *n_r
 * their count.  Returns the allocated text, or NULL when a placeholder is
 * malformed or there are more than max.
 */
char		*sqlq_positional(const char *sql, int *map, int max, int *n_r);

#endif
