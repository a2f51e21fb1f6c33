/* SPDX-License-Identifier: MIT */
/*
 * txn.c: the RFC 3261 §17 transaction layer (see txn.h, docs/transactions.md).
 *
 * A transaction is a slab slot. Its matching key and the message it
 * retransmits share one allocation:
 *
 *   mem ─► [ key parts (branch, sent-by host, method, or the RFC 2543 parts) | message ]
 *          0                                                                keylen   +msg_len
 *
 * The key is found through a chained hash table (heads in tab->buckets, links
 * through txn.next); a free slot is on the free list through the same link.
 * An RFC 3261 key hashes its branch; an RFC 2543 key hashes Call-ID, From tag
 * and CSeq number, which the INVITE, its ACK and its CANCEL share.
 *
 * Two timers per transaction: `retx` (A, E, G) and `life` (B, D, F, H, I, J,
 * K, M). Their arg is the generation the slot had when they were armed; a slot
 * freed bumps its generation, so a timer that outlived its transaction (none
 * should: freeing deletes both) is recognised and dropped.
 */
#include "core/txn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/uio.h>

#include "parsers/sip_build.h"
#include "parsers/sip_hdr.h"
#include "parsers/sip_msg.h"

#define TXN_NONE   UINT32_MAX
#define TXN_COOKIE "z9hG4bK"
#define TXN_OURS   "z9hG4bKsr"

/* Key parts, views into mem[0..keylen). */
enum {
	K_METHOD = 0, /* the method token (CSeq's for a client) */
	K_BRANCH,     /* RFC 3261 */
	K_HOST,	      /* RFC 3261 server: sent-by host */
	K_RURI,	      /* RFC 2543: Request-URI */
	K_FTAG,	      /* From tag */
	K_TTAG,	      /* To tag of the request */
	K_CALLID,
	K_VIA, /* the top via-parm as written */
	K__COUNT
};

#define F_USED	   0x01
#define F_SERVER   0x02
#define F_INVITE   0x04
#define F_RELIABLE 0x08
#define F_2543	   0x10

struct txn_part {
	uint16_t off, len;
};

struct txn {
	struct timer retx; /* A, E, G */
	struct timer life; /* B, D, F, H, I, J, K, M */
	struct txn_table *tab;
	char *mem; /* key parts, then the message */
	void *user;
	uint64_t cancel_of; /* CANCEL server transaction: txn_id() of the INVITE */
	uint32_t msg_len;
	uint32_t hash;
	uint32_t next; /* hash chain, or free list */
	uint32_t gen;
	uint32_t retx_ms; /* the current retransmission interval */
	uint32_t cseq;	  /* RFC 2543 key */
	uint16_t keylen;
	uint16_t port; /* RFC 3261 server: sent-by port (0: absent) */
	struct txn_part k[K__COUNT];
	struct txn_part rtag; /* RFC 2543 INVITE server: To tag of the final response, in msg */
	uint16_t status;
	uint8_t state;
	uint8_t method; /* enum sip_method */
	uint8_t flags;
	struct txn_dest dest;
};

/* A key being looked up or stored: views into a received message. */
struct txn_key {
	struct sv part[K__COUNT];
	uint32_t cseq;
	uint16_t port;
	bool rfc2543;
	uint32_t hash;
};

/* ---- helpers ---- */

static uint32_t hash_sv(uint32_t h, struct sv s)
{
	/* FNV-1a, seeded per table so that peers cannot aim at one chain. */
	for (size_t i = 0; i < s.len; i++)
		h = (h ^ (uint8_t)s.p[i]) * 16777619u;
	return h;
}

static uint32_t key_hash(const struct txn_table *tab, const struct txn_key *k)
{
	uint32_t h = tab->seed ^ 2166136261u;

	if (!k->rfc2543)
		return hash_sv(h, k->part[K_BRANCH]);
	h = hash_sv(h, k->part[K_CALLID]);
	h = hash_sv(h, k->part[K_FTAG]);
	return (h ^ k->cseq) * 16777619u;
}

static struct sv part(const struct txn *t, unsigned i)
{
	return sv_make(t->mem + t->k[i].off, t->k[i].len);
}

static const char *msg(const struct txn *t)
{
	return t->mem + t->keylen;
}

