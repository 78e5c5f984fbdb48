/*
 * The store's parsed-structure cache (letterbox-cache, issue 12): MIME part
 * offsets against src/mime's own parse (LF and CRLF files), section
 * numbers against mime_section(), the base-name check, a file cut at every
 * byte, bytes per message, compaction after small expunges, and the
 * offset table shared by a process's handles (also from two threads).
 */
#include <pthread.h>
#include <sys/mman.h>
#include <zlib.h>

#include "t.h"
#include "lib/buf.h"
#include "mime/mime.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store_t.h"

/* A multipart with a nested alternative and an enclosed multipart message. */
static const char nested[] =
    "From: a@example.com\n"
    "Subject: parts\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"B1\"\n"
    "\n"
    "preamble\n"
    "--B1\n"
    "Content-Type: text/plain\n"
    "\n"
    "part one\n"
    "--B1\n"
    "Content-Type: multipart/alternative; boundary=\"B2\"\n"
    "\n"
    "--B2\n"
    "Content-Type: text/plain\n"
    "\n"
    "alt plain\n"
    "--B2\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>alt html</p>\n"
    "--B2--\n"
    "--B1\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: b@example.com\n"
    "Subject: inner\n"
    "Content-Type: multipart/mixed; boundary=\"B3\"\n"
    "\n"
    "--B3\n"
    "Content-Type: text/plain\n"
    "\n"
    "inner one\n"
    "--B3\n"
    "Content-Type: text/plain\n"
    "\n"
    "inner two\n"
    "--B3--\n"
    "--B1--\n";

