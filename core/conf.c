/* SPDX-License-Identifier: MIT */
/*
 * conf.c: the node configuration file (see conf.h, docs/configuration.md).
 *
 * The file is read whole (at most CONF_MAX_FILE octets), parsed by libyaml into a
 * document tree, and walked once against two static tables:
 *
 *   conf_keys[]  one row per leaf key: its dotted name, its setter, where it lives
 *                in struct conf, its range. Sections are not listed: a name is a
 *                section when some key starts with it and a dot.
 *   aliases[]    one row per VOS3000 parameter: its name, the native keys it sets,
 *                and the converter from VOS3000's value syntax (NULL when the
 *                native key's own syntax is VOS3000's, as On/Off for a boolean).
 *
 * Each key set records the line and the name that set it (struct origin), so that
 * an alias given together with its native key, and the cross-field rules checked
 * after the walk, can name both keys and the right line. The first error stops the
 * load; ld_err() writes it once as "FILE:LINE: KEY: reason".
 */
#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>
#include <yaml.h>

#include "core/auth.h" /* enum auth_alg only: the header pulls in no library */

#define CONF_MAX_FILE	(1u << 20) /* a node file is a few KiB: refuse a mistaken path */
#define CONF_MAX_LISTEN 64
#define CONF_KEY_MAX	64   /* longest key name looked up */
#define CONF_PATH_MAX	4096 /* a dotted key, shown in messages */
#define SHOW_MAX	48   /* a value quoted in a message is cut there */
#define SHOW_BUF	(SHOW_MAX + 4)
#define DEFAULT_PORT	5060
#define UNIX_PATH_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

struct ld;
struct conf_key;
struct conf_alias;

typedef int (*conf_set_fn)(struct ld *ld, const struct conf_key *k, const char *name,
			   const yaml_node_t *v);
typedef int (*conf_conv_fn)(struct ld *ld, const struct conf_alias *a, const yaml_node_t *v);

struct conf_enum {
	const char *name;
	int value;
};

/* Character rules for strings (control octets are always refused). */
enum {
	STR_NOSPACE = 1,  /* no white space */
	STR_NAME = 2,	  /* letters, digits, '.', '-', '_' */
	STR_TOKEN = 4,	  /* an RFC 3261 token (option tags) */
	STR_QUOTABLE = 8, /* no '"' or '\\': sent inside a quoted string (realm) */
	STR_SECRET = 16,  /* never quoted in a message (passwords, keys) */
};

struct conf_key {
	const char *name; /* dotted: "sip.timers.t1" */
	conf_set_fn set;
	size_t off;	   /* offsetof(struct conf, field) */
	size_t size;	   /* sizeof the field (integers) */
	size_t off_n;	   /* lists of strings: offsetof the count */
	uint64_t min, max; /* value range; string length or list length range */
	uint32_t unit_ms;  /* durations: 1 (milliseconds) or 1000 (seconds) */
	uint32_t elem_max; /* lists of strings: longest element */
	unsigned flags;	   /* STR_* */
	bool zero_ok;	   /* 0 (numbers) or "" (strings) is accepted outside min..max */
	const struct conf_enum *enums;
};

struct conf_alias {
	const char *name;    /* as in the VOS3000 manual */
	const char *keys[2]; /* the native keys it sets; keys[1] may be NULL */
	conf_conv_fn conv;   /* NULL: the value is passed to keys[0]'s own setter */
	uint64_t lo, hi;     /* alias_whole: VOS3000's own range, in its unit (0, 0: the key's) */
};

static int set_str(struct ld *, const struct conf_key *, const char *, const yaml_node_t *);
static int set_uint(struct ld *, const struct conf_key *, const char *, const yaml_node_t *);
static int set_pow2(struct ld *, const struct conf_key *, const char *, const yaml_node_t *);
static int set_dur(struct ld *, const struct conf_key *, const char *, const yaml_node_t *);
static int set_bool(struct ld *, const struct conf_key *, const char *, const yaml_node_t *);
static int set_enum(struct ld *, const struct conf_key *, const char *, const yaml_node_t *);
static int set_strlist(struct ld *, const struct conf_key *, const char *, const yaml_node_t *);
static int set_listen(struct ld *, const struct conf_key *, const char *, const yaml_node_t *);
static int set_trace_filter(struct ld *, const struct conf_key *, const char *,
			    const yaml_node_t *);
static int set_http(struct ld *, const struct conf_key *, const char *, const yaml_node_t *);
static int set_algs(struct ld *, const struct conf_key *, const char *, const yaml_node_t *);
static int set_ip(struct ld *, const struct conf_key *, const char *, const yaml_node_t *);
static int set_auto(struct ld *, const struct conf_key *, const char *, const yaml_node_t *);
static int set_servers(struct ld *, const struct conf_key *, const char *, const yaml_node_t *);
static int alias_whole(struct ld *, const struct conf_alias *, const yaml_node_t *);
static int alias_resend(struct ld *, const struct conf_alias *, const yaml_node_t *);

