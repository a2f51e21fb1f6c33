/* SPDX-License-Identifier: MIT */
/*
 * service.c: the service thread's loop (see service.h).
 */
#include "service.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mgmt.h"
#include "core/domain_api.h"
#include "core/uplink_api.h"
#include "storage/domain_redis.h"
#include "storage/domains.h"
#include "storage/accounts_redis.h"
#include "storage/location_redis.h"
#include "storage/suspend_redis.h"
#ifdef SIPRING_REG_API
#include "core/reg_api.h"
#endif

#define SERVICE_TICK_MS	       100
#define SERVICE_TRACE_FLUSH_MS 200
#define SERVICE_MAX_RETIRED    64
#define SERVICE_EXPIRE_BATCH   256  /* bindings expired per round */
#define SERVICE_REGQ_BATCH     4096 /* changes applied per worker per round */
#define SERVICE_FLUSH_MS       2000 /* at exit: the most spent writing Redis */

struct service {
	struct daemon *d;
	struct snap *retired[SERVICE_MAX_RETIRED]; /* replaced, not yet freed */
	unsigned nretired;
	struct trace_file *tf;
	char *trace_path; /* of tf */
	struct mgmt *mgmt;
	uint64_t deadline_ms; /* graceful stop */
	uint64_t last_flush_ms;
#ifdef SIPRING_REG_API
	struct reg_api reg_api; /* /api/v1/registrations, /api/v1/suspensions */
#endif
	/* keepalive OPTIONS to registered contacts (registrar.keepalive.*) */
	uint64_t ka_cursor;   /* location_scan() position in the current sweep */
	uint64_t ka_resizes;  /* location_resizes() when the sweep started */
	int64_t ka_last_ms;   /* the last round that sent */
	double ka_carry;      /* AORs owed to the sweep (fractions of a round) */
	struct ka_fail {      /* consecutive failures of bindings that failed */
		uint64_t key; /* hash of the binding's identity; 0 = empty */
		uint32_t n;
	} * ka_fail;
	uint32_t ka_cap, ka_used;
	uint64_t ka_wake; /* workers given jobs this round (bit per worker, first 64) */
	/* accounts from Redis: a loader thread, one at a time */
	struct acc_load {
		pthread_t th;
		bool running;
		_Atomic int done;
		int ret;
		size_t skipped;
		struct accounts *tab;
		const struct accounts_redis_config *cfg;
		char err[256];
	} acc;
	uint64_t acc_next_ms; /* the next refresh (monotonic) */
	struct {
		struct accounts *tab;
		uint64_t epoch; /* free once every worker's acc_seen reaches it */
	} acc_retired[8];
	unsigned acc_nretired;
	/* uplinks: outbound registrations (core/uplink.h) */
	struct uplink_mgr *up;
	struct uplink_api up_api;
	int64_t up_next;   /* ms until the manager's next action, -1 none */
	uint64_t up_wake;  /* workers given jobs (bit per worker, first 64) */
	unsigned up_count; /* uplinks in the manager at the last pass */
	/* carrier domain names (storage/domains.h), mirrored in Redis when redis.* is set */
	struct domains *dns;
	struct domain_redis *dns_redis;
	struct domain_api dns_api;
	uint64_t dns_stats_ms; /* when the domain gauges were last counted */
};

static void wake_all(struct daemon *d);
static void acc_log(int ret, size_t skipped, const char *err);
static void acc_publish(struct daemon *d, struct service *sv, struct accounts *tab);

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void snap_filter(struct snap *s)
{
	const struct conf *c = &s->conf;
	memset(&s->trace, 0, sizeof(s->trace));
	s->trace.mode = c->trace_mode;
	s->trace.ip = c->trace_ip;
	if (c->trace_call_id) {
		s->trace.call_id = c->trace_call_id;
		s->trace.call_id_len = strlen(c->trace_call_id);
	}
}

struct snap *service_snap_new(struct conf *c, uint64_t gen, const struct snap_addr *addrs,
			      unsigned naddrs, const uint16_t *ports, unsigned nports)
{
	struct snap *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->conf = *c;
	memset(c, 0, sizeof(*c));
	s->gen = gen;
	s->addrs = addrs;
	s->naddrs = naddrs;
	s->ports = ports;
	s->nports = nports;
	snap_filter(s);
	return s;
}

static void snap_free(struct snap *s)
{
	accounts_free(s->accounts);
	uplink_defs_free(&s->uplinks);
	uplink_index_free(s->uplink_ix);
	conf_free(&s->conf);
	free(s);
}

int service_snap_prepare(struct snap *s, const struct snap *prev, char *err, size_t errlen)
{
	const struct conf *c = &s->conf;
	struct auth_opts o = {
		.secret = sv_cstr(c->auth_secret ? c->auth_secret : ""),
		.nonce_expire = c->auth_nonce_expire_s,
		.algs = c->auth_algs,
		.nalgs = c->auth_nalgs,
		.refuse_rfc2069 = c->auth_refuse_rfc2069,
	};
	int ret = auth_init(&s->auth, &o);
	if (ret < 0) {
		snprintf(err, errlen, "%s: auth: %s", c->file ? c->file : "configuration",
			 ret == -EIO ? "no random octets for the nonce key" : "invalid settings");
		return ret;
	}
	if (!o.secret.len && prev)
		memcpy(s->auth.key, prev->auth.key, sizeof(s->auth.key));
	s->accounts = NULL;
	if (c->accounts_file && *c->accounts_file) {
		ret = accounts_load(c->accounts_file, &s->accounts, err, errlen);
		if (ret < 0)
			return ret;
		LOG_I("registrar", "accounts loaded", "file=\"%s\" accounts=%zu bytes=%zu",
		      c->accounts_file, accounts_count(s->accounts), accounts_bytes(s->accounts));
	} else if (c->reg_enabled && c->reg_authenticate) {
		LOG_W("registrar",
		      "registrar.authenticate is on and accounts.file is not set: every REGISTER "
		      "will be challenged and refused",
		      NULL);
	}
	memset(&s->uplinks, 0, sizeof(s->uplinks));
	s->uplink_ix = NULL;
	if (c->uplinks_file && *c->uplinks_file) {
		ret = uplink_defs_load(c->uplinks_file, &s->uplinks, err, errlen);
		if (ret < 0)
			return ret;
		if (s->uplinks.n && !(s->uplink_ix = uplink_index_build(&s->uplinks))) {
			snprintf(err, errlen, "%s: out of memory", c->uplinks_file);
			return -ENOMEM;
		}
		LOG_I("uplink", "uplinks loaded", "file=\"%s\" uplinks=%u", c->uplinks_file,
		      s->uplinks.n);
	}
	return 0;
}

