/* SPDX-License-Identifier: MIT */
/*
 * cli_api.h: what the commands that ask a running node's management API
 * (status, registrations, suspensions, uplinks, domains) have in common, so
 * that each holds only its routes and its output:
 *
 *   - the options: [-c CONFIG | --url URL] [--json] [-h] [--] and the
 *     command's own (struct cli_api_cmd says which), and the endpoint they
 *     give (--url, http.listen of CONFIG, or CMD_STATUS_DEFAULT_URL);
 *   - the exchange (cli_api_ask(): cmd_status.h's HTTP client, then the
 *     daemon's errors turned into one line and an exit status) and the path
 *     of one named object (percent-encoded);
 *   - text from the daemon as a person reads it: control characters, C1
 *     controls, line separators, bidirectional overrides and octets that are
 *     not UTF-8 as '?', widths counted in characters; durations ("9m59s");
 *     an aligned table with a count by state; "key: value" lines.
 *
 * Diagnostics go to err, prefixed "sipringctl NAME: " (NAME is the
 * command's). Functions that can fail return the command's exit status
 * (EXIT_FAIL or EXIT_USAGE) after that one line, or 0; strings returned are
 * malloc'd and the caller's to free (NULL when out of memory). Nothing here
 * keeps state: a cli_api_opts lives in the caller, and the strings it points
 * to are argv's. Built with cmd_status.c, whose client it uses and whose
 * command uses it (one library: cli/meson.build).
 */
#ifndef SIPRING_CLI_API_H
#define SIPRING_CLI_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cli/cmd_status.h"

