/*
 * Mail store over Maildir++ (cr.yp.to/proto/maildir.html, Courier's
 * README.maildirquota): folders, stable UIDs, flags, MODSEQs and a parsed-
 * structure cache for IMAP (RFC 3501, RFC 7162 CONDSTORE) and POP3.
 *
 * Layout on disk (compatible with Courier, Dovecot, Postfix):
 *	ROOT/{cur,new,tmp}/		INBOX
 *	ROOT/.Sent/{cur,new,tmp}/	folder "Sent" (+ empty file maildirfolder)
 *	ROOT/.a.b/			folder "a/b"
 *	ROOT/subscriptions		subscribed folder names, one per line
 * Folder names in this API (and so in IMAP) use '/' as the hierarchy
 * separator; on disk it is '.'.  A '.' or '%' inside a name component is
 * stored as "%2E" / "%25" (decoded when listing), so any IMAP name maps to
 * one directory.  "INBOX" (any case) is ROOT itself.  Names are kept as the
 * client sent them (modified UTF-7), like Dovecot and Courier.
 *
 * Message file names: "<base>" in new/, "<base>:2,<flags>" in cur/.  The
 * base name identifies a message for life; ",S=<size>" (file bytes) and
 * ",W=<size>" (CRLF size, Dovecot) inside it are used when present, so a
 * sync never stats a file that carries ,S=.  Flags: the uppercase letters
 * after ":2," (D draft, F flagged, P passed, R replied = \Answered,
 * S seen, T trashed = \Deleted; other uppercase letters are kept), sorted,
 * then keywords as lowercase letters 'a'..'z', letter i naming keyword i of
 * the folder's "dovecot-keywords" file ("<i> <name>" lines, Dovecot's own
 * file and format, so keywords survive a switch in either direction).
 *
 * Per folder, next to cur/:
 *	letterbox-uidlist	the index snapshot: UIDVALIDITY, UIDNEXT,
 *				HIGHESTMODSEQ, first \Recent UID, a generation,
 *				expunged UID ranges with their MODSEQ, and per
 *				message uid, modseq, size, CRLF size, internal
 *				date, file name (text; rebuilt when missing)
 *	letterbox-uidlist.log	changes since the snapshot, one appended
 *				commit per change, compacted now and then
 *	letterbox-uidlist.lock	flock(2)ed while the index is read-modify-
 *				written; never removed
 *	letterbox-uidvalidity	the last UIDVALIDITY and highest UIDNEXT
 *				(outlives the index: a rebuild never reuses a V)
 *	letterbox-cache		append-only cache of ENVELOPE, BODY,
 *				BODYSTRUCTURE, PREVIEW and MIME part offsets, deflated
 *				(~120 B/msg), keyed by UID and checked by a
 *				base-name hash, mmap'd with an offset table,
 *				compacted on expunge (just a cache: may be
 *				deleted; see cache.c)
 *	dovecot-keywords	keyword names (see above)
 *	letterbox-mailboxid	RFC 8474 MAILBOXID, made once (folder_meta.c)
 *	letterbox-specialuse	RFC 6154 uses given at CREATE (folder_meta.c)
 * Every change happens under the lock: a UID is handed out only from
 * UIDNEXT, which only grows, so no UID is ever reused or given to two
 * messages; the log is fdatasynced and cur/ + new/ fsynced before the lock
 * is released (unless STORE_O_NOFSYNC), so an acknowledged UID or expunge
 * survives a power cut, and a flag change too with STORE_FSYNC_ALWAYS (any
 * change survives a crash of the process).  When a folder's index is first created,
 * Dovecot's "dovecot-uidlist" (v3) or Courier's "courierimapuiddb" (v1) is
 * imported if present, keeping the clients' UIDs and UIDVALIDITY; later
 * rebuilds never import again and take UIDVALIDITY = max(now, last + 1).
 * Two files with one base name (a cp, a restore): the newcomer is renamed
 * to a fresh base name and gets a UID of its own.
 *
 * Messages found in new/ get the next UIDs (ordered by arrival time in the
 * name) and, unless STORE_O_KEEP_NEW, are renamed into cur/ as
 * "<base>:2," (as Dovecot does on open); a file renamed by another
 * program (flags changed, moved to cur/) keeps its UID because the base
 * name is unchanged.
 *
 * The session's view: a mailbox handle holds the message array its user
 * sees (index i = IMAP sequence number i + 1).  It changes only in
 * store_sync() (which reports expunges and flag changes through callbacks)
 * and for this handle's own flag changes; store_expunge() and appends take
 * effect in the view at the next store_sync().
 *
 * Files are created 0600, directories 0700 (the process runs as the mail
 * owner).  Errors: functions return -1 with errno set: ENOENT (no such
 * folder / message gone), EINVAL (bad name or argument), EEXIST,
 * ENOTEMPTY (folder has children), ENOSPC (27th keyword), ETIMEDOUT (lock
 * held > 30 s), or the system call's errno.
 *
 * Thread-safety: one handle is used by one thread at a time (a session,
 * or a worker doing its sync); different handles, also on the same folder
 * in one process, may be used from different threads.  Process-wide state
 * is the registry of folders (flock.c): per folder a mutex, taken before
 * the flock, and the index snapshot every handle on the folder shares
 * (read under the mutex: a sync may wait while another handle of the
 * process holds the folder's lock, e.g. in a batch).  Each handle keeps
 * its own view.  Sync callbacks run with no lock held.  A handle's first
 * sync reads no directory when the index's recorded scan still matches
 * the directories' mtimes.  Every call may block on disk I/O.  Files left in tmp/ for 36 hours are
 * removed by a sync (at most once an hour per handle).
 *
 * Maildirs on NFS: what the store needs is what Maildir itself needs --
 * rename(2) and link(2) atomic on the server, which NFSv3/v4 give.  Also
 *  - flock(2) is emulated by Linux with a POSIX (fcntl) lock on NFS: it
 *    works between hosts (NFSv4, or NFSv3 with lockd), but belongs to the
 *    process, hence the in-process mutex; mount without "nolock"/"local_lock".
 *  - Attribute caching delays what other hosts did: the "nothing changed"
 *    shortcut compares directory mtimes and the log's size, so with the
 *    default actimeo a change made on another host shows up to ~60 s late.
 *    Mount with actimeo=1 (or lookupcache=positive) when several hosts
 *    serve one mailbox, or route each mailbox to one host (director).
 *  - fsync/fdatasync go to the server (slower, but the guarantees hold).
 *  - inotify sees only this host's changes (store_watch: poll as well).
 *  - mmap of message files for the cache is fine (read-only, files never
 *    change once written).
  */