/* ---- registrations ---- */

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void loc_log(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level <= LOCATION_LOG_ERR)
		LOG_E("location", msg, NULL);
	else if (level == LOCATION_LOG_WARNING)
		LOG_W("location", msg, NULL);
	else
		LOG_I("location", msg, NULL);
}

int service_registrar_init(struct daemon *d, char *err, size_t errlen)
{
	const struct conf *c = &atomic_load(&d->snap)->conf;
	struct location_config lc = {
		.initial_aors = 1024,
		.max_per_aor = LOCATION_AOR_MAX,
		.max_bindings = c->reg_max_bindings,
		.readers = d->nworkers,
	};
	int ret = location_create(&d->loc, &lc);
	if (ret < 0) {
		snprintf(err, errlen, "location table: %s", strerror(-ret));
		return ret;
	}
	struct suspend_conf sc = { c->suspend_retry, c->suspend_time_s, c->suspend_by_ip };
	ret = suspend_init(&d->susp, &sc, 65536);
	if (ret < 0) {
		snprintf(err, errlen, "suspension table: %s", strerror(-ret));
		return ret;
	}
	d->service_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->service_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	bool redis = (c->redis_host && *c->redis_host) || (c->redis_unix && *c->redis_unix);
	if (!redis)
		return 0;
	struct location_redis_config rc = {
		.redis_host = c->redis_host && *c->redis_host ? c->redis_host : NULL,
		.redis_port = c->redis_port,
		.redis_unix = c->redis_unix && *c->redis_unix ? c->redis_unix : NULL,
		.redis_password =
			c->redis_password && *c->redis_password ? c->redis_password : NULL,
		.redis_db = c->redis_db,
		.prefix = c->redis_prefix,
		.log = loc_log,
	};
	/* Accounts in Redis: read once now (blocking, before the workers run),
	 * then refreshed by a loader thread. */
	struct accounts_redis_config *ac = calloc(1, sizeof(*ac));
	if (!ac)
		return -ENOMEM;
	ac->host = rc.redis_host ? strdup(rc.redis_host) : NULL;
	ac->port = rc.redis_port;
	ac->unix_path = rc.redis_unix ? strdup(rc.redis_unix) : NULL;
	ac->password = rc.redis_password ? strdup(rc.redis_password) : NULL;
	ac->db = rc.redis_db;
	ac->prefix = strdup(rc.prefix ? rc.prefix : "sipring:");
	d->acc_cfg = ac;
	struct accounts *tab = NULL;
	size_t skipped = 0;
	char aerr[256];
	int n = accounts_redis_load(ac, &tab, &skipped, aerr, sizeof(aerr));
	acc_log(n, skipped, aerr);
	if (n >= 0)
		acc_publish(d, NULL, tab);
	/* Failures and suspensions counted across nodes. */
	struct suspend_redis_config sc2 = {
		.redis_host = rc.redis_host,
		.redis_port = rc.redis_port,
		.redis_unix = rc.redis_unix,
		.redis_password = rc.redis_password,
		.redis_db = rc.redis_db,
		.prefix = rc.prefix,
		.log = loc_log,
	};
	ret = suspend_redis_create(&d->susp_redis, &sc2, &d->susp);
	if (ret == 0)
		ret = suspend_redis_start(d->susp_redis);
	if (ret < 0) {
		snprintf(err, errlen, "redis (suspensions): %s", strerror(-ret));
		return ret;
	}
	ret = location_redis_create(&d->loc_redis, &rc, d->loc);
	if (ret < 0) {
		snprintf(err, errlen, "redis: %s", strerror(-ret));
		return ret;
	}
	int64_t nb = location_redis_load(d->loc_redis, real_ms());
	if (nb < 0)
		LOG_W("registrar", "cannot load registrations from Redis; starting from memory",
		      "error=\"%s\"", strerror((int)-nb));
	else
		LOG_I("registrar", "registrations loaded from Redis", "bindings=%lld",
		      (long long)nb);
	return 0;
}

void service_registrar_fini(struct daemon *d)
{
	if (d->susp_redis) {
		suspend_redis_stop(d->susp_redis);
		suspend_redis_destroy(d->susp_redis);
		d->susp_redis = NULL;
	}
	accounts_free(atomic_exchange(&d->accounts_redis, NULL));
	if (d->acc_cfg) {
		free((char *)d->acc_cfg->host);
		free((char *)d->acc_cfg->unix_path);
		free((char *)d->acc_cfg->password);
		free((char *)d->acc_cfg->prefix);
		free(d->acc_cfg);
		d->acc_cfg = NULL;
	}
	location_redis_destroy(d->loc_redis);
	d->loc_redis = NULL;
	location_destroy(d->loc);
	d->loc = NULL;
	suspend_fini(&d->susp);
	if (d->service_fd > 0)
		close(d->service_fd);
}

/* ---- accounts from Redis ---- */

static void acc_log(int ret, size_t skipped, const char *err)
{
	if (ret < 0)
		LOG_W("registrar", "cannot read accounts from Redis; keeping the ones loaded",
		      "error=\"%s\"", err);
	else if (skipped)
		LOG_W("registrar", "accounts read from Redis, some skipped",
		      "accounts=%d skipped=%zu first=\"%s\"", ret, skipped, err);
	else
		LOG_I("registrar", "accounts read from Redis", "accounts=%d", ret);
}

/* Make tab the Redis accounts the workers use; the old table waits for them. */
static void acc_publish(struct daemon *d, struct service *sv, struct accounts *tab)
{
	struct accounts *old = atomic_exchange(&d->accounts_redis, tab);
	uint64_t e = atomic_fetch_add(&d->acc_epoch, 1) + 1;
	if (!old)
		return;
	if (!sv || sv->acc_nretired == sizeof(sv->acc_retired) / sizeof(sv->acc_retired[0])) {
		LOG_W("registrar", "accounts replaced faster than the workers pass; kept", NULL);
		return; /* leaked until exit rather than freed under a reader */
	}
	sv->acc_retired[sv->acc_nretired].tab = old;
	sv->acc_retired[sv->acc_nretired++].epoch = e;
	wake_all(d);
}

static void acc_reclaim(struct service *sv)
{
	struct daemon *d = sv->d;
	uint64_t min = UINT64_MAX;
	for (unsigned i = 0; i < d->nworkers; i++)
		if (atomic_load(&d->workers[i].state) == 1) {
			uint64_t s = atomic_load(&d->workers[i].acc_seen);
			min = s < min ? s : min;
		}
	unsigned k = 0;
	for (unsigned i = 0; i < sv->acc_nretired; i++) {
		if (sv->acc_retired[i].epoch <= min)
			accounts_free(sv->acc_retired[i].tab);
		else
			sv->acc_retired[k++] = sv->acc_retired[i];
	}
	sv->acc_nretired = k;
}

static void *acc_thread(void *arg)
{
	struct acc_load *a = arg;
	a->ret = accounts_redis_load(a->cfg, &a->tab, &a->skipped, a->err, sizeof(a->err));
	atomic_store(&a->done, 1);
	return NULL;
}

