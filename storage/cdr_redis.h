/* SPDX-License-Identifier: MIT */
/*
 * cdr_redis.h: what the CDR flusher says to Redis, as octets, without I/O.
 *
 * The flusher sends two kinds of batches, each one EVALSHA of the same Lua
 * script (cdr_redis_script()), each covering records of one (node, boot) with
 * seqs a..b:
 *   - a records batch XADDs each record to the stream "<prefix>cdr" (MAXLEN ~
 *     n when n > 0): one field "cdr" holding the record as CSV
 *     (CDR_STREAM_CSV, cdr_csv()), or the CDR_NFIELDS named fields of
 *     cdr_fields() (CDR_STREAM_FIELDS: friendlier, several times the server's
 *     work per CDR);
 *   - a counters batch adds the profit counters of its records, summed here by
 *     (day, dimension, key) with the rules of cdr_count(), with one HINCRBY per
 *     hash field: hash "<prefix>stats:<YYYY-MM-DD>:<dim>", field
 *     "<key>:<counter>", a 64-bit integer (micro-units for money); a zero sum
 *     is not sent, a missing field reads as 0; with stats_ttl_sec > 0 each hash
 *     touched gets that TTL. A counters batch usually covers many records
 *     batches (the flusher's stats window): its cost follows the number of
 *     distinct keys, not of CDRs.
 * Each kind has its own high-water mark in the hash "<prefix>cdr:hwm": field
 * "<node>-<boot>" for records, "<node>-<boot>:c" for counters, holding the last
 * seq applied. The script reads the mark h, decides, applies atomically, sets
 * the mark to b and answers {n, b}.
 *
 * Idempotence. A batch carries `prev`: the seq of the record of the same boot
 * that comes just before a in the spool (the seqs between prev and a do not
 * exist there), or -1 when the sender does not know it (the first batch after
 * a reconnect or a restart). The script answers {code, h}:
 *   b <= h                       {0, h}   all already in Redis: nothing done
 *   a <= h < b                   {-2, h}  some of it in Redis: nothing done;
 *                                         send again without the seqs <= h
 *   prev >= 0 and h < prev       {-1, h}  Redis lacks records before a (an
 *                                         earlier batch was refused): nothing
 *                                         done; send again from the acked point
 *   otherwise (h < a)            {n, b}   applied
 * A batch is applied whole or not at all, and only right after what Redis
 * already has: counting a record twice, or a later batch overtaking a refused
 * one in a pipeline, cannot happen.
 *
 * The command is built in RESP directly into a buffer the batch owns (no
 * argv arrays, no hiredis formatting), ready for redisAppendFormattedCommand()
 * or a write(). KEYS: the stream, the mark hash. ARGV: maxlen, the mark field,
 * stats TTL, format ("csv" or "fields"), prev, a, b, n, the number x of records
 * that follow (n for records, 0 for counters), the records (one value each in
 * csv, CDR_NFIELDS in fields), the number of counter hashes, then per hash:
 * its name, its number of fields, and (field, delta) pairs. The counter hashes
 * are not in KEYS: Redis Cluster is not supported (one primary, with replicas
 * or Sentinel, is).
 *
 * Threads: a batch belongs to one thread. The functions without a batch are
 * pure.
 */
#ifndef SIPRING_CDR_REDIS_H
#define SIPRING_CDR_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "cdr.h"
#include "parsers/sv.h"

#define CDR_REDIS_PREFIX     "sipring:"
#define CDR_REDIS_PREFIX_MAX 64
#define CDR_REDIS_KEY_MAX    (CDR_REDIS_PREFIX_MAX + 32)

/* Room for the script text; cdr_redis_script() fails with -ENOBUFS below it. */
#define CDR_REDIS_SCRIPT_MAX 4096

/* The script's answers (the first element of its array reply). */
#define CDR_REDIS_GAP	  (-1)
#define CDR_REDIS_PARTIAL (-2)