static const struct conf_enum log_levels[] = {
	{ "error", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
	{ "info", LOG_INFO }, { "debug", LOG_DEBUG },	  { NULL, 0 },
};
static const struct conf_enum log_formats[] = {
	{ "logfmt", CONF_LOG_LOGFMT },
	{ "json", CONF_LOG_JSON },
	{ NULL, 0 },
};
static const struct conf_enum privacies[] = {
	{ "ignore", 0 }, /* enum uplink_privacy */
	{ "id", 1 },
	{ "none", 2 },
	{ NULL, 0 },
};
static const struct conf_enum suspend_actions[] = {
	{ "reject", CONF_SUSPEND_REJECT },
	{ "drop", CONF_SUSPEND_DROP },
	{ NULL, 0 },
};

#define FIELD(f) .off = offsetof(struct conf, f), .size = sizeof(((struct conf *)0)->f)

/* Every key, in the order of docs/configuration.md and examples/sipring.yaml. */
static const struct conf_key conf_keys[] = {
	{ "node.name", set_str, FIELD(node_name), .min = 0, .max = 64, .flags = STR_NAME },
	{ "node.workers", set_uint, FIELD(workers), .min = 0, .max = 256 },
	{ "node.pin_workers", set_bool, FIELD(pin_workers) },
	{ "log.level", set_enum, FIELD(log_level), .enums = log_levels },
	{ "log.format", set_enum, FIELD(log_format), .enums = log_formats },
	{ "sip.listen", set_listen, FIELD(listen), .min = 1, .max = CONF_MAX_LISTEN },
	{ "sip.private_port_base", set_uint, FIELD(private_port_base), .min = 1024, .max = 65279,
	  .zero_ok = true },
	{ "sip.advertised_host", set_str, FIELD(advertised_host), .min = 0, .max = 253,
	  .flags = STR_NOSPACE },
	{ "sip.domains", set_strlist, FIELD(domains), .off_n = offsetof(struct conf, ndomains),
	  .min = 0, .max = 64, .elem_max = 253, .flags = STR_NOSPACE },
	{ "sip.supported", set_strlist, FIELD(supported),
	  .off_n = offsetof(struct conf, nsupported), .min = 0, .max = 32, .elem_max = 64,
	  .flags = STR_TOKEN },
	{ "sip.max_message_size", set_uint, FIELD(max_message_size), .min = 1024, .max = 65535 },
	{ "sip.max_forwards", set_uint, FIELD(max_forwards), .min = 1, .max = 255 },
	{ "sip.server_header", set_str, FIELD(server_header), .min = 0, .max = 128 },
	{ "sip.timers.t1", set_dur, FIELD(t1_ms), .min = 100, .max = 10000, .unit_ms = 1 },
	{ "sip.timers.t2", set_dur, FIELD(t2_ms), .min = 1000, .max = 64000, .unit_ms = 1 },
	{ "sip.timers.t4", set_dur, FIELD(t4_ms), .min = 1000, .max = 64000, .unit_ms = 1 },
	{ "sip.timers.timer_b", set_dur, FIELD(timer_b_ms), .min = 1000, .max = 640000,
	  .unit_ms = 1 },
	{ "sip.timers.timer_f", set_dur, FIELD(timer_f_ms), .min = 1000, .max = 640000,
	  .unit_ms = 1 },
	{ "tcp.max_connections", set_uint, FIELD(tcp_max_connections), .min = 1, .max = 1000000 },
	{ "tcp.idle_timeout", set_dur, FIELD(tcp_idle_timeout_s), .min = 5, .max = 86400,
	  .unit_ms = 1000 },
	{ "tcp.max_buffer", set_uint, FIELD(tcp_max_buffer), .min = 4096, .max = 1048576 },
	{ "runtime.ring_entries", set_pow2, FIELD(ring_entries), .min = 16, .max = 32768 },
	{ "runtime.rx_buffers", set_pow2, FIELD(rx_buffers), .min = 16, .max = 32768 },
	{ "runtime.rx_buffer_size", set_uint, FIELD(rx_buffer_size), .min = 1024, .max = 65536 },
	{ "runtime.udp_buffer", set_uint, FIELD(udp_buffer), .min = 65536, .max = 1073741824 },
	{ "runtime.stop_deadline", set_dur, FIELD(stop_deadline_ms), .min = 0, .max = 300000,
	  .unit_ms = 1 },
	{ "trace.file", set_str, FIELD(trace_file), .min = 0, .max = PATH_MAX - 1 },
	{ "trace.filter", set_trace_filter, FIELD(trace_mode) },
	{ "http.listen", set_http, FIELD(http_enabled) },
	{ "cdr.spool_dir", set_str, FIELD(spool_dir), .min = 1, .max = PATH_MAX - 1 },
	{ "registrar.enabled", set_bool, FIELD(reg_enabled) },
	{ "registrar.min_expires", set_dur, FIELD(reg_min_expires_s), .min = 1, .max = 86400,
	  .unit_ms = 1000 },
	{ "registrar.max_expires", set_dur, FIELD(reg_max_expires_s), .min = 1, .max = 604800,
	  .unit_ms = 1000 },
	{ "registrar.default_expires", set_dur, FIELD(reg_default_expires_s), .min = 1,
	  .max = 604800, .unit_ms = 1000 },
	{ "registrar.max_contacts", set_uint, FIELD(reg_max_contacts), .min = 1, .max = 32 },
	{ "registrar.max_bindings", set_uint, FIELD(reg_max_bindings), .min = 0,
	  .max = 1000000000 },
	{ "registrar.replace", set_bool, FIELD(reg_replace) },
	{ "registrar.authenticate", set_bool, FIELD(reg_authenticate) },
	{ "registrar.keepalive.interval", set_dur, FIELD(reg_keepalive_s), .min = 5, .max = 3600,
	  .unit_ms = 1000, .zero_ok = true },
	{ "registrar.keepalive.failures", set_uint, FIELD(reg_keepalive_failures), .min = 1,
	  .max = 100 },
	{ "registrar.suspend.retry", set_uint, FIELD(suspend_retry), .min = 1, .max = 1000 },
	{ "registrar.suspend.time", set_dur, FIELD(suspend_time_s), .min = 0, .max = 86400,
	  .unit_ms = 1000 },
	{ "registrar.suspend.by_ip", set_bool, FIELD(suspend_by_ip) },
	{ "registrar.suspend.action", set_enum, FIELD(suspend_action), .enums = suspend_actions },
	{ "auth.realm", set_str, FIELD(auth_realm), .min = 0, .max = 253,
	  .flags = STR_NOSPACE | STR_QUOTABLE },
	{ "auth.nonce_expire", set_dur, FIELD(auth_nonce_expire_s), .min = 10, .max = 86400,
	  .unit_ms = 1000 },
	{ "auth.secret", set_str, FIELD(auth_secret), .min = 16, .max = 256, .flags = STR_SECRET,
	  .zero_ok = true },
	{ "auth.algorithms", set_algs, FIELD(auth_algs), .min = 1, .max = 2 },
	{ "auth.refuse_rfc2069", set_bool, FIELD(auth_refuse_rfc2069) },
	{ "accounts.file", set_str, FIELD(accounts_file), .min = 0, .max = PATH_MAX - 1 },
	{ "accounts.redis_refresh", set_dur, FIELD(accounts_redis_refresh_s), .min = 0,
	  .max = 86400, .unit_ms = 1000 },
	{ "uplinks.file", set_str, FIELD(uplinks_file), .min = 0, .max = PATH_MAX - 1 },
	{ "uplinks.expire", set_auto, FIELD(uplink_expire_s), .min = 20, .max = 7200,
	  .unit_ms = 1000 },
	{ "uplinks.retry_delay", set_dur, FIELD(uplink_retry_s), .min = 1, .max = 3600,
	  .unit_ms = 1000 },
	{ "uplinks.privacy", set_enum, FIELD(uplink_privacy), .enums = privacies },
	{ "uplinks.send_unregister", set_bool, FIELD(uplink_send_unregister) },
	{ "uplinks.auth_retry", set_uint, FIELD(uplink_auth_retry), .min = 1, .max = 10 },
	{ "dns.servers", set_servers, FIELD(dns_servers),
	  .off_n = offsetof(struct conf, ndns_servers), .min = 0, .max = 8, .elem_max = 64,
	  .flags = STR_NOSPACE },
	{ "dns.timeout", set_dur, FIELD(dns_timeout_ms), .min = 100, .max = 30000, .unit_ms = 1 },
	{ "dns.tries", set_uint, FIELD(dns_tries), .min = 1, .max = 10 },
	{ "dns.ttl_floor", set_dur, FIELD(dns_ttl_floor_s), .min = 1, .max = 3600,
	  .unit_ms = 1000 },
	{ "dns.ttl_ceiling", set_dur, FIELD(dns_ttl_ceiling_s), .min = 1, .max = 604800,
	  .unit_ms = 1000 },
	{ "dns.negative_ttl", set_dur, FIELD(dns_negative_ttl_s), .min = 1, .max = 3600,
	  .unit_ms = 1000 },
	{ "dns.stale_grace", set_dur, FIELD(dns_stale_grace_s), .min = 0, .max = 604800,
	  .unit_ms = 1000 },
	{ "dns.prefetch", set_uint, FIELD(dns_prefetch), .min = 50, .max = 95 },
	{ "redis.host", set_ip, FIELD(redis_host) },
	{ "redis.port", set_uint, FIELD(redis_port), .min = 1, .max = 65535 },
	{ "redis.unix_socket", set_str, FIELD(redis_unix), .min = 0, .max = UNIX_PATH_MAX },
	{ "redis.password", set_str, FIELD(redis_password), .min = 0, .max = 256,
	  .flags = STR_SECRET },
	{ "redis.db", set_uint, FIELD(redis_db), .min = 0, .max = 255 },
	{ "redis.prefix", set_str, FIELD(redis_prefix), .min = 1, .max = 64, .flags = STR_NOSPACE },
};

#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

/*
 * VOS3000 parameters (VOS3000 V2.1.9.07 manual, section 4.3.5.2), accepted at the
 * top level of the file. A later parameter is one more row: its native keys and,
 * when VOS3000 writes the value differently, a converter. On/Off parameters need
 * none (conv NULL): the native boolean syntax accepts On and Off.
 */
static const struct conf_alias aliases[] = {
	{ "SS_SIP_RESEND_INTERVAL", { "sip.timers.t1", "sip.timers.t2" }, alias_resend },
	{ "SS_SIP_TIMEOUT_INVITE", { "sip.timers.timer_b", NULL }, alias_whole },
	{ "SS_ENDPOINT_REGISTER_REPLACE", { "registrar.replace", NULL }, NULL },
	{ "SS_ENDPOINT_REGISTER_RETRY", { "registrar.suspend.retry", NULL }, alias_whole },
	{ "SS_ENDPOINT_REGISTER_SUSPEND", { "registrar.suspend.time", NULL }, alias_whole },
	{ "SS_SIP_USER_AGENT_EXPIRE", { "uplinks.expire", NULL }, NULL },
	{ "SS_SIP_USER_AGENT_RETRY_DELAY", { "uplinks.retry_delay", NULL }, alias_whole, 30, 600 },
	{ "SS_SIP_USER_AGENT_PRIVACY", { "uplinks.privacy", NULL }, NULL },
	{ "SS_SIP_USER_AGENT_SEND_UNREGISTER", { "uplinks.send_unregister", NULL }, NULL },
};

/* Cross-field rules: key a must be >= key b (checked once every key is set). */
static const struct {
	const char *a, *b;
} rules[] = {
	{ "sip.timers.t2", "sip.timers.t1" },
	{ "sip.timers.timer_b", "sip.timers.t1" },
	{ "sip.timers.timer_f", "sip.timers.t1" },
	{ "tcp.max_buffer", "sip.max_message_size" },
	{ "runtime.rx_buffer_size", "sip.max_message_size" },
	{ "registrar.default_expires", "registrar.min_expires" },
	{ "registrar.max_expires", "registrar.default_expires" },
	{ "dns.ttl_ceiling", "dns.ttl_floor" },
};

/* Who set a key: the line (0 = not in the file, a default) and the name used. */
struct origin {
	unsigned line;
	const char *by;
};

struct ld {
	const char *file;
	char *err;
	size_t errlen;
	yaml_document_t *doc;
	struct conf *c;
	struct origin set[NKEYS];
};

/* ---- messages ---- */

__attribute__((format(printf, 4, 5))) static int ld_err(struct ld *ld, unsigned line,
							const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ld->err || !ld->errlen)
		return -EINVAL;
	n = snprintf(ld->err, ld->errlen, "%s:%u: %s: ", ld->file, line, key);
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

/* A value as quoted in a message: one line, at most SHOW_MAX octets. */
static const char *show(char buf[SHOW_BUF], const char *p, size_t len)
{
	size_t i, n = len < SHOW_MAX ? len : SHOW_MAX;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		buf[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	if (len > n) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static unsigned node_line(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.line + 1;
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a map";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return n->data.scalar.length ? "a value" : "an empty value";
	}
}

#define SV(n) ((const char *)(n)->data.scalar.value), ((n)->data.scalar.length)

/* "key:", "key: ~" and "key: null" are empty. */
static bool is_null(const yaml_node_t *n)
{
	const char *p;
	size_t len;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	p = (const char *)n->data.scalar.value;
	len = n->data.scalar.length;
	return len == 0 || (len == 1 && p[0] == '~') || (len == 4 && !strncasecmp(p, "null", 4));
}

static int need_scalar(struct ld *ld, const char *name, const yaml_node_t *v, const char *what)
{
	if (v->type == YAML_SCALAR_NODE && !is_null(v))
		return 0;
	return ld_err(ld, node_line(v), name, "expected %s, not %s", what,
		      is_null(v) ? "an empty value" : node_kind(v));
}

static const char *unit_name(const struct conf_key *k)
{
	if (!k->unit_ms)
		return "";
	return k->unit_ms == 1000 ? " s" : " ms";
}

static int out_of_range(struct ld *ld, const struct conf_key *k, const char *name,
			const yaml_node_t *v)
{
	char s[SHOW_BUF];

	return ld_err(ld, node_line(v), name, "%s is out of range %s%llu..%llu%s", show(s, SV(v)),
		      k->zero_ok ? "0 or " : "", (unsigned long long)k->min,
		      (unsigned long long)k->max, unit_name(k));
}

/* x is in k's range: min..max, or 0 where the key takes 0 (off, ephemeral). */
static bool in_range(const struct conf_key *k, uint64_t x)
{
	return (x >= k->min && x <= k->max) || (k->zero_ok && x == 0);
}

/* ---- the table ---- */

static const struct conf_key *key_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(conf_keys[i].name, name))
			return &conf_keys[i];
	return NULL;
}

