/* SPDX-License-Identifier: MIT */
/*
 * bench_cdr.c: CDRs per second exported to Redis by the CDR flusher, and two
 * peers measured in the same run against the same server.
 *
 *   bench_cdr --redis-port P [--n N] [--producers K] [--batch B] [--inflight I]
 *             [--fsync never|interval|always] [--format csv|fields]
 *             [--mode all|export|spool|xadd|naive] [--runs R] [--spool-dir DIR]
 *             [--flushall]
 *
 * Modes (each on an empty server):
 *   export  the pipeline (storage/cdr_flusher.h): K producer threads submit N
 *           CDRs, the flusher on its own thread gives ids, spools them
 *           (fsync policy as given, default interval) and exports them in
 *           batches of B, I batches in flight (the Lua script: idempotence
 *           mark, XADD, counters summed per batch). Timed from the first
 *           submit until Redis has acknowledged the last CDR.
 *   spool   the same without Redis: until the last CDR is in the spool.
 *   xadd    peer: the same stream entries (CSV or named fields, --format) as
 *           plain XADD from one thread, pipelined (1000 in flight): no spool,
 *           no idempotence, no counters. What the server takes for the stream
 *           alone.
 *   naive   peer: per CDR one XADD and one HINCRBY per non-zero counter of
 *           each dimension, pipelined like xadd, no spool, no idempotence:
 *           the counters without a script (on a tenth of the CDRs: it is slow).
 * For each mode and run: CDR/s (wall), the server's CPU per CDR (INFO
 * used_cpu_*), and this process's CPU per CDR (getrusage, user and system);
 * with --runs R > 1, the run of median rate. The server must be empty or
 * --flushall given: the bench wipes it between modes. No figure is asserted:
 * compare the modes of one run (these machines are small and shared).
 *
 * The CDRs: 50 customers, 20 vendors with 4 gateways each, ~2,000 destination
 * prefixes, 45% answered, one day: a pool of 8192 generated before the clock
 * starts (so that generating them is not measured), submitted in turn; the
 * same sequence in every mode.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "storage/cdr.h"
#include "storage/cdr_flusher.h"

struct opts {
	unsigned port;
	uint64_t n;
	unsigned producers;
	uint32_t batch, inflight;
	enum spool_fsync fsync;
	enum cdr_stream_format format;
	unsigned runs;
	const char *mode;
	const char *spool_dir;
	bool flushall;
};

/* ---- the CDRs ---- */

struct gen {
	uint64_t s;
	char customer[16], vendor[16], gateway[24], pfx[16], vpfx[16], dialled[32], routed[32],
		call_id[48];
};

