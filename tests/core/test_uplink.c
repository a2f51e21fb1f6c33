/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/uplink.h: the uplinks file, and the registration manager
 * driven alone with a fake clock. The jobs it hands out are turned into the
 * bytes a worker would send (uplink_req_format) and parsed; the answers are
 * real responses parsed and turned into results (uplink_res_from), and the
 * digest is checked by core/auth's server side (auth_verify).
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/auth.h"
#include "core/conf.h"
#include "core/uplink.h"
#include "parsers/sip_hdr.h"
#include "parsers/sip_msg.h"
#include "tests/guard.h"

/* ---- a fake daemon ---- */

#define MAXQ 1024

static struct uplink_req *q[MAXQ];
static unsigned nq;
static int send_fail;
static int resolve_again;

static int f_send(void *arg, unsigned worker, struct uplink_req *r)
{
	(void)arg;
	(void)worker;
	if (send_fail)
		return -ENOBUFS;
	cr_assert(nq < MAXQ);
	q[nq++] = r;
	return 0;
}

static int f_resolve(void *arg, const char *host, uint16_t port, uint8_t tp,
		     struct sockaddr_storage *ss, socklen_t *len)
{
	(void)arg;
	(void)tp;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	memset(ss, 0, sizeof(*ss));
	if (!strcmp(host, "later.example") && resolve_again-- > 0)
		return -EAGAIN;
	if (!strcmp(host, "later.example"))
		host = "192.0.2.7";
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return -EHOSTUNREACH;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port ? port : 5060); /* not given: what DNS gives, else 5060 */
	*len = sizeof(*s4);
	return 0;
}

static int f_local(void *arg, const struct sockaddr *dest, uint8_t tp, char *host, size_t cap,
		   uint16_t *port)
{
	(void)arg;
	(void)dest;
	(void)tp;
	snprintf(host, cap, "10.0.0.1");
	*port = 5070;
	return 0;
}

static const struct uplink_ops ops = { f_send, f_resolve, f_local };

static struct uplink_mgr *mgr;
static struct uplink_defs defs;
static char dir[] = "/tmp/sipring-uplink-XXXXXX";
static char path[256];

static void setup(void)
{
	nq = 0;
	send_fail = 0;
	resolve_again = 0;
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/uplinks.yaml", dir);
	mgr = uplink_mgr_new(2, &ops, NULL);
	cr_assert_not_null(mgr);
}

static void teardown(void)
{
	for (unsigned i = 0; i < nq; i++)
		free(q[i]);
	nq = 0;
	uplink_mgr_free(mgr);
	uplink_defs_free(&defs);
	unlink(path);
	rmdir(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static struct uplink_params params(void)
{
	return (struct uplink_params){ .expire_s = 0,
				       .retry_delay_ms = 60000,
				       .privacy = UPLINK_PRIVACY_IGNORE,
				       .send_unregister = true,
				       .auth_retry = 2,
				       .max_forwards = 70,
				       .user_agent = "sipring-test" };
}

static void load(const char *text)
{
	char err[256];
	uplink_defs_free(&defs);
	write_file(text);
	int ret = uplink_defs_load(path, &defs, err, sizeof(err));
	cr_assert_eq(ret, 0, "%s", err);
}

static void apply(const char *text, const struct uplink_params *p, uint64_t now)
{
	load(text);
	struct uplink_params d = params();
	cr_assert_eq(uplink_mgr_apply(mgr, &defs, p ? p : &d, now), 0);
}

/* The one job queued, taken (the caller frees it). */
static struct uplink_req *take(void)
{
	cr_assert_eq(nq, 1, "%u jobs queued, expected one", nq);
	nq = 0;
	return q[0];
}

/* The job as a worker sends it, parsed into m (over buf). */
static void wire(const struct uplink_req *r, char *buf, size_t cap, struct sip_msg *m,
		 struct sip_hdr *hdrs, unsigned nh)
{
	int n = uplink_req_format(r, "z9hG4bKsr0.1", 5099, buf, cap);
	cr_assert_gt(n, 0);
	sip_msg_init(m, hdrs, nh);
	cr_assert_gt(sip_msg_parse(m, buf, (size_t)n, 0, NULL), 0, "%.*s", n, buf);
	cr_assert_eq(m->method, SIP_METHOD_REGISTER);
}

static struct sv hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);
	return h ? h->value : SV_NULL;
}

static uint32_t cseq_of(const struct sip_msg *m)
{
	struct sip_cseq c;
	cr_assert_eq(sip_cseq_parse(hdr(m, SIP_HDR_CSEQ), &c, NULL), 0);
	return c.seq;
}

static uint32_t expires_of(const struct sip_msg *m)
{
	uint32_t v;
	cr_assert_eq(sip_uint_parse(hdr(m, SIP_HDR_EXPIRES), UINT32_MAX, &v, NULL), 0);
	return v;
}

/* Answer job r with the response head `status reason` + extra header lines. */
static void answer(struct uplink_req *r, const char *status, const char *extra, uint64_t now)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf),
			 "SIP/2.0 %s\r\nVia: SIP/2.0/UDP 10.0.0.1:5099;branch=z9hG4bKsr0.1\r\n"
			 "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: x\r\n"
			 "CSeq: 1 REGISTER\r\n%sContent-Length: 0\r\n\r\n",
			 status, extra ? extra : "");
	struct sip_hdr hdrs[32];
	struct sip_msg m;
	sip_msg_init(&m, hdrs, 32);
	cr_assert_gt(sip_msg_parse(&m, buf, (size_t)n, 0, NULL), 0);
	struct uplink_res *res = uplink_res_from(r, &m);
	cr_assert_not_null(res);
	free(r);
	uplink_mgr_result(mgr, res, now);
}

