/* SPDX-License-Identifier: MIT */
/*
 * domains.h: the domain table: carrier domain names resolved with c-ares,
 * cached by their TTL and refreshed before it runs out, so that a call never
 * waits on DNS.
 *
 * An entry is a (kind, name) a gateway, outbound proxy or uplink registrar
 * uses. Its kind says what is asked:
 *
 *   DOMAINS_HOST   A and AAAA of the name            (port 0: the user's default)
 *   DOMAINS_A      A only; DOMAINS_AAAA  AAAA only
 *   DOMAINS_SRV    SRV of the name as given ("_sip._udp.example.com"), then A
 *                  and AAAA of each target           (port, priority, weight)
 *   DOMAINS_NAPTR  RFC 3263 §4.1: NAPTR of the name; its "s" records for
 *                  SIP+D2U, SIP+D2T, SIPS+D2T (in order, preference) give SRV
 *                  names; without usable NAPTR, SRV of _sip._udp, _sip._tcp,
 *                  _sips._tcp.NAME; without SRV, A and AAAA of the name
 *
 * A literal IP address as the name (any kind; IPv6 with or without brackets)
 * is an entry that never asks DNS: status ok, forever.
 *
 * The life of an entry (times are the owner's CLOCK_MONOTONIC ms, shown in
 * domains_info as realtime ms):
 *
 *   added ──► pending ──resolve──► ok ───────────────────────── refresh at
 *                                  │  resolved + prefetch% × TTL (± jitter)
 *              answer: NXDOMAIN or no record ──► nxdomain, no addresses,
 *                                  │  asked again after negative_ttl
 *              no answer (SERVFAIL, timeout, refused) while addresses known:
 *                                  │  kept (ok until TTL end, then stale),
 *                                  │  asked again after min(negative_ttl, …)
 *              stale_grace after the TTL end, still no answer ──► servfail |
 *                                     timeout | unreachable, no addresses
 *
 * The TTL is the least of the records that gave the addresses (NAPTR, SRV,
 * A/AAAA), clamped to [ttl_floor, ttl_ceiling]. c-ares 1.18 has no TTL for SRV
 * and NAPTR: dns_ttl.h reads it from the raw answer.
 *
 * Threads and ownership. A `struct domains` belongs to one thread (the service
 * thread): every call here but domains_select() and domains_info_dup() is
 * made on it. Its loop polls the c-ares sockets (domains_poll_fds()), waits at
 * most domains_poll_timeout() and calls domains_process(); nothing here ever
 * blocks. Workers do not call in: the owner copies entries for them
 * (domains_info_dup()) when the listener says they changed, and a worker picks
 * from its copy with domains_select().
 *
 * Memory is bounded: max_entries entries, DOMAINS_TARGETS_MAX targets and
 * DOMAINS_ADDRS_MAX addresses per entry (more records are ignored, the
 * least-preferred first), max_jobs resolutions in flight.
 *
 * A mirror (domain_redis.h) may hook the refreshes (domains_set_mirror()):
 * share one resolution between nodes and import the others' results.
 */
#ifndef SIPRING_DOMAINS_H
#define SIPRING_DOMAINS_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define DOMAINS_NAME_MAX    253 /* octets of a name, without the final dot */
#define DOMAINS_TARGETS_MAX 16	/* SRV targets (all NAPTR branches) kept per entry */
#define DOMAINS_ADDRS_MAX   64	/* addresses kept per entry */
#define DOMAINS_ERROR_MAX   128 /* octets of the last error text, with its NUL */
#define DOMAINS_NODE_MAX    64	/* octets of a node name */
#define DOMAINS_SERVERS_MAX 8	/* resolvers (dns.servers, or the first of resolv.conf) */
#define DOMAINS_POLL_MAX    16	/* an array this long always holds the c-ares sockets */
#define DOMAINS_CURSOR_MAX  16	/* addresses a cursor remembers as tried */

enum domains_kind { DOMAINS_HOST, DOMAINS_A, DOMAINS_AAAA, DOMAINS_SRV, DOMAINS_NAPTR };

enum domains_status {
	DOMAINS_PENDING,     /* added, not resolved yet */
	DOMAINS_OK,	     /* addresses (maybe none when a kind allows it: never) */
	DOMAINS_NXDOMAIN,    /* the name, or the records asked, do not exist: negative-cached */
	DOMAINS_SERVFAIL,    /* the server answered SERVFAIL (or a broken answer) */
	DOMAINS_TIMEOUT,     /* no answer from any server */
	DOMAINS_UNREACHABLE, /* refused: REFUSED, or ECONNREFUSED (ICMP unreachable) */
	DOMAINS_STALE,	     /* refreshes fail; the last good addresses, past their TTL */
};

