/* SPDX-License-Identifier: MIT */
/*
 * fuzz_uri: sip_uri_parse() and RFC 3261 §19.1.4 comparison.
 *
 * The whole input is parsed as one URI: on success every view lies inside it
 * and the URI equals itself. When the input holds a '\n', the two sides are
 * also parsed as two URIs, and equality must be symmetric. sip_hostport_parse()
 * and sip_unescape() get the input too.
 */
#include <errno.h>
#include <string.h>

#include "parsers/sip_uri.h"
#include "tests/fuzz/fuzz.h"

static int parse_checked(struct sv s, struct sip_uri *u)
{
	struct sip_err err = { 0 };
	struct sv v;

	int r = sip_uri_parse(s, u, &err);
	if (r < 0) {
		CHECK(r == -EBADMSG);
		CHECK(err.reason != NULL && err.off <= s.len);
		return r;
	}
	CHECK(r == 0);
	CHECK(u->scheme <= SIP_URI_TEL && u->host_type <= SIP_HOST_IPV6);
	const struct sv *f[] = { &u->scheme_name, &u->user,    &u->password,  &u->host,
				 &u->params,	  &u->headers, &u->transport, &u->user_param,
				 &u->method,	  &u->maddr,   &u->ttl,	      &u->opaque };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		CHECK_IN(*f[i], s);
	if (u->scheme == SIP_URI_SIP || u->scheme == SIP_URI_SIPS)
		CHECK(u->host.len > 0 && u->host_type != SIP_HOST_NONE);
	CHECK(sip_uri_equal(u, u));
	if (sip_uri_param(u, SV_LIT("transport"), &v))
		CHECK_IN(v, s);
	if (sip_uri_param(u, SV_LIT("lr"), &v))
		CHECK(u->lr);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct sv all = sv_make((const char *)data, size);
	struct sip_uri a, b;
	struct sip_err err = { 0 };
	struct sv host;
	uint8_t host_type;
	uint16_t port;
	char out[256];

	parse_checked(all, &a);

	if (sip_hostport_parse(all, &host, &host_type, &port, &err) == 0) {
		CHECK_IN(host, all);
		CHECK(host.len > 0 && host_type != SIP_HOST_NONE);
	} else {
		CHECK(err.reason != NULL && err.off <= size);
	}

	int r = sip_unescape(all, out, sizeof(out));
	CHECK(r == -EBADMSG || r == -ENOBUFS || (r >= 0 && (size_t)r <= size && r <= 256));

	ptrdiff_t nl = sv_find(all, '\n');
	if (nl >= 0) {
		struct sv s1 = sv_make(all.p, (size_t)nl), s2 = sv_skip(all, (size_t)nl + 1);
		if (parse_checked(s1, &a) == 0 && parse_checked(s2, &b) == 0)
			CHECK(sip_uri_equal(&a, &b) == sip_uri_equal(&b, &a));
	}
	return 0;
}
