/*
 * Stored password verification and hashing (crypt(3) through libxcrypt).
 * Accepted stored forms: traditional DES (13 chars, as MySQL's ENCRYPT()
 * wrote them), $1$, $5$, $6$, $2a$/$2b$/$2y$, $y$, $7$, and Dovecot-style
 * {SCHEME} prefixes: {CRYPT}, {DES-CRYPT}, {MD5-CRYPT}, {SHA256-CRYPT},
 * {SHA512-CRYPT}, {BLF-CRYPT}, {YESCRYPT}, and {PLAIN} (only when allowed).
 * Comparison of the computed hash is constant-time.  Thread-safe (crypt_rn).
 */
#ifndef LB_AUTH_PASSWD_H
#define LB_AUTH_PASSWD_H

#include <stdbool.h>

enum passwd_result {
	PASSWD_MATCH,
	PASSWD_MISMATCH,
	PASSWD_UNSUPPORTED,	/* unknown scheme, malformed hash, {PLAIN}/empty not allowed */
};

/*
 * Longest password we hash or verify (octets): libxcrypt's
 * CRYPT_MAX_PASSPHRASE_SIZE - 1.  A longer one is a MISMATCH (and
 * passwd_hash() returns NULL) without calling crypt.
 */
#define PASSWD_INPUT_MAX	511

/*
 * allow_plain: accept {PLAIN}/{CLEARTEXT} and an empty stored hash (config allow_plaintext_passwords).
 * An empty stored hash is the plaintext empty password: it matches only "".
 * Returns UNSUPPORTED for NULL arguments, an unknown {SCHEME}, a crypt string
 * outside the accepted list, or one libxcrypt rejects; never MATCH then.
 * {SCHEME} names are case-insensitive; any *-CRYPT scheme accepts any
 * accepted crypt string (as Dovecot does).
 */
enum passwd_result passwd_verify(const char *password, const char *stored, bool allow_plain);

/* A new yescrypt ($y$) hash of password; allocated, caller frees; NULL on failure. */
char	*passwd_hash(const char *password);

/* True when stored is not already yescrypt (for password_upgrade). */
bool	 passwd_needs_upgrade(const char *stored);

#endif