enum domains_transport { DOMAINS_TP_ANY, DOMAINS_TP_UDP, DOMAINS_TP_TCP, DOMAINS_TP_TLS };

/* One SRV target (or, for host kinds and A fallbacks, the name itself). */
struct domains_target {
	const char *name; /* NUL-terminated, lowercase, no final dot */
	uint16_t port;	  /* 0: DNS gave none (host kinds): the user's default */
	uint16_t priority, weight;
	uint16_t order, preference; /* the NAPTR record's; 0 outside NAPTR */
	uint8_t transport;	    /* enum domains_transport (from NAPTR or _proto) */
	uint8_t naddrs;		    /* its addresses in domains_info.addrs */
};

/* One address. Those of a target are consecutive in domains_info.addrs. */
struct domains_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t target; /* index in domains_info.targets */
	uint16_t port;	/* the target's */
	uint8_t ip[16]; /* 4 or 16 octets, network order */
};

/*
 * An entry as the API shows it and as a mirror writes and imports it. From
 * domains_get() and domains_foreach(), its pointers lie in the table and live
 * until the next call that changes it (process, add, remove, resolve_now,
 * import, retry, proceed); domains_info_dup() makes a copy that lives alone.
 */
struct domains_info {
	const char *name;
	enum domains_kind kind;
	enum domains_status status;
	enum domains_status fail; /* the failure behind a stale entry; meaningless (0,
				   * which is also DOMAINS_PENDING) when status is not stale */
	const char *error;	  /* the last failure, "" when the last resolution was clean */
	const char *node; /* who resolved it: "" this node, else the node it was imported from */
	const struct domains_target *targets;
	const struct domains_addr *addrs;
	unsigned ntargets, naddrs;
	bool literal;		 /* an IP address: never resolved */
	bool busy;		 /* a resolution is in flight */
	uint32_t ttl;		 /* s, clamped; negative_ttl for nxdomain; 0 literal/pending */
	int64_t ttl_left_ms;	 /* until expires_ms (<= 0: expired), at the time of the call */
	int64_t resolved_ms;	 /* realtime ms of the answer behind the state (while stale:
				  * of the addresses served), 0 never */
	int64_t checked_ms;	 /* realtime ms of the last resolution, whatever its outcome */
	int64_t expires_ms;	 /* realtime ms when the addresses' TTL ends */
	int64_t stale_until_ms;	 /* realtime ms until which they may be served, 0 none */
	int64_t next_refresh_ms; /* realtime ms of the next resolution, 0 none */
	uint64_t queries;	 /* DNS queries sent for this entry */
	uint64_t failures;	 /* resolutions that failed */
};

enum domains_event { DOMAINS_EV_CHANGED, DOMAINS_EV_REMOVED };

/* Addresses or status changed (CHANGED), or the entry is being removed. */
typedef void (*domains_listener_fn)(void *arg, const struct domains_info *e, enum domains_event ev);

enum domains_log_level { DOMAINS_LOG_ERR = 3, DOMAINS_LOG_WARNING = 4, DOMAINS_LOG_INFO = 6 };

typedef void (*domains_log_fn)(void *arg, int level, const char *msg);

/*
 * Start from domains_config_defaults(): unlike other modules' configs, zero is
 * a value here (stale_grace 0 = no serve-stale). The config keys and ranges
 * are in docs/domains.md.
 */
struct domains_config {
	const char *const *servers; /* dns.servers: "ip", "ip:port", "[ipv6]:port", in order */
	unsigned nservers;	    /* 0..8; 0: the servers of resolv.conf (or resolv_conf) */
	const char *resolv_conf;    /* NULL: /etc/resolv.conf */
	uint32_t timeout_ms;	    /* dns.timeout: a query's first try at one server */
	uint32_t tries;		    /* dns.tries: tries at one server (c-ares doubles the timeout
				     * each time) before the next server is asked */
	uint32_t ttl_floor;	    /* dns.ttl_floor, s */
	uint32_t ttl_ceiling;	    /* dns.ttl_ceiling, s */
	uint32_t negative_ttl;	    /* dns.negative_ttl, s: NXDOMAIN, and retry after failure */
	uint32_t stale_grace;	    /* dns.stale_grace, s: serve-stale after the TTL end */
	uint32_t prefetch;	    /* dns.prefetch, % of the TTL (± 5 jitter) */
	uint32_t max_entries;
	uint32_t max_jobs;	 /* resolutions in flight */
	uint32_t mirror_wait_ms; /* a mirror's answer to due() not come: resolve alone */
	uint64_t seed;		 /* of the jitter and SRV weights: 0 = random */
	domains_log_fn log;	 /* NULL: "sipring dns: ..." lines on stderr */
	void *log_arg;
};

