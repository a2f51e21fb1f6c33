/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/log.h, reading the lines back from a pipe: exact shapes in both
 * formats (the timestamp checked by pattern, then replaced by "TS"), escaping,
 * JSON validity (a small checker below), level filtering, truncation at every
 * length around the limit, and threads writing at once.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- capture: a pipe as the log fd ---- */

static int cap[2];
static char capbuf[1 << 20];
static size_t caplen;

static void cap_start(int level, int format)
{
	cr_assert_eq(pipe(cap), 0);
	log_setup(level, format, cap[1]);
}

/* Stop logging to the pipe and read everything written; capbuf is NUL-terminated. */
static const char *cap_end(void)
{
	ssize_t r;

	log_setup(LOG_INFO, LOG_FORMAT_LOGFMT, -1);
	close(cap[1]);
	caplen = 0;
	while ((r = read(cap[0], capbuf + caplen, sizeof(capbuf) - 1 - caplen)) > 0)
		caplen += (size_t)r;
	close(cap[0]);
	capbuf[caplen] = 0;
	return capbuf;
}

/* ---- checkers ---- */

static bool ts_ok(const char *p)
{
	static regex_t re;
	static bool compiled;
	char ts[25];

	if (!compiled) {
		cr_assert_eq(regcomp(&re,
				     "^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T"
				     "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z$",
				     REG_EXTENDED | REG_NOSUB),
			     0);
		compiled = true;
	}
	if (strnlen(p, 24) < 24)
		return false;
	memcpy(ts, p, 24);
	ts[24] = 0;
	return regexec(&re, ts, 0, NULL, 0) == 0;
}

/*
 * The line at p (up to and including its '\n') with the timestamp, checked,
 * replaced by TS. Returns a static copy.
 */
static const char *norm(const char *p)
{
	static char out[8192];
	const char *nl = strchr(p, '\n');
	size_t pre;

	cr_assert_not_null(nl, "no newline: %s", p);
	if (strncmp(p, "ts=", 3) == 0)
		pre = 3;
	else if (strncmp(p, "{\"ts\":\"", 7) == 0)
		pre = 7;
	else
		cr_assert_fail("no ts: %s", p);
	cr_assert(ts_ok(p + pre), "ts: %.40s", p);
	cr_assert_lt((size_t)(nl + 1 - p), sizeof(out) - 1);
	memcpy(out, p, pre);
	memcpy(out + pre, "TS", 2);
	memcpy(out + pre + 2, p + pre + 24, (size_t)(nl + 1 - (p + pre + 24)));
	out[pre + 2 + (size_t)(nl + 1 - (p + pre + 24))] = 0;
	return out;
}

static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len = c < 0x80		      ? 1
		     : c >= 0xc2 && c <= 0xdf ? 2
		     : c >= 0xe0 && c <= 0xef ? 3
		     : c >= 0xf0 && c <= 0xf4 ? 4
					      : 0;

	if (!len || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	return len;
}

static bool utf8_ok(const char *s, size_t n)
{
	for (size_t i = 0, l; i < n; i += l)
		if (!(l = utf8_len((const unsigned char *)s + i, n - i)))
			return false;
	return true;
}

/* A small JSON checker (RFC 8259), enough to say whether a line is one valid value. */
struct js {
	const char *p, *end;
	int depth;
};

static bool js_value(struct js *j);

static void js_ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool js_lit(struct js *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool js_digits(struct js *j)
{
	const char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static bool js_number(struct js *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!js_digits(j))
		return false;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!js_digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!js_digits(j))
			return false;
	}
	return true;
}

static bool js_string(struct js *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p;

		if (c == '"') {
			j->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (++j->p >= j->end)
				return false;
			if (*j->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (j->p + i >= j->end ||
					    !strchr("0123456789abcdefABCDEF", j->p[i]) || !j->p[i])
						return false;
				j->p += 5;
			} else if (strchr("\"\\/bfnrt", *j->p) && *j->p) {
				j->p++;
			} else {
				return false;
			}
			continue;
		}
		size_t l = utf8_len((const unsigned char *)j->p, (size_t)(j->end - j->p));

		if (!l)
			return false;
		j->p += l;
	}
	return false;
}

static bool js_members(struct js *j, char close, bool keys)
{
	j->p++;
	js_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		js_ws(j);
		if (keys) {
			if (!js_string(j))
				return false;
			js_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return false;
		}
		if (!js_value(j))
			return false;
		js_ws(j);
		if (j->p >= j->end)
			return false;
		if (*j->p == close) {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return false;
	}
}

