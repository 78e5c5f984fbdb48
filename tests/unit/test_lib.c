/* src/lib and src/net basics: buf limits, parse_u64, CIDR lists, log escaping, line reader, pool,
 * whole-file loads. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "lib/buf.h"
#include "lib/cidr.h"
#include "lib/fblob.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/str.h"
#include "net/conn.h"
#include "t.h"

/* buf_addc one byte at a time across growths, up to max exactly. */
static void
test_buf_addc(void)
{
	struct buf	 b;
	size_t		 i;
	bool		 ok = true;

	buf_init(&b, 1000);
	for (i = 0; i < 1000; i++)
		ok = ok && buf_addc(&b, (char)('a' + i % 26)) == 0 && b.len == i + 1 &&
		    b.data[i + 1] == '\0' && b.cap > b.len;
	t_ok(ok);
	t_int(buf_addc(&b, 'x'), -1);
	t_int(b.len, 1000);
	for (i = 0; i < 1000 && b.data[i] == (char)('a' + i % 26); i++)
		;
	t_int(i, 1000);
	buf_clear(&b);
}

/* buf_addf: short and long results, and exactly at max. */
static void
test_buf_addf(void)
{
	struct buf	 b;
	char		 big[300];

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 400);
	t_int(buf_addf(&b, "%d-%s", 42, "x"), 0);
	t_str(buf_str(&b), "42-x");
	t_int(buf_addf(&b, "%s", big), 0);	/* past the first try's room */
	t_int(b.len, 4 + 299);
	t_ok(b.data[b.len] == '\0' && b.data[b.len - 1] == 'z');
	t_int(buf_addf(&b, "%.96s", big), 0);	/* to max exactly */
	t_int(b.len, 399);
	t_int(buf_addf(&b, "%s", "ab"), -1);	/* would pass max: unchanged */
	t_int(b.len, 399);
	t_ok(b.data[399] == '\0');
	buf_clear(&b);
	buf_init(&b, 3);
	t_int(buf_addf(&b, "%d", 1234), -1);
	t_int(b.len, 0);
	t_str(buf_str(&b), "");
	t_int(buf_addf(&b, "%d", 123), 0);
	t_str(buf_str(&b), "123");
	buf_clear(&b);
}

static void
test_buf(void)
{
	struct buf	 b;
	char		*s;
	size_t		 n;

	buf_init(&b, 8);
	t_str(buf_str(&b), "");
	t_int(buf_add(&b, "12345", 5), 0);
	t_int(buf_adds(&b, "678"), 0);
	t_int(buf_addc(&b, '9'), -1);		/* would pass max: unchanged */
	t_int(b.len, 8);
	t_str(buf_str(&b), "12345678");
	buf_consume(&b, 3);
	t_str(buf_str(&b), "45678");
	t_int(buf_addf(&b, "%d", 123), 0);
	t_int(buf_addf(&b, "%d", 1), -1);
	s = buf_take(&b, &n);
	t_str(s, "45678123");
	t_int(n, 8);
	t_int(b.len, 0);
	free(s);
	/* in-place writes: room reserved, only what is committed counts */
	t_ok((s = buf_space(&b, 8)) != NULL);
	memcpy(s, "abcdefgh", 8);
	buf_commit(&b, 3);
	t_int(b.len, 3);
	t_str(buf_str(&b), "abc");
	t_ok(buf_space(&b, 6) == NULL);		/* would pass max */
	t_ok(buf_space(&b, 5) == b.data + 3);
	buf_clear(&b);
}

