/*
 * Directory over SQLite: the seed schema, lookups with case folding and
 * catch-alls, rows inserted by hand through a second connection, admin
 * writes that change nothing on error, injection-shaped input, transports,
 * the per-thread handle, and DIR_TEMPFAIL when the database is locked,
 * broken or missing its tables.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "directory/backend.h"
#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "t.h"

static char	 tmpdir[] = "/tmp/lbtest-dir-XXXXXX";
static char	*dbpath;

/* A second connection, as the sqlite3 CLI or a web panel would have. */
static void
raw(const char *path, const char *sql)
{
	sqlite3	*db;
	char	*err = NULL;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		fatalx("open %s", path);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fatalx("raw sql %s: %s", sql, err);
	sqlite3_close(db);
}

static int
dump_row(void *arg, int n, char **vals, char **names)
{
	struct buf *b = arg;

	for (int i = 0; i < n; i++)
		if (buf_addf(b, "%s|", vals[i] ? vals[i] : "NULL") < 0)
			return 1;
	return buf_addc(b, '\n') < 0;
}

/* Every row of every table, in a fixed order: "nothing written" means this is unchanged. */
static char *
dump(void)
{
	static const char *const q[] = {
		"SELECT * FROM domains ORDER BY 1", "SELECT * FROM users ORDER BY 1",
		"SELECT * FROM forwardings ORDER BY 1", "SELECT * FROM transport ORDER BY 1",
	};
	struct buf	 b;
	sqlite3		*db;

	buf_init(&b, 1 << 20);
	if (sqlite3_open(dbpath, &db) != SQLITE_OK)
		fatalx("open");
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		if (sqlite3_exec(db, q[i], dump_row, &b, NULL) != SQLITE_OK)
			fatalx("dump: %s", sqlite3_errmsg(db));
		if (buf_adds(&b, "--\n") < 0)
			fatalx("dump too long");
	}
	sqlite3_close(db);
	return buf_take(&b, NULL);
}

static void
collect(void *arg, const char *const *cols, int ncols)
{
	struct buf *b = arg;

	for (int i = 0; i < ncols; i++)
		if (buf_addf(b, "%s%s", i ? "\t" : "", cols[i]) < 0)
			fatalx("collect");
	if (buf_addc(b, '\n') < 0)
		fatalx("collect");
}

static char *
list(struct directory *d, int (*fn)(struct directory *, dir_row_fn *, void *, char **))
{
	struct buf	 b;
	char		*err = NULL;

	buf_init(&b, 1 << 20);
	if (fn(d, collect, &b, &err) < 0) {
		printf("list: %s\n", err);
		free(err);
	}
	if (buf_adds(&b, "") < 0)
		fatalx("list");
	return buf_take(&b, NULL);
}

static char *
user_list(struct directory *d, const char *domain)
{
	struct buf	 b;
	char		*err = NULL;

	buf_init(&b, 1 << 20);
	if (dir_user_list(d, domain, collect, &b, &err) < 0) {
		free(err);
		buf_clear(&b);
		return xstrdup("ERROR");
	}
	if (buf_adds(&b, "") < 0)
		fatalx("list");
	return buf_take(&b, NULL);
}

/* Write result and error text handling in one place. */
static enum dir_wresult
w(enum dir_wresult r, char **err)
{
	if (r != DIR_W_OK && (*err == NULL || **err == '\0'))
		printf("FAIL: write error %d without a message\n", r);
	xfree(err);
	return r;
}