static bool js_value(struct js *j)
{
	bool ok;

	js_ws(j);
	if (j->p >= j->end || ++j->depth > 64)
		return false;
	switch (*j->p) {
	case '{':
		ok = js_members(j, '}', true);
		break;
	case '[':
		ok = js_members(j, ']', false);
		break;
	case '"':
		ok = js_string(j);
		break;
	case 't':
		ok = js_lit(j, "true");
		break;
	case 'f':
		ok = js_lit(j, "false");
		break;
	case 'n':
		ok = js_lit(j, "null");
		break;
	default:
		ok = js_number(j);
	}
	j->depth--;
	return ok;
}

/* Exactly one JSON object, then '\n'. */
static bool json_line_ok(const char *p, size_t n)
{
	struct js j = { p, p + n, 0 };

	if (n == 0 || p[n - 1] != '\n' || p[0] != '{')
		return false;
	j.end--;
	return js_value(&j) && j.p == j.end;
}

Test(log, json_checker_itself)
{
	static const struct {
		const char *in;
		bool ok;
	} t[] = {
		{ "{}\n", true },
		{ "{\"a\":1,\"b\":[true,false,null,-0.5e3],\"c\":\"\\u00e9\\n\"}\n", true },
		{ "{\"a\":01}\n", false },
		{ "{\"a\":1,}\n", false },
		{ "{\"a\":\"x\ty\"}\n", false }, /* raw control */
		{ "{\"a\":\"\\x\"}\n", false },
		{ "{\"a\":\"\xff\"}\n", false },
		{ "{\"a\":1}}\n", false },
		{ "{\"a\":1}", false },
		{ "{\"a\"}\n", false },
	};

	for (size_t i = 0; i < N(t); i++)
		cr_assert_eq(json_line_ok(t[i].in, strlen(t[i].in)), t[i].ok, "%s", t[i].in);
}

/* ---- exact shapes ---- */

