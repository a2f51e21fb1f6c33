/* SPDX-License-Identifier: MIT */
/*
 * sipringctl.c: the management CLI of sipring.
 *
 * One program, one table of subcommands (`cmds[]` below): `sipringctl <command>
 * [options] [args]`. Each command gets the CLI context first, its table entry
 * (for its usage text) and its own argv, and returns the process exit status:
 * 0 done, 1 the command ran and failed (a malformed message, later a daemon that
 * refused), 2 usage or I/O errors (bad option, file not found). Adding a
 * command (`domains`...) means writing one `cmd_x()` and one table row.
 *
 * The first command, `parse`, is a person's window into the parser: it reads a
 * SIP message from a file or stdin, indexes it with sip_msg_parse(), runs the
 * typed parser of every header sip_hdr.h knows, and prints the result as
 * pretty-printed JSON (cJSON). Views point into the one input buffer, which
 * lives until the command returns; JSON strings are built from them with
 * json_sv(), which escapes every octet that is not valid UTF-8 (see there).
 *
 * Memory: cJSON and this file allocate through xmalloc(), which exits on
 * failure. A CLI run once has nothing to back-pressure, so the allocator is the
 * single place that handles out of memory and no caller checks for NULL.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cmd_domains.h"
#include "cli/cmd_rates.h"
#include "cli/cmd_registrations.h"
#include "cli/cmd_report.h"
#include "cli/cmd_status.h"
#include "cli/cmd_uplinks.h"
#include "parsers/sip_hdr.h"
#include "parsers/sip_msg.h"
#include "parsers/sip_uri.h"
#include "parsers/sv.h"

#define CTL_NAME "sipringctl"

/* Exit statuses, the same for every command. */
enum ctl_exit { CTL_EXIT_OK = 0, CTL_EXIT_FAIL = 1, CTL_EXIT_USAGE = 2 };

/* The CLI context, passed first to every command. */
struct ctl {
	FILE *out; /* results (JSON) */
	FILE *err; /* diagnostics, prefixed with "sipringctl: " */
};

struct ctl_cmd;
typedef int (*ctl_cmd_fn)(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv);

struct ctl_cmd {
	const char *name;
	const char *args;    /* synopsis after the name, e.g. "[--stream] [FILE|-]" */
	const char *summary; /* one line for the command list */
	const char *help;    /* the rest of `sipringctl <name> --help` */
	ctl_cmd_fn run;	     /* argv[0] is the command name */
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fputs(CTL_NAME ": out of memory\n", stderr);
		exit(CTL_EXIT_FAIL);
	}
	return p;
}

static void ctl_errorf(struct ctl *ctl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctl_errorf(struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	fputs(CTL_NAME ": ", ctl->err);
	va_start(ap, fmt);
	vfprintf(ctl->err, fmt, ap);
	va_end(ap);
	fputc('\n', ctl->err);
}

/* ---- JSON from views ---- */

/*
 * A JSON string of a view. Views hold any octet (RFC 4475 torture messages
 * carry NUL and non-UTF-8) and are not NUL-terminated, while cJSON strings are C
 * strings, so the JSON text is built here and handed to cJSON as a raw value:
 * valid UTF-8 is kept, `"` and `\` are escaped, \r \n \t keep their short
 * escapes (folded values hold CRLF), other control octets, DEL and NUL become
 * \u00XX, and each octet that is not part of valid UTF-8 becomes \u00XX with
 * its value, so that nothing is dropped or truncated and the output is always
 * valid UTF-8 JSON.
 */
static cJSON *json_sv(struct sv s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s.p;
	char *buf = xmalloc(s.len * 6 + 3), *o = buf;
	cJSON *item;

	*o++ = '"';
	for (size_t i = 0; i < s.len;) {
		unsigned char c = p[i];
		size_t n = sv_utf8_seq(p + i, s.len - i);

		if (n > 1) {
			memcpy(o, p + i, n);
			o += n;
			i += n;
			continue;
		}
		i++;
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\r' || c == '\n' || c == '\t') {
			*o++ = '\\';
			*o++ = c == '\r' ? 'r' : c == '\n' ? 'n' : 't';
		} else if (n == 1 && c >= 0x20 && c != 0x7f) {
			*o++ = (char)c;
		} else {
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 0xf];
			o += 6;
		}
	}
	*o++ = '"';
	*o = '\0';
	item = cJSON_CreateRaw(buf);
	free(buf);
	return item;
}

/* Is every octet of s part of valid UTF-8? */
static bool sv_is_utf8(struct sv s)
{
	const unsigned char *p = (const unsigned char *)s.p;

	for (size_t i = 0, n; i < s.len; i += n)
		if ((n = sv_utf8_seq(p + i, s.len - i)) == 0)
			return false;
	return true;
}

static void add_sv(cJSON *obj, const char *key, struct sv s)
{
	cJSON_AddItemToObject(obj, key, json_sv(s));
}

