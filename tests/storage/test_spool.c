/* SPDX-License-Identifier: MIT */
/*
 * Tests of storage/spool.h: append and replay, torn tails, damaged records,
 * rotation, the ack file and retention, the lock, fsync policies, a failing
 * disk (RLIMIT_FSIZE), and a reader in "another process".
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/spool.h"

static char dir[256];

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/sipring-spool-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(dir));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(spool, .init = setup, .fini = teardown);

static int64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Record i: 8 + i % 200 octets, a header saying i, then a pattern from i. */
static size_t make_rec(uint32_t i, uint8_t *buf)
{
	size_t len = 8 + i % 200;

	memcpy(buf, &i, 4);
	memcpy(buf + 4, "rec:", 4);
	for (size_t k = 8; k < len; k++)
		buf[k] = (uint8_t)(i * 31 + k);
	return len;
}

static void check_rec(uint32_t i, struct sv rec)
{
	uint8_t want[256];
	size_t len = make_rec(i, want);

	cr_assert_eq(rec.len, len, "record %u: length %zu != %zu", i, rec.len, len);
	cr_assert(memcmp(rec.p, want, len) == 0, "record %u: content", i);
}

static struct spool *open_spool(uint64_t seg_bytes, enum spool_fsync fs, uint32_t retain)
{
	struct spool_config cfg = {
		.dir = dir, .fsync = fs, .segment_bytes = seg_bytes, .retain_acked_sec = retain
	};
	struct spool *sp = NULL;
	int r = spool_open(&sp, &cfg);

	cr_assert_eq(r, 0, "spool_open: %s", strerror(-r));
	return sp;
}

static void append_n(struct spool *sp, uint32_t from, uint32_t n, struct spool_pos *ends)
{
	uint8_t buf[256];

	for (uint32_t i = from; i < from + n; i++) {
		size_t len = make_rec(i, buf);
		int r = spool_append(sp, buf, len, ends ? &ends[i] : NULL);
		cr_assert_eq(r, 0, "append %u: %s", i, strerror(-r));
	}
	cr_assert_eq(spool_flush(sp, mono()), 0);
}

/* Read everything from pos with a reader (writer or NULL); check the records are from..; return count. */
static uint32_t read_all(const struct spool *writer, struct spool_pos pos, uint32_t from,
			 struct spool_reader_stats *st)
{
	struct spool_reader *rd;
	struct sv rec;
	struct spool_pos end;
	uint32_t n = 0;
	int r;

	cr_assert_eq(spool_reader_open(&rd, dir, writer, pos), 0);
	while ((r = spool_reader_next(rd, &rec, &end)) == 1) {
		uint32_t id;
		memcpy(&id, rec.p, 4);
		cr_assert_eq(id, from + n, "expected record %u, got %u", from + n, id);
		check_rec(id, rec);
		n++;
	}
	cr_assert_eq(r, 0, "reader: %s", strerror(-r));
	if (st)
		spool_reader_stats(rd, st);
	spool_reader_close(rd);
	return n;
}