static uint32_t slot_of(const struct txn_table *tab, const struct txn *t)
{
	return (uint32_t)(t - tab->slab);
}

static bool is_2xx(uint16_t s)
{
	return s >= 200 && s < 300;
}

/* The top via-parm of m, parsed, and its text. */
static int top_via(const struct sip_msg *m, struct sip_via *v, struct sv *text)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_VIA);
	struct sv rest;

	if (!h)
		return -EBADMSG;
	rest = h->value;
	if (sip_via_next(&rest, v, NULL) != 1)
		return -EBADMSG;
	if (text) {
		struct sv s = sv_range(h->value.p, rest.p);
		while (s.len && (sv_is_ws(s.p[s.len - 1]) || s.p[s.len - 1] == ','))
			s.len--;
		*text = s;
	}
	return 0;
}

/* A branch with the magic cookie and something after it (RFC 4475 badbranch:
 * a bare cookie is no branch). */
static bool rfc3261_branch(struct sv b)
{
	return b.len > sizeof(TXN_COOKIE) - 1 &&
	       memcmp(b.p, TXN_COOKIE, sizeof(TXN_COOKIE) - 1) == 0;
}

static int addr_tag(const struct sip_msg *m, enum sip_hdr_id id, struct sv *tag)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);
	struct sip_addr a;

	if (!h || sip_addr_parse(h->value, &a, NULL) < 0)
		return -EBADMSG;
	*tag = a.tag;
	return 0;
}

/* The key of a received request (server side). */
static int key_of_request(const struct txn_table *tab, const struct sip_msg *m, struct txn_key *k)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CSEQ);
	struct sip_cseq cs;
	struct sip_via v;
	struct sv via;
	int ret;

	memset(k, 0, sizeof(*k));
	if (!h || sip_cseq_parse(h->value, &cs, NULL) < 0)
		return -EBADMSG;
	ret = top_via(m, &v, &via);
	if (ret < 0)
		return ret;
	k->part[K_METHOD] = m->method_name;
	if (rfc3261_branch(v.branch)) {
		k->part[K_BRANCH] = v.branch;
		k->part[K_HOST] = v.host;
		k->port = v.port;
	} else {
		const struct sip_hdr *ci = sip_msg_hdr(m, SIP_HDR_CALL_ID);

		if (!ci || addr_tag(m, SIP_HDR_FROM, &k->part[K_FTAG]) < 0 ||
		    addr_tag(m, SIP_HDR_TO, &k->part[K_TTAG]) < 0)
			return -EBADMSG;
		k->rfc2543 = true;
		k->part[K_RURI] = m->ruri;
		k->part[K_CALLID] = ci->value;
		k->part[K_VIA] = via;
		k->cseq = cs.seq;
	}
	k->hash = key_hash(tab, k);
	return 0;
}

/*
 * Whether t matches key k for a message of this method on this side. An ACK
 * (ack) looks for the INVITE; under RFC 2543 its To tag is the one of the
 * response the transaction sent (§17.2.3).
 */
static bool key_match(const struct txn *t, const struct txn_key *k, bool server, uint8_t method,
		      struct sv method_name, bool ack)
{
	if (t->hash != k->hash || !(t->flags & F_SERVER) != !server)
		return false;
	if (!(t->flags & F_2543) != !k->rfc2543 || t->method != method)
		return false;
	if (method == SIP_METHOD_OTHER && !sv_eq(part(t, K_METHOD), method_name))
		return false;
	if (!k->rfc2543) {
		if (!sv_eq(part(t, K_BRANCH), k->part[K_BRANCH]))
			return false;
		return !server ||
		       (t->port == k->port && sv_caseeq(part(t, K_HOST), k->part[K_HOST]));
	}
	if (t->cseq != k->cseq)
		return false;
	static const unsigned same[] = { K_RURI, K_FTAG, K_CALLID, K_VIA };
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (!sv_eq(part(t, same[i]), k->part[same[i]]))
			return false;
	if (ack)
		return sv_eq(sv_make(msg(t) + t->rtag.off, t->rtag.len), k->part[K_TTAG]);
	return sv_eq(part(t, K_TTAG), k->part[K_TTAG]);
}

