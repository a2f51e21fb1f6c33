/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/trace.h: the filter in every mode, records, the pcap file read
 * back octet by octet (headers, checksums, TCP sequence numbers, append, torn
 * tails, a failing disk), and the same files read by tshark, which must show
 * the SIP fields an operator looks at.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/trace.h"
#include "tests/guard.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char dir[256];

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/sipring-trace-XXXXXX", tmp && *tmp ? tmp : "/tmp");
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

TestSuite(trace, .init = setup, .fini = teardown);

static const char *in_dir(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* "192.0.2.1:5060" or "[2001:db8::1]:5060" (the port may be left out). */
static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;
	char host[64];
	const char *colon;
	unsigned port = 0;

	memset(&ss, 0, sizeof(ss));
	if (text[0] == '[') {
		const char *rb = strchr(text, ']');
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		cr_assert_not_null(rb);
		snprintf(host, sizeof(host), "%.*s", (int)(rb - text - 1), text + 1);
		if (rb[1] == ':')
			port = (unsigned)atoi(rb + 2);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		cr_assert_eq(inet_pton(AF_INET6, host, &in6->sin6_addr), 1, "%s", text);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		colon = strchr(text, ':');
		snprintf(host, sizeof(host), "%.*s",
			 colon ? (int)(colon - text) : (int)strlen(text), text);
		if (colon)
			port = (unsigned)atoi(colon + 1);
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		cr_assert_eq(inet_pton(AF_INET, host, &in->sin_addr), 1, "%s", text);
	}
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* ---- trace_match ---- */

static const char reg[] = "REGISTER sip:example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK1\r\n"
			  "Call-ID: abc@192.0.2.10\r\n"
			  "CSeq: 1 REGISTER\r\n"
			  "Content-Length: 0\r\n"
			  "\r\n";

Test(trace, match_table)
{
	static const struct {
		const char *what;
		int mode;
		const char *ip;	     /* TRACE_IP */
		const char *call_id; /* TRACE_CALLID */
		const char *src, *dst;
		const char *msg;
		const char *parsed; /* the caller's Call-ID, NULL when not parsed */
		bool want;
	} t[] = {
		{ "off", TRACE_OFF, NULL, NULL, "192.0.2.10:5070", "192.0.2.1:5060", reg, NULL,
		  false },
		{ "unknown mode", 7, NULL, NULL, "192.0.2.10:5070", "192.0.2.1:5060", reg, NULL,
		  false },
		{ "all", TRACE_ALL, NULL, NULL, "192.0.2.10:5070", "192.0.2.1:5060", reg, NULL,
		  true },
		{ "all, empty message", TRACE_ALL, NULL, NULL, "192.0.2.10:5070", "192.0.2.1:5060",
		  "", NULL, true },
		{ "ip as src", TRACE_IP, "192.0.2.10", NULL, "192.0.2.10:5070", "192.0.2.1:5060",
		  reg, NULL, true },
		{ "ip as dst", TRACE_IP, "192.0.2.1", NULL, "192.0.2.10:5070", "192.0.2.1:5060",
		  reg, NULL, true },
		{ "ip: the port is ignored", TRACE_IP, "192.0.2.1:9", NULL, "192.0.2.10:5070",
		  "192.0.2.1:5060", reg, NULL, true },
		{ "ip neither", TRACE_IP, "192.0.2.11", NULL, "192.0.2.10:5070", "192.0.2.1:5060",
		  reg, NULL, false },
		{ "ip v6 as src", TRACE_IP, "[2001:db8::10]", NULL, "[2001:db8::10]:5070",
		  "[2001:db8::1]:5060", reg, NULL, true },
		{ "ip v6 as dst", TRACE_IP, "[2001:db8::1]", NULL, "[2001:db8::10]:5070",
		  "[2001:db8::1]:5060", reg, NULL, true },
		{ "ip v6 neither", TRACE_IP, "[2001:db8::2]", NULL, "[2001:db8::10]:5070",
		  "[2001:db8::1]:5060", reg, NULL, false },
		{ "ip v4 filter, v4-mapped peer", TRACE_IP, "192.0.2.10", NULL,
		  "[::ffff:192.0.2.10]:5070", "[::ffff:192.0.2.1]:5060", reg, NULL, true },
		{ "ip v4-mapped filter, v4 peer", TRACE_IP, "[::ffff:192.0.2.1]", NULL,
		  "192.0.2.10:5070", "192.0.2.1:5060", reg, NULL, true },
		{ "ip v4 filter, v6 peers", TRACE_IP, "192.0.2.10", NULL, "[2001:db8::10]:5070",
		  "[2001:db8::1]:5060", reg, NULL, false },
		{ "call-id full form", TRACE_CALLID, NULL, "abc@192.0.2.10", "192.0.2.10:5070",
		  "192.0.2.1:5060", reg, NULL, true },
		{ "call-id compact form", TRACE_CALLID, NULL, "abc@192.0.2.10", "192.0.2.10:5070",
		  "192.0.2.1:5060",
		  "SIP/2.0 200 OK\r\nv: SIP/2.0/UDP h\r\ni: abc@192.0.2.10\r\n\r\n", NULL, true },
		{ "call-id name in any case, no space, bare LF", TRACE_CALLID, NULL,
		  "abc@192.0.2.10", "192.0.2.10:5070", "192.0.2.1:5060",
		  "BYE sip:a SIP/2.0\ncALL-iD:abc@192.0.2.10\n\n", NULL, true },
		{ "call-id white space around name and value", TRACE_CALLID, NULL, "abc@192.0.2.10",
		  "192.0.2.10:5070", "192.0.2.1:5060",
		  "BYE sip:a SIP/2.0\r\nCall-ID \t:  abc@192.0.2.10 \t\r\n\r\n", NULL, true },
		{ "call-id as the last octets, no CRLF", TRACE_CALLID, NULL, "abc@192.0.2.10",
		  "192.0.2.10:5070", "192.0.2.1:5060", "BYE sip:a SIP/2.0\r\ni:abc@192.0.2.10",
		  NULL, true },
		{ "call-id not matching", TRACE_CALLID, NULL, "abd@192.0.2.10", "192.0.2.10:5070",
		  "192.0.2.1:5060", reg, NULL, false },
		{ "call-id a prefix of it", TRACE_CALLID, NULL, "abc", "192.0.2.10:5070",
		  "192.0.2.1:5060", reg, NULL, false },
		{ "call-id case matters", TRACE_CALLID, NULL, "ABC@192.0.2.10", "192.0.2.10:5070",
		  "192.0.2.1:5060", reg, NULL, false },
		{ "call-id only in the body", TRACE_CALLID, NULL, "abc", "192.0.2.10:5070",
		  "192.0.2.1:5060", "MESSAGE sip:a SIP/2.0\r\nCall-ID: x\r\n\r\nCall-ID: abc\r\n",
		  NULL, false },
		{ "call-id only in the start line", TRACE_CALLID, NULL, "abc", "192.0.2.10:5070",
		  "192.0.2.1:5060", "INVITE sip:i:abc SIP/2.0\r\nTo: <sip:b>\r\n\r\n", NULL,
		  false },
		{ "call-id folded line is not a header", TRACE_CALLID, NULL, "abc",
		  "192.0.2.10:5070", "192.0.2.1:5060",
		  "INVITE sip:a SIP/2.0\r\nSubject: x\r\n i: abc\r\n\r\n", NULL, false },
		{ "call-id other header ending in i", TRACE_CALLID, NULL, "abc", "192.0.2.10:5070",
		  "192.0.2.1:5060", "INVITE sip:a SIP/2.0\r\nXi: abc\r\nP-Call-ID: abc\r\n\r\n",
		  NULL, false },
		{ "call-id no header at all", TRACE_CALLID, NULL, "abc", "192.0.2.10:5070",
		  "192.0.2.1:5060", "a TCP continuation without a line end", NULL, false },
		{ "call-id given by the caller wins", TRACE_CALLID, NULL, "parsed",
		  "192.0.2.10:5070", "192.0.2.1:5060", reg, "parsed", true },
		{ "call-id given by the caller, other", TRACE_CALLID, NULL, "abc@192.0.2.10",
		  "192.0.2.10:5070", "192.0.2.1:5060", reg, "other", false },
		{ "call-id filter empty", TRACE_CALLID, NULL, "", "192.0.2.10:5070",
		  "192.0.2.1:5060", "BYE sip:a SIP/2.0\r\ni:\r\n\r\n", NULL, false },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct trace_filter f = { .mode = t[i].mode };
		struct sockaddr_storage s = addr(t[i].src), d = addr(t[i].dst);
		size_t n = strlen(t[i].msg);
		/* Against a guard page: the Call-ID scan must not read past the message. */
		const char *m = guard_place(t[i].msg, n);
		struct sv parsed = t[i].parsed ? sv_cstr(t[i].parsed) : SV_NULL;

		if (t[i].ip)
			f.ip = addr(t[i].ip);
		if (t[i].call_id) {
			f.call_id = t[i].call_id;
			f.call_id_len = strlen(t[i].call_id);
		}
		cr_expect_eq(trace_match(&f, SA(s), SA(d), m, n, parsed), t[i].want, "%s",
			     t[i].what);
	}
	{
		struct sockaddr_storage s = addr("192.0.2.1"), d = addr("192.0.2.2");

		cr_expect_not(trace_match(NULL, SA(s), SA(d), reg, strlen(reg), SV_NULL));
	}
}

/* ---- records ---- */

Test(trace, rec_new)
{
	struct sockaddr_storage s = addr("[2001:db8::10]:5070"), d = addr("192.0.2.1:5060");
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct trace_rec *r = trace_rec_new(TRACE_TCP, SA(s), SA(d), reg, strlen(reg));

	cr_assert_not_null(r);
	cr_expect_eq(r->proto, TRACE_TCP);
	cr_expect_eq(r->len, strlen(reg));
	cr_expect(memcmp(r->data, reg, r->len) == 0);
	cr_expect(memcmp(&r->src, &s, sizeof(struct sockaddr_in6)) == 0);
	cr_expect(memcmp(&r->dst, &d, sizeof(struct sockaddr_in)) == 0);
	cr_expect_gt(r->ts_ns, (uint64_t)1600000000 * 1000000000);
	free(r);

	r = trace_rec_new(TRACE_UDP, SA(s), SA(d), NULL, 0);
	cr_assert_not_null(r);
	cr_expect_eq(r->len, 0);
	free(r);

	static const struct {
		uint8_t proto;
		bool unix_src, unix_dst;
		int err;
	} t[] = {
		{ 1, false, false, EPROTONOSUPPORT },
		{ TRACE_UDP, true, false, EAFNOSUPPORT },
		{ TRACE_TCP, false, true, EAFNOSUPPORT },
	};
	for (size_t i = 0; i < N(t); i++) {
		errno = 0;
		r = trace_rec_new(t[i].proto, t[i].unix_src ? (struct sockaddr *)&un : SA(s),
				  t[i].unix_dst ? (struct sockaddr *)&un : SA(d), reg, 4);
		cr_expect_null(r, "row %zu", i);
		cr_expect_eq(errno, t[i].err, "row %zu: errno %d", i, errno);
		free(r);
	}
}

/* ---- reading the file back ---- */

struct pkt {
	uint32_t ts_sec, ts_nsec;
	int ipver;
	uint8_t src[16], dst[16]; /* IPv4: the first 4 */
	uint8_t proto;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t tcp_flags;
	bool ip_csum_ok, l4_csum_ok;
	uint16_t udp_csum;
	const uint8_t *payload;
	size_t plen;
};

struct pcap {
	uint8_t *data;
	size_t len;
	struct pkt *pkts;
	size_t n;
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 1071, the obvious way: a valid header or segment sums to 0xffff. */
static uint32_t sum16(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += be16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Parse the whole file, asserting its structure. */
static struct pcap pcap_read(const char *path)
{
	struct pcap pc = { 0 };
	size_t off = 24, cap = 0;

	pc.data = slurp(path, &pc.len);
	cr_assert_geq(pc.len, 24);
	cr_assert_eq(le32(pc.data), 0xa1b23c4d, "magic %08x", le32(pc.data));
	cr_assert_eq(pc.data[4] | pc.data[5] << 8, 2);
	cr_assert_eq(pc.data[6] | pc.data[7] << 8, 4);
	cr_assert_eq(le32(pc.data + 16), 262144);
	cr_assert_eq(le32(pc.data + 20), 101);
	while (off < pc.len) {
		struct pkt k = { 0 };
		const uint8_t *ip, *l4;
		uint32_t caplen, s;
		size_t l4len;

		cr_assert_leq(off + 16, pc.len, "torn record header at %zu", off);
		caplen = le32(pc.data + off + 8);
		cr_assert_eq(le32(pc.data + off + 12), caplen);
		cr_assert_leq(off + 16 + caplen, pc.len, "torn record at %zu", off);
		cr_assert_leq(caplen, 40 + 65535); /* IPv6: payload length excludes its header */
		k.ts_sec = le32(pc.data + off);
		k.ts_nsec = le32(pc.data + off + 4);
		cr_assert_lt(k.ts_nsec, 1000000000);
		ip = pc.data + off + 16;
		k.ipver = ip[0] >> 4;
		if (k.ipver == 4) {
			cr_assert_eq(ip[0], 0x45);
			cr_assert_eq(be16(ip + 2), caplen);
			cr_assert_eq(be16(ip + 6), 0x4000);
			k.ip_csum_ok = sum16(0, ip, 20) == 0xffff;
			k.proto = ip[9];
			memcpy(k.src, ip + 12, 4);
			memcpy(k.dst, ip + 16, 4);
			l4 = ip + 20;
			l4len = caplen - 20;
			s = sum16(0, ip + 12, 8);
		} else {
			cr_assert_eq(k.ipver, 6);
			cr_assert_eq(be16(ip + 4), caplen - 40);
			k.ip_csum_ok = true;
			k.proto = ip[6];
			memcpy(k.src, ip + 8, 16);
			memcpy(k.dst, ip + 24, 16);
			l4 = ip + 40;
			l4len = caplen - 40;
			s = sum16(0, ip + 8, 32);
		}
		s = sum16(s + k.proto + (uint32_t)l4len, l4, l4len);
		k.l4_csum_ok = s == 0xffff;
		k.sport = be16(l4);
		k.dport = be16(l4 + 2);
		if (k.proto == 17) {
			cr_assert_eq(be16(l4 + 4), l4len);
			k.udp_csum = be16(l4 + 6);
			k.payload = l4 + 8;
			k.plen = l4len - 8;
		} else {
			cr_assert_eq(k.proto, 6);
			cr_assert_eq(l4[12], 0x50);
			k.seq = be32(l4 + 4);
			k.ack = be32(l4 + 8);
			k.tcp_flags = l4[13];
			k.payload = l4 + 20;
			k.plen = l4len - 20;
		}
		if (pc.n == cap) {
			cap = cap ? 2 * cap : 16;
			pc.pkts = realloc(pc.pkts, cap * sizeof(*pc.pkts));
			cr_assert_not_null(pc.pkts);
		}
		pc.pkts[pc.n++] = k;
		off += 16 + caplen;
	}
	return pc;
}

static void pcap_free(struct pcap *pc)
{
	free(pc->data);
	free(pc->pkts);
}

/* One message to trace: proto, "src", "dst", octets (len 0: strlen). */
struct msg {
	uint8_t proto;
	const char *src, *dst;
	const char *data;
	size_t len;
	uint64_t ts_ns;
};

static void write_msgs(const char *path, const struct msg *m, size_t n)
{
	struct trace_file *tf = NULL;

	cr_assert_eq(trace_open(&tf, path), 0, "%s", path);
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage s = addr(m[i].src), d = addr(m[i].dst);
		size_t len = m[i].len ? m[i].len : strlen(m[i].data);
		struct trace_rec *r = trace_rec_new(m[i].proto, SA(s), SA(d), m[i].data, len);
		int ret;

		cr_assert_not_null(r);
		if (m[i].ts_ns)
			r->ts_ns = m[i].ts_ns;
		ret = trace_write(tf, r);
		cr_assert_eq(ret, 0, "message %zu: %s", i, strerror(-ret));
		free(r);
	}
	cr_assert_eq(trace_flush(tf), 0);
	trace_close(tf);
}

static bool ip_is(const struct pkt *k, const char *text)
{
	uint8_t a[16];

	if (k->ipver == 4)
		return inet_pton(AF_INET, text, a) == 1 && memcmp(a, k->src, 4) == 0;
	return inet_pton(AF_INET6, text, a) == 1 && memcmp(a, k->src, 16) == 0;
}

/* ---- the call flow that both the octet checks and tshark read ---- */

static const char reg_5070[] = "REGISTER sip:example.com SIP/2.0\r\n"
			       "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-r1\r\n"
			       "From: <sip:alice@example.com>;tag=a1\r\n"
			       "To: <sip:alice@example.com>\r\n"
			       "Call-ID: reg-1@192.0.2.10\r\n"
			       "CSeq: 1 REGISTER\r\n"
			       "Contact: <sip:alice@192.0.2.10:5070>\r\n"
			       "Max-Forwards: 70\r\n"
			       "Expires: 3600\r\n"
			       "Content-Length: 0\r\n"
			       "\r\n";
static const char ok_5070[] = "SIP/2.0 200 OK\r\n"
			      "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-r1\r\n"
			      "From: <sip:alice@example.com>;tag=a1\r\n"
			      "To: <sip:alice@example.com>;tag=s1\r\n"
			      "Call-ID: reg-1@192.0.2.10\r\n"
			      "CSeq: 1 REGISTER\r\n"
			      "Contact: <sip:alice@192.0.2.10:5070>;expires=3600\r\n"
			      "Content-Length: 0\r\n"
			      "\r\n";
static const char opt_v6[] = "OPTIONS sip:[2001:db8::1] SIP/2.0\r\n"
			     "v: SIP/2.0/UDP [2001:db8::10]:5070;branch=z9hG4bK-o1\r\n"
			     "f: <sip:probe@[2001:db8::10]>;tag=o1\r\n"
			     "t: <sip:[2001:db8::1]>\r\n"
			     "i: opt-6@2001:db8::10\r\n"
			     "CSeq: 7 OPTIONS\r\n"
			     "Max-Forwards: 70\r\n"
			     "l: 0\r\n"
			     "\r\n";
static const char opt_v6_ok[] = "SIP/2.0 200 OK\r\n"
				"v: SIP/2.0/UDP [2001:db8::10]:5070;branch=z9hG4bK-o1\r\n"
				"f: <sip:probe@[2001:db8::10]>;tag=o1\r\n"
				"t: <sip:[2001:db8::1]>;tag=p1\r\n"
				"i: opt-6@2001:db8::10\r\n"
				"CSeq: 7 OPTIONS\r\n"
				"l: 0\r\n"
				"\r\n";
/* The INVITE arrives in two TCP reads, cut inside a header and again in the body. */
static const char invite_a[] = "INVITE sip:+15551234567@192.0.2.1:5070;transport=tcp SIP/2.0\r\n"
			       "Via: SIP/2.0/TCP 192.0.2.20:40000;branch=z9hG4bK-i1\r\n"
			       "From: <sip:+15550000001@192.0.2.20>;tag=c1\r\n"
			       "To: <sip:+15551234567@192.0.2.1>\r\n"
			       "Call-ID: inv-1@192.0.2.20\r\n"
			       "CSeq: 1 INV";
static const char invite_b[] = "ITE\r\n"
			       "Contact: <sip:+15550000001@192.0.2.20:40000;transport=tcp>\r\n"
			       "Max-Forwards: 70\r\n"
			       "Content-Type: application/sdp\r\n"
			       "Content-Length: 129\r\n"
			       "\r\n"
			       "v=0\r\n"
			       "o=- 1 1 IN IP4 192.0.2.20\r\n"
			       "s=-\r\n"
			       "c=IN IP4 192.0.2.20\r\n"
			       "t=0 0\r\n"
			       "m=audio 20000 RTP/AVP 0 8 101\r\n"
			       "a=rtpmap:101 telephone-event/8000\r\n";
static const char trying[] = "SIP/2.0 100 Trying\r\n"
			     "Via: SIP/2.0/TCP 192.0.2.20:40000;branch=z9hG4bK-i1\r\n"
			     "From: <sip:+15550000001@192.0.2.20>;tag=c1\r\n"
			     "To: <sip:+15551234567@192.0.2.1>\r\n"
			     "Call-ID: inv-1@192.0.2.20\r\n"
			     "CSeq: 1 INVITE\r\n"
			     "Content-Length: 0\r\n"
			     "\r\n";
static const char ringing[] = "SIP/2.0 180 Ringing\r\n"
			      "Via: SIP/2.0/TCP 192.0.2.20:40000;branch=z9hG4bK-i1\r\n"
			      "From: <sip:+15550000001@192.0.2.20>;tag=c1\r\n"
			      "To: <sip:+15551234567@192.0.2.1>;tag=s9\r\n"
			      "Call-ID: inv-1@192.0.2.20\r\n"
			      "CSeq: 1 INVITE\r\n"
			      "Content-Length: 0\r\n"
			      "\r\n";

static const struct msg flow_5070[] = {
	{ TRACE_UDP, "192.0.2.10:5070", "192.0.2.1:5070", reg_5070, 0, 0 },
	{ TRACE_UDP, "192.0.2.1:5070", "192.0.2.10:5070", ok_5070, 0, 0 },
	{ TRACE_UDP, "[2001:db8::10]:5070", "[2001:db8::1]:5070", opt_v6, 0, 0 },
	{ TRACE_UDP, "[2001:db8::1]:5070", "[2001:db8::10]:5070", opt_v6_ok, 0, 0 },
	{ TRACE_TCP, "192.0.2.20:40000", "192.0.2.1:5070", invite_a, 0, 0 },
	{ TRACE_TCP, "192.0.2.20:40000", "192.0.2.1:5070", invite_b, 0, 0 },
	{ TRACE_TCP, "192.0.2.1:5070", "192.0.2.20:40000", trying, 0, 0 },
	{ TRACE_TCP, "192.0.2.1:5070", "192.0.2.20:40000", ringing, 0, 0 },
};

Test(trace, octets_of_a_call_flow)
{
	const char *path = in_dir("flow.pcap");
	struct pcap pc;

	write_msgs(path, flow_5070, N(flow_5070));
	pc = pcap_read(path);
	cr_assert_eq(pc.n, N(flow_5070));
	for (size_t i = 0; i < pc.n; i++) {
		const struct pkt *k = &pc.pkts[i];
		const struct msg *m = &flow_5070[i];
		struct sockaddr_storage s = addr(m->src), d = addr(m->dst);
		uint16_t sport = ntohs(((struct sockaddr_in *)&s)->sin_port);
		uint16_t dport = ntohs(((struct sockaddr_in *)&d)->sin_port);
		char host[64];

		cr_expect_eq(k->ipver, s.ss_family == AF_INET ? 4 : 6, "packet %zu", i);
		cr_expect_eq(k->proto, m->proto, "packet %zu", i);
		snprintf(host, sizeof(host), "%s", m->src[0] == '[' ? m->src + 1 : m->src);
		*strchr(host, m->src[0] == '[' ? ']' : ':') = 0;
		cr_expect(ip_is(k, host), "packet %zu: source", i);
		cr_expect_eq(k->sport, sport, "packet %zu", i);
		cr_expect_eq(k->dport, dport, "packet %zu", i);
		cr_expect(k->ip_csum_ok, "packet %zu: IPv4 header checksum", i);
		cr_expect(k->l4_csum_ok, "packet %zu: UDP/TCP checksum", i);
		if (m->proto == TRACE_UDP)
			cr_expect_neq(k->udp_csum, 0, "packet %zu: a UDP checksum is there", i);
		else
			cr_expect_eq(k->tcp_flags, 0x18, "packet %zu: ACK|PSH", i);
		cr_expect_eq(k->plen, strlen(m->data), "packet %zu", i);
		cr_expect(memcmp(k->payload, m->data, k->plen) == 0, "packet %zu: payload", i);
	}
	/* TCP: each direction contiguous, each ack the other direction's next octet. */
	cr_expect_eq(pc.pkts[5].seq, pc.pkts[4].seq + strlen(invite_a));
	cr_expect_eq(pc.pkts[7].seq, pc.pkts[6].seq + strlen(trying));
	cr_expect_eq(pc.pkts[6].ack, pc.pkts[5].seq + strlen(invite_b));
	cr_expect_eq(pc.pkts[7].ack, pc.pkts[6].ack);
	cr_expect_eq(pc.pkts[4].ack, pc.pkts[6].seq);
	cr_expect_eq(pc.pkts[5].ack, pc.pkts[6].seq);
	pcap_free(&pc);
}

Test(trace, timestamps_in_nanoseconds)
{
	const char *path = in_dir("ts.pcap");
	const struct msg m[] = {
		{ TRACE_UDP, "192.0.2.1:5060", "192.0.2.2:5060", reg, 0, 1700000000123456789u },
		{ TRACE_UDP, "192.0.2.1:5060", "192.0.2.2:5060", reg, 0, 1700000001000000000u },
		{ TRACE_UDP, "192.0.2.1:5060", "192.0.2.2:5060", reg, 0, 1 },
	};
	struct pcap pc;

	write_msgs(path, m, N(m));
	pc = pcap_read(path);
	cr_assert_eq(pc.n, 3);
	cr_expect_eq(pc.pkts[0].ts_sec, 1700000000);
	cr_expect_eq(pc.pkts[0].ts_nsec, 123456789);
	cr_expect_eq(pc.pkts[1].ts_sec, 1700000001);
	cr_expect_eq(pc.pkts[1].ts_nsec, 0);
	cr_expect_eq(pc.pkts[2].ts_sec, 0);
	cr_expect_eq(pc.pkts[2].ts_nsec, 1);
	pcap_free(&pc);
}

/* Families: IPv4 when both ends are IPv4 (or mapped), else IPv6 with mapped IPv4. */
Test(trace, address_families)
{
	static const struct {
		const char *src, *dst;
		int ipver;
		const char *src_ip; /* as written */
	} t[] = {
		{ "192.0.2.1:5060", "192.0.2.2:5060", 4, "192.0.2.1" },
		{ "[::ffff:192.0.2.1]:5060", "[::ffff:192.0.2.2]:5060", 4, "192.0.2.1" },
		{ "[::ffff:192.0.2.1]:5060", "192.0.2.2:5060", 4, "192.0.2.1" },
		{ "192.0.2.1:5060", "[2001:db8::2]:5060", 6, "::ffff:192.0.2.1" },
		{ "[2001:db8::1]:5060", "192.0.2.2:5060", 6, "2001:db8::1" },
		{ "[2001:db8::1]:5060", "[2001:db8::2]:5060", 6, "2001:db8::1" },
	};
	for (int proto = 0; proto < 2; proto++) {
		struct msg m[N(t)];
		struct pcap pc;

		for (size_t i = 0; i < N(t); i++)
			m[i] = (struct msg){ proto ? TRACE_TCP : TRACE_UDP, t[i].src, t[i].dst,
					     reg };
		write_msgs(in_dir("fam.pcap"), m, N(m));
		pc = pcap_read(in_dir("fam.pcap"));
		cr_assert_eq(pc.n, N(t));
		for (size_t i = 0; i < N(t); i++) {
			cr_expect_eq(pc.pkts[i].ipver, t[i].ipver, "row %zu", i);
			cr_expect(ip_is(&pc.pkts[i], t[i].src_ip), "row %zu", i);
			cr_expect(pc.pkts[i].ip_csum_ok && pc.pkts[i].l4_csum_ok, "row %zu", i);
		}
		pcap_free(&pc);
		unlink(in_dir("fam.pcap"));
	}
}

/* Sizes: where one packet ends, a second TCP segment begins, and UDP refuses. */
Test(trace, sizes)
{
	static const struct {
		uint8_t proto;
		const char *src, *dst;
		size_t len;
		int ret;
		size_t segs; /* packets written */
	} t[] = {
		{ TRACE_UDP, "192.0.2.1:5060", "192.0.2.2:5060", 0, 0, 1 },
		{ TRACE_UDP, "192.0.2.1:5060", "192.0.2.2:5060", 60000, 0, 1 },
		{ TRACE_UDP, "192.0.2.1:5060", "192.0.2.2:5060", TRACE_UDP_MAX4, 0, 1 },
		{ TRACE_UDP, "192.0.2.1:5060", "192.0.2.2:5060", TRACE_UDP_MAX4 + 1, -EMSGSIZE, 0 },
		{ TRACE_UDP, "[2001:db8::1]:5060", "[2001:db8::2]:5060", TRACE_UDP_MAX6, 0, 1 },
		{ TRACE_UDP, "[2001:db8::1]:5060", "[2001:db8::2]:5060", TRACE_UDP_MAX6 + 1,
		  -EMSGSIZE, 0 },
		{ TRACE_TCP, "192.0.2.1:5060", "192.0.2.2:5060", 0, 0, 1 },
		{ TRACE_TCP, "192.0.2.1:5060", "192.0.2.2:5060", TRACE_TCP_SEG4, 0, 1 },
		{ TRACE_TCP, "192.0.2.1:5060", "192.0.2.2:5060", TRACE_TCP_SEG4 + 1, 0, 2 },
		{ TRACE_TCP, "192.0.2.1:5060", "192.0.2.2:5060", 65535, 0, 2 },
		{ TRACE_TCP, "192.0.2.1:5060", "192.0.2.2:5060", 300000, 0, 5 },
		{ TRACE_TCP, "[2001:db8::1]:5060", "[2001:db8::2]:5060", TRACE_TCP_SEG6, 0, 1 },
		{ TRACE_TCP, "[2001:db8::1]:5060", "[2001:db8::2]:5060", TRACE_TCP_SEG6 + 1, 0, 2 },
	};
	char *data = malloc(300000);

	cr_assert_not_null(data);
	for (size_t i = 0; i < 300000; i++)
		data[i] = (char)('a' + i % 26);
	for (size_t i = 0; i < N(t); i++) {
		struct sockaddr_storage s = addr(t[i].src), d = addr(t[i].dst);
		struct trace_file *tf = NULL;
		struct trace_rec *r = trace_rec_new(t[i].proto, SA(s), SA(d), data, t[i].len);
		size_t got = 0;
		struct pcap pc;

		cr_assert_not_null(r);
		cr_assert_eq(trace_open(&tf, in_dir("size.pcap")), 0);
		cr_expect_eq(trace_write(tf, r), t[i].ret, "row %zu", i);
		trace_close(tf);
		free(r);
		pc = pcap_read(in_dir("size.pcap"));
		cr_expect_eq(pc.n, t[i].segs, "row %zu: %zu packets", i, pc.n);
		for (size_t k = 0; k < pc.n; k++) {
			const struct pkt *p = &pc.pkts[k];

			cr_expect(p->l4_csum_ok, "row %zu packet %zu", i, k);
			cr_expect(memcmp(p->payload, data + got, p->plen) == 0, "row %zu", i);
			if (k)
				cr_expect_eq(p->seq, pc.pkts[k - 1].seq + pc.pkts[k - 1].plen);
			got += p->plen;
		}
		cr_expect_eq(got, t[i].segs ? t[i].len : 0, "row %zu", i);
		pcap_free(&pc);
		unlink(in_dir("size.pcap")); /* not appended to by the next row */
	}
	free(data);
}

/* More flows than the table holds: the recent ones stay contiguous. */
Test(trace, many_flows)
{
	struct trace_file *tf = NULL;
	struct sockaddr_storage srv = addr("192.0.2.1:5060"), peer = addr("198.51.100.7:1");
	struct trace_rec *r;
	uint32_t seq0;
	struct pcap pc;

	cr_assert_eq(trace_open(&tf, in_dir("many.pcap")), 0);
	for (unsigned i = 0; i < 4 * TRACE_FLOWS; i++) {
		struct sockaddr_storage c = peer;

		((struct sockaddr_in *)&c)->sin_port = htons((uint16_t)(1024 + i));
		r = trace_rec_new(TRACE_TCP, SA(c), SA(srv), reg, 10);
		cr_assert_not_null(r);
		cr_assert_eq(trace_write(tf, r), 0);
		free(r);
		/* and one flow kept busy all along */
		r = trace_rec_new(TRACE_TCP, SA(peer), SA(srv), reg, 3);
		cr_assert_eq(trace_write(tf, r), 0);
		free(r);
	}
	trace_close(tf);
	pc = pcap_read(in_dir("many.pcap"));
	cr_assert_eq(pc.n, 8 * TRACE_FLOWS);
	seq0 = pc.pkts[1].seq;
	for (size_t i = 1; i < pc.n; i += 2)
		cr_assert_eq(pc.pkts[i].seq, seq0 + 3 * (uint32_t)(i / 2), "packet %zu", i);
	pcap_free(&pc);
}

/* ---- open: new, append, torn tails, not ours ---- */

static void put_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

Test(trace, open_appends_to_its_own_pcap)
{
	const char *path = in_dir("app.pcap");
	const struct msg one[] = { { TRACE_UDP, "192.0.2.1:5060", "192.0.2.2:5060", reg } };
	struct pcap pc;
	size_t len;
	uint8_t *data;
	struct stat st;
	mode_t mask;

	write_msgs(path, one, 1);
	write_msgs(path, one, 1);
	pc = pcap_read(path);
	cr_expect_eq(pc.n, 2);
	pcap_free(&pc);
	cr_assert_eq(stat(path, &st), 0);
	mask = umask(0);
	umask(mask);
	cr_expect_eq(st.st_mode & 0777, 0640 & ~mask, "mode %o", st.st_mode & 0777);

	/* A torn last record (header only, then half a packet) is cut off. */
	data = slurp(path, &len);
	for (size_t cut = 1; cut < 16 + 20 + 8 + strlen(reg); cut += 7) {
		put_file(path, data, len - cut);
		write_msgs(path, one, 1);
		pc = pcap_read(path);
		cr_expect_eq(pc.n, 2, "cut %zu: %zu packets", cut, pc.n);
		pcap_free(&pc);
	}
	/* A torn global header of ours: a new file. */
	put_file(path, data, 10);
	write_msgs(path, one, 1);
	pc = pcap_read(path);
	cr_expect_eq(pc.n, 1);
	pcap_free(&pc);
	free(data);
}

Test(trace, open_leaves_other_files_alone)
{
	static const struct {
		const char *what;
		uint8_t head[24];
		size_t len;
		int ret;
	} t[] = {
		{ "text", "hello, world\n", 13, -EEXIST },
		{ "microsecond pcap",
		  { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 101 },
		  24,
		  -EEXIST },
		{ "big-endian pcap",
		  { 0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0,
		    0,	  0,	0,    0,    0, 4, 0, 0, 0, 0, 0, 101 },
		  24,
		  -EEXIST },
		{ "ethernet pcap",
		  { 0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1 },
		  24,
		  -EEXIST },
		{ "small snaplen",
		  { 0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 101 },
		  24,
		  -EEXIST },
		{ "a prefix of something else", { 0x4d, 0x3c, 0xb2, 0xa1, 3 }, 5, -EEXIST },
	};
	const char *path = in_dir("other");

	for (size_t i = 0; i < N(t); i++) {
		struct trace_file *tf = NULL;
		size_t len;
		uint8_t *back;

		put_file(path, t[i].head, t[i].len);
		cr_expect_eq(trace_open(&tf, path), t[i].ret, "%s", t[i].what);
		cr_expect_null(tf);
		back = slurp(path, &len);
		cr_expect_eq(len, t[i].len, "%s: untouched", t[i].what);
		cr_expect(memcmp(back, t[i].head, len) == 0, "%s: untouched", t[i].what);
		free(back);
	}
}

Test(trace, open_refuses_a_damaged_record_inside)
{
	const char *path = in_dir("bad.pcap");
	const struct msg m[] = {
		{ TRACE_UDP, "192.0.2.1:5060", "192.0.2.2:5060", reg },
		{ TRACE_UDP, "192.0.2.1:5060", "192.0.2.2:5060", reg },
	};
	struct trace_file *tf = NULL;
	uint8_t *data;
	size_t len;

	write_msgs(path, m, N(m));
	data = slurp(path, &len);
	data[24 + 8 + 3] = 0x7f; /* the first record's incl_len: 2 GB */
	put_file(path, data, len);
	cr_expect_eq(trace_open(&tf, path), -EBADMSG);
	free(data);
	data = slurp(path, &len);
	cr_expect_eq(len, 24 + 2 * (16 + 20 + 8 + strlen(reg)), "untouched");
	free(data);
}

Test(trace, open_errors)
{
	struct trace_file *tf = NULL;

	cr_expect_eq(trace_open(&tf, in_dir("no/such/dir.pcap")), -ENOENT);
	cr_expect_eq(trace_open(&tf, dir), -EISDIR);
	cr_expect_eq(trace_open(&tf, "/dev/full"), -ENOSPC);
	cr_expect_null(tf);
	trace_close(NULL);

	/* A device: written from its start, never truncated. */
	cr_assert_eq(trace_open(&tf, "/dev/null"), 0);
	cr_expect_eq(trace_flush(tf), 0);
	trace_close(tf);
}

/*
 * A disk that fills (RLIMIT_FSIZE: writes past it fail with EFBIG): the file
 * always ends at a record boundary, nothing written is lost, and the records
 * kept in the buffer are written once there is room again.
 */
Test(trace, disk_full_keeps_records_whole)
{
	const char *path = in_dir("full.pcap");
	struct sockaddr_storage s = addr("192.0.2.1:5060"), d = addr("192.0.2.2:5060");
	struct trace_rec *r = trace_rec_new(TRACE_UDP, SA(s), SA(d), reg, strlen(reg));
	size_t rec = 16 + 20 + 8 + strlen(reg);
	struct rlimit lim = { 10000, 10000 }, old;
	struct trace_file *tf = NULL;
	unsigned ok = 0, failed = 0;
	struct pcap pc;
	struct stat st;
	int ret;

	cr_assert_not_null(r);
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	cr_assert_eq(trace_open(&tf, path), 0);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &(struct rlimit){ lim.rlim_cur, old.rlim_max }), 0);
	for (unsigned i = 0; i < 100; i++) {
		cr_assert_eq(trace_write(tf, r), 0);
		ok++;
	}
	ret = trace_flush(tf);
	cr_expect_eq(ret, -EFBIG, "%s", strerror(-ret));
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(((size_t)st.st_size - 24) % rec, 0, "size %ld", (long)st.st_size);
	/* Fill the buffer: the writes that need room fail, the buffer is kept. */
	for (unsigned i = 0; i < TRACE_BUF_SIZE / rec + 10; i++) {
		ret = trace_write(tf, r);
		if (ret == 0)
			ok++;
		else
			failed++;
	}
	cr_expect_gt(failed, 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(((size_t)st.st_size - 24) % rec, 0, "size %ld", (long)st.st_size);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	cr_expect_eq(trace_flush(tf), 0);
	trace_close(tf);
	pc = pcap_read(path);
	cr_expect_eq(pc.n, ok, "%zu packets, %u written", pc.n, ok);
	pcap_free(&pc);
	free(r);
}

/* ---- tshark ---- */

static bool have_tshark(void)
{
	return system("command -v tshark >/dev/null 2>&1") == 0;
}

/* Run tshark on path with args; its stdout (malloc'd). Own, empty profile. */
static char *tshark(const char *path, const char *args)
{
	char cmd[2048];
	char *out = NULL;
	size_t len = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "WIRESHARK_CONFIG_DIR='%s' tshark -n -r '%s' %s 2>/dev/null",
		 dir, path, args);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	{
		FILE *m = open_memstream(&out, &len);
		char buf[4096];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
			fwrite(buf, 1, n, m);
		fclose(m);
	}
	st = pclose(p);
	cr_assert_eq(st, 0, "%s: exit %d", cmd, st);
	return out;
}

