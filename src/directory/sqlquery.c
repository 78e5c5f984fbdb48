/*
 * Postfix-style query templates -> parameterized SQL (sqlquery.h).  The
 * template is trusted config text; the key is not, so it only ever travels
 * as a bound parameter.  A small lexer knows just enough SQL to tell what
 * is inside a string literal: '...' with '' (and in MySQL \x and "...").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory/sqlquery.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

#define SQLQ_MAX	65536	/* compiled text, bytes */

struct lexer {
	enum sqlq_dialect	 dialect;
	struct sqlq		*q;
	struct buf		 out;
	char			*err;
};

static int
lex_fail(struct lexer *lx, const char *msg, const char *at)
{
	if (lx->err == NULL)
		lx->err = at != NULL ? xasprintf("%s at \"%.20s\"", msg, at) : xstrdup(msg);
	return -1;
}

/* Append a placeholder for escape c ('s', 'u', 'd', either case) to b. */
static int
lex_placeholder(struct lexer *lx, struct buf *b, char c, const char *at)
{
	if (lx->q->nargs >= SQLQ_MAXARGS)
		return lex_fail(lx, "too many %s/%u/%d escapes", NULL);
	lx->q->args[lx->q->nargs++] = (char)(c | 0x20);
	if (lx->dialect == SQLQ_PGSQL)
		return buf_addf(b, "$%d", lx->q->nargs) < 0 ? lex_fail(lx, "query too long", at) : 0;
	return buf_addc(b, '?') < 0 ? lex_fail(lx, "query too long", at) : 0;
}

static bool
is_escape(char c)
{
	return c == 's' || c == 'u' || c == 'd' || c == 'S' || c == 'U' || c == 'D';
}

/*
 * A quoted literal starting at *pp (the quote).  Without escapes it is
 * copied (%% collapsed); '%s' alone becomes one placeholder; a mix becomes
 * CONCAT('a', ?, 'b') or ('a' || $1 || 'b').  Advances *pp past the close.
 */
static int
lex_literal(struct lexer *lx, const char **pp)
{
	const char	*p = *pp, *start = *pp;
	char		 quote = *p++;
	struct buf	 cur, parts;
	int		 npieces = 0, nparams = 0, rc = -1;
	const char	*sep = lx->dialect == SQLQ_MYSQL ? ", " : " || ";

	buf_init(&cur, SQLQ_MAX);
	buf_init(&parts, SQLQ_MAX);
	for (;;) {
		if (*p == '\0') {
			lex_fail(lx, "unterminated quote", start);
			goto out;
		}
		if (*p == quote && p[1] == quote) {		/* doubled: a literal quote */
			if (buf_add(&cur, p, 2) < 0)
				goto toolong;
			p += 2;
			continue;
		}
		if (*p == quote) {
			p++;
			break;
		}
		if (*p == '\\' && lx->dialect == SQLQ_MYSQL && p[1] != '\0') {
			if (buf_add(&cur, p, 2) < 0)
				goto toolong;
			p += 2;
			continue;
		}
		if (*p != '%') {
			if (buf_addc(&cur, *p++) < 0)
				goto toolong;
			continue;
		}
		if (p[1] == '%') {
			if (buf_addc(&cur, '%') < 0)
				goto toolong;
			p += 2;
			continue;
		}
		if (!is_escape(p[1])) {
			lex_fail(lx, "unknown escape (want %s, %u, %d or %%)", p);
			goto out;
		}
		if (quote == '"' && lx->dialect != SQLQ_MYSQL) {
			lex_fail(lx, "escape inside a double-quoted identifier (use '...')", p);
			goto out;
		}
		if (cur.len > 0) {
			if ((npieces++ > 0 && buf_adds(&parts, sep) < 0) ||
			    buf_addf(&parts, "%c%s%c", quote, buf_str(&cur), quote) < 0)
				goto toolong;
			buf_reset(&cur);
		}
		if (npieces++ > 0 && buf_adds(&parts, sep) < 0)
			goto toolong;
		if (lex_placeholder(lx, &parts, p[1], p) < 0)
			goto out;
		nparams++;
		p += 2;
	}
	if (cur.len > 0 || npieces == 0) {
		if ((npieces++ > 0 && buf_adds(&parts, sep) < 0) ||
		    buf_addf(&parts, "%c%s%c", quote, buf_str(&cur), quote) < 0)
			goto toolong;
	}
	if (nparams == 0 || npieces == 1)
		rc = buf_adds(&lx->out, buf_str(&parts));
	else if (lx->dialect == SQLQ_MYSQL)
		rc = buf_addf(&lx->out, "CONCAT(%s)", buf_str(&parts));
	else
		rc = buf_addf(&lx->out, "(%s)", buf_str(&parts));
	if (rc < 0)
		goto toolong;
	*pp = p;
	rc = 0;
	goto out;
toolong:
	rc = lex_fail(lx, "query too long", NULL);
out:
	buf_clear(&cur);
	buf_clear(&parts);
	return rc;
}

