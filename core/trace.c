/* SPDX-License-Identifier: MIT */
/* trace.c: see trace.h. */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"

_Static_assert(TRACE_OFF == (int)CONF_TRACE_OFF && TRACE_ALL == (int)CONF_TRACE_ALL &&
		       TRACE_IP == (int)CONF_TRACE_IP && TRACE_CALLID == (int)CONF_TRACE_CALLID,
	       "enum trace_mode must keep the numbers of enum conf_trace_mode");

#define PCAP_HDR_LEN  24
#define PCAP_REC_LEN  16
#define PCAP_MAGIC_NS 0xa1b23c4du
#define TRACE_WAYS    4
#define TRACE_SETS    (TRACE_FLOWS / TRACE_WAYS)
#define TCP_ACK_PSH   0x18
#define IP4_DF	      0x4000
#define TRACE_TTL     64

_Static_assert(TRACE_WAYS >= 2, "flow_get() relies on two ways or more");
_Static_assert((TRACE_SETS & (TRACE_SETS - 1)) == 0, "TRACE_FLOWS / TRACE_WAYS: a power of two");
_Static_assert(TRACE_BUF_SIZE >= PCAP_REC_LEN + 40 + 65535,
	       "the largest packet must fit the buffer");

/* An endpoint with its address in IPv6 form (IPv4 as ::ffff:a.b.c.d). */
struct ep {
	uint8_t ip[16];
	uint16_t port; /* host order */
};

/*
 * One TCP flow: src -> dst. used == 0 marks a free entry; otherwise the tick of
 * its last use, for least-recently-used eviction within its set.
 */
struct flow {
	struct ep src, dst;
	uint32_t next; /* the sequence number of its next octet */
	uint64_t used;
};

