/* SPDX-License-Identifier: MIT */
/*
 * report.h: profit reports by customer, vendor, gateway, destination or day,
 * from the Redis counters or from the spool.
 *
 * A report is a list of rows, one per (day, key) of the chosen dimension, with
 * the counters of cdr.h summed, and a total. From Redis it reads the counter
 * hashes the flusher's script maintains (one HGETALL per day; docs/redis.md);
 * from the spool it decodes every record still on disk and applies the same
 * counting rules (cdr_count()), so both sources give the same numbers for the
 * same CDRs. "By day" sums the customer counters of each day into one row with
 * an empty key (every customer call, counted once).
 *
 * The derived figures (ASR, ACD, minutes, margin) and money are formatted by
 * the report_fmt_*() functions below with integer arithmetic, so that a report
 * prints exact decimals of the micro-unit counters.
 *
 * This is for the CLI and the management API: reading Redis blocks (with a
 * timeout) and must not run on the service thread. A struct report belongs to
 * one thread; report_free() releases its rows.
 */
#ifndef SIPRING_REPORT_H
#define SIPRING_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "cdr.h"

enum report_by {
	REPORT_BY_CUSTOMER = CDR_DIM_CUSTOMER,
	REPORT_BY_VENDOR = CDR_DIM_VENDOR,
	REPORT_BY_GATEWAY = CDR_DIM_GATEWAY,
	REPORT_BY_DEST = CDR_DIM_DEST,
	REPORT_BY_DAY,
};

/* "customer", "vendor", "gateway", "destination" (or "dest"), "day"; 0 or -EINVAL. */
int report_by_parse(struct sv s, enum report_by *by);
const char *report_by_name(enum report_by by);

struct report_query {
	enum report_by by;
	int32_t from; /* first day (cdr_day()), inclusive */
	int32_t to;   /* last day, inclusive */
};

#define REPORT_KEY_MAX CDR_MAX_NAME

struct report_row {
	int32_t day;
	uint8_t key_len;
	char key[REPORT_KEY_MAX + 1]; /* NUL-terminated; "" for REPORT_BY_DAY */
	struct cdr_counts c;
};

struct report {
	struct report_row *rows; /* sorted by day, then key (octet order) */
	size_t n;
	struct cdr_counts total;
	uint64_t skipped; /* spool: undecodable records; Redis: fields not ours */
	/* private: the (day, key) index while rows are added */
	uint32_t *idx;
	size_t idx_cap;
	size_t cap;
};

void report_init(struct report *rep);
void report_free(struct report *rep);

/*
 * Add d to the row (day, key), creating it. Rows stay unsorted until
 * report_finish(). Returns 0, -ENOMEM, or -ENAMETOOLONG (key over
 * REPORT_KEY_MAX: not a key sipring writes).
 */
int report_add(struct report *rep, int32_t day, struct sv key, const struct cdr_counts *d);

/* Sort the rows and compute the total. */
void report_finish(struct report *rep);

/*
 * Every CDR of the spool in dir whose day is in [q->from, q->to]. Returns 0,
 * -ENOENT (no such directory), -ENOMEM, or -errno of reading.
 */
int report_from_spool(struct report *rep, const char *dir, const struct report_query *q);

struct report_redis {
	const char *host;      /* an IP address or a host name */
	uint16_t port;	       /* default 6379 */
	const char *unix_path; /* instead of host and port */
	const char *password;
	unsigned db;
	const char *prefix;  /* default "sipring:" */
	uint32_t timeout_ms; /* connect and each reply; default 5000 */
};

/*
 * The counters in Redis for the days of q (at most 3660 days). Returns 0, or
 * -ECONNREFUSED / -ETIMEDOUT / -EIO / -EACCES (AUTH) / -EPROTO (an unexpected
 * reply) with a message in err (errlen octets, may be 0).
 */
int report_from_redis(struct report *rep, const struct report_redis *conn,
		      const struct report_query *q, char *err, size_t errlen);

/* ---- figures ---- */

/*
 * num * scale / den with `decimals` decimals, rounded half away from zero,
 * into buf (cap >= 48); "-" when den is 0. E.g. ASR % is
 * report_fmt_ratio(answered, calls, 100, 2, ...), ACD in seconds
 * report_fmt_ratio(duration_ms, answered * 1000, 1, 1, ...). Returns the length.
 */
size_t report_fmt_ratio(int64_t num, int64_t den, int64_t scale, unsigned decimals, char *buf,
			size_t cap);

/* Micro-units as units with `precision` decimals (0..6), rounded half away from zero. */
size_t report_fmt_money(int64_t micro, unsigned precision, char *buf, size_t cap);

/* The derived figures of one row, as text (each "-" when undefined). */
struct report_figures {
	char asr[48];	  /* answered / calls, % with 2 decimals */
	char acd[48];	  /* seconds of conversation per answered call, 1 decimal */
	char minutes[48]; /* billed minutes, 2 decimals */
	char revenue[48];
	char cost[48];
	char profit[48];
	char margin[48]; /* profit / revenue, % with 2 decimals */
};

void report_figures(const struct cdr_counts *c, unsigned precision, struct report_figures *fig);

#endif
