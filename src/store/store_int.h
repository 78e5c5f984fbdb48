/*
 * Internals of the mail store shared by its files (not for other modules):
 * the index ("uidlist") in memory, file-name helpers, the folder lock.
 */
#ifndef LB_STORE_STORE_INT_H
#define LB_STORE_STORE_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "store/store.h"

#define UIDLIST_FILE	"letterbox-uidlist"
#define UIDLIST_LOCK	"letterbox-uidlist.lock"
#define UIDLIST_LOG	"letterbox-uidlist.log"
/* Not "letterbox-uidlist*": survives someone deleting the index files. */
#define UIDV_FILE	"letterbox-uidvalidity"
/* At the Maildir root: the highest UIDVALIDITY any folder of it was given,
 * so a folder deleted and made again under its name gets a higher one
 * even within the same second (RFC 3501 2.3.1.1). */
#define UIDV_LAST_FILE	"letterbox-uidvalidity-last"
#define CACHE_FILE	"letterbox-cache"
#define KEYWORDS_FILE	"dovecot-keywords"

/* One message in the index. */
struct ul_rec {
	uint32_t	 uid;
	bool		 in_new;
	bool		 mark;		/* seen by the current scan */
	bool		 dirty;		/* changed since the last commit */
	bool		 counted, counted_seen, counted_new, counted_nosize;	/* in uidlist's totals, as */
	bool		 learned;	/* size/idate learned by a reader, not yet committed */
	uint8_t		 seen;		/* scan: SEEN_* */
	uint16_t	 base_len;
	uint64_t	 modseq;
	/* 0 = unknown: a scan takes them from ",S="/",W=" alone; a name
	 * without ",S=" is stat()ed when they are first needed (st_learn). */
	uint64_t	 size, vsize;
	uint64_t	 counted_size;
	int64_t		 idate;		/* 0 = unknown */
	char		*name;		/* file name in new/ or cur/ */
};

enum { SEEN_NONE, SEEN_EXACT, SEEN_OTHER };

/* Expunged UIDs lo..hi, at modseq (RFC 7162 VANISHED). */
struct ul_xrange {
	uint32_t	 lo, hi;
	uint64_t	 modseq;
};

/* What we last read of a file, to tell cheaply whether it changed. */
struct ul_fstate {
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtim;
};

/*
 * The index: letterbox-uidlist (a snapshot, generation G) plus
 * letterbox-uidlist.log (changes since, header naming G), see uidlist.c.
 */
struct uidlist {
	uint32_t	 uidvalidity, uidnext;
	/* uidnext as last read from or written to the disk: a commit that
	 * hands out no UID (and expunges nothing) carries only flag changes,
	 * which mail_fsync=optimized writes without fdatasync (ul_commit). */
	uint32_t	 disk_uidnext;
	uint32_t	 first_recent;	/* UIDs >= this are \Recent for whoever claims them */
	uint64_t	 highestmodseq, gen;
	struct ul_rec	*recs;		/* sorted by uid */
	size_t		 n, cap;
	/* The snapshot's names, one map (load_base): free them with ul_name_free. */
	char		*names;
	size_t		 names_cap;
	uint32_t	*hash;		/* rec index + 1 by base name; 0 = free */
	size_t		 hcap;		/* power of two, > 2 * n */
	bool		 hash_ok;	/* hash describes recs (else built on lookup) */
	/* Totals for STATUS (kept by ul_count), and the cur/ new/ mtimes
	 * (ns) the last scan saw, at scan_at: the header answers STATUS. */
	uint32_t	 nunseen;
	uint32_t	 nnew;		/* records in new/ (a sync moves them to cur/) */
	uint32_t	 hdr_messages;	/* "C" of the snapshot header (status.c) */
	uint64_t	 total_size;	/* CRLF sizes (of the records whose size is known) */
	uint32_t	 nosize;	/* records whose size is not known yet */
	uint32_t	 snap_nosize;	/* ...as the snapshot's header says (its Q) */
	uint64_t	 scan_new_ns, scan_cur_ns;
	int64_t		 scan_at;
	struct ul_xrange *xr;		/* sorted, disjoint */
	size_t		 nxr, xrcap;
	bool		 loaded;	/* recs reflect the files (or a fresh folder) */
	bool		 learned;	/* some recs have learned set (st_learn) */
	uint64_t	 version;	/* grows with every change in memory */
	/* Not on disk yet: */
	uint32_t	*dirty;		/* uids of recs with dirty set */
	size_t		 ndirty, dirtycap;
	struct ul_xrange *pend;		/* expunges */
	size_t		 npend, pendcap;
	/* The log as last read: */
	bool		 log_ok;	/* exists and belongs to our snapshot */
	bool		 log_required;	/* the snapshot is LB2: it always has a log */
	struct ul_fstate logst;
	off_t		 log_off;	/* end of the last whole commit */
	struct ul_fstate basest;	/* the snapshot as last read or written */
	off_t		 base_size;	/* snapshot bytes (compaction threshold) */
};

