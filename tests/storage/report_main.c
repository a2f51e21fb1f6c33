/* SPDX-License-Identifier: MIT */
/*
 * report_main.c: a standalone `report` command (test-only), running
 * cli/cmd_report.c until sipringctl.c has it in its command table:
 *   build-dir/tests/storage/sipring-report --spool DIR --by vendor
 */
#include "cli/cmd_report.h"

int main(int argc, char **argv)
{
	/* argv[0] stands for the command name, which cmd_report() does not read. */
	return cmd_report(argc, argv);
}
