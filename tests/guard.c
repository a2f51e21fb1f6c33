/* SPDX-License-Identifier: MIT */
/* guard.c: see guard.h. */
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *region;
static size_t region_len;

const char *guard_place(const void *src, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t need = ((len + pg - 1) / pg + 1) * pg;

	if (need > region_len) {
		if (region)
			munmap(region, region_len);
		region = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			      0);
		if (region == MAP_FAILED) {
			region = NULL;
			region_len = 0;
			abort();
		}
		region_len = need;
		if (mprotect(region + need - pg, pg, PROT_NONE) != 0)
			abort();
	}
	char *dst = region + region_len - pg - len;
	if (len)
		memcpy(dst, src, len);
	return dst;
}

const char *guard_load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char tmp[1 << 16];
	size_t n;

	if (!f)
		return NULL;
	n = fread(tmp, 1, sizeof(tmp), f);
	fclose(f);
	*len = n;
	return guard_place(tmp, n);
}
