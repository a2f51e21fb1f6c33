/* SPDX-License-Identifier: MIT */
/*
 * Tests of cli/cmd_report.h: usage errors, sources that fail, and the exact
 * table and JSON of a small spool whose figures are worked out by hand below.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd_report.h"
#include "storage/cdr.h"
#include "storage/spool.h"

static char dir[256];

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/sipring-cmdreport-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(dir));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(cmd_report, .init = setup, .fini = teardown);

/* Run `report args...` with stdout and stderr captured (each at most 8 KiB). */
static int run(const char *const *args, char out[8192], char err[8192])
{
	char *argv[32];
	int argc = 0, status, so, se;
	FILE *fo = tmpfile(), *fe = tmpfile();

	argv[argc++] = "report";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	status = cmd_report(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	for (int k = 0; k < 2; k++) {
		FILE *f = k ? fe : fo;
		char *b = k ? err : out;
		size_t n;
		rewind(f);
		n = fread(b, 1, 8191, f);
		b[n] = '\0';
		fclose(f);
	}
	return status;
}

/*
 * 2024-06-10: acme calls 44 through v1/g1, answered 60 s (billed 60 / 60),
 * revenue 0.60 cost 0.45; a rerouted free attempt through v2/g2; a second
 * answered call of 30 s (billed 60 / 30), revenue 0.60 cost 0.225.
 * 2024-06-11: zeta calls 33, no route.
 */
static void write_spool(void)
{
	static const struct {
		int64_t setup, answer, end;
		const char *cust, *vend, *gw, *pfx;
		uint32_t cb, vb;
		int64_t rev, cost;
		uint32_t flags;
	} t[] = {
		{ 1717977600000 + 1000, 1717977600000 + 5000, 1717977600000 + 65000, "acme", "v1",
		  "g1", "44", 60, 60, 600000, 450000, 0 },
		{ 1717977600000 + 9000, 0, 1717977600000 + 12000, "acme", "v2", "g2", "44", 0, 0, 0,
		  0, CDR_F_REROUTED },
		{ 1717977600000 + 9500, 1717977600000 + 10000, 1717977600000 + 40000, "acme", "v1",
		  "g1", "44", 60, 30, 600000, 225000, 0 },
		{ 1718064000000 + 1, 0, 1718064000000 + 2000, "zeta", "", "", "33", 0, 0, 0, 0, 0 },
	};
	struct spool_config cfg = { .dir = dir, .fsync = SPOOL_FSYNC_NEVER };
	struct spool *sp;

	cr_assert_eq(spool_open(&sp, &cfg), 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cdr c = { .id = { 1, 2, i + 1 },
				 .setup_ms = t[i].setup,
				 .answer_ms = t[i].answer,
				 .end_ms = t[i].end,
				 .customer = sv_cstr(t[i].cust),
				 .vendor = sv_cstr(t[i].vend),
				 .gateway = sv_cstr(t[i].gw),
				 .cust_prefix = sv_cstr(t[i].pfx),
				 .cust_billed_s = t[i].cb,
				 .vend_billed_s = t[i].vb,
				 .revenue = t[i].rev,
				 .cost = t[i].cost,
				 .flags = t[i].flags };
		uint8_t buf[CDR_ENC_MAX];
		int n = cdr_encode(&c, buf, sizeof(buf));
		cr_assert_eq(spool_append(sp, buf, (size_t)n, NULL), 0);
	}
	spool_close(sp);
}

Test(cmd_report, usage_and_failures)
{
	static const struct {
		const char *args[10];
		int status;
		const char *in_err; /* expected in stderr, or NULL */
	} t[] = {
		{ { NULL }, 2, "give one source" },
		{ { "--spool", NULL }, 2, "missing value" },
		{ { "--spool", "d", "--redis", "127.0.0.1:1", NULL }, 2, "give one source" },
		{ { "--by", "country", "--spool", "d", NULL }, 2, "--by takes" },
		{ { "--by=", "--spool", "d", NULL }, 2, "--by takes" },
		{ { "--day", "2024-13-01", "--spool", "d", NULL }, 2, "not a date" },
		{ { "--precision", "7", "--spool", "d", NULL }, 2, "--precision" },
		{ { "--from", "2024-06-12", "--to", "2024-06-10", "--spool", "d", NULL },
		  2,
		  "after" },
		{ { "--day", "2024-06-10", "--from", "2024-06-10", "--spool", "d", NULL },
		  2,
		  "--day" },
		{ { "--bogus", NULL }, 2, "unknown option" },
		{ { "extra", NULL }, 2, "unexpected argument" },
		{ { "--redis", "127.0.0.1:99999", NULL }, 2, "--redis takes" },
		{ { "--redis", ":6379", NULL }, 2, "--redis takes" },
		{ { "--spool", "/nonexistent/sipring", "--day", "2024-06-10", NULL }, 1, "spool" },
		{ { "--redis", "127.0.0.1:1", "--day", "2024-06-10", NULL }, 1, "redis" },
		{ { "--help", NULL }, 0, NULL },
	};
	static char out[8192], err[8192];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int st = run(t[i].args, out, err);
		cr_expect_eq(st, t[i].status, "case %zu (%s): %d, stderr: %s", i,
			     t[i].args[0] ? t[i].args[0] : "", st, err);
		if (t[i].in_err) {
			cr_expect_not_null(strstr(err, t[i].in_err), "case %zu: %s", i, err);
			cr_expect_eq(strncmp(err, "sipringctl: ", 12), 0);
		}
	}
	const char *help[] = { "-h", NULL };
	cr_assert_eq(run(help, out, err), 0);
	cr_expect_not_null(strstr(out, "usage: sipringctl report"));
	cr_expect_not_null(strstr(out, "SIPRING_REDIS_PASSWORD"));
}