static void answer_local(struct uplink_req *r, uint16_t status, uint64_t now)
{
	struct uplink_res *res = uplink_res_local(r, status, "local");
	free(r);
	uplink_mgr_result(mgr, res, now);
}

static struct uplink_info info(const char *name, uint64_t now)
{
	struct uplink_info i;
	cr_assert(uplink_mgr_find(mgr, name, now, &i), "no uplink %s", name);
	return i;
}

static const char *ONE = "uplinks:\n"
			 "  - name: a\n"
			 "    registrar: 192.0.2.1\n"
			 "    domain: carrier.example\n"
			 "    user: \"4420\"\n"
			 "    password: pw\n";

/* ---- the file ---- */

TestSuite(uplink_file, .init = setup, .fini = teardown);

Test(uplink_file, every_field_and_defaults)
{
	load("uplinks:\n"
	     "  - name: full\n"
	     "    registrar: 192.0.2.1\n"
	     "    port: 5080\n"
	     "    transport: tcp\n"
	     "    proxy: 198.51.100.9\n"
	     "    proxy_port: 5090\n"
	     "    domain: sip.carrier.example\n"
	     "    user: \"4420\"\n"
	     "    auth_user: acct\n"
	     "    password: \"p:w\"\n"
	     "    contact_user: trunk1\n"
	     "    host: me.example\n"
	     "    expire: 300\n"
	     "    send_unregister: off\n"
	     "    privacy: id\n"
	     "    enabled: false\n"
	     "  - name: min\n"
	     "    registrar: gw.example\n"
	     "    user: u\n");
	cr_assert_eq(defs.n, 2);
	const struct uplink_def *f = &defs.v[0], *m = &defs.v[1];
	cr_assert_str_eq(f->name, "full");
	cr_assert_eq(f->port, 5080);
	cr_assert_eq(f->transport, CONF_TCP);
	cr_assert_str_eq(f->proxy, "198.51.100.9");
	cr_assert_eq(f->proxy_port, 5090);
	cr_assert_str_eq(f->auth_user, "acct");
	cr_assert_str_eq(f->password, "p:w");
	cr_assert_eq(f->expire_s, 300);
	cr_assert_eq(f->send_unregister, 0);
	cr_assert_eq(f->privacy, UPLINK_PRIVACY_ID);
	cr_assert_not(f->enabled);
	cr_assert_eq(m->port, 0); /* not given: RFC 3263 */
	cr_assert_eq(m->transport, CONF_UDP);
	cr_assert_not(m->ruri_domain);
	cr_assert_str_eq(m->proxy, "");
	cr_assert_eq(m->expire_s, -1);
	cr_assert_eq(m->send_unregister, -1);
	cr_assert_eq(m->privacy, -1);
	cr_assert(m->enabled);
}

static void bad(const char *text, const char *want)
{
	char err[256];
	struct uplink_defs d;
	write_file(text);
	cr_assert_lt(uplink_defs_load(path, &d, err, sizeof(err)), 0, "accepted: %s", text);
	cr_assert_not_null(strstr(err, want), "error '%s' lacks '%s'", err, want);
	cr_assert_not_null(strstr(err, "uplinks.yaml:"), "error '%s' names no file", err);
	cr_assert_null(d.v);
}

Test(uplink_file, errors_name_file_line_and_key)
{
	bad("uplinks:\n  - name: a\n    user: u\n", ":2: uplinks[0].registrar: is required");
	bad("uplinks:\n  - registrar: 1.2.3.4\n    user: u\n", "uplinks[0].name: is required");
	bad("uplinks:\n  - name: a\n    registrar: 1.2.3.4\n", "uplinks[0].user: is required");
	bad("uplinks:\n  - { name: a, registrar: 1.2.3.4, user: u }\n"
	    "  - { name: a, registrar: 1.2.3.5, user: v }\n",
	    ":3: uplinks[1].name: 'a' is already the name of uplinks[0]");
	bad("uplinks:\n  - { name: a, registrar: 1.2.3.4, user: u, transport: sctp }\n",
	    "uplinks[0].transport: expected udp or tcp");
	bad("uplinks:\n  - { name: a, registrar: 1.2.3.4, user: u, expire: 10 }\n",
	    "uplinks[0].expire: 10 is out of range 20..7200");
	bad("uplinks:\n  - { name: a, registrar: 1.2.3.4, user: u, expires: 60 }\n",
	    "uplinks[0].expires: unknown key");
	bad("uplinks:\n  - { name: a, registrar: \"1.2.3.4 x\", user: u }\n",
	    "uplinks[0].registrar: '1.2.3.4 x' is not a host name");
	bad("uplinks:\n  - { name: a, registrar: 1.2.3.4, user: \"u@x\" }\n", "uplinks[0].user:");
	bad("uplinks:\n  - { name: \"a b\", registrar: 1.2.3.4, user: u }\n", "uplinks[0].name:");
	bad("uplinks: 3\n", "uplinks: expected a list");
	bad("gateways: []\n", "(top): unknown key");
	bad("uplinks:\n  - [1, 2]\n", "uplinks[0]: expected a map");
}

