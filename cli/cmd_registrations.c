/* SPDX-License-Identifier: MIT */
/*
 * cmd_registrations.c: see cmd_registrations.h. The options and the exchange
 * with the daemon are cli_api.h's (struct cli_api_cmd says which options a
 * command takes); here are the routes and the table printer (struct table:
 * cells owned by the JSON they come from, widths measured in octets, the last
 * column not padded).
 */
#define _GNU_SOURCE
#include "cmd_registrations.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cli_api.h"

#define REG_PATH  "/api/v1/registrations"
#define SUSP_PATH "/api/v1/suspensions"

const char cmd_registrations_help[] =
	"\n"
	"Without AOR, lists every registered address of record with its live\n"
	"bindings (one line each: AOR, contact, expires in, source, user agent;\n"
	"the node lists at most 10000 bindings). With AOR (user@domain, as the node\n"
	"stores it), that AOR only.\n"
	"\n"
	"delete AOR removes every binding of AOR; delete AOR CONTACT the one whose\n"
	"Contact is CONTACT, exactly as listed (quote it for the shell); delete AOR\n"
	"--instance URN [--reg-id N] the RFC 5626 flow of that +sip.instance and\n"
	"reg-id (default 0).\n"
	"\n"
	"options:\n" CLI_API_ENDPOINT_HELP CLI_API_JSON_HELP
	"  --instance URN     delete: the binding's +sip.instance\n"
	"  --reg-id N         delete: with --instance, its reg-id\n"
	"\n"
	"exit status: 0 done; 1 the daemon could not be asked, or said no (no such\n"
	"AOR or binding, an HTTP error); 2 usage error or a configuration that does\n"
	"not load.\n";

const char cmd_suspensions_help[] =
	"\n"
	"Without arguments, lists the users (user@domain) and source addresses that\n"
	"brute-force suspension holds (too many failed authentications): key, type,\n"
	"failures, time left. clear KEY lifts the suspension of KEY (user@domain or\n"
	"an address, \"192.0.2.7\", \"2001:db8::7\") and forgets its failures.\n"
	"\n"
	"options:\n" CLI_API_ENDPOINT_HELP CLI_API_JSON_HELP "\n"
	"exit status: 0 done; 1 the daemon could not be asked, or said no (no such\n"
	"suspension, an HTTP error); 2 usage error or a configuration that does not\n"
	"load.\n";

/* ---- the commands ---- */

enum { OPT_INSTANCE, OPT_REG_ID }; /* registrations' options with a value */

/*
 * Both say a 404 about what was asked as "KEY: ERROR", take only 200 as an
 * answer and print the daemon's error as it is.
 */
static const struct cli_api_cmd registrations_cmd = {
	.name = "registrations",
	.args = CMD_REGISTRATIONS_ARGS,
	.summary = CMD_REGISTRATIONS_SUMMARY,
	.help = cmd_registrations_help,
	.max_pos = 3, /* delete AOR CONTACT */
	.valued = { [OPT_INSTANCE] = "--instance", [OPT_REG_ID] = "--reg-id" },
	.only_200 = true,
	.error_as_is = true,
};
static const struct cli_api_cmd suspensions_cmd = {
	.name = "suspensions",
	.args = CMD_SUSPENSIONS_ARGS,
	.summary = CMD_SUSPENSIONS_SUMMARY,
	.help = cmd_suspensions_help,
	.max_pos = 3,
	.only_200 = true,
	.error_as_is = true,
};

/* ---- tables ---- */

#define NCOL_MAX 5

struct table {
	unsigned ncol;
	size_t nrow, cap;
	const char *(*cell)[NCOL_MAX]; /* row 0 is the head; strings live elsewhere */
	char (*num)[NCOL_MAX][32];     /* storage for formatted cells */
	bool right[NCOL_MAX];	       /* right-aligned (numbers) */
};

static bool table_init(struct table *t, unsigned ncol, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	t->ncol = ncol;
	t->cap = 16;
	t->cell = calloc(t->cap, sizeof(*t->cell));
	t->num = calloc(t->cap, sizeof(*t->num));
	if (!t->cell || !t->num)
		return false;
	for (unsigned k = 0; k < ncol; k++)
		t->cell[0][k] = head[k];
	t->nrow = 1;
	return true;
}