#ifndef LB_STORE_STORE_H
#define LB_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct store_mailbox;

/* Flags: bit ('X' - 'A') for Maildir flag letter X. */
#define STORE_FLAG(c)		(1u << ((c) - 'A'))
#define STORE_F_DRAFT		STORE_FLAG('D')	/* \Draft */
#define STORE_F_FLAGGED		STORE_FLAG('F')	/* \Flagged */
#define STORE_F_PASSED		STORE_FLAG('P')	/* forwarded (no IMAP flag; kept) */
#define STORE_F_ANSWERED	STORE_FLAG('R')	/* \Answered */
#define STORE_F_SEEN		STORE_FLAG('S')	/* \Seen */
#define STORE_F_DELETED		STORE_FLAG('T')	/* \Deleted */
#define STORE_F_ALL		0x03ffffffu

#define STORE_MAX_KEYWORDS	26	/* 'a'..'z' */

/* store_open() flags */
enum {
	STORE_O_CREATE	 = 0x01,	/* create the folder/Maildir when missing */
	STORE_O_KEEP_NEW = 0x02,	/* leave new/ files in new/ (POP3, like Courier) */
	STORE_O_NOFSYNC	 = 0x04,	/* index writes without fsync (tests, benchmarks) */
	STORE_O_NO_RECENT = 0x08,	/* never claim \Recent (POP3: leave it to IMAP) */
	STORE_O_PEEK_RECENT = 0x10,	/* show unclaimed \Recent, claim none (EXAMINE) */
};

/*
 * One message of the view, as store_msg_get() copies it into the caller's
 * struct: uid, flags, keywords and recent are what this session was last
 * told (they change in store_sync and this handle's store_set_flags);
 * name, sizes, modseq come from the folder's index as the process knows
 * it now (name "" when the message is already gone from the index but not
 * yet from the view).  The copy is the caller's alone and does not follow
 * later changes: get it again after a sync or a change.
 */