static void
test_parse_u64(void)
{
	static const struct { const char *s; uint64_t max; int ok; uint64_t v; } c[] = {
		{ "0", 10, 1, 0 }, { "10", 10, 1, 10 }, { "11", 10, 0, 0 },
		{ "18446744073709551615", UINT64_MAX, 1, UINT64_MAX },
		{ "18446744073709551616", UINT64_MAX, 0, 0 }, { "", 10, 0, 0 },
		{ "-1", 10, 0, 0 }, { "+1", 10, 0, 0 }, { " 1", 10, 0, 0 }, { "1a", 10, 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint64_t v = 99;
		int r = parse_u64(c[i].s, strlen(c[i].s), c[i].max, &v);
		t_int(r == 0, c[i].ok);
		if (c[i].ok)
			t_ok(v == c[i].v);
	}
	t_ok(str_ieq("HeLo", 4, "helo"));
	t_ok(!str_ieq("HeL", 3, "helo"));
	t_ok(str_iprefix("MAIL FROM:<a>", 13, "mail from:"));
}

/* str_u64 against printf, at the ends and around each power of ten. */
static void
test_str_u64(void)
{
	char		 got[STR_U64_MAX + 1], want[32];
	uint64_t	 v, p;
	size_t		 n;
	int		 k, d;

	for (p = 1, k = 0; k < 20; k++, p *= 10)
		for (d = -1; d <= 1; d++) {
			v = k == 0 && d < 0 ? UINT64_MAX : p + (uint64_t)(int64_t)d;
			n = str_u64(got, v);
			got[n] = '\0';
			snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
			t_str(got, want);
		}
	n = str_u64(got, 0);
	t_int(n, 1);
	t_ok(got[0] == '0');
}

/* str_count across its 64-byte blocks and the tail. */
static void
test_str_count(void)
{
	char	s[300], *big;
	size_t	len, i, want;

	for (i = 0; i < sizeof(s); i++)
		s[i] = i % 7 == 0 ? '\n' : 'x';
	for (len = 0; len <= sizeof(s); len += 13) {
		for (want = 0, i = 0; i < len; i++)
			want += s[i] == '\n';
		t_int(str_count(s, len, '\n'), want);
	}
	memset(s, '\n', sizeof(s));
	t_int(str_count(s, 256, '\n'), 256);	/* a block of 64 fits its byte counter */
	t_int(str_count(s, sizeof(s), 'x'), 0);
	/* past 255 rounds of 16 bytes, where the byte-wide counters are summed */
	big = malloc(9001);
	memset(big, '\n', 9001);
	t_int(str_count(big, 9001, '\n'), 9001);
	t_int(str_count(big + 1, 4080, '\n'), 4080);
	big[4321] = 'y';
	t_int(str_count(big, 9001, '\n'), 9000);
	free(big);
}

/* str_lf_to_crlf against a byte loop: lengths around its 16-byte steps, LFs dense and sparse. */
static void
test_lf_to_crlf(void)
{
	char		 in[200], *out, want[400];
	size_t		 at[200], wat[200], len, i, n, w, k, every;
	unsigned	 seed = 7;

	for (every = 1; every <= 90; every += 11)
		for (len = 0; len <= sizeof(in); len += 7) {
			for (i = 0; i < len; i++) {
				seed = seed * 1103515245 + 12345;
				in[i] = (seed >> 16) % every == 0 ? '\n' : (char)('a' + i % 26);
			}
			for (w = k = i = 0; i < len; i++) {
				if (in[i] == '\n') {
					wat[k++] = w;
					want[w++] = '\r';
				}
				want[w++] = in[i];
			}
			out = malloc(len + k + 16);	/* the room it asks for, exactly */
			n = str_lf_to_crlf(in, len, out, at);
			t_int(n, w);
			t_ok(memcmp(out, want, w) == 0);
			t_ok(k == 0 || memcmp(at, wat, k * sizeof(at[0])) == 0);
			free(out);
		}
}

/* Byte-loop references for str_bare_lfs and str_crlf_fit. */
static size_t
ref_bare_lfs(const char *s, size_t len, bool cr)
{
	size_t	n = 0, i;

	for (i = 0; i < len; i++) {
		n += s[i] == '\n' && !cr;
		cr = s[i] == '\r';
	}
	return n;
}

static size_t
ref_crlf_fit(const char *in, size_t len, bool cr, char *out, size_t cap, size_t *used)
{
	size_t	i, o = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == '\n' && !cr) {
			if (cap - o < 2)
				break;
			out[o++] = '\r';
		} else if (o == cap)
			break;
		out[o++] = in[i];
		cr = in[i] == '\r';
	}
	*used = i;
	return o;
}