void domains_config_defaults(struct domains_config *c);

struct domains;

/*
 * Check cfg (each value within its range, every server an address) and create
 * the table and its c-ares channels (one per server: the table fails over
 * from one to the next itself, in order, starting with the preferred one).
 * Returns 0 and *out, -EINVAL (logged: which value; or no server at all),
 * -ENOMEM, or -EIO when c-ares cannot start (logged).
 */
int domains_new(struct domains **out, const struct domains_config *cfg);

/* Cancel every query, call nobody, free. NULL is allowed. */
void domains_free(struct domains *d);

/*
 * Add (kind, name): a DNS name (letters, digits, '-', '_', dots; labels 1..63
 * octets; a final dot and upper case are accepted and normalised) or an IP
 * address. Resolved at the next domains_process(). Returns 1 when added, 0
 * when it was already there, -EINVAL (bad name, SRV/NAPTR kind of a bad
 * name), -ENOSPC (max_entries), -ENOMEM.
 */
int domains_add(struct domains *d, enum domains_kind kind, const char *name);

/* Remove it (the listener hears DOMAINS_EV_REMOVED first). 0 or -ENOENT. */
int domains_remove(struct domains *d, enum domains_kind kind, const char *name);

/*
 * Resolve (kind, name) again now, or every entry of any kind when name is NULL
 * (kind is then not looked at): a resolution in flight is abandoned; the
 * mirror is not asked (this node asks DNS and the mirror gets the result).
 * Takes effect at the next domains_process() (at once when the loop runs:
 * domains_poll_timeout() is 0). Returns the number of entries marked (literal
 * addresses, which are never resolved, counted too), or -ENOENT.
 */
int domains_resolve_now(struct domains *d, enum domains_kind kind, const char *name);

/* The change listener (one; NULL to stop). It may read (get, pick) but not change the table. */
void domains_set_listener(struct domains *d, domains_listener_fn fn, void *arg);

/* ---- driven by the owner's loop ---- */

/*
 * Fill pfd[0..cap) with the c-ares sockets and the events to wait for.
 * Returns how many there are (fill min(that, cap): DOMAINS_POLL_MAX is always
 * enough in practice, a larger count only when many servers are configured).
 */
unsigned domains_poll_fds(struct domains *d, struct pollfd *pfd, unsigned cap);

/* The longest the loop may wait before the next domains_process(), in ms (<= 1000). */
int domains_poll_timeout(struct domains *d, int64_t now_ms);

/*
 * Do the work at now_ms (CLOCK_MONOTONIC ms): the sockets among pfd[0..n)
 * that are c-ares' (others are ignored) and their revents, c-ares' timeouts,
 * then the entries due (new, refresh, retry; at most max_jobs in flight), and
 * the expiries (ok -> stale -> failure). Listener and mirror calls happen
 * here. Never blocks.
 */
void domains_process(struct domains *d, const struct pollfd *pfd, unsigned n, int64_t now_ms);

/* One round of poll() on the c-ares sockets (at most wait_ms), then process. For tests and tools. */
void domains_run_once(struct domains *d, int wait_ms);

/* CLOCK_MONOTONIC in ms: the clock now_ms arguments are in. */
int64_t domains_now_ms(void);

/* ---- reading ---- */

/* A view of (kind, name) into *out (see struct domains_info). 0 or -ENOENT. */
int domains_get(struct domains *d, enum domains_kind kind, const char *name,
		struct domains_info *out);

/*
 * Call fn for each entry from *cursor (start at 0), at most max of them;
 * *cursor moves on. Returns true while more may follow. Adding or removing
 * entries between calls may skip or repeat some, never crash.
 */
bool domains_foreach(struct domains *d, uint64_t *cursor, unsigned max,
		     void (*fn)(void *arg, const struct domains_info *e), void *arg);

/* A copy of *e in one allocation (free() it), readable from any thread. NULL: no memory. */
struct domains_info *domains_info_dup(const struct domains_info *e);

const char *domains_status_name(enum domains_status s); /* "ok", "nxdomain", ... */
const char *domains_kind_name(enum domains_kind k);	/* "host", "a", "aaaa", "srv", "naptr" */
const char *domains_transport_name(enum domains_transport t); /* "", "udp", "tcp", "tls" */
/* And back: 0 and *out, or -EINVAL. */
int domains_status_parse(const char *s, enum domains_status *out);
int domains_kind_parse(const char *s, enum domains_kind *out);
int domains_transport_parse(const char *s, enum domains_transport *out);

