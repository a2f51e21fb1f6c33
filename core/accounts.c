/* SPDX-License-Identifier: MIT */
/*
 * accounts.c: the accounts file (see accounts.h, docs/auth.md).
 *
 * Loading streams libyaml events through a small recursive descent (file → the
 * `accounts` list → one map per account), appending each account's strings to
 * one growing region and its offsets to a temporary array. Once the file is
 * read, the offsets become views and the hash table is built, which is also
 * where a user@domain given twice is found (and reported at its second line).
 *
 * A builder (accounts_builder_*) fills the same temporary array and region
 * through the same checks (check_value(), store_value()) and the same build();
 * there a user@domain given twice is no error: build() lets the later replace
 * the earlier in place.
 *
 * The table, once built:
 *
 *   bucket[hash & mask] ─► ent[i] ─next─► ent[j] ─► NONE
 *   ent[i] = { struct auth_account (views into arena), hash, next }
 *   arena  = user ‖ domain (lowercase, shared with the previous account when
 *            equal) ‖ password ‖ HA1 octets, for every account in file order
 */
#include "accounts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define NONE	 UINT32_MAX
#define SHOW_MAX 48
#define KEY_MAX	 96

struct acc_ent {
	struct auth_account a;
	uint32_t hash;
	uint32_t next; /* next entry in the same bucket, or NONE */
};

struct accounts {
	struct acc_ent *ent;
	size_t n;
	uint32_t *bucket;
	uint32_t mask;
	char *arena;
	size_t arena_len;
};

/* An account while loading: offsets into the region (NONE: absent). */
struct tmp_ent {
	uint32_t user, user_len, dom, dom_len, pw, pw_len, md5, sha;
	uint32_t line;
};

struct ld {
	const char *file; /* NULL: a builder (later duplicates win, no lines in errors) */
	char *err;
	size_t errlen;
	yaml_parser_t parser;
	struct tmp_ent *t;
	size_t n, cap;
	char *arena;
	size_t alen, acap;
	uint32_t last_dom, last_dom_len; /* the previous account's domain, for sharing */
};

/* ---- messages ---- */

__attribute__((format(printf, 4, 5))) static int ld_err(struct ld *ld, unsigned line,
							const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ld->err || !ld->errlen)
		return -EINVAL;
	/* A builder has no file and no lines: "KEY: reason". */
	n = ld->file ? snprintf(ld->err, ld->errlen, "%s:%u: %s: ", ld->file, line, key)
		     : snprintf(ld->err, ld->errlen, "%s: ", key);
	if (n >= 0 && (size_t)n < ld->errlen) {
		va_start(ap, fmt);
		vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int ld_nomem(struct ld *ld, unsigned line, const char *key)
{
	ld_err(ld, line, key, "out of memory");
	return -ENOMEM;
}

/* A value as quoted in a message: printable, at most SHOW_MAX octets. */
static const char *show(char buf[SHOW_MAX + 4], const char *p, size_t len)
{
	size_t i, n = len < SHOW_MAX ? len : SHOW_MAX;

	for (i = 0; i < n; i++)
		buf[i] = ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) ? '?' : p[i];
	if (n < len)
		memcpy(buf + i, "...", 3), i += 3;
	buf[i] = '\0';
	return buf;
}

static unsigned ev_line(const yaml_event_t *ev)
{
	return (unsigned)ev->start_mark.line + 1;
}

static const char *ev_kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return "a string";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_MAPPING_START_EVENT:
		return "a map";
	case YAML_ALIAS_EVENT:
		return "an alias";
	default:
		return "nothing";
	}
}

/* Next event into ev (the caller deletes it). Parser errors and aliases stop. */
static int next(struct ld *ld, yaml_event_t *ev, const char *key)
{
	if (!yaml_parser_parse(&ld->parser, ev)) {
		const yaml_parser_t *p = &ld->parser;

		return ld_err(ld, (unsigned)p->problem_mark.line + 1, "(yaml)", "%s%s%s",
			      p->problem ? p->problem : "syntax error", p->context ? " " : "",
			      p->context ? p->context : "");
	}
	if (ev->type == YAML_ALIAS_EVENT) {
		int ret = ld_err(ld, ev_line(ev), key, "aliases (*name) are not supported");

		yaml_event_delete(ev);
		return ret;
	}
	return 0;
}

