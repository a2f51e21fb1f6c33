/* SPDX-License-Identifier: MIT */
/*
 * worker.c: one worker's loop and the answers the core gives by itself.
 *
 * A message arrives (a datagram, or a message framed out of a TCP stream), is
 * parsed in place (views into the receive buffer), checked (sip_check.h), and
 * either answered at once or dropped and counted:
 *
 *   parse failed ──────────────── headers indexed? request ─► 400 / 513
 *                                 else ─► dropped (parse)
 *   sip_msg_check() verdict ───── 400 / 416 / 505 with the reason as the
 *                                 reason phrase; a bad response is dropped
 *   larger than max_message_size  513
 *   response ──────────────────── branch names another worker ─► handed over
 *                                 else no transaction yet ─► dropped (response)
 *   request while stopping ────── 503 (ACK: absorbed)
 *   request not for us ────────── Proxy-Require unknown ─► 420,
 *                                 Max-Forwards 0 ─► 483, else 404 (no routing yet)
 *   request for us ────────────── ACK absorbed; Require unknown ─► 420;
 *                                 OPTIONS ─► 200; CANCEL ─► 481; others ─► 501
 *
 * Responses go where RFC 3261 §18.2.2 and RFC 3581 say: over TCP on the
 * connection the request came on; over UDP to the source address and port when
 * the top Via has rport, else to the source address and the Via's sent-by port
 * (5060 when absent). The top Via of the answer carries received= (when the
 * source differs from the sent-by host) and rport=<source port> (when asked).
 * The To tag of a stateless answer is a hash of the request's dialog
 * identifiers, so a retransmitted request gets the same tag.
 */
#define _GNU_SOURCE
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "parsers/sip_build.h"
#include "parsers/sip_check.h"
#include "parsers/sip_hdr.h"
#include "parsers/sip_msg.h"
#include "parsers/sip_uri.h"

#define WORKER_MAX_HDRS 128
#define WORKER_IOV	256
#define WORKER_SCRATCH	4096
#define WORKER_TXN_CAP	(1u << 20) /* server transactions per worker */

/* Where a message came from and how to answer it. */
struct origin {
	unsigned sock;	       /* UDP: uio socket index */
	struct uio_conn *conn; /* TCP: the connection, else NULL */
	const struct sockaddr *src;
	socklen_t srclen;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void worker_wake(struct worker *w)
{
	uint64_t one = 1;
	ssize_t r = write(w->wake_fd, &one, sizeof(one));
	(void)r;
}

/* ---- small helpers ---- */

static uint16_t sa_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

static void sa_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* The source address as text (no port, IPv6 without brackets). */
static size_t sa_ip_text(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = sa->sa_family == AF_INET
				? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
				: (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (!inet_ntop(sa->sa_family, a, buf, (socklen_t)len))
		return 0;
	return strlen(buf);
}

/* Dotted-quad IPv4 (the hot case, without a copy or inet_pton()). */
static bool ipv4_parse(struct sv s, uint8_t out[4])
{
	unsigned part = 0, val = 0, digits = 0;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c >= '0' && c <= '9') {
			val = val * 10 + (unsigned)(c - '0');
			if (++digits > 3 || val > 255)
				return false;
		} else if (c == '.' && digits && part < 3) {
			out[part++] = (uint8_t)val;
			val = digits = 0;
		} else {
			return false;
		}
	}
	if (part != 3 || !digits)
		return false;
	out[3] = (uint8_t)val;
	return true;
}

/* Parse a numeric host (IPv4 or IPv6, no brackets) from a view. */
static bool host_ip(struct sv host, struct snap_addr *out)
{
	char tmp[64];
	if (ipv4_parse(host, out->ip)) {
		out->family = AF_INET;
		return true;
	}
	if (host.len == 0 || host.len >= sizeof(tmp) || !memchr(host.p, ':', host.len))
		return false;
	memcpy(tmp, host.p, host.len);
	tmp[host.len] = 0;
	if (inet_pton(AF_INET6, tmp, out->ip) == 1) {
		out->family = AF_INET6;
		return true;
	}
	return false;
}

