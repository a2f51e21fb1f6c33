/* SPDX-License-Identifier: MIT */
/*
 * cdr.h: the call detail record, its identity, its binary form, its stream
 * fields and the profit counters it feeds.
 *
 * One record per call attempt, answered or failed. Call control fills a
 * `struct cdr` whose strings are views into its own memory and hands it to the
 * flusher (cdr_flusher.h), which copies it once, by encoding it, into a ring
 * slot; from there the same octets go to the disk spool (spool.h) and, through
 * cdr_redis.h, to the Redis stream and counters. Decoding gives a `struct cdr`
 * again, whose views point into the encoded octets.
 *
 * Identity. A record's id is (node, boot, seq): the node id from configuration
 * (unique per sipring node sharing a Redis), the boot epoch (microseconds since
 * the Unix epoch when the flusher started, made strictly larger than the
 * previous boot's by the flusher even if the clock went back) and a sequence
 * number counting from 1 in that boot. Its text form is "<node>-<boot>-<seq>" in
 * decimal, e.g. "7-1718101234567890-42". The flusher assigns ids in spool order,
 * so within one (node, boot) a larger seq is a later record; the Redis side
 * relies on it to make a replay idempotent (docs/redis.md).
 *
 * Money is int64 micro-units (1 unit = 1,000,000). Times are milliseconds since
 * the Unix epoch, UTC; 0 means "did not happen" (no ringing, not answered).
 * A record's day is the UTC date of its setup time.
 *
 * Binary form (little-endian, version 1), what the ring and the spool carry:
 *
 *   off size field             off size field
 *   0   1    version (1)       40  8    setup_ms
 *   1   1    side              48  8    ringing_ms
 *   2   2    node              56  8    answer_ms
 *   4   2    sip_code          64  8    end_ms
 *   6   1    q850              72  8    revenue
 *   7   1    attempt           80  8    cost
 *   8   4    flags             88  ...  8 strings, each a u8 length then the
 *   12  4    cust_billed_s              octets: call_id, customer, vendor,
 *   16  4    vend_billed_s              gateway, dialled, routed, cust_prefix,
 *   20  4    reserved (0)               vend_prefix
 *   24  8    boot
 *   32  8    seq
 *
 * Every function here is pure: no I/O, no allocation, no shared state; any
 * thread may call any of them.
 */
#ifndef SIPRING_CDR_H
#define SIPRING_CDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parsers/sv.h"

#define CDR_VERSION   1
#define CDR_ENC_FIXED 88

/* The longest each string may be; cdr_encode() refuses a longer one. */
#define CDR_MAX_CALL_ID 128
#define CDR_MAX_NAME	64 /* customer, vendor, gateway */
#define CDR_MAX_NUMBER	64 /* dialled, routed */
#define CDR_MAX_PREFIX	32 /* cust_prefix, vend_prefix */

/* The longest encoded record: the fixed part, 8 length octets, every string full. */
#define CDR_ENC_MAX                                                                    \
	(CDR_ENC_FIXED + 8 + CDR_MAX_CALL_ID + 3 * CDR_MAX_NAME + 2 * CDR_MAX_NUMBER + \
	 2 * CDR_MAX_PREFIX)

/* The longest text form of an id: 5 + 1 + 20 + 1 + 20 digits and dashes. */
#define CDR_ID_MAX 48

struct cdr_id {
	uint16_t node;
	uint64_t boot; /* microseconds since the Unix epoch at the flusher's start */
	uint64_t seq;  /* 1, 2, ... within the boot; 0 = not assigned yet */
};

/* Who ended the call. */
enum cdr_side {
	CDR_SIDE_NONE = 0, /* unknown */
	CDR_SIDE_CALLER,   /* the customer's side (BYE or CANCEL from the caller) */
	CDR_SIDE_CALLEE,   /* the vendor's side (BYE, or a final failure response) */
	CDR_SIDE_SWITCH,   /* sipring itself (no route, timeout, limit, shutdown) */
};

/*
 * This attempt failed and call control went on to another vendor: the customer's
 * call continues in a later record. Customer and destination counters count the
 * call once, on its last attempt; vendor and gateway counters count every attempt.
 */
#define CDR_F_REROUTED 0x1u