struct domains_stats {
	uint64_t entries, jobs, queries_inflight, sockets;
	uint64_t queries, answers, failures, changes, imports;
};

void domains_stats(const struct domains *d, struct domains_stats *st);

/* ---- picking an address ---- */

/*
 * A cursor walks the addresses of one entry for one request: the first pick,
 * then "the next" after a failure. It remembers what it gave (up to
 * DOMAINS_CURSOR_MAX addresses) and never gives it again.
 */
struct domains_cursor {
	uint8_t transport; /* filter: DOMAINS_TP_ANY, or targets of that transport (or ANY) */
	uint8_t family;	   /* filter: AF_UNSPEC, AF_INET or AF_INET6 */
	int16_t last_target;
	uint8_t ntried;
	struct {
		uint8_t family;
		uint16_t port;
		uint8_t ip[16];
	} tried[DOMAINS_CURSOR_MAX];
};

void domains_cursor_init(struct domains_cursor *c, enum domains_transport tp, int family);

struct domains_pick {
	struct sockaddr_storage sa; /* the address, and its port (0 when DNS gave none) */
	socklen_t salen;
	uint16_t port;	   /* 0: DNS gave none: the user's default port */
	uint8_t transport; /* the target's enum domains_transport (ANY when DNS said none) */
	uint8_t target;	   /* index in the entry's targets */
};

/*
 * Pick an address of (kind, name) that c has not given yet (RFC 3263 §4.3):
 * the rest of the last target's addresses first; else among the targets with
 * addresses left, those of the best (NAPTR order, preference, SRV priority),
 * one by RFC 2782's weighted random choice; within it, round robin over its A
 * and AAAA addresses. Returns 0 and *out; -ENOENT (no such entry), -EAGAIN
 * (not resolved yet), -EHOSTUNREACH (no address, or none left for c).
 */
int domains_pick(struct domains *d, enum domains_kind kind, const char *name,
		 struct domains_cursor *c, struct domains_pick *out);

/*
 * The same choice on an entry's copy, from any thread: rnd a random number,
 * seq a counter the caller increments per pick (the round robin).
 */
int domains_select(const struct domains_info *e, struct domains_cursor *c, uint64_t rnd,
		   uint64_t seq, struct domains_pick *out);

/* The address (with port) as a sockaddr; returns its length. */
socklen_t domains_addr_sockaddr(const struct domains_addr *a, struct sockaddr_storage *sa);

/* ---- a mirror (domain_redis.h) ---- */

/*
 * due(): an entry is due for a refresh that was not forced. Return 0 and the
 * table asks DNS now; return 1 and the mirror takes it: it answers later with
 * domains_mirror_proceed() (ask DNS), domains_mirror_import() (use this) or
 * domains_mirror_retry() (ask me again later); no answer within
 * mirror_wait_ms and the table asks DNS. resolved(): a resolution by this
 * node ended (any outcome): the entry as it is now. Both are called from
 * domains_process() and must not change the table there.
 */
struct domains_mirror_ops {
	int (*due)(void *arg, const struct domains_info *e);
	void (*resolved)(void *arg, const struct domains_info *e);
};

void domains_set_mirror(struct domains *d, const struct domains_mirror_ops *ops, void *arg);

/*
 * Answers to due(). proceed: resolve now (after an import, possibly); retry:
 * no resolution now, ask due() again after delay_ms. Each returns 0,
 * -ENOENT (no such entry, or a literal), -EBUSY (a resolution of this node's
 * is in flight or queued: nothing to do).
 */
int domains_mirror_proceed(struct domains *d, enum domains_kind kind, const char *name);
int domains_mirror_retry(struct domains *d, enum domains_kind kind, const char *name,
			 uint32_t delay_ms, int64_t now_ms);

/*
 * Replace (src->kind, src->name)'s state with src (realtime times, as
 * domains_info shows them; node who resolved it): its targets, addresses,
 * status, error, TTL, times. The status is then evolved by the times (ok past
 * expires_ms is stale, ...), the next refresh is src's next_refresh_ms plus a
 * little jitter. Not passed to resolved(). Returns 0, -ENOENT, -EINVAL (an
 * inconsistent src: counts, families, target indexes), -EBUSY (this node's
 * own resolution is in flight: it wins), -EALREADY (src's resolved_ms is older
 * than the entry's). A src that failed without addresses (servfail, timeout,
 * unreachable) does not take addresses the entry may still serve: they stay,
 * stale past their TTL, as after a failure of this node's own.
 */
int domains_mirror_import(struct domains *d, const struct domains_info *src, int64_t now_ms);

#endif