static void
test_schema(struct directory *d)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	struct buf	 b;
	char		*err = NULL, *got;

	t_int(dir_create_schema(d, &err), 0);	/* again: idempotent */
	buf_init(&b, 4096);
	sqlite3_open(dbpath, &db);
	sqlite3_prepare_v2(db, "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p"
	    " WHERE m.type = 'table' ORDER BY m.name, p.cid", -1, &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (buf_addf(&b, "%s.%s ", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1)) < 0)
			break;
	sqlite3_finalize(st);
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
	t_int(sqlite3_step(st), SQLITE_ROW);
	t_str((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	got = buf_take(&b, NULL);
	t_str(got, "domains.domain forwardings.source forwardings.destination "
	    "transport.domain transport.transport users.email users.password ");
	free(got);
}

static void
test_domains(struct directory *d)
{
	char *err = NULL, *before, *after, *l;

	t_int(w(dir_domain_add(d, "example.com", &err), &err), DIR_W_OK);
	t_int(w(dir_domain_add(d, "EXAMPLE.COM", &err), &err), DIR_W_EXISTS);
	t_int(w(dir_domain_add(d, "bücher.example", &err), &err), DIR_W_OK);
	t_int(w(dir_domain_add(d, "xn--bcher-kva.example", &err), &err), DIR_W_EXISTS);
	before = dump();
	t_int(w(dir_domain_add(d, "../etc", &err), &err), DIR_W_INVALID);
	t_int(w(dir_domain_add(d, "", &err), &err), DIR_W_INVALID);
	t_int(w(dir_domain_add(d, "example.com'); DROP TABLE users; --", &err), &err), DIR_W_INVALID);
	t_int(w(dir_domain_add(d, "a..b", &err), &err), DIR_W_INVALID);
	t_int(w(dir_domain_del(d, "nothere.example", &err), &err), DIR_W_NOTFOUND);
	after = dump();
	t_str(after, before);
	free(before);
	free(after);
	t_int(dir_domain_hosted(d, "example.com"), DIR_FOUND);
	t_int(dir_domain_hosted(d, "Example.COM"), DIR_FOUND);
	t_int(dir_domain_hosted(d, "bücher.example"), DIR_FOUND);
	t_int(dir_domain_hosted(d, "XN--BCHER-KVA.example"), DIR_FOUND);
	t_int(dir_domain_hosted(d, "example.org"), DIR_NOTFOUND);
	t_int(dir_domain_hosted(d, "x' OR '1'='1"), DIR_NOTFOUND);
	t_int(dir_domain_hosted(d, ""), DIR_NOTFOUND);
	l = list(d, dir_domain_list);
	t_str(l, "example.com\nxn--bcher-kva.example\n");
	free(l);
}

static void
test_users(struct directory *d)
{
	char *err = NULL, *s = NULL, *before, *after, *l;

	t_int(w(dir_user_add(d, "Sales@Example.COM", "$y$hash1", &err), &err), DIR_W_OK);
	before = dump();
	t_int(w(dir_user_add(d, "sales@example.com", "$y$hash2", &err), &err), DIR_W_EXISTS);
	t_int(w(dir_user_add(d, "bob@notours.example", "$y$h", &err), &err), DIR_W_INVALID);
	t_int(w(dir_user_add(d, "x\"@", "$y$h", &err), &err), DIR_W_INVALID);
	t_int(w(dir_user_add(d, "\"../../etc\"@example.com", "$y$h", &err), &err), DIR_W_INVALID);
	t_int(w(dir_user_add(d, "a/b@example.com", "$y$h", &err), &err), DIR_W_INVALID);
	t_int(w(dir_user_add(d, "bob@example.com", "", &err), &err), DIR_W_INVALID);
	t_int(w(dir_user_add(d, "@example.com", "$y$h", &err), &err), DIR_W_INVALID);
	t_int(w(dir_user_add(d, "", "$y$h", &err), &err), DIR_W_INVALID);
	t_int(w(dir_user_del(d, "nobody@example.com", &err), &err), DIR_W_NOTFOUND);
	t_int(dir_set_password(d, "nobody@example.com", "$y$x", &err), DIR_NOTFOUND);
	xfree(&err);
	after = dump();
	t_str(after, before);
	free(before);
	free(after);

	/* Stored in lookup form: local part folded, so the Maildir name is predictable. */
	l = user_list(d, NULL);
	t_str(l, "sales@example.com\n");
	free(l);
	t_int(dir_mailbox(d, "SALES@example.com", &s), DIR_FOUND);
	t_str(s, "example.com/sales/");
	xfree(&s);
	t_int(dir_password(d, "sales@EXAMPLE.com", &s), DIR_FOUND);
	t_str(s, "$y$hash1");
	xfree(&s);
	t_int(dir_set_password(d, "SALES@example.com", "$y$hash3", &err), DIR_FOUND);
	t_int(dir_password(d, "sales@example.com", &s), DIR_FOUND);
	t_str(s, "$y$hash3");
	xfree(&s);
	t_int(dir_mailbox(d, "other@example.com", &s), DIR_NOTFOUND);
	t_int(dir_mailbox(d, "sales@example.org", &s), DIR_NOTFOUND);
	t_int(dir_mailbox(d, "@example.com", &s), DIR_NOTFOUND);

	/* UTF-8 local part (RFC 6531), IDN domain stored as A-labels. */
	t_int(w(dir_user_add(d, "josé@bücher.example", "$y$h", &err), &err), DIR_W_OK);
	t_int(dir_mailbox(d, "josé@xn--bcher-kva.example", &s), DIR_FOUND);
	t_str(s, "xn--bcher-kva.example/josé/");
	xfree(&s);
	l = user_list(d, "bücher.example");
	t_str(l, "josé@xn--bcher-kva.example\n");
	free(l);
	l = user_list(d, "example.com");
	t_str(l, "sales@example.com\n");
	free(l);
	l = user_list(d, "ample.com");	/* a suffix of a name is not the domain */
	t_str(l, "");
	free(l);
	l = user_list(d, "bad domain");
	t_str(l, "ERROR");
	free(l);

	/* An apostrophe is legal in a local part; it is data, not SQL. */
	t_int(w(dir_user_add(d, "o'brien@example.com", "$y$h", &err), &err), DIR_W_OK);
	t_int(dir_mailbox(d, "O'Brien@example.com", &s), DIR_FOUND);
	t_str(s, "example.com/o'brien/");
	xfree(&s);
	t_int(w(dir_user_del(d, "o'brien@example.com", &err), &err), DIR_W_OK);
	t_int(dir_mailbox(d, "o'brien@example.com", &s), DIR_NOTFOUND);
}

static void
test_injection(struct directory *d)
{
	static const char *const evil[] = {
		"x' OR '1'='1@example.com",
		"x'OR'1'='1@example.com",
		"' OR 1=1 --@example.com",
		"\"' OR ''='\"@example.com",
		"sales@example.com' --",
		"%@example.com",
		"_ales@example.com",
		"*@example.com",
		"sales@example.com\n",
		"sales@%",
	};
	char	*s = NULL, *before = dump(), *after;
	size_t	 i;

	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		t_int(dir_mailbox(d, evil[i], &s), DIR_NOTFOUND);
		t_int(dir_password(d, evil[i], &s), DIR_NOTFOUND);
		t_int(dir_forward(d, evil[i], &s), DIR_NOTFOUND);
		t_int(dir_transport(d, evil[i], &s), DIR_NOTFOUND);
		t_int(dir_domain_hosted(d, evil[i]), DIR_NOTFOUND);
	}
	after = dump();
	t_str(after, before);
	free(before);
	free(after);
}

