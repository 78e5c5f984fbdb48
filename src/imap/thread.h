/*
 * THREAD (RFC 5256 3): ORDEREDSUBJECT and REFERENCES over a list of
 * messages described by what the algorithms read (sent date, base
 * subject, Message-ID, In-Reply-To, References), producing the
 * thread-list text of the "* THREAD" response.  Pure and iterative: no
 * store, no recursion, so a 100k-message reference chain cannot overflow
 * a worker's stack.
 */
#ifndef LB_IMAP_THREAD_H
#define LB_IMAP_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct thread_msg {
	uint32_t	 id;		/* printed: the sequence number or the UID */
	uint32_t	 seq;		/* ties between equal dates (RFC 5256 3) */
	int64_t		 date;		/* sent date, UTC (internal date when unknown) */
	/* base subject (RFC 5256 2.1), ASCII-case-folded: compared bytewise */
	const char	*subject;
	size_t		 subject_len;
	bool		 is_reply;	/* the base subject lost a "Re:"/"Fwd:" */
	/* raw header values; NULL when absent */
	const char	*message_id, *in_reply_to, *references;
	size_t		 message_id_len, in_reply_to_len, references_len;
};

enum thread_algo { THREAD_ORDEREDSUBJECT, THREAD_REFERENCES };

/*
 * Thread m[0..n) and append the thread lists, "(1 2)(3 (4)(5))", to out
 * (nothing for n == 0).  The inputs are borrowed for the call only.
 * Returns 0, or -1 when out reached its max.
 */
int	 thread_build(enum thread_algo algo, const struct thread_msg *m, size_t n,
	    struct buf *out);

/*
 * Split the msg-ids ("<...>") out of a header value: calls cb for each in
 * order, with the angle brackets included; stops early when cb returns
 * false.  Exposed for tests.
 */
void	 thread_msgids(const char *v, size_t len,
	    bool (*cb)(const char *id, size_t len, void *arg), void *arg);

/* The first msg-id of a header value (borrowed from it); false when none. */
struct thread_idref {
	const char	*p;
	size_t		 len;
};
bool	 thread_first_msgid(const char *v, size_t len, struct thread_idref *id_r);

#endif
