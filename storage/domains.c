/* SPDX-License-Identifier: MIT */
/*
 * domains.c: see domains.h.
 *
 * Inside. Entries live in a slot table (stable indexes, a generation per
 * slot), found by (kind, name) through a chained hash, and scheduled by a
 * min-heap on `due`, the next time an entry needs attention: its refresh (or
 * retry), the end of its TTL (ok -> stale), the end of its grace (stale ->
 * failure), or the deadline of a mirror's answer.
 *
 * A resolution is a job: a struct job holding what has been learnt so far
 * (targets, addresses, the least TTL, the first failure) and the number of
 * c-ares queries in flight. Each query carries a small context with the slot,
 * the slot's generation and the job's generation (style rule 10): an answer
 * for an entry since removed, or for a job since abandoned (resolve_now), is
 * dropped. When the last query of a job answers, the job becomes an immutable
 * `struct result` (one allocation) that replaces the entry's.
 *
 *   kind    queries, in stages
 *   host    A + AAAA(name)
 *   srv     SRV(name) -> A + AAAA(each target)
 *   naptr   NAPTR(name) -> SRV(each usable replacement) -> A + AAAA(targets)
 *                 no usable NAPTR: SRV(_sip._udp, _sip._tcp, _sips._tcp.name)
 *                 -> no target: A + AAAA(name)
 *
 * c-ares may call a callback from inside ares_query() (out of memory, no
 * server): a job counts its queries before it sends them and is finished
 * only once nothing is being sent (`issuing`).
 *
 * One c-ares channel per resolver, each with that one server, so that the
 * failover is ours and exact: a query goes to the preferred server; on
 * SERVFAIL, REFUSED, a timeout or a refused port it goes to the next, until
 * each was asked once. (A channel with all the servers reports a SERVFAIL
 * that made it move on as ECONNREFUSED, and a rotation cannot promise that
 * asking again asks another.) A server that times out or refuses while
 * preferred hands the preference to the next, so that a dead first server
 * costs one timeout, not one per query.
 */
#define _GNU_SOURCE
#include "domains.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <ares.h>

#include "dns_ttl.h"

#define ADDRS_PER_TARGET 16
#define NAPTR_MAX	 6
#define HEAP_NONE	 UINT32_MAX
#define DUE_NEVER	 INT64_MAX
#define TICKS_PER_ROUND	 1024 /* entries handled per domains_process(), to keep the loop moving */

/* ---- the state of an entry ---- */

/* The targets and addresses of an answer, immutable, in one allocation. */
struct result {
	unsigned ntargets, naddrs;
	struct domains_target *targets; /* sorted by (order, preference, priority, ...) */
	struct domains_addr *addrs;	/* grouped by target, sorted by (family, ip) */
};

struct jtarget {
	char name[DOMAINS_NAME_MAX + 1];
	uint16_t port, priority, weight, order, preference;
	uint8_t transport;
	uint8_t naddrs;
};

struct job {
	uint32_t gen;
	unsigned pending; /* queries in flight */
	unsigned issuing; /* > 0 while queries are being sent: not finished then */
	bool srv_fallback, addr_fallback;
	enum domains_status fail; /* the first failure, 0 none */
	uint32_t ttl;		  /* the least TTL of what gave something; UINT32_MAX none */
	char error[DOMAINS_ERROR_MAX];
	unsigned ntargets, naddrs;
	struct jtarget t[DOMAINS_TARGETS_MAX];
	struct domains_addr a[DOMAINS_ADDRS_MAX];
};

struct entry {
	enum domains_kind kind;
	uint8_t srv_tp; /* the transport an SRV name says (_sip._udp...) */
	bool literal;
	bool forced;	  /* resolve_now: ask DNS, not the mirror */
	bool mirror_wait; /* the mirror took the refresh: waiting for its answer */
	bool queued;	  /* due, waiting for a job slot (in the FIFO) */
	uint32_t slot, hnext, hash, heap;
	int64_t due; /* next attention; DUE_NEVER none */
	enum domains_status status, fail;
	char error[DOMAINS_ERROR_MAX];
	char node[DOMAINS_NODE_MAX + 1];
	struct result *res;
	uint32_t ttl;
	/*
	 * CLOCK_MONOTONIC ms, 0 none. resolved: the answer behind the state (the
	 * addresses' age while they are served stale); checked: the last attempt.
	 */
	int64_t resolved, checked, expires, stale_until, refresh;
	int64_t mirror_deadline;
	uint64_t rr, queries, failures;
	struct job *job;
	uint32_t jgen;
	struct entry *qnext, *qprev; /* the FIFO of entries waiting for a job slot */
	char name[];
};

/* What a query is about: the entry (slot + its generation), the job, the stage. */
struct qctx {
	struct domains *d;
	uint32_t slot, egen, jgen;
	uint16_t qtype;
	uint8_t target;	   /* A/AAAA: the target's index */
	uint8_t transport; /* SRV from NAPTR or fallback: what its targets carry */
	uint16_t order, preference;
	uint8_t server; /* the channel it was sent on */
	uint8_t tried;	/* servers asked so far */
	char qname[DOMAINS_NAME_MAX + 1];
};

struct sock {
	int fd;
	short events;
	uint8_t ch; /* the channel (server) it belongs to */
};

/* A channel and what its socket callback needs to know. */
struct chan {
	struct domains *d;
	ares_channel ch;
	uint8_t idx;
	bool failing;			    /* silent or refusing: logged once */
	char server[INET6_ADDRSTRLEN + 10]; /* "ip:port", "[v6]:port", for the logs */
};

struct domains {
	struct domains_config cfg;
	struct chan chans[DOMAINS_SERVERS_MAX];
	unsigned nch;	 /* channels made (servers) */
	unsigned prefer; /* the server asked first */
	bool lib_ok;
	bool closing;

	/* slots: entries by index; gen bumped when one is freed */
	struct entry **slots;
	uint32_t *sgen;
	uint32_t nslots, cap_slots, nentries;
	uint32_t *freeslots;
	uint32_t nfree;

	uint32_t *buckets; /* slot + 1, 0 = empty */
	uint32_t nbuckets;

	struct entry **heap;
	uint32_t nheap;

	struct entry *qhead, *qtail;
	uint32_t njobs;

	struct sock *socks;
	unsigned nsocks, cap_socks;

	uint64_t rng;
	int64_t now; /* CLOCK_MONOTONIC ms of the current round */
	int64_t rt_off;

	domains_listener_fn listener;
	void *listener_arg;
	struct domains_mirror_ops mirror;
	void *mirror_arg;
	bool has_mirror;

	struct domains_stats st;
};

/* ---- small things ---- */

int64_t domains_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The offset from CLOCK_MONOTONIC to CLOCK_REALTIME, for the times shown and
 * imported. Kept while it moves by less than a second (two readings differ by
 * a millisecond now and then: times read back must equal those written), taken
 * again when the realtime clock was stepped.
 */
static void rt_sync(struct domains *d)
{
	int64_t off = realtime_ms() - domains_now_ms();

	if (off - d->rt_off > 1000 || d->rt_off - off > 1000)
		d->rt_off = off;
}

static void clock_sync(struct domains *d, int64_t now)
{
	d->now = now;
	rt_sync(d);
}

static int64_t to_rt(const struct domains *d, int64_t mono)
{
	return mono ? mono + d->rt_off : 0;
}

static int64_t to_mono(const struct domains *d, int64_t rt)
{
	return rt > 0 ? rt - d->rt_off : 0;
}

static uint64_t rng_next(struct domains *d)
{
	/* splitmix64: good enough for jitter and SRV weights */
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void dlog(struct domains *d, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void dlog(struct domains *d, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->cfg.log)
		d->cfg.log(d->cfg.log_arg, level, msg);
	else
		fprintf(stderr, "sipring dns: %s\n", msg);
}

static const char *const status_names[] = { "pending", "ok",	      "nxdomain", "servfail",
					    "timeout", "unreachable", "stale" };
static const char *const kind_names[] = { "host", "a", "aaaa", "srv", "naptr" };
static const char *const tp_names[] = { "", "udp", "tcp", "tls" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *domains_status_name(enum domains_status s)
{
	return (unsigned)s < NELEM(status_names) ? status_names[s] : "?";
}

const char *domains_kind_name(enum domains_kind k)
{
	return (unsigned)k < NELEM(kind_names) ? kind_names[k] : "?";
}

const char *domains_transport_name(enum domains_transport t)
{
	return (unsigned)t < NELEM(tp_names) ? tp_names[t] : "?";
}

static int name_index(const char *const *names, unsigned n, const char *s)
{
	for (unsigned i = 0; s && i < n; i++)
		if (!strcasecmp(names[i], s))
			return (int)i;
	return -1;
}

int domains_status_parse(const char *s, enum domains_status *out)
{
	int i = name_index(status_names, NELEM(status_names), s);

	if (i < 0)
		return -EINVAL;
	*out = (enum domains_status)i;
	return 0;
}

int domains_kind_parse(const char *s, enum domains_kind *out)
{
	int i = name_index(kind_names, NELEM(kind_names), s);

	if (i < 0)
		return -EINVAL;
	*out = (enum domains_kind)i;
	return 0;
}

int domains_transport_parse(const char *s, enum domains_transport *out)
{
	int i = name_index(tp_names, NELEM(tp_names), s);

	if (i < 0)
		return -EINVAL;
	*out = (enum domains_transport)i;
	return 0;
}

void domains_config_defaults(struct domains_config *c)
{
	*c = (struct domains_config){
		.timeout_ms = 2000,
		.tries = 2,
		.ttl_floor = 10,
		.ttl_ceiling = 3600,
		.negative_ttl = 30,
		.stale_grace = 86400,
		.prefetch = 85,
		.max_entries = 65536,
		.max_jobs = 256,
		.mirror_wait_ms = 10000,
	};
}

/* ---- names ---- */

/*
 * Normalise a DNS name into out (lowercase, no final dot): 1..253 octets,
 * labels of 1..63 letters, digits, '-' and '_'. 0 or -EINVAL.
 */
static int name_norm(const char *in, char *out)
{
	size_t n = in ? strlen(in) : 0, label = 0;

	if (n && in[n - 1] == '.')
		n--;
	if (!n || n > DOMAINS_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];

		if (c == '.') {
			if (!label)
				return -EINVAL;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			   c == '_') {
			label++;
		} else if (c >= 'A' && c <= 'Z') {
			c = (char)(c + 32);
			label++;
		} else {
			return -EINVAL;
		}
		if (label > 63)
			return -EINVAL;
		out[i] = c;
	}
	if (!label)
		return -EINVAL;
	out[n] = '\0';
	return 0;
}

/* An IP address ("[v6]" too) into family/ip and its canonical text; true if it is one. */
static bool literal_parse(const char *in, uint8_t *family, uint8_t ip[16], char *text)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(in);

	if (n >= 2 && in[0] == '[' && in[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, in + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, ip) != 1)
			return false;
		*family = AF_INET6;
	} else if (inet_pton(AF_INET, in, ip) == 1) {
		*family = AF_INET;
	} else if (inet_pton(AF_INET6, in, ip) == 1) {
		*family = AF_INET6;
	} else {
		return false;
	}
	inet_ntop(*family, ip, text, INET6_ADDRSTRLEN);
	return true;
}