/* ---- the parsed-structure cache (cache.c, cache_rec.c) ---- */
#define CACHE_NFIELDS	4
#define CACHE_FIELD_MAX	(16U * 1024 * 1024)
#define CACHE_REC_HDR	24		/* see cache_rec.c */
#define CACHE_REC_MAGIC	0xC3u		/* top byte of a record's second word */
#define CACHE_GROUP_MAGIC 0xC4u		/* the same of a group of records */
#define CACHE_GROUP_MAX	64		/* messages a group holds at most */
#define CACHE_GROUP_RAW	(64 * 1024)	/* no member is added past these payload bytes */
#define CACHE_ZLEN_MAX	0x00ffffffu
#define CACHE_RING	8		/* decoded records a handle keeps */

/* One decoded record: fields and parts point into raw (owned). */
struct cache_ent {
	uint32_t	 uid;		/* 0 = empty slot */
	uint64_t	 hash;		/* of the base name */
	char		*raw;
	size_t		 rawlen;
	const char	*f[CACHE_NFIELDS];
	uint32_t	 flen[CACHE_NFIELDS];
	struct store_part *parts;
	size_t		 nparts;
};

/* Offset table entry: the record of uid starts at off in the file. */
struct cache_slot {
	uint32_t	 uid, off;
};

/*
 * What a process knows of letterbox-cache: its map and the offset table,
 * shared by every handle on the folder (in its folder_mutex, like the
 * index snapshot) and used only under the folder mutex.  Per handle the
 * table cost 8-16 B a message, as much as the rest of a session's view.
 */
struct cache_shared {
	bool		 bad;		/* other UIDVALIDITY or garbage: recreate */
	uint32_t	 uidv;		/* the UIDVALIDITY the file was checked for */
	ino_t		 ino;
	off_t		 off;		/* bytes of the file parsed so far */
	const unsigned char *map;	/* read-only map of the file's first maplen bytes */
	size_t		 maplen;
	struct cache_slot *tab;		/* sorted by uid once tab_sorted */
	size_t		 ntab, tabcap;
	bool		 tab_sorted;
	size_t		 touched;	/* record bytes read from the map since its pages were dropped */
};

/* A handle's part: the shared state, and the records it decoded last. */
struct cache_state {
	struct cache_shared *sh;	/* the folder's (or own_sh without a mutex) */
	struct cache_shared own_sh;
	struct cache_ent ring[CACHE_RING];
	unsigned	 ring_next;
	/* The payloads of the record (group) read or written last, so a
	 * FETCH 1:* inflates each group once: its file's inode and offset. */
	char		*graw;
	size_t		 grawlen;
	ino_t		 gino;
	uint32_t	 goff;
};

/* A message of a group being written: its payload's length in the group. */
struct cache_member {
	uint32_t	 uid, len;
	uint64_t	 hash;
};

/*
 * One message of a session's view: its UID and the flags the session was
 * last told (a sync compares them with the index's to report changes).
 */
struct view_ent {
	uint32_t	 uid;
	uint32_t	 flags;		/* STORE_F_* | VIEW_RECENT */
	uint32_t	 keywords;
};
#define VIEW_RECENT	0x80000000u	/* outside STORE_F_ALL */


struct ownset;

#define ST_DIRTY_CUR	0x01u
#define ST_DIRTY_NEW	0x02u
/* What a rename out of new/ or cur/ into cur/ leaves to fsync. */
#define ST_DIRTY_INTO_CUR(from_new)	(ST_DIRTY_CUR | ((from_new) ? ST_DIRTY_NEW : 0u))