/* A view only when it is not empty: optional fields stay out of the output. */
static void add_sv_opt(cJSON *obj, const char *key, struct sv s)
{
	if (s.len)
		add_sv(obj, key, s);
}

static void add_num_opt(cJSON *obj, const char *key, uint32_t n)
{
	if (n)
		cJSON_AddNumberToObject(obj, key, n);
}

/*
 * {"code","offset","reason"} of a failed parse. `ret` is what the parser
 * returned (err->code may be unset on -ERANGE). When `at` is a view inside the
 * message, err->off is relative to it and "message_offset" gives the offset in
 * the whole input.
 */
static cJSON *json_err(const struct sip_msg *m, int ret, const struct sip_err *err, const char *at)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "code", sip_strerror(ret));
	cJSON_AddNumberToObject(o, "offset", err->off);
	cJSON_AddStringToObject(o, "reason",
				err->reason	 ? err->reason
				: ret == -ERANGE ? "value out of range"
						 : "malformed");
	if (at)
		cJSON_AddNumberToObject(o, "message_offset",
					(double)(at - m->buf) + (double)err->off);
	return o;
}

/* ---- typed fields ---- */

static const char *const host_types[] = {
	[SIP_HOST_NONE] = "none",
	[SIP_HOST_NAME] = "name",
	[SIP_HOST_IPV4] = "ipv4",
	[SIP_HOST_IPV6] = "ipv6",
};

static void add_host_type(cJSON *o, uint8_t t)
{
	if (t != SIP_HOST_NONE && t < sizeof(host_types) / sizeof(host_types[0]))
		cJSON_AddStringToObject(o, "host_type", host_types[t]);
}

/* {"raw", typed fields...} of a URI, or {"raw", "error"} when it does not parse. */
static cJSON *json_uri(const struct sip_msg *m, struct sv raw)
{
	static const char *const schemes[] = {
		[SIP_URI_OTHER] = "other",
		[SIP_URI_SIP] = "sip",
		[SIP_URI_SIPS] = "sips",
		[SIP_URI_TEL] = "tel",
	};
	cJSON *o = cJSON_CreateObject();
	struct sip_err err = { 0, 0, NULL };
	struct sip_uri u;
	int ret;

	memset(&u, 0, sizeof(u));
	add_sv(o, "raw", raw);
	ret = sip_uri_parse(raw, &u, &err);
	if (ret < 0) {
		cJSON_AddItemToObject(o, "error", json_err(m, ret, &err, raw.p));
		return o;
	}
	cJSON_AddStringToObject(o, "scheme",
				u.scheme < sizeof(schemes) / sizeof(schemes[0]) ? schemes[u.scheme]
										: "other");
	if (u.scheme == SIP_URI_OTHER) {
		add_sv(o, "scheme_name", u.scheme_name);
		add_sv(o, "opaque", u.opaque);
		return o;
	}
	add_sv_opt(o, "user", u.user);
	if (u.has_password)
		add_sv(o, "password", u.password);
	add_sv_opt(o, "host", u.host);
	add_host_type(o, u.host_type);
	add_num_opt(o, "port", u.port);
	add_sv_opt(o, "params", u.params);
	add_sv_opt(o, "transport", u.transport);
	add_sv_opt(o, "user_param", u.user_param);
	add_sv_opt(o, "method", u.method);
	add_sv_opt(o, "maddr", u.maddr);
	add_sv_opt(o, "ttl", u.ttl);
	if (u.lr)
		cJSON_AddTrueToObject(o, "lr");
	add_sv_opt(o, "headers", u.headers);
	return o;
}

/* The fields of a name-addr / addr-spec into o. */
static void add_addr(cJSON *o, const struct sip_msg *m, const struct sip_addr *a)
{
	if (a->star) {
		cJSON_AddTrueToObject(o, "star");
		return;
	}
	if (a->display.len || a->quoted)
		add_sv(o, "display", a->display);
	if (a->quoted)
		cJSON_AddTrueToObject(o, "quoted");
	cJSON_AddBoolToObject(o, "bracketed", a->bracketed);
	cJSON_AddItemToObject(o, "uri", json_uri(m, a->uri));
	add_sv_opt(o, "tag", a->tag);
	add_sv_opt(o, "params", a->params);
}

/*
 * An iterator (sip_via_next(), sip_addr_next(), ...) that returns 1 must have
 * consumed part of *rest. The parsers are young: rather than loop forever on a
 * bug, stop and say so.
 */
static int iter_check(int ret, struct sv before, struct sv after, struct sip_err *err)
{
	if (ret == 1 && after.len >= before.len) {
		*err = (struct sip_err){ -EBADMSG, 0, "parser did not advance (sipringctl guard)" };
		return -EBADMSG;
	}
	return ret;
}

