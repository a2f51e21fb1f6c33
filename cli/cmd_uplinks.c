/* SPDX-License-Identifier: MIT */
/*
 * cmd_uplinks.c: see cmd_uplinks.h. The options, the exchange with the
 * daemon, the text printing and the table are cli_api.h's; here are the
 * routes, the cells of an uplink and its fields.
 */
#define _GNU_SOURCE
#include "cmd_uplinks.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cli_api.h"

#define UPLINKS_PATH "/api/v1/uplinks"

const char cmd_uplinks_help[] =
	"\n"
	"Without arguments, lists every uplink (an upstream carrier this node\n"
	"registers to), one line each: name, state, the registrar asked (ip:port),\n"
	"transport, the registration's time left and the expiry granted, the time\n"
	"to the next request (refresh or retry), the last final response and the\n"
	"failed attempts in a row; then a count by state. With NAME, every field of\n"
	"that uplink, one per line.\n"
	"\n"
	"register NAME sends a REGISTER now (a stopped or failed uplink registers\n"
	"again); unregister NAME sends REGISTER Expires: 0 now, and the uplink stays\n"
	"unregistered until register NAME or a reload. Both are asynchronous: the\n"
	"node answers once the request is under way; `sipringctl uplinks NAME`\n"
	"shows the outcome.\n"
	"\n"
	"states: registering, registered, unregistering, unregistered, failed\n"
	"(retried when NEXT runs out), disabled (enabled: false in the uplinks file).\n"
	"\n"
	"options:\n" CLI_API_ENDPOINT_HELP CLI_API_JSON_HELP "\n"
	"exit status: 0 done; 1 the daemon could not be asked, or said no (no such\n"
	"uplink, the node is stopping, an HTTP error); 2 usage error or a\n"
	"configuration that does not load.\n";

/* The daemon's 404 "no such uplink" is said "no uplink named NAME". */
static const struct cli_api_cmd uplinks_cmd = {
	.name = "uplinks",
	.args = CMD_UPLINKS_ARGS,
	.summary = CMD_UPLINKS_SUMMARY,
	.help = cmd_uplinks_help,
	.max_pos = 2, /* register NAME */
	.noun = "uplink",
};

/* ---- formatting ---- */

/* "55m00s/1h00m00s": time left and expiry granted; "-" when none was granted. */
static char *expires_text(const cJSON *u)
{
	char in[32], granted[32], *s;

	if (cli_api_jnum(u, "expires_granted") <= 0)
		return strdup("-");
	cli_api_duration(cli_api_jnum(u, "expires_in"), in);
	cli_api_duration(cli_api_jnum(u, "expires_granted"), granted);
	return asprintf(&s, "%s/%s", in, granted) < 0 ? NULL : s;
}

/* The time to the next request; "-" for none (-1). */
static char *next_text(const cJSON *u)
{
	char buf[32];

	if (!cli_api_jhas_num(u, "next_action_in") || cli_api_jnum(u, "next_action_in") < 0)
		return strdup("-");
	cli_api_duration(cli_api_jnum(u, "next_action_in"), buf);
	return strdup(buf);
}

/* "200 OK", "403 Forbidden", a reason without a status ("timeout"), or "-". */
static char *last_text(const cJSON *u)
{
	const char *reason = cli_api_jstr(u, "last_reason");
	double st = cli_api_jnum(u, "last_status");
	char *s;
	int n;

	if (!reason)
		reason = "";
	if (st > 0 && st < 1000)
		n = asprintf(&s, "%.0f%s%s", st, reason[0] ? " " : "", reason);
	else
		n = asprintf(&s, "%s", reason[0] ? reason : "-");
	return n < 0 ? NULL : s;
}

/* ---- the table ---- */

enum { C_NAME, C_STATE, C_REGISTRAR, C_TP, C_EXPIRES, C_NEXT, C_LAST, C_FAILS, NCOL };

static const char *const head[NCOL] = { "name",	   "state", "registrar", "tp",
					"expires", "next",  "last",	 "fails" };
/* Right-aligned; the last column is never padded. */
static const bool right[NCOL] = { [C_EXPIRES] = true, [C_NEXT] = true };

/* The states in the order of the count line; anything else is counted as "other". */
static const char *const states[] = { "registered",   "registering", "unregistering",
				      "unregistered", "failed",	     "disabled" };

static void uplink_row(const cJSON *u, char **row)
{
	row[C_NAME] = cli_api_str_text(u, "name");
	row[C_STATE] = cli_api_str_text(u, "state");
	row[C_REGISTRAR] = cli_api_str_text(u, "registrar");
	row[C_TP] = cli_api_str_text(u, "transport");
	row[C_EXPIRES] = expires_text(u);
	row[C_NEXT] = next_text(u);
	row[C_LAST] = last_text(u);
	row[C_FAILS] = cli_api_num_text(u, "failures");
}

