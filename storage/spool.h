/* SPDX-License-Identifier: MIT */
/*
 * spool.h: an append-only, checksummed, rotated log of records on local disk.
 *
 * The CDR flusher writes every record here before it sends it anywhere, and
 * keeps it until Redis has acknowledged it; after an outage or a restart it
 * replays what was not acknowledged. Without Redis the spool is the export: its
 * segments are what an operator collects, and nothing unacknowledged is ever
 * deleted. The spool knows nothing of CDRs: a record is octets.
 *
 * On disk (all integers little-endian), in one directory:
 *
 *   LOCK                   held with flock() by the one writer
 *   0000000000000001.seg   segments, numbered from 1, hex, in write order
 *   0000000000000002.seg
 *   ack                    the acknowledged position, replaced by rename()
 *
 *   segment: ┌──────────── header, 32 octets ─────────────┐┌─ record ─┐┌─ record ─┐
 *            │ "SIPRSEG1" │ seg u64 │ created_us u64 │ 0 u32 │ crc u32 ││ len │ crc │ payload ...
 *            └────────────────────────────────────────────┘└─ u32 ─ u32 ─ len octets
 *
 *   header crc = CRC-32C of its first 28 octets; record crc = CRC-32C of the
 *   4 length octets followed by the payload; 0 < len <= SPOOL_REC_MAX.
 *
 *   ack: "SIPRACK1" │ seg u64 │ off u64 │ crc u32 (CRC-32C of the first 24 octets)
 *
 * A position is (segment, offset of the next record); every record before it
 * (in segment then offset order) is covered. The ack file holds the position up
 * to which the records were acknowledged; it is written to "ack.tmp" and renamed
 * over "ack", so it is either the old or the new one, never a mix.
 *
 * Crash safety. A writer that dies (SIGKILL, power loss) can leave a torn
 * record at the end of the last segment: spool_open() scans that segment and
 * truncates it at the first record that is incomplete or fails its CRC, then
 * starts a new segment; it never appends to an old one. A damaged record inside
 * an older segment (not a torn tail: segments are complete when rotated) makes
 * a reader skip the rest of that segment and count it; there is no reliable way
 * to find the next record boundary after a bad length.
 *
 * Durability (enum spool_fsync). Records are appended to a memory buffer and
 * written to the file by spool_flush(), which the flusher calls once per round.
 * A written record survives the death of the process whatever the policy; the
 * policy says what survives the death of the machine:
 *   SPOOL_FSYNC_ALWAYS    fdatasync() in every spool_flush() that wrote
 *                         something, and for the ack file and the directory;
 *   SPOOL_FSYNC_INTERVAL  fdatasync() at most every fsync_ms (and on rotation
 *                         and close): at most that much is lost;
 *   SPOOL_FSYNC_NEVER     left to the kernel's writeback.
 *
 * Rotation: a record that would take the current segment past segment_bytes
 * goes into a new one (a segment holds at least one record). Retention: a
 * segment whose every record is acknowledged is deleted when the ack file is
 * next written, or kept for retain_acked_sec after its last write (for reports
 * from the spool). Unacknowledged segments are never deleted.
 *
 * Threads: a struct spool and a struct spool_reader belong to one thread each.
 * A reader may run in another process than the writer (reports); it then sees
 * what the writer has flushed, and treats an incomplete record at the end of the
 * newest segment as "not yet", not as damage.
 */
#ifndef SIPRING_SPOOL_H
#define SIPRING_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parsers/sv.h"

#define SPOOL_HDR_LEN	  32
#define SPOOL_REC_HDR	  8
#define SPOOL_REC_MAX	  65536
#define SPOOL_DEFAULT_SEG (64u << 20)

enum spool_fsync {
	SPOOL_FSYNC_ALWAYS = 0,
	SPOOL_FSYNC_INTERVAL,
	SPOOL_FSYNC_NEVER,
};

struct spool_config {
	const char *dir;	   /* created (one level) if missing */
	enum spool_fsync fsync;	   /* default ALWAYS */
	uint32_t fsync_ms;	   /* for SPOOL_FSYNC_INTERVAL; 0 means 100 */
	uint64_t segment_bytes;	   /* rotation size; 0 means SPOOL_DEFAULT_SEG */
	uint32_t retain_acked_sec; /* keep acknowledged segments this long; 0 = delete */
};

