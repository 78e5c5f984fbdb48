/*
 * The directory: hosted domains, mailboxes, forwardings, transports and
 * password hashes, over the seed schema (INTERFACE.md):
 *	domains(domain)  forwardings(source, destination)
 *	users(email, password)  transport(domain, transport)
 * One interface, backends by the `database` key (sqlite:, mysql://,
 * postgresql://).  Queries are parameterized, and lookups may be replaced
 * by Postfix-style *_query templates from the config; nothing is cached, so a row inserted by another process is
 * seen by the next lookup.  Lookups fold the case of the domain always and
 * of the local part unless localpart_case_sensitive = yes.
 *
 * A struct directory is one connection and is NOT thread-safe: each thread
 * uses its own (dir_thread() gives the calling thread's).  Lookup results
 * are allocated and owned by the caller.  DIR_TEMPFAIL means the backend
 * could not answer (locked, down, I/O error): callers turn it into a 4xx.
 */
#ifndef LB_DIRECTORY_H
#define LB_DIRECTORY_H

#include <stdbool.h>
#include <stdint.h>

struct conf;
struct directory;

enum dir_result { DIR_FOUND, DIR_NOTFOUND, DIR_TEMPFAIL };

/* Admin write results. */
enum dir_wresult { DIR_W_OK, DIR_W_EXISTS, DIR_W_NOTFOUND, DIR_W_INVALID, DIR_W_FAIL,
	DIR_W_INUSE,		/* domain del: users or forwardings of it remain */
};

/*
 * Open per the conf's `database`; NULL with *err_r (allocated) on failure.
 * dir_open creates an empty SQLite file when missing (init);
 * dir_open_existing refuses a missing one (admin verbs, the daemon), so a
 * typo in `database` does not leave an empty database behind.
 */
struct directory *dir_open(const struct conf *c, char **err_r);
struct directory *dir_open_existing(const struct conf *c, char **err_r);
void		 dir_close(struct directory **d);

/*
 * Create the seed tables (and letterbox's own, if any) when missing.  Used by
 * `init`; a database that has only the seed tables works without this.
 */
int		 dir_create_schema(struct directory *d, char **err_r);

/*
 * The calling thread's handle for the current conf (conf_current()), opened
 * on first use and reopened when the conf changes; NULL if it cannot be
 * opened (logged), which callers treat as DIR_TEMPFAIL.
 */
struct directory *dir_thread(void);
/* Close the calling thread's handle now (thread or daemon exit); harmless when none. */
void		 dir_thread_close(void);

/* Lookups.  domain/addr as received (any case; U-labels are converted). */
enum dir_result	 dir_domain_hosted(struct directory *d, const char *domain);
/* Maildir path relative to virtual_mailbox_base: "example.com/sales/". */
enum dir_result	 dir_mailbox(struct directory *d, const char *addr, char **maildir_r);
/* forwardings.destination for exactly this source ("a@b" or "@b"): comma-separated. */
enum dir_result	 dir_forward(struct directory *d, const char *source, char **dest_r);
enum dir_result	 dir_transport(struct directory *d, const char *domain, char **transport_r);
/*
 * The mailbox's own quota from quota_query (Postfix's
 * virtual_mailbox_limit_maps; Postfix/Courier guides keep it in
 * users.quota): DIR_FOUND with *bytes_r (0 = no limit), DIR_NOTFOUND when
 * no query is set, no row came back or its value is NULL or empty (the
 * caller then uses virtual_mailbox_limit; a value that does not parse is
 * logged and treated so too), DIR_TEMPFAIL.
 */
enum dir_result	 dir_quota(struct directory *d, const char *addr, uint64_t *bytes_r);
/* The limit to enforce: dir_quota's when FOUND, else dflt (virtual_mailbox_limit). */
uint64_t	 dir_quota_limit(struct directory *d, const char *addr, uint64_t dflt);
/*
 * A quota value: "10485760", "10485760S" or Courier's "10485760S,1000C"
 * (the count is not enforced).  1 with *bytes_r, 0 for "" (none given),
 * -1 when it does not parse.
 */
int		 dir_quota_parse(const char *s, uint64_t *bytes_r);

/* users.password for the login (an address). */
enum dir_result	 dir_password(struct directory *d, const char *login, char **hash_r);
enum dir_result	 dir_set_password(struct directory *d, const char *login, const char *hash, char **err_r);

/*
 * Admin writes: validate, then write in one transaction; on any error
 * nothing is written and *err_r (allocated) says why.
 */
enum dir_wresult dir_domain_add(struct directory *d, const char *domain, char **err_r);
enum dir_wresult dir_domain_del(struct directory *d, const char *domain, char **err_r);
enum dir_wresult dir_user_add(struct directory *d, const char *email, const char *hash, char **err_r);
enum dir_wresult dir_user_del(struct directory *d, const char *email, char **err_r);
enum dir_wresult dir_forward_add(struct directory *d, const char *source, const char *dest, char **err_r);
enum dir_wresult dir_forward_del(struct directory *d, const char *source, char **err_r);
enum dir_wresult dir_transport_set(struct directory *d, const char *domain, const char *transport, char **err_r);
enum dir_wresult dir_transport_del(struct directory *d, const char *domain, char **err_r);

/*
 * Check a transport value (what we implement, Postfix syntax): smtp: or
 * relay: with an optional next hop host, host:port, [host] or [host]:port;
 * virtual:, local:, discard:[text], error:[text].  Returns 0 with *norm_r
 * (allocated; name lower case, host in A-label form) or -1 with *err_r static.
 */
int		 dir_transport_normalize(const char *t, char **norm_r, const char **err_r);

/* Lists: row() is called per row with ncols strings; 0, or -1 with *err_r. */
typedef void	 dir_row_fn(void *arg, const char *const *cols, int ncols);
int		 dir_domain_list(struct directory *d, dir_row_fn *row, void *arg, char **err_r);
int		 dir_user_list(struct directory *d, const char *domain, dir_row_fn *row, void *arg, char **err_r);
int		 dir_forward_list(struct directory *d, dir_row_fn *row, void *arg, char **err_r);
int		 dir_transport_list(struct directory *d, dir_row_fn *row, void *arg, char **err_r);

/*
 * `user passwd`: as dir_set_password, with admin results: DIR_W_OK,
 * DIR_W_NOTFOUND, DIR_W_INVALID (bad input, or the hash does not fit
 * users.password: *err_r names the ALTER TABLE to run), DIR_W_FAIL.
 * dir_user_add and dir_set_password refuse a hash wider than the column
 * the same way (dir_set_password: DIR_TEMPFAIL) -- never store a cut hash.
 */
enum dir_wresult dir_user_passwd(struct directory *d, const char *email, const char *hash, char **err_r);

/*
 * For `config check`: does the database answer, is users.password wide
 * enough for modern hashes (the classic schema's varchar(20) holds only a
 * DES crypt), does every *_query override run?  warn(arg, msg) once per
 * finding (msg is one line, borrowed for the call); returns the count.
 */
typedef void	 dir_warn_fn(void *arg, const char *msg);
int		 dir_check(struct directory *d, dir_warn_fn *warn, void *arg);

#endif