static bool is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;

	if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return len == 0 || (len == 1 && v[0] == '~') || (len == 4 && !memcmp(v, "null", 4));
}

/* ---- the region of strings ---- */

static int arena_put(struct ld *ld, const void *p, size_t len, bool lower, uint32_t *off)
{
	if (ld->alen + len + 1 > UINT32_MAX)
		return -E2BIG;
	if (ld->alen + len + 1 > ld->acap) {
		size_t cap = ld->acap ? ld->acap * 2 : 4096;
		char *a;

		while (cap < ld->alen + len + 1)
			cap *= 2;
		a = realloc(ld->arena, cap);
		if (!a)
			return -ENOMEM;
		ld->arena = a;
		ld->acap = cap;
	}
	*off = (uint32_t)ld->alen;
	for (size_t i = 0; i < len; i++) {
		char ch = ((const char *)p)[i];

		ld->arena[ld->alen++] = lower ? sv_lower(ch) : ch;
	}
	ld->arena[ld->alen++] = '\0'; /* for a debugger; lookups use lengths */
	return 0;
}

/* ---- values ---- */

static int hexval(char ch)
{
	ch = sv_lower(ch);
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

enum field { F_USER, F_DOMAIN, F_PASSWORD, F_HA1_MD5, F_HA1_SHA256, F__COUNT };

static const char *const field_names[F__COUNT] = { "user", "domain", "password", "ha1_md5",
						   "ha1_sha256" };

/*
 * Check the string value of field f (for an HA1: its hex form). Returns 0 or
 * -EINVAL with the reason. Nothing is stored: a rejected account leaves no trace.
 */
static int check_value(struct ld *ld, enum field f, const char *key, unsigned line, const char *p,
		       size_t len)
{
	char s[SHOW_MAX + 4];

	if (!len)
		return ld_err(ld, line, key, "must not be empty");
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch < 0x20 || ch == 0x7f)
			return ld_err(ld, line, key, "has a control character");
		if (f != F_PASSWORD && ch == ' ')
			return ld_err(ld, line, key, "'%s' has a space", show(s, p, len));
		if (f == F_USER && (ch == '"' || ch == '\\'))
			return ld_err(ld, line, key, "'%s' has '\"' or '\\'", show(s, p, len));
		if (f == F_DOMAIN && ch == '@')
			return ld_err(ld, line, key, "'%s' has an '@': give the user apart",
				      show(s, p, len));
	}
	switch (f) {
	case F_USER:
		if (len > ACCOUNTS_USER_MAX)
			return ld_err(ld, line, key, "is %zu octets long; at most %u", len,
				      ACCOUNTS_USER_MAX);
		break;
	case F_DOMAIN:
		if (len > ACCOUNTS_DOMAIN_MAX)
			return ld_err(ld, line, key, "is %zu octets long; at most %u", len,
				      ACCOUNTS_DOMAIN_MAX);
		break;
	case F_PASSWORD:
		/* Never quoted back: a message must not leak a password. */
		if (len > ACCOUNTS_PASSWORD_MAX)
			return ld_err(ld, line, key, "is %zu octets long; at most %u", len,
				      ACCOUNTS_PASSWORD_MAX);
		break;
	case F_HA1_MD5:
	case F_HA1_SHA256: {
		size_t want = f == F_HA1_MD5 ? 16 : 32;

		if (len != 2 * want)
			return ld_err(ld, line, key, "is %zu characters; an HA1 is %zu hex digits",
				      len, 2 * want);
		for (size_t i = 0; i < 2 * want; i++)
			if (hexval(p[i]) < 0)
				return ld_err(ld, line, key, "is not hex: '%c' at %zu", p[i], i);
		break;
	}
	default:
		break;
	}
	return 0;
}

/*
 * Store a checked value of field f into e: a string (user, domain, password) or
 * HA1 octets (16 or 32, already decoded). Returns 0, -ENOMEM, or when the
 * region would pass 4 GiB -EINVAL (a file) or -E2BIG (a builder), with the reason.
 */
