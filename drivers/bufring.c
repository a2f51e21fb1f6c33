/* SPDX-License-Identifier: MIT */
/*
 * bufring.c: provided-buffer rings for liburing 2.3, and io_uring set-up
 * with the best flags the kernel accepts.
 */
#include "bufring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int bufring_setup(struct io_uring *ring, struct bufring *b, uint16_t bgid, unsigned entries,
		  uint32_t buf_size)
{
	memset(b, 0, sizeof(*b));
	if (entries == 0 || entries > 32768 || (entries & (entries - 1)) || buf_size == 0)
		return -EINVAL;

	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t bytes = (entries * sizeof(struct io_uring_buf) + page - 1) & ~(page - 1);
	void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (mem == MAP_FAILED)
		return -ENOMEM;
	uint8_t *bufs = NULL;
	if (posix_memalign((void **)&bufs, 4096, (size_t)entries * buf_size)) {
		munmap(mem, bytes);
		return -ENOMEM;
	}

	struct io_uring_buf_reg reg = {
		.ring_addr = (uint64_t)(uintptr_t)mem,
		.ring_entries = entries,
		.bgid = bgid,
	};
	int ret = io_uring_register_buf_ring(ring, &reg, 0);
	if (ret) {
		free(bufs);
		munmap(mem, bytes);
		return ret < 0 ? ret : -EINVAL;
	}

	b->br = mem;
	b->bufs = bufs;
	b->buf_size = buf_size;
	b->entries = (uint16_t)entries;
	b->bgid = bgid;
	b->ring_bytes = bytes;
	io_uring_buf_ring_init(b->br);
	int mask = io_uring_buf_ring_mask(entries);
	for (unsigned i = 0; i < entries; i++)
		io_uring_buf_ring_add(b->br, bufring_buf(b, i), buf_size, (unsigned short)i, mask,
				      (int)i);
	io_uring_buf_ring_advance(b->br, (int)entries);
	return 0;
}

void bufring_free(struct io_uring *ring, struct bufring *b)
{
	if (!b->br)
		return;
	io_uring_unregister_buf_ring(ring, b->bgid);
	munmap(b->br, b->ring_bytes);
	free(b->bufs);
	memset(b, 0, sizeof(*b));
}

int uring_queue_init(struct io_uring *ring, unsigned entries, unsigned *flags_used)
{
	static const unsigned tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	int ret = -EINVAL;
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = tries[i];
		ret = io_uring_queue_init_params(entries, ring, &p);
		if (ret == 0) {
			if (flags_used)
				*flags_used = tries[i];
			return 0;
		}
		if (ret != -EINVAL)
			return ret;
	}
	return ret;
}

static int read_sysctl(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int v = -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int uring_check(char *why, size_t len)
{
	struct io_uring ring;
	int ret = io_uring_queue_init(8, &ring, 0);
	if (ret < 0) {
		int disabled = read_sysctl("/proc/sys/kernel/io_uring_disabled");
		if (disabled > 0)
			snprintf(why, len,
				 "io_uring is disabled on this machine (sysctl "
				 "kernel.io_uring_disabled=%d; "
				 "set it to 0)",
				 disabled);
		else if (ret == -ENOSYS)
			snprintf(why, len,
				 "io_uring is not available: the kernel lacks it or a seccomp "
				 "filter blocks io_uring_setup (ENOSYS)");
		else if (ret == -EPERM)
			snprintf(why, len,
				 "io_uring_setup was refused (EPERM): a seccomp or container "
				 "policy forbids io_uring");
		else
			snprintf(why, len, "io_uring_setup failed: %s", strerror(-ret));
		return ret;
	}
	struct io_uring_probe *probe = io_uring_get_probe_ring(&ring);
	bool ok = probe && io_uring_opcode_supported(probe, IORING_OP_RECVMSG) &&
		  io_uring_opcode_supported(probe, IORING_OP_SENDMSG) &&
		  io_uring_opcode_supported(probe, IORING_OP_ACCEPT);
	if (probe)
		io_uring_free_probe(probe);
	struct bufring b;
	ret = ok ? bufring_setup(&ring, &b, 0, 8, 64) : -EOPNOTSUPP;
	if (ret == 0)
		bufring_free(&ring, &b);
	io_uring_queue_exit(&ring);
	if (ret < 0) {
		snprintf(why, len,
			 "this kernel's io_uring lacks provided-buffer rings or multishot receive "
			 "(need Linux 6.0 or later)");
		return ret;
	}
	return 0;
}
