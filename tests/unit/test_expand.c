/* Recipient expansion: forwardings, self copies, catch-alls, aliases, loops, dedupe, tempfail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver/aliases.h"
#include "directory/directory.h"
#include "lib/conf.h"
#include "lib/xmalloc.h"
#include "queue/expand.h"
#include "t.h"

static char dir[] = "/tmp/lbexpand-XXXXXX";

/* Render a dest list as "kind:addr[:maildir]" joined by spaces, sorted as produced. */
static char *
render(const struct dest_list *l)
{
	static const char *kinds[] = { "mbox", "remote", "bounce", "tempfail", "discard" };
	char	*s = xstrdup("");
	size_t	 i;

	for (i = 0; i < l->n; i++) {
		char *n = xasprintf("%s%s%s:%s%s%s", s, i ? " " : "", kinds[l->v[i].kind], l->v[i].addr,
		    l->v[i].maildir ? ":" : "", l->v[i].maildir ? l->v[i].maildir : "");
		free(s);
		s = n;
	}
	return s;
}

static const struct { const char *rcpt; const char *want; } cases[] = {
	{ "bob@example.com", "mbox:bob@example.com:example.com/bob/" },
	{ "BOB@Example.COM", "mbox:BOB@Example.COM:example.com/bob/" },
	{ "team@example.com", "mbox:bob@example.com:example.com/bob/ mbox:carol@example.com:example.com/carol/" },
	/* forwards to itself plus another: keeps a copy */
	{ "sales@example.com", "mbox:sales@example.com:example.com/sales/ remote:boss@remote.test" },
	/* nested: list -> team -> bob, carol; and bob again directly (deduplicated) */
	{ "list@example.com", "mbox:bob@example.com:example.com/bob/ mbox:carol@example.com:example.com/carol/" },
	{ "nobody@example.com", "bounce:nobody@example.com" },
	/* catch-all only where nothing else matches */
	{ "random@example.net", "mbox:carol@example.com:example.com/carol/" },
	{ "dave@example.net", "mbox:dave@example.net:example.net/dave/" },
	/* domain-to-domain: @example.org -> @example.com keeps the local part */
	{ "bob@example.org", "mbox:bob@example.com:example.com/bob/" },
	{ "x@remote.test", "remote:x@remote.test" },
	/* loops bounce, never spin */
	{ "ping@example.com", "bounce:ping@example.com" },
	{ "self@example.com", "bounce:self@example.com" },
	/* postmaster of a hosted domain goes to the aliases' postmaster */
	{ "postmaster@example.com", "mbox:bob@example.com:example.com/bob/" },
	{ "postmaster", "mbox:bob@example.com:example.com/bob/" },
	{ "root@localhost", "mbox:bob@example.com:example.com/bob/" },
	{ "ops@localhost", "mbox:bob@example.com:example.com/bob/ remote:pager@remote.test" },
	{ "cmd@localhost", "discard:cmd@localhost" },
	{ "unknown@localhost", "bounce:unknown@localhost" },
	{ "deep0@example.com", "bounce:deep21@example.com" },
};

static void
setup(struct directory *d)
{
	char		*err = NULL;
	char		 a[64], b[64];
	int		 i;
	FILE		*f;
	char		*path = xasprintf("%s/aliases", dir);

	t_ok(dir_create_schema(d, &err) == 0);
	t_ok(dir_domain_add(d, "example.com", &err) == DIR_W_OK);
	t_ok(dir_domain_add(d, "example.net", &err) == DIR_W_OK);
	t_ok(dir_domain_add(d, "example.org", &err) == DIR_W_OK);
	t_ok(dir_user_add(d, "bob@example.com", "$y$x", &err) == DIR_W_OK);
	t_ok(dir_user_add(d, "carol@example.com", "$y$x", &err) == DIR_W_OK);
	t_ok(dir_user_add(d, "sales@example.com", "$y$x", &err) == DIR_W_OK);
	t_ok(dir_user_add(d, "dave@example.net", "$y$x", &err) == DIR_W_OK);
	t_ok(dir_forward_add(d, "team@example.com", "bob@example.com,carol@example.com", &err) == DIR_W_OK);
	t_ok(dir_forward_add(d, "sales@example.com", "sales@example.com,boss@remote.test", &err) == DIR_W_OK);
	t_ok(dir_forward_add(d, "list@example.com", "team@example.com,bob@example.com", &err) == DIR_W_OK);
	t_ok(dir_forward_add(d, "@example.net", "carol@example.com", &err) == DIR_W_OK);
	t_ok(dir_forward_add(d, "ping@example.com", "pong@example.com", &err) == DIR_W_OK);
	t_ok(dir_forward_add(d, "pong@example.com", "ping@example.com", &err) == DIR_W_OK);
	t_ok(dir_forward_add(d, "self@example.com", "self@example.com", &err) == DIR_W_OK);
	/* a chain longer than virtual_alias_recursion_limit (20) */
	for (i = 0; i < 22; i++) {
		snprintf(a, sizeof(a), "deep%d@example.com", i);
		snprintf(b, sizeof(b), "deep%d@example.com", i + 1);
		t_ok(dir_forward_add(d, a, b, &err) == DIR_W_OK);
	}
	free(err);
	f = fopen(path, "w");
	fputs("# test aliases\npostmaster: root\nroot: bob@example.com\nops: root,\n  pager@remote.test\n"
	    "cmd: |/bin/true\n", f);
	fclose(f);
	free(path);
}