static const struct conf_alias *alias_find(const char *name)
{
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(aliases[i].name, name))
			return &aliases[i];
	return NULL;
}

/* A section: some key is "path.<more>". */
static bool is_section(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < NKEYS; i++)
		if (!strncmp(conf_keys[i].name, path, n) && conf_keys[i].name[n] == '.')
			return true;
	return false;
}

static void *field(struct conf *c, const struct conf_key *k)
{
	return (char *)c + k->off;
}

static void store_uint(struct conf *c, const struct conf_key *k, uint64_t v)
{
	void *p = field(c, k);

	if (k->size == sizeof(uint16_t)) {
		uint16_t x = (uint16_t)v;
		memcpy(p, &x, sizeof(x));
	} else if (k->size == sizeof(uint64_t)) {
		memcpy(p, &v, sizeof(v));
	} else {
		uint32_t x = (uint32_t)v;
		memcpy(p, &x, sizeof(x));
	}
}

static uint64_t load_uint(const struct conf *c, const struct conf_key *k)
{
	const void *p = (const char *)c + k->off;

	if (k->size == sizeof(uint16_t)) {
		uint16_t x;
		memcpy(&x, p, sizeof(x));
		return x;
	}
	if (k->size == sizeof(uint64_t)) {
		uint64_t x;
		memcpy(&x, p, sizeof(x));
		return x;
	}
	uint32_t x;
	memcpy(&x, p, sizeof(x));
	return x;
}

/* ---- numbers ---- */

/* Digits only; a leading '-' with digits is out of range (-ERANGE), as is 2^64. */
static int parse_u64(const char *p, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	size_t i = 0;
	bool neg = false;

	if (len && p[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len)
		return -EINVAL;
	for (; i < len; i++) {
		unsigned d = (unsigned)(p[i] - '0');

		if (d > 9)
			return -EINVAL;
		if (x > (UINT64_MAX - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	if (neg && x)
		return -ERANGE;
	*v = x;
	return 0;
}

/*
 * A duration: digits, an optional fraction of up to 3 digits (more only if zero),
 * optional spaces and a unit ms | s | m | h. Without a unit the number counts
 * in_ms milliseconds. The result, in units of out_ms milliseconds, must be whole:
 * -EDOM if not, -EINVAL for the syntax, -ERANGE past 2^64.
 */
static int parse_dur(const char *p, size_t len, uint32_t in_ms, uint32_t out_ms, uint64_t *out)
{
	const char *end = p + len;
	unsigned __int128 milli = 0; /* thousandths of the number */
	uint64_t mult = in_ms, ip = 0;
	unsigned frac = 0, nd = 0;
	bool whole = true;

	if (end - p > 1 && p[0] == '-' && p[1] >= '0' && p[1] <= '9')
		return -ERANGE; /* negative: out of any range here */
	if (p == end || *p < '0' || *p > '9')
		return -EINVAL;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (++nd > 18)
			return -ERANGE;
		ip = ip * 10 + (uint64_t)(*p - '0');
	}
	if (p < end && *p == '.') {
		unsigned n = 0;

		for (p++; p < end && *p >= '0' && *p <= '9'; p++, n++) {
			if (n < 3)
				frac = frac * 10 + (unsigned)(*p - '0');
			else if (*p != '0')
				whole = false;
		}
		if (!n)
			return -EINVAL;
		for (; n < 3; n++)
			frac *= 10;
	}
	while (p < end && *p == ' ')
		p++;
	if (p < end) {
		size_t rest = (size_t)(end - p);

		if (rest == 2 && !memcmp(p, "ms", 2))
			mult = 1;
		else if (rest == 1 && *p == 's')
			mult = 1000;
		else if (rest == 1 && *p == 'm')
			mult = 60000;
		else if (rest == 1 && *p == 'h')
			mult = 3600000;
		else
			return -EINVAL;
	}
	if (!whole)
		return -EDOM;
	milli = ((unsigned __int128)ip * 1000 + frac) * mult; /* thousandths of a ms */
	if (milli % 1000 || milli / 1000 % out_ms)
		return -EDOM;
	milli = milli / 1000 / out_ms;
	if (milli > UINT64_MAX)
		return -ERANGE;
	*out = (uint64_t)milli;
	return 0;
}

/* ---- strings ---- */

/* NULL if p[0..len) keeps the rules in flags, else what is wrong. */
static const char *str_check(const char *p, size_t len, unsigned flags)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch < 0x20 || ch == 0x7f)
			return "has a control character";
		if ((flags & STR_NOSPACE) && ch == ' ')
			return "has a space";
		if ((flags & STR_NAME) &&
		    !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_'))
			return "may hold only letters, digits, '.', '-' and '_'";
		if ((flags & STR_TOKEN) && !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
					     (ch >= '0' && ch <= '9') || strchr("-.!%*_+`'~", ch)))
			return "is not a SIP token (letters, digits and -.!%*_+`'~)";
		if ((flags & STR_QUOTABLE) && (ch == '"' || ch == '\\'))
			return "has a '\"' or a '\\' (it is sent in a quoted string)";
	}
	return NULL;
}

static int set_str(struct ld *ld, const struct conf_key *k, const char *name, const yaml_node_t *v)
{
	char **dst = field(ld->c, k), s[SHOW_BUF], *dup;
	const char *p = "", *why;
	size_t len = 0;

	if (v->type != YAML_SCALAR_NODE)
		return ld_err(ld, node_line(v), name, "expected a string, not %s", node_kind(v));
	if (!is_null(v)) {
		p = (const char *)v->data.scalar.value;
		len = v->data.scalar.length;
	}
	/* A secret is never shown: the message goes to logs and terminals. */
	if (k->flags & STR_SECRET)
		show(s, "(not shown)", 11);
	else
		show(s, p, len);
	if (len < k->min && !(k->zero_ok && !len)) {
		if (!len)
			return ld_err(ld, node_line(v), name, "must not be empty");
		return ld_err(ld, node_line(v), name, "must be at least %llu octets",
			      (unsigned long long)k->min);
	}
	if (len > k->max)
		return ld_err(ld, node_line(v), name, "'%s' is %zu octets long; at most %llu", s,
			      len, (unsigned long long)k->max);
	why = str_check(p, len, k->flags);
	if (why)
		return ld_err(ld, node_line(v), name, "'%s' %s", s, why);
	dup = strndup(p, len);
	if (!dup)
		return ld_nomem(ld, node_line(v), name);
	free(*dst);
	*dst = dup;
	return 0;
}

