/* SPDX-License-Identifier: MIT */
/*
 * uplink.h: outbound registration to upstream carriers ("uplinks"), RFC 3261
 * §10.2 from the UA side, and unregistration on a graceful stop.
 *
 * Three parts:
 *
 *   struct uplink_defs   the uplinks file (YAML), loaded by uplink_defs_load():
 *                        one entry per uplink, read-only once loaded.
 *   struct uplink_mgr    the registration state of every uplink: one owner, the
 *                        service thread. It decides what to send and when
 *                        (first registration, refresh, retry after a failure,
 *                        423 and 401/407 follow-ups, unregistration) and takes
 *                        the final response of each request back. It never
 *                        sends: it hands `struct uplink_req` jobs to a callback,
 *                        and the daemon's workers run them as client
 *                        transactions (core/txn.h) and return `struct
 *                        uplink_res`. No I/O, no clock of its own (time is the
 *                        caller's `now_ms`, monotonic): unit tests drive it alone.
 *   uplink_req_format()  what a worker does with a job: the REGISTER with its
 *   uplink_res_from()    Via, and the result of the final response.
 *
 *   service thread                         worker (uplink slot % workers)
 *   uplink_mgr_run(now) ── uplink_req ──►  uplink_req_format + txn_client_start
 *   uplink_mgr_result() ◄── uplink_res ──  final response / Timer F / error
 *
 * Rules (docs/uplinks.md has them with the reasons):
 *   - One Call-ID and From tag per uplink for the process's life, CSeq + 1 per
 *     request (RFC 3261 §10.2.4): registrations, refreshes, 423/401/407
 *     follow-ups and the unregistration.
 *   - The REGISTER always asks the configured expiry (auto: 3600); the refresh is
 *     scheduled from the time the request was sent, at half the granted expiry
 *     for grants up to 10 minutes and 5 minutes before the end above: it never
 *     drifts down over time.
 *   - 423: asks Min-Expires at once. 401/407: answers with the uplink's
 *     credentials (MD5 or SHA-256, qop=auth); a challenge to a request that
 *     carried credentials (not stale) is an authentication failure, and after
 *     `auth_retry` of them the attempt fails. A failed attempt is retried after
 *     retry_delay +-20 % (Retry-After when longer); 403 and 404 after ten times
 *     that. Nothing is retried sooner: no storms.
 *   - Stop: every registered uplink with send_unregister sends REGISTER
 *     Expires: 0 (same Call-ID, next CSeq, credentials of the last challenge,
 *     answering a new one); uplink_mgr_busy() says when all are answered.
 *
 * Thread-safety: none; a manager belongs to one thread. Jobs and results are
 * plain malloc'd blocks that cross threads through the daemon's rings.
 */
#ifndef SIPRING_UPLINK_H
#define SIPRING_UPLINK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "parsers/sip_msg-t.h"
#include "parsers/sv.h"

#define UPLINK_NAME_MAX	     64
#define UPLINK_MAX	     100000 /* uplinks in one file */
#define UPLINK_EXPIRE_MIN    20	    /* fixed register period range, seconds */
#define UPLINK_EXPIRE_MAX    7200
#define UPLINK_EXPIRE_AUTO   3600 /* what "auto" asks */
#define UPLINK_REASON_MAX    64
#define UPLINK_CHALLENGE_MAX 2048 /* octets of challenge headers kept from a 401/407 */

enum uplink_privacy {
	UPLINK_PRIVACY_IGNORE = 0, /* no Privacy header */
	UPLINK_PRIVACY_ID = 1,	   /* Privacy: id */
	UPLINK_PRIVACY_NONE = 2,   /* Privacy: none */
};