static void
test_forwards(struct directory *d)
{
	char *err = NULL, *s = NULL, *before, *after, *l;

	t_int(w(dir_forward_add(d, "Info@Example.com", " a@x.org, B@Y.ORG  c@z.org,,", &err), &err),
	    DIR_W_OK);
	t_int(dir_forward(d, "info@example.com", &s), DIR_FOUND);
	t_str(s, "a@x.org,B@y.org,c@z.org");
	xfree(&s);
	t_int(w(dir_forward_add(d, "@example.com", "sales@example.com", &err), &err), DIR_W_OK);
	before = dump();
	t_int(w(dir_forward_add(d, "info@example.com", "d@x.org", &err), &err), DIR_W_EXISTS);
	t_int(w(dir_forward_add(d, "@EXAMPLE.com", "d@x.org", &err), &err), DIR_W_EXISTS);
	t_int(w(dir_forward_add(d, "a@notours.example", "d@x.org", &err), &err), DIR_W_INVALID);
	t_int(w(dir_forward_add(d, "@notours.example", "d@x.org", &err), &err), DIR_W_INVALID);
	t_int(w(dir_forward_add(d, "a@b", "", &err), &err), DIR_W_INVALID);
	t_int(w(dir_forward_add(d, "new@example.com", "", &err), &err), DIR_W_INVALID);
	t_int(w(dir_forward_add(d, "new@example.com", " , ", &err), &err), DIR_W_INVALID);
	t_int(w(dir_forward_add(d, "new@example.com", "ok@x.org,bad", &err), &err), DIR_W_INVALID);
	t_int(w(dir_forward_add(d, "new@example.com", "@x.org", &err), &err), DIR_W_INVALID);
	t_int(w(dir_forward_add(d, "@", "a@x.org", &err), &err), DIR_W_INVALID);
	t_int(w(dir_forward_del(d, "nobody@example.com", &err), &err), DIR_W_NOTFOUND);
	t_int(w(dir_forward_del(d, "@example.org", &err), &err), DIR_W_NOTFOUND);
	after = dump();
	t_str(after, before);
	free(before);
	free(after);

	/* Exact source only: the catch-all is the caller's third step. */
	t_int(dir_forward(d, "@example.com", &s), DIR_FOUND);
	t_str(s, "sales@example.com");
	xfree(&s);
	t_int(dir_forward(d, "@Example.COM", &s), DIR_FOUND);
	xfree(&s);
	t_int(dir_forward(d, "other@example.com", &s), DIR_NOTFOUND);
	l = list(d, dir_forward_list);
	t_str(l, "@example.com\tsales@example.com\ninfo@example.com\ta@x.org,B@y.org,c@z.org\n");
	free(l);
	/* A quoted local part may hold a comma; it stays one destination. */
	t_int(w(dir_forward_add(d, "q@example.com", "\"a,b c\"@x.org, d@x.org", &err), &err),
	    DIR_W_OK);
	t_int(dir_forward(d, "q@example.com", &s), DIR_FOUND);
	t_str(s, "\"a,b c\"@x.org,d@x.org");
	xfree(&s);
	t_int(w(dir_forward_del(d, "Q@example.com", &err), &err), DIR_W_OK);
	t_int(dir_forward(d, "q@example.com", &s), DIR_NOTFOUND);
}

