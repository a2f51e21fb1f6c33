/* SPDX-License-Identifier: MIT */
/*
 * cmd_rates.h: `sipringctl rates`, the rating commands of the CLI.
 *
 *   rates lookup     --deck FILE NUMBER [--at DATE] [--duration SEC]
 *   rates route      --customer FILE --vendor NAME=FILE ... NUMBER [--order cost|profit]
 *                    [--min-profit RATE] [--max-minute-rate RATE] [--expected-duration SEC]
 *   rates autocreate --vendor FILE --margin PCT|--markup PCT [-o FILE]
 *
 * (every option in `sipringctl rates --help` and docs/rating.md). argv[0] is
 * "rates"; the return value is the process exit status: 0 done, 1 the command
 * ran and failed (no rate for the number, a malformed deck), 2 usage or I/O
 * error. Results go to `out`, diagnostics (prefixed "sipringctl: ") to `err`.
 * Decks are read whole into memory; nothing is kept after the call returns.
 */
#ifndef SIPRING_CMD_RATES_H
#define SIPRING_CMD_RATES_H

#include <stdio.h>

/* For sipringctl's command table: cmd_rates_run(stdout, stderr, argc, argv). */
int cmd_rates(int argc, char **argv);

int cmd_rates_run(FILE *out, FILE *err, int argc, char **argv);

#endif
