/*
 * Unit tests for SORT/THREAD building blocks: the RFC 5256 2.1 base
 * subject (src/mime/subject.h), RFC 5322 dates (imap/date.h), reading the
 * cached ENVELOPE back (imap/envelope.h) and both THREAD algorithms
 * (imap/thread.h), including RFC 5256's tricky REFERENCES cases: loops,
 * missing and dummy parents, duplicate Message-IDs, subject merging; and
 * RFC 8474 THREADID from a header (imap/threadid.h).
 */
#include <stdlib.h>
#include <string.h>

#include "imap/date.h"
#include "imap/envelope.h"
#include "imap/thread.h"
#include "imap/threadid.h"
#include "lib/buf.h"
#include "mime/subject.h"
#include "t.h"

static void
base(const char *in, const char *want, int want_reply)
{
	struct buf	 b;
	bool		 reply = !want_reply;

	buf_init(&b, 1 << 20);
	t_ok(mime_base_subject(in, strlen(in), &b, &reply) == 0);
	if (!t_str(buf_str(&b), want) || !t_ok(reply == (want_reply != 0)))
		printf("  for \"%s\"\n", in);
	buf_clear(&b);
}

static void
test_base_subject(void)
{
	base("Hello", "Hello", 0);
	base("Re: Hello", "Hello", 1);
	base("RE:   re: Fwd: Hello", "Hello", 1);
	base("Re[2]: Hello", "Hello", 1);
	base("re [foo]: Hello", "Hello", 1);
	base("[list] Re: Hello", "Hello", 1);
	base("[list] Hello", "Hello", 0);
	base("[list]", "[list]", 0);		/* step 4: the blob stays if nothing follows */
	base("[a][b] Hello (fwd)", "Hello", 1);
	base("Hello (fwd) (FWD)  ", "Hello", 1);
	base("[Fwd: Re: Hello]", "Hello", 1);
	base("[fwd: [list] Hello] (fwd)", "Hello", 1);
	base("  Hello \t  world\r\n  again ", "Hello world again", 0);
	base("=?UTF-8?Q?Re:_caf=C3=A9?=", "caf\xc3\xa9", 1);
	base("=?ISO-8859-1?Q?Re=3A_Gr=FC=DFe?=", "Gr\xc3\xbc\xc3\x9f" "e", 1);
	base("Fw: Re: FWD: [x] RE: Hi", "Hi", 1);
	base("Reply: Hi", "Reply: Hi", 0);	/* "re" needs the colon right after */
	base("", "", 0);
	base("Re:", "", 1);
	base("[]", "[]", 0);
	base("[unclosed Re: x", "[unclosed Re: x", 0);
}

static void
date(const char *in, long long want)
{
	int64_t	 t = -7;
	int	 r = imap_parse_rfc5322_date(in, strlen(in), &t);

	if (want == -1) {
		if (!t_ok(r < 0))
			printf("  for \"%s\"\n", in);
		return;
	}
	if (!t_ok(r == 0) || !t_int(t, want))
		printf("  for \"%s\"\n", in);
}

static void
test_dates(void)
{
	date("Mon, 1 Jan 2024 10:00:00 +0100", 1704099600);
	date("1 Jan 2024 10:00:00 +0100", 1704099600);
	date("Mon, 01 Jan 2024 09:00 +0000", 1704099600);
	date("Mon, 1 Jan 24 09:00:00 GMT", 1704099600);
	date("Mon, 1 Jan 2024 04:00:00 EST", 1704099600);
	date("Mon, 1 Jan 2024 01:00:00 PST (Pacific)", 1704099600);
	date("Mon, 1 (comment) Jan 2024 09:00:00 Z", 1704099600);
	date("Thu, 1 Jan 70 00:00:00 +0000", 0);
	date("Sat, 1 Jan 100 00:00:00 +0000", 946684800);	/* three digits: + 1900 */
	date("29 Feb 2023 00:00:00 +0000", -1);
	date("32 Jan 2024 00:00:00 +0000", -1);
	date("1 Foo 2024 00:00:00 +0000", -1);
	date("1 Jan 2024", -1);
	date("1 Jan 2024 25:00:00 +0000", -1);
	date("garbage", -1);
	date("", -1);
}