struct trace_file {
	int fd;
	bool regular;  /* a regular file: truncated back on a failed write */
	uint64_t size; /* octets in the file, all complete records */
	uint8_t *buf;  /* records not yet written, always whole ones */
	size_t len;
	uint16_t ip_id; /* IPv4 identification, counts packets */
	uint64_t salt;	/* per open: flow hash and initial sequence numbers */
	uint64_t tick;
	struct flow *flows; /* TRACE_SETS sets of TRACE_WAYS */
};

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static void put16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32be(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* ---- addresses ---- */

static int ep_of(const struct sockaddr *sa, struct ep *e)
{
	memset(e, 0, sizeof(*e));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		memcpy(e->ip, v4mapped, sizeof(v4mapped));
		memcpy(e->ip + 12, &in->sin_addr, 4);
		e->port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		memcpy(e->ip, &in6->sin6_addr, 16);
		e->port = ntohs(in6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

static bool ep_is_v4(const struct ep *e)
{
	return memcmp(e->ip, v4mapped, sizeof(v4mapped)) == 0;
}

/* ---- the filter ---- */

/* The Call-ID of the header lines of msg, or an empty view. */
static struct sv find_call_id(const char *msg, size_t len)
{
	const char *end = msg + len;
	const char *p = len ? memchr(msg, '\n', len) : NULL;

	if (!p)
		return SV_NULL;
	p++; /* past the start line, which may hold anything */
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		struct sv line = sv_range(p, eol ? eol : end);
		ptrdiff_t colon;

		if (line.len && line.p[line.len - 1] == '\r')
			line.len--;
		if (line.len == 0)
			break; /* the empty line: the body follows */
		colon = sv_find(line, ':');
		/* A folded continuation line starts with white space: no name there. */
		if (colon > 0 && line.p[0] != ' ' && line.p[0] != '\t') {
			struct sv name = sv_trim(sv_make(line.p, (size_t)colon));

			if (sv_caseeq_lit(name, "call-id") || sv_caseeq_lit(name, "i"))
				return sv_trim(sv_skip(line, (size_t)colon + 1));
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return SV_NULL;
}

bool trace_match(const struct trace_filter *f, const struct sockaddr *src,
		 const struct sockaddr *dst, const char *msg, size_t len, struct sv call_id)
{
	if (!f)
		return false;
	switch (f->mode) {
	case TRACE_ALL:
		return true;
	case TRACE_IP: {
		struct ep want, s, d;

		if (ep_of((const struct sockaddr *)&f->ip, &want) != 0)
			return false;
		if (ep_of(src, &s) == 0 && memcmp(s.ip, want.ip, 16) == 0)
			return true;
		return ep_of(dst, &d) == 0 && memcmp(d.ip, want.ip, 16) == 0;
	}
	case TRACE_CALLID:
		if (f->call_id_len == 0)
			return false;
		if (sv_empty(call_id))
			call_id = find_call_id(msg, len);
		return sv_eq(call_id, sv_make(f->call_id, f->call_id_len));
	default:
		return false;
	}
}

/* ---- records ---- */

static int sa_copy(struct sockaddr_storage *to, const struct sockaddr *from)
{
	memset(to, 0, sizeof(*to));
	if (from->sa_family == AF_INET)
		memcpy(to, from, sizeof(struct sockaddr_in));
	else if (from->sa_family == AF_INET6)
		memcpy(to, from, sizeof(struct sockaddr_in6));
	else
		return -EAFNOSUPPORT;
	return 0;
}

struct trace_rec *trace_rec_new(uint8_t proto, const struct sockaddr *src,
				const struct sockaddr *dst, const void *data, size_t len)
{
	struct trace_rec *r;
	struct timespec ts;

	if (proto != TRACE_UDP && proto != TRACE_TCP) {
		errno = EPROTONOSUPPORT;
		return NULL;
	}
	if (len > UINT32_MAX) {
		errno = EMSGSIZE;
		return NULL;
	}
	r = malloc(sizeof(*r) + len);
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	if (sa_copy(&r->src, src) != 0 || sa_copy(&r->dst, dst) != 0) {
		free(r);
		errno = EAFNOSUPPORT;
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	r->ts_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	r->proto = proto;
	r->len = (uint32_t)len;
	if (len)
		memcpy(r->data, data, len);
	return r;
}

/* ---- the file ---- */

static void pcap_header(uint8_t h[PCAP_HDR_LEN])
{
	put32le(h, PCAP_MAGIC_NS);
	put16le(h + 4, 2);
	put16le(h + 6, 4);
	put32le(h + 8, 0);  /* thiszone */
	put32le(h + 12, 0); /* sigfigs */
	put32le(h + 16, TRACE_SNAPLEN);
	put32le(h + 20, TRACE_LINKTYPE_RAW);
}

/* Write the whole buffer out; see trace_flush() for what a failure leaves. */
static int tf_drain(struct trace_file *tf)
{
	size_t done = 0;
	int ret;

	while (done < tf->len) {
		ssize_t w = write(tf->fd, tf->buf + done, tf->len - done);

		if (w > 0) {
			done += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		ret = w < 0 ? -errno : -EIO;

		/*
		 * Keep the file at a record boundary: a regular file loses what this
		 * call wrote and gets it all again next time; a FIFO or device cannot
		 * be cut back, so it gets the rest.
		 */
		if (done && tf->regular && ftruncate(tf->fd, (off_t)tf->size) == 0)
			done = 0;
		memmove(tf->buf, tf->buf + done, tf->len - done);
		tf->len -= done;
		tf->size += done;
		return ret;
	}
	tf->size += done;
	tf->len = 0;
	return 0;
}

int trace_flush(struct trace_file *tf)
{
	return tf->len ? tf_drain(tf) : 0;
}

static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* shrunk under us */
		got += (size_t)r;
	}
	return 0;
}

/*
 * An existing regular file of `size` octets: 1 when it needs a new global
 * header (it is empty or a torn header of ours, now truncated to 0), 0 when
 * it is ours and tf->size is where appending resumes (a torn last record cut
 * off), -EEXIST when it is not ours, -EBADMSG when a record header inside is
 * damaged.
 */
static int tf_resume(struct trace_file *tf, uint64_t size)
{
	uint8_t want[PCAP_HDR_LEN], h[PCAP_HDR_LEN], rec[PCAP_REC_LEN];
	uint64_t off = PCAP_HDR_LEN;
	uint32_t snaplen;
	int ret;

	if (size == 0)
		return 1;
	pcap_header(want);
	ret = pread_full(tf->fd, h, size < PCAP_HDR_LEN ? (size_t)size : PCAP_HDR_LEN, 0);
	if (ret < 0)
		return ret;
	if (size < PCAP_HDR_LEN) {
		if (memcmp(h, want, (size_t)size) != 0)
			return -EEXIST;
		return ftruncate(tf->fd, 0) == 0 ? 1 : -errno;
	}
	snaplen = get32le(h + 16);
	if (memcmp(h, want, 8) != 0 || get32le(h + 20) != TRACE_LINKTYPE_RAW || snaplen < 65535)
		return -EEXIST;
	while (size - off >= PCAP_REC_LEN) {
		uint32_t caplen;

		ret = pread_full(tf->fd, rec, sizeof(rec), off);
		if (ret < 0)
			return ret;
		caplen = get32le(rec + 8);
		if (caplen > snaplen)
			return -EBADMSG; /* not a torn tail: leave the file alone */
		if (caplen > size - off - PCAP_REC_LEN)
			break;
		off += PCAP_REC_LEN + caplen;
	}
	if (off != size && ftruncate(tf->fd, (off_t)off) != 0)
		return -errno;
	tf->size = off;
	return 0;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

void trace_close(struct trace_file *tf)
{
	if (!tf)
		return;
	if (tf->fd >= 0) {
		trace_flush(tf);
		close(tf->fd);
	}
	free(tf->flows);
	free(tf->buf);
	free(tf);
}

int trace_open(struct trace_file **out, const char *path)
{
	struct trace_file *tf = calloc(1, sizeof(*tf));
	struct timespec now;
	struct stat st;
	int ret = 1;

	if (!tf)
		return -ENOMEM;
	tf->fd = -1;
	tf->buf = malloc(TRACE_BUF_SIZE);
	tf->flows = calloc(TRACE_FLOWS, sizeof(*tf->flows));
	if (!tf->buf || !tf->flows) {
		trace_close(tf);
		return -ENOMEM;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* A FIFO must not block the service thread: a full one drops records. */
		tf->fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	} else {
		/* Traces hold SIP credentials and numbers: not world-readable. */
		tf->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
		if (tf->fd >= 0 && fstat(tf->fd, &st) != 0)
			ret = -errno;
		tf->regular = true;
	}
	if (tf->fd < 0)
		ret = -errno;
	if (ret == 1 && tf->regular)
		ret = tf_resume(tf, (uint64_t)st.st_size);
	if (ret == 1) {
		pcap_header(tf->buf);
		tf->len = PCAP_HDR_LEN;
		ret = tf_drain(tf);
	}
	if (ret < 0) {
		tf->len = 0;
		trace_close(tf);
		return ret;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	tf->salt = mix64((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec) ^
		   mix64((uint64_t)(uintptr_t)tf);
	*out = tf;
	return 0;
}

/* ---- packets ---- */

static uint64_t csum_add(uint64_t s, const uint8_t *p, size_t n)
{
	for (; n >= 2; p += 2, n -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

static uint16_t csum_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Make room for n octets, writing the buffer out if needed. */
static uint8_t *tf_room(struct trace_file *tf, size_t n, int *ret)
{
	if (TRACE_BUF_SIZE - tf->len < n) {
		*ret = tf_drain(tf);
		if (*ret < 0)
			return NULL;
	}
	return tf->buf + tf->len;
}

struct pkt {
	uint64_t ts_ns;
	const struct ep *src, *dst;
	bool v4;
	uint8_t proto;
	uint32_t seq, ack; /* TCP */
};

/* Append one pcap record: IP header, UDP or TCP header, plen octets of payload. */
static int put_packet(struct trace_file *tf, const struct pkt *k, const void *payload, size_t plen)
{
	size_t iph = k->v4 ? 20 : 40;
	size_t l4h = k->proto == TRACE_UDP ? 8 : 20;
	size_t l4len = l4h + plen;
	size_t total = iph + l4len;
	uint64_t sum = 0;
	uint8_t *p, *q;
	uint16_t c;
	int ret = 0;

	p = tf_room(tf, PCAP_REC_LEN + total, &ret);
	if (!p)
		return ret;
	put32le(p, (uint32_t)(k->ts_ns / 1000000000u));
	put32le(p + 4, (uint32_t)(k->ts_ns % 1000000000u));
	put32le(p + 8, (uint32_t)total);
	put32le(p + 12, (uint32_t)total);
	p += PCAP_REC_LEN;
	q = p + iph;

	if (k->v4) {
		p[0] = 0x45;
		p[1] = 0;
		put16be(p + 2, (uint16_t)total);
		put16be(p + 4, tf->ip_id++);
		put16be(p + 6, IP4_DF);
		p[8] = TRACE_TTL;
		p[9] = k->proto;
		put16be(p + 10, 0);
		memcpy(p + 12, k->src->ip + 12, 4);
		memcpy(p + 16, k->dst->ip + 12, 4);
		put16be(p + 10, csum_fold(csum_add(0, p, 20)));
		/* Pseudo-header: src, dst, zero, protocol, length. */
		sum = csum_add(sum, p + 12, 8);
		sum += k->proto + l4len;
	} else {
		put32be(p, 6u << 28);
		put16be(p + 4, (uint16_t)l4len);
		p[6] = k->proto;
		p[7] = TRACE_TTL;
		memcpy(p + 8, k->src->ip, 16);
		memcpy(p + 24, k->dst->ip, 16);
		/* Pseudo-header: src, dst, 32-bit length, zeros, next header. */
		sum = csum_add(sum, p + 8, 32);
		sum += k->proto + l4len;
	}

	put16be(q, k->src->port);
	put16be(q + 2, k->dst->port);
	if (k->proto == TRACE_UDP) {
		put16be(q + 4, (uint16_t)l4len);
		put16be(q + 6, 0);
	} else {
		put32be(q + 4, k->seq);
		put32be(q + 8, k->ack);
		q[12] = 5 << 4; /* data offset: 5 words, no options */
		q[13] = TCP_ACK_PSH;
		put16be(q + 14, 65535);
		put16be(q + 16, 0);
		put16be(q + 18, 0);
	}
	if (plen)
		memcpy(q + l4h, payload, plen);
	c = csum_fold(csum_add(sum, q, l4len));
	if (k->proto == TRACE_UDP) {
		/* 0 means "no checksum" in UDP: a computed 0 is sent as its other form. */
		put16be(q + 6, c ? c : 0xffff);
	} else {
		put16be(q + 16, c);
	}
	tf->len += PCAP_REC_LEN + total;
	return 0;
}

static uint64_t flow_hash(const struct trace_file *tf, const struct ep *s, const struct ep *d,
			  uint64_t seed)
{
	uint64_t h = tf->salt ^ seed;

	for (int i = 0; i < 16; i += 8) {
		uint64_t a, b;

		memcpy(&a, s->ip + i, 8);
		memcpy(&b, d->ip + i, 8);
		h = mix64(h ^ a);
		h = mix64(h ^ b);
	}
	return mix64(h ^ ((uint64_t)s->port << 16 | d->port));
}

static bool ep_eq(const struct ep *a, const struct ep *b)
{
	return a->port == b->port && memcmp(a->ip, b->ip, 16) == 0;
}

/*
 * The flow s -> d, found or made (evicting the least recently used of its set).
 * The flow used just before is the most recent of its set, so with two or more
 * ways a second call cannot evict it: trace_write() holds both at once.
 */
static struct flow *flow_get(struct trace_file *tf, const struct ep *s, const struct ep *d)
{
	struct flow *set = tf->flows + (flow_hash(tf, s, d, 0) & (TRACE_SETS - 1)) * TRACE_WAYS;
	struct flow *victim = set;

	for (int i = 0; i < TRACE_WAYS; i++) {
		struct flow *f = set + i;

		if (f->used && ep_eq(&f->src, s) && ep_eq(&f->dst, d)) {
			f->used = ++tf->tick;
			return f;
		}
		if (f->used < victim->used)
			victim = f;
	}
	victim->src = *s;
	victim->dst = *d;
	victim->next = (uint32_t)flow_hash(tf, s, d, 1);
	victim->used = ++tf->tick;
	return victim;
}

int trace_write(struct trace_file *tf, const struct trace_rec *r)
{
	struct ep s, d;
	struct pkt k = { .ts_ns = r->ts_ns, .src = &s, .dst = &d, .proto = r->proto };
	size_t off = 0, seg;
	struct flow *fwd;
	int ret;

	if (r->proto != TRACE_UDP && r->proto != TRACE_TCP)
		return -EPROTONOSUPPORT;
	if (ep_of((const struct sockaddr *)&r->src, &s) != 0 ||
	    ep_of((const struct sockaddr *)&r->dst, &d) != 0)
		return -EAFNOSUPPORT;
	k.v4 = ep_is_v4(&s) && ep_is_v4(&d);

	if (r->proto == TRACE_UDP) {
		if (r->len > (k.v4 ? TRACE_UDP_MAX4 : TRACE_UDP_MAX6))
			return -EMSGSIZE;
		return put_packet(tf, &k, r->data, r->len);
	}

	/* Both directions exist from the first segment: ack is always meaningful. */
	fwd = flow_get(tf, &s, &d);
	seg = k.v4 ? TRACE_TCP_SEG4 : TRACE_TCP_SEG6;
	do {
		size_t n = r->len - off < seg ? r->len - off : seg;

		k.seq = fwd->next;
		k.ack = flow_get(tf, &d, &s)->next;
		ret = put_packet(tf, &k, r->data + off, n);
		if (ret < 0) {
			fwd->next += (uint32_t)(r->len - off); /* a gap, not a shifted stream */
			return ret;
		}
		fwd->next += (uint32_t)n;
		off += n;
	} while (off < r->len);
	return 0;
}