/*
 * One function per kind of header: parse `value` and return 0 with *out set to
 * its typed fields, or the parser's negative error with *err set (nothing left
 * allocated). hdr_fns[] maps each header id to its function.
 */
typedef int (*hdr_json_fn)(const struct sip_msg *m, struct sv value, cJSON **out,
			   struct sip_err *err);

static int fail_free(cJSON *o, int ret)
{
	cJSON_Delete(o);
	return ret;
}

static int hdr_via(const struct sip_msg *m, struct sv value, cJSON **out, struct sip_err *err)
{
	cJSON *list = cJSON_CreateArray();
	struct sv rest = value, before;
	struct sip_via v;
	int ret;

	for (;;) {
		memset(&v, 0, sizeof(v));
		before = rest;
		ret = iter_check(sip_via_next(&rest, &v, err), before, rest, err);
		if (ret <= 0)
			break;
		cJSON *o = cJSON_CreateObject();
		add_sv(o, "proto", v.proto);
		add_sv(o, "version", v.version);
		add_sv(o, "transport", v.transport);
		add_sv(o, "host", v.host);
		add_host_type(o, v.host_type);
		add_num_opt(o, "port", v.port);
		add_sv_opt(o, "params", v.params);
		add_sv_opt(o, "branch", v.branch);
		add_sv_opt(o, "received", v.received);
		if (v.has_rport)
			cJSON_AddTrueToObject(o, "has_rport");
		add_num_opt(o, "rport", v.rport);
		add_sv_opt(o, "maddr", v.maddr);
		add_sv_opt(o, "ttl", v.ttl);
		cJSON_AddItemToArray(list, o);
	}
	if (ret < 0)
		return fail_free(list, ret);
	*out = list;
	(void)m;
	return 0;
}

/* From, To, Refer-To, Referred-By: one address. */
static int hdr_addr(const struct sip_msg *m, struct sv value, cJSON **out, struct sip_err *err)
{
	struct sip_addr a;
	int ret;

	memset(&a, 0, sizeof(a));
	ret = sip_addr_parse(value, &a, err);
	if (ret < 0)
		return ret;
	*out = cJSON_CreateObject();
	add_addr(*out, m, &a);
	return 0;
}

/* Route, Record-Route, Path, P-Asserted-Identity, P-Preferred-Identity. */
static int hdr_addr_list(const struct sip_msg *m, struct sv value, cJSON **out, struct sip_err *err)
{
	cJSON *list = cJSON_CreateArray();
	struct sv rest = value, before;
	struct sip_addr a;
	int ret;

	for (;;) {
		memset(&a, 0, sizeof(a));
		before = rest;
		ret = iter_check(sip_addr_next(&rest, &a, err), before, rest, err);
		if (ret <= 0)
			break;
		cJSON *o = cJSON_CreateObject();
		add_addr(o, m, &a);
		cJSON_AddItemToArray(list, o);
	}
	if (ret < 0)
		return fail_free(list, ret);
	*out = list;
	return 0;
}

static int hdr_contact(const struct sip_msg *m, struct sv value, cJSON **out, struct sip_err *err)
{
	cJSON *list = cJSON_CreateArray();
	struct sv rest = value, before;
	struct sip_contact c;
	int ret;

	for (;;) {
		memset(&c, 0, sizeof(c));
		before = rest;
		ret = iter_check(sip_contact_next(&rest, &c, err), before, rest, err);
		if (ret <= 0)
			break;
		cJSON *o = cJSON_CreateObject();
		add_addr(o, m, &c.addr);
		if (c.has_expires)
			cJSON_AddNumberToObject(o, "expires", c.expires);
		if (c.has_q)
			cJSON_AddNumberToObject(o, "q", c.q / 1000.0);
		add_sv_opt(o, "instance", c.instance);
		if (c.has_reg_id)
			cJSON_AddNumberToObject(o, "reg_id", c.reg_id);
		cJSON_AddItemToArray(list, o);
	}
	if (ret < 0)
		return fail_free(list, ret);
	*out = list;
	return 0;
}

static int hdr_cseq(const struct sip_msg *m, struct sv value, cJSON **out, struct sip_err *err)
{
	struct sip_cseq c;
	int ret;

	memset(&c, 0, sizeof(c));
	ret = sip_cseq_parse(value, &c, err);
	if (ret < 0)
		return ret;
	*out = cJSON_CreateObject();
	cJSON_AddNumberToObject(*out, "seq", c.seq);
	add_sv(*out, "method", c.method_name);
	(void)m;
	return 0;
}

static int hdr_callid(const struct sip_msg *m, struct sv value, cJSON **out, struct sip_err *err)
{
	struct sv id = SV_NULL;
	int ret = sip_callid_parse(value, &id, err);

	if (ret < 0)
		return ret;
	*out = cJSON_CreateObject();
	add_sv(*out, "id", id);
	(void)m;
	return 0;
}