static const struct { const char *in; const char *want; } transports[] = {
	{ "smtp:[mx.example.net]:2525", "smtp:[mx.example.net]:2525" },
	{ "SMTP:[MX.Example.NET]", "smtp:[mx.example.net]" },
	{ "smtp:mx.example.net", "smtp:mx.example.net" },
	{ "smtp:mx.example.net:25", "smtp:mx.example.net:25" },
	{ "smtp:", "smtp:" },
	{ "smtp:[192.0.2.1]:25", "smtp:[192.0.2.1]:25" },
	{ "smtp:[2001:db8::1]:587", "smtp:[2001:db8::1]:587" },
	{ "relay:[relay.example.net]", "relay:[relay.example.net]" },
	{ "smtp:[bücher.example]", "smtp:[xn--bcher-kva.example]" },
	{ "virtual:", "virtual:" },
	{ "local:", "local:" },
	{ "discard:", "discard:" },
	{ "discard:spam trap", "discard:spam trap" },
	{ "error:5.1.1 mailbox gone", "error:5.1.1 mailbox gone" },
	{ "error:", "error:" },
	{ "lmtp:unix:/run/dovecot/lmtp", NULL },
	{ "pipe:foo", NULL },
	{ "smtp", NULL },
	{ "", NULL },
	{ "virtual:host", NULL },
	{ "smtp:[mx.example.net", NULL },
	{ "smtp:[mx.example.net]x", NULL },
	{ "smtp:[mx.example.net]:0", NULL },
	{ "smtp:[mx.example.net]:65536", NULL },
	{ "smtp:[mx.example.net]:-1", NULL },
	{ "smtp:[mx.example.net]: 25", NULL },
	{ "smtp:mx.example.net:x", NULL },
	{ "smtp:../etc", NULL },
	{ "smtp:a b", NULL },
	{ "error:line\nbreak", NULL },
	{ "smtp:2001:db8::1", NULL },
};

