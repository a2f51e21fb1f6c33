/* SPDX-License-Identifier: MIT */
/*
 * sv.h: the string view every sipring module passes around.
 *
 * A `struct sv` is two words, a pointer and a length, passed by value. It never
 * owns its bytes: a view returned by a parser points into the caller's buffer and
 * lives exactly as long as that buffer. Nothing here reads past `p + len`, and no
 * function expects a NUL terminator.
 */
#ifndef SIPRING_SV_H
#define SIPRING_SV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sv {
	const char *p;
	size_t len;
};

/* A view of a string literal, e.g. SV_LIT("INVITE"). */
#define SV_LIT(s) ((struct sv){ (s), sizeof(s) - 1 })
#define SV_NULL	  ((struct sv){ NULL, 0 })

static inline struct sv sv_make(const char *p, size_t len)
{
	return (struct sv){ p, len };
}

/* A view of [b, e). */
static inline struct sv sv_range(const char *b, const char *e)
{
	return (struct sv){ b, (size_t)(e - b) };
}

static inline struct sv sv_cstr(const char *s)
{
	return (struct sv){ s, strlen(s) };
}

static inline bool sv_empty(struct sv s)
{
	return s.len == 0;
}

static inline bool sv_eq(struct sv a, struct sv b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline char sv_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* ASCII case-insensitive equality (SIP tokens, header names, parameters). */
static inline bool sv_caseeq(struct sv a, struct sv b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (sv_lower(a.p[i]) != sv_lower(b.p[i]))
			return false;
	return true;
}

static inline bool sv_caseeq_lit(struct sv a, const char *lit)
{
	return sv_caseeq(a, sv_cstr(lit));
}

static inline bool sv_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Strip linear white space (SP, HTAB, and CRLF of folded lines) at both ends. */
static inline struct sv sv_trim(struct sv s)
{
	while (s.len && sv_is_ws(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && sv_is_ws(s.p[s.len - 1]))
		s.len--;
	return s;
}

/* The part of s after the first n bytes (n <= s.len). */
static inline struct sv sv_skip(struct sv s, size_t n)
{
	return (struct sv){ s.p + n, s.len - n };
}

/* Index of c in s, or -1. */
static inline ptrdiff_t sv_find(struct sv s, char c)
{
	const char *q = s.len ? memchr(s.p, c, s.len) : NULL;
	return q ? q - s.p : -1;
}

/* Length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 when s[0] does not start one.
 * An ASCII octet, NUL included, is a sequence of 1. n >= 1. */
static inline size_t sv_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/*
 * Parse an unsigned decimal of at most `max` value. Returns 0 and stores the
 * value, or -ERANGE when it overflows max, or -EINVAL when s is empty or holds a
 * non-digit. Leading zeros are allowed (RFC 4475 wsinv: "0068").
 */
int sv_to_u64(struct sv s, uint64_t max, uint64_t *out);

#endif