static int hdr_uint(struct sv value, uint32_t max, cJSON **out, struct sip_err *err)
{
	uint32_t n = 0;
	int ret = sip_uint_parse(value, max, &n, err);

	if (ret < 0)
		return ret;
	*out = cJSON_CreateObject();
	cJSON_AddNumberToObject(*out, "value", n);
	return 0;
}

/* Max-Forwards is at most 255 (RFC 3261 §20.22 allows 0-255 in practice). */
static int hdr_max_forwards(const struct sip_msg *m, struct sv value, cJSON **out,
			    struct sip_err *err)
{
	(void)m;
	return hdr_uint(value, 255, out, err);
}

/* Expires, Min-Expires, Content-Length: delta-seconds / octets, 32 bits. */
static int hdr_u32(const struct sip_msg *m, struct sv value, cJSON **out, struct sip_err *err)
{
	(void)m;
	return hdr_uint(value, UINT32_MAX, out, err);
}

static int hdr_ctype(const struct sip_msg *m, struct sv value, cJSON **out, struct sip_err *err)
{
	struct sip_ctype c;
	int ret;

	memset(&c, 0, sizeof(c));
	ret = sip_ctype_parse(value, &c, err);
	if (ret < 0)
		return ret;
	*out = cJSON_CreateObject();
	add_sv(*out, "type", c.type);
	add_sv(*out, "subtype", c.subtype);
	add_sv_opt(*out, "params", c.params);
	(void)m;
	return 0;
}

static int hdr_auth(const struct sip_msg *m, struct sv value, cJSON **out, struct sip_err *err)
{
	struct sip_auth a;
	cJSON *o;
	int ret;

	memset(&a, 0, sizeof(a));
	ret = sip_auth_parse(value, &a, err);
	if (ret < 0)
		return ret;
	o = cJSON_CreateObject();
	add_sv(o, "scheme", a.scheme);
	cJSON_AddBoolToObject(o, "is_digest", a.is_digest);
	add_sv_opt(o, "username", a.username);
	add_sv_opt(o, "realm", a.realm);
	add_sv_opt(o, "nonce", a.nonce);
	add_sv_opt(o, "uri", a.uri);
	add_sv_opt(o, "response", a.response);
	add_sv_opt(o, "algorithm", a.algorithm);
	add_sv_opt(o, "cnonce", a.cnonce);
	add_sv_opt(o, "opaque", a.opaque);
	add_sv_opt(o, "qop", a.qop);
	add_sv_opt(o, "nc", a.nc);
	add_sv_opt(o, "stale", a.stale);
	add_sv_opt(o, "domain", a.domain);
	add_sv_opt(o, "userhash", a.userhash);
	add_sv_opt(o, "params", a.params);
	*out = o;
	(void)m;
	return 0;
}

/* Require, Proxy-Require, Supported, Unsupported, Allow: a list of tokens. */
static int hdr_tokens(const struct sip_msg *m, struct sv value, cJSON **out, struct sip_err *err)
{
	cJSON *list = cJSON_CreateArray();
	struct sv rest = value, before, tok;
	int ret;

	for (;;) {
		tok = SV_NULL;
		before = rest;
		ret = iter_check(sip_token_next(&rest, &tok, err), before, rest, err);
		if (ret <= 0)
			break;
		cJSON_AddItemToArray(list, json_sv(tok));
	}
	if (ret < 0)
		return fail_free(list, ret);
	*out = list;
	(void)m;
	return 0;
}

static int hdr_session_expires(const struct sip_msg *m, struct sv value, cJSON **out,
			       struct sip_err *err)
{
	struct sip_session_expires s;
	int ret;

	memset(&s, 0, sizeof(s));
	ret = sip_session_expires_parse(value, &s, err);
	if (ret < 0)
		return ret;
	*out = cJSON_CreateObject();
	cJSON_AddNumberToObject(*out, "delta", s.delta);
	add_sv_opt(*out, "refresher", s.refresher);
	add_sv_opt(*out, "params", s.params);
	(void)m;
	return 0;
}

static int hdr_min_se(const struct sip_msg *m, struct sv value, cJSON **out, struct sip_err *err)
{
	uint32_t delta = 0;
	int ret = sip_min_se_parse(value, &delta, err);

	if (ret < 0)
		return ret;
	*out = cJSON_CreateObject();
	cJSON_AddNumberToObject(*out, "delta", delta);
	(void)m;
	return 0;
}