static void seg_path(uint64_t seg, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%016" PRIx64 ".seg", dir, seg);
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

Test(spool, positions)
{
	static const struct {
		struct spool_pos a, b;
		int cmp;
	} t[] = {
		{ { 1, 0 }, { 1, SPOOL_HDR_LEN }, 0 }, { { 1, 40 }, { 1, 48 }, -1 },
		{ { 2, 40 }, { 1, 4800 }, 1 },	       { { 3, 0 }, { 3, 0 }, 0 },
		{ { 1, 10 }, { 1, 20 }, 0 }, /* both inside the header: the start */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_eq(spool_pos_cmp(t[i].a, t[i].b), t[i].cmp, "case %zu", i);
		cr_expect_eq(spool_pos_cmp(t[i].b, t[i].a), -t[i].cmp, "case %zu reversed", i);
	}
}

Test(spool, append_replay_reopen)
{
	static struct spool_pos ends[3000];
	struct spool *sp = open_spool(0, SPOOL_FSYNC_NEVER, 0);
	struct spool_reader *rd;
	struct sv rec;
	struct spool_pos end;

	append_n(sp, 0, 3000, ends);
	cr_assert_eq(spool_pos_cmp(spool_end(sp), ends[2999]), 0);
	/* The writer's own reader gives each record with the position append gave. */
	cr_assert_eq(spool_reader_open(&rd, dir, sp, (struct spool_pos){ 0, 0 }), 0);
	for (uint32_t i = 0; i < 3000; i++) {
		cr_assert_eq(spool_reader_next(rd, &rec, &end), 1, "record %u", i);
		check_rec(i, rec);
		cr_assert_eq(spool_pos_cmp(end, ends[i]), 0, "position of %u", i);
	}
	cr_assert_eq(spool_reader_next(rd, &rec, &end), 0);
	/* More appended later is seen by the same reader. */
	append_n(sp, 3000, 5, NULL);
	for (uint32_t i = 3000; i < 3005; i++) {
		cr_assert_eq(spool_reader_next(rd, &rec, &end), 1);
		check_rec(i, rec);
	}
	/* Seek back to the position after record 9: the next is record 10. */
	spool_reader_seek(rd, ends[9]);
	cr_assert_eq(spool_reader_next(rd, &rec, &end), 1);
	check_rec(10, rec);
	spool_reader_close(rd);
	cr_assert_eq(spool_close(sp), 0);

	/* Reopened: a new segment starts, all old records are there for a reader. */
	sp = open_spool(0, SPOOL_FSYNC_NEVER, 0);
	cr_assert_eq(spool_end(sp).seg, 2);
	cr_assert_eq(read_all(NULL, (struct spool_pos){ 0, 0 }, 0, NULL), 3005);
	append_n(sp, 3005, 10, NULL);
	cr_assert_eq(read_all(sp, (struct spool_pos){ 0, 0 }, 0, NULL), 3015);
	struct spool_stats st;
	spool_stats(sp, &st);
	cr_expect_eq(st.appended, 10);
	cr_expect_eq(st.torn_bytes, 0);
	spool_close(sp);
}

Test(spool, torn_or_damaged_tail_is_cut)
{
	static const struct {
		const char *what;
		int kind;      /* 0 cut at offset, 1 flip an octet, 2 append zeros */
		int64_t where; /* from the start of the last record (kind 0, 1) */
	} t[] = {
		{ "cut inside the length", 0, 2 },
		{ "cut inside the crc", 0, 6 },
		{ "cut inside the payload", 0, 20 },
		{ "a flipped crc octet", 1, 5 },
		{ "a flipped payload octet", 1, 12 },
		{ "a flipped length octet", 1, 1 },
		{ "zeros after the end (a file extended, its data never written)", 2, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		static struct spool_pos ends[100];
		char path[512];
		struct spool_stats st;
		uint32_t want = t[i].kind == 2 ? 100 : 99;

		teardown();
		cr_assert_eq(mkdir(dir, 0700), 0);
		struct spool *sp = open_spool(0, SPOOL_FSYNC_NEVER, 0);
		append_n(sp, 0, 100, ends);
		spool_close(sp);
		seg_path(1, path, sizeof(path));
		int64_t last = (int64_t)ends[98].off;
		int fd = open(path, O_RDWR);
		cr_assert_geq(fd, 0);
		if (t[i].kind == 0) {
			cr_assert_eq(ftruncate(fd, last + t[i].where), 0);
		} else if (t[i].kind == 1) {
			uint8_t b;
			cr_assert_eq(pread(fd, &b, 1, last + t[i].where), 1);
			b ^= 0x40;
			cr_assert_eq(pwrite(fd, &b, 1, last + t[i].where), 1);
		} else {
			static const uint8_t zeros[4096];
			cr_assert_eq(pwrite(fd, zeros, sizeof(zeros), file_size(path)),
				     (ssize_t)sizeof(zeros));
		}
		close(fd);

		sp = open_spool(0, SPOOL_FSYNC_NEVER, 0);
		spool_stats(sp, &st);
		cr_expect_gt(st.torn_bytes, 0, "%s", t[i].what);
		cr_expect_eq(file_size(path), (off_t)ends[want - 1].off, "%s: cut at the last good",
			     t[i].what);
		/* New records follow in a new segment; the damaged one is gone, nothing else. */
		append_n(sp, 1000, 3, NULL);
		struct spool_reader *rd;
		struct sv rec;
		struct spool_pos end;
		uint32_t n = 0;
		cr_assert_eq(spool_reader_open(&rd, dir, sp, (struct spool_pos){ 0, 0 }), 0);
		while (spool_reader_next(rd, &rec, &end) == 1) {
			uint32_t id;
			memcpy(&id, rec.p, 4);
			check_rec(id, rec);
			cr_assert_eq(id, n < want ? n : 1000 + (n - want), "%s", t[i].what);
			n++;
		}
		cr_expect_eq(n, want + 3, "%s: %u records", t[i].what, n);
		spool_reader_close(rd);
		spool_close(sp);
	}
}

Test(spool, damage_inside_an_older_segment)
{
	struct spool_pos ends[300];
	char path[512];
	struct spool_reader_stats rs;

	struct spool *sp = open_spool(4096, SPOOL_FSYNC_NEVER, 0);
	append_n(sp, 0, 300, ends);
	cr_assert_geq(ends[299].seg, 4, "several segments");
	/* Damage a record in the middle of segment 2. */
	uint32_t first2 = 0, n2 = 0, victim;
	for (uint32_t i = 0; i < 300; i++) {
		if (ends[i].seg == 2) {
			if (!n2)
				first2 = i;
			n2++;
		}
	}
	cr_assert_geq(n2, 3);
	victim = first2 + n2 / 2;
	seg_path(2, path, sizeof(path));
	int fd = open(path, O_RDWR);
	uint8_t b;
	off_t at = (off_t)ends[victim - 1].off + SPOOL_REC_HDR + 3;
	cr_assert_eq(pread(fd, &b, 1, at), 1);
	b ^= 1;
	cr_assert_eq(pwrite(fd, &b, 1, at), 1);
	close(fd);

	/* Both readers skip the rest of segment 2 and go on with segment 3. */
	for (int foreign = 0; foreign < 2; foreign++) {
		struct spool_reader *rd;
		struct sv rec;
		struct spool_pos end;
		uint32_t expect = 0, n = 0;

		cr_assert_eq(spool_reader_open(&rd, dir, foreign ? NULL : sp,
					       (struct spool_pos){ 0, 0 }),
			     0);
		while (spool_reader_next(rd, &rec, &end) == 1) {
			uint32_t id;
			memcpy(&id, rec.p, 4);
			if (expect == victim)
				expect = first2 + n2; /* the first of segment 3 */
			cr_assert_eq(id, expect, "reader %d", foreign);
			check_rec(id, rec);
			expect++;
			n++;
		}
		spool_reader_stats(rd, &rs);
		cr_expect_eq(rs.corrupt, 1);
		cr_expect_eq(n, 300 - (first2 + n2 - victim));
		spool_reader_close(rd);
	}
	spool_close(sp);
}

Test(spool, rotation)
{
	static const struct {
		uint64_t seg_bytes;
		uint32_t n;
	} t[] = { { 4096, 500 }, { 64 * 1024, 2000 }, { 41, 20 } /* every record alone */ };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct spool_pos ends[2000];
		struct spool_stats st;

		teardown();
		cr_assert_eq(mkdir(dir, 0700), 0);
		struct spool *sp = open_spool(t[i].seg_bytes, SPOOL_FSYNC_INTERVAL, 0);
		append_n(sp, 0, t[i].n, ends);
		spool_stats(sp, &st);
		uint64_t last = ends[t[i].n - 1].seg;
		cr_expect_eq(st.rotations, last - 1);
		for (uint64_t s = 1; s <= last; s++) {
			char path[512];
			seg_path(s, path, sizeof(path));
			off_t size = file_size(path);
			cr_assert_gt(size, SPOOL_HDR_LEN, "segment %llu holds a record",
				     (unsigned long long)s);
			/* Within the size, unless one record alone is bigger. */
			cr_expect(size <= (off_t)t[i].seg_bytes || t[i].seg_bytes < 300,
				  "segment %llu: %lld octets", (unsigned long long)s,
				  (long long)size);
		}
		if (t[i].seg_bytes == 41)
			cr_expect_eq(last, t[i].n);
		cr_expect_eq(read_all(sp, (struct spool_pos){ 0, 0 }, 0, NULL), t[i].n);
		spool_close(sp);
	}
}

Test(spool, ack_persists_and_frees_segments)
{
	static const struct {
		uint32_t retain;
		bool deleted;
	} t[] = { { 0, true }, { 3600, false } };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct spool_pos ends[400];
		struct spool_stats st;
		char path[512];

		teardown();
		cr_assert_eq(mkdir(dir, 0700), 0);
		struct spool *sp = open_spool(4096, SPOOL_FSYNC_ALWAYS, t[i].retain);
		append_n(sp, 0, 400, ends);
		/* Acknowledge up to the middle of segment 3. */
		uint32_t k = 0;
		while (ends[k].seg < 3)
			k++;
		k += 2;
		spool_ack(sp, ends[k]);
		spool_ack(sp, ends[k - 5]); /* backwards: ignored */
		cr_assert_eq(spool_pos_cmp(spool_acked(sp), ends[k]), 0);
		cr_assert_eq(spool_sync_ack(sp), 0);
		spool_stats(sp, &st);
		for (uint64_t s = 1; s <= 3; s++) {
			seg_path(s, path, sizeof(path));
			bool gone = file_size(path) < 0;
			cr_expect_eq(gone, s < 3 && t[i].deleted, "retain %u: segment %llu",
				     t[i].retain, (unsigned long long)s);
		}
		cr_expect_eq(st.deleted, t[i].deleted ? 2 : 0);
		spool_close(sp);

		/* After a restart the ack is where it was, and a replay starts after k. */
		sp = open_spool(4096, SPOOL_FSYNC_ALWAYS, t[i].retain);
		cr_assert_eq(spool_pos_cmp(spool_acked(sp), ends[k]), 0);
		cr_expect_eq(read_all(sp, spool_acked(sp), k + 1, NULL), 400 - k - 1);
		spool_close(sp);
	}
}