/* Start a refresh when one is due (or forced), take a finished one. */
static void acc_refresh(struct service *sv, bool force)
{
	struct daemon *d = sv->d;
	if (!d->acc_cfg)
		return;
	uint64_t now = now_ms();
	if (sv->acc.running && atomic_load(&sv->acc.done)) {
		pthread_join(sv->acc.th, NULL);
		sv->acc.running = false;
		acc_log(sv->acc.ret, sv->acc.skipped, sv->acc.err);
		if (sv->acc.ret >= 0)
			acc_publish(d, sv, sv->acc.tab);
	}
	acc_reclaim(sv);
	uint32_t every = atomic_load(&d->snap)->conf.accounts_redis_refresh_s;
	if (!sv->acc_next_ms) /* service_registrar_init() read them just now */
		sv->acc_next_ms = now + (uint64_t)(every ? every : 86400) * 1000;
	if (sv->acc.running || (!force && (!every || now < sv->acc_next_ms)))
		return;
	sv->acc_next_ms = now + (uint64_t)(every ? every : 86400) * 1000;
	sv->acc.cfg = d->acc_cfg;
	sv->acc.tab = NULL;
	atomic_store(&sv->acc.done, 0);
	if (pthread_create(&sv->acc.th, NULL, acc_thread, &sv->acc) == 0)
		sv->acc.running = true;
}

/* ---- keepalive ---- */

static uint64_t ka_key(const struct location_binding *b)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const struct sv parts[] = { b->aor, b->instance.len ? b->instance : b->contact };
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < parts[k].len; i++)
			h = (h ^ (uint8_t)parts[k].p[i]) * 0x100000001b3ull;
		h = (h ^ 0xff) * 0x100000001b3ull;
	}
	h ^= b->instance.len ? b->reg_id : 0;
	return h ? h : 1;
}

/* The failure slot of key (linear probing); with add, created when missing. */
static struct ka_fail *ka_find(struct service *sv, uint64_t key, bool add)
{
	if (add && (sv->ka_used + 1) * 4 > sv->ka_cap * 3) {
		uint32_t ncap = sv->ka_cap ? sv->ka_cap * 2 : 64;
		struct ka_fail *n = calloc(ncap, sizeof(*n));
		if (!n)
			return NULL;
		for (uint32_t i = 0; i < sv->ka_cap; i++) {
			if (!sv->ka_fail[i].key)
				continue;
			uint32_t j = (uint32_t)sv->ka_fail[i].key & (ncap - 1);
			while (n[j].key)
				j = (j + 1) & (ncap - 1);
			n[j] = sv->ka_fail[i];
		}
		free(sv->ka_fail);
		sv->ka_fail = n;
		sv->ka_cap = ncap;
	}
	if (!sv->ka_cap)
		return NULL;
	uint32_t mask = sv->ka_cap - 1, i = (uint32_t)key & mask;
	for (; sv->ka_fail[i].key; i = (i + 1) & mask)
		if (sv->ka_fail[i].key == key)
			return &sv->ka_fail[i];
	if (!add)
		return NULL;
	sv->ka_fail[i] = (struct ka_fail){ key, 0 };
	sv->ka_used++;
	return &sv->ka_fail[i];
}

