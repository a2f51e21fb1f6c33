/* SPDX-License-Identifier: MIT */
/* spool.c: see spool.h. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"

#define SPOOL_BUF	 (256u << 10)
#define SPOOL_ACK_LEN	 28
#define SPOOL_NAME_LEN	 20 /* 16 hex digits and ".seg" */
#define SPOOL_READ_CHUNK (256u << 10)

static const char seg_magic[8] = { 'S', 'I', 'P', 'R', 'S', 'E', 'G', '1' };
static const char ack_magic[8] = { 'S', 'I', 'P', 'R', 'A', 'C', 'K', '1' };

struct spool {
	char *dir;
	int dirfd;
	int lockfd;
	int fd; /* current segment, O_APPEND */
	enum spool_fsync fsync;
	uint32_t fsync_ms;
	uint64_t seg_bytes;
	uint32_t retain;
	uint64_t first_seg; /* oldest segment that may still exist */
	uint64_t seg;	    /* current segment */
	uint64_t size;	    /* its octets on disk */
	uint8_t *buf;	    /* appended, not yet written */
	size_t len;
	size_t cap;
	bool dirty; /* written since the last fdatasync() */
	int64_t last_sync_ms;
	struct spool_pos ack;	    /* in memory */
	struct spool_pos ack_saved; /* in the ack file */
	struct spool_stats st;
};

struct spool_reader {
	int dirfd;
	const struct spool *w;
	uint64_t *segs; /* the last directory listing, ascending */
	size_t nsegs;
	uint64_t seg;
	int fd;
	uint64_t off; /* file offset of the next record */
	uint8_t *buf;
	size_t cap;
	uint64_t bstart; /* file offset of buf[0] */
	size_t blen;
	struct spool_reader_stats st;
};

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int64_t now_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int spool_pos_cmp(struct spool_pos a, struct spool_pos b)
{
	if (a.off < SPOOL_HDR_LEN)
		a.off = SPOOL_HDR_LEN;
	if (b.off < SPOOL_HDR_LEN)
		b.off = SPOOL_HDR_LEN;
	if (a.seg != b.seg)
		return a.seg < b.seg ? -1 : 1;
	if (a.off != b.off)
		return a.off < b.off ? -1 : 1;
	return 0;
}

static void seg_name(uint64_t seg, char name[SPOOL_NAME_LEN + 1])
{
	snprintf(name, SPOOL_NAME_LEN + 1, "%016" PRIx64 ".seg", seg);
}