Test(uplink_file, empty_and_missing)
{
	load("");
	cr_assert_eq(defs.n, 0);
	load("uplinks:\n");
	cr_assert_eq(defs.n, 0);
	char err[256];
	struct uplink_defs d;
	cr_assert_eq(uplink_defs_load("/nonexistent/u.yaml", &d, err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "/nonexistent/u.yaml:0: (file): cannot read"), "%s", err);
}

/* ---- registration ---- */

TestSuite(uplink, .init = setup, .fini = teardown);

Test(uplink, first_register_is_complete_and_refresh_does_not_drift)
{
	apply(ONE, NULL, 1000);
	cr_assert_eq(uplink_mgr_run(mgr, 1000), -1);
	struct uplink_req *r = take();
	char buf[4096];
	struct sip_hdr hdrs[32];
	struct sip_msg m;
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	/* the Request-URI targets the address sent to; To and From carry the domain */
	cr_assert(sv_eq(m.ruri, SV_LIT("sip:192.0.2.1:5060")), "%.*s", (int)m.ruri.len, m.ruri.p);
	cr_assert(sv_eq(hdr(&m, SIP_HDR_TO), SV_LIT("<sip:4420@carrier.example>")));
	cr_assert_not_null(strstr(buf, "From: <sip:4420@carrier.example>;tag="));
	cr_assert(sv_eq(hdr(&m, SIP_HDR_CONTACT), SV_LIT("<sip:4420@10.0.0.1:5070>")));
	cr_assert_not_null(
		strstr(buf, "\r\nVia: SIP/2.0/UDP 10.0.0.1:5099;branch=z9hG4bKsr0.1;rport\r\n"));
	cr_assert_eq(memcmp(buf, "REGISTER sip:192.0.2.1:5060 SIP/2.0\r\nVia: ", 42), 0);
	cr_assert_eq(expires_of(&m), UPLINK_EXPIRE_AUTO);
	cr_assert_null(sip_msg_hdr(&m, SIP_HDR_AUTHORIZATION));
	cr_assert_null(sip_msg_hdr(&m, SIP_HDR_PRIVACY));
	cr_assert(sv_eq(hdr(&m, SIP_HDR_USER_AGENT), SV_LIT("sipring-test")));
	struct sv callid = hdr(&m, SIP_HDR_CALL_ID);
	char cid[64];
	snprintf(cid, sizeof(cid), "%.*s", (int)callid.len, callid.p);
	uint32_t cseq = cseq_of(&m);
	cr_assert_eq(info("a", 1000).state, UPLINK_REGISTERING);
	cr_assert_eq(uplink_mgr_busy(mgr), 1);

	/* Granted 1800 of the 3600 asked: refresh 5 min before the end, counted
	 * from the time the REGISTER left, whatever the answer's delay. */
	answer(r, "200 OK",
	       "Contact: <sip:other@192.0.2.50>;expires=99, "
	       "<sip:4420@10.0.0.1:5070>;expires=1800\r\n",
	       3000);
	struct uplink_info i = info("a", 3000);
	cr_assert_eq(i.state, UPLINK_REGISTERED);
	cr_assert_eq(i.expires_granted, 1800);
	cr_assert_eq(i.expires_in_ms, 1800 * 1000 - 2000);
	cr_assert_eq(i.next_action_ms, 1500 * 1000 - 2000);
	cr_assert_eq(uplink_mgr_busy(mgr), 0);
	cr_assert_eq(uplink_mgr_counters(mgr)->registers[UPLINK_RES_OK], 1);

	/* Ten refreshes: each asks 3600 again (never the granted value), same
	 * Call-ID, CSeq + 1, and the schedule keeps its period. */
	uint64_t t = 1000;
	for (int k = 0; k < 10; k++) {
		uint64_t due = t + 1500 * 1000;
		cr_assert_eq(uplink_mgr_run(mgr, due - 1), 1);
		cr_assert_eq(nq, 0);
		uplink_mgr_run(mgr, due);
		r = take();
		wire(r, buf, sizeof(buf), &m, hdrs, 32);
		cr_assert_eq(expires_of(&m), UPLINK_EXPIRE_AUTO);
		cr_assert(sv_eq(hdr(&m, SIP_HDR_CALL_ID), sv_cstr(cid)));
		cr_assert_eq(cseq_of(&m), ++cseq);
		answer(r, "200 OK", "Expires: 1800\r\n", due + 700); /* a slow answer */
		t = due;
		cr_assert_eq(info("a", t).next_action_ms, 1500 * 1000);
	}
	cr_assert_eq(uplink_mgr_counters(mgr)->registers[UPLINK_RES_OK], 11);
}

Test(uplink, fixed_expire_and_lower_grant)
{
	struct uplink_params p = params();
	p.expire_s = 120;
	apply(ONE, &p, 0);
	uplink_mgr_run(mgr, 0);
	struct uplink_req *r = take();
	char buf[4096];
	struct sip_hdr hdrs[32];
	struct sip_msg m;
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	cr_assert_eq(expires_of(&m), 120);
	/* The registrar grants 30: refreshed at 15 s, still asking 120. */
	answer(r, "200 OK", "Contact: <sip:4420@10.0.0.1:5070>;expires=30\r\n", 10);
	cr_assert_eq(info("a", 10).expires_granted, 30);
	uplink_mgr_run(mgr, 14999);
	cr_assert_eq(nq, 0);
	uplink_mgr_run(mgr, 15000);
	r = take();
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	cr_assert_eq(expires_of(&m), 120);
	free(r);
}