struct spool_pos {
	uint64_t seg;
	uint64_t off;
};

/* a < b: -1, a == b: 0, a > b: 1. Offsets below SPOOL_HDR_LEN equal SPOOL_HDR_LEN. */
int spool_pos_cmp(struct spool_pos a, struct spool_pos b);

struct spool_stats {
	uint64_t appended;     /* records appended since open */
	uint64_t bytes;	       /* octets written to segments, framing included */
	uint64_t fsyncs;       /* fdatasync() calls on segments */
	uint64_t rotations;    /* segments started after the first */
	uint64_t deleted;      /* segments deleted as acknowledged */
	uint64_t torn_bytes;   /* octets cut from the end of the last segment at open */
	uint64_t write_errors; /* failed spool_flush() calls */
};

struct spool;

/*
 * Open (creating if needed) the spool in cfg->dir for writing: take the LOCK,
 * load the ack, repair the last segment's tail, start a new segment. Returns 0
 * and *out, -EBUSY when another process holds the spool, -EBADMSG when a
 * segment or ack file is not one of ours (nothing is touched), or another
 * -errno of the file system. The config strings are copied.
 */
int spool_open(struct spool **out, const struct spool_config *cfg);

/*
 * Flush (fsync unless NEVER), persist the ack, release the lock, free. Returns
 * 0 or the first error met; sp is freed either way. NULL is allowed.
 */
int spool_close(struct spool *sp);

/*
 * Append one record of len octets (0 < len <= SPOOL_REC_MAX) to the buffer,
 * rotating first if it would not fit in the current segment. *end (may be NULL)
 * receives the position just after it. Returns 0, -EINVAL (len), or an error of
 * a flush it had to do (the record is then not appended).
 */
int spool_append(struct spool *sp, const void *rec, size_t len, struct spool_pos *end);

/*
 * Write the buffer to the current segment and apply the fsync policy (now_ms is
 * a CLOCK_MONOTONIC time in ms, for SPOOL_FSYNC_INTERVAL). Returns 0, or -errno
 * (-ENOSPC, -EIO, ...): then the segment is cut back to where it was and the
 * buffer is kept, so a later call retries the same octets.
 */
int spool_flush(struct spool *sp, int64_t now_ms);

/* Octets appended but not yet written by spool_flush(). */
size_t spool_pending(const struct spool *sp);

/*
 * Record that everything before pos is acknowledged (in memory; pos must not go
 * backwards, an older pos is ignored). spool_sync_ack() makes it durable.
 */
void spool_ack(struct spool *sp, struct spool_pos pos);

/* The acknowledged position in memory (where a replay starts). */
struct spool_pos spool_acked(const struct spool *sp);

/* The position after the last appended record (written or not). */
struct spool_pos spool_end(const struct spool *sp);

/*
 * Write the ack file if the ack moved since it was last written, then delete
 * the segments the retention policy lets go. Returns 0 or -errno.
 */
int spool_sync_ack(struct spool *sp);

void spool_stats(const struct spool *sp, struct spool_stats *st);

/* The spool's directory (as configured), for files that live beside it. */
const char *spool_dir(const struct spool *sp);

/* ---- reading ---- */

struct spool_reader_stats {
	uint64_t records;
	uint64_t corrupt; /* damaged records or headers: the rest of a segment skipped */
};

struct spool_reader;

/*
 * Open a reader of dir positioned at from ({0, 0}: the oldest segment). When
 * writer is the spool of the same thread, the reader knows the newest segment
 * from it; otherwise (another process) it lists the directory. Returns 0 and
 * *out, -ENOENT when dir does not exist, -ENOMEM.
 */
int spool_reader_open(struct spool_reader **out, const char *dir, const struct spool *writer,
		      struct spool_pos from);

void spool_reader_close(struct spool_reader *r);

/*
 * The next record: returns 1 and sets *rec (a view valid until the next call)
 * and *end (the position after it); 0 when there is nothing more for now
 * (call again later: the writer may append); or -errno of the file system.
 * Damaged records are skipped as described above and counted.
 */
int spool_reader_next(struct spool_reader *r, struct sv *rec, struct spool_pos *end);

/* Move to pos (the next call returns the record at pos). */
void spool_reader_seek(struct spool_reader *r, struct spool_pos pos);

void spool_reader_stats(const struct spool_reader *r, struct spool_reader_stats *st);

#endif
