/* SPDX-License-Identifier: MIT */
/*
 * mgmt.c: see mgmt.h. The Prometheus text is built with one printf-style
 * appender into a growing buffer; JSON with cJSON. Requests go through one
 * access handler (on_request) that collects the body, then dispatch() picks the
 * endpoint: /metrics, /api/v1/status, a route, or 404.
 *
 * The utilisation gauge is a ratio of two deltas per worker, busy ns over
 * total ns since the previous reading. /metrics and /api/v1/status keep a
 * reading each (struct util[]), so that `sipringctl status` does not shorten
 * Prometheus' interval; when no time has passed (two readings within one of the
 * worker's clock updates) the previous ratio is kept.
 */
#define _GNU_SOURCE
#include "mgmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "parsers/sip_msg.h"

#define MGMT_LISTEN_BACKLOG 64

struct mgmt_route_ent {
	char *prefix;
	size_t len;
	mgmt_handler fn;
	void *arg;
};

/* The previous reading of one worker's loop clock, and the ratio it gave. */
struct util {
	uint64_t busy, total;
	double value;
};

struct mgmt {
	struct MHD_Daemon *d;
	struct mgmt_source src;
	uint16_t port;
	struct mgmt_route_ent *routes;
	size_t nroutes;
	struct util *util_metrics; /* nworkers, for /metrics */
	struct util *util_status;  /* nworkers, for /api/v1/status */
};

/* One request in progress: its body, collected over the handler's calls. */
struct req {
	char *body;
	size_t len, cap;
	bool too_large;
};

/* ---- a growing text buffer ---- */

struct mbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static bool mbuf_reserve(struct mbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void mbuf_printf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !mbuf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void mbuf_putc(struct mbuf *b, char c)
{
	if (!mbuf_reserve(b, 1))
		return;
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

/* A label value: backslash, double quote and line feed escaped (format 0.0.4). */
static void mbuf_label(struct mbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"') {
			mbuf_putc(b, '\\');
			mbuf_putc(b, *s);
		} else if (*s == '\n') {
			mbuf_putc(b, '\\');
			mbuf_putc(b, 'n');
		} else {
			mbuf_putc(b, *s);
		}
	}
}

/* ---- reading the counters ---- */

static uint64_t node_get(const struct stats_node *n, size_t off)
{
	if (!n)
		return 0;
	return __atomic_load_n((const uint64_t *)((const char *)n + off), __ATOMIC_RELAXED);
}

#define NODE(src, field) node_get((src)->node, offsetof(struct stats_node, field))

/* The sum over the workers of every counter (and gauge) of struct stats. */
static void stats_total(const struct mgmt_source *src, struct stats *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < src->nworkers; i++) {
		const struct stats *w = &src->workers[i];

#define SUM(f) (t->f += STAT_GET(w, f))
		SUM(rx_msgs);
		SUM(rx_bytes);
		SUM(tx_msgs);
		SUM(tx_bytes);
		SUM(tx_errors);
		for (size_t k = 0; k < SIP_METHOD__COUNT; k++)
			SUM(rx_requests[k]);
		for (size_t k = 0; k < 7; k++)
			SUM(rx_responses[k]);
		for (size_t k = 0; k < 700; k++)
			SUM(tx_responses[k]);
		SUM(parse_errors);
		for (size_t k = 0; k < STATS_DROP__COUNT; k++)
			SUM(drops[k]);
		SUM(keepalives);
		SUM(handover_out);
		SUM(handover_in);
		SUM(tcp_accepted);
		SUM(tcp_closed);
		SUM(tcp_idle_closed);
		SUM(tcp_refused);
		SUM(tcp_active);
		SUM(loop_busy_ns);
		SUM(loop_total_ns);
		SUM(loop_iterations);
		SUM(trace_drops);
		for (size_t k = 0; k < STATS_REG__COUNT; k++)
			SUM(reg[k]);
		SUM(reg_queue_full);
		SUM(txn_active);
		SUM(txn_retransmissions);
		SUM(txn_timeouts);
		SUM(ka[0]);
		SUM(ka[1]);
		SUM(uplink_requests);
#undef SUM
	}
}

static uint64_t drops_total(const struct stats *t)
{
	uint64_t n = 0;

	for (size_t k = 0; k < STATS_DROP__COUNT; k++)
		n += t->drops[k];
	return n;
}