Test(uplink, per_uplink_expire_and_privacy)
{
	struct uplink_params p = params();
	p.privacy = UPLINK_PRIVACY_NONE;
	apply("uplinks:\n"
	      "  - { name: a, registrar: 192.0.2.1, user: u, expire: 45 }\n"
	      "  - { name: b, registrar: 192.0.2.1, user: v, privacy: id, host: me.example,"
	      " contact_user: trunk, transport: tcp }\n",
	      &p, 0);
	uplink_mgr_run(mgr, 0);
	cr_assert_eq(nq, 2);
	char buf[4096];
	struct sip_hdr hdrs[32];
	struct sip_msg m;
	wire(q[0], buf, sizeof(buf), &m, hdrs, 32);
	cr_assert_eq(expires_of(&m), 45);
	cr_assert(sv_eq(hdr(&m, SIP_HDR_PRIVACY), SV_LIT("none")));
	cr_assert(sv_eq(m.ruri, SV_LIT("sip:192.0.2.1:5060")));
	wire(q[1], buf, sizeof(buf), &m, hdrs, 32);
	cr_assert(sv_eq(hdr(&m, SIP_HDR_PRIVACY), SV_LIT("id")));
	cr_assert(sv_eq(hdr(&m, SIP_HDR_CONTACT),
			SV_LIT("<sip:trunk@me.example:5070;transport=tcp>")));
	cr_assert_not_null(strstr(buf, "From: <sip:v@me.example>;tag="));
	cr_assert_not_null(strstr(buf, "Via: SIP/2.0/TCP 10.0.0.1:5099;"));
	cr_assert_eq(q[1]->transport, CONF_TCP);
}

Test(uplink, request_uri_domain)
{
	apply("uplinks:\n  - { name: a, registrar: 192.0.2.1, port: 5080, domain: carrier.example,"
	      " user: u, request_uri: domain }\n",
	      NULL, 0);
	uplink_mgr_run(mgr, 0);
	struct uplink_req *r = take();
	char buf[4096];
	struct sip_hdr hdrs[32];
	struct sip_msg m;
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	cr_assert(sv_eq(m.ruri, SV_LIT("sip:carrier.example")));
	cr_assert_eq(ntohs(((struct sockaddr_in *)&r->dest)->sin_port), 5080);
	free(r);
	char err[256];
	struct uplink_defs d;
	write_file("uplinks:\n  - { name: a, registrar: 1.2.3.4, user: u, request_uri: to }\n");
	cr_assert_lt(uplink_defs_load(path, &d, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "uplinks[0].request_uri: expected address or domain"), "%s",
			   err);
}

Test(uplink, outbound_proxy_without_a_port)
{
	apply("uplinks:\n  - { name: a, registrar: reg.example, proxy: 198.51.100.9, user: u }\n",
	      NULL, 0);
	uplink_mgr_run(mgr, 0);
	struct uplink_req *r = take();
	char buf[4096];
	struct sip_hdr hdrs[32];
	struct sip_msg m;
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	cr_assert(sv_eq(hdr(&m, SIP_HDR_ROUTE), SV_LIT("<sip:198.51.100.9;lr>")));
	cr_assert(sv_eq(m.ruri, SV_LIT("sip:reg.example")));
	cr_assert_str_eq(info("a", 0).registrar, "198.51.100.9:5060");
	free(r);
}

Test(uplink, outbound_proxy_gets_the_request_with_a_route)
{
	apply("uplinks:\n"
	      "  - { name: a, registrar: 192.0.2.1, proxy: 198.51.100.9, proxy_port: 5099, user: u "
	      "}\n",
	      NULL, 0);
	uplink_mgr_run(mgr, 0);
	struct uplink_req *r = take();
	const struct sockaddr_in *d = (const struct sockaddr_in *)&r->dest;
	char ip[32];
	inet_ntop(AF_INET, &d->sin_addr, ip, sizeof(ip));
	cr_assert_str_eq(ip, "198.51.100.9");
	cr_assert_eq(ntohs(d->sin_port), 5099);
	char buf[4096];
	struct sip_hdr hdrs[32];
	struct sip_msg m;
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	cr_assert(sv_eq(hdr(&m, SIP_HDR_ROUTE), SV_LIT("<sip:198.51.100.9:5099;lr>")));
	cr_assert_str_eq(info("a", 0).registrar, "198.51.100.9:5099");
	free(r);
}

/* The digest answer to a real challenge, checked by the server side. */
static void check_auth(const struct auth_ctx *ctx, struct auth_nc *nc, const struct sip_msg *m,
		       bool proxy, const char *user, const char *pw, uint64_t now)
{
	struct sip_auth cred;
	const char *why = NULL;
	cr_assert_eq(auth_find_credentials(m, proxy, SV_LIT("carrier.example"), &cred, &why),
		     AUTH_OK, "%s: %.*s", why, (int)m->msg_len, m->buf);
	struct auth_account acct = { .user = sv_cstr(user),
				     .realm = SV_LIT("carrier.example"),
				     .password = sv_cstr(pw) };
	cr_assert_eq(auth_verify(ctx, nc, &cred, SV_LIT("REGISTER"), SV_LIT("carrier.example"),
				 &acct, now, &why),
		     AUTH_OK, "%s", why);
}

static void challenge(const struct auth_ctx *ctx, bool proxy, bool stale, uint64_t now, char *out,
		      size_t cap)
{
	cr_assert_gt(
		auth_challenge_headers(ctx, proxy, SV_LIT("carrier.example"), stale, now, out, cap),
		0);
}