/* One uplink of the file. Strings are owned by the defs (never NULL; "" = unset). */
struct uplink_def {
	char *name;
	char *registrar;     /* IP address or domain name */
	char *proxy;	     /* outbound proxy, "" = none */
	char *domain;	     /* Request-URI host and AOR host (To); "" = the registrar */
	char *user;	     /* AOR user */
	char *auth_user;     /* "" = user */
	char *password;	     /* "" = none (a challenge then fails the attempt) */
	char *contact_user;  /* "" = user */
	char *host;	     /* From and Contact host; "" = domain / our address */
	uint16_t port;	     /* registrar port; 0 = not given: RFC 3263 (NAPTR, SRV, A/AAAA:5060) */
	uint16_t proxy_port; /* the same for the proxy */
	uint8_t transport;   /* CONF_UDP or CONF_TCP (core/conf.h) */
	int32_t expire_s;    /* -1 = uplinks.expire, 0 = auto, else 20..7200 */
	int8_t send_unregister; /* -1 = uplinks.send_unregister, 0, 1 */
	int8_t privacy;		/* -1 = uplinks.privacy, else enum uplink_privacy */
	bool enabled;
	bool ruri_domain; /* request_uri: domain (Request-URI sip:<domain>); default address
			   * (sip:<the address sent to>) */
	unsigned line;	  /* in the file */
};

struct uplink_defs {
	struct uplink_def *v;
	unsigned n;
};

/*
 * Load the uplinks file at path into *defs. Returns 0, or a negative errno with
 * "FILE:LINE: uplinks[3].registrar: reason" in err. An empty file, or
 * `uplinks:` with no items, gives no uplinks. Names must be unique.
 */
int uplink_defs_load(const char *path, struct uplink_defs *defs, char *err, size_t errlen);
void uplink_defs_free(struct uplink_defs *defs);

/* Node-wide settings (core/conf.h uplinks.*). */
struct uplink_params {
	uint32_t expire_s;	 /* 0 = auto */
	uint32_t retry_delay_ms; /* after a failure; x10 after 403/404 */
	uint8_t privacy;	 /* enum uplink_privacy */
	bool send_unregister;
	unsigned auth_retry;	/* challenges to credentials before the attempt fails */
	unsigned max_forwards;	/* Max-Forwards of the REGISTER */
	const char *user_agent; /* User-Agent value, "" = none (the string must outlive the call) */
};

/* What the manager reports about one uplink. */
enum uplink_state {
	UPLINK_REGISTERING = 0, /* first registration (or re-registration) under way */
	UPLINK_REGISTERED,	/* a 2xx granted the contact; refreshes keep it */
	UPLINK_UNREGISTERING,	/* Expires: 0 sent, no final answer yet */
	UPLINK_UNREGISTERED,	/* not registered, nothing scheduled (manual, stop) */
	UPLINK_FAILED,		/* the last attempt failed; retried at next_ms */
	UPLINK_DISABLED,	/* enabled: false */
	UPLINK_STATE__COUNT,
};
const char *uplink_state_name(enum uplink_state s);

/* Outcomes counted by the manager (metrics). */
enum uplink_result {
	UPLINK_RES_OK = 0,
	UPLINK_RES_REJECTED,	/* a final 3xx-6xx that is not a challenge */
	UPLINK_RES_AUTH_FAILED, /* credentials refused, or none to give */
	UPLINK_RES_TIMEOUT,	/* no final answer (Timer F) */
	UPLINK_RES_ERROR,	/* transport error, unresolvable destination, no memory */
	UPLINK_RES__COUNT,
};
const char *uplink_result_name(enum uplink_result r);

struct uplink_counters {
	uint64_t registers[UPLINK_RES__COUNT];	 /* outcomes of registration attempts */
	uint64_t unregisters[UPLINK_RES__COUNT]; /* outcomes of unregistrations */
	uint64_t requests;			 /* REGISTERs handed to workers */
};

/*
 * A REGISTER for a worker to send (malloc'd by the manager, freed by whoever
 * holds it last). msg[0..len) is the request without its Via: the worker puts
 * "Via: SIP/2.0/<TP> <via_host>:<its port>;branch=...;rport" after the request
 * line (uplink_req_format()).
 */