static int hdr_privacy(const struct sip_msg *m, struct sv value, cJSON **out, struct sip_err *err)
{
	static const struct {
		unsigned flag;
		const char *name;
	} privs[] = {
		{ SIP_PRIVACY_HEADER, "header" },     { SIP_PRIVACY_SESSION, "session" },
		{ SIP_PRIVACY_USER, "user" },	      { SIP_PRIVACY_NONE, "none" },
		{ SIP_PRIVACY_CRITICAL, "critical" }, { SIP_PRIVACY_ID, "id" },
	};
	unsigned flags = 0;
	cJSON *vals;
	int ret = sip_privacy_parse(value, &flags, err);

	if (ret < 0)
		return ret;
	*out = cJSON_CreateObject();
	vals = cJSON_AddArrayToObject(*out, "values");
	for (size_t i = 0; i < sizeof(privs) / sizeof(privs[0]); i++)
		if (flags & privs[i].flag)
			cJSON_AddItemToArray(vals, cJSON_CreateString(privs[i].name));
	if (flags & SIP_PRIVACY_OTHER)
		cJSON_AddTrueToObject(*out, "other");
	(void)m;
	return 0;
}

static const hdr_json_fn hdr_fns[SIP_HDR__COUNT] = {
	[SIP_HDR_VIA] = hdr_via,
	[SIP_HDR_FROM] = hdr_addr,
	[SIP_HDR_TO] = hdr_addr,
	[SIP_HDR_REFER_TO] = hdr_addr,
	[SIP_HDR_REFERRED_BY] = hdr_addr,
	[SIP_HDR_CONTACT] = hdr_contact,
	[SIP_HDR_ROUTE] = hdr_addr_list,
	[SIP_HDR_RECORD_ROUTE] = hdr_addr_list,
	[SIP_HDR_PATH] = hdr_addr_list,
	[SIP_HDR_P_ASSERTED_IDENTITY] = hdr_addr_list,
	[SIP_HDR_P_PREFERRED_IDENTITY] = hdr_addr_list,
	[SIP_HDR_CSEQ] = hdr_cseq,
	[SIP_HDR_CALL_ID] = hdr_callid,
	[SIP_HDR_MAX_FORWARDS] = hdr_max_forwards,
	[SIP_HDR_EXPIRES] = hdr_u32,
	[SIP_HDR_MIN_EXPIRES] = hdr_u32,
	[SIP_HDR_CONTENT_LENGTH] = hdr_u32,
	[SIP_HDR_CONTENT_TYPE] = hdr_ctype,
	[SIP_HDR_AUTHORIZATION] = hdr_auth,
	[SIP_HDR_PROXY_AUTHORIZATION] = hdr_auth,
	[SIP_HDR_WWW_AUTHENTICATE] = hdr_auth,
	[SIP_HDR_PROXY_AUTHENTICATE] = hdr_auth,
	[SIP_HDR_REQUIRE] = hdr_tokens,
	[SIP_HDR_PROXY_REQUIRE] = hdr_tokens,
	[SIP_HDR_SUPPORTED] = hdr_tokens,
	[SIP_HDR_UNSUPPORTED] = hdr_tokens,
	[SIP_HDR_ALLOW] = hdr_tokens,
	[SIP_HDR_SESSION_EXPIRES] = hdr_session_expires,
	[SIP_HDR_MIN_SE] = hdr_min_se,
	[SIP_HDR_PRIVACY] = hdr_privacy,
};

/* The "id" of each known header: its long name in lower case. */
static const char *const hdr_ids[SIP_HDR__COUNT] = {
#define HDR_ID_(id, name, compact) [SIP_HDR_##id] = name,
	SIP_HDR_LIST(HDR_ID_)
#undef HDR_ID_
};

static cJSON *json_hdr(const struct sip_msg *m, const struct sip_hdr *h)
{
	cJSON *o = cJSON_CreateObject();
	hdr_json_fn fn = h->id < SIP_HDR__COUNT ? hdr_fns[h->id] : NULL;

	add_sv(o, "name", h->name);
	add_sv(o, "value", h->value);
	if (h->id != SIP_HDR_OTHER && h->id < SIP_HDR__COUNT)
		cJSON_AddStringToObject(o, "id", hdr_ids[h->id]);
	else
		cJSON_AddNullToObject(o, "id");
	if (h->flags & SIP_HDRF_FOLDED)
		cJSON_AddTrueToObject(o, "folded");
	/* Tells a \u00XX of an invalid octet from the same code point sent as UTF-8. */
	if (!sv_is_utf8(h->value))
		cJSON_AddTrueToObject(o, "invalid_utf8");
	if (fn) {
		struct sip_err err = { 0, 0, NULL };
		cJSON *parsed = NULL;
		int ret = fn(m, h->value, &parsed, &err);

		if (ret < 0)
			cJSON_AddItemToObject(o, "error", json_err(m, ret, &err, h->value.p));
		else
			cJSON_AddItemToObject(o, "parsed", parsed);
	}
	return o;
}

