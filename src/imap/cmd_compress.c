/*
 * COMPRESS=DEFLATE (RFC 4978): the command only; the compression itself
 * is the session core's (net/session.h session_compress).  The OK leaves
 * uncompressed and everything after it is deflated both ways, so the
 * read loop (client.c) stops parsing at the end of the command: what
 * follows in the same read is already compressed.
 */
#include "imap/arg.h"
#include "imap/client.h"
#include "lib/log.h"
#include "net/session.h"

/*
 * zlib's level 6 (its default) and memLevel 8: the compressor then holds
 * about 256 KiB per session (window 128 KiB, hash 128 KiB) plus 40 KiB
 * for the decompressor; memLevel 5 would save 112 KiB at a few percent
 * worse compression on mail text.  See the README for the figures.
 */
#define COMPRESS_LEVEL		6
#define COMPRESS_MEM_LEVEL	8

void
cmd_compress(struct imap_client *c, const struct imap_cmd *cmd)
{
	if (cmd->nargs != 1 || !imap_arg_is_atom(&cmd->args[0], "DEFLATE")) {
		imap_tagged(c, "BAD", "Only COMPRESS DEFLATE is supported.");
		return;
	}
	if (session_compressed(c->ss)) {
		imap_tagged(c, "NO", "[COMPRESSIONACTIVE] DEFLATE is already active.");
		return;
	}
	imap_tagged(c, "OK", "DEFLATE active.");
	if (session_compress(c->ss, COMPRESS_LEVEL, COMPRESS_MEM_LEVEL) == -1) {
		/* The client now speaks deflate: no way to tell it in clear. */
		log_warnx("imapd sid=%s: cannot start compression", c->sid);
		imap_log_end(c, "compress-error");
		imap_close(c);
		return;
	}
	log_info("imapd sid=%s: compress method=deflate", c->sid);
}
