/*
 * Courier's files, read in place so a server switched over from Courier
 * (or back) keeps the clients' state (formats as documented by Dovecot's
 * courier-dovecot-migrate.pl; our own code):
 *   courierpop3dsizelist	POP3 UIDLs Courier gave:
 *	/<version 2|3> <next uid> <uidvalidity>
 *	<file name> <size> <uid>:<uidvalidity>[:<utf8>]
 *	UIDL "UID<uid>-<uidvalidity>" ("UID<uid>" when uidvalidity is 0);
 *	uid 0: the base name, with bytes outside 0x21..0x7e and ' " +
 *	written as +XX.
 *   courierimapkeywords/	keywords: ":list" holds the names, an empty
 *	line, then "<base>:<index> <index>..."; pending updates are files
 *	".<n>.<base>" (highest n wins; a plain "<base>" file wins over all)
 *	holding the message's whole keyword list, one name per line.
 *	Imported into file names + dovecot-keywords when our index is first
 *	created (like courierimapuiddb).
 *   courierimapsubscribed	read by store_subscriptions() (folder.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xmalloc.h"
#include "store/store_int.h"

#define POP3_LIST	"courierpop3dsizelist"
#define KW_DIR		"courierimapkeywords"

struct pop3_uidl {
	char	*base;
	char	*uidl;
};

struct store_pop3_uidls {
	struct pop3_uidl	*v;	/* sorted by base */
	size_t			 n, cap;
};

static int
uidl_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pop3_uidl *)a)->base, ((const struct pop3_uidl *)b)->base);
}

char *
store_name_uidl(const char *name, size_t len, char esc, const char *special, size_t max)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*u = xmalloc(len * 3 + 1);
	size_t			 i, o = 0;
	unsigned char		 c;

	for (i = 0; i < len && o < max; i++) {
		c = (unsigned char)name[i];
		if (c < 0x21 || c > 0x7e || c == (unsigned char)esc ||
		    (special != NULL && strchr(special, c) != NULL)) {
			u[o++] = esc;
			u[o++] = hex[c >> 4];
			u[o++] = hex[c & 15];
		} else
			u[o++] = (char)c;
	}
	u[o] = '\0';
	return u;
}

/* "<name> <size> <uid>:<uidv>[:<utf8>]": split from the right (names may hold spaces). */
static void
pop3_line(struct store_pop3_uidls *l, char *line)
{
	char		*sp2, *sp1, *colon, *c2, buf[64];
	uint64_t	 uid, uidv;
	size_t		 base;

	if ((sp2 = strrchr(line, ' ')) == NULL)
		return;
	*sp2 = '\0';
	sp1 = strrchr(line, ' ');
	if (sp1 == NULL || sp1 == line)
		return;
	*sp1 = '\0';
	if ((colon = strchr(sp2 + 1, ':')) == NULL)
		return;
	if ((c2 = strchr(colon + 1, ':')) != NULL)
		*c2 = '\0';
	if (parse_u64(sp2 + 1, (size_t)(colon - sp2 - 1), UINT32_MAX, &uid) == -1 ||
	    parse_u64(colon + 1, strlen(colon + 1), UINT64_MAX / 2, &uidv) == -1)
		return;
	base = name_base_len(line);
	line[base] = '\0';
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n].base = xstrdup(line);
	if (uid == 0)
		l->v[l->n].uidl = store_name_uidl(line, strlen(line), '+', "'\"", SIZE_MAX);
	else {
		if (uidv != 0)
			snprintf(buf, sizeof(buf), "UID%llu-%llu", (unsigned long long)uid,
			    (unsigned long long)uidv);
		else
			snprintf(buf, sizeof(buf), "UID%llu", (unsigned long long)uid);
		l->v[l->n].uidl = xstrdup(buf);
	}
	l->n++;
}