static uint8_t srv_transport(const char *name)
{
	if (!strncmp(name, "_sip._udp.", 10))
		return DOMAINS_TP_UDP;
	if (!strncmp(name, "_sip._tcp.", 10))
		return DOMAINS_TP_TCP;
	if (!strncmp(name, "_sips._tcp.", 11))
		return DOMAINS_TP_TLS;
	return DOMAINS_TP_ANY;
}

/* ---- slots and the hash ---- */

static uint32_t key_hash(enum domains_kind kind, const char *name)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind;

	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}

static struct entry *find(const struct domains *d, enum domains_kind kind, const char *norm)
{
	uint32_t h = key_hash(kind, norm);

	for (uint32_t s = d->buckets[h & (d->nbuckets - 1)]; s; s = d->slots[s - 1]->hnext) {
		struct entry *e = d->slots[s - 1];

		if (e->hash == h && e->kind == kind && !strcmp(e->name, norm))
			return e;
	}
	return NULL;
}

/* Find (kind, name) as the user wrote it. */
static struct entry *lookup(const struct domains *d, enum domains_kind kind, const char *name)
{
	char norm[DOMAINS_NAME_MAX + 1], text[INET6_ADDRSTRLEN];
	uint8_t fam, ip[16];

	if (!name)
		return NULL;
	if (literal_parse(name, &fam, ip, text))
		return find(d, kind, text);
	if (name_norm(name, norm))
		return NULL;
	return find(d, kind, norm);
}

static int buckets_grow(struct domains *d)
{
	uint32_t nb = d->nbuckets ? d->nbuckets * 2 : 64;
	uint32_t *b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < d->nslots; i++) {
		struct entry *e = d->slots[i];

		if (!e)
			continue;
		e->hnext = b[e->hash & (nb - 1)];
		b[e->hash & (nb - 1)] = i + 1;
	}
	free(d->buckets);
	d->buckets = b;
	d->nbuckets = nb;
	return 0;
}

static void hash_unlink(struct domains *d, struct entry *e)
{
	uint32_t *p = &d->buckets[e->hash & (d->nbuckets - 1)];

	while (*p && *p != e->slot + 1)
		p = &d->slots[*p - 1]->hnext;
	if (*p)
		*p = e->hnext;
}

static int slot_take(struct domains *d, uint32_t *out)
{
	if (d->nfree) {
		*out = d->freeslots[--d->nfree];
		return 0;
	}
	if (d->nslots == d->cap_slots) {
		uint32_t nc = d->cap_slots ? d->cap_slots * 2 : 64;
		struct entry **s = realloc(d->slots, nc * sizeof(*s));

		if (!s)
			return -ENOMEM;
		d->slots = s;
		uint32_t *g = realloc(d->sgen, nc * sizeof(*g));
		if (!g)
			return -ENOMEM;
		d->sgen = g;
		uint32_t *f = realloc(d->freeslots, nc * sizeof(*f));
		if (!f)
			return -ENOMEM;
		d->freeslots = f;
		d->cap_slots = nc;
	}
	d->slots[d->nslots] = NULL;
	d->sgen[d->nslots] = 0;
	*out = d->nslots++;
	return 0;
}

/* ---- the heap, on due ---- */

static bool heap_less(const struct entry *a, const struct entry *b)
{
	return a->due < b->due;
}

static void heap_set(struct domains *d, uint32_t i, struct entry *e)
{
	d->heap[i] = e;
	e->heap = i;
}

static void heap_up(struct domains *d, uint32_t i)
{
	struct entry *e = d->heap[i];

	while (i) {
		uint32_t p = (i - 1) / 2;

		if (!heap_less(e, d->heap[p]))
			break;
		heap_set(d, i, d->heap[p]);
		i = p;
	}
	heap_set(d, i, e);
}

static void heap_down(struct domains *d, uint32_t i)
{
	struct entry *e = d->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= d->nheap)
			break;
		if (c + 1 < d->nheap && heap_less(d->heap[c + 1], d->heap[c]))
			c++;
		if (!heap_less(d->heap[c], e))
			break;
		heap_set(d, i, d->heap[c]);
		i = c;
	}
	heap_set(d, i, e);
}

static void heap_remove(struct domains *d, struct entry *e)
{
	uint32_t i = e->heap;

	if (i == HEAP_NONE)
		return;
	e->heap = HEAP_NONE;
	if (i != --d->nheap) {
		heap_set(d, i, d->heap[d->nheap]);
		heap_down(d, i); /* the one moved in goes down, */
		heap_up(d, i);	 /* or up (then the first did nothing) */
	}
}

/* The heap holds every entry (capacity max_entries, allocated at start). */
static void heap_update(struct domains *d, struct entry *e, int64_t due)
{
	e->due = due;
	if (due == DUE_NEVER) {
		heap_remove(d, e);
		return;
	}
	if (e->heap == HEAP_NONE) {
		d->heap[d->nheap] = e;
		e->heap = d->nheap++;
		heap_up(d, e->heap);
		return;
	}
	heap_up(d, e->heap);
	heap_down(d, e->heap);
}

/* When e next needs attention. */
static int64_t entry_due(const struct entry *e)
{
	int64_t due = DUE_NEVER;

	if (e->literal)
		return DUE_NEVER;
	if (e->mirror_wait)
		due = e->mirror_deadline;
	else if (!e->job && !e->queued)
		due = e->refresh;
	if (e->status == DOMAINS_OK && e->expires && e->expires < due)
		due = e->expires;
	if (e->status == DOMAINS_STALE && e->stale_until < due)
		due = e->stale_until;
	return due;
}

static void reschedule(struct domains *d, struct entry *e)
{
	heap_update(d, e, entry_due(e));
}

/* ---- the FIFO of entries waiting for a job slot ---- */

static void queue_push(struct domains *d, struct entry *e)
{
	if (e->queued)
		return;
	e->queued = true;
	e->qnext = NULL;
	e->qprev = d->qtail;
	if (d->qtail)
		d->qtail->qnext = e;
	else
		d->qhead = e;
	d->qtail = e;
}

static void queue_unlink(struct domains *d, struct entry *e)
{
	if (!e->queued)
		return;
	if (e->qprev)
		e->qprev->qnext = e->qnext;
	else
		d->qhead = e->qnext;
	if (e->qnext)
		e->qnext->qprev = e->qprev;
	else
		d->qtail = e->qprev;
	e->queued = false;
	e->qnext = e->qprev = NULL;
}

/* ---- sockets ---- */

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct chan *c = data;
	struct domains *d = c->d;
	unsigned i;

	for (i = 0; i < d->nsocks && d->socks[i].fd != fd; i++)
		;
	if (!readable && !writable) {
		if (i < d->nsocks)
			d->socks[i] = d->socks[--d->nsocks];
		return;
	}
	if (i == d->nsocks) {
		if (d->nsocks == d->cap_socks) {
			unsigned nc = d->cap_socks ? d->cap_socks * 2 : 8;
			struct sock *s = realloc(d->socks, nc * sizeof(*s));

			if (!s) {
				/* c-ares still times the query out: it fails as a timeout */
				dlog(d, DOMAINS_LOG_ERR, "out of memory for a socket");
				return;
			}
			d->socks = s;
			d->cap_socks = nc;
		}
		d->nsocks++;
	}
	d->socks[i].fd = fd;
	d->socks[i].ch = c->idx;
	d->socks[i].events = (short)((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
}

unsigned domains_poll_fds(struct domains *d, struct pollfd *pfd, unsigned cap)
{
	for (unsigned i = 0; i < d->nsocks && i < cap; i++)
		pfd[i] = (struct pollfd){ .fd = d->socks[i].fd, .events = d->socks[i].events };
	return d->nsocks;
}

/* ---- results ---- */

static void res_free(struct result *r)
{
	free(r);
}

static bool res_equal(const struct result *a, const struct result *b)
{
	if (!a || !b)
		return a == b;
	if (a->ntargets != b->ntargets || a->naddrs != b->naddrs)
		return false;
	for (unsigned i = 0; i < a->ntargets; i++) {
		const struct domains_target *x = &a->targets[i], *y = &b->targets[i];

		if (strcmp(x->name, y->name) || x->port != y->port || x->priority != y->priority ||
		    x->weight != y->weight || x->order != y->order ||
		    x->preference != y->preference || x->transport != y->transport ||
		    x->naddrs != y->naddrs)
			return false;
	}
	return !memcmp(a->addrs, b->addrs, a->naddrs * sizeof(*a->addrs));
}

static int addr_cmp(const struct domains_addr *a, const struct domains_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->ip, b->ip, 16);
}