/*
 * str_bare_lfs and str_crlf_fit against the byte loops: LF-only, CRLF and
 * mixed text, CRs at the ends of the 16-byte steps, every room from 0 up.
 */
static void
test_crlf_fit(void)
{
	char		 in[160], out[400], want[400];
	size_t		 len, cap, i, n, w, used, wused, bad = 0;
	unsigned	 seed = 11, mix, cr;

	for (mix = 0; mix < 4; mix++)
		for (len = 0; len <= sizeof(in); len += 5) {
			for (i = 0; i < len; i++) {
				seed = seed * 1103515245 + 12345;
				switch (mix) {
				case 0:	/* LF-only lines */
					in[i] = (seed >> 16) % 23 == 0 ? '\n' : 'a';
					break;
				case 1:	/* CRLF lines */
					in[i] = i % 17 == 16 ? '\n' : i % 17 == 15 ? '\r' : 'b';
					break;
				case 2:	/* dense mix: CR, LF, CRLF, LFCR, CRCR */
					in[i] = "\r\nxx\n\r"[(seed >> 16) % 6];
					break;
				default:	/* a CR ending each 16-byte step, an LF starting the next */
					in[i] = i % 16 == 15 ? '\r' : i % 16 == 0 ? '\n' : 'c';
				}
			}
			for (cr = 0; cr < 2; cr++) {
				if (str_bare_lfs(in, len, cr) != ref_bare_lfs(in, len, cr))
					bad++;
				for (cap = 0; cap <= 2 * len + 20; cap += cap < 40 ? 1 : 7) {
					memset(out, 'Z', sizeof(out));
					n = str_crlf_fit(in, len, cr, out, cap, &used);
					w = ref_crlf_fit(in, len, cr, want, cap, &wused);
					if (n != w || used != wused || memcmp(out, want, w) != 0 ||
					    out[cap] != 'Z')	/* nothing past the room */
						bad++;
				}
			}
		}
	t_int(bad, 0);
	t_int(str_bare_lfs("\n\r\n\n", 4, false), 2);
	t_int(str_bare_lfs("\n", 1, true), 0);
	n = str_crlf_fit("a\nb", 3, false, out, 2, &used);
	t_int(n, 1);	/* the CRLF does not fit in 2 */
	t_int(used, 1);
}

static void
test_hexval(void)
{
	t_int(str_hexval('0'), 0);
	t_int(str_hexval('9'), 9);
	t_int(str_hexval('a'), 10);
	t_int(str_hexval('F'), 15);
	t_int(str_hexval('g'), -1);
	t_int(str_hexval('='), -1);
	t_int(str_hexval((char)0xc3), -1);	/* a signed char stays out */
	t_int(str_hexval(0xc3), -1);
}

static void
test_cidr(void)
{
	const char		*err = NULL;
	struct netlist		*nl = netlist_parse("127.0.0.0/8, 192.0.2.128/25 [2001:db8::]/32 10.1.2.3", &err);
	struct sockaddr_storage	 ss;
	socklen_t		 sl;

	t_ok(nl != NULL);
	t_ok(sockaddr_parse("127.1.2.3:25", &ss, &sl) == 0 && netlist_match(nl, (struct sockaddr *)&ss));
	t_ok(sockaddr_parse("192.0.2.200:1", &ss, &sl) == 0 && netlist_match(nl, (struct sockaddr *)&ss));
	t_ok(sockaddr_parse("192.0.2.100:1", &ss, &sl) == 0 && !netlist_match(nl, (struct sockaddr *)&ss));
	t_ok(sockaddr_parse("10.1.2.3:1", &ss, &sl) == 0 && netlist_match(nl, (struct sockaddr *)&ss));
	t_ok(sockaddr_parse("10.1.2.4:1", &ss, &sl) == 0 && !netlist_match(nl, (struct sockaddr *)&ss));
	t_ok(sockaddr_parse("[2001:db8:1::5]:25", &ss, &sl) == 0 && netlist_match(nl, (struct sockaddr *)&ss));
	t_ok(sockaddr_parse("[2001:db9::5]:25", &ss, &sl) == 0 && !netlist_match(nl, (struct sockaddr *)&ss));
	t_ok(sockaddr_parse("[::ffff:127.0.0.1]:25", &ss, &sl) == 0 && netlist_match(nl, (struct sockaddr *)&ss));
	t_int(sockaddr_port((struct sockaddr *)&ss), 25);
	netlist_free(&nl);
	t_ok(netlist_parse("300.1.1.1", &err) == NULL);
	t_ok(netlist_parse("1.2.3.4/x", &err) == NULL);
	t_ok(sockaddr_parse("1.2.3.4", &ss, &sl) < 0);
	t_ok(sockaddr_parse("1.2.3.4:70000", &ss, &sl) < 0);
	t_ok(sockaddr_parse(":25", &ss, &sl) < 0);
}