static const struct cli_api_table table = {
	.ncol = NCOL,
	.head = head,
	.right = right,
	.row = uplink_row,
	.list = "uplinks",
	.noun = "uplink",
	.state = "state",
	.states = states,
	.nstates = sizeof(states) / sizeof(states[0]),
};

/* ---- one uplink ---- */

enum kind { K_STR, K_BOOL, K_NUM, K_DUR };
enum none { NONE_NEVER, NONE_ZERO, NONE_NEGATIVE }; /* which numbers mean "none" */

static const struct field {
	const char *key;
	enum kind kind;
	enum none none;
} fields[] = {
	{ "name", K_STR },
	{ "state", K_STR },
	{ "enabled", K_BOOL },
	{ "busy", K_BOOL },
	{ "registrar", K_STR },
	{ "transport", K_STR },
	{ "aor", K_STR },
	{ "contact", K_STR },
	{ "call_id", K_STR },
	{ "cseq", K_NUM },
	{ "expires_asked", K_DUR },
	{ "expires_granted", K_DUR, NONE_ZERO },
	{ "expires_in", K_DUR },
	{ "next_action_in", K_DUR, NONE_NEGATIVE },
	{ "last_status", K_NUM, NONE_ZERO },
	{ "last_reason", K_STR },
	{ "failures", K_NUM },
	{ "send_unregister", K_BOOL },
};

#define FIELD_WIDTH 17 /* "expires_granted: " */

/* One field's value as printed (malloc'd), NULL when out of memory. */
static char *field_text(const cJSON *u, const struct field *f)
{
	double x = cli_api_jnum(u, f->key);
	char buf[32];

	switch (f->kind) {
	case K_STR:
		return cli_api_str_text(u, f->key);
	case K_BOOL:
		return cli_api_bool_text(u, f->key);
	case K_NUM:
	case K_DUR:
		break;
	}
	if (!cli_api_jhas_num(u, f->key) || (f->none == NONE_ZERO && x <= 0) ||
	    (f->none == NONE_NEGATIVE && x < 0))
		return strdup("-");
	if (f->kind == K_NUM)
		return cli_api_num_text(u, f->key);
	cli_api_duration(x, buf);
	return strdup(buf);
}

/*
 * "key: value" per field, the keys as in the JSON. Durations as the table has
 * them; "-" for none (an expires_granted or last_status of 0, a
 * next_action_in of -1), an empty string or a field the daemon left out.
 */
static int print_one(FILE *out, FILE *err, const cJSON *u)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char *v = field_text(u, &fields[i]);

		if (!v)
			return cli_api_oom(err, &uplinks_cmd);
		cli_api_put_field(out, fields[i].key, v, FIELD_WIDTH);
		free(v);
	}
	return EXIT_DONE;
}

/* ---- the command ---- */

int cmd_uplinks_run(FILE *out, FILE *err, int argc, char **argv)
{
	const struct cli_api_cmd *c = &uplinks_cmd;
	const char *action = NULL, *name = NULL;
	struct cli_api_opts o;
	char *path = NULL;
	cJSON *root;
	int r;

	r = cli_api_parse(out, err, c, argc, argv, &o);
	if (r < 0)
		return EXIT_DONE; /* --help */
	if (r > 0)
		return r;
	if (o.npos && (strcmp(o.pos[0], "register") == 0 || strcmp(o.pos[0], "unregister") == 0)) {
		action = o.pos[0];
		if (o.npos < 2)
			return cli_api_usage_error(err, c, "missing the NAME after", action);
		name = o.pos[1];
	} else {
		if (o.npos > 1)
			return cli_api_usage_error(err, c, "unexpected argument", o.pos[1]);
		name = o.npos ? o.pos[0] : NULL;
	}
	if (name && !name[0])
		return cli_api_usage_error(err, c, "an uplink's NAME cannot be empty:", name);
	r = cli_api_endpoint(err, c, &o);
	if (r)
		return r;
	/* The name percent-encoded (the daemon takes letters, digits and ._- only). */
	if (name && !(path = cli_api_path(UPLINKS_PATH, name, "", action)))
		return cli_api_oom(err, c);
	if (action)
		r = cli_api_ask(err, c, &o, "POST", path, NULL, name, "action", false, &root);
	else if (name)
		r = cli_api_ask(err, c, &o, "GET", path, NULL, name, "name", false, &root);
	else
		r = cli_api_ask(err, c, &o, "GET", UPLINKS_PATH, NULL, NULL, "uplinks", true,
				&root);
	free(path);
	if (r)
		return r;
	if (o.json) {
		cli_api_print_json(out, root);
	} else if (action) {
		cli_api_put_text(out, name, 0, false);
		fprintf(out, ": %s requested\n", action);
	} else if (name) {
		r = print_one(out, err, root);
	} else {
		r = cli_api_print_table(out, err, c, &table, root);
	}
	cJSON_Delete(root);
	return r;
}