static bool seg_parse(const char *name, uint64_t *seg)
{
	uint64_t v = 0;

	if (strlen(name) != SPOOL_NAME_LEN || strcmp(name + 16, ".seg") != 0)
		return false;
	for (int i = 0; i < 16; i++) {
		char c = name[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*seg = v;
	return v != 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The segments in dirfd, ascending, into a malloc'd array (NULL when none). */
static int seg_list(int dirfd, uint64_t **out, size_t *n)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	uint64_t *v = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		close(fd);
		return r;
	}
	while ((e = readdir(d)) != NULL) {
		uint64_t s;

		if (!seg_parse(e->d_name, &s))
			continue;
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 64;
			uint64_t *nv = realloc(v, nc * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = nc;
		}
		v[len++] = s;
	}
	closedir(d);
	if (len)
		qsort(v, len, sizeof(*v), cmp_u64);
	*out = v;
	*n = len;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static ssize_t pread_full(int fd, uint8_t *p, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, p + got, len - got, (off_t)(off + got));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static bool hdr_valid(const uint8_t *h, uint64_t seg)
{
	return memcmp(h, seg_magic, 8) == 0 && get64(h + 8) == seg &&
	       crc32c(0, h, 28) == get32(h + 28);
}

/*
 * The record at p with avail octets: 1 valid (*reclen = framing + payload), 0
 * incomplete (avail too short for what its length says), -1 damaged.
 */
static int rec_check(const uint8_t *p, size_t avail, size_t *reclen)
{
	uint32_t len;

	if (avail < SPOOL_REC_HDR)
		return 0;
	len = get32(p);
	if (len == 0 || len > SPOOL_REC_MAX)
		return -1;
	if (avail < SPOOL_REC_HDR + (size_t)len)
		return 0;
	if (crc32c(crc32c(0, p, 4), p + SPOOL_REC_HDR, len) != get32(p + 4))
		return -1;
	*reclen = SPOOL_REC_HDR + len;
	return 1;
}

static int fsync_dir(struct spool *sp)
{
	return fsync(sp->dirfd) == 0 ? 0 : -errno;
}

/* Create segment sp->seg with its header and make it current. */
static int seg_create(struct spool *sp)
{
	char name[SPOOL_NAME_LEN + 1];
	uint8_t h[SPOOL_HDR_LEN];
	int fd, r;

	seg_name(sp->seg, name);
	fd = openat(sp->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	memcpy(h, seg_magic, 8);
	put64(h + 8, sp->seg);
	put64(h + 16, (uint64_t)now_wall_us());
	put32(h + 24, 0);
	put32(h + 28, crc32c(0, h, 28));
	r = write_all(fd, h, sizeof(h));
	if (r == 0 && sp->fsync != SPOOL_FSYNC_NEVER)
		r = fdatasync(fd) == 0 ? fsync_dir(sp) : -errno;
	if (r) {
		close(fd);
		unlinkat(sp->dirfd, name, 0);
		return r;
	}
	sp->fd = fd;
	sp->size = SPOOL_HDR_LEN;
	sp->dirty = false;
	return 0;
}

/* Write the buffer; on failure cut the segment back and keep the buffer. */
static int spool_write_buf(struct spool *sp)
{
	int r;

	if (sp->len == 0)
		return 0;
	r = write_all(sp->fd, sp->buf, sp->len);
	if (r) {
		/*
		 * A partial write would leave a torn record in the middle of the
		 * segment: cut it off. If even that fails, the next open repairs it.
		 */
		(void)!ftruncate(sp->fd, (off_t)sp->size);
		sp->st.write_errors++;
		return r;
	}
	sp->size += sp->len;
	sp->st.bytes += sp->len;
	sp->len = 0;
	sp->dirty = true;
	return 0;
}

static int spool_datasync(struct spool *sp, int64_t now_ms)
{
	if (!sp->dirty)
		return 0;
	if (fdatasync(sp->fd) != 0)
		return -errno;
	sp->dirty = false;
	sp->last_sync_ms = now_ms;
	sp->st.fsyncs++;
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int spool_rotate(struct spool *sp)
{
	int r = spool_write_buf(sp);

	if (r)
		return r;
	if (sp->fsync != SPOOL_FSYNC_NEVER) {
		r = spool_datasync(sp, mono_ms());
		if (r)
			return r;
	}
	close(sp->fd);
	sp->fd = -1;
	sp->seg++;
	r = seg_create(sp);
	if (r) {
		/* Keep appending to a segment we can still write: reopen the old one. */
		char name[SPOOL_NAME_LEN + 1];

		sp->seg--;
		seg_name(sp->seg, name);
		sp->fd = openat(sp->dirfd, name, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (sp->fd < 0)
			return -errno;
		return r;
	}
	sp->st.rotations++;
	return 0;
}

/*
 * Cut the last segment at its first incomplete or damaged record. A segment
 * whose header is torn holds no record (the header is written and synced
 * before any): it is removed.
 */
static int seg_repair(struct spool *sp, uint64_t seg)
{
	char name[SPOOL_NAME_LEN + 1];
	uint8_t *buf;
	struct stat stt;
	uint64_t off = SPOOL_HDR_LEN, size;
	int fd, r = 0;

	seg_name(seg, name);
	fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &stt) != 0) {
		r = -errno;
		goto out;
	}
	size = (uint64_t)stt.st_size;
	buf = malloc(SPOOL_READ_CHUNK + SPOOL_REC_MAX + SPOOL_REC_HDR);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	if (size < SPOOL_HDR_LEN || pread_full(fd, buf, SPOOL_HDR_LEN, 0) != SPOOL_HDR_LEN ||
	    !hdr_valid(buf, seg)) {
		if (size >= SPOOL_HDR_LEN && memcmp(buf, seg_magic, 8) != 0) {
			r = -EBADMSG; /* not one of ours: leave it alone */
		} else {
			sp->st.torn_bytes += size;
			r = unlinkat(sp->dirfd, name, 0) == 0 ? 0 : -errno;
		}
		free(buf);
		goto out;
	}
	while (off < size) {
		size_t cap = SPOOL_READ_CHUNK + SPOOL_REC_MAX + SPOOL_REC_HDR;
		ssize_t n = pread_full(fd, buf, cap, off);
		size_t pos = 0, reclen;

		if (n < 0) {
			r = (int)n;
			break;
		}
		while (rec_check(buf + pos, (size_t)n - pos, &reclen) == 1)
			pos += reclen;
		off += pos;
		if (pos == 0 || (size_t)n < cap)
			break; /* stopped at a bad record, or read to the end */
	}
	if (r == 0 && off < size) {
		sp->st.torn_bytes += size - off;
		if (ftruncate(fd, (off_t)off) != 0)
			r = -errno;
		else if (sp->fsync != SPOOL_FSYNC_NEVER && fdatasync(fd) != 0)
			r = -errno;
	}
	free(buf);
out:
	close(fd);
	return r;
}

static int ack_load(struct spool *sp)
{
	uint8_t b[SPOOL_ACK_LEN + 1];
	int fd = openat(sp->dirfd, "ack", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	sp->ack = (struct spool_pos){ sp->first_seg, SPOOL_HDR_LEN };
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = pread_full(fd, b, sizeof(b), 0);
	close(fd);
	if (n < 0)
		return (int)n;
	if (n != SPOOL_ACK_LEN || memcmp(b, ack_magic, 8) != 0)
		return -EBADMSG;
	/* A damaged ack only costs a replay, which is idempotent: start from the oldest. */
	if (crc32c(0, b, 24) == get32(b + 24)) {
		sp->ack.seg = get64(b + 8);
		sp->ack.off = get64(b + 16);
	}
	if (spool_pos_cmp(sp->ack, (struct spool_pos){ sp->first_seg, 0 }) < 0)
		sp->ack = (struct spool_pos){ sp->first_seg, SPOOL_HDR_LEN };
	return 0;
}

int spool_open(struct spool **out, const struct spool_config *cfg)
{
	struct spool *sp;
	uint64_t *segs = NULL;
	size_t nsegs = 0;
	int r;

	if (!cfg->dir || !*cfg->dir)
		return -EINVAL;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	sp->dirfd = sp->lockfd = sp->fd = -1;
	sp->fsync = cfg->fsync;
	sp->fsync_ms = cfg->fsync_ms ? cfg->fsync_ms : 100;
	sp->seg_bytes = cfg->segment_bytes ? cfg->segment_bytes : SPOOL_DEFAULT_SEG;
	if (sp->seg_bytes < SPOOL_HDR_LEN + SPOOL_REC_HDR + 1)
		sp->seg_bytes = SPOOL_HDR_LEN + SPOOL_REC_HDR + 1;
	sp->retain = cfg->retain_acked_sec;
	sp->cap = SPOOL_BUF;
	sp->dir = strdup(cfg->dir);
	sp->buf = malloc(sp->cap);
	if (!sp->dir || !sp->buf) {
		r = -ENOMEM;
		goto fail;
	}
	if (mkdir(cfg->dir, 0750) != 0 && errno != EEXIST) {
		r = -errno;
		goto fail;
	}
	sp->dirfd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		r = -errno;
		goto fail;
	}
	sp->lockfd = openat(sp->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (sp->lockfd < 0) {
		r = -errno;
		goto fail;
	}
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) != 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}
	unlinkat(sp->dirfd, "ack.tmp", 0);
	r = seg_list(sp->dirfd, &segs, &nsegs);
	if (r)
		goto fail;
	if (nsegs) {
		r = seg_repair(sp, segs[nsegs - 1]);
		if (r)
			goto fail;
		sp->first_seg = segs[0];
		sp->seg = segs[nsegs - 1] + 1;
	} else {
		sp->first_seg = sp->seg = 1;
	}
	r = ack_load(sp);
	if (r)
		goto fail;
	sp->ack_saved = sp->ack;
	r = seg_create(sp);
	if (r)
		goto fail;
	sp->last_sync_ms = mono_ms();
	free(segs);
	*out = sp;
	return 0;
fail:
	free(segs);
	if (sp->lockfd >= 0)
		close(sp->lockfd);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	free(sp->buf);
	free(sp->dir);
	free(sp);
	return r;
}

int spool_close(struct spool *sp)
{
	int r = 0, t;

	if (!sp)
		return 0;
	if (sp->fd >= 0) {
		r = spool_write_buf(sp);
		if (sp->fsync != SPOOL_FSYNC_NEVER) {
			t = spool_datasync(sp, mono_ms());
			r = r ? r : t;
		}
		close(sp->fd);
	}
	t = spool_sync_ack(sp);
	r = r ? r : t;
	close(sp->lockfd);
	close(sp->dirfd);
	free(sp->buf);
	free(sp->dir);
	free(sp);
	return r;
}

int spool_append(struct spool *sp, const void *rec, size_t len, struct spool_pos *end)
{
	size_t need = SPOOL_REC_HDR + len;
	int r;

	if (len == 0 || len > SPOOL_REC_MAX)
		return -EINVAL;
	if (sp->size + sp->len + need > sp->seg_bytes && sp->size + sp->len > SPOOL_HDR_LEN) {
		r = spool_rotate(sp);
		if (r)
			return r;
	}
	if (sp->len + need > sp->cap) {
		r = spool_write_buf(sp);
		if (r)
			return r;
	}
	uint8_t *p = sp->buf + sp->len;
	put32(p, (uint32_t)len);
	memcpy(p + SPOOL_REC_HDR, rec, len);
	put32(p + 4, crc32c(crc32c(0, p, 4), rec, len));
	sp->len += need;
	sp->st.appended++;
	if (end)
		*end = (struct spool_pos){ sp->seg, sp->size + sp->len };
	return 0;
}

int spool_flush(struct spool *sp, int64_t now_ms)
{
	int r = spool_write_buf(sp);

	if (r)
		return r;
	switch (sp->fsync) {
	case SPOOL_FSYNC_ALWAYS:
		return spool_datasync(sp, now_ms);
	case SPOOL_FSYNC_INTERVAL:
		if (now_ms - sp->last_sync_ms >= (int64_t)sp->fsync_ms)
			return spool_datasync(sp, now_ms);
		return 0;
	default:
		return 0;
	}
}

size_t spool_pending(const struct spool *sp)
{
	return sp->len;
}

void spool_ack(struct spool *sp, struct spool_pos pos)
{
	if (spool_pos_cmp(pos, sp->ack) > 0)
		sp->ack = pos;
}

struct spool_pos spool_acked(const struct spool *sp)
{
	return sp->ack;
}

struct spool_pos spool_end(const struct spool *sp)
{
	return (struct spool_pos){ sp->seg, sp->size + sp->len };
}

static int ack_write(struct spool *sp)
{
	uint8_t b[SPOOL_ACK_LEN];
	int fd, r;

	memcpy(b, ack_magic, 8);
	put64(b + 8, sp->ack.seg);
	put64(b + 16, sp->ack.off);
	put32(b + 24, crc32c(0, b, 24));
	fd = openat(sp->dirfd, "ack.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	r = write_all(fd, b, sizeof(b));
	if (r == 0 && sp->fsync != SPOOL_FSYNC_NEVER && fdatasync(fd) != 0)
		r = -errno;
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(sp->dirfd, "ack.tmp", sp->dirfd, "ack") != 0)
		r = -errno;
	if (r == 0 && sp->fsync == SPOOL_FSYNC_ALWAYS)
		r = fsync_dir(sp);
	return r;
}

int spool_sync_ack(struct spool *sp)
{
	int64_t now_s = now_wall_us() / 1000000;
	int r;

	if (spool_pos_cmp(sp->ack, sp->ack_saved) != 0) {
		r = ack_write(sp);
		if (r)
			return r;
		sp->ack_saved = sp->ack;
	}
	/* Every record of a segment below the acked one is acknowledged. */
	while (sp->first_seg < sp->ack_saved.seg && sp->first_seg < sp->seg) {
		char name[SPOOL_NAME_LEN + 1];
		struct stat st;

		seg_name(sp->first_seg, name);
		if (sp->retain) {
			if (fstatat(sp->dirfd, name, &st, 0) == 0 &&
			    now_s - (int64_t)st.st_mtime < (int64_t)sp->retain)
				break; /* segments age in order: the later ones are younger */
		}
		if (unlinkat(sp->dirfd, name, 0) == 0)
			sp->st.deleted++;
		else if (errno != ENOENT)
			return -errno;
		sp->first_seg++;
	}
	return 0;
}

void spool_stats(const struct spool *sp, struct spool_stats *st)
{
	*st = sp->st;
}

const char *spool_dir(const struct spool *sp)
{
	return sp->dir;
}

/* ---- reading ---- */

int spool_reader_open(struct spool_reader **out, const char *dir, const struct spool *writer,
		      struct spool_pos from)
{
	struct spool_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->cap = SPOOL_READ_CHUNK + SPOOL_REC_MAX + SPOOL_REC_HDR;
	r->buf = malloc(r->cap);
	if (!r->buf) {
		free(r);
		return -ENOMEM;
	}
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		int e = -errno;
		free(r->buf);
		free(r);
		return e;
	}
	r->w = writer;
	r->fd = -1;
	spool_reader_seek(r, from);
	*out = r;
	return 0;
}

void spool_reader_close(struct spool_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	close(r->dirfd);
	free(r->segs);
	free(r->buf);
	free(r);
}

void spool_reader_seek(struct spool_reader *r, struct spool_pos pos)
{
	if (r->fd >= 0 && pos.seg != r->seg) {
		close(r->fd);
		r->fd = -1;
	}
	r->seg = pos.seg;
	r->off = pos.off < SPOOL_HDR_LEN ? SPOOL_HDR_LEN : pos.off;
	r->blen = 0;
	r->bstart = 0;
}

/* The first segment > after that exists (0 when none), listing again if needed. */
static int next_seg(struct spool_reader *r, uint64_t after, uint64_t *next)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->nsegs; i++) {
			if (r->segs[i] > after) {
				*next = r->segs[i];
				return 0;
			}
		}
		if (pass == 0) {
			free(r->segs);
			r->segs = NULL;
			r->nsegs = 0;
			int e = seg_list(r->dirfd, &r->segs, &r->nsegs);
			if (e)
				return e;
		}
	}
	*next = 0;
	return 0;
}