Test(log, shapes)
{
	static const struct {
		const char *mod, *msg, *kv; /* kv NULL: no kvfmt */
		const char *logfmt, *json;  /* after the ts, up to the '\n' */
	} t[] = {
		{ "uring", "listening", "addr=127.0.0.1:5060 worker=0",
		  " level=info mod=uring msg=\"listening\" addr=127.0.0.1:5060 worker=0",
		  ",\"level\":\"info\",\"mod\":\"uring\",\"msg\":\"listening\","
		  "\"addr\":\"127.0.0.1:5060\",\"worker\":0}" },
		{ "m", "hello", NULL, " level=info mod=m msg=\"hello\"",
		  ",\"level\":\"info\",\"mod\":\"m\",\"msg\":\"hello\"}" },
		{ "m", "hello", "", " level=info mod=m msg=\"hello\"",
		  ",\"level\":\"info\",\"mod\":\"m\",\"msg\":\"hello\"}" },
		/* the message escaped */
		{ "m", "say \"hi\"\\ \n\t\r\x01\x1f\x7f", NULL,
		  " level=info mod=m msg=\"say \\\"hi\\\"\\\\ \\n\\t\\r\\u0001\\u001f\\u007f\"",
		  ",\"level\":\"info\",\"mod\":\"m\",\"msg\":\"say \\\"hi\\\"\\\\ "
		  "\\n\\t\\r\\u0001\\u001f\\u007f\"}" },
		/* quoted values, with spaces and escapes; a quoted integer stays a string */
		{ "m", "x", "ua=\"Linphone 5.2\" n=5 q=\"a \\\"b\\\" c\\\\d\" s=\"5\"",
		  " level=info mod=m msg=\"x\" ua=\"Linphone 5.2\" n=5 q=\"a \\\"b\\\" c\\\\d\" "
		  "s=\"5\"",
		  ",\"level\":\"info\",\"mod\":\"m\",\"msg\":\"x\",\"ua\":\"Linphone 5.2\",\"n\":5,"
		  "\"q\":\"a \\\"b\\\" c\\\\d\",\"s\":\"5\"}" },
		/* what counts as a JSON number */
		{ "m", "x",
		  "a=-12 b=007 c=1.5 d=12345678901234567890 e=- f=0 g=-0 h=9223372036854775807",
		  " level=info mod=m msg=\"x\" a=-12 b=007 c=1.5 d=12345678901234567890 e=- f=0 "
		  "g=-0 "
		  "h=9223372036854775807",
		  ",\"level\":\"info\",\"mod\":\"m\",\"msg\":\"x\",\"a\":-12,\"b\":\"007\",\"c\":"
		  "\"1.5\","
		  "\"d\":\"12345678901234567890\",\"e\":\"-\",\"f\":0,\"g\":-0,"
		  "\"h\":9223372036854775807}" },
		/* bare key, empty value, empty key, odd key octets, extra spaces */
		{ "m", "x", "  flag   x= =v k\"y=1 k\xc3\xa9=2  ",
		  " level=info mod=m msg=\"x\" flag x=\"\" _=v k_y=1 k__=2",
		  ",\"level\":\"info\",\"mod\":\"m\",\"msg\":\"x\",\"flag\":true,\"x\":\"\",\"_\":"
		  "\"v\","
		  "\"k_y\":1,\"k__\":2}" },
		/* an unterminated quote takes the rest; a trailing backslash is kept */
		{ "m", "x", "a=\"open b=2\\", " level=info mod=m msg=\"x\" a=\"open b=2\\\\\"",
		  ",\"level\":\"info\",\"mod\":\"m\",\"msg\":\"x\",\"a\":\"open b=2\\\\\"}" },
		/* unquoted values that need quotes in logfmt */
		{ "m", "x", "v=a\x01z w=a\"b u=\\",
		  " level=info mod=m msg=\"x\" v=\"a\\u0001z\" w=\"a\\\"b\" u=\"\\\\\"",
		  ",\"level\":\"info\",\"mod\":\"m\",\"msg\":\"x\",\"v\":\"a\\u0001z\",\"w\":"
		  "\"a\\\"b\","
		  "\"u\":\"\\\\\"}" },
		/* a value containing '=' is quoted in logfmt */
		{ "m", "x", "k=a=b", " level=info mod=m msg=\"x\" k=\"a=b\"",
		  ",\"level\":\"info\",\"mod\":\"m\",\"msg\":\"x\",\"k\":\"a=b\"}" },
		/* UTF-8: valid passes, unquoted in logfmt; invalid becomes U+FFFD */
		{ "m",
		  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad\xff\xc3( \xed\xa0\x80 \xc0\xaf",
		  "city=Z\xc3\xbcrich raw=\xfe",
		  " level=info mod=m msg=\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
		  "bad\xef\xbf\xbd\xef\xbf\xbd( \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
		  "\xef\xbf\xbd\xef\xbf\xbd\" city=Z\xc3\xbcrich raw=\"\xef\xbf\xbd\"",
		  ",\"level\":\"info\",\"mod\":\"m\",\"msg\":\"caf\xc3\xa9 \xe2\x82\xac "
		  "\xf0\x9f\x98\x80 "
		  "bad\xef\xbf\xbd\xef\xbf\xbd( \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
		  "\xef\xbf\xbd\xef\xbf\xbd\",\"city\":\"Z\xc3\xbcrich\",\"raw\":"
		  "\"\xef\xbf\xbd\"}" },
		/* the module quoted when it must be; NULL module and message */
		{ "a b", "x", NULL, " level=info mod=\"a b\" msg=\"x\"",
		  ",\"level\":\"info\",\"mod\":\"a b\",\"msg\":\"x\"}" },
		{ NULL, NULL, NULL, " level=info mod=\"\" msg=\"\"",
		  ",\"level\":\"info\",\"mod\":\"\",\"msg\":\"\"}" },
	};

	for (int json = 0; json <= 1; json++) {
		for (size_t i = 0; i < N(t); i++) {
			char want[1024];
			const char *got;

			cap_start(LOG_DEBUG, json);
			if (t[i].kv)
				log_kv(LOG_INFO, t[i].mod, t[i].msg, "%s", t[i].kv);
			else
				log_kv(LOG_INFO, t[i].mod, t[i].msg, NULL);
			cap_end();
			cr_assert_eq(strchr(capbuf, '\n') - capbuf + 1, (long)caplen, "one line");
			snprintf(want, sizeof(want), "%s%s\n", json ? "{\"ts\":\"TS\"" : "ts=TS",
				 json ? t[i].json : t[i].logfmt);
			got = norm(capbuf);
			cr_assert_str_eq(got, want, "row %zu (%s)", i, json ? "json" : "logfmt");
			if (json)
				cr_assert(json_line_ok(capbuf, caplen), "row %zu: %s", i, capbuf);
			cr_assert(utf8_ok(capbuf, caplen));
		}
	}
}

Test(log, level_names)
{
	static const struct {
		int level;
		const char *name;
	} t[] = {
		{ LOG_EMERG, "error" },	    { LOG_CRIT, "error" },    { LOG_ERR, "error" },
		{ LOG_WARNING, "warning" }, { LOG_NOTICE, "notice" }, { LOG_INFO, "info" },
		{ LOG_DEBUG, "debug" },
	};
	char want[128];

	for (size_t i = 0; i < N(t); i++) {
		cap_start(LOG_DEBUG, LOG_FORMAT_LOGFMT);
		log_kv(t[i].level, "m", "x", NULL);
		cap_end();
		snprintf(want, sizeof(want), "ts=TS level=%s mod=m msg=\"x\"\n", t[i].name);
		cr_assert_str_eq(norm(capbuf), want);
	}
}

static int evaluated;

static int side_effect(void)
{
	return ++evaluated;
}

Test(log, level_filtering)
{
	cap_start(LOG_WARNING, LOG_FORMAT_LOGFMT);
	cr_assert_eq(log_level(), LOG_WARNING);
	cr_assert(log_enabled(LOG_ERR));
	cr_assert(log_enabled(LOG_WARNING));
	cr_assert(!log_enabled(LOG_NOTICE));
	LOG_E("m", "e", "n=%d", side_effect());
	LOG_W("m", "w", "n=%d", side_effect());
	LOG_N("m", "n", "n=%d", side_effect());
	LOG_I("m", "i", "n=%d", side_effect());
	LOG_D("m", "d", "n=%d", side_effect());
	LOG_I("m", "i", NULL);
	log_kv(LOG_INFO, "m", "direct", NULL); /* filtered without the macro too */
	cr_assert_eq(evaluated, 2, "arguments of disabled levels are not evaluated");
	log_set_level(LOG_DEBUG);
	cr_assert_eq(log_level(), LOG_DEBUG);
	LOG_D("m", "d2", NULL);
	log_set_level(LOG_ERR);
	LOG_W("m", "w2", NULL);
	LOG_E("m", "e2", NULL);
	cap_end();
	cr_assert(strstr(capbuf, "level=error mod=m msg=\"e\" n=1\n"));
	cr_assert(strstr(capbuf, "level=warning mod=m msg=\"w\" n=2\n"));
	cr_assert(strstr(capbuf, "level=debug mod=m msg=\"d2\"\n"));
	cr_assert(strstr(capbuf, "level=error mod=m msg=\"e2\"\n"));
	cr_assert_null(strstr(capbuf, "msg=\"i\""));
	cr_assert_null(strstr(capbuf, "msg=\"w2\""));
	cr_assert_null(strstr(capbuf, "direct"));

	/* Out of range thresholds are clamped; an unknown format is logfmt. */
	log_set_level(100);
	cr_assert_eq(log_level(), LOG_DEBUG);
	log_set_level(-3);
	cr_assert_eq(log_level(), LOG_ERR);
	cap_start(LOG_INFO, 7);
	LOG_I("m", "x", NULL);
	cap_end();
	cr_assert_str_eq(norm(capbuf), "ts=TS level=info mod=m msg=\"x\"\n");
}

Test(log, errno_preserved)
{
	cap_start(LOG_INFO, LOG_FORMAT_LOGFMT);
	errno = ENOENT;
	LOG_I("m", "open", "err=\"%m\" path=/x");
	cr_assert_eq(errno, ENOENT);
	errno = 1234;
	LOG_I("m", "x", NULL);
	LOG_D("m", "x", NULL);
	cr_assert_eq(errno, 1234);
	cap_end();
	cr_assert(strstr(capbuf, "msg=\"open\" err=\"No such file or directory\" path=/x\n"));

	/* A bad fd: the line is lost, errno is kept, nothing crashes. */
	log_setup(LOG_INFO, LOG_FORMAT_LOGFMT, 1000);
	errno = 77;
	LOG_I("m", "x", NULL);
	cr_assert_eq(errno, 77);
	log_setup(LOG_INFO, LOG_FORMAT_LOGFMT, -1);
}

/* ---- truncation ---- */

static char big[20000];

static void check_cut_line(bool json, size_t *len, bool *cut)
{
	const char *marker = json ? ",\"truncated\":true}\n" : " truncated=true\n";
	size_t ml = strlen(marker);

	cr_assert_gt(caplen, 0);
	cr_assert_eq(strchr(capbuf, '\n') - capbuf + 1, (long)caplen, "one line");
	cr_assert_leq(caplen, LOG_LINE_MAX);
	cr_assert(utf8_ok(capbuf, caplen));
	norm(capbuf);
	if (json)
		cr_assert(json_line_ok(capbuf, caplen), "%s", capbuf);
	*len = caplen;
	*cut = caplen >= ml && memcmp(capbuf + caplen - ml, marker, ml) == 0;
}

/*
 * A message of every length around the limit, of plain octets, of escapes
 * (2 or 6 octets out) and of 3-octet UTF-8: a line is cut if and only if it
 * would be longer than LOG_LINE_MAX, never inside an escape or a character.
 */
Test(log, truncation_sweep)
{
	static const char *const units[] = { "a", "\"", "\x01", "\xe2\x82\xac" };
	static const size_t out_len[] = { 1, 2, 6, 3 };

	for (int json = 0; json <= 1; json++) {
		/* Octets around msg: ts=TS... (29 + 24 = 53) or {"ts":...} (61 + 24 = 85) */
		size_t fixed = json ? strlen("{\"ts\":\"\",\"level\":\"info\",\"mod\":\"m\","
					     "\"msg\":\"\"}\n")
				    : strlen("ts= level=info mod=m msg=\"\"\n");

		fixed += 24;
		for (size_t u = 0; u < N(units); u++) {
			size_t ul = strlen(units[u]);

			for (size_t n = 3900 / out_len[u]; n <= 4150 / out_len[u]; n++) {
				size_t full = fixed + n * out_len[u], len;
				bool cut;

				for (size_t k = 0; k < n; k++)
					memcpy(big + k * ul, units[u], ul);
				big[n * ul] = 0;
				cap_start(LOG_INFO, json);
				LOG_I("m", big, NULL);
				cap_end();
				check_cut_line(json, &len, &cut);
				if (full <= LOG_LINE_MAX) {
					cr_assert(!cut, "%s unit %zu n %zu: cut at %zu",
						  json ? "json" : "logfmt", u, n, len);
					cr_assert_eq(len, full);
				} else {
					cr_assert(cut, "%s unit %zu n %zu: not cut (%zu)",
						  json ? "json" : "logfmt", u, n, len);
					cr_assert_geq(len, LOG_LINE_MAX - 24 - 8, "cut too early");
				}
			}
		}
	}
}

/* Many pairs: the cut falls between pairs, the last one whole. */
Test(log, truncation_between_pairs)
{
	for (int json = 0; json <= 1; json++) {
		size_t off = 0, len;
		bool cut;
		int k = -1, v = -2;

		for (int i = 0; i < 1000; i++)
			off += (size_t)snprintf(big + off, sizeof(big) - off, "k%04d=%d ", i, i);
		cap_start(LOG_INFO, json);
		LOG_I("m", "pairs", "%s", big);
		cap_end();
		check_cut_line(json, &len, &cut);
		cr_assert(cut);
		capbuf[len - (json ? 19 : 16)] = 0; /* drop the marker */
		const char *last = strrchr(capbuf, json ? ',' : ' ');

		cr_assert_not_null(last);
		cr_assert_eq(sscanf(last + 1, json ? "\"k%d\":%d" : "k%d=%d", &k, &v), 2, "%s",
			     last);
		cr_assert_eq(k, v, "the last pair is whole: %s", last);
		cr_assert_gt(k, 300);
	}
}

Test(log, truncation_keys_values_module)
{
	static const struct {
		int json;
		int what; /* 0 long key, 1 long unquoted value, 2 long module, 3 kv past the buffer */
		const char *tail;
	} t[] = {
		{ 0, 0, "msg=\"x\" a=1 truncated=true\n" },
		{ 1, 0, "\"msg\":\"x\",\"a\":1,\"truncated\":true}\n" },
		{ 0, 1, "vvvvvvvv truncated=true\n" },
		{ 1, 1, "vvvvvvvv\",\"truncated\":true}\n" },
		{ 0, 2, "mmmmmmmm truncated=true\n" }, /* bare, so cut bare */
		{ 1, 2, "mmmmmmmm\",\"truncated\":true}\n" },
		{ 0, 3, "msg=\"x\" a=1 truncated=true\n" },
		{ 1, 3, "\"msg\":\"x\",\"a\":1,\"truncated\":true}\n" },
	};

	for (size_t i = 0; i < N(t); i++) {
		const char *mod = "m";
		size_t len, tl = strlen(t[i].tail);
		bool cut;

		memset(big, 0, sizeof(big));
		if (t[i].what == 0) {
			strcpy(big, "a=1 ");
			memset(big + 4, 'k', 5000);
			strcpy(big + 5004, "=2");
		} else if (t[i].what == 1) {
			strcpy(big, "a=1 v=");
			memset(big + 6, 'v', 5000);
		} else if (t[i].what == 2) {
			memset(big, 'm', 5000);
			mod = big;
		} else {
			strcpy(big, "a=1");
			memset(big + 3, ' ', 9000);
			strcpy(big + 9003, "b=2");
		}
		cap_start(LOG_INFO, t[i].json);
		if (t[i].what == 2)
			LOG_I(mod, "x", NULL);
		else
			LOG_I(mod, "x", "%s", big);
		cap_end();
		check_cut_line(t[i].json, &len, &cut);
		cr_assert(cut, "row %zu", i);
		cr_assert(len >= tl && memcmp(capbuf + len - tl, t[i].tail, tl) == 0, "row %zu: %s",
			  i, capbuf + (len > 80 ? len - 80 : 0));
	}
}

/* ---- threads ---- */

#define THREADS 8
#define LINES	600

static char pad[LOG_LINE_MAX + 100];

static void *writer(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (int seq = 0; seq < LINES; seq++) {
		/* Lengths from 0 to past the limit: short, long and cut lines mixed. */
		size_t plen = 1 + (size_t)(seq * 97 + id * 13) % (sizeof(pad) - 2);

		LOG_I("t", "line", "thread=%d seq=%d pad=%s", id, seq,
		      pad + sizeof(pad) - 1 - plen);
	}
	return NULL;
}

struct reader {
	int fd;
	char *buf;
	size_t len, cap;
};

static void *reader(void *arg)
{
	struct reader *r = arg;
	ssize_t n;

	while ((n = read(r->fd, r->buf + r->len, r->cap - r->len)) > 0)
		r->len += (size_t)n;
	return NULL;
}

Test(log, concurrent_writers_never_interleave)
{
	pthread_t w[THREADS], rd;
	struct reader r = { .cap = (size_t)THREADS * LINES * LOG_LINE_MAX };
	int fds[2], next[THREADS] = { 0 }, lines = 0;

	memset(pad, 'x', sizeof(pad) - 1);
	r.buf = malloc(r.cap);
	cr_assert_not_null(r.buf);
	cr_assert_eq(pipe(fds), 0);
	r.fd = fds[0];
	log_setup(LOG_INFO, LOG_FORMAT_LOGFMT, fds[1]);
	cr_assert_eq(pthread_create(&rd, NULL, reader, &r), 0);
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&w[i], NULL, writer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(w[i], NULL);
	log_setup(LOG_INFO, LOG_FORMAT_LOGFMT, -1);
	close(fds[1]);
	pthread_join(rd, NULL);
	close(fds[0]);

	for (char *p = r.buf, *end = r.buf + r.len, *nl; p < end; p = nl + 1) {
		int id, seq, off = 0;

		nl = memchr(p, '\n', (size_t)(end - p));
		cr_assert_not_null(nl, "a line without its end");
		cr_assert_leq(nl + 1 - p, LOG_LINE_MAX);
		cr_assert(strncmp(p, "ts=", 3) == 0 && ts_ok(p + 3), "%.60s", p);
		cr_assert_eq(sscanf(p + 27,
				    " level=info mod=t msg=\"line\" thread=%d seq=%d pad=%n", &id,
				    &seq, &off),
			     2, "%.80s", p);
		cr_assert(off > 0 && id >= 0 && id < THREADS, "%.80s", p);
		cr_assert_eq(seq, next[id], "thread %d: seq %d after %d", id, seq, next[id] - 1);
		next[id]++;
		/* The rest is x..., then the marker if it was cut; nothing else. */
		const char *q = p + 27 + off;

		while (q < nl && *q == 'x')
			q++;
		cr_assert(q == nl || (nl - q == 15 && memcmp(q, " truncated=true", 15) == 0),
			  "thread %d seq %d: foreign octets: %.40s", id, seq, q);
		lines++;
	}
	cr_assert_eq(lines, THREADS * LINES);
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(next[i], LINES);
	free(r.buf);
}
