/*
 * Unit tests for the IMAP command table (src/imap/cmd.c): lookup by name
 * in any case, the states each command is allowed in, and the capability
 * list per state, which must only name what the table implements; LIST
 * pattern matching (src/imap/mailbox.c).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imap/client.h"
#include "lib/buf.h"
#include "t.h"

#define NA	IMAP_ST(IMAP_S_NOT_AUTH)
#define AU	IMAP_ST(IMAP_S_AUTH)
#define SE	IMAP_ST(IMAP_S_SELECTED)
#define LO	IMAP_ST(IMAP_S_LOGOUT)

static const struct {
	const char	*name;
	unsigned	 states;	/* 0: not a command */
} table[] = {
	{ "CAPABILITY", NA | AU | SE },
	{ "capability", NA | AU | SE },
	{ "Noop", NA | AU | SE },
	{ "LOGOUT", NA | AU | SE },
	{ "ID", NA | AU | SE },
	{ "STARTTLS", NA },
	{ "login", NA },
	{ "AUTHENTICATE", NA },
	{ "ENABLE", AU | SE },
	{ "NAMESPACE", AU | SE },
	{ "SELECT", AU | SE },
	{ "examine", AU | SE },
	{ "LIST", AU | SE },
	{ "STATUS", AU | SE },
	{ "UNSELECT", SE },
	{ "FETCH", SE },
	{ "uid", SE },
	{ "FETCHX", 0 },
	{ "LOGI", 0 },
	{ "LOGINX", 0 },
	{ "", 0 },
};

static void
test_find(void)
{
	const struct imap_command	*c;
	size_t				 i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		c = imap_command_find(table[i].name, strlen(table[i].name));
		if (table[i].states == 0) {
			t_ok(c == NULL);
			continue;
		}
		if (!t_ok(c != NULL))
			continue;
		t_ok(strcasecmp(c->name, table[i].name) == 0);
		t_int(c->states, table[i].states);
		/* Nothing runs after LOGOUT. */
		t_ok(!(c->states & LO));
		t_ok(c->fn != NULL);
	}
	/* The length counts, not a NUL: "LOGINX" cut to 5 is "LOGIN". */
	t_ok(imap_command_find("LOGINX", 5) != NULL);
}

static bool
has(const char *list, const char *cap)
{
	size_t		 n = strlen(cap);
	const char	*p = list;

	while ((p = strstr(p, cap)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

static void
test_capabilities(void)
{
	static const char *const commands[] = { "ID", "ENABLE", "NAMESPACE", "STARTTLS",
	    "UNSELECT" };
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 1024);
	/* Plain TCP, plaintext refused: STARTTLS and LOGINDISABLED, no AUTH=. */
	imap_capability_list(IMAP_S_NOT_AUTH, true, false, &b);
	t_ok(strncmp(buf_str(&b), "IMAP4rev1 ", 10) == 0);
	t_ok(has(buf_str(&b), "STARTTLS"));
	t_ok(has(buf_str(&b), "LOGINDISABLED"));
	t_ok(has(buf_str(&b), "SASL-IR"));
	t_ok(has(buf_str(&b), "LITERAL+"));
	t_ok(!has(buf_str(&b), "AUTH=PLAIN"));
	t_ok(!has(buf_str(&b), "UTF8=ACCEPT"));
	/* Advertising a command means the table runs it. */
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		t_ok(!has(buf_str(&b), commands[i]) ||
		    imap_command_find(commands[i], strlen(commands[i])) != NULL);
	/* Both revisions (RFC 9051 §7.2.2). */
	t_ok(has(buf_str(&b), "IMAP4rev2"));
	/* Not yet implemented: must not be advertised. */
	t_ok(!has(buf_str(&b), "IDLE"));
	t_ok(!has(buf_str(&b), "UIDPLUS"));

	buf_reset(&b);
	imap_capability_list(IMAP_S_NOT_AUTH, false, true, &b);
	t_ok(has(buf_str(&b), "AUTH=PLAIN"));
	t_ok(has(buf_str(&b), "AUTH=LOGIN"));
	t_ok(!has(buf_str(&b), "STARTTLS"));
	t_ok(!has(buf_str(&b), "LOGINDISABLED"));

	/* After login: no login capabilities; UTF8=ACCEPT (ENABLE-able) appears. */
	buf_reset(&b);
	imap_capability_list(IMAP_S_AUTH, true, true, &b);
	t_ok(has(buf_str(&b), "LIST-EXTENDED"));
	t_ok(has(buf_str(&b), "LIST-STATUS"));
	t_ok(has(buf_str(&b), "SPECIAL-USE"));
	t_ok(has(buf_str(&b), "UTF8=ACCEPT"));
	t_ok(has(buf_str(&b), "BINARY"));
	t_ok(has(buf_str(&b), "ENABLE"));
	t_ok(has(buf_str(&b), "NAMESPACE"));
	t_ok(!has(buf_str(&b), "STARTTLS"));
	t_ok(!has(buf_str(&b), "AUTH=PLAIN"));
	t_ok(!has(buf_str(&b), "LOGINDISABLED"));
	t_ok(!has(buf_str(&b), "SASL-IR"));
	buf_clear(&b);
}

static const struct {
	const char	*name, *pat;
	bool		 want;
} matches[] = {
	{ "INBOX", "*", true },
	{ "INBOX", "%", true },
	{ "INBOX", "inbox", true },
	{ "INBOX", "INB*", true },
	{ "INBOX", "Inbox*", true },
	{ "INBOX", "INBOX/%", false },
	{ "Inbox2", "inbox2", false },		/* only INBOX itself ignores case */
	{ "Sent", "Sent", true },
	{ "Sent", "sent", false },
	{ "Sent", "S*", true },
	{ "Sent", "*t", true },
	{ "Sent", "*x", false },
	{ "a/b", "%", false },
	{ "a/b", "*", true },
	{ "a/b", "a/%", true },
	{ "a/b/c", "a/%", false },
	{ "a/b/c", "a/*", true },
	{ "a/b/c", "a/%/c", true },
	{ "a/b/c", "%/%", false },
	{ "a", "a/*", false },
	{ "a", "a*", true },
	{ "", "", true },
	{ "", "%", true },
	{ "abc", "a%%c", true },
	{ "abc", "**c", true },
	{ "abc", "abcd", false },
	{ "abcd", "abc", false },
};

static void
test_list_match(void)
{
	size_t i;

	for (i = 0; i < sizeof(matches) / sizeof(matches[0]); i++)
		if (!t_ok(imap_list_match(matches[i].name, matches[i].pat) == matches[i].want))
			printf("  name=%s pat=%s\n", matches[i].name, matches[i].pat);
}

int
main(void)
{
	t_begin("imap_cmd");
	test_find();
	test_capabilities();
	test_list_match();
	return t_end();
}
