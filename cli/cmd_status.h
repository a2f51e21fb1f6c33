/* SPDX-License-Identifier: MIT */
/*
 * cmd_status.h: `sipringctl status`, a running node's state, workers and
 * counters, from its management endpoint (GET /api/v1/status, core/mgmt.h).
 *
 *   sipringctl status [-c CONFIG | --url http://HOST:PORT] [--json]
 *
 * The endpoint is --url, or http.listen of the configuration file CONFIG
 * (conf_load(), core/conf.h; 0.0.0.0 and :: mean this host's loopback), or
 * http://127.0.0.1:8080. The output is a few aligned lines (node, version,
 * state, uptime, one line per worker with its received and sent messages and
 * loop utilisation, totals) or, with --json, the daemon's JSON pretty-printed.
 *
 * cmd_status_run() takes the argv of the command (argv[0] is "status"), writes
 * results to out and diagnostics, prefixed "sipringctl status: ", to err, and
 * returns the exit status: 0 done; 1 the daemon could not be asked (not
 * running, refused, timed out, answered with an error or not with its JSON); 2
 * usage error (bad option or URL, a configuration that does not load or has
 * http.listen off).
 *
 * HTTP is a plain blocking socket: one HTTP/1.1 request (a GET for status)
 * with "Connection: close",
 * a body framed by Content-Length, chunked or the end of the connection, and
 * CMD_STATUS_TIMEOUT_MS to connect and as much again to have the whole answer.
 * A CLI command, never the service thread's.
 */
#ifndef SIPRING_CMD_STATUS_H
#define SIPRING_CMD_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* For the command table of sipringctl.c: synopsis, one-line summary, help text. */
#define CMD_STATUS_ARGS	   "[-c CONFIG | --url http://HOST:PORT] [--json]"
#define CMD_STATUS_SUMMARY "A running node's state, workers and counters."
extern const char cmd_status_help[];

#define CMD_STATUS_DEFAULT_URL "http://127.0.0.1:8080"
#define CMD_STATUS_TIMEOUT_MS  2000
#define CMD_STATUS_MAX_BODY    (8u << 20)

int cmd_status_run(FILE *out, FILE *err, int argc, char **argv);

/* ---- the HTTP client and the endpoint, for every API command (cli_api.h) ---- */

/* Said after a connect error, when the daemon is probably not running. */
#define CMD_STATUS_CONNECT_HINT " (is sipring running? http.listen in the config)"

struct cmd_status_resp {
	int status;	/* the HTTP status code */
	char *body;	/* the body, de-chunked and NUL-terminated; free() it */
	size_t len;	/* without the NUL */
	bool connected; /* a connection was made (also set on errors): no hint needed */
};

/*
 * GET url's base path + path ("/api/v1/status"). url is http://HOST[:PORT][/BASE]
 * ("http://" may be left out; HOST a name, an IPv4 address or [IPv6]; PORT
 * defaults to 80). Blocks for at most twice CMD_STATUS_TIMEOUT_MS. Returns 0 and
 * *resp for any HTTP status, or a negative errno with one line in err:
 * -EINVAL (url malformed: "not an http:// URL: 'x'"), the connect() errno
 * ("cannot connect to 127.0.0.1:8080: Connection refused"), -ETIMEDOUT,
 * -EBADMSG (not an HTTP response), -E2BIG (over CMD_STATUS_MAX_BODY), -ENOENT
 * (host name not found), -ENOMEM.
 */
int cmd_status_get(const char *url, const char *path, struct cmd_status_resp *resp, char *err,
		   size_t errlen);

/*
 * cmd_status_get() with another method ("DELETE") and, when body is not NULL,
 * body_len octets of body sent as application/json. path is sent as given:
 * the caller percent-encodes what it puts in it.
 */
int cmd_status_request(const char *url, const char *method, const char *path, const char *body,
		       size_t body_len, struct cmd_status_resp *resp, char *err, size_t errlen);

/*
 * The URL of the management endpoint of the configuration file at path
 * (conf_load(); http.listen, with 0.0.0.0 and :: asked at the loopback) into
 * url[0..len): "http://127.0.0.1:8080". Returns 0, or a negative errno with
 * one line in err: the configuration's error, or -ENOTCONN when http.listen
 * is off ("sipring.yaml: http.listen is off: the management endpoint is
 * disabled").
 */
int cmd_status_config_url(const char *path, char *url, size_t len, char *err, size_t errlen);

#endif