static void
test_escape(void)
{
	char out[32];

	t_str(log_escape(out, sizeof(out), "ab\r\n\"\\\xff", 7), "ab\\x0d\\x0a\\x22\\x5c\\xff");
	t_str(log_escape(out, 12, "abcdefghijklmnop", 16), "abcdefgh...");
	t_str(log_escape(out, sizeof(out), "", 0), "");
}

static void
test_readline(void)
{
	struct evbuffer	*in = evbuffer_new();
	struct buf	 line;
	const char	*feed = "EHLO x\r\nNOOP\nRSET\r\n";
	size_t		 i;
	int		 got = 0, r;

	buf_init(&line, 1 << 20);
	/* byte at a time: 0 until each LF */
	for (i = 0; feed[i]; i++) {
		evbuffer_add(in, &feed[i], 1);
		r = conn_readline(in, 64, &line);
		if (feed[i] == '\n') {
			t_int(r, 1);
			got++;
			if (got == 1)
				t_str(buf_str(&line), "EHLO x");
			if (got == 2)
				t_str(buf_str(&line), "NOOP");
			if (got == 3)
				t_str(buf_str(&line), "RSET");
		} else
			t_int(r, 0);
	}
	t_int(got, 3);
	/* over-long complete line: -1 and the line is dropped, the next one still reads */
	evbuffer_add_printf(in, "%0100d\r\nQUIT\r\n", 0);
	t_int(conn_readline(in, 64, &line), -1);
	t_int(conn_readline(in, 64, &line), 1);
	t_str(buf_str(&line), "QUIT");
	/* over-long incomplete line: -1 once more than max bytes are buffered */
	evbuffer_add_printf(in, "%070d", 0);
	t_int(conn_readline(in, 64, &line), -1);
	t_int(evbuffer_get_length(in), 0);
	/* exactly max bytes plus CRLF is fine */
	evbuffer_add_printf(in, "%064d\r\n", 0);
	t_int(conn_readline(in, 64, &line), 1);
	t_int(line.len, 64);
	buf_clear(&line);
	evbuffer_free(in);
}

struct job { int in, out, done; };
static int jobs_done;

static void work(void *a) { struct job *j = a; j->out = j->in * 2; }
static void done(void *a) { struct job *j = a; j->done = 1; jobs_done++; }

static void
test_pool(void)
{
	struct event_base	*base;
	struct pool		*p;
	struct job		 jobs[100];
	int			 i, ok = 1;

	evthread_use_pthreads();
	base = event_base_new();
	p = pool_new(base, 3);
	for (i = 0; i < 100; i++) {
		jobs[i].in = i;
		jobs[i].done = 0;
		pool_submit(p, work, done, &jobs[i]);
	}
	while (jobs_done < 100)
		event_base_loop(base, EVLOOP_ONCE);
	for (i = 0; i < 100; i++)
		ok &= jobs[i].done && jobs[i].out == 2 * i;
	t_ok(ok);
	t_int(pool_pending(p), 0);
	/* jobs still queued at free time complete (done runs) before pool_free returns */
	jobs_done = 0;
	for (i = 0; i < 10; i++)
		pool_submit(p, work, done, &jobs[i]);
	pool_free(&p);
	t_int(jobs_done, 10);
	t_ok(p == NULL);
	event_base_free(base);
}