static struct txn *find(struct txn_table *tab, const struct txn_key *k, bool server, uint8_t method,
			struct sv method_name, bool ack)
{
	for (uint32_t i = tab->buckets[k->hash & tab->mask]; i != TXN_NONE; i = tab->slab[i].next)
		if (key_match(&tab->slab[i], k, server, method, method_name, ack))
			return &tab->slab[i];
	return NULL;
}

/* ---- life cycle ---- */

static void on_retx(struct timer *tm, void *arg);
static void on_life(struct timer *tm, void *arg);

static void unlink_hash(struct txn_table *tab, struct txn *t)
{
	uint32_t *p = &tab->buckets[t->hash & tab->mask], i = slot_of(tab, t);

	while (*p != TXN_NONE && *p != i)
		p = &tab->slab[*p].next;
	if (*p == i)
		*p = t->next;
}

/* Free t without any callback. */
static void release(struct txn_table *tab, struct txn *t)
{
	timer_del(tab->wheel, &t->retx);
	timer_del(tab->wheel, &t->life);
	unlink_hash(tab, t);
	free(t->mem);
	t->mem = NULL;
	t->flags = 0;
	t->state = 0;
	t->gen++;
	if (t->gen == 0)
		t->gen = 1;
	t->next = tab->free_head;
	tab->free_head = slot_of(tab, t);
	tab->stats.active--;
}

/* The transaction ends: the TU is told, then t is freed. */
static void finish(struct txn_table *tab, struct txn *t)
{
	timer_del(tab->wheel, &t->retx);
	timer_del(tab->wheel, &t->life);
	tab->ops.terminated(tab->arg, t);
	release(tab, t);
}

static void transport_fail(struct txn_table *tab, struct txn *t)
{
	tab->stats.transport_errors++;
	timer_del(tab->wheel, &t->retx);
	timer_del(tab->wheel, &t->life);
	tab->ops.transport_error(tab->arg, t);
	finish(tab, t);
}

/* Send the kept message again; false when t ended on a transport error. */
static bool resend(struct txn_table *tab, struct txn *t)
{
	if (!t->msg_len)
		return true;
	tab->stats.retransmissions++;
	if (tab->ops.send(tab->arg, t, &t->dest, msg(t), t->msg_len) < 0) {
		transport_fail(tab, t);
		return false;
	}
	return true;
}

static void arm(struct txn_table *tab, struct timer *tm, uint32_t ms)
{
	timer_add(tab->wheel, tm, timer_wheel_now(tab->wheel) + ms);
}

/* Take a free slot and give it key k (copied) and room for a message of len. */
static int create(struct txn_table *tab, const struct txn_key *k, uint8_t method, unsigned flags,
		  const struct txn_dest *dest, size_t len, struct txn **out)
{
	size_t keylen = 0;
	struct txn *t;

	for (unsigned i = 0; i < K__COUNT; i++)
		keylen += k->part[i].len;
	if (keylen > UINT16_MAX || len > UINT32_MAX)
		return -EMSGSIZE;
	if (tab->free_head == TXN_NONE) {
		/* Slots never used yet are taken in order, so that a large table
		 * costs memory only as far as it has been used. */
		if (tab->fresh == tab->cap) {
			tab->stats.full++;
			return -ENOBUFS;
		}
		t = &tab->slab[tab->fresh];
		t->gen = 1;
		t->tab = tab;
		t->next = TXN_NONE;
		t->mem = malloc(keylen + len ? keylen + len : 1);
		if (!t->mem)
			return -ENOMEM;
		tab->fresh++;
	} else {
		t = &tab->slab[tab->free_head];
		t->mem = malloc(keylen + len ? keylen + len : 1);
		if (!t->mem)
			return -ENOMEM;
		tab->free_head = t->next;
	}

	uint16_t off = 0;
	for (unsigned i = 0; i < K__COUNT; i++) {
		t->k[i] = (struct txn_part){ off, (uint16_t)k->part[i].len };
		if (k->part[i].len)
			memcpy(t->mem + off, k->part[i].p, k->part[i].len);
		off = (uint16_t)(off + k->part[i].len);
	}
	t->keylen = off;
	t->msg_len = 0;
	t->hash = k->hash;
	t->cseq = k->cseq;
	t->port = k->port;
	t->rtag = (struct txn_part){ 0, 0 };
	t->status = 0;
	t->method = method;
	t->flags = (uint8_t)(flags | F_USED | (k->rfc2543 ? F_2543 : 0));
	t->retx_ms = tab->tm.t1;
	t->cancel_of = 0;
	t->user = NULL;
	t->tab = tab;
	t->dest = dest ? *dest : (struct txn_dest){ 0 };
	timer_init(&t->retx, on_retx, (void *)(uintptr_t)t->gen);
	timer_init(&t->life, on_life, (void *)(uintptr_t)t->gen);

	uint32_t *head = &tab->buckets[t->hash & tab->mask];
	t->next = *head;
	*head = slot_of(tab, t);
	tab->stats.active++;
	tab->stats.created++;
	*out = t;
	return 0;
}