static void strv_free(char **v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int set_strlist(struct ld *ld, const struct conf_key *k, const char *name,
		       const yaml_node_t *v)
{
	char ***dst = field(ld->c, k), **out = NULL, s[SHOW_BUF];
	unsigned *dst_n = (unsigned *)((char *)ld->c + k->off_n);
	size_t n = 0, i;
	int ret = 0;

	if (!is_null(v)) {
		if (v->type != YAML_SEQUENCE_NODE)
			return ld_err(ld, node_line(v), name, "expected a list, not %s",
				      node_kind(v));
		n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	}
	if (n > k->max)
		return ld_err(ld, node_line(v), name, "lists %zu entries; at most %llu", n,
			      (unsigned long long)k->max);
	if (n) {
		out = calloc(n, sizeof(*out));
		if (!out)
			return ld_nomem(ld, node_line(v), name);
	}
	for (i = 0; i < n; i++) {
		const yaml_node_t *e =
			yaml_document_get_node(ld->doc, v->data.sequence.items.start[i]);
		const char *why;

		ret = need_scalar(ld, name, e, "a string");
		if (ret)
			break;
		if (e->data.scalar.length > k->elem_max) {
			ret = ld_err(ld, node_line(e), name, "'%s' is longer than %u octets",
				     show(s, SV(e)), k->elem_max);
			break;
		}
		why = str_check(SV(e), k->flags);
		if (why) {
			ret = ld_err(ld, node_line(e), name, "'%s' %s", show(s, SV(e)), why);
			break;
		}
		out[i] = strndup(SV(e));
		if (!out[i]) {
			ret = ld_nomem(ld, node_line(e), name);
			break;
		}
	}
	if (ret) {
		strv_free(out, (unsigned)n);
		return ret;
	}
	strv_free(*dst, *dst_n);
	*dst = out;
	*dst_n = (unsigned)n;
	return 0;
}

/* ---- numbers, durations, booleans, enums ---- */

static int set_uint(struct ld *ld, const struct conf_key *k, const char *name, const yaml_node_t *v)
{
	char s[SHOW_BUF];
	uint64_t x;
	int ret = need_scalar(ld, name, v, "a number");

	if (ret)
		return ret;
	ret = parse_u64(SV(v), &x);
	if (ret == -EINVAL)
		return ld_err(ld, node_line(v), name, "'%s' is not a number", show(s, SV(v)));
	if (ret || !in_range(k, x))
		return out_of_range(ld, k, name, v);
	store_uint(ld->c, k, x);
	return 0;
}

static int set_pow2(struct ld *ld, const struct conf_key *k, const char *name, const yaml_node_t *v)
{
	char s[SHOW_BUF];
	int ret = set_uint(ld, k, name, v);
	uint64_t x;

	if (ret)
		return ret;
	x = load_uint(ld->c, k);
	if (x & (x - 1))
		return ld_err(ld, node_line(v), name, "%s is not a power of two", show(s, SV(v)));
	return 0;
}

static int set_dur(struct ld *ld, const struct conf_key *k, const char *name, const yaml_node_t *v)
{
	char s[SHOW_BUF];
	uint64_t x;
	int ret = need_scalar(ld, name, v, "a duration");

	if (ret)
		return ret;
	ret = parse_dur(SV(v), k->unit_ms, k->unit_ms, &x);
	if (ret == -EINVAL)
		return ld_err(ld, node_line(v), name,
			      "'%s' is not a duration (a number of %s, or with a unit: 500ms, 5s, "
			      "2m, 1h)",
			      show(s, SV(v)), k->unit_ms == 1 ? "milliseconds" : "seconds");
	if (ret == -EDOM)
		return ld_err(ld, node_line(v), name, "%s is not a whole number of %s",
			      show(s, SV(v)), k->unit_ms == 1 ? "milliseconds" : "seconds");
	if (ret || !in_range(k, x))
		return out_of_range(ld, k, name, v);
	store_uint(ld->c, k, x);
	return 0;
}

/* A duration in k's range, or "auto" (stored as 0): uplinks.expire. */
static int set_auto(struct ld *ld, const struct conf_key *k, const char *name, const yaml_node_t *v)
{
	int ret = need_scalar(ld, name, v, "auto or a number of seconds");

	if (ret)
		return ret;
	if (v->data.scalar.length == 4 &&
	    !strncasecmp((const char *)v->data.scalar.value, "auto", 4)) {
		store_uint(ld->c, k, 0);
		return 0;
	}
	return set_dur(ld, k, name, v);
}

static int set_bool(struct ld *ld, const struct conf_key *k, const char *name, const yaml_node_t *v)
{
	static const char *const yes[] = { "true", "yes", "on", NULL };
	static const char *const no[] = { "false", "no", "off", NULL };
	bool *dst = field(ld->c, k);
	char s[SHOW_BUF];
	int ret = need_scalar(ld, name, v, "true or false");

	if (ret)
		return ret;
	for (int i = 0; yes[i]; i++) {
		if (v->data.scalar.length == strlen(yes[i]) &&
		    !strncasecmp((const char *)v->data.scalar.value, yes[i], strlen(yes[i]))) {
			*dst = true;
			return 0;
		}
		if (v->data.scalar.length == strlen(no[i]) &&
		    !strncasecmp((const char *)v->data.scalar.value, no[i], strlen(no[i]))) {
			*dst = false;
			return 0;
		}
	}
	return ld_err(ld, node_line(v), name, "'%s' is not true or false (or yes/no, on/off)",
		      show(s, SV(v)));
}

static int set_enum(struct ld *ld, const struct conf_key *k, const char *name, const yaml_node_t *v)
{
	char s[SHOW_BUF], list[256];
	size_t used = 0;
	int ret = need_scalar(ld, name, v, "a name");

	if (ret)
		return ret;
	for (const struct conf_enum *e = k->enums; e->name; e++) {
		if (v->data.scalar.length == strlen(e->name) &&
		    !strncasecmp((const char *)v->data.scalar.value, e->name, strlen(e->name))) {
			memcpy(field(ld->c, k), &e->value, sizeof(int));
			return 0;
		}
	}
	list[0] = '\0';
	for (const struct conf_enum *e = k->enums; e->name && used < sizeof(list); e++) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s",
				 e == k->enums ? "" : ", ", e->name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	return ld_err(ld, node_line(v), name, "'%s' is not one of %s", show(s, SV(v)), list);
}

/* ---- addresses ---- */

/* Fill ss from the address text a[0..len) (IPv4 or IPv6, no brackets) and port. */
static bool addr_make(const char *a, size_t len, unsigned port, struct sockaddr_storage *ss,
		      socklen_t *sl)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, a, len);
	buf[len] = '\0';
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	if (inet_pton(AF_INET, buf, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		if (sl)
			*sl = sizeof(*in);
		return true;
	}
	if (inet_pton(AF_INET6, buf, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (sl)
			*sl = sizeof(*in6);
		return true;
	}
	return false;
}

/* "1.2.3.4:5060" or "[::1]:5060" from ss, into buf[64]. */
static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(buf, cap, "[%s]:%u", a, ntohs(in6->sin6_port));
	} else {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(buf, cap, "%s:%u", a, ntohs(in->sin_port));
	}
}

/*
 * "ADDR[:PORT]", IPv6 in brackets, no DNS. Returns NULL and fills ss, or the
 * reason it is refused. need_port: the port is required.
 */
static const char *hostport_parse(const char *p, size_t len, bool need_port,
				  struct sockaddr_storage *ss, socklen_t *sl)
{
	const char *a = p, *end = p + len, *colon = NULL;
	size_t alen;
	uint64_t port = DEFAULT_PORT;

	if (len && p[0] == '[') {
		const char *rb = memchr(p, ']', len);

		if (!rb)
			return "has no ']' after the IPv6 address";
		a = p + 1;
		alen = (size_t)(rb - a);
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return "has something other than ':PORT' after ']'";
			colon = rb + 1;
		}
		if (!memchr(a, ':', alen))
			return "has brackets around something other than an IPv6 address";
	} else {
		const char *c1 = memchr(p, ':', len);

		if (c1 && memchr(c1 + 1, ':', (size_t)(end - c1 - 1)))
			return "needs brackets around an IPv6 address, as [::1]:5060";
		colon = c1;
		alen = colon ? (size_t)(colon - p) : len;
	}
	if (colon) {
		if (parse_u64(colon + 1, (size_t)(end - colon - 1), &port) || port < 1 ||
		    port > 65535)
			return "has a bad port (1..65535)";
	} else if (need_port) {
		return "has no port (ADDR:PORT)";
	}
	if (!addr_make(a, alen, (unsigned)port, ss, sl))
		return "is not an IPv4 address or a bracketed IPv6 address (names are not "
		       "resolved)";
	return NULL;
}

/* dns.servers: a list of "ip", "ip:port" or "[v6]:port" (names are not resolved). */
static int set_servers(struct ld *ld, const struct conf_key *k, const char *name,
		       const yaml_node_t *v)
{
	int ret = set_strlist(ld, k, name, v);

	if (ret || is_null(v))
		return ret;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		const yaml_node_t *e = yaml_document_get_node(ld->doc, *it);
		struct sockaddr_storage ss;
		socklen_t sl;
		char s[SHOW_BUF];
		const char *why = hostport_parse(SV(e), false, &ss, &sl);

		if (why)
			return ld_err(ld, node_line(e), name, "'%s' %s", show(s, SV(e)), why);
	}
	return 0;
}

