/*
 * Incremental IMAP command parser; see parser.h.  A byte-driven state
 * machine: the tag, then arguments (the command name is the first),
 * until CRLF (a bare LF is accepted too) outside any literal.  Tokens
 * gather in p->tok and are copied to the arena when complete; literal
 * data is copied straight into its arena buffer, whose size was checked
 * against the limits when the literal was announced.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/arena.h"
#include "imap/parser.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

enum pstate {
	S_TAG,			/* start of a command, or inside the tag */
	S_ARG_START,		/* an argument, ")" or the end of the line may come */
	S_ARG_END,		/* after an argument: SP, ")" or end of line */
	S_ATOM,
	S_BRACKET,		/* BODY[...: the section runs to "]", spaces included */
	S_BRACKET_Q,		/* a quoted header name inside the brackets */
	S_BRACKET_QESC,
	S_QUOTED,
	S_QUOTED_ESC,
	S_TILDE,		/* "~": literal8 or an atom */
	S_LIT_SIZE,		/* inside {...} */
	S_LIT_CLOSE,		/* after "+": "}" must follow */
	S_LIT_CRLF,		/* after "}" */
	S_LIT_LF,
	S_WAIT_CONT,		/* until imap_parser_continue() */
	S_LIT_DATA,		/* in-memory literal bytes */
	S_STREAM_START,		/* report IMAP_PARSE_LITERAL, then stream */
	S_STREAM_DATA,
	S_CR,			/* CR at the end of the line */
	S_SKIP_LITERAL,		/* after an error: discard a declared non-sync literal */
	S_SKIP_LINE,		/* after an error: discard up to LF */
	S_CLOSED,		/* fatal error reported; only free is left */
};

/* What one step did with the byte. */
enum step { ST_NEXT, ST_AGAIN, ST_STOP };

struct imap_parser {
	struct imap_parser_limits lim, next_lim;
	enum pstate		 state;
	bool			 fresh;		/* no byte of the current command seen yet */
	struct imap_arena	 arena;
	struct buf		 tok;		/* token being read */
	size_t			 line_len;
	unsigned		 nargs;		/* args created in this command */
	unsigned		 depth;		/* open lists; stack[0] is the root */
	struct imap_arg		 root;
	struct imap_arg		**stack;	/* max_depth + 1 open containers */
	size_t			*cap;		/* their item capacity */
	bool			 is_append;
	bool			 blank;		/* the line so far is empty */
	unsigned char		 cur;		/* the byte being stepped, 0 in bulk states */
	unsigned		 lit_digits;
	int			 skip_tail;	/* S_SKIP_LINE: how much of "{n+}\r" ends the text */
	struct imap_arg		*lit;		/* the literal being read */
	uint64_t		 lit_left;
	struct imap_literal_info lit_info;
	struct imap_cmd		 cmd;
	struct imap_parse_error	 err;
	enum imap_parse		 stop;		/* the result an ST_STOP step returns */
};

static void
setup_limits(struct imap_parser *p)
{
	p->lim = p->next_lim;
	if (p->lim.max_depth == 0)
		p->lim.max_depth = 1;
	free(p->stack);
	free(p->cap);
	p->stack = xcalloc(p->lim.max_depth + 1, sizeof(*p->stack));
	p->cap = xcalloc(p->lim.max_depth + 1, sizeof(*p->cap));
}

struct imap_parser *
imap_parser_new(const struct imap_parser_limits *lim)
{
	struct imap_parser	*p = xcalloc(1, sizeof(*p));

	p->next_lim = *lim;
	setup_limits(p);
	imap_arena_init(&p->arena);
	buf_init(&p->tok, lim->max_line);
	imap_parser_reset(p);
	return p;
}

void
imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser	*p = *pp;

	if (p == NULL)
		return;
	imap_arena_free(&p->arena);
	buf_clear(&p->tok);
	free(p->stack);
	free(p->cap);
	free(p);
	*pp = NULL;
}

void
imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *lim)
{
	p->next_lim = *lim;
}

void
imap_parser_trim(struct imap_parser *p)
{
	imap_arena_free(&p->arena);
	buf_clear(&p->tok);
}

void
imap_parser_reset(struct imap_parser *p)
{
	p->state = S_TAG;
	p->fresh = true;
	p->lit = NULL;
	p->lit_left = 0;
}

