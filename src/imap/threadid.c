/*
 * THREADID from the header (threadid.h says which msg-id and why).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "imap/thread.h"
#include "imap/threadid.h"
#include "mime/rfc5322.h"

/* The first msg-id of field name, raw (folding whitespace may sit inside). */
static bool
first_id(const char *hdr, size_t len, const char *name, struct thread_idref *f)
{
	struct hdr_field	 h;

	return hdr_find(hdr, len, name, &h) && thread_first_msgid(h.value, h.value_len, f);
}

/* FNV-1a, 64 bits, over the id without folding whitespace. */
static uint64_t
id_hash(const char *p, size_t len)
{
	uint64_t	h = 0xcbf29ce484222325ULL;
	size_t		i;

	for (i = 0; i < len; i++) {
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
			continue;
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

bool
threadid_of_header(const char *hdr, size_t len, const char *emailid,
    char id_r[THREADID_SIZE])
{
	struct thread_idref	 f;

	if (first_id(hdr, len, "References", &f) || first_id(hdr, len, "In-Reply-To", &f) ||
	    first_id(hdr, len, "Message-ID", &f)) {
		(void)snprintf(id_r, THREADID_SIZE, "T%016llx",
		    (unsigned long long)id_hash(f.p, f.len));
		return true;
	}
	/* "M" + 16 hex digits: the same digits, as a thread of one */
	if (emailid != NULL && emailid[0] == 'M' && strlen(emailid) == THREADID_SIZE - 1) {
		id_r[0] = 'T';
		memcpy(id_r + 1, emailid + 1, THREADID_SIZE - 1);
		return true;
	}
	return false;
}
