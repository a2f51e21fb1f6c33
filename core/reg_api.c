/* SPDX-License-Identifier: MIT */
/*
 * reg_api.c: see reg_api.h. One handler per prefix; each picks the operation
 * from the method and from whether a key follows the prefix.
 *
 * The list walks the AORs with location_scan() and takes each one's bindings
 * with location_lookup(): location_foreach() goes in expiry (heap) order,
 * which scatters an AOR's bindings and would need a map to group them. AORs
 * are then sorted by name and bindings by q (highest first) then contact, so
 * that two listings of the same table read the same.
 *
 * The table's strings are views, not NUL-terminated, and may hold any octet:
 * api_json_sv() copies one with each octet that is not part of valid UTF-8 (and
 * NUL) replaced by U+FFFD, so that the answer is always valid JSON text.
 *
 * Out of memory while building an answer: the handler frees what it built and
 * answers 500 {"error": "out of memory"} (or 500 without a body when even that
 * cannot be allocated).
 */
#define _GNU_SOURCE
#include "reg_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/api_json.h"
#include "core/mgmt.h"
#include "core/suspend.h"
#include "parsers/sv.h"
#include "storage/location.h"

#define REG_PREFIX  "/api/v1/registrations"
#define SUSP_PREFIX "/api/v1/suspensions"
#define SCAN_STEP   1024 /* AORs per location_scan() call */

static int64_t clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t api_now(const struct reg_api *api)
{
	return api->src.now_ms ? api->src.now_ms() : clock_now_ms();
}

/* Seconds from now to until, rounded up: 1 ms left is 1 s, not 0. */
static int64_t seconds_left(int64_t until_ms, int64_t now_ms)
{
	return until_ms > now_ms ? (until_ms - now_ms + 999) / 1000 : 0;
}

static int answer_oom(cJSON **out)
{
	return api_error(out, 500, "out of memory");
}

/* ---- bindings ---- */

static const char *const transport_name[] = {
	[LOCATION_TP_NONE] = "none", [LOCATION_TP_UDP] = "udp", [LOCATION_TP_TCP] = "tcp",
	[LOCATION_TP_TLS] = "tls",   [LOCATION_TP_WS] = "ws",	[LOCATION_TP_WSS] = "wss",
	[LOCATION_TP_SCTP] = "sctp",
};

/* "udp:192.0.2.1:5060", "tcp:[2001:db8::1]:5061"; "" when the address is unknown. */
static void source_text(const struct location_source *s, char *buf, size_t len)
{
	const char *tp = s->transport < sizeof(transport_name) / sizeof(transport_name[0])
				 ? transport_name[s->transport]
				 : "none";
	char host[INET6_ADDRSTRLEN];

	buf[0] = '\0';
	if (s->family == AF_INET && inet_ntop(AF_INET, s->addr, host, sizeof(host)))
		snprintf(buf, len, "%s:%s:%u", tp, host, s->port);
	else if (s->family == AF_INET6 && inet_ntop(AF_INET6, s->addr, host, sizeof(host)))
		snprintf(buf, len, "%s:[%s]:%u", tp, host, s->port);
}

static cJSON *binding_json(const struct location_binding *b, int64_t now)
{
	cJSON *o = cJSON_CreateObject();
	char src[INET6_ADDRSTRLEN + 32], conn[24];
	bool ok;

	if (!o)
		return NULL;
	source_text(&b->src, src, sizeof(src));
	snprintf(conn, sizeof(conn), "%llu", (unsigned long long)b->src.conn);
	ok = api_json_add(o, "contact", api_json_sv(b->contact)) &&
	     api_json_add(o, "expires_in",
			  cJSON_CreateNumber((double)seconds_left(b->expires_ms, now))) &&
	     api_json_add(o, "expires_at", cJSON_CreateNumber((double)b->expires_ms)) &&
	     api_json_add(o, "call_id", api_json_sv(b->call_id)) &&
	     api_json_add(o, "cseq", cJSON_CreateNumber(b->cseq)) &&
	     api_json_add(o, "q", cJSON_CreateNumber(b->q / 1000.0)) &&
	     api_json_add(o, "path", api_json_sv(b->path)) &&
	     api_json_add(o, "instance", api_json_sv(b->instance)) &&
	     api_json_add(o, "reg_id", cJSON_CreateNumber(b->reg_id)) &&
	     api_json_add(o, "user_agent", api_json_sv(b->user_agent)) &&
	     api_json_add(o, "source", cJSON_CreateString(src)) &&
	     api_json_add(o, "worker",
			  b->src.worker == LOCATION_WORKER_NONE
				  ? cJSON_CreateNull()
				  : cJSON_CreateNumber(b->src.worker)) &&
	     /* A connection id packs slot and generation: a string, exact past 2^53. */
	     api_json_add(o, "conn", b->src.conn ? cJSON_CreateString(conn) : cJSON_CreateNull());
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int sv_cmp(struct sv a, struct sv b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n ? memcmp(a.p, b.p, n) : 0;

	return c ? c : (a.len > b.len) - (a.len < b.len);
}

/* Highest q first, then by contact. */
static int binding_cmp(const void *x, const void *y)
{
	const struct location_binding *a = x, *b = y;

	if (a->q != b->q)
		return a->q > b->q ? -1 : 1;
	return sv_cmp(a->contact, b->contact);
}

/* Keep the bindings of b[0..n) that have not expired at now, in place; how many. */
static unsigned keep_live(struct location_binding *b, unsigned n, int64_t now)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++)
		if (b[i].expires_ms > now)
			b[k++] = b[i];
	return k;
}