/* The address of a socket address, as a snap_addr. */
static void sa_addr(const struct sockaddr *sa, struct snap_addr *out)
{
	out->family = sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(out->ip, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else
		memcpy(out->ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
}

static size_t put_u64(char *d, uint64_t v)
{
	char t[20];
	size_t n = 0;
	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	for (size_t i = 0; i < n; i++)
		d[i] = t[n - 1 - i];
	return n;
}

/* Whether the Request-URI names this node. */
/* Whether m's Request-URI names this node; *u gets it parsed (the caller reads
 * its user for the uplinks when this is true). */
static bool for_us(const struct worker *w, const struct sip_msg *m, struct sip_uri *u)
{
	const struct snap *s = w->snap;
	if (sip_uri_parse(m->ruri, u, NULL) < 0 || u->host_type == SIP_HOST_NONE)
		return false;
	bool host_ok = false;
	if (u->host_type == SIP_HOST_NAME) {
		if (sv_caseeq_lit(u->host, "localhost"))
			host_ok = true;
		else if (s->conf.advertised_host && *s->conf.advertised_host &&
			 sv_caseeq(u->host, sv_cstr(s->conf.advertised_host)))
			host_ok = true;
		for (unsigned i = 0; !host_ok && i < s->conf.ndomains; i++)
			host_ok = sv_caseeq(u->host, sv_cstr(s->conf.domains[i]));
	} else {
		struct snap_addr a;
		if (host_ip(u->host, &a))
			for (unsigned i = 0; !host_ok && i < s->naddrs; i++)
				host_ok =
					s->addrs[i].family == a.family &&
					!memcmp(s->addrs[i].ip, a.ip, a.family == AF_INET ? 4 : 16);
	}
	if (!host_ok)
		return false;
	if (u->port == 0)
		return true;
	for (unsigned i = 0; i < s->nports; i++)
		if (s->ports[i] == u->port)
			return true;
	return false;
}

static bool tag_supported(const struct snap *s, struct sv tag)
{
	for (unsigned i = 0; i < s->conf.nsupported; i++)
		if (sv_caseeq(tag, sv_cstr(s->conf.supported[i])))
			return true;
	return false;
}

/* Option tags of every `id` header (Require or Proxy-Require) that this node
 * does not support, written comma-separated into out; returns how many. */
static unsigned unsupported_tags(const struct worker *w, const struct sip_msg *m,
				 enum sip_hdr_id id, char *out, size_t cap, size_t *outlen)
{
	unsigned n = 0;
	size_t len = 0;
	for (const struct sip_hdr *h = sip_msg_hdr(m, id); h; h = sip_msg_hdr_next(m, h)) {
		struct sv rest = h->value, tok;
		while (sip_token_next(&rest, &tok, NULL) > 0) {
			if (tag_supported(w->snap, tok))
				continue;
			if (len + tok.len + 2 < cap) {
				if (len) {
					memcpy(out + len, ", ", 2);
					len += 2;
				}
				memcpy(out + len, tok.p, tok.len);
				len += tok.len;
			}
			n++;
		}
	}
	*outlen = len;
	return n;
}

static uint64_t fnv1a(uint64_t h, struct sv s)
{
	for (size_t i = 0; i < s.len; i++) {
		h ^= (uint8_t)s.p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* ---- tracing ---- */

static void trace_msg(struct worker *w, bool tcp, const struct sockaddr *from,
		      const struct sockaddr *to, const char *data, size_t len, struct sv callid)
{
	if (!trace_match(&w->snap->trace, from, to, data, len, callid))
		return;
	struct trace_rec **slot = ring_reserve(&w->trace);
	if (!slot) {
		STAT_INC(w->stats, trace_drops);
		return;
	}
	struct trace_rec *r = trace_rec_new(tcp ? TRACE_TCP : TRACE_UDP, from, to, data, len);
	if (!r) {
		STAT_INC(w->stats, trace_drops);
		return;
	}
	*slot = r;
	ring_commit(&w->trace);
}

/* Our local address of a UDP socket or a connection (for the trace). */
static void local_addr(struct worker *w, unsigned sock, const struct uio_conn *conn, int family,
		       struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);
	int fd = conn ? conn->fd : w->io.udp_fd[sock];
	memset(ss, 0, sizeof(*ss));
	if (getsockname(fd, (struct sockaddr *)ss, &len) < 0)
		ss->ss_family = (sa_family_t)family;
}

/* ---- sending ---- */

/* Send over UDP socket `sock` to `to`, or over conn. Returns 0 or -errno. */
static int send_to(struct worker *w, unsigned sock, struct uio_conn *conn,
		   const struct sockaddr *to, socklen_t tolen, const struct iovec *iov, unsigned n,
		   size_t len, uint16_t status)
{
	int ret = conn ? uio_send_tcp(&w->io, conn, iov, n)
		       : uio_send_udp(&w->io, sock, to, tolen, iov, n);
	if (ret < 0) {
		if (ret == -ENOBUFS)
			STAT_INC(w->stats, drops[STATS_DROP_NOBUFS]);
		else
			STAT_INC(w->stats, tx_errors);
		return ret;
	}
	STAT_INC(w->stats, tx_msgs);
	STAT_ADD(w->stats, tx_bytes, len);
	if (status >= 100 && status < 700)
		STAT_INC(w->stats, tx_responses[status]);
	if (w->snap->tracing) {
		char flat[65536];
		size_t off = 0;
		for (unsigned i = 0; i < n && off + iov[i].iov_len <= sizeof(flat); i++) {
			memcpy(flat + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		struct sockaddr_storage self;
		local_addr(w, sock, conn, to->sa_family, &self);
		trace_msg(w, conn != NULL, (struct sockaddr *)&self, to, flat, off,
			  (struct sv){ NULL, 0 });
	}
	return 0;
}

static void send_iov(struct worker *w, const struct origin *o, const struct sockaddr *to,
		     socklen_t tolen, const struct iovec *iov, unsigned n, size_t len,
		     uint16_t status)
{
	send_to(w, o->sock, o->conn, to, tolen, iov, n, len, status);
}

/*
 * Where a response to a request from o with top via-parm v goes (RFC 3261
 * §18.2.2, RFC 3581): over a connection, back on it; over UDP to the source
 * address, at the source port when the Via has rport, else at the sent-by port
 * (5060 when absent).
 */
static void answer_dest(const struct origin *o, const struct sip_via *v,
			struct sockaddr_storage *dst, socklen_t *dstlen)
{
	memcpy(dst, o->src, o->srclen);
	*dstlen = o->srclen;
	if (!v->has_rport && !o->conn)
		sa_set_port(dst, v->port ? v->port : 5060);
}

/*
 * Answer request m with `status` (reason: empty for the standard phrase) and
 * extra headers. Fills the top Via per RFC 3581 and picks the destination.
 * With t, the answer goes through server transaction t (which keeps it for
 * retransmissions and sends it to the destination it was created with);
 * else it is sent at once, statelessly.
 * Returns false when there is no usable Via to answer to (nothing sent).
 */
static bool reply_txn(struct worker *w, const struct origin *o, const struct sip_msg *m,
		      struct txn *t, uint16_t status, struct sv reason,
		      const struct sip_build_field *extra, unsigned nextra)
{
	struct iovec iov[WORKER_IOV];
	char scratch[WORKER_SCRATCH];
	struct sip_build b;
	sip_build_init(&b, iov, WORKER_IOV, scratch, sizeof(scratch));

	/* Top Via: received= and rport= (RFC 3581, RFC 3261 §18.2.1). */
	const struct sip_hdr *vh = sip_msg_hdr(m, SIP_HDR_VIA);
	struct sip_via v;
	struct sv rest, via_parts[5];
	unsigned nvia = 0;
	char ipbuf[INET6_ADDRSTRLEN], add[INET6_ADDRSTRLEN + 40];
	struct sockaddr_storage dst;
	socklen_t dstlen;
	if (!vh)
		return false;
	rest = vh->value;
	const char *first_start = rest.p;
	if (sip_via_next(&rest, &v, NULL) <= 0)
		return false;
	answer_dest(o, &v, &dst, &dstlen);
	const char *first_end = v.params.len ? v.params.p + v.params.len : v.host.p + v.host.len;
	if (!v.params.len) {
		/* sent-by may have a port (and IPv6 brackets) after the host */
		const char *p = v.host.p + v.host.len;
		while (p < vh->value.p + vh->value.len && *p != ',' && *p != ';' && *p != ' ' &&
		       *p != '\t' && *p != '\r')
			p++;
		first_end = p;
	}
	struct snap_addr sent_by, src_ip;
	sa_addr(o->src, &src_ip);
	bool differs = !host_ip(v.host, &sent_by) || sent_by.family != src_ip.family ||
		       memcmp(sent_by.ip, src_ip.ip, sent_by.family == AF_INET ? 4 : 16);
	size_t addlen = 0;
	if (differs && !v.received.len) {
		size_t iplen = sa_ip_text(o->src, ipbuf, sizeof(ipbuf));
		memcpy(add, ";received=", 10);
		memcpy(add + 10, ipbuf, iplen);
		addlen = 10 + iplen;
	}
	if (v.has_rport) {
		/* Drop the bare ";rport" and write ";rport=N" at the end of the via-parm. */
		const char *rp = NULL, *rp_end = NULL;
		struct sv prest = v.params, pn, pv;
		while (sip_param_next(&prest, &pn, &pv, NULL) > 0) {
			if (sv_caseeq_lit(pn, "rport")) {
				rp = pn.p - 1; /* its ';' */
				rp_end = pv.len ? pv.p + pv.len : pn.p + pn.len;
				break;
			}
		}
		if (rp && rp >= first_start) {
			via_parts[nvia++] = sv_range(first_start, rp);
			via_parts[nvia++] = sv_range(rp_end, first_end);
		} else {
			via_parts[nvia++] = sv_range(first_start, first_end);
		}
		memcpy(add + addlen, ";rport=", 7);
		addlen += 7;
		addlen += put_u64(add + addlen, sa_port(o->src));
	} else {
		via_parts[nvia++] = sv_range(first_start, first_end);
	}
	if (addlen) {
		via_parts[nvia++] = sv_make(add, addlen);
		via_parts[nvia++] = sv_range(first_end, vh->value.p + vh->value.len);
	} else {
		nvia = 0; /* unchanged: copy the line as received */
	}

	/* A deterministic To tag for stateless answers. */
	char tag[17];
	struct sv to_tag = { NULL, 0 };
	if (status > 100) {
		uint64_t h = fnv1a(0xcbf29ce484222325ull ^ w->to_tag_salt, m->ruri);
		const struct sip_hdr *ci = sip_msg_hdr(m, SIP_HDR_CALL_ID);
		const struct sip_hdr *fr = sip_msg_hdr(m, SIP_HDR_FROM);
		const struct sip_hdr *cs = sip_msg_hdr(m, SIP_HDR_CSEQ);
		if (ci)
			h = fnv1a(h, ci->value);
		if (fr)
			h = fnv1a(h, fr->value);
		if (cs)
			h = fnv1a(h, cs->value);
		for (int i = 15; i >= 0; i--, h >>= 4)
			tag[i] = "0123456789abcdef"[h & 15];
		to_tag = sv_make(tag, 16);
	}

	struct sip_build_field fields[REG_MAX_FIELDS + 2];
	unsigned nf = 0;
	for (unsigned i = 0; i < nextra && nf < REG_MAX_FIELDS + 1; i++)
		fields[nf++] = extra[i];
	const char *server = w->snap->conf.server_header;
	if (server && *server)
		fields[nf++] = (struct sip_build_field){ SV_LIT("Server"), sv_cstr(server) };

	struct sip_reply r = {
		.status = status,
		.reason = reason,
		.to_tag = to_tag,
		.hdrs = fields,
		.nhdrs = nf,
		.via = via_parts,
		.nvia = nvia,
	};
	if (sip_build_response(&b, m, &r) < 0) {
		STAT_INC(w->stats, drops[STATS_DROP_NOBUFS]);
		if (t)
			txn_terminate(&w->txn, t);
		return true;
	}
	if (!t) {
		send_iov(w, o, (struct sockaddr *)&dst, dstlen, b.iov, b.niov, b.len, status);
		return true;
	}
	char flat[65536];
	ssize_t n = sip_build_flatten(&b, flat, sizeof(flat));
	if (n < 0) {
		STAT_INC(w->stats, drops[STATS_DROP_NOBUFS]);
		txn_terminate(&w->txn, t);
		return true;
	}
	txn_server_respond(&w->txn, t, flat, (size_t)n);
	return true;
}

static bool reply(struct worker *w, const struct origin *o, const struct sip_msg *m,
		  uint16_t status, struct sv reason, const struct sip_build_field *extra,
		  unsigned nextra)
{
	return reply_txn(w, o, m, NULL, status, reason, extra, nextra);
}

/* A reason phrase from a parser's reason ("bad CSeq" -> "Bad CSeq"), safe for
 * a status line (no CR/LF), in buf. */
static struct sv phrase(const char *reason, char *buf, size_t cap)
{
	size_t n = 0;
	for (const char *p = reason; p && *p && n + 1 < cap; p++)
		buf[n++] = (*p == '\r' || *p == '\n') ? ' ' : *p;
	if (n && buf[0] >= 'a' && buf[0] <= 'z')
		buf[0] = (char)(buf[0] - 'a' + 'A');
	return sv_make(buf, n);
}

/* ---- the registrar ---- */

/* A connection's id as kept by transactions and bindings: never 0. */
static uint64_t conn_id(const struct uio_conn *c)
{
	return ((uint64_t)c->gen + 1) << 32 | c->idx;
}

static struct uio_conn *conn_find(struct worker *w, uint64_t id)
{
	return id ? uio_conn_get(&w->io, (uint32_t)id, (uint32_t)(id >> 32) - 1) : NULL;
}

/* Free the ops the service has applied; returns how many it has applied. */
static uint64_t pend_prune(struct worker *w)
{
	uint64_t applied = atomic_load_explicit(&w->reg_applied, memory_order_acquire);
	while (w->pend_tail < applied) {
		free(w->pend[w->pend_tail & w->pend_mask]);
		w->pend_tail++;
	}
	return applied;
}

/* A location change, queued for the service thread (the table's writer). */
static int reg_emit(void *arg, enum reg_op_kind kind, const struct location_binding *b)
{
	struct worker *w = arg;
	if (w->pend_head - w->pend_tail > w->pend_mask)
		pend_prune(w);
	struct reg_op **slot =
		w->pend_head - w->pend_tail <= w->pend_mask ? ring_reserve(&w->regq) : NULL;
	if (!slot) {
		STAT_INC(w->stats, reg_queue_full);
		return -ENOBUFS;
	}
	struct reg_op *op = reg_op_new(kind, b);
	if (!op)
		return -ENOMEM;
	w->pend[w->pend_head++ & w->pend_mask] = op;
	*slot = op;
	ring_commit(&w->regq);
	w->kick_service = true;
	return 0;
}

/* registrar.h's env->pending: this worker's changes of aor the service may
 * not have applied when the current REGISTER began, oldest first. */
static void reg_pending(void *arg, struct sv aor, void (*fn)(void *ctx, const struct reg_op *op),
			void *ctx)
{
	struct worker *w = arg;
	for (uint64_t q = w->pend_from > w->pend_tail ? w->pend_from : w->pend_tail;
	     q < w->pend_head; q++) {
		const struct reg_op *op = w->pend[q & w->pend_mask];
		if (op->kind <= REG_OP_REMOVE_AOR && sv_eq(op->b.aor, aor))
			fn(ctx, op);
	}
}

/* Run the registrar on REGISTER m from o; the answer is in w->rr. */
static void registrar_run(struct worker *w, const struct origin *o, const struct sip_msg *m)
{
	struct daemon *d = w->d;
	const struct snap *s = w->snap;
	struct reg_env env = {
		.conf = &s->conf,
		.auth = &s->auth,
		.accounts = s->accounts,
		.accounts_redis = w->acc_redis,
		.nc = &w->nc,
		.susp = &d->susp,
		.loc = d->loc,
		.reader = w->id,
		.now_ms = w->real_ms,
		.from = o->src,
		.emit = reg_emit,
		.pending = reg_pending,
		.arg = w,
	};
	/* What the service has applied is in the table this REGISTER reads; the
	 * rest is replayed (reg_pending). Read before the table. */
	w->pend_from = pend_prune(w);
	struct location_source *src = &env.src;
	src->family = (uint8_t)o->src->sa_family;
	src->transport = o->conn ? LOCATION_TP_TCP : LOCATION_TP_UDP;
	src->port = sa_port(o->src);
	src->worker = (uint16_t)w->id;
	src->conn = o->conn ? conn_id(o->conn) : (uint64_t)o->sock + 1; /* UDP: the socket */
	if (o->src->sa_family == AF_INET)
		memcpy(src->addr, &((const struct sockaddr_in *)o->src)->sin_addr, 4);
	else if (o->src->sa_family == AF_INET6)
		memcpy(src->addr, &((const struct sockaddr_in6 *)o->src)->sin6_addr, 16);
	registrar_process(&env, m, &w->rr);
	STAT_INC(w->stats, reg[w->rr.outcome]);
	/* A connection that carries a binding stays open while the binding lives. */
	if (o->conn && w->rr.status == 200 && w->rr.max_expires) {
		uint64_t until = w->now_ms + (uint64_t)w->rr.max_expires * 1000;
		if (w->conn_hold[o->conn->idx] < until)
			w->conn_hold[o->conn->idx] = until;
	}
	if (w->rr.logged_suspend) {
		char ip[INET6_ADDRSTRLEN];
		const struct sip_hdr *to = sip_msg_hdr(m, SIP_HDR_TO);
		sa_ip_text(o->src, ip, sizeof(ip));
		LOG_W("registrar", "suspended after failed authentications",
		      "to=\"%.*s\" source=%s retry=%u time_s=%u", to ? (int)to->value.len : 0,
		      to ? to->value.p : "", ip, s->conf.suspend_retry, s->conf.suspend_time_s);
	}
}

/* A REGISTER for this node. Without credentials (and authentication on) the
 * answer is a challenge or a refusal, stateless; otherwise it goes through a
 * server transaction, so that a retransmission gets the same answer (and is
 * not taken for a replayed nonce-count). */
static void handle_register(struct worker *w, const struct origin *o, const struct sip_msg *m)
{
	const struct conf *cf = &w->snap->conf;
	if (!cf->reg_enabled) {
		reply(w, o, m, 501, (struct sv){ NULL, 0 }, NULL, 0);
		return;
	}
	if (cf->reg_authenticate && !registrar_has_credentials(m)) {
		registrar_run(w, o, m);
		if (w->rr.status)
			reply(w, o, m, w->rr.status, w->rr.reason, w->rr.f, w->rr.nf);
		return;
	}
	const struct sip_hdr *vh = sip_msg_hdr(m, SIP_HDR_VIA);
	struct sip_via v;
	struct sv rest = vh ? vh->value : (struct sv){ NULL, 0 };
	if (!vh || sip_via_next(&rest, &v, NULL) <= 0) {
		STAT_INC(w->stats, drops[STATS_DROP_PARSE]);
		return;
	}
	struct txn_dest dest;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	memset(&dest, 0, sizeof(dest));
	answer_dest(o, &v, &dst, &dstlen);
	memcpy(&dest.addr, &dst, dstlen <= sizeof(dest.addr) ? dstlen : sizeof(dest.addr));
	dest.sock = (uint16_t)o->sock;
	dest.conn = o->conn ? conn_id(o->conn) : 0;
	dest.transport = o->conn ? CONF_TCP : CONF_UDP;
	w->cur = o;
	int ret = txn_server_input(&w->txn, m, &dest, o->conn != NULL);
	w->cur = NULL;
	if (ret >= 0)
		return;
	if (ret == -ENOBUFS || ret == -ENOMEM) {
		static const struct sip_build_field ra[] = { { SV_LIT("Retry-After"),
							       SV_LIT("1") } };
		reply(w, o, m, 503, (struct sv){ NULL, 0 }, ra, 1);
	} else {
		reply(w, o, m, 400, SV_LIT("Bad Transaction Identifiers"), NULL, 0);
	}
}

/* ---- transaction callbacks ---- */

static int txn_send(void *arg, struct txn *t, const struct txn_dest *dest, const char *buf,
		    size_t len)
{
	struct worker *w = arg;
	(void)t;
	struct iovec iov = { (void *)buf, len };
	uint16_t status = 0;
	if (len > 12 && !memcmp(buf, "SIP/2.0 ", 8))
		status = (uint16_t)((buf[8] - '0') * 100 + (buf[9] - '0') * 10 + (buf[10] - '0'));
	struct uio_conn *c = NULL;
	if (dest->conn && !(c = conn_find(w, dest->conn)))
		return -ENOTCONN;
	socklen_t tolen = dest->addr.sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							      : sizeof(struct sockaddr_in);
	return send_to(w, dest->sock, c, &dest->addr.sa, tolen, &iov, 1, len, status);
}

static void txn_deliver(void *arg, struct txn *t, const struct sip_msg *m)
{
	struct worker *w = arg;
	const struct origin *o = w->cur;
	if (!o || m->method != SIP_METHOD_REGISTER) {
		if (o)
			reply_txn(w, o, m, t, 501, (struct sv){ NULL, 0 }, NULL, 0);
		else
			txn_terminate(&w->txn, t);
		return;
	}
	registrar_run(w, o, m);
	if (!w->rr.status) {
		txn_terminate(&w->txn, t); /* dropped: nothing to retransmit */
		return;
	}
	reply_txn(w, o, m, t, w->rr.status, w->rr.reason, w->rr.f, w->rr.nf);
}

/* Report a keepalive's result (job: the binding it was for). */
static void ka_report(struct worker *w, struct reg_op *job, bool ok)
{
	if (reg_emit(w, ok ? REG_OP_KA_OK : REG_OP_KA_FAIL, &job->b) == 0)
		STAT_INC(w->stats, ka[ok ? 0 : 1]);
}

/*
 * A transaction's user pointer is a keepalive job (struct reg_op *) or, with
 * the low bit set, an uplink REGISTER (struct uplink_req *).
 */
#define UP_TAG ((uintptr_t)1)

static struct uplink_req *up_of(void *user)
{
	return ((uintptr_t)user & UP_TAG) ? (struct uplink_req *)((uintptr_t)user & ~UP_TAG) : NULL;
}

/* Hand an uplink result to the service thread (kept aside when its ring is full). */
static void up_report(struct worker *w, struct uplink_res *res)
{
	if (!res)
		return; /* no memory: the manager gives the request up after its deadline */
	while (w->nupres_wait) {
		struct uplink_res **slot = ring_reserve(&w->upres);
		if (!slot)
			break;
		*slot = w->upres_wait[0];
		ring_commit(&w->upres);
		memmove(w->upres_wait, w->upres_wait + 1,
			--w->nupres_wait * sizeof(*w->upres_wait));
	}
	struct uplink_res **slot = w->nupres_wait ? NULL : ring_reserve(&w->upres);
	if (slot) {
		*slot = res;
		ring_commit(&w->upres);
	} else {
		struct uplink_res **v = realloc(w->upres_wait, (w->nupres_wait + 1) * sizeof(*v));
		if (!v) {
			free(res);
			return;
		}
		w->upres_wait = v;
		v[w->nupres_wait++] = res;
	}
	w->kick_service = true;
}

/* The uplink REGISTER of t ended with res (NULL: no memory). */
static void up_done(struct worker *w, struct txn *t, struct uplink_req *r, struct uplink_res *res)
{
	txn_set_user(t, NULL);
	free(r);
	up_report(w, res);
}

static void txn_response(void *arg, struct txn *t, const struct sip_msg *m)
{
	struct worker *w = arg;
	struct uplink_req *up = up_of(txn_user(t));
	if (up) {
		if (m->status >= 200)
			up_done(w, t, up, uplink_res_from(up, m));
		return;
	}
	struct reg_op *job = txn_user(t);
	if (job && m->status >= 200) {
		ka_report(w, job, true); /* any final answer: the flow works */
		txn_set_user(t, NULL);
		free(job);
	}
}

static void txn_failed(struct worker *w, struct txn *t, bool timeout)
{
	struct uplink_req *up = up_of(txn_user(t));
	if (up) {
		up_done(w, t, up,
			timeout ? uplink_res_local(up, 408, "Request Timeout (no answer)")
				: uplink_res_local(up, 503,
						   "Service Unavailable (transport error)"));
		return;
	}
	struct reg_op *job = txn_user(t);
	if (job) {
		ka_report(w, job, false);
		txn_set_user(t, NULL);
		free(job);
	}
}

static void txn_timeout(void *arg, struct txn *t)
{
	struct worker *w = arg;
	STAT_INC(w->stats, txn_timeouts);
	txn_failed(w, t, true);
}

static void txn_transport_error(void *arg, struct txn *t)
{
	struct worker *w = arg;
	STAT_INC(w->stats, tx_errors);
	txn_failed(w, t, false);
}

static void txn_terminated(void *arg, struct txn *t)
{
	struct worker *w = arg;
	struct uplink_req *up = up_of(txn_user(t));
	if (up && w->exiting) {
		txn_set_user(t, NULL);
		free(up);
	} else if (up) { /* ended without an outcome told: never leave one hanging */
		up_done(w, t, up, uplink_res_local(up, 503, "Service Unavailable (ended)"));
	} else
		free(txn_user(t)); /* a keepalive that ended without an answer being told */
}

/*
 * Send the keepalive OPTIONS of job: to the binding's source address (its
 * NAT mapping), through the UDP socket its REGISTER came in on, or on its
 * connection. The answer (or Timer F) comes back through the client
 * transaction; job is its user pointer until then.
 */
static void keepalive_send(struct worker *w, struct reg_op *job)
{
	const struct location_source *src = &job->b.src;
	struct txn_dest dest;
	memset(&dest, 0, sizeof(dest));
	struct uio_conn *c = NULL;
	if (src->transport == LOCATION_TP_TCP) {
		c = conn_find(w, src->conn);
		if (!c) {
			ka_report(w, job, false); /* the flow is gone */
			free(job);
			return;
		}
		dest.conn = src->conn;
		memcpy(&dest.addr, &c->peer,
		       c->peerlen <= sizeof(dest.addr) ? c->peerlen : sizeof(dest.addr));
	} else {
		unsigned sock = src->conn ? (unsigned)src->conn - 1 : 0;
		if (sock >= w->io.nudp || (src->family != AF_INET && src->family != AF_INET6)) {
			free(job);
			return;
		}
		dest.sock = (uint16_t)sock;
		if (src->family == AF_INET) {
			dest.addr.in.sin_family = AF_INET;
			dest.addr.in.sin_port = htons(src->port);
			memcpy(&dest.addr.in.sin_addr, src->addr, 4);
		} else {
			dest.addr.in6.sin6_family = AF_INET6;
			dest.addr.in6.sin6_port = htons(src->port);
			memcpy(&dest.addr.in6.sin6_addr, src->addr, 16);
		}
	}
	dest.transport = c ? CONF_TCP : CONF_UDP;

	struct sockaddr_storage self;
	char ip[INET6_ADDRSTRLEN + 2], branch[48], buf[2048];
	local_addr(w, dest.sock, c, dest.addr.sa.sa_family, &self);
	size_t iplen = sa_ip_text((struct sockaddr *)&self, ip + 1, sizeof(ip) - 2);
	const char *host = ip + 1;
	if (self.ss_family == AF_INET6) {
		ip[0] = '[';
		ip[iplen + 1] = ']';
		ip[iplen + 2] = 0;
		host = ip;
	}
	int bl = txn_branch_make(w->id, w->branch_ctr++, branch, sizeof(branch));
	struct sv uri = job->b.contact;
	if (uri.len >= 2 && uri.p[0] == '<') {
		ptrdiff_t e = sv_find(uri, '>');
		if (e > 0)
			uri = sv_make(uri.p + 1, (size_t)e - 1);
	}
	int n = snprintf(buf, sizeof(buf),
			 "OPTIONS %.*s SIP/2.0\r\n"
			 "Via: SIP/2.0/%s %s:%u;branch=%s;rport\r\n"
			 "Max-Forwards: %u\r\n"
			 "From: <sip:keepalive@%s>;tag=%llx\r\n"
			 "To: <%.*s>\r\n"
			 "Call-ID: %s-ka@%s\r\n"
			 "CSeq: 1 OPTIONS\r\n"
			 "Content-Length: 0\r\n\r\n",
			 (int)uri.len, uri.p, c ? "TCP" : "UDP", host,
			 sa_port((struct sockaddr *)&self), branch, w->snap->conf.max_forwards,
			 host, (unsigned long long)(w->branch_ctr * 0x9e3779b97f4a7c15ull),
			 (int)uri.len, uri.p, branch, host);
	if (bl < 0 || n < 0 || (size_t)n >= sizeof(buf)) {
		free(job);
		return;
	}
	struct txn *t = NULL;
	int ret = txn_client_start(&w->txn, buf, (size_t)n, SIP_METHOD_OPTIONS,
				   sv_make(branch, (size_t)bl), &dest, c != NULL, &t);
	if (ret < 0) {
		ka_report(w, job, false);
		free(job);
		return;
	}
	txn_set_user(t, job);
}

static void drain_keepalives(struct worker *w)
{
	struct reg_op **slot;
	while ((slot = ring_peek(&w->kaq))) {
		struct reg_op *job = *slot;
		ring_release(&w->kaq);
		if (w->stopping)
			free(job);
		else
			keepalive_send(w, job);
	}
}

/* The private UDP socket of this worker for a family (uio index), or -1. */
static int private_udp(const struct worker *w, int family)
{
	for (unsigned k = 0; k < w->nsocks; k++) {
		if (!w->socks[k].private_ || w->socks[k].proto != CONF_UDP || w->udp_index[k] < 0)
			continue;
		const struct conf_listen *l = &w->snap->conf.listen[w->socks[k].listen];
		if (w->socks[k].listen < w->snap->conf.nlisten && l->addr.ss_family == family)
			return w->udp_index[k];
	}
	return -1;
}

static bool sa_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
}

/* The outgoing connection to `to`, opened when there is none. NULL: -errno in *err. */
static struct uio_conn *up_conn(struct worker *w, const struct sockaddr_storage *to,
				socklen_t tolen, int *err)
{
	struct upconn *freeslot = NULL;
	for (unsigned i = 0; i < w->nupconn; i++) {
		struct upconn *e = &w->upconn[i];
		if (!e->conn) {
			freeslot = freeslot ? freeslot : e;
			continue;
		}
		struct uio_conn *c = conn_find(w, e->conn);
		if (!c || c->closing) {
			e->conn = 0;
			freeslot = freeslot ? freeslot : e;
			continue;
		}
		if (sa_same(&e->to, to))
			return c;
	}
	if (!freeslot) {
		struct upconn *v = realloc(w->upconn, (w->nupconn + 1) * sizeof(*v));
		if (!v) {
			*err = -ENOMEM;
			return NULL;
		}
		w->upconn = v;
		freeslot = &v[w->nupconn++];
	}
	struct uio_conn *c = uio_connect(&w->io, (const struct sockaddr *)to, tolen, err);
	if (!c)
		return NULL;
	freeslot->to = *to;
	freeslot->conn = conn_id(c);
	/* Requests from the uplink come back on it: the idle timeout spares it. */
	w->conn_hold[c->idx] = UINT64_MAX;
	return c;
}

/* Send an uplink's REGISTER (job r) as a client transaction. */
static void uplink_send(struct worker *w, struct uplink_req *r)
{
	struct txn_dest dest;
	memset(&dest, 0, sizeof(dest));
	memcpy(&dest.addr, &r->dest,
	       r->destlen <= sizeof(dest.addr) ? r->destlen : sizeof(dest.addr));
	uint16_t via_port = r->via_port;
	struct uio_conn *c = NULL;
	int err = 0;
	if (r->transport == CONF_TCP) {
		c = up_conn(w, &r->dest, r->destlen, &err);
		if (!c) {
			struct uplink_res *res =
				uplink_res_local(r, 503, "Service Unavailable (cannot connect)");
			free(r);
			up_report(w, res);
			return;
		}
		dest.conn = conn_id(c);
		dest.transport = CONF_TCP;
	} else {
		int sock = private_udp(w, r->dest.ss_family);
		if (sock < 0) {
			struct uplink_res *res = uplink_res_local(
				r, 503, "Service Unavailable (no UDP socket for the family)");
			free(r);
			up_report(w, res);
			return;
		}
		dest.sock = (uint16_t)sock;
		dest.transport = CONF_UDP;
		for (unsigned k = 0; k < w->nsocks; k++)
			if (w->udp_index[k] == sock)
				via_port = w->socks[k].port;
	}
	char branch[48], buf[8192];
	int bl = txn_branch_make(w->id, w->branch_ctr++, branch, sizeof(branch));
	int n = bl < 0 ? -ENOBUFS : uplink_req_format(r, branch, via_port, buf, sizeof(buf));
	struct txn *t = NULL;
	int ret = n < 0 ? n
			: txn_client_start(&w->txn, buf, (size_t)n, SIP_METHOD_REGISTER,
					   sv_make(branch, (size_t)bl), &dest, c != NULL, &t);
	if (ret < 0) {
		struct uplink_res *res = uplink_res_local(r, 503, "Service Unavailable (not sent)");
		free(r);
		up_report(w, res);
		return;
	}
	txn_set_user(t, (void *)((uintptr_t)r | UP_TAG));
}

static void drain_uplinks(struct worker *w)
{
	struct uplink_req **slot;
	while ((slot = ring_peek(&w->upq))) {
		struct uplink_req *r = *slot;
		ring_release(&w->upq);
		uplink_send(w, r);
	}
}

static const struct txn_ops worker_txn_ops = {
	.send = txn_send,
	.deliver_request = txn_deliver,
	.deliver_response = txn_response,
	.timeout = txn_timeout,
	.transport_error = txn_transport_error,
	.terminated = txn_terminated,
};

/* ---- handling one message ---- */

static void handle_request(struct worker *w, const struct origin *o, const struct sip_msg *m)
{
	static const struct sip_build_field options_hdrs[] = {
		{ SV_LIT("Allow"), SV_LIT("OPTIONS, ACK, CANCEL, REGISTER") },
		{ SV_LIT("Accept"), SV_LIT("application/sdp") },
	};
	char buf[512];
	size_t len;

	if (m->method == SIP_METHOD_ACK) {
		STAT_INC(w->stats, drops[STATS_DROP_ACK]);
		return;
	}
	if (w->stopping) {
		static const struct sip_build_field ra[] = { { SV_LIT("Retry-After"),
							       SV_LIT("5") } };
		reply(w, o, m, 503, SV_LIT("Shutting Down"), ra, 1);
		return;
	}
	struct sip_uri ruri;
	if (!for_us(w, m, &ruri)) {
		if (unsupported_tags(w, m, SIP_HDR_PROXY_REQUIRE, buf, sizeof(buf), &len)) {
			struct sip_build_field f = { SV_LIT("Unsupported"), sv_make(buf, len) };
			reply(w, o, m, 420, (struct sv){ NULL, 0 }, &f, 1);
			return;
		}
		const struct sip_hdr *mf = sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS);
		uint32_t hops;
		if (mf && sip_uint_parse(mf->value, 255, &hops, NULL) == 0 && hops == 0) {
			reply(w, o, m, 483, (struct sv){ NULL, 0 }, NULL, 0);
			return;
		}
		reply(w, o, m, 404, (struct sv){ NULL, 0 }, NULL, 0);
		return;
	}
	if (m->method != SIP_METHOD_CANCEL &&
	    unsupported_tags(w, m, SIP_HDR_REQUIRE, buf, sizeof(buf), &len)) {
		struct sip_build_field f = { SV_LIT("Unsupported"), sv_make(buf, len) };
		reply(w, o, m, 420, (struct sv){ NULL, 0 }, &f, 1);
		return;
	}
	/* A request to the contact we registered with an uplink: the uplink's (call
	 * control will route by it). */
	if (w->snap->uplink_ix && uplink_index_find(w->snap->uplink_ix, ruri.user))
		STAT_INC(w->stats, uplink_requests);
	switch (m->method) {
	case SIP_METHOD_OPTIONS: {
		struct sip_build_field f[3] = { options_hdrs[0], options_hdrs[1] };
		unsigned n = 2;
		len = 0;
		for (unsigned i = 0; i < w->snap->conf.nsupported; i++) {
			size_t l = strlen(w->snap->conf.supported[i]);
			if (len + l + 2 >= sizeof(buf))
				break;
			if (len) {
				memcpy(buf + len, ", ", 2);
				len += 2;
			}
			memcpy(buf + len, w->snap->conf.supported[i], l);
			len += l;
		}
		if (len)
			f[n++] = (struct sip_build_field){ SV_LIT("Supported"), sv_make(buf, len) };
		reply(w, o, m, 200, (struct sv){ NULL, 0 }, f, n);
		return;
	}
	case SIP_METHOD_CANCEL:
		reply(w, o, m, 481, (struct sv){ NULL, 0 }, NULL, 0);
		return;
	case SIP_METHOD_REGISTER:
		handle_register(w, o, m);
		return;
	default:
		reply(w, o, m, 501, (struct sv){ NULL, 0 }, NULL, 0);
		return;
	}
}

static void handover(struct worker *w, unsigned to, const struct origin *o, const char *data,
		     size_t len)
{
	struct daemon *d = w->d;
	struct ring *r = &d->handover[w->id * d->nworkers + to];
	struct handover **slot = ring_reserve(r);
	struct handover *h = slot ? malloc(sizeof(*h) + len) : NULL;
	if (!h) {
		STAT_INC(w->stats, drops[STATS_DROP_NOBUFS]);
		return;
	}
	h->sock = (uint16_t)o->sock;
	h->srclen = o->srclen;
	memcpy(&h->src, o->src, o->srclen);
	h->len = (uint32_t)len;
	memcpy(h->data, data, len);
	*slot = h;
	ring_commit(r);
	STAT_INC(w->stats, handover_out);
	worker_wake(&d->workers[to]);
}

/* The worker a response belongs to by its top Via branch, or -1 for "not ours". */
static int branch_owner(const struct worker *w, const struct sip_msg *m)
{
	const struct sip_hdr *vh = sip_msg_hdr(m, SIP_HDR_VIA);
	struct sip_via v;
	struct sv rest;
	if (!vh)
		return -1;
	rest = vh->value;
	if (sip_via_next(&rest, &v, NULL) <= 0)
		return -1;
	size_t pl = sizeof(WORKER_BRANCH_PREFIX) - 1;
	if (v.branch.len <= pl || memcmp(v.branch.p, WORKER_BRANCH_PREFIX, pl))
		return -1;
	unsigned id = 0;
	size_t i = pl;
	for (; i < v.branch.len && v.branch.p[i] >= '0' && v.branch.p[i] <= '9' && i < pl + 4; i++)
		id = id * 10 + (unsigned)(v.branch.p[i] - '0');
	if (i == pl || i >= v.branch.len || v.branch.p[i] != '.' || id >= w->d->nworkers)
		return -1;
	return (int)id;
}

/*
 * One message: data[0..len) as received (a datagram, or one framed message of
 * a stream). trunc: a datagram cut at the buffer's end.
 */
static void handle(struct worker *w, const struct origin *o, const char *data, size_t len,
		   bool trunc, bool handed)
{
	struct sip_hdr hdrs[WORKER_MAX_HDRS];
	struct sip_msg m;
	struct sip_check c;
	/* The size limit is applied after parsing (513 needs the headers). */
	struct sip_limits lim = { 65535 + 4096, 65535, WORKER_MAX_HDRS };
	char pbuf[128];
	const struct conf *cf = &w->snap->conf;

	STAT_INC(w->stats, rx_msgs);
	STAT_ADD(w->stats, rx_bytes, len);
	sip_msg_init(&m, hdrs, WORKER_MAX_HDRS);
	int ret = sip_msg_parse(&m, data, len, 0, &lim);

	if (w->snap->tracing) {
		struct sockaddr_storage self;
		local_addr(w, o->sock, o->conn, o->src->sa_family, &self);
		struct sv ci = { NULL, 0 };
		if (ret > 0) {
			const struct sip_hdr *h = sip_msg_hdr(&m, SIP_HDR_CALL_ID);
			if (h)
				ci = h->value;
		}
		trace_msg(w, o->conn != NULL, o->src, (struct sockaddr *)&self, data, len, ci);
	}

	if (ret < 0) {
		STAT_INC(w->stats, parse_errors);
		if (m.type != SIP_MSG_REQUEST || m.hdr_end == 0 ||
		    sip_msg_check(&m, &c) == SIP_CHECK_DROP) {
			STAT_INC(w->stats, drops[m.type == SIP_MSG_RESPONSE ? STATS_DROP_RESPONSE
									    : STATS_DROP_PARSE]);
			return;
		}
		if (c.action)
			reply(w, o, &m, (uint16_t)c.action, phrase(c.reason, pbuf, sizeof(pbuf)),
			      NULL, 0);
		else if (trunc || ret == -EMSGSIZE)
			reply(w, o, &m, 513, (struct sv){ NULL, 0 }, NULL, 0);
		else
			reply(w, o, &m, 400, phrase(m.err.reason, pbuf, sizeof(pbuf)), NULL, 0);
		return;
	}
	if (m.type == SIP_MSG_REQUEST)
		STAT_INC(w->stats, rx_requests[m.method < SIP_METHOD__COUNT ? m.method : 0]);
	else
		STAT_INC(w->stats, rx_responses[m.status / 100]);

	if (sip_msg_check(&m, &c)) {
		STAT_INC(w->stats, parse_errors);
		if (c.action == SIP_CHECK_DROP) {
			STAT_INC(w->stats, drops[STATS_DROP_RESPONSE]);
			return;
		}
		if (!reply(w, o, &m, (uint16_t)c.action, phrase(c.reason, pbuf, sizeof(pbuf)), NULL,
			   0))
			STAT_INC(w->stats, drops[STATS_DROP_PARSE]); /* no Via to answer to */
		return;
	}
	if (trunc || m.msg_len > cf->max_message_size) {
		if (m.type == SIP_MSG_REQUEST)
			reply(w, o, &m, 513, (struct sv){ NULL, 0 }, NULL, 0);
		else
			STAT_INC(w->stats, drops[STATS_DROP_TOO_LARGE]);
		return;
	}
	if (m.type == SIP_MSG_RESPONSE) {
		int owner = branch_owner(w, &m);
		if (owner >= 0 && (unsigned)owner != w->id && !o->conn && !handed) {
			handover(w, (unsigned)owner, o, data, len);
			return;
		}
		if (txn_client_input(&w->txn, &m) >= 0)
			return;
		STAT_INC(w->stats, drops[STATS_DROP_RESPONSE]);
		return;
	}
	handle_request(w, o, &m);
}

/* ---- driver callbacks ---- */

static bool all_crlf(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

static void on_udp(void *arg, unsigned sock, const struct sockaddr *from, socklen_t fromlen,
		   char *data, size_t len, bool trunc)
{
	struct worker *w = arg;
	struct origin o = { .sock = sock, .conn = NULL, .src = from, .srclen = fromlen };
	if (len == 0 || all_crlf(data, len)) {
		STAT_INC(w->stats, keepalives);
		return;
	}
	handle(w, &o, data, len, trunc, false);
}

static void idle_expired(struct timer *t, void *arg)
{
	struct worker *w = arg;
	uint32_t idx = (uint32_t)(t - w->conn_timers);
	struct uio_conn *c = &w->io.conns[idx];
	if (w->conn_hold[idx] > w->now_ms && c->open && !c->closing) {
		/* it carries a binding, or it is ours to an uplink (held for good) */
		uint64_t idle = w->now_ms + (uint64_t)w->snap->conf.tcp_idle_timeout_s * 1000;
		timer_add(&w->tw, t, w->conn_hold[idx] < idle ? w->conn_hold[idx] : idle);
		return;
	}
	if (c->open && !c->closing) {
		STAT_INC(w->stats, tcp_idle_closed);
		uio_close(&w->io, c);
	}
}

static void on_tcp_open(void *arg, struct uio_conn *c)
{
	struct worker *w = arg;
	if (!c->outgoing)
		STAT_INC(w->stats, tcp_accepted);
	STAT_SET(w->stats, tcp_active, uio_nconns(&w->io));
	struct timer *t = &w->conn_timers[c->idx];
	w->conn_hold[c->idx] = c->outgoing ? UINT64_MAX : 0;
	timer_init(t, idle_expired, w);
	timer_add(&w->tw, t, w->now_ms + (uint64_t)w->snap->conf.tcp_idle_timeout_s * 1000);
	if (w->stopping && !c->outgoing)
		uio_close(&w->io, c);
}

static void on_tcp_close(void *arg, struct uio_conn *c, int reason)
{
	struct worker *w = arg;
	(void)reason;
	if (c->connecting) /* an outgoing connect that failed: tcp_open never came */
		return;
	timer_del(&w->tw, &w->conn_timers[c->idx]);
	STAT_INC(w->stats, tcp_closed);
	STAT_SET(w->stats, tcp_active, uio_nconns(&w->io) - 1);
}

static ssize_t on_tcp(void *arg, struct uio_conn *c, char *data, size_t len)
{
	struct worker *w = arg;
	struct origin o = {
		.sock = 0, .conn = c, .src = (const struct sockaddr *)&c->peer, .srclen = c->peerlen
	};
	struct sip_limits lim = { w->snap->conf.max_message_size, w->snap->conf.max_message_size,
				  WORKER_MAX_HDRS };
	size_t used = 0;

	timer_add(&w->tw, &w->conn_timers[c->idx],
		  w->now_ms + (uint64_t)w->snap->conf.tcp_idle_timeout_s * 1000);
	while (used < len) {
		size_t skip = 0;
		struct sip_err err;
		ssize_t n = sip_stream_frame(data + used, len - used, &lim, &skip, &err);
		/* RFC 5626 §4.4.1: a double-CRLF ping gets a single-CRLF pong. */
		for (size_t i = 0; i + 3 < skip; i++) {
			if (!memcmp(data + used + i, "\r\n\r\n", 4)) {
				struct iovec pong = { (void *)"\r\n", 2 };
				uio_send_tcp(&w->io, c, &pong, 1);
				STAT_INC(w->stats, keepalives);
				i += 3;
			}
		}
		if (n == -EAGAIN) {
			/* Keep a partial CRLF run only if it may still become a ping. */
			if (skip == len - used && skip >= 4)
				used += skip - (skip % 4 == 0 ? 0 : skip % 4);
			break;
		}
		if (n == -EMSGSIZE) {
			/* Too large for the stream: answer 513 if the headers are here. */
			struct sip_hdr hdrs[WORKER_MAX_HDRS];
			struct sip_msg m;
			struct sip_check ck;
			struct sip_limits big = { UINT32_MAX, 65535, WORKER_MAX_HDRS };
			sip_msg_init(&m, hdrs, WORKER_MAX_HDRS);
			STAT_INC(w->stats, rx_msgs);
			STAT_INC(w->stats, parse_errors);
			sip_msg_parse(&m, data + used + skip, len - used - skip, SIP_PARSE_STREAM,
				      &big);
			if (m.type == SIP_MSG_REQUEST && m.hdr_end && !sip_msg_check(&m, &ck))
				reply(w, &o, &m, 513, (struct sv){ NULL, 0 }, NULL, 0);
			else
				STAT_INC(w->stats, drops[STATS_DROP_TOO_LARGE]);
			return -1;
		}
		if (n < 0) {
			/* Framing lost: nothing after this can be trusted. */
			STAT_INC(w->stats, rx_msgs);
			STAT_INC(w->stats, parse_errors);
			STAT_INC(w->stats, drops[STATS_DROP_PARSE]);
			return -1;
		}
		handle(w, &o, data + used + skip, (size_t)n, false, false);
		used += skip + (size_t)n;
		if (!c->open || c->closing)
			break;
	}
	return (ssize_t)used;
}

static void drain_handover(struct worker *w)
{
	struct daemon *d = w->d;
	for (unsigned from = 0; from < d->nworkers; from++) {
		struct ring *r = &d->handover[from * d->nworkers + w->id];
		struct handover **slot;
		while ((slot = ring_peek(r))) {
			struct handover *h = *slot;
			ring_release(r);
			STAT_INC(w->stats, handover_in);
			struct origin o = { .sock = h->sock,
					    .conn = NULL,
					    .src = (struct sockaddr *)&h->src,
					    .srclen = h->srclen };
			if (h->sock < w->io.nudp)
				handle(w, &o, h->data, h->len, false, true);
			free(h);
		}
	}
}

static void on_wake(void *arg)
{
	drain_handover(arg);
	drain_keepalives(arg);
	drain_uplinks(arg);
}

static const struct uio_ops worker_ops = {
	.udp = on_udp,
	.tcp = on_tcp,
	.tcp_open = on_tcp_open,
	.tcp_close = on_tcp_close,
	.wake = on_wake,
};

/* ---- the loop ---- */

bool worker_drained(const struct worker *w)
{
	return atomic_load_explicit(&((struct worker *)w)->state, memory_order_acquire) != 1 ||
	       __atomic_load_n(&w->io.tx_used, __ATOMIC_RELAXED) == 0;
}

static void sample_cpu(struct worker *w, uint64_t wall)
{
	uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	STAT_SET(w->stats, loop_busy_ns, cpu - w->cpu_ns0);
	STAT_SET(w->stats, loop_total_ns, wall - w->wall_ns0);
	w->last_sample_ns = wall;
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct daemon *d = w->d;

	if (w->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	w->snap = atomic_load(&d->snap);
	atomic_store(&w->seen_gen, w->snap->gen);
	const struct conf *cf = &w->snap->conf;
	struct uio_params p = {
		.ring_entries = cf->ring_entries,
		.rx_buffers = cf->rx_buffers,
		.rx_buffer_size = cf->rx_buffer_size,
		.tx_slots = cf->ring_entries,
		.max_conns = cf->tcp_max_connections,
		.tcp_max_buffer = cf->tcp_max_buffer,
		.wake_fd = w->wake_fd,
		.connect_timeout_ms = cf->timer_f_ms, /* uplinks over TCP: as long as a request */
	};
	w->conn_timers = calloc(cf->tcp_max_connections, sizeof(*w->conn_timers));
	w->conn_hold = calloc(cf->tcp_max_connections, sizeof(*w->conn_hold));
	int ret = w->conn_timers && w->conn_hold ? uio_init(&w->io, &p, &worker_ops, w) : -ENOMEM;
	if (ret < 0) {
		w->err = ret;
		free(w->conn_hold);
		free(w->conn_timers);
		atomic_store(&w->state, -1);
		return NULL;
	}
	for (unsigned k = 0; k < w->nsocks; k++) {
		w->udp_index[k] = w->lst_index[k] = -1;
		if (w->socks[k].proto == CONF_UDP)
			w->udp_index[k] = uio_add_udp(&w->io, w->fds[k]);
		else
			w->lst_index[k] = uio_add_listener(&w->io, w->fds[k]);
	}
	w->to_tag_salt = clock_ns(CLOCK_REALTIME) ^ ((uint64_t)w->id << 56);
	w->branch_ctr = w->to_tag_salt * 0x9e3779b97f4a7c15ull;
	w->wall_ns0 = clock_ns(CLOCK_MONOTONIC);
	w->cpu_ns0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	w->now_ms = w->wall_ns0 / 1000000;
	w->real_ms = (int64_t)(clock_ns(CLOCK_REALTIME) / 1000000);
	timer_wheel_init(&w->tw, w->now_ms);
	struct txn_timers tm = { cf->t1_ms, cf->t2_ms, cf->t4_ms, cf->timer_b_ms, cf->timer_f_ms };
	ret = txn_table_init(&w->txn, WORKER_TXN_CAP, &tm, &worker_txn_ops, w, &w->tw);
	if (ret == 0) {
		ret = auth_nc_init(&w->nc, 0);
		if (ret < 0)
			txn_table_fini(&w->txn);
	}
	if (ret < 0) {
		w->err = ret;
		uio_fini(&w->io);
		free(w->conn_hold);
		free(w->conn_timers);
		atomic_store(&w->state, -1);
		return NULL;
	}
	atomic_store_explicit(&w->state, 1, memory_order_release);
	LOG_D("worker", "started", "worker=%u cpu=%d ring_flags=0x%x", w->id, w->cpu,
	      w->io.setup_flags);

	for (;;) {
		struct snap *s = atomic_load_explicit(&d->snap, memory_order_acquire);
		if (s != w->snap) {
			w->snap = s;
			/* New transactions use the reloaded timers. */
			w->txn.tm =
				(struct txn_timers){ s->conf.t1_ms, s->conf.t2_ms, s->conf.t4_ms,
						     s->conf.timer_b_ms, s->conf.timer_f_ms };
			atomic_store_explicit(&w->seen_gen, s->gen, memory_order_release);
		}
		uint64_t ae = atomic_load_explicit(&d->acc_epoch, memory_order_acquire);
		if (ae != atomic_load_explicit(&w->acc_seen, memory_order_relaxed)) {
			w->acc_redis =
				atomic_load_explicit(&d->accounts_redis, memory_order_acquire);
			atomic_store_explicit(&w->acc_seen, ae, memory_order_release);
		}
		int stop = atomic_load_explicit(&d->stop, memory_order_acquire);
		if (stop == 2)
			break;
		if (stop == 1 && !w->stopping) {
			w->stopping = true;
			uio_stop_listeners(&w->io);
		}
		uint64_t wall = clock_ns(CLOCK_MONOTONIC);
		w->now_ms = wall / 1000000;
		w->real_ms = (int64_t)(clock_ns(CLOCK_REALTIME_COARSE) / 1000000);
		timer_wheel_advance(&w->tw, w->now_ms);
		if (wall - w->last_sample_ns > 100000000u) {
			sample_cpu(w, wall);
			uio_tick(&w->io);
		}
		STAT_INC(w->stats, loop_iterations);

		int64_t next = timer_wheel_next_ms(&w->tw, w->now_ms);
		int timeout = next < 0 || next > 100 ? 100 : (int)next;
		ret = uio_wait(&w->io, timeout);
		if (ret < 0) {
			LOG_E("worker", "io_uring wait failed", "worker=%u error=\"%s\"", w->id,
			      strerror(-ret));
			break;
		}
		struct uio_counters *k = &w->io.cnt;
		STAT_SET(w->stats, tcp_refused, k->tcp_refused);
		STAT_SET(w->stats, txn_active, w->txn.stats.active);
		STAT_SET(w->stats, txn_retransmissions, w->txn.stats.retransmissions);
		if (w->kick_service) {
			w->kick_service = false;
			uint64_t one = 1;
			ssize_t wr = write(d->service_fd, &one, sizeof(one));
			(void)wr;
		}
	}
	sample_cpu(w, clock_ns(CLOCK_MONOTONIC));
	/* Hand the last sends to the kernel before closing. */
	uio_wait(&w->io, 0);
	w->exiting = true;
	txn_table_end_all(&w->txn); /* frees the jobs kept with transactions */
	txn_table_fini(&w->txn);
	while (w->nupres_wait)
		free(w->upres_wait[--w->nupres_wait]);
	free(w->upres_wait);
	w->upres_wait = NULL;
	free(w->upconn);
	w->upconn = NULL;
	auth_nc_free(&w->nc);
	uio_fini(&w->io);
	free(w->conn_timers);
	w->conn_timers = NULL;
	free(w->conn_hold);
	w->conn_hold = NULL;
	atomic_store_explicit(&w->state, 2, memory_order_release);
	return NULL;
}