#define STORE_NAME_SZ	1001		/* index names are at most 1000 bytes */
struct store_msg {
	uint32_t	 uid;
	uint32_t	 flags;		/* STORE_F_* bits */
	uint32_t	 keywords;	/* bit i = keyword i (store_keyword_name) */
	bool		 in_new;	/* file is in new/ (else cur/) */
	bool		 recent;	/* \Recent: this handle claimed it (see store_sync) */
	uint64_t	 modseq;	/* RFC 7162; > 0 */
	/* 0 = not known yet (a name without ",S=", not stat()ed since the
	 * scan found it): store_msg_size() fills them in. */
	uint64_t	 size;		/* file bytes (,S= or stat) */
	uint64_t	 vsize;		/* size with CRLF line ends: ,W= if present,
					 * else size (our files are CRLF): POP3 */
	char		 name[STORE_NAME_SZ];	/* file name in new/ or cur/ */
	uint16_t	 base_len;	/* name[0..base_len) = base (before ":2,") */

	/* private to the store: */
	int64_t		 idate_;	/* 0 = unknown, see store_msg_idate() */
};

/* ---- mailbox handle ---- */

/*
 * Open folder ("INBOX", "Sent", "a/b") of the Maildir at root.  Does not
 * read the folder: call store_sync() before looking at messages (the
 * view is empty until then).  Returns NULL with errno ENOENT when the
 * folder does not exist (without STORE_O_CREATE), EINVAL for a bad name.
 * The handle owns everything it returns; free with store_close().
 */
struct store_mailbox *store_open(const char *root, const char *folder, int flags);
void	 store_close(struct store_mailbox **mb);

/*
 * Callbacks of store_sync(), both optional (NULL cb = none).
 * expunged: a message of the view is gone (expunged here or elsewhere).
 *	Calls come in ascending order; idx is the message's index at the
 *	moment of the call (earlier calls' removals already applied), so
 *	"* <idx+1> EXPUNGE" in call order is what RFC 3501 7.4.1 wants.
 * changed: after all expunges, message idx got new flags/keywords/modseq
 *	from another process.
 * New messages are appended at the end of the view: compare store_count()
 * before and after.  When the index was rebuilt with a new UIDVALIDITY
 * (someone deleted it), every message is reported expunged (idx 0) and the
 * view refilled: IMAP should compare store_uidvalidity() before and after
 * and close the session (RFC 3501 2.3.1.1).
 */
struct store_sync_cb {
	void	(*expunged)(void *arg, size_t idx, uint32_t uid);
	void	(*changed)(void *arg, size_t idx);
};

/*
 * Bring the index up to date with cur/ and new/ (one readdir of each,
 * under the folder lock), then the view with the index.  Shortcut: when
 * both directories have the mtimes the index records (of the last scan,
 * or left by our own changes: flag renames, expunges, appends, moves out
 * of new/), only the log is stat'ed (and its new tail read), without the
 * lock; with nothing changed, nothing is allocated.  A record whose mtime
 * tick is young is re-checked by one readdir once the tick is over a
 * second old (or 5 s after its scan): a change by another program in that
 * same tick shows up then (see st_scan_usable in store.c).  \Recent:
 * messages that arrived since the last claim (any way) are claimed by the
 * first handle to sync (not by STORE_O_NO_RECENT handles).
 * Returns 0, or -1/errno (the view is unchanged).
 */
int	 store_sync(struct store_mailbox *mb, const struct store_sync_cb *cb, void *arg);

size_t	 store_count(const struct store_mailbox *mb);
/*
 * Message idx (< store_count()) copied into *m_r, which the caller owns:
 * nothing of it points into the handle, so it stays as it is across any
 * later store call.  0, or -1/EINVAL when idx is out of range.  A session
 * keeps 12 bytes per message (uid, flags, keywords); the rest is read from
 * the shared index, under the folder's mutex (so this may wait for another
 * handle's locked write).
 */
