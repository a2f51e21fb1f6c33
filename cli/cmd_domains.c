/* SPDX-License-Identifier: MIT */
/*
 * cmd_domains.c: see cmd_domains.h. The options, the exchange with the
 * daemon, the text printing and the table are cli_api.h's; here are the
 * routes, the cells of an entry, its fields and its targets.
 */
#define _GNU_SOURCE
#include "cmd_domains.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli/cli_api.h"

#define DOMAINS_PATH "/api/v1/domains"
#define ADDRS_WIDTH  48 /* the addresses cell: more are counted ("+3"), not listed */

const char cmd_domains_help[] =
	"\n"
	"Without arguments, lists every entry of the node's domain table (the\n"
	"carrier domain names its gateways, proxies and uplinks use, resolved\n"
	"ahead of the calls and kept for their DNS TTL), one line each: name, kind,\n"
	"status, addresses (ip:port; the port only when DNS gave one), the TTL left,\n"
	"the time to the next resolution and the last error; then a count by status.\n"
	"With NAME, every field of each entry of that name (one per kind), with its\n"
	"targets (SRV/NAPTR: port, priority, weight, transport) and their addresses.\n"
	"\n"
	"resolve NAME asks DNS again now for every kind of NAME; resolve --all for\n"
	"every entry. Both are asynchronous: the node answers once the entries are\n"
	"marked; `sipringctl domains NAME` shows the outcome. A literal IP address\n"
	"is never resolved. A domain called \"resolve\" is written \"resolve.\".\n"
	"\n"
	"kinds: host (A and AAAA), a, aaaa, srv, naptr (RFC 3263).\n"
	"statuses: ok, stale (DNS fails; the last addresses served until the grace\n"
	"ends), pending (not resolved yet), nxdomain (no such name or record),\n"
	"servfail, timeout, unreachable (no addresses).\n"
	"\n"
	"options:\n" CLI_API_ENDPOINT_HELP
	"  --all              resolve: every entry\n" CLI_API_JSON_HELP "\n"
	"exit status: 0 done; 1 the daemon could not be asked, or said no (no such\n"
	"domain, an HTTP error); 2 usage error or a configuration that does not\n"
	"load.\n";

enum { OPT_ALL }; /* its flags */

/* The daemon's 404 "no such domain" is said "no domain named NAME". */
static const struct cli_api_cmd domains_cmd = {
	.name = "domains",
	.args = CMD_DOMAINS_ARGS,
	.summary = CMD_DOMAINS_SUMMARY,
	.help = cmd_domains_help,
	.max_pos = 2, /* resolve NAME */
	.flags = { [OPT_ALL] = "--all" },
	.noun = "domain",
};

/* ---- formatting ---- */

/* The TTL left; "-" when the entry has no TTL running (literal, pending, failed). */
static char *ttl_left_text(const cJSON *e)
{
	char buf[32];

	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "literal")) ||
	    cli_api_jnum(e, "expires_at") <= 0 || !cli_api_jhas_num(e, "ttl_left"))
		return strdup("-");
	cli_api_duration(cli_api_jnum(e, "ttl_left"), buf);
	return strdup(buf);
}

/* The time to the next resolution: "now" (due or under way), "-" never. */
static char *next_text(const cJSON *e)
{
	char buf[32];

	if (!cli_api_jhas_num(e, "next_refresh_in") || cli_api_jnum(e, "next_refresh_in") < 0)
		return strdup("-");
	if (cli_api_jnum(e, "next_refresh_in") == 0)
		return strdup("now");
	cli_api_duration(cli_api_jnum(e, "next_refresh_in"), buf);
	return strdup(buf);
}

/* A realtime stamp in ms as "2025-06-01T12:00:00Z"; "-" for 0. */
static char *time_text(const cJSON *e, const char *k)
{
	double ms = cli_api_jnum(e, k);
	char buf[64];
	struct tm tm;
	time_t t;

	if (!cli_api_jhas_num(e, k) || ms <= 0)
		return strdup("-");
	if (ms > 253402300799000.0) /* past 9999-12-31 */
		return strdup("?");
	t = (time_t)(ms / 1000);
	if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return strdup("?");
	return strdup(buf);
}

/*
 * Every address of every target, comma-joined, while the text fits
 * ADDRS_WIDTH (the first always shown), then how many more ("+3"); "-" for
 * none.
 */
static char *addrs_text(const cJSON *e)
{
	const cJSON *t, *a;
	size_t total = 0, shown = 0, len = 0;
	char *s = NULL, *r = NULL;
	bool full = false;

	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(e, "targets"))
	{
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(t, "addresses"))
		{
			size_t l;
			char *p;

			if (!cJSON_IsString(a))
				continue;
			total++;
			l = strlen(a->valuestring);
			if (full || (shown && len + 1 + l > ADDRS_WIDTH)) {
				full = true;
				continue;
			}
			if (asprintf(&p, "%s%s%s", s ? s : "", s ? "," : "", a->valuestring) < 0) {
				free(s);
				return NULL;
			}
			free(s);
			s = p;
			len = strlen(s);
			shown++;
		}
	}
	if (!total)
		return strdup("-");
	if (shown == total)
		return s;
	if (asprintf(&r, "%s +%zu", s, total - shown) < 0)
		r = NULL;
	free(s);
	return r;
}