static void digest(bool proxy)
{
	struct auth_ctx ctx;
	struct auth_nc nc;
	cr_assert_eq(auth_init(&ctx, NULL), 0);
	cr_assert_eq(auth_nc_init(&nc, 64), 0);
	uint64_t wall = 1700000000000ull;
	apply("uplinks:\n  - { name: a, registrar: 192.0.2.1, domain: carrier.example, user: "
	      "\"4420\", auth_user: acct7, password: s3cret }\n",
	      NULL, 0);
	uplink_mgr_run(mgr, 0);
	struct uplink_req *r = take();
	char buf[4096], ch[1024];
	struct sip_hdr hdrs[32];
	struct sip_msg m;
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	uint32_t c0 = cseq_of(&m);
	challenge(&ctx, proxy, false, wall, ch, sizeof(ch));
	answer(r, proxy ? "407 Proxy Authentication Required" : "401 Unauthorized", ch, 5);
	r = take(); /* sent at once */
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	cr_assert_eq(cseq_of(&m), c0 + 1);
	cr_assert_null(
		sip_msg_hdr(&m, proxy ? SIP_HDR_AUTHORIZATION : SIP_HDR_PROXY_AUTHORIZATION));
	check_auth(&ctx, &nc, &m, proxy, "acct7", "s3cret", wall);
	answer(r, "200 OK", "Expires: 60\r\n", 10);
	cr_assert_eq(info("a", 10).state, UPLINK_REGISTERED);
	/* The refresh carries credentials at once (nc 2 on the same nonce). */
	uplink_mgr_run(mgr, 30005);
	r = take();
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	check_auth(&ctx, &nc, &m, proxy, "acct7", "s3cret", wall + 30000);
	cr_assert_not_null(strstr(buf, "nc=00000002"));
	/* A stale nonce is answered again at once, not counted as a failure. */
	challenge(&ctx, proxy, true, wall + 30000, ch, sizeof(ch));
	answer(r, proxy ? "407 Proxy Authentication Required" : "401 Unauthorized", ch, 30010);
	r = take();
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	check_auth(&ctx, &nc, &m, proxy, "acct7", "s3cret", wall + 30010);
	answer(r, "200 OK", "Expires: 60\r\n", 30020);
	cr_assert_eq(info("a", 30020).state, UPLINK_REGISTERED);
	cr_assert_eq(uplink_mgr_counters(mgr)->registers[UPLINK_RES_AUTH_FAILED], 0);
	auth_nc_free(&nc);
}

Test(uplink, digest_401)
{
	digest(false);
}

Test(uplink, digest_407)
{
	digest(true);
}

Test(uplink, wrong_credentials_fail_after_auth_retry_and_wait_the_retry_delay)
{
	struct auth_ctx ctx;
	cr_assert_eq(auth_init(&ctx, NULL), 0);
	apply(ONE, NULL, 0);
	uint64_t t = 0;
	unsigned sent = 0;
	char ch[1024];
	for (int attempt = 0; attempt < 3; attempt++) {
		uplink_mgr_run(mgr, t);
		/* 1 without credentials + auth_retry (2) with: then the attempt fails */
		for (int k = 0; k < 3; k++) {
			struct uplink_req *r = take();
			sent++;
			challenge(&ctx, false, false, 1700000000000ull, ch, sizeof(ch));
			answer(r, "401 Unauthorized", ch, t + 1);
		}
		cr_assert_eq(nq, 0, "a fourth REGISTER in one attempt");
		struct uplink_info i = info("a", t + 1);
		cr_assert_eq(i.state, UPLINK_FAILED);
		cr_assert_eq(i.last_status, 401);
		cr_assert_str_eq(i.last_reason, "credentials refused");
		cr_assert_eq(i.failures, (unsigned)attempt + 1);
		/* retry_delay 60 s +- 20 %: nothing before 48 s, something by 72 s */
		cr_assert_geq(i.next_action_ms, 48000 - 1);
		cr_assert_leq(i.next_action_ms, 72000);
		uplink_mgr_run(mgr, t + 1 + 47999);
		cr_assert_eq(nq, 0);
		t = t + 1 + (uint64_t)i.next_action_ms;
	}
	cr_assert_eq(sent, 9);
	cr_assert_eq(uplink_mgr_counters(mgr)->registers[UPLINK_RES_AUTH_FAILED], 3);
}

Test(uplink, challenge_without_password_fails)
{
	apply("uplinks:\n  - { name: a, registrar: 192.0.2.1, user: u }\n", NULL, 0);
	uplink_mgr_run(mgr, 0);
	answer(take(), "401 Unauthorized",
	       "WWW-Authenticate: Digest realm=\"x\", nonce=\"abc\", qop=\"auth\"\r\n", 1);
	cr_assert_eq(nq, 0);
	cr_assert_eq(info("a", 1).state, UPLINK_FAILED);
	cr_assert_str_eq(info("a", 1).last_reason, "no password for a challenge");
}

Test(uplink, min_expires_423)
{
	struct uplink_params p = params();
	p.expire_s = 60;
	apply(ONE, &p, 0);
	uplink_mgr_run(mgr, 0);
	struct uplink_req *r = take();
	answer(r, "423 Interval Too Brief", "Min-Expires: 120\r\n", 1);
	r = take();
	char buf[4096];
	struct sip_hdr hdrs[32];
	struct sip_msg m;
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	cr_assert_eq(expires_of(&m), 120);
	answer(r, "200 OK", "Contact: <sip:4420@10.0.0.1:5070>;expires=120\r\n", 2);
	cr_assert_eq(info("a", 2).expires_granted, 120);
	/* refreshes keep asking the minimum */
	uplink_mgr_run(mgr, 60001);
	r = take();
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	cr_assert_eq(expires_of(&m), 120);
	/* a 423 that asks no more than we did is a failure, not a loop */
	answer(r, "423 Interval Too Brief", "Min-Expires: 100\r\n", 60002);
	cr_assert_eq(nq, 0);
	cr_assert_eq(info("a", 60002).state, UPLINK_FAILED);
}