static int set_listen(struct ld *ld, const struct conf_key *k, const char *name,
		      const yaml_node_t *v)
{
	struct conf_listen *out;
	char s[SHOW_BUF];
	size_t n, i;

	if (is_null(v))
		return ld_err(ld, node_line(v), name, "must list at least one address");
	if (v->type != YAML_SEQUENCE_NODE)
		return ld_err(ld, node_line(v), name,
			      "expected a list of PROTO:ADDR[:PORT], not %s", node_kind(v));
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n < k->min)
		return ld_err(ld, node_line(v), name, "must list at least one address");
	if (n > k->max)
		return ld_err(ld, node_line(v), name, "lists %zu addresses; at most %llu", n,
			      (unsigned long long)k->max);
	out = calloc(n, sizeof(*out));
	if (!out)
		return ld_nomem(ld, node_line(v), name);
	for (i = 0; i < n; i++) {
		const yaml_node_t *e =
			yaml_document_get_node(ld->doc, v->data.sequence.items.start[i]);
		struct conf_listen *l = &out[i];
		const char *p, *why;
		size_t len;
		int ret = need_scalar(ld, name, e, "PROTO:ADDR[:PORT]");

		if (ret) {
			free(out);
			return ret;
		}
		p = (const char *)e->data.scalar.value;
		len = e->data.scalar.length;
		if (len > 4 && !strncasecmp(p, "udp:", 4))
			l->proto = CONF_UDP;
		else if (len > 4 && !strncasecmp(p, "tcp:", 4))
			l->proto = CONF_TCP;
		else {
			free(out);
			return ld_err(ld, node_line(e), name,
				      "'%s' is not PROTO:ADDR[:PORT] with PROTO udp or tcp "
				      "(udp:0.0.0.0:5060, tcp:[::1]:5060)",
				      show(s, p, len));
		}
		if (strspn(p + 4, "0123456789") == len - 4)
			why = "has no address: PROTO:ADDR[:PORT], as udp:0.0.0.0:5060";
		else
			why = hostport_parse(p + 4, len - 4, false, &l->addr, &l->addrlen);
		if (why) {
			free(out);
			return ld_err(ld, node_line(e), name, "'%s' %s", show(s, p, len), why);
		}
		memcpy(l->text, l->proto == CONF_UDP ? "udp:" : "tcp:", 4);
		addr_text(&l->addr, l->text + 4, sizeof(l->text) - 4);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(out[j].text, l->text))
				continue;
			unsigned first = node_line(
				yaml_document_get_node(ld->doc, v->data.sequence.items.start[j]));

			free(out);
			return ld_err(ld, node_line(e), name,
				      "'%s' is listed twice (first at line %u)", show(s, p, len),
				      first);
		}
	}
	free(ld->c->listen);
	ld->c->listen = out;
	ld->c->nlisten = (unsigned)n;
	return 0;
}

static int set_http(struct ld *ld, const struct conf_key *k, const char *name, const yaml_node_t *v)
{
	struct conf *c = ld->c;
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	char s[SHOW_BUF];
	const char *why;

	(void)k;
	if (v->type != YAML_SCALAR_NODE)
		return ld_err(ld, node_line(v), name, "expected ADDR:PORT or off, not %s",
			      node_kind(v));
	if (is_null(v) || !v->data.scalar.length ||
	    (v->data.scalar.length == 3 &&
	     !strncasecmp((const char *)v->data.scalar.value, "off", 3))) {
		c->http_enabled = false;
		memset(&c->http_addr, 0, sizeof(c->http_addr));
		c->http_addrlen = 0;
		snprintf(c->http_listen_text, sizeof(c->http_listen_text), "off");
		return 0;
	}
	why = hostport_parse(SV(v), true, &ss, &sl);
	if (why)
		return ld_err(ld, node_line(v), name, "'%s' %s (ADDR:PORT or off)", show(s, SV(v)),
			      why);
	c->http_enabled = true;
	c->http_addr = ss;
	c->http_addrlen = sl;
	addr_text(&ss, c->http_listen_text, sizeof(c->http_listen_text));
	return 0;
}

static int set_trace_filter(struct ld *ld, const struct conf_key *k, const char *name,
			    const yaml_node_t *v)
{
	struct conf *c = ld->c;
	char s[SHOW_BUF];
	const char *p;
	size_t len;
	int ret = need_scalar(ld, name, v, "all, ip:ADDR or call-id:ID");

	(void)k;
	if (ret)
		return ret;
	p = (const char *)v->data.scalar.value;
	len = v->data.scalar.length;
	if (len == 3 && !strncasecmp(p, "all", 3)) {
		c->trace_mode = CONF_TRACE_ALL;
		return 0;
	}
	if (len > 3 && !strncasecmp(p, "ip:", 3)) {
		const char *a = p + 3;
		size_t alen = len - 3;

		if (alen > 2 && a[0] == '[' && a[alen - 1] == ']') {
			a++;
			alen -= 2;
		}
		if (!addr_make(a, alen, 0, &c->trace_ip, NULL))
			return ld_err(
				ld, node_line(v), name,
				"'%s' is not an IPv4 or IPv6 address (names are not resolved)",
				show(s, p + 3, len - 3));
		c->trace_mode = CONF_TRACE_IP;
		return 0;
	}
	if (len > 8 && !strncasecmp(p, "call-id:", 8)) {
		const char *why = str_check(p + 8, len - 8, STR_NOSPACE);
		char *id;

		if (why || len - 8 > 255)
			return ld_err(ld, node_line(v), name, "'%s' %s", show(s, p + 8, len - 8),
				      why ? why : "is longer than 255 octets");
		id = strndup(p + 8, len - 8);
		if (!id)
			return ld_nomem(ld, node_line(v), name);
		free(c->trace_call_id);
		c->trace_call_id = id;
		c->trace_mode = CONF_TRACE_CALLID;
		return 0;
	}
	return ld_err(ld, node_line(v), name, "'%s' is not one of all, ip:ADDR, call-id:ID",
		      show(s, p, len));
}

/* ---- auth and redis ---- */

/*
 * auth.algorithms: a list of SHA-256 and MD5 (any case), preferred first, each
 * once, stored as enum auth_alg values.
 */
static int set_algs(struct ld *ld, const struct conf_key *k, const char *name, const yaml_node_t *v)
{
	static const struct conf_enum algs[] = {
		{ "SHA-256", AUTH_SHA256 },
		{ "MD5", AUTH_MD5 },
	};
	struct conf *c = ld->c;
	uint8_t out[sizeof(c->auth_algs)];
	unsigned lines[sizeof(c->auth_algs)];
	char s[SHOW_BUF];
	size_t n = 0;

	if (!is_null(v) && v->type != YAML_SEQUENCE_NODE)
		return ld_err(ld, node_line(v), name, "expected a list of SHA-256 and MD5, not %s",
			      node_kind(v));
	if (!is_null(v))
		n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n < k->min)
		return ld_err(ld, node_line(v), name, "must list at least one of SHA-256, MD5");
	if (n > k->max)
		return ld_err(ld, node_line(v), name, "lists %zu entries; at most %llu", n,
			      (unsigned long long)k->max);
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *e =
			yaml_document_get_node(ld->doc, v->data.sequence.items.start[i]);
		size_t a;
		int ret = need_scalar(ld, name, e, "SHA-256 or MD5");

		if (ret)
			return ret;
		for (a = 0; a < sizeof(algs) / sizeof(algs[0]); a++)
			if (e->data.scalar.length == strlen(algs[a].name) &&
			    !strncasecmp((const char *)e->data.scalar.value, algs[a].name,
					 strlen(algs[a].name)))
				break;
		if (a == sizeof(algs) / sizeof(algs[0]))
			return ld_err(ld, node_line(e), name, "'%s' is not one of SHA-256, MD5",
				      show(s, SV(e)));
		out[i] = (uint8_t)algs[a].value;
		lines[i] = node_line(e);
		for (size_t j = 0; j < i; j++)
			if (out[j] == out[i])
				return ld_err(ld, node_line(e), name,
					      "'%s' is listed twice (first at line %u)",
					      show(s, SV(e)), lines[j]);
	}
	memcpy(c->auth_algs, out, n);
	c->auth_nalgs = (unsigned)n;
	return 0;
}

/* An IPv4 or IPv6 address literal, or "" (none); kept as written. */
static int set_ip(struct ld *ld, const struct conf_key *k, const char *name, const yaml_node_t *v)
{
	char **dst = field(ld->c, k), s[SHOW_BUF], *dup;
	struct sockaddr_storage ss;
	const char *p = "";
	size_t len = 0;

	if (v->type != YAML_SCALAR_NODE)
		return ld_err(ld, node_line(v), name, "expected an IP address, not %s",
			      node_kind(v));
	if (!is_null(v)) {
		p = (const char *)v->data.scalar.value;
		len = v->data.scalar.length;
	}
	if (len && !addr_make(p, len, 0, &ss, NULL))
		return ld_err(ld, node_line(v), name,
			      "'%s' is not an IP address (IPv4 or IPv6, no brackets; names are "
			      "not resolved)",
			      show(s, p, len));
	dup = strndup(p, len);
	if (!dup)
		return ld_nomem(ld, node_line(v), name);
	free(*dst);
	*dst = dup;
	return 0;
}