int	 store_msg_get(const struct store_mailbox *mb, size_t idx, struct store_msg *m_r);
/*
 * What the session was told of message idx, from its own view: no index
 * lookup and no mutex, for loops over the whole view.  0 / false when idx
 * >= store_count().
 */
uint32_t store_msg_uid(const struct store_mailbox *mb, size_t idx);
uint32_t store_msg_flags(const struct store_mailbox *mb, size_t idx);	/* STORE_F_* */
uint32_t store_msg_keywords(const struct store_mailbox *mb, size_t idx);
bool	 store_msg_recent(const struct store_mailbox *mb, size_t idx);
/* Message idx's MODSEQ as store_msg_get() gives it, without copying the rest. */
uint64_t store_msg_modseq(const struct store_mailbox *mb, size_t idx);
/* Index of uid in the view, or -1 (binary search: the view is UID-ordered). */
ssize_t	 store_find_uid(const struct store_mailbox *mb, uint32_t uid);
/* First index whose uid >= uid (store_count() when none): for UID ranges. */
size_t	 store_lower_bound(const struct store_mailbox *mb, uint32_t uid);

/*
 * UIDs expunged with a modseq > since (RFC 7162 QRESYNC: VANISHED
 * (EARLIER)), as of the last sync or change: ascending disjoint ranges in
 * a malloc'd array the caller frees.  Exact but for very old history (past
 * 4096 ranges, neighbours merge under the newer modseq).  Returns 0.
 */
struct store_uid_range {
	uint32_t	 lo, hi;
};
int	 store_expunged_since(const struct store_mailbox *mb, uint64_t since,
	    struct store_uid_range **ranges_r, size_t *n_r);

uint32_t store_uidvalidity(const struct store_mailbox *mb);
uint32_t store_uidnext(const struct store_mailbox *mb);		/* as of the last sync */
uint64_t store_highestmodseq(const struct store_mailbox *mb);	/* as of the last sync */
const char *store_name(const struct store_mailbox *mb);		/* folder name as opened */
const char *store_path(const struct store_mailbox *mb);		/* its directory (for inotify) */

/*
 * Path of message idx ("DIR/cur/NAME") into dst.  Returns 0, or -1
 * (ENAMETOOLONG).  The file may have been renamed meanwhile: prefer
 * store_msg_open().
 */
int	 store_msg_path(const struct store_mailbox *mb, size_t idx, char *dst, size_t dstsz);

/*
 * Open message idx read-only.  When its file was renamed by another
 * process, finds it again by base name (and updates the view's name).
 * Returns an fd (caller closes) or -1: ENOENT when the message is gone.
 */
int	 store_msg_open(struct store_mailbox *mb, size_t idx);

/*
 * Around many store_msg_open() calls (a FETCH batch): new/ and cur/ stay
 * open meanwhile (each opened when first needed) and messages are opened
 * relative to them, so the kernel does not walk the folder's whole path
 * once per message.  Release closes them (store_close() does too); a
 * handle never keeps them between batches, so an idle session holds no
 * more descriptors.
 */
void	 store_msg_dirs_hold(struct store_mailbox *mb);
void	 store_msg_dirs_release(struct store_mailbox *mb);

/*
 * Fill in m->size and m->vsize (m from store_msg_get of idx) when they
 * are not known yet: a scan takes sizes from the name's ",S=" alone, so
 * new mail dropped in by another program is stat()ed only when a size is
 * asked for (as Dovecot does); what the stat learns (the internal date
 * too) is kept in the index.  0, or -1 (ENOENT: the message is gone).
 */
int	 store_msg_size(struct store_mailbox *mb, size_t idx, struct store_msg *m);

/*
 * Learn every size the index does not know yet (one stat per such
 * message, under the folder lock, committed): for a caller that wants
 * them all (POP3's maildrop listing, STATUS SIZE).  0 or -1.
 */
int	 store_fill_sizes(struct store_mailbox *mb);

/*
 * Internal date (seconds since the epoch): the file's mtime (what Dovecot
 * and Courier set on APPEND), read once with stat() and then kept in the
 * index; falls back to the time in the file name when the file is gone.
 */
int64_t	 store_msg_idate(struct store_mailbox *mb, size_t idx);

/* ---- flags ---- */