/* A new row (its cells "-"), or -1 when out of memory. */
static long table_row(struct table *t)
{
	if (t->nrow == t->cap) {
		size_t cap = t->cap * 2;
		const char *(*cell)[NCOL_MAX] = realloc(t->cell, cap * sizeof(*cell));
		char(*num)[NCOL_MAX][32];

		if (!cell)
			return -1;
		t->cell = cell;
		num = realloc(t->num, cap * sizeof(*num));
		if (!num)
			return -1;
		t->num = num;
		t->cap = cap;
	}
	for (unsigned k = 0; k < t->ncol; k++)
		t->cell[t->nrow][k] = "-";
	return (long)t->nrow++;
}

static void table_set(struct table *t, long row, unsigned col, const char *s)
{
	t->cell[row][col] = s && s[0] ? s : "-";
}

/* A cell as a person reads it: control characters as '?'. */
static void put_cell(FILE *out, const char *s, size_t width, bool right, bool last)
{
	size_t len = strlen(s);

	if (right)
		fprintf(out, "%*s", (int)(width > len ? width - len : 0), "");
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
	if (!right && !last)
		fprintf(out, "%*s", (int)(width > len ? width - len : 0), "");
}

static void table_print(FILE *out, const struct table *t)
{
	size_t width[NCOL_MAX] = { 0 };

	for (size_t r = 0; r < t->nrow; r++)
		for (unsigned k = 0; k < t->ncol; k++)
			if (strlen(t->cell[r][k]) > width[k])
				width[k] = strlen(t->cell[r][k]);
	for (size_t r = 0; r < t->nrow; r++) {
		for (unsigned k = 0; k < t->ncol; k++) {
			if (k)
				fputs("  ", out);
			put_cell(out, t->cell[r][k], width[k], t->right[k], k + 1 == t->ncol);
		}
		fputc('\n', out);
	}
}

static void table_free(struct table *t)
{
	free(t->cell);
	free(t->num);
}

/* ---- registrations ---- */

enum { R_AOR, R_CONTACT, R_EXPIRES, R_SOURCE, R_UA, R_NCOL };

/* The bindings of one AOR object into t; how many. */
static long aor_rows(struct table *t, const cJSON *a)
{
	const cJSON *b;
	long n = 0;

	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(a, "bindings"))
	{
		long row = table_row(t);

		if (row < 0)
			return -1;
		table_set(t, row, R_AOR, cli_api_jstr(a, "aor"));
		table_set(t, row, R_CONTACT, cli_api_jstr(b, "contact"));
		cli_api_duration(cli_api_jnum(b, "expires_in"), t->num[row][R_EXPIRES]);
		table_set(t, row, R_EXPIRES, t->num[row][R_EXPIRES]);
		table_set(t, row, R_SOURCE, cli_api_jstr(b, "source"));
		table_set(t, row, R_UA, cli_api_jstr(b, "user_agent"));
		n++;
	}
	return n;
}

/* The table of the AOR objects in aors[] (or of the one AOR object one). */
static int print_registrations(FILE *out, FILE *err, const cJSON *root, bool one)
{
	static const char *const head[R_NCOL] = { "aor", "contact", "expires", "source",
						  "user agent" };
	const cJSON *a,
		*list = one ? NULL : cJSON_GetObjectItemCaseSensitive(root, "registrations");
	long nb = 0, naor = 0;
	struct table t;

	if (!table_init(&t, R_NCOL, head)) {
		table_free(&t);
		return cli_api_oom(err, &registrations_cmd);
	}
	t.right[R_EXPIRES] = true;
	for (a = one ? root : (list ? list->child : NULL); a; a = one ? NULL : a->next) {
		long n = aor_rows(&t, a);

		if (n < 0) {
			table_free(&t);
			return cli_api_oom(err, &registrations_cmd);
		}
		nb += n;
		naor++;
	}
	if (nb == 0) {
		fputs("no registrations\n", out);
	} else {
		table_print(out, &t);
		fprintf(out, "\n%ld AOR%s, %ld binding%s\n", naor, naor == 1 ? "" : "s", nb,
			nb == 1 ? "" : "s");
	}
	if (!one && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "truncated")))
		fprintf(out,
			"truncated: the node holds %.0f AORs and %.0f bindings and lists at most "
			"10000 bindings; ask for one AOR\n",
			cli_api_jnum(root, "aors"), cli_api_jnum(root, "bindings"));
	table_free(&t);
	return EXIT_DONE;
}