/* ---- VOS3000 converters ---- */

/* Milliseconds as seconds with up to 3 decimals: 500 -> "0.5". */
static const char *secs(char buf[24], uint64_t ms)
{
	int n = snprintf(buf, 24, "%llu.%03llu", (unsigned long long)(ms / 1000),
			 (unsigned long long)(ms % 1000));

	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

/*
 * A whole number in VOS3000's unit into keys[0]: seconds for a duration key,
 * stored in the key's own unit (x 1000 for a millisecond key, as is for a
 * second key), a count for a plain number key. The range is the key's, in
 * VOS3000's unit.
 */
static int alias_whole(struct ld *ld, const struct conf_alias *a, const yaml_node_t *v)
{
	const struct conf_key *k = key_find(a->keys[0]);
	uint64_t scale = k->unit_ms ? 1000 / k->unit_ms : 1; /* key units per alias unit */
	uint64_t x, lo = (k->min + scale - 1) / scale, hi = k->max / scale;
	if (a->hi) {
		lo = a->lo;
		hi = a->hi;
	}
	const char *unit = k->unit_ms ? " s" : "";
	char s[SHOW_BUF];
	int ret =
		need_scalar(ld, a->name, v, k->unit_ms ? "a number of seconds" : "a whole number");

	if (ret)
		return ret;
	ret = parse_u64(SV(v), &x);
	if (ret == -EINVAL)
		return ld_err(ld, node_line(v), a->name, "'%s' is not a whole number%s",
			      show(s, SV(v)), k->unit_ms ? " of seconds" : "");
	if (ret || x > hi || (x < lo && !(k->zero_ok && x == 0)))
		return ld_err(ld, node_line(v), a->name, "%s is out of range %s%llu..%llu%s (%s)",
			      show(s, SV(v)), k->zero_ok ? "0 or " : "", (unsigned long long)lo,
			      (unsigned long long)hi, unit, k->name);
	store_uint(ld->c, k, x * scale);
	return 0;
}

/*
 * SS_SIP_RESEND_INTERVAL: the waits before each retransmission, in seconds,
 * comma-separated ("0.5,1,2,4,4,4,4,4,4,4"). The first is T1; with two or more,
 * the largest is T2. The others, and how many there are, are accepted and not
 * used: sipring doubles from T1 up to T2 (RFC 3261 §17) until Timer B or F ends
 * the transaction.
 */
static int alias_resend(struct ld *ld, const struct conf_alias *a, const yaml_node_t *v)
{
	const struct conf_key *k1 = key_find(a->keys[0]), *k2 = key_find(a->keys[1]);
	const char *p, *end;
	uint64_t first = 0, largest = 0;
	unsigned n = 0;
	char s[SHOW_BUF], b1[24], b2[24];
	int ret = need_scalar(ld, a->name, v, "a list of seconds such as 0.5,1,2,4");

	if (ret)
		return ret;
	p = (const char *)v->data.scalar.value;
	end = p + v->data.scalar.length;
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p)), *e = comma ? comma : end;
		const char *q = p;
		uint64_t ms;

		while (q < e && *q == ' ')
			q++;
		while (e > q && e[-1] == ' ')
			e--;
		if (++n > 32)
			return ld_err(ld, node_line(v), a->name, "has more than 32 intervals");
		ret = parse_dur(q, (size_t)(e - q), 1000, 1, &ms);
		if (ret == -EINVAL || ret == -EDOM)
			return ld_err(ld, node_line(v), a->name,
				      "interval %u '%s' is not a number of seconds (at most 3 "
				      "decimals)",
				      n, show(s, q, (size_t)(e - q)));
		if (ret || ms == 0)
			return ld_err(ld, node_line(v), a->name,
				      "interval %u '%s' must be more than 0", n,
				      show(s, q, (size_t)(e - q)));
		if (n == 1)
			first = ms;
		if (ms > largest)
			largest = ms;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (first < k1->min || first > k1->max)
		return ld_err(ld, node_line(v), a->name,
			      "first interval %s is out of range %s..%s s (%s)", secs(s, first),
			      secs(b1, k1->min), secs(b2, k1->max), k1->name);
	if (n > 1 && (largest < k2->min || largest > k2->max))
		return ld_err(ld, node_line(v), a->name,
			      "largest interval %s is out of range %s..%s s (%s)", secs(s, largest),
			      secs(b1, k2->min), secs(b2, k2->max), k2->name);
	store_uint(ld->c, k1, first);
	if (n > 1)
		store_uint(ld->c, k2, largest);
	return 0;
}

/* ---- the walk ---- */

static int lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* Edit distance (insert, delete, substitute, swap neighbours), case-insensitive. */
static unsigned distance(const char *a, size_t la, const char *b, size_t lb)
{
	unsigned d[3][CONF_KEY_MAX + 1];

	if (la > CONF_KEY_MAX || lb > CONF_KEY_MAX)
		return UINT_MAX;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned *cur = d[i % 3], *prev = d[(i - 1) % 3], *prev2 = d[(i + 1) % 3];

		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = lower(a[i - 1]) != lower(b[j - 1]);
			unsigned m = prev[j] + 1;

			if (cur[j - 1] + 1 < m)
				m = cur[j - 1] + 1;
			if (prev[j - 1] + cost < m)
				m = prev[j - 1] + cost;
			if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
			    lower(a[i - 2]) == lower(b[j - 1]) && prev2[j - 2] + 1 < m)
				m = prev2[j - 2] + 1;
			cur[j] = m;
		}
	}
	return d[la % 3][lb];
}

/*
 * An unknown key: suggest the closest sibling (a key or section in the same map,
 * or at the top an alias) within 2 edits, else a key elsewhere with the same
 * last name ("sip.t1" -> "sip.timers.t1").
 */
static int unknown_key(struct ld *ld, unsigned line, const char *prefix, const char *path,
		       const char *leaf, size_t leaf_len)
{
	size_t plen = prefix ? strlen(prefix) + 1 : 0;
	unsigned best = 3;
	char hint[CONF_KEY_MAX * 2 + 2] = "";

	for (size_t i = 0; i < NKEYS; i++) {
		const char *name = conf_keys[i].name, *child, *dot;
		size_t clen;
		unsigned dist;

		if (prefix && (strncmp(name, prefix, plen - 1) || name[plen - 1] != '.'))
			continue;
		child = name + plen;
		dot = strchr(child, '.');
		clen = dot ? (size_t)(dot - child) : strlen(child);
		dist = distance(leaf, leaf_len, child, clen);
		if (dist < best) {
			best = dist;
			snprintf(hint, sizeof(hint), "%.*s", (int)(plen + clen), name);
		}
	}
	for (size_t i = 0; !prefix && i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		unsigned dist = distance(leaf, leaf_len, aliases[i].name, strlen(aliases[i].name));

		if (dist < best) {
			best = dist;
			snprintf(hint, sizeof(hint), "%s", aliases[i].name);
		}
	}
	if (hint[0])
		return ld_err(ld, line, path, "unknown key; did you mean %s?", hint);
	for (size_t i = 0; i < NKEYS; i++) {
		const char *last = strrchr(conf_keys[i].name, '.') + 1;

		if (strlen(last) == leaf_len && !strncmp(last, leaf, leaf_len))
			return ld_err(ld, line, path, "unknown key; did you mean %s?",
				      conf_keys[i].name);
	}
	for (size_t i = 0; prefix && i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strlen(aliases[i].name) == leaf_len &&
		    !strncmp(aliases[i].name, leaf, leaf_len))
			return ld_err(ld, line, path,
				      "unknown key; VOS3000 parameters go at the top level");
	return ld_err(ld, line, path, "unknown key");
}

/* Key k is about to be set by name at line: refuse if something set it already. */
static int claim(struct ld *ld, const struct conf_key *k, const char *name, unsigned line)
{
	const struct origin *o = &ld->set[k - conf_keys];

	if (!o->line)
		return 0;
	if (!strcmp(name, k->name))
		return ld_err(ld, line, name, "%s (line %u) sets it too; give only one of the two",
			      o->by, o->line);
	if (!strcmp(o->by, k->name))
		return ld_err(ld, line, name,
			      "is an alias of %s, given too at line %u; give only one of the two",
			      k->name, o->line);
	return ld_err(ld, line, name,
		      "sets %s, which %s (line %u) sets too; give only one of the two", k->name,
		      o->by, o->line);
}

static int apply_alias(struct ld *ld, const struct conf_alias *a, unsigned line,
		       const yaml_node_t *v)
{
	const struct conf_key *k[2] = { NULL, NULL };
	int ret;

	for (int i = 0; i < 2 && a->keys[i]; i++) {
		k[i] = key_find(a->keys[i]);
		if (!k[i])
			return ld_err(ld, line, a->name, "alias of an unknown key %s", a->keys[i]);
		ret = claim(ld, k[i], a->name, line);
		if (ret)
			return ret;
	}
	ret = a->conv ? a->conv(ld, a, v) : k[0]->set(ld, k[0], a->name, v);
	if (ret)
		return ret;
	for (int i = 0; i < 2 && k[i]; i++)
		ld->set[k[i] - conf_keys] = (struct origin){ line, a->name };
	return 0;
}

