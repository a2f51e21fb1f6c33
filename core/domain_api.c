/* SPDX-License-Identifier: MIT */
/*
 * domain_api.c: see domain_api.h. One handler for the prefix; it picks the
 * operation from the method and from what follows the prefix.
 *
 * The list walks the table with domains_foreach() (slot order), builds one
 * JSON object per entry while the views are valid, then sorts the objects by
 * (name, kind). One name is asked kind by kind with domains_get(). A resolve
 * looks at every entry first (literal addresses are not resolved, so not
 * counted) and only then calls domains_resolve_now(), which invalidates the
 * views.
 *
 * Out of memory while building an answer: the handler frees what it built and
 * answers 500 {"error": "out of memory"} (or 500 without a body when even that
 * cannot be allocated).
 */
#define _GNU_SOURCE
#include "domain_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/api_json.h"
#include "core/mgmt.h"
#include "parsers/sv.h"
#include "storage/domains.h"

#define PREFIX	  "/api/v1/domains"
#define WALK_STEP 256 /* entries per domains_foreach() call */
#define NKINDS	  (DOMAINS_NAPTR + 1)
#define NAME_CAP  (DOMAINS_NAME_MAX + 3) /* "[v6]", or a name with its final dot */
#define ADDR_TEXT (INET6_ADDRSTRLEN + 8) /* "[v6]:65535" */
#define RESOLVE	  "resolve"
#define NO_SUCH	  "no such domain"
#define OOM	  "out of memory"

static int64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Seconds to the next resolution, rounded up: -1 none (a literal address), 0
 * due now or under way. A table entry that is not literal always has one: its
 * next_refresh_ms is 0 only when it is due at once (added, or resolve_now).
 */
static int64_t next_in(const struct domains_info *e, int64_t now)
{
	if (e->literal)
		return -1;
	if (e->busy || e->next_refresh_ms <= now)
		return 0;
	return (e->next_refresh_ms - now + 999) / 1000;
}

/* ---- JSON ---- */

static bool add_num(cJSON *o, const char *k, double v)
{
	return api_json_add(o, k, cJSON_CreateNumber(v));
}

/* "192.0.2.1:5060", "[2001:db8::1]:5060"; the bare address when port is 0. */
static void addr_text(const struct domains_addr *a, char buf[ADDR_TEXT])
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->ip, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	if (!a->port)
		snprintf(buf, ADDR_TEXT, "%s", ip);
	else if (a->family == AF_INET6)
		snprintf(buf, ADDR_TEXT, "[%s]:%u", ip, a->port);
	else
		snprintf(buf, ADDR_TEXT, "%s:%u", ip, a->port);
}