/* ---- the table ---- */

enum { C_NAME, C_KIND, C_STATUS, C_ADDRS, C_TTL, C_NEXT, C_ERROR, NCOL };

static const char *const head[NCOL] = { "name",	    "kind", "status", "addresses",
					"ttl-left", "next", "error" };
/* Right-aligned; the last column is never padded. */
static const bool right[NCOL] = { [C_TTL] = true, [C_NEXT] = true };

/* The statuses in the order of the count line; anything else is counted as "other". */
static const char *const statuses[] = { "ok",	    "stale",   "pending",    "nxdomain",
					"servfail", "timeout", "unreachable" };
static void entry_row(const cJSON *e, char **row)
{
	row[C_NAME] = cli_api_str_text(e, "name");
	row[C_KIND] = cli_api_str_text(e, "kind");
	row[C_STATUS] = cli_api_str_text(e, "status");
	row[C_ADDRS] = addrs_text(e);
	row[C_TTL] = ttl_left_text(e);
	row[C_NEXT] = next_text(e);
	row[C_ERROR] = cli_api_str_text(e, "error");
}

static const struct cli_api_table table = {
	.ncol = NCOL,
	.head = head,
	.right = right,
	.row = entry_row,
	.list = "domains",
	.noun = "domain",
	.state = "status",
	.states = statuses,
	.nstates = sizeof(statuses) / sizeof(statuses[0]),
	.truncated = "truncated: the node lists at most 10000 entries",
};

/* ---- the entries of one name ---- */

enum kind { K_STR, K_BOOL, K_NUM, K_DUR, K_TTL_LEFT, K_TIME, K_NEXT, K_NODE };

static const struct field {
	const char *key;
	enum kind kind;
} fields[] = {
	{ "name", K_STR },	    { "kind", K_STR },		{ "status", K_STR },
	{ "fail", K_STR },	    { "error", K_STR },		{ "node", K_NODE },
	{ "literal", K_BOOL },	    { "busy", K_BOOL },		{ "ttl", K_DUR },
	{ "ttl_left", K_TTL_LEFT }, { "resolved_at", K_TIME },	{ "expires_at", K_TIME },
	{ "stale_until", K_TIME },  { "next_refresh", K_TIME }, { "next_refresh_in", K_NEXT },
	{ "queries", K_NUM },	    { "failures", K_NUM },
};

#define FIELD_WIDTH 17 /* "next_refresh_in: " */

/* One field's value as printed (malloc'd), NULL when out of memory. */
static char *field_text(const cJSON *e, const struct field *f)
{
	char buf[32];

	switch (f->kind) {
	case K_STR:
		return cli_api_str_text(e, f->key);
	case K_BOOL:
		return cli_api_bool_text(e, f->key);
	case K_NUM:
		return cli_api_num_text(e, f->key);
	case K_DUR:
		/* a TTL of 0: none (literal, pending, failed) */
		if (!cli_api_jhas_num(e, f->key) || cli_api_jnum(e, f->key) <= 0)
			return strdup("-");
		cli_api_duration(cli_api_jnum(e, f->key), buf);
		return strdup(buf);
	case K_TTL_LEFT:
		return ttl_left_text(e);
	case K_TIME:
		return time_text(e, f->key);
	case K_NEXT:
		return next_text(e);
	case K_NODE:
		if (!cli_api_jstr(e, f->key))
			return strdup("-");
		return strdup(cli_api_jstr(e, f->key)[0] ? cli_api_jstr(e, f->key) : "this node");
	}
	return strdup("-");
}

/*
 * One target: "  NAME  port 5060  priority 10  weight 60  transport udp",
 * each attribute only where it means something (a port DNS gave; priority and
 * weight of SRV and NAPTR, order and preference of NAPTR; a transport), then
 * its addresses one per line.
 */
