/* SPDX-License-Identifier: MIT */
/* cpulist.c: see cpulist.h. */
#define _GNU_SOURCE
#include "cpulist.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>

int cpulist_parse(const char *s, int *cpus, unsigned max, unsigned *n)
{
	*n = 0;
	while (*s) {
		char *e;
		long a = strtol(s, &e, 10), b = a;
		if (e == s || a < 0 || a >= CPU_SETSIZE)
			return -EINVAL;
		if (*e == '-') {
			s = e + 1;
			b = strtol(s, &e, 10);
			if (e == s || b < a || b >= CPU_SETSIZE)
				return -EINVAL;
		}
		for (long c = a; c <= b; c++) {
			if (*n == max)
				return -EINVAL;
			cpus[(*n)++] = (int)c;
		}
		if (*e == ',')
			e++;
		else if (*e)
			return -EINVAL;
		s = e;
	}
	return *n ? 0 : -EINVAL;
}