/* Forget slot f (backward-shift deletion keeps the probe chains whole). */
static void ka_forget(struct service *sv, struct ka_fail *f)
{
	uint32_t mask = sv->ka_cap - 1, i = (uint32_t)(f - sv->ka_fail), j = i;
	sv->ka_fail[i].key = 0;
	sv->ka_used--;
	for (;;) {
		j = (j + 1) & mask;
		if (!sv->ka_fail[j].key)
			return;
		uint32_t home = (uint32_t)sv->ka_fail[j].key & mask;
		/* move j back to i when its home is not in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			sv->ka_fail[i] = sv->ka_fail[j];
			sv->ka_fail[j].key = 0;
			i = j;
		}
	}
}

/* A keepalive's result, from a worker. */
static void ka_result(struct service *sv, const struct reg_op *op)
{
	struct daemon *d = sv->d;
	const struct conf *c = &atomic_load(&d->snap)->conf;
	uint64_t key = ka_key(&op->b);
	if (op->kind == REG_OP_KA_OK) {
		struct ka_fail *f = ka_find(sv, key, false);
		if (f)
			ka_forget(sv, f);
		return;
	}
	struct ka_fail *f = ka_find(sv, key, true);
	if (f && ++f->n < c->reg_keepalive_failures)
		return;
	if (f)
		ka_forget(sv, f);
	const struct location_binding *b = &op->b;
	if (location_remove(d->loc, b->aor, b->contact, b->instance, b->reg_id) == 0) {
		d->node.reg_ka_removed++;
		LOG_I("registrar", "binding removed: no answer to keepalive",
		      "aor=\"%.*s\" contact=\"%.*s\" failures=%u", (int)b->aor.len, b->aor.p,
		      (int)b->contact.len, b->contact.p, c->reg_keepalive_failures);
	}
}

/* One AOR of the sweep: a job per live binding, to the worker owning its flow. */
static void ka_aor(void *arg, struct sv aor)
{
	struct service *sv = arg;
	struct daemon *d = sv->d;
	struct location_binding b[LOCATION_AOR_MAX];
	int64_t now = real_ms();
	unsigned n = location_lookup(d->loc, aor, b, LOCATION_AOR_MAX);
	for (unsigned i = 0; i < n && i < LOCATION_AOR_MAX; i++) {
		if (b[i].expires_ms <= now)
			continue;
		unsigned wk = b[i].src.worker < d->nworkers ? b[i].src.worker : 0;
		struct ring *q = &d->workers[wk].kaq;
		struct reg_op **slot = ring_reserve(q);
		struct reg_op *job = slot ? reg_op_new(REG_OP_KA_OK, &b[i]) : NULL;
		if (!job)
			continue; /* the worker is behind: this binding waits for the next sweep */
		*slot = job;
		ring_commit(q);
		sv->ka_wake |= 1ull << (wk & 63);
	}
}

/* Send this round's share of the sweep: every AOR once per interval. */
static void keepalive(struct service *sv)
{
	struct daemon *d = sv->d;
	const struct conf *c = &atomic_load(&d->snap)->conf;
	int64_t now = real_ms();
	if (!c->reg_keepalive_s || atomic_load(&d->stop)) {
		sv->ka_last_ms = now;
		return;
	}
	if (now - sv->ka_last_ms < 100)
		return;
	struct location_counts lc;
	location_counts(d->loc, &lc);
	sv->ka_carry += (double)lc.aors * (double)(now - sv->ka_last_ms) /
			((double)c->reg_keepalive_s * 1000.0);
	sv->ka_last_ms = now;
	if (sv->ka_carry < 1)
		return;
	if (sv->ka_cursor == 0 || location_resizes(d->loc) != sv->ka_resizes) {
		sv->ka_cursor = 0;
		sv->ka_resizes = location_resizes(d->loc);
	}
	unsigned max = sv->ka_carry > 100000 ? 100000 : (unsigned)sv->ka_carry;
	sv->ka_carry -= max;
	sv->ka_wake = 0;
	if (!location_scan(d->loc, &sv->ka_cursor, max, ka_aor, sv))
		sv->ka_cursor = 0; /* the sweep is over: the next starts from the top */
	for (unsigned i = 0; i < d->nworkers; i++)
		if (sv->ka_wake & (1ull << (i & 63)))
			worker_wake(&d->workers[i]);
}

/* Apply what the workers queued, expire what is due, free what readers left,
 * and keep the gauges. */
static void registrations(struct service *sv)
{
	struct daemon *d = sv->d;
	if (!d->loc)
		return;
	uint64_t ev;
	ssize_t r = read(d->service_fd, &ev, sizeof(ev));
	(void)r;
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker *w = &d->workers[i];
		struct reg_op **slot;
		uint64_t done = atomic_load_explicit(&w->reg_applied, memory_order_relaxed);
		/* The ops stay the worker's: it frees them once reg_applied passes them. */
		for (unsigned k = 0; k < SERVICE_REGQ_BATCH && (slot = ring_peek(&w->regq)); k++) {
			const struct reg_op *op = *slot;
			ring_release(&w->regq);
			if (op->kind == REG_OP_KA_OK || op->kind == REG_OP_KA_FAIL) {
				ka_result(sv, op);
			} else {
				int ret = reg_op_apply(d->loc, op);
				if (ret < 0 && !(ret == -ENOENT && op->kind != REG_OP_SET))
					d->node.reg_rejected++;
				else
					d->node.reg_applied++;
			}
			atomic_store_explicit(&w->reg_applied, ++done, memory_order_release);
		}
	}
	struct location_binding gone[SERVICE_EXPIRE_BATCH];
	int n;
	int64_t now = real_ms();
	while ((n = location_expire(d->loc, now, gone, SERVICE_EXPIRE_BATCH)) > 0) {
		d->node.reg_expired += (uint64_t)n;
		if (n < SERVICE_EXPIRE_BATCH)
			break;
	}
	keepalive(sv);
	location_reclaim(d->loc);
	struct location_counts lc;
	location_counts(d->loc, &lc);
	d->node.reg_aors = lc.aors;
	d->node.reg_bindings = lc.bindings;
}

/* Whether a worker's queue still holds changes (then the loop does not sleep). */
static bool regq_pending(struct daemon *d)
{
	for (unsigned i = 0; i < d->nworkers; i++)
		if (ring_peek(&d->workers[i].regq))
			return true;
	return false;
}

/* ---- uplinks ---- */

static int up_send(void *arg, unsigned worker, struct uplink_req *r)
{
	struct service *sv = arg;
	struct worker *w = &sv->d->workers[worker % sv->d->nworkers];
	struct uplink_req **slot = ring_reserve(&w->upq);
	if (!slot)
		return -ENOBUFS;
	*slot = r;
	ring_commit(&w->upq);
	sv->up_wake |= 1ull << (w->id & 63);
	return 0;
}

/* A literal address (IPv6 with or without brackets) into *ss; false when host is a name. */
static bool literal_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
			 socklen_t *len)
{
	char h[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(h)) {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = 0;
	} else {
		snprintf(h, sizeof(h), "%s", host);
	}
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return true;
	}
	if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return true;
	}
	return false;
}

/*
 * An uplink's registrar or proxy: a literal address, or a name from the domain
 * table (A and AAAA; added when first asked, -EAGAIN until resolved). *ss holds
 * the address used before (AF_UNSPEC: none): kept while the name still has it,
 * so that refreshes, challenges and the unregistration go to the server that
 * holds the binding; otherwise the table picks one (round robin).
 */
static int up_resolve(void *arg, const char *host, uint16_t port, uint8_t transport,
		      struct sockaddr_storage *ss, socklen_t *len)
{
	struct service *sv = arg;
	struct sockaddr_storage prev = *ss;
	if (literal_addr(host, port ? port : 5060, ss, len))
		return 0;
	if (!sv->dns)
		return -EHOSTUNREACH;
	/* A port given: A and AAAA. None: RFC 3263 (NAPTR, SRV, then A/AAAA). */
	enum domains_kind kind = port ? DOMAINS_HOST : DOMAINS_NAPTR;
	int ret = domains_add(sv->dns, kind, host);
	if (ret < 0)
		return ret == -EINVAL ? -EHOSTUNREACH : ret;
	struct domains_info e;
	if (domains_get(sv->dns, kind, host, &e) < 0 || e.status == DOMAINS_PENDING)
		return -EAGAIN;
	uint8_t tp = transport == CONF_TCP ? DOMAINS_TP_TCP : DOMAINS_TP_UDP;
	bool kept = false;
	for (unsigned i = 0; i < e.naddrs && prev.ss_family && !kept; i++) {
		const struct domains_addr *a = &e.addrs[i];
		const struct domains_target *t = &e.targets[a->target];
		if (a->family != prev.ss_family || (t->transport && t->transport != tp))
			continue;
		const void *ip = a->family == AF_INET
					 ? (const void *)&((struct sockaddr_in *)&prev)->sin_addr
					 : (const void *)&((struct sockaddr_in6 *)&prev)->sin6_addr;
		if (!memcmp(a->ip, ip, a->family == AF_INET ? 4 : 16)) {
			*len = domains_addr_sockaddr(a, ss);
			kept = true;
		}
	}
	if (!kept) {
		struct domains_cursor c;
		struct domains_pick pk;
		domains_cursor_init(&c, tp, AF_UNSPEC);
		ret = domains_pick(sv->dns, kind, host, &c, &pk);
		if (ret == -EAGAIN)
			return -EAGAIN;
		if (ret < 0)
			return -EHOSTUNREACH;
		*ss = pk.sa;
		*len = pk.salen;
	}
	/* The uplink's port when given; else DNS's (SRV), else 5060. */
	uint16_t *sp = ss->ss_family == AF_INET ? &((struct sockaddr_in *)ss)->sin_port
						: &((struct sockaddr_in6 *)ss)->sin6_port;
	if (port || !*sp)
		*sp = htons(port ? port : 5060);
	return 0;
}

static bool sa_any(const struct sockaddr_storage *a)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == htonl(INADDR_ANY);
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &any6, sizeof(any6));
}