struct store_pop3_uidls *
store_pop3_uidls_load(const char *root)
{
	struct store_pop3_uidls	*l;
	char			*data, *line, *nl, *end;
	size_t			 len;

	if (ul_read_file(root, POP3_LIST, &data, &len) != 0)
		return NULL;
	/* Version 2 and 3 lists; the pre-0.43 format had no UIDVALIDITY. */
	if (len < 3 || data[0] != '/' || (data[1] != '2' && data[1] != '3') || data[2] != ' ') {
		free(data);
		return NULL;
	}
	l = xcalloc(1, sizeof(*l));
	end = data + len;
	for (line = memchr(data, '\n', len); line != NULL && line + 1 < end; line = nl) {
		line++;
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			break;		/* a torn last line */
		*nl = '\0';
		pop3_line(l, line);
	}
	free(data);
	qsort(l->v, l->n, sizeof(*l->v), uidl_cmp);
	return l;
}

const char *
store_pop3_uidl(const struct store_pop3_uidls *l, const char *name, size_t base_len)
{
	size_t	lo = 0, hi, mid;
	int	c;

	if (l == NULL)
		return NULL;
	hi = l->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strncmp(l->v[mid].base, name, base_len);
		if (c == 0 && l->v[mid].base[base_len] != '\0')
			c = 1;
		if (c == 0)
			return l->v[mid].uidl;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void
store_pop3_uidls_free(struct store_pop3_uidls **lp)
{
	struct store_pop3_uidls	*l = *lp;
	size_t			 i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].base);
		free(l->v[i].uidl);
	}
	free(l->v);
	free(l);
	*lp = NULL;
}

/* ---- courierimapkeywords/ ---- */

#define KW_NAMES_MAX	64

struct kw_import {
	char		*names[KW_NAMES_MAX];
	size_t		 nnames;
	struct kw_ent {
		char		*base;
		uint64_t	 mask;		/* bit i = names[i] */
		int64_t		 upd;		/* update file number that set it, -1 :list */
	}		*v;
	size_t		 n, cap;
};

static int
kw_name_index(struct kw_import *k, const char *name)
{
	size_t	i;

	for (i = 0; i < k->nnames; i++)
		if (strcmp(k->names[i], name) == 0)
			return (int)i;
	if (k->nnames == KW_NAMES_MAX || name[0] == '\0')
		return -1;
	k->names[k->nnames] = xstrdup(name);
	return (int)k->nnames++;
}

static struct kw_ent *
kw_ent(struct kw_import *k, const char *base)
{
	size_t	i;

	for (i = 0; i < k->n; i++)
		if (strcmp(k->v[i].base, base) == 0)
			return &k->v[i];
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 16;
		k->v = xreallocarray(k->v, k->cap, sizeof(*k->v));
	}
	k->v[k->n].base = xstrdup(base);
	k->v[k->n].mask = 0;
	k->v[k->n].upd = -2;
	return &k->v[k->n++];
}