static void
begin_command(struct imap_parser *p)
{
	if (p->lim.max_depth != p->next_lim.max_depth)
		setup_limits(p);
	else
		p->lim = p->next_lim;
	p->tok.max = p->lim.max_line;
	imap_arena_reset(&p->arena);
	buf_reset(&p->tok);
	memset(&p->root, 0, sizeof(p->root));
	memset(&p->cmd, 0, sizeof(p->cmd));
	memset(&p->err, 0, sizeof(p->err));
	p->root.type = IMAP_ARG_LIST;
	p->stack[0] = &p->root;
	p->cap[0] = 0;
	p->depth = 0;
	p->nargs = 0;
	p->line_len = 0;
	p->is_append = false;
	p->blank = false;
	p->fresh = false;
}

/*
 * Report an error.  next is where parsing resumes: S_TAG when the line
 * has ended, S_SKIP_LINE to drop the rest of it, S_SKIP_LITERAL to drop a
 * non-sync literal first, S_CLOSED when the stream cannot be trusted.
 */
static enum step
fail(struct imap_parser *p, enum pstate next, const char *msg, const char *code, bool no)
{
	/* the LF that ends the line was consumed: nothing left to skip */
	if (next == S_SKIP_LINE && p->cur == '\n')
		next = S_TAG;
	p->skip_tail = 0;
	p->err.msg = msg;
	p->err.code = code;
	p->err.no = no;
	p->err.close = next == S_CLOSED;
	p->err.tag = p->cmd.tag;
	p->state = next;
	if (next == S_TAG)
		p->fresh = true;
	p->stop = IMAP_PARSE_ERROR;
	return ST_STOP;
}

/* A new item in the innermost open list; NULL (error set) past max_args. */
static struct imap_arg *
new_arg(struct imap_parser *p)
{
	struct imap_arg	*list = p->stack[p->depth], *items;
	size_t		 ncap;

	if (p->nargs >= p->lim.max_args) {
		fail(p, S_SKIP_LINE, "Too many arguments", NULL, false);
		return NULL;
	}
	p->nargs++;
	if (list->count == p->cap[p->depth]) {
		/* max_args bounds count, so this cannot overflow */
		ncap = p->cap[p->depth] < 4 ? 4 : p->cap[p->depth] * 2;
		items = imap_arena_alloc(&p->arena, ncap * sizeof(*items));
		if (list->count > 0)
			memcpy(items, list->list, list->count * sizeof(*items));
		list->list = items;
		p->cap[p->depth] = ncap;
	}
	return &list->list[list->count++];
}

static bool
is_tag_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\+", c) == NULL;
}

static bool
is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){\"", c) == NULL;
}

/* FETCH items whose "[" opens a section that may hold spaces and lists. */
static bool
opens_section(const struct buf *t)
{
	static const char *const names[] = {
		"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE",
	};
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (str_ieq(t->data, t->len, names[i]))
			return true;
	return false;
}

static enum step
finish_token(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_arg	*a = new_arg(p);
	uint64_t	 v;

	if (a == NULL)
		return ST_STOP;
	if (type == IMAP_ARG_ATOM && str_ieq(p->tok.data, p->tok.len, "NIL"))
		type = IMAP_ARG_NIL;
	a->type = type;
	a->str = imap_arena_strndup(&p->arena, p->tok.len ? p->tok.data : "", p->tok.len);
	a->len = p->tok.len;
	if (type == IMAP_ARG_ATOM && parse_u64(a->str, a->len, IMAP_NUMBER64_MAX, &v) == 0) {
		a->numeric = true;
		a->num = v;
	}
	if (p->depth == 0 && p->root.count == 1) {
		p->is_append = type == IMAP_ARG_ATOM && str_ieq(a->str, a->len, "APPEND");
		/* This command only: begin_command() takes the limits afresh. */
		if (type == IMAP_ARG_ATOM && str_ieq(a->str, a->len, "ID") &&
		    p->lim.max_line_id > p->lim.max_line)
			p->lim.max_line = p->lim.max_line_id;
	}
	buf_reset(&p->tok);
	p->state = S_ARG_END;
	return ST_NEXT;
}

static enum step
tok_add(struct imap_parser *p, unsigned char c)
{
	if (buf_addc(&p->tok, (char)c) < 0)
		return fail(p, S_CLOSED, "Command line too long", NULL, false);
	return ST_NEXT;
}