/* Our address toward dest and our listen port for the transport. */
static int up_local(void *arg, const struct sockaddr *dest, uint8_t transport, char *host,
		    size_t cap, uint16_t *port)
{
	struct service *sv = arg;
	const struct conf *c = &atomic_load(&sv->d->snap)->conf;
	const struct conf_listen *l = NULL;
	for (unsigned i = 0; i < c->nlisten && !l; i++)
		if (c->listen[i].proto == transport &&
		    c->listen[i].addr.ss_family == dest->sa_family)
			l = &c->listen[i];
	if (!l)
		return -EAFNOSUPPORT;
	struct sockaddr_storage me = l->addr;
	*port = ntohs(me.ss_family == AF_INET ? ((struct sockaddr_in *)&me)->sin_port
					      : ((struct sockaddr_in6 *)&me)->sin6_port);
	if (c->advertised_host && *c->advertised_host) {
		snprintf(host, cap, "%s", c->advertised_host);
		return 0;
	}
	if (sa_any(&me)) {
		/* The address the kernel would send from: a connected UDP socket. */
		int fd = socket(dest->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		socklen_t sl = sizeof(me);
		int ok = fd >= 0 &&
			 connect(fd, dest,
				 dest->sa_family == AF_INET ? sizeof(struct sockaddr_in)
							    : sizeof(struct sockaddr_in6)) == 0 &&
			 getsockname(fd, (struct sockaddr *)&me, &sl) == 0;
		if (fd >= 0)
			close(fd);
		if (!ok)
			return -errno;
	}
	char ip[INET6_ADDRSTRLEN];
	if (me.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&me)->sin_addr, ip, sizeof(ip));
		snprintf(host, cap, "%s", ip);
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&me)->sin6_addr, ip, sizeof(ip));
		snprintf(host, cap, "[%s]", ip);
	}
	return 0;
}

static void up_params(const struct conf *c, struct uplink_params *p)
{
	*p = (struct uplink_params){
		.expire_s = c->uplink_expire_s,
		.retry_delay_ms = c->uplink_retry_s * 1000,
		.privacy = (uint8_t)c->uplink_privacy,
		.send_unregister = c->uplink_send_unregister,
		.auth_retry = c->uplink_auth_retry,
		.max_forwards = c->max_forwards,
		.user_agent = c->server_header ? c->server_header : "",
	};
}

/* Collect the entries no uplink names any more (domains_foreach). */
struct dns_sweep {
	const struct uplink_mgr *up;
	char (*gone)[DOMAINS_NAME_MAX + 1];
	enum domains_kind *kind;
	unsigned n, cap;
};

static void dns_sweep_one(void *arg, const struct domains_info *e)
{
	struct dns_sweep *w = arg;
	if ((e->kind != DOMAINS_HOST && e->kind != DOMAINS_NAPTR) || w->n == w->cap ||
	    uplink_mgr_uses(w->up, e->name, e->kind == DOMAINS_HOST))
		return;
	w->kind[w->n] = e->kind;
	snprintf(w->gone[w->n++], DOMAINS_NAME_MAX + 1, "%s", e->name);
}

/* Drop the names no uplink uses any more (one being removed still does, until
 * its unregistration is over). */
static void dns_sweep(struct service *sv)
{
	if (!sv->dns || !sv->up)
		return;
	char gone[64][DOMAINS_NAME_MAX + 1];
	enum domains_kind kinds[64];
	struct dns_sweep w = { sv->up, gone, kinds, 0, 64 };
	uint64_t cursor = 0;
	bool more;
	do {
		w.n = 0;
		more = domains_foreach(sv->dns, &cursor, 256, dns_sweep_one, &w);
		for (unsigned i = 0; i < w.n; i++)
			domains_remove(sv->dns, kinds[i], gone[i]);
	} while (more);
}

/* The names of the uplinks' registrars and proxies into the domain table (resolved
 * at once, before the first REGISTER needs them). */
static void dns_sync(struct service *sv, const struct uplink_defs *defs)
{
	if (!sv->dns)
		return;
	struct sockaddr_storage ss;
	socklen_t sl;
	for (unsigned i = 0; i < defs->n; i++) {
		const struct uplink_def *u = &defs->v[i];
		if (!literal_addr(u->registrar, 0, &ss, &sl))
			domains_add(sv->dns, u->port ? DOMAINS_HOST : DOMAINS_NAPTR, u->registrar);
		if (u->proxy[0] && !literal_addr(u->proxy, 0, &ss, &sl))
			domains_add(sv->dns, u->proxy_port ? DOMAINS_HOST : DOMAINS_NAPTR,
				    u->proxy);
	}
}

static void up_apply(struct service *sv, const struct snap *s)
{
	struct uplink_params p;
	up_params(&s->conf, &p);
	dns_sync(sv, &s->uplinks);
	int ret = uplink_mgr_apply(sv->up, &s->uplinks, &p, now_ms());
	if (ret < 0)
		LOG_E("uplink", "cannot apply the uplinks", "error=\"%s\"", strerror(-ret));
	dns_sweep(sv);
	sv->up_count = uplink_mgr_count(sv->up);
	sv->up_next = 0;
}

static const struct uplink_ops up_ops = {
	.send = up_send,
	.resolve = up_resolve,
	.local = up_local,
};

/* Take the workers' results, send what is due, keep the gauges. */
static void uplinks(struct service *sv)
{
	struct daemon *d = sv->d;
	if (!sv->up)
		return;
	uint64_t now = now_ms();
	sv->up_wake = 0;
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct uplink_res **slot;
		while ((slot = ring_peek(&d->workers[i].upres))) {
			struct uplink_res *r = *slot;
			ring_release(&d->workers[i].upres);
			uplink_mgr_result(sv->up, r, now);
		}
	}
	sv->up_next = uplink_mgr_run(sv->up, now);
	unsigned cnt = uplink_mgr_count(sv->up);
	if (cnt < sv->up_count)
		dns_sweep(sv); /* removed uplinks are gone: their names may go too */
	sv->up_count = cnt;
	for (unsigned i = 0; i < d->nworkers; i++)
		if (sv->up_wake & (1ull << (i & 63)))
			worker_wake(&d->workers[i]);
	uplink_mgr_states(sv->up, d->node.uplinks);
	const struct uplink_counters *k = uplink_mgr_counters(sv->up);
	memcpy(d->node.uplink_registers, k->registers, sizeof(d->node.uplink_registers));
	memcpy(d->node.uplink_unregisters, k->unregisters, sizeof(d->node.uplink_unregisters));
}

/* ---- carrier domain names ---- */

static void dns_log(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level <= DOMAINS_LOG_ERR)
		LOG_E("dns", msg, NULL);
	else if (level == DOMAINS_LOG_WARNING)
		LOG_W("dns", msg, NULL);
	else
		LOG_I("dns", msg, NULL);
}

/* The domain table (and its Redis mirror) from dns.* and redis.*, made once at
 * start: dns.* need a restart. */