struct store_mailbox {
	char		*root, *name, *dir;
	int		 oflags;
	int		 lockfd;	/* open while locked */
	struct folder_mutex *fmu;	/* in-process lock of this folder (flock.c) */
	bool		 batch;		/* inside store_update_begin/end */
	bool		 batch_dirs;	/* the batch holds new/ and cur/ (st_dirfd) */
	bool		 batch_dirty;
	/* ST_DIRTY_*: renamed/linked in cur/ or new/, so fsync that directory
	 * before unlocking (only that one: a flag change touches cur/ alone). */
	unsigned	 dir_dirty;
	/* The index: the process's shared snapshot of the folder (in fmu,
	 * used under its mutex), or own_ul when the folder has no mutex. */
	struct uidlist	*ul;
	struct uidlist	 own_ul;
	/* Under the lock: may the commit record the directories' mtimes
	 * our changes leave as the index's (st_own_begin)? */
	enum { OWN_UNKNOWN, OWN_ADOPT, OWN_NO } own_state;
	unsigned	 scans;		/* readdirs of cur/ + new/ (tests, bench) */
	/* store_msg_dirs_hold(): new/ and cur/ opened when first needed, or -1 */
	bool		 dirs_held;
	int		 dirfd[2];	/* [0] new/, [1] cur/ */
	time_t		 tmp_cleaned;	/* last look into tmp/ */
	/* The view: per message only what this session was told (uid and
	 * flags, 12 bytes); the rest is read from the shared index. */
	struct view_ent	*vw;
	size_t		 nmsgs;
	/* own flag changes since the last sync (the sync does not report them
	 * back); a pointer so that the const lookups may fold it (ownset.h) */
	struct ownset	*own;
	size_t		 v_hint;	/* index position of the last lookup (msgview.c) */
	uint32_t	 v_uidvalidity, v_uidnext;
	uint64_t	 v_highestmodseq;
	uint64_t	 v_version;	/* ul.version the view reflects */
	uint32_t	 recent_lo, recent_hi;	/* UIDs this handle claimed as \Recent */
	/* Keywords (dovecot-keywords). */
	char		*kw[STORE_MAX_KEYWORDS];
	struct timespec	 kw_mtime;
	bool		 kw_loaded;	/* kw_* describe the file (ino 0: none) */
	ino_t		 kw_ino;
	off_t		 kw_size;
	struct cache_state cache;	/* letterbox-cache (cache.c) */
};

/* ---- names (name.c) ---- */
/* Length of the base name: up to the ":2," info (or ':' of any info). */
size_t	 name_base_len(const char *name);
/* Flags and keywords from the info of a file name. */
void	 name_flags(const char *name, uint32_t *flags_r, uint32_t *kw_r);
/* ",S=" / ",W=" values in the base name; false when absent. */
bool	 name_size(const char *name, size_t base_len, char key, uint64_t *v_r);
/* Arrival time in the name ("<sec>.M<usec>..."), for ordering new mail. */
void	 name_time(const char *name, int64_t *sec_r, int64_t *usec_r);
/* "<base>:2,<flags><keywords>" into dst; -1/ENAMETOOLONG. */
int	 name_compose(char *dst, size_t dstsz, const char *name, size_t base_len,
	    uint32_t flags, uint32_t kw);
/* A fresh unique base name "<sec>.M<usec>P<pid>R<rand>.<host>". */
int	 name_unique(char *dst, size_t dstsz);
uint32_t name_hash(const char *s, size_t len);
/* RFC 8474 EMAILID of a base name: its ",E=<16 hex>" field, else its hash. */
uint64_t name_emailid(const char *name, size_t base_len);

/* ---- the index (uidlist.c, ullog.c) ---- */
void	 ul_clear(struct uidlist *ul);
/* Free a record's name (which may live in the snapshot's names block). */
void	 ul_name_free(const struct uidlist *ul, char *name);
/* Is ul (loaded) what the files hold?  One stat(2) of the log. */
bool	 ul_current(const struct uidlist *ul, const char *dir);
/* Bring ul up to date with the files (reads only the log's new tail when
 * it can); 0 ok, 1 no (usable) index, -1 error. */