static void
test_transports(struct directory *d)
{
	const char	*why;
	char		*norm, *err = NULL, *s = NULL, *l, *before, *after;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		norm = NULL;
		why = NULL;
		rc = dir_transport_normalize(transports[i].in, &norm, &why);
		if (!t_int(rc, transports[i].want ? 0 : -1))
			printf("  transport \"%s\"\n", transports[i].in);
		if (rc == 0)
			t_str(norm, transports[i].want);
		else
			t_ok(why != NULL);
		free(norm);
	}
	t_int(w(dir_transport_set(d, "example.com", "smtp:[mx.example.net]:2525", &err), &err), DIR_W_OK);
	t_int(w(dir_transport_set(d, "EXAMPLE.com", "virtual:", &err), &err), DIR_W_OK);	/* replaces */
	t_int(w(dir_transport_set(d, "relay.example", "relay:[10.0.0.1]", &err), &err), DIR_W_OK);
	before = dump();
	t_int(w(dir_transport_set(d, "example.com", "lmtp:x", &err), &err), DIR_W_INVALID);
	t_int(w(dir_transport_set(d, "../x", "virtual:", &err), &err), DIR_W_INVALID);
	t_int(w(dir_transport_del(d, "none.example", &err), &err), DIR_W_NOTFOUND);
	after = dump();
	t_str(after, before);
	free(before);
	free(after);
	t_int(dir_transport(d, "Example.Com", &s), DIR_FOUND);
	t_str(s, "virtual:");
	xfree(&s);
	t_int(dir_transport(d, "other.example", &s), DIR_NOTFOUND);
	l = list(d, dir_transport_list);
	t_str(l, "example.com\tvirtual:\nrelay.example\trelay:[10.0.0.1]\n");
	free(l);
	t_int(w(dir_transport_del(d, "relay.example", &err), &err), DIR_W_OK);
	t_int(dir_transport(d, "relay.example", &s), DIR_NOTFOUND);
}

/* Rows typed by hand, in any case, while our handle (and its prepared statements) is open. */
static void
test_by_hand(struct directory *d)
{
	char *s = NULL, *err = NULL;

	t_int(dir_mailbox(d, "hand@example.com", &s), DIR_NOTFOUND);
	t_int(dir_domain_hosted(d, "hand.test"), DIR_NOTFOUND);
	raw(dbpath, "INSERT INTO domains (domain) VALUES ('Hand.TEST');"
	    "INSERT INTO users (email, password) VALUES ('Hand@Example.COM', 'abCDef0123456');"
	    "INSERT INTO users (email, password) VALUES ('x@hand.test', '$1$salt$hash');"
	    "INSERT INTO forwardings (source, destination) VALUES ('@Hand.Test', 'x@hand.test');"
	    "INSERT INTO forwardings (source, destination) VALUES ('Alias@HAND.test', 'a@b.c');"
	    "INSERT INTO transport (domain, transport) VALUES ('HAND.test', 'smtp:[h.example]:25');");
	t_int(dir_domain_hosted(d, "hand.test"), DIR_FOUND);
	t_int(dir_mailbox(d, "hand@example.com", &s), DIR_FOUND);
	t_str(s, "example.com/hand/");
	xfree(&s);
	t_int(dir_password(d, "HAND@example.com", &s), DIR_FOUND);
	t_str(s, "abCDef0123456");
	xfree(&s);
	t_int(dir_forward(d, "@hand.test", &s), DIR_FOUND);
	t_str(s, "x@hand.test");
	xfree(&s);
	t_int(dir_forward(d, "alias@hand.test", &s), DIR_FOUND);
	t_str(s, "a@b.c");
	xfree(&s);
	t_int(dir_transport(d, "hand.test", &s), DIR_FOUND);
	t_str(s, "smtp:[h.example]:25");
	xfree(&s);
	/* The admin verbs see them too, and refuse duplicates in another case. */
	t_int(w(dir_domain_add(d, "hand.test", &err), &err), DIR_W_EXISTS);
	t_int(w(dir_user_add(d, "hand@example.com", "$y$x", &err), &err), DIR_W_EXISTS);
	t_int(w(dir_domain_del(d, "hand.test", &err), &err), DIR_W_INUSE);
	t_int(w(dir_user_del(d, "x@HAND.TEST", &err), &err), DIR_W_OK);
	t_int(w(dir_domain_del(d, "hand.test", &err), &err), DIR_W_INUSE);	/* forwardings left */
	t_int(w(dir_forward_del(d, "@hand.test", &err), &err), DIR_W_OK);
	t_int(w(dir_forward_del(d, "ALIAS@hand.test", &err), &err), DIR_W_OK);
	t_int(w(dir_domain_del(d, "HAND.test", &err), &err), DIR_W_OK);
	t_int(dir_domain_hosted(d, "hand.test"), DIR_NOTFOUND);
	/* Deleted by hand: gone at the next lookup. */
	raw(dbpath, "DELETE FROM users WHERE email = 'Hand@Example.COM'");
	t_int(dir_mailbox(d, "hand@example.com", &s), DIR_NOTFOUND);
}

