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
 * Run the service loop until the workers have stopped. sigfd: a signalfd for
 * SIGTERM, SIGINT and SIGHUP (blocked in every thread). Returns the process
 * exit status.
 */
int service_run(struct daemon *d, int sigfd);

#endif
