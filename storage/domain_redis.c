/* SPDX-License-Identifier: MIT */
/* domain_redis.c: see domain_redis.h. */
#define _GNU_SOURCE
#include "domain_redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "resp.h"

#define PREFIX_MAX 64

/*
 * The gate, atomically. KEYS: hash, lock. ARGV: now (realtime ms), node,
 * lock_ms. Returns {0, hash}: fresh, import it; {1, hash}: this node holds
 * the lock: import the hash when newer (its addresses may still be served if
 * DNS fails), then resolve; {2, hash}: another node holds it. The hash may be
 * empty (none) in 1 and 2.
 */
static const char gate_script[] =
	"local h = redis.call('HGETALL', KEYS[1])\n"
	"local nr\n"
	"for i = 1, #h, 2 do if h[i] == 'next_refresh' then nr = tonumber(h[i + 1]) end end\n"
	"if nr and nr > tonumber(ARGV[1]) then return {0, h} end\n"
	"if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return {1, h} end\n"
	"if redis.call('GET', KEYS[2]) == ARGV[2] then\n"
	"  redis.call('PEXPIRE', KEYS[2], ARGV[3])\n"
	"  return {1, h}\n"
	"end\n"
	"return {2, h}\n";

/*
 * A resolution's result. KEYS: hash, index, lock. ARGV: node, expire at,
 * now, index member, resolved_at, then the hash's field/value pairs. Writes
 * unless the hash holds a newer resolution; releases the lock if it is the
 * node's. Returns 1 written, 0 not (older).
 */
static const char write_script[] =
	"local cur = redis.call('HGET', KEYS[1], 'resolved_at')\n"
	"local w = 0\n"
	"if not cur or (tonumber(cur) or 0) <= tonumber(ARGV[5]) then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"  redis.call('HSET', KEYS[1], unpack(ARGV, 6))\n"
	"  redis.call('PEXPIREAT', KEYS[1], ARGV[2])\n"
	"  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])\n"
	"  w = 1\n"
	"end\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])\n"
	"if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end\n"
	"return w\n";

enum rstate { RS_DOWN, RS_CONNECTING, RS_HANDSHAKE, RS_READY };
enum optype { OP_AUTH, OP_SELECT, OP_LOAD_GATE, OP_LOAD_WRITE, OP_GATE, OP_WRITE };

/* A command sent and not answered yet; replies come in order. */
struct op {
	uint8_t type;
	uint8_t kind;
	char *name; /* OP_GATE: the entry's name (owned) */
};

struct domain_redis {
	struct domain_redis_config cfg;
	struct domains *d;
	char prefix[PREFIX_MAX + 1];
	char sha_gate[48], sha_write[48];

	enum rstate rs;
	redisContext *rc;
	int64_t deadline_ms, retry_at_ms;
	uint32_t backoff_ms;
	bool failing;

	struct op *q; /* a ring of cap_q */
	uint32_t q_head, q_n, cap_q;

	/* refreshes due while the connection is being made (or the queue is full) */
	struct op *held;
	uint32_t n_held, cap_held;

	bool need_resync;
	bool broken; /* a command could not be appended whole: drop the connection */
	uint64_t resync_cur;

	struct resp_out out;

