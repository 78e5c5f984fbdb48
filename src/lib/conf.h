/*
 * The configuration: one `key = value` file in Postfix main.cf syntax
 * (# comments, a line starting with white space continues the previous one,
 * $key / ${key} expansion, $$ for a literal dollar).  Every key, its type,
 * default and one-line doc live in one table (conf_keys.c) that the parser,
 * `config check`, `config get` and the docs use.
 *
 * Values are stored expanded.  A struct conf is immutable after load, so
 * worker threads may read the one they were handed; SIGHUP swaps in a new one.
 */
#ifndef LB_CONF_H
#define LB_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/conf_ids.h"	/* enum conf_id: CK_<KEY>, generated from the table */

enum conf_type {
	CONF_STR,	/* free text (checked by the key's check function, if any) */
	CONF_BOOL,	/* yes | no */
	CONF_INT,	/* decimal integer within [min, max] */
	CONF_SIZE,	/* bytes: decimal, optional k/m/g suffix (1024-based) */
	CONF_TIME,	/* seconds: decimal with optional s/m/h/d/w suffix; bare = s */
};

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	const char	*def;		/* default, before expansion */
	int64_t		 min, max;	/* CONF_INT/SIZE/TIME bounds */
	/* Extra validation of the expanded value; returns NULL or an error text. */
	const char	*(*check)(const char *value);
	const char	*doc;
};

struct conf;

/* The table, in documentation order (index = enum conf_id); n_r (may be NULL) gets its length. */
const struct conf_key *conf_keys(unsigned *n_r);
const struct conf_key *conf_key_find(const char *name);

/*
 * Load and validate a file.  Returns a new conf, or NULL with *err_r set to
 * an allocated "PATH:LINE: message" (caller frees).  A missing key takes its
 * default; an unknown key, a bad value or an unknown $name is an error.
 */
struct conf	*conf_load(const char *path, char **err_r);
/* Defaults only, with config_directory = dir (for tests and `init`). */
struct conf	*conf_defaults(const char *dir);
void		 conf_free(struct conf **c);

/*
 * Typed getters, an array index each: the key is a CK_ constant, so a
 * misspelt key does not compile.
 */
const char	*conf_str(const struct conf *c, enum conf_id key);	/* borrowed */
bool		 conf_bool(const struct conf *c, enum conf_id key);
int64_t		 conf_int(const struct conf *c, enum conf_id key);	/* INT/SIZE/TIME */
bool		 conf_is_set(const struct conf *c, enum conf_id key);	/* in the file */
/* A key named at run time (`config get NAME`): false when there is none. */
bool		 conf_id_find(const char *name, enum conf_id *id_r);
const char	*conf_path(const struct conf *c);

/*
 * Rewrite PATH with key = value (replacing the key's logical line or
 * appending), atomically (temp + rename), after checking that the result
 * loads.  Returns 0, or -1 with *err_r allocated.
 */
int		 conf_set_file(const char *path, const char *key, const char *value, char **err_r);

/* Parse a CONF_TIME / CONF_SIZE text; 0 or -1. */
int		 conf_parse_time(const char *s, int64_t *v_r);
int		 conf_parse_size(const char *s, int64_t *v_r);

/* The daemon's current conf (set by serve, swapped on SIGHUP). */
const struct conf *conf_current(void);
void		 conf_set_current(struct conf *c);	/* takes ownership; frees the old */

#endif