struct cdr {
	struct cdr_id id; /* assigned by the flusher; producers leave it zero */
	int64_t setup_ms; /* INVITE received from the customer */
	int64_t ringing_ms;
	int64_t answer_ms;
	int64_t end_ms;		/* BYE, CANCEL or final failure */
	uint32_t cust_billed_s; /* seconds billed to the customer (after rounding) */
	uint32_t vend_billed_s; /* seconds the vendor bills us */
	int64_t revenue;	/* micro-units charged to the customer */
	int64_t cost;		/* micro-units the vendor charges */
	uint16_t sip_code;	/* final SIP status toward the customer (200 answered) */
	uint8_t q850;		/* Q.850 cause (16 normal clearing), 0 unknown */
	uint8_t side;		/* enum cdr_side */
	uint8_t attempt;	/* 1 for the first vendor tried, 2 for the next, ... */
	uint32_t flags;		/* CDR_F_* */
	struct sv call_id;	/* the customer leg's Call-ID */
	struct sv customer;	/* account id of the customer */
	struct sv vendor;	/* account id of the vendor, empty if no route */
	struct sv gateway;	/* the vendor gateway tried, empty if none */
	struct sv dialled;	/* the number as the customer sent it */
	struct sv routed;	/* the number as sent to the vendor */
	struct sv cust_prefix;	/* the customer rate's prefix: the destination */
	struct sv vend_prefix;	/* the vendor rate's prefix */
};

/*
 * Encode c into buf (cap octets). Returns the encoded length (> 0), -EMSGSIZE
 * when a string is longer than its CDR_MAX_* (nothing useful is written), or
 * -ENOBUFS when cap is too small (CDR_ENC_MAX always suffices).
 */
int cdr_encode(const struct cdr *c, void *buf, size_t cap);

/*
 * Decode exactly len octets at buf into c, whose string views then point into
 * buf. Returns 0, or -EBADMSG when the octets are not one version-1 record
 * (wrong version, reserved octets not 0, a string running past the end, octets
 * left over, a string longer than its maximum). What decodes encodes back to
 * the same octets.
 */
int cdr_decode(const void *buf, size_t len, struct cdr *c);

/* Write id into an encoded record in place (len >= CDR_ENC_FIXED). */
void cdr_set_id(void *buf, struct cdr_id id);

/* Read the id of an encoded record (len >= CDR_ENC_FIXED) without decoding it. */
struct cdr_id cdr_get_id(const void *buf);

/* "<node>-<boot>-<seq>" into buf (cap >= CDR_ID_MAX); returns its length. */
size_t cdr_id_format(struct cdr_id id, char *buf, size_t cap);

/* Parse the text form; returns 0 or -EINVAL. */
int cdr_id_parse(struct sv s, struct cdr_id *id);

/* Answered: answer_ms != 0. */
static inline bool cdr_answered(const struct cdr *c)
{
	return c->answer_ms != 0;
}

/* Conversation time, answer to end, in ms; 0 if not answered (or clocks disagree). */
int64_t cdr_duration_ms(const struct cdr *c);

/* Post-dial delay: setup to ringing, or to answer without ringing; 0 if neither. */
int64_t cdr_pdd_ms(const struct cdr *c);

/* revenue - cost, wrapping (never undefined) for amounts no switch will see. */
static inline int64_t cdr_profit(const struct cdr *c)
{
	return (int64_t)((uint64_t)c->revenue - (uint64_t)c->cost);
}

/* "caller", "callee", "switch", or "" for CDR_SIDE_NONE and unknown values. */
const char *cdr_side_name(unsigned side);

/* ---- days (UTC) ---- */

/* Days since 1970-01-01 of the UTC date holding ms (floor, so negative before 1970). */
int32_t cdr_day(int64_t ms);

/* "YYYY-MM-DD" and a NUL into buf[11]; returns 10. */
size_t cdr_day_format(int32_t day, char buf[11]);

/* Parse "YYYY-MM-DD" (a real date, years 1970-9999); returns 0 or -EINVAL. */
int cdr_day_parse(struct sv s, int32_t *day);

/* ---- profit counters ---- */

enum cdr_dim {
	CDR_DIM_CUSTOMER = 0,
	CDR_DIM_VENDOR,
	CDR_DIM_GATEWAY,
	CDR_DIM_DEST, /* the customer rate's prefix */
	CDR_NDIM,
};

/* "customer", "vendor", "gateway", "dest": the names used in Redis keys. */
const char *cdr_dim_name(enum cdr_dim dim);

