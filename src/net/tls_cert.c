/*
 * The self-signed certificate that `init` and `cert create` write (see
 * tls_cert_create() in tls.h): RSA 2048, SHA-256, CN and SAN = the host
 * name, written through temporary files so a crash never leaves half a key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/conf.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/tls.h"
#include "net/tls_int.h"

#define CERT_DAYS		3650
#define CERT_RSA_BITS		2048

/* ---- self-signed certificate ---------------------------------------- */

/* LDH labels separated by dots: all a DNS SAN may hold, and nothing that
 * could smuggle a second name into an extension. */
static bool
valid_hostname(const char *h)
{
	size_t	 n = strlen(h), label = 0;

	if (n == 0 || n > 253 || h[0] == '.' || h[n - 1] == '.')
		return false;
	for (const char *p = h; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX	 v3;
	X509_EXTENSION	*ext;
	int		 ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

static int
add_san(X509 *x, const char *hostname)
{
	GENERAL_NAMES	*gens = GENERAL_NAMES_new();
	GENERAL_NAME	*gn = GENERAL_NAME_new();
	ASN1_IA5STRING	*ia5 = ASN1_IA5STRING_new();
	int		 ok = 0;

	if (gens == NULL || gn == NULL || ia5 == NULL ||
	    ASN1_STRING_set(ia5, hostname, (int)strlen(hostname)) != 1)
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	ia5 = NULL;
	if (sk_GENERAL_NAME_push(gens, gn) == 0)
		goto out;
	gn = NULL;
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT);
out:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	return ok == 1 ? 0 : -1;
}

/* Random positive 128-bit serial (CA/B BR ask for >= 64 bits of entropy). */
static int
set_serial(X509 *x)
{
	unsigned char	 r[16];
	BIGNUM		*bn;
	int		 ok;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	r[0] &= 0x7f;
	r[0] |= 0x40;		/* non-zero, and always 16 bytes of DER */
	if ((bn = BN_bin2bn(r, sizeof(r), NULL)) == NULL)
		return -1;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static X509 *
make_cert(EVP_PKEY *pk, const char *hostname)
{
	X509		*x;
	X509_NAME	*name;

	if ((x = X509_new()) == NULL)
		return NULL;
	name = X509_get_subject_name(x);
	/* CN is limited to 64 characters (RFC 5280 ub-common-name); longer
	 * names live in the SAN alone, which is what clients check anyway. */
	if (X509_set_version(x, 2) != 1 || set_serial(x) < 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL) == NULL ||
	    (strlen(hostname) <= 64 && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)hostname, -1, -1, 0) != 1) ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, pk) != 1 ||
	    add_ext(x, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign") < 0 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(x, NID_subject_key_identifier, "hash") < 0 ||
	    add_san(x, hostname) < 0 ||
	    X509_sign(x, pk, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

enum pem_kind { PEM_KEY, PEM_CERT };

/*
 * Write PEM to a temporary file next to path with the final mode (set by
 * fchmod, so the umask cannot widen or narrow it), fsync, rename.  Returns
 * 0 or -1 with *err_r allocated; never leaves the temporary file behind.
 */
static int
write_pem(const char *path, mode_t mode, enum pem_kind kind, void *obj, char **err_r)
{
	char	*tmp = xasprintf("%s.tmpXXXXXX", path);
	int	 fd, ok;
	BIO	*bio = NULL;

	if ((fd = mkstemp(tmp)) < 0) {
		*err_r = xasprintf("cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (fchmod(fd, mode) != 0) {
		*err_r = xasprintf("chmod %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if ((bio = BIO_new_fd(fd, BIO_NOCLOSE)) == NULL) {
		*err_r = tls_ssl_err("BIO_new_fd");
		goto fail;
	}
	if (kind == PEM_KEY)
		ok = PEM_write_bio_PrivateKey(bio, obj, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_bio_X509(bio, obj);
	if (ok != 1 || BIO_flush(bio) != 1) {
		*err_r = xasprintf("cannot write %s: %s", tmp, errno ? strerror(errno) : "PEM error");
		ERR_clear_error();
		goto fail;
	}
	BIO_free(bio);
	bio = NULL;
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		*err_r = xasprintf("cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		*err_r = xasprintf("cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	BIO_free(bio);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

/*
 * mkdir -p of path's parent with mode 0755 for each directory created,
 * whatever the umask (a 0700 directory would hide the files from the mail
 * owner); each new entry is made durable by fsyncing its parent.
 */
static int
parent_dir(const char *path, char **dir_r, char **err_r)
{
	const char	*slash = strrchr(path, '/');
	char		*d, *p;

	*dir_r = d = slash == NULL ? xstrdup(".") :
	    slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	for (p = d + 1; ; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(d, 0755) == 0) {
			char *up = strrchr(d, '/');

			if (chmod(d, 0755) != 0)
				goto fail;
			if (up != NULL) {
				*up = '\0';
				if (fs_fsync_dir(up == d ? "/" : d) != 0)
					goto fail;
				*up = '/';
			}
		} else if (errno != EEXIST)
			goto fail;
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
fail:
	*err_r = xasprintf("cannot create directory %s: %s", d, strerror(errno));
	xfree(dir_r);
	return -1;
}

int
tls_cert_create(const char *cert_path, const char *key_path, const char *hostname,
    char **err_r)
{
	EVP_PKEY	*pk = NULL;
	X509		*x = NULL;
	char		*cdir = NULL, *kdir = NULL;
	int		 rc = -1;

	*err_r = NULL;
	if (!valid_hostname(hostname)) {
		*err_r = xasprintf("\"%s\" is not a valid host name for a certificate", hostname);
		return -1;
	}
	if (cert_path[0] == '\0' || key_path[0] == '\0') {
		*err_r = xstrdup("smtpd_tls_cert_file and smtpd_tls_key_file must be set");
		return -1;
	}
	if (parent_dir(cert_path, &cdir, err_r) < 0 || parent_dir(key_path, &kdir, err_r) < 0)
		goto out;
	if ((pk = EVP_RSA_gen(CERT_RSA_BITS)) == NULL) {
		*err_r = tls_ssl_err("cannot generate RSA key");
		goto out;
	}
	if ((x = make_cert(pk, hostname)) == NULL) {
		*err_r = tls_ssl_err("cannot build certificate");
		goto out;
	}
	/* Key first: a crash in between leaves a new key with the old
	 * certificate, which tls_ctx_new reports clearly as a mismatch. */
	if (write_pem(key_path, 0600, PEM_KEY, pk, err_r) < 0 ||
	    write_pem(cert_path, 0644, PEM_CERT, x, err_r) < 0)
		goto out;
	if (fs_fsync_dir(kdir) != 0 || (strcmp(kdir, cdir) != 0 && fs_fsync_dir(cdir) != 0)) {
		*err_r = xasprintf("cannot fsync %s: %s", cdir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(pk);
	X509_free(x);
	free(cdir);
	free(kdir);
	return rc;
}