/* The body that names one binding, or NULL with *status set (usage error). */
static char *delete_body(FILE *err, const struct cli_api_opts *o, int *status)
{
	const char *contact = o->npos > 2 ? o->pos[2] : NULL;
	unsigned long reg_id = 0;
	cJSON *j;
	char *text;

	*status = 0;
	if (!contact && !o->value[OPT_INSTANCE]) {
		if (o->value[OPT_REG_ID])
			*status = cli_api_usage_error(err, &registrations_cmd, "--reg-id goes with",
						      "--instance");
		return NULL;
	}
	if (contact && o->value[OPT_INSTANCE]) {
		*status = cli_api_usage_error(
			err, &registrations_cmd,
			"give CONTACT or --instance, not both:", o->value[OPT_INSTANCE]);
		return NULL;
	}
	if (o->value[OPT_REG_ID]) {
		char *end;

		errno = 0;
		reg_id = strtoul(o->value[OPT_REG_ID], &end, 10);
		if (!isdigit((unsigned char)o->value[OPT_REG_ID][0]) || *end || errno ||
		    reg_id > UINT32_MAX) {
			*status = cli_api_usage_error(
				err, &registrations_cmd,
				"--reg-id takes a number from 0 to 4294967295, not",
				o->value[OPT_REG_ID]);
			return NULL;
		}
	}
	j = cJSON_CreateObject();
	if (contact)
		cJSON_AddStringToObject(j, "contact", contact);
	else {
		cJSON_AddStringToObject(j, "instance", o->value[OPT_INSTANCE]);
		cJSON_AddNumberToObject(j, "reg_id", (double)reg_id);
	}
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!text) {
		*status = cli_api_oom(err, &registrations_cmd);
	}
	return text;
}

static int registrations_delete(FILE *out, FILE *err, const struct cli_api_opts *o)
{
	const struct cli_api_cmd *c = &registrations_cmd;
	const char *aor = o->pos[1];
	char *path, *body;
	cJSON *root;
	double n;
	int r;

	body = delete_body(err, o, &r);
	if (r)
		return r;
	path = cli_api_path(REG_PATH, aor, "@:", NULL);
	if (!path) {
		cJSON_free(body);
		return cli_api_oom(err, &registrations_cmd);
	}
	r = cli_api_ask(err, c, o, "DELETE", path, body, aor, "removed", false, &root);
	free(path);
	cJSON_free(body);
	if (r)
		return r;
	if (o->json) {
		cli_api_print_json(out, root);
	} else {
		n = cli_api_jnum(root, "removed");
		fprintf(out, "removed %.0f binding%s of ", n, n == 1 ? "" : "s");
		put_cell(out, aor, 0, false, true);
		fputc('\n', out);
	}
	cJSON_Delete(root);
	return EXIT_DONE;
}

int cmd_registrations_run(FILE *out, FILE *err, int argc, char **argv)
{
	const struct cli_api_cmd *c = &registrations_cmd;
	const char *aor = NULL;
	char *path = NULL;
	struct cli_api_opts o;
	cJSON *root;
	int r;

	r = cli_api_parse(out, err, c, argc, argv, &o);
	if (r < 0)
		return EXIT_DONE; /* --help */
	if (r > 0)
		return r;
	if (o.npos && strcmp(o.pos[0], "delete") == 0) {
		if (o.npos < 2)
			return cli_api_usage_error(err, c, "missing the AOR after", "delete");
	} else {
		if (o.npos > 1)
			return cli_api_usage_error(err, c, "unexpected argument", o.pos[1]);
		if (o.value[OPT_INSTANCE] || o.value[OPT_REG_ID])
			return cli_api_usage_error(err, c, "only with delete:",
						   o.value[OPT_INSTANCE] ? "--instance"
									 : "--reg-id");
		aor = o.npos ? o.pos[0] : NULL;
	}
	r = cli_api_endpoint(err, c, &o);
	if (r)
		return r;
	if (o.npos && !aor)
		return registrations_delete(out, err, &o);

	if (aor && !(path = cli_api_path(REG_PATH, aor, "@:", NULL))) {
		return cli_api_oom(err, &registrations_cmd);
	}
	r = cli_api_ask(err, c, &o, "GET", aor ? path : REG_PATH, NULL, aor,
			aor ? "bindings" : "registrations", false, &root);
	free(path);
	if (r)
		return r;
	if (o.json) {
		cli_api_print_json(out, root);
		r = EXIT_DONE;
	} else {
		r = print_registrations(out, err, root, aor != NULL);
	}
	cJSON_Delete(root);
	return r;
}

