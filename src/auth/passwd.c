/*
 * Stored password verification and hashing through libxcrypt's crypt_rn()
 * (thread-safe: the state lives in a per-call struct crypt_data).
 * Accepts only a whitelist of crypt prefixes so a stray "$sha1$" or "_"
 * (BSDi) hash is UNSUPPORTED rather than silently verified, and treats the
 * libxcrypt failure token ("*0", "*1") as UNSUPPORTED, never as a match.
 * Secrets (computed hashes, crypt state) are wiped before returning.
 */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "auth/passwd.h"
#include "lib/xmalloc.h"

_Static_assert(PASSWD_INPUT_MAX < CRYPT_MAX_PASSPHRASE_SIZE,
    "crypt_rn() refuses passphrases this long");

/* Dovecot-style {SCHEME} prefixes whose remainder is a crypt(3) string. */
static const char *const crypt_schemes[] = {
	"CRYPT", "DES-CRYPT", "MD5-CRYPT", "SHA256-CRYPT", "SHA512-CRYPT",
	"BLF-CRYPT", "YESCRYPT",
};

/* crypt(3) prefixes we verify; everything else is UNSUPPORTED. */
static const char *const crypt_prefixes[] = {
	"$1$", "$5$", "$6$", "$2a$", "$2b$", "$2y$", "$y$", "$7$",
};

/* The 64-character alphabet of traditional DES crypt (salt and hash). */
static bool
des_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '/';
}

static bool
crypt_supported(const char *h)
{
	size_t	 i, n = strlen(h);

	if (n == 13) {
		for (i = 0; i < n; i++)
			if (!des_char(h[i]))
				break;
		if (i == n)
			return true;
	}
	for (i = 0; i < sizeof(crypt_prefixes) / sizeof(crypt_prefixes[0]); i++)
		if (strncmp(h, crypt_prefixes[i], strlen(crypt_prefixes[i])) == 0)
			return true;
	return false;
}

/*
 * Compare the secret-derived string a (length alen) with b in time that
 * depends only on alen: every byte of a is visited, b is read as if padded
 * with NULs, and a length difference only sets a bit.
 */
static bool
ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	volatile unsigned char	 d = (alen != blen);
	size_t			 i;
	unsigned char		 bc;

	for (i = 0; i < alen; i++) {
		bc = i < blen ? (unsigned char)b[i] : 0;
		d |= (unsigned char)a[i] ^ bc;
	}
	return d == 0;
}

static enum passwd_result
verify_crypt(const char *password, const char *hash)
{
	struct crypt_data	*cd;
	const char		*out;
	enum passwd_result	 res;

	if (!crypt_supported(hash))
		return PASSWD_UNSUPPORTED;
	if (strlen(password) > PASSWD_INPUT_MAX)
		return PASSWD_MISMATCH;
	/* calloc: libxcrypt wants the "initialized" field zero on first use. */
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_rn(password, hash, cd, sizeof(*cd));
	/*
	 * The output repeats the setting parsed from hash and then a hash of
	 * fixed size, so a length difference means hash is malformed (say,
	 * cut short) and can never match; that depends on hash alone.
	 */
	if (out == NULL || out[0] == '*' || strlen(out) != strlen(hash))
		res = PASSWD_UNSUPPORTED;
	else if (ct_equal(out, strlen(out), hash, strlen(hash)))
		res = PASSWD_MATCH;
	else
		res = PASSWD_MISMATCH;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return res;
}

static enum passwd_result
verify_plain(const char *password, const char *plain, bool allow_plain)
{
	if (!allow_plain)
		return PASSWD_UNSUPPORTED;
	if (strlen(password) > PASSWD_INPUT_MAX)
		return PASSWD_MISMATCH;
	/* Time depends on the length the client sent, not on the stored one. */
	return ct_equal(password, strlen(password), plain, strlen(plain)) ?
	    PASSWD_MATCH : PASSWD_MISMATCH;
}

enum passwd_result
passwd_verify(const char *password, const char *stored, bool allow_plain)
{
	const char	*end;
	size_t		 n, i;

	if (password == NULL || stored == NULL)
		return PASSWD_UNSUPPORTED;
	/* An empty stored hash is the (plaintext) empty password. */
	if (stored[0] == '\0')
		return verify_plain(password, stored, allow_plain);
	if (stored[0] != '{')
		return verify_crypt(password, stored);

	if ((end = strchr(stored, '}')) == NULL)
		return PASSWD_UNSUPPORTED;
	n = (size_t)(end - stored - 1);
	if ((n == 5 && strncasecmp(stored + 1, "PLAIN", 5) == 0) ||
	    (n == 9 && strncasecmp(stored + 1, "CLEARTEXT", 9) == 0))
		return verify_plain(password, end + 1, allow_plain);
	for (i = 0; i < sizeof(crypt_schemes) / sizeof(crypt_schemes[0]); i++) {
		/*
		 * Like Dovecot, every *-CRYPT scheme hands its remainder to
		 * crypt(3), so a mislabelled but valid hash still verifies.
		 */
		if (strlen(crypt_schemes[i]) == n &&
		    strncasecmp(stored + 1, crypt_schemes[i], n) == 0)
			return verify_crypt(password, end + 1);
	}
	return PASSWD_UNSUPPORTED;
}

char *
passwd_hash(const char *password)
{
	char			 salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data	*cd;
	const char		*out;
	char			*res = NULL;

	if (password == NULL || strlen(password) > PASSWD_INPUT_MAX)
		return NULL;
	/* count 0: libxcrypt's default cost; NULL rbytes: it reads the OS RNG. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL ||
	    salt[0] == '*')
		return NULL;
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_rn(password, salt, cd, sizeof(*cd));
	if (out != NULL && strncmp(out, "$y$", 3) == 0)
		res = xstrdup(out);
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return res;
}

bool
passwd_needs_upgrade(const char *stored)
{
	if (stored == NULL)
		return true;
	if (strncasecmp(stored, "{YESCRYPT}", 10) == 0)
		stored += 10;
	else if (strncasecmp(stored, "{CRYPT}", 7) == 0)
		stored += 7;
	return strncmp(stored, "$y$", 3) != 0;
}