/*
 * Worker w's busy share since the reading in *u (NULL: since its start), and
 * the reading moves to now. Clamped to [0, 1]: the two clocks are loaded one
 * after the other and may be a moment apart.
 */
static double util_read(const struct stats *w, struct util *u)
{
	uint64_t busy = STAT_GET(w, loop_busy_ns), total = STAT_GET(w, loop_total_ns);
	struct util since = { 0 };
	double v;

	if (u)
		since = *u;
	if (total <= since.total)
		return since.value; /* no time has passed: the last ratio stands */
	v = busy > since.busy ? (double)(busy - since.busy) / (double)(total - since.total) : 0;
	if (v > 1)
		v = 1;
	if (u)
		*u = (struct util){ .busy = busy, .total = total, .value = v };
	return v;
}

/* ---- the Prometheus text ---- */

static const char *const drop_reason[STATS_DROP__COUNT] = {
	[STATS_DROP_PARSE] = "parse",	      [STATS_DROP_RESPONSE] = "response",
	[STATS_DROP_TOO_LARGE] = "too_large", [STATS_DROP_NOBUFS] = "nobufs",
	[STATS_DROP_STOPPING] = "stopping",   [STATS_DROP_ACK] = "ack",
};

static void family(struct mbuf *b, const char *name, const char *type, const char *help)
{
	mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One family with a sample per worker: {worker="N"} value. */
static void per_worker(struct mbuf *b, const struct mgmt_source *src, const char *name,
		       const char *help, size_t off)
{
	family(b, name, "counter", help);
	for (unsigned i = 0; i < src->nworkers; i++) {
		const uint64_t *p = (const uint64_t *)((const char *)&src->workers[i] + off);

		mbuf_printf(b, "%s{worker=\"%u\"} %llu\n", name, i,
			    (unsigned long long)__atomic_load_n(p, __ATOMIC_RELAXED));
	}
}

#define PER_WORKER(b, src, name, help, field) \
	per_worker(b, src, name, help, offsetof(struct stats, field))

/* Nanoseconds as seconds, exactly: "12.000000345". */
static void seconds(struct mbuf *b, uint64_t ns)
{
	mbuf_printf(b, "%llu.%09llu\n", (unsigned long long)(ns / 1000000000u),
		    (unsigned long long)(ns % 1000000000u));
}

static void one(struct mbuf *b, const char *name, const char *type, const char *help, uint64_t v)
{
	family(b, name, type, help);
	mbuf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static int render(const struct mgmt_source *src, struct util *util, char **out, size_t *len)
{
	struct mbuf b = { 0 };
	struct stats *t = malloc(sizeof(*t)); /* ~6 KiB: not on the service thread's stack */

	if (!t)
		return -ENOMEM;
	stats_total(src, t);

	family(&b, "sipring_build_info", "gauge", "Build information: the version, value 1.");
	mbuf_printf(&b, "sipring_build_info{version=\"");
	mbuf_label(&b, src->version ? src->version : "");
	mbuf_printf(&b, "\"} 1\n");
	one(&b, "sipring_start_time_seconds", "gauge",
	    "Start time of the process, seconds since the Unix epoch.", NODE(src, started_unix));
	one(&b, "sipring_workers", "gauge", "Worker threads.", src->nworkers);

	PER_WORKER(&b, src, "sipring_messages_received_total",
		   "SIP messages received (datagrams or framed stream messages).", rx_msgs);
	PER_WORKER(&b, src, "sipring_bytes_received_total", "Octets of SIP messages received.",
		   rx_bytes);
	PER_WORKER(&b, src, "sipring_messages_sent_total", "SIP messages sent.", tx_msgs);
	PER_WORKER(&b, src, "sipring_bytes_sent_total", "Octets of SIP messages sent.", tx_bytes);
	PER_WORKER(&b, src, "sipring_send_errors_total", "Sends the kernel refused.", tx_errors);

	family(&b, "sipring_requests_received_total", "counter",
	       "SIP requests received, by method (OTHER: any method sipring does not know).");
	for (unsigned k = 0; k < SIP_METHOD__COUNT; k++) {
		const char *name = k == SIP_METHOD_OTHER ? "OTHER" : sip_method_str(k);

		mbuf_printf(&b, "sipring_requests_received_total{method=\"%s\"} %llu\n",
			    name ? name : "OTHER", (unsigned long long)t->rx_requests[k]);
	}
	family(&b, "sipring_responses_received_total", "counter",
	       "SIP responses received, by status class.");
	for (unsigned k = 1; k <= 6; k++)
		mbuf_printf(&b, "sipring_responses_received_total{class=\"%uxx\"} %llu\n", k,
			    (unsigned long long)t->rx_responses[k]);
	family(&b, "sipring_responses_sent_total", "counter",
	       "SIP responses sent, by status code (codes never sent are absent).");
	for (unsigned k = 0; k < 700; k++)
		if (t->tx_responses[k])
			mbuf_printf(&b, "sipring_responses_sent_total{code=\"%u\"} %llu\n", k,
				    (unsigned long long)t->tx_responses[k]);

	one(&b, "sipring_parse_errors_total", "counter",
	    "Messages the parser or the checks refused.", t->parse_errors);
	family(&b, "sipring_drops_total", "counter",
	       "Messages dropped without an answer, by reason.");
	for (unsigned k = 0; k < STATS_DROP__COUNT; k++)
		mbuf_printf(&b, "sipring_drops_total{reason=\"%s\"} %llu\n", drop_reason[k],
			    (unsigned long long)t->drops[k]);
	one(&b, "sipring_keepalives_received_total", "counter", "CRLF keep-alives received.",
	    t->keepalives);
	family(&b, "sipring_handover_total", "counter",
	       "Messages passed between workers (out: to another worker, in: from one).");
	mbuf_printf(&b, "sipring_handover_total{direction=\"out\"} %llu\n",
		    (unsigned long long)t->handover_out);
	mbuf_printf(&b, "sipring_handover_total{direction=\"in\"} %llu\n",
		    (unsigned long long)t->handover_in);

	one(&b, "sipring_tcp_connections_accepted_total", "counter", "TCP connections accepted.",
	    t->tcp_accepted);
	one(&b, "sipring_tcp_connections_closed_total", "counter",
	    "TCP connections closed, for any reason.", t->tcp_closed);
	one(&b, "sipring_tcp_connections_idle_closed_total", "counter",
	    "TCP connections closed by the idle timeout (also counted as closed).",
	    t->tcp_idle_closed);
	one(&b, "sipring_tcp_connections_refused_total", "counter",
	    "TCP connections refused: tcp.max_connections reached.", t->tcp_refused);
	one(&b, "sipring_tcp_connections", "gauge", "Open TCP connections.", t->tcp_active);

	family(&b, "sipring_worker_busy_seconds_total", "counter",
	       "Time the worker's loop spent handling completions.");
	for (unsigned i = 0; i < src->nworkers; i++) {
		mbuf_printf(&b, "sipring_worker_busy_seconds_total{worker=\"%u\"} ", i);
		seconds(&b, STAT_GET(&src->workers[i], loop_busy_ns));
	}
	family(&b, "sipring_worker_seconds_total", "counter",
	       "Time since the worker's loop started.");
	for (unsigned i = 0; i < src->nworkers; i++) {
		mbuf_printf(&b, "sipring_worker_seconds_total{worker=\"%u\"} ", i);
		seconds(&b, STAT_GET(&src->workers[i], loop_total_ns));
	}
	PER_WORKER(&b, src, "sipring_worker_loop_iterations_total", "Rounds of the worker's loop.",
		   loop_iterations);
	family(&b, "sipring_worker_loop_utilisation", "gauge",
	       "Busy share of the worker's loop (0..1) since the previous scrape.");
	for (unsigned i = 0; i < src->nworkers; i++)
		mbuf_printf(&b, "sipring_worker_loop_utilisation{worker=\"%u\"} %.6f\n", i,
			    util_read(&src->workers[i], util ? &util[i] : NULL));

	family(&b, "sipring_config_reloads_total", "counter",
	       "Configuration reloads (SIGHUP or API): ok applied, error refused.");
	mbuf_printf(&b, "sipring_config_reloads_total{result=\"ok\"} %llu\n",
		    (unsigned long long)NODE(src, reloads_ok));
	mbuf_printf(&b, "sipring_config_reloads_total{result=\"error\"} %llu\n",
		    (unsigned long long)NODE(src, reloads_failed));
	one(&b, "sipring_stopping", "gauge", "1 once a graceful stop has begun.",
	    NODE(src, stopping));
	one(&b, "sipring_trace_messages_total", "counter", "Messages written to the pcap trace.",
	    NODE(src, trace_written));
	one(&b, "sipring_trace_drops_total", "counter", "Trace records lost: trace ring full.",
	    t->trace_drops);

	static const char *const reg_outcome[STATS_REG__COUNT] = {
		"ok",	   "challenged", "auth_failed", "suspended",
		"refused", "interval",	 "bad",		"error",
	};
	family(&b, "sipring_registrations_total", "counter",
	       "REGISTER requests by outcome (docs/registrar.md).");
	for (unsigned k = 0; k < STATS_REG__COUNT; k++)
		mbuf_printf(&b, "sipring_registrations_total{outcome=\"%s\"} %llu\n",
			    reg_outcome[k], (unsigned long long)t->reg[k]);
	one(&b, "sipring_registrar_queue_full_total", "counter",
	    "Location changes refused: a worker's queue to the service thread was full.",
	    t->reg_queue_full);
	one(&b, "sipring_location_aors", "gauge", "Addresses of record with bindings.",
	    NODE(src, reg_aors));
	one(&b, "sipring_location_bindings", "gauge", "Registered contacts (bindings).",
	    NODE(src, reg_bindings));
	one(&b, "sipring_location_expired_total", "counter", "Bindings removed at their expiry.",
	    NODE(src, reg_expired));
	family(&b, "sipring_location_changes_total", "counter",
	       "Location changes from the workers: applied, or rejected by the table "
	       "(out of order, full).");
	mbuf_printf(&b, "sipring_location_changes_total{result=\"applied\"} %llu\n",
		    (unsigned long long)NODE(src, reg_applied));
	mbuf_printf(&b, "sipring_location_changes_total{result=\"rejected\"} %llu\n",
		    (unsigned long long)NODE(src, reg_rejected));
	one(&b, "sipring_location_redis_connected", "gauge",
	    "1 while the registrations' Redis connection is up.", NODE(src, redis_connected));
	family(&b, "sipring_keepalives_sent_total", "counter",
	       "Keepalive OPTIONS to registered contacts, by result.");
	mbuf_printf(&b, "sipring_keepalives_sent_total{result=\"answered\"} %llu\n",
		    (unsigned long long)t->ka[0]);
	mbuf_printf(&b, "sipring_keepalives_sent_total{result=\"failed\"} %llu\n",
		    (unsigned long long)t->ka[1]);
	one(&b, "sipring_location_keepalive_removed_total", "counter",
	    "Bindings removed after registrar.keepalive.failures unanswered keepalives.",
	    NODE(src, reg_ka_removed));
	{
		static const char *const st[6] = { "registering",  "registered", "unregistering",
						   "unregistered", "failed",	 "disabled" };
		static const char *const rs[5] = { "ok", "rejected", "auth_failed", "timeout",
						   "error" };
		family(&b, "sipring_uplinks", "gauge",
		       "Uplinks (outbound registrations) by state.");
		for (unsigned k = 0; k < 6; k++)
			mbuf_printf(&b, "sipring_uplinks{state=\"%s\"} %llu\n", st[k],
				    (unsigned long long)NODE(src, uplinks[k]));
		family(&b, "sipring_uplink_registers_total", "counter",
		       "Registration attempts to uplinks, by result.");
		for (unsigned k = 0; k < 5; k++)
			mbuf_printf(&b, "sipring_uplink_registers_total{result=\"%s\"} %llu\n",
				    rs[k], (unsigned long long)NODE(src, uplink_registers[k]));
		family(&b, "sipring_uplink_unregisters_total", "counter",
		       "Unregistrations (Expires: 0) sent to uplinks, by result.");
		for (unsigned k = 0; k < 5; k++)
			mbuf_printf(&b, "sipring_uplink_unregisters_total{result=\"%s\"} %llu\n",
				    rs[k], (unsigned long long)NODE(src, uplink_unregisters[k]));
		one(&b, "sipring_uplink_requests_total", "counter",
		    "Requests received for the contact of an uplink.", t->uplink_requests);
		static const char *const ds[7] = { "pending", "ok",	     "nxdomain", "servfail",
						   "timeout", "unreachable", "stale" };
		family(&b, "sipring_domains", "gauge",
		       "Entries of the domain table (carrier names) by status.");
		for (unsigned k = 0; k < 7; k++)
			mbuf_printf(&b, "sipring_domains{status=\"%s\"} %llu\n", ds[k],
				    (unsigned long long)NODE(src, dns_entries[k]));
		one(&b, "sipring_dns_queries_total", "counter", "DNS queries sent.",
		    NODE(src, dns_queries));
		one(&b, "sipring_dns_failures_total", "counter",
		    "Resolutions that failed (NXDOMAIN, SERVFAIL, timeout, refused).",
		    NODE(src, dns_failures));
		one(&b, "sipring_dns_redis_connected", "gauge",
		    "1 while the domain table's Redis mirror is connected.",
		    NODE(src, dns_redis_connected));
	}
	one(&b, "sipring_transactions", "gauge", "Transactions in the workers' tables.",
	    t->txn_active);
	one(&b, "sipring_transaction_retransmissions_total", "counter",
	    "Messages sent again by transactions (timers and absorbed retransmissions).",
	    t->txn_retransmissions);
	one(&b, "sipring_transaction_timeouts_total", "counter", "Timers B, F and H fired.",
	    t->txn_timeouts);

	free(t);
	if (b.oom || !b.p) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

int mgmt_render_metrics(const struct mgmt_source *src, char **out, size_t *len)
{
	if (!src || (src->nworkers && !src->workers) || !out || !len)
		return -EINVAL;
	return render(src, NULL, out, len);
}

/* ---- /api/v1/status ---- */

static cJSON *status_json(struct mgmt *m)
{
	const struct mgmt_source *src = &m->src;
	struct stats *t = malloc(sizeof(*t));
	cJSON *root = cJSON_CreateObject(), *workers, *totals;
	uint64_t started = NODE(src, started_unix);
	time_t now = time(NULL);

	if (!t || !root) {
		free(t);
		cJSON_Delete(root);
		return NULL;
	}
	stats_total(src, t);
	cJSON_AddStringToObject(root, "version", src->version ? src->version : "");
	cJSON_AddNumberToObject(
		root, "uptime_seconds",
		started && (uint64_t)now > started ? (double)((uint64_t)now - started) : 0);
	cJSON_AddNumberToObject(root, "pid", (double)getpid());
	workers = cJSON_AddArrayToObject(root, "workers");
	for (unsigned i = 0; i < src->nworkers; i++) {
		const struct stats *w = &src->workers[i];
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddItemToArray(workers, o);
		cJSON_AddNumberToObject(o, "id", i);
		cJSON_AddNumberToObject(o, "messages_received", (double)STAT_GET(w, rx_msgs));
		cJSON_AddNumberToObject(o, "messages_sent", (double)STAT_GET(w, tx_msgs));
		cJSON_AddNumberToObject(o, "parse_errors", (double)STAT_GET(w, parse_errors));
		cJSON_AddNumberToObject(o, "tcp_connections", (double)STAT_GET(w, tcp_active));
		cJSON_AddNumberToObject(o, "loop_utilisation", util_read(w, &m->util_status[i]));
	}
	totals = cJSON_AddObjectToObject(root, "totals");
	cJSON_AddNumberToObject(totals, "messages_received", (double)t->rx_msgs);
	cJSON_AddNumberToObject(totals, "messages_sent", (double)t->tx_msgs);
	cJSON_AddNumberToObject(totals, "parse_errors", (double)t->parse_errors);
	cJSON_AddNumberToObject(totals, "drops", (double)drops_total(t));
	free(t);
	if (src->status_json)
		src->status_json(src->arg, root);
	return root;
}

/* ---- HTTP ---- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *ctype,
			     void *body, size_t len, enum MHD_ResponseMemoryMode mode,
			     const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	if (ctype)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Send j (NULL: no body) and free it. */
static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, cJSON *j,
				  const char *allow)
{
	enum MHD_Result ret;
	char *text;

	if (!j)
		return reply(c, status, NULL, (void *)"", 0, MHD_RESPMEM_PERSISTENT, allow);
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!text)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, (void *)"", 0,
			     MHD_RESPMEM_PERSISTENT, NULL);
	ret = reply(c, status, "application/json", text, strlen(text), MHD_RESPMEM_MUST_COPY,
		    allow);
	cJSON_free(text);
	return ret;
}

