/* SPDX-License-Identifier: MIT */
/*
 * reg_api.h: the management API over the registrar's state, served on the
 * daemon's HTTP endpoint (core/mgmt.h):
 *
 *   GET    /api/v1/registrations        every AOR with its live bindings
 *   GET    /api/v1/registrations/<aor>  one AOR (404 when it has none)
 *   DELETE /api/v1/registrations/<aor>  all its bindings, or the one a JSON body
 *                                       names: {"contact": "..."} or
 *                                       {"instance": "...", "reg_id": n}
 *   GET    /api/v1/suspensions          the brute-force suspensions in force
 *   DELETE /api/v1/suspensions/<key>    lift one ("user@domain" or an address)
 *
 * docs/management.md has every member of the JSON. <aor> and <key> arrive
 * percent-decoded (libmicrohttpd decodes the path before the handler sees it:
 * "1001%40example.com" is "1001@example.com") and are compared as the octets
 * stored (the registrar normalises AORs; contacts are opaque strings).
 *
 * Threads. The handlers run on the service thread (mgmt_process()), which
 * owns the location table: they read it with location_scan()/location_lookup()
 * and change it with location_remove()/location_remove_aor() directly, so a
 * removal goes through the table's change listener (Redis write-behind) like
 * one of the registrar's. suspend_list()/suspend_clear() take the suspension
 * table's shard locks for a moment. Nothing blocks: the list stops after
 * REG_API_MAX_BINDINGS bindings (and says "truncated": true), the suspensions
 * after REG_API_MAX_SUSPENSIONS.
 *
 * Memory. The state is the caller's struct reg_api, which reg_api_init() fills
 * (a copy of the source) and the routes point to: it and what the source
 * points to must live until mgmt_stop(). Nothing is allocated outside a
 * request; there is nothing to free.
 */
#ifndef SIPRING_REG_API_H
#define SIPRING_REG_API_H

#include <stdint.h>

#define REG_API_MAX_BINDINGS	10000 /* bindings listed by GET /api/v1/registrations */
#define REG_API_MAX_SUSPENSIONS 10000 /* suspensions listed by GET /api/v1/suspensions */

struct location;
struct mgmt;
struct suspend;

/* Where the answers come from. */
struct reg_api_source {
	struct location *loc;	 /* storage/location.h, owned by the service thread; NULL:
				  * no registrar (empty list, 404 for any AOR) */
	struct suspend *susp;	 /* core/suspend.h; NULL when suspension is off */
	int64_t (*now_ms)(void); /* CLOCK_REALTIME ms; NULL = clock_gettime() */
	/* Called before a suspension is lifted locally (NULL: none): the daemon
	 * clears the cluster's copy in Redis. */
	void (*on_clear)(void *arg, const char *key);
	void *arg;
};

/* The routes' state, in the caller's memory (see Memory). Its members are private. */
struct reg_api {
	struct reg_api_source src;
};

/*
 * Copy *src into *api and register /api/v1/registrations and
 * /api/v1/suspensions on m (mgmt_route()). Owner's thread, before or while the
 * endpoint serves. Returns 0, -EINVAL (api, m or src NULL), or mgmt_route()'s
 * error (-EEXIST when a prefix is taken, -ENOMEM). After an error of the
 * second route the first stays registered: *api must live on all the same.
 */
int reg_api_init(struct reg_api *api, struct mgmt *m, const struct reg_api_source *src);

#endif
