/*
 * The DATA body decoder (RFC 5321 4.1.1.4, 4.5.2): dot-unstuffing and
 * end-of-data detection, fed with chunks as they arrive, writing the
 * message as stored (every line ending CRLF) into an output buffer.
 *
 * Against SMTP smuggling only CR LF "." CR LF ends the data.  A bare LF or
 * bare CR is normalised to CRLF in the output but does not count as a line
 * end for that sequence, so "\n.\n", "\r.\r", "\n.\r\n" and "\r\n.\n" never
 * end a message early; a lone "." line that does not end the data is kept
 * as ".".  Postfix calls this smtpd_forbid_bare_newline = normalize.
 */
#ifndef LB_SMTP_DATA_H
#define LB_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

struct smtp_data {
	unsigned	 start;		/* 0 mid-line, 1 after CRLF (or at start), 2 after a bare CR/LF */
	unsigned	 dot;		/* 0, 1 after "." at line start, 2 after ".\r" */
	bool		 dot_eligible;	/* that "." began after a real CRLF */
	bool		 cr;		/* a CR waiting for its LF */
	bool		 bare;		/* a bare CR or LF was seen (for the log) */
	uint64_t	 out;		/* bytes produced so far */
};

void	smtp_data_init(struct smtp_data *d);

/*
 * Decode up to len bytes of p into out (appended).  Returns the number of
 * input bytes consumed; *done_r is set when the end-of-data line was seen
 * (the bytes after it are not consumed: they are the next command).  The
 * caller limits out's growth by draining it between calls; out->max must
 * allow 2 * len + 4 more bytes.
 */
size_t	smtp_data_feed(struct smtp_data *d, const char *p, size_t len, struct buf *out, bool *done_r);

#endif
