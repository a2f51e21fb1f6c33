/* SPDX-License-Identifier: MIT */
/*
 * cmd_domains.h: `sipringctl domains`, the carrier domain names the node
 * resolves (storage/domains.h: addresses, TTLs, failures), through its
 * management API (core/domain_api.h; docs/management.md has the routes and
 * their JSON):
 *
 *   sipringctl domains                  GET  /api/v1/domains
 *   sipringctl domains NAME             GET  /api/v1/domains/NAME
 *   sipringctl domains resolve NAME     POST /api/v1/domains/NAME/resolve
 *   sipringctl domains resolve --all    POST /api/v1/domains/resolve
 *
 * each with [-c CONFIG | --url http://HOST:PORT] [--json]. The endpoint is
 * found as for `status` (cmd_status.h: --url, http.listen of CONFIG, or
 * http://127.0.0.1:8080) and asked with its HTTP client. NAME is sent
 * percent-encoded (a domain called "resolve" is asked as "resolve."). The
 * output is an aligned table (one line per entry: name, kind, status,
 * addresses, TTL left, next resolution, error) and a count by status; every
 * field of each entry of NAME with its targets and their addresses; or a line
 * saying what was asked. With --json, the daemon's JSON pretty-printed. Times
 * are the daemon's relative ones (ttl_left, next_refresh_in) and its realtime
 * stamps shown in UTC. Text from the daemon is printed with control
 * characters, C1 controls, bidirectional overrides and octets that are not
 * UTF-8 as '?'.
 *
 * cmd_domains_run() takes the argv of the command (argv[0] is "domains"),
 * writes results to out and diagnostics, prefixed "sipringctl domains: ", to
 * err, and returns the exit status: 0 done; 1 the daemon could not be asked,
 * or answered with an error (no such domain: 404) or not with its JSON; 2
 * usage error (bad option, argument or URL, a configuration that does not
 * load or has http.listen off). A CLI command, never the service thread's: it
 * blocks on the network for up to 4 s.
 */
#ifndef SIPRING_CMD_DOMAINS_H
#define SIPRING_CMD_DOMAINS_H

#include <stdio.h>

/* For the command table of sipringctl.c: synopsis, one-line summary, help text. */
#define CMD_DOMAINS_ARGS    "[NAME | resolve NAME | resolve --all] [-c CONFIG | --url URL] [--json]"
#define CMD_DOMAINS_SUMMARY "Carrier domain names: addresses, TTLs, failures; resolve again."
extern const char cmd_domains_help[];

int cmd_domains_run(FILE *out, FILE *err, int argc, char **argv);

#endif