int
main(void)
{
	struct conf		*c;
	struct directory	*d;
	char			*err = NULL, *text;
	size_t			 i;
	FILE			*f;

	t_begin("expand");
	if (mkdtemp(dir) == NULL)
		return 2;
	text = xasprintf("%s/letterbox.conf", dir);
	f = fopen(text, "w");
	fputs("myhostname = mail.example.test\nmydestination = $myhostname, localhost\n", f);
	fclose(f);
	c = conf_load(text, &err);
	free(text);
	if (!t_ok(c != NULL))
		return t_end();
	d = dir_open(c, &err);
	if (!t_ok(d != NULL))
		return t_end();
	setup(d);
	/* the domain-to-domain catch-all needs the target form "@example.com" */
	t_ok(dir_forward_add(d, "@example.org", "@example.com", &err) == DIR_W_OK);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dest_list	 l = { NULL, 0 };
		char			*got;

		expand_recipient(d, c, cases[i].rcpt, &l);
		got = render(&l);
		if (!t_str(got, cases[i].want))
			printf("  rcpt %s\n", cases[i].rcpt);
		free(got);
		dest_list_clear(&l);
	}
	/* the duplicate filter: same Maildir or same address (any spelling) once */
	{
		struct dest_seen	 ds = { NULL, 0 };
		struct dest		 a = { DEST_MAILBOX, "a@example.com", "example.com/a/", NULL };
		struct dest		 a2 = { DEST_MAILBOX, "A@Example.COM", "example.com/a/", NULL };
		struct dest		 alias = { DEST_MAILBOX, "b@example.com", "example.com/a/", NULL };
		struct dest		 r = { DEST_REMOTE, "x@remote.test", NULL, NULL };
		struct dest		 rq = { DEST_REMOTE, "\"x\"@REMOTE.test", NULL, NULL };
		struct dest		 bounce = { DEST_BOUNCE, "a@example.com", NULL, "5.1.1 x" };

		t_ok(dest_seen_add(&ds, c, &a));
		t_ok(!dest_seen_add(&ds, c, &a2));
		t_ok(!dest_seen_add(&ds, c, &alias));	/* another name for the same Maildir */
		t_ok(dest_seen_add(&ds, c, &r));
		t_ok(!dest_seen_add(&ds, c, &rq));
		t_ok(dest_seen_add(&ds, c, &bounce));	/* not a delivery: never a duplicate */
		t_ok(dest_seen_add(&ds, c, &bounce));
		dest_seen_clear(&ds);
		t_ok(dest_seen_add(&ds, c, &a2));
		dest_seen_addr(&ds, c, "Y@example.com");	/* delivered in an earlier pass */
		a.addr = "y@EXAMPLE.com";
		a.maildir = "example.com/y/";
		t_ok(!dest_seen_add(&ds, c, &a));
		dest_seen_clear(&ds);
		t_int(ds.n, 0);
	}
	/* reasons say what happened */
	{
		struct dest_list l = { NULL, 0 };

		expand_recipient(d, c, "ping@example.com", &l);
		t_ok(l.n == 1 && strncmp(l.v[0].reason, "5.4.6", 5) == 0);
		dest_list_clear(&l);
		expand_recipient(d, c, "nobody@example.com", &l);
		t_ok(l.n == 1 && strncmp(l.v[0].reason, "5.1.1", 5) == 0);
		dest_list_clear(&l);
		/* no directory: temporary failure, never a bounce */
		expand_recipient(NULL, c, "bob@example.com", &l);
		t_ok(l.n == 1 && l.v[0].kind == DEST_TEMPFAIL && l.v[0].reason[0] == '4');
		dest_list_clear(&l);
	}
	/* final resolution of an expansion product is never expanded again */
	{
		struct dest dst;

		expand_resolve_final(d, c, "sales@example.com", &dst);
		t_ok(dst.kind == DEST_MAILBOX && strcmp(dst.maildir, "example.com/sales/") == 0);
		dest_clear(&dst);
		expand_resolve_final(d, c, "boss@remote.test", &dst);
		t_ok(dst.kind == DEST_REMOTE);
		dest_clear(&dst);
		expand_resolve_final(d, c, "gone@example.com", &dst);
		t_ok(dst.kind == DEST_BOUNCE);
		dest_clear(&dst);
	}
	/* the aliases file is re-read when it changes */
	{
		struct dest_list l = { NULL, 0 };
		char *path = xasprintf("%s/aliases", dir), *got;

		sleep(1);
		f = fopen(path, "w");
		fputs("root: carol@example.com\n", f);
		fclose(f);
		expand_recipient(d, c, "root@localhost", &l);
		got = render(&l);
		t_str(got, "mbox:carol@example.com:example.com/carol/");
		free(got);
		dest_list_clear(&l);
		unlink(path);
		free(path);
	}
	free(err);
	dir_close(&d);
	conf_free(&c);
	aliases_flush();
	{
		char *cmd = xasprintf("rm -rf %s", dir);
		(void)!system(cmd);
		free(cmd);
	}
	return t_end();
}