Test(spool, ack_file_damaged_or_foreign)
{
	struct spool_pos ends[50];
	char path[512];
	struct spool *sp = open_spool(0, SPOOL_FSYNC_NEVER, 0);

	append_n(sp, 0, 50, ends);
	spool_ack(sp, ends[20]);
	spool_close(sp);
	snprintf(path, sizeof(path), "%s/ack", dir);
	cr_assert_eq(file_size(path), 28);

	/* A flipped octet: the CRC fails, the replay starts from the oldest record. */
	int fd = open(path, O_RDWR);
	uint8_t b;
	cr_assert_eq(pread(fd, &b, 1, 12), 1);
	b ^= 0xff;
	cr_assert_eq(pwrite(fd, &b, 1, 12), 1);
	close(fd);
	sp = open_spool(0, SPOOL_FSYNC_NEVER, 0);
	cr_expect_eq(spool_acked(sp).seg, 1);
	cr_expect_eq(read_all(sp, spool_acked(sp), 0, NULL), 50);
	spool_close(sp);

	/* Not an ack file of ours: refuse to touch the directory. */
	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_eq(write(fd, "hello, this is not an ack file", 30), 30);
	close(fd);
	struct spool_config cfg = { .dir = dir };
	struct spool *sp2 = NULL;
	cr_expect_eq(spool_open(&sp2, &cfg), -EBADMSG);
}