static int tgt_cmp(const struct domains_target *a, const struct domains_target *b)
{
	int r;

	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	if (a->preference != b->preference)
		return a->preference < b->preference ? -1 : 1;
	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	if (a->weight != b->weight)
		return a->weight > b->weight ? -1 : 1;
	r = strcmp(a->name, b->name);
	if (r)
		return r;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return (int)a->transport - (int)b->transport;
}

/*
 * A result from targets and addresses (addresses' `target` index into tg),
 * sorted and grouped; addresses repeated within a target are dropped.
 */
static struct result *res_build(const struct domains_target *tg, unsigned nt,
				const struct domains_addr *ad, unsigned na)
{
	size_t names = 0, size;
	unsigned order[DOMAINS_TARGETS_MAX], k = 0;
	struct result *r;
	char *p;

	if (nt > DOMAINS_TARGETS_MAX || na > DOMAINS_ADDRS_MAX)
		return NULL;
	for (unsigned i = 0; i < nt; i++)
		names += strlen(tg[i].name) + 1;
	size = sizeof(*r) + nt * sizeof(*r->targets) + na * sizeof(*r->addrs) + names;
	r = calloc(1, size);
	if (!r)
		return NULL;
	r->targets = (struct domains_target *)(r + 1);
	r->addrs = (struct domains_addr *)(r->targets + nt);
	p = (char *)(r->addrs + na);
	/* targets sorted (insertion: a few at most) */
	for (unsigned i = 0; i < nt; i++) {
		unsigned j = i;

		while (j && tgt_cmp(&tg[order[j - 1]], &tg[i]) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (unsigned i = 0; i < nt; i++) {
		const struct domains_target *s = &tg[order[i]];
		struct domains_target *t = &r->targets[i];
		size_t l = strlen(s->name) + 1;
		unsigned first = k;

		*t = *s;
		memcpy(p, s->name, l);
		t->name = p;
		p += l;
		for (unsigned j = 0; j < na; j++) {
			struct domains_addr a = ad[j];
			unsigned m;

			if (a.target != order[i])
				continue;
			a.target = (uint8_t)i;
			a.port = t->port;
			if (a.family == AF_INET)
				memset(a.ip + 4, 0, 12);
			for (m = first; m < k && addr_cmp(&r->addrs[m], &a); m++)
				;
			if (m < k)
				continue; /* repeated */
			m = k++;
			while (m > first && addr_cmp(&r->addrs[m - 1], &a) > 0) {
				r->addrs[m] = r->addrs[m - 1];
				m--;
			}
			r->addrs[m] = a;
		}
		t->naddrs = (uint8_t)(k - first);
	}
	r->ntargets = nt;
	r->naddrs = k;
	return r;
}

/* ---- reading an entry ---- */

static void entry_info(const struct domains *d, const struct entry *e, struct domains_info *out)
{
	int64_t now = domains_now_ms();

	*out = (struct domains_info){
		.name = e->name,
		.kind = e->kind,
		.status = e->status,
		.fail = e->status == DOMAINS_STALE ? e->fail : 0,
		.error = e->error,
		.node = e->node,
		.targets = e->res ? e->res->targets : NULL,
		.addrs = e->res ? e->res->addrs : NULL,
		.ntargets = e->res ? e->res->ntargets : 0,
		.naddrs = e->res ? e->res->naddrs : 0,
		.literal = e->literal,
		.busy = e->job != NULL,
		.ttl = e->ttl,
		.ttl_left_ms = e->expires ? e->expires - now : 0,
		.resolved_ms = to_rt(d, e->resolved),
		.checked_ms = to_rt(d, e->checked),
		.expires_ms = to_rt(d, e->expires),
		.stale_until_ms = to_rt(d, e->stale_until),
		.next_refresh_ms =
			e->literal ? 0 : to_rt(d, e->mirror_wait ? e->mirror_deadline : e->refresh),
		.queries = e->queries,
		.failures = e->failures,
	};
}

int domains_get(struct domains *d, enum domains_kind kind, const char *name,
		struct domains_info *out)
{
	struct entry *e = lookup(d, kind, name);

	if (!e)
		return -ENOENT;
	rt_sync(d);
	entry_info(d, e, out);
	return 0;
}

bool domains_foreach(struct domains *d, uint64_t *cursor, unsigned max,
		     void (*fn)(void *arg, const struct domains_info *e), void *arg)
{
	unsigned done = 0;

	rt_sync(d);
	while (*cursor < d->nslots && done < max) {
		struct entry *e = d->slots[(*cursor)++];
		struct domains_info info;

		if (!e)
			continue;
		entry_info(d, e, &info);
		fn(arg, &info);
		done++;
	}
	return *cursor < d->nslots;
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

struct domains_info *domains_info_dup(const struct domains_info *e)
{
	size_t strs = strlen(e->name) + 1 + strlen(e->error ? e->error : "") + 1 +
		      strlen(e->node ? e->node : "") + 1;
	size_t size;
	struct domains_info *c;
	struct domains_target *t;
	struct domains_addr *a;
	char *p;

	for (unsigned i = 0; i < e->ntargets; i++)
		strs += strlen(e->targets[i].name) + 1;
	size = align8(sizeof(*c)) + align8(e->ntargets * sizeof(*t)) + e->naddrs * sizeof(*a) +
	       strs;
	c = malloc(size);
	if (!c)
		return NULL;
	*c = *e;
	t = (struct domains_target *)((char *)c + align8(sizeof(*c)));
	a = (struct domains_addr *)((char *)t + align8(e->ntargets * sizeof(*t)));
	p = (char *)(a + e->naddrs);
	if (e->ntargets)
		memcpy(t, e->targets, e->ntargets * sizeof(*t));
	if (e->naddrs)
		memcpy(a, e->addrs, e->naddrs * sizeof(*a));
#define COPY(dst, src)                       \
	do {                                 \
		size_t l_ = strlen(src) + 1; \
		memcpy(p, src, l_);          \
		dst = p;                     \
		p += l_;                     \
	} while (0)
	COPY(c->name, e->name);
	COPY(c->error, e->error ? e->error : "");
	COPY(c->node, e->node ? e->node : "");
	for (unsigned i = 0; i < e->ntargets; i++)
		COPY(t[i].name, e->targets[i].name);
#undef COPY
	c->targets = e->ntargets ? t : NULL;
	c->addrs = e->naddrs ? a : NULL;
	return c;
}

/* ---- changes ---- */

static void notify(struct domains *d, struct entry *e)
{
	struct domains_info info;

	d->st.changes++;
	if (!d->listener)
		return;
	entry_info(d, e, &info);
	d->listener(d->listener_arg, &info, DOMAINS_EV_CHANGED);
}

/* The entry's key for log lines: "host:example.com". */
#define KEYF	"%s:%s"
#define KEYA(e) kind_names[(e)->kind], (e)->name

static void set_error(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, DOMAINS_ERROR_MAX, fmt, ap);
	va_end(ap);
}

static uint32_t clamp_ttl(const struct domains *d, uint32_t ttl)
{
	if (ttl < d->cfg.ttl_floor)
		return d->cfg.ttl_floor;
	if (ttl > d->cfg.ttl_ceiling)
		return d->cfg.ttl_ceiling;
	return ttl;
}

/* resolved + prefetch% of the TTL, ± 5 points of jitter, within [50%, 97%]. */
static int64_t refresh_time(struct domains *d, int64_t resolved, uint32_t ttl)
{
	int64_t pm = (int64_t)d->cfg.prefetch * 10 + (int64_t)(rng_next(d) % 101) - 50;

	if (pm < 500)
		pm = 500;
	if (pm > 970)
		pm = 970;
	return resolved + (int64_t)ttl * pm;
}

/* After a failure: negative_ttl, or sooner while the addresses' TTL runs. */
static int64_t retry_time(const struct domains *d, const struct entry *e, int64_t now)
{
	int64_t delay = (int64_t)d->cfg.negative_ttl * 1000;

	if (e->res && e->expires > now) {
		int64_t half = (e->expires - now) / 2;

		if (half < 1000)
			half = 1000;
		if (half < delay)
			delay = half;
	}
	return now + delay;
}

/* Drop the addresses of an entry whose grace ended (or that failed without any). */
static void entry_fail(struct entry *e, enum domains_status fail)
{
	res_free(e->res);
	e->res = NULL;
	e->status = fail;
	e->fail = 0;
	e->stale_until = 0;
	e->expires = 0;
}

/* ---- jobs ---- */

static void job_finish(struct domains *d, struct entry *e);
static void job_issue(struct domains *d, struct entry *e, uint16_t qtype, const char *qname,
		      const struct qctx *tmpl);

static void job_fail(struct job *j, enum domains_status st, const char *what, const char *qname,
		     const char *why)
{
	if (j->fail)
		return;
	j->fail = st;
	set_error(j->error, "%s %s: %s", what, qname, why);
}

static void job_negative(struct job *j, const char *what, const char *qname, const char *why)
{
	if (!j->fail && !j->error[0])
		set_error(j->error, "%s %s: %s", what, qname, why);
}

static void job_ttl(struct job *j, uint32_t ttl)
{
	if (ttl < j->ttl)
		j->ttl = ttl;
}

static const char *qtype_name(uint16_t t)
{
	switch (t) {
	case ns_t_a:
		return "A";
	case ns_t_aaaa:
		return "AAAA";
	case ns_t_srv:
		return "SRV";
	case ns_t_naptr:
		return "NAPTR";
	}
	return "?";
}

/*
 * What c-ares said, for a query that gave nothing: true when it is an answer
 * that there is nothing (negative), false for a failure (recorded in j).
 */
static bool classify(struct job *j, int status, uint16_t qtype, const char *qname)
{
	const char *what = qtype_name(qtype);

	switch (status) {
	case ARES_ENOTFOUND:
		job_negative(j, what, qname, "NXDOMAIN");
		return true;
	case ARES_ENODATA:
		job_negative(j, what, qname, "no records");
		return true;
	case ARES_ESERVFAIL:
		job_fail(j, DOMAINS_SERVFAIL, what, qname, "SERVFAIL");
		return false;
	case ARES_ETIMEOUT:
		job_fail(j, DOMAINS_TIMEOUT, what, qname, "timeout (no answer from any server)");
		return false;
	case ARES_EREFUSED:
		job_fail(j, DOMAINS_UNREACHABLE, what, qname, "REFUSED");
		return false;
	case ARES_ECONNREFUSED:
		job_fail(j, DOMAINS_UNREACHABLE, what, qname, "connection refused");
		return false;
	default:
		job_fail(j, DOMAINS_SERVFAIL, what, qname, ares_strerror(status));
		return false;
	}
}

static int jtarget_add(struct job *j, const char *name, uint16_t port, uint16_t prio,
		       uint16_t weight, uint16_t order, uint16_t pref, uint8_t tp)
{
	struct jtarget *t;
	char norm[DOMAINS_NAME_MAX + 1];

	if (j->ntargets >= DOMAINS_TARGETS_MAX || name_norm(name, norm))
		return -1;
	t = &j->t[j->ntargets];
	memcpy(t->name, norm, strlen(norm) + 1);
	t->port = port;
	t->priority = prio;
	t->weight = weight;
	t->order = order;
	t->preference = pref;
	t->transport = tp;
	t->naddrs = 0;
	return (int)j->ntargets++;
}

/* Ask A and/or AAAA (as the kind wants) of target ti. */
static void ask_addrs(struct domains *d, struct entry *e, unsigned ti)
{
	struct qctx q = { .target = (uint8_t)ti };
	const char *name = e->job->t[ti].name;

	if (e->kind != DOMAINS_AAAA)
		job_issue(d, e, ns_t_a, name, &q);
	if (e->kind != DOMAINS_A && e->job) /* the A query may have finished the job */
		job_issue(d, e, ns_t_aaaa, name, &q);
}

static void on_addr(struct domains *d, struct entry *e, const struct qctx *q, int status,
		    const unsigned char *abuf, int alen)
{
	struct job *j = e->job;
	struct jtarget *t = &j->t[q->target];
	struct hostent *he = NULL;
	int n = ADDRS_PER_TARGET;

	(void)d;
	if (status != ARES_SUCCESS) {
		classify(j, status, q->qtype, q->qname);
		return;
	}
	if (q->qtype == ns_t_a) {
		struct ares_addrttl at[ADDRS_PER_TARGET];

		status = ares_parse_a_reply(abuf, alen, &he, at, &n);
		for (int i = 0; status == ARES_SUCCESS && i < n; i++) {
			struct domains_addr *a;

			if (t->naddrs >= ADDRS_PER_TARGET || j->naddrs >= DOMAINS_ADDRS_MAX)
				break;
			a = &j->a[j->naddrs++];
			*a = (struct domains_addr){ .family = AF_INET, .target = q->target };
			memcpy(a->ip, &at[i].ipaddr, 4);
			t->naddrs++;
			job_ttl(j, at[i].ttl < 0 ? 0 : (uint32_t)at[i].ttl);
		}
	} else {
		struct ares_addr6ttl at[ADDRS_PER_TARGET];

		status = ares_parse_aaaa_reply(abuf, alen, &he, at, &n);
		for (int i = 0; status == ARES_SUCCESS && i < n; i++) {
			struct domains_addr *a;

			if (t->naddrs >= ADDRS_PER_TARGET || j->naddrs >= DOMAINS_ADDRS_MAX)
				break;
			a = &j->a[j->naddrs++];
			*a = (struct domains_addr){ .family = AF_INET6, .target = q->target };
			memcpy(a->ip, &at[i].ip6addr, 16);
			t->naddrs++;
			job_ttl(j, at[i].ttl < 0 ? 0 : (uint32_t)at[i].ttl);
		}
	}
	if (he)
		ares_free_hostent(he);
	if (status == ARES_SUCCESS && n == 0)
		status = ARES_ENODATA;
	if (status != ARES_SUCCESS)
		classify(j, status, q->qtype, q->qname);
}

static int srv_cmp(const void *a, const void *b)
{
	const struct ares_srv_reply *x = *(const struct ares_srv_reply *const *)a;
	const struct ares_srv_reply *y = *(const struct ares_srv_reply *const *)b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->weight > y->weight ? -1 : x->weight < y->weight;
}

static void on_srv(struct domains *d, struct entry *e, const struct qctx *q, int status,
		   const unsigned char *abuf, int alen)
{
	struct job *j = e->job;
	struct ares_srv_reply *srv = NULL, *v[64];
	unsigned n = 0, first = j->ntargets, added = 0;
	uint32_t ttl;

	if (status == ARES_SUCCESS)
		status = ares_parse_srv_reply(abuf, alen, &srv);
	if (status != ARES_SUCCESS) {
		classify(j, status, q->qtype, q->qname);
		return;
	}
	for (struct ares_srv_reply *s = srv; s && n < NELEM(v); s = s->next)
		v[n++] = s;
	/* the best first, so that the limit drops the least preferred */
	qsort(v, n, sizeof(v[0]), srv_cmp);
	for (unsigned i = 0; i < n; i++) {
		if (!v[i]->host[0] || !strcmp(v[i]->host, "."))
			continue; /* "." : the service is decidedly not there (RFC 2782) */
		if (jtarget_add(j, v[i]->host, v[i]->port, v[i]->priority, v[i]->weight, q->order,
				q->preference, q->transport) >= 0)
			added++;
	}
	ares_free_data(srv);
	if (!added) {
		job_negative(j, "SRV", q->qname, "no usable target");
		return;
	}
	if (dns_ttl_min(abuf, (size_t)alen, DNS_TTL_T_SRV, &ttl, NULL) > 0)
		job_ttl(j, ttl);
	for (unsigned i = first; i < first + added && e->job == j; i++)
		ask_addrs(d, e, i);
}

static int naptr_service(const unsigned char *s)
{
	if (!strcasecmp((const char *)s, "SIP+D2U"))
		return DOMAINS_TP_UDP;
	if (!strcasecmp((const char *)s, "SIP+D2T"))
		return DOMAINS_TP_TCP;
	if (!strcasecmp((const char *)s, "SIPS+D2T"))
		return DOMAINS_TP_TLS;
	return -1;
}

static int naptr_cmp(const void *a, const void *b)
{
	const struct ares_naptr_reply *x = *(const struct ares_naptr_reply *const *)a;
	const struct ares_naptr_reply *y = *(const struct ares_naptr_reply *const *)b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->preference < y->preference ? -1 : x->preference > y->preference;
}

/* No usable NAPTR: SRV of the transports' well-known names (RFC 3263 §4.1). */
static void srv_fallback(struct domains *d, struct entry *e)
{
	static const struct {
		const char *prefix;
		uint8_t tp;
	} fb[] = { { "_sip._udp.", DOMAINS_TP_UDP },
		   { "_sip._tcp.", DOMAINS_TP_TCP },
		   { "_sips._tcp.", DOMAINS_TP_TLS } };
	char qname[DOMAINS_NAME_MAX + 16];

	e->job->srv_fallback = true;
	for (unsigned i = 0; i < NELEM(fb) && e->job; i++) {
		struct qctx q = { .transport = fb[i].tp, .preference = (uint16_t)i };

		if (snprintf(qname, sizeof(qname), "%s%s", fb[i].prefix, e->name) >
		    DOMAINS_NAME_MAX)
			continue;
		job_issue(d, e, ns_t_srv, qname, &q);
	}
}

static void on_naptr(struct domains *d, struct entry *e, const struct qctx *q, int status,
		     const unsigned char *abuf, int alen)
{
	struct job *j = e->job;
	struct ares_naptr_reply *np = NULL, *v[64];
	unsigned n = 0, used = 0;
	uint32_t ttl;

	if (status == ARES_SUCCESS)
		status = ares_parse_naptr_reply(abuf, alen, &np);
	if (status == ARES_ENOTFOUND) {
		classify(j, status, q->qtype, q->qname); /* no such name: no fallback */
		return;
	}
	if (status != ARES_SUCCESS && status != ARES_ENODATA) {
		classify(j, status, q->qtype, q->qname);
		return;
	}
	for (struct ares_naptr_reply *r = np; r && n < NELEM(v); r = r->next) {
		if (strcasecmp((const char *)r->flags, "s") || naptr_service(r->service) < 0 ||
		    !r->replacement[0] || !strcmp(r->replacement, "."))
			continue;
		v[n++] = r;
	}
	qsort(v, n, sizeof(v[0]), naptr_cmp);
	if (n && dns_ttl_min(abuf, (size_t)alen, DNS_TTL_T_NAPTR, &ttl, NULL) > 0)
		job_ttl(j, ttl);
	for (unsigned i = 0; i < n && used < NAPTR_MAX && e->job == j; i++, used++) {
		struct qctx sq = { .transport = (uint8_t)naptr_service(v[i]->service),
				   .order = v[i]->order,
				   .preference = v[i]->preference };

		job_issue(d, e, ns_t_srv, v[i]->replacement, &sq);
	}
	if (np)
		ares_free_data(np);
	if (!used && e->job == j)
		srv_fallback(d, e);
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen);

/*
 * A failure of one server (not an answer): ask the next one that was not
 * asked yet, and move the preference on when the preferred one is silent or
 * refuses. True when the query was sent again.
 */
static bool failover(struct domains *d, struct entry *e, struct qctx *q, int status)
{
	unsigned next;

	if (status != ARES_ESERVFAIL && status != ARES_EREFUSED && status != ARES_ETIMEOUT &&
	    status != ARES_ECONNREFUSED && status != ARES_EFORMERR && status != ARES_ENOTIMP &&
	    status != ARES_EBADRESP)
		return false;
	next = (q->server + 1u) % d->nch;
	if (status == ARES_ETIMEOUT || status == ARES_ECONNREFUSED) {
		struct chan *c = &d->chans[q->server];

		if (q->server == d->prefer)
			d->prefer = next;
		if (!c->failing)
			dlog(d, DOMAINS_LOG_WARNING, "server %s: %s%s", c->server,
			     status == ARES_ETIMEOUT ? "no answer" : "connection refused",
			     d->nch > 1 ? "; the next one is asked first" : "");
		c->failing = true;
	}
	if (q->tried >= d->nch)
		return false;
	q->server = (uint8_t)next;
	q->tried++;
	e->queries++;
	d->st.queries++;
	d->st.queries_inflight++;
	ares_query(d->chans[q->server].ch, q->qname, ns_c_in, q->qtype, on_answer, q);
	return true;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct qctx *q = arg;
	struct domains *d = q->d;
	struct entry *e;

	(void)timeouts;
	d->st.queries_inflight--;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || d->closing) {
		free(q);
		return;
	}
	d->st.answers++;
	e = q->slot < d->nslots && d->sgen[q->slot] == q->egen ? d->slots[q->slot] : NULL;
	if (!e || !e->job || e->jgen != q->jgen) {
		free(q); /* removed, or a job abandoned for a newer one */
		return;
	}
	if (failover(d, e, q, status))
		return; /* asked the next server: the same query, still pending */
	if (d->chans[q->server].failing &&
	    (status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND)) {
		d->chans[q->server].failing = false;
		dlog(d, DOMAINS_LOG_INFO, "server %s: answers again", d->chans[q->server].server);
	}
	e->job->issuing++;
	switch (q->qtype) {
	case ns_t_a:
	case ns_t_aaaa:
		on_addr(d, e, q, status, abuf, alen);
		break;
	case ns_t_srv:
		on_srv(d, e, q, status, abuf, alen);
		break;
	case ns_t_naptr:
		on_naptr(d, e, q, status, abuf, alen);
		break;
	}
	free(q);
	if (!e->job)
		return;
	e->job->issuing--;
	e->job->pending--;
	job_finish(d, e);
}

/* Send one query for e's job; copies tmpl's stage fields. */
static void job_issue(struct domains *d, struct entry *e, uint16_t qtype, const char *qname,
		      const struct qctx *tmpl)
{
	struct job *j = e->job;
	struct qctx *q = malloc(sizeof(*q));

	if (!q) {
		job_fail(j, DOMAINS_SERVFAIL, qtype_name(qtype), qname, "out of memory");
		return;
	}
	*q = *tmpl;
	q->d = d;
	q->slot = e->slot;
	q->egen = d->sgen[e->slot];
	q->jgen = j->gen;
	q->qtype = qtype;
	q->server = (uint8_t)d->prefer;
	q->tried = 1;
	snprintf(q->qname, sizeof(q->qname), "%s", qname);
	j->pending++;
	j->issuing++;
	e->queries++;
	d->st.queries++;
	d->st.queries_inflight++;
	ares_query(d->chans[q->server].ch, q->qname, ns_c_in, qtype, on_answer, q);
	/* the callback may have run already (and finished the job) */
	if (e->job == j)
		j->issuing--;
}

/* Start a resolution of e (a job slot is free). */
static void job_start(struct domains *d, struct entry *e)
{
	struct job *j = calloc(1, sizeof(*j));
	struct qctx q = { 0 };

	if (!j) {
		dlog(d, DOMAINS_LOG_ERR, KEYF ": out of memory; retrying", KEYA(e));
		e->refresh = d->now + 1000;
		reschedule(d, e);
		return;
	}
	j->gen = ++e->jgen;
	j->ttl = UINT32_MAX;
	j->issuing = 1;
	e->job = j;
	e->forced = false;
	d->njobs++;
	d->st.jobs = d->njobs;
	reschedule(d, e);
	switch (e->kind) {
	case DOMAINS_HOST:
	case DOMAINS_A:
	case DOMAINS_AAAA:
		jtarget_add(j, e->name, 0, 0, 0, 0, 0, DOMAINS_TP_ANY);
		ask_addrs(d, e, 0);
		break;
	case DOMAINS_SRV:
		q.transport = e->srv_tp;
		job_issue(d, e, ns_t_srv, e->name, &q);
		break;
	case DOMAINS_NAPTR:
		job_issue(d, e, ns_t_naptr, e->name, &q);
		break;
	}
	if (e->job == j) {
		j->issuing--;
		job_finish(d, e);
	}
}

static void job_drop(struct domains *d, struct entry *e)
{
	if (!e->job)
		return;
	free(e->job);
	e->job = NULL;
	d->njobs--;
	d->st.jobs = d->njobs;
}

/* Apply a finished job's outcome to its entry. */
static void job_apply(struct domains *d, struct entry *e, struct job *j)
{
	int64_t now = d->now;
	enum domains_status old_status = e->status;
	struct result *old = e->res, *res = NULL;
	struct domains_target tg[DOMAINS_TARGETS_MAX];
	bool changed;

	if (j->naddrs) {
		for (unsigned i = 0; i < j->ntargets; i++)
			tg[i] = (struct domains_target){ .name = j->t[i].name,
							 .port = j->t[i].port,
							 .priority = j->t[i].priority,
							 .weight = j->t[i].weight,
							 .order = j->t[i].order,
							 .preference = j->t[i].preference,
							 .transport = j->t[i].transport };
		res = res_build(tg, j->ntargets, j->a, j->naddrs);
		if (!res) {
			job_fail(j, DOMAINS_SERVFAIL, "-", e->name, "out of memory");
			j->naddrs = 0;
		}
	}
	e->node[0] = '\0';
	e->checked = now;
	if (res) {
		e->res = res;
		e->status = DOMAINS_OK;
		e->fail = 0;
		e->resolved = now;
		e->ttl = clamp_ttl(d, j->ttl == UINT32_MAX ? 0 : j->ttl);
		e->expires = now + (int64_t)e->ttl * 1000;
		e->stale_until = e->expires + (int64_t)d->cfg.stale_grace * 1000;
		e->refresh = refresh_time(d, now, e->ttl);
		snprintf(e->error, sizeof(e->error), "%s", j->fail ? j->error : "");
	} else if (!j->fail) {
		/* an answer that there is nothing: the addresses go (not served stale) */
		e->res = NULL;
		e->status = DOMAINS_NXDOMAIN;
		e->fail = 0;
		e->resolved = now;
		e->ttl = d->cfg.negative_ttl;
		e->expires = now + (int64_t)e->ttl * 1000;
		e->stale_until = 0;
		e->refresh = e->expires;
		snprintf(e->error, sizeof(e->error), "%s", j->error);
		e->failures++;
		d->st.failures++;
	} else {
		e->failures++;
		d->st.failures++;
		snprintf(e->error, sizeof(e->error), "%s", j->error);
		e->fail = j->fail;
		e->res = old;
		old = NULL;
		if (e->res && now < e->stale_until) {
			/* serve the last good addresses: ok until their TTL ends, then stale */
			e->status = now < e->expires ? DOMAINS_OK : DOMAINS_STALE;
		} else {
			entry_fail(e, j->fail);
			e->resolved = now;
			e->ttl = 0;
		}
		e->refresh = retry_time(d, e, now);
	}
	changed = e->status != old_status || (old && !res_equal(old, e->res));
	if (old && old != e->res)
		res_free(old);
	if (changed) {
		if (e->status == DOMAINS_OK && old_status != DOMAINS_OK &&
		    old_status != DOMAINS_PENDING)
			dlog(d, DOMAINS_LOG_INFO, KEYF ": ok again, %u addresses", KEYA(e),
			     e->res->naddrs);
		else if (e->status != DOMAINS_OK)
			dlog(d, DOMAINS_LOG_WARNING, KEYF ": %s: %s%s", KEYA(e),
			     domains_status_name(e->status), e->error,
			     e->status == DOMAINS_STALE ? " (serving the last addresses)" : "");
	}
	if (changed)
		notify(d, e);
}

static void job_finish(struct domains *d, struct entry *e)
{
	struct job *j = e->job;

	if (!j || j->pending || j->issuing)
		return;
	/* NAPTR: no SRV target found anywhere: A/AAAA of the name itself */
	if (j->srv_fallback && !j->addr_fallback && !j->ntargets && !j->fail) {
		j->addr_fallback = true;
		j->error[0] = '\0';
		if (jtarget_add(j, e->name, 0, 0, 0, 0, 0, DOMAINS_TP_ANY) >= 0) {
			j->issuing++;
			ask_addrs(d, e, 0);
			if (e->job != j)
				return;
			j->issuing--;
			if (j->pending)
				return;
		}
	}
	e->job = NULL;
	d->njobs--;
	d->st.jobs = d->njobs;
	job_apply(d, e, j);
	free(j);
	reschedule(d, e);
	if (d->has_mirror && d->mirror.resolved) {
		struct domains_info info;

		entry_info(d, e, &info);
		d->mirror.resolved(d->mirror_arg, &info);
	}
}

/* ---- the schedule ---- */

/* Start e's refresh now, or queue it for a job slot. */
static void refresh_start(struct domains *d, struct entry *e)
{
	if (d->njobs >= d->cfg.max_jobs) {
		queue_push(d, e);
		reschedule(d, e);
		return;
	}
	job_start(d, e);
}

/*
 * Move e's status along its times: ok past its TTL is stale, stale past its
 * grace is the failure without addresses. True when it changed.
 */
static bool evolve(struct entry *e, int64_t now)
{
	bool changed = false;

	if (e->literal || !e->res)
		return false;
	if (e->status == DOMAINS_OK && e->expires && now >= e->expires) {
		if (!e->fail)
			e->fail = DOMAINS_TIMEOUT;
		if (!e->error[0])
			set_error(e->error, "not refreshed before the TTL ended");
		e->status = DOMAINS_STALE;
		changed = true;
	}
	if (e->status == DOMAINS_STALE && now >= e->stale_until) {
		entry_fail(e, e->fail ? e->fail : DOMAINS_TIMEOUT);
		changed = true;
	}
	return changed;
}

/* e is due: timers first, then its refresh (through the mirror unless forced). */
static void entry_tick(struct domains *d, struct entry *e)
{
	int64_t now = d->now;

	if (evolve(e, now)) {
		if (e->status == DOMAINS_STALE)
			dlog(d, DOMAINS_LOG_WARNING,
			     KEYF ": stale: %s (serving the last addresses)", KEYA(e), e->error);
		else
			dlog(d, DOMAINS_LOG_WARNING, KEYF ": %s: %s (no addresses left to serve)",
			     KEYA(e), domains_status_name(e->status), e->error);
		notify(d, e);
	}
	if (e->mirror_wait && now >= e->mirror_deadline) {
		e->mirror_wait = false;
		dlog(d, DOMAINS_LOG_WARNING, KEYF ": no answer from the mirror; resolving alone",
		     KEYA(e));
		refresh_start(d, e);
		return;
	}
	if (!e->mirror_wait && !e->job && !e->queued && now >= e->refresh) {
		if (!e->forced && d->has_mirror && d->mirror.due) {
			struct domains_info info;

			entry_info(d, e, &info);
			if (d->mirror.due(d->mirror_arg, &info)) {
				e->mirror_wait = true;
				e->mirror_deadline = now + d->cfg.mirror_wait_ms;
				reschedule(d, e);
				return;
			}
		}
		refresh_start(d, e);
		return;
	}
	reschedule(d, e);
}

void domains_process(struct domains *d, const struct pollfd *pfd, unsigned n, int64_t now_ms)
{
	unsigned ticks = 0;

	clock_sync(d, now_ms);
	for (unsigned i = 0; i < n; i++) {
		unsigned k;

		if (!pfd[i].revents || pfd[i].fd < 0)
			continue;
		for (k = 0; k < d->nsocks && d->socks[k].fd != pfd[i].fd; k++)
			;
		if (k == d->nsocks)
			continue; /* not c-ares' (or closed since the poll) */
		ares_process_fd(d->chans[d->socks[k].ch].ch,
				pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd
									      : ARES_SOCKET_BAD,
				pfd[i].revents & (POLLOUT | POLLERR) ? pfd[i].fd : ARES_SOCKET_BAD);
	}
	for (unsigned c = 0; c < d->nch; c++)
		ares_process_fd(d->chans[c].ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts */
	while (d->qhead && d->njobs < d->cfg.max_jobs) {
		struct entry *e = d->qhead;

		queue_unlink(d, e);
		job_start(d, e);
	}
	while (d->nheap && d->heap[0]->due <= d->now && ticks++ < TICKS_PER_ROUND) {
		struct entry *e = d->heap[0];

		entry_tick(d, e);
		if (e->due <= d->now && e == d->heap[0])
			heap_update(d, e, d->now + 1); /* nothing more now: never spin */
	}
}

int domains_poll_timeout(struct domains *d, int64_t now_ms)
{
	int64_t t = 1000;
	struct timeval tv, maxtv = { 1, 0 }, *r;

	if (d->qhead && d->njobs < d->cfg.max_jobs)
		return 0;
	if (d->nheap) {
		int64_t left = d->heap[0]->due - now_ms;

		if (left < t)
			t = left < 0 ? 0 : left;
	}
	for (unsigned c = 0; c < d->nch; c++) {
		r = ares_timeout(d->chans[c].ch, &maxtv, &tv);
		if (r) {
			int64_t ms = (int64_t)r->tv_sec * 1000 + (r->tv_usec + 999) / 1000;

			if (ms < t)
				t = ms;
		}
	}
	return (int)t;
}

void domains_run_once(struct domains *d, int wait_ms)
{
	struct pollfd pfd[DOMAINS_POLL_MAX];
	unsigned n = domains_poll_fds(d, pfd, DOMAINS_POLL_MAX);
	int t = domains_poll_timeout(d, domains_now_ms());

	if (n > DOMAINS_POLL_MAX)
		n = DOMAINS_POLL_MAX;
	if (t > wait_ms)
		t = wait_ms;
	if (n) {
		if (poll(pfd, n, t) <= 0)
			for (unsigned i = 0; i < n; i++)
				pfd[i].revents = 0;
	} else if (t > 0) {
		struct timespec ts = { t / 1000, (long)(t % 1000) * 1000000 };

		nanosleep(&ts, NULL);
	}
	domains_process(d, pfd, n, domains_now_ms());
}

/* ---- creation ---- */

/* "ip", "ip:port", "[v6]", "[v6]:port", bare "v6" into "ip:port" / "[v6]:port". */
static int server_norm(const char *s, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN + 1], text[INET6_ADDRSTRLEN];
	const char *colon = strrchr(s, ':'), *hend;
	unsigned long port = 53;
	uint8_t ip[16];
	int family;

	if (s[0] == '[') {
		hend = strchr(s, ']');
		if (!hend || (hend[1] && hend[1] != ':'))
			return -EINVAL;
		if ((size_t)(hend - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(hend - s - 1));
		host[hend - s - 1] = '\0';
		colon = hend[1] ? hend + 1 : NULL;
		family = AF_INET6;
	} else if (colon && strchr(s, ':') == colon) {
		if ((size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		family = AF_INET;
	} else {
		if (strlen(s) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%s", s);
		family = colon ? AF_INET6 : AF_INET;
		colon = NULL;
	}
	if (colon) {
		char *end;

		if (!colon[1])
			return -EINVAL;
		port = strtoul(colon + 1, &end, 10);
		if (*end || !port || port > 65535 || colon[1] < '0' || colon[1] > '9')
			return -EINVAL;
	}
	if (inet_pton(family, host, ip) != 1)
		return -EINVAL;
	inet_ntop(family, ip, text, sizeof(text));
	snprintf(out, cap, family == AF_INET6 ? "[%s]:%lu" : "%s:%lu", text, port);
	return 0;
}

/* Each value within its range; *what names the first that is not (its config key). */
static int check(const struct domains_config *c, const char **what)
{
	const struct {
		const char *name;
		uint64_t v, lo, hi;
	} r[] = {
		{ "dns.timeout (100..30000 ms)", c->timeout_ms, 100, 30000 },
		{ "dns.tries (1..10)", c->tries, 1, 10 },
		{ "dns.ttl_floor (1..3600 s)", c->ttl_floor, 1, 3600 },
		{ "dns.ttl_ceiling (ttl_floor..604800 s)", c->ttl_ceiling, c->ttl_floor, 604800 },
		{ "dns.negative_ttl (1..3600 s)", c->negative_ttl, 1, 3600 },
		{ "dns.stale_grace (0..604800 s)", c->stale_grace, 0, 604800 },
		{ "dns.prefetch (50..95 %)", c->prefetch, 50, 95 },
		{ "dns.servers (at most 8)", c->nservers, 0, DOMAINS_SERVERS_MAX },
		{ "max_entries (1..1000000)", c->max_entries, 1, 1000000 },
		{ "max_jobs (1..65536)", c->max_jobs, 1, 65536 },
		{ "mirror_wait_ms (100..600000)", c->mirror_wait_ms, 100, 600000 },
	};

	for (size_t i = 0; i < NELEM(r); i++) {
		if (r[i].v < r[i].lo || r[i].v > r[i].hi) {
			*what = r[i].name;
			return -EINVAL;
		}
	}
	return 0;
}

/* The options of every channel: one server each, NOCHECKRESP (see the top). */
static int chan_options(struct domains *d, struct chan *c, const char *resolv_conf,
			struct ares_options *o)
{
	int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB | ARES_OPT_FLAGS;

	memset(o, 0, sizeof(*o));
	o->timeout = (int)d->cfg.timeout_ms;
	o->tries = (int)d->cfg.tries;
	o->flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
	o->sock_state_cb = sock_state;
	o->sock_state_cb_data = c;
	if (resolv_conf) {
		mask |= ARES_OPT_RESOLVCONF;
		o->resolvconf_path = (char *)resolv_conf;
	}
	return mask;
}

/* Channel i, for d->chans[i].server. 0, -ENOMEM or -EIO (logged). */
static int chan_open(struct domains *d, unsigned i, const char *resolv_conf)
{
	struct chan *c = &d->chans[i];
	struct ares_options o;
	int mask = chan_options(d, c, resolv_conf, &o), r;

	c->d = d;
	c->idx = (uint8_t)i;
	r = ares_init_options(&c->ch, &o, mask);
	if (r != ARES_SUCCESS) {
		c->ch = NULL;
		dlog(d, DOMAINS_LOG_ERR, "c-ares: init: %s", ares_strerror(r));
		return r == ARES_ENOMEM ? -ENOMEM : -EIO;
	}
	r = ares_set_servers_ports_csv(c->ch, c->server);
	if (r != ARES_SUCCESS) {
		dlog(d, DOMAINS_LOG_ERR, "c-ares: server %s: %s", c->server, ares_strerror(r));
		return r == ARES_ENOMEM ? -ENOMEM : -EIO;
	}
	return 0;
}

/* No dns.servers: those of resolv.conf (c-ares' reading of it), into d->chans[].server. */
static int resolv_servers(struct domains *d, const char *resolv_conf)
{
	struct chan probe = { .d = d };
	struct ares_options o;
	struct ares_addr_port_node *list = NULL;
	int mask = chan_options(d, &probe, resolv_conf, &o), r;

	r = ares_init_options(&probe.ch, &o, mask);
	if (r != ARES_SUCCESS) {
		dlog(d, DOMAINS_LOG_ERR, "c-ares: init: %s", ares_strerror(r));
		return r == ARES_ENOMEM ? -ENOMEM : -EIO;
	}
	r = ares_get_servers_ports(probe.ch, &list);
	ares_destroy(probe.ch);
	if (r != ARES_SUCCESS) {
		dlog(d, DOMAINS_LOG_ERR, "c-ares: servers: %s", ares_strerror(r));
		return -EIO;
	}
	d->nch = 0;
	for (struct ares_addr_port_node *s = list; s && d->nch < DOMAINS_SERVERS_MAX; s = s->next) {
		char ip[INET6_ADDRSTRLEN];
		unsigned port = s->udp_port ? (unsigned)s->udp_port : 53;

		if (!inet_ntop(s->family, &s->addr, ip, sizeof(ip)))
			continue;
		snprintf(d->chans[d->nch].server, sizeof(d->chans[d->nch].server),
			 s->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
		d->nch++;
	}
	ares_free_data(list);
	if (!d->nch) {
		dlog(d, DOMAINS_LOG_ERR, "no DNS server in %s and none configured (dns.servers)",
		     resolv_conf ? resolv_conf : "/etc/resolv.conf");
		return -EINVAL;
	}
	return 0;
}

int domains_new(struct domains **out, const struct domains_config *cfg)
{
	struct domains *d;
	const char *what = NULL;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	if (check(&d->cfg, &what)) {
		dlog(d, DOMAINS_LOG_ERR, "configuration: %s out of range", what);
		free(d);
		return -EINVAL;
	}
	for (unsigned i = 0; i < cfg->nservers; i++) {
		if (!cfg->servers[i] ||
		    server_norm(cfg->servers[i], d->chans[i].server, sizeof(d->chans[i].server))) {
			dlog(d, DOMAINS_LOG_ERR,
			     "configuration: dns.servers: \"%s\" is not ip[:port] or [ipv6][:port]",
			     cfg->servers[i] ? cfg->servers[i] : "(null)");
			free(d);
			return -EINVAL;
		}
	}
	d->cfg.servers = NULL;
	d->cfg.resolv_conf = NULL;
	d->rng = cfg->seed;
	if (!d->rng && getrandom(&d->rng, sizeof(d->rng), GRND_NONBLOCK) != sizeof(d->rng))
		d->rng = (uint64_t)realtime_ms() ^ (uint64_t)(uintptr_t)d;
	d->heap = calloc(d->cfg.max_entries, sizeof(*d->heap));
	if (!d->heap || buckets_grow(d)) {
		domains_free(d);
		return -ENOMEM;
	}
	r = ares_library_init(ARES_LIB_INIT_ALL);
	if (r != ARES_SUCCESS) {
		dlog(d, DOMAINS_LOG_ERR, "c-ares: %s", ares_strerror(r));
		domains_free(d);
		return -EIO;
	}
	d->lib_ok = true;
	r = cfg->nservers ? 0 : resolv_servers(d, cfg->resolv_conf);
	if (r) {
		domains_free(d);
		return r;
	}
	d->nch = cfg->nservers ? cfg->nservers : d->nch;
	for (unsigned i = 0; i < d->nch; i++) {
		r = chan_open(d, i, cfg->resolv_conf);
		if (r) {
			d->nch = i;
			domains_free(d);
			return r;
		}
	}
	d->rt_off = realtime_ms() - domains_now_ms();
	clock_sync(d, domains_now_ms());
	*out = d;
	return 0;
}

static void entry_free(struct domains *d, struct entry *e)
{
	job_drop(d, e);
	res_free(e->res);
	free(e);
}

void domains_free(struct domains *d)
{
	if (!d)
		return;
	d->closing = true;
	/* the callbacks, with ARES_EDESTRUCTION, free their contexts */
	for (unsigned i = 0; i < DOMAINS_SERVERS_MAX; i++)
		if (d->chans[i].ch)
			ares_destroy(d->chans[i].ch);
	if (d->lib_ok)
		ares_library_cleanup();
	for (uint32_t i = 0; i < d->nslots; i++)
		if (d->slots[i])
			entry_free(d, d->slots[i]);
	free(d->slots);
	free(d->sgen);
	free(d->freeslots);
	free(d->buckets);
	free(d->heap);
	free(d->socks);
	free(d);
}

void domains_set_listener(struct domains *d, domains_listener_fn fn, void *arg)
{
	d->listener = fn;
	d->listener_arg = arg;
}

void domains_set_mirror(struct domains *d, const struct domains_mirror_ops *ops, void *arg)
{
	d->has_mirror = ops != NULL;
	d->mirror = ops ? *ops : (struct domains_mirror_ops){ 0 };
	d->mirror_arg = arg;
	/* the entries waiting for the old mirror's answer will not get it */
	for (uint32_t i = 0; i < d->nslots; i++) {
		struct entry *e = d->slots[i];

		if (e && e->mirror_wait) {
			e->mirror_wait = false;
			e->refresh = 0;
			reschedule(d, e);
		}
	}
}

/* ---- entries ---- */

int domains_add(struct domains *d, enum domains_kind kind, const char *name)
{
	char norm[DOMAINS_NAME_MAX + 1], text[INET6_ADDRSTRLEN];
	uint8_t fam = 0, ip[16] = { 0 };
	bool literal;
	struct entry *e;
	uint32_t slot;
	size_t len;

	if ((unsigned)kind > DOMAINS_NAPTR || !name)
		return -EINVAL;
	literal = literal_parse(name, &fam, ip, text);
	if (literal)
		memcpy(norm, text, strlen(text) + 1);
	else if (name_norm(name, norm))
		return -EINVAL;
	if (find(d, kind, norm))
		return 0;
	if (d->nentries >= d->cfg.max_entries)
		return -ENOSPC;
	if (d->nentries + 1 > d->nbuckets && buckets_grow(d))
		return -ENOMEM;
	len = strlen(norm) + 1;
	e = calloc(1, sizeof(*e) + len);
	if (!e)
		return -ENOMEM;
	if (slot_take(d, &slot)) {
		free(e);
		return -ENOMEM;
	}
	memcpy(e->name, norm, len);
	e->kind = kind;
	e->slot = slot;
	e->heap = HEAP_NONE;
	e->hash = key_hash(kind, norm);
	e->status = DOMAINS_PENDING;
	e->srv_tp = kind == DOMAINS_SRV ? srv_transport(norm) : DOMAINS_TP_ANY;
	if (literal) {
		struct domains_target t = { .name = e->name };
		struct domains_addr a = { .family = fam };

		memcpy(a.ip, ip, 16);
		e->res = res_build(&t, 1, &a, 1);
		if (!e->res) {
			free(e);
			d->freeslots[d->nfree++] = slot;
			return -ENOMEM;
		}
		e->literal = true;
		e->status = DOMAINS_OK;
	}
	d->slots[slot] = e;
	e->hnext = d->buckets[e->hash & (d->nbuckets - 1)];
	d->buckets[e->hash & (d->nbuckets - 1)] = slot + 1;
	d->nentries++;
	d->st.entries = d->nentries;
	e->refresh = 0; /* due at once */
	reschedule(d, e);
	return 1;
}

int domains_remove(struct domains *d, enum domains_kind kind, const char *name)
{
	struct entry *e = lookup(d, kind, name);

	if (!e)
		return -ENOENT;
	if (d->listener) {
		struct domains_info info;

		entry_info(d, e, &info);
		d->listener(d->listener_arg, &info, DOMAINS_EV_REMOVED);
	}
	heap_remove(d, e);
	queue_unlink(d, e);
	hash_unlink(d, e);
	d->slots[e->slot] = NULL;
	d->sgen[e->slot]++; /* the answers still coming for it are dropped */
	d->freeslots[d->nfree++] = e->slot;
	d->nentries--;
	d->st.entries = d->nentries;
	entry_free(d, e);
	return 0;
}

static void mark_now(struct domains *d, struct entry *e)
{
	if (e->literal)
		return;
	job_drop(d, e); /* its answers are dropped (jgen) */
	queue_unlink(d, e);
	e->mirror_wait = false;
	e->forced = true;
	e->refresh = 0;
	reschedule(d, e);
}

int domains_resolve_now(struct domains *d, enum domains_kind kind, const char *name)
{
	int n = 0;

	if (name) {
		struct entry *e = lookup(d, kind, name);

		if (!e)
			return -ENOENT;
		mark_now(d, e);
		return 1;
	}
	for (uint32_t i = 0; i < d->nslots; i++) {
		if (d->slots[i]) {
			mark_now(d, d->slots[i]);
			n++;
		}
	}
	return n;
}

void domains_stats(const struct domains *d, struct domains_stats *st)
{
	*st = d->st;
	st->sockets = d->nsocks;
}

/* ---- the mirror ---- */

int domains_mirror_proceed(struct domains *d, enum domains_kind kind, const char *name)
{
	struct entry *e = lookup(d, kind, name);

	if (!e || e->literal)
		return -ENOENT;
	if (e->job || e->queued)
		return -EBUSY;
	e->mirror_wait = false;
	d->now = domains_now_ms();
	refresh_start(d, e);
	return 0;
}

int domains_mirror_retry(struct domains *d, enum domains_kind kind, const char *name,
			 uint32_t delay_ms, int64_t now_ms)
{
	struct entry *e = lookup(d, kind, name);

	if (!e || e->literal)
		return -ENOENT;
	if (e->job || e->queued)
		return -EBUSY;
	e->mirror_wait = false;
	e->refresh = now_ms + delay_ms;
	reschedule(d, e);
	return 0;
}

/* src's addresses point at its targets, each target's count adds up. */
static bool import_valid(const struct domains_info *s)
{
	unsigned sum = 0;

	if (s->ntargets > DOMAINS_TARGETS_MAX || s->naddrs > DOMAINS_ADDRS_MAX ||
	    (s->ntargets && !s->targets) || (s->naddrs && !s->addrs) ||
	    (unsigned)s->status > DOMAINS_STALE ||
	    ((s->status == DOMAINS_OK || s->status == DOMAINS_STALE) &&
	     (!s->naddrs || s->expires_ms <= 0)) ||
	    s->resolved_ms <= 0)
		return false;
	for (unsigned i = 0; i < s->ntargets; i++) {
		char norm[DOMAINS_NAME_MAX + 1];

		if (!s->targets[i].name || name_norm(s->targets[i].name, norm) ||
		    s->targets[i].transport > DOMAINS_TP_TLS)
			return false;
		sum += s->targets[i].naddrs;
	}
	if (sum != s->naddrs)
		return false;
	for (unsigned i = 0; i < s->naddrs; i++)
		if ((s->addrs[i].family != AF_INET && s->addrs[i].family != AF_INET6) ||
		    s->addrs[i].target >= s->ntargets)
			return false;
	return true;
}

int domains_mirror_import(struct domains *d, const struct domains_info *src, int64_t now_ms)
{
	struct entry *e = lookup(d, src->kind, src->name);
	struct domains_target tg[DOMAINS_TARGETS_MAX];
	struct result *res = NULL, *old;
	enum domains_status old_status;
	int64_t next;
	bool changed;

	if (!e)
		return -ENOENT;
	if (e->literal)
		return -EALREADY;
	if (!import_valid(src))
		return -EINVAL;
	clock_sync(d, now_ms);
	if (e->job)
		return -EBUSY;
	next = to_mono(d, src->next_refresh_ms);
	if (next <= now_ms)
		next = now_ms + 250; /* due already: soon, through the mirror again */
	next += (int64_t)(rng_next(d) % (uint64_t)(src->ttl * 50 + 1)); /* up to 5% of the TTL */
	if (to_mono(d, src->resolved_ms) < e->resolved) {
		/* ours is newer: keep it, ask again when the mirror's is due */
		e->mirror_wait = false;
		e->refresh = next;
		reschedule(d, e);
		return -EALREADY;
	}
	old = e->res;
	old_status = e->status;
	e->mirror_wait = false;
	e->refresh = next;
	e->checked = src->checked_ms ? to_mono(d, src->checked_ms) : to_mono(d, src->resolved_ms);
	snprintf(e->error, sizeof(e->error), "%s", src->error ? src->error : "");
	snprintf(e->node, sizeof(e->node), "%s", src->node ? src->node : "");
	d->st.imports++;
	if (!src->naddrs && src->status != DOMAINS_NXDOMAIN && e->res && now_ms < e->stale_until) {
		/*
		 * The other node's resolution failed and it has nothing to serve:
		 * ours stay served within their grace, as after a failure of our own.
		 */
		e->fail = src->status == DOMAINS_PENDING ? DOMAINS_TIMEOUT : src->status;
		e->status = now_ms < e->expires ? DOMAINS_OK : DOMAINS_STALE;
	} else {
		if (src->naddrs) {
			for (unsigned i = 0; i < src->ntargets; i++)
				tg[i] = src->targets[i];
			res = res_build(tg, src->ntargets, src->addrs, src->naddrs);
			if (!res)
				return -ENOMEM;
		}
		e->res = res;
		e->status = src->status == DOMAINS_PENDING ? DOMAINS_TIMEOUT : src->status;
		e->fail = src->status == DOMAINS_STALE ? (src->fail ? src->fail : DOMAINS_TIMEOUT)
						       : 0;
		e->ttl = src->ttl;
		e->resolved = to_mono(d, src->resolved_ms);
		e->expires = to_mono(d, src->expires_ms);
		e->stale_until = res ? to_mono(d, src->stale_until_ms) : 0;
		if (res && !e->stale_until)
			e->stale_until = e->expires;
		if (!res && (e->status == DOMAINS_OK || e->status == DOMAINS_STALE))
			e->status = DOMAINS_TIMEOUT;
	}
	/* let the times speak: past its TTL it is stale, past its grace it is gone */
	if (e->status == DOMAINS_STALE && now_ms < e->expires)
		e->status = DOMAINS_OK;
	evolve(e, now_ms);
	changed = e->status != old_status || !res_equal(old, e->res);
	if (old != e->res)
		res_free(old);
	reschedule(d, e);
	if (changed)
		notify(d, e);
	return 0;
}

/* ---- picking ---- */

void domains_cursor_init(struct domains_cursor *c, enum domains_transport tp, int family)
{
	memset(c, 0, sizeof(*c));
	c->transport = (uint8_t)tp;
	c->family = (uint8_t)family;
	c->last_target = -1;
}

static bool tried(const struct domains_cursor *c, const struct domains_addr *a)
{
	for (unsigned i = 0; i < c->ntried; i++)
		if (c->tried[i].family == a->family && c->tried[i].port == a->port &&
		    !memcmp(c->tried[i].ip, a->ip, a->family == AF_INET ? 4 : 16))
			return true;
	return false;
}

static bool usable(const struct domains_cursor *c, const struct domains_target *t,
		   const struct domains_addr *a)
{
	if (c->family && c->family != a->family)
		return false;
	if (c->transport && t->transport && c->transport != t->transport)
		return false;
	return !tried(c, a);
}

static bool rank_less(const struct domains_target *a, const struct domains_target *b)
{
	if (a->order != b->order)
		return a->order < b->order;
	if (a->preference != b->preference)
		return a->preference < b->preference;
	return a->priority < b->priority;
}

static bool rank_eq(const struct domains_target *a, const struct domains_target *b)
{
	return a->order == b->order && a->preference == b->preference && a->priority == b->priority;
}

socklen_t domains_addr_sockaddr(const struct domains_addr *a, struct sockaddr_storage *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->ip, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	memcpy(&s4->sin_addr, a->ip, 4);
	return sizeof(*s4);
}

int domains_select(const struct domains_info *e, struct domains_cursor *c, uint64_t rnd,
		   uint64_t seq, struct domains_pick *out)
{
	unsigned first[DOMAINS_TARGETS_MAX], cand[DOMAINS_TARGETS_MAX], nt = e->ntargets, off = 0;
	unsigned group[DOMAINS_TARGETS_MAX], ng = 0, k;
	int chosen = -1, best = -1;
	const struct domains_addr *a;

	if (!e->naddrs)
		return e->status == DOMAINS_PENDING ? -EAGAIN : -EHOSTUNREACH;
	if (nt > DOMAINS_TARGETS_MAX)
		nt = DOMAINS_TARGETS_MAX;
	for (unsigned t = 0; t < nt; t++) {
		first[t] = off;
		cand[t] = 0;
		for (unsigned i = 0; i < e->targets[t].naddrs && off + i < e->naddrs; i++)
			cand[t] += usable(c, &e->targets[t], &e->addrs[off + i]);
		off += e->targets[t].naddrs;
		if (off > e->naddrs)
			off = e->naddrs; /* a broken copy: never read past the addresses */
	}
	/* RFC 3263 §4.3: the next address of the same target first */
	if (c->last_target >= 0 && (unsigned)c->last_target < nt && cand[c->last_target])
		chosen = c->last_target;
	if (chosen < 0) {
		uint64_t total = 0, sum = 0, r;

		for (unsigned t = 0; t < nt; t++)
			if (cand[t] && (best < 0 || rank_less(&e->targets[t], &e->targets[best])))
				best = (int)t;
		if (best < 0)
			return -EHOSTUNREACH;
		/* RFC 2782: the weight-0 targets first, then a running sum */
		for (int pass = 0; pass < 2; pass++)
			for (unsigned t = 0; t < nt; t++)
				if (cand[t] && rank_eq(&e->targets[t], &e->targets[best]) &&
				    (e->targets[t].weight == 0) == (pass == 0)) {
					group[ng++] = t;
					total += e->targets[t].weight;
				}
		if (!total) {
			chosen = (int)group[rnd % ng];
		} else {
			r = rnd % (total + 1);
			for (unsigned g = 0; g < ng && chosen < 0; g++) {
				sum += e->targets[group[g]].weight;
				if (sum >= r)
					chosen = (int)group[g];
			}
		}
	}
	/* round robin over the chosen target's usable addresses */
	k = (unsigned)(seq % cand[chosen]);
	a = NULL;
	for (unsigned i = 0; i < e->targets[chosen].naddrs && first[chosen] + i < e->naddrs; i++) {
		const struct domains_addr *x = &e->addrs[first[chosen] + i];

		if (usable(c, &e->targets[chosen], x) && !k--) {
			a = x;
			break;
		}
	}
	if (!a)
		return -EHOSTUNREACH;
	if (c->ntried < DOMAINS_CURSOR_MAX) {
		c->tried[c->ntried].family = a->family;
		c->tried[c->ntried].port = a->port;
		memcpy(c->tried[c->ntried].ip, a->ip, 16);
		c->ntried++;
	}
	c->last_target = (int16_t)chosen;
	out->salen = domains_addr_sockaddr(a, &out->sa);
	out->port = a->port;
	out->transport = e->targets[chosen].transport;
	out->target = (uint8_t)chosen;
	return 0;
}

int domains_pick(struct domains *d, enum domains_kind kind, const char *name,
		 struct domains_cursor *c, struct domains_pick *out)
{
	struct entry *e = lookup(d, kind, name);
	struct domains_info info = { 0 };

	if (!e)
		return -ENOENT;
	info.status = e->status;
	if (e->res) {
		info.targets = e->res->targets;
		info.addrs = e->res->addrs;
		info.ntargets = e->res->ntargets;
		info.naddrs = e->res->naddrs;
	}
	return domains_select(&info, c, rng_next(d), e->rr++, out);
}