static enum step
end_of_line(struct imap_parser *p)
{
	const struct imap_arg	*name;

	if (p->depth > 0)
		return fail(p, S_TAG, "Missing ')'", NULL, false);
	if (p->root.count == 0)
		return fail(p, S_TAG, "Missing command", NULL, false);
	name = &p->root.list[0];
	if (name->type != IMAP_ARG_ATOM)
		return fail(p, S_TAG, "Invalid command name", NULL, false);
	p->cmd.name = name->str;
	p->cmd.name_len = name->len;
	p->cmd.args = p->root.list + 1;
	p->cmd.nargs = p->root.count - 1;
	p->state = S_TAG;
	p->fresh = true;
	p->stop = IMAP_PARSE_DONE;
	return ST_STOP;
}

static enum step
step_tag(struct imap_parser *p, unsigned char c)
{
	if (p->tok.len == 0 && (c == '\r' || c == '\n')) {
		/* an empty line: ignore it, as clients send them after literals */
		p->state = c == '\r' ? S_CR : S_TAG;
		p->fresh = c == '\n';
		p->blank = true;
		return ST_NEXT;
	}
	if (is_tag_char(c))
		return tok_add(p, c);
	if (p->tok.len == 0 || (c != ' ' && c != '\r' && c != '\n'))
		return fail(p, S_SKIP_LINE, "Invalid tag", NULL, false);
	p->cmd.tag = imap_arena_strndup(&p->arena, p->tok.data, p->tok.len);
	p->cmd.tag_len = p->tok.len;
	buf_reset(&p->tok);
	if (c == ' ') {
		p->state = S_ARG_START;
		return ST_NEXT;
	}
	p->state = c == '\r' ? S_CR : S_ARG_END;
	return c == '\r' ? ST_NEXT : end_of_line(p);
}

static enum step
open_list(struct imap_parser *p)
{
	struct imap_arg	*a;

	if (p->depth >= p->lim.max_depth)
		return fail(p, S_SKIP_LINE, "Too deeply nested", NULL, false);
	if ((a = new_arg(p)) == NULL)
		return ST_STOP;
	a->type = IMAP_ARG_LIST;
	p->depth++;
	p->stack[p->depth] = a;
	p->cap[p->depth] = 0;
	p->state = S_ARG_START;
	return ST_NEXT;
}

static enum step
close_list(struct imap_parser *p)
{
	if (p->depth == 0)
		return fail(p, S_SKIP_LINE, "Unexpected ')'", NULL, false);
	p->depth--;
	p->state = S_ARG_END;
	return ST_NEXT;
}

static enum step
step_arg(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		return ST_NEXT;		/* tolerate doubled and trailing spaces */
	case '(':
		return open_list(p);
	case ')':
		return close_list(p);
	case '"':
		p->state = S_QUOTED;
		return ST_NEXT;
	case '{':
		memset(&p->lit_info, 0, sizeof(p->lit_info));
		p->lit_digits = 0;
		p->state = S_LIT_SIZE;
		return ST_NEXT;
	case '~':
		p->state = S_TILDE;
		return ST_NEXT;
	case '\r':
	case '\n':
		p->state = S_ARG_END;
		return ST_AGAIN;
	}
	if (!is_atom_char(c))
		return fail(p, c == '\n' ? S_TAG : S_SKIP_LINE, "Invalid characters in atom",
		    NULL, false);
	p->state = S_ATOM;
	return ST_AGAIN;
}

static enum step
step_arg_end(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		p->state = S_ARG_START;
		return ST_NEXT;
	case ')':
		return close_list(p);
	case '\r':
		p->state = S_CR;
		return ST_NEXT;
	case '\n':
		return end_of_line(p);
	}
	return fail(p, S_SKIP_LINE, "Missing space between arguments", NULL, false);
}

static enum step
step_atom(struct imap_parser *p, unsigned char c)
{
	if (c == ' ' || c == ')' || c == '\r' || c == '\n')
		return finish_token(p, IMAP_ARG_ATOM) == ST_STOP ? ST_STOP : ST_AGAIN;
	if (!is_atom_char(c))
		return fail(p, S_SKIP_LINE, "Invalid characters in atom", NULL, false);
	if (c == '[' && opens_section(&p->tok))
		p->state = S_BRACKET;
	return tok_add(p, c);
}