/* The exit statuses of every API command. */
enum { EXIT_DONE = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* The options' lines of every API command's help text, around its own. */
#define CLI_API_ENDPOINT_HELP                                                      \
	"  -c, --config FILE  the node's configuration: ask at its http.listen\n"  \
	"  --url URL          ask at http://HOST:PORT (IPv6: http://[::1]:8080)\n" \
	"                     default " CMD_STATUS_DEFAULT_URL "\n"
#define CLI_API_JSON_HELP                                          \
	"  --json             the daemon's JSON, pretty-printed\n" \
	"  -h, --help         this text\n"

#define CLI_API_MAX_POS	 3 /* operands a command takes, at most */
#define CLI_API_MAX_OPTS 2 /* options of its own, of each kind */

/* One command: what sets it apart from the others. */
struct cli_api_cmd {
	const char *name;    /* "uplinks": argv[0], and the prefix of diagnostics */
	const char *args;    /* the synopsis after the name */
	const char *summary; /* --help: the one-line summary, then help */
	const char *help;
	int max_pos; /* operands taken; with none, "-" and "--" are unknown options */
	const char *flags[CLI_API_MAX_OPTS];  /* its options without a value ("--all") */
	const char *valued[CLI_API_MAX_OPTS]; /* its long options with one ("--instance") */
	/*
	 * A 404 about the NAME asked: with noun ("uplink"), the daemon's "no
	 * such uplink" is said "no uplink named NAME" (any other 404 as an HTTP
	 * error); without, any 404 with an "error" is said "NAME: ERROR".
	 */
	const char *noun;
	const char *answer; /* "the answer is not ANSWER"; NULL: "sipring's JSON" */
	bool only_200;	    /* only 200 is an answer, not every 2xx */
	bool error_as_is;   /* NAME and the daemon's "error" printed as they are */
};

/* The command line, parsed. */
struct cli_api_opts {
	const char *config, *url; /* url: the endpoint, after cli_api_endpoint() */
	bool json;
	bool flag[CLI_API_MAX_OPTS];	     /* cmd->flags[i] was given */
	const char *value[CLI_API_MAX_OPTS]; /* cmd->valued[i]'s value, or NULL */
	const char *pos[CLI_API_MAX_POS];
	int npos;
	char url_buf[128]; /* the URL of -c */
};

/* "sipringctl NAME: WHAT 'ARG'" and the usage line on err; returns EXIT_USAGE. */
int cli_api_usage_error(FILE *err, const struct cli_api_cmd *c, const char *what, const char *arg);

/*
 * argv[1..argc) into *o. -h/--help prints the usage line, the summary and
 * the help to out and returns -1; otherwise 0, or the exit status of a usage
 * error (an unknown option, a missing value, one given twice, too many
 * operands, both -c and --url). --opt=value is taken for every option with a
 * value but -c; after "--" every argument is an operand.
 */
int cli_api_parse(FILE *out, FILE *err, const struct cli_api_cmd *c, int argc, char **argv,
		  struct cli_api_opts *o);

/*
 * The endpoint into o->url: --url, the URL of -c's configuration
 * (cmd_status_config_url(); it failing is a usage error), or
 * CMD_STATUS_DEFAULT_URL. Returns 0 or EXIT_USAGE.
 */
int cli_api_endpoint(FILE *err, const struct cli_api_cmd *c, struct cli_api_opts *o);

/*
 * method path at o->url with body (application/json; a POST without one
 * sends an empty body). Returns 0 and *root, a JSON object with member want
 * (when want is not NULL; an array when want_array), the caller's to
 * cJSON_Delete(); or the exit status after one line: a URL that is not
 * http://HOST:PORT (EXIT_USAGE), the daemon not reached, a 404 about name
 * (struct cli_api_cmd's noun), another HTTP error ("URL/path: HTTP 503:
 * ERROR"), an answer that is not the daemon's JSON (EXIT_FAIL).
 */
int cli_api_ask(FILE *err, const struct cli_api_cmd *c, const struct cli_api_opts *o,
		const char *method, const char *path, const char *body, const char *name,
		const char *want, bool want_array, cJSON **root);

/*
 * prefix "/" elem ["/" action]: elem percent-encoded but for letters,
 * digits, -._~ and the characters of keep ("@:"). NULL when out of memory.
 */
char *cli_api_path(const char *prefix, const char *elem, const char *keep, const char *action);

/* root pretty-printed and a newline. */
void cli_api_print_json(FILE *out, const cJSON *root);

/* "sipringctl NAME: out of memory" on err; returns EXIT_FAIL. */
int cli_api_oom(FILE *err, const struct cli_api_cmd *c);

/* ---- reading the daemon's JSON ---- */

/* Member k of o: a string (else NULL), a number (else 0), whether it is one. */
const char *cli_api_jstr(const cJSON *o, const char *k);
double cli_api_jnum(const cJSON *o, const char *k);
bool cli_api_jhas_num(const cJSON *o, const char *k);

/*
 * Member k of o as a cell: the string ("-" when absent or empty), the number
 * as a whole one ("-" when absent), "yes"/"no" ("-" when not a boolean).
 * malloc'd; NULL when out of memory.
 */
char *cli_api_str_text(const cJSON *o, const char *k);
char *cli_api_num_text(const cJSON *o, const char *k);
char *cli_api_bool_text(const cJSON *o, const char *k);

/* ---- text from the daemon, as a person reads it ---- */

/* The characters of s as cli_api_put_text() prints them (one column each). */
size_t cli_api_text_width(const char *s);

/* s padded to width (on the left when right), each unprintable character as '?'. */
void cli_api_put_text(FILE *out, const char *s, size_t width, bool right);

/* "key:" padded to width columns, then v as cli_api_put_text() prints it, and a newline. */
void cli_api_put_field(FILE *out, const char *key, const char *v, size_t width);

/* Seconds as "45s", "9m59s", "1h00m00s", "2d03h00m"; 0 for negative ones. */
void cli_api_duration(double s, char buf[32]);

/* ---- a table of the daemon's objects ---- */

#define CLI_API_MAX_COLS 8

/*
 * The head, one row per object of the answer's array `list`, aligned (widths
 * in characters, columns right-aligned where right[k], the last one never
 * padded), then "\nN NOUNs: 2 registered, 1 failed" counting each object's
 * member `state` as one of states[] (in their order) or "other"; "no NOUNs"
 * when there are none. truncated, when not NULL, is said after the count when
 * the answer's "truncated" is true.
 */
struct cli_api_table {
	unsigned ncol; /* at most CLI_API_MAX_COLS */
	const char *const *head;
	const bool *right;
	/* The cells of obj, malloc'd into row[0..ncol); one NULL: out of memory. */
	void (*row)(const cJSON *obj, char **row);
	const char *list, *noun, *state;
	const char *const *states;
	size_t nstates;
	const char *truncated;
};

/* Returns 0, or EXIT_FAIL when out of memory (said on err). */
int cli_api_print_table(FILE *out, FILE *err, const struct cli_api_cmd *c,
			const struct cli_api_table *t, const cJSON *root);

#endif
