/*
 * Writing strings on the IMAP wire (RFC 3501 / RFC 9051 section 4.3):
 * atom when it is safe, quoted when it can be, a literal otherwise
 * (CR, LF, NUL, '"' or '\\', 8-bit data on a rev1 connection, or long
 * text), NIL for a NULL nstring; mailbox names in modified UTF-7 unless
 * the client enabled UTF-8.  All append to a struct buf and return 0, or
 * -1 when it is full (or, for a mailbox name, not valid UTF-8).
 */
#ifndef LB_IMAP_QUOTE_H
#define LB_IMAP_QUOTE_H

#include <stddef.h>

struct buf;

/* flags */
#define IMAP_Q_UTF8	0x01	/* rev2 / UTF8=ACCEPT: valid UTF-8 may be quoted */
#define IMAP_Q_LITERAL8	0x02	/* NUL must survive: ~{n} (BINARY, RFC 3516) */

#define IMAP_QUOTED_MAX	1024	/* longer strings go as literals */

/* "string": quoted or literal. */
int	 imap_write_string(struct buf *out, const char *s, size_t len, unsigned flags);
/* nstring: NIL for s == NULL. */
int	 imap_write_nstring(struct buf *out, const char *s, size_t len, unsigned flags);
/* astring: a bare atom when every byte is ASTRING-CHAR and it is not "NIL". */
int	 imap_write_astring(struct buf *out, const char *s, size_t len, unsigned flags);
/* A mailbox name held in UTF-8: mUTF-7 astring, or UTF-8 with IMAP_Q_UTF8. */
int	 imap_write_mailbox(struct buf *out, const char *utf8, size_t len, unsigned flags);

#endif