/* Replace the kept message by buf[0..len) or, when b, by what b built. */
static int keep(struct txn *t, const struct sip_build *b, const char *buf, size_t len)
{
	char *mem;

	if (b)
		len = sip_build_len(b);
	if (len > UINT32_MAX)
		return -EMSGSIZE;
	mem = malloc(t->keylen + len);
	if (!mem)
		return -ENOMEM;
	memcpy(mem, t->mem, t->keylen);
	if (b) {
		ssize_t n = sip_build_flatten(b, mem + t->keylen, len);
		if (n < 0) {
			free(mem);
			return (int)n;
		}
	} else {
		memcpy(mem + t->keylen, buf, len);
	}
	free(t->mem);
	t->mem = mem;
	t->msg_len = (uint32_t)len;
	return 0;
}

/* ---- timers ---- */

static struct txn *timer_txn(struct timer *tm, void *arg, size_t off)
{
	struct txn *t = (struct txn *)(void *)((char *)tm - off);

	if (!(t->flags & F_USED) || t->gen != (uint32_t)(uintptr_t)arg) {
		t->tab->stats.stale_timers++;
		return NULL;
	}
	return t;
}

/* A, E, G: retransmit and re-arm. */
static void on_retx(struct timer *tm, void *arg)
{
	struct txn *t = timer_txn(tm, arg, offsetof(struct txn, retx));
	struct txn_table *tab;
	uint32_t next;

	if (!t)
		return;
	tab = t->tab;
	if (t->flags & F_SERVER) {
		if (!(t->flags & F_INVITE) || t->state != TXN_COMPLETED)
			return;
		next = t->retx_ms * 2 < tab->tm.t2 ? t->retx_ms * 2 : tab->tm.t2; /* G */
	} else if (t->flags & F_INVITE) {
		if (t->state != TXN_CALLING)
			return;
		next = t->retx_ms * 2; /* A: until B */
	} else {
		if (t->state == TXN_TRYING)
			next = t->retx_ms * 2 < tab->tm.t2 ? t->retx_ms * 2 : tab->tm.t2; /* E */
		else if (t->state == TXN_PROCEEDING)
			next = tab->tm.t2;
		else
			return;
	}
	if (!resend(tab, t))
		return;
	t->retx_ms = next;
	arm(tab, &t->retx, next);
}

/* B, F, H: time out; D, I, J, K, M: the lingering is over. */
static void on_life(struct timer *tm, void *arg)
{
	struct txn *t = timer_txn(tm, arg, offsetof(struct txn, life));
	struct txn_table *tab;
	bool server, timeout;

	if (!t)
		return;
	tab = t->tab;
	server = t->flags & F_SERVER;
	if (t->flags & F_INVITE)
		timeout = server ? t->state == TXN_COMPLETED : t->state == TXN_CALLING;
	else
		timeout = !server && (t->state == TXN_TRYING || t->state == TXN_PROCEEDING);
	if (timeout) {
		tab->stats.timeouts++;
		timer_del(tab->wheel, &t->retx);
		tab->ops.timeout(tab->arg, t);
	}
	finish(tab, t);
}

/* ---- the table ---- */