/* BODY[HEADER.FIELDS (A "B")]: kept whole in the atom for fetch_parse. */
static enum step
step_bracket(struct imap_parser *p, unsigned char c)
{
	if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80)
		return fail(p, c == '\n' ? S_TAG : S_SKIP_LINE, "Unterminated section", NULL,
		    false);
	if (p->state == S_BRACKET_QESC)
		p->state = S_BRACKET_Q;
	else if (p->state == S_BRACKET_Q && c == '\\')
		p->state = S_BRACKET_QESC;
	else if (c == '"')
		p->state = p->state == S_BRACKET ? S_BRACKET_Q : S_BRACKET;
	else if (c == ']' && p->state == S_BRACKET)
		p->state = S_ATOM;
	return tok_add(p, c);
}

static enum step
step_quoted(struct imap_parser *p, unsigned char c)
{
	if (c == '\r' || c == '\n' || c == '\0')
		return fail(p, c == '\n' ? S_TAG : S_SKIP_LINE, "Invalid characters in string",
		    NULL, false);
	if (p->state == S_QUOTED_ESC) {
		if (c != '"' && c != '\\')
			return fail(p, S_SKIP_LINE, "Invalid escape in string", NULL, false);
		p->state = S_QUOTED;
		return tok_add(p, c);
	}
	if (c == '\\') {
		p->state = S_QUOTED_ESC;
		return ST_NEXT;
	}
	if (c == '"')
		return finish_token(p, IMAP_ARG_STRING);
	return tok_add(p, c);	/* 8-bit allowed: RFC 9051 / RFC 6855 UTF-8 */
}

/* The literal is accepted: its bytes come next. */
static void
start_literal(struct imap_parser *p)
{
	p->lit_left = p->lit_info.size;
	if (p->lit->type == IMAP_ARG_LITERAL_SIZE)
		p->state = S_STREAM_START;
	else
		p->state = p->lit_left > 0 ? S_LIT_DATA : S_ARG_END;
}

/* The command's arguments so far (at a literal: its size is the last one). */
static void
partial_command(struct imap_parser *p)
{
	p->cmd.name = p->root.list[0].str;
	p->cmd.name_len = p->root.list[0].len;
	p->cmd.args = p->root.list + 1;
	p->cmd.nargs = p->root.count - 1;
}

/* The literal's size is known: check it against every limit, then accept. */
static enum step
literal_header_done(struct imap_parser *p)
{
	struct imap_literal_info *li = &p->lit_info;
	uint64_t		 discard = p->lim.max_message > UINT64_MAX / 2 ? UINT64_MAX :
				     p->lim.max_message * 2;
	enum pstate		 onerr;
	struct imap_arg		*a;
	uint64_t		 room;

	/* RFC 3501 APPEND: the mailbox is the only literal that is not a message. */
	li->stream = p->is_append && !(p->depth == 0 && p->root.count == 1);
	/* A client sends a non-sync literal anyway: skip it, or close if absurd. */
	onerr = !li->nonsync ? S_TAG : li->size <= discard ? S_SKIP_LITERAL : S_CLOSED;
	p->lit_left = li->size;
	room = p->lim.max_line - (p->line_len < p->lim.max_line ? p->line_len : p->lim.max_line);
	if (li->stream && li->size > p->lim.max_message)
		return fail(p, onerr, "Message too large", "TOOBIG", true);
	if (!li->stream && (li->size > p->lim.max_literal || li->size > room))
		return fail(p, onerr, "Literal too large", "TOOBIG", false);
	if (li->nonsync && li->size > p->lim.max_nonsync)
		return fail(p, onerr, "Non-synchronizing literal too large", "TOOBIG", false);
	if (p->nargs >= p->lim.max_args)
		return fail(p, onerr, "Too many arguments", NULL, false);
	a = new_arg(p);
	a->literal8 = li->literal8;
	a->nonsync = li->nonsync;
	if (li->stream) {
		a->type = IMAP_ARG_LITERAL_SIZE;
		a->literal_size = li->size;
	} else {
		a->type = IMAP_ARG_LITERAL;
		/* size <= room <= max_line: a bounded allocation */
		a->str = imap_arena_alloc(&p->arena, (size_t)li->size + 1);
		a->len = (size_t)li->size;
	}
	p->lit = a;
	if (!li->nonsync) {
		/* the session decides on the "+" by the command: show it so far */
		partial_command(p);
		p->state = S_WAIT_CONT;
		p->stop = IMAP_PARSE_CONTINUE;
		return ST_STOP;
	}
	start_literal(p);
	return ST_NEXT;
}

