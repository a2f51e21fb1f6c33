/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/conf.h: defaults, the shipped example, every key's range edges,
 * durations, addresses, every kind of error with its "FILE:LINE: KEY:" prefix,
 * the registrar, auth and redis keys, the VOS3000 aliases, and which changes
 * need a restart. Each YAML text is
 * written to a temporary file (mkstemp) and loaded from there.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "core/conf.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* enum auth_alg (core/auth.h), as conf.h documents auth_algs[]. */
#define ALG_MD5	   0
#define ALG_SHA256 1

struct tmp {
	char path[64];
};

static void tmp_write(struct tmp *t, const char *text)
{
	size_t len = strlen(text);
	int fd;

	snprintf(t->path, sizeof(t->path), "/tmp/sipring-conf-XXXXXX");
	fd = mkstemp(t->path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* Load text; the error message goes to err. */
static int load_text(const char *text, struct conf *c, struct tmp *t, char *err, size_t errlen)
{
	int ret;

	tmp_write(t, text);
	ret = conf_load(t->path, c, err, errlen);
	unlink(t->path);
	return ret;
}

/* Load text that must load. */
static void load_ok(const char *text, struct conf *c)
{
	struct tmp t;
	char err[512];
	int ret = load_text(text, c, &t, err, sizeof(err));

	cr_assert_eq(ret, 0, "load failed (%d): %s\n--\n%s", ret, err, text);
}

/*
 * Load text that must fail with -EINVAL and a one-line message that starts
 * "FILE:line: key: " and holds sub (if not NULL).
 */
static void load_fails(const char *text, unsigned line, const char *key, const char *sub)
{
	struct tmp t;
	struct conf c;
	char err[512], want[256];
	int ret;

	memset(&c, 0x5a, sizeof(c));
	ret = load_text(text, &c, &t, err, sizeof(err));
	cr_assert_eq(ret, -EINVAL, "loaded (%d) but should fail at %u %s:\n%s", ret, line, key,
		     text);
	snprintf(want, sizeof(want), "%s:%u: %s: ", t.path, line, key);
	cr_assert(!strncmp(err, want, strlen(want)), "want prefix '%s', got '%s'", want, err);
	if (sub)
		cr_assert(strstr(err, sub), "want '%s' in '%s'", sub, err);
	cr_assert_null(strchr(err, '\n'), "not one line: '%s'", err);
	/* Nothing left allocated, and the struct is zeroed. */
	cr_assert_null(c.node_name);
	cr_assert_null(c.listen);
	cr_assert_null(c.file);
}

/*
 * YAML from dotted keys: {"sip.timers.t1", "500", "tcp.max_buffer", "4096"} gives
 * nested maps; pairs of one section must be next to each other. Returns the line
 * of the last pair.
 */
static unsigned nest(char *out, size_t cap, const char *const *kv, size_t n)
{
	const char *prev = "";
	size_t used = 0;
	unsigned line = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i += 2) {
		const char *key = kv[i], *p = key, *q = prev;
		unsigned depth = 0;

		/* Skip the sections shared with the previous key. */
		for (;;) {
			const char *pd = strchr(p, '.'), *qd = strchr(q, '.');

			if (!pd || !qd || pd - p != qd - q || strncmp(p, q, (size_t)(pd - p)))
				break;
			p = pd + 1;
			q = qd + 1;
			depth++;
		}
		for (const char *d; (d = strchr(p, '.')); p = d + 1, depth++) {
			used += (size_t)snprintf(out + used, cap - used, "%*s%.*s:\n",
						 (int)depth * 2, "", (int)(d - p), p);
			line++;
		}
		used += (size_t)snprintf(out + used, cap - used, "%*s%s: %s\n", (int)depth * 2, "",
					 p, kv[i + 1]);
		line++;
		cr_assert_lt(used, cap);
		prev = key;
	}
	return line;
}

static const char *source_root(void)
{
	const char *d = getenv("SIPRING_SOURCE_ROOT");

	return d ? d : ".";
}

/* ---- defaults and whole files ---- */

/* registrar.*, auth.*, accounts.*, redis.* */
static void check_defaults_registrar(const struct conf *c)
{
	cr_assert(c->reg_enabled);
	cr_assert_eq(c->reg_min_expires_s, 60);
	cr_assert_eq(c->reg_max_expires_s, 3600);
	cr_assert_eq(c->reg_default_expires_s, 3600);
	cr_assert_eq(c->reg_max_contacts, 10);
	cr_assert_eq(c->reg_max_bindings, 0);
	cr_assert(c->reg_replace);
	cr_assert(c->reg_authenticate);
	cr_assert_eq(c->reg_keepalive_s, 0);
	cr_assert_eq(c->reg_keepalive_failures, 3);
	cr_assert_eq(c->suspend_retry, 6);
	cr_assert_eq(c->suspend_time_s, 180);
	cr_assert_not(c->suspend_by_ip);
	cr_assert_eq(c->suspend_action, CONF_SUSPEND_REJECT);
	cr_assert_str_eq(c->auth_realm, "");
	cr_assert_eq(c->auth_nonce_expire_s, 300);
	cr_assert_str_eq(c->auth_secret, "");
	cr_assert_eq(c->auth_nalgs, 2);
	cr_assert_eq(c->auth_algs[0], ALG_SHA256);
	cr_assert_eq(c->auth_algs[1], ALG_MD5);
	cr_assert_not(c->auth_refuse_rfc2069);
	cr_assert_str_eq(c->accounts_file, "");
	cr_assert_str_eq(c->redis_host, "");
	cr_assert_eq(c->redis_port, 6379);
	cr_assert_str_eq(c->redis_unix, "");
	cr_assert_str_eq(c->redis_password, "");
	cr_assert_eq(c->redis_db, 0);
	cr_assert_str_eq(c->redis_prefix, "sipring:");
}

static void check_defaults_but_listen(const struct conf *c)
{
	char host[256] = "";

	gethostname(host, sizeof(host));
	cr_assert_str_eq(c->node_name, host[0] ? host : "sipring");
	cr_assert_eq(c->workers, 0);
	cr_assert(c->pin_workers);
	cr_assert_eq(c->log_level, LOG_INFO);
	cr_assert_eq(c->log_format, CONF_LOG_LOGFMT);
	cr_assert_eq(c->private_port_base, 0);
	cr_assert_str_eq(c->advertised_host, "");
	cr_assert_eq(c->ndomains, 0);
	cr_assert_eq(c->nsupported, 0);
	cr_assert_eq(c->max_message_size, 65535);
	cr_assert_eq(c->max_forwards, 70);
	cr_assert_str_eq(c->server_header, "sipring");
	cr_assert_eq(c->t1_ms, 500);
	cr_assert_eq(c->t2_ms, 4000);
	cr_assert_eq(c->t4_ms, 5000);
	cr_assert_eq(c->timer_b_ms, 32000);
	cr_assert_eq(c->timer_f_ms, 32000);
	cr_assert_eq(c->tcp_max_connections, 4096);
	cr_assert_eq(c->tcp_idle_timeout_s, 300);
	cr_assert_eq(c->tcp_max_buffer, 65536);
	cr_assert_eq(c->ring_entries, 4096);
	cr_assert_eq(c->rx_buffers, 4096);
	cr_assert_eq(c->rx_buffer_size, 65536);
	cr_assert_eq(c->stop_deadline_ms, 5000);
	cr_assert_eq(c->udp_buffer, 16u << 20);
	cr_assert_null(c->trace_file);
	cr_assert_eq(c->trace_mode, CONF_TRACE_OFF);
	cr_assert(c->http_enabled);
	cr_assert_str_eq(c->http_listen_text, "127.0.0.1:8080");
	cr_assert_eq(c->http_addr.ss_family, AF_INET);
	cr_assert_eq(c->http_addrlen, sizeof(struct sockaddr_in));
	cr_assert_eq(ntohs(((const struct sockaddr_in *)&c->http_addr)->sin_port), 8080);
	cr_assert_str_eq(c->spool_dir, "var/spool");
	check_defaults_registrar(c);
}

Test(conf, defaults)
{
	struct conf c;

	cr_assert_eq(conf_defaults(&c), 0);
	check_defaults_but_listen(&c);
	cr_assert_null(c.file);
	cr_assert_eq(c.nlisten, 2);
	cr_assert_str_eq(c.listen[0].text, "udp:0.0.0.0:5060");
	cr_assert_eq(c.listen[0].proto, CONF_UDP);
	cr_assert_str_eq(c.listen[1].text, "tcp:0.0.0.0:5060");
	cr_assert_eq(c.listen[1].proto, CONF_TCP);
	cr_assert_eq(c.listen[1].addr.ss_family, AF_INET);
	cr_assert_eq(c.listen[1].addrlen, sizeof(struct sockaddr_in));
	cr_assert_eq(ntohs(((const struct sockaddr_in *)&c.listen[1].addr)->sin_port), 5060);
	conf_free(&c);
	conf_free(&c); /* zeroed: a second call is harmless */
}

/* An empty file, comments only, or "---" alone: every default. */
Test(conf, empty_files)
{
	static const char *const t[] = { "", "# nothing\n", "---\n", "~\n", "node:\nsip:\n" };

	for (size_t i = 0; i < N(t); i++) {
		struct conf c;

		load_ok(t[i], &c);
		check_defaults_but_listen(&c);
		cr_assert_eq(c.nlisten, 2);
		cr_assert_not_null(c.file);
		conf_free(&c);
	}
}

/* examples/sipring.yaml, the embedded default, loads and says what the README says. */
Test(conf, example_file)
{
	char path[4096], err[512];
	struct conf c;
	int ret;

	snprintf(path, sizeof(path), "%s/examples/sipring.yaml", source_root());
	ret = conf_load(path, &c, err, sizeof(err));
	cr_assert_eq(ret, 0, "%s", err);
	cr_assert_str_eq(c.file, path);
	cr_assert_eq(c.workers, 0);
	cr_assert_eq(c.log_level, LOG_INFO);
	/* IPv4 loopback only: the run command must start where IPv6 is off. */
	cr_assert_eq(c.nlisten, 2);
	cr_assert_str_eq(c.listen[0].text, "udp:127.0.0.1:5060");
	cr_assert_str_eq(c.listen[1].text, "tcp:127.0.0.1:5060");
	cr_assert_eq(c.listen[1].addr.ss_family, AF_INET);
	cr_assert(c.http_enabled);
	cr_assert_str_eq(c.http_listen_text, "127.0.0.1:8080");
	cr_assert_str_eq(c.spool_dir, "var/spool");
	cr_assert_null(c.trace_file);
	cr_assert_eq(c.trace_mode, CONF_TRACE_OFF);
	cr_assert_eq(c.t1_ms, 500);
	cr_assert_eq(c.t2_ms, 4000);
	cr_assert_eq(c.timer_b_ms, 32000);
	cr_assert_eq(c.tcp_idle_timeout_s, 300);
	cr_assert_eq(c.stop_deadline_ms, 5000);
	conf_free(&c);
}

/* The example at the end of docs/configuration.md loads as the page says. */
Test(conf, docs_example)
{
	char path[4096], *text = NULL, *start, *end;
	size_t cap = 0;
	struct conf c;
	FILE *f;

	snprintf(path, sizeof(path), "%s/docs/configuration.md", source_root());
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_gt(getdelim(&text, &cap, '\0', f), 0);
	fclose(f);
	start = strstr(text, "```yaml\n");
	cr_assert_not_null(start);
	start += 8;
	end = strstr(start, "```");
	cr_assert_not_null(end);
	*end = '\0';
	load_ok(start, &c);
	free(text);
	cr_assert_eq(c.workers, 8);
	cr_assert_eq(c.nlisten, 2);
	cr_assert_eq(c.timer_b_ms, 10000);
	cr_assert_eq(c.timer_f_ms, 32000);
	cr_assert_eq(c.tcp_idle_timeout_s, 600);
	cr_assert_eq(c.trace_mode, CONF_TRACE_IP);
	cr_assert_eq(c.reg_max_contacts, 4);
	cr_assert(c.suspend_by_ip);
	cr_assert_eq(c.suspend_retry, 6);
	cr_assert_eq(c.suspend_time_s, 300);
	cr_assert_str_eq(c.auth_realm, "sip.example.net");
	cr_assert_str_eq(c.accounts_file, "/etc/sipring/accounts.yaml");
	cr_assert_str_eq(c.redis_host, "127.0.0.1");
	conf_free(&c);
}

/* tests/core/data/conf/full.yaml sets every key away from its default. */
Test(conf, full_file)
{
	char path[4096], err[512];
	struct conf c;
	const struct sockaddr_in6 *in6;
	int ret;

	snprintf(path, sizeof(path), "%s/tests/core/data/conf/full.yaml", source_root());
	ret = conf_load(path, &c, err, sizeof(err));
	cr_assert_eq(ret, 0, "%s", err);
	cr_assert_str_eq(c.node_name, "edge-1.example");
	cr_assert_eq(c.workers, 8);
	cr_assert_not(c.pin_workers);
	cr_assert_eq(c.log_level, LOG_DEBUG);
	cr_assert_eq(c.log_format, CONF_LOG_JSON);
	cr_assert_eq(c.nlisten, 3);
	cr_assert_str_eq(c.listen[0].text, "udp:192.0.2.10:5080");
	cr_assert_str_eq(c.listen[1].text, "tcp:192.0.2.10:5060");
	cr_assert_str_eq(c.listen[2].text, "udp:[2001:db8::10]:5060");
	cr_assert_eq(c.private_port_base, 20000);
	cr_assert_str_eq(c.advertised_host, "sip.example.net");
	cr_assert_eq(c.ndomains, 2);
	cr_assert_str_eq(c.domains[0], "example.net");
	cr_assert_str_eq(c.domains[1], "198.51.100.7");
	cr_assert_eq(c.nsupported, 2);
	cr_assert_str_eq(c.supported[0], "100rel");
	cr_assert_str_eq(c.supported[1], "timer");
	cr_assert_eq(c.max_message_size, 16384);
	cr_assert_eq(c.max_forwards, 32);
	cr_assert_str_eq(c.server_header, "");
	cr_assert_eq(c.t1_ms, 250);
	cr_assert_eq(c.t2_ms, 2000);
	cr_assert_eq(c.t4_ms, 2500);
	cr_assert_eq(c.timer_b_ms, 20000);
	cr_assert_eq(c.timer_f_ms, 16000); /* not given: 64 * t1 */
	cr_assert_eq(c.tcp_max_connections, 10000);
	cr_assert_eq(c.tcp_idle_timeout_s, 120);
	cr_assert_eq(c.tcp_max_buffer, 32768);
	cr_assert_eq(c.ring_entries, 1024);
	cr_assert_eq(c.rx_buffers, 2048);
	cr_assert_eq(c.rx_buffer_size, 16384);
	cr_assert_eq(c.stop_deadline_ms, 1500);
	cr_assert_str_eq(c.trace_file, "/var/log/sipring/trace.pcap");
	cr_assert_eq(c.trace_mode, CONF_TRACE_IP);
	cr_assert_eq(c.trace_ip.ss_family, AF_INET6);
	in6 = (const struct sockaddr_in6 *)&c.trace_ip;
	cr_assert_eq(in6->sin6_addr.s6_addr[15], 1);
	cr_assert_not(c.http_enabled);
	cr_assert_str_eq(c.http_listen_text, "off");
	cr_assert_str_eq(c.spool_dir, "/var/spool/sipring");
	cr_assert_str_eq(c.uplinks_file, "/etc/sipring/uplinks.yaml");
	cr_assert_eq(c.uplink_expire_s, 600);
	cr_assert_eq(c.uplink_retry_s, 120);
	cr_assert_eq(c.uplink_privacy, 2);
	cr_assert_not(c.uplink_send_unregister);
	cr_assert_eq(c.uplink_auth_retry, 4);
	cr_assert_eq(c.ndns_servers, 2);
	cr_assert_str_eq(c.dns_servers[1], "[2001:db8::53]:5353");
	cr_assert_eq(c.dns_timeout_ms, 500);
	cr_assert_eq(c.dns_tries, 3);
	cr_assert_eq(c.dns_ttl_floor_s, 5);
	cr_assert_eq(c.dns_ttl_ceiling_s, 86400);
	cr_assert_eq(c.dns_negative_ttl_s, 60);
	cr_assert_eq(c.dns_stale_grace_s, 0);
	cr_assert_eq(c.dns_prefetch, 75);
	conf_free(&c);
}

/* ---- ranges ---- */

/* Field readers for the range table (integers of 2, 4 or 8 octets in struct conf). */
static uint64_t field_of(const struct conf *c, size_t off, size_t size)
{
	const char *p = (const char *)c + off;

	if (size == 2) {
		uint16_t v;
		memcpy(&v, p, 2);
		return v;
	}
	if (size == 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

#define FLD(f) offsetof(struct conf, f), sizeof(((struct conf *)0)->f)

static const struct range_row {
	const char *key;
	size_t off, size;
	const char *min, *max;	   /* valid edges */
	uint64_t vmin, vmax;	   /* what they load as */
	const char *below, *above; /* one past each edge */
	const char *extra[4];	   /* keys and values needed beside (cross rules) */
} ranges[] = {
	{ "node.workers", FLD(workers), "0", "256", 0, 256, "-1", "257" },
	{ "sip.private_port_base", FLD(private_port_base), "1024", "65279", 1024, 65279, "1023",
	  "65280" },
	{ "sip.max_message_size", FLD(max_message_size), "1024", "65535", 1024, 65535, "1023",
	  "65536" },
	{ "sip.max_forwards", FLD(max_forwards), "1", "255", 1, 255, "0", "256" },
	{ "sip.timers.t1",
	  FLD(t1_ms),
	  "100",
	  "10000",
	  100,
	  10000,
	  "99",
	  "10001",
	  { "sip.timers.t2", "64000" } },
	{ "sip.timers.t2", FLD(t2_ms), "1000", "64000", 1000, 64000, "999", "64001" },
	{ "sip.timers.t4", FLD(t4_ms), "1000", "64000", 1000, 64000, "999", "64001" },
	{ "sip.timers.timer_b", FLD(timer_b_ms), "1000", "640000", 1000, 640000, "999", "640001" },
	{ "sip.timers.timer_f", FLD(timer_f_ms), "1s", "640s", 1000, 640000, "999ms", "640001ms" },
	{ "tcp.max_connections", FLD(tcp_max_connections), "1", "1000000", 1, 1000000, "0",
	  "1000001" },
	{ "tcp.idle_timeout", FLD(tcp_idle_timeout_s), "5", "86400", 5, 86400, "4", "86401" },
	{ "tcp.max_buffer",
	  FLD(tcp_max_buffer),
	  "4096",
	  "1048576",
	  4096,
	  1048576,
	  "4095",
	  "1048577",
	  { "sip.max_message_size", "4096" } },
	{ "runtime.ring_entries", FLD(ring_entries), "16", "32768", 16, 32768, "15", "32769" },
	{ "runtime.rx_buffers", FLD(rx_buffers), "16", "32768", 16, 32768, "8", "65536" },
	{ "runtime.rx_buffer_size",
	  FLD(rx_buffer_size),
	  "1024",
	  "65536",
	  1024,
	  65536,
	  "1023",
	  "65537",
	  { "sip.max_message_size", "1024" } },
	{ "runtime.stop_deadline", FLD(stop_deadline_ms), "0", "300000", 0, 300000, "-1",
	  "300001" },
	{ "runtime.udp_buffer", FLD(udp_buffer), "65536", "1073741824", 65536, 1073741824, "65535",
	  "1073741825" },
	{ "registrar.min_expires",
	  FLD(reg_min_expires_s),
	  "1",
	  "86400",
	  1,
	  86400,
	  "0",
	  "86401",
	  { "registrar.default_expires", "86400", "registrar.max_expires", "86400" } },
	{ "registrar.max_expires",
	  FLD(reg_max_expires_s),
	  "1",
	  "604800",
	  1,
	  604800,
	  "0",
	  "604801",
	  { "registrar.min_expires", "1", "registrar.default_expires", "1" } },
	{ "registrar.default_expires",
	  FLD(reg_default_expires_s),
	  "1",
	  "604800",
	  1,
	  604800,
	  "0",
	  "604801",
	  { "registrar.min_expires", "1", "registrar.max_expires", "604800" } },
	{ "registrar.max_contacts", FLD(reg_max_contacts), "1", "32", 1, 32, "0", "33" },
	{ "registrar.max_bindings", FLD(reg_max_bindings), "0", "1000000000", 0, 1000000000, "-1",
	  "1000000001" },
	{ "registrar.keepalive.interval", FLD(reg_keepalive_s), "5", "3600", 5, 3600, "4", "3601" },
	{ "registrar.keepalive.failures", FLD(reg_keepalive_failures), "1", "100", 1, 100, "0",
	  "101" },
	{ "registrar.suspend.retry", FLD(suspend_retry), "1", "1000", 1, 1000, "0", "1001" },
	{ "registrar.suspend.time", FLD(suspend_time_s), "0", "86400", 0, 86400, "-1", "86401" },
	{ "auth.nonce_expire", FLD(auth_nonce_expire_s), "10", "86400", 10, 86400, "9", "86401" },
	{ "redis.port", FLD(redis_port), "1", "65535", 1, 65535, "0", "65536" },
	{ "redis.db", FLD(redis_db), "0", "255", 0, 255, "-1", "256" },
};

Test(conf, range_edges)
{
	for (size_t i = 0; i < N(ranges); i++) {
		const struct range_row *r = &ranges[i];
		const char *edge[4] = { r->min, r->max, r->below, r->above };
		char text[1024];

		for (int e = 0; e < 4; e++) {
			const char *kv[6];
			size_t n = 0;
			unsigned line;
			struct conf c;

			for (int x = 0; x < 4 && r->extra[x]; x += 2) {
				kv[n++] = r->extra[x];
				kv[n++] = r->extra[x + 1];
			}
			kv[n++] = r->key;
			kv[n++] = edge[e];
			line = nest(text, sizeof(text), kv, n);
			if (e < 2) {
				load_ok(text, &c);
				cr_assert_eq(field_of(&c, r->off, r->size), e ? r->vmax : r->vmin,
					     "%s: %s", r->key, edge[e]);
				conf_free(&c);
			} else {
				load_fails(text, line, r->key, "is out of range");
			}
		}
	}
}

/* Strings and lists: length and count edges, characters. */
Test(conf, string_edges)
{
	char text[4096], long_name[80], list[2048];
	struct conf c;
	size_t used;

	memset(long_name, 'n', 64);
	long_name[64] = '\0';
	snprintf(text, sizeof(text), "node:\n  name: %s\n", long_name);
	load_ok(text, &c);
	cr_assert_eq(strlen(c.node_name), 64);
	conf_free(&c);
	long_name[64] = 'n';
	long_name[65] = '\0';
	snprintf(text, sizeof(text), "node:\n  name: %s\n", long_name);
	load_fails(text, 2, "node.name", "at most 64");
	load_ok("node:\n  name: a\n", &c);
	cr_assert_str_eq(c.node_name, "a");
	conf_free(&c);
	load_fails("node:\n  name: my node\n", 2, "node.name", "may hold only letters");
	load_fails("node:\n  name: \"a\\tb\"\n", 2, "node.name", "control character");

	/* sip.server_header: 0..128 octets, spaces allowed. */
	memset(long_name, 'h', 79);
	long_name[79] = '\0';
	snprintf(text, sizeof(text), "sip:\n  server_header: \"%s %.48s\"\n", long_name, long_name);
	load_ok(text, &c);
	cr_assert_eq(strlen(c.server_header), 128);
	conf_free(&c);
	snprintf(text, sizeof(text), "sip:\n  server_header: \"%s %.49s\"\n", long_name, long_name);
	load_fails(text, 2, "sip.server_header", "at most 128");
	load_fails("sip:\n  server_header: \"a\\r\\nX-Evil: 1\"\n", 2, "sip.server_header",
		   "control character");
	load_ok("sip:\n  server_header:\n", &c);
	cr_assert_str_eq(c.server_header, "");
	conf_free(&c);

	/* sip.domains: at most 64 entries. */
	for (unsigned n = 64; n <= 65; n++) {
		used = (size_t)snprintf(list, sizeof(list), "sip:\n  domains: [");
		for (unsigned i = 0; i < n; i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%sd%u.example",
						 i ? ", " : "", i);
		snprintf(list + used, sizeof(list) - used, "]\n");
		if (n == 64) {
			load_ok(list, &c);
			cr_assert_eq(c.ndomains, 64);
			cr_assert_str_eq(c.domains[63], "d63.example");
			conf_free(&c);
		} else {
			load_fails(list, 2, "sip.domains", "at most 64");
		}
	}
	/* sip.supported: at most 32 tokens. */
	for (unsigned n = 32; n <= 33; n++) {
		used = (size_t)snprintf(list, sizeof(list), "sip:\n  supported:\n");
		for (unsigned i = 0; i < n; i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "    - tag%u\n",
						 i);
		if (n == 32) {
			load_ok(list, &c);
			cr_assert_eq(c.nsupported, 32);
			conf_free(&c);
		} else {
			load_fails(list, 3, "sip.supported", "at most 32"); /* the list's line */
		}
	}
	load_fails("sip:\n  supported: [100rel, \"a b\"]\n", 2, "sip.supported", "a b");
	load_fails("sip:\n  domains: example.net\n", 2, "sip.domains", "expected a list");
	load_fails("cdr:\n  spool_dir: \"\"\n", 2, "cdr.spool_dir", "must not be empty");
}

/* ---- durations ---- */

Test(conf, durations)
{
	static const struct {
		const char *key, *text;
		size_t off, size;
		uint64_t v;	 /* when sub is NULL */
		const char *sub; /* the error, else NULL */
	} t[] = {
		{ "sip.timers.t1", "500", FLD(t1_ms), 500, NULL },
		{ "sip.timers.t1", "500ms", FLD(t1_ms), 500, NULL },
		{ "sip.timers.t1", "1s", FLD(t1_ms), 1000, NULL },
		{ "sip.timers.t1", "1.5s", FLD(t1_ms), 1500, NULL },
		{ "sip.timers.t1", "0.25s", FLD(t1_ms), 250, NULL },
		{ "sip.timers.t1", "\"2 s\"", FLD(t1_ms), 2000, NULL },
		{ "sip.timers.t1", "0.100s", FLD(t1_ms), 100, NULL },
		{ "sip.timers.t1", "0.1000s", FLD(t1_ms), 100, NULL },
		{ "sip.timers.t1", "99ms", FLD(t1_ms), 0, "out of range 100..10000 ms" },
		{ "sip.timers.t1", "1m", FLD(t1_ms), 0, "out of range" },
		{ "sip.timers.t1", "1.5", FLD(t1_ms), 0, "not a whole number of milliseconds" },
		{ "sip.timers.t1", "0.0005s", FLD(t1_ms), 0, "not a whole number" },
		{ "sip.timers.t1", "5x", FLD(t1_ms), 0, "not a duration" },
		{ "sip.timers.t1", "5 sec", FLD(t1_ms), 0, "not a duration" },
		{ "sip.timers.t1", "s", FLD(t1_ms), 0, "not a duration" },
		{ "sip.timers.t1", ".5s", FLD(t1_ms), 0, "not a duration" },
		{ "sip.timers.t1", "5.s", FLD(t1_ms), 0, "not a duration" },
		{ "sip.timers.t1", "-500", FLD(t1_ms), 0, "-500 is out of range" },
		{ "sip.timers.t1", "99999999999999999999h", FLD(t1_ms), 0, "out of range" },
		{ "sip.timers.timer_b", "2m", FLD(timer_b_ms), 120000, NULL },
		{ "sip.timers.timer_b", "0.5m", FLD(timer_b_ms), 30000, NULL },
		{ "tcp.idle_timeout", "300", FLD(tcp_idle_timeout_s), 300, NULL },
		{ "tcp.idle_timeout", "5m", FLD(tcp_idle_timeout_s), 300, NULL },
		{ "tcp.idle_timeout", "1.5m", FLD(tcp_idle_timeout_s), 90, NULL },
		{ "tcp.idle_timeout", "24h", FLD(tcp_idle_timeout_s), 86400, NULL },
		{ "tcp.idle_timeout", "5000ms", FLD(tcp_idle_timeout_s), 5, NULL },
		{ "tcp.idle_timeout", "25h", FLD(tcp_idle_timeout_s), 0,
		  "out of range 5..86400 s" },
		{ "tcp.idle_timeout", "5500ms", FLD(tcp_idle_timeout_s), 0,
		  "not a whole number of seconds" },
		{ "runtime.stop_deadline", "0", FLD(stop_deadline_ms), 0, NULL },
		{ "runtime.stop_deadline", "5m", FLD(stop_deadline_ms), 300000, NULL },
		{ "runtime.stop_deadline", "1h", FLD(stop_deadline_ms), 0, "out of range" },
		{ "runtime.stop_deadline", "[1s]", FLD(stop_deadline_ms), 0,
		  "expected a duration, not a list" },
		{ "registrar.min_expires", "2m", FLD(reg_min_expires_s), 120, NULL },
		{ "registrar.min_expires", "1.5m", FLD(reg_min_expires_s), 90, NULL },
		{ "registrar.min_expires", "500ms", FLD(reg_min_expires_s), 0,
		  "500ms is not a whole number of seconds" },
		{ "registrar.max_expires", "7d", FLD(reg_max_expires_s), 0, "not a duration" },
		{ "registrar.max_expires", "168h", FLD(reg_max_expires_s), 604800, NULL },
		{ "registrar.keepalive.interval", "0", FLD(reg_keepalive_s), 0, NULL },
		{ "registrar.keepalive.interval", "0s", FLD(reg_keepalive_s), 0, NULL },
		{ "registrar.keepalive.interval", "30s", FLD(reg_keepalive_s), 30, NULL },
		{ "registrar.keepalive.interval", "1h", FLD(reg_keepalive_s), 3600, NULL },
		{ "registrar.keepalive.interval", "4s", FLD(reg_keepalive_s), 0,
		  "4s is out of range 0 or 5..3600 s" },
		{ "registrar.keepalive.interval", "61m", FLD(reg_keepalive_s), 0,
		  "61m is out of range 0 or 5..3600 s" },
		{ "registrar.suspend.time", "3m", FLD(suspend_time_s), 180, NULL },
		{ "registrar.suspend.time", "0", FLD(suspend_time_s), 0, NULL },
		{ "registrar.suspend.time", "25h", FLD(suspend_time_s), 0,
		  "25h is out of range 0..86400 s" },
		{ "auth.nonce_expire", "5m", FLD(auth_nonce_expire_s), 300, NULL },
		{ "auth.nonce_expire", "9s", FLD(auth_nonce_expire_s), 0,
		  "9s is out of range 10..86400 s" },
	};
	for (size_t i = 0; i < N(t); i++) {
		const char *kv[2] = { t[i].key, t[i].text };
		char text[256];
		unsigned line = nest(text, sizeof(text), kv, 2);
		struct conf c;

		if (t[i].sub) {
			load_fails(text, line, t[i].key, t[i].sub);
			continue;
		}
		load_ok(text, &c);
		cr_assert_eq(field_of(&c, t[i].off, t[i].size), t[i].v, "%s: %s: %llu", t[i].key,
			     t[i].text, (unsigned long long)field_of(&c, t[i].off, t[i].size));
		conf_free(&c);
	}
}

/* Timers B and F default to 64 * T1 of the file, unless given. */
Test(conf, timer_defaults_follow_t1)
{
	struct conf c;

	load_ok("sip:\n  timers:\n    t1: 1s\n", &c);
	cr_assert_eq(c.timer_b_ms, 64000);
	cr_assert_eq(c.timer_f_ms, 64000);
	conf_free(&c);
	load_ok("sip:\n  timers:\n    t1: 200\n    timer_f: 7s\n", &c);
	cr_assert_eq(c.timer_b_ms, 12800);
	cr_assert_eq(c.timer_f_ms, 7000);
	conf_free(&c);
}

/* ---- booleans, enums, addresses ---- */

Test(conf, booleans_and_enums)
{
	static const struct {
		const char *text;
		bool pin;
	} b[] = {
		{ "true", true }, { "false", false }, { "yes", true },	{ "no", false },
		{ "On", true },	  { "OFF", false },   { "TRUE", true },
	};
	static const struct {
		const char *text;
		int level;
	} l[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },	  { "DEBUG", LOG_DEBUG },
	};
	char text[128];
	struct conf c;

	for (size_t i = 0; i < N(b); i++) {
		snprintf(text, sizeof(text), "node:\n  pin_workers: %s\n", b[i].text);
		load_ok(text, &c);
		cr_assert_eq(c.pin_workers, b[i].pin, "%s", b[i].text);
		conf_free(&c);
	}
	load_fails("node:\n  pin_workers: 1\n", 2, "node.pin_workers", "not true or false");
	load_fails("node:\n  pin_workers:\n", 2, "node.pin_workers", "not an empty value");
	for (size_t i = 0; i < N(l); i++) {
		snprintf(text, sizeof(text), "log:\n  level: %s\n", l[i].text);
		load_ok(text, &c);
		cr_assert_eq(c.log_level, l[i].level, "%s", l[i].text);
		conf_free(&c);
	}
	load_fails("log:\n  level: verbose\n", 2, "log.level",
		   "'verbose' is not one of error, warning, notice, info, debug");
	load_fails("log:\n  level: warn\n", 2, "log.level", "is not one of");
	load_ok("log:\n  format: json\n", &c);
	cr_assert_eq(c.log_format, CONF_LOG_JSON);
	conf_free(&c);
	load_fails("log:\n  format: xml\n", 2, "log.format", "'xml' is not one of logfmt, json");
	load_ok("node:\n  workers: 4\n", &c);
	cr_assert_eq(c.workers, 4);
	conf_free(&c);
	load_fails("node:\n  workers: four\n", 2, "node.workers", "'four' is not a number");
	load_fails("node:\n  workers: 0x10\n", 2, "node.workers", "not a number");
	load_fails("node:\n  workers: 99999999999999999999999\n", 2, "node.workers",
		   "out of range 0..256");
	load_fails("runtime:\n  ring_entries: 3000\n", 2, "runtime.ring_entries",
		   "3000 is not a power of two");
	load_ok("sip:\n  private_port_base: 0\n", &c);
	cr_assert_eq(c.private_port_base, 0);
	conf_free(&c);
	load_fails("sip:\n  private_port_base: 80\n", 2, "sip.private_port_base",
		   "80 is out of range 0 or 1024..65279");
}

Test(conf, listen)
{
	static const struct {
		const char *in, *text;
		int family;
	} ok[] = {
		{ "udp:127.0.0.1:5060", "udp:127.0.0.1:5060", AF_INET },
		{ "tcp:10.0.0.1", "tcp:10.0.0.1:5060", AF_INET },
		{ "UDP:0.0.0.0:5080", "udp:0.0.0.0:5080", AF_INET },
		{ "udp:[::1]:5060", "udp:[::1]:5060", AF_INET6 },
		{ "tcp:[::1]", "tcp:[::1]:5060", AF_INET6 },
		{ "udp:[::]:1", "udp:[::]:1", AF_INET6 },
		{ "udp:[2001:DB8:0:0::7]:65535", "udp:[2001:db8::7]:65535", AF_INET6 },
		{ "tcp:[::ffff:192.0.2.1]:5061", "tcp:[::ffff:192.0.2.1]:5061", AF_INET6 },
	};
	static const struct {
		const char *in, *sub;
	} bad[] = {
		{ "udp:5060", "has no address: PROTO:ADDR[:PORT], as udp:0.0.0.0:5060" },
		{ "udp:5060x", "is not an IPv4 address or a bracketed IPv6" },
		{ "0.0.0.0:5060", "is not PROTO:ADDR[:PORT]" },
		{ "sctp:0.0.0.0:5060", "is not PROTO:ADDR[:PORT]" },
		{ "udp:", "is not PROTO:ADDR[:PORT]" },
		{ "udp:::1:5060", "needs brackets around an IPv6 address" },
		{ "udp:[::1", "has no ']'" },
		{ "udp:[::1]5060", "other than ':PORT'" },
		{ "udp:[127.0.0.1]:5060", "brackets around something other than an IPv6" },
		{ "udp:127.0.0.1:0", "bad port (1..65535)" },
		{ "udp:127.0.0.1:65536", "bad port" },
		{ "udp:127.0.0.1:", "bad port" },
		{ "udp:127.0.0.1:50x", "bad port" },
		{ "udp:localhost:5060", "names are not resolved" },
		{ "udp:256.0.0.1:5060", "is not an IPv4 address" },
		{ "udp:[fe80::1%eth0]:5060", "is not an IPv4 address or a bracketed IPv6" },
	};
	char text[256];
	struct conf c;

	for (size_t i = 0; i < N(ok); i++) {
		snprintf(text, sizeof(text), "sip:\n  listen:\n    - \"%s\"\n", ok[i].in);
		load_ok(text, &c);
		cr_assert_eq(c.nlisten, 1);
		cr_assert_str_eq(c.listen[0].text, ok[i].text, "%s", ok[i].in);
		cr_assert_eq(c.listen[0].addr.ss_family, ok[i].family, "%s", ok[i].in);
		cr_assert_eq(c.listen[0].addrlen, ok[i].family == AF_INET
							  ? sizeof(struct sockaddr_in)
							  : sizeof(struct sockaddr_in6));
		conf_free(&c);
	}
	for (size_t i = 0; i < N(bad); i++) {
		snprintf(text, sizeof(text), "sip:\n  listen:\n    - udp:127.0.0.1\n    - \"%s\"\n",
			 bad[i].in);
		load_fails(text, 4, "sip.listen", bad[i].sub);
	}
	load_fails("sip:\n  listen: []\n", 2, "sip.listen", "at least one address");
	load_fails("sip:\n  listen:\n", 2, "sip.listen", "at least one address");
	load_fails("sip:\n  listen: udp:127.0.0.1:5060\n", 2, "sip.listen", "expected a list");
	load_fails("sip:\n  listen:\n    - udp:127.0.0.1\n    - tcp:127.0.0.1\n"
		   "    - udp:127.0.0.1:5060\n",
		   5, "sip.listen", "listed twice (first at line 3)");
	load_fails("sip:\n  listen:\n    - [udp, 127.0.0.1]\n", 3, "sip.listen",
		   "expected PROTO:ADDR[:PORT], not a list");
	/* 64 entries at most. */
	for (unsigned n = 64; n <= 65; n++) {
		char list[4096];
		size_t used = (size_t)snprintf(list, sizeof(list), "sip:\n  listen:\n");

		for (unsigned i = 0; i < n; i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used,
						 "    - udp:127.0.0.1:%u\n", 5000 + i);
		if (n == 64) {
			load_ok(list, &c);
			cr_assert_eq(c.nlisten, 64);
			conf_free(&c);
		} else {
			load_fails(list, 3, "sip.listen", "at most 64");
		}
	}
}

Test(conf, http_and_trace)
{
	static const struct {
		const char *in, *text;
		bool on;
	} http[] = {
		{ "127.0.0.1:8080", "127.0.0.1:8080", true },
		{ "\"[::1]:9090\"", "[::1]:9090", true },
		{ "0.0.0.0:1", "0.0.0.0:1", true },
		{ "off", "off", false },
		{ "Off", "off", false },
		{ "\"\"", "off", false },
		{ "", "off", false },
	};
	static const struct {
		const char *in, *sub;
	} http_bad[] = {
		{ "127.0.0.1", "has no port" },
		{ "8080", "has no port" },
		{ "localhost:8080", "names are not resolved" },
		{ "\"::1:8080\"", "needs brackets" },
		{ "127.0.0.1:99999", "bad port" },
		{ "on", "has no port" },
		{ "[127.0.0.1:8080]", "expected ADDR:PORT or off, not a list" },
	};
	char text[256];
	struct conf c;

	for (size_t i = 0; i < N(http); i++) {
		snprintf(text, sizeof(text), "http:\n  listen: %s\n", http[i].in);
		load_ok(text, &c);
		cr_assert_eq(c.http_enabled, http[i].on, "%s", http[i].in);
		cr_assert_str_eq(c.http_listen_text, http[i].text, "%s", http[i].in);
		conf_free(&c);
	}
	for (size_t i = 0; i < N(http_bad); i++) {
		snprintf(text, sizeof(text), "http:\n  listen: %s\n", http_bad[i].in);
		load_fails(text, 2, "http.listen", http_bad[i].sub);
	}

	load_ok("trace:\n  file: t.pcap\n", &c);
	cr_assert_str_eq(c.trace_file, "t.pcap");
	cr_assert_eq(c.trace_mode, CONF_TRACE_ALL);
	conf_free(&c);
	load_ok("trace:\n  file: t.pcap\n  filter: ip:192.0.2.9\n", &c);
	cr_assert_eq(c.trace_mode, CONF_TRACE_IP);
	cr_assert_eq(c.trace_ip.ss_family, AF_INET);
	cr_assert_eq(ntohl(((const struct sockaddr_in *)&c.trace_ip)->sin_addr.s_addr),
		     0xc0000209u);
	conf_free(&c);
	load_ok("trace:\n  file: t.pcap\n  filter: \"ip:[2001:db8::1]\"\n", &c);
	cr_assert_eq(c.trace_mode, CONF_TRACE_IP);
	cr_assert_eq(c.trace_ip.ss_family, AF_INET6);
	conf_free(&c);
	load_ok("trace:\n  file: t.pcap\n  filter: call-id:abc@192.0.2.1\n", &c);
	cr_assert_eq(c.trace_mode, CONF_TRACE_CALLID);
	cr_assert_str_eq(c.trace_call_id, "abc@192.0.2.1");
	conf_free(&c);
	/* A filter without a file: valid, and no trace. */
	load_ok("trace:\n  filter: call-id:x\n", &c);
	cr_assert_eq(c.trace_mode, CONF_TRACE_OFF);
	cr_assert_null(c.trace_file);
	conf_free(&c);
	load_fails("trace:\n  filter: none\n", 2, "trace.filter",
		   "'none' is not one of all, ip:ADDR, call-id:ID");
	load_fails("trace:\n  filter: ip:gw.example\n", 2, "trace.filter",
		   "'gw.example' is not an IPv4 or IPv6 address");
	load_fails("trace:\n  filter: \"call-id:a b\"\n", 2, "trace.filter", "has a space");
	load_fails("trace:\n  filter: \"call-id:\"\n", 2, "trace.filter", "is not one of");
}

/* ---- errors: each kind, with its exact prefix ---- */

static const struct err_row {
	const char *yaml;
	unsigned line;
	const char *key, *sub;
} errors[] = {
	/* unknown keys, with the closest known key */
	{ "sip:\n  max_forward: 70\n", 2, "sip.max_forward",
	  "unknown key; did you mean sip.max_forwards?" },
	{ "sip:\n  max_forwrads: 70\n", 2, "sip.max_forwrads", "did you mean sip.max_forwards?" },
	{ "sip:\n  timers:\n    t3: 1s\n", 3, "sip.timers.t3", "did you mean sip.timers.t1?" },
	{ "sipp:\n  max_forwards: 70\n", 1, "sipp", "did you mean sip?" },
	{ "SIP:\n  max_forwards: 70\n", 1, "SIP", "did you mean sip?" },
	{ "node:\n  colour: blue\n", 2, "node.colour", NULL },
	{ "sip:\n  t1: 500\n", 2, "sip.t1", "did you mean sip.timers.t1?" },
	{ "SS_SIP_TIMEOUT_INVITES: 10\n", 1, "SS_SIP_TIMEOUT_INVITES",
	  "did you mean SS_SIP_TIMEOUT_INVITE?" },
	{ "ss_sip_timeout_invite: 10\n", 1, "ss_sip_timeout_invite",
	  "did you mean SS_SIP_TIMEOUT_INVITE?" },
	{ "sip:\n  SS_SIP_TIMEOUT_INVITE: 10\n", 2, "sip.SS_SIP_TIMEOUT_INVITE",
	  "VOS3000 parameters go at the top level" },
	{ "node:\n  name: a\nfoo: 1\n", 3, "foo", NULL },
	{ "node:\n  \"a\\nb\": 1\n", 2, "node.a?b", "unknown key" },
	/* wrong types */
	{ "node:\n  workers:\n    a: 1\n", 3, "node.workers", "expected a number, not a map" },
	{ "node:\n  workers: [1, 2]\n", 2, "node.workers", "expected a number, not a list" },
	{ "node:\n  name: [a]\n", 2, "node.name", "expected a string, not a list" },
	{ "node: 4\n", 1, "node", "is a section: expected a map, not a value" },
	{ "sip:\n  timers: 500\n", 2, "sip.timers", "expected a map" },
	{ "- a\n- b\n", 1, "(top)", "expected a map of sections" },
	{ "[a]: 1\n", 1, "(top)", "a key must be a name, not a list" },
	{ "sip:\n  ? {a: 1}\n  : 2\n", 2, "sip", "a key must be a name, not a map" },
	/* out of range */
	{ "sip:\n  max_message_size: 70000\n", 2, "sip.max_message_size",
	  "70000 is out of range 1024..65535" },
	/* bad enum */
	{ "log:\n  level: trace\n", 2, "log.level",
	  "'trace' is not one of error, warning, notice, info, debug" },
	/* duplicate keys */
	{ "sip:\n  max_forwards: 70\n  max_forwards: 69\n", 3, "sip.max_forwards",
	  "duplicate key (first at line 2)" },
	{ "sip:\n  max_forwards: 70\nlog:\n  level: info\nsip:\n  t1: 1\n", 5, "sip",
	  "duplicate key (first at line 1)" },
	/* YAML syntax */
	{ "sip:\n  max_forwards: 70\n   bad: indent\n", 3, "(yaml)",
	  "mapping values are not allowed" },
	{ "sip:\n  listen: [udp:127.0.0.1\n", 3, "(yaml)", "flow sequence" },
	{ "sip: {max_forwards: 70\n", 2, "(yaml)", "while parsing a flow mapping at line 1" },
	{ "a: *nothing\n", 1, "(yaml)", "undefined alias" },
	{ "node:\n  name: \"\xff\"\n", 2, "(yaml)", "invalid leading UTF-8 octet" },
	{ "node:\n  name: a\n---\nnode:\n  name: b\n", 4, "(yaml)", "a second document" },
	{ "node:\n  name: 'a\n", 3, "(yaml)", "quoted scalar" },
	/* cross-field rules: the later of the two keys */
	{ "sip:\n  timers:\n    t1: 2s\n    t2: 1s\n", 4, "sip.timers.t2",
	  "1000 ms must be >= sip.timers.t1 (2000 ms)" },
	{ "sip:\n  timers:\n    t2: 1s\n    t1: 2s\n", 4, "sip.timers.t1",
	  "2000 ms must be <= sip.timers.t2 (1000 ms)" },
	{ "sip:\n  timers:\n    t1: 5s\n", 3, "sip.timers.t1",
	  "5000 ms must be <= sip.timers.t2 (4000 ms)" },
	{ "sip:\n  timers:\n    t1: 2s\n    t2: 2s\n    timer_b: 1s\n", 5, "sip.timers.timer_b",
	  "must be >= sip.timers.t1" },
	{ "sip:\n  timers:\n    timer_f: 1s\n    t1: 2s\n    t2: 4s\n", 4, "sip.timers.t1",
	  "2000 ms must be <= sip.timers.timer_f (1000 ms)" },
	{ "sip:\n  max_message_size: 65535\ntcp:\n  max_buffer: 8192\n", 4, "tcp.max_buffer",
	  "8192 must be >= sip.max_message_size (65535)" },
	{ "runtime:\n  rx_buffer_size: 4096\n", 2, "runtime.rx_buffer_size",
	  "4096 must be >= sip.max_message_size (65535)" },
	/* registrar: min_expires <= default_expires <= max_expires */
	{ "registrar:\n  min_expires: 2h\n", 2, "registrar.min_expires",
	  "7200 s must be <= registrar.default_expires (3600 s)" },
	{ "registrar:\n  default_expires: 30\n", 2, "registrar.default_expires",
	  "30 s must be >= registrar.min_expires (60 s)" },
	{ "registrar:\n  default_expires: 60\n  min_expires: 120\n", 3, "registrar.min_expires",
	  "120 s must be <= registrar.default_expires (60 s)" },
	{ "registrar:\n  max_expires: 30m\n", 2, "registrar.max_expires",
	  "1800 s must be >= registrar.default_expires (3600 s)" },
	{ "registrar:\n  max_expires: 1h\n  default_expires: 2h\n", 3, "registrar.default_expires",
	  "7200 s must be <= registrar.max_expires (3600 s)" },
	/* unknown keys of the new sections */
	{ "registrar:\n  max_contact: 5\n", 2, "registrar.max_contact",
	  "did you mean registrar.max_contacts?" },
	{ "registrar:\n  retry: 5\n", 2, "registrar.retry",
	  "did you mean registrar.suspend.retry?" },
	{ "registrar:\n  suspend:\n    tiem: 5\n", 3, "registrar.suspend.tiem",
	  "did you mean registrar.suspend.time?" },
	{ "auth:\n  algorithm: [MD5]\n", 2, "auth.algorithm", "did you mean auth.algorithms?" },
	{ "redis:\n  unix: /run/redis.sock\n", 2, "redis.unix", NULL },
	{ "SS_ENDPOINT_REGISTER_RETRYS: 3\n", 1, "SS_ENDPOINT_REGISTER_RETRYS",
	  "did you mean SS_ENDPOINT_REGISTER_RETRY?" },
	{ "registrar:\n  SS_ENDPOINT_REGISTER_REPLACE: Off\n", 2,
	  "registrar.SS_ENDPOINT_REGISTER_REPLACE", "VOS3000 parameters go at the top level" },
	/* types */
	{ "registrar:\n  enabled: 1\n", 2, "registrar.enabled", "'1' is not true or false" },
	{ "registrar:\n  suspend:\n    action: ignore\n", 3, "registrar.suspend.action",
	  "'ignore' is not one of reject, drop" },
	{ "registrar:\n  keepalive: 30\n", 2, "registrar.keepalive",
	  "is a section: expected a map, not a value" },
	{ "accounts:\n  file: [a]\n", 2, "accounts.file", "expected a string, not a list" },
};

Test(conf, errors)
{
	for (size_t i = 0; i < N(errors); i++)
		load_fails(errors[i].yaml, errors[i].line, errors[i].key, errors[i].sub);
}

Test(conf, unreadable)
{
	char err[512], want[512], dir[] = "/tmp/sipring-conf-dir-XXXXXX";
	struct conf c;
	int ret;

	ret = conf_load("/nonexistent/sipring.yaml", &c, err, sizeof(err));
	cr_assert_eq(ret, -ENOENT);
	cr_assert_str_eq(err, "/nonexistent/sipring.yaml:0: (file): cannot read: No such file or "
			      "directory");
	cr_assert_null(c.node_name);

	cr_assert_not_null(mkdtemp(dir));
	ret = conf_load(dir, &c, err, sizeof(err));
	rmdir(dir);
	cr_assert_eq(ret, -EISDIR);
	snprintf(want, sizeof(want), "%s:0: (file): cannot read: Is a directory", dir);
	cr_assert_str_eq(err, want);

	/* No message buffer, or a short one: still refused, still terminated. */
	cr_assert_eq(conf_load("/nonexistent/x.yaml", &c, NULL, 0), -ENOENT);
	cr_assert_eq(conf_load("/nonexistent/x.yaml", &c, err, 8), -ENOENT);
	cr_assert_str_eq(err, "/nonexi");
}

/* ---- registrar, auth, accounts, redis ---- */

/* Every key of the four sections, away from its default. */
Test(conf, registrar_auth_redis_all_keys)
{
	static const char text[] = "registrar:\n"
				   "  enabled: false\n"
				   "  min_expires: 30\n"
				   "  max_expires: 2h\n"
				   "  default_expires: 10m\n"
				   "  max_contacts: 32\n"
				   "  max_bindings: 1000000\n"
				   "  replace: no\n"
				   "  authenticate: off\n"
				   "  keepalive:\n"
				   "    interval: 25s\n"
				   "    failures: 5\n"
				   "  suspend:\n"
				   "    retry: 3\n"
				   "    time: 10m\n"
				   "    by_ip: yes\n"
				   "    action: DROP\n"
				   "auth:\n"
				   "  realm: sip.example.net\n"
				   "  nonce_expire: 1m\n"
				   "  secret: \"0123456789abcdef\"\n"
				   "  algorithms: [md5]\n"
				   "  refuse_rfc2069: true\n"
				   "accounts:\n"
				   "  file: /etc/sipring/accounts.yaml\n"
				   "redis:\n"
				   "  host: \"2001:db8::6\"\n"
				   "  port: 6380\n"
				   "  password: \"p a s s\"\n"
				   "  db: 255\n"
				   "  prefix: \"edge-1:\"\n";
	struct conf c;

	load_ok(text, &c);
	cr_assert_not(c.reg_enabled);
	cr_assert_eq(c.reg_min_expires_s, 30);
	cr_assert_eq(c.reg_max_expires_s, 7200);
	cr_assert_eq(c.reg_default_expires_s, 600);
	cr_assert_eq(c.reg_max_contacts, 32);
	cr_assert_eq(c.reg_max_bindings, 1000000);
	cr_assert_not(c.reg_replace);
	cr_assert_not(c.reg_authenticate);
	cr_assert_eq(c.reg_keepalive_s, 25);
	cr_assert_eq(c.reg_keepalive_failures, 5);
	cr_assert_eq(c.suspend_retry, 3);
	cr_assert_eq(c.suspend_time_s, 600);
	cr_assert(c.suspend_by_ip);
	cr_assert_eq(c.suspend_action, CONF_SUSPEND_DROP);
	cr_assert_str_eq(c.auth_realm, "sip.example.net");
	cr_assert_eq(c.auth_nonce_expire_s, 60);
	cr_assert_str_eq(c.auth_secret, "0123456789abcdef");
	cr_assert_eq(c.auth_nalgs, 1);
	cr_assert_eq(c.auth_algs[0], ALG_MD5);
	cr_assert(c.auth_refuse_rfc2069);
	cr_assert_str_eq(c.accounts_file, "/etc/sipring/accounts.yaml");
	cr_assert_str_eq(c.redis_host, "2001:db8::6");
	cr_assert_eq(c.redis_port, 6380);
	cr_assert_str_eq(c.redis_unix, "");
	cr_assert_str_eq(c.redis_password, "p a s s");
	cr_assert_eq(c.redis_db, 255);
	cr_assert_str_eq(c.redis_prefix, "edge-1:");
	conf_free(&c);

	/* The other side of each choice, and a socket instead of a host. */
	load_ok("registrar:\n  suspend:\n    action: reject\nredis:\n"
		"  unix_socket: /run/redis/redis.sock\n  host: \"\"\n",
		&c);
	cr_assert_eq(c.suspend_action, CONF_SUSPEND_REJECT);
	cr_assert_str_eq(c.redis_unix, "/run/redis/redis.sock");
	cr_assert_str_eq(c.redis_host, "");
	conf_free(&c);
	/* Empty values of string keys are "", as for the other sections. */
	load_ok("auth:\n  realm:\n  secret: ~\naccounts:\n  file:\nredis:\n  password:\n", &c);
	check_defaults_registrar(&c);
	conf_free(&c);
}

Test(conf, auth_algorithms)
{
	static const struct {
		const char *in;
		unsigned n;
		uint8_t a0, a1;
	} ok[] = {
		{ "[SHA-256, MD5]", 2, ALG_SHA256, ALG_MD5 },
		{ "[MD5, SHA-256]", 2, ALG_MD5, ALG_SHA256 },
		{ "[sha-256]", 1, ALG_SHA256, 0 },
		{ "[md5]", 1, ALG_MD5, 0 },
		{ "\n    - Sha-256\n    - Md5", 2, ALG_SHA256, ALG_MD5 },
	};
	static const struct {
		const char *in;
		unsigned line;
		const char *sub;
	} bad[] = {
		{ "[SHA-512]", 2, "'SHA-512' is not one of SHA-256, MD5" },
		{ "[MD5, SHA256]", 2, "'SHA256' is not one of SHA-256, MD5" },
		{ "[MD5, md5]", 2, "'md5' is listed twice (first at line 2)" },
		{ "\n    - SHA-256\n    - sha-256", 4,
		  "'sha-256' is listed twice (first at line 3)" },
		{ "[MD5, SHA-256, MD5]", 2, "lists 3 entries; at most 2" },
		{ "[]", 2, "must list at least one of SHA-256, MD5" },
		{ "", 2, "must list at least one of SHA-256, MD5" },
		{ "MD5", 2, "expected a list of SHA-256 and MD5, not a value" },
		{ "[[MD5]]", 2, "expected SHA-256 or MD5, not a list" },
	};
	char text[256];
	struct conf c;

	for (size_t i = 0; i < N(ok); i++) {
		snprintf(text, sizeof(text), "auth:\n  algorithms: %s\n", ok[i].in);
		load_ok(text, &c);
		cr_assert_eq(c.auth_nalgs, ok[i].n, "%s", ok[i].in);
		cr_assert_eq(c.auth_algs[0], ok[i].a0, "%s", ok[i].in);
		if (ok[i].n > 1)
			cr_assert_eq(c.auth_algs[1], ok[i].a1, "%s", ok[i].in);
		conf_free(&c);
	}
	for (size_t i = 0; i < N(bad); i++) {
		snprintf(text, sizeof(text), "auth:\n  algorithms: %s\n", bad[i].in);
		load_fails(text, bad[i].line, "auth.algorithms", bad[i].sub);
	}
}

/* Secrets: 0 or 16..256 octets, and never quoted in a message. */
Test(conf, auth_secret_and_realm)
{
	static const struct {
		const char *key;
		size_t len;
		bool ok;
		const char *sub;
	} t[] = {
		{ "auth.secret", 0, true, NULL },
		{ "auth.secret", 1, false, "must be at least 16 octets" },
		{ "auth.secret", 15, false, "must be at least 16 octets" },
		{ "auth.secret", 16, true, NULL },
		{ "auth.secret", 256, true, NULL },
		{ "auth.secret", 257, false, "'(not shown)' is 257 octets long; at most 256" },
		{ "redis.password", 0, true, NULL },
		{ "redis.password", 1, true, NULL },
		{ "redis.password", 256, true, NULL },
		{ "redis.password", 257, false, "'(not shown)' is 257 octets long; at most 256" },
		{ "auth.realm", 253, true, NULL },
		{ "auth.realm", 254, false, "is 254 octets long; at most 253" },
		{ "redis.prefix", 1, true, NULL },
		{ "redis.prefix", 64, true, NULL },
		{ "redis.prefix", 65, false, "is 65 octets long; at most 64" },
		{ "redis.unix_socket", 107, true, NULL }, /* sun_path, with its NUL */
		{ "redis.unix_socket", 108, false, "is 108 octets long; at most 107" },
	};
	char text[1024], err[512], val[300];
	struct conf c;
	struct tmp tf;

	for (size_t i = 0; i < N(t); i++) {
		const char *kv[2] = { t[i].key, text };
		char yaml[1024];
		unsigned line;

		memset(val, 'S', t[i].len);
		val[t[i].len] = '\0';
		snprintf(text, sizeof(text), "\"%s\"", val);
		line = nest(yaml, sizeof(yaml), kv, 2);
		if (!t[i].ok) {
			load_fails(yaml, line, t[i].key, t[i].sub);
			continue;
		}
		load_ok(yaml, &c);
		if (!strcmp(t[i].key, "auth.secret"))
			cr_assert_str_eq(c.auth_secret, val);
		else if (!strcmp(t[i].key, "redis.password"))
			cr_assert_str_eq(c.redis_password, val);
		conf_free(&c);
	}
	/* The message names the key and the line, never the secret. */
	cr_assert_eq(load_text("auth:\n  secret: hunter2\n", &c, &tf, err, sizeof(err)), -EINVAL);
	cr_assert_null(strstr(err, "hunter2"), "%s", err);
	cr_assert_not_null(strstr(err, ":2: auth.secret: must be at least 16 octets"), "%s", err);
	cr_assert_eq(load_text("redis:\n  password: \"hunter2\\n\"\n", &c, &tf, err, sizeof(err)),
		     -EINVAL);
	cr_assert_null(strstr(err, "hunter2"), "%s", err);
	cr_assert_not_null(strstr(err, ":2: redis.password: '(not shown)' has a control character"),
			   "%s", err);

	load_fails("auth:\n  realm: \"a b\"\n", 2, "auth.realm", "'a b' has a space");
	load_fails("auth:\n  realm: 'a\"b'\n", 2, "auth.realm",
		   "'a\"b' has a '\"' or a '\\' (it is sent in a quoted string)");
	load_fails("auth:\n  realm: 'a\\b'\n", 2, "auth.realm", "has a '\"' or a '\\'");
	load_fails("auth:\n  realm: \"a\\tb\"\n", 2, "auth.realm", "has a control character");
	load_fails("redis:\n  prefix: \"\"\n", 2, "redis.prefix", "must not be empty");
	load_fails("redis:\n  prefix: \"a b\"\n", 2, "redis.prefix", "has a space");
}

Test(conf, redis_host)
{
	static const char *const ok[] = { "127.0.0.1", "\"::1\"", "\"2001:db8::6\"",
					  "\"::ffff:192.0.2.1\"", "\"\"" };
	static const char *const bad[] = {
		"localhost",	  "redis.example.net", "\"[::1]\"",
		"127.0.0.1:6379", "256.0.0.1",	       "\"fe80::1%eth0\""
	};
	char text[256];
	struct conf c;

	for (size_t i = 0; i < N(ok); i++) {
		snprintf(text, sizeof(text), "redis:\n  host: %s\n", ok[i]);
		load_ok(text, &c);
		conf_free(&c);
	}
	for (size_t i = 0; i < N(bad); i++) {
		snprintf(text, sizeof(text), "redis:\n  host: %s\n", bad[i]);
		load_fails(text, 2, "redis.host", "is not an IP address");
	}
	load_fails("redis:\n  host: [127.0.0.1]\n", 2, "redis.host",
		   "expected an IP address, not a list");
	/* Host and socket: the later of the two is named, with the other's line. */
	load_fails("redis:\n  host: 127.0.0.1\n  unix_socket: /run/redis.sock\n", 3,
		   "redis.unix_socket",
		   "cannot be set together with redis.host (line 2); give only one of the two");
	load_fails("redis:\n  unix_socket: /run/redis.sock\n  port: 6380\n  host: 127.0.0.1\n", 4,
		   "redis.host", "cannot be set together with redis.unix_socket (line 2)");
}

/* ---- VOS3000 aliases ---- */

Test(conf, vos3000_aliases)
{
	static const struct {
		const char *yaml;
		uint32_t t1, t2, timer_b;
	} ok[] = {
		{ "SS_SIP_RESEND_INTERVAL: 0.5,1,2,4,4,4,4,4,4,4\n", 500, 4000, 32000 },
		{ "SS_SIP_RESEND_INTERVAL: 1,2,4,8,16\n", 1000, 16000, 64000 },
		{ "SS_SIP_RESEND_INTERVAL: \"0.5, 1, 2\"\n", 500, 2000, 32000 },
		{ "SS_SIP_RESEND_INTERVAL: 0.25\n", 250, 4000, 16000 }, /* one: T1 only */
		{ "SS_SIP_RESEND_INTERVAL: 2,1\n", 2000, 2000, 128000 },
		{ "SS_SIP_RESEND_INTERVAL: 0.1,64\n", 100, 64000, 6400 },
		{ "SS_SIP_TIMEOUT_INVITE: 10\n", 500, 4000, 10000 },
		{ "SS_SIP_TIMEOUT_INVITE: 1\n", 500, 4000, 1000 },
		{ "SS_SIP_TIMEOUT_INVITE: 640\n", 500, 4000, 640000 },
		{ "SS_SIP_RESEND_INTERVAL: 0.5,1,2,4\nSS_SIP_TIMEOUT_INVITE: 20\nsip:\n"
		  "  timers:\n    timer_f: 40s\n",
		  500, 4000, 20000 },
	};
	static const struct err_row bad[] = {
		{ "SS_SIP_RESEND_INTERVAL: 0.05,1\n", 1, "SS_SIP_RESEND_INTERVAL",
		  "first interval 0.05 is out of range 0.1..10 s (sip.timers.t1)" },
		{ "SS_SIP_RESEND_INTERVAL: 0.5,100\n", 1, "SS_SIP_RESEND_INTERVAL",
		  "largest interval 100 is out of range 1..64 s (sip.timers.t2)" },
		{ "SS_SIP_RESEND_INTERVAL: 0.5,,1\n", 1, "SS_SIP_RESEND_INTERVAL",
		  "interval 2 '' is not a number of seconds" },
		{ "SS_SIP_RESEND_INTERVAL: fast\n", 1, "SS_SIP_RESEND_INTERVAL",
		  "interval 1 'fast' is not a number of seconds" },
		{ "SS_SIP_RESEND_INTERVAL: 0.5,0\n", 1, "SS_SIP_RESEND_INTERVAL",
		  "interval 2 '0' must be more than 0" },
		{ "SS_SIP_RESEND_INTERVAL: 0.0005\n", 1, "SS_SIP_RESEND_INTERVAL",
		  "not a number of seconds" },
		{ "SS_SIP_RESEND_INTERVAL: [0.5, 1]\n", 1, "SS_SIP_RESEND_INTERVAL",
		  "expected a list of seconds such as 0.5,1,2,4, not a list" },
		{ "SS_SIP_RESEND_INTERVAL: "
		  "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
		  "1,1,1,1\n",
		  1, "SS_SIP_RESEND_INTERVAL", "more than 32 intervals" },
		/* its T1 above the default T2: the cross rule names the alias */
		{ "SS_SIP_RESEND_INTERVAL: 5\n", 1, "SS_SIP_RESEND_INTERVAL",
		  "sets sip.timers.t1 to 5000 ms, which must be <= sip.timers.t2 (4000 ms)" },
		{ "SS_SIP_TIMEOUT_INVITE: 0\n", 1, "SS_SIP_TIMEOUT_INVITE",
		  "0 is out of range 1..640 s (sip.timers.timer_b)" },
		{ "SS_SIP_TIMEOUT_INVITE: 641\n", 1, "SS_SIP_TIMEOUT_INVITE",
		  "out of range 1..640" },
		{ "SS_SIP_TIMEOUT_INVITE: 10s\n", 1, "SS_SIP_TIMEOUT_INVITE",
		  "'10s' is not a whole number of seconds" },
		{ "SS_SIP_TIMEOUT_INVITE:\n", 1, "SS_SIP_TIMEOUT_INVITE",
		  "expected a number of seconds, not an empty value" },
		/* alias and native key: an error naming both, at the second */
		{ "SS_SIP_TIMEOUT_INVITE: 10\nsip:\n  timers:\n    timer_b: 20s\n", 4,
		  "sip.timers.timer_b",
		  "SS_SIP_TIMEOUT_INVITE (line 1) sets it too; give only one of the two" },
		{ "sip:\n  timers:\n    timer_b: 20s\nSS_SIP_TIMEOUT_INVITE: 10\n", 4,
		  "SS_SIP_TIMEOUT_INVITE",
		  "is an alias of sip.timers.timer_b, given too at line 3; give only one" },
		{ "sip:\n  timers:\n    t2: 8s\nSS_SIP_RESEND_INTERVAL: 0.5,1\n", 4,
		  "SS_SIP_RESEND_INTERVAL", "is an alias of sip.timers.t2, given too at line 3" },
		{ "SS_SIP_RESEND_INTERVAL: 0.5\nsip:\n  timers:\n    t1: 1s\n", 4, "sip.timers.t1",
		  "SS_SIP_RESEND_INTERVAL (line 1) sets it too" },
		{ "SS_SIP_TIMEOUT_INVITE: 10\nSS_SIP_TIMEOUT_INVITE: 20\n", 2,
		  "SS_SIP_TIMEOUT_INVITE", "duplicate key (first at line 1)" },
	};
	for (size_t i = 0; i < N(ok); i++) {
		struct conf c;

		load_ok(ok[i].yaml, &c);
		cr_assert_eq(c.t1_ms, ok[i].t1, "%s: t1 %u", ok[i].yaml, c.t1_ms);
		cr_assert_eq(c.t2_ms, ok[i].t2, "%s: t2 %u", ok[i].yaml, c.t2_ms);
		cr_assert_eq(c.timer_b_ms, ok[i].timer_b, "%s: B %u", ok[i].yaml, c.timer_b_ms);
		conf_free(&c);
	}
	for (size_t i = 0; i < N(bad); i++)
		load_fails(bad[i].yaml, bad[i].line, bad[i].key, bad[i].sub);
}

Test(conf, vos3000_registrar_aliases)
{
	static const struct {
		const char *yaml;
		bool replace;
		unsigned retry;
		uint32_t suspend_s, timer_b;
	} ok[] = {
		{ "SS_ENDPOINT_REGISTER_REPLACE: Off\n", false, 6, 180, 32000 },
		{ "SS_ENDPOINT_REGISTER_REPLACE: On\n", true, 6, 180, 32000 },
		{ "SS_ENDPOINT_REGISTER_REPLACE: off\n", false, 6, 180, 32000 },
		{ "SS_ENDPOINT_REGISTER_RETRY: 10\n", true, 10, 180, 32000 },
		{ "SS_ENDPOINT_REGISTER_RETRY: 1\n", true, 1, 180, 32000 },
		{ "SS_ENDPOINT_REGISTER_RETRY: 1000\n", true, 1000, 180, 32000 },
		/* seconds into a key in seconds: stored as is, not x 1000 */
		{ "SS_ENDPOINT_REGISTER_SUSPEND: 300\n", true, 6, 300, 32000 },
		{ "SS_ENDPOINT_REGISTER_SUSPEND: 0\n", true, 6, 0, 32000 },
		{ "SS_ENDPOINT_REGISTER_SUSPEND: 86400\n", true, 6, 86400, 32000 },
		/* all together, beside the millisecond alias and the native keys */
		{ "SS_ENDPOINT_REGISTER_REPLACE: Off\nSS_ENDPOINT_REGISTER_RETRY: 3\n"
		  "SS_ENDPOINT_REGISTER_SUSPEND: 60\nSS_SIP_TIMEOUT_INVITE: 10\n"
		  "registrar:\n  suspend:\n    by_ip: true\n",
		  false, 3, 60, 10000 },
	};
	static const struct err_row bad[] = {
		{ "SS_ENDPOINT_REGISTER_REPLACE: maybe\n", 1, "SS_ENDPOINT_REGISTER_REPLACE",
		  "'maybe' is not true or false" },
		{ "SS_ENDPOINT_REGISTER_REPLACE:\n", 1, "SS_ENDPOINT_REGISTER_REPLACE",
		  "expected true or false, not an empty value" },
		{ "SS_ENDPOINT_REGISTER_RETRY: 0\n", 1, "SS_ENDPOINT_REGISTER_RETRY",
		  "0 is out of range 1..1000 (registrar.suspend.retry)" },
		{ "SS_ENDPOINT_REGISTER_RETRY: 1001\n", 1, "SS_ENDPOINT_REGISTER_RETRY",
		  "1001 is out of range 1..1000 (registrar.suspend.retry)" },
		{ "SS_ENDPOINT_REGISTER_RETRY: six\n", 1, "SS_ENDPOINT_REGISTER_RETRY",
		  "'six' is not a whole number" },
		{ "SS_ENDPOINT_REGISTER_RETRY: [6]\n", 1, "SS_ENDPOINT_REGISTER_RETRY",
		  "expected a whole number, not a list" },
		{ "SS_ENDPOINT_REGISTER_SUSPEND: 86401\n", 1, "SS_ENDPOINT_REGISTER_SUSPEND",
		  "86401 is out of range 0..86400 s (registrar.suspend.time)" },
		{ "SS_ENDPOINT_REGISTER_SUSPEND: -1\n", 1, "SS_ENDPOINT_REGISTER_SUSPEND",
		  "-1 is out of range 0..86400 s" },
		{ "SS_ENDPOINT_REGISTER_SUSPEND: 3m\n", 1, "SS_ENDPOINT_REGISTER_SUSPEND",
		  "'3m' is not a whole number of seconds" },
		/* alias and native key */
		{ "SS_ENDPOINT_REGISTER_REPLACE: Off\nregistrar:\n  replace: true\n", 3,
		  "registrar.replace",
		  "SS_ENDPOINT_REGISTER_REPLACE (line 1) sets it too; give only one of the two" },
		{ "registrar:\n  suspend:\n    retry: 3\nSS_ENDPOINT_REGISTER_RETRY: 4\n", 4,
		  "SS_ENDPOINT_REGISTER_RETRY",
		  "is an alias of registrar.suspend.retry, given too at line 3" },
		{ "SS_ENDPOINT_REGISTER_SUSPEND: 60\nregistrar:\n  suspend:\n    time: 1m\n", 4,
		  "registrar.suspend.time", "SS_ENDPOINT_REGISTER_SUSPEND (line 1) sets it too" },
	};
	for (size_t i = 0; i < N(ok); i++) {
		struct conf c;

		load_ok(ok[i].yaml, &c);
		cr_assert_eq(c.reg_replace, ok[i].replace, "%s", ok[i].yaml);
		cr_assert_eq(c.suspend_retry, ok[i].retry, "%s", ok[i].yaml);
		cr_assert_eq(c.suspend_time_s, ok[i].suspend_s, "%s: %u", ok[i].yaml,
			     c.suspend_time_s);
		cr_assert_eq(c.timer_b_ms, ok[i].timer_b, "%s", ok[i].yaml);
		conf_free(&c);
	}
	for (size_t i = 0; i < N(bad); i++)
		load_fails(bad[i].yaml, bad[i].line, bad[i].key, bad[i].sub);
}

Test(conf, uplinks_keys_and_aliases)
{
	static const struct {
		const char *yaml;
		uint32_t expire, retry;
		int privacy;
		bool unreg;
		unsigned auth_retry;
	} ok[] = {
		{ "", 0, 60, 0, true, 2 },
		{ "uplinks:\n  file: u.yaml\n  expire: auto\n  retry_delay: 5\n  privacy: id\n"
		  "  send_unregister: false\n  auth_retry: 10\n",
		  0, 5, 1, false, 10 },
		{ "uplinks:\n  expire: 20\n  retry_delay: 1h\n  privacy: none\n", 20, 3600, 2, true,
		  2 },
		{ "uplinks:\n  expire: 2h\n", 7200, 60, 0, true, 2 },
		{ "SS_SIP_USER_AGENT_EXPIRE: Auto\nSS_SIP_USER_AGENT_RETRY_DELAY: 30\n"
		  "SS_SIP_USER_AGENT_PRIVACY: Id\nSS_SIP_USER_AGENT_SEND_UNREGISTER: Off\n",
		  0, 30, 1, false, 2 },
		{ "SS_SIP_USER_AGENT_EXPIRE: 600\nSS_SIP_USER_AGENT_RETRY_DELAY: 600\n"
		  "SS_SIP_USER_AGENT_PRIVACY: None\nSS_SIP_USER_AGENT_SEND_UNREGISTER: On\n",
		  600, 600, 2, true, 2 },
	};
	static const struct err_row bad[] = {
		{ "uplinks:\n  expire: 19\n", 2, "uplinks.expire", "out of range" },
		{ "uplinks:\n  expire: 7201\n", 2, "uplinks.expire", "out of range" },
		{ "uplinks:\n  expire: sometimes\n", 2, "uplinks.expire", "is not a duration" },
		{ "uplinks:\n  retry_delay: 0\n", 2, "uplinks.retry_delay", "out of range" },
		{ "uplinks:\n  privacy: full\n", 2, "uplinks.privacy",
		  "'full' is not one of ignore, id, none" },
		{ "uplinks:\n  auth_retry: 11\n", 2, "uplinks.auth_retry", "out of range" },
		{ "uplinks:\n  send_unregister: maybe\n", 2, "uplinks.send_unregister",
		  "is not true or false" },
		{ "SS_SIP_USER_AGENT_RETRY_DELAY: 29\n", 1, "SS_SIP_USER_AGENT_RETRY_DELAY",
		  "29 is out of range 30..600 s (uplinks.retry_delay)" },
		{ "SS_SIP_USER_AGENT_RETRY_DELAY: 601\n", 1, "SS_SIP_USER_AGENT_RETRY_DELAY",
		  "601 is out of range 30..600 s" },
		{ "SS_SIP_USER_AGENT_EXPIRE: 10\n", 1, "SS_SIP_USER_AGENT_EXPIRE", "out of range" },
		{ "SS_SIP_USER_AGENT_SEND_UNREGISTER: Off\nuplinks:\n  send_unregister: true\n", 3,
		  "uplinks.send_unregister",
		  "SS_SIP_USER_AGENT_SEND_UNREGISTER (line 1) sets it too" },
	};
	for (size_t i = 0; i < N(ok); i++) {
		struct conf c;

		load_ok(ok[i].yaml, &c);
		cr_assert_eq(c.uplink_expire_s, ok[i].expire, "%s", ok[i].yaml);
		cr_assert_eq(c.uplink_retry_s, ok[i].retry, "%s", ok[i].yaml);
		cr_assert_eq(c.uplink_privacy, ok[i].privacy, "%s", ok[i].yaml);
		cr_assert_eq(c.uplink_send_unregister, ok[i].unreg, "%s", ok[i].yaml);
		cr_assert_eq(c.uplink_auth_retry, ok[i].auth_retry, "%s", ok[i].yaml);
		conf_free(&c);
	}
	for (size_t i = 0; i < N(bad); i++)
		load_fails(bad[i].yaml, bad[i].line, bad[i].key, bad[i].sub);
}

Test(conf, dns_keys)
{
	struct conf c;

	load_ok("", &c);
	cr_assert_eq(c.ndns_servers, 0);
	cr_assert_eq(c.dns_timeout_ms, 2000);
	cr_assert_eq(c.dns_tries, 2);
	cr_assert_eq(c.dns_ttl_floor_s, 10);
	cr_assert_eq(c.dns_ttl_ceiling_s, 3600);
	cr_assert_eq(c.dns_negative_ttl_s, 30);
	cr_assert_eq(c.dns_stale_grace_s, 86400);
	cr_assert_eq(c.dns_prefetch, 85);
	conf_free(&c);
	load_ok("dns:\n  servers: [127.0.0.1, \"127.0.0.1:5353\", \"[::1]:53\"]\n  timeout: 1s\n"
		"  tries: 3\n  ttl_floor: 1\n  ttl_ceiling: 24h\n  negative_ttl: 5\n"
		"  stale_grace: 0\n  prefetch: 50\n",
		&c);
	cr_assert_eq(c.ndns_servers, 3);
	cr_assert_str_eq(c.dns_servers[2], "[::1]:53");
	cr_assert_eq(c.dns_timeout_ms, 1000);
	cr_assert_eq(c.dns_tries, 3);
	cr_assert_eq(c.dns_ttl_floor_s, 1);
	cr_assert_eq(c.dns_ttl_ceiling_s, 86400);
	cr_assert_eq(c.dns_stale_grace_s, 0);
	cr_assert_eq(c.dns_prefetch, 50);
	conf_free(&c);
	load_fails("dns:\n  servers: [ns1.example.com]\n", 2, "dns.servers",
		   "'ns1.example.com' is not an IPv4 address");
	load_fails("dns:\n  servers:\n    - 127.0.0.1\n    - \"::1\"\n", 4, "dns.servers",
		   "needs brackets");
	load_fails("dns:\n  prefetch: 99\n", 2, "dns.prefetch", "out of range");
	load_fails("dns:\n  timeout: 50ms\n", 2, "dns.timeout", "out of range");
	load_fails("dns:\n  ttl_floor: 600\n  ttl_ceiling: 60\n", 3, "dns.ttl_ceiling",
		   "dns.ttl_floor");
}

/* ---- reload ---- */

Test(conf, restart_keys)
{
	static const char base[] = "node:\n  workers: 2\nsip:\n  listen:\n    - udp:127.0.0.1\n"
				   "    - tcp:127.0.0.1\n";
	static const struct {
		const char *yaml, *keys;
	} t[] = {
		{ base, "" },
		/* reloadable: everything but the listed keys */
		{ "node:\n  workers: 2\n  name: other\nlog:\n  level: debug\nsip:\n  listen:\n"
		  "    - udp:127.0.0.1\n    - tcp:127.0.0.1\n  max_forwards: 20\n  timers:\n"
		  "    t1: 1s\ntcp:\n  idle_timeout: 1h\ntrace:\n  file: x.pcap\ncdr:\n"
		  "  spool_dir: /tmp\nruntime:\n  stop_deadline: 1s\n",
		  "" },
		/* the same sockets in another order */
		{ "node:\n  workers: 2\nsip:\n  listen:\n    - tcp:127.0.0.1:5060\n"
		  "    - udp:127.0.0.1:5060\n",
		  "" },
		{ "node:\n  workers: 4\nsip:\n  listen:\n    - udp:127.0.0.1\n    - "
		  "tcp:127.0.0.1\n",
		  "node.workers" },
		{ "node:\n  workers: 2\nsip:\n  listen:\n    - udp:127.0.0.1\n", "sip.listen" },
		{ "node:\n  workers: 2\nsip:\n  listen:\n    - udp:127.0.0.1\n    - tcp:127.0.0.2\n"
		  "http:\n  listen: off\n",
		  "sip.listen, http.listen" },
		{ "node:\n  workers: 0\n  pin_workers: false\nsip:\n  listen:\n    - udp:[::1]\n"
		  "  private_port_base: 30000\nruntime:\n  ring_entries: 1024\n  rx_buffers: 1024\n"
		  "  rx_buffer_size: 65535\nhttp:\n  listen: 127.0.0.1:8081\n",
		  "node.workers, node.pin_workers, sip.listen, sip.private_port_base, "
		  "runtime.ring_entries, runtime.rx_buffers, runtime.rx_buffer_size, http.listen" },
		{ "node:\n  workers: 2\nsip:\n  listen:\n    - udp:127.0.0.1\n    - tcp:127.0.0.1\n"
		  "tcp:\n  max_connections: 10\n  max_buffer: 131072\n  idle_timeout: 60\n",
		  "tcp.max_connections, tcp.max_buffer" },
		/* registrar, auth and accounts: every key reloads but max_bindings (the
		 * location table's limit, set at start) */
		{ "node:\n  workers: 2\nsip:\n  listen:\n    - udp:127.0.0.1\n    - tcp:127.0.0.1\n"
		  "registrar:\n  enabled: false\n  min_expires: 30\n  max_expires: 2h\n"
		  "  default_expires: 10m\n  max_contacts: 2\n  max_bindings: 5\n"
		  "  replace: false\n  authenticate: false\n  keepalive:\n    interval: 30\n"
		  "    failures: 9\n  suspend:\n    retry: 2\n    time: 0\n    by_ip: true\n"
		  "    action: drop\nauth:\n  realm: r\n  nonce_expire: 20\n"
		  "  secret: 0123456789abcdefX\n  algorithms: [MD5]\n  refuse_rfc2069: true\n"
		  "accounts:\n  file: a.yaml\n",
		  "registrar.max_bindings" },
		/* redis: the connection is made at start */
		{ "node:\n  workers: 2\nsip:\n  listen:\n    - udp:127.0.0.1\n    - tcp:127.0.0.1\n"
		  "redis:\n  host: 127.0.0.1\n",
		  "redis.host" },
		{ "node:\n  workers: 2\nsip:\n  listen:\n    - udp:127.0.0.1\n    - tcp:127.0.0.1\n"
		  "redis:\n  unix_socket: /run/redis.sock\n",
		  "redis.unix_socket" },
		{ "node:\n  workers: 2\nsip:\n  listen:\n    - udp:127.0.0.1\n    - tcp:127.0.0.1\n"
		  "redis:\n  prefix: \"x:\"\n  db: 3\n  password: pw\n  port: 6380\n",
		  "redis.port, redis.password, redis.db, redis.prefix" },
		/* the same values written otherwise: no change */
		{ "node:\n  workers: 2\nsip:\n  listen:\n    - udp:127.0.0.1\n    - tcp:127.0.0.1\n"
		  "redis:\n  host: \"\"\n  port: 6379\n  prefix: \"sipring:\"\n  password: ~\n",
		  "" },
		{ "node:\n  workers: 4\nsip:\n  listen:\n    - udp:127.0.0.1\n    - tcp:127.0.0.1\n"
		  "redis:\n  host: \"::1\"\n  unix_socket:\n  db: 1\n",
		  "node.workers, redis.host, redis.db" },
	};
	struct conf old, new_;
	char buf[512];

	load_ok(base, &old);
	for (size_t i = 0; i < N(t); i++) {
		unsigned n, want = 0;

		load_ok(t[i].yaml, &new_);
		for (const char *p = t[i].keys; *p; p++)
			want += *p == ',';
		want += t[i].keys[0] != '\0';
		memset(buf, 'x', sizeof(buf));
		n = conf_restart_keys(&old, &new_, buf, sizeof(buf));
		cr_assert_eq(n, want, "row %zu: %u (%s)", i, n, buf);
		cr_assert_str_eq(buf, t[i].keys, "row %zu", i);
		/* A short buffer: the count is whole, the text cut and terminated. */
		if (want) {
			char small[6];

			cr_assert_eq(conf_restart_keys(&old, &new_, small, sizeof(small)), want);
			cr_assert_eq(strlen(small), 5);
			cr_assert_eq(conf_restart_keys(&old, &new_, NULL, 0), want);
		}
		conf_free(&new_);
	}
	/* Defaults against defaults; http off against off. */
	cr_assert_eq(conf_defaults(&new_), 0);
	cr_assert_eq(conf_restart_keys(&new_, &new_, buf, sizeof(buf)), 0);
	conf_free(&new_);
	conf_free(&old);
}
