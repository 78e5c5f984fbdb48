/*
 * RFC 8474 THREADID without a thread database: the id of a message's
 * conversation is a hash of the conversation's first msg-id, which every
 * reply names: the first msg-id of References (RFC 5322 3.6.4 keeps the
 * first when a long list is trimmed), else of In-Reply-To, else the
 * message's own Message-ID.  So a root and its replies share an id
 * computed from their own header alone, stable across COPY, MOVE, RENAME
 * and a rebuilt index.  Pure.
 */
#ifndef LB_IMAP_THREADID_H
#define LB_IMAP_THREADID_H

#include <stdbool.h>
#include <stddef.h>

#define THREADID_SIZE	18	/* "T" + 16 hex digits + NUL */

/*
 * The THREADID of the message whose header block is hdr[0..len) (bare LF
 * or CRLF).  A header that names no msg-id is a thread of its own: the
 * id is then made from emailid ("M" + hex, RFC 8474 EMAILID), so it is as
 * stable as that.  Returns false only when there is neither.
 */
bool	 threadid_of_header(const char *hdr, size_t len, const char *emailid,
	    char id_r[THREADID_SIZE]);

#endif