static int store_value(struct ld *ld, struct tmp_ent *e, enum field f, const char *key,
		       unsigned line, const void *p, size_t len)
{
	int ret = 0;

	switch (f) {
	case F_USER:
		ret = arena_put(ld, p, len, false, &e->user);
		e->user_len = (uint32_t)len;
		break;
	case F_DOMAIN:
		if (ld->last_dom != NONE && ld->last_dom_len == len &&
		    sv_caseeq(sv_make(p, len), sv_make(ld->arena + ld->last_dom, len))) {
			e->dom = ld->last_dom; /* files list a domain's users together */
		} else {
			ret = arena_put(ld, p, len, true, &e->dom);
			if (!ret) {
				ld->last_dom = e->dom;
				ld->last_dom_len = (uint32_t)len;
			}
		}
		e->dom_len = (uint32_t)len;
		break;
	case F_PASSWORD:
		ret = arena_put(ld, p, len, false, &e->pw);
		e->pw_len = (uint32_t)len;
		break;
	case F_HA1_MD5:
	case F_HA1_SHA256:
		ret = arena_put(ld, p, len, false, f == F_HA1_MD5 ? &e->md5 : &e->sha);
		break;
	default:
		break;
	}
	if (ret == -ENOMEM)
		return ld_nomem(ld, line, key);
	if (ret) {
		/* accounts_load() has always called this a bad file (-EINVAL). */
		ld_err(ld, line, key, "the %s strings pass 4 GiB",
		       ld->file ? "file's" : "accounts'");
		return ld->file ? -EINVAL : -E2BIG;
	}
	return 0;
}

/* Check and store one value of account e, from the file. */
static int set_field(struct ld *ld, struct tmp_ent *e, enum field f, const char *key,
		     const yaml_event_t *v)
{
	const char *p = (const char *)v->data.scalar.value;
	size_t len = v->data.scalar.length;
	unsigned line = ev_line(v);
	uint8_t raw[32];
	int ret;

	if (v->type != YAML_SCALAR_EVENT)
		return ld_err(ld, line, key, "expected a string, not %s", ev_kind(v));
	if (is_null(v))
		len = 0;
	ret = check_value(ld, f, key, line, p, len);
	if (ret)
		return ret;
	if (f == F_HA1_MD5 || f == F_HA1_SHA256) {
		len /= 2;
		for (size_t i = 0; i < len; i++)
			raw[i] = (uint8_t)(hexval(p[2 * i]) << 4 | hexval(p[2 * i + 1]));
		p = (const char *)raw;
	}
	return store_value(ld, e, f, key, line, p, len);
}

/*
 * A new account at ld->t[ld->n], all fields absent; it counts once the caller
 * raises ld->n. Returns 0, -E2BIG past ACCOUNTS_MAX, or -ENOMEM.
 */
static int new_ent(struct ld *ld, unsigned line, struct tmp_ent **e)
{
	if (ld->n == ld->cap) {
		size_t cap = ld->cap ? ld->cap * 2 : 1024;
		struct tmp_ent *t;

		if (ld->n >= ACCOUNTS_MAX) {
			ld_err(ld, line, "accounts", "more than %u accounts", ACCOUNTS_MAX);
			return -E2BIG;
		}
		t = realloc(ld->t, cap * sizeof(*t));
		if (!t)
			return ld_nomem(ld, line, "accounts");
		ld->t = t;
		ld->cap = cap;
	}
	*e = &ld->t[ld->n];
	**e = (struct tmp_ent){ NONE, 0, NONE, 0, NONE, 0, NONE, NONE, line };
	return 0;
}

/* ---- structure ---- */

/* One account: its map has been opened at `line`. */
static int load_account(struct ld *ld, size_t idx, unsigned line)
{
	struct tmp_ent *e;
	unsigned seen = 0;
	char key[KEY_MAX], base[32], s[SHOW_MAX + 4];
	int ret;

	ret = new_ent(ld, line, &e);
	if (ret)
		return ret;
	snprintf(base, sizeof(base), "accounts[%zu]", idx);
	for (;;) {
		yaml_event_t k, v;
		enum field f;

		ret = next(ld, &k, base);
		if (ret)
			return ret;
		if (k.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&k);
			break;
		}
		if (k.type != YAML_SCALAR_EVENT) {
			ret = ld_err(ld, ev_line(&k), base, "a key must be a string, not %s",
				     ev_kind(&k));
			yaml_event_delete(&k);
			return ret;
		}
		for (f = 0; f < F__COUNT; f++)
			if (k.data.scalar.length == strlen(field_names[f]) &&
			    !memcmp(k.data.scalar.value, field_names[f], k.data.scalar.length))
				break;
		snprintf(key, sizeof(key), "%s.%s", base,
			 show(s, (const char *)k.data.scalar.value, k.data.scalar.length));
		if (f == F__COUNT) {
			ret = ld_err(ld, ev_line(&k), key,
				     "unknown key (user, domain, password, ha1_md5, ha1_sha256)");
		} else if (seen & (1u << f)) {
			ret = ld_err(ld, ev_line(&k), key, "given twice in one account");
		}
		yaml_event_delete(&k);
		if (ret)
			return ret;
		seen |= 1u << f;
		ret = next(ld, &v, key);
		if (ret)
			return ret;
		ret = set_field(ld, e, f, key, &v);
		yaml_event_delete(&v);
		if (ret)
			return ret;
	}
	if (!(seen & (1u << F_USER)))
		return ld_err(ld, line, base, "no user");
	if (!(seen & (1u << F_DOMAIN)))
		return ld_err(ld, line, base, "no domain");
	if (!(seen & (1u << F_PASSWORD | 1u << F_HA1_MD5 | 1u << F_HA1_SHA256)))
		return ld_err(ld, line, base, "neither password nor ha1_md5 / ha1_sha256");
	ld->n++;
	return 0;
}