static char *
to_crlf(const char *s)
{
	char	*out = malloc(strlen(s) * 2 + 1), *o = out;

	for (; *s != '\0'; s++) {
		if (*s == '\n')
			*o++ = '\r';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* LFs without a CR before them in data[off..off + len). */
static size_t
bare_lfs(const char *data, size_t off, size_t len)
{
	size_t	i, n = 0;

	for (i = off; i < off + len; i++)
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			n++;
	return n;
}

/* Pre-order walk of mime's tree against the store's parts. */
static void
cmp_parts(const struct mime_part *p, const struct store_part *parts, size_t n, size_t *k,
    const char *data)
{
	const struct mime_part	*c;
	const struct store_part	*s;

	if (*k >= n) {
		t_ok(*k < n);
		return;
	}
	s = &parts[(*k)++];
	t_int(s->hdr_off, p->hdr_off);
	t_int(s->body_off, p->body_off);
	t_int(s->body_end, p->body_off + p->body_len);
	t_int(s->body_lines, p->body_lines);
	t_int(s->hdr_vsize, p->hdr_len + bare_lfs(data, p->hdr_off, p->hdr_len));
	t_int(s->body_vsize, p->body_len + bare_lfs(data, p->body_off, p->body_len));
	t_int(!!(s->flags & STORE_PART_MULTIPART), !!(p->flags & MIME_F_MULTIPART));
	for (c = p->children; c != NULL; c = c->next)
		cmp_parts(c, parts, n, k, data);
}

/* Section numbers: store_parts_find against mime_section. */
static const struct {
	const char	*spec;
	uint32_t	 nums[4];
	size_t		 n;
} sections[] = {
	{ "",		{ 0 },		0 },
	{ "1",		{ 1 },		1 },
	{ "2",		{ 2 },		1 },
	{ "2.1",	{ 2, 1 },	2 },
	{ "2.2",	{ 2, 2 },	2 },
	{ "2.3",	{ 2, 3 },	2 },	/* missing */
	{ "3",		{ 3 },		1 },
	{ "3.1",	{ 3, 1 },	2 },
	{ "3.2",	{ 3, 2 },	2 },
	{ "3.3",	{ 3, 3 },	2 },	/* missing */
	{ "4",		{ 4 },		1 },	/* missing */
	{ "1.1",	{ 1, 1 },	2 },	/* a leaf has no parts */
	{ "0",		{ 0 },		1 },	/* no part 0 */
};

static void
check_sections(const struct mime_part *root, const struct store_part *parts, size_t np)
{
	size_t	i, off, len;
	ssize_t	x;
	bool	as_msg;
	int	want;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		want = mime_section(root, sections[i].spec, &off, &len);
		x = store_parts_find(parts, np, sections[i].nums, sections[i].n, &as_msg);
		t_int(x >= 0 ? 0 : -1, want);
		if (want != 0 || x < 0)
			continue;
		if (as_msg) {
			t_int(parts[x].hdr_off, off);
			t_int(parts[x].body_end - parts[x].hdr_off, len);
		} else {
			t_int(parts[x].body_off, off);
			t_int(parts[x].body_end - parts[x].body_off, len);
		}
	}
	/* HEADER of the message/rfc822 part 3 is that of parts[x + 1]. */
	x = store_parts_find(parts, np, (const uint32_t[]){ 3 }, 1, &as_msg);
	t_ok(x > 0 && !as_msg && (parts[x].flags & STORE_PART_MESSAGE));
	if (x > 0 && mime_section(root, "3.HEADER", &off, &len) == 0) {
		t_int(parts[x + 1].hdr_off, off);
		t_int(parts[x + 1].body_off - parts[x + 1].hdr_off, len);
	}
}

static void
test_parts(bool crlf)
{
	char			 dir[512];
	char			*data = crlf ? to_crlf(nested) : strdup(nested);
	struct store_mailbox	*mb, *mb2;
	const struct store_part	*parts;
	struct mime_part	*root;
	const char		*bs;
	size_t			 np, k = 0, len;

	snprintf(dir, sizeof(dir), "%s/parts%d", tmpdir, crlf);
	mkmaildir(dir);
	put_msg(dir, "cur", "1700000001.M1P1.host:2,", data);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_msg_parts(mb, 0, &parts, &np), 0);
	root = mime_parse(data, strlen(data));
	t_int(np, 9);		/* root, 1, 2, 2.1, 2.2, 3, its message, 3.1, 3.2 */
	cmp_parts(root, parts, np, &k, data);
	t_int(k, np);
	check_sections(root, parts, np);
	/* BODYSTRUCTURE is of the CRLF form whatever the file has. */
	t_int(store_msg_cached(mb, 0, STORE_CACHE_BODYSTRUCTURE, &bs, &len), 0);
	t_ok(memmem(bs, len, "\"alternative\"", 13) != NULL);
	t_ok(memmem(bs, len, "\"7bit\" 181 ", 11) != NULL);	/* message 3 as CRLF */
	/* Another handle reads the same parts from the file. */
	mb2 = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb2, NULL, NULL), 0);
	t_int(store_msg_parts(mb2, 0, &parts, &np), 0);
	k = 0;
	cmp_parts(root, parts, np, &k, data);
	mime_free(&root);
	store_close(&mb2);
	store_close(&mb);
	free(data);
}

static const char *const subj[] = { "zero", "one", "two", "three", "four", "five" };

/* n messages as a mail client sends them (LF on disk, as delivery writes). */
static void
put_plain(const char *dir, int from, int to)
{
	char	name[128], body[600];
	int	i, len;

	for (i = from; i < to; i++) {
		len = snprintf(body, sizeof(body),
		    "Return-Path: <sender%d@example.org>\n"
		    "From: Sender %d <sender%d@example.org>\n"
		    "To: user@example.com\n"
		    "Subject: %s %d\n"
		    "Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
		    "Message-ID: <%d@example.org>\n"
		    "MIME-Version: 1.0\n"
		    "Content-Type: text/plain; charset=us-ascii\n\n"
		    "Hello, this is message %d.\n", i, i, i, subj[i % 6], i, i, i);
		snprintf(name, sizeof(name), "17000%05d.M%dP1.host,S=%d:2,", i, i, len);
		put_msg(dir, "cur", name, body);
	}
}