/* The whole parsed message. */
static cJSON *json_msg(const struct sip_msg *m)
{
	cJSON *o = cJSON_CreateObject(), *hdrs;

	if (m->type == SIP_MSG_REQUEST) {
		cJSON_AddStringToObject(o, "type", "request");
		add_sv(o, "method", m->method_name);
		cJSON_AddItemToObject(o, "request_uri", json_uri(m, m->ruri));
	} else {
		cJSON_AddStringToObject(o, "type", "response");
		cJSON_AddNumberToObject(o, "status", m->status);
		add_sv(o, "reason", m->reason);
	}
	add_sv(o, "version", m->version);
	hdrs = cJSON_AddArrayToObject(o, "headers");
	for (uint16_t i = 0; i < m->nhdrs; i++)
		cJSON_AddItemToArray(hdrs, json_hdr(m, &m->hdrs[i]));
	cJSON_AddNumberToObject(o, "body_length", (double)m->body.len);
	if (m->flags & SIP_MSGF_NO_CL)
		cJSON_AddNullToObject(o, "content_length");
	else
		cJSON_AddNumberToObject(o, "content_length", (double)m->content_length);
	if (m->flags & SIP_MSGF_CL_MULTI)
		cJSON_AddTrueToObject(o, "content_length_repeated");
	cJSON_AddNumberToObject(o, "message_length", m->msg_len);
	if (m->len > m->msg_len)
		cJSON_AddNumberToObject(o, "trailing_octets", m->len - m->msg_len);
	return o;
}

/* ---- input ---- */

/*
 * Read all of path ("-" or NULL: stdin) into a buffer of exactly the size read,
 * so that ASan catches a parser reading one octet past the end. Returns 0, -ENOENT
 * style negative errno (message printed), or -EMSGSIZE when the input is larger
 * than max (nothing printed: the caller reports it like a parse error).
 */
static int read_input(struct ctl *ctl, const char *path, size_t max, char **out, size_t *len)
{
	bool is_stdin = !path || strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	char *tmp, *buf;
	size_t n = 0, r;
	int ret = 0;

	if (!f) {
		ret = -errno;
		ctl_errorf(ctl, "cannot open '%s': %s", path, strerror(errno));
		return ret;
	}
	tmp = xmalloc(max + 1);
	while (n <= max && (r = fread(tmp + n, 1, max + 1 - n, f)) > 0)
		n += r;
	if (ferror(f)) {
		ret = -EIO;
		ctl_errorf(ctl, "cannot read '%s': %s", is_stdin ? "<stdin>" : path,
			   strerror(errno ? errno : EIO));
	} else if (n > max) {
		ret = -EMSGSIZE;
	}
	if (!is_stdin)
		fclose(f);
	if (ret < 0) {
		free(tmp);
		return ret;
	}
	buf = xmalloc(n);
	memcpy(buf, tmp, n);
	free(tmp);
	*out = buf;
	*len = n;
	return 0;
}

/* Does buf hold a line ending in a bare LF (a file saved by a text editor)? */
static bool has_bare_lf(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
			return true;
	return false;
}

/*
 * For a person: the line of the input that holds offset `off`, printable octets
 * as they are and others as '.', with a caret under the octet. Long lines are
 * shown as a window around it.
 */
static void show_context(struct ctl *ctl, const char *buf, size_t len, size_t off)
{
	enum { WINDOW = 60 };
	size_t ls = off, le, line = 1, from, to;

	if (off >= len) {
		fprintf(ctl->err, "  at the end of the input (%zu octets)\n", len);
		return;
	}
	for (size_t i = 0; i < ls; i++)
		line += buf[i] == '\n';
	while (ls > 0 && buf[ls - 1] != '\n')
		ls--;
	for (le = off; le < len && buf[le] != '\n' && buf[le] != '\r'; le++)
		;
	from = off - ls > WINDOW ? off - WINDOW : ls;
	to = le - from > 2 * WINDOW ? from + 2 * WINDOW : le;
	fprintf(ctl->err, "  line %zu: %s", line, from > ls ? "..." : "");
	for (size_t i = from; i < to; i++) {
		unsigned char c = (unsigned char)buf[i];
		fputc(c >= 0x20 && c < 0x7f ? c : '.', ctl->err);
	}
	fprintf(ctl->err, "%s\n", to < le ? "..." : "");
	fprintf(ctl->err, "  %*s%s%*s^\n", snprintf(NULL, 0, "line %zu: ", line), "",
		from > ls ? "   " : "", (int)(off - from), "");
}

/* ---- commands ---- */

static void cmd_usage(struct ctl *ctl, const struct ctl_cmd *cmd, FILE *f)
{
	(void)ctl;
	fprintf(f, "usage: " CTL_NAME " %s %s\n\n%s\n%s", cmd->name, cmd->args, cmd->summary,
		cmd->help);
}

/* "sipringctl: <what> '<arg>'" and the command's synopsis; returns CTL_EXIT_USAGE. */
static int cmd_usage_error(struct ctl *ctl, const struct ctl_cmd *cmd, const char *what,
			   const char *arg)
{
	ctl_errorf(ctl, "%s '%s'", what, arg);
	fprintf(ctl->err, "usage: " CTL_NAME " %s %s\n", cmd->name, cmd->args);
	return CTL_EXIT_USAGE;
}