static enum step
step_literal_header(struct imap_parser *p, unsigned char c)
{
	struct imap_literal_info *li = &p->lit_info;

	switch (p->state) {
	case S_TILDE:
		if (c == '{') {
			memset(li, 0, sizeof(*li));
			li->literal8 = true;
			p->lit_digits = 0;
			p->state = S_LIT_SIZE;
			return ST_NEXT;
		}
		if (tok_add(p, '~') == ST_STOP)
			return ST_STOP;
		p->state = S_ATOM;
		return ST_AGAIN;
	case S_LIT_SIZE:
		if (c >= '0' && c <= '9') {
			/* past number64 the value saturates and fails the limits */
			if (li->size > (IMAP_NUMBER64_MAX - (c - '0')) / 10)
				li->size = UINT64_MAX;
			else
				li->size = li->size * 10 + (uint64_t)(c - '0');
			p->lit_digits++;
			return ST_NEXT;
		}
		if (p->lit_digits == 0 || (c != '+' && c != '}'))
			break;
		li->nonsync = c == '+';
		p->state = c == '+' ? S_LIT_CLOSE : S_LIT_CRLF;
		return ST_NEXT;
	case S_LIT_CLOSE:
		if (c != '}')
			break;
		p->state = S_LIT_CRLF;
		return ST_NEXT;
	case S_LIT_CRLF:
		if (c == '\r') {
			p->state = S_LIT_LF;
			return ST_NEXT;
		}
		/* FALLTHROUGH */
	case S_LIT_LF:
		if (c != '\n')
			break;
		return literal_header_done(p);
	default:
		break;
	}
	return fail(p, S_SKIP_LINE, "Invalid literal", NULL, false);
}

void
imap_parser_continue(struct imap_parser *p)
{
	if (p->state == S_WAIT_CONT)
		start_literal(p);
}

/* In-memory literal bytes: copy as many as are here. */
static size_t
literal_data(struct imap_parser *p, const char *data, size_t len)
{
	size_t	 k = len < p->lit_left ? len : (size_t)p->lit_left;
	char	*dst = (char *)p->lit->str;

	memcpy(dst + (p->lit->len - p->lit_left), data, k);
	p->lit_left -= k;
	p->line_len += k;
	if (p->lit_left == 0) {
		p->state = S_ARG_END;
		/* RFC 3501 literal = *CHAR8: no NUL; literal8 (RFC 3516) may have it */
		p->cur = 0;
		if (!p->lit->literal8 && memchr(p->lit->str, '\0', p->lit->len) != NULL)
			fail(p, S_SKIP_LINE, "NUL in literal", NULL, false);
	}
	return k;
}

static enum step
step(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case S_TAG:
		return step_tag(p, c);
	case S_ARG_START:
		return step_arg(p, c);
	case S_ARG_END:
		return step_arg_end(p, c);
	case S_ATOM:
		return step_atom(p, c);
	case S_BRACKET:
	case S_BRACKET_Q:
	case S_BRACKET_QESC:
		return step_bracket(p, c);
	case S_QUOTED:
	case S_QUOTED_ESC:
		return step_quoted(p, c);
	case S_CR:
		if (c != '\n')
			return fail(p, S_SKIP_LINE, "CR without LF", NULL, false);
		if (p->blank) {
			imap_parser_reset(p);	/* end of an ignored empty line */
			return ST_NEXT;
		}
		p->state = S_ARG_END;
		return end_of_line(p);
	default:
		return step_literal_header(p, c);
	}
}

/*
 * Discard up to LF.  A skipped line may end in a non-sync literal "{n+}";
 * its bytes follow without a continuation and belong to the same command,
 * so they are skipped too rather than read as commands (injection).
 */