static void
fill(struct store_mailbox *mb)
{
	const char	*env;
	size_t		 i, len;
	char		 want[32];

	for (i = 0; i < store_count(mb); i++) {
		t_int(store_msg_cached(mb, i, STORE_CACHE_ENVELOPE, &env, &len), 0);
		snprintf(want, sizeof(want), "\"%s ", subj[(tmsg(mb, i).uid - 1) % 6]);
		t_ok(memmem(env, len, want, strlen(want)) != NULL);
	}
}

static off_t
file_size(const char *dir, const char *name)
{
	char		path[1024];
	struct stat	st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/*
 * Bytes per message on disk, and a second handle reads what the first
 * wrote -- through the offset table, which is the folder's, shared by the
 * process's handles: the second has none of its own, and keeps using the
 * shared one after the handle that built it is closed.
 */
static void
test_size(void)
{
	char			 dir[512];
	struct store_mailbox	*mb, *mb2;
	off_t			 sz;

	snprintf(dir, sizeof(dir), "%s/size", tmpdir);
	mkmaildir(dir);
	put_plain(dir, 0, 300);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	fill(mb);
	sz = file_size(dir, "letterbox-cache");
	printf("cache: %lld B/msg\n", (long long)sz / 300);
	t_ok(sz > 0 && sz / 300 <= 150);
	mb2 = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb2, NULL, NULL), 0);
	t_ok(mb2->cache.sh == mb->cache.sh);
	t_ok(mb2->cache.sh->ntab >= 300);	/* before mb2 read anything */
	store_close(&mb);
	fill(mb2);
	t_int(file_size(dir, "letterbox-cache"), sz);	/* nothing recomputed */
	t_int(mb2->cache.own_sh.tabcap, 0);
	store_close(&mb2);
}

/* A fresh handle on dir answers every ENVELOPE right (from wherever). */
static void
fill_once(const char *dir)
{
	struct store_mailbox	*mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);

	t_int(store_sync(mb, NULL, NULL), 0);
	fill(mb);
	store_close(&mb);
}

/* Two threads, a handle each, fill one cache in opposite orders. */
struct filler {
	const char	*dir;
	bool		 backwards;
	int		 bad;
};

static void *
filler_run(void *arg)
{
	struct filler		*f = arg;
	struct store_mailbox	*mb = store_open(f->dir, "INBOX", STORE_O_NOFSYNC);
	const char		*env;
	size_t			 i, k, n, len;
	char			 want[32];

	if (mb == NULL || store_sync(mb, NULL, NULL) == -1) {
		f->bad++;
		store_close(&mb);
		return NULL;
	}
	n = store_count(mb);
	for (k = 0; k < n; k++) {
		i = f->backwards ? n - 1 - k : k;
		snprintf(want, sizeof(want), "\"%s ", subj[(store_msg_uid(mb, i) - 1) % 6]);
		if (store_msg_cached(mb, i, STORE_CACHE_ENVELOPE, &env, &len) == -1 ||
		    memmem(env, len, want, strlen(want)) == NULL)
			f->bad++;
	}
	store_close(&mb);
	return NULL;
}