int txn_table_init(struct txn_table *tab, uint32_t cap, const struct txn_timers *timers,
		   const struct txn_ops *ops, void *arg, struct timer_wheel *wheel)
{
	uint32_t nb = 1;

	memset(tab, 0, sizeof(*tab));
	if (cap == 0 || cap > (1u << 31) || !timers || !ops || !wheel)
		return -EINVAL;
	if (!timers->t1 || !timers->t2 || !timers->t4 || !timers->timer_b || !timers->timer_f)
		return -EINVAL;
	if (!ops->send || !ops->deliver_request || !ops->deliver_response || !ops->timeout ||
	    !ops->transport_error || !ops->terminated)
		return -EINVAL;
	while (nb < cap)
		nb <<= 1;
	tab->slab = calloc(cap, sizeof(*tab->slab));
	tab->buckets = malloc((size_t)nb * sizeof(*tab->buckets));
	if (!tab->slab || !tab->buckets) {
		free(tab->slab);
		free(tab->buckets);
		memset(tab, 0, sizeof(*tab));
		return -ENOMEM;
	}
	memset(tab->buckets, 0xff, (size_t)nb * sizeof(*tab->buckets));
	tab->mask = nb - 1;
	tab->cap = cap;
	tab->free_head = TXN_NONE; /* then slots from `fresh` on */
	tab->fresh = 0;
	if (getrandom(&tab->seed, sizeof(tab->seed), GRND_NONBLOCK) != sizeof(tab->seed))
		tab->seed = (uint32_t)(uintptr_t)tab;
	tab->tm = *timers;
	tab->ops = *ops;
	tab->arg = arg;
	tab->wheel = wheel;
	return 0;
}

void txn_table_end_all(struct txn_table *tab)
{
	for (uint32_t i = 0; tab->slab && i < tab->fresh; i++)
		if (tab->slab[i].flags & F_USED)
			finish(tab, &tab->slab[i]);
}

void txn_table_fini(struct txn_table *tab)
{
	if (!tab->slab)
		return;
	for (uint32_t i = 0; i < tab->fresh; i++)
		if (tab->slab[i].flags & F_USED)
			release(tab, &tab->slab[i]);
	free(tab->slab);
	free(tab->buckets);
	memset(tab, 0, sizeof(*tab));
}

/* ---- server transactions ---- */

/*
 * §17.2.1: an INVITE gets 100 Trying at once, kept for retransmitted INVITEs.
 * A failure here (no room, a send error) is not the transaction's end: the
 * TU's own response will meet it.
 */
static void trying_100(struct txn_table *tab, struct txn *t, const struct sip_msg *m)
{
	struct iovec iov[32];
	char scratch[256];
	struct sip_build b;

	sip_build_init(&b, iov, 32, scratch, sizeof(scratch));
	if (sip_build_response(&b, m, &(struct sip_reply){ .status = 100 }) < 0 ||
	    keep(t, &b, NULL, 0) < 0)
		return;
	t->status = 100;
	if (tab->ops.send(tab->arg, t, &t->dest, msg(t), t->msg_len) < 0)
		tab->stats.transport_errors++;
}

int txn_server_input(struct txn_table *tab, const struct sip_msg *m, const struct txn_dest *dest,
		     bool reliable)
{
	struct txn_key k;
	struct txn *t, *inv = NULL;
	unsigned flags;
	int ret;

	if (m->type != SIP_MSG_REQUEST)
		return -EINVAL;
	ret = key_of_request(tab, m, &k);
	if (ret < 0)
		return ret;

	if (m->method == SIP_METHOD_ACK) {
		t = find(tab, &k, true, SIP_METHOD_INVITE, SV_NULL, true);
		if (!t || is_2xx(t->status))
			return TXN_ACK_2XX;
		tab->stats.absorbed++;
		if (t->state == TXN_COMPLETED) {
			timer_del(tab->wheel, &t->retx);
			t->state = TXN_CONFIRMED;
			arm(tab, &t->life, (t->flags & F_RELIABLE) ? 0 : tab->tm.t4); /* I */
		}
		return TXN_ABSORBED;
	}

	t = find(tab, &k, true, m->method, m->method_name, false);
	if (t) {
		tab->stats.absorbed++;
		if (t->state == TXN_PROCEEDING || t->state == TXN_COMPLETED)
			resend(tab, t);
		return TXN_ABSORBED;
	}

	if (m->method == SIP_METHOD_CANCEL)
		inv = find(tab, &k, true, SIP_METHOD_INVITE, SV_NULL, false);
	flags = F_SERVER | (reliable ? F_RELIABLE : 0);
	if (m->method == SIP_METHOD_INVITE)
		flags |= F_INVITE;
	ret = create(tab, &k, m->method, flags, dest, 0, &t);
	if (ret < 0)
		return ret;
	if (inv)
		t->cancel_of = txn_id(inv);
	if (flags & F_INVITE) {
		t->state = TXN_PROCEEDING;
		trying_100(tab, t, m);
	} else {
		t->state = TXN_TRYING;
	}
	tab->ops.deliver_request(tab->arg, t, m);
	return inv ? TXN_CANCEL : TXN_NEW;
}