enum store_flag_op {
	STORE_FLAGS_SET,	/* replace (FLAGS) */
	STORE_FLAGS_ADD,	/* +FLAGS */
	STORE_FLAGS_REMOVE,	/* -FLAGS */
};

/* Age past which a sync removes a tmp/ file (36 hours; tests lower it). */
void	 store_set_tmp_max_age(time_t secs);

/*
 * What the index fsyncs (the daemon sets it from mail_fsync; process-wide).
 * OPTIMIZED (the default, as Dovecot's): messages, UIDs handed out and
 * expunges are durable before the call returns; a commit of flag changes
 * only is written (it survives a crash of the process) but not fdatasync'ed.
 * ALWAYS: flag changes too.  STORE_O_NOFSYNC handles fsync nothing.
 */
enum store_fsync {
	STORE_FSYNC_OPTIMIZED,
	STORE_FSYNC_ALWAYS,
};
void		 store_set_fsync(enum store_fsync mode);
enum store_fsync store_get_fsync(void);

/*
 * Change message idx's flags and keywords by renaming its file in cur/
 * (a new/ file moves to cur/).  unchangedsince (RFC 7162 3.1.3; 0 = no
 * condition): when the message's modseq is higher, nothing is done and 1 is
 * returned.  On a real change the message gets modseq = ++HIGHESTMODSEQ;
 * the view's entry is updated.  Returns 0 (changed or nothing to change),
 * 1 (skipped by unchangedsince), -1 with ENOENT when another process
 * expunged the message (it leaves the view at the next sync).
 * Keywords bits must name existing keywords (store_keyword_index).
 */
int	 store_set_flags(struct store_mailbox *mb, size_t idx, enum store_flag_op op,
	    uint32_t flags, uint32_t keywords, uint64_t unchangedsince);

/*
 * Optional batch around many store_set_flags() calls (STORE 1:*): takes
 * the lock once and writes the index once at store_update_end().  Not
 * nestable; other calls (sync, expunge, append) must not run in between.
 * Returns 0 or -1/errno.
 */
int	 store_update_begin(struct store_mailbox *mb);
int	 store_update_end(struct store_mailbox *mb);

/* Keyword i's name (borrowed, valid until store_close), NULL when unused. */
const char *store_keyword_name(const struct store_mailbox *mb, unsigned i);
/*
 * Keyword number of name (compared without case, RFC 3501 atom); with
 * create, adds it to dovecot-keywords when missing.  Returns 0..25, or -1:
 * ENOENT (missing, !create), ENOSPC (26 keywords used), EINVAL (not an atom
 * or a \System flag).
 */
int	 store_keyword_index(struct store_mailbox *mb, const char *name, bool create);

/* ---- expunge, append, copy ---- */

/*
 * Delete the messages with these UIDs (unlink their files; UIDs not in
 * the folder are ignored) and drop them from the index.  The view still
 * shows them until the next store_sync(), which reports them as expunged.
 * When ROOT/maildirsize exists, a "-bytes -count" line is appended
 * (Maildir++ quota; appends and copies add "+bytes 1" likewise, and
 * store_folder_delete() takes its messages out).
 * Returns 0 or -1/errno (files already removed stay removed).
 */
int	 store_expunge(struct store_mailbox *mb, const uint32_t *uids, size_t n);

/*
 * Streaming append (IMAP APPEND): begin creates tmp/<unique>; write adds
 * bytes (store as they are; IMAP literals are CRLF already); commit fsyncs,
 * sets the mtime to idate (0 = now), links it into cur/ as
 * "<unique>,S=<size>:2,<flags>", gives it UIDNEXT under the lock and
 * returns its UID in *uid_r.  The message shows in the view after the
 * next store_sync().  commit and abort free *ap and remove the temp file.
 * uid_r may be NULL.
 */
struct store_append;
struct store_append *store_append_begin(struct store_mailbox *mb);
/*
 * Keep this message's bytes exactly as written, CRLF and all (no LF on
 * disk): binary content (IMAP APPEND of a literal8, RFC 3516), whose CR
 * and LF bytes are data, not line ends.  Before the first write.
 */
void	 store_append_raw(struct store_append *a);
int	 store_append_write(struct store_append *a, const void *p, size_t n);
int	 store_append_commit(struct store_append **ap, uint32_t flags, uint32_t keywords,
	    int64_t idate, uint32_t *uid_r);