int	 ul_load(struct uidlist *ul, const char *dir);
/* Snapshot + empty log (compaction, rebuild). */
int	 ul_write(struct uidlist *ul, const char *dir, bool dosync);
/* Append what changed since the last commit to the log (or ul_write). */
int	 ul_commit(struct uidlist *ul, const char *dir, bool dosync, bool flags_sync);
void	 ul_rehash(struct uidlist *ul);
void	 ul_hash_last(struct uidlist *ul);	/* after ul_add of the highest uid */
struct ul_rec *ul_find_base(struct uidlist *ul, const char *name, size_t base_len);
struct ul_rec *ul_find_uid(struct uidlist *ul, uint32_t uid);
struct ul_rec *ul_add(struct uidlist *ul);	/* appended, zeroed; rehash after */
/* (Re)count r in the totals / take it out of them. */
void	 ul_count(struct uidlist *ul, struct ul_rec *r);
void	 ul_uncount(struct uidlist *ul, struct ul_rec *r);
/* r changed (or is new): the next commit writes it. */
void	 ul_touch(struct uidlist *ul, struct ul_rec *r);
/* Note uid as expunged at modseq (caller removes the rec; ascending uids). */
void	 ul_expunged(struct uidlist *ul, uint32_t uid, uint64_t modseq);
/* Merge an expunged range into ul->xr (shared by writer and log reader). */
void	 ul_xr_add(struct uidlist *ul, uint32_t lo, uint32_t hi, uint64_t modseq);
/* Drop the records with uid in lo..hi. */
void	 ul_remove_range(struct uidlist *ul, uint32_t lo, uint32_t hi);
/* Insert or replace the record r->uid (takes r->name); for the log reader. */
void	 ul_upsert(struct uidlist *ul, struct ul_rec *r);
/* One index line "<uid> <modseq> <size> <vsize> <idate> <n|c> <name>". */
int	 ul_parse_rec(const char *p, const char *nl, struct ul_rec *r);
struct buf;
int	 ul_format_rec(struct buf *b, const struct ul_rec *r);
/* "h" values of a commit / the snapshot header (shared with status.c). */
#define UL_HVALS	9
void	 ul_hvals_get(const struct uidlist *ul, uint64_t v[UL_HVALS]);
void	 ul_hvals_set(struct uidlist *ul, const uint64_t v[UL_HVALS]);
int	 ul_parse_hvals(const char *p, const char *nl, uint64_t v[UL_HVALS]);
/* Header line of the snapshot; 0 or -1. */
int	 ul_parse_header(const char *s, size_t len, struct uidlist *ul);
/* Remember st as what we last read of a file. */
struct stat;
void	 ul_fstate_set(struct ul_fstate *fs, const struct stat *st);
/* Read all of dir/file (NUL-terminated).  0 ok, 1 missing, -1 error. */
int	 ul_read_file(const char *dir, const char *file, char **data_r, size_t *len_r);
/* The log (ullog.c): apply data[0..len) (after the header); returns the
 * bytes of whole commits applied, -1 if garbled. */
ssize_t	 ullog_apply(struct uidlist *ul, const char *data, size_t len);
/* Fresh log for generation gen (temp + rename). */
int	 ullog_create(const char *dir, uint64_t gen, bool dosync, struct ul_fstate *st_r,
	    off_t *off_r);
/* Last UIDVALIDITY and highest UIDNEXT ever used here (letterbox-uidvalidity):
 * 0 ok, 1 no file; set writes it (fsync when dosync). */
int	 uidv_read(const char *dir, uint32_t *v_r, uint32_t *next_r);
int	 uidv_write(const char *dir, uint32_t v, uint32_t next, bool dosync);
/* The same for another file of that format: UIDV_LAST_FILE at the root. */
int	 uidv_read_in(const char *dir, const char *file, uint32_t *v_r, uint32_t *next_r);
int	 uidv_write_in(const char *dir, const char *file, uint32_t v, uint32_t next,
	    bool dosync);
/* Import dovecot-uidlist / courierimapuiddb: base -> uid map in ul (recs
 * with name = base, marked not loaded).  0 imported, 1 none, -1 error. */
int	 ul_import(struct uidlist *ul, const char *dir);

/* ---- locking (flock.c) and refresh (store.c) ---- */
/*
 * Per folder and process: the mutex, and the index snapshot every handle
 * on the folder shares (read and written only under the mutex).
 */