/* "SIP/2.0 NNN": the status, or 0. */
static uint16_t status_of(const char *buf, size_t len)
{
	if (len < 12 || memcmp(buf, "SIP/2.0 ", 8) != 0)
		return 0;
	unsigned s = 0;
	for (size_t i = 8; i < 11; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return 0;
		s = s * 10 + (unsigned)(buf[i] - '0');
	}
	return s >= 100 && s <= 699 && buf[11] == ' ' ? (uint16_t)s : 0;
}

/* RFC 2543 INVITE: remember where the final response's To tag is, for the ACK. */
static void note_rtag(struct txn *t)
{
	struct sip_hdr hdrs[128];
	struct sip_msg r;
	struct sv tag;

	sip_msg_init(&r, hdrs, 128);
	if (sip_msg_parse(&r, msg(t), t->msg_len, 0, NULL) < 0 ||
	    addr_tag(&r, SIP_HDR_TO, &tag) < 0 || tag.len > UINT16_MAX)
		return;
	t->rtag = (struct txn_part){ (uint16_t)(tag.p - msg(t)), (uint16_t)tag.len };
}

int txn_server_respond(struct txn_table *tab, struct txn *t, const char *buf, size_t len)
{
	uint16_t status = status_of(buf, len);
	bool invite = t->flags & F_INVITE;
	int ret;

	if (!status || !(t->flags & F_SERVER) ||
	    (t->state != TXN_TRYING && t->state != TXN_PROCEEDING))
		return -EINVAL;
	t->status = status;
	if (invite && is_2xx(status)) {
		/* The 2xx is the TU's to retransmit (§13.3.1.4); the transaction ends. */
		ret = tab->ops.send(tab->arg, t, &t->dest, buf, len);
		if (ret < 0) {
			transport_fail(tab, t);
			return ret;
		}
		finish(tab, t);
		return 0;
	}
	ret = keep(t, NULL, buf, len);
	if (ret < 0)
		return ret;
	ret = tab->ops.send(tab->arg, t, &t->dest, msg(t), t->msg_len);
	if (ret < 0) {
		transport_fail(tab, t);
		return ret;
	}
	if (status < 200) {
		t->state = TXN_PROCEEDING;
		return 0;
	}
	t->state = TXN_COMPLETED;
	if (invite) {
		if (t->flags & F_2543)
			note_rtag(t);
		if (!(t->flags & F_RELIABLE)) {
			t->retx_ms = tab->tm.t1;
			arm(tab, &t->retx, t->retx_ms); /* G */
		}
		arm(tab, &t->life, 64 * tab->tm.t1); /* H */
	} else {
		arm(tab, &t->life, (t->flags & F_RELIABLE) ? 0 : 64 * tab->tm.t1); /* J */
	}
	return 0;
}

struct txn *txn_cancel_target(struct txn_table *tab, const struct txn *t)
{
	return t->cancel_of ? txn_get(tab, t->cancel_of) : NULL;
}

/* ---- client transactions ---- */

int txn_client_start(struct txn_table *tab, const char *req, size_t len, enum sip_method method,
		     struct sv branch, const struct txn_dest *dest, bool reliable, struct txn **out)
{
	struct txn_key k = { 0 };
	const char *sp;
	struct txn *t;
	unsigned flags;
	int ret;