void	 store_append_abort(struct store_append **ap);
/* All in one for a message held in memory. */
int	 store_append(struct store_mailbox *mb, const void *data, size_t len, uint32_t flags,
	    uint32_t keywords, int64_t idate, uint32_t *uid_r);

/*
 * Copy message idx of src into dst (another handle; IMAP COPY/MOVE): a
 * hard link when possible, else a byte copy; flags kept, keywords mapped
 * by name (created in dst as needed), internal date kept.  Returns 0 with
 * the new UID in *uid_r, or -1/errno (ENOENT: the source is gone).
 */
int	 store_copy(struct store_mailbox *src, size_t idx, struct store_mailbox *dst,
	    uint32_t *uid_r);

/*
 * Quota (Maildir++ ROOT/maildirsize, kept by delivery, append, copy,
 * expunge and folder delete): would add_bytes more pass limit_bytes?
 * Returns 0 (fits, or limit 0 = none), or -1 with EDQUOT (IMAP: NO
 * [OVERQUOTA], RFC 9208) or another errno.  The limit is the caller's:
 * today the config key virtual_mailbox_limit (Postfix's name, one limit
 * for every mailbox, what delivery uses); a per-user limit belongs in the
 * directory (an optional quota column in the users query, as Postfix's
 * virtual_mailbox_limit_maps) and is passed here the same way.
 */
int	 store_quota_check(const char *root, uint64_t limit_bytes, uint64_t add_bytes);
/*
 * What the Maildir uses now (IMAP GETQUOTA, RFC 9208): bytes and messages
 * from ROOT/maildirsize, or counted from the file names when it is
 * missing or needs recalculating (a rewritten file's first line says
 * limit_bytes).  0, or -1/errno.
 */
int	 store_quota_usage(const char *root, uint64_t limit_bytes, uint64_t *bytes_r,
	    uint64_t *count_r);

/* ---- parsed-structure cache (IMAP FETCH) ---- */

enum store_cache_field {
	STORE_CACHE_ENVELOPE,		/* mime_envelope() */
	STORE_CACHE_BODY,		/* mime_bodystructure(extended = false) */
	STORE_CACHE_BODYSTRUCTURE,	/* mime_bodystructure(extended = true) */
	STORE_CACHE_PREVIEW,		/* mime_preview(): UTF-8 text, RFC 8970 */
};

/*
 * The field for message idx: from the handle's last few decoded records,
 * else from letterbox-cache, else by mapping and parsing the file once
 * (all fields and the part offsets are computed and appended to the cache
 * together).  *data_r (not NUL-terminated, len in *len_r) is borrowed
 * until store_close, the message leaves the view, or the cached data of
 * 8 other messages was asked for (store_msg_cached / store_msg_parts):
 * copy it out before moving on to further messages.  Returns 0, or
 * -1/errno (ENOENT: message gone).
 */
int	 store_msg_cached(struct store_mailbox *mb, size_t idx, enum store_cache_field f,
	    const char **data_r, size_t *len_r);

/*
 * MIME parts of a message (RFC 3501 6.4.5 BODY[section]), from the cache
 * like store_msg_cached, so a FETCH of BODY[1.2] reads only that part's
 * bytes (pread of hdr_off..body_end of the file store_msg_open gives).
 * Offsets are in file bytes (the file may have LF line ends); the vsizes
 * are of the CRLF form FETCH sends.  Parts come in pre-order: parts[0] is
 * the whole message (hdr_off 0), a part comes before its children, which
 * follow in order.  IMAP numbering: the children of a multipart are its
 * sections 1..n; a message/rfc822 part (STORE_PART_MESSAGE) has one
 * child, the enclosed message, whose children are numbered as the
 * message's own sections (store_parts_find does this).
 */