/* Parse a dimension name (also "destination" for "dest"); returns 0 or -EINVAL. */
int cdr_dim_parse(struct sv s, enum cdr_dim *dim);

/*
 * The counters of one (day, dimension, key). Seconds are billed seconds of the
 * side the dimension belongs to: customer-billed for customer and dest,
 * vendor-billed for vendor and gateway. duration_ms is conversation time, for
 * the ACD.
 */
struct cdr_counts {
	int64_t calls;
	int64_t answered;
	int64_t seconds;
	int64_t duration_ms;
	int64_t revenue;
	int64_t cost;
	int64_t profit;
};

#define CDR_NCOUNTS 7

/* "calls", "answered", "seconds", "duration_ms", "revenue", "cost", "profit". */
extern const char *const cdr_count_names[CDR_NCOUNTS];

/* The counters as an array in cdr_count_names order. */
static inline int64_t *cdr_counts_at(struct cdr_counts *k, unsigned i)
{
	int64_t *a[CDR_NCOUNTS] = { &k->calls,	 &k->answered, &k->seconds, &k->duration_ms,
				    &k->revenue, &k->cost,     &k->profit };
	return a[i];
}

/*
 * What c adds to the counters of dimension dim: sets *key (a view into c) and
 * *delta and returns true, or returns false when c does not count there (its
 * key for the dimension is empty, or it adds nothing: a rerouted attempt that
 * cost nothing, on the customer's side). These are the rules the Redis script applies
 * (cdr_redis.h); a report from the spool applies them through this function.
 */
bool cdr_count(const struct cdr *c, enum cdr_dim dim, struct sv *key, struct cdr_counts *delta);

void cdr_counts_add(struct cdr_counts *sum, const struct cdr_counts *d);

/* ---- stream fields ---- */

/*
 * A stream entry holds these fields, in this order, all as text: id, call_id,
 * customer, vendor, gateway, dialled, routed, cust_prefix, vend_prefix, setup,
 * ringing, answer, end, duration_ms, pdd_ms, billed, vend_billed, revenue, cost,
 * profit, sip_code, q850, side, attempt, flags (docs/redis.md).
 */
#define CDR_NFIELDS 25

/* Index of each field in cdr_field_names and in the values cdr_fields() makes. */
enum cdr_field {
	CDR_FLD_ID = 0,
	CDR_FLD_CALL_ID,
	CDR_FLD_CUSTOMER,
	CDR_FLD_VENDOR,
	CDR_FLD_GATEWAY,
	CDR_FLD_DIALLED,
	CDR_FLD_ROUTED,
	CDR_FLD_CUST_PREFIX,
	CDR_FLD_VEND_PREFIX,
	CDR_FLD_SETUP,
	CDR_FLD_RINGING,
	CDR_FLD_ANSWER,
	CDR_FLD_END,
	CDR_FLD_DURATION,
	CDR_FLD_PDD,
	CDR_FLD_BILLED,
	CDR_FLD_VEND_BILLED,
	CDR_FLD_REVENUE,
	CDR_FLD_COST,
	CDR_FLD_PROFIT,
	CDR_FLD_SIP_CODE,
	CDR_FLD_Q850,
	CDR_FLD_SIDE,
	CDR_FLD_ATTEMPT,
	CDR_FLD_FLAGS,
};

extern const char *const cdr_field_names[CDR_NFIELDS];

/* Scratch that cdr_fields() always finds enough: the numbers and the id. */
#define CDR_FIELDS_SCRATCH 384

/*
 * The values of c's stream fields: strings are c's own views, numbers are
 * written as decimal into scratch. Returns 0, or -ENOBUFS if cap < CDR_FIELDS_SCRATCH.
 */
int cdr_fields(const struct cdr *c, char *scratch, size_t cap, struct sv vals[CDR_NFIELDS]);

/*
 * The record as one CSV line (RFC 4180, no line end): the CDR_NFIELDS values
 * of cdr_fields() in that order, separated by ','; a value holding ',', '"',
 * CR or LF is quoted, its '"' doubled. Returns the length, or -ENOBUFS when cap
 * is below CDR_CSV_MAX (the longest line: every string full and quoted).
 */
#define CDR_CSV_MAX (2 * (CDR_ENC_MAX - CDR_ENC_FIXED) + CDR_FIELDS_SCRATCH + CDR_NFIELDS)
int cdr_csv(const struct cdr *c, char *buf, size_t cap);

#endif