Test(uplink, forbidden_waits_ten_retry_delays)
{
	apply(ONE, NULL, 0);
	uplink_mgr_run(mgr, 0);
	answer(take(), "403 Forbidden", NULL, 1);
	struct uplink_info i = info("a", 1);
	cr_assert_eq(i.state, UPLINK_FAILED);
	cr_assert_eq(i.last_status, 403);
	cr_assert_geq(i.next_action_ms, 480000 - 1);
	cr_assert_leq(i.next_action_ms, 720000);
	cr_assert_eq(uplink_mgr_counters(mgr)->registers[UPLINK_RES_REJECTED], 1);
}

Test(uplink, server_error_honours_retry_after)
{
	apply(ONE, NULL, 0);
	uplink_mgr_run(mgr, 0);
	answer(take(), "503 Service Unavailable", "Retry-After: 300\r\n", 1);
	cr_assert_eq(info("a", 1).next_action_ms, 300000);
	uplink_mgr_run(mgr, 300000);
	cr_assert_eq(nq, 0);
	uplink_mgr_run(mgr, 300001);
	answer_local(take(), 408, 300002); /* then no answer: retry_delay */
	struct uplink_info i = info("a", 300002);
	cr_assert_eq(i.failures, 2);
	cr_assert_geq(i.next_action_ms, 48000 - 1);
	cr_assert_leq(i.next_action_ms, 72000);
	cr_assert_eq(uplink_mgr_counters(mgr)->registers[UPLINK_RES_TIMEOUT], 1);
	cr_assert_eq(uplink_mgr_counters(mgr)->registers[UPLINK_RES_REJECTED], 1);
}

Test(uplink, jitter_spreads_retries)
{
	char text[8192] = "uplinks:\n";
	for (int k = 0; k < 40; k++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "  - { name: u%d, registrar: 192.0.2.1, user: x%d }\n", k, k);
	apply(text, NULL, 0);
	uplink_mgr_run(mgr, 0);
	cr_assert_eq(nq, 40);
	unsigned n = nq;
	nq = 0;
	for (unsigned k = 0; k < n; k++)
		answer_local(q[k], 408, 1);
	int64_t lo = INT64_MAX, hi = 0;
	for (unsigned k = 0; k < 40; k++) {
		struct uplink_info i;
		cr_assert(uplink_mgr_info(mgr, k, 1, &i));
		lo = i.next_action_ms < lo ? i.next_action_ms : lo;
		hi = i.next_action_ms > hi ? i.next_action_ms : hi;
	}
	cr_assert_gt(hi - lo, 2000, "40 retries within %lld ms of each other",
		     (long long)(hi - lo));
}

Test(uplink, a_name_not_resolved_yet_is_asked_again)
{
	resolve_again = 2;
	apply("uplinks:\n  - { name: a, registrar: later.example, user: u }\n", NULL, 0);
	uplink_mgr_run(mgr, 0);
	cr_assert_eq(nq, 0);
	uplink_mgr_run(mgr, 200);
	cr_assert_eq(nq, 0);
	uplink_mgr_run(mgr, 400);
	free(take());
}

Test(uplink, an_unresolvable_name_fails_the_attempt)
{
	apply("uplinks:\n  - { name: a, registrar: nowhere.example, user: u }\n", NULL, 0);
	uplink_mgr_run(mgr, 0);
	cr_assert_eq(nq, 0);
	cr_assert_eq(info("a", 0).state, UPLINK_FAILED);
	cr_assert_eq(uplink_mgr_counters(mgr)->registers[UPLINK_RES_ERROR], 1);
}

Test(uplink, a_full_queue_is_retried)
{
	apply(ONE, NULL, 0);
	send_fail = 1;
	uplink_mgr_run(mgr, 0);
	cr_assert_eq(nq, 0);
	send_fail = 0;
	cr_assert_eq(uplink_mgr_run(mgr, 50), 50);
	uplink_mgr_run(mgr, 100);
	free(take());
}

Test(uplink, a_late_result_is_dropped)
{
	apply(ONE, NULL, 0);
	uplink_mgr_run(mgr, 0);
	struct uplink_req *r = take();
	struct uplink_req *copy = malloc(sizeof(*r) + r->len);
	memcpy(copy, r, sizeof(*r) + r->len);
	answer(r, "200 OK", "Expires: 600\r\n", 1);
	answer(copy, "500 Server Error", NULL, 2); /* the same request id again */
	cr_assert_eq(info("a", 2).state, UPLINK_REGISTERED);
}

/* ---- unregistration ---- */

static void registered(const char *text, const struct uplink_params *p)
{
	apply(text, p, 0);
	uplink_mgr_run(mgr, 0);
	unsigned n = nq;
	nq = 0;
	for (unsigned k = 0; k < n; k++)
		answer(q[k], "200 OK", "Expires: 600\r\n", 1);
	for (unsigned k = 0; k < n; k++) {
		struct uplink_info i;
		cr_assert(uplink_mgr_info(mgr, k, 1, &i));
		cr_assert_eq(i.state, UPLINK_REGISTERED);
	}
	cr_assert_eq(uplink_mgr_count(mgr), n);
}

