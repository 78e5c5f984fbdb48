/*
 * Streaming decoders for MIME bodies: Content-Transfer-Encoding
 * (RFC 2045 6.7 quoted-printable, 6.8 base64) and charset conversion to
 * UTF-8 through glibc iconv.  Both keep a few bytes of state between
 * chunks so a large part is decoded piece by piece, never held whole.
 * Broken input is decoded best effort: invalid base64 characters are
 * skipped, a stray "=" in QP stays literal, bytes iconv rejects become
 * U+FFFD.  QP drops the whitespace that ends a line, also between a soft
 * line break's "=" and the line end (RFC 2045 6.7 rules 3 and 5).
 */
#ifndef LB_MIME_DECODE_H
#define LB_MIME_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/base64.h"
#include "lib/buf.h"

enum xfer_kind { XFER_IDENT, XFER_BASE64, XFER_QP };

/* QP whitespace held to see whether a line end follows (76 is a line's limit). */
#define XFER_QP_WS_MAX	80
/* What a decoder may write beyond its input's length (held bytes let go). */
#define XFER_OUT_SLACK	(XFER_QP_WS_MAX + 4)

struct xfer_dec {
	enum xfer_kind	 kind;
	struct base64_stream b64;	/* base64: pending bits */
	char		 qp[2];		/* QP: bytes after a pending "=" */
	int		 nqp;		/* -1: no "=" pending */
	/* QP: spaces and tabs not yet written: at a line end they are
	 * transport padding and go (RFC 2045 6.7 rule 3) */
	char		 ws[XFER_QP_WS_MAX];
	unsigned	 nws;
	bool		 cr;		/* QP: a CR held (before its LF?) */
};

/* Map a Content-Transfer-Encoding value (NULL = 7bit) to a decoder kind. */
enum xfer_kind xfer_kind_of(const char *cte);
void	 xfer_init(struct xfer_dec *d, enum xfer_kind kind);
/*
 * Decode in[0..len) into out, which must hold len + XFER_OUT_SLACK bytes
 * (no decoder produces more than that).  Returns the number of bytes
 * written.
 */
size_t	 xfer_feed(struct xfer_dec *d, const char *in, size_t len, char *out);
/* Flush what is pending at the end of the part (out: XFER_OUT_SLACK bytes). */
size_t	 xfer_finish(struct xfer_dec *d, char *out);

struct charset_conv {
	void	*cd;		/* iconv_t, or NULL for pass-through */
	char	 pend[8];	/* incomplete multibyte sequence */
	size_t	 npend;
};

/*
 * Prepare conversion from charset (NULL = US-ASCII) to UTF-8.  Returns 0,
 * or -1 when iconv does not know the charset: the converter then passes
 * bytes through raw (callers keep unknown charsets as they are).
 */
int	 charset_conv_init(struct charset_conv *c, const char *charset);
/* Convert and append; -1 only when out reaches its maximum. */
int	 charset_conv_feed(struct charset_conv *c, const char *in, size_t len,
	    struct buf *out);
/* Flush a trailing incomplete sequence (as U+FFFD) and free the state. */
int	 charset_conv_finish(struct charset_conv *c, struct buf *out);
void	 charset_conv_clear(struct charset_conv *c);
/* One-shot: convert in[0..len) from charset; 1 if charset unknown (raw copy). */
int	 charset_to_utf8(const char *charset, const char *in, size_t len,
	    struct buf *out);

#endif
