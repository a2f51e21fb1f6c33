/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dns_ttl: dns_ttl_min() (storage/dns_ttl.h) on any input, as a DNS
 * answer, for each record type c-ares hands it (SRV, NAPTR) and A: either
 * -EBADMSG with a reason and an offset within the input, or a count of records
 * with a TTL below 2^31 (a top bit counts as 0), the same for every call.
 */
#include <errno.h>

#include "storage/dns_ttl.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = { DNS_TTL_T_SRV, DNS_TTL_T_NAPTR, DNS_TTL_T_A };
	int first = 0;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct dns_ttl_err err = { 0 };
		uint32_t ttl = 0xdeadbeef;
		int r = dns_ttl_min(data, size, types[i], &ttl, &err);

		if (r < 0) {
			CHECK(r == -EBADMSG);
			CHECK(err.reason != NULL && err.off <= size);
			CHECK(i == 0 || first < 0); /* malformed whatever the type */
		} else {
			CHECK(r <= 0xffff);
			CHECK(r == 0 ? ttl == 0xdeadbeef : ttl <= 0x7fffffffu);
			CHECK(i == 0 || first >= 0);
		}
		if (i == 0)
			first = r;
	}
	return 0;
}