/* Target ti of e with its addresses (those whose target index is ti). */
static cJSON *target_json(const struct domains_info *e, unsigned ti)
{
	const struct domains_target *t = &e->targets[ti];
	cJSON *o = cJSON_CreateObject(), *arr = NULL;
	char buf[ADDR_TEXT];

	if (!o || !api_json_add(o, "name", api_json_str(t->name)) || !add_num(o, "port", t->port) ||
	    !add_num(o, "priority", t->priority) || !add_num(o, "weight", t->weight) ||
	    !add_num(o, "order", t->order) || !add_num(o, "preference", t->preference) ||
	    !api_json_add(o, "transport",
			  cJSON_CreateString(domains_transport_name(t->transport))) ||
	    !(arr = cJSON_AddArrayToObject(o, "addresses"))) {
		cJSON_Delete(o);
		return NULL;
	}
	for (unsigned i = 0; i < e->naddrs; i++) {
		cJSON *s;

		if (e->addrs[i].target != ti)
			continue;
		addr_text(&e->addrs[i], buf);
		s = cJSON_CreateString(buf);
		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

static cJSON *entry_json(const struct domains_info *e, int64_t now)
{
	cJSON *o = cJSON_CreateObject(), *arr = NULL;
	/* 0 is also DOMAINS_PENDING: a failure is only ever a failure status */
	bool fail = e->status == DOMAINS_STALE && e->fail != DOMAINS_PENDING &&
		    e->fail != DOMAINS_OK && e->fail != DOMAINS_STALE;
	int64_t left = e->ttl_left_ms > 0 ? (e->ttl_left_ms + 999) / 1000 : 0;

	if (!o || !api_json_add(o, "name", api_json_str(e->name)) ||
	    !api_json_add(o, "kind", cJSON_CreateString(domains_kind_name(e->kind))) ||
	    !api_json_add(o, "status", cJSON_CreateString(domains_status_name(e->status))) ||
	    !api_json_add(o, "fail",
			  cJSON_CreateString(fail ? domains_status_name(e->fail) : "")) ||
	    !api_json_add(o, "error", api_json_str(e->error)) ||
	    !api_json_add(o, "node", api_json_str(e->node)) ||
	    !api_json_add(o, "literal", cJSON_CreateBool(e->literal)) ||
	    !api_json_add(o, "busy", cJSON_CreateBool(e->busy)) || !add_num(o, "ttl", e->ttl) ||
	    !add_num(o, "ttl_left", (double)left) ||
	    !add_num(o, "resolved_at", (double)e->resolved_ms) ||
	    !add_num(o, "expires_at", (double)e->expires_ms) ||
	    !add_num(o, "stale_until", (double)e->stale_until_ms) ||
	    !add_num(o, "next_refresh", (double)e->next_refresh_ms) ||
	    !add_num(o, "next_refresh_in", (double)next_in(e, now)) ||
	    !add_num(o, "queries", (double)e->queries) ||
	    !add_num(o, "failures", (double)e->failures) ||
	    !(arr = cJSON_AddArrayToObject(o, "targets"))) {
		cJSON_Delete(o);
		return NULL;
	}
	for (unsigned i = 0; i < e->ntargets; i++) {
		cJSON *t = target_json(e, i);

		if (!t || !cJSON_AddItemToArray(arr, t)) {
			cJSON_Delete(t);
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

/* ---- the list ---- */

struct item {
	cJSON *o;
	const char *name; /* o's "name" */
	enum domains_kind kind;
};

struct walk {
	int64_t now;
	struct item *items;
	size_t n, cap;
	bool truncated, oom;
};

static void walk_entry(void *arg, const struct domains_info *e)
{
	struct walk *w = arg;
	cJSON *o;

	if (w->truncated || w->oom)
		return;
	if (w->n == DOMAIN_API_MAX_ENTRIES) {
		w->truncated = true;
		return;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct item *p = realloc(w->items, cap * sizeof(*p));

		if (!p) {
			w->oom = true;
			return;
		}
		w->items = p;
		w->cap = cap;
	}
	o = entry_json(e, w->now);
	if (!o) {
		w->oom = true;
		return;
	}
	w->items[w->n++] = (struct item){
		.o = o,
		.name = cJSON_GetObjectItemCaseSensitive(o, "name")->valuestring,
		.kind = e->kind,
	};
}

static int item_cmp(const void *x, const void *y)
{
	const struct item *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	if (c)
		return c;
	return (a->kind > b->kind) - (a->kind < b->kind);
}

static int list_domains(struct domain_api *api, cJSON **out)
{
	struct walk w = { .now = realtime_ms() };
	cJSON *root = NULL, *arr = NULL;
	uint64_t cursor = 0;
	size_t i = 0;

	if (api->d)
		while (domains_foreach(api->d, &cursor, WALK_STEP, walk_entry, &w) &&
		       !w.truncated && !w.oom)
			;
	if (!w.oom) {
		if (w.n)
			qsort(w.items, w.n, sizeof(*w.items), item_cmp);
		root = cJSON_CreateObject();
	}
	if (root && (arr = cJSON_AddArrayToObject(root, "domains"))) {
		/* The array takes each object; the ones it did not take are freed below. */
		for (; i < w.n && cJSON_AddItemToArray(arr, w.items[i].o); i++)
			;
	}
	for (size_t k = i; k < w.n; k++)
		cJSON_Delete(w.items[k].o);
	free(w.items);
	if (!arr || i < w.n || !api_json_add(root, "truncated", cJSON_CreateBool(w.truncated))) {
		cJSON_Delete(root);
		return api_error(out, 500, OOM);
	}
	*out = root;
	return 200;
}

/* ---- one name ---- */

static int get_name(struct domain_api *api, const char *name, cJSON **out)
{
	cJSON *root = cJSON_CreateObject(), *arr = NULL;
	int64_t now = realtime_ms();
	struct domains_info e;
	unsigned found = 0;

	if (!root || !(arr = cJSON_AddArrayToObject(root, "domains"))) {
		cJSON_Delete(root);
		return api_error(out, 500, OOM);
	}
	for (int k = 0; api->d && k < NKINDS; k++) {
		cJSON *o;

		if (domains_get(api->d, (enum domains_kind)k, name, &e) != 0)
			continue;
		o = entry_json(&e, now);
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			cJSON_Delete(root);
			return api_error(out, 500, OOM);
		}
		found++;
	}
	if (!found) {
		cJSON_Delete(root);
		return api_error(out, 404, NO_SUCH);
	}
	*out = root;
	return 200;
}

/* ---- resolving ---- */

static int answer_resolving(cJSON **out, const char *name, int n)
{
	cJSON *j = cJSON_CreateObject();

	if (!j || (name && !api_json_add(j, "name", api_json_str(name))) ||
	    !add_num(j, "resolving", n)) {
		cJSON_Delete(j);
		return api_error(out, 500, OOM);
	}
	*out = j;
	return 202;
}

/* Every kind of name, but a literal address (never resolved). */
static int resolve_name(struct domain_api *api, const char *name, cJSON **out)
{
	char norm[NAME_CAP + 1] = "";
	bool want[NKINDS] = { false };
	struct domains_info e;
	unsigned found = 0;
	int n = 0;

	/* First look (the views die at the first resolve_now), then mark. */
	for (int k = 0; api->d && k < NKINDS; k++) {
		if (domains_get(api->d, (enum domains_kind)k, name, &e) != 0)
			continue;
		if (!found++)
			snprintf(norm, sizeof(norm), "%s", e.name);
		want[k] = !e.literal;
	}
	if (!found)
		return api_error(out, 404, NO_SUCH);
	for (int k = 0; k < NKINDS; k++)
		if (want[k] && domains_resolve_now(api->d, (enum domains_kind)k, name) > 0)
			n++;
	return answer_resolving(out, norm, n);
}

static void count_resolvable(void *arg, const struct domains_info *e)
{
	if (!e->literal)
		++*(int *)arg;
}

/*
 * Every entry. domains_resolve_now(d, kind, NULL) marks every entry whatever
 * the kind (literal ones included, which it leaves alone but counts): the
 * count sent is that of the entries that are resolved, walked first.
 */
static int resolve_all(struct domain_api *api, cJSON **out)
{
	uint64_t cursor = 0;
	int n = 0;

	if (api->d) {
		while (domains_foreach(api->d, &cursor, WALK_STEP, count_resolvable, &n))
			;
		if (n)
			domains_resolve_now(api->d, DOMAINS_HOST, NULL);
	}
	return answer_resolving(out, NULL, n);
}

/* ---- the route ---- */

static int on_domains(void *arg, const char *method, const char *subpath, const char *body,
		      size_t body_len, cJSON **out)
{
	struct domain_api *api = arg;
	const char *p = subpath[0] == '/' ? subpath + 1 : subpath, *slash;
	char name[NAME_CAP + 1];
	size_t len;

	(void)body;
	(void)body_len;
	if (!p[0]) {
		if (!api_is_get(method))
			return api_method_not_allowed(out, method, "GET, HEAD");
		return list_domains(api, out);
	}
	slash = strchr(p, '/');
	len = slash ? (size_t)(slash - p) : strlen(p);
	if (!slash) {
		if (strcmp(p, RESOLVE) == 0 && strcmp(method, "POST") == 0)
			return resolve_all(api, out);
		if (!api_is_get(method))
			return api_method_not_allowed(out, method,
						      strcmp(p, RESOLVE) == 0 ? "GET, HEAD, POST"
									      : "GET, HEAD");
	} else if (strcmp(slash + 1, RESOLVE) != 0) {
		return api_error(out, 404, "unknown action (resolve)");
	} else if (strcmp(method, "POST") != 0) {
		return api_method_not_allowed(out, method, "POST");
	}
	if (len == 0 || len > NAME_CAP)
		return api_error(out, 404, NO_SUCH);
	memcpy(name, p, len);
	name[len] = '\0';
	return slash ? resolve_name(api, name, out) : get_name(api, name, out);
}

int domain_api_init(struct domain_api *api, struct mgmt *m)
{
	if (!api || !m)
		return -EINVAL;
	return mgmt_route(m, PREFIX, on_domains, api);
}
