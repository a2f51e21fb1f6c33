/* SPDX-License-Identifier: MIT */
/*
 * cmd_uplinks.h: `sipringctl uplinks`, the node's outbound registrations to
 * upstream carriers (core/uplink.h), through its management API
 * (core/uplink_api.h; docs/management.md has the routes and their JSON):
 *
 *   sipringctl uplinks                    GET  /api/v1/uplinks
 *   sipringctl uplinks NAME               GET  /api/v1/uplinks/NAME
 *   sipringctl uplinks register NAME      POST /api/v1/uplinks/NAME/register
 *   sipringctl uplinks unregister NAME    POST /api/v1/uplinks/NAME/unregister
 *
 * each with [-c CONFIG | --url http://HOST:PORT] [--json]. The endpoint is
 * found as for `status` (cmd_status.h: --url, http.listen of CONFIG, or
 * http://127.0.0.1:8080) and asked with its HTTP client. NAME is sent
 * percent-encoded. The output is an aligned table (one line per uplink) and a
 * count by state, every field of one uplink (one "field: value" line each),
 * or a line saying what was asked; with --json, the daemon's JSON
 * pretty-printed. Text from the daemon is printed with control characters,
 * C1 controls and octets that are not UTF-8 as '?'.
 *
 * cmd_uplinks_run() takes the argv of the command (argv[0] is "uplinks"),
 * writes results to out and diagnostics, prefixed "sipringctl uplinks: ", to
 * err, and returns the exit status: 0 done; 1 the daemon could not be asked,
 * or answered with an error (no such uplink: 404; stopping: 503) or not with
 * its JSON; 2 usage error (bad option, argument or URL, a configuration that
 * does not load or has http.listen off). A CLI command, never the service
 * thread's: it blocks on the network for up to 4 s.
 */
#ifndef SIPRING_CMD_UPLINKS_H
#define SIPRING_CMD_UPLINKS_H

#include <stdio.h>

/* For the command table of sipringctl.c: synopsis, one-line summary, help text. */
#define CMD_UPLINKS_ARGS    "[NAME | register NAME | unregister NAME] [-c CONFIG | --url URL] [--json]"
#define CMD_UPLINKS_SUMMARY "Registrations to upstream carriers (uplinks); register, unregister."
extern const char cmd_uplinks_help[];

int cmd_uplinks_run(FILE *out, FILE *err, int argc, char **argv);

#endif
