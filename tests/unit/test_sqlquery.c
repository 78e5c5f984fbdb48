/* Query templates: %s/%u/%d -> bound parameters, never SQL text (directory/sqlquery.h). */
#include <stdlib.h>
#include <string.h>

#include "directory/sqlquery.h"
#include "t.h"

static const struct {
	const char		*tmpl;
	enum sqlq_dialect	 dialect;
	const char		*sql;		/* NULL: compile error */
	const char		*args;
} cases[] = {
	/* The classic guide's maps. */
	{ "SELECT destination FROM forwardings WHERE source='%s'", SQLQ_MYSQL,
	  "SELECT destination FROM forwardings WHERE source=?", "s" },
	{ "SELECT destination FROM forwardings WHERE source='%s'", SQLQ_PGSQL,
	  "SELECT destination FROM forwardings WHERE source=$1", "s" },
	{ "SELECT destination FROM forwardings WHERE source='%s'", SQLQ_SQLITE,
	  "SELECT destination FROM forwardings WHERE source=?", "s" },
	{ "SELECT CONCAT(SUBSTRING_INDEX(email,'@',-1),'/',SUBSTRING_INDEX(email,'@',1),'/')"
	  " FROM users WHERE email='%s'", SQLQ_MYSQL,
	  "SELECT CONCAT(SUBSTRING_INDEX(email,'@',-1),'/',SUBSTRING_INDEX(email,'@',1),'/')"
	  " FROM users WHERE email=?", "s" },
	/* Unquoted escapes, several, repeated. */
	{ "SELECT 1 FROM t WHERE u=%u AND d=%d OR e=%s AND d2='%d'", SQLQ_PGSQL,
	  "SELECT 1 FROM t WHERE u=$1 AND d=$2 OR e=$3 AND d2=$4", "udsd" },
	{ "SELECT 1 FROM t WHERE u=\"%u\"", SQLQ_MYSQL, "SELECT 1 FROM t WHERE u=?", "u" },
	/* Text around an escape inside quotes: a concatenation. */
	{ "SELECT 1 FROM t WHERE e='%u@example.com'", SQLQ_MYSQL,
	  "SELECT 1 FROM t WHERE e=CONCAT(?, '@example.com')", "u" },
	{ "SELECT 1 FROM t WHERE e='x-%u@%d'", SQLQ_PGSQL,
	  "SELECT 1 FROM t WHERE e=('x-' || $1 || '@' || $2)", "ud" },
	{ "SELECT 1 FROM t WHERE e LIKE '%%@%d'", SQLQ_SQLITE,
	  "SELECT 1 FROM t WHERE e LIKE ('%@' || ?)", "d" },
	/* %% and quotes without escapes pass through. */
	{ "SELECT 'it''s', \"col\" FROM t WHERE a LIKE 'x%%' AND b='%s'", SQLQ_PGSQL,
	  "SELECT 'it''s', \"col\" FROM t WHERE a LIKE 'x%' AND b=$1", "s" },
	{ "SELECT 'a\\'%s' FROM t", SQLQ_MYSQL, "SELECT CONCAT('a\\'', ?) FROM t", "s" },
	{ "SELECT 100%% FROM t WHERE a=''", SQLQ_MYSQL, "SELECT 100% FROM t WHERE a=''", "" },
	{ "SELECT 1 FROM t WHERE a='%S' AND b='%D'", SQLQ_MYSQL,
	  "SELECT 1 FROM t WHERE a=? AND b=?", "sd" },
	/* Errors. */
	{ "SELECT 1 FROM t WHERE a='%s", SQLQ_MYSQL, NULL, NULL },
	{ "SELECT 1 FROM t WHERE a='%x'", SQLQ_MYSQL, NULL, NULL },
	{ "SELECT 1 FROM t WHERE a=%1", SQLQ_MYSQL, NULL, NULL },
	{ "SELECT 1 FROM t WHERE a=?", SQLQ_MYSQL, NULL, NULL },
	{ "SELECT 1 FROM t WHERE a=$1", SQLQ_PGSQL, NULL, NULL },
	{ "SELECT 1 FROM t WHERE \"%s\"=1", SQLQ_PGSQL, NULL, NULL },
	{ "", SQLQ_PGSQL, NULL, NULL },
	{ "%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s", SQLQ_PGSQL, NULL, NULL },
	/* A percent at the very end. */
	{ "SELECT 1 %", SQLQ_MYSQL, NULL, NULL },
};

static void
test_compile(void)
{
	struct sqlq	*q;
	char		*err = NULL;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q = sqlq_compile(cases[i].tmpl, cases[i].dialect, &err);
		if (cases[i].sql == NULL) {
			if (!t_ok(q == NULL && err != NULL))
				printf("  case %zu: %s\n", i, cases[i].tmpl);
			free(err);
			err = NULL;
			sqlq_free(&q);
			continue;
		}
		if (!t_ok(q != NULL)) {
			printf("  case %zu: %s: %s\n", i, cases[i].tmpl, err);
			free(err);
			err = NULL;
			continue;
		}
		t_str(q->sql, cases[i].sql);
		t_int(q->nargs, (int)strlen(cases[i].args));
		t_ok(memcmp(q->args, cases[i].args, strlen(cases[i].args)) == 0);
		sqlq_free(&q);
		t_ok(q == NULL);
	}
}

