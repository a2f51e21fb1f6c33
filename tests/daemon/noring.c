/* SPDX-License-Identifier: MIT */
/*
 * noring: run a command with io_uring forbidden, as a seccomp policy or a
 * container runtime does: io_uring_setup() fails with the errno given (ENOSYS or
 * EPERM). test_noring.py uses it to check that sipring says why it cannot
 * start instead of crashing.
 *
 *   noring ENOSYS|EPERM COMMAND [ARG...]
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: noring ENOSYS|EPERM COMMAND [ARG...]\n");
		return 2;
	}
	unsigned err = strcmp(argv[1], "EPERM") == 0 ? EPERM : ENOSYS;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("noring: seccomp");
		return 3;
	}
	execvp(argv[2], argv + 2);
	perror("noring: exec");
	return 3;
}
