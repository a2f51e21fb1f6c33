/* SPDX-License-Identifier: MIT */
/* log.c: see log.h. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Atomic int log_threshold = LOG_INFO;
static _Atomic int log_format = LOG_FORMAT_LOGFMT;
static _Atomic int log_fd = 2;

/* Room kept at the end of the line for `"` + `,"truncated":true` + `}` + `\n`. */
#define LOG_TAIL 24

static const char *const log_names[] = {
	"error", "error", "error", "error", "warning", "notice", "info", "debug",
};

static int clamp_level(int level)
{
	if (level < LOG_ERR)
		return LOG_ERR;
	if (level > LOG_DEBUG)
		return LOG_DEBUG;
	return level;
}

void log_setup(int level, int format, int fd)
{
	atomic_store_explicit(&log_format, format == LOG_FORMAT_JSON ? format : LOG_FORMAT_LOGFMT,
			      memory_order_relaxed);
	atomic_store_explicit(&log_fd, fd, memory_order_relaxed);
	atomic_store_explicit(&log_threshold, clamp_level(level), memory_order_relaxed);
}

void log_set_level(int level)
{
	atomic_store_explicit(&log_threshold, clamp_level(level), memory_order_relaxed);
}

int log_level(void)
{
	return atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

/*
 * The line being built. Content stops at lim (see build()); the first put
 * that does not fit sets full and every later one fails, so the line ends at
 * the last whole unit (octet, escape, UTF-8 character) that fitted.
 */
struct out {
	char *p;
	size_t len;
	size_t lim;
	bool full;
	bool in_str; /* inside a quoted string, to be closed if cut */
};

static bool put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->lim - o->len) {
		o->full = true;
		return false;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	return true;
}

static bool putc_(struct out *o, char c)
{
	return put(o, &c, 1);
}

/* Copy what fits of a run that can be cut anywhere (ASCII). */
static bool put_cut(struct out *o, const char *s, size_t n)
{
	size_t room = o->full ? 0 : o->lim - o->len;

	if (n <= room)
		return put(o, s, n);
	memcpy(o->p + o->len, s, room);
	o->len += room;
	o->full = true;
	return false;
}

/* Length of the valid UTF-8 sequence at s (n > 0 octets left, s[0] >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	/* The second octet's range excludes overlongs, surrogates, > U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* An octet that may stand in a string without escaping. */
static bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/*
 * The body of a quoted string (both formats escape alike). With unescape, the
 * input is a quoted kv value and its \" and \\ stand for " and \. Stops at the
 * first unit that does not fit.
 */
static bool put_escaped(struct out *o, const char *s, size_t n, bool unescape)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t run = i;

		while (run < n && plain(u[run]))
			run++;
		if (run > i) {
			if (!put_cut(o, s + i, run - i))
				return false;
			i = run;
			continue;
		}
		unsigned char c = u[i];
		char esc[6] = { '\\', 0, '0', '0', 0, 0 };
		size_t len;
		bool ok;

		if (c == '\\' && unescape && i + 1 < n && (u[i + 1] == '"' || u[i + 1] == '\\'))
			c = u[++i];
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			ok = put(o, esc, 2);
		} else if (c == '\n' || c == '\r' || c == '\t') {
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			ok = put(o, esc, 2);
		} else if (c < 0x80) { /* other controls, DEL */
			esc[1] = 'u';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			ok = put(o, esc, 6);
		} else if ((len = utf8_len(u + i, n - i)) > 0) {
			ok = put(o, s + i, len);
			i += len - 1;
		} else {
			ok = put(o, "\xef\xbf\xbd", 3); /* U+FFFD */
		}
		if (!ok)
			return false;
		i++;
	}
	return true;
}

/* A logfmt value needs quotes if empty or holding anything but plain non-space octets. */
static bool logfmt_needs_quotes(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (u[i] >= 0x80) {
			size_t len = utf8_len(u + i, n - i);

			if (!len)
				return true;
			i += len - 1;
		} else if (!plain(u[i]) || u[i] == ' ' || u[i] == '=') {
			return true;
		}
	}
	return false;
}