Test(uplink, stop_unregisters_with_the_same_call_id_and_answers_the_challenge)
{
	struct auth_ctx ctx;
	struct auth_nc nc;
	cr_assert_eq(auth_init(&ctx, NULL), 0);
	cr_assert_eq(auth_nc_init(&nc, 64), 0);
	registered(ONE, NULL);
	struct uplink_info i = info("a", 5);
	char cid[64];
	snprintf(cid, sizeof(cid), "%s", i.call_id);
	uint32_t cseq = i.cseq;
	cr_assert_eq(uplink_mgr_stop(mgr, 10), 1);
	cr_assert_eq(uplink_mgr_busy(mgr), 1);
	struct uplink_req *r = take();
	cr_assert(r->unregister);
	char buf[4096], ch[1024];
	struct sip_hdr hdrs[32];
	struct sip_msg m;
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	cr_assert_eq(expires_of(&m), 0);
	cr_assert(sv_eq(hdr(&m, SIP_HDR_CALL_ID), sv_cstr(cid)));
	cr_assert_eq(cseq_of(&m), cseq + 1);
	cr_assert(sv_eq(hdr(&m, SIP_HDR_CONTACT), SV_LIT("<sip:4420@10.0.0.1:5070>")));
	cr_assert_eq(info("a", 10).state, UPLINK_UNREGISTERING);
	challenge(&ctx, false, false, 1700000000000ull, ch, sizeof(ch));
	answer(r, "401 Unauthorized", ch, 11);
	r = take();
	wire(r, buf, sizeof(buf), &m, hdrs, 32);
	cr_assert_eq(expires_of(&m), 0);
	cr_assert_eq(cseq_of(&m), cseq + 2);
	check_auth(&ctx, &nc, &m, false, "4420", "pw", 1700000000000ull);
	cr_assert_eq(uplink_mgr_busy(mgr), 1);
	answer(r, "200 OK", NULL, 12);
	cr_assert_eq(uplink_mgr_busy(mgr), 0);
	cr_assert_eq(info("a", 12).state, UPLINK_UNREGISTERED);
	cr_assert_eq(uplink_mgr_counters(mgr)->unregisters[UPLINK_RES_OK], 1);
	/* nothing more is scheduled */
	cr_assert_eq(uplink_mgr_run(mgr, 10000000), -1);
	cr_assert_eq(nq, 0);
	auth_nc_free(&nc);
}

Test(uplink, send_unregister_off_node_wide_and_per_uplink)
{
	struct uplink_params p = params();
	p.send_unregister = false;
	registered("uplinks:\n"
		   "  - { name: a, registrar: 192.0.2.1, user: u }\n"
		   "  - { name: b, registrar: 192.0.2.1, user: v, send_unregister: true }\n"
		   "  - { name: c, registrar: 192.0.2.1, user: w }\n",
		   &p);
	cr_assert_eq(uplink_mgr_stop(mgr, 10), 1);
	struct uplink_req *r = take();
	cr_assert_eq(r->slot, 1);
	answer_local(r, 408, 20); /* no answer: the stop does not wait further */
	cr_assert_eq(uplink_mgr_busy(mgr), 0);
	cr_assert_eq(uplink_mgr_counters(mgr)->unregisters[UPLINK_RES_TIMEOUT], 1);
	cr_assert_eq(uplink_mgr_run(mgr, 100000000), -1);
	cr_assert_eq(nq, 0);
}

Test(uplink, stop_with_many_uplinks_sends_them_all_at_once)
{
	char *text = malloc(300 * 80);
	strcpy(text, "uplinks:\n");
	for (int k = 0; k < 300; k++)
		sprintf(text + strlen(text), "  - { name: u%d, registrar: 192.0.2.1, user: x%d }\n",
			k, k);
	registered(text, NULL);
	free(text);
	cr_assert_eq(uplink_mgr_stop(mgr, 10), 300);
	cr_assert_eq(nq, 300);
	cr_assert_eq(uplink_mgr_busy(mgr), 300);
	unsigned n = nq;
	nq = 0;
	for (unsigned k = 0; k < n; k++) {
		cr_assert(q[k]->unregister);
		answer(q[k], "200 OK", NULL, 11);
	}
	cr_assert_eq(uplink_mgr_busy(mgr), 0);
	cr_assert_eq(uplink_mgr_counters(mgr)->unregisters[UPLINK_RES_OK], 300);
}

