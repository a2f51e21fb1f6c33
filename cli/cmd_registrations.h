/* SPDX-License-Identifier: MIT */
/*
 * cmd_registrations.h: `sipringctl registrations` and `sipringctl suspensions`,
 * the registrar's state on a running node, through its management API
 * (core/reg_api.h; docs/management.md has the routes and their JSON):
 *
 *   sipringctl registrations [AOR]                   GET /api/v1/registrations[/AOR]
 *   sipringctl registrations delete AOR [CONTACT]    DELETE /api/v1/registrations/AOR
 *   sipringctl registrations delete AOR --instance URN [--reg-id N]
 *   sipringctl suspensions                           GET /api/v1/suspensions
 *   sipringctl suspensions clear KEY                 DELETE /api/v1/suspensions/KEY
 *
 * each with [-c CONFIG | --url http://HOST:PORT] [--json]. The endpoint is
 * found as for `status` (cmd_status.h: --url, http.listen of CONFIG, or
 * http://127.0.0.1:8080) and asked with its HTTP client. AOR and KEY are sent
 * percent-encoded; CONTACT is the Contact as the node stores it (as listed).
 * The output is an aligned table (one line per binding or suspension) and a
 * count, or a line saying what was removed; with --json, the daemon's JSON
 * pretty-printed.
 *
 * Each *_run() takes the argv of its command (argv[0] is "registrations" or
 * "suspensions"), writes results to out and diagnostics, prefixed
 * "sipringctl <command>: ", to err, and returns the exit status: 0 done; 1
 * the daemon could not be asked, or answered with an error (no such AOR,
 * binding or suspension: 404); 2 usage error (bad option, argument or URL, a
 * configuration that does not load or has http.listen off). A CLI command,
 * never the service thread's: it blocks on the network for up to 4 s.
 */
#ifndef SIPRING_CMD_REGISTRATIONS_H
#define SIPRING_CMD_REGISTRATIONS_H

#include <stdio.h>

/* For the command table of sipringctl.c: synopsis, one-line summary, help text. */
#define CMD_REGISTRATIONS_ARGS                                                                \
	"[AOR] | delete AOR [CONTACT | --instance URN [--reg-id N]] [-c CONFIG | --url URL] " \
	"[--json]"
#define CMD_REGISTRATIONS_SUMMARY "Registered AORs and their bindings; remove bindings."
extern const char cmd_registrations_help[];

#define CMD_SUSPENSIONS_ARGS	"[clear KEY] [-c CONFIG | --url URL] [--json]"
#define CMD_SUSPENSIONS_SUMMARY "Brute-force suspensions of users and addresses; lift one."
extern const char cmd_suspensions_help[];

int cmd_registrations_run(FILE *out, FILE *err, int argc, char **argv);
int cmd_suspensions_run(FILE *out, FILE *err, int argc, char **argv);

#endif
