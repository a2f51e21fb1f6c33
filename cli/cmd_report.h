/* SPDX-License-Identifier: MIT */
/*
 * cmd_report.h: `sipringctl report`, the profit report of storage/report.h on
 * the command line.
 *
 *   sipringctl report [--by customer|vendor|gateway|destination|day]
 *                     [--day YYYY-MM-DD | --from YYYY-MM-DD [--to YYYY-MM-DD]]
 *                     (--redis HOST:PORT|/unix.sock [--db N] [--prefix P] | --spool DIR)
 *                     [--precision N] [--json]
 *
 * One row per day and key: calls, answered, ASR %, ACD (s), billed minutes,
 * revenue, cost, profit, margin %, then a total. The Redis password comes from
 * the environment (SIPRING_REDIS_PASSWORD), not from argv, where `ps` shows it.
 *
 * cmd_report() takes the argv of the command (argv[0] is "report"), writes the
 * report to stdout and diagnostics to stderr prefixed with "sipringctl: ", and
 * returns the exit status: 0 done, 1 the report could not be made (Redis
 * unreachable, spool unreadable), 2 usage error. It blocks on Redis (with a
 * timeout): a CLI command, never the service thread's.
 */
#ifndef SIPRING_CMD_REPORT_H
#define SIPRING_CMD_REPORT_H

/* For the command table of sipringctl.c: synopsis, one-line summary, help text. */
#define CMD_REPORT_ARGS                                                                 \
	"[--by customer|vendor|gateway|destination|day] [--day D | --from D [--to D]] " \
	"(--redis HOST:PORT|SOCKET | --spool DIR) [--precision N] [--json]"
#define CMD_REPORT_SUMMARY "Profit report by customer, vendor, gateway, destination or day."
extern const char cmd_report_help[];

int cmd_report(int argc, char **argv);

#endif
