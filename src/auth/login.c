/*
 * Asynchronous password check on the worker pool; see login.h.  The
 * request is shared by the worker (which fills in the result fields only)
 * and the loop (which owns everything else); cancelling only marks it, the
 * pool's completion on the loop thread frees it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/login.h"
#include "auth/passwd.h"
#include "directory/directory.h"
#include "lib/addr.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/xmalloc.h"
#include "net/server.h"

struct auth_req {
	/* Set by the caller, read by the worker. */
	char			*login;
	char			*password;	/* wiped and freed by the worker */
	char			*rip;
	char			*service;
	const struct conf	*conf;		/* conf_current() at submit; kept alive by conf.c */
	/* Set by the worker. */
	enum auth_result	 result;
	char			*canonical;
	/* Loop thread only. */
	auth_done_fn		*done;
	void			*arg;
	bool			 cancelled;
};

/*
 * A hash to check unknown users' passwords against, so that "no such user"
 * takes as long as "wrong password" and timing does not reveal which
 * addresses exist.
 */
static pthread_once_t	 dummy_once = PTHREAD_ONCE_INIT;
static char		*dummy_hash;

static void
dummy_init(void)
{
	dummy_hash = passwd_hash("letterbox timing equaliser");
}

static void
waste_time(const char *password)
{
	pthread_once(&dummy_once, dummy_init);
	if (dummy_hash != NULL)
		(void)passwd_verify(password, dummy_hash, false);
}

static void
upgrade(struct auth_req *q, struct directory *d, const char *key)
{
	char	*h, *err = NULL;

	if ((h = passwd_hash(q->password)) == NULL) {
		log_warnx("auth: password upgrade user=%s: hashing failed", key);
		return;
	}
	if (dir_set_password(d, key, h, &err) != DIR_FOUND)
		log_warnx("auth: password upgrade user=%s failed: %s", key, err ? err : "unknown");
	else
		log_info("auth: password of user=%s upgraded to yescrypt", key);
	free(err);
	OPENSSL_cleanse(h, strlen(h));
	free(h);
}

static void
auth_work(void *arg)
{
	struct auth_req		*q = arg;
	const struct conf	*c = q->conf;
	struct directory	*d;
	char			*key = NULL, *hash = NULL;
	enum dir_result		 dr;

	q->result = AUTH_FAIL;
	if (c == NULL)
		c = conf_current();
	key = addr_lookup_key(q->login, c != NULL && conf_bool(c, CK_LOCALPART_CASE_SENSITIVE));
	if (key == NULL) {
		waste_time(q->password);
		goto out;
	}
	if ((d = dir_thread()) == NULL) {
		q->result = AUTH_TEMPFAIL;
		goto out;
	}
	dr = dir_password(d, key, &hash);
	if (dr == DIR_TEMPFAIL) {
		q->result = AUTH_TEMPFAIL;
		goto out;
	}
	if (dr == DIR_NOTFOUND || hash == NULL) {
		waste_time(q->password);
		goto out;
	}
	switch (passwd_verify(q->password, hash,
	    c != NULL && conf_bool(c, CK_ALLOW_PLAINTEXT_PASSWORDS))) {
	case PASSWD_MATCH:
		q->result = AUTH_OK;
		q->canonical = key;
		key = NULL;
		if (c != NULL && conf_bool(c, CK_PASSWORD_UPGRADE) && passwd_needs_upgrade(hash))
			upgrade(q, d, q->canonical);
		break;
	case PASSWD_UNSUPPORTED:
		log_warnx("auth: user=%s has a password hash we cannot check", key);
		break;
	case PASSWD_MISMATCH:
		break;
	}
out:
	if (hash != NULL) {
		OPENSSL_cleanse(hash, strlen(hash));
		free(hash);
	}
	free(key);
	OPENSSL_cleanse(q->password, strlen(q->password));
	xfree(&q->password);
}

static void
auth_req_free(struct auth_req *q)
{
	if (q->password != NULL) {
		OPENSSL_cleanse(q->password, strlen(q->password));
		free(q->password);
	}
	free(q->login);
	free(q->rip);
	free(q->service);
	free(q->canonical);
	free(q);
}

static void
auth_done(void *arg)
{
	struct auth_req *q = arg;

	if (!q->cancelled) {
		if (q->result == AUTH_TEMPFAIL)
			log_warnx("auth: login tempfail service=%s rip=%s: directory unavailable",
			    q->service, q->rip);
		q->done(q->arg, q->result, q->result == AUTH_OK ? q->canonical : NULL);
	}
	auth_req_free(q);
}

struct auth_req *
auth_login_async(struct server *srv, const char *login, const char *password,
    const char *client_addr, const char *service, auth_done_fn *done, void *arg)
{
	struct auth_req *q = xcalloc(1, sizeof(*q));

	q->login = xstrdup(login);
	q->password = xstrdup(password);
	q->rip = xstrdup(client_addr != NULL ? client_addr : "");
	q->service = xstrdup(service != NULL ? service : "");
	q->conf = conf_current();
	q->done = done;
	q->arg = arg;
	pool_submit(srv->pool, auth_work, auth_done, q);
	return q;
}

void
auth_cancel(struct auth_req **r)
{
	if (r == NULL || *r == NULL)
		return;
	(*r)->cancelled = true;
	*r = NULL;
}

void
auth_log_failure(const char *sid, const char *service, const char *rip, const char *method,
    const char *user, size_t ulen)
{
	char esc[200];

	log_escape(esc, sizeof(esc), user != NULL ? user : "", user != NULL ? ulen : 0);
	log_info("auth sid=%s: login failed service=%s rip=%s method=%s user=\"%s\"",
	    sid, service, rip, method, esc);
}