	if (!len || !branch.len || method == SIP_METHOD_ACK)
		return -EINVAL;
	sp = memchr(req, ' ', len);
	if (!sp)
		return -EINVAL;
	k.part[K_METHOD] = sv_range(req, sp);
	k.part[K_BRANCH] = branch;
	k.hash = key_hash(tab, &k);
	if (find(tab, &k, false, (uint8_t)method, k.part[K_METHOD], false))
		return -EEXIST;
	flags = (reliable ? F_RELIABLE : 0) | (method == SIP_METHOD_INVITE ? F_INVITE : 0);
	ret = create(tab, &k, (uint8_t)method, flags, dest, len, &t);
	if (ret < 0)
		return ret;
	memcpy(t->mem + t->keylen, req, len);
	t->msg_len = (uint32_t)len;
	t->state = (flags & F_INVITE) ? TXN_CALLING : TXN_TRYING;
	ret = tab->ops.send(tab->arg, t, &t->dest, msg(t), t->msg_len);
	if (ret < 0) {
		release(tab, t);
		return ret;
	}
	if (!reliable)
		arm(tab, &t->retx, tab->tm.t1); /* A, E */
	arm(tab, &t->life, (flags & F_INVITE) ? tab->tm.timer_b : tab->tm.timer_f);
	if (out)
		*out = t;
	return 0;
}

/*
 * §17.1.1.3: the ACK for a 300-699, built from the kept INVITE (Request-URI,
 * top Via, Route, From, Call-ID, CSeq number) and the response's To. It
 * replaces the INVITE as the kept message, and is sent.
 */