static void
test_shared_threads(void)
{
	char		 dir[512], path[1024];
	struct filler	 f[2];
	pthread_t	 th[2];
	off_t		 sz;
	int		 i;

	snprintf(dir, sizeof(dir), "%s/threads", tmpdir);
	mkmaildir(dir);
	put_plain(dir, 0, 300);
	fill_once(dir);		/* index only: the cache is filled below */
	snprintf(path, sizeof(path), "%s/letterbox-cache", dir);
	t_int(unlink(path), 0);
	for (i = 0; i < 2; i++) {
		f[i].dir = dir;
		f[i].backwards = i == 1;
		f[i].bad = 0;
		t_int(pthread_create(&th[i], NULL, filler_run, &f[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		t_int(f[i].bad, 0);
	}
	sz = file_size(dir, "letterbox-cache");
	t_ok(sz > 0);
	fill_once(dir);
	t_int(file_size(dir, "letterbox-cache"), sz);	/* every record found */
}

/* A folder dir of n messages whose cache is filled; returns the cache's size. */
static off_t
filled(char *dir, size_t dirsz, const char *name, int n)
{
	snprintf(dir, dirsz, "%s/%s", tmpdir, name);
	mkmaildir(dir);
	put_plain(dir, 0, n);
	fill_once(dir);
	return file_size(dir, "letterbox-cache");
}

/*
 * A cache written before groups (one record a message, CACHE_REC_MAGIC)
 * is still read: its records answer, nothing is parsed again, and the
 * messages it lacks are added as a group after them.  The old records are
 * made here with deflate's stored blocks, which need no preset dictionary.
 */
static void
test_single_records(void)
{
	char			 dir[512], path[1024];
	struct store_mailbox	*mb;
	struct buf		 file, pl;
	unsigned char		 h[CACHE_REC_HDR], fh[16] = "LBC4";
	char			 z[4096];
	const char		*env, *data, *d;
	z_stream		 zs;
	off_t			 sz;
	size_t			 i, len;
	int			 fd;

	snprintf(dir, sizeof(dir), "%s/single", tmpdir);
	mkmaildir(dir);
	put_plain(dir, 0, 3);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	buf_init(&file, SIZE_MAX);
	cache_put32(fh + 4, store_uidvalidity(mb));
	t_int(buf_add(&file, fh, sizeof(fh)), 0);
	for (i = 0; i < 2; i++) {	/* the first two messages only */
		struct store_msg	m = tmsg(mb, i);
		char			p[2048];
		FILE			*f;

		snprintf(p, sizeof(p), "%s/cur/%s", dir, m.name);
		f = fopen(p, "rb");
		len = fread(z, 1, sizeof(z), f);
		fclose(f);
		buf_init(&pl, SIZE_MAX);
		t_int(cache_payload_build(z, len, &pl), 0);
		memset(&zs, 0, sizeof(zs));
		t_int(deflateInit2(&zs, 0, Z_DEFLATED, -12, 4, Z_DEFAULT_STRATEGY), Z_OK);
		zs.next_in = (Bytef *)pl.data;
		zs.avail_in = (uInt)pl.len;
		zs.next_out = (Bytef *)z;
		zs.avail_out = sizeof(z);
		t_int(deflate(&zs, Z_FINISH), Z_STREAM_END);
		cache_put32(h, m.uid);
		cache_put32(h + 4, (uint32_t)zs.total_out | CACHE_REC_MAGIC << 24);
		cache_put32(h + 8, (uint32_t)pl.len);
		cache_put32(h + 12, (uint32_t)crc32(0, (const Bytef *)pl.data, (uInt)pl.len));
		cache_put32(h + 16, (uint32_t)cache_base_hash(m.name, m.base_len));
		cache_put32(h + 20, (uint32_t)(cache_base_hash(m.name, m.base_len) >> 32));
		t_int(buf_add(&file, h, sizeof(h)), 0);
		t_int(buf_add(&file, z, zs.total_out), 0);
		deflateEnd(&zs);
		buf_clear(&pl);
	}
	store_close(&mb);
	snprintf(path, sizeof(path), "%s/letterbox-cache", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	t_int(write(fd, file.data, file.len), (ssize_t)file.len);
	close(fd);
	sz = (off_t)file.len;
	buf_clear(&file);
	/* Read back by a new handle: the two old records, then a parse of the third. */
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	for (i = 0; i < 2; i++) {
		t_int(store_msg_cached(mb, i, STORE_CACHE_ENVELOPE, &env, &len), 0);
		d = subj[tmsg(mb, i).uid - 1];
		t_ok(memmem(env, len, d, strlen(d)) != NULL);
		t_int(store_msg_cached(mb, i, STORE_CACHE_PREVIEW, &data, &len), 0);
		t_ok(len > 5 && memmem(data, len, "Hello, this is message", 22) != NULL);
	}
	t_int(file_size(dir, "letterbox-cache"), sz);	/* nothing parsed again */
	fill(mb);
	t_ok(file_size(dir, "letterbox-cache") > sz);	/* the third, as a group */
	store_close(&mb);
	sz = file_size(dir, "letterbox-cache");
	fill_once(dir);		/* both kinds from the file */
	t_int(file_size(dir, "letterbox-cache"), sz);
}

/* A record under the right UID for another base name is not used. */
static void
test_base_check(void)
{
	char			 dir[512], path[1024];
	unsigned char		*p;
	off_t			 sz = filled(dir, sizeof(dir), "basecheck", 2);
	int			 fd;

	/* Flip a bit of the first message's base-name hash (after the
	 * 16-byte file header and 16-byte group header, 8 bytes into its
	 * member entry). */
	snprintf(path, sizeof(path), "%s/letterbox-cache", dir);
	fd = open(path, O_RDWR);
	p = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_ok(p != MAP_FAILED);
	p[16 + 16 + 8] ^= 1;
	munmap(p, (size_t)sz);
	close(fd);
	fill_once(dir);		/* right answers, from a parse */
	t_ok(file_size(dir, "letterbox-cache") > sz);	/* message 1 was cached again */
}

/* A file cut at every byte (a crash mid-append) is never misread. */
static void
test_torn(void)
{
	char			 dir[512], path[1024], *whole;
	struct store_mailbox	*mb;
	off_t			 sz = filled(dir, sizeof(dir), "torn", 3), cut;
	int			 fd;

	snprintf(path, sizeof(path), "%s/letterbox-cache", dir);
	whole = malloc((size_t)sz);
	fd = open(path, O_RDONLY);
	t_int(read(fd, whole, (size_t)sz), sz);
	close(fd);
	for (cut = 0; cut < sz; cut++) {
		fd = open(path, O_WRONLY | O_TRUNC);
		t_int(write(fd, whole, (size_t)cut), cut);
		close(fd);
		fill_once(dir);
	}
	/* Garbage in the middle: the same. */
	memset(whole + sz / 2, 0x5a, 8);
	fd = open(path, O_WRONLY | O_TRUNC);
	t_int(write(fd, whole, (size_t)sz), sz);
	close(fd);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	fill(mb);
	fill(mb);
	store_close(&mb);
	free(whole);
}

/* Expunges one at a time: the dead records go once they add up. */
static void
test_small_expunges(void)
{
	char			 dir[512];
	struct store_mailbox	*mb;
	uint32_t		 uid;
	off_t			 sz0, sz1;
	int			 i;

	/* This handle never read the cache: the headers are read on expunge. */
	sz0 = filled(dir, sizeof(dir), "smallexp", 40);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	for (i = 0; i < 20; i++) {
		uid = tmsg(mb, 0).uid;
		t_int(store_expunge(mb, &uid, 1), 0);
		t_int(store_sync(mb, NULL, NULL), 0);
	}
	sz1 = file_size(dir, "letterbox-cache");
	t_ok(sz1 * 40 <= sz0 * 31);	/* at most 30 of 40 records left */
	t_int(store_count(mb), 20);
	fill(mb);
	t_int(file_size(dir, "letterbox-cache"), sz1);	/* all still cached */
	store_close(&mb);
}

/*
 * FETCH answers RFC822.SIZE from the whole-message part (fetch_run.c's
 * load_vsize), so it must be the size of the CRLF form for any bytes:
 * empty, no final line end, a header without a body or an empty line,
 * mixed and lone CRs, a CRLF file.  The parts, parsed on the CRLF form,
 * are at the offsets a parse of the file itself gives.
 */
#define LINES10	"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
#define LINES100 LINES10 LINES10 LINES10 LINES10 LINES10 LINES10 LINES10 LINES10 LINES10 LINES10
static const char *const odd[] = {
	"",
	/* more bare LFs than the first guess of the CRLF form's room holds */
	"Subject: short lines\n\n" LINES100 LINES100 "x\r\n" LINES10 LINES100 "end",
	"Subject: no end",
	"Subject: header only\n",
	"Subject: mixed\r\nFrom: a@b\n\nbody\r\nline\nlast",
	"Subject: cr\r\n\r\nlone\rcr\r\n\r\n",
	"\n\n\n",
	"Subject: a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n",
	/* mixed line ends around boundaries and an enclosed message */
	"Subject: m\r\nContent-Type: multipart/mixed; boundary=b\n\r\npre\n--b\r\n"
	"Content-Type: message/rfc822\n\nSubject: in\r\n\nbody\r\n\n--b\n"
	"Content-Type: text/plain\r\n\r\nx\ny\r\n--b--\nepilogue",
	"Content-Type: multipart/mixed; boundary=b\n\n--b\r\n\r\n\r\n--b\n\n\n--b--",
};

static void
test_root_vsize(void)
{
	char			 dir[512], name[64];
	struct store_mailbox	*mb;
	const struct store_part	*parts;
	struct mime_part	*root;
	const char		*d;
	size_t			 i, np, j, len, want, k;

	snprintf(dir, sizeof(dir), "%s/vsize", tmpdir);
	mkmaildir(dir);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		snprintf(name, sizeof(name), "17000000%02zu.M%zuP1.host:2,", i, i);
		put_msg(dir, "cur", name, odd[i]);
	}
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), sizeof(odd) / sizeof(odd[0]));
	for (i = 0; i < store_count(mb); i++) {
		d = odd[(store_msg_uid(mb, i) - 1)];
		len = strlen(d);
		for (want = len, j = 0; j < len; j++)
			if (d[j] == '\n' && (j == 0 || d[j - 1] != '\r'))
				want++;
		if (!t_int(store_msg_parts(mb, i, &parts, &np), 0) || !t_ok(np > 0))
			continue;
		if (!t_int(parts[0].hdr_vsize + parts[0].body_vsize, want))
			printf("  message %zu\n", i);
		/* the parts (of the CRLF form's parse) at the file's offsets */
		root = mime_parse(d, len);
		k = 0;
		cmp_parts(root, parts, np, &k, d);
		t_int(k, np);
		mime_free(&root);
	}
	store_close(&mb);
}

/* Resident kB of this process's mappings of files named name (smaps). */
static long
mapped_rss(const char *name)
{
	FILE	*f = fopen("/proc/self/smaps", "r");
	char	 line[512];
	long	 kb = 0, v;
	bool	 in = false;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* a mapping's first line is "lo-hi perms ..."; its fields are "Key: v" */
		if (line[strcspn(line, " ")] == ' ' && line[strcspn(line, " ") - 1] != ':')
			in = strstr(line, name) != NULL;
		else if (in && strncmp(line, "Rss:", 4) == 0 && sscanf(line + 4, "%ld", &v) == 1)
			kb += v;
	}
	fclose(f);
	return kb;
}