Test(spool, one_writer)
{
	struct spool *a = open_spool(0, SPOOL_FSYNC_NEVER, 0), *b = NULL;
	struct spool_config cfg = { .dir = dir };

	cr_expect_eq(spool_open(&b, &cfg), -EBUSY);
	spool_close(a);
	cr_expect_eq(spool_open(&b, &cfg), 0);
	spool_close(b);
	struct spool_config none = { .dir = "" };
	cr_expect_eq(spool_open(&b, &none), -EINVAL);
	uint8_t big[SPOOL_REC_MAX + 1] = { 0 };
	b = open_spool(0, SPOOL_FSYNC_NEVER, 0);
	cr_expect_eq(spool_append(b, big, 0, NULL), -EINVAL);
	cr_expect_eq(spool_append(b, big, sizeof(big), NULL), -EINVAL);
	cr_expect_eq(spool_append(b, big, SPOOL_REC_MAX, NULL), 0);
	spool_close(b);
}

Test(spool, fsync_policies)
{
	static const struct {
		enum spool_fsync fs;
		uint32_t ms;
		int64_t when[3]; /* now of three flushes after an append each, from open */
		uint64_t fsyncs; /* after them */
	} t[] = {
		{ SPOOL_FSYNC_ALWAYS, 0, { 0, 0, 0 }, 3 },
		{ SPOOL_FSYNC_NEVER, 0, { 0, 100000, 200000 }, 0 },
		/* at most every 1000 ms: now+2000 syncs, +2500 waits, +3000 syncs */
		{ SPOOL_FSYNC_INTERVAL, 1000, { 2000, 2500, 3000 }, 2 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct spool_config cfg = { .dir = dir, .fsync = t[i].fs, .fsync_ms = t[i].ms };
		struct spool_stats st;
		struct spool *sp;
		uint8_t rec[16];

		teardown();
		cr_assert_eq(mkdir(dir, 0700), 0);
		cr_assert_eq(spool_open(&sp, &cfg), 0);
		int64_t t0 = mono();
		for (int k = 0; k < 3; k++) {
			size_t len = make_rec((uint32_t)k, rec);
			cr_assert_eq(spool_append(sp, rec, len, NULL), 0);
			cr_assert_eq(spool_flush(sp, t0 + t[i].when[k]), 0);
		}
		spool_stats(sp, &st);
		cr_expect_eq(st.fsyncs, t[i].fsyncs, "policy %d: %llu fsyncs", t[i].fs,
			     (unsigned long long)st.fsyncs);
		/* Nothing written: no sync, whatever the policy. */
		cr_assert_eq(spool_flush(sp, t0 + 100000), 0);
		spool_stats(sp, &st);
		cr_expect_leq(st.fsyncs, t[i].fsyncs + 1);
		spool_close(sp);
	}
}

Test(spool, write_failure_keeps_records)
{
	struct spool *sp = open_spool(0, SPOOL_FSYNC_NEVER, 0);
	struct rlimit old, lim;
	uint8_t buf[256];
	char path[512];
	int r;

	append_n(sp, 0, 10, NULL);
	seg_path(2 - 1, path, sizeof(path));
	off_t before = file_size(path);
	/* The file may not grow by more than 100 octets: writes fail with EFBIG. */
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)before + 100;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (uint32_t i = 10; i < 20; i++)
		cr_assert_eq(spool_append(sp, buf, make_rec(i, buf), NULL), 0);
	size_t pending = spool_pending(sp);
	r = spool_flush(sp, mono());
	cr_expect_eq(r, -EFBIG, "%s", strerror(-r));
	cr_expect_eq(file_size(path), before, "a partial write is cut back");
	cr_expect_eq(spool_pending(sp), pending, "and the records are kept");
	struct spool_stats st;
	spool_stats(sp, &st);
	cr_expect_eq(st.write_errors, 1);
	/* Room again: the same records are written once. */
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	cr_assert_eq(spool_flush(sp, mono()), 0);
	cr_expect_eq(read_all(sp, (struct spool_pos){ 0, 0 }, 0, NULL), 20);
	spool_close(sp);
}