/* -?(0|[1-9][0-9]*), at most 19 digits: a JSON number every parser reads exactly. */
static bool json_integer(const char *s, size_t n)
{
	size_t i = n > 0 && s[0] == '-';

	if (i == n || n - i > 19 || (s[i] == '0' && n - i > 1))
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool put_quoted(struct out *o, const char *s, size_t n, bool unescape)
{
	if (!putc_(o, '"'))
		return false;
	o->in_str = true;
	if (!put_escaped(o, s, n, unescape) || !putc_(o, '"'))
		return false;
	o->in_str = false;
	return true;
}

/* What a field's value is. */
enum val {
	VAL_NONE,   /* a bare key: logfmt `key`, JSON `"key":true` */
	VAL_TOKEN,  /* unquoted in the kv text: may be a JSON number, may stay bare in logfmt */
	VAL_QUOTED, /* quoted in the kv text: a string, with \" and \\ to undo */
	VAL_STRING, /* a C string of ours (ts, level, mod): a string, quoted if need be */
};

/*
 * One field: separator, key, value. A key is never cut: if it does not fit,
 * the field is taken back whole. A value may be cut (at a unit boundary),
 * except a number, which is taken back whole too.
 */
static void put_field(struct out *o, bool json, bool first, const char *key, size_t klen,
		      enum val kind, const char *val, size_t vlen)
{
	size_t mark = o->len;
	bool ok = true;

	if (!first)
		ok = putc_(o, json ? ',' : ' ');
	if (json)
		ok = ok && putc_(o, '"');
	if (klen == 0)
		ok = ok && putc_(o, '_');
	for (size_t i = 0; ok && i < klen; i++) {
		unsigned char c = (unsigned char)key[i];

		ok = putc_(o, plain(c) && c != ' ' && c != '=' ? (char)c : '_');
	}
	if (json)
		ok = ok && put(o, "\":", 2);
	else if (kind != VAL_NONE)
		ok = ok && putc_(o, '=');
	if (!ok) {
		o->len = mark;
		return;
	}
	switch (kind) {
	case VAL_NONE:
		if (json && !put(o, "true", 4))
			o->len = mark;
		return;
	case VAL_TOKEN:
		if (json && json_integer(val, vlen)) {
			if (!put(o, val, vlen))
				o->len = mark;
			return;
		}
		/* fall through */
	case VAL_STRING:
		if (!json && !logfmt_needs_quotes(val, vlen)) {
			put_escaped(o, val, vlen, false); /* nothing to escape: may be cut */
			return;
		}
		break;
	case VAL_QUOTED:
		break;
	}
	if (o->lim - o->len < 2) { /* not even the opening quote and one octet */
		o->len = mark;
		o->full = true;
		return;
	}
	put_quoted(o, val, vlen, kind == VAL_QUOTED);
}

/* Split the formatted pairs into fields; see log.h for the syntax. */
static void put_pairs(struct out *o, bool json, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && !o->full) {
		while (i < n && s[i] == ' ')
			i++;
		if (i == n)
			break;
		size_t k = i;

		while (i < n && s[i] != ' ' && s[i] != '=')
			i++;
		size_t klen = i - k;

		if (i == n || s[i] == ' ') {
			put_field(o, json, false, s + k, klen, VAL_NONE, NULL, 0);
			continue;
		}
		i++; /* '=' */
		if (i < n && s[i] == '"') {
			size_t v = ++i;

			while (i < n && s[i] != '"')
				i += s[i] == '\\' && i + 1 < n ? 2 : 1;
			put_field(o, json, false, s + k, klen, VAL_QUOTED, s + v, i - v);
			if (i < n)
				i++; /* closing '"' */
			continue;
		}
		size_t v = i;

		while (i < n && s[i] != ' ')
			i++;
		put_field(o, json, false, s + k, klen, VAL_TOKEN, s + v, i - v);
	}
}