static int cmd_parse(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	const char *path = NULL;
	unsigned flags = 0;
	bool opts_done = false;
	struct sip_hdr *hdrs;
	struct sip_msg m;
	cJSON *root;
	char *buf = NULL, *text;
	size_t len = 0;
	int ret, status;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!opts_done && a[0] == '-' && a[1] != '\0') {
			if (strcmp(a, "--") == 0) {
				opts_done = true;
			} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
				cmd_usage(ctl, cmd, ctl->out);
				return CTL_EXIT_OK;
			} else if (strcmp(a, "--stream") == 0) {
				flags |= SIP_PARSE_STREAM;
			} else if (strcmp(a, "--datagram") == 0) {
				flags &= ~(unsigned)SIP_PARSE_STREAM;
			} else {
				return cmd_usage_error(ctl, cmd, "unknown option", a);
			}
		} else if (path) {
			return cmd_usage_error(ctl, cmd, "more than one input:", a);
		} else {
			path = a;
		}
	}

	ret = read_input(ctl, path, sip_limits_default.max_msg, &buf, &len);
	if (ret == -EMSGSIZE) {
		root = cJSON_CreateObject();
		cJSON *e = cJSON_AddObjectToObject(root, "error");
		cJSON_AddStringToObject(e, "code", sip_strerror(ret));
		cJSON_AddNumberToObject(e, "offset", sip_limits_default.max_msg);
		cJSON_AddStringToObject(e, "reason", "input larger than the message size limit");
		text = cJSON_Print(root);
		fprintf(ctl->out, "%s\n", text);
		cJSON_free(text);
		cJSON_Delete(root);
		ctl_errorf(ctl,
			   "parse error %s at offset %u: input larger than the message size limit",
			   sip_strerror(ret), sip_limits_default.max_msg);
		return CTL_EXIT_FAIL;
	}
	if (ret < 0)
		return CTL_EXIT_USAGE;

	hdrs = xmalloc(sizeof(*hdrs) * sip_limits_default.max_hdrs);
	sip_msg_init(&m, hdrs, sip_limits_default.max_hdrs);
	ret = sip_msg_parse(&m, buf, len, flags, NULL);
	if (ret > 0) {
		root = json_msg(&m);
		status = CTL_EXIT_OK;
	} else {
		/* -EAGAIN here means a stream message cut short: the input is all there is. */
		const char *reason = m.err.reason ? m.err.reason : "malformed";
		cJSON *e;

		root = cJSON_CreateObject();
		e = cJSON_AddObjectToObject(root, "error");
		cJSON_AddStringToObject(e, "code", sip_strerror(ret));
		cJSON_AddNumberToObject(e, "offset", m.err.off);
		cJSON_AddStringToObject(e, "reason", reason);
		if (m.type == SIP_MSG_REQUEST) {
			cJSON_AddStringToObject(root, "type", "request");
			add_sv(root, "method", m.method_name);
		} else if (m.type == SIP_MSG_RESPONSE) {
			cJSON_AddStringToObject(root, "type", "response");
			cJSON_AddNumberToObject(root, "status", m.status);
		}
		ctl_errorf(ctl, "parse error %s at offset %u: %s", sip_strerror(ret), m.err.off,
			   reason);
		show_context(ctl, buf, len, m.err.off);
		/* Matching the reason is only a hint's trigger: if it drifts, the hint goes. */
		if (strstr(reason, "Content-Length") && has_bare_lf(buf, len))
			fputs("  note: lines end in a bare LF; Content-Length counts the octets as "
			      "they are in the file\n",
			      ctl->err);
		status = CTL_EXIT_FAIL;
	}
	text = cJSON_Print(root);
	fprintf(ctl->out, "%s\n", text);
	cJSON_free(text);
	cJSON_Delete(root);
	free(hdrs);
	free(buf);
	return status;
}

/* `domains`: cli/cmd_domains.c (docs/management.md). */
static int cmd_domains_entry(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	return cmd_domains_run(ctl->out, ctl->err, argc, argv);
}

/* `rates`: cli/cmd_rates.c (docs/rating.md). */
static int cmd_rates_entry(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	return cmd_rates_run(ctl->out, ctl->err, argc, argv);
}

/* `report`: cli/cmd_report.c (docs/cdr.md). */
static int cmd_report_entry(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	(void)ctl;
	(void)cmd;
	return cmd_report(argc, argv);
}

/* `status`: cli/cmd_status.c (docs/management.md). */
static int cmd_status_entry(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	return cmd_status_run(ctl->out, ctl->err, argc, argv);
}

/* `registrations`, `suspensions`: cli/cmd_registrations.c (docs/management.md). */
static int cmd_registrations_entry(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
				   char **argv)
{
	(void)cmd;
	return cmd_registrations_run(ctl->out, ctl->err, argc, argv);
}