static void
test_bind(void)
{
	struct sqlq		*q;
	struct sqlq_vals	 v;
	const char		*params[SQLQ_MAXARGS];
	char			*err = NULL;

	q = sqlq_compile("SELECT 1 WHERE a='%s' AND b='%u' AND c='%d'", SQLQ_MYSQL, &err);
	t_ok(q != NULL);
	t_int(sqlq_bind(q, "Sales@Example.COM", &v, params), 0);
	t_str(params[0], "Sales@Example.COM");
	t_str(params[1], "Sales");
	t_str(params[2], "Example.COM");
	sqlq_vals_clear(&v);
	/* An injection-shaped key is one parameter, byte for byte. */
	t_int(sqlq_bind(q, "x' OR '1'='1@example.com", &v, params), 0);
	t_str(params[0], "x' OR '1'='1@example.com");
	t_str(params[1], "x' OR '1'='1");
	t_str(params[2], "example.com");
	sqlq_vals_clear(&v);
	/* Quoted local part with an '@': the last one separates. */
	t_int(sqlq_bind(q, "\"a@b\"@c.example", &v, params), 0);
	t_str(params[1], "\"a@b\"");
	t_str(params[2], "c.example");
	sqlq_vals_clear(&v);
	/* Unqualified: %d suppresses. */
	t_int(sqlq_bind(q, "example.com", &v, params), 1);
	sqlq_vals_clear(&v);
	/* Catch-all key: %u suppresses. */
	t_int(sqlq_bind(q, "@example.com", &v, params), 1);
	sqlq_vals_clear(&v);
	sqlq_free(&q);

	q = sqlq_compile("SELECT 1 WHERE domain='%s'", SQLQ_PGSQL, &err);
	t_int(sqlq_bind(q, "example.com", &v, params), 0);
	t_str(params[0], "example.com");
	sqlq_vals_clear(&v);
	t_int(sqlq_bind(q, "@example.com", &v, params), 0);
	t_str(params[0], "@example.com");
	sqlq_vals_clear(&v);
	sqlq_free(&q);

	q = sqlq_compile("SELECT 1 WHERE u='%u'", SQLQ_PGSQL, &err);
	t_int(sqlq_bind(q, "example.com", &v, params), 0);
	t_str(params[0], "example.com");	/* unqualified: %u is the whole key */
	sqlq_vals_clear(&v);
	sqlq_free(&q);
}

static void
test_positional(void)
{
	int	 map[8], n = -1;
	char	*s;

	s = sqlq_positional("UPDATE users SET password = ?2 WHERE email = ?1", map, 8, &n);
	t_str(s, "UPDATE users SET password = ? WHERE email = ?");
	t_int(n, 2);
	t_int(map[0], 1);
	t_int(map[1], 0);
	free(s);
	s = sqlq_positional("SELECT '?1', x FROM t WHERE RIGHT(a, CHAR_LENGTH(?1)) = ?1", map, 8, &n);
	t_str(s, "SELECT '?1', x FROM t WHERE RIGHT(a, CHAR_LENGTH(?)) = ?");
	t_int(n, 2);
	t_int(map[0], 0);
	t_int(map[1], 0);
	free(s);
	s = sqlq_positional("SELECT 1", map, 8, &n);
	t_str(s, "SELECT 1");
	t_int(n, 0);
	free(s);
	t_ok(sqlq_positional("SELECT ?", map, 8, &n) == NULL);
	t_ok(sqlq_positional("SELECT 'x", map, 8, &n) == NULL);
	t_ok(sqlq_positional("SELECT ?1, ?1", map, 1, &n) == NULL);
}

/* Every prefix of every template either compiles or fails cleanly (no overread). */
static void
test_prefixes(void)
{
	struct sqlq	*q;
	char		*err, *pre;
	size_t		 i, len, cut;
	int		 d;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = strlen(cases[i].tmpl);
		for (cut = 0; cut <= len; cut++) {
			pre = strndup(cases[i].tmpl, cut);
			for (d = SQLQ_SQLITE; d <= SQLQ_PGSQL; d++) {
				err = NULL;
				q = sqlq_compile(pre, (enum sqlq_dialect)d, &err);
				t_ok((q == NULL) == (err != NULL));
				sqlq_free(&q);
				free(err);
			}
			free(pre);
		}
	}
}

int
main(void)
{
	t_begin("sqlquery");
	test_compile();
	test_bind();
	test_positional();
	test_prefixes();
	return t_end();
}
