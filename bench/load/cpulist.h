/* SPDX-License-Identifier: MIT */
/*
 * cpulist.h: a CPU list as taskset and the kernel write it ("1", "0,2-3"), for
 * the --cpu option of sipring-load and sipring-echo.
 */
#ifndef SIPRING_CPULIST_H
#define SIPRING_CPULIST_H

/*
 * Parse s into cpus[0..*n) (at most max entries, in the order written).
 * Returns 0, or -EINVAL when s is empty or malformed, names a CPU outside
 * 0..CPU_SETSIZE-1, a range backwards, or more than max CPUs.
 */
int cpulist_parse(const char *s, int *cpus, unsigned max, unsigned *n);

#endif