static void
test_envelope(void)
{
	static const char env[] =
	    "(\"Mon, 1 Jan 2024 10:00:00 +0100\" \"Re: \\\"quoted\\\" \\\\ x\" "
	    "((\"Alice\" NIL \"alice\" \"example.org\")) ((NIL NIL \"s\" \"h\")) NIL "
	    "((NIL NIL \"grp\" NIL)(NIL NIL \"bob\" \"example.com\")(NIL NIL NIL NIL)) "
	    "NIL NIL {5}\r\n<a@b> \"<id@x>\")";
	struct envelope	 e;
	static const char *const bad[] = {
		"", "(", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
		"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL", "(\"x NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
		"(NIL NIL ((NIL NIL NIL)) NIL NIL NIL NIL NIL NIL NIL)",
		"(NIL NIL NIL NIL NIL NIL NIL NIL {99}\r\nx NIL)",
		"(NIL NIL NIL NIL NIL NIL NIL NIL {1}x NIL)",
		"(NIL NIL (((NIL NIL NIL NIL))) NIL NIL NIL NIL NIL NIL NIL)",
	};
	size_t		 i;

	t_ok(envelope_read(env, sizeof(env) - 1, &e) == 0);
	t_str(e.date.s, "Mon, 1 Jan 2024 10:00:00 +0100");
	t_str(e.subject.s, "Re: \"quoted\" \\ x");
	t_str(e.from.name.s, "Alice");
	t_str(e.from.mailbox.s, "alice");
	t_str(e.from.host.s, "example.org");
	t_str(e.to.mailbox.s, "grp");		/* a group's start counts */
	t_ok(e.to.name.s == NULL && e.to.host.s == NULL);
	t_ok(e.cc.mailbox.s == NULL);
	t_str(e.in_reply_to.s, "<a@b>");
	t_str(e.message_id.s, "<id@x>");
	envelope_clear(&e);
	t_ok(envelope_read("(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)", 41, &e) == 0);
	t_ok(e.subject.s == NULL && e.from.mailbox.s == NULL);
	envelope_clear(&e);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!t_ok(envelope_read(bad[i], strlen(bad[i]), &e) < 0))
			printf("  for bad[%zu]\n", i);
		t_ok(e.subject.s == NULL);
		envelope_clear(&e);
	}
}

static bool
collect_cb(const char *id, size_t len, void *arg)
{
	struct buf *b = arg;

	(void)buf_addf(b, "[%.*s]", (int)len, id);
	return true;
}

static void
ids(const char *in, const char *want)
{
	struct buf b;

	buf_init(&b, 4096);
	thread_msgids(in, strlen(in), collect_cb, &b);
	t_str(buf_str(&b), want);
	buf_clear(&b);
}

/* ---- THREAD ---- */

struct tm_in {
	const char	*subject;	/* raw */
	long long	 date;
	const char	*mid, *irt, *refs;
};

static char subjects[64][256];

static void
thread(enum thread_algo algo, const struct tm_in *in, size_t n, const char *want)
{
	struct thread_msg	 m[64];
	struct buf		 b, out;
	bool			 reply;
	size_t			 i, j;

	buf_init(&out, 1 << 20);
	for (i = 0; i < n; i++) {
		buf_init(&b, 256);
		(void)mime_base_subject(in[i].subject, strlen(in[i].subject), &b, &reply);
		for (j = 0; j < b.len && j < 255; j++)
			subjects[i][j] = (char)(b.data[j] >= 'a' && b.data[j] <= 'z' ?
			    b.data[j] - 32 : b.data[j]);
		subjects[i][j] = '\0';
		buf_clear(&b);
		m[i] = (struct thread_msg){
			.id = (uint32_t)i + 1, .seq = (uint32_t)i + 1, .date = in[i].date,
			.subject = subjects[i], .subject_len = j, .is_reply = reply,
			.message_id = in[i].mid, .message_id_len = in[i].mid ? strlen(in[i].mid) : 0,
			.in_reply_to = in[i].irt, .in_reply_to_len = in[i].irt ? strlen(in[i].irt) : 0,
			.references = in[i].refs, .references_len = in[i].refs ? strlen(in[i].refs) : 0,
		};
	}
	t_ok(thread_build(algo, m, n, &out) == 0);
	t_str(buf_str(&out), want);
	buf_clear(&out);
}

static void
test_orderedsubject(void)
{
	static const struct tm_in a[] = {
		{ "Hello", 100, NULL, NULL, NULL },		/* 1 */
		{ "Other", 50, NULL, NULL, NULL },		/* 2 */
		{ "Re: hello", 300, NULL, NULL, NULL },		/* 3 */
		{ "RE: Hello", 200, NULL, NULL, NULL },		/* 4 */
		{ "Third", 400, NULL, NULL, NULL },		/* 5 */
		{ "Fwd: other", 60, NULL, NULL, NULL },		/* 6 */
		{ "Same", 400, NULL, NULL, NULL },		/* 7: same date as 5 */
	};

	thread(THREAD_ORDEREDSUBJECT, a, 0, "");
	thread(THREAD_ORDEREDSUBJECT, a, 1, "(1)");
	thread(THREAD_ORDEREDSUBJECT, a, sizeof(a) / sizeof(a[0]), "(2 6)(1 (4)(3))(5)(7)");
}