static void dns_start(struct service *sv)
{
	const struct conf *c = &atomic_load(&sv->d->snap)->conf;
	struct domains_config dc;
	domains_config_defaults(&dc);
	dc.servers = (const char *const *)c->dns_servers;
	dc.nservers = c->ndns_servers;
	dc.timeout_ms = c->dns_timeout_ms;
	dc.tries = c->dns_tries;
	dc.ttl_floor = c->dns_ttl_floor_s;
	dc.ttl_ceiling = c->dns_ttl_ceiling_s;
	dc.negative_ttl = c->dns_negative_ttl_s;
	dc.stale_grace = c->dns_stale_grace_s;
	dc.prefetch = c->dns_prefetch;
	dc.log = dns_log;
	int ret = domains_new(&sv->dns, &dc);
	if (ret < 0) {
		LOG_E("dns", "no domain table: carrier names will not resolve", "error=\"%s\"",
		      strerror(-ret));
		sv->dns = NULL;
		return;
	}
	bool redis = (c->redis_host && *c->redis_host) || (c->redis_unix && *c->redis_unix);
	if (!redis)
		return;
	struct domain_redis_config rc = {
		.redis_host = c->redis_host && *c->redis_host ? c->redis_host : NULL,
		.redis_port = c->redis_port,
		.redis_unix = c->redis_unix && *c->redis_unix ? c->redis_unix : NULL,
		.redis_password =
			c->redis_password && *c->redis_password ? c->redis_password : NULL,
		.redis_db = c->redis_db,
		.prefix = c->redis_prefix,
		.node = c->node_name,
		.log = dns_log,
	};
	ret = domain_redis_create(&sv->dns_redis, &rc, sv->dns);
	if (ret < 0) {
		LOG_E("dns", "no Redis mirror of the domain table", "error=\"%s\"", strerror(-ret));
		sv->dns_redis = NULL;
	}
}

static void dns_count(void *arg, const struct domains_info *e)
{
	uint64_t *by = arg;
	if ((unsigned)e->status < 7)
		by[e->status]++;
}

/* The gauges and counters of the domain table, once a second. */
static void dns_stats(struct service *sv)
{
	struct daemon *d = sv->d;
	uint64_t now = now_ms();
	if (!sv->dns || now - sv->dns_stats_ms < 1000)
		return;
	sv->dns_stats_ms = now;
	uint64_t by[7] = { 0 }, cursor = 0;
	while (domains_foreach(sv->dns, &cursor, 4096, dns_count, by))
		;
	memcpy(d->node.dns_entries, by, sizeof(d->node.dns_entries));
	struct domains_stats st;
	domains_stats(sv->dns, &st);
	d->node.dns_queries = st.queries;
	d->node.dns_failures = st.failures;
	if (sv->dns_redis) {
		struct domain_redis_stats rs;
		domain_redis_stats(sv->dns_redis, &rs);
		d->node.dns_redis_connected = rs.connected;
	}
}

/* ---- trace ---- */

static void trace_drain(struct service *sv)
{
	struct daemon *d = sv->d;
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct ring *r = &d->workers[i].trace;
		struct trace_rec **slot;
		while ((slot = ring_peek(r))) {
			struct trace_rec *rec = *slot;
			ring_release(r);
			if (sv->tf && trace_write(sv->tf, rec) == 0)
				d->node.trace_written++;
			else if (sv->tf)
				d->node.trace_failed++;
			free(rec);
		}
	}
}

/* Open (or keep, or close) the trace file that snapshot s asks for. */
static void trace_apply(struct service *sv, struct snap *s)
{
	const char *path = s->conf.trace_file;
	bool want = path && *path && s->conf.trace_mode != CONF_TRACE_OFF;
	if (sv->tf && (!want || strcmp(path, sv->trace_path))) {
		trace_drain(sv);
		trace_close(sv->tf);
		sv->tf = NULL;
		free(sv->trace_path);
		sv->trace_path = NULL;
	}
	if (want && !sv->tf) {
		int ret = trace_open(&sv->tf, path);
		if (ret < 0) {
			LOG_E("trace", "cannot open the trace file", "file=\"%s\" error=\"%s\"",
			      path, strerror(-ret));
			sv->tf = NULL;
		} else {
			sv->trace_path = strdup(path);
			LOG_I("trace", "tracing", "file=\"%s\"", path);
		}
	}
	s->tracing = sv->tf != NULL;
}

/* ---- snapshots ---- */

static void wake_all(struct daemon *d)
{
	for (unsigned i = 0; i < d->nworkers; i++)
		worker_wake(&d->workers[i]);
}

static void publish(struct service *sv, struct snap *s)
{
	struct daemon *d = sv->d;
	struct snap *old = atomic_exchange(&d->snap, s);
	if (sv->nretired == SERVICE_MAX_RETIRED) {
		/* Reloads faster than workers pass a loop: keep the oldest alive
		 * rather than free one in use (it is reclaimed at exit). */
		LOG_W("service", "too many configuration snapshots pending", NULL);
	} else {
		sv->retired[sv->nretired++] = old;
	}
	wake_all(d);
}

/* Free the retired snapshots every running worker has moved past. */
static void reclaim(struct service *sv)
{
	struct daemon *d = sv->d;
	uint64_t min = UINT64_MAX;
	for (unsigned i = 0; i < d->nworkers; i++) {
		if (atomic_load(&d->workers[i].state) != 1)
			continue;
		uint64_t g = atomic_load(&d->workers[i].seen_gen);
		if (g < min)
			min = g;
	}
	unsigned k = 0;
	for (unsigned i = 0; i < sv->nretired; i++) {
		if (sv->retired[i]->gen < min)
			snap_free(sv->retired[i]);
		else
			sv->retired[k++] = sv->retired[i];
	}
	sv->nretired = k;
}

