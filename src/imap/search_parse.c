/*
 * SEARCH key parser; see search_parse.h.  A recursive descent over the
 * argument tree with a cursor per list; recursion is bounded by max_depth.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/date.h"
#include "imap/search_parse.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

struct cursor {
	const struct imap_arg	*a;
	size_t			 n, i;
};

struct ctx {
	struct search_query	*q;
	struct search_error	*err;
	unsigned		 max_depth;
};

enum operand { OP_NONE, OP_STR, OP_HEADER, OP_KEYWORD, OP_DATE, OP_NUM, OP_NZ,
	OP_SET, OP_KEY, OP_TWO_KEYS, OP_MODSEQ, OP_OBJECTID };

static const struct {
	const char		*name;
	enum search_key_type	 type;
	enum operand		 op;
} keys[] = {
	{ "ALL", SEARCH_ALL, OP_NONE },
	{ "ANSWERED", SEARCH_ANSWERED, OP_NONE },
	{ "BCC", SEARCH_BCC, OP_STR },
	{ "BEFORE", SEARCH_BEFORE, OP_DATE },
	{ "BODY", SEARCH_BODY, OP_STR },
	{ "CC", SEARCH_CC, OP_STR },
	{ "DELETED", SEARCH_DELETED, OP_NONE },
	{ "DRAFT", SEARCH_DRAFT, OP_NONE },
	{ "EMAILID", SEARCH_EMAILID, OP_OBJECTID },
	{ "FLAGGED", SEARCH_FLAGGED, OP_NONE },
	{ "FROM", SEARCH_FROM, OP_STR },
	{ "HEADER", SEARCH_HEADER, OP_HEADER },
	{ "KEYWORD", SEARCH_KEYWORD, OP_KEYWORD },
	{ "LARGER", SEARCH_LARGER, OP_NUM },
	{ "MODSEQ", SEARCH_MODSEQ, OP_MODSEQ },
	{ "NEW", SEARCH_NEW, OP_NONE },
	{ "NOT", SEARCH_NOT, OP_KEY },
	{ "OLD", SEARCH_OLD, OP_NONE },
	{ "OLDER", SEARCH_OLDER, OP_NZ },
	{ "ON", SEARCH_ON, OP_DATE },
	{ "OR", SEARCH_OR, OP_TWO_KEYS },
	{ "RECENT", SEARCH_RECENT, OP_NONE },
	{ "SAVEDATESUPPORTED", SEARCH_SAVEDATESUPPORTED, OP_NONE },
	{ "SAVEDBEFORE", SEARCH_SAVEDBEFORE, OP_DATE },
	{ "SAVEDON", SEARCH_SAVEDON, OP_DATE },
	{ "SAVEDSINCE", SEARCH_SAVEDSINCE, OP_DATE },
	{ "SEEN", SEARCH_SEEN, OP_NONE },
	{ "SENTBEFORE", SEARCH_SENTBEFORE, OP_DATE },
	{ "SENTON", SEARCH_SENTON, OP_DATE },
	{ "SENTSINCE", SEARCH_SENTSINCE, OP_DATE },
	{ "SINCE", SEARCH_SINCE, OP_DATE },
	{ "SMALLER", SEARCH_SMALLER, OP_NUM },
	{ "SUBJECT", SEARCH_SUBJECT, OP_STR },
	{ "TEXT", SEARCH_TEXT, OP_STR },
	{ "THREADID", SEARCH_THREADID, OP_OBJECTID },
	{ "TO", SEARCH_TO, OP_STR },
	{ "UID", SEARCH_UIDSET, OP_SET },
	{ "UNANSWERED", SEARCH_UNANSWERED, OP_NONE },
	{ "UNDELETED", SEARCH_UNDELETED, OP_NONE },
	{ "UNDRAFT", SEARCH_UNDRAFT, OP_NONE },
	{ "UNFLAGGED", SEARCH_UNFLAGGED, OP_NONE },
	{ "UNKEYWORD", SEARCH_UNKEYWORD, OP_KEYWORD },
	{ "UNSEEN", SEARCH_UNSEEN, OP_NONE },
	{ "YOUNGER", SEARCH_YOUNGER, OP_NZ },
};

static int
bad(struct ctx *c, const char *msg)
{
	c->err->msg = msg;
	c->err->code = NULL;
	c->err->no = false;
	return -1;
}

static const struct imap_arg *
take(struct cursor *cur)
{
	return cur->i < cur->n ? &cur->a[cur->i++] : NULL;
}

static struct search_key *
new_key(struct ctx *c, enum search_key_type type)
{
	struct search_key	*k = imap_arena_alloc(&c->q->arena, sizeof(*k));

	k->type = type;
	return k;
}

static int
take_astring(struct ctx *c, struct cursor *cur, const char **s_r, size_t *len_r)
{
	const char	*s;
	size_t		 len;

	if (!imap_arg_astring(take(cur), &s, &len))
		return bad(c, "Missing string argument");
	*s_r = imap_arena_strndup(&c->q->arena, s, len);
	*len_r = len;
	return 0;
}

/* flag-keyword = atom (RFC 9051 9): no "\", wildcards or "]". */
static bool
keyword_ok(const struct imap_arg *a)
{
	size_t	 i;

	if (a == NULL || a->type != IMAP_ARG_ATOM)
		return false;
	for (i = 0; i < a->len; i++)
		if (strchr("\\%*]", a->str[i]) != NULL)
			return false;
	return true;
}

/* objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474 7) */
static bool
objectid_ok(const struct imap_arg *a)
{
	size_t	 i;

	if (a == NULL || a->type != IMAP_ARG_ATOM || a->len == 0 || a->len > 255)
		return false;
	for (i = 0; i < a->len; i++) {
		char ch = a->str[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static int
set_key(struct ctx *c, struct search_key *k, const struct imap_arg *a)
{
	const char	*e;

	/* linked first: a failed parse may have allocated ranges */
	k->set_next = c->q->sets;
	c->q->sets = k;
	if (a == NULL || a->type != IMAP_ARG_ATOM ||
	    seqset_parse(&k->set, a->str, a->len, 0, &e) < 0)
		return bad(c, "Invalid sequence set");
	if (k->set.saved)
		c->q->uses_saved = true;
	return 0;
}

/* MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162 3.1.5) */
static int
modseq_key(struct ctx *c, struct cursor *cur, struct search_key *k)
{
	const struct imap_arg	*a = take(cur), *t;

	if (a != NULL && a->type == IMAP_ARG_STRING) {
		if (!str_iprefix(a->str, a->len, "/flags/") || a->len == 7)
			return bad(c, "Invalid MODSEQ entry name");
		k->field = imap_arena_strndup(&c->q->arena, a->str, a->len);
		k->field_len = a->len;
		t = take(cur);
		if (imap_arg_is_atom(t, "priv"))
			k->modseq_type = SEARCH_MODSEQ_PRIV;
		else if (imap_arg_is_atom(t, "shared"))
			k->modseq_type = SEARCH_MODSEQ_SHARED;
		else if (imap_arg_is_atom(t, "all"))
			k->modseq_type = SEARCH_MODSEQ_ALL;
		else
			return bad(c, "Invalid MODSEQ entry type");
		a = take(cur);
	}
	if (!imap_arg_number64(a, &k->num))
		return bad(c, "Invalid MODSEQ value");
	c->q->uses_modseq = true;
	return 0;
}

static struct search_key *parse_key(struct ctx *c, struct cursor *cur, unsigned depth);

/* Keys of a list (or the top level) ANDed under one SEARCH_AND. */
static struct search_key *
parse_group(struct ctx *c, struct cursor *cur, unsigned depth)
{
	struct search_key	*and = new_key(c, SEARCH_AND), **tail = &and->child;

	if (cur->i >= cur->n) {
		bad(c, "Missing search key");
		return NULL;
	}
	while (cur->i < cur->n) {
		if ((*tail = parse_key(c, cur, depth)) == NULL)
			return NULL;
		tail = &(*tail)->next;
	}
	return and;
}

static int
operand(struct ctx *c, struct cursor *cur, struct search_key *k, enum operand op,
    unsigned depth)
{
	const struct imap_arg	*a;
	uint32_t		 v32;

	switch (op) {
	case OP_NONE:
		return 0;
	case OP_HEADER:
		if (take_astring(c, cur, &k->field, &k->field_len) < 0)
			return -1;
		/* FALLTHROUGH */
	case OP_STR:
		return take_astring(c, cur, &k->str, &k->len);
	case OP_OBJECTID:
	case OP_KEYWORD:
		a = take(cur);
		if (op == OP_OBJECTID ? !objectid_ok(a) : !keyword_ok(a))
			return bad(c, op == OP_OBJECTID ? "Invalid object id" : "Invalid keyword");
		k->str = imap_arena_strndup(&c->q->arena, a->str, a->len);
		k->len = a->len;
		return 0;
	case OP_DATE:
		if (!imap_arg_astring(a = take(cur), &k->str, &k->len) ||
		    imap_parse_date(k->str, k->len, &k->date) < 0)
			return bad(c, "Invalid date");
		k->str = NULL;
		k->len = 0;
		return 0;
	case OP_NUM:
		if (!imap_arg_number64(take(cur), &k->num))
			return bad(c, "Invalid number");
		return 0;
	case OP_NZ:
		if (!imap_arg_nz_number(take(cur), &v32))
			return bad(c, "Invalid number");
		k->num = v32;
		return 0;
	case OP_SET:
		return set_key(c, k, take(cur));
	case OP_MODSEQ:
		return modseq_key(c, cur, k);
	case OP_TWO_KEYS:
		if ((k->child = parse_key(c, cur, depth + 1)) == NULL)
			return -1;
		return (k->child->next = parse_key(c, cur, depth + 1)) == NULL ? -1 : 0;
	case OP_KEY:
		return (k->child = parse_key(c, cur, depth + 1)) == NULL ? -1 : 0;
	}
	return -1;
}

static struct search_key *
parse_key(struct ctx *c, struct cursor *cur, unsigned depth)
{
	const struct imap_arg	*a = take(cur);
	struct search_key	*k;
	struct cursor		 sub;
	size_t			 i;

	if (depth > c->max_depth) {
		bad(c, "Search keys nested too deeply");
		return NULL;
	}
	if (a == NULL) {
		bad(c, "Missing search key");
		return NULL;
	}
	if (a->type == IMAP_ARG_LIST) {
		sub.a = a->list;
		sub.n = a->count;
		sub.i = 0;
		return parse_group(c, &sub, depth + 1);
	}
	if (a->type != IMAP_ARG_ATOM) {
		bad(c, "Invalid search key");
		return NULL;
	}
	if (seqset_syntax_start(a->str, a->len)) {
		k = new_key(c, SEARCH_SEQSET);
		return set_key(c, k, a) < 0 ? NULL : k;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!str_ieq(a->str, a->len, keys[i].name))
			continue;
		k = new_key(c, keys[i].type);
		return operand(c, cur, k, keys[i].op, depth) < 0 ? NULL : k;
	}
	bad(c, "Unknown search key");
	return NULL;
}

/* RETURN (MIN MAX ALL COUNT SAVE): RFC 4731 3.1, RFC 5182 2. */
static int
return_opts(struct ctx *c, const struct imap_arg *list)
{
	static const struct { const char *name; unsigned bit; } opts[] = {
		{ "MIN", SEARCH_RET_MIN }, { "MAX", SEARCH_RET_MAX },
		{ "ALL", SEARCH_RET_ALL }, { "COUNT", SEARCH_RET_COUNT },
		{ "SAVE", SEARCH_RET_SAVE },
	};
	size_t	 i, j;

	if (!imap_arg_is_list(list))
		return bad(c, "Invalid RETURN options");
	for (i = 0; i < list->count; i++) {
		for (j = 0; j < sizeof(opts) / sizeof(opts[0]); j++)
			if (imap_arg_is_atom(&list->list[i], opts[j].name))
				break;
		if (j == sizeof(opts) / sizeof(opts[0]))
			return bad(c, "Unknown RETURN option");
		c->q->ret |= opts[j].bit;
	}
	if (c->q->ret == 0)
		c->q->ret = SEARCH_RET_ALL;
	c->q->esearch = true;
	return 0;
}

static int
charset(struct ctx *c, const struct imap_arg *a)
{
	const char	*s;
	size_t		 len;

	if (!imap_arg_astring(a, &s, &len))
		return bad(c, "Missing charset");
	if (str_ieq(s, len, "UTF-8") || str_ieq(s, len, "US-ASCII"))
		return 0;
	c->err->msg = "Unsupported charset";
	c->err->code = "BADCHARSET (UTF-8 US-ASCII)";
	c->err->no = true;
	return -1;
}

int
search_parse(const struct imap_arg *args, size_t nargs, unsigned max_depth,
    struct search_query **q_r, struct search_error *err)
{
	struct search_query	*q = xcalloc(1, sizeof(*q));
	struct ctx		 c = { q, err, max_depth };
	struct cursor		 cur = { args, nargs, 0 };

	imap_arena_init(&q->arena);
	memset(err, 0, sizeof(*err));
	if (cur.n > 0 && imap_arg_is_atom(&args[0], "RETURN")) {
		if (return_opts(&c, cur.n > 1 ? &args[1] : NULL) < 0)
			goto fail;
		cur.i = 2;
	}
	if (cur.n - cur.i > 0 && imap_arg_is_atom(&args[cur.i], "CHARSET")) {
		if (charset(&c, cur.n - cur.i > 1 ? &args[cur.i + 1] : NULL) < 0)
			goto fail;
		cur.i += 2;
	}
	if ((q->root = parse_group(&c, &cur, 0)) == NULL)
		goto fail;
	*q_r = q;
	return 0;
fail:
	search_query_free(&q);
	return -1;
}

void
search_query_free(struct search_query **qp)
{
	struct search_query	*q = *qp;
	struct search_key	*k;

	if (q == NULL)
		return;
	for (k = q->sets; k != NULL; k = k->set_next)
		seqset_clear(&k->set);
	imap_arena_free(&q->arena);
	free(q);
	*qp = NULL;
}