struct folder_mutex;
struct folder_mutex *fmutex_get(const char *dir);	/* NULL if dir is gone */
void	 fmutex_put(struct folder_mutex **f);
struct uidlist *fmutex_ul(struct folder_mutex *f);
struct cache_shared *fmutex_cache(struct folder_mutex *f);
/*
 * Mail arrived in new/ (a watch saw it): the next sync of the folder reads
 * the directories even when their mtimes are those the index records --
 * a file put there in the same clock tick as our last change or scan
 * leaves new/'s mtime as it was.  Set from the loop thread without
 * waiting for the mutex; cleared by the scan (before its readdirs).
 * fmutex_arrived_dir: the same for a folder path (NULL-safe lookup:
 * false when no handle or watch of this process has the folder).
 */
void	 fmutex_set_arrived(struct folder_mutex *f);
bool	 fmutex_arrived(const struct folder_mutex *f);
void	 fmutex_clear_arrived(struct folder_mutex *f);
bool	 fmutex_arrived_dir(const char *dir);
/* Mutex, then flock, each waited for at most 30 s (ETIMEDOUT). */
int	 st_lock(struct store_mailbox *mb);
void	 st_unlock(struct store_mailbox *mb);
/* The mutex alone (reading the shared index); 0 or -1 (ETIMEDOUT). */
int	 st_mutex_lock(const struct store_mailbox *mb);
void	 st_mutex_unlock(const struct store_mailbox *mb);
/* Under the lock: make ul current (reload, scan when asked or missing). */
int	 st_refresh(struct store_mailbox *mb, bool scan, bool *changed_r);
int	 st_commit(struct store_mailbox *mb);	/* write ul (under lock) */
uint64_t st_ts_ns(const struct timespec *ts);
/* Can the recorded scan of these directory mtimes be trusted? */
bool	 st_scan_trusted(uint64_t new_ns, uint64_t cur_ns, int64_t scan_at);
/* ...or taken at time now, young but not yet due for its re-check?  A young
 * record is re-checked at the latest this long after its scan_at. */
#define SCAN_RECHECK_MAX	5
bool	 st_scan_usable(uint64_t new_ns, uint64_t cur_ns, int64_t scan_at, int64_t now);
/* Under the lock, before changing cur/ or new/: note whether the index's
 * recorded scan still describes them, so that st_commit can record the
 * mtimes our changes leave (see store.c).  st_own_spoil: a foreign change
 * was found (a file renamed under us), record nothing. */
void	 st_own_begin(struct store_mailbox *mb);
void	 st_own_spoil(struct store_mailbox *mb);
/* A file was found renamed under us: the next sync reads the directories. */
void	 st_scan_suspect(struct store_mailbox *mb);
/* Find a file by base name in cur/ or new/: 0 (*name_r malloc'd), 1 none, -1 error. */
int	 st_find_base(struct store_mailbox *mb, const char *name, size_t base_len,
	    char **name_r, bool *in_new_r);
/* Keywords from dovecot-keywords when the file changed (store_ops.c). */
void	 kw_load(struct store_mailbox *mb);
/*
 * View message idx (< nmsgs) as store_msg_get() gives it.  A message gone
 * from the index but still in the view has name "" (its file is gone).
 * Takes the folder mutex unless this handle holds the lock.
 */
void	 st_view_get(const struct store_mailbox *mb, size_t idx, struct store_msg *m);
/*
 * A reader learned message uid's file size and mtime (0: not learned): the
 * index takes what it did not know (size, ",W=" or the size as vsize,
 * idate), committed at the next locked sync (store.c merge_learned).
 * st_learn takes the folder mutex unless this handle holds the lock;
 * st_rec_learn is for a caller that holds it.
 */
void	 st_learn(struct store_mailbox *mb, uint32_t uid, uint64_t size, int64_t mtime);
void	 st_rec_learn(struct ul_rec *r, uint64_t size, int64_t mtime);
/* Find m's file again after a rename elsewhere; -1/ENOENT if gone. */
int	 st_relocate(struct store_mailbox *mb, struct store_msg *m);
/* This handle changed view message idx's flags (rec r, under the lock):
 * the view takes r's flags; changed: a sync does not report it back. */
/*
 * new/ (in_new) or cur/ as a descriptor while store_msg_dirs_hold() is in
 * force (opened on first use, closed by the release), else -1: callers
 * then use the full path.  Saves the path walk of each open and rename.
 */
int	 st_dirfd(struct store_mailbox *mb, bool in_new);
void	 st_view_flags(struct store_mailbox *mb, size_t idx, const struct ul_rec *r,
	    bool changed);
void	 st_view_free(struct store_mailbox *mb);
/*
 * What a sync reports, collected while the folder mutex is held and
 * reported after it is released (a callback may call into the store).
 */