/* The value of `accounts:`: a list of maps, or nothing. */
static int load_list(struct ld *ld)
{
	yaml_event_t ev;
	int ret = next(ld, &ev, "accounts");

	if (ret)
		return ret;
	if (is_null(&ev)) {
		yaml_event_delete(&ev);
		return 0;
	}
	if (ev.type != YAML_SEQUENCE_START_EVENT) {
		ret = ld_err(ld, ev_line(&ev), "accounts", "expected a list, not %s", ev_kind(&ev));
		yaml_event_delete(&ev);
		return ret;
	}
	yaml_event_delete(&ev);
	for (size_t i = 0;; i++) {
		char key[KEY_MAX];
		unsigned line;

		snprintf(key, sizeof(key), "accounts[%zu]", i);
		ret = next(ld, &ev, key);
		if (ret)
			return ret;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (ev.type != YAML_MAPPING_START_EVENT) {
			ret = ld_err(ld, ev_line(&ev), key,
				     "expected a map (user:, domain:, password: ...), not %s",
				     ev_kind(&ev));
			yaml_event_delete(&ev);
			return ret;
		}
		line = ev_line(&ev);
		yaml_event_delete(&ev);
		ret = load_account(ld, i, line);
		if (ret)
			return ret;
	}
}

/* The document: a map whose one key is `accounts`. */
static int load_top(struct ld *ld)
{
	yaml_event_t ev;
	bool had_list = false;
	int ret;

	ret = next(ld, &ev, "(top)"); /* stream start */
	if (ret)
		return ret;
	yaml_event_delete(&ev);
	ret = next(ld, &ev, "(top)");
	if (ret)
		return ret;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return 0; /* an empty file */
	}
	yaml_event_delete(&ev); /* document start */
	ret = next(ld, &ev, "(top)");
	if (ret)
		return ret;
	if (!is_null(&ev) && ev.type != YAML_MAPPING_START_EVENT) {
		ret = ld_err(ld, ev_line(&ev), "(top)", "expected a map with accounts:, not %s",
			     ev_kind(&ev));
		yaml_event_delete(&ev);
		return ret;
	}
	if (ev.type == YAML_MAPPING_START_EVENT) {
		for (;;) {
			yaml_event_delete(&ev);
			ret = next(ld, &ev, "(top)");
			if (ret)
				return ret;
			if (ev.type == YAML_MAPPING_END_EVENT)
				break;
			if (ev.type != YAML_SCALAR_EVENT ||
			    ev.data.scalar.length != strlen("accounts") ||
			    memcmp(ev.data.scalar.value, "accounts", strlen("accounts"))) {
				char s[SHOW_MAX + 4];

				ret = ld_err(ld, ev_line(&ev),
					     ev.type == YAML_SCALAR_EVENT
						     ? show(s, (const char *)ev.data.scalar.value,
							    ev.data.scalar.length)
						     : "(top)",
					     "unknown key (the file holds accounts:)");
				yaml_event_delete(&ev);
				return ret;
			}
			if (had_list) {
				ret = ld_err(ld, ev_line(&ev), "accounts", "given twice");
				yaml_event_delete(&ev);
				return ret;
			}
			had_list = true;
			ret = load_list(ld);
			if (ret) {
				yaml_event_delete(&ev);
				return ret;
			}
		}
	}
	yaml_event_delete(&ev);
	ret = next(ld, &ev, "(top)"); /* document end */
	if (ret)
		return ret;
	yaml_event_delete(&ev);
	ret = next(ld, &ev, "(top)");
	if (ret)
		return ret;
	if (ev.type != YAML_STREAM_END_EVENT)
		ret = ld_err(ld, ev_line(&ev), "(yaml)", "a second document; the file holds one");
	yaml_event_delete(&ev);
	return ret;
}

