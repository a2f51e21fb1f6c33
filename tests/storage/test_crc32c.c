/* SPDX-License-Identifier: MIT */
/* Tests of storage/crc32c.h: the RFC 3720 vectors, both paths, incremental use. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "storage/crc32c.h"
#include "tests/guard.h"

Test(crc32c, vectors)
{
	static const struct {
		const char *name;
		uint8_t fill; /* octet value, or 0xaa for "ascending", 0xbb "descending" */
		size_t len;
		const char *text;
		uint32_t crc;
	} t[] = {
		{ "empty", 0, 0, "", 0x00000000 },
		{ "a", 0, 0, "a", 0xc1d04330 },
		{ "check", 0, 0, "123456789", 0xe3069283 },
		{ "32 zeros (RFC 3720 B.4)", 0x00, 32, NULL, 0x8a9136aa },
		{ "32 ones", 0xff, 32, NULL, 0x62a8ab43 },
		{ "ascending", 0xaa, 32, NULL, 0x46dd794e },
		{ "descending", 0xbb, 32, NULL, 0x113fdb5c },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint8_t buf[64];
		size_t len = t[i].text ? strlen(t[i].text) : t[i].len;

		if (t[i].text)
			memcpy(buf, t[i].text, len);
		else
			for (size_t k = 0; k < len; k++)
				buf[k] = t[i].fill == 0xaa   ? (uint8_t)k
					 : t[i].fill == 0xbb ? (uint8_t)(31 - k)
							     : t[i].fill;
		const void *g = guard_place(buf, len);
		cr_expect_eq(crc32c(0, g, len), t[i].crc, "%s: %08x", t[i].name, crc32c(0, g, len));
		cr_expect_eq(crc32c_sw(0, g, len), t[i].crc, "%s (table)", t[i].name);
	}
}

Test(crc32c, paths_agree_and_chain)
{
	uint8_t buf[4099];
	uint64_t s = 42;

	for (size_t i = 0; i < sizeof(buf); i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		buf[i] = (uint8_t)(s >> 56);
	}
	/* Every length up to 64 at every alignment up to 8, then a few long ones. */
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len <= 64; len++) {
			const uint8_t *g = (const uint8_t *)guard_place(buf + off, len);
			cr_assert_eq(crc32c(0, g, len), crc32c_sw(0, g, len), "off %zu len %zu",
				     off, len);
		}
	}
	for (size_t split = 0; split <= 4096; split += 97) {
		uint32_t whole = crc32c(0, buf, 4096);
		uint32_t part = crc32c(crc32c(0, buf, split), buf + split, 4096 - split);
		cr_assert_eq(whole, part, "split at %zu", split);
		cr_assert_eq(whole, crc32c_sw(crc32c_sw(0, buf, split), buf + split, 4096 - split));
	}
}