static int walk_map(struct ld *ld, const yaml_node_t *map, const char *prefix)
{
	const yaml_node_pair_t *pair;

	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		const yaml_node_t *kn = yaml_document_get_node(ld->doc, pair->key);
		const yaml_node_t *vn = yaml_document_get_node(ld->doc, pair->value);
		const struct conf_alias *a;
		const struct conf_key *k;
		char path[CONF_PATH_MAX], s[SHOW_BUF];
		const char *name;
		size_t len;
		int ret;

		if (kn->type != YAML_SCALAR_NODE)
			return ld_err(ld, node_line(kn), prefix ? prefix : "(top)",
				      "a key must be a name, not %s", node_kind(kn));
		name = (const char *)kn->data.scalar.value;
		len = kn->data.scalar.length;
		if (len > CONF_KEY_MAX || str_check(name, len, 0)) {
			snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "",
				 prefix ? "." : "", show(s, name, len));
			return ld_err(ld, node_line(kn), path, "unknown key");
		}
		snprintf(path, sizeof(path), "%s%s%.*s", prefix ? prefix : "", prefix ? "." : "",
			 (int)len, name);
		for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
			const yaml_node_t *qn = yaml_document_get_node(ld->doc, q->key);

			if (qn->type == YAML_SCALAR_NODE && qn->data.scalar.length == len &&
			    !memcmp(qn->data.scalar.value, name, len))
				return ld_err(ld, node_line(kn), path,
					      "duplicate key (first at line %u)", node_line(qn));
		}
		if (!prefix && (a = alias_find(path))) {
			ret = apply_alias(ld, a, node_line(kn), vn);
		} else if ((k = key_find(path))) {
			ret = claim(ld, k, k->name, node_line(kn));
			if (!ret)
				ret = k->set(ld, k, k->name, vn);
			if (!ret)
				ld->set[k - conf_keys] = (struct origin){ node_line(kn), k->name };
		} else if (is_section(path)) {
			if (is_null(vn))
				continue;
			if (vn->type != YAML_MAPPING_NODE)
				return ld_err(ld, node_line(vn), path,
					      "is a section: expected a map, not %s",
					      node_kind(vn));
			ret = walk_map(ld, vn, path);
		} else {
			ret = unknown_key(ld, node_line(kn), prefix, path, name, len);
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* The host name, or "sipring" if it has none; at most 64 octets. */
static void host_name(char buf[65])
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0 || !host[0])
		snprintf(host, sizeof(host), "sipring");
	host[64] = '\0'; /* HOST_NAME_MAX */
	memcpy(buf, host, strlen(host) + 1);
}

/* After the walk: defaults that depend on other keys, then the cross-field rules. */
static int finish(struct ld *ld)
{
	struct conf *c = ld->c;
	const struct conf_key *kb = key_find("sip.timers.timer_b");
	const struct conf_key *kf = key_find("sip.timers.timer_f");

	if (!c->node_name[0]) {
		char host[65], *dup;

		host_name(host);
		dup = strdup(host);
		if (!dup)
			return ld_nomem(ld, 0, "node.name");
		free(c->node_name);
		c->node_name = dup;
	}
	if (!ld->set[kb - conf_keys].line)
		c->timer_b_ms = 64 * c->t1_ms;
	if (!ld->set[kf - conf_keys].line)
		c->timer_f_ms = 64 * c->t1_ms;
	if (!c->trace_file || !c->trace_file[0]) {
		free(c->trace_file);
		c->trace_file = NULL;
		c->trace_mode = CONF_TRACE_OFF;
	} else if (c->trace_mode == CONF_TRACE_OFF) {
		c->trace_mode = CONF_TRACE_ALL;
	}
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct conf_key *ka = key_find(rules[i].a), *kb2 = key_find(rules[i].b);
		const struct origin *oa = &ld->set[ka - conf_keys], *ob = &ld->set[kb2 - conf_keys];
		uint64_t va = load_uint(c, ka), vb = load_uint(c, kb2);
		/* The later of the two; b when one line set both (an alias). */
		bool at_a = oa->line > ob->line;
		const struct conf_key *kr = at_a ? ka : kb2, *ko = at_a ? kb2 : ka;
		const struct origin *o = at_a ? oa : ob;
		const char *by = o->by ? o->by : kr->name;

		if (va >= vb)
			continue;
		if (!strcmp(by, kr->name))
			return ld_err(ld, o->line, by, "%llu%s must be %s %s (%llu%s)",
				      (unsigned long long)load_uint(c, kr), unit_name(kr),
				      at_a ? ">=" : "<=", ko->name,
				      (unsigned long long)load_uint(c, ko), unit_name(ko));
		return ld_err(ld, o->line, by, "sets %s to %llu%s, which must be %s %s (%llu%s)",
			      kr->name, (unsigned long long)load_uint(c, kr), unit_name(kr),
			      at_a ? ">=" : "<=", ko->name, (unsigned long long)load_uint(c, ko),
			      unit_name(ko));
	}
	if (c->redis_host[0] && c->redis_unix[0]) {
		const struct origin *oh = &ld->set[key_find("redis.host") - conf_keys];
		const struct origin *ou = &ld->set[key_find("redis.unix_socket") - conf_keys];
		bool at_u = ou->line > oh->line;

		return ld_err(
			ld, at_u ? ou->line : oh->line, at_u ? "redis.unix_socket" : "redis.host",
			"cannot be set together with %s (line %u); give only one of the two",
			at_u ? "redis.host" : "redis.unix_socket", at_u ? oh->line : ou->line);
	}
	return 0;
}

/* ---- files and libyaml ---- */

static int read_all(const char *path, char **buf, size_t *len)
{
	size_t cap = 4096, got = 0;
	struct stat st;
	char *p = NULL;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (!p || got == cap) {
			char *q;

			if (p)
				cap *= 2;
			q = realloc(p, cap);
			if (!q) {
				ret = -ENOMEM;
				goto out;
			}
			p = q;
		}
		n = read(fd, p + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > CONF_MAX_FILE) {
			ret = -EFBIG;
			goto out;
		}
	}
out:
	close(fd);
	if (ret) {
		free(p);
		return ret;
	}
	*buf = p;
	*len = got;
	return 0;
}

/* libyaml's reader errors carry an offset, not a mark. */
static unsigned line_at(const char *buf, size_t len, size_t off)
{
	unsigned line = 1;

	for (size_t i = 0; i < off && i < len; i++)
		line += buf[i] == '\n';
	return line;
}

static int yaml_fail(struct ld *ld, const yaml_parser_t *p, const char *buf, size_t len)
{
	unsigned line;
	char ctx[96] = "", val[24] = "";

	if (p->error == YAML_MEMORY_ERROR)
		return ld_nomem(ld, 0, "(yaml)");
	if (p->error == YAML_READER_ERROR) {
		line = line_at(buf, len, p->problem_offset);
		if (p->problem_value != -1)
			snprintf(val, sizeof(val), " 0x%02x", (unsigned)p->problem_value);
	} else {
		line = (unsigned)p->problem_mark.line + 1;
	}
	if (p->context)
		snprintf(ctx, sizeof(ctx), " (%s at line %u)", p->context,
			 (unsigned)p->context_mark.line + 1);
	return ld_err(ld, line, "(yaml)", "%s%s%s", p->problem ? p->problem : "syntax error", val,
		      ctx);
}

/* Parse buf and walk its one document. */
static int load_yaml(struct ld *ld, const char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc, more;
	const yaml_node_t *root;
	int ret = 0;

	if (!yaml_parser_initialize(&parser))
		return ld_nomem(ld, 0, "(yaml)");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		ret = yaml_fail(ld, &parser, buf, len);
		yaml_parser_delete(&parser);
		return ret;
	}
	ld->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root) {
		if (!yaml_parser_load(&parser, &more)) {
			ret = yaml_fail(ld, &parser, buf, len);
		} else {
			const yaml_node_t *r2 = yaml_document_get_root_node(&more);

			if (r2)
				ret = ld_err(ld, node_line(r2), "(yaml)",
					     "a second document; the file holds one");
			yaml_document_delete(&more);
		}
	}
	if (!ret && root && !is_null(root)) {
		if (root->type != YAML_MAPPING_NODE)
			ret = ld_err(ld, node_line(root), "(top)",
				     "expected a map of sections (node:, sip:, ...), not %s",
				     node_kind(root));
		else
			ret = walk_map(ld, root, NULL);
	}
	ld->doc = NULL;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return ret;
}

/* ---- public ---- */

static int listen_default(struct conf_listen *l, uint8_t proto, const char *addr)
{
	l->proto = proto;
	if (!addr_make(addr, strlen(addr), DEFAULT_PORT, &l->addr, &l->addrlen))
		return -EINVAL;
	memcpy(l->text, proto == CONF_UDP ? "udp:" : "tcp:", 4);
	addr_text(&l->addr, l->text + 4, sizeof(l->text) - 4);
	return 0;
}

