/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h: what the libFuzzer targets share: the entry point's prototype and
 * invariant checks that abort with the file, line and condition, so that a
 * broken invariant is reported by libFuzzer like a crash, with its input saved.
 */
#ifndef SIPRING_TESTS_FUZZ_H
#define SIPRING_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "parsers/sv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* An empty view may point anywhere (or nowhere); a non-empty one must lie in outer. */
static inline int fuzz_within(struct sv v, struct sv outer)
{
	return v.len == 0 || (v.p >= outer.p && v.len <= outer.len &&
			      (size_t)(v.p - outer.p) <= outer.len - v.len);
}

#define CHECK_IN(v, outer) CHECK(fuzz_within((v), (outer)))

#endif
