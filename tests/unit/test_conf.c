/* Config parser: syntax, continuation lines, $expansion, types, errors with file:line, set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/conf.h"
#include "lib/conf_check.h"
#include "lib/xmalloc.h"
#include "t.h"

static char dir[] = "/tmp/lbconf-XXXXXX";

static char *
write_conf(const char *text)
{
	char	*path = xasprintf("%s/letterbox.conf", dir);
	FILE	*f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	return path;
}

static struct conf *
load(const char *text, char **err)
{
	char		*path = write_conf(text);
	struct conf	*c;

	*err = NULL;
	c = conf_load(path, err);
	free(path);
	return c;
}

/* Each bad file must fail with this text in the error, and name line N. */
static const struct { const char *text; const char *want; } bad[] = {
	{ "nosuchkey = 1\n", ":1: unknown parameter \"nosuchkey\"" },
	{ "# c\n\nmessage_size_limit = ten\n", ":3: message_size_limit: want a size" },
	{ "debug = maybe\n", ":1: debug: want yes or no" },
	{ "smtpd_recipient_limit = 0\n", ":1: smtpd_recipient_limit: value out of range" },
	{ "smtpd_recipient_limit = -5\n", ":1: smtpd_recipient_limit: want a whole number" },
	{ "  continued = x\n", ":1: continuation line without a parameter" },
	{ "myorigin $myhostname\n", ":1: missing '='" },
	{ "myorigin = $nosuch\n", ":1: myorigin: unknown $name in value: $nosuch" },
	{ "myorigin = ${myhostname\n", ":1: myorigin: bad $ expansion" },
	{ "mynetworks = 10.0.0.0/33\n", ":1: mynetworks: bad network" },
	{ "smtp_listen = 127.0.0.1\n", ":1: smtp_listen: want ADDR:PORT" },
	{ "database = oracle://x\n", ":1: database: want sqlite:PATH" },
	{ "myorigin = $mydomain\nmydomain = $myorigin\n", "nested too deeply" },
	{ "smtpd_recipient_restrictions = permit_everything\n", "unknown restriction" },
	{ "config_directory = /etc\n", ":1: unknown parameter \"config_directory\"" },
	{ "smtpd_timeout = 5x\n", ":1: smtpd_timeout: want a time" },
	{ "mail_fsync = never\n", ":1: mail_fsync: want optimized or always" },
};

/* The generated ids are the table's indexes: a lookup by id is the key's slot. */
static void
test_ids(void)
{
	unsigned		 n, i;
	const struct conf_key	*k = conf_keys(&n);
	enum conf_id		 id;

	t_int(n, CK__COUNT);
	t_str(k[CK_MYHOSTNAME].name, "myhostname");
	t_str(k[CK_SMTPD_TIMEOUT].name, "smtpd_timeout");
	for (i = 0; i < n; i++)
		t_ok(conf_id_find(k[i].name, &id) && id == (enum conf_id)i);
	t_ok(!conf_id_find("no_such_key", &id));
}

static void
test_bad(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char		*err;
		struct conf	*c = load(bad[i].text, &err);

		t_ok(c == NULL);
		if (!t_ok(err != NULL && strstr(err, bad[i].want) != NULL))
			printf("  case %zu: got \"%s\", want \"%s\"\n", i, err ? err : "(null)", bad[i].want);
		conf_free(&c);
		free(err);
	}
}

static void
test_good(void)
{
	char		*err;
	struct conf	*c;

	c = load("# comment\n"
	    "myhostname = mail.example.com\n"
	    "mynetworks = 127.0.0.0/8,\n"
	    "   192.0.2.0/24\n"
	    "\t[2001:db8::]/32\n"
	    "smtpd_banner = ${myhostname} ESMTP $$5 $(mydomain)\n"
	    "message_size_limit = 20m\n"
	    "smtpd_timeout = 2m\n"
	    "debug = yes\n"
	    "myorigin = $mydomain\n", &err);
	if (!t_ok(c != NULL)) {
		printf("  err: %s\n", err);
		free(err);
		return;
	}
	t_str(conf_str(c, CK_MYHOSTNAME), "mail.example.com");
	t_str(conf_str(c, CK_MYDOMAIN), "example.com");
	t_str(conf_str(c, CK_MYORIGIN), "example.com");
	t_str(conf_str(c, CK_MYNETWORKS), "127.0.0.0/8, 192.0.2.0/24 [2001:db8::]/32");
	t_str(conf_str(c, CK_SMTPD_BANNER), "mail.example.com ESMTP $5 example.com");
	t_int(conf_int(c, CK_MESSAGE_SIZE_LIMIT), 20 * 1024 * 1024);
	t_int(conf_int(c, CK_SMTPD_TIMEOUT), 120);
	t_int(conf_int(c, CK_SMTPD_RECIPIENT_LIMIT), 1000);		/* default */
	t_ok(conf_bool(c, CK_DEBUG));
	t_ok(!conf_bool(c, CK_BROKEN_SASL_AUTH_CLIENTS));
	t_ok(conf_is_set(c, CK_DEBUG));
	t_ok(!conf_is_set(c, CK_SMTPD_RECIPIENT_LIMIT));
	t_ok(strncmp(conf_str(c, CK_QUEUE_DIRECTORY), "/tmp/lbconf-", 12) == 0);
	t_ok(strstr(conf_str(c, CK_QUEUE_DIRECTORY), "/spool") != NULL);
	t_str(conf_str(c, CK_MYDESTINATION), "mail.example.com, localhost.example.com, localhost");
	conf_free(&c);
}

