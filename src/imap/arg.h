/*
 * The argument tree of one IMAP command (RFC 3501 / RFC 9051 section 9
 * grammar) as the parser produces it, and typed accessors for command
 * code.  Every string is NUL-terminated and carries its byte length (a
 * literal may hold bytes a C string cannot).  The tree lives in the
 * parser's arena: valid until the next imap_parser_feed()/reset/free.
 */
#ifndef LB_IMAP_ARG_H
#define LB_IMAP_ARG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_arg_type {
	IMAP_ARG_NIL,		/* the atom NIL (str is "NIL": an astring may still want it) */
	IMAP_ARG_ATOM,		/* includes numbers, sequence sets, flags, BODY[...]<...> */
	IMAP_ARG_STRING,	/* quoted string, unescaped */
	IMAP_ARG_LITERAL,	/* {n} / {n+} / ~{n}, data held in memory */
	IMAP_ARG_LITERAL_SIZE,	/* streamed literal (APPEND message): size only, the bytes
				   went to the session as IMAP_PARSE_DATA chunks */
	IMAP_ARG_LIST,		/* ( ... ) */
};

struct imap_arg {
	enum imap_arg_type	 type;
	bool			 literal8;	/* ~{n}: may hold NUL (RFC 3516) */
	bool			 nonsync;	/* {n+} (RFC 7888) */
	bool			 numeric;	/* ATOM of digits that fits number64: see num */
	const char		*str;		/* NIL, ATOM, STRING, LITERAL; NUL-terminated */
	size_t			 len;		/* bytes in str */
	uint64_t		 num;		/* numeric ATOM: its value (<= 2^63-1, RFC 9051 number64) */
	uint64_t		 literal_size;	/* LITERAL_SIZE: the declared size */
	struct imap_arg		*list;		/* LIST: its items */
	size_t			 count;		/* LIST: number of items */
};

#define IMAP_NUMBER64_MAX	((uint64_t)INT64_MAX)

/* Type predicates; each accepts a NULL arg (false). */
bool	 imap_arg_is_atom(const struct imap_arg *a, const char *lit);	/* ATOM equal to lit, any case */
bool	 imap_arg_is_list(const struct imap_arg *a);
/*
 * astring (ATOM, STRING, LITERAL; NIL counts as the atom "NIL"): sets *s_r
 * and *len_r and returns true.  nstring: NIL gives *s_r = NULL.
 */
bool	 imap_arg_astring(const struct imap_arg *a, const char **s_r, size_t *len_r);
bool	 imap_arg_nstring(const struct imap_arg *a, const char **s_r, size_t *len_r);
/* string = quoted or literal only (no atom), e.g. a date-time. */
bool	 imap_arg_string(const struct imap_arg *a, const char **s_r, size_t *len_r);
/* number (RFC 3501: uint32) and number64 (RFC 9051, modseq); nz = not zero. */
bool	 imap_arg_number(const struct imap_arg *a, uint32_t *v_r);
bool	 imap_arg_nz_number(const struct imap_arg *a, uint32_t *v_r);
bool	 imap_arg_number64(const struct imap_arg *a, uint64_t *v_r);

#endif