/* Compare tshark's output line for line, showing both when they differ. */
#define expect_text(got, want, ...)                                                           \
	cr_expect(strcmp((got), (want)) == 0, "%s\n--- tshark printed:\n%s--- expected:\n%s", \
		  #__VA_ARGS__, (got), (want))

#define FIELDS                                                                         \
	"-T fields -e ip.src -e ipv6.src -e udp.srcport -e tcp.srcport -e sip.Method " \
	"-e sip.Status-Code -e sip.Call-ID -o tcp.desegment_tcp_streams:TRUE"

Test(trace, tshark_call_flow_on_5070)
{
	static const char want[] = "192.0.2.10\t\t5070\t\tREGISTER\t\treg-1@192.0.2.10\n"
				   "192.0.2.1\t\t5070\t\t\t200\treg-1@192.0.2.10\n"
				   "\t2001:db8::10\t5070\t\tOPTIONS\t\topt-6@2001:db8::10\n"
				   "\t2001:db8::1\t5070\t\t\t200\topt-6@2001:db8::10\n"
				   "192.0.2.20\t\t\t40000\t\t\t\n"
				   "192.0.2.20\t\t\t40000\tINVITE\t\tinv-1@192.0.2.20\n"
				   "192.0.2.1\t\t\t5070\t\t100\tinv-1@192.0.2.20\n"
				   "192.0.2.1\t\t\t5070\t\t180\tinv-1@192.0.2.20\n";
	const char *path = in_dir("flow.pcap");
	char *out;

	if (!have_tshark())
		cr_skip_test("tshark is not installed");
	write_msgs(path, flow_5070, N(flow_5070));
	out = tshark(path, FIELDS " -d udp.port==5070,sip -d tcp.port==5070,sip");
	expect_text(out, want);
	free(out);
}

Test(trace, tshark_call_id_counts)
{
	static const struct {
		const char *filter;
		size_t frames;
	} t[] = {
		{ "sip.Call-ID == \"reg-1@192.0.2.10\"", 2 },
		{ "sip.Call-ID == \"opt-6@2001:db8::10\"", 2 },
		{ "sip.Call-ID == \"inv-1@192.0.2.20\"", 3 },
		{ "sip.Call-ID == \"nope\"", 0 },
		{ "sip.CSeq.method == \"INVITE\" && sip.Status-Code", 2 },
		{ "tcp.analysis.flags", 0 }, /* no lost segment, no retransmission */
	};
	const char *path = in_dir("flow.pcap");

	if (!have_tshark())
		cr_skip_test("tshark is not installed");
	write_msgs(path, flow_5070, N(flow_5070));
	for (size_t i = 0; i < N(t); i++) {
		char args[512];
		char *out;
		size_t lines = 0;

		snprintf(args, sizeof(args),
			 "-d udp.port==5070,sip -d tcp.port==5070,sip -o "
			 "tcp.desegment_tcp_streams:TRUE -Y '%s' -T fields -e frame.number",
			 t[i].filter);
		out = tshark(path, args);
		for (const char *c = out; *c; c++)
			lines += *c == '\n';
		cr_expect_eq(lines, t[i].frames, "%s: %zu frames:\n%s", t[i].filter, lines, out);
		free(out);
	}
}

/* Port 5060 is SIP's registered port: no -d, no heuristics needed. */
Test(trace, tshark_port_5060_without_decode_as)
{
	static const struct msg m[] = {
		{ TRACE_UDP, "192.0.2.10:5060", "192.0.2.1:5060", reg_5070, 0, 0 },
		{ TRACE_UDP, "192.0.2.1:5060", "192.0.2.10:5060", ok_5070, 0, 0 },
		{ TRACE_UDP, "[2001:db8::10]:5060", "[2001:db8::1]:5060", opt_v6, 0, 0 },
		{ TRACE_TCP, "192.0.2.20:40000", "192.0.2.1:5060", invite_a, 0, 0 },
		{ TRACE_TCP, "192.0.2.20:40000", "192.0.2.1:5060", invite_b, 0, 0 },
		{ TRACE_TCP, "192.0.2.1:5060", "192.0.2.20:40000", trying, 0, 0 },
	};
	static const char want[] = "192.0.2.10\t\t5060\t\tREGISTER\t\treg-1@192.0.2.10\n"
				   "192.0.2.1\t\t5060\t\t\t200\treg-1@192.0.2.10\n"
				   "\t2001:db8::10\t5060\t\tOPTIONS\t\topt-6@2001:db8::10\n"
				   "192.0.2.20\t\t\t40000\t\t\t\n"
				   "192.0.2.20\t\t\t40000\tINVITE\t\tinv-1@192.0.2.20\n"
				   "192.0.2.1\t\t\t5060\t\t100\tinv-1@192.0.2.20\n";
	const char *path = in_dir("5060.pcap");
	char *out;

	if (!have_tshark())
		cr_skip_test("tshark is not installed");
	write_msgs(path, m, N(m));
	out = tshark(path, FIELDS);
	expect_text(out, want);
	free(out);
}

/*
 * tshark's own checksum validation agrees: IPv4 header, UDP and TCP. With -T
 * fields a status prints as its number (1, "Good" in `tshark -G values`); as a
 * display filter it is compared by name.
 */
Test(trace, tshark_checksums_good)
{
	static const struct {
		const char *args;
		const char *want;
	} t[] = {
		{ "-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE "
		  "-T fields -e ip.checksum.status -e udp.checksum.status -e tcp.checksum.status",
		  "1\t1\t\n1\t1\t\n\t1\t\n\t1\t\n1\t\t1\n1\t\t1\n1\t\t1\n1\t\t1\n" },
		{ "-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE "
		  "-Y '(!ip || ip.checksum.status == \"Good\") && "
		  "(udp.checksum.status == \"Good\" || tcp.checksum.status == \"Good\")' "
		  "-T fields -e frame.number",
		  "1\n2\n3\n4\n5\n6\n7\n8\n" },
		{ "-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE "
		  "-Y '_ws.expert.group == \"Checksum\"' -T fields -e frame.number",
		  "" },
	};
	const char *path = in_dir("flow.pcap");

	if (!have_tshark())
		cr_skip_test("tshark is not installed");
	write_msgs(path, flow_5070, N(flow_5070));
	for (size_t i = 0; i < N(t); i++) {
		char *out = tshark(path, t[i].args);

		expect_text(out, t[i].want, t[i].args);
		free(out);
	}
}

/*
 * Large INVITEs, one per connection: 60000 octets over UDP and TCP, the largest
 * UDP datagram, and TCP messages of 65535 and 100000 octets that take two
 * segments (the first shows as a segment of a reassembled PDU).
 */
Test(trace, tshark_large_messages)
{
	static const struct {
		uint8_t proto;
		const char *src, *dst;
		size_t size;
		const char *src_fields; /* ip.src, ipv6.src, udp.srcport, tcp.srcport */
		bool two_segments;
	} t[] = {
		{ TRACE_UDP, "192.0.2.10:5060", "192.0.2.1:5060", 60000, "192.0.2.10\t\t5060\t" },
		{ TRACE_UDP, "[2001:db8::10]:5060", "[2001:db8::1]:5060", 60000,
		  "\t2001:db8::10\t5060\t" },
		{ TRACE_UDP, "192.0.2.11:5060", "192.0.2.1:5060", TRACE_UDP_MAX4,
		  "192.0.2.11\t\t5060\t" },
		{ TRACE_TCP, "192.0.2.10:41000", "192.0.2.1:5060", 60000, "192.0.2.10\t\t\t41000" },
		{ TRACE_TCP, "192.0.2.10:41001", "192.0.2.1:5060", 65535, "192.0.2.10\t\t\t41001",
		  true },
		{ TRACE_TCP, "192.0.2.10:41002", "192.0.2.1:5060", 100000, "192.0.2.10\t\t\t41002",
		  true },
	};
	const char *path = in_dir("big.pcap");
	struct msg m[N(t)];
	char *msgs[N(t)];
	char *want = NULL, *out;
	size_t want_len = 0;
	FILE *w = open_memstream(&want, &want_len);

	if (!have_tshark())
		cr_skip_test("tshark is not installed");
	for (size_t i = 0; i < N(t); i++) {
		char head[512];
		int hl = 0;

		/* The whole message is `size` octets: headers, then a text body. */
		for (int pass = 0; pass < 2; pass++)
			hl = snprintf(head, sizeof(head),
				      "INVITE sip:bob@192.0.2.1 SIP/2.0\r\n"
				      "Via: SIP/2.0/%s 192.0.2.10;branch=z9hG4bK-big%zu\r\n"
				      "From: <sip:alice@192.0.2.10>;tag=b1\r\n"
				      "To: <sip:bob@192.0.2.1>\r\n"
				      "Call-ID: big%zu@192.0.2.10\r\n"
				      "CSeq: 1 INVITE\r\n"
				      "Content-Type: text/plain\r\n"
				      "Content-Length: %zu\r\n"
				      "\r\n",
				      t[i].proto == TRACE_UDP ? "UDP" : "TCP", i, i,
				      pass ? t[i].size - (size_t)hl : (size_t)99999);
		msgs[i] = malloc(t[i].size);
		cr_assert_not_null(msgs[i]);
		memcpy(msgs[i], head, (size_t)hl);
		for (size_t k = (size_t)hl; k < t[i].size; k++)
			msgs[i][k] = (k % 80 == 79) ? '\n' : (char)('a' + k % 26);
		m[i] = (struct msg){ t[i].proto, t[i].src, t[i].dst, msgs[i], t[i].size, 0 };
		if (t[i].two_segments)
			fprintf(w, "%s\t\t\t\t\n", t[i].src_fields);
		fprintf(w, "%s\tINVITE\t\tbig%zu@192.0.2.10\t%zu\n", t[i].src_fields, i,
			t[i].size - (size_t)hl);
	}
	fclose(w);
	write_msgs(path, m, N(m));
	out = tshark(path, FIELDS " -e sip.Content-Length");
	expect_text(out, want, large messages);
	free(out);
	free(want);
	for (size_t i = 0; i < N(t); i++)
		free(msgs[i]);
}