static int ack_build(struct txn_table *tab, struct txn *t, const struct sip_msg *resp)
{
	struct sip_hdr hdrs[128];
	struct iovec iov[64];
	char scratch[128];
	struct sip_build b;
	struct sip_msg inv;
	struct sip_cseq cs;
	struct sv via;
	struct sip_via v;
	const struct sip_hdr *h, *to = sip_msg_hdr(resp, SIP_HDR_TO);
	int ret;

	sip_msg_init(&inv, hdrs, 128);
	if (sip_msg_parse(&inv, msg(t), t->msg_len, 0, NULL) < 0 || !to)
		return -EBADMSG;
	h = sip_msg_hdr(&inv, SIP_HDR_CSEQ);
	if (!h || sip_cseq_parse(h->value, &cs, NULL) < 0 || top_via(&inv, &v, &via) < 0)
		return -EBADMSG;
	sip_build_init(&b, iov, 64, scratch, sizeof(scratch));
	sip_build_lit(&b, "ACK ");
	sip_build_sv(&b, inv.ruri);
	sip_build_lit(&b, " SIP/2.0\r\n");
	sip_build_hdr(&b, SV_LIT("Via"), via);
	for (h = sip_msg_hdr(&inv, SIP_HDR_ROUTE); h; h = sip_msg_hdr_next(&inv, h))
		sip_build_sv(&b, h->line);
	if ((h = sip_msg_hdr(&inv, SIP_HDR_FROM)))
		sip_build_sv(&b, h->line);
	sip_build_sv(&b, to->line);
	if ((h = sip_msg_hdr(&inv, SIP_HDR_CALL_ID)))
		sip_build_sv(&b, h->line);
	sip_build_printf(&b, "CSeq: %u ACK\r\n", cs.seq);
	sip_build_lit(&b, "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
	if (b.err)
		return b.err;
	ret = keep(t, &b, NULL, 0);
	if (ret < 0)
		return ret;
	if (tab->ops.send(tab->arg, t, &t->dest, msg(t), t->msg_len) < 0) {
		transport_fail(tab, t);
		return -EIO;
	}
	return 0;
}

int txn_client_input(struct txn_table *tab, const struct sip_msg *resp)
{
	const struct sip_hdr *h = sip_msg_hdr(resp, SIP_HDR_CSEQ);
	struct txn_key k = { 0 };
	struct sip_cseq cs;
	struct sip_via v;
	struct txn *t;
	uint16_t s = resp->status;
	bool invite, reliable;

	if (resp->type != SIP_MSG_RESPONSE)
		return -EINVAL;
	if (!h || sip_cseq_parse(h->value, &cs, NULL) < 0 || top_via(resp, &v, NULL) < 0)
		return -EBADMSG;
	k.part[K_BRANCH] = v.branch;
	k.hash = key_hash(tab, &k);
	t = find(tab, &k, false, cs.method, cs.method_name, false);
	if (!t)
		return -ENOENT;
	invite = t->flags & F_INVITE;
	reliable = t->flags & F_RELIABLE;

	switch (t->state) {
	case TXN_CALLING:
	case TXN_TRYING:
	case TXN_PROCEEDING:
		t->status = s;
		if (s < 200) {
			if (invite) {
				timer_del(tab->wheel, &t->retx); /* A */
				timer_del(tab->wheel, &t->life); /* B */
			}
			/* non-INVITE: E keeps running; from Proceeding it re-arms at T2. */
			t->state = TXN_PROCEEDING;
			tab->ops.deliver_response(tab->arg, t, resp);
			return TXN_DELIVERED;
		}
		timer_del(tab->wheel, &t->retx);
		timer_del(tab->wheel, &t->life);
		if (invite && is_2xx(s)) {
			t->state = TXN_ACCEPTED;
			arm(tab, &t->life, 64 * tab->tm.t1); /* M (RFC 6026) */
		} else if (invite) {
			int ret = ack_build(tab, t, resp);
			if (ret == -EIO)
				return TXN_ABSORBED; /* ended on a transport error */
			t->state = TXN_COMPLETED;
			arm(tab, &t->life, reliable ? 0 : TXN_TIMER_D_MS); /* D */
			if (ret < 0)
				t->msg_len = 0; /* no ACK to resend */
		} else {
			t->state = TXN_COMPLETED;
			arm(tab, &t->life, reliable ? 0 : tab->tm.t4); /* K */
		}
		tab->ops.deliver_response(tab->arg, t, resp);
		return TXN_DELIVERED;
	case TXN_ACCEPTED:
		if (is_2xx(s)) {
			tab->ops.deliver_response(tab->arg, t, resp);
			return TXN_DELIVERED;
		}
		tab->stats.absorbed++;
		return TXN_ABSORBED;
	case TXN_COMPLETED:
		tab->stats.absorbed++;
		if (invite && s >= 300)
			resend(tab, t); /* the ACK */
		return TXN_ABSORBED;
	default:
		return -ENOENT;
	}
}

void txn_terminate(struct txn_table *tab, struct txn *t)
{
	if (t->flags & F_USED)
		finish(tab, t);
}

/* ---- branches ---- */

int txn_branch_make(unsigned worker, uint64_t counter, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, TXN_OURS "%u.%llx", worker, (unsigned long long)counter);

	return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

int txn_branch_worker(struct sv branch)
{
	size_t i = sizeof(TXN_OURS) - 1;
	unsigned w = 0;

	if (branch.len <= i || memcmp(branch.p, TXN_OURS, i) != 0)
		return -ENOENT;
	if (branch.p[i] < '0' || branch.p[i] > '9')
		return -ENOENT;
	for (; i < branch.len && branch.p[i] >= '0' && branch.p[i] <= '9'; i++) {
		w = w * 10 + (unsigned)(branch.p[i] - '0');
		if (w > 65535)
			return -ENOENT;
	}
	return i < branch.len && branch.p[i] == '.' ? (int)w : -ENOENT;
}

/* ---- accessors ---- */

uint64_t txn_id(const struct txn *t)
{
	return (uint64_t)t->gen << 32 | slot_of(t->tab, t);
}

struct txn *txn_get(struct txn_table *tab, uint64_t id)
{
	uint32_t slot = (uint32_t)id;
	struct txn *t;

	if (slot >= tab->cap)
		return NULL;
	t = &tab->slab[slot];
	return (t->flags & F_USED) && t->gen == (uint32_t)(id >> 32) ? t : NULL;
}

enum txn_state txn_state(const struct txn *t)
{
	return (enum txn_state)t->state;
}

enum sip_method txn_method(const struct txn *t)
{
	return (enum sip_method)t->method;
}

bool txn_is_server(const struct txn *t)
{
	return t->flags & F_SERVER;
}

bool txn_is_reliable(const struct txn *t)
{
	return t->flags & F_RELIABLE;
}

uint16_t txn_status(const struct txn *t)
{
	return t->status;
}

const struct txn_dest *txn_dest(const struct txn *t)
{
	return &t->dest;
}

const char *txn_message(const struct txn *t, size_t *len)
{
	*len = t->msg_len;
	return t->msg_len ? msg(t) : NULL;
}

void *txn_user(const struct txn *t)
{
	return t->user;
}

void txn_set_user(struct txn *t, void *user)
{
	t->user = user;
}