/* ---- suspensions ---- */

enum { S_KEY, S_TYPE, S_FAILURES, S_LEFT, S_NCOL };

static int print_suspensions(FILE *out, FILE *err, const cJSON *root)
{
	static const char *const head[S_NCOL] = { "key", "type", "failures", "remaining" };
	const cJSON *s;
	struct table t;
	long n = 0;

	if (!table_init(&t, S_NCOL, head)) {
		table_free(&t);
		return cli_api_oom(err, &suspensions_cmd);
	}
	t.right[S_FAILURES] = t.right[S_LEFT] = true;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(root, "suspensions"))
	{
		long row = table_row(&t);

		if (row < 0) {
			table_free(&t);
			return cli_api_oom(err, &suspensions_cmd);
		}
		table_set(&t, row, S_KEY, cli_api_jstr(s, "key"));
		table_set(&t, row, S_TYPE, cli_api_jstr(s, "type"));
		snprintf(t.num[row][S_FAILURES], 32, "%.0f", cli_api_jnum(s, "failures"));
		table_set(&t, row, S_FAILURES, t.num[row][S_FAILURES]);
		cli_api_duration(cli_api_jnum(s, "remaining_s"), t.num[row][S_LEFT]);
		table_set(&t, row, S_LEFT, t.num[row][S_LEFT]);
		n++;
	}
	if (n == 0) {
		fputs(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(root, "enabled"))
			      ? "no suspensions (brute-force suspension is off on this node)\n"
			      : "no suspensions\n",
		      out);
	} else {
		table_print(out, &t);
		fprintf(out, "\n%ld suspension%s\n", n, n == 1 ? "" : "s");
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "truncated")))
		fprintf(out, "truncated: %.0f in force, 10000 listed\n",
			cli_api_jnum(root, "total"));
	table_free(&t);
	return EXIT_DONE;
}

int cmd_suspensions_run(FILE *out, FILE *err, int argc, char **argv)
{
	const struct cli_api_cmd *c = &suspensions_cmd;
	const char *key = NULL;
	char *path = NULL;
	struct cli_api_opts o;
	cJSON *root;
	int r;

	r = cli_api_parse(out, err, c, argc, argv, &o);
	if (r < 0)
		return EXIT_DONE; /* --help */
	if (r > 0)
		return r;
	if (o.npos && strcmp(o.pos[0], "clear") != 0)
		return cli_api_usage_error(err, c, "unexpected argument", o.pos[0]);
	if (o.npos == 1)
		return cli_api_usage_error(err, c, "missing the KEY after", "clear");
	if (o.npos > 2)
		return cli_api_usage_error(err, c, "unexpected argument", o.pos[2]);
	key = o.npos ? o.pos[1] : NULL;
	r = cli_api_endpoint(err, c, &o);
	if (r)
		return r;
	if (key && !(path = cli_api_path(SUSP_PATH, key, "@:", NULL))) {
		return cli_api_oom(err, &suspensions_cmd);
	}
	r = cli_api_ask(err, c, &o, key ? "DELETE" : "GET", key ? path : SUSP_PATH, NULL, key,
			key ? "cleared" : "suspensions", false, &root);
	free(path);
	if (r)
		return r;
	if (o.json) {
		cli_api_print_json(out, root);
	} else if (key) {
		fputs("cleared ", out);
		put_cell(out, key, 0, false, true);
		fputc('\n', out);
	} else {
		r = print_suspensions(out, err, root);
	}
	cJSON_Delete(root);
	return r;
}