/* {"error": "<what>[ <path>]"}; a path's octets outside printable ASCII become '?'. */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *what,
				   const char *path, const char *allow)
{
	char msg[256];
	cJSON *j = cJSON_CreateObject();
	int n = snprintf(msg, sizeof(msg), "%s%s", what, path ? " " : "");

	if (path && n > 0 && (size_t)n < sizeof(msg)) {
		size_t i = (size_t)n;

		for (; *path && i + 1 < sizeof(msg); path++)
			msg[i++] = *path >= 0x20 && *path < 0x7f ? *path : '?';
		msg[i] = '\0';
	}
	if (j)
		cJSON_AddStringToObject(j, "error", msg);
	return reply_json(c, status, j, allow);
}

static bool is_get(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	       strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static enum MHD_Result serve_metrics(struct mgmt *m, struct MHD_Connection *c)
{
	char *text;
	size_t len;

	if (render(&m->src, m->util_metrics, &text, &len) != 0)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL, NULL);
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len,
		     MHD_RESPMEM_MUST_FREE, NULL);
}

/* The route whose prefix is the longest one ending on a segment boundary of url. */
static const struct mgmt_route_ent *route_find(const struct mgmt *m, const char *url)
{
	const struct mgmt_route_ent *best = NULL;

	for (size_t i = 0; i < m->nroutes; i++) {
		const struct mgmt_route_ent *e = &m->routes[i];

		if (strncmp(url, e->prefix, e->len) == 0 &&
		    (url[e->len] == '\0' || url[e->len] == '/') && (!best || e->len > best->len))
			best = e;
	}
	return best;
}