#define STORE_PART_NONE		UINT32_MAX
enum {
	STORE_PART_MULTIPART	= 0x1,	/* multipart/\*: children are its parts */
	STORE_PART_MESSAGE	= 0x2,	/* message/rfc822 with an enclosed message */
};
struct store_part {
	uint32_t	 parent;	/* index of the enclosing part, STORE_PART_NONE for [0] */
	uint32_t	 flags;		/* STORE_PART_* */
	uint64_t	 hdr_off;	/* file offset of the part's header */
	uint64_t	 body_off;	/* file offset of its body (after the empty line) */
	uint64_t	 body_end;	/* file offset just past the body */
	uint64_t	 hdr_vsize;	/* header bytes (incl. the empty line) as CRLF */
	uint64_t	 body_vsize;	/* body bytes as CRLF */
	uint64_t	 body_lines;	/* lines of the body (BODYSTRUCTURE's count) */
};
/* *parts_r is borrowed like store_msg_cached's data.  0 or -1/errno. */
int	 store_msg_parts(struct store_mailbox *mb, size_t idx, const struct store_part **parts_r,
	    size_t *n_r);
/*
 * The part named by the numbers of an IMAP section ("1.2" -> {1, 2}, n 2;
 * n 0 = the whole message), as mime_section() resolves them: returns its
 * index in parts, and in *as_msg_r whether it is a message (the root, or
 * the enclosed message of a message/rfc822 part: HEADER and TEXT apply)
 * rather than a body part (MIME and the body apply); -1 when no such part.
 * HEADER and TEXT of a message/rfc822 part i are those of parts[i + 1].
 */
ssize_t	 store_parts_find(const struct store_part *parts, size_t nparts, const uint32_t *nums,
	    size_t n, bool *as_msg_r);

/* ---- STATUS (no handle needed) ---- */

struct store_status {
	uint32_t	 messages, unseen, recent, uidnext, uidvalidity;
	uint64_t	 highestmodseq;
	uint64_t	 size;		/* sum of CRLF sizes (RFC 8438 STATUS SIZE) */
};

/* What a caller of store_status wants beyond the counts. */
#define STORE_STATUS_SIZE	0x01	/* size (else 0): may stat new mail once */

/*
 * The folder's STATUS from its index header alone (a few reads, no
 * allocation) when nothing changed on disk since the last scan; else by
 * a full open + sync (which does not claim \Recent).  With
 * STORE_STATUS_SIZE, sizes the index does not know yet are learned
 * first (store_fill_sizes).  0 or -1/errno.
 */
int	 store_status(const char *root, const char *folder, unsigned want,
	    struct store_status *st_r);

/* ---- object ids (RFC 8474), save dates (RFC 8514), special use (RFC 6154) ---- */

#define STORE_OBJID_SIZE	32	/* an objectid and its NUL */

/*
 * The folder's MAILBOXID: "F" + 24 random hex digits kept in its
 * directory (letterbox-mailboxid), made the first time it is asked for
 * (IMAP asks at CREATE).  RENAME keeps it (the directory moves); DELETE
 * and CREATE again give a new one.  0, or -1/errno (ENOENT: no folder).
 */
int	 store_mailbox_id(const char *root, const char *folder, char id_r[STORE_OBJID_SIZE]);

/*
 * A message's EMAILID: "M" + 16 hex digits, the hash of its base name,
 * which is the message's for life -- or, for a copy, the original's id,
 * which store_copy writes into the copy's base name (",E=<hex>"), so COPY
 * and MOVE keep it (RFC 8474 5.1).  Pure.
 */
void	 store_msg_emailid(const struct store_msg *m, char id_r[STORE_OBJID_SIZE]);

/*
 * Save date of message idx (seconds since the epoch): when it was stored
 * in this folder, the time in its base name (delivery, APPEND and
 * COPY/MOVE each name the file afresh); its internal date when the name
 * holds no time.
 */
int64_t	 store_msg_savedate(struct store_mailbox *mb, size_t idx);

/*
 * The special-use attributes given to a folder (letterbox-specialuse in
 * its directory; opaque text here, e.g. "\Sent"): 1 with dst filled, 0
 * when none was given, -1/errno.  set replaces them (one line of text).
 */
int	 store_folder_special_use(const char *root, const char *name, char *dst, size_t dstsz);
int	 store_folder_set_special_use(const char *root, const char *name, const char *uses);

/* ---- Courier's POP3 UIDLs (courierpop3dsizelist, see courier.c) ---- */

