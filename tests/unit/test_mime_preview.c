/*
 * FETCH PREVIEW text (src/mime/preview.c, RFC 8970): the text reducer
 * table-driven (plain and HTML, entities, white space, UTF-8 repair, the
 * 256-character cut), then whole messages: which part is chosen, QP and
 * base64, charsets, attachments and forwarded messages skipped.
 */
#include <stdio.h>
#include <string.h>

#include "t.h"
#include "lib/buf.h"
#include "mime/mime.h"
#include "mime/preview.h"

static const struct {
	const char	*in;
	bool		 html;
	size_t		 max;
	const char	*want;
} texts[] = {
	{ "Hello world", false, 256, "Hello world" },
	{ "  Hello \r\n\r\n\tworld  \r\n", false, 256, "Hello world" },
	{ "", false, 256, "" },
	{ " \r\n \t ", false, 256, "" },
	{ "a\x01" "b\x7f" "c", false, 256, "a b c" },			/* controls */
	{ "caf\xc3\xa9 \xe2\x82\xac", false, 256, "caf\xc3\xa9 \xe2\x82\xac" },
	{ "bad \xff byte", false, 256, "bad \xef\xbf\xbd byte" },	/* U+FFFD */
	{ "cut \xc3", false, 256, "cut \xef\xbf\xbd" },		/* truncated sequence */
	{ "\xed\xa0\x80x", false, 256, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx" },	/* surrogate */
	{ "abcdef", false, 3, "abc" },
	{ "ab cdef", false, 3, "ab" },				/* no trailing space */
	{ "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", false, 2, "\xc3\xa9\xc3\xa9" },	/* characters, not bytes */
	{ "a &amp; b", false, 256, "a &amp; b" },			/* plain: no entities */
	{ "<p>Hi</p><p>there</p>", true, 256, "Hi there" },
	{ "<html><head><title>T</title><style>p{x:y}</style></head>"
	  "<body><p>Dear&nbsp;Bob,</p><script>var x='<p>';</script>see &lt;this&gt; &amp; "
	  "&#233;&#x20AC;&euro;</body></html>", true, 256,
	  "Dear Bob, see <this> & \xc3\xa9\xe2\x82\xac\xe2\x82\xac" },
	{ "a<!-- hidden <b> -->b", true, 256, "a b" },
	{ "x &bogus; y &#; z", true, 256, "x &bogus; y &#; z" },
	{ "x &#0; y", true, 256, "x \xef\xbf\xbd y" },
	{ "unclosed <b", true, 256, "unclosed" },
	{ "<STYLE>a{}</STYLE>Text", true, 256, "Text" },
	{ "<style>never closed", true, 256, "" },
	{ "A<br>B", true, 256, "A B" },
	/* runs of printable ASCII, cut inside one and after one */
	{ "one two-three four", false, 9, "one two-t" },
	{ "one two", false, 3, "one" },
	{ "one two", false, 4, "one" },
	{ "ab<b>cd</b>&amp;ef&#33;", true, 256, "ab cd &ef!" },
	{ "x&y<z", false, 256, "x&y<z" },
};

static void
test_text(void)
{
	struct buf	b;
	size_t		i;

	buf_init(&b, 4096);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		buf_reset(&b);
		t_int(mime_preview_text(texts[i].in, strlen(texts[i].in), texts[i].html,
		    texts[i].max, &b), 0);
		t_str(buf_str(&b), texts[i].want);
	}
	/* a full buffer is an error, not a crash */
	buf_clear(&b);
	buf_init(&b, 2);
	t_int(mime_preview_text("abcdef", 6, false, 256, &b), -1);
	t_str(buf_str(&b), "ab");	/* what fits of a run stays */
	buf_clear(&b);
}

static const struct {
	const char	*msg;
	const char	*want;
} msgs[] = {
	{ "Subject: x\r\n\r\nJust text.\r\n", "Just text." },
	{ "Subject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
	  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	  "Gr=FC=DFe aus K=F6ln,=\r\n soft break\r\n", "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln, soft break" },
	{ "Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "PHA+SGVsbG8gPGI+d29ybGQ8L2I+PC9wPg==\r\n", "Hello world" },
	/* alternative: the plain part wins even when HTML comes first */
	{ "Content-Type: multipart/alternative; boundary=b\r\n\r\n"
	  "--b\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n"
	  "--b\r\nContent-Type: text/plain\r\n\r\nplain version\r\n--b--\r\n", "plain version" },
	/* an attachment and a forwarded message are not the preview */
	{ "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	  "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nfile\r\n"
	  "--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\ninner text\r\n"
	  "--b\r\nContent-Type: text/html\r\n\r\n<i>outer</i>\r\n--b--\r\n", "outer" },
	/* no text at all */
	{ "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0K\r\n", "" },
	{ "", "" },
};

static void
test_messages(void)
{
	struct mime_part	*p;
	struct buf		 b;
	char			 big[2000];
	size_t			 i;

	buf_init(&b, 4096);
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		p = mime_parse(msgs[i].msg, strlen(msgs[i].msg));
		buf_reset(&b);
		t_int(mime_preview(p, &b), 0);
		t_str(buf_str(&b), msgs[i].want);
		mime_free(&p);
	}
	/* a long body: cut at 256 characters */
	memcpy(big, "Subject: x\r\n\r\n", 14);
	for (i = 14; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + i % 7);
	big[sizeof(big) - 1] = '\0';
	p = mime_parse(big, strlen(big));
	buf_reset(&b);
	t_int(mime_preview(p, &b), 0);
	t_int(b.len, PREVIEW_CHARS);
	t_ok(memcmp(b.data, big + 14, PREVIEW_CHARS) == 0);
	mime_free(&p);
	buf_clear(&b);
}

/* The reducer fed the same text whole and cut at every length agrees with itself. */
static void
test_prefixes(void)
{
	static const char	*s = "<p>caf\xc3\xa9 &amp;  <b>x</b></p>\r\n y";
	struct buf		 b;
	size_t			 n;

	buf_init(&b, 4096);
	for (n = 0; n <= strlen(s); n++) {
		buf_reset(&b);
		t_int(mime_preview_text(s, n, true, 256, &b), 0);
		t_ok(b.len == 0 || (b.data[0] != ' ' && b.data[b.len - 1] != ' '));
	}
	t_str(buf_str(&b), "caf\xc3\xa9 & x y");
	buf_clear(&b);
}

int
main(void)
{
	t_begin("mime_preview");
	test_text();
	test_messages();
	test_prefixes();
	return t_end();
}