struct sqlq *
sqlq_compile(const char *tmpl, enum sqlq_dialect dialect, char **err_r)
{
	struct lexer	 lx;
	const char	*p = tmpl;

	memset(&lx, 0, sizeof(lx));
	lx.dialect = dialect;
	lx.q = xcalloc(1, sizeof(*lx.q));
	buf_init(&lx.out, SQLQ_MAX);
	while (*p != '\0' && lx.err == NULL) {
		if (*p == '\'' || *p == '"') {
			lex_literal(&lx, &p);
		} else if (*p == '%') {
			if (p[1] == '%') {
				if (buf_addc(&lx.out, '%') < 0)
					lex_fail(&lx, "query too long", NULL);
				p += 2;
			} else if (is_escape(p[1])) {
				lex_placeholder(&lx, &lx.out, p[1], p);
				p += 2;
			} else
				lex_fail(&lx, "unknown escape (want %s, %u, %d or %%)", p);
		} else if (*p == '?') {
			lex_fail(&lx, "'?' outside quotes (use %s, %u, %d)", p);
		} else if (*p == '$' && dialect == SQLQ_PGSQL && p[1] >= '0' && p[1] <= '9') {
			lex_fail(&lx, "$N outside quotes (use %s, %u, %d)", p);
		} else if (buf_addc(&lx.out, *p++) < 0)
			lex_fail(&lx, "query too long", NULL);
	}
	if (lx.err == NULL && lx.out.len == 0)
		lex_fail(&lx, "empty query", NULL);
	if (lx.err != NULL) {
		*err_r = lx.err;
		buf_clear(&lx.out);
		free(lx.q);
		return NULL;
	}
	lx.q->sql = buf_take(&lx.out, NULL);
	return lx.q;
}

void
sqlq_free(struct sqlq **qp)
{
	if (*qp == NULL)
		return;
	free((*qp)->sql);
	xfree(qp);
}

int
sqlq_bind(const struct sqlq *q, const char *key, struct sqlq_vals *v, const char **params)
{
	const char	*at = strrchr(key, '@');
	int		 i;

	v->local = at != NULL ? xstrndup(key, (size_t)(at - key)) : xstrdup(key);
	v->domain = at != NULL ? xstrdup(at + 1) : NULL;
	for (i = 0; i < q->nargs; i++) {
		switch (q->args[i]) {
		case 's':
			params[i] = key;
			break;
		case 'u':
			/* Postfix: an empty local part suppresses the query. */
			if (v->local[0] == '\0')
				return 1;
			params[i] = v->local;
			break;
		default:
			/* Postfix: an unqualified key suppresses a query that uses %d. */
			if (v->domain == NULL || v->domain[0] == '\0')
				return 1;
			params[i] = v->domain;
			break;
		}
	}
	return 0;
}

void
sqlq_vals_clear(struct sqlq_vals *v)
{
	xfree(&v->local);
	xfree(&v->domain);
}

char *
sqlq_positional(const char *sql, int *map, int max, int *n_r)
{
	struct buf	 out;
	const char	*p = sql;
	char		 quote;
	int		 n = 0, idx;

	buf_init(&out, SQLQ_MAX);
	while (*p != '\0') {
		if (*p == '\'' || *p == '"') {
			quote = *p;
			if (buf_addc(&out, *p++) < 0)
				goto fail;
			while (*p != '\0' && *p != quote) {
				if (*p == '\\' && p[1] != '\0' && buf_addc(&out, *p++) < 0)
					goto fail;
				if (buf_addc(&out, *p++) < 0)
					goto fail;
			}
			if (*p == '\0')
				goto fail;
			if (buf_addc(&out, *p++) < 0)
				goto fail;
			continue;
		}
		if (*p != '?') {
			if (buf_addc(&out, *p++) < 0)
				goto fail;
			continue;
		}
		p++;
		if (*p < '1' || *p > '9' || n >= max)
			goto fail;
		for (idx = 0; *p >= '0' && *p <= '9' && idx < 1000; p++)
			idx = idx * 10 + (*p - '0');
		map[n++] = idx - 1;
		if (buf_addc(&out, '?') < 0)
			goto fail;
	}
	*n_r = n;
	return buf_take(&out, NULL);
fail:
	buf_clear(&out);
	return NULL;
}