/*
 * When ROOT/courierpop3dsizelist exists, the UIDLs Courier's POP3 server
 * gave, so POP3 clients moved over from Courier do not download
 * everything again.  NULL when there is no (usable) list.
 * store_pop3_uidl: the UIDL for a file's base name (name[0..base_len)),
 * borrowed until the free; NULL when Courier did not know the message.
 */
struct store_pop3_uidls;
struct store_pop3_uidls *store_pop3_uidls_load(const char *root);
const char *store_pop3_uidl(const struct store_pop3_uidls *l, const char *name,
	    size_t base_len);
void	 store_pop3_uidls_free(struct store_pop3_uidls **l);
/*
 * A POP3 UIDL (RFC 1939 7: bytes 0x21..0x7E) from a base name: bytes
 * outside that range, esc itself and those in special (may be NULL) are
 * written as <esc>XX; stops once max bytes are out.  Malloc'd.
 */
char	*store_name_uidl(const char *name, size_t len, char esc, const char *special,
	    size_t max);

/* ---- folders (no handle needed) ---- */

enum {
	STORE_FOLDER_NONEXISTENT = 0x1,	/* only a parent of existing folders
					 * (".a.b" without ".a"): \NonExistent */
	STORE_FOLDER_CHILDREN	 = 0x2,	/* has child folders (\HasChildren; else
					 * \HasNoChildren) */
};

struct store_folder {
	char		*name;		/* "INBOX", "Sent", "a/b" */
	unsigned	 flags;		/* STORE_FOLDER_* */
};

/*
 * All folders of the Maildir at root, INBOX first, then by name (bytes),
 * with missing parents included (STORE_FOLDER_NONEXISTENT).  Returns 0 and
 * an array the caller frees with store_folder_list_free(), or -1/errno.
 */
int	 store_folder_list(const char *root, struct store_folder **list_r, size_t *n_r);
void	 store_folder_list_free(struct store_folder **list, size_t n);

/* Is name a valid folder name, and does the folder exist? */
bool	 store_folder_valid(const char *name);
bool	 store_folder_exists(const char *root, const char *name);

/* Directory of folder name under root into dst.  0 or -1 (EINVAL, ENAMETOOLONG). */
int	 store_folder_path(const char *root, const char *name, char *dst, size_t dstsz);

/*
 * Create a folder (its cur/ new/ tmp/ and maildirfolder; parents are not
 * needed in Maildir++ and are not created).  -1/EEXIST when it exists;
 * "INBOX" -> EEXIST.
 */
int	 store_folder_create(const char *root, const char *name);
/*
 * The same for n folders at once, with one fsync of the root for all
 * (a new user's special-use folders).  ok_r[i]: folder i was made or
 * already there.  0, or -1 when none could be (errno of the last).
 */
int	 store_folders_create(const char *root, const char *const *names, size_t n,
	    bool *ok_r);

/*
 * Rename folder old to new, with its children ("a/b" moves with "a").
 * -1/EEXIST when new (or a child's new name) exists, ENOENT when old does
 * not; INBOX (either side) -> EINVAL (RFC 3501 INBOX rename is the IMAP
 * layer's: it moves the messages).  Subscriptions are renamed too.
 */
int	 store_folder_rename(const char *root, const char *oldname, const char *newname);

/*
 * Delete a folder and its messages (renamed away first, so it vanishes at
 * once, then removed).  -1/ENOTEMPTY when it has child folders (as
 * Dovecot), ENOENT when missing, EINVAL for INBOX.
 */
int	 store_folder_delete(const char *root, const char *name);

/*
 * Subscriptions (ROOT/subscriptions, one name per line).  Reading also
 * understands Dovecot's v2 file ("V\t2" header, '\t' separators) and
 * Courier's "INBOX.a.b" names; writing uses our names ('/').
 * store_subscriptions returns a sorted array of strings the caller frees
 * with store_subscriptions_free().  store_subscribe adds or removes one
 * (written by temp + rename; no error when already in that state).
 */
int	 store_subscriptions(const char *root, char ***names_r, size_t *n_r);
void	 store_subscriptions_free(char ***names, size_t n);
int	 store_subscribe(const char *root, const char *name, bool subscribe);
/* Subscribe (or not) the n names with one write of the file. */
int	 store_subscribe_list(const char *root, const char *const *names, size_t n,
	    bool subscribe);

#endif