static void
test_references(void)
{
	/* a plain chain, answered out of order, and an unrelated message */
	static const struct tm_in chain[] = {
		{ "Re: A", 300, "<c@x>", "<b@x>", "<a@x> <b@x>" },	/* 1 */
		{ "A", 100, "<a@x>", NULL, NULL },			/* 2 */
		{ "Re: A", 200, "<b@x>", "<a@x>", NULL },		/* 3: In-Reply-To only */
		{ "B", 50, "<z@x>", NULL, NULL },			/* 4 */
		{ "Re: A", 250, "<d@x>", NULL, "<a@x>" },		/* 5: a sibling of 3 */
	};
	/* the parent never arrived: its children hang under a dummy */
	static const struct tm_in missing[] = {
		{ "Re: Q", 200, "<2@x>", NULL, "<1@x>" },
		{ "Re: Q", 100, "<3@x>", NULL, "<1@x>" },
		{ "Other", 50, "<9@x>", NULL, "<8@x>" },	/* a lone child: promoted */
	};
	/* loops: a references b, b references a; a message referencing itself */
	static const struct tm_in loop[] = {
		{ "L", 100, "<a@x>", NULL, "<b@x>" },
		{ "L2", 200, "<b@x>", NULL, "<a@x>" },
		{ "M", 300, "<m@x>", NULL, "<m@x>" },
	};
	/* duplicate Message-IDs each get their own container */
	static const struct tm_in dup[] = {
		{ "D", 100, "<d@x>", NULL, NULL },
		{ "E", 200, "<d@x>", NULL, NULL },
		{ "Re: D", 300, "<r@x>", NULL, "<d@x>" },
	};
	/* step 5: threads with one base subject merge */
	static const struct tm_in subj[] = {
		{ "Topic", 100, "<t1@x>", NULL, NULL },		/* 1 */
		{ "Re: Topic", 200, "<t2@x>", NULL, NULL },	/* 2: a reply, no references */
		{ "News", 300, "<n1@x>", NULL, NULL },		/* 3 */
		{ "News", 400, "<n2@x>", NULL, NULL },		/* 4: neither a reply: dummy */
		{ "Re: Misc", 500, "<m1@x>", NULL, NULL },	/* 5 */
		{ "Misc", 600, "<m2@x>", NULL, NULL },		/* 6: the non-reply wins */
		{ "", 700, "<e1@x>", NULL, NULL },		/* 7: empty subjects never merge */
		{ "", 800, "<e2@x>", NULL, NULL },		/* 8 */
	};
	/* a dummy at the top with a subject shared by a real message */
	static const struct tm_in dsub[] = {
		{ "Re: W", 200, "<w2@x>", NULL, "<w0@x>" },	/* 1 */
		{ "Re: W", 300, "<w3@x>", NULL, "<w0@x>" },	/* 2 */
		{ "W", 100, "<w1@x>", NULL, NULL },		/* 3 */
	};
	/* no Message-ID at all, broken ids, a longer References chain */
	static const struct tm_in odd[] = {
		{ "X", 100, NULL, NULL, NULL },
		{ "Y", 200, "garbage", "also garbage", NULL },
		{ "Re: Z", 300, "<z3@x>", NULL, "<z1@x> <broken <z2@x>" },
		{ "Z", 90, "<z1@x>", NULL, NULL },
		{ "Re: Z", 250, "<z2@x>", "<z1@x>", NULL },
	};

	thread(THREAD_REFERENCES, chain, 0, "");
	thread(THREAD_REFERENCES, chain, sizeof(chain) / sizeof(chain[0]), "(4)(2 (3 1)(5))");
	thread(THREAD_REFERENCES, missing, sizeof(missing) / sizeof(missing[0]), "(3)((2)(1))");
	thread(THREAD_REFERENCES, loop, sizeof(loop) / sizeof(loop[0]), "(2 1)(3)");
	thread(THREAD_REFERENCES, dup, sizeof(dup) / sizeof(dup[0]), "(1 3)(2)");
	thread(THREAD_REFERENCES, subj, sizeof(subj) / sizeof(subj[0]),
	    "(1 2)((3)(4))(6 5)(7)(8)");
	thread(THREAD_REFERENCES, dsub, sizeof(dsub) / sizeof(dsub[0]), "((3)(1)(2))");
	thread(THREAD_REFERENCES, odd, sizeof(odd) / sizeof(odd[0]), "(4 5 3)(1)(2)");
}