static void reload(struct service *sv)
{
	struct daemon *d = sv->d;
	struct snap *cur = atomic_load(&d->snap);
	struct conf c;
	char err[512];
	int ret = conf_load(cur->conf.file, &c, err, sizeof(err));
	if (ret < 0) {
		d->node.reloads_failed++;
		LOG_E("service", "reload failed, keeping the running configuration", "error=\"%s\"",
		      err);
		return;
	}
	char keys[512];
	if (conf_restart_keys(&cur->conf, &c, keys, sizeof(keys)))
		LOG_W("service", "reload: these keys need a restart and keep their running values",
		      "keys=\"%s\"", keys);
	struct snap *s = service_snap_new(&c, cur->gen + 1, cur->addrs, cur->naddrs, cur->ports,
					  cur->nports);
	if (!s) {
		conf_free(&c);
		d->node.reloads_failed++;
		LOG_E("service", "reload failed", "error=\"%s\"", strerror(ENOMEM));
		return;
	}
	/* What needs a restart keeps its running value. */
	struct conf *n = &s->conf, *o = &cur->conf;
	if (service_snap_prepare(s, cur, err, sizeof(err)) < 0) {
		snap_free(s);
		d->node.reloads_failed++;
		LOG_E("service", "reload failed, keeping the running configuration", "error=\"%s\"",
		      err);
		return;
	}
	struct suspend_conf susp = { n->suspend_retry, n->suspend_time_s, n->suspend_by_ip };
	if (d->loc)
		suspend_set_conf(&d->susp, &susp);
	n->workers = o->workers;
	n->pin_workers = o->pin_workers;
	n->ring_entries = o->ring_entries;
	n->rx_buffers = o->rx_buffers;
	n->rx_buffer_size = o->rx_buffer_size;
	n->tcp_max_connections = o->tcp_max_connections;
	n->tcp_max_buffer = o->tcp_max_buffer;
	n->private_port_base = o->private_port_base;
	n->reg_max_bindings = o->reg_max_bindings; /* the location table's limit */
	n->http_enabled = o->http_enabled;
	n->http_addr = o->http_addr;
	n->http_addrlen = o->http_addrlen;
	memcpy(n->http_listen_text, o->http_listen_text, sizeof(n->http_listen_text));
	struct conf_listen *l = malloc(sizeof(*l) * o->nlisten);
	if (l) { /* the sockets that are bound, not the file's new list */
		memcpy(l, o->listen, sizeof(*l) * o->nlisten);
		free(n->listen);
		n->listen = l;
		n->nlisten = o->nlisten;
	}
	log_set_level(n->log_level);
	/* Reopen the trace even under the same name: rename + SIGHUP rotates it
	 * (trace_open() appends to a pcap of its own). */
	if (sv->tf) {
		trace_drain(sv);
		trace_close(sv->tf);
		sv->tf = NULL;
		free(sv->trace_path);
		sv->trace_path = NULL;
	}
	trace_apply(sv, s);
	publish(sv, s);
	if (sv->up && !atomic_load(&d->stop))
		up_apply(sv, s);
	d->node.reloads_ok++;
	LOG_I("service", "configuration reloaded", "file=\"%s\" generation=%llu", n->file,
	      (unsigned long long)s->gen);
}

/* ---- management ---- */

static void status_json(void *arg, cJSON *root)
{
	struct service *sv = arg;
	struct daemon *d = sv->d;
	struct snap *s = atomic_load(&d->snap);
	int stop = atomic_load(&d->stop);
	cJSON_AddStringToObject(root, "node", s->conf.node_name ? s->conf.node_name : "");
	cJSON_AddStringToObject(root, "state", stop == 0 ? "running" : "stopping");
	cJSON_AddStringToObject(root, "config_file", s->conf.file ? s->conf.file : "");
	cJSON_AddNumberToObject(root, "config_generation", (double)s->gen);
	cJSON *l = cJSON_AddArrayToObject(root, "listen");
	for (unsigned i = 0; l && i < s->conf.nlisten; i++)
		cJSON_AddItemToArray(l, cJSON_CreateString(s->conf.listen[i].text));
	cJSON_AddStringToObject(root, "trace", sv->trace_path ? sv->trace_path : "");
	cJSON *ws = cJSON_GetObjectItemCaseSensitive(root, "workers");
	for (unsigned i = 0; i < d->nworkers; i++) {
		cJSON *w = ws ? cJSON_GetArrayItem(ws, (int)i) : NULL;
		if (!w)
			break;
		cJSON_AddNumberToObject(w, "cpu", d->workers[i].cpu);
		cJSON_AddNumberToObject(w, "private_port", d->workers[i].private_port);
	}
}

#ifdef SIPRING_REG_API
/* DELETE /api/v1/suspensions/<key>: the cluster's copy too. */
static void susp_clear_redis(void *arg, const char *key)
{
	struct daemon *d = arg;
	int ret = suspend_redis_clear(d->susp_redis, key);
	if (ret < 0)
		LOG_W("registrar", "cannot clear the suspension in Redis",
		      "key=\"%s\" error=\"%s\"", key, strerror(-ret));
}
#endif

static int mgmt_up(struct service *sv, struct mgmt_source *src)
{
	struct daemon *d = sv->d;
	struct snap *s = atomic_load(&d->snap);
	if (!s->conf.http_enabled)
		return 0;
	*src = (struct mgmt_source){
		.workers = d->stats,
		.nworkers = d->nworkers,
		.node = &d->node,
		.version = SIPRING_VERSION,
		.status_json = status_json,
		.arg = sv,
	};
	char err[256];
	int ret = mgmt_start(&sv->mgmt, (const struct sockaddr *)&s->conf.http_addr,
			     s->conf.http_addrlen, src, err, sizeof(err));
	if (ret < 0) {
		LOG_E("mgmt", "cannot start the management endpoint", "error=\"%s\"", err);
		return ret;
	}
	LOG_I("mgmt", "management endpoint", "listen=%s", s->conf.http_listen_text);
#ifdef SIPRING_REG_API
	struct reg_api_source rs = { .loc = d->loc,
				     .susp = d->loc ? &d->susp : NULL,
				     .on_clear = d->susp_redis ? susp_clear_redis : NULL,
				     .arg = d };
	ret = reg_api_init(&sv->reg_api, sv->mgmt, &rs);
	if (ret < 0)
		LOG_E("mgmt", "cannot add the registrar's routes", "error=\"%s\"", strerror(-ret));
#endif
	sv->dns_api.d = sv->dns;
	ret = domain_api_init(&sv->dns_api, sv->mgmt);
	if (ret < 0)
		LOG_E("mgmt", "cannot add the domains' routes", "error=\"%s\"", strerror(-ret));
	if (sv->up) {
		sv->up_api = (struct uplink_api){ .mgr = sv->up, .now_ms = now_ms };
		ret = uplink_api_init(&sv->up_api, sv->mgmt);
		if (ret < 0)
			LOG_E("mgmt", "cannot add the uplinks' routes", "error=\"%s\"",
			      strerror(-ret));
	}
	return 0;
}

/* ---- the loop ---- */

static bool all_stopped(struct daemon *d)
{
	for (unsigned i = 0; i < d->nworkers; i++)
		if (atomic_load(&d->workers[i].state) == 1)
			return false;
	return true;
}

static bool all_drained(struct daemon *d)
{
	for (unsigned i = 0; i < d->nworkers; i++)
		if (!worker_drained(&d->workers[i]))
			return false;
	return true;
}

static void begin_stop(struct service *sv, int sig)
{
	struct daemon *d = sv->d;
	int stop = atomic_load(&d->stop);
	if (stop == 0) {
		struct snap *s = atomic_load(&d->snap);
		sv->deadline_ms = now_ms() + s->conf.stop_deadline_ms;
		atomic_store(&d->stop, 1);
		d->node.stopping = 1;
		LOG_I("service", "stopping", "signal=%s deadline_ms=%u", strsignal(sig),
		      s->conf.stop_deadline_ms);
		if (sv->up) {
			unsigned n = uplink_mgr_stop(sv->up, now_ms());
			if (n)
				LOG_I("uplink", "unregistering", "uplinks=%u", n);
			uplinks(sv);
		}
		wake_all(d);
	} else if (stop == 1) {
		LOG_W("service", "second stop signal: leaving now", NULL);
		atomic_store(&d->stop, 2);
		wake_all(d);
	}
}