Test(cmd_report, json_exact)
{
	static char out[8192], err[8192];
	const char *args[] = { "--spool",	  dir,	    "--from", "2024-06-10",
			       "--to=2024-06-11", "--json", NULL };

	write_spool();
	cr_assert_eq(run(args, out, err), 0, "%s", err);
	cr_assert_str_eq(
		out,
		"{\"by\":\"customer\",\"from\":\"2024-06-10\",\"to\":\"2024-06-11\","
		"\"source\":\"spool\",\"precision\":4,\"rows\":["
		"{\"day\":\"2024-06-10\",\"key\":\"acme\",\"calls\":2,\"answered\":2,"
		"\"asr\":100.00,\"acd\":45.0,\"seconds\":120,\"minutes\":2.00,"
		"\"revenue\":1.2000,\"cost\":0.6750,\"profit\":0.5250,\"margin\":43.75},"
		"{\"day\":\"2024-06-11\",\"key\":\"zeta\",\"calls\":1,\"answered\":0,"
		"\"asr\":0.00,\"acd\":null,\"seconds\":0,\"minutes\":0.00,"
		"\"revenue\":0.0000,\"cost\":0.0000,\"profit\":0.0000,\"margin\":null}],"
		"\"total\":{\"calls\":3,\"answered\":2,\"asr\":66.67,\"acd\":45.0,\"seconds\":120,"
		"\"minutes\":2.00,\"revenue\":1.2000,\"cost\":0.6750,\"profit\":0.5250,"
		"\"margin\":43.75},\"skipped\":0}\n");
}

Test(cmd_report, table_exact)
{
	static char out[8192], err[8192];
	const char *args[] = { "--by",	     "vendor",	    "--spool", dir, "--day",
			       "2024-06-10", "--precision", "2",       NULL };

	write_spool();
	cr_assert_eq(run(args, out, err), 0, "%s", err);
	/* v1: 2 answered, 90 billed s; v2: the free rerouted attempt. */
	cr_assert_str_eq(out,
			 "day         vendor  calls  answered    ASR%  ACD(s)  minutes  revenue  "
			 "cost  profit  margin%\n"
			 "2024-06-10  v1          2         2  100.00    45.0     1.50     1.20  "
			 "0.68    0.53    43.75\n"
			 "2024-06-10  v2          1         0    0.00       -     0.00     0.00  "
			 "0.00    0.00        -\n"
			 "total                   3         2   66.67    45.0     1.50     1.20  "
			 "0.68    0.53    43.75\n");
	const char *byday[] = { "--by", "day", "--spool", dir, "--from", "2024-06-10", NULL };
	cr_assert_eq(run(byday, out, err), 0, "%s", err);
	/* One row per day, no key column: acme's two calls, then zeta's one. */
	cr_expect_str_eq(out,
			 "day         calls  answered    ASR%  ACD(s)  minutes  revenue    cost  "
			 "profit  margin%\n"
			 "2024-06-10      2         2  100.00    45.0     2.00   1.2000  0.6750  "
			 "0.5250    43.75\n"
			 "2024-06-11      1         0    0.00       -     0.00   0.0000  0.0000  "
			 "0.0000        -\n"
			 "total           3         2   66.67    45.0     2.00   1.2000  0.6750  "
			 "0.5250    43.75\n");
}