/* A reference chain longer than any stack: built and printed without recursion. */
static void
test_deep(void)
{
	enum { N = 200000 };
	struct thread_msg	*m = calloc(N, sizeof(*m));
	char			(*id)[24] = calloc(N, sizeof(*id));
	struct buf		 out;
	size_t			 i;

	for (i = 0; i < N; i++) {
		snprintf(id[i], sizeof(id[i]), "<%zu@x>", i);
		m[i] = (struct thread_msg){ .id = (uint32_t)i + 1, .seq = (uint32_t)i + 1,
		    .date = (int64_t)i, .subject = "S", .subject_len = 1,
		    .message_id = id[i], .message_id_len = strlen(id[i]) };
		if (i > 0) {
			m[i].in_reply_to = id[i - 1];
			m[i].in_reply_to_len = strlen(id[i - 1]);
		}
	}
	buf_init(&out, 1 << 24);
	t_ok(thread_build(THREAD_REFERENCES, m, N, &out) == 0);
	t_ok(out.len > 0 && strncmp(out.data, "(1 2 3 ", 7) == 0);
	t_ok(out.len > 0 && out.data[out.len - 1] == ')' && out.data[out.len - 2] == '0');
	buf_reset(&out);
	t_ok(thread_build(THREAD_ORDEREDSUBJECT, m, N, &out) == 0);
	t_ok(out.len > 0 && strncmp(out.data, "(1 (2)(3)", 9) == 0);
	buf_clear(&out);
	free(m);
	free(id);
}

/* The THREADID of a header, "" when there is none. */
static const char *
tid(const char *hdr, const char *emailid)
{
	static char	 id[THREADID_SIZE];

	if (!threadid_of_header(hdr, strlen(hdr), emailid, id))
		id[0] = '\0';
	return id;
}

static void
test_threadid(void)
{
	char	 root[THREADID_SIZE], other[THREADID_SIZE];

	strcpy(root, tid("Message-ID: <r@x>\r\nSubject: hi\r\n\r\nbody <z@z>\r\n", "M1"));
	t_int(strlen(root), THREADID_SIZE - 1);
	t_ok(root[0] == 'T');
	/* a reply by In-Reply-To only, then one with References: the root's id */
	t_str(tid("Message-ID: <a@x>\r\nIn-Reply-To: <r@x>\r\n\r\n", "M2"), root);
	t_str(tid("Message-ID: <b@x>\nIn-Reply-To: <a@x>\nReferences: <r@x>\n <a@x>\n\n",
	    NULL), root);
	/* a trimmed list keeps its first; header names are case-insensitive */
	t_str(tid("references: <r@x> <k@x>\r\nmessage-id: <c@x>\r\n\r\n", NULL), root);
	/* folding inside an id does not change it */
	t_str(tid("References: <r@\r\n x>\r\n\r\n", NULL), root);
	/* References wins over In-Reply-To; junk before the first id is skipped */
	t_str(tid("In-Reply-To: <q@x>\r\nReferences: junk <r@x>\r\n\r\n", NULL), root);
	/* another conversation, another id */
	strcpy(other, tid("Message-ID: <s@x>\r\n\r\n", NULL));
	t_ok(strcmp(other, root) != 0 && other[0] == 'T');
	/* only the header counts: an id in the body is not a reference */
	t_str(tid("Subject: x\r\n\r\nReferences: <r@x>\r\n", "M0123456789abcdef"),
	    "T0123456789abcdef");
	/* no msg-id: a thread of one, from the EMAILID's digits */
	t_str(tid("Subject: none\r\n\r\n", "M0123456789abcdef"), "T0123456789abcdef");
	t_str(tid("Message-ID: <>\r\n\r\n", "M0123456789abcdef"), "T0123456789abcdef");
	t_str(tid("Subject: none\r\n\r\n", NULL), "");
	t_str(tid("Subject: none\r\n\r\n", "Mshort"), "");
	t_str(tid("", NULL), "");
}

int
main(void)
{
	t_begin("imap_thread");
	test_base_subject();
	test_dates();
	test_envelope();
	ids("<a@b> <c@d>", "[<a@b>][<c@d>]");
	ids("  <a@b>\r\n\t<c@d> junk <e@f", "[<a@b>][<c@d>]");
	ids("<broken <a@b> <> x>", "[<a@b>]");
	ids("", "");
	test_orderedsubject();
	test_references();
	test_deep();
	test_threadid();
	return t_end();
}
