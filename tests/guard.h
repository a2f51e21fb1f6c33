/* SPDX-License-Identifier: MIT */
/*
 * guard.h: test inputs placed against a guard page.
 *
 * guard_place() copies len octets so that the last one sits right before a
 * PROT_NONE page: a parser that reads one octet past the end of its input
 * faults at once instead of reading garbage. The region is reused by the next
 * call in the same process; guard_free() is not needed between calls.
 */
#ifndef SIPRING_TESTS_GUARD_H
#define SIPRING_TESTS_GUARD_H

#include <stddef.h>

const char *guard_place(const void *src, size_t len);

/* Read a whole file into a guarded buffer; returns NULL if it cannot be read. */
const char *guard_load(const char *path, size_t *len);

#endif