int service_run(struct daemon *d, int sigfd)
{
	struct service sv = { .d = d, .up_next = -1 };
	struct mgmt_source src;
	int status = 0;

	trace_apply(&sv, atomic_load(&d->snap));
	dns_start(&sv);
	sv.up = uplink_mgr_new(d->nworkers, &up_ops, &sv);
	if (!sv.up)
		LOG_E("uplink", "out of memory: no outbound registrations", NULL);
	else
		up_apply(&sv, atomic_load(&d->snap));
	if (mgmt_up(&sv, &src) < 0) {
		atomic_store(&d->stop, 2);
		wake_all(d);
		status = 1;
	} else {
		LOG_I("service", "ready", "workers=%u version=%s", d->nworkers, SIPRING_VERSION);
	}

	while (!all_stopped(d)) {
		short rev = 0;
		enum { NPF = 5 + DOMAINS_POLL_MAX };
		struct pollfd pf[NPF] = { { .fd = sigfd, .events = POLLIN },
					  { .fd = sv.mgmt ? mgmt_poll_fd(sv.mgmt) : -1,
					    .events = POLLIN },
					  { .fd = d->loc ? d->service_fd : -1, .events = POLLIN },
					  { .fd = -1 },
					  { .fd = -1 } };
		unsigned ndns = 0;
		int timeout = SERVICE_TICK_MS;
		if (sv.mgmt) {
			int t = mgmt_poll_timeout_ms(sv.mgmt);
			if (t >= 0 && t < timeout)
				timeout = t;
		}
		if (d->loc_redis) {
			pf[3].fd = location_redis_poll_fd(d->loc_redis, &pf[3].events);
			int t = location_redis_poll_timeout(d->loc_redis);
			if (t >= 0 && t < timeout)
				timeout = t;
		}
		if (sv.dns) {
			ndns = domains_poll_fds(sv.dns, pf + 5, DOMAINS_POLL_MAX);
			if (ndns > DOMAINS_POLL_MAX)
				ndns = DOMAINS_POLL_MAX;
			int t = domains_poll_timeout(sv.dns, (int64_t)now_ms());
			if (t >= 0 && t < timeout)
				timeout = t;
		}
		if (sv.dns_redis) {
			pf[4].fd = domain_redis_poll_fd(sv.dns_redis, &pf[4].events);
			int t = domain_redis_poll_timeout(sv.dns_redis);
			if (t >= 0 && t < timeout)
				timeout = t;
		}
		if (sv.up_next >= 0 && sv.up_next < timeout)
			timeout = (int)sv.up_next;
		if (d->loc) {
			int64_t next = location_next_expiry(d->loc) - real_ms();
			if (next < timeout)
				timeout = next < 0 ? 0 : (int)next;
			if (regq_pending(d))
				timeout = 0;
		}
		int n = poll(pf, 5 + ndns, timeout);
		if (n > 0 && pf[3].fd >= 0)
			rev = pf[3].revents;
		if (n < 0 && errno != EINTR) {
			LOG_E("service", "poll failed", "error=\"%s\"", strerror(errno));
			break;
		}
		if (sv.dns)
			domains_process(sv.dns, pf + 5, n > 0 ? ndns : 0, (int64_t)now_ms());
		if (sv.dns_redis)
			domain_redis_process(sv.dns_redis,
					     n > 0 && pf[4].fd >= 0 ? pf[4].revents : 0);
		if (n > 0 && (pf[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					reload(&sv);
					acc_refresh(&sv, true); /* and the accounts in Redis */
				} else
					begin_stop(&sv, (int)si.ssi_signo);
			}
		}
		if (sv.mgmt)
			mgmt_process(sv.mgmt);
		registrations(&sv);
		uplinks(&sv);
		dns_stats(&sv);
		acc_refresh(&sv, false);
		if (d->loc_redis) {
			location_redis_process(d->loc_redis, rev);
			struct location_redis_stats st;
			location_redis_stats(d->loc_redis, &st);
			d->node.redis_connected = st.connected;
		}

		uint64_t now = now_ms();
		trace_drain(&sv);
		if (sv.tf && now - sv.last_flush_ms >= SERVICE_TRACE_FLUSH_MS) {
			trace_flush(sv.tf);
			sv.last_flush_ms = now;
		}
		reclaim(&sv);
		bool up_busy = sv.up && uplink_mgr_busy(sv.up);
		if (atomic_load(&d->stop) == 1 &&
		    ((all_drained(d) && !up_busy) || now >= sv.deadline_ms)) {
			if (up_busy)
				LOG_W("uplink",
				      "stop deadline reached with unregistrations unanswered",
				      "uplinks=%u", uplink_mgr_busy(sv.up));
			else if (!all_drained(d))
				LOG_W("service", "stop deadline reached with work left", NULL);
			atomic_store(&d->stop, 2);
			wake_all(d);
		}
	}
	for (unsigned i = 0; i < d->nworkers; i++)
		pthread_join(d->workers[i].thread, NULL);
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct uplink_res **slot;
		while ((slot = ring_peek(&d->workers[i].upres))) {
			free(*slot);
			ring_release(&d->workers[i].upres);
		}
	}
	uplink_mgr_free(sv.up);
	domain_redis_destroy(sv.dns_redis);
	domains_free(sv.dns);
	/* The last changes, then give Redis a moment to take them. */
	while (d->loc && regq_pending(d))
		registrations(&sv);
	if (d->loc_redis) {
		uint64_t until = now_ms() + SERVICE_FLUSH_MS;
		struct location_redis_stats st;
		location_redis_stats(d->loc_redis, &st);
		while (!st.synced && st.connected && now_ms() < until) {
			location_redis_run_once(d->loc_redis, 10);
			location_redis_stats(d->loc_redis, &st);
		}
	}
	trace_drain(&sv);
	if (sv.tf) {
		trace_flush(sv.tf);
		trace_close(sv.tf);
	}
	free(sv.trace_path);
	if (sv.mgmt)
		mgmt_stop(sv.mgmt);
	for (unsigned i = 0; i < sv.nretired; i++)
		snap_free(sv.retired[i]);
	free(sv.ka_fail);
	if (sv.acc.running) {
		pthread_join(sv.acc.th, NULL);
		accounts_free(sv.acc.tab);
	}
	for (unsigned i = 0; i < sv.acc_nretired; i++)
		accounts_free(sv.acc_retired[i].tab);
	return status;
}