/* ---- the table ---- */

static uint32_t hash_key(struct sv user, struct sv domain)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (size_t i = 0; i < user.len; i++)
		h = (h ^ (uint8_t)user.p[i]) * 0x100000001b3ull;
	h = (h ^ '@') * 0x100000001b3ull;
	for (size_t i = 0; i < domain.len; i++)
		h = (h ^ (uint8_t)sv_lower(domain.p[i])) * 0x100000001b3ull;
	return (uint32_t)(h ^ (h >> 32));
}

static const struct acc_ent *find(const struct accounts *tab, uint32_t h, struct sv user,
				  struct sv domain)
{
	for (uint32_t i = tab->bucket[h & tab->mask]; i != NONE; i = tab->ent[i].next) {
		const struct acc_ent *e = &tab->ent[i];

		if (e->hash == h && sv_eq(e->a.user, user) && sv_caseeq(e->a.realm, domain))
			return e;
	}
	return NULL;
}

static int build(struct ld *ld, struct accounts *tab)
{
	uint32_t nb = 16;

	while (nb < ld->n)
		nb <<= 1;
	tab->bucket = malloc(nb * sizeof(*tab->bucket));
	tab->ent = calloc(ld->n ? ld->n : 1, sizeof(*tab->ent));
	if (!tab->bucket || !tab->ent)
		return ld_nomem(ld, 0, "accounts");
	memset(tab->bucket, 0xff, nb * sizeof(*tab->bucket));
	tab->mask = nb - 1;
	/* The region is final now: offsets become views. */
	tab->arena = ld->arena;
	tab->arena_len = ld->alen;
	ld->arena = NULL;
	for (size_t i = 0; i < ld->n; i++) {
		const struct tmp_ent *t = &ld->t[i];
		struct acc_ent *e = &tab->ent[tab->n];
		const struct acc_ent *dup;

		e->a.user = sv_make(tab->arena + t->user, t->user_len);
		e->a.realm = sv_make(tab->arena + t->dom, t->dom_len);
		if (t->pw != NONE)
			e->a.password = sv_make(tab->arena + t->pw, t->pw_len);
		if (t->md5 != NONE)
			e->a.ha1_md5 = (const uint8_t *)tab->arena + t->md5;
		if (t->sha != NONE)
			e->a.ha1_sha256 = (const uint8_t *)tab->arena + t->sha;
		e->hash = hash_key(e->a.user, e->a.realm);
		dup = find(tab, e->hash, e->a.user, e->a.realm);
		if (dup && !ld->file) {
			/* A builder: the later account wins, in place (its chain is unchanged). */
			tab->ent[dup - tab->ent].a = e->a;
			*e = (struct acc_ent){ 0 };
			continue;
		}
		if (dup) {
			char key[KEY_MAX], s[SHOW_MAX + 4], d[SHOW_MAX + 4];

			snprintf(key, sizeof(key), "accounts[%zu].user", i);
			return ld_err(ld, t->line, key, "%s@%s is already defined at line %u",
				      show(s, e->a.user.p, e->a.user.len),
				      show(d, e->a.realm.p, e->a.realm.len),
				      ld->t[dup - tab->ent].line);
		}
		e->next = tab->bucket[e->hash & tab->mask];
		tab->bucket[e->hash & tab->mask] = (uint32_t)tab->n++;
	}
	return 0;
}

/*
 * The table of what ld holds, into *tab; ld's array and region are freed or
 * taken over either way. Returns 0 or the error of build().
 */
static int finish(struct ld *ld, struct accounts **tab)
{
	struct accounts *t;
	int ret;

	if (ld->alen < ld->acap) {
		/* Give back what doubling left over (a large file: up to half). */
		char *a = realloc(ld->arena, ld->alen ? ld->alen : 1);

		if (a)
			ld->arena = a;
	}
	t = calloc(1, sizeof(*t));
	ret = t ? build(ld, t) : ld_nomem(ld, 0, "accounts");
	free(ld->t);
	free(ld->arena);
	ld->t = NULL;
	ld->arena = NULL;
	if (ret) {
		accounts_free(t);
		return ret;
	}
	*tab = t;
	return 0;
}