/* Is a later segment than the current one there (the current one is complete)? */
static int later_exists(struct spool_reader *r, bool *yes)
{
	uint64_t n;
	int e;

	if (r->w) {
		*yes = r->seg < r->w->seg;
		return 0;
	}
	e = next_seg(r, r->seg, &n);
	*yes = n != 0;
	return e;
}

/* Open r->seg, or the first existing one after it; 0 with r->fd < 0 when none. */
static int seg_open(struct spool_reader *r)
{
	char name[SPOOL_NAME_LEN + 1];
	uint8_t h[SPOOL_HDR_LEN];

	for (;;) {
		uint64_t n;
		ssize_t got;
		bool later;
		int e;

		if (r->seg == 0) {
			e = next_seg(r, 0, &n);
			if (e)
				return e;
			if (!n)
				return 0;
			r->seg = n;
			r->off = SPOOL_HDR_LEN;
		}
		seg_name(r->seg, name);
		r->fd = openat(r->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (r->fd < 0) {
			if (errno != ENOENT)
				return -errno;
			e = next_seg(r, r->seg, &n);
			if (e)
				return e;
			if (!n)
				return 0;
			r->seg = n;
			r->off = SPOOL_HDR_LEN;
			continue;
		}
		r->blen = 0;
		got = pread_full(r->fd, h, sizeof(h), 0);
		if (got == SPOOL_HDR_LEN && hdr_valid(h, r->seg))
			return 0;
		e = later_exists(r, &later);
		if (e)
			return e;
		close(r->fd);
		r->fd = -1;
		if (got >= 0 && got < SPOOL_HDR_LEN && !later)
			return 0; /* being created */
		r->st.corrupt++;
		e = next_seg(r, r->seg, &n);
		if (e)
			return e;
		if (!n)
			return 0;
		r->seg = n;
		r->off = SPOOL_HDR_LEN;
	}
}

static int move_next(struct spool_reader *r)
{
	uint64_t n;
	int e;

	close(r->fd);
	r->fd = -1;
	e = next_seg(r, r->seg, &n);
	if (e)
		return e;
	if (n) {
		r->seg = n;
		r->off = SPOOL_HDR_LEN;
	} else {
		/* Nothing after it for now: stay past the end of this one. */
		r->seg++;
		r->off = SPOOL_HDR_LEN;
	}
	return 0;
}

int spool_reader_next(struct spool_reader *r, struct sv *rec, struct spool_pos *end)
{
	for (;;) {
		size_t reclen = 0, avail;
		bool later;
		int c, e;

		if (r->fd < 0) {
			e = seg_open(r);
			if (e)
				return e;
			if (r->fd < 0)
				return 0;
		}
		if (r->off < r->bstart || r->off - r->bstart >= r->blen ||
		    rec_check(r->buf + (r->off - r->bstart), r->blen - (r->off - r->bstart),
			      &reclen) == 0) {
			ssize_t n = pread_full(r->fd, r->buf, r->cap, r->off);

			if (n < 0)
				return (int)n;
			r->bstart = r->off;
			r->blen = (size_t)n;
		}
		avail = r->blen - (size_t)(r->off - r->bstart);
		c = rec_check(r->buf + (r->off - r->bstart), avail, &reclen);
		if (c == 1) {
			*rec = sv_make((const char *)r->buf + (r->off - r->bstart) + SPOOL_REC_HDR,
				       reclen - SPOOL_REC_HDR);
			r->off += reclen;
			*end = (struct spool_pos){ r->seg, r->off };
			r->st.records++;
			return 1;
		}
		/* Incomplete at the end of the file, or damaged. */
		e = later_exists(r, &later);
		if (e)
			return e;
		if (!later) {
			/*
			 * The newest segment: its writer may be in the middle of a
			 * write (another process), and in any case nothing after
			 * this point can be read yet. Once a later segment exists,
			 * what is left here is skipped and counted.
			 */
			r->blen = 0;
			return 0;
		}
		if (avail > 0)
			r->st.corrupt++; /* a torn tail, or a damaged record */
		e = move_next(r);
		if (e)
			return e;
	}
}

void spool_reader_stats(const struct spool_reader *r, struct spool_reader_stats *st)
{
	*st = r->st;
}