static enum MHD_Result dispatch(struct mgmt *m, struct MHD_Connection *c, const char *url,
				const char *method, struct req *r)
{
	const struct mgmt_route_ent *e;
	cJSON *out = NULL;
	int status;

	if (r->too_large)
		return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large", NULL,
				   NULL);
	if (strcmp(url, "/metrics") == 0 || strcmp(url, "/api/v1/status") == 0) {
		if (!is_get(method))
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					   "method not allowed:", method, "GET, HEAD");
		if (url[1] == 'm')
			return serve_metrics(m, c);
		out = status_json(m);
		if (!out)
			return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL,
					   NULL);
		return reply_json(c, MHD_HTTP_OK, out, NULL);
	}
	e = route_find(m, url);
	if (!e)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint:", url, NULL);
	status = e->fn(e->arg, method, url + e->len, r->body ? r->body : "", r->len, &out);
	if (status < 200 || status > 599) {
		cJSON_Delete(out);
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "handler failed for", url,
				   NULL);
	}
	return reply_json(c, (unsigned)status, out, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **con_cls)
{
	struct req *r = *con_cls;

	(void)version;
	if (!r) {
		/* The first call: headers only. Answer from the last one, body complete. */
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_len) {
		size_t n = *upload_len;

		*upload_len = 0;
		if (r->too_large || r->len + n > MGMT_MAX_BODY) {
			r->too_large = true; /* read and drop the rest, then 413 */
			return MHD_YES;
		}
		if (r->len + n + 1 > r->cap) {
			size_t cap = r->cap ? r->cap : 1024;
			char *p;

			while (cap < r->len + n + 1)
				cap *= 2;
			p = realloc(r->body, cap);
			if (!p)
				return MHD_NO;
			r->body = p;
			r->cap = cap;
		}
		memcpy(r->body + r->len, upload, n);
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}
	return dispatch(cls, c, url, method, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (r) {
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
}

/* "127.0.0.1:8080", "[::1]:8080". */
static void addr_text(const struct sockaddr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)a;

		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s->sin6_port));
	} else {
		const struct sockaddr_in *s = (const struct sockaddr_in *)a;

		inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s->sin_port));
	}
}

