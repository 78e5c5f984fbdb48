/*
 * NOTIFY (RFC 5465) state of one session and its dispatch: which folders
 * are followed, their last reported STATUS, and the pushes.  One
 * connection follows every folder of the account: a store watch
 * (store/watch.h, shared kernel watches) per followed folder, one on the
 * Maildir root for MailboxName/SubscriptionChange, one on the selected
 * folder.  A watch only marks a folder dirty; the pushes (untagged
 * STATUS, LIST, and the selected mailbox's EXISTS/EXPUNGE/FETCH through
 * view.c) go out when the session is between commands or in IDLE, never
 * inside a command's response.  STATUS values are read on the worker
 * pool (store_status: index header only).  Per folder the session keeps
 * a small struct, no buffers.
 */
#ifndef LB_IMAP_NOTIFY_H
#define LB_IMAP_NOTIFY_H

#include <stdint.h>

struct imap_client;
struct notify_spec;
struct seqset;

/* NOTIFY SET: take spec over, read the folders on the pool, then reply. */
void	imap_notify_set(struct imap_client *c, struct notify_spec *spec);
/* NOTIFY NONE, and the session's end: no more pushes. */
void	imap_notify_free(struct imap_client *c);
/* A command ended or IDLE began: what is pending may go out now. */
void	imap_notify_idle_point(struct imap_client *c);
/*
 * A sync told the client of new messages in the selected mailbox from
 * uid on (view.c): MessageNew with fetch attributes FETCHes them at the
 * next idle point.  uid 0: a mailbox was selected, nothing is pending.
 */
void	imap_notify_new(struct imap_client *c, uint32_t uid);
/*
 * This session put uids into folder name (store form) itself: APPEND,
 * COPY, MOVE.  In the selected mailbox they get no MessageNew FETCH
 * (RFC 5465 5.2: the client has them already).
 */
void	imap_notify_own(struct imap_client *c, const char *name, const struct seqset *uids);

#endif