struct sync_ev {
	size_t		*xidx;		/* expunged: idx at the moment of the call */
	uint32_t	*xuid;
	size_t		 nx, xcap;
	size_t		*chg;		/* then changed: idx */
	size_t		 nchg;
};
void	 st_ev_expunged(struct sync_ev *ev, size_t idx, uint32_t uid);
/* Report (cb may be NULL) and free the events. */
void	 st_ev_fire(struct sync_ev *ev, const struct store_sync_cb *cb, void *arg);
/* Merge the index into the view (under the folder mutex), noting
 * expunges and flag changes in ev. */
void	 st_view_reconcile(struct store_mailbox *mb, struct sync_ev *ev);
int	 st_join(char *dst, size_t dstsz, const char *a, const char *b, const char *c);

/* ---- utf7.c: modified UTF-7 <-> UTF-8 (malloc'd; NULL when invalid) ---- */
char	*mutf7_to_utf8(const char *s);
char	*utf8_to_mutf7(const char *s);

/* ---- courier.c ---- */
/* Keywords from courierimapkeywords/ into file names (under the lock, at
 * the index's first creation). */
void	 courier_kw_import(struct store_mailbox *mb);

/* ---- quota.c ---- */
/* Append "<bytes> <count>" to ROOT/maildirsize when it exists. */
void	 st_quota_note(const char *root, int64_t bytes, int64_t count);
/* Add the messages of cur/ + new/ of dir (sizes from ,S= or stat). */
void	 st_dir_usage(const char *dir, uint64_t *bytes, uint64_t *count);

/* ---- cache.c, cache_rec.c ---- */
void	 cache_reset(struct store_mailbox *mb);	/* forget all (close, new UIDVALIDITY) */
void	 cache_shared_clear(struct cache_shared *c);	/* free (last handle gone) */
void	 cache_compact(struct store_mailbox *mb, size_t removed);	/* under the lock, after expunges */
uint64_t cache_base_hash(const char *s, size_t len);
uint32_t cache_get32(const unsigned char *p);
void	 cache_put32(unsigned char *p, uint32_t v);	/* little-endian, as cache_get32 reads */
uint64_t cache_get64(const unsigned char *p);
void	 cache_ent_clear(struct cache_ent *e);
struct buf;
/* Parse a message (its file's bytes) into its payload, appended to pl.
 * 0 or -1 (pl's limit). */
int	 cache_payload_build(const char *file, size_t flen, struct buf *pl);
/* e := a copy of the payload pl[0..len) split into fields and parts.  0 or -1. */
int	 cache_ent_set(struct cache_ent *e, uint32_t uid, uint64_t hash, const char *pl,
	    size_t len);
/* Append to rec the group of n members whose payloads are raw, end to end.
 * 0, or -1 with errno EFBIG. */
int	 cache_group_build(const struct buf *raw, const struct cache_member *m, size_t n,
	    struct buf *rec);
/* The record (single or group) at p of which avail bytes are readable:
 * 1 (*len_r its bytes), 0 when cut short, -1 when no record starts at p. */
int	 cache_rec_span(const unsigned char *p, size_t avail, size_t *len_r);
/* Of a whole record at p (cache_rec_span gave 1): how many messages it
 * holds; message i's uid, base-name hash, and payload place in the inflated bytes. */
size_t	 cache_rec_count(const unsigned char *p);
void	 cache_rec_member(const unsigned char *p, size_t i, uint32_t *uid_r,
	    uint64_t *hash_r, size_t *off_r, size_t *len_r);
uint32_t cache_rec_uid(const unsigned char *p, size_t i);	/* member i's, at once */
/* The member of uid, as cache_rec_member gives it, in one pass: 0, or -1 when none. */
int	 cache_rec_find(const unsigned char *p, uint32_t uid, uint64_t *hash_r,
	    size_t *off_r, size_t *len_r);
/* Inflate a whole record's payloads (checked by their CRC): 0 and *raw_r
 * (the caller's, NUL-terminated), or -1. */
int	 cache_rec_inflate(const unsigned char *p, char **raw_r, size_t *len_r);

/* ---- folder.c ---- */
/* Encode an IMAP folder name as its directory name (".a.b"); INBOX -> "". */
int	 folder_disk_name(const char *name, char *dst, size_t dstsz);

#endif