static void print_target(FILE *out, const cJSON *t, const char *kind)
{
	bool srv = kind && (strcmp(kind, "srv") == 0 || strcmp(kind, "naptr") == 0);
	bool naptr = kind && strcmp(kind, "naptr") == 0;
	const char *tp = cli_api_jstr(t, "transport");
	const cJSON *a;
	unsigned n = 0;

	fputs("  ", out);
	cli_api_put_text(out, cli_api_jstr(t, "name") ? cli_api_jstr(t, "name") : "-", 0, false);
	if (cli_api_jnum(t, "port") > 0)
		fprintf(out, "  port %.0f", cli_api_jnum(t, "port"));
	if (naptr)
		fprintf(out, "  order %.0f  preference %.0f", cli_api_jnum(t, "order"),
			cli_api_jnum(t, "preference"));
	if (srv)
		fprintf(out, "  priority %.0f  weight %.0f", cli_api_jnum(t, "priority"),
			cli_api_jnum(t, "weight"));
	if (tp && tp[0]) {
		fputs("  transport ", out);
		cli_api_put_text(out, tp, 0, false);
	}
	fputc('\n', out);
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(t, "addresses"))
	{
		if (!cJSON_IsString(a))
			continue;
		fputs("    ", out);
		cli_api_put_text(out, a->valuestring, 0, false);
		fputc('\n', out);
		n++;
	}
	if (!n)
		fputs("    (no addresses)\n", out);
}

/*
 * Per entry, "key: value" per field, the keys as in the JSON; "-" for none (an
 * empty string, a time of 0, a TTL that does not run, a field left out);
 * then its targets. Entries are separated by an empty line.
 */
static int print_entries(FILE *out, FILE *err, const cJSON *root)
{
	const cJSON *e, *t, *targets;
	bool first = true;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "domains"))
	{
		if (!cJSON_IsObject(e))
			continue;
		if (!first)
			fputc('\n', out);
		first = false;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			char *v = field_text(e, &fields[i]);

			if (!v)
				return cli_api_oom(err, &domains_cmd);
			cli_api_put_field(out, fields[i].key, v, FIELD_WIDTH);
			free(v);
		}
		targets = cJSON_GetObjectItemCaseSensitive(e, "targets");
		if (cJSON_GetArraySize(targets) == 0) {
			cli_api_put_field(out, "targets", "-", FIELD_WIDTH);
			continue;
		}
		fputs("targets:\n", out);
		cJSON_ArrayForEach(t, targets)
		{
			if (cJSON_IsObject(t))
				print_target(out, t, cli_api_jstr(e, "kind"));
		}
	}
	return EXIT_DONE;
}

/* "gw.test: resolve requested (2 entries)"; "nothing to resolve" when none. */
static void print_resolving(FILE *out, const cJSON *root, const char *asked)
{
	const char *name = cli_api_jstr(root, "name");
	double n = cli_api_jnum(root, "resolving");

	if (asked) {
		cli_api_put_text(out, name ? name : asked, 0, false);
		fputs(": ", out);
	}
	if (n <= 0)
		fprintf(out, "nothing to resolve%s\n",
			asked ? " (a literal address is never resolved)" : "");
	else
		fprintf(out, "resolve requested (%.0f entr%s)\n", n, n == 1 ? "y" : "ies");
}

/* ---- the command ---- */

int cmd_domains_run(FILE *out, FILE *err, int argc, char **argv)
{
	const struct cli_api_cmd *c = &domains_cmd;
	const char *name = NULL;
	struct cli_api_opts o;
	bool resolve = false;
	char *path = NULL;
	cJSON *root;
	bool all;
	int r;

	r = cli_api_parse(out, err, c, argc, argv, &o);
	if (r < 0)
		return EXIT_DONE; /* --help */
	if (r > 0)
		return r;
	all = o.flag[OPT_ALL];
	if (o.npos && strcmp(o.pos[0], "resolve") == 0) {
		resolve = true;
		if (all && o.npos > 1)
			return cli_api_usage_error(err, c,
						   "give NAME or --all, not both:", o.pos[1]);
		if (!all && o.npos < 2)
			return cli_api_usage_error(err, c, "missing the NAME (or --all) after",
						   "resolve");
		name = all ? NULL : o.pos[1];
	} else {
		if (all)
			return cli_api_usage_error(err, c, "--all goes with resolve:", "--all");
		if (o.npos > 1)
			return cli_api_usage_error(err, c, "unexpected argument", o.pos[1]);
		name = o.npos ? o.pos[0] : NULL;
	}
	if (name && !name[0])
		return cli_api_usage_error(err, c, "a domain's NAME cannot be empty:", name);
	r = cli_api_endpoint(err, c, &o);
	if (r)
		return r;
	/* The name percent-encoded (an IPv6 address's colons and brackets too). */
	if (name && !(path = cli_api_path(DOMAINS_PATH, name, "", resolve ? "resolve" : NULL)))
		return cli_api_oom(err, c);
	if (resolve)
		r = cli_api_ask(err, c, &o, "POST", name ? path : DOMAINS_PATH "/resolve", NULL,
				name, "resolving", false, &root);
	else
		r = cli_api_ask(err, c, &o, "GET", name ? path : DOMAINS_PATH, NULL, name,
				"domains", true, &root);
	free(path);
	if (r)
		return r;
	if (o.json)
		cli_api_print_json(out, root);
	else if (resolve)
		print_resolving(out, root, name);
	else if (name)
		r = print_entries(out, err, root);
	else
		r = cli_api_print_table(out, err, c, &table, root);
	cJSON_Delete(root);
	return r;
}
