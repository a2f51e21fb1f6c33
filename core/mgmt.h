/* SPDX-License-Identifier: MIT */
/*
 * mgmt.h: the HTTP management endpoint of the service thread.
 *
 *   GET /metrics        the counters of stats.h in the Prometheus text format 0.0.4
 *   GET /api/v1/status  version, uptime, pid, per-worker and total counters (JSON),
 *                       plus what the daemon adds through mgmt_source.status_json
 *   /api/v1/...         routes that other modules add with mgmt_route()
 *
 * Anything else is 404 with a JSON body {"error": "..."}; a known path asked
 * with a method it does not take is 405 (with an Allow header). docs/management.md
 * lists every metric and field.
 *
 * HTTP is libmicrohttpd 0.9.75 without a thread of its own: mgmt_start() opens
 * the listening socket itself (so that a bind failure says why: "127.0.0.1:8080:
 * Address already in use") and hands it to an MHD daemon in epoll mode; the
 * owner's loop polls mgmt_poll_fd() for POLLIN, never sleeps longer than
 * mgmt_poll_timeout_ms(), and calls mgmt_process() after each wait, whether or
 * not the fd was ready (it also expires idle connections):
 *
 *   for (;;) {
 *           struct pollfd p = { .fd = mgmt_poll_fd(m), .events = POLLIN };
 *           poll(&p, 1, min(mgmt_poll_timeout_ms(m), the loop's other timeouts));
 *           mgmt_process(m);   // accepts, reads, answers: handlers run here
 *   }
 *
 * Threads. Everything but mgmt_render_metrics() belongs to the owner (the
 * service thread): mgmt_process() runs the request handlers, the status_json
 * hook and the route handlers on that thread, one request at a time, so they
 * may read the service thread's state without locks. The workers' counters are
 * read with STAT_GET (stats.h), never locked: a reading is a snapshot that may
 * be a few increments behind. A slow handler stalls the owner's loop: handlers
 * must not block.
 *
 * Memory. mgmt copies *src at start; what its pointers point to (the worker
 * array, the node counters, the version string, the hook's arg) must live until
 * mgmt_stop(). A request body is held whole in memory up to MGMT_MAX_BODY
 * octets (413 above). At most MGMT_MAX_CONNECTIONS connections at once; one idle
 * for MGMT_IDLE_TIMEOUT_S seconds is closed.
 *
 * Security: no authentication and no TLS. Bind it to a loopback or management
 * address (http.listen, default 127.0.0.1:8080).
 */
#ifndef SIPRING_MGMT_H
#define SIPRING_MGMT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/stats.h"

#define MGMT_MAX_BODY	     (1024 * 1024)
#define MGMT_MAX_CONNECTIONS 64
#define MGMT_IDLE_TIMEOUT_S  10

struct cJSON;
struct mgmt;

/* Where the numbers come from. Copied by mgmt_start(); see Memory above. */
struct mgmt_source {
	const struct stats *workers; /* array of nworkers (NULL when nworkers is 0) */
	unsigned nworkers;
	const struct stats_node *node; /* may be NULL: every node counter reads 0 */
	const char *version;	       /* "0.1.0" */
	/*
	 * Called on the owner's thread while building /api/v1/status, after mgmt
	 * has put its own members into root (so "workers" is there, one object
	 * per worker in index order): the daemon adds its own (node name, state,
	 * config file, listen list; per-worker "cpu" and "private_port" into the
	 * elements of "workers"). May be NULL.
	 */
	void (*status_json)(void *arg, struct cJSON *root);
	void *arg;
};

/*
 * A handler of the routes under a prefix (mgmt_route()), called on the owner's
 * thread once the whole request has arrived. method is the request's ("GET",
 * "POST", "DELETE", "HEAD", ...); subpath is the path after the prefix: "" for
 * the prefix itself, "/abc" for prefix/abc (no query string: MHD strips it);
 * body holds body_len octets followed by a NUL (so cJSON_Parse(body) works),
 * "" when there is none. All three live until the handler returns.
 *
 * Returns the HTTP status (200..599; anything else is answered as 500) and may
 * set *out to the JSON body, which mgmt sends and frees with cJSON_Delete();
 * *out left NULL sends no body (e.g. 204). Content-Type is application/json.
 */
typedef int (*mgmt_handler)(void *arg, const char *method, const char *subpath, const char *body,
			    size_t body_len, struct cJSON **out);

/*
 * Start serving on addr (IPv4 or IPv6; port 0 picks a free port, see
 * mgmt_port()). Binds and listens at once: on return the endpoint accepts
 * connections, and answers them from the next mgmt_process(). Returns 0 and *m,
 * or a negative errno with one line in err[0..errlen): "127.0.0.1:8080: Address
 * already in use" (-EADDRINUSE), "...: Permission denied" (-EACCES), -EINVAL
 * (src or addr malformed), -ENOTSUP (libmicrohttpd built without epoll),
 * -ENOMEM.
 */
int mgmt_start(struct mgmt **m, const struct sockaddr *addr, socklen_t addrlen,
	       const struct mgmt_source *src, char *err, size_t errlen);

/*
 * Serve the paths prefix and prefix/... with fn (see mgmt_handler). prefix
 * starts with "/" and does not end with one ("/api/v1/registrations"); the
 * longest matching prefix wins, matched on whole path segments. /metrics and
 * /api/v1/status are mgmt's own. Owner's thread. Returns 0, -EINVAL (malformed
 * prefix, or one of mgmt's own), -EEXIST (prefix taken), -ENOMEM.
 */
int mgmt_route(struct mgmt *m, const char *prefix, mgmt_handler fn, void *arg);

/* The port it listens on (useful after binding port 0). */
uint16_t mgmt_port(const struct mgmt *m);

/* ---- driven by the owner's loop ---- */

/* The fd to poll for POLLIN: MHD's epoll fd (listening socket and connections). */
int mgmt_poll_fd(const struct mgmt *m);

/* The longest the loop may wait before the next mgmt_process(), in ms; -1 none. */
int mgmt_poll_timeout_ms(const struct mgmt *m);

/* Accept, read, answer (handlers run here), close idle connections. Never blocks. */
void mgmt_process(struct mgmt *m);

/* Close every connection and the listening socket, free m. NULL is allowed. */
void mgmt_stop(struct mgmt *m);

/* ---- the numbers ---- */

/*
 * The Prometheus text of src into a new buffer: *out (NUL-terminated; free()
 * it) and *len (without the NUL). Any thread. The utilisation gauge here is
 * since each worker's start (busy/total), as no earlier scrape is known; the
 * /metrics endpoint reports it since its previous scrape. Returns 0 or -ENOMEM.
 */
int mgmt_render_metrics(const struct mgmt_source *src, char **out, size_t *len);

#endif