static void
test_set(void)
{
	char		*err = NULL, *path, text[4096];
	struct conf	*c;
	FILE		*f;
	size_t		 n;

	path = write_conf("# keep me\nmyhostname = a.example\nmynetworks = 127.0.0.0/8,\n  10.0.0.0/8\ndebug = no\n");
	t_int(conf_set_file(path, "mynetworks", "192.0.2.0/24", &err), 0);
	t_int(conf_set_file(path, "smtpd_timeout", "60s", &err), 0);
	t_int(conf_set_file(path, "nosuch", "1", &err), -1);
	t_ok(err != NULL && strstr(err, "unknown parameter") != NULL);
	free(err);
	err = NULL;
	t_int(conf_set_file(path, "debug", "perhaps", &err), -1);	/* bad value: file unchanged */
	t_ok(err != NULL && strstr(err, "letterbox.conf:") != NULL);
	free(err);
	err = NULL;
	t_int(conf_set_file(path, "debug", "x\ny", &err), -1);
	free(err);
	err = NULL;
	f = fopen(path, "r");
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	t_str(text, "# keep me\nmyhostname = a.example\nmynetworks = 192.0.2.0/24\ndebug = no\nsmtpd_timeout = 60s\n");
	c = conf_load(path, &err);
	t_ok(c != NULL);
	t_int(conf_int(c, CK_SMTPD_TIMEOUT), 60);
	conf_free(&c);
	free(path);
}

static void
test_parsers(void)
{
	int64_t v;

	t_ok(conf_parse_time("5d", &v) == 0 && v == 5 * 86400);
	t_ok(conf_parse_time("300", &v) == 0 && v == 300);
	t_ok(conf_parse_time("1w", &v) == 0 && v == 604800);
	t_ok(conf_parse_time("", &v) < 0);
	t_ok(conf_parse_time("s", &v) < 0);
	t_ok(conf_parse_time("99999999999999999999d", &v) < 0);
	t_ok(conf_parse_size("10k", &v) == 0 && v == 10240);
	t_ok(conf_parse_size("1G", &v) == 0 && v == 1073741824);
	t_ok(conf_parse_size("-1", &v) < 0);
}

static void
test_defaults(void)
{
	unsigned		 n, i;
	const struct conf_key	*k = conf_keys(&n);
	struct conf		*c = conf_defaults("/var/lib/letterbox");

	/* Every key has a doc line and its default passes its own checks. */
	for (i = 0; i < n; i++)
		t_ok(k[i].doc != NULL && k[i].doc[0] != '\0');
	t_str(conf_str(c, CK_DATABASE), "sqlite:/var/lib/letterbox/letterbox.db");
	t_int(conf_int(c, CK_MESSAGE_SIZE_LIMIT), 10240000);
	t_int(conf_int(c, CK_MAXIMAL_QUEUE_LIFETIME), 5 * 86400);
	t_str(conf_str(c, CK_MAIL_FSYNC), "optimized");
	conf_free(&c);
}

int
main(void)
{
	t_begin("conf");
	/* smtpd_tls_protocols */
	t_int(conf_tls_min_minor(">=TLSv1"), 1);
	t_int(conf_tls_min_minor("TLSv1.1"), 2);
	t_int(conf_tls_min_minor(">=TLSv1.2"), 3);
	t_int(conf_tls_min_minor(">=TLSv1.3"), 4);
	t_int(conf_tls_min_minor(">=SSLv3"), -1);
	t_int(conf_tls_min_minor(">= TLSv1"), -1);
	t_int(conf_tls_min_minor(""), -1);
	t_ok(conf_check_tls_protocols(">=TLSv1.4") != NULL);
	t_ok(conf_check_tls_protocols(">=TLSv1") == NULL);
	if (mkdtemp(dir) == NULL)
		return 2;
	test_ids();
	test_bad();
	test_good();
	test_set();
	test_parsers();
	test_defaults();
	{
		char *p = xasprintf("%s/letterbox.conf", dir);
		unlink(p);
		free(p);
		rmdir(dir);
	}
	return t_end();
}