struct uplink_req {
	uint64_t id;		      /* the manager's request id (a late result is recognised) */
	uint32_t slot;		      /* the uplink's slot in the manager */
	uint8_t transport;	      /* CONF_UDP / CONF_TCP */
	bool unregister;	      /* Expires: 0 */
	struct sockaddr_storage dest; /* where to send (the proxy or the registrar) */
	socklen_t destlen;
	char via_host[64];     /* our address as the Via names it */
	uint16_t via_port;     /* TCP: our listen port (UDP: the worker's private port) */
	char contact_uri[320]; /* our Contact URI, to find our binding in the 200 */
	uint32_t line_len;     /* the request line's length, CRLF included */
	uint32_t len;
	char msg[];
};

/* What came back for a job (malloc'd by the worker, freed by the manager's owner). */
struct uplink_res {
	uint64_t id;
	uint32_t slot;
	uint16_t status;      /* final status, or 408 (Timer F) / 503 (transport error) */
	bool local;	      /* status made up by sipring (no answer) */
	int64_t expires;      /* the expiry granted to our contact, -1 when not said */
	uint32_t min_expires; /* 423's Min-Expires, 0 when absent */
	uint32_t retry_after; /* Retry-After seconds, 0 when absent */
	char reason[UPLINK_REASON_MAX];
	uint32_t chal_len; /* challenge header values, each ending in '\n' */
	char chal[];
};

/*
 * Write job r as it goes on the wire into buf: request line, our Via with
 * branch and port, the rest. Returns the length, or -ENOBUFS.
 */
int uplink_req_format(const struct uplink_req *r, const char *branch, uint16_t via_port, char *buf,
		      size_t cap);

/*
 * The result of final response m (parsed) for job r: status, reason, the
 * expiry granted to r's contact (its Contact ;expires, else the Expires
 * header), Min-Expires, Retry-After, the WWW-/Proxy-Authenticate values.
 * Returns a malloc'd result, or NULL (no memory).
 */
struct uplink_res *uplink_res_from(const struct uplink_req *r, const struct sip_msg *m);

/* A result without an answer: status 408 (timeout) or 503 (transport error). */
struct uplink_res *uplink_res_local(const struct uplink_req *r, uint16_t status,
				    const char *reason);

struct uplink_mgr;

/* How the manager reaches the daemon. */
struct uplink_ops {
	/* Hand job r to worker `worker` (slot % workers). Returns 0 (the callee
	 * owns r now) or a negative errno (the manager frees r and tries again on a
	 * later uplink_mgr_run()). */
	int (*send)(void *arg, unsigned worker, struct uplink_req *r);
	/* Resolve host:port for transport into *ss (port 0: not given, RFC 3263:
	 * the port DNS gives, else 5060), *ss holding the address used
	 * last (AF_UNSPEC: none; cleared after a timeout, a transport error or a
	 * 5xx): keep it while the name still has it. Returns 0, -EAGAIN (not yet:
	 * asked again on a later run) or another negative errno (the attempt fails). */
	int (*resolve)(void *arg, const char *host, uint16_t port, uint8_t transport,
		       struct sockaddr_storage *ss, socklen_t *len);
	/* Our address toward dest (for Contact and Via, "1.2.3.4" or "[::1]") and
	 * our listen port for transport. Returns 0 or a negative errno. */
	int (*local)(void *arg, const struct sockaddr *dest, uint8_t transport, char *host,
		     size_t cap, uint16_t *port);
};

/* Create a manager for `workers` workers. Returns NULL on no memory. */
struct uplink_mgr *uplink_mgr_new(unsigned workers, const struct uplink_ops *ops, void *arg);
/* Free it, every uplink with it (nothing is sent). NULL-safe. */
void uplink_mgr_free(struct uplink_mgr *m);

