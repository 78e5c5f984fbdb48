/*
 * One FETCH command's response, produced on the worker pool in batches
 * (cmd_fetch.c runs the batches and writes them as the socket drains).
 * A batch walks the resolved set from where the last one stopped and
 * appends "* n FETCH (...)" responses to out until it holds about
 * FETCH_BATCH bytes; a long literal is cut anywhere and continued by the
 * next batch.  Everything that may block (opening, mapping and reading a
 * message file, the parsed-structure cache, INTERNALDATE, setting \Seen)
 * happens here, on the store handle the session lends to the job.  FLAGS
 * are left as holes that the loop fills with imap_view_flags(), so the
 * mailbox view is read on the loop only.  Internal to src/imap/.
 */
#ifndef LB_IMAP_FETCH_RUN_H
#define LB_IMAP_FETCH_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/fetch_lit.h"
#include "imap/fetch_parse.h"
#include "imap/seqset.h"
#include "lib/buf.h"
#include "lib/fblob.h"
#include "net/session.h"

struct mime_part;
struct store_mailbox;
struct imap_client;

#define FETCH_BATCH	(256 * 1024)	/* output bytes per job */

/* A FLAGS list to write at out[off] for message idx. */
struct fetch_hole {
	size_t	 off;
	size_t	 idx;
};

struct fetch_run {
	struct session_job	 sj;		/* loop side */
	struct imap_client	*c;		/* loop side only: never read by the job */
	struct store_mailbox	*mb;		/* the session's handle, lent to the job */
	bool			 own_mb;	/* the session ended while a job ran: ours to close */
	struct fetch_attrs	*fa;
	struct seqset		 set;		/* sequence numbers, resolved */
	struct seqset_iter	 it;
	bool			 set_seen;	/* non-PEEK item and a read-write mailbox */
	bool			 seen_batch;	/* a store batch open for this batch's \Seen */
	/* NOTIFY's pushed FETCH (imap_fetch_push): no tagged reply, this instead */
	void			(*end)(struct imap_client *c);
	bool			 condstore;	/* RFC 7162 3.1: a \Seen set here shows UID, MODSEQ */

	/* the message being written */
	bool			 in_msg;
	uint32_t		 seq;
	size_t			 idx;
	size_t			 item;		/* next item of fa->items */
	bool			 seen_added;	/* \Seen was set now: FLAGS must go out */
	bool			 in_lit;
	struct fetch_lit	*lit;		/* the literal being written (in_lit) */
	struct fblob		 file;		/* the message file, read or mapped */
	const char		*data;		/* file.data while one is loaded, else NULL */
	size_t			 len;
	uint64_t		 vsize;		/* RFC822.SIZE (CRLF bytes), see msg_start */
	struct mime_part	*root;		/* parsed on demand */
	const char		*cached[4];	/* ENVELOPE, BODY, BODYSTRUCTURE, PREVIEW (store's) */
	size_t			 cached_len[4];

	/* one batch's output */
	struct buf		 out;
	struct fetch_hole	*holes;
	size_t			 nholes, capholes;

	/* outcome */
	unsigned		 expunged;	/* messages skipped: gone (RFC 2180 4.1.2) */
	unsigned		 failed;	/* messages skipped: I/O error */
	bool			 unknown_cte;	/* BINARY of an encoding we cannot undo */
	bool			 done;		/* nothing more to write */
	bool			 job_running, stopped;
};

/* A run over set (taken: emptied) for fa (taken). */
struct fetch_run *fetch_run_new(struct imap_client *c, struct store_mailbox *mb,
	    struct fetch_attrs *fa, struct seqset *set, bool set_seen);
void	 fetch_run_free(struct fetch_run **rp);

/* On a worker: append the next batch to r->out (and r->holes). */
void	 fetch_run_fill(struct fetch_run *r);

#endif
