/* SPDX-License-Identifier: MIT */
/*
 * stats.h: the counters each worker keeps, read by the management endpoint.
 *
 * One `struct stats` per worker, written only by that worker (STAT_INC /
 * STAT_ADD: a relaxed load and store of its own line, no locked instruction, no
 * fence), and read by any thread with stats_sum()/STAT_GET (relaxed loads; a
 * reading is a snapshot that may be a few increments behind). Counters only
 * grow, except the gauges marked so.
 */
#ifndef SIPRING_STATS_H
#define SIPRING_STATS_H

#include <stdint.h>

#include "parsers/sip_msg-t.h"

/* Why a received message was dropped without an answer. */
enum stats_drop {
	STATS_DROP_PARSE = 0, /* too malformed to answer (no Via/CSeq/...) */
	STATS_DROP_RESPONSE,  /* a malformed response, or one for no one */
	STATS_DROP_TOO_LARGE, /* larger than a buffer, unanswerable */
	STATS_DROP_NOBUFS,    /* no send buffer / ring full (back-pressure) */
	STATS_DROP_STOPPING,  /* received during the graceful stop */
	STATS_DROP_ACK,	      /* an ACK for no transaction of ours */
	STATS_DROP__COUNT
};

/* enum reg_outcome of core/registrar.h has this many values. */
#define STATS_REG__COUNT 8

struct stats {
	_Alignas(64) uint64_t rx_msgs; /* SIP messages received (datagrams or framed) */
	uint64_t rx_bytes;
	uint64_t tx_msgs; /* messages sent */
	uint64_t tx_bytes;
	uint64_t tx_errors;			 /* send failures (errno from the kernel) */
	uint64_t rx_requests[SIP_METHOD__COUNT]; /* by enum sip_method (0 = other) */
	uint64_t rx_responses[7];		 /* by class 1..6 (0 unused) */
	uint64_t tx_responses[700];		 /* answers we sent, by status code */
	uint64_t parse_errors;			 /* sip_msg_parse() or sip_msg_check() refused */
	uint64_t drops[STATS_DROP__COUNT];
	uint64_t keepalives;	  /* CRLF keep-alives received */
	uint64_t handover_out;	  /* messages passed to another worker */
	uint64_t handover_in;	  /* messages received from another worker */
	uint64_t tcp_accepted;	  /* connections accepted */
	uint64_t tcp_closed;	  /* connections closed (any reason) */
	uint64_t tcp_idle_closed; /* of which by the idle timeout */
	uint64_t tcp_refused;	  /* refused: max_connections reached */
	uint64_t tcp_active;	  /* gauge: open connections */
	uint64_t loop_busy_ns;	  /* time spent handling completions */
	uint64_t loop_total_ns;	  /* time since the loop started */
	uint64_t loop_iterations;
	uint64_t trace_drops;		/* trace records lost (trace ring full) */
	uint64_t reg[STATS_REG__COUNT]; /* REGISTERs by outcome (enum reg_outcome) */
	uint64_t reg_queue_full;	/* location changes refused: the queue was full */
	uint64_t txn_active;		/* gauge: transactions in the worker's table */
	uint64_t txn_retransmissions;	/* messages sent again by transactions */
	uint64_t txn_timeouts;		/* Timer B, F, H fired */
	uint64_t ka[2];			/* keepalive OPTIONS answered [0], failed [1] */
	uint64_t uplink_requests;	/* requests to an uplink's contact user */
};

/* Single writer: a relaxed load and store, no locked instruction. */
/* Node-wide counters, written by the service thread only. */
struct stats_node {
	uint64_t reloads_ok;	  /* SIGHUP (or API) reloads applied */
	uint64_t reloads_failed;  /* reloads refused: the new file did not load */
	uint64_t stopping;	  /* gauge: 1 once a graceful stop has begun */
	uint64_t started_unix;	  /* process start, seconds since the epoch */
	uint64_t trace_written;	  /* messages written to the pcap trace */
	uint64_t trace_failed;	  /* messages the trace file refused (disk full, ...) */
	uint64_t reg_aors;	  /* gauge: AORs with bindings */
	uint64_t reg_bindings;	  /* gauge: bindings */
	uint64_t reg_expired;	  /* bindings removed at their expiry */
	uint64_t reg_applied;	  /* location changes applied */
	uint64_t reg_rejected;	  /* changes the table refused (out of order, full) */
	uint64_t reg_ka_removed;  /* bindings removed after keepalive failures */
	uint64_t redis_connected; /* gauge: 1 while the location's Redis connection is up */
	/* uplinks (core/uplink.h), written by the service thread */
	uint64_t uplinks[6];		/* gauge by enum uplink_state */
	uint64_t uplink_registers[5];	/* registration attempts by enum uplink_result */
	uint64_t uplink_unregisters[5]; /* unregistrations by enum uplink_result */
	/* the domain table (storage/domains.h), written by the service thread */
	uint64_t dns_entries[7];      /* gauge by enum domains_status */
	uint64_t dns_queries;	      /* DNS queries sent */
	uint64_t dns_failures;	      /* resolutions that failed */
	uint64_t dns_redis_connected; /* gauge: the mirror's Redis connection is up */
};

#define STAT_ADD(s, field, n)                                                               \
	__atomic_store_n(&(s)->field, __atomic_load_n(&(s)->field, __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)
#define STAT_INC(s, field)    STAT_ADD(s, field, 1)
#define STAT_SET(s, field, v) __atomic_store_n(&(s)->field, (v), __ATOMIC_RELAXED)
#define STAT_GET(s, field)    __atomic_load_n(&(s)->field, __ATOMIC_RELAXED)

#endif