/* "2026-11-21T10:00:00.123Z" (24 octets) into ts, from CLOCK_REALTIME. */
static void format_ts(char ts[25])
{
	struct timespec now;
	int64_t days, secs, y, m, d, era, doe, yoe, doy, mp;

	clock_gettime(CLOCK_REALTIME, &now);
	days = (int64_t)now.tv_sec / 86400;
	secs = (int64_t)now.tv_sec % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	/* Civil date from days since 1970-01-01 (H. Hinnant's algorithm). */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	if (y < 0 || y > 9999)
		y = 0;
	snprintf(ts, 25, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, (int)m, (int)d,
		 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
		 (int)(now.tv_nsec / 1000000));
}

static void write_line(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		/* Short only on a non-pipe fd; the rest follows at once. */
		p += w;
		n -= (size_t)w;
	}
}

/*
 * The line without its tail, into o (o->lim set by the caller). Built twice
 * when too long: first against the whole line, so that a line that fits is
 * never cut; then, if it did not fit, against the line less LOG_TAIL, which
 * leaves room for the marker.
 */
static void build(struct out *o, bool json, const char *ts, const char *name, const char *mod,
		  const char *msg, const char *kv, size_t kvlen)
{
	o->len = 0;
	o->full = false;
	o->in_str = false;
	if (json) {
		putc_(o, '{');
		put_field(o, true, true, "ts", 2, VAL_STRING, ts, strlen(ts));
		put_field(o, true, false, "level", 5, VAL_STRING, name, strlen(name));
		put_field(o, true, false, "mod", 3, VAL_STRING, mod, strlen(mod));
		put_field(o, true, false, "msg", 3, VAL_STRING, msg, strlen(msg));
	} else {
		put_field(o, false, true, "ts", 2, VAL_STRING, ts, strlen(ts));
		put_field(o, false, false, "level", 5, VAL_STRING, name, strlen(name));
		put_field(o, false, false, "mod", 3, VAL_STRING, mod, strlen(mod));
		/* msg is always quoted, even when it need not be. */
		if (put(o, " msg=", 5))
			put_quoted(o, msg, strlen(msg), false);
	}
	put_pairs(o, json, kv, kvlen);
}

void log_kv(int level, const char *mod, const char *msg, const char *kvfmt, ...)
{
	char line[LOG_LINE_MAX], kv[LOG_LINE_MAX], ts[25];
	struct out o = { .p = line };
	int saved = errno, fd;
	size_t kvlen = 0;
	bool json, cut = false;

	if (!log_enabled(level))
		return;
	fd = atomic_load_explicit(&log_fd, memory_order_relaxed);
	if (fd < 0)
		return;
	json = atomic_load_explicit(&log_format, memory_order_relaxed) == LOG_FORMAT_JSON;
	if (kvfmt) {
		va_list ap;
		int r;

		va_start(ap, kvfmt);
		r = vsnprintf(kv, sizeof(kv), kvfmt, ap);
		va_end(ap);
		if (r > 0) {
			kvlen = (size_t)r < sizeof(kv) ? (size_t)r : sizeof(kv) - 1;
			cut = (size_t)r >= sizeof(kv);
		}
		errno = saved; /* %m is expanded; give the caller its errno back */
	}
	format_ts(ts);

	const char *name = log_names[clamp_level(level)];

	if (!cut) {
		o.lim = LOG_LINE_MAX - (json ? 2 : 1); /* '}' and '\n' */
		build(&o, json, ts, name, mod ? mod : "", msg ? msg : "", kv, kvlen);
		cut = o.full;
	}
	if (cut) {
		o.lim = LOG_LINE_MAX - LOG_TAIL;
		build(&o, json, ts, name, mod ? mod : "", msg ? msg : "", kv, kvlen);
		/* The tail goes into the LOG_TAIL octets kept free. */
		o.lim = LOG_LINE_MAX;
		o.full = false;
		if (o.in_str)
			putc_(&o, '"');
		put(&o, json ? ",\"truncated\":true" : " truncated=true", json ? 17 : 15);
	}
	o.lim = LOG_LINE_MAX;
	if (json)
		putc_(&o, '}');
	putc_(&o, '\n');
	write_line(fd, line, o.len);
	errno = saved;
}