/* localpart_case_sensitive = yes: the local part exactly, the domain in any case. */
static void
test_case_sensitive(void)
{
	struct conf		*c;
	struct directory	*d;
	char			*path, *err = NULL, *s = NULL, *l;
	FILE			*f;

	path = xasprintf("%s/cs.conf", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		fatal("%s", path);
	fprintf(f, "localpart_case_sensitive = yes\n");
	fclose(f);
	if ((c = conf_load(path, &err)) == NULL)
		fatalx("%s", err);
	d = dir_open_existing(c, &err);
	t_ok(d != NULL);
	t_int(w(dir_user_add(d, "Boss@EXAMPLE.com", "$y$b", &err), &err), DIR_W_OK);
	t_int(w(dir_user_add(d, "boss@example.com", "$y$c", &err), &err), DIR_W_OK);
	t_int(w(dir_user_add(d, "Boss@example.com", "$y$d", &err), &err), DIR_W_EXISTS);
	t_int(dir_mailbox(d, "Boss@Example.Com", &s), DIR_FOUND);
	t_str(s, "example.com/Boss/");
	xfree(&s);
	t_int(dir_password(d, "Boss@example.com", &s), DIR_FOUND);
	t_str(s, "$y$b");
	xfree(&s);
	t_int(dir_password(d, "boss@example.com", &s), DIR_FOUND);
	t_str(s, "$y$c");
	xfree(&s);
	t_int(dir_mailbox(d, "BOSS@example.com", &s), DIR_NOTFOUND);
	/* Existing lower-case rows are found only as typed. */
	t_int(dir_mailbox(d, "Sales@example.com", &s), DIR_NOTFOUND);
	t_int(dir_mailbox(d, "sales@example.com", &s), DIR_FOUND);
	xfree(&s);
	t_int(w(dir_forward_add(d, "Team@example.com", "Boss@example.com", &err), &err), DIR_W_OK);
	t_int(dir_forward(d, "team@example.com", &s), DIR_NOTFOUND);
	t_int(dir_forward(d, "Team@EXAMPLE.COM", &s), DIR_FOUND);
	t_str(s, "Boss@example.com");
	xfree(&s);
	t_int(w(dir_forward_del(d, "Team@example.com", &err), &err), DIR_W_OK);
	t_int(w(dir_user_del(d, "BOSS@example.com", &err), &err), DIR_W_NOTFOUND);
	t_int(w(dir_user_del(d, "Boss@example.com", &err), &err), DIR_W_OK);
	t_int(w(dir_user_del(d, "boss@example.com", &err), &err), DIR_W_OK);
	l = user_list(d, "example.com");
	t_str(l, "sales@example.com\n");
	free(l);
	dir_close(&d);
	conf_free(&c);
	free(path);
}

/* quota_query (users.quota as Postfix/Courier guides have it) and its values. */
static void
test_quota(struct directory *d0)
{
	static const struct { const char *in; int want; uint64_t bytes; } vals[] = {
		{ "10485760",		1, 10485760 },
		{ "10485760S",		1, 10485760 },
		{ "10485760S,1000C",	1, 10485760 },
		{ "1000C,5000S",	1, 5000 },
		{ "1000C",		1, 0 },		/* a count alone: no byte limit */
		{ "0",			1, 0 },
		{ " 42 ",		1, 42 },
		{ "",			0, 0 },
		{ "ten",		-1, 0 },
		{ "-5",			-1, 0 },
		{ "5S,6S",		-1, 0 },
		{ "5X",			-1, 0 },
		{ "5S,",		-1, 0 },
		{ "99999999999999999999", -1, 0 },
	};
	struct conf		*c;
	struct directory	*d;
	char			*path, *err = NULL;
	uint64_t		 v;
	size_t			 i;
	FILE			*f;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		v = 777;
		t_int(dir_quota_parse(vals[i].in, &v), vals[i].want);
		if (vals[i].want == 1)
			t_int(v, vals[i].bytes);
	}
	/* No query: NOTFOUND, the caller uses virtual_mailbox_limit. */
	t_int(dir_quota(d0, "sales@example.com", &v), DIR_NOTFOUND);
	t_int(dir_quota(NULL, "sales@example.com", &v), DIR_TEMPFAIL);

	raw(dbpath, "ALTER TABLE users ADD COLUMN quota varchar(32)");
	raw(dbpath, "UPDATE users SET quota = '2048S,10C' WHERE email = 'sales@example.com'");
	path = xasprintf("%s/quota.conf", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		fatal("%s", path);
	fprintf(f, "quota_query = SELECT quota FROM users WHERE email = '%%s'\n");
	fclose(f);
	if ((c = conf_load(path, &err)) == NULL)
		fatalx("%s", err);
	d = dir_open_existing(c, &err);
	t_ok(d != NULL);
	v = 0;
	t_int(dir_quota(d, "Sales@EXAMPLE.com", &v), DIR_FOUND);
	t_int(v, 2048);
	t_int(dir_quota(d, "nobody@example.com", &v), DIR_NOTFOUND);
	t_int(dir_quota(d, "@example.com", &v), DIR_NOTFOUND);
	raw(dbpath, "UPDATE users SET quota = NULL WHERE email = 'sales@example.com'");
	t_int(dir_quota(d, "sales@example.com", &v), DIR_NOTFOUND);
	raw(dbpath, "UPDATE users SET quota = 'lots' WHERE email = 'sales@example.com'");
	t_int(dir_quota(d, "sales@example.com", &v), DIR_NOTFOUND);
	raw(dbpath, "UPDATE users SET quota = 0 WHERE email = 'sales@example.com'");
	t_int(dir_quota(d, "sales@example.com", &v), DIR_FOUND);
	t_int(v, 0);
	dir_close(&d);
	conf_free(&c);
	free(path);
}

static void *
thread_lookup(void *arg)
{
	struct directory	*d = dir_thread();
	char			*s = NULL;

	*(int *)arg = d != NULL ? (int)dir_mailbox(d, "sales@example.com", &s) : -1;
	free(s);
	dir_thread_close();
	return d;
}

static void
test_thread(void)
{
	struct directory	*d1, *d2, *dt;
	struct conf		*c;
	char			*path, *err = NULL;
	pthread_t		 th;
	int			 res = -2;

	t_ok(dir_thread() == NULL);	/* no conf yet */
	conf_set_current(conf_defaults(tmpdir));
	d1 = dir_thread();
	t_ok(d1 != NULL);
	t_ok(dir_thread() == d1);
	t_ok(d1 != NULL && !d1->case_sensitive);
	pthread_create(&th, NULL, thread_lookup, &res);
	pthread_join(th, (void **)&dt);
	t_ok(dt != NULL && dt != d1);
	t_int(res, DIR_FOUND);
	/* A reload (SIGHUP) reopens with the new settings. */
	path = xasprintf("%s/cs.conf", tmpdir);
	if ((c = conf_load(path, &err)) == NULL)
		fatalx("%s", err);
	conf_set_current(c);
	d2 = dir_thread();
	t_ok(d2 != NULL && d2->case_sensitive);
	dir_thread_close();
	dir_thread_close();	/* harmless twice */
	free(path);
}

static void
test_tempfail(struct directory *d)
{
	sqlite3			*db;
	struct directory	*bad;
	struct conf		*c;
	char			*err = NULL, *s = NULL, *dir, *p;
	FILE			*f;

	/* An admin's write transaction elsewhere: our write waits, then fails; reads go on (WAL). */
	sqlite3_open(dbpath, &db);
	t_int(sqlite3_exec(db, "BEGIN EXCLUSIVE; INSERT INTO domains VALUES ('locked.example');",
	    NULL, NULL, NULL), SQLITE_OK);
	t_int(w(dir_domain_add(d, "new.example", &err), &err), DIR_W_FAIL);
	t_int(dir_domain_hosted(d, "example.com"), DIR_FOUND);
	t_int(dir_domain_hosted(d, "locked.example"), DIR_NOTFOUND);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	t_int(w(dir_domain_add(d, "new.example", &err), &err), DIR_W_OK);
	t_int(w(dir_domain_del(d, "new.example", &err), &err), DIR_W_OK);

	/*
	 * Another process holds the file exclusively (locking_mode=EXCLUSIVE,
	 * which needs it to be first in): lookups are 4xx, not "no such user".
	 */
	dir = xasprintf("%s/lock", tmpdir);
	mkdir(dir, 0700);
	c = conf_defaults(dir);
	bad = dir_open(c, &err);
	t_ok(bad != NULL && dir_create_schema(bad, &err) == 0);
	dir_close(&bad);
	p = xasprintf("%s/letterbox.db", dir);
	sqlite3_open(p, &db);
	t_int(sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;"
	    " INSERT INTO domains VALUES ('example.com');", NULL, NULL, NULL), SQLITE_OK);
	bad = dir_open_existing(c, &err);
	if (bad != NULL) {
		t_int(dir_domain_hosted(bad, "example.com"), DIR_TEMPFAIL);
		t_int(w(dir_domain_add(bad, "x.example", &err), &err), DIR_W_FAIL);
		dir_close(&bad);
	} else
		xfree(&err);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	conf_free(&c);
	free(p);
	free(dir);

	/* Not a database at all. */
	dir = xasprintf("%s/bad", tmpdir);
	mkdir(dir, 0700);
	p = xasprintf("%s/letterbox.db", dir);
	f = fopen(p, "w");
	fprintf(f, "this is not an SQLite database, just text that is long enough to look like a header\n");
	fclose(f);
	c = conf_defaults(dir);
	bad = dir_open_existing(c, &err);
	if (bad != NULL) {
		t_int(dir_domain_hosted(bad, "example.com"), DIR_TEMPFAIL);
		t_int(dir_password(bad, "sales@example.com", &s), DIR_TEMPFAIL);
		t_int(w(dir_domain_add(bad, "x.example", &err), &err), DIR_W_FAIL);
		dir_close(&bad);
	} else
		xfree(&err);
	conf_free(&c);

	/* A database without the seed tables. */
	unlink(p);
	raw(p, "CREATE TABLE other (x);");
	c = conf_defaults(dir);
	bad = dir_open_existing(c, &err);
	t_ok(bad != NULL);
	t_int(dir_domain_hosted(bad, "example.com"), DIR_TEMPFAIL);
	t_int(dir_forward(bad, "@example.com", &s), DIR_TEMPFAIL);
	dir_close(&bad);
	conf_free(&c);

	/* Missing: dir_open_existing refuses and creates nothing; dir_thread gives NULL. */
	unlink(p);
	c = conf_defaults(dir);
	t_ok(dir_open_existing(c, &err) == NULL);
	t_ok(err != NULL && strstr(err, "letterbox.db") != NULL);
	xfree(&err);
	t_ok(access(p, F_OK) != 0);
	conf_set_current(c);
	t_ok(dir_thread() == NULL);
	t_int(dir_domain_hosted(NULL, "example.com"), DIR_TEMPFAIL);
	free(p);
	free(dir);
}

int
main(void)
{
	struct conf		*c;
	struct directory	*d;
	char			*err = NULL;

	t_begin("directory");
	log_init("test_directory", LOG_TO_STDERR, false);
	if (mkdtemp(tmpdir) == NULL)
		fatal("mkdtemp");
	c = conf_defaults(tmpdir);
	dbpath = xasprintf("%s/letterbox.db", tmpdir);
	t_ok(dir_open_existing(c, &err) == NULL);	/* before init */
	xfree(&err);
	d = dir_open(c, &err);
	if (!t_ok(d != NULL) || !t_int(dir_create_schema(d, &err), 0)) {
		printf("open: %s\n", err ? err : "");
		return t_end();
	}
	test_schema(d);
	test_domains(d);
	test_users(d);
	test_injection(d);
	test_forwards(d);
	test_transports(d);
	test_by_hand(d);
	test_case_sensitive();
	test_quota(d);
	test_thread();
	test_tempfail(d);
	dir_close(&d);
	conf_free(&c);
	free(dbpath);
	if (getenv("LBTEST_KEEP") == NULL) {
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);

		if (system(cmd) != 0)
			printf("cleanup failed\n");
		free(cmd);
	}
	return t_end();
}
