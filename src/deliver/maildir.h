/*
 * Maildir delivery (the Maildir spec, cr.yp.to/proto/maildir.html, and
 * Maildir++ quota, courier-mta.org/imap/README.maildirquota.html): copies a
 * message from the spool into BASE/DOMAIN/LOCALPART/{tmp,new,cur}.
 *
 *	tmp/NAME  <- "Return-Path: <s>" LF "Delivered-To: r" LF + message
 *	fsync(tmp/NAME); link(tmp/NAME, new/NAME); unlink(tmp/NAME); fsync(new/)
 *
 * Lines end in LF on disk, as Postfix's virtual(8), Courier and Dovecot
 * write them: the CR of each CRLF in the spool is dropped while copying
 * (POP3 and IMAP add it back as they stream), and the CRLF size goes into
 * the name as ",W=".  The message is streamed (64 KiB pread/write, or
 * copy_file_range when it has no CRLF), never held in memory.
 *
 * Idempotent redelivery: NAME is a function of the message (arrival time,
 * queue ID, recipient index, host name, size):
 *	<arrival sec>.M<arrival usec>Q<qid>R<idx>.<host>,S=<file size>,W=<CRLF size>
 * so a delivery retried after a crash meets its own earlier file: link()
 * fails with EEXIST in new/ (=> success, nothing written twice), and with
 * check_cur a file "NAME:2,<flags>" in cur/ (moved there by an IMAP client)
 * is found too.  Nothing is ever left half-written in new/: the file is
 * complete and fsynced before its link exists.
 *
 * Directories are created on first delivery with mode 0700 (owner: the
 * process's user, i.e. mail_owner after the privilege drop), and each new
 * directory's parent is fsynced, so the link in new/ is reachable after a
 * power loss.
 *
 * Thread-safe: no static state; every call blocks on disk I/O, so run it on
 * a worker thread.
 */
#ifndef LB_DELIVER_MAILDIR_H
#define LB_DELIVER_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAILDIR_REASON_MAX	256

enum maildir_status {
	MAILDIR_OK = 0,		/* in new/ (or found there / in cur/ already) */
	MAILDIR_TEMPFAIL,	/* defer and retry: disk full, EIO, quota, ... */
	MAILDIR_PERMFAIL,	/* bounce: bad path, message too big for the quota */
};

struct maildir_req {
	const char	*base;		/* virtual_mailbox_base, absolute or relative */
	const char	*maildir;	/* "domain/localpart/" relative to base; see
					 * maildir_relpath(); no "." / ".." components */
	/* The message: bytes [offset, offset + length) of fd (read with pread,
	 * the file position is not used, so several threads may share fd). */
	int		 fd;
	off_t		 offset;
	off_t		 length;
	/* fd is a queue file: if `queue delete` has unlinked it by the time the
	 * copy is written, fail (4.3.0) instead of linking it into new/. */
	bool		 stop_if_unlinked;
	const char	*return_path;	/* envelope sender without <>, "" = null sender */
	const char	*delivered_to;	/* the final recipient address */
	/* For the deterministic name: */
	const char	*qid;		/* queue ID (filename-safe, no '.' ':' '/') */
	unsigned	 rcpt_idx;	/* recipient index within the message */
	int64_t		 arrival_us;	/* arrival time from the spool, microseconds */
	const char	*hostname;	/* myhostname; NULL = gethostname() */
	/* Set when this may be a redelivery (message recovered at start, or an
	 * earlier attempt for this recipient): also look for NAME:2,* in cur/.
	 * Costs a scan of cur/, so leave it false on a first attempt. */
	bool		 check_cur;
	/* Maildir++ quota: */
	bool		 maildirsize;	/* keep BASE/MAILDIR/maildirsize (virtual_create_maildirsize) */
	uint64_t	 quota_bytes;	/* virtual_mailbox_limit, 0 = none */
};

struct maildir_result {
	enum maildir_status status;
	bool		 existed;	/* OK because an earlier delivery was found */
	uint64_t	 size;		/* bytes in the delivered file */
	uint64_t	 vsize;		/* its size with CRLF line ends (,W=) */
	/* "2.0.0 delivered to maildir" | "4.2.2 mailbox full" | "4.3.0 ...: <strerror>" |
	 * "5.2.3 message larger than mailbox quota" | ... (enhanced code first,
	 * for the log and the DSN) */
	char		 reason[MAILDIR_REASON_MAX];
	char		 name[256];	/* NAME (base file name in new/), "" on failure */
};

/*
 * Deliver one copy.  Returns res->status (also filled in res).  On any
 * failure the temp file is removed and nothing is in new/.  Errors map as:
 * ENOSPC/EDQUOT/EIO/ENOMEM/EMFILE/ENFILE/EAGAIN/... and quota exceeded ->
 * TEMPFAIL; a path that cannot name a Maildir (bad relpath, ENAMETOOLONG,
 * a file where a directory must be, ELOOP) and a message larger than the
 * whole quota -> PERMFAIL.  EACCES/EPERM -> TEMPFAIL (an admin can fix it).
 */
enum maildir_status maildir_deliver(const struct maildir_req *req, struct maildir_result *res);

/*
 * Fast path: one message to n mailboxes (the recipients of one spooled
 * message that are local).  reqs[i] usually differ only in maildir,
 * delivered_to, rcpt_idx.  Each recipient gets its own file (Delivered-To
 * differs, so a hard link would be wrong), but the expensive steps are
 * batched: all tmp files are written and their writeback started together
 * (sync_file_range), then fsynced, then linked into new/, and each distinct
 * new/ directory is fsynced once.  Results are per recipient in res[i];
 * returns the number of MAILDIR_OK.  Same guarantees as maildir_deliver().
 */
size_t		 maildir_deliver_many(const struct maildir_req *reqs, struct maildir_result *res,
		    size_t n);

/*
 * Relative Maildir path for an address: "domain/localpart/" with the domain
 * lowercased (the localpart keeps its case, as Postfix does; the directory
 * layer hands us the canonical spelling).  Rejects (returns -1, errno
 * EINVAL) an address without '@', an empty part, a part that is "." or
 * "..", or one containing '/' or NUL or control bytes; ENAMETOOLONG when dst
 * is too small.  Returns 0.
 */
int		 maildir_relpath(const char *addr, char *dst, size_t dstsz);

/*
 * The deterministic base name (without ",S=" and without ":2,"):
 * "<sec>.M<usec>Q<qid>R<idx>.<host>" with '/' -> "\057" and ':' -> "\072"
 * in host (Maildir spec).  Returns 0, or -1 (ENAMETOOLONG).  Exposed for
 * tests and for tools that look for a delivered copy.
 */
int		 maildir_basename(const struct maildir_req *req, const char *host,
		    char *dst, size_t dstsz);

/*
 * Maildir++ quota: current usage of BASE/MAILDIR from its maildirsize file
 * (bytes and messages), recalculated from the file names (,S=) when the
 * file is missing, unreadable or over 5120 bytes.  Returns 0 or -1/errno.
 */
int		 maildir_quota_usage(const char *base, const char *maildir, uint64_t quota_bytes,
		    uint64_t *bytes_r, uint64_t *count_r);

#endif
