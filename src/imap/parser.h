/*
 * Incremental IMAP command parser (RFC 3501 section 9, RFC 9051 section 9,
 * RFC 7888 LITERAL+/LITERAL-, RFC 3516 literal8).  Pure: no I/O.  The
 * session feeds whatever bytes arrived; the parser consumes them and says
 * what it stopped for.  Every limit comes from the caller, and every size a
 * client declares is checked before anything is allocated.
 *
 * Output is a tree of struct imap_arg (arg.h) in the parser's arena, valid
 * until the next imap_parser_feed(), imap_parser_reset() or free.
 *
 * APPEND message literals (every literal of an APPEND except the mailbox
 * name: RFC 3501 allows no other literal there) are streamed, not buffered:
 * the parser stops with IMAP_PARSE_LITERAL, then hands their bytes back as
 * IMAP_PARSE_DATA chunks, and the tree holds an IMAP_ARG_LITERAL_SIZE.
 *
 * The session's read loop, for each call (drop `used` bytes from the input):
 *   DONE      dispatch imap_parser_command(p)
 *   ERROR     reply from imap_parser_error(p); BYE and close if ->close
 *   CONTINUE  refuse (NO, then imap_parser_reset) e.g. a ->stream literal
 *             before login or too large for the mailbox; else send "+ OK"
 *             and imap_parser_continue()
 *   LITERAL   APPEND checks on the args so far, open the message sink
 *   DATA      the first `used` input bytes go to the sink
 *   MORE      wait for input
 * A SASL response or IDLE's "DONE" is not a command: after DONE the parser
 * has read nothing past the LF, so the session reads such lines itself.
 */
#ifndef LB_IMAP_PARSER_H
#define LB_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/arg.h"

struct imap_parser_limits {
	size_t		 max_line;	/* bytes of one command, CRLF and in-memory literals
					   included, streamed literals not (8 KiB / 64 KiB) */
	uint64_t	 max_literal;	/* largest in-memory literal (also bounded by max_line) */
	uint64_t	 max_message;	/* largest streamed APPEND literal: message_size_limit */
	uint64_t	 max_nonsync;	/* largest {n+}: 4096 for LITERAL-, else max_message */
	unsigned	 max_depth;	/* list nesting (16) */
	unsigned	 max_args;	/* arguments in one command, lists and their items included */
	size_t		 max_line_id;	/* an ID command may run to this (RFC 2971 3.3 allows 30
					   pairs of 30 + 1024 octets, past the 8 KiB before
					   login); 0 or less than max_line: max_line */
};

/* What imap_parser_feed() stopped for. */
enum imap_parse {
	IMAP_PARSE_ERROR = -1,	/* see imap_parser_error() */
	IMAP_PARSE_MORE = 0,	/* every byte consumed; feed more */
	IMAP_PARSE_DONE = 1,	/* a whole command: imap_parser_command() */
	IMAP_PARSE_CONTINUE,	/* a synchronising literal {n}: the session answers "+ ..." and
				   calls imap_parser_continue(), or refuses with a tagged NO/BAD
				   and calls imap_parser_reset() (the client sends nothing more) */
	IMAP_PARSE_LITERAL,	/* a streamed literal starts: imap_parser_command() shows the
				   arguments so far, the last an IMAP_ARG_LITERAL_SIZE */
	IMAP_PARSE_DATA,	/* the first *used_r input bytes are streamed literal data */
};

/* The reply a parse error calls for. */
struct imap_parse_error {
	const char	*msg;		/* human text for the reply, no CRLF */
	const char	*code;		/* response code without brackets ("TOOBIG"), or NULL */
	bool		 no;		/* tagged NO rather than BAD (a valid command we refuse) */
	bool		 close;		/* the stream cannot be resynchronised: send BYE and close */
	const char	*tag;		/* the command's tag, or NULL: reply untagged "* BAD" */
};

/* About the literal that caused IMAP_PARSE_CONTINUE / IMAP_PARSE_LITERAL. */
struct imap_literal_info {
	uint64_t	 size;
	bool		 nonsync, literal8;
	bool		 stream;	/* an APPEND message: refuse before authentication */
};

struct imap_cmd {
	const char		*tag;		/* NUL-terminated, never empty */
	size_t			 tag_len;
	const char		*name;		/* command name as sent (compare with str_ieq) */
	size_t			 name_len;
	const struct imap_arg	*args;		/* arguments after the name */
	size_t			 nargs;
};

struct imap_parser;

struct imap_parser *imap_parser_new(const struct imap_parser_limits *lim);
void	 imap_parser_free(struct imap_parser **pp);
/* New limits (after login they grow); takes effect at the next command. */
void	 imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *lim);

/*
 * Consume input: data[0..len) (len may be 0).  *used_r is how many bytes
 * were consumed; the rest belongs to what follows and must be fed again
 * (pipelined commands).  Returns an enum imap_parse value; after ERROR the
 * session replies (tagged when error->tag is set) and feeds on: the parser
 * skips the rest of the bad line by itself, including the bytes of any
 * non-sync literal announced on it, unless error->close (then every later
 * call returns ERROR again: send BYE and close).
 */
enum imap_parse imap_parser_feed(struct imap_parser *p, const char *data, size_t len,
	    size_t *used_r);
/* After IMAP_PARSE_CONTINUE: the session sent the continuation request. */
void	 imap_parser_continue(struct imap_parser *p);
/*
 * Drop the command in progress; the next byte starts a new command.  For
 * a refused synchronising literal (the client sends nothing after "{n}"
 * until it sees "+"); reply first, the tag stays valid until the next feed.
 */
void	 imap_parser_reset(struct imap_parser *p);

/*
 * Give back the memory the last command used (its arena blocks and token
 * buffer) before a long wait such as IDLE; the next command allocates
 * again.  Only between commands, once the last command's arguments are no
 * longer used: they live in that memory.
 */
void	 imap_parser_trim(struct imap_parser *p);

/* After DONE (whole) or LITERAL (partial); borrowed, valid until the next call. */
const struct imap_cmd *imap_parser_command(const struct imap_parser *p);
const struct imap_parse_error *imap_parser_error(const struct imap_parser *p);
const struct imap_literal_info *imap_parser_literal(const struct imap_parser *p);
/* Bytes of the streamed literal still to come (0 when none is open). */
uint64_t imap_parser_literal_left(const struct imap_parser *p);

#endif