static void
skip_line(struct imap_parser *p, const char *data, size_t len, size_t *i)
{
	unsigned char	 c;

	while (*i < len) {
		c = (unsigned char)data[(*i)++];
		switch (c) {
		case '{':
			p->skip_tail = 1;
			p->lit_left = 0;
			continue;
		case '+':
			p->skip_tail = p->skip_tail == 2 ? 3 : 0;
			continue;
		case '}':
			p->skip_tail = p->skip_tail == 3 ? 4 : 0;
			continue;
		case '\r':
			p->skip_tail = p->skip_tail == 4 ? 5 : 0;
			continue;
		case '\n':
			if (p->skip_tail >= 4) {
				p->skip_tail = 0;
				p->state = S_SKIP_LITERAL;
			} else
				imap_parser_reset(p);
			return;
		}
		if (c >= '0' && c <= '9' && (p->skip_tail == 1 || p->skip_tail == 2)) {
			p->skip_tail = 2;
			p->lit_left = p->lit_left > (UINT64_MAX - 9) / 10 ? UINT64_MAX :
			    p->lit_left * 10 + (c - '0');
		} else
			p->skip_tail = 0;
	}
}

static bool
is_bulk(enum pstate st)
{
	return st == S_WAIT_CONT || st == S_STREAM_START || st == S_STREAM_DATA ||
	    st == S_LIT_DATA || st == S_SKIP_LITERAL || st == S_SKIP_LINE || st == S_CLOSED;
}

/*
 * States that do not take their input byte by byte.  Returns true with
 * *res set when feed must return now; false after progress.
 */
static bool
bulk_state(struct imap_parser *p, const char *data, size_t len, size_t *i,
    enum imap_parse *res)
{
	size_t		 k, avail = len - *i;

	p->cur = 0;
	*res = IMAP_PARSE_MORE;
	switch (p->state) {
	case S_WAIT_CONT:
		*res = IMAP_PARSE_CONTINUE;
		return true;
	case S_CLOSED:
		*res = IMAP_PARSE_ERROR;
		return true;
	case S_STREAM_START:
		p->state = p->lit_left > 0 ? S_STREAM_DATA : S_ARG_END;
		partial_command(p);
		*res = IMAP_PARSE_LITERAL;
		return true;
	default:
		break;
	}
	if (avail == 0)
		return true;
	switch (p->state) {
	case S_STREAM_DATA:
		/* IMAP_PARSE_LITERAL ended the previous call, so the data starts at 0 */
		k = avail < p->lit_left ? avail : (size_t)p->lit_left;
		p->lit_left -= k;
		if (p->lit_left == 0)
			p->state = S_ARG_END;
		*i += k;
		*res = IMAP_PARSE_DATA;
		return true;
	case S_LIT_DATA:
		*i += literal_data(p, data + *i, avail);
		if (p->state == S_SKIP_LINE) {
			*res = IMAP_PARSE_ERROR;
			return true;
		}
		return false;
	case S_SKIP_LITERAL:
		k = avail < p->lit_left ? avail : (size_t)p->lit_left;
		p->lit_left -= k;
		*i += k;
		if (p->lit_left == 0)
			p->state = S_SKIP_LINE;
		return false;
	case S_SKIP_LINE:
		skip_line(p, data, len, i);
		return false;
	default:
		return false;
	}
}

enum imap_parse
imap_parser_feed(struct imap_parser *p, const char *data, size_t len, size_t *used_r)
{
	enum imap_parse	 res;
	size_t		 i = 0;
	enum step	 r;

	for (;;) {
		if (is_bulk(p->state)) {
			if (bulk_state(p, data, len, &i, &res))
				break;
			continue;
		}
		if (i >= len) {
			res = IMAP_PARSE_MORE;
			break;
		}
		if (p->state == S_TAG && p->fresh)
			begin_command(p);
		if (p->line_len >= p->lim.max_line) {
			p->cur = 0;
			fail(p, S_CLOSED, "Command line too long", NULL, false);
			res = IMAP_PARSE_ERROR;
			break;
		}
		p->line_len++;
		p->cur = (unsigned char)data[i];
		r = step(p, p->cur);
		if (r == ST_AGAIN) {
			p->line_len--;
			continue;
		}
		i++;
		if (r == ST_STOP) {
			res = p->stop;
			break;
		}
	}
	*used_r = i;
	return res;
}

const struct imap_cmd *
imap_parser_command(const struct imap_parser *p)
{
	return &p->cmd;
}

const struct imap_parse_error *
imap_parser_error(const struct imap_parser *p)
{
	return &p->err;
}

const struct imap_literal_info *
imap_parser_literal(const struct imap_parser *p)
{
	return &p->lit_info;
}

uint64_t
imap_parser_literal_left(const struct imap_parser *p)
{
	return p->state == S_STREAM_DATA || p->state == S_STREAM_START ? p->lit_left : 0;
}