static uint64_t rnd(struct gen *g)
{
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void gen_next(struct gen *g, uint64_t i, struct cdr *c)
{
	static const char *const cc[] = { "44", "1",  "33", "49", "91", "234", "880", "52",
					  "7",	"86", "62", "55", "20", "27",  "61",  "34" };
	int64_t day0 = 19884LL * 86400000;
	unsigned vendor = (unsigned)(rnd(g) % 20);
	bool answered = rnd(g) % 100 < 45;

	memset(c, 0, sizeof(*c));
	/* ~2,000 prefixes: a country code and three digits. */
	snprintf(g->pfx, sizeof(g->pfx), "%s%03u", cc[rnd(g) % 16], (unsigned)(rnd(g) % 125));
	snprintf(g->vpfx, sizeof(g->vpfx), "%.*s", (int)strlen(g->pfx) - 1, g->pfx);
	snprintf(g->customer, sizeof(g->customer), "cust-%02u", (unsigned)(rnd(g) % 50));
	snprintf(g->vendor, sizeof(g->vendor), "vend-%02u", vendor);
	snprintf(g->gateway, sizeof(g->gateway), "gw-%02u-%u", vendor, (unsigned)(rnd(g) % 4));
	snprintf(g->dialled, sizeof(g->dialled), "00%s%06u", g->pfx, (unsigned)(rnd(g) % 1000000));
	snprintf(g->routed, sizeof(g->routed), "+%s", g->dialled + 2);
	snprintf(g->call_id, sizeof(g->call_id), "%016" PRIx64 "@bench.sipring", i);
	c->call_id = sv_cstr(g->call_id);
	c->customer = sv_cstr(g->customer);
	c->vendor = sv_cstr(g->vendor);
	c->gateway = sv_cstr(g->gateway);
	c->dialled = sv_cstr(g->dialled);
	c->routed = sv_cstr(g->routed);
	c->cust_prefix = sv_cstr(g->pfx);
	c->vend_prefix = sv_cstr(g->vpfx);
	c->setup_ms = day0 + (int64_t)(rnd(g) % 86400000);
	c->ringing_ms = c->setup_ms + 1200;
	c->attempt = 1;
	if (answered) {
		uint32_t s = 1 + (uint32_t)(rnd(g) % 600);
		c->answer_ms = c->ringing_ms + 4000;
		c->end_ms = c->answer_ms + (int64_t)s * 1000;
		c->cust_billed_s = (s + 59) / 60 * 60;
		c->vend_billed_s = s;
		c->revenue = (int64_t)c->cust_billed_s * 250;
		c->cost = (int64_t)c->vend_billed_s * 200;
		c->sip_code = 200;
		c->q850 = 16;
		c->side = CDR_SIDE_CALLER;
	} else {
		c->end_ms = c->ringing_ms + 15000;
		c->sip_code = 486;
		c->q850 = 17;
		c->side = CDR_SIDE_CALLEE;
	}
}

#define POOL 8192

struct pool {
	uint8_t enc[POOL][CDR_ENC_MAX];
	struct cdr c[POOL]; /* decoded: views into enc */
};

static struct pool *pool_make(void)
{
	struct pool *p = malloc(sizeof(*p));
	struct gen g = { .s = 1 };

	if (!p)
		return NULL;
	for (uint64_t i = 0; i < POOL; i++) {
		struct cdr c;
		int n;

		gen_next(&g, i, &c);
		n = cdr_encode(&c, p->enc[i], CDR_ENC_MAX);
		if (n < 0 || cdr_decode(p->enc[i], (size_t)n, &p->c[i]) != 0) {
			free(p);
			return NULL;
		}
	}
	return p;
}

/* ---- measuring ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This process's CPU seconds, user and system. */
struct cpu {
	double user, sys;
};

static struct cpu self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (struct cpu){ (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
			     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6 };
}

static struct cpu cpu_since(struct cpu t0)
{
	struct cpu t = self_cpu();

	return (struct cpu){ t.user - t0.user, t.sys - t0.sys };
}

static redisContext *connect_redis(const struct opts *o)
{
	redisContext *c = redisConnect("127.0.0.1", (int)o->port);

	if (!c || c->err) {
		fprintf(stderr, "bench_cdr: redis 127.0.0.1:%u: %s\n", o->port,
			c ? c->errstr : "out of memory");
		exit(1);
	}
	return c;
}

/* The server's CPU seconds so far (INFO cpu), or -1. */
static double redis_cpu_s(redisContext *c)
{
	redisReply *r = redisCommand(c, "INFO cpu");
	double u = -1, s = -1;

	if (r && r->type == REDIS_REPLY_STRING) {
		const char *p = strstr(r->str, "used_cpu_user:"),
			   *q = strstr(r->str, "used_cpu_sys:");
		if (p && q) {
			u = strtod(p + 14, NULL);
			s = strtod(q + 13, NULL);
		}
	}
	if (r)
		freeReplyObject(r);
	return u < 0 ? -1 : u + s;
}

static void wipe(redisContext *c, const struct opts *o)
{
	redisReply *r = redisCommand(c, "DBSIZE");
	long long keys = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	if (r)
		freeReplyObject(r);
	if (keys != 0 && !o->flushall) {
		fprintf(stderr,
			"bench_cdr: the server holds %lld keys; give --flushall to let "
			"the bench wipe it (a private server: bench/cdr/run.sh)\n",
			keys);
		exit(2);
	}
	r = redisCommand(c, "FLUSHALL");
	if (r)
		freeReplyObject(r);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* One run of one mode. */
struct result {
	double rate;	 /* CDR/s */
	double redis_us; /* server CPU per CDR, -1 unknown */
	double user_us;	 /* this process, per CDR */
	double sys_us;
};

static int cmp_rate(const void *a, const void *b)
{
	double x = ((const struct result *)a)->rate, y = ((const struct result *)b)->rate;

	return (x > y) - (x < y);
}

static void print_result(const char *mode, const char *what, const struct result *r)
{
	printf("  %-7s %-7s %9.0f CDR/s", mode, what, r->rate);
	if (r->redis_us >= 0)
		printf("   redis %5.2f us/CDR", r->redis_us);
	else
		printf("   redis     - us/CDR");
	printf("   bench %5.2f us/CDR (user %5.2f, sys %5.2f)\n", r->user_us + r->sys_us,
	       r->user_us, r->sys_us);
	fflush(stdout);
}

static struct result report(const char *mode, uint64_t n, double wall, double rcpu, struct cpu scpu)
{
	struct result r = { (double)n / wall, rcpu >= 0 ? rcpu * 1e6 / (double)n : -1,
			    scpu.user * 1e6 / (double)n, scpu.sys * 1e6 / (double)n };
	char what[32];

	snprintf(what, sizeof(what), "%.2fs", wall);
	print_result(mode, what, &r);
	return r;
}

/* ---- export and spool: the flusher ---- */

/* The flusher's warnings and errors only: its "connected" would cut the table. */
static void bench_log(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level <= CDR_LOG_WARNING)
		fprintf(stderr, "bench_cdr: flusher: %s\n", msg);
}

struct producer {
	struct cdr_flusher *f;
	const struct pool *pool;
	unsigned index;
	uint64_t from, to;
};

static void *produce(void *arg)
{
	struct producer *p = arg;

	for (uint64_t i = p->from; i < p->to; i++) {
		while (cdr_flusher_submit(p->f, p->index, &p->pool->c[i % POOL]) == -ENOBUFS) {
			struct timespec ts = { 0, 50000 };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static int run_flusher(const struct opts *o, const struct pool *pool, bool redis, redisContext *rc,
		       struct result *res)
{
	char dir[256];
	struct cdr_flusher_config cfg = {
		.node = 1,
		.fsync = o->fsync,
		.producers = o->producers,
		.ring_slots = 16384,
		.batch = o->batch,
		.inflight = o->inflight,
		.redis_host = redis ? "127.0.0.1" : NULL,
		.redis_port = (uint16_t)o->port,
		.stream_format = o->format,
		.log = bench_log,
		.poll_ms = 1,
	};
	struct cdr_flusher *f;
	struct cdr_flusher_stats st;
	pthread_t t[64];
	struct producer p[64];
	double t0, t1, r0 = -1;
	struct cpu s0;
	int r;

	snprintf(dir, sizeof(dir), "%s/bench-cdr-XXXXXX", o->spool_dir);
	if (!mkdtemp(dir)) {
		perror("bench_cdr: spool dir");
		return 1;
	}
	cfg.spool_dir = dir;
	r = cdr_flusher_create(&f, &cfg);
	if (r == 0)
		r = cdr_flusher_start(f);
	if (r) {
		fprintf(stderr, "bench_cdr: flusher: %s\n", strerror(-r));
		return 1;
	}
	/* Let it connect and load the script before the clock starts. */
	do {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		cdr_flusher_stats(f, &st);
	} while (redis && !st.connected);
	if (redis)
		r0 = redis_cpu_s(rc);
	s0 = self_cpu();
	t0 = now_s();
	for (unsigned i = 0; i < o->producers; i++) {
		p[i] = (struct producer){ f, pool, i, o->n * i / o->producers,
					  o->n * (i + 1) / o->producers };
		pthread_create(&t[i], NULL, produce, &p[i]);
	}
	for (unsigned i = 0; i < o->producers; i++)
		pthread_join(t[i], NULL);
	for (;;) {
		cdr_flusher_stats(f, &st);
		if (st.synced && (redis ? st.acked >= o->n : st.spooled >= o->n))
			break;
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
	t1 = now_s();
	*res = report(redis ? "export" : "spool", o->n, t1 - t0, redis ? redis_cpu_s(rc) - r0 : -1,
		      cpu_since(s0));
	cdr_flusher_stop(f, 10000);
	if (redis && (st.applied != o->n || st.duplicates)) {
		fprintf(stderr, "bench_cdr: applied %" PRIu64 " of %" PRIu64 "\n", st.applied,
			o->n);
		return 1;
	}
	cdr_flusher_destroy(f);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- the peers: plain pipelined commands from one thread ---- */

#define WINDOW 1000

static void drain_replies(redisContext *c, uint64_t *pending, uint64_t keep)
{
	while (*pending > keep) {
		void *r;
		if (redisGetReply(c, &r) != REDIS_OK) {
			fprintf(stderr, "bench_cdr: %s\n", c->errstr);
			exit(1);
		}
		freeReplyObject(r);
		(*pending)--;
	}
}

static int run_peer(const struct opts *o, const struct pool *pool, bool counters, redisContext *rc,
		    struct result *res)
{
	redisContext *c = connect_redis(o);
	/* The naive peer is slow: a tenth of the CDRs tells its rate as well. */
	uint64_t pending = 0, total = counters ? (o->n + 9) / 10 : o->n;
	double t0, r0 = redis_cpu_s(rc);
	struct cpu s0 = self_cpu();

	t0 = now_s();
	for (uint64_t i = 0; i < total; i++) {
		const char *argv[3 + 2 * CDR_NFIELDS];
		size_t len[3 + 2 * CDR_NFIELDS];
		char scratch[CDR_FIELDS_SCRATCH], day[11], line[CDR_CSV_MAX];
		struct sv v[CDR_NFIELDS];
		struct cdr cdr;
		int n = 0;

		cdr = pool->c[i % POOL];
		cdr.id = (struct cdr_id){ 1, 1, i + 1 };
		argv[n] = "XADD", len[n++] = 4;
		argv[n] = "peer:cdr", len[n++] = 8;
		argv[n] = "*", len[n++] = 1;
		if (o->format == CDR_STREAM_CSV) {
			argv[n] = "cdr", len[n++] = 3;
			argv[n] = line, len[n++] = (size_t)cdr_csv(&cdr, line, sizeof(line));
		} else {
			cdr_fields(&cdr, scratch, sizeof(scratch), v);
			for (unsigned k = 0; k < CDR_NFIELDS; k++) {
				argv[n] = cdr_field_names[k], len[n++] = strlen(cdr_field_names[k]);
				argv[n] = v[k].p, len[n++] = v[k].len;
			}
		}
		redisAppendCommandArgv(c, n, argv, len);
		pending++;
		if (counters) {
			cdr_day_format(cdr_day(cdr.setup_ms), day);
			for (unsigned d = 0; d < CDR_NDIM; d++) {
				struct cdr_counts k;
				struct sv key;
				char hash[64], field[128];

				if (!cdr_count(&cdr, (enum cdr_dim)d, &key, &k))
					continue;
				snprintf(hash, sizeof(hash), "peer:stats:%s:%s", day,
					 cdr_dim_name((enum cdr_dim)d));
				for (unsigned x = 0; x < CDR_NCOUNTS; x++) {
					int64_t val = *cdr_counts_at(&k, x);
					if (!val)
						continue;
					snprintf(field, sizeof(field), "%.*s:%s", (int)key.len,
						 key.p, cdr_count_names[x]);
					redisAppendCommand(c, "HINCRBY %s %s %lld", hash, field,
							   (long long)val);
					pending++;
				}
			}
		}
		if (pending > 2 * WINDOW)
			drain_replies(c, &pending, WINDOW);
	}
	drain_replies(c, &pending, 0);
	*res = report(counters ? "naive" : "xadd", total, now_s() - t0, redis_cpu_s(rc) - r0,
		      cpu_since(s0));
	redisFree(c);
	return 0;
}

static int usage(void)
{
	fputs("usage: bench_cdr --redis-port P [--n N] [--producers K] [--batch B] "
	      "[--inflight I]\n"
	      "                 [--fsync never|interval|always] [--format csv|fields]\n"
	      "                 [--mode all|export|spool|xadd|naive] [--runs R]\n"
	      "                 [--spool-dir DIR] [--flushall]\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct opts o = { .n = 1000000,
			  .producers = 1,
			  .batch = 256,
			  .inflight = 32,
			  .fsync = SPOOL_FSYNC_INTERVAL,
			  .mode = "all",
			  .runs = 1,
			  .spool_dir = "/tmp" };
	const char *tmp = getenv("TMPDIR");
	redisContext *rc;
	int r = 0;

	if (tmp && *tmp)
		o.spool_dir = tmp;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--flushall") == 0) {
			o.flushall = true;
			continue;
		}
		if (!v)
			return usage();
		i++;
		if (strcmp(a, "--redis-port") == 0)
			o.port = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--n") == 0)
			o.n = strtoull(v, NULL, 10);
		else if (strcmp(a, "--producers") == 0)
			o.producers = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--batch") == 0)
			o.batch = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--inflight") == 0)
			o.inflight = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--mode") == 0)
			o.mode = v;
		else if (strcmp(a, "--spool-dir") == 0)
			o.spool_dir = v;
		else if (strcmp(a, "--runs") == 0)
			o.runs = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--format") == 0)
			o.format = strcmp(v, "fields") == 0 ? CDR_STREAM_FIELDS : CDR_STREAM_CSV;
		else if (strcmp(a, "--fsync") == 0)
			o.fsync = strcmp(v, "always") == 0  ? SPOOL_FSYNC_ALWAYS
				  : strcmp(v, "never") == 0 ? SPOOL_FSYNC_NEVER
							    : SPOOL_FSYNC_INTERVAL;
		else
			return usage();
	}
	if (!o.port || !o.n || o.producers < 1 || o.producers > 64 || o.runs < 1 || o.runs > 15)
		return usage();
	rc = connect_redis(&o);
	struct pool *pool = pool_make();
	if (!pool) {
		fputs("bench_cdr: out of memory\n", stderr);
		return 1;
	}
	printf("bench_cdr: %" PRIu64 " CDRs, %s entries, %u producers, batch %u, %u in flight, "
	       "fsync %s\n",
	       o.n, o.format == CDR_STREAM_CSV ? "csv" : "named-field", o.producers, o.batch,
	       o.inflight,
	       o.fsync == SPOOL_FSYNC_ALWAYS  ? "always"
	       : o.fsync == SPOOL_FSYNC_NEVER ? "never"
					      : "interval (100 ms)");
	bool all = strcmp(o.mode, "all") == 0;
	static const char *const modes[] = { "xadd", "naive", "export", "spool" };
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct result res[16];

		if (!all && strcmp(o.mode, modes[m]) != 0)
			continue;
		for (unsigned k = 0; k < o.runs; k++) {
			if (m != 3) {
				wipe(rc, &o);
				o.flushall = true; /* what is there now is ours */
			}
			if (m < 2)
				r |= run_peer(&o, pool, m == 1, rc, &res[k]);
			else
				r |= run_flusher(&o, pool, m == 2, rc, &res[k]);
		}
		if (o.runs > 1) {
			qsort(res, o.runs, sizeof(res[0]), cmp_rate);
			print_result(modes[m], "median", &res[o.runs / 2]);
		}
	}
	if (o.flushall)
		wipe(rc, &o);
	redisFree(rc);
	free(pool);
	return r;
}
