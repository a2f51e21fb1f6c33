/* SPDX-License-Identifier: MIT */
/*
 * fuzz_conf: the configuration loader (core/conf.h) on arbitrary YAML. The input
 * is written to a memfd and loaded through /proc/self/fd/N, as a file would be.
 *
 * Invariants: conf_load() returns 0 or a negative errno; on failure it leaves
 * nothing allocated (LeakSanitizer) and the message is one line that starts with
 * the file name and a line number ("FILE:LINE: KEY: reason"); on success every
 * value is inside its documented range, and conf_restart_keys() of the loaded
 * configuration against itself names nothing.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/conf.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512], keys[256];
	struct conf c;

	int fd = memfd_create("fuzz.yaml", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = 0;
	int ret = conf_load(path, &c, err, sizeof(err));
	close(fd);
	if (ret < 0) {
		CHECK(strncmp(err, path, strlen(path)) == 0);
		CHECK(err[strlen(path)] == ':');
		CHECK(strchr(err, '\n') == NULL);
		return 0;
	}
	CHECK(ret == 0);
	CHECK(c.nlisten >= 1);
	CHECK(c.workers <= 256);
	CHECK(c.t1_ms >= 100 && c.t1_ms <= 10000 && c.t2_ms >= c.t1_ms);
	CHECK(c.max_message_size >= 1024 && c.max_message_size <= 65535);
	CHECK(c.rx_buffer_size >= c.max_message_size);
	CHECK((c.rx_buffers & (c.rx_buffers - 1)) == 0);
	CHECK((c.ring_entries & (c.ring_entries - 1)) == 0);
	CHECK(conf_restart_keys(&c, &c, keys, sizeof(keys)) == 0);
	conf_free(&c);
	return 0;
}
