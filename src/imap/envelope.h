/*
 * Reading back an IMAP ENVELOPE string (RFC 3501 7.4.2) as the store's
 * cache keeps it (mime_envelope()), for SORT and THREAD: the fields they
 * compare, without going back to the message file.  Pure and bounded:
 * one pass, no recursion, any input (the cache is a file on disk) either
 * parses or fails.
 */
#ifndef LB_IMAP_ENVELOPE_H
#define LB_IMAP_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>

/* An nstring: s == NULL for NIL, else malloc'd, NUL-terminated, len bytes. */
struct env_str {
	char	*s;
	size_t	 len;
};

/* The first entry of an address list (a group start has no host). */
struct env_addr {
	struct env_str	 name, mailbox, host;
};

struct envelope {
	struct env_str	 date, subject, in_reply_to, message_id;
	struct env_addr	 from, to, cc;
};

/*
 * Parse s[0..len) ("(date subject from ... message-id)").  Returns 0 with
 * *e filled, or -1 (malformed) with *e empty; either way envelope_clear()
 * frees it.
 */
int	 envelope_read(const char *s, size_t len, struct envelope *e);
void	 envelope_clear(struct envelope *e);

#endif
