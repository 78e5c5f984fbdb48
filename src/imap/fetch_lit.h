/*
 * The bytes of one FETCH literal (RFC 3501 6.4.5 / RFC 9051 6.4.5 BODY[],
 * RFC 3516 BINARY[]), produced piece by piece from a byte range of a
 * message held in memory (an mmap'd Maildir file): LF line ends get their
 * CR back (files on disk are LF or CRLF; the wire is CRLF), NUL becomes
 * 0x80 for BODY (an IMAP string cannot hold it, Dovecot does the same),
 * BINARY undoes the Content-Transfer-Encoding, and <offset.count> cuts a
 * window out of the result.  Nothing is held but a chunk, so a 100 MB
 * part costs no more memory than a small one.  Pure: no I/O.
 */
#ifndef LB_IMAP_FETCH_LIT_H
#define LB_IMAP_FETCH_LIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime/decode.h"

struct buf;

/* fetch_lit_init() flags */
#define FETCH_LIT_CRLF		0x01	/* bare LF -> CRLF */
#define FETCH_LIT_NONUL		0x02	/* NUL -> 0x80 */
#define FETCH_LIT_DECODE	0x04	/* undo the transfer encoding (after CRLF) */

#define FETCH_LIT_CHUNK		8192	/* source bytes transformed per step */

struct fetch_lit {
	const char	*data;		/* the whole message (data[pos - 1] decides CRLF) */
	size_t		 pos, end;	/* what is left of the source range */
	char		*own;		/* data when it is ours (HEADER.FIELDS), freed by clear */
	unsigned	 flags;
	struct xfer_dec	 dec;
	bool		 flushed;	/* the decoder's tail is out */
	uint64_t	 skip, left;	/* window over the transformed bytes */
	size_t		 pend_off, pend_len;	/* transformed, not yet handed out */
	char		 pend[2 * FETCH_LIT_CHUNK + XFER_OUT_SLACK];
	char		 tmp[2 * FETCH_LIT_CHUNK + 8];
};

/*
 * Serve data[off..off + len) (data outlives the literal) with flags.
 * kind is the transfer encoding to undo with FETCH_LIT_DECODE.
 */
void	 fetch_lit_init(struct fetch_lit *l, const char *data, size_t off, size_t len,
	    unsigned flags, enum xfer_kind kind);
/* As fetch_lit_init(), but the literal takes own (malloc'd, len bytes). */
void	 fetch_lit_init_own(struct fetch_lit *l, char *own, size_t len, unsigned flags);
/* <offset.count> (RFC 3501 6.4.5): only these transformed bytes come out. */
void	 fetch_lit_window(struct fetch_lit *l, uint64_t offset, uint64_t count);
/*
 * Bytes the literal will produce from now on (window applied), without
 * consuming anything; *nul_r (may be NULL) tells whether one is a NUL
 * (BINARY then needs literal8).  Decoding literals are run once to count.
 */
uint64_t fetch_lit_size(const struct fetch_lit *l, bool *nul_r);
/* Next bytes into dst[0..cap); returns how many, 0 only at the end. */
size_t	 fetch_lit_read(struct fetch_lit *l, char *dst, size_t cap);
void	 fetch_lit_clear(struct fetch_lit *l);

/* Bare LFs (no CR before them in data) in data[off..off + len). */
uint64_t fetch_bare_lfs(const char *data, size_t off, size_t len);

/*
 * HEADER.FIELDS / HEADER.FIELDS.NOT (RFC 3501 6.4.5): the fields of the
 * header hdr[0..len) whose names are (not, with exclude) in names (any
 * case), each with its continuation lines as written, then the empty
 * line "\r\n".  Appends to out; -1 only when out is full.
 */
int	 fetch_header_filter(const char *hdr, size_t len, const char *const *names,
	    size_t nnames, bool exclude, struct buf *out);

#endif