Test(uplink, reload_removes_changes_disables_and_adds)
{
	registered("uplinks:\n"
		   "  - { name: keep, registrar: 192.0.2.1, user: k }\n"
		   "  - { name: gone, registrar: 192.0.2.1, user: g }\n"
		   "  - { name: moved, registrar: 192.0.2.1, user: m }\n"
		   "  - { name: off, registrar: 192.0.2.1, user: o }\n",
		   NULL);
	char keep_cid[64];
	snprintf(keep_cid, sizeof(keep_cid), "%s", info("keep", 5).call_id);
	apply("uplinks:\n"
	      "  - { name: keep, registrar: 192.0.2.1, user: k }\n"
	      "  - { name: moved, registrar: 192.0.2.2, user: m }\n"
	      "  - { name: off, registrar: 192.0.2.1, user: o, enabled: false }\n"
	      "  - { name: new, registrar: 192.0.2.1, user: n }\n",
	      NULL, 10);
	uplink_mgr_run(mgr, 10);
	/* gone: unregister; moved: unregister of the old + register of the new;
	 * off: unregister; new: register; keep: nothing */
	cr_assert_eq(nq, 5);
	unsigned unreg = 0, reg = 0;
	unsigned n = nq;
	nq = 0;
	for (unsigned k = 0; k < n; k++) {
		unreg += q[k]->unregister;
		reg += !q[k]->unregister;
		answer(q[k], "200 OK", q[k]->unregister ? NULL : "Expires: 600\r\n", 11);
	}
	cr_assert_eq(unreg, 3);
	cr_assert_eq(reg, 2);
	struct uplink_info i;
	cr_assert_not(uplink_mgr_find(mgr, "gone", 12, &i));
	cr_assert_eq(uplink_mgr_count(mgr), 4);
	cr_assert_eq(info("off", 12).state, UPLINK_DISABLED);
	cr_assert_eq(info("moved", 12).state, UPLINK_REGISTERED);
	cr_assert_str_eq(info("moved", 12).registrar, "192.0.2.2:5060");
	cr_assert_eq(info("new", 12).state, UPLINK_REGISTERED);
	cr_assert_str_eq(info("keep", 12).call_id, keep_cid);
	/* enabled again: registers */
	apply("uplinks:\n"
	      "  - { name: off, registrar: 192.0.2.1, user: o }\n",
	      NULL, 20);
	uplink_mgr_run(mgr, 20);
	n = nq;
	nq = 0;
	unsigned regs = 0;
	for (unsigned k = 0; k < n; k++) {
		regs += !q[k]->unregister;
		free(q[k]);
	}
	cr_assert_eq(regs, 1);
}

Test(uplink, manual_unregister_and_register)
{
	registered(ONE, NULL);
	cr_assert_eq(uplink_mgr_unregister(mgr, "nope", 5), -ENOENT);
	cr_assert_eq(uplink_mgr_unregister(mgr, "a", 5), 0);
	uplink_mgr_run(mgr, 5);
	struct uplink_req *r = take();
	cr_assert(r->unregister);
	answer(r, "200 OK", NULL, 6);
	cr_assert_eq(info("a", 6).state, UPLINK_UNREGISTERED);
	cr_assert_eq(uplink_mgr_run(mgr, 100000000), -1); /* stays so */
	cr_assert_eq(uplink_mgr_register(mgr, "a", 7), 0);
	uplink_mgr_run(mgr, 7);
	r = take();
	cr_assert_not(r->unregister);
	answer(r, "200 OK", "Expires: 600\r\n", 8);
	cr_assert_eq(info("a", 8).state, UPLINK_REGISTERED);
	/* manual unregister with send_unregister off still sends */
	struct uplink_params p = params();
	p.send_unregister = false;
	apply(ONE, &p, 9);
	cr_assert_eq(uplink_mgr_unregister(mgr, "a", 9), 0);
	uplink_mgr_run(mgr, 9);
	r = take();
	cr_assert(r->unregister);
	free(r);
	uplink_mgr_stop(mgr, 10);
	cr_assert_eq(uplink_mgr_register(mgr, "a", 10), -ESHUTDOWN);
}

Test(uplink, states_and_index)
{
	apply("uplinks:\n"
	      "  - { name: a, registrar: 192.0.2.1, user: u1 }\n"
	      "  - { name: b, registrar: 192.0.2.1, user: u2, contact_user: trunk-b }\n"
	      "  - { name: c, registrar: 192.0.2.1, user: u3, enabled: false }\n",
	      NULL, 0);
	uint64_t st[UPLINK_STATE__COUNT];
	uplink_mgr_states(mgr, st);
	cr_assert_eq(st[UPLINK_REGISTERING], 2);
	cr_assert_eq(st[UPLINK_DISABLED], 1);
	struct uplink_index *x = uplink_index_build(&defs);
	cr_assert_not_null(x);
	cr_assert_str_eq(uplink_index_find(x, SV_LIT("u1")), "a");
	cr_assert_str_eq(uplink_index_find(x, SV_LIT("trunk-b")), "b");
	cr_assert_null(uplink_index_find(x, SV_LIT("u2")));
	cr_assert_null(uplink_index_find(x, SV_LIT("u3"))); /* disabled */
	cr_assert_eq(uplink_mgr_register(mgr, "c", 0), -EPERM);
	cr_assert_null(uplink_index_find(x, SV_LIT("u")));
	cr_assert_null(uplink_index_find(x, SV_NULL));
	uplink_index_free(x);
	uplink_mgr_run(mgr, 0);
	for (unsigned k = 0; k < nq; k++)
		free(q[k]);
	nq = 0;
}

Test(uplink, result_of_a_200_without_our_contact)
{
	apply(ONE, NULL, 0);
	uplink_mgr_run(mgr, 0);
	/* our contact absent, no Expires: the asked value is taken */
	answer(take(), "200 OK", "Contact: <sip:other@192.0.2.50>;expires=99\r\n", 1);
	cr_assert_eq(info("a", 1).expires_granted, UPLINK_EXPIRE_AUTO);
}

Test(uplink, a_200_granting_zero_is_a_failure)
{
	apply(ONE, NULL, 0);
	uplink_mgr_run(mgr, 0);
	answer(take(), "200 OK", "Contact: <sip:4420@10.0.0.1:5070>;expires=0\r\n", 1);
	cr_assert_eq(info("a", 1).state, UPLINK_FAILED);
}