/* A temp file holding data[0..len), open for reading. */
static int
temp_file(const char *data, size_t len)
{
	char	path[] = "/tmp/lb-fblob-XXXXXX";
	int	fd = mkstemp(path);

	if (fd == -1 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		exit(2);
	}
	unlink(path);
	return fd;
}

/* Read up to read_max into a reused buffer, mapped beyond, "" when empty. */
static void
test_fblob(void)
{
	struct fblob	 b;
	char		 big[5000];
	char		*buf;
	int		 fd;

	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = 'y';
	fblob_init(&b);
	fd = temp_file("hello", 5);
	t_int(fblob_load(&b, fd, 4096), 0);
	t_ok(b.len == 5 && memcmp(b.data, "hello", 5) == 0 && b.map == NULL);
	buf = b.buf;
	close(fd);
	fd = temp_file("hi", 2);
	t_int(fblob_load(&b, fd, 4096), 0);	/* the same buffer again */
	t_ok(b.len == 2 && memcmp(b.data, "hi", 2) == 0 && b.buf == buf);
	close(fd);
	fd = temp_file(big, sizeof(big));
	t_int(fblob_load(&b, fd, 4096), 0);	/* over read_max: mapped */
	t_ok(b.map != NULL && b.len == sizeof(big) && b.data[sizeof(big) - 1] == 'y');
	t_int(fblob_load(&b, fd, sizeof(big)), 0);	/* at read_max: read */
	t_ok(b.map == NULL && b.len == sizeof(big) && memcmp(b.data, big, sizeof(big)) == 0);
	close(fd);
	fd = temp_file("", 0);
	t_int(fblob_load(&b, fd, 4096), 0);
	t_ok(b.len == 0 && b.data != NULL && b.data[0] == '\0');
	close(fd);
	fblob_release(&b);
	t_ok(b.data == NULL && b.buf != NULL);
	t_int(fblob_load(&b, -1, 4096), -1);
	fblob_clear(&b);
	t_ok(b.buf == NULL && b.cap == 0);
}

/* An expected size spares the fstat; a wrong one still gives the file. */
static void
test_fblob_expect(void)
{
	static const struct { size_t expect; const char *why; } cases[] = {
		{ 5, "exact" },
		{ 3, "the file is longer" },
		{ 9, "the file is shorter" },
		{ 0, "unknown" },
		{ 4096, "at read_max: the fstat way" },
	};
	struct fblob	 b;
	char		 big[5000];
	size_t		 i;
	int		 fd;

	fblob_init(&b);
	fd = temp_file("hello", 5);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_int(fblob_load_expect(&b, fd, 4096, cases[i].expect), 0);
		if (!t_ok(b.len == 5 && memcmp(b.data, "hello", 5) == 0 && b.map == NULL))
			fprintf(stderr, "  fblob_load_expect: %s\n", cases[i].why);
	}
	close(fd);
	memset(big, 'z', sizeof(big));
	fd = temp_file(big, sizeof(big));
	/* expected small, really over read_max: mapped whole */
	t_int(fblob_load_expect(&b, fd, 4096, 100), 0);
	t_ok(b.map != NULL && b.len == sizeof(big));
	close(fd);
	fd = temp_file("", 0);
	t_int(fblob_load_expect(&b, fd, 4096, 7), 0);
	t_ok(b.len == 0 && b.data != NULL);
	close(fd);
	t_int(fblob_load_expect(&b, -1, 4096, 5), -1);
	fblob_clear(&b);
}

int
main(void)
{
	t_begin("lib");
	test_buf();
	test_buf_addc();
	test_buf_addf();
	test_parse_u64();
	test_str_u64();
	test_str_count();
	test_lf_to_crlf();
	test_crlf_fit();
	test_hexval();
	test_cidr();
	test_escape();
	test_readline();
	test_pool();
	test_fblob();
	test_fblob_expect();
	return t_end();
}