/*
 * Apply a (re)loaded file and node settings at now_ms. Uplinks are matched by
 * name: a new one registers at once; one whose definition changed unregisters
 * its old registration (when registered and send_unregister) and registers
 * anew; a removed or disabled one unregisters and goes. defs stays the
 * caller's (copied). Returns 0 or -ENOMEM (nothing changed).
 */
int uplink_mgr_apply(struct uplink_mgr *m, const struct uplink_defs *defs,
		     const struct uplink_params *p, uint64_t now_ms);

/* Send what is due at now_ms. Returns the ms until the next due action (-1 none). */
int64_t uplink_mgr_run(struct uplink_mgr *m, uint64_t now_ms);

/* A result for a job (takes r and frees it). Late results are dropped. */
void uplink_mgr_result(struct uplink_mgr *m, struct uplink_res *r, uint64_t now_ms);

/*
 * Graceful stop: unregister every registered (or registering) uplink whose
 * send_unregister is on; nothing more is scheduled after. Returns how many
 * unregistrations were started.
 */
unsigned uplink_mgr_stop(struct uplink_mgr *m, uint64_t now_ms);

/* Requests in flight (at stop: unregistrations not answered yet). */
unsigned uplink_mgr_busy(const struct uplink_mgr *m);

/* Manual actions by name: register now / unregister now (even with
 * send_unregister off). Returns 0, -ENOENT, or for register -EPERM (the uplink
 * is disabled in the file) and -ESHUTDOWN (the manager is stopping). */
int uplink_mgr_register(struct uplink_mgr *m, const char *name, uint64_t now_ms);
int uplink_mgr_unregister(struct uplink_mgr *m, const char *name, uint64_t now_ms);

/* One uplink as the API shows it. Views valid until the next manager call. */
struct uplink_info {
	const char *name;
	enum uplink_state state;
	const char *registrar; /* "ip:port" sent to, "" before resolution */
	uint8_t transport;
	const char *aor;     /* "sip:user@domain" */
	const char *contact; /* our Contact URI, "" before the first request */
	const char *call_id;
	uint32_t cseq;
	uint32_t expires_asked, expires_granted;
	int64_t expires_in_ms;	/* left of the registration, 0 when none */
	int64_t next_action_ms; /* until the next scheduled request, -1 none */
	uint16_t last_status;
	const char *last_reason;
	unsigned failures;
	bool send_unregister, enabled;
	bool busy; /* a request in flight */
};

/* Number of uplinks (removed ones still unregistering included). */
unsigned uplink_mgr_count(const struct uplink_mgr *m);
/* The i-th (0..count-1), or the one named; false when out of range / unknown. */
bool uplink_mgr_info(const struct uplink_mgr *m, unsigned i, uint64_t now_ms,
		     struct uplink_info *out);
bool uplink_mgr_find(const struct uplink_mgr *m, const char *name, uint64_t now_ms,
		     struct uplink_info *out);
/* Whether an uplink (one being removed included) names host (any case) as its
 * registrar or proxy, with a port (with_port) or without one. */
bool uplink_mgr_uses(const struct uplink_mgr *m, const char *host, bool with_port);

/* Uplinks per state (gauges) and the counters. */
void uplink_mgr_states(const struct uplink_mgr *m, uint64_t out[UPLINK_STATE__COUNT]);
const struct uplink_counters *uplink_mgr_counters(const struct uplink_mgr *m);

/*
 * The contact users of every enabled uplink (for the workers' "is this request
 * from an uplink" lookup): a sorted, immutable table built by the service
 * thread and published with the configuration snapshot.
 */
struct uplink_index;
struct uplink_index *uplink_index_build(const struct uplink_defs *defs);
/* The uplink whose contact user is `user` (octet for octet), or NULL. Any thread. */
const char *uplink_index_find(const struct uplink_index *x, struct sv user);
void uplink_index_free(struct uplink_index *x);

#endif