int conf_defaults(struct conf *c)
{
	char host[65];

	memset(c, 0, sizeof(*c));
	host_name(host);
	c->node_name = strdup(host);
	c->workers = 0;
	c->pin_workers = true;
	c->log_level = LOG_INFO;
	c->log_format = CONF_LOG_LOGFMT;
	c->listen = calloc(2, sizeof(*c->listen));
	c->advertised_host = strdup("");
	c->max_message_size = 65535;
	c->max_forwards = 70;
	c->server_header = strdup("sipring");
	c->t1_ms = 500;
	c->t2_ms = 4000;
	c->t4_ms = 5000;
	c->timer_b_ms = 64 * c->t1_ms;
	c->timer_f_ms = 64 * c->t1_ms;
	c->tcp_max_connections = 4096;
	c->tcp_idle_timeout_s = 300;
	c->tcp_max_buffer = 65536;
	c->ring_entries = 4096;
	c->rx_buffers = 4096;
	c->rx_buffer_size = 65536;
	c->stop_deadline_ms = 5000;
	c->udp_buffer = 16u << 20;
	c->trace_mode = CONF_TRACE_OFF;
	c->http_enabled = true;
	addr_make("127.0.0.1", 9, 8080, &c->http_addr, &c->http_addrlen);
	addr_text(&c->http_addr, c->http_listen_text, sizeof(c->http_listen_text));
	c->spool_dir = strdup("var/spool");
	c->reg_enabled = true;
	c->reg_min_expires_s = 60;
	c->reg_max_expires_s = 3600;
	c->reg_default_expires_s = 3600;
	c->reg_max_contacts = 10;
	c->reg_max_bindings = 0;
	c->reg_replace = true;
	c->reg_authenticate = true;
	c->reg_keepalive_s = 0;
	c->accounts_redis_refresh_s = 60;
	c->reg_keepalive_failures = 3;
	c->suspend_retry = 6;
	c->suspend_time_s = 180;
	c->suspend_by_ip = false;
	c->suspend_action = CONF_SUSPEND_REJECT;
	c->auth_realm = strdup("");
	c->auth_nonce_expire_s = 300;
	c->auth_secret = strdup("");
	c->auth_algs[0] = AUTH_SHA256;
	c->auth_algs[1] = AUTH_MD5;
	c->auth_nalgs = 2;
	c->auth_refuse_rfc2069 = false;
	c->accounts_file = strdup("");
	c->uplinks_file = strdup("");
	c->dns_timeout_ms = 2000;
	c->dns_tries = 2;
	c->dns_ttl_floor_s = 10;
	c->dns_ttl_ceiling_s = 3600;
	c->dns_negative_ttl_s = 30;
	c->dns_stale_grace_s = 86400;
	c->dns_prefetch = 85;
	c->uplink_expire_s = 0;
	c->uplink_retry_s = 60;
	c->uplink_privacy = 0;
	c->uplink_send_unregister = true;
	c->uplink_auth_retry = 2;
	c->redis_host = strdup("");
	c->redis_port = 6379;
	c->redis_unix = strdup("");
	c->redis_password = strdup("");
	c->redis_db = 0;
	c->redis_prefix = strdup("sipring:");
	if (!c->node_name || !c->listen || !c->advertised_host || !c->server_header ||
	    !c->spool_dir || !c->auth_realm || !c->auth_secret || !c->accounts_file ||
	    !c->uplinks_file || !c->redis_host || !c->redis_unix || !c->redis_password ||
	    !c->redis_prefix) {
		conf_free(c);
		return -ENOMEM;
	}
	c->nlisten = 2;
	listen_default(&c->listen[0], CONF_UDP, "0.0.0.0");
	listen_default(&c->listen[1], CONF_TCP, "0.0.0.0");
	return 0;
}

int conf_load(const char *path, struct conf *c, char *err, size_t errlen)
{
	struct ld ld = { .file = path ? path : "(null)", .err = err, .errlen = errlen, .c = c };
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	ret = conf_defaults(c);
	if (ret)
		return ld_nomem(&ld, 0, "(file)");
	if (!path) {
		conf_free(c);
		return ld_err(&ld, 0, "(file)", "no path given");
	}
	c->file = strdup(path);
	if (!c->file) {
		conf_free(c);
		return ld_nomem(&ld, 0, "(file)");
	}
	ret = read_all(path, &buf, &len);
	if (ret) {
		ld_err(&ld, 0, "(file)", "cannot read: %s", strerror(-ret));
		conf_free(c);
		return ret;
	}
	ret = load_yaml(&ld, buf, len);
	if (!ret)
		ret = finish(&ld);
	free(buf);
	if (ret)
		conf_free(c);
	return ret;
}

void conf_free(struct conf *c)
{
	free(c->file);
	free(c->node_name);
	free(c->listen);
	free(c->advertised_host);
	strv_free(c->domains, c->ndomains);
	strv_free(c->supported, c->nsupported);
	free(c->server_header);
	free(c->trace_file);
	free(c->trace_call_id);
	free(c->spool_dir);
	free(c->auth_realm);
	free(c->auth_secret);
	free(c->accounts_file);
	free(c->uplinks_file);
	strv_free(c->dns_servers, c->ndns_servers);
	free(c->redis_host);
	free(c->redis_unix);
	free(c->redis_password);
	free(c->redis_prefix);
	memset(c, 0, sizeof(*c));
}

static bool listen_same(const struct conf *a, const struct conf *b)
{
	if (a->nlisten != b->nlisten)
		return false;
	/* Same set, any order (entries are unique within one file). */
	for (unsigned i = 0; i < a->nlisten; i++) {
		unsigned j;

		for (j = 0; j < b->nlisten; j++)
			if (!strcmp(a->listen[i].text, b->listen[j].text))
				break;
		if (j == b->nlisten)
			return false;
	}
	return true;
}

/* NULL and "" are the same: neither is set. */
static bool str_same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static bool http_same(const struct conf *a, const struct conf *b)
{
	if (a->http_enabled != b->http_enabled)
		return false;
	return !a->http_enabled || !strcmp(a->http_listen_text, b->http_listen_text);
}

static bool dns_same(const struct conf *a, const struct conf *b)
{
	if (a->ndns_servers != b->ndns_servers || a->dns_timeout_ms != b->dns_timeout_ms ||
	    a->dns_tries != b->dns_tries || a->dns_ttl_floor_s != b->dns_ttl_floor_s ||
	    a->dns_ttl_ceiling_s != b->dns_ttl_ceiling_s ||
	    a->dns_negative_ttl_s != b->dns_negative_ttl_s ||
	    a->dns_stale_grace_s != b->dns_stale_grace_s || a->dns_prefetch != b->dns_prefetch)
		return false;
	for (unsigned i = 0; i < a->ndns_servers; i++)
		if (strcmp(a->dns_servers[i], b->dns_servers[i]))
			return false;
	return true;
}

unsigned conf_restart_keys(const struct conf *old, const struct conf *new_, char *buf, size_t len)
{
	const struct {
		const char *key;
		bool changed;
	} t[] = {
		{ "node.workers", old->workers != new_->workers },
		{ "node.pin_workers", old->pin_workers != new_->pin_workers },
		{ "sip.listen", !listen_same(old, new_) },
		{ "sip.private_port_base", old->private_port_base != new_->private_port_base },
		{ "tcp.max_connections", old->tcp_max_connections != new_->tcp_max_connections },
		{ "tcp.max_buffer", old->tcp_max_buffer != new_->tcp_max_buffer },
		{ "runtime.ring_entries", old->ring_entries != new_->ring_entries },
		{ "runtime.rx_buffers", old->rx_buffers != new_->rx_buffers },
		{ "runtime.rx_buffer_size", old->rx_buffer_size != new_->rx_buffer_size },
		{ "runtime.udp_buffer", old->udp_buffer != new_->udp_buffer },
		{ "http.listen", !http_same(old, new_) },
		/* The Redis connection is made at start. */
		{ "registrar.max_bindings", old->reg_max_bindings != new_->reg_max_bindings },
		/* The resolver is made at start. */
		{ "dns.*", !dns_same(old, new_) },
		{ "redis.host", !str_same(old->redis_host, new_->redis_host) },
		{ "redis.port", old->redis_port != new_->redis_port },
		{ "redis.unix_socket", !str_same(old->redis_unix, new_->redis_unix) },
		{ "redis.password", !str_same(old->redis_password, new_->redis_password) },
		{ "redis.db", old->redis_db != new_->redis_db },
		{ "redis.prefix", !str_same(old->redis_prefix, new_->redis_prefix) },
	};
	unsigned n = 0;
	size_t used = 0;

	if (buf && len)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!t[i].changed)
			continue;
		if (buf && used < len) {
			int w = snprintf(buf + used, len - used, "%s%s", n ? ", " : "", t[i].key);

			used = w < 0 ? len : used + (size_t)w;
		}
		n++;
	}
	return n;
}
