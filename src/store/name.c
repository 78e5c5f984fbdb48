/*
 * Maildir file names: base name, ":2,<flags>" info, ",S=" and ",W=" sizes
 * (Maildir++ / Dovecot), arrival time, fresh unique names for APPEND, and
 * the EMAILID a name carries (",E=", see store_copy).
 * Pure functions; nothing here touches the disk but gethostname().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/str.h"
#include "store/store_int.h"

size_t
name_base_len(const char *name)
{
	const char	*p = strchr(name, ':');

	return p != NULL ? (size_t)(p - name) : strlen(name);
}

void
name_flags(const char *name, uint32_t *flags_r, uint32_t *kw_r)
{
	const char	*p = strchr(name, ':');

	*flags_r = *kw_r = 0;
	/* Only the "2," info carries flags (the spec's experimental "1," does not). */
	if (p == NULL || p[1] != '2' || p[2] != ',')
		return;
	for (p += 3; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*flags_r |= STORE_FLAG(*p);
		else if (*p >= 'a' && *p <= 'z')
			*kw_r |= 1u << (*p - 'a');
	}
}

bool
name_size(const char *name, size_t base_len, char key, uint64_t *v_r)
{
	size_t	i, j;

	/* Maildir++: ",X=digits" fields after the unique part, before the info. */
	for (i = 0; i < base_len; i++) {
		if (name[i] != ',' || i + 2 >= base_len || name[i + 1] != key ||
		    name[i + 2] != '=')
			continue;
		for (j = i + 3; j < base_len && name[j] >= '0' && name[j] <= '9'; j++)
			;
		if (j > i + 3 && (j == base_len || name[j] == ',') &&
		    parse_u64(name + i + 3, j - (i + 3), UINT64_MAX / 2, v_r) == 0)
			return true;
	}
	return false;
}

void
name_time(const char *name, int64_t *sec_r, int64_t *usec_r)
{
	const char	*p = name;
	int64_t		 v = 0;

	*sec_r = *usec_r = 0;
	while (*p >= '0' && *p <= '9' && v < INT64_MAX / 20)
		v = v * 10 + (*p++ - '0');
	*sec_r = v;
	/* "<sec>.M<usec>" (Maildir, Courier, Dovecot, us): usec orders within a second. */
	if (p[0] != '.' || p[1] != 'M')
		return;
	p += 2;
	v = 0;
	while (*p >= '0' && *p <= '9' && v < INT64_MAX / 20)
		v = v * 10 + (*p++ - '0');
	*usec_r = v;
}

int
name_compose(char *dst, size_t dstsz, const char *name, size_t base_len,
    uint32_t flags, uint32_t kw)
{
	size_t	n = 0;
	int	i;

	if (base_len + 4 + 26 + 26 >= dstsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dst, name, base_len);
	n = base_len;
	memcpy(dst + n, ":2,", 3);
	n += 3;
	/* Maildir spec: flags in ASCII order; keywords (Dovecot) after them. */
	for (i = 0; i < 26; i++)
		if (flags & (1u << i))
			dst[n++] = (char)('A' + i);
	for (i = 0; i < 26; i++)
		if (kw & (1u << i))
			dst[n++] = (char)('a' + i);
	dst[n] = '\0';
	return 0;
}

int
name_unique(char *dst, size_t dstsz)
{
	struct timeval	 tv;
	char		 host[256], safe[256 * 4];
	uint32_t	 rnd;
	size_t		 i, n = 0;
	int		 r;

	gettimeofday(&tv, NULL);
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint32_t)tv.tv_usec ^ ((uint32_t)getpid() << 16) ^ (uint32_t)(uintptr_t)dst;
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		str_copy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	/* Maildir spec: '/' and ':' in the host name become \057 and \072. */
	for (i = 0; host[i] != '\0' && n + 5 < sizeof(safe); i++) {
		if (host[i] == '/' || host[i] == ':' || host[i] == ',') {
			r = snprintf(safe + n, sizeof(safe) - n, "\\%03o", (unsigned char)host[i]);
			n += (size_t)r;
		} else
			safe[n++] = host[i];
	}
	safe[n] = '\0';
	r = snprintf(dst, dstsz, "%lld.M%ldP%ldR%08x.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), rnd, safe);
	if (r < 0 || (size_t)r >= dstsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

uint64_t
name_emailid(const char *name, size_t base_len)
{
	uint64_t	v = 0;
	size_t		i, j;
	int		d;

	/* ",E=<16 hex>": the id a copy carries from its original (store_copy) */
	for (i = 0; i + 3 + 16 <= base_len; i++) {
		if (name[i] != ',' || name[i + 1] != 'E' || name[i + 2] != '=' ||
		    (i + 3 + 16 < base_len && name[i + 3 + 16] != ','))
			continue;
		for (j = 0, v = 0; j < 16; j++) {
			d = str_hexval((unsigned char)name[i + 3 + j]);
			if (d < 0)
				break;
			v = v << 4 | (uint64_t)d;
		}
		if (j == 16)
			return v;
	}
	return cache_base_hash(name, base_len);
}

uint32_t
name_hash(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;	/* FNV-1a */
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}