/* The live bindings of aor into b[], sorted; how many. Owner's views. */
static unsigned aor_bindings(struct location *loc, struct sv aor, int64_t now,
			     struct location_binding b[LOCATION_AOR_MAX])
{
	unsigned n;

	if (!loc)
		return 0;
	n = location_lookup(loc, aor, b, LOCATION_AOR_MAX);
	n = keep_live(b, n < LOCATION_AOR_MAX ? n : LOCATION_AOR_MAX, now);
	qsort(b, n, sizeof(*b), binding_cmp);
	return n;
}

/* {"aor": "...", "bindings": [...]} of n live bindings. */
static cJSON *aor_json(struct sv aor, const struct location_binding *b, unsigned n, int64_t now)
{
	cJSON *o = cJSON_CreateObject(), *arr = NULL;

	if (!o || !api_json_add(o, "aor", api_json_sv(aor)) ||
	    !(arr = cJSON_AddArrayToObject(o, "bindings"))) {
		cJSON_Delete(o);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		cJSON *e = binding_json(&b[i], now);

		if (!e || !cJSON_AddItemToArray(arr, e)) {
			cJSON_Delete(e);
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

/* ---- GET /api/v1/registrations ---- */

struct walk {
	struct location *loc;
	int64_t now;
	cJSON **aors; /* one object per AOR, sorted at the end */
	size_t n, cap;
	unsigned bindings;
	bool truncated, oom;
};

static void walk_aor(void *arg, struct sv aor)
{
	struct location_binding b[LOCATION_AOR_MAX];
	struct walk *w = arg;
	unsigned n;
	cJSON *o;

	if (w->truncated || w->oom)
		return;
	n = aor_bindings(w->loc, aor, w->now, b);
	if (!n)
		return; /* every binding expired, not yet removed */
	if (w->bindings + n > REG_API_MAX_BINDINGS) {
		w->truncated = true;
		return;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		cJSON **p = realloc(w->aors, cap * sizeof(*p));

		if (!p) {
			w->oom = true;
			return;
		}
		w->aors = p;
		w->cap = cap;
	}
	o = aor_json(aor, b, n, w->now);
	if (!o) {
		w->oom = true;
		return;
	}
	w->aors[w->n++] = o;
	w->bindings += n;
}

static int aor_cmp(const void *x, const void *y)
{
	const cJSON *a = *(const cJSON *const *)x, *b = *(const cJSON *const *)y;

	return strcmp(cJSON_GetObjectItemCaseSensitive(a, "aor")->valuestring,
		      cJSON_GetObjectItemCaseSensitive(b, "aor")->valuestring);
}

static int list_registrations(struct reg_api *api, cJSON **out)
{
	struct walk w = { .loc = api->src.loc, .now = api_now(api) };
	struct location_counts c = { 0 };
	cJSON *root = NULL, *arr = NULL;
	uint64_t cursor = 0;
	size_t i = 0;

	if (w.loc) {
		location_counts(w.loc, &c);
		while (location_scan(w.loc, &cursor, SCAN_STEP, walk_aor, &w) && !w.truncated &&
		       !w.oom)
			;
	}
	if (!w.oom) {
		if (w.n)
			qsort(w.aors, w.n, sizeof(*w.aors), aor_cmp);
		root = cJSON_CreateObject();
	}
	if (root && api_json_add(root, "aors", cJSON_CreateNumber((double)c.aors)) &&
	    api_json_add(root, "bindings", cJSON_CreateNumber((double)c.bindings)) &&
	    api_json_add(root, "truncated", cJSON_CreateBool(w.truncated)) &&
	    (arr = cJSON_AddArrayToObject(root, "registrations"))) {
		/* The array takes each AOR object; the ones it did not take are freed below. */
		for (; i < w.n && cJSON_AddItemToArray(arr, w.aors[i]); i++)
			;
	}
	for (size_t k = i; k < w.n; k++)
		cJSON_Delete(w.aors[k]);
	free(w.aors);
	if (!arr || i < w.n) {
		cJSON_Delete(root);
		return answer_oom(out);
	}
	*out = root;
	return 200;
}

/* ---- /api/v1/registrations/<aor> ---- */

static int get_aor(struct reg_api *api, const char *aor, cJSON **out)
{
	struct location_binding b[LOCATION_AOR_MAX];
	int64_t now = api_now(api);
	unsigned n = aor_bindings(api->src.loc, sv_cstr(aor), now, b);

	if (!n)
		return api_error(out, 404, "no such AOR");
	*out = aor_json(sv_cstr(aor), b, n, now);
	return *out ? 200 : answer_oom(out);
}

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!sv_is_ws(p[i]))
			return false;
	return true;
}

static int answer_removed(cJSON **out, int n)
{
	cJSON *j = cJSON_CreateObject();

	if (!j || !api_json_add(j, "removed", cJSON_CreateNumber(n))) {
		cJSON_Delete(j);
		return answer_oom(out);
	}
	*out = j;
	return 200;
}

/*
 * DELETE: without a body every binding of the AOR; with {"contact": "..."} or
 * {"instance": "...", "reg_id": n} (reg_id defaults to 0) the one it names.
 */
static int delete_aor(struct reg_api *api, const char *aor, const char *body, size_t body_len,
		      cJSON **out)
{
	const cJSON *contact, *instance, *reg_id, *e;
	struct sv c = SV_NULL, inst = SV_NULL;
	uint32_t rid = 0;
	cJSON *j;
	int r;

	if (blank(body, body_len)) {
		r = api->src.loc ? location_remove_aor(api->src.loc, sv_cstr(aor)) : 0;
		return r > 0 ? answer_removed(out, r) : api_error(out, 404, "no such AOR");
	}
	j = cJSON_ParseWithLength(body, body_len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return api_error(out, 400, "the body is not a JSON object");
	}
	cJSON_ArrayForEach(e, j)
	{
		if (strcmp(e->string, "contact") != 0 && strcmp(e->string, "instance") != 0 &&
		    strcmp(e->string, "reg_id") != 0) {
			cJSON_Delete(j);
			return api_error(out, 400,
					 "unknown member in the body (takes contact, or "
					 "instance and reg_id)");
		}
	}
	contact = cJSON_GetObjectItemCaseSensitive(j, "contact");
	instance = cJSON_GetObjectItemCaseSensitive(j, "instance");
	reg_id = cJSON_GetObjectItemCaseSensitive(j, "reg_id");
	if ((contact && (!cJSON_IsString(contact) || !contact->valuestring[0])) ||
	    (instance && (!cJSON_IsString(instance) || !instance->valuestring[0]))) {
		cJSON_Delete(j);
		return api_error(out, 400, "contact and instance are non-empty strings");
	}
	if (reg_id && (!cJSON_IsNumber(reg_id) || reg_id->valuedouble < 0 ||
		       reg_id->valuedouble > UINT32_MAX ||
		       reg_id->valuedouble != (double)(uint32_t)reg_id->valuedouble)) {
		cJSON_Delete(j);
		return api_error(out, 400, "reg_id is a whole number from 0 to 4294967295");
	}
	if ((!contact && !instance) || (contact && instance) || (reg_id && !instance)) {
		cJSON_Delete(j);
		return api_error(out, 400,
				 "the body names one binding: {\"contact\": \"...\"} or "
				 "{\"instance\": \"...\", \"reg_id\": n}");
	}
	if (contact)
		c = sv_cstr(contact->valuestring);
	if (instance)
		inst = sv_cstr(instance->valuestring);
	if (reg_id)
		rid = (uint32_t)reg_id->valuedouble;
	r = api->src.loc ? location_remove(api->src.loc, sv_cstr(aor), c, inst, rid) : -ENOENT;
	cJSON_Delete(j);
	return r == 0 ? answer_removed(out, 1) : api_error(out, 404, "no such binding");
}

static int on_registrations(void *arg, const char *method, const char *subpath, const char *body,
			    size_t body_len, cJSON **out)
{
	struct reg_api *api = arg;
	const char *aor = subpath[0] == '/' ? subpath + 1 : subpath;

	if (!aor[0]) {
		if (!api_is_get(method))
			return api_method_not_allowed(out, method, "GET, HEAD");
		return list_registrations(api, out);
	}
	if (api_is_get(method))
		return get_aor(api, aor, out);
	if (strcmp(method, "DELETE") == 0)
		return delete_aor(api, aor, body, body_len, out);
	return api_method_not_allowed(out, method, "GET, HEAD, DELETE");
}

/* ---- /api/v1/suspensions ---- */

static int info_cmp(const void *x, const void *y)
{
	const struct suspend_info *a = x, *b = y;

	if (a->is_addr != b->is_addr)
		return a->is_addr ? 1 : -1; /* users first */
	return strcmp(a->key, b->key);
}

static cJSON *suspension_json(const struct suspend_info *s, int64_t now)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !api_json_add(o, "key", api_json_sv(sv_cstr(s->key))) ||
	    !api_json_add(o, "type", cJSON_CreateString(s->is_addr ? "address" : "user")) ||
	    !api_json_add(o, "failures", cJSON_CreateNumber(s->failures)) ||
	    !api_json_add(o, "until", cJSON_CreateNumber((double)s->until_ms)) ||
	    !api_json_add(o, "remaining_s",
			  cJSON_CreateNumber((double)seconds_left((int64_t)s->until_ms, now)))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int list_suspensions(struct reg_api *api, cJSON **out)
{
	struct suspend_info *info = NULL;
	int64_t now = api_now(api);
	size_t total = 0, n = 0;
	cJSON *root, *arr = NULL;
	bool ok;

	if (api->src.susp) {
		/* Count, then list: more may come meanwhile (they are counted, not listed). */
		size_t cap = suspend_list(api->src.susp, (uint64_t)now, NULL, 0);

		if (cap > REG_API_MAX_SUSPENSIONS)
			cap = REG_API_MAX_SUSPENSIONS;
		info = malloc((cap ? cap : 1) * sizeof(*info));
		if (!info)
			return answer_oom(out);
		total = suspend_list(api->src.susp, (uint64_t)now, info, cap);
		n = total < cap ? total : cap;
		qsort(info, n, sizeof(*info), info_cmp);
	}
	root = cJSON_CreateObject();
	ok = root && api_json_add(root, "enabled", cJSON_CreateBool(api->src.susp != NULL)) &&
	     api_json_add(root, "total", cJSON_CreateNumber((double)total)) &&
	     api_json_add(root, "truncated", cJSON_CreateBool(n < total)) &&
	     (arr = cJSON_AddArrayToObject(root, "suspensions"));
	for (size_t i = 0; ok && i < n; i++) {
		cJSON *e = suspension_json(&info[i], now);

		ok = e && cJSON_AddItemToArray(arr, e);
		if (!ok)
			cJSON_Delete(e);
	}
	free(info);
	if (!ok) {
		cJSON_Delete(root);
		return answer_oom(out);
	}
	*out = root;
	return 200;
}

static int clear_suspension(struct reg_api *api, const char *key, cJSON **out)
{
	cJSON *j;

	if (api->src.on_clear)
		api->src.on_clear(api->src.arg, key);
	if (!api->src.susp || suspend_clear(api->src.susp, key) != 0)
		return api_error(out, 404, "no such suspension");
	j = cJSON_CreateObject();
	if (!j || !api_json_add(j, "cleared", api_json_sv(sv_cstr(key)))) {
		cJSON_Delete(j);
		return answer_oom(out);
	}
	*out = j;
	return 200;
}

static int on_suspensions(void *arg, const char *method, const char *subpath, const char *body,
			  size_t body_len, cJSON **out)
{
	struct reg_api *api = arg;
	const char *key = subpath[0] == '/' ? subpath + 1 : subpath;

	(void)body;
	(void)body_len;
	if (!key[0]) {
		if (!api_is_get(method))
			return api_method_not_allowed(out, method, "GET, HEAD");
		return list_suspensions(api, out);
	}
	if (strcmp(method, "DELETE") != 0)
		return api_method_not_allowed(out, method, "DELETE");
	return clear_suspension(api, key, out);
}

int reg_api_init(struct reg_api *api, struct mgmt *m, const struct reg_api_source *src)
{
	int r;

	if (!api || !m || !src)
		return -EINVAL;
	api->src = *src;
	r = mgmt_route(m, REG_PREFIX, on_registrations, api);
	if (r == 0)
		r = mgmt_route(m, SUSP_PREFIX, on_suspensions, api);
	return r;
}