/*
 * A handle reading every record of a big cache keeps few of the map's
 * pages resident (cache_drop_pages): not the whole file per session.
 * Groups of plain messages are ~40 B a message, so 12,000 make a file well
 * past the kernel's fault-around (16 pages mapped per fault) plus
 * CACHE_DROP_BYTES; a new handle's parse of it, over PARSE_DROP_BYTES
 * (cache.c), lets pages go as it goes, and every record is still found.
 */
static void
test_map_resident(void)
{
	char			 dir[512];
	struct store_mailbox	*mb;
	off_t			 sz = filled(dir, sizeof(dir), "resident", 12000);
	long			 kb;

	t_ok(sz > 3 * 256 * 1024 / 2);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	fill(mb);	/* all from the map */
	kb = mapped_rss("letterbox-cache");
	printf("cache map: %ld kB resident of %lld kB\n", kb, (long long)sz / 1024);
	t_ok(kb >= 0 && kb * 1024 < sz / 2);
	t_int(file_size(dir, "letterbox-cache"), sz);	/* read, not recomputed */
	store_close(&mb);
}

int
main(void)
{
	t_begin("store_cache");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lb-storecache-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_parts(false);
	test_parts(true);
	test_size();
	test_shared_threads();
	test_root_vsize();
	test_map_resident();
	test_single_records();
	test_base_check();
	test_torn();
	test_small_expunges();
	rm_tree(tmpdir);
	return t_end();
}
