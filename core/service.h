/* SPDX-License-Identifier: MIT */
/*
 * service.h: the service thread (the process's main thread once the workers
 * run): signals, configuration reload, graceful stop, the HTTP management
 * endpoint and the trace file.
 *
 * Its loop polls a signalfd (SIGTERM, SIGINT, SIGHUP), the management
 * endpoint's fd, and wakes at least every 100 ms to drain the workers' trace
 * rings, free configuration snapshots no worker uses any more, and watch the
 * graceful stop's progress. Later parts (Redis, DNS, the CDR flusher) plug
 * into the same loop.
 */
#ifndef SIPRING_SERVICE_H
#define SIPRING_SERVICE_H

#include "core/worker.h"

struct service;

/*
 * Build the first snapshot from a loaded configuration (c is moved into it:
 * the caller must not free it) and the addresses/ports of the bound sockets.
 * Returns NULL on ENOMEM.
 */
struct snap *service_snap_new(struct conf *c, uint64_t gen, const struct snap_addr *addrs,
			      unsigned naddrs, const uint16_t *ports, unsigned nports);

/*
 * Load what snapshot s derives from its configuration: the accounts file
 * (accounts.file) and the digest context (auth.*). prev is the running
 * snapshot (NULL at start): when auth.secret is empty its random nonce key is
 * kept, so that a reload does not make every nonce stale. Returns 0, or a
 * negative errno with one line in err ("FILE:LINE: KEY: reason").
 */
int service_snap_prepare(struct snap *s, const struct snap *prev, char *err, size_t errlen);

/*
 * The registrar's node-wide state, before the workers start: the location
 * table (one reader slot per worker), the suspension table, the service
 * eventfd, and, when redis.* is configured, the Redis write-behind with the
 * bindings loaded back from Redis (a Redis that does not answer is logged and
 * retried by the loop: the node starts from memory). Returns 0 or -errno with
 * a line in err.
 */
int service_registrar_init(struct daemon *d, char *err, size_t errlen);

/* Free what service_registrar_init() made (after the workers have stopped). */
void service_registrar_fini(struct daemon *d);

/*
 * Run the service loop until the workers have stopped. sigfd: a signalfd for
 * SIGTERM, SIGINT and SIGHUP (blocked in every thread). Returns the process
 * exit status.
 */
int service_run(struct daemon *d, int sigfd);

#endif
