/* SPDX-License-Identifier: MIT */
/*
 * domain_api.h: the management routes of the domain table (storage/domains.h):
 * the carrier domain names the node resolves, their addresses and their state.
 *
 *   GET  /api/v1/domains                {"domains": [entry, ...], "truncated": false}
 *                                       sorted by name, then kind (host, a,
 *                                       aaaa, srv, naptr)
 *   GET  /api/v1/domains/<name>         {"domains": [every entry of that name]};
 *                                       404 {"error": "no such domain"}
 *   POST /api/v1/domains/<name>/resolve 202 {"name": "...", "resolving": n}:
 *                                       every kind of the name is resolved again
 *                                       now (a literal IP address never is: not
 *                                       counted); 404 when the name has no entry
 *   POST /api/v1/domains/resolve        202 {"resolving": n}: every entry that
 *                                       is not a literal address
 *
 * Any other method on these paths is 405; /api/v1/domains/<name>/<other> is
 * 404. <name> arrives percent-decoded and is matched as domains_add() stores
 * it: case-insensitive, a final dot ignored, an IPv6 address with or without
 * brackets. A domain literally called "resolve" is asked with GET
 * /api/v1/domains/resolve and resolved with POST .../resolve/resolve.
 *
 * One entry: name, kind, status, fail (the failure behind a stale entry, ""
 * otherwise), error, node ("" this node, else the node whose resolution was
 * imported), literal, busy, ttl (s), ttl_left (s, rounded up, 0 when expired
 * or none), resolved_at, expires_at, stale_until, next_refresh (realtime ms,
 * 0 none), next_refresh_in (s, rounded up; 0 due now or under way, -1 never:
 * a literal address), queries, failures, targets: [{name, port, priority, weight, order,
 * preference, transport ("", "udp", "tcp", "tls"), addresses: ["192.0.2.1:5060",
 * "[2001:db8::1]:5060", or the bare address when DNS gave no port]}].
 * docs/management.md has the details.
 *
 * Resolving is asynchronous: the answer says what was marked; the service
 * loop asks DNS at its next round (domains_resolve_now()), and a later GET
 * shows the outcome (busy, then the new status, queries counted up).
 *
 * Threads. The handlers run on the thread that owns both the mgmt endpoint
 * and the table (the service thread): they read it with domains_get() and
 * domains_foreach() and call domains_resolve_now(); nothing blocks. The list
 * stops after DOMAIN_API_MAX_ENTRIES entries (in the table's order, then
 * sorted) and says "truncated": true.
 *
 * Memory. api (and the table it points to) must outlive m; api->d may be
 * NULL (no domain table: an empty list, 404 for any name, nothing to
 * resolve) and may be set later, on the owner's thread. Strings from the
 * table are sent as valid UTF-8 (any other octet as U+FFFD).
 */
#ifndef SIPRING_DOMAIN_API_H
#define SIPRING_DOMAIN_API_H

#define DOMAIN_API_MAX_ENTRIES 10000 /* entries listed by GET /api/v1/domains */

struct mgmt;
struct domains;

struct domain_api {
	struct domains *d; /* storage/domains.h, owned by the service thread; NULL: none */
};

/*
 * Add the routes under /api/v1/domains to m. Owner's thread. Returns 0,
 * -EINVAL (api or m NULL), or mgmt_route()'s error (-EEXIST, -ENOMEM).
 */
int domain_api_init(struct domain_api *api, struct mgmt *m);

#endif