	struct {
		_Atomic uint64_t gates, locked, imported, busy, alone, writes, stale_writes,
			connects, redis_errors;
		_Atomic bool connected;
	} st;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cnt_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static void rlog(struct domain_redis *dr, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rlog(struct domain_redis *dr, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (dr->cfg.log)
		dr->cfg.log(dr->cfg.log_arg, level, msg);
	else
		fprintf(stderr, "sipring domains redis: %s\n", msg);
}

/* ---- the addresses value ---- */

int domain_redis_encode_addrs(const struct domains_info *e, char *buf, size_t cap)
{
	size_t len = 0;

	if (!cap)
		return -ENOSPC;
	buf[0] = '\0';
	for (unsigned i = 0; i < e->naddrs; i++) {
		const struct domains_addr *a = &e->addrs[i];
		const struct domains_target *t =
			a->target < e->ntargets ? &e->targets[a->target] : NULL;
		char ip[INET6_ADDRSTRLEN];
		int k;

		if (!t)
			return -EINVAL;
		inet_ntop(a->family, a->ip, ip, sizeof(ip));
		k = snprintf(buf + len, cap - len,
			     a->family == AF_INET6 ? "%s[%s]:%u;%u;%u;%s;%s;%u;%u"
						   : "%s%s:%u;%u;%u;%s;%s;%u;%u",
			     i ? "," : "", ip, a->port, t->priority, t->weight,
			     domains_transport_name(t->transport), t->name, t->order,
			     t->preference);
		if (k < 0 || (size_t)k >= cap - len)
			return -ENOSPC;
		len += (size_t)k;
	}
	return (int)len;
}

static bool num(struct sv s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s.len || s.len > 19)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool copy_str(struct sv s, char *dst, size_t cap)
{
	if (s.len >= cap)
		return false;
	memcpy(dst, s.p, s.len);
	dst[s.len] = '\0';
	return true;
}

/* Split s at the first c: *head before it, s after (empty when none). */
static struct sv cut(struct sv *s, char c)
{
	const char *p = memchr(s->p, c, s->len);
	struct sv head;

	if (!p) {
		head = *s;
		*s = sv_make(s->p + s->len, 0);
		return head;
	}
	head = sv_range(s->p, p);
	*s = sv_range(p + 1, s->p + s->len);
	return head;
}

/* One "<ip>:<port>;<prio>;<weight>;<tp>;<target>;<order>;<pref>" item into out. */
static int decode_addr(struct sv item, struct domain_redis_entry *out)
{
	struct sv hp = cut(&item, ';'), f[6];
	struct domains_target t = { 0 };
	struct domains_addr a = { 0 };
	const char *colon;
	char ip[INET6_ADDRSTRLEN + 1], tp[8], tname[DOMAINS_NAME_MAX + 1];
	uint64_t v[5];
	enum domains_transport tpv;
	unsigned ti;

	for (unsigned i = 0; i < 6; i++)
		f[i] = cut(&item, ';');
	colon = hp.len ? memrchr(hp.p, ':', hp.len) : NULL;
	if (!colon || !num(sv_range(colon + 1, hp.p + hp.len), 65535, &v[0]) ||
	    !num(f[0], 65535, &v[1]) || !num(f[1], 65535, &v[2]) || !num(f[4], 65535, &v[3]) ||
	    !num(f[5], 65535, &v[4]) || !copy_str(f[2], tp, sizeof(tp)) ||
	    domains_transport_parse(tp, &tpv) || !copy_str(f[3], tname, sizeof(tname)))
		return -EBADMSG;
	hp = sv_range(hp.p, colon);
	if (hp.len >= 2 && hp.p[0] == '[' && hp.p[hp.len - 1] == ']') {
		hp = sv_make(hp.p + 1, hp.len - 2);
		a.family = AF_INET6;
	} else {
		a.family = AF_INET;
	}
	if (!copy_str(hp, ip, sizeof(ip)) || inet_pton(a.family, ip, a.ip) != 1)
		return -EBADMSG;
	a.port = (uint16_t)v[0];
	t = (struct domains_target){ .port = (uint16_t)v[0],
				     .priority = (uint16_t)v[1],
				     .weight = (uint16_t)v[2],
				     .order = (uint16_t)v[3],
				     .preference = (uint16_t)v[4],
				     .transport = (uint8_t)tpv };
	for (ti = 0; ti < out->e.ntargets; ti++) {
		const struct domains_target *x = &out->targets[ti];

		if (!strcmp(x->name, tname) && x->port == t.port && x->priority == t.priority &&
		    x->weight == t.weight && x->order == t.order && x->preference == t.preference &&
		    x->transport == t.transport)
			break;
	}
	if (ti == out->e.ntargets) {
		if (ti >= DOMAINS_TARGETS_MAX)
			return -EBADMSG;
		memcpy(out->tnames[ti], tname, strlen(tname) + 1);
		t.name = out->tnames[ti];
		out->targets[ti] = t;
		out->e.ntargets++;
	}
	if (out->e.naddrs >= DOMAINS_ADDRS_MAX || out->targets[ti].naddrs == UINT8_MAX)
		return -EBADMSG;
	a.target = (uint8_t)ti;
	out->addrs[out->e.naddrs++] = a;
	out->targets[ti].naddrs++;
	return 0;
}

int domain_redis_decode(const struct sv *kv, unsigned n, struct domain_redis_entry *out)
{
	bool have_name = false, have_kind = false, have_status = false, have_resolved = false;
	struct sv addrs = SV_NULL;
	char s[32];

	memset(out, 0, sizeof(*out));
	out->e.name = out->name;
	out->e.error = out->error;
	out->e.node = out->node;
	out->e.targets = out->targets;
	out->e.addrs = out->addrs;
	for (unsigned i = 0; i < n; i++) {
		struct sv f = kv[2 * i], v = kv[2 * i + 1];
		uint64_t x;
		const struct {
			const char *name;
			int64_t *dst;
		} times[] = { { "resolved_at", &out->e.resolved_ms },
			      { "checked_at", &out->e.checked_ms },
			      { "expires_at", &out->e.expires_ms },
			      { "stale_until", &out->e.stale_until_ms },
			      { "next_refresh", &out->e.next_refresh_ms } };
		bool known = false;

		for (unsigned k = 0; k < sizeof(times) / sizeof(times[0]); k++) {
			if (!sv_eq(f, sv_cstr(times[k].name)))
				continue;
			if (!num(v, INT64_MAX, &x))
				return -EBADMSG;
			*times[k].dst = (int64_t)x;
			have_resolved |= k == 0;
			known = true;
		}
		if (known)
			continue;
		if (sv_eq(f, SV_LIT("name"))) {
			if (!copy_str(v, out->name, sizeof(out->name)))
				return -EBADMSG;
			have_name = true;
		} else if (sv_eq(f, SV_LIT("kind"))) {
			if (!copy_str(v, s, sizeof(s)) || domains_kind_parse(s, &out->e.kind))
				return -EBADMSG;
			have_kind = true;
		} else if (sv_eq(f, SV_LIT("status"))) {
			if (!copy_str(v, s, sizeof(s)) || domains_status_parse(s, &out->e.status))
				return -EBADMSG;
			have_status = true;
		} else if (sv_eq(f, SV_LIT("fail"))) {
			if (v.len &&
			    (!copy_str(v, s, sizeof(s)) || domains_status_parse(s, &out->e.fail)))
				return -EBADMSG;
		} else if (sv_eq(f, SV_LIT("ttl"))) {
			if (!num(v, UINT32_MAX, &x))
				return -EBADMSG;
			out->e.ttl = (uint32_t)x;
		} else if (sv_eq(f, SV_LIT("error"))) {
			/* longer than we keep: cut */
			size_t l = v.len < sizeof(out->error) ? v.len : sizeof(out->error) - 1;

			memcpy(out->error, v.p, l);
			out->error[l] = '\0';
		} else if (sv_eq(f, SV_LIT("node"))) {
			if (!copy_str(v, out->node, sizeof(out->node)))
				return -EBADMSG;
		} else if (sv_eq(f, SV_LIT("addresses"))) {
			addrs = v;
		}
	}
	if (!have_name || !have_kind || !have_status || !have_resolved)
		return -EBADMSG;
	while (addrs.len) {
		struct sv item = cut(&addrs, ',');

		if (decode_addr(item, out))
			return -EBADMSG;
	}
	/* the addresses of a target consecutive, as domains_info has them */
	struct domains_addr sorted[DOMAINS_ADDRS_MAX];
	unsigned k = 0;

	for (unsigned t = 0; t < out->e.ntargets; t++)
		for (unsigned i = 0; i < out->e.naddrs; i++)
			if (out->addrs[i].target == t)
				sorted[k++] = out->addrs[i];
	memcpy(out->addrs, sorted, k * sizeof(sorted[0]));
	return 0;
}

/* ---- the connection ---- */

/* "<prefix>domain:[lock:]<kind>:<name>" */
static int resp_key(struct domain_redis *dr, bool lock, enum domains_kind kind, const char *name)
{
	char k[PREFIX_MAX + DOMAINS_NAME_MAX + 32];
	int n = snprintf(k, sizeof(k), "%sdomain:%s%s:%s", dr->prefix, lock ? "lock:" : "",
			 domains_kind_name(kind), name);

	return resp_bulk(&dr->out, k, (size_t)n);
}

static void q_free(struct op *o)
{
	free(o->name);
	*o = (struct op){ 0 };
}

static bool q_full(const struct domain_redis *dr)
{
	return dr->q_n >= dr->cap_q;
}

static struct op *q_push(struct domain_redis *dr)
{
	struct op *o = &dr->q[(dr->q_head + dr->q_n) % dr->cap_q];

	dr->q_n++;
	*o = (struct op){ 0 };
	return o;
}

/* Forget the connection; the refreshes waiting on it go alone. */
static void redis_drop(struct domain_redis *dr)
{
	if (dr->rc)
		redisFree(dr->rc);
	dr->rc = NULL;
	while (dr->q_n) {
		struct op *o = &dr->q[dr->q_head];

		if (o->type == OP_GATE && o->name) {
			cnt_add(&dr->st.alone, 1);
			domains_mirror_proceed(dr->d, o->kind, o->name);
		} else if (o->type == OP_WRITE) {
			dr->need_resync = true;
		}
		q_free(o);
		dr->q_head = (dr->q_head + 1) % dr->cap_q;
		dr->q_n--;
	}
	for (uint32_t i = 0; i < dr->n_held; i++) {
		cnt_add(&dr->st.alone, 1);
		domains_mirror_proceed(dr->d, dr->held[i].kind, dr->held[i].name);
		q_free(&dr->held[i]);
	}
	dr->n_held = 0;
	dr->q_head = 0;
	resp_out_reset(&dr->out);
	dr->broken = false;
	dr->rs = RS_DOWN;
	atomic_store_explicit(&dr->st.connected, false, memory_order_relaxed);
}

static void redis_fail(struct domain_redis *dr, int64_t now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void redis_fail(struct domain_redis *dr, int64_t now, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	redis_drop(dr);
	cnt_add(&dr->st.redis_errors, 1);
	dr->retry_at_ms = now + dr->backoff_ms;
	if (!dr->failing)
		rlog(dr, DOMAIN_REDIS_LOG_WARNING,
		     "redis: %s; domains are resolved by this node alone, retrying", msg);
	dr->failing = true;
	dr->need_resync = true;
	dr->backoff_ms = dr->backoff_ms * 2 > dr->cfg.reconnect_max_ms ? dr->cfg.reconnect_max_ms
								       : dr->backoff_ms * 2;
}

static void redis_connect(struct domain_redis *dr, int64_t now)
{
	if (dr->cfg.redis_unix)
		dr->rc = redisConnectUnixNonBlock(dr->cfg.redis_unix);
	else
		dr->rc = redisConnectNonBlock(dr->cfg.redis_host, dr->cfg.redis_port);
	if (!dr->rc) {
		redis_fail(dr, now, "connect: out of memory");
		return;
	}
	if (dr->rc->err) {
		redis_fail(dr, now, "connect: %s", dr->rc->errstr);
		return;
	}
	dr->rs = RS_CONNECTING;
	dr->deadline_ms = now + dr->cfg.connect_timeout_ms;
}

static void redis_handshake(struct domain_redis *dr, int64_t now)
{
	int err = 0, r = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(dr->rc->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err) {
		redis_fail(dr, now, "connect: %s", strerror(err));
		return;
	}
	if (dr->cfg.redis_password) {
		r |= resp_hdr(&dr->out, '*', 2) || resp_str(&dr->out, "AUTH") ||
		     resp_str(&dr->out, dr->cfg.redis_password);
		q_push(dr)->type = OP_AUTH;
	}
	if (dr->cfg.redis_db) {
		r |= resp_hdr(&dr->out, '*', 2) || resp_str(&dr->out, "SELECT") ||
		     resp_num(&dr->out, dr->cfg.redis_db);
		q_push(dr)->type = OP_SELECT;
	}
	r |= resp_hdr(&dr->out, '*', 3) || resp_str(&dr->out, "SCRIPT") ||
	     resp_str(&dr->out, "LOAD") || resp_str(&dr->out, gate_script);
	q_push(dr)->type = OP_LOAD_GATE;
	r |= resp_hdr(&dr->out, '*', 3) || resp_str(&dr->out, "SCRIPT") ||
	     resp_str(&dr->out, "LOAD") || resp_str(&dr->out, write_script);
	q_push(dr)->type = OP_LOAD_WRITE;
	if (r) {
		redis_fail(dr, now, "out of memory");
		return;
	}
	dr->rs = RS_HANDSHAKE;
	dr->deadline_ms = now + dr->cfg.reply_timeout_ms;
}

/* ---- the hooks (called from domains_process(): append only, never fail the connection) ---- */

/*
 * Append the gate of (kind, name); false when it could not be appended whole.
 * due_rt: the entry's own refresh time (realtime ms): the hash is fresh only
 * when its next_refresh is later than both that and now, i.e. when another
 * resolution came after the one this node is due to replace (a hash this node
 * wrote itself is never fresh at its own refresh time).
 */
static bool send_gate(struct domain_redis *dr, uint8_t kind, char *name, int64_t due_rt)
{
	struct op *o;
	int64_t now = real_ms();
	int r;

	r = resp_hdr(&dr->out, '*', 8) || resp_str(&dr->out, "EVALSHA") ||
	    resp_str(&dr->out, dr->sha_gate) || resp_str(&dr->out, "2") ||
	    resp_key(dr, false, kind, name) || resp_key(dr, true, kind, name) ||
	    resp_num(&dr->out, due_rt > now ? due_rt : now) || resp_str(&dr->out, dr->cfg.node) ||
	    resp_num(&dr->out, dr->cfg.lock_ms);
	o = q_push(dr);
	o->type = OP_GATE;
	o->kind = kind;
	if (r) {
		/* a command half appended: the connection cannot go on; the next process drops it */
		dr->broken = true;
		return false;
	}
	o->name = name;
	if (dr->q_n == 1)
		dr->deadline_ms = mono_ms() + dr->cfg.reply_timeout_ms;
	return true;
}

static int hook_due(void *arg, const struct domains_info *e)
{
	struct domain_redis *dr = arg;
	char *name;

	cnt_add(&dr->st.gates, 1);
	/* Redis known down: alone; else through the gate, now or once connected */
	if ((dr->rs != RS_READY && dr->failing) || dr->broken || !(name = strdup(e->name))) {
		cnt_add(&dr->st.alone, 1);
		return 0;
	}
	if (dr->rs == RS_READY && !q_full(dr) && !dr->n_held) {
		if (send_gate(dr, (uint8_t)e->kind, name, e->next_refresh_ms))
			return 1;
		free(name);
		cnt_add(&dr->st.alone, 1);
		return 0;
	}
	if (dr->n_held == dr->cap_held) {
		uint32_t nc = dr->cap_held ? dr->cap_held * 2 : 64;
		struct op *h = realloc(dr->held, nc * sizeof(*h));

		if (!h) {
			free(name);
			cnt_add(&dr->st.alone, 1);
			return 0;
		}
		dr->held = h;
		dr->cap_held = nc;
	}
	dr->held[dr->n_held++] =
		(struct op){ .type = OP_GATE, .kind = (uint8_t)e->kind, .name = name };
	/* held: its due time is past by the time it is sent, now is enough */
	return 1;
}

/* Send the held gates while the queue has room. */
static void send_held(struct domain_redis *dr)
{
	uint32_t k = 0;

	while (k < dr->n_held && !q_full(dr) && !dr->broken) {
		if (!send_gate(dr, dr->held[k].kind, dr->held[k].name, 0))
			break;
		dr->held[k++].name = NULL; /* the queue owns it now */
	}
	for (uint32_t i = 0; i < k; i++)
		q_free(&dr->held[i]);
	memmove(dr->held, dr->held + k, (dr->n_held - k) * sizeof(*dr->held));
	dr->n_held -= k;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* Append the write of e; 0 or -ENOMEM (the connection must then be dropped). */
static int send_write(struct domain_redis *dr, const struct domains_info *e)
{
	char ab[DOMAINS_ADDRS_MAX * (INET6_ADDRSTRLEN + DOMAINS_NAME_MAX + 48)];
	char member[DOMAINS_NAME_MAX + 16], idx[PREFIX_MAX + 16];
	int64_t now = real_ms();
	int64_t keep = max64(max64(e->stale_until_ms, e->next_refresh_ms), e->expires_ms);
	int alen = domain_redis_encode_addrs(e, ab, sizeof(ab));
	int r;

	if (alen < 0)
		alen = 0; /* cannot happen: the buffer fits the most addresses */
	keep = max64(keep, now) + dr->cfg.keep_ms;
	snprintf(member, sizeof(member), "%s:%s", domains_kind_name(e->kind), e->name);
	snprintf(idx, sizeof(idx), "%sdomains", dr->prefix);
	r = resp_hdr(&dr->out, '*', 11 + 2 * 13) || resp_str(&dr->out, "EVALSHA") ||
	    resp_str(&dr->out, dr->sha_write) || resp_str(&dr->out, "3") ||
	    resp_key(dr, false, e->kind, e->name) || resp_str(&dr->out, idx) ||
	    resp_key(dr, true, e->kind, e->name) || resp_str(&dr->out, dr->cfg.node) ||
	    resp_num(&dr->out, keep) || resp_num(&dr->out, now) || resp_str(&dr->out, member) ||
	    resp_num(&dr->out, e->resolved_ms);
	r = r || resp_str(&dr->out, "name") || resp_str(&dr->out, e->name) ||
	    resp_str(&dr->out, "kind") || resp_str(&dr->out, domains_kind_name(e->kind)) ||
	    resp_str(&dr->out, "status") || resp_str(&dr->out, domains_status_name(e->status)) ||
	    resp_str(&dr->out, "fail") ||
	    resp_str(&dr->out, e->status == DOMAINS_STALE ? domains_status_name(e->fail) : "") ||
	    resp_str(&dr->out, "addresses") || resp_bulk(&dr->out, ab, (size_t)alen) ||
	    resp_str(&dr->out, "ttl") || resp_num(&dr->out, e->ttl) ||
	    resp_str(&dr->out, "resolved_at") || resp_num(&dr->out, e->resolved_ms) ||
	    resp_str(&dr->out, "checked_at") || resp_num(&dr->out, e->checked_ms) ||
	    resp_str(&dr->out, "expires_at") || resp_num(&dr->out, e->expires_ms) ||
	    resp_str(&dr->out, "stale_until") || resp_num(&dr->out, e->stale_until_ms) ||
	    resp_str(&dr->out, "next_refresh") || resp_num(&dr->out, e->next_refresh_ms) ||
	    resp_str(&dr->out, "error") || resp_str(&dr->out, e->error) ||
	    resp_str(&dr->out, "node") || resp_str(&dr->out, dr->cfg.node);
	q_push(dr)->type = OP_WRITE;
	if (dr->q_n == 1)
		dr->deadline_ms = mono_ms() + dr->cfg.reply_timeout_ms;
	return r ? -ENOMEM : 0;
}

static bool writable_entry(const struct domains_info *e)
{
	return !e->literal && e->status != DOMAINS_PENDING && e->resolved_ms > 0 &&
	       !(e->node && e->node[0]);
}

static void hook_resolved(void *arg, const struct domains_info *e)
{
	struct domain_redis *dr = arg;

	if (!writable_entry(e))
		return;
	if (dr->rs != RS_READY || q_full(dr)) {
		dr->need_resync = true;
		return;
	}
	if (send_write(dr, e)) {
		dr->need_resync = true;
		dr->broken = true; /* dropped at the next process */
	}
}

static const struct domains_mirror_ops hooks = { hook_due, hook_resolved };

static void resync_one(void *arg, const struct domains_info *e)
{
	struct domain_redis *dr = arg;

	if (!writable_entry(e) || dr->broken || q_full(dr))
		return;
	if (send_write(dr, e))
		dr->broken = true;
}

/* Write this node's entries again, as many as the queue takes this round. */
static void resync(struct domain_redis *dr)
{
	uint32_t room = dr->cap_q - dr->q_n;

	if (!room)
		return;
	if (!domains_foreach(dr->d, &dr->resync_cur, room, resync_one, dr)) {
		dr->need_resync = false;
		dr->resync_cur = 0;
	}
}

/* ---- replies ---- */

/* The hash of a gate reply (element 1) into *ent; 0 or -EBADMSG. */
static int gate_hash(redisReply *h, struct domain_redis_entry *ent)
{
	struct sv kv[64];
	unsigned n = 0;

	if (h->type != REDIS_REPLY_ARRAY || !h->elements || h->elements % 2 ||
	    h->elements > sizeof(kv) / sizeof(kv[0]))
		return -EBADMSG;
	for (size_t i = 0; i < h->elements; i++) {
		if (h->element[i]->type != REDIS_REPLY_STRING)
			return -EBADMSG;
		kv[i] = sv_make(h->element[i]->str, h->element[i]->len);
	}
	n = (unsigned)(h->elements / 2);
	return domain_redis_decode(kv, n, ent);
}

static void gate_reply(struct domain_redis *dr, struct op *o, redisReply *rep, int64_t now)
{
	struct domain_redis_entry *ent;
	long long code;

	if (rep->type == REDIS_REPLY_ERROR) {
		if (!strncmp(rep->str, "NOSCRIPT", 8)) {
			redis_fail(dr, now, "scripts gone (SCRIPT FLUSH?): reloading");
			return;
		}
		cnt_add(&dr->st.redis_errors, 1);
		rlog(dr, DOMAIN_REDIS_LOG_ERR, "redis: gate of %s: %s", o->name, rep->str);
		domains_mirror_proceed(dr->d, o->kind, o->name);
		return;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER) {
		redis_fail(dr, now, "gate: an unexpected reply");
		return;
	}
	code = rep->element[0]->integer;
	ent = malloc(sizeof(*ent));
	if (!ent) {
		domains_mirror_proceed(dr->d, o->kind, o->name);
		return;
	}
	int ok = gate_hash(rep->element[1], ent) == 0 && ent->e.kind == o->kind &&
		 !strcmp(ent->name, o->name);

	if (ok && !strcmp(ent->node, dr->cfg.node))
		ent->node[0] = '\0'; /* this node's own resolution, read back (after a restart) */
	int64_t mono = domains_now_ms();

	if (code == 1) {
		cnt_add(&dr->st.locked, 1);
		if (ok)
			domains_mirror_import(dr->d, &ent->e, mono); /* only when newer */
		domains_mirror_proceed(dr->d, o->kind, o->name);
	} else if (code == 0) {
		int r = ok ? domains_mirror_import(dr->d, &ent->e, mono) : -EBADMSG;

		if (r == 0 || r == -EALREADY) {
			cnt_add(&dr->st.imported, 1);
		} else if (r != -ENOENT && r != -EBUSY) {
			rlog(dr, DOMAIN_REDIS_LOG_WARNING,
			     "redis: %s:%s: the mirrored entry is unreadable (%s); resolving",
			     domains_kind_name(o->kind), o->name, strerror(-r));
			domains_mirror_proceed(dr->d, o->kind, o->name);
		}
	} else {
		cnt_add(&dr->st.busy, 1);
		if (ok)
			domains_mirror_import(dr->d, &ent->e, mono); /* only when newer */
		domains_mirror_retry(dr->d, o->kind, o->name, dr->cfg.busy_retry_ms, mono);
	}
	free(ent);
}

static void hs_reply(struct domain_redis *dr, struct op *o, redisReply *rep, int64_t now)
{
	if (rep->type == REDIS_REPLY_ERROR) {
		redis_fail(dr, now, "handshake: %s", rep->str);
		return;
	}
	if (o->type == OP_LOAD_GATE || o->type == OP_LOAD_WRITE) {
		char *dst = o->type == OP_LOAD_GATE ? dr->sha_gate : dr->sha_write;

		if (rep->type != REDIS_REPLY_STRING || rep->len >= sizeof(dr->sha_gate)) {
			redis_fail(dr, now, "SCRIPT LOAD: an unexpected reply");
			return;
		}
		memcpy(dst, rep->str, rep->len);
		dst[rep->len] = '\0';
	}
	if (o->type != OP_LOAD_WRITE)
		return;
	dr->rs = RS_READY;
	dr->backoff_ms = dr->cfg.reconnect_min_ms;
	cnt_add(&dr->st.connects, 1);
	atomic_store_explicit(&dr->st.connected, true, memory_order_relaxed);
	if (dr->failing)
		rlog(dr, DOMAIN_REDIS_LOG_INFO,
		     "redis: connected; writing this node's domains again");
	dr->failing = false;
	dr->need_resync = true;
	dr->resync_cur = 0;
}

static void on_reply(struct domain_redis *dr, redisReply *rep, int64_t now)
{
	struct op o;

	if (!dr->q_n) {
		redis_fail(dr, now, "a reply nobody asked for");
		return;
	}
	o = dr->q[dr->q_head];
	dr->q[dr->q_head] = (struct op){ 0 };
	dr->q_head = (dr->q_head + 1) % dr->cap_q;
	dr->q_n--;
	dr->deadline_ms = now + dr->cfg.reply_timeout_ms;
	switch (o.type) {
	case OP_AUTH:
	case OP_SELECT:
	case OP_LOAD_GATE:
	case OP_LOAD_WRITE:
		hs_reply(dr, &o, rep, now);
		break;
	case OP_GATE:
		gate_reply(dr, &o, rep, now);
		break;
	case OP_WRITE:
		if (rep->type == REDIS_REPLY_INTEGER) {
			cnt_add(rep->integer ? &dr->st.writes : &dr->st.stale_writes, 1);
		} else if (rep->type == REDIS_REPLY_ERROR && !strncmp(rep->str, "NOSCRIPT", 8)) {
			redis_fail(dr, now, "scripts gone (SCRIPT FLUSH?): reloading");
		} else {
			cnt_add(&dr->st.redis_errors, 1);
			rlog(dr, DOMAIN_REDIS_LOG_ERR, "redis: write: %s",
			     rep->type == REDIS_REPLY_ERROR ? rep->str : "an unexpected reply");
		}
		break;
	}
	q_free(&o);
}

static void redis_read(struct domain_redis *dr, int64_t now)
{
	if (redisBufferRead(dr->rc) != REDIS_OK) {
		redis_fail(dr, now, "read: %s", dr->rc->errstr);
		return;
	}
	while (dr->rs == RS_HANDSHAKE || dr->rs == RS_READY) {
		redisReply *rep = NULL;

		if (redisGetReplyFromReader(dr->rc, (void **)&rep) != REDIS_OK) {
			redis_fail(dr, now, "protocol: %s", dr->rc->errstr);
			return;
		}
		if (!rep)
			return;
		on_reply(dr, rep, now);
		freeReplyObject(rep);
	}
}

static void redis_write(struct domain_redis *dr, int64_t now)
{
	int r;

	if (!dr->rc) {
		resp_out_reset(&dr->out);
		return;
	}
	r = resp_out_send(&dr->out, dr->rc->fd);
	if (r < 0 && r != -EAGAIN)
		redis_fail(dr, now, "write: %s", strerror(-r));
}

void domain_redis_process(struct domain_redis *dr, short revents)
{
	int64_t now = mono_ms();

	switch (dr->rs) {
	case RS_DOWN:
		if (now >= dr->retry_at_ms)
			redis_connect(dr, now);
		break;
	case RS_CONNECTING:
		if (revents & (POLLOUT | POLLERR | POLLHUP))
			redis_handshake(dr, now);
		else if (now >= dr->deadline_ms)
			redis_fail(dr, now, "connect: timed out");
		if (dr->rs == RS_HANDSHAKE)
			redis_write(dr, now);
		break;
	case RS_HANDSHAKE:
	case RS_READY:
		if (revents & (POLLIN | POLLERR | POLLHUP))
			redis_read(dr, now);
		if (dr->rs == RS_READY && dr->n_held)
			send_held(dr);
		if (dr->rs == RS_READY && dr->need_resync && !dr->broken)
			resync(dr);
		if (dr->broken)
			redis_fail(dr, now, "out of memory");
		if (dr->rs != RS_DOWN)
			redis_write(dr, now);
		if (dr->rs != RS_DOWN && dr->q_n && now >= dr->deadline_ms)
			redis_fail(dr, now, "no reply for %u ms", dr->cfg.reply_timeout_ms);
		break;
	}
}

int domain_redis_poll_fd(struct domain_redis *dr, short *events)
{
	if (!dr->rc || dr->rs == RS_DOWN)
		return -1;
	if (dr->rs == RS_CONNECTING)
		*events = POLLOUT;
	else
		*events = (short)(POLLIN | (resp_out_pending(&dr->out) ? POLLOUT : 0));
	return dr->rc->fd;
}

int domain_redis_poll_timeout(struct domain_redis *dr)
{
	if (dr->rs == RS_READY && (dr->need_resync || dr->n_held) && !q_full(dr))
		return 0;
	if (resp_out_pending(&dr->out))
		return 0; /* written by a hook since the loop polled */
	if (dr->rs == RS_DOWN) {
		int64_t left = dr->retry_at_ms - mono_ms();

		if (left < (int64_t)dr->cfg.poll_ms)
			return left > 0 ? (int)left : 0;
	}
	return (int)dr->cfg.poll_ms;
}

void domain_redis_run_once(struct domain_redis *dr, int wait_ms)
{
	struct pollfd pfd = { .fd = -1 };
	int t = domain_redis_poll_timeout(dr);

	if (t > wait_ms)
		t = wait_ms;
	pfd.fd = domain_redis_poll_fd(dr, &pfd.events);
	if (pfd.fd >= 0) {
		if (poll(&pfd, 1, t) <= 0)
			pfd.revents = 0;
	} else if (t > 0) {
		struct timespec ts = { t / 1000, (long)(t % 1000) * 1000000 };

		nanosleep(&ts, NULL);
	}
	domain_redis_process(dr, pfd.fd >= 0 ? pfd.revents : 0);
}

void domain_redis_stats(const struct domain_redis *dr, struct domain_redis_stats *st)
{
#define LD(x) atomic_load_explicit(&dr->st.x, memory_order_relaxed)
	st->gates = LD(gates);
	st->locked = LD(locked);
	st->imported = LD(imported);
	st->busy = LD(busy);
	st->alone = LD(alone);
	st->writes = LD(writes);
	st->stale_writes = LD(stale_writes);
	st->connects = LD(connects);
	st->redis_errors = LD(redis_errors);
	st->connected = LD(connected);
#undef LD
}

/* ---- creation ---- */

int domain_redis_create(struct domain_redis **out, const struct domain_redis_config *cfg,
			struct domains *d)
{
	struct domain_redis *dr;
	struct domain_redis_config c = *cfg;
	const char *prefix = c.prefix ? c.prefix : "sipring:";

	if ((!c.redis_host && !c.redis_unix) || strlen(prefix) > PREFIX_MAX || !c.node ||
	    !c.node[0] || strlen(c.node) > DOMAINS_NODE_MAX || strchr(c.node, ':') || !d)
		return -EINVAL;
	if (!c.redis_port)
		c.redis_port = 6379;
	if (!c.lock_ms)
		c.lock_ms = 15000;
	if (!c.busy_retry_ms)
		c.busy_retry_ms = 250;
	if (!c.keep_ms)
		c.keep_ms = 60000;
	if (!c.inflight)
		c.inflight = 256;
	if (!c.connect_timeout_ms)
		c.connect_timeout_ms = 2000;
	if (!c.reply_timeout_ms)
		c.reply_timeout_ms = 2000;
	if (!c.reconnect_min_ms)
		c.reconnect_min_ms = 100;
	if (!c.reconnect_max_ms)
		c.reconnect_max_ms = 5000;
	if (c.reconnect_max_ms < c.reconnect_min_ms)
		c.reconnect_max_ms = c.reconnect_min_ms;
	if (!c.poll_ms)
		c.poll_ms = 50;
	dr = calloc(1, sizeof(*dr));
	if (!dr)
		return -ENOMEM;
	dr->out.first_cap = 16 * 1024;
	c.redis_host = c.redis_host ? strdup(c.redis_host) : NULL;
	c.redis_unix = c.redis_unix ? strdup(c.redis_unix) : NULL;
	c.redis_password = c.redis_password ? strdup(c.redis_password) : NULL;
	c.node = strdup(c.node);
	c.prefix = NULL;
	dr->cfg = c;
	snprintf(dr->prefix, sizeof(dr->prefix), "%s", prefix);
	dr->cap_q = c.inflight + 4; /* + the handshake's */
	dr->q = calloc(dr->cap_q, sizeof(*dr->q));
	if ((cfg->redis_host && !c.redis_host) || (cfg->redis_unix && !c.redis_unix) ||
	    (cfg->redis_password && !c.redis_password) || !c.node || !dr->q) {
		domain_redis_destroy(dr);
		return -ENOMEM;
	}
	dr->rs = RS_DOWN;
	dr->backoff_ms = c.reconnect_min_ms;
	dr->d = d;
	domains_set_mirror(d, &hooks, dr);
	*out = dr;
	return 0;
}

void domain_redis_destroy(struct domain_redis *dr)
{
	if (!dr)
		return;
	if (dr->d)
		domains_set_mirror(dr->d, NULL, NULL);
	if (dr->rc)
		redisFree(dr->rc);
	for (uint32_t i = 0; dr->q && i < dr->q_n; i++)
		q_free(&dr->q[(dr->q_head + i) % dr->cap_q]);
	for (uint32_t i = 0; i < dr->n_held; i++)
		q_free(&dr->held[i]);
	free(dr->held);
	free(dr->q);
	resp_out_free(&dr->out);
	free((char *)dr->cfg.redis_host);
	free((char *)dr->cfg.redis_unix);
	free((char *)dr->cfg.redis_password);
	free((char *)dr->cfg.node);
	free(dr);
}