/* A non-blocking listening socket on addr, or -errno. */
static int listen_on(const struct sockaddr *addr, socklen_t addrlen, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, one = 1, e;

	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A restart must not wait for the previous run's TIME_WAIT connections. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, addr, addrlen) != 0 || listen(fd, MGMT_LISTEN_BACKLOG) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		e = errno;
		close(fd);
		return -e;
	}
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int mgmt_start(struct mgmt **out, const struct sockaddr *addr, socklen_t addrlen,
	       const struct mgmt_source *src, char *err, size_t errlen)
{
	char where[INET6_ADDRSTRLEN + 16];
	struct mgmt *m;
	int fd;

	if (errlen)
		err[0] = '\0';
	if (!out || !addr || !src || (src->nworkers && !src->workers) ||
	    !((addr->sa_family == AF_INET && addrlen >= sizeof(struct sockaddr_in)) ||
	      (addr->sa_family == AF_INET6 && addrlen >= sizeof(struct sockaddr_in6)))) {
		snprintf(err, errlen, "management endpoint: invalid address or source");
		return -EINVAL;
	}
	addr_text(addr, where, sizeof(where));
	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) != MHD_YES) {
		snprintf(err, errlen, "%s: libmicrohttpd was built without epoll", where);
		return -ENOTSUP;
	}
	m = calloc(1, sizeof(*m));
	if (m) {
		m->util_metrics = calloc(src->nworkers + 1, sizeof(*m->util_metrics));
		m->util_status = calloc(src->nworkers + 1, sizeof(*m->util_status));
	}
	if (!m || !m->util_metrics || !m->util_status) {
		mgmt_stop(m);
		snprintf(err, errlen, "%s: %s", where, strerror(ENOMEM));
		return -ENOMEM;
	}
	m->src = *src;
	fd = listen_on(addr, addrlen, &m->port);
	if (fd < 0) {
		mgmt_stop(m);
		snprintf(err, errlen, "%s: %s", where, strerror(-fd));
		return fd;
	}
	/*
	 * MHD takes the socket: MHD_stop_daemon() closes it. A failed start
	 * leaves it to us (0.9.75: the listen fd is closed only if MHD opened it).
	 */
	m->d = MHD_start_daemon(MHD_USE_EPOLL | (addr->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0,
				NULL, NULL, on_request, m, MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)MGMT_MAX_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)MGMT_IDLE_TIMEOUT_S,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, m, MHD_OPTION_END);
	if (!m->d) {
		close(fd);
		mgmt_stop(m);
		snprintf(err, errlen, "%s: libmicrohttpd could not start", where);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

int mgmt_route(struct mgmt *m, const char *prefix, mgmt_handler fn, void *arg)
{
	struct mgmt_route_ent *routes;
	size_t len;
	char *p;

	if (!m || !prefix || !fn || prefix[0] != '/')
		return -EINVAL;
	len = strlen(prefix);
	if (len < 2 || prefix[len - 1] == '/' || strcmp(prefix, "/metrics") == 0 ||
	    strcmp(prefix, "/api/v1/status") == 0)
		return -EINVAL;
	for (size_t i = 0; i < m->nroutes; i++)
		if (strcmp(m->routes[i].prefix, prefix) == 0)
			return -EEXIST;
	routes = realloc(m->routes, (m->nroutes + 1) * sizeof(*routes));
	if (!routes)
		return -ENOMEM;
	m->routes = routes;
	p = strdup(prefix);
	if (!p)
		return -ENOMEM;
	m->routes[m->nroutes++] = (struct mgmt_route_ent){ p, len, fn, arg };
	return 0;
}

uint16_t mgmt_port(const struct mgmt *m)
{
	return m->port;
}

int mgmt_poll_fd(const struct mgmt *m)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);

	return i ? i->epoll_fd : -1;
}

int mgmt_poll_timeout_ms(const struct mgmt *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(m->d, &ms) != MHD_YES)
		return -1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

void mgmt_process(struct mgmt *m)
{
	MHD_run(m->d);
}

void mgmt_stop(struct mgmt *m)
{
	if (!m)
		return;
	if (m->d)
		MHD_stop_daemon(m->d);
	for (size_t i = 0; i < m->nroutes; i++)
		free(m->routes[i].prefix);
	free(m->routes);
	free(m->util_metrics);
	free(m->util_status);
	free(m);
}
