/*
 * Running a parsed SEARCH query over the selected mailbox, shared by
 * SEARCH, SORT and THREAD: prepared on the loop (the saved result is
 * copied), run on a worker while the session waits and lends c->mb.
 * Message files are read only when a key needs content.
 */
#ifndef LB_IMAP_SEARCH_RUN_H
#define LB_IMAP_SEARCH_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/search_parse.h"
#include "imap/seqset.h"
#include "lib/fblob.h"
#include "lib/buf.h"

struct imap_client;
struct store_mailbox;

struct search_run {
	struct store_mailbox	*mb;		/* borrowed: c->mb, the session waits */
	struct search_query	*q;		/* owned */
	struct seqset		 saved;		/* copy of the session's saved UIDs */
	bool			 has_saved;
	int64_t			 now;

	/* the message file (content callback): read, or mapped when large */
	struct fblob		 file;

	/* results, ascending */
	uint32_t		*seqs, *uids;
	size_t			 n;
	uint64_t		 modseq;	/* highest of the matches (RFC 7162 3.1.5) */
};

/* On the loop: take q, borrow c->mb, copy the saved result. */
void	 search_run_init(struct search_run *r, struct imap_client *c, struct search_query *q);
/* On a worker: evaluate every message of the view. */
void	 search_run_work(struct search_run *r);
/* Free what r owns (the query, the results). */
void	 search_run_clear(struct search_run *r);

/*
 * SORT and THREAD (RFC 5256): "charset SP search-key..." with the charset
 * required, parsed as SEARCH's "CHARSET charset search-key...".  As
 * search_parse(): 0 with *q_r, or -1 with *err.
 */
int	 search_parse_charset_first(const struct imap_arg *args, size_t nargs,
	    struct search_query **q_r, struct search_error *err);

/*
 * On a worker: the ENVELOPE of view message idx from the store's cache
 * (parsing the file only when it is not cached yet), read into *e.
 * Returns 0, or -1 with *e empty (the message then sorts as if it had no
 * header fields).  envelope_clear() either way.
 */
struct envelope;
int	 search_run_envelope(struct search_run *r, size_t idx, struct envelope *e);

/*
 * RFC 5182 2.4 (and RFC 5267 for SORT): RETURN (SAVE ...) keeps the first
 * and/or last of uids[0..n) (in answer order) when only MIN and/or MAX
 * were asked for, else every one, as the session's saved result.
 */
void	 search_run_save(struct imap_client *c, unsigned ret, const uint32_t *uids, size_t n);

/*
 * On the loop, for a query with a MODSEQ key (RFC 7162 3.1.5): the MODSEQ
 * of an ESEARCH answer with return options ret, seqs[0..r->n) being the
 * matches in answer order.  With only MIN and/or MAX returned it is the
 * highest of those messages, else of every match (r->modseq).
 */
uint64_t search_run_modseq(const struct search_run *r, unsigned ret, const uint32_t *seqs);

/* A long answer goes out in pieces: write b once it is big, or at the last. */
void	 search_reply_flush(struct imap_client *c, struct buf *b, bool last);

/* The tagged NO/BAD for a failed search_parse() (with [BADCHARSET ...]). */
void	 search_run_refuse(struct imap_client *c, const struct search_error *err);

/*
 * The completion's common start.  search_run_init() lent the session's
 * folder handle to the job (c->mb is NULL while it runs); this gives it
 * back and returns the client, or, when the session is gone, closes the
 * handle and returns NULL (the caller then only frees its job).
 */
struct session_job;
struct imap_client *search_run_session(struct session_job *sj, struct search_run *r);

/* The completion's end: "OK <what> completed." and the session resumes. */
void	 search_run_finish(struct imap_client *c, bool uid, const char *what);

#endif