int accounts_load(const char *path, struct accounts **tab, char *err, size_t errlen)
{
	struct ld ld = {
		.file = path ? path : "(null)", .err = err, .errlen = errlen, .last_dom = NONE
	};
	FILE *f;
	int ret;

	*tab = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!path)
		return ld_err(&ld, 0, "(file)", "no path given");
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		ld_err(&ld, 0, "(file)", "cannot read: %s", strerror(-ret));
		return ret;
	}
	if (!yaml_parser_initialize(&ld.parser)) {
		fclose(f);
		return ld_nomem(&ld, 0, "(yaml)");
	}
	yaml_parser_set_input_file(&ld.parser, f);
	ret = load_top(&ld);
	yaml_parser_delete(&ld.parser);
	fclose(f);
	if (!ret)
		return finish(&ld, tab);
	free(ld.t);
	free(ld.arena);
	return ret;
}

/* ---- the builder ---- */

struct accounts_builder {
	struct ld ld;
};

int accounts_builder_new(struct accounts_builder **b)
{
	*b = calloc(1, sizeof(**b));
	if (!*b)
		return -ENOMEM;
	(*b)->ld.last_dom = NONE;
	return 0;
}

int accounts_builder_add(struct accounts_builder *b, struct sv user, struct sv domain,
			 struct sv password, const uint8_t *ha1_md5, const uint8_t *ha1_sha256,
			 char *err, size_t errlen)
{
	struct ld *ld = &b->ld;
	struct tmp_ent *e;
	int ret;

	ld->err = err;
	ld->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	/* Everything checked before anything is stored: a refused account costs nothing. */
	ret = check_value(ld, F_USER, "user", 0, user.p, user.len);
	if (!ret)
		ret = check_value(ld, F_DOMAIN, "domain", 0, domain.p, domain.len);
	if (!ret && password.len)
		ret = check_value(ld, F_PASSWORD, "password", 0, password.p, password.len);
	if (!ret && !password.len && !ha1_md5 && !ha1_sha256)
		ret = ld_err(ld, 0, "account", "neither password nor ha1_md5 / ha1_sha256");
	if (!ret)
		ret = new_ent(ld, 0, &e);
	if (!ret)
		ret = store_value(ld, e, F_USER, "user", 0, user.p, user.len);
	if (!ret)
		ret = store_value(ld, e, F_DOMAIN, "domain", 0, domain.p, domain.len);
	if (!ret && password.len)
		ret = store_value(ld, e, F_PASSWORD, "password", 0, password.p, password.len);
	if (!ret && ha1_md5)
		ret = store_value(ld, e, F_HA1_MD5, "ha1_md5", 0, ha1_md5, 16);
	if (!ret && ha1_sha256)
		ret = store_value(ld, e, F_HA1_SHA256, "ha1_sha256", 0, ha1_sha256, 32);
	if (!ret)
		ld->n++;
	ld->err = NULL;
	ld->errlen = 0;
	return ret;
}

int accounts_builder_finish(struct accounts_builder *b, struct accounts **tab)
{
	int ret;

	*tab = NULL;
	ret = finish(&b->ld, tab);
	free(b);
	return ret;
}

void accounts_builder_free(struct accounts_builder *b)
{
	if (!b)
		return;
	free(b->ld.t);
	free(b->ld.arena);
	free(b);
}

const struct auth_account *accounts_find(const struct accounts *tab, struct sv user,
					 struct sv domain)
{
	const struct acc_ent *e;

	if (!tab || !tab->n)
		return NULL;
	e = find(tab, hash_key(user, domain), user, domain);
	return e ? &e->a : NULL;
}

size_t accounts_count(const struct accounts *tab)
{
	return tab ? tab->n : 0;
}

size_t accounts_bytes(const struct accounts *tab)
{
	if (!tab)
		return 0;
	return sizeof(*tab) + tab->n * sizeof(*tab->ent) +
	       ((size_t)tab->mask + 1) * sizeof(*tab->bucket) + tab->arena_len;
}

void accounts_free(struct accounts *tab)
{
	if (!tab)
		return;
	free(tab->ent);
	free(tab->bucket);
	free(tab->arena);
	free(tab);
}