Test(spool, foreign_reader_waits_for_an_incomplete_record)
{
	struct spool_pos ends[5];
	char path[512];
	uint8_t frame[64];
	struct spool_reader *rd;
	struct sv rec;
	struct spool_pos end;
	struct spool_reader_stats rs;

	struct spool *sp = open_spool(0, SPOOL_FSYNC_NEVER, 0);
	append_n(sp, 0, 5, ends);
	cr_assert_eq(spool_reader_open(&rd, dir, NULL, (struct spool_pos){ 0, 0 }), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(spool_reader_next(rd, &rec, &end), 1);
	/* What a reader in another process may see: half of a record being written. */
	uint8_t one[256];
	size_t len = make_rec(5, one);
	cr_assert_eq(spool_append(sp, one, len, NULL), 0);
	cr_assert_eq(spool_flush(sp, mono()), 0);
	seg_path(1, path, sizeof(path));
	int fd = open(path, O_RDONLY);
	cr_assert_eq(pread(fd, frame, 20, (off_t)ends[4].off), 20);
	close(fd);
	fd = open(path, O_WRONLY);
	cr_assert_eq(ftruncate(fd, (off_t)ends[4].off + 10), 0);
	close(fd);
	cr_expect_eq(spool_reader_next(rd, &rec, &end), 0, "not yet");
	spool_reader_stats(rd, &rs);
	cr_expect_eq(rs.corrupt, 0);
	/* The rest arrives. */
	fd = open(path, O_WRONLY | O_APPEND);
	uint8_t full[SPOOL_REC_HDR + 256];
	memcpy(full, frame, 20);
	memcpy(full + SPOOL_REC_HDR, one, len);
	cr_assert_eq(write(fd, full + 10, SPOOL_REC_HDR + len - 10),
		     (ssize_t)(SPOOL_REC_HDR + len - 10));
	close(fd);
	cr_assert_eq(spool_reader_next(rd, &rec, &end), 1);
	check_rec(5, rec);
	spool_reader_close(rd);
	spool_close(sp);
}
