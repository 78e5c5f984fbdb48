/*
 * Responses written as the socket drains (FETCH 1:* BODY[] of a large
 * mailbox, a big LIST): the command hands a producer to
 * imap_stream_start(); it is called while the output stays under
 * IMAP_OUT_HIGH, then again from the core's drain callback each time the
 * output falls to half of it.  Meanwhile the session waits, so pipelined
 * commands stay queued and replies keep their order; other sessions on
 * the loop run between the pieces.  A producer whose pieces are made on
 * the worker pool returns IMAP_STREAM_WAIT and calls imap_stream_drain()
 * from the job's completion.  With no producer it only waits for
 * the drain: the read loop uses that when many small replies pile up.
 */
#include <stddef.h>

#include "imap/client.h"
#include "net/session.h"

static void
finish(struct imap_client *c)
{
	struct imap_stream st = c->stream;

	c->stream.more = NULL;
	c->stream.done = NULL;
	c->stream.arg = NULL;
	if (st.done != NULL)
		st.done(st.arg);
}

/* Produce until the output is full or the response is complete. */
static void
pump(struct imap_client *c)
{
	int r = 0;

	while (c->stream.more != NULL && session_output_len(c->ss) < IMAP_OUT_HIGH &&
	    !session_closing(c->ss)) {
		if ((r = c->stream.more(c, c->stream.arg)) != 0)
			break;
	}
	if (r < 0) {
		finish(c);
		imap_log_end(c, "stream-error");
		imap_close(c);
		return;
	}
	if (r == 1)
		finish(c);
	/*
	 * Input resumes once the command has ended: a command that ends
	 * asynchronously after its stream (a sync on the pool before the
	 * tagged reply) resumes it itself.  In IDLE a stream is a NOTIFY
	 * push (imap_fetch_push): IDLE reads its DONE again after it.
	 */
	if (c->stream.more == NULL && (c->cmd == NULL || c->idle != NULL) &&
	    session_output_len(c->ss) < IMAP_OUT_HIGH) {
		session_watch_drain(c->ss, false);
		session_resume(c->ss);
	} else if (r == 1 && c->cmd != NULL && c->idle == NULL)
		/*
		 * The stream is over and its command ends on its own (the sync
		 * of a UID STORE/FETCH), then resumes input itself: a drain
		 * seen after that must not resume it a second time (it would
		 * run the next command's line again, e.g. a second "+" for a
		 * pipelined APPEND's literal).
		 */
		session_watch_drain(c->ss, false);
}

void
imap_stream_start(struct imap_client *c, const struct imap_stream *st)
{
	if (st != NULL)
		c->stream = *st;
	session_wait(c->ss);
	session_watch_drain(c->ss, true);
	pump(c);
}

void
imap_stream_drain(struct imap_client *c)
{
	pump(c);
}

void
imap_stream_stop(struct imap_client *c)
{
	if (c->stream.more != NULL)
		finish(c);
}

bool
imap_streaming(const struct imap_client *c)
{
	return c->stream.more != NULL;
}