static int cmd_suspensions_entry(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	return cmd_suspensions_run(ctl->out, ctl->err, argc, argv);
}

/* `uplinks`: cli/cmd_uplinks.c (docs/management.md). */
static int cmd_uplinks_entry(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	return cmd_uplinks_run(ctl->out, ctl->err, argc, argv);
}

static const struct ctl_cmd cmds[] = {
	{
		.name = "domains",
		.args = CMD_DOMAINS_ARGS,
		.summary = CMD_DOMAINS_SUMMARY,
		.help = cmd_domains_help,
		.run = cmd_domains_entry,
	},
	{
		.name = "parse",
		.args = "[--stream|--datagram] [FILE|-]",
		.summary = "Parse one SIP message and print it as JSON.",
		.help = "\n"
			"Reads FILE, or stdin when FILE is '-' or absent (at most 64 KiB), and\n"
			"prints the start line, every header (with its typed fields when the\n"
			"parser knows the header, or the error of its typed parse) and the body\n"
			"length, as JSON on stdout. Lines may end in CRLF or a bare LF.\n"
			"\n"
			"options:\n"
			"  --datagram  the input is one datagram (default): without "
			"Content-Length\n"
			"              the body is the rest, octets after the body are ignored\n"
			"  --stream    parse as a byte stream (TCP): Content-Length is required\n"
			"  -h, --help  this text\n"
			"\n"
			"exit status: 0 parsed; 1 malformed message (stderr says the error code,\n"
			"offset and reason; stdout holds {\"error\": {...}}); 2 usage or I/O "
			"error.\n",
		.run = cmd_parse,
	},
	{
		.name = "rates",
		.args = "lookup|route|autocreate [options]",
		.summary = "Rate decks: look up a number, rank gateways, auto-create a deck.",
		.help = "\nSee `" CTL_NAME " rates --help` and docs/rating.md.\n",
		.run = cmd_rates_entry,
	},
	{
		.name = "registrations",
		.args = CMD_REGISTRATIONS_ARGS,
		.summary = CMD_REGISTRATIONS_SUMMARY,
		.help = cmd_registrations_help,
		.run = cmd_registrations_entry,
	},
	{
		.name = "report",
		.args = CMD_REPORT_ARGS,
		.summary = CMD_REPORT_SUMMARY,
		.help = cmd_report_help,
		.run = cmd_report_entry,
	},
	{
		.name = "status",
		.args = CMD_STATUS_ARGS,
		.summary = CMD_STATUS_SUMMARY,
		.help = cmd_status_help,
		.run = cmd_status_entry,
	},
	{
		.name = "suspensions",
		.args = CMD_SUSPENSIONS_ARGS,
		.summary = CMD_SUSPENSIONS_SUMMARY,
		.help = cmd_suspensions_help,
		.run = cmd_suspensions_entry,
	},
	{
		.name = "uplinks",
		.args = CMD_UPLINKS_ARGS,
		.summary = CMD_UPLINKS_SUMMARY,
		.help = cmd_uplinks_help,
		.run = cmd_uplinks_entry,
	},
};

static void usage(FILE *f)
{
	fputs("usage: " CTL_NAME " <command> [options] [args]\n"
	      "       " CTL_NAME " <command> --help\n"
	      "\n"
	      "The management CLI of sipring.\n"
	      "\n"
	      "commands:\n",
	      f);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-14s %s\n", cmds[i].name, cmds[i].summary);
	fputs("\n"
	      "exit status: 0 done, 1 the command failed, 2 usage or I/O error.\n",
	      f);
}

static const struct ctl_cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct ctl ctl = { .out = stdout, .err = stderr };
	cJSON_Hooks hooks = { .malloc_fn = xmalloc, .free_fn = free };
	const struct ctl_cmd *cmd;
	int status;

	cJSON_InitHooks(&hooks);
	if (argc < 2) {
		usage(ctl.err);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(ctl.out);
		return CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			usage(ctl.out);
			return CTL_EXIT_OK;
		}
		cmd = cmd_find(argv[2]);
		if (!cmd) {
			ctl_errorf(&ctl, "unknown command '%s'", argv[2]);
			usage(ctl.err);
			return CTL_EXIT_USAGE;
		}
		cmd_usage(&ctl, cmd, ctl.out);
		return CTL_EXIT_OK;
	}
	cmd = cmd_find(argv[1]);
	if (!cmd) {
		ctl_errorf(&ctl, "unknown command '%s'", argv[1]);
		usage(ctl.err);
		return CTL_EXIT_USAGE;
	}
	status = cmd->run(&ctl, cmd, argc - 1, argv + 1);
	if (fflush(ctl.out) != 0 || ferror(ctl.out)) {
		ctl_errorf(&ctl, "cannot write the output: %s", strerror(errno));
		return CTL_EXIT_USAGE;
	}
	return status;
}