/* ":list": names, an empty line, then "<base>:<i> <i>...". */
static void
kw_read_list(struct kw_import *k, const char *dir)
{
	char		*data, *line, *nl, *end, *colon, *p, *e;
	size_t		 len;
	bool		 in_names = true;
	struct kw_ent	*ke;
	uint64_t	 v;

	if (ul_read_file(dir, KW_DIR "/:list", &data, &len) != 0)
		return;
	end = data + len;
	for (line = data; line < end; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			break;
		*nl = '\0';
		if (in_names) {
			if (line[0] == '\0')
				in_names = false;
			else if (k->nnames < KW_NAMES_MAX)
				k->names[k->nnames++] = xstrdup(line);
			continue;
		}
		if ((colon = strrchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		ke = kw_ent(k, line);
		ke->upd = -1;
		for (p = colon + 1; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
			e = strchr(p, ' ');
			if (e == NULL)
				e = p + strlen(p);
			if (e > p && parse_u64(p, (size_t)(e - p), KW_NAMES_MAX - 1, &v) == 0 &&
			    v < k->nnames)
				ke->mask |= 1ULL << v;
		}
	}
	free(data);
}

/* Pending updates: ".<n>.<base>" (highest n) or "<base>" (wins). */
static void
kw_read_updates(struct kw_import *k, const char *dir)
{
	char		 path[PATH_MAX], file[PATH_MAX], *data, *line, *nl, *end;
	const char	*base, *dot;
	DIR		*d;
	struct dirent	*de;
	struct kw_ent	*ke;
	uint64_t	 num;
	int64_t		 upd;
	size_t		 len;
	int		 i;

	if (st_join(path, sizeof(path), dir, "/" KW_DIR, "") == -1 || (d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ":list") == 0 || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		base = de->d_name;
		upd = INT64_MAX;
		if (de->d_name[0] == '.') {
			if ((dot = strchr(de->d_name + 1, '.')) == NULL ||
			    parse_u64(de->d_name + 1, (size_t)(dot - de->d_name - 1), INT64_MAX / 2,
			    &num) == -1)
				continue;
			base = dot + 1;
			upd = (int64_t)num;
		}
		ke = kw_ent(k, base);
		if (ke->upd >= upd)
			continue;
		if (st_join(file, sizeof(file), KW_DIR, "/", de->d_name) == -1 ||
		    ul_read_file(dir, file, &data, &len) != 0)
			continue;
		ke->upd = upd;
		ke->mask = 0;
		end = data + len;
		for (line = data; line < end; line = nl + 1) {
			if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
				nl = end;
			*nl = '\0';
			if ((i = kw_name_index(k, line)) >= 0)
				ke->mask |= 1ULL << i;
		}
		free(data);
	}
	closedir(d);
}

/* Keywords as letters in the file names in cur/ (+ dovecot-keywords). */
static void
kw_apply(struct store_mailbox *mb, struct kw_import *k)
{
	char		 from[PATH_MAX], to[PATH_MAX], nname[1200], *found;
	int		 map[KW_NAMES_MAX];
	uint32_t	 flags, kw, add;
	uint64_t	 used = 0;
	bool		 in_new;
	size_t		 i, j;

	/* Only names some message still has (a superseded update may name others). */
	for (i = 0; i < k->n; i++)
		used |= k->v[i].mask;
	for (i = 0; i < k->nnames; i++)
		map[i] = used & (1ULL << i) ? store_keyword_index(mb, k->names[i], true) : -1;
	for (i = 0; i < k->n; i++) {
		for (j = 0, add = 0; j < k->nnames; j++)
			if ((k->v[i].mask & (1ULL << j)) && map[j] >= 0)
				add |= 1u << map[j];
		if (add == 0 ||
		    st_find_base(mb, k->v[i].base, strlen(k->v[i].base), &found, &in_new) != 0)
			continue;
		name_flags(found, &flags, &kw);
		if ((kw | add) != kw &&
		    name_compose(nname, sizeof(nname), found, strlen(k->v[i].base), flags,
		    kw | add) == 0 &&
		    st_join(from, sizeof(from), mb->dir, in_new ? "/new/" : "/cur/", found) == 0 &&
		    st_join(to, sizeof(to), mb->dir, "/cur/", nname) == 0 && rename(from, to) == 0)
			mb->dir_dirty |= ST_DIRTY_INTO_CUR(in_new);
		free(found);
	}
}

void
courier_kw_import(struct store_mailbox *mb)
{
	struct kw_import	k;
	size_t			i;

	memset(&k, 0, sizeof(k));
	kw_read_list(&k, mb->dir);
	kw_read_updates(&k, mb->dir);
	if (k.n > 0)
		kw_apply(mb, &k);
	for (i = 0; i < k.nnames; i++)
		free(k.names[i]);
	for (i = 0; i < k.n; i++)
		free(k.v[i].base);
	free(k.v);
}