enum cdr_stream_format {
	CDR_STREAM_CSV = 0, /* one field "cdr": the CSV line of cdr_csv() */
	CDR_STREAM_FIELDS,  /* the CDR_NFIELDS fields of cdr_fields(), named */
};

struct cdr_redis_cfg {
	const char *prefix;	/* key prefix; NULL or "" means CDR_REDIS_PREFIX */
	uint32_t maxlen;	/* stream MAXLEN ~; 0 = unbounded */
	uint32_t stats_ttl_sec; /* TTL of the counter hashes; 0 = none */
	enum cdr_stream_format format;
};

/* The Lua script into buf; returns its length or -ENOBUFS. */
int cdr_redis_script(char *buf, size_t cap);

/*
 * Keys, NUL-terminated into buf (cap >= CDR_REDIS_KEY_MAX); each returns the
 * length, or -ENAMETOOLONG when the prefix is longer than CDR_REDIS_PREFIX_MAX.
 */
int cdr_redis_stream_key(char *buf, size_t cap, const char *prefix);
int cdr_redis_hwm_key(char *buf, size_t cap, const char *prefix);
int cdr_redis_stats_key(char *buf, size_t cap, const char *prefix, int32_t day, enum cdr_dim dim);

/*
 * Split a counter hash field "<key>:<counter>" (the counter is after the last
 * colon, so keys may hold colons). Returns 0 with *key and *counter (an index
 * of cdr_count_names), or -EINVAL for a field that is not one of ours.
 */
int cdr_redis_field_split(struct sv field, struct sv *key, unsigned *counter);

struct cdr_redis_agg; /* the counters of the batch, by (day, dimension, key) */

enum cdr_redis_kind {
	CDR_REDIS_RECORDS = 0, /* stream entries */
	CDR_REDIS_COUNTERS,    /* profit counters */
};

struct cdr_redis_batch {
	char *buf; /* the command; buf[0..CDR_REDIS_HEAD) is kept for its head */
	size_t len;
	size_t cap;
	const char *cmd; /* after cdr_redis_batch_finish(): the command, inside buf */
	size_t cmd_len;
	enum cdr_redis_kind kind;
	unsigned n;	    /* records added */
	uint16_t node;	    /* of every record */
	uint64_t boot;	    /* of every record */
	int64_t prev;	    /* as given to begin */
	uint64_t first_seq; /* a */
	uint64_t last_seq;  /* b */
	const struct cdr_redis_cfg *cfg;
	struct sv sha;
	struct cdr_redis_agg *agg; /* open addressing, agg_cap a power of two */
	size_t agg_n, agg_cap;
};

/* Octets kept at the start of the buffer for the head, written last. */
#define CDR_REDIS_HEAD 512

void cdr_redis_batch_init(struct cdr_redis_batch *b);
void cdr_redis_batch_fini(struct cdr_redis_batch *b);

/*
 * Start a batch of `kind` for records of (node, boot) after `prev` (-1:
 * unknown). sha is the 40 hex digits SCRIPT LOAD answered; cfg and sha must
 * live until finish. Returns 0, -ENAMETOOLONG (prefix), -EINVAL (sha), -ENOMEM.
 */
int cdr_redis_batch_begin(struct cdr_redis_batch *b, const struct cdr_redis_cfg *cfg, struct sv sha,
			  enum cdr_redis_kind kind, uint16_t node, uint64_t boot, int64_t prev);

/*
 * Add c (decoded, with its id). Returns 0, -EXDEV when c's (node, boot) is not
 * the batch's (start another batch), -EINVAL when its seq does not increase,
 * -ENOMEM.
 */
int cdr_redis_batch_add(struct cdr_redis_batch *b, const struct cdr *c);

/*
 * Append the counters and write the head; then b->cmd / b->cmd_len hold the
 * command. Returns 0, -EINVAL (no record), -ENOMEM.
 */
int cdr_redis_batch_finish(struct cdr_redis_batch *b);

#endif
