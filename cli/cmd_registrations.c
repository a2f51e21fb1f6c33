/* SPDX-License-Identifier: MIT */
/*
 * cmd_registrations.c: see cmd_registrations.h. Both commands share the
 * option parser (struct cmd says which options a command takes), the
 * exchange with the daemon (ask(): the request, then the errors turned into
 * one line and an exit status), and the table printer (struct table: cells
 * owned by the JSON they come from, widths measured, the last column not
 * padded). HTTP is cmd_status.c's client.
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

#include "cli/cmd_status.h"

#define REG_PATH  "/api/v1/registrations"
#define SUSP_PATH "/api/v1/suspensions"
#define MAX_POS	  3 /* delete AOR CONTACT */

enum { EXIT_DONE = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define ENDPOINT_HELP                                                              \
	"  -c, --config FILE  the node's configuration: ask at its http.listen\n"  \
	"  --url URL          ask at http://HOST:PORT (IPv6: http://[::1]:8080)\n" \
	"                     default " CMD_STATUS_DEFAULT_URL "\n"                \
	"  --json             the daemon's JSON, pretty-printed\n"                 \
	"  -h, --help         this text\n"

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
	"options:\n" ENDPOINT_HELP "  --instance URN     delete: the binding's +sip.instance\n"
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
	"options:\n" ENDPOINT_HELP "\n"
	"exit status: 0 done; 1 the daemon could not be asked, or said no (no such\n"
	"suspension, an HTTP error); 2 usage error or a configuration that does not\n"
	"load.\n";

/* ---- options ---- */

struct cmd {
	const char *name; /* "registrations" */
	const char *args;
	const char *summary;
	const char *help;
	bool delete_opts; /* takes --instance and --reg-id */
};

static const struct cmd registrations_cmd = { "registrations", CMD_REGISTRATIONS_ARGS,
					      CMD_REGISTRATIONS_SUMMARY, cmd_registrations_help,
					      true };
static const struct cmd suspensions_cmd = { "suspensions", CMD_SUSPENSIONS_ARGS,
					    CMD_SUSPENSIONS_SUMMARY, cmd_suspensions_help, false };

struct opts {
	const char *config, *url, *instance, *reg_id;
	bool json;
	const char *pos[MAX_POS];
	int npos;
	char url_buf[128]; /* the URL of -c */
};

static int usage_error(FILE *err, const struct cmd *c, const char *what, const char *arg)
{
	fprintf(err, "sipringctl %s: %s '%s'\n", c->name, what, arg);
	fprintf(err, "usage: sipringctl %s %s\n", c->name, c->args);
	return EXIT_USAGE;
}

/* Returns -1 after --help, 0, or the exit status of a usage error. */
static int parse_opts(FILE *out, FILE *err, const struct cmd *c, int argc, char **argv,
		      struct opts *o)
{
	bool opts_done = false;

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], **dst = NULL, *v = NULL;
		size_t eq = 0;

		if (opts_done || a[0] != '-' || a[1] == '\0') {
			if (o->npos == MAX_POS)
				return usage_error(err, c, "unexpected argument", a);
			o->pos[o->npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			opts_done = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fprintf(out, "usage: sipringctl %s %s\n\n%s\n%s", c->name, c->args,
				c->summary, c->help);
			return -1;
		}
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strncmp(a, "--", 2) == 0 && strchr(a, '='))
			eq = (size_t)(strchr(a, '=') - a);
#define IS(name) (eq ? eq == strlen(name) && strncmp(a, name, eq) == 0 : strcmp(a, name) == 0)
		if (strcmp(a, "-c") == 0 || IS("--config"))
			dst = &o->config;
		else if (IS("--url"))
			dst = &o->url;
		else if (c->delete_opts && IS("--instance"))
			dst = &o->instance;
		else if (c->delete_opts && IS("--reg-id"))
			dst = &o->reg_id;
		else
			return usage_error(err, c, "unknown option", a);
#undef IS
		if (eq) {
			v = a + eq + 1;
		} else {
			if (i + 1 >= argc)
				return usage_error(err, c, "missing value for", a);
			v = argv[++i];
		}
		if (*dst)
			return usage_error(err, c, "given twice:", a);
		*dst = v;
	}
	if (o->config && o->url)
		return usage_error(err, c, "give one of -c and --url, not both:", o->url);
	return 0;
}

/* The endpoint's URL into o->url; 0 or the exit status. */
static int endpoint(FILE *err, const struct cmd *c, struct opts *o)
{
	char msg[512];

	if (o->config) {
		if (cmd_status_config_url(o->config, o->url_buf, sizeof(o->url_buf), msg,
					  sizeof(msg)) < 0) {
			fprintf(err, "sipringctl %s: %s\n", c->name, msg);
			return EXIT_USAGE;
		}
		o->url = o->url_buf;
	}
	if (!o->url)
		o->url = CMD_STATUS_DEFAULT_URL;
	return 0;
}

/* ---- asking the daemon ---- */

/* prefix "/" key, the key percent-encoded but for letters, digits and -._~@: */
static char *key_path(const char *prefix, const char *key)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t pl = strlen(prefix);
	char *p = malloc(pl + 1 + strlen(key) * 3 + 1), *w;

	if (!p)
		return NULL;
	memcpy(p, prefix, pl);
	w = p + pl;
	*w++ = '/';
	for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
		if (isalnum(*k) || strchr("-._~@:", *k)) {
			*w++ = (char)*k;
		} else {
			*w++ = '%';
			*w++ = hex[*k >> 4];
			*w++ = hex[*k & 15];
		}
	}
	*w = '\0';
	return p;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/*
 * method path (with body) at o->url. Returns 0 and *root (a JSON object with
 * member `want`, when want is not NULL) or the exit status after one line on
 * err. key names what was asked for in a 404's message ("alice@example.com:
 * no such AOR").
 */
static int ask(FILE *err, const struct cmd *c, const struct opts *o, const char *method,
	       const char *path, const char *body, const char *key, const char *want, cJSON **root)
{
	struct cmd_status_resp resp;
	const char *e;
	char msg[512];
	size_t ul;
	int r;

	*root = NULL;
	r = cmd_status_request(o->url, method, path, body, body ? strlen(body) : 0, &resp, msg,
			       sizeof(msg));
	if (r == -EINVAL)
		return usage_error(err, c, "--url takes http://HOST:PORT, not", o->url);
	if (r < 0) {
		/* The hint is for a daemon that does not answer, not for a bad host name. */
		fprintf(err, "sipringctl %s: %s%s\n", c->name, msg,
			resp.connected || r == -ENOENT ? "" : CMD_STATUS_CONNECT_HINT);
		return EXIT_FAIL;
	}
	ul = strlen(o->url);
	while (ul && o->url[ul - 1] == '/')
		ul--;
	*root = cJSON_ParseWithLength(resp.body, resp.len);
	free(resp.body);
	e = *root ? jstr(*root, "error") : NULL;
	if (resp.status == 404 && key && e) {
		fprintf(err, "sipringctl %s: %s: %s\n", c->name, key, e);
		r = EXIT_FAIL;
	} else if (resp.status != 200) {
		fprintf(err, "sipringctl %s: %.*s%s: HTTP %d%s%s\n", c->name, (int)ul, o->url, path,
			resp.status, e ? ": " : "", e ? e : "");
		r = EXIT_FAIL;
	} else if (!cJSON_IsObject(*root) ||
		   (want && !cJSON_GetObjectItemCaseSensitive(*root, want))) {
		fprintf(err, "sipringctl %s: %.*s%s: the answer is not sipring's JSON\n", c->name,
			(int)ul, o->url, path);
		r = EXIT_FAIL;
	} else {
		return 0;
	}
	cJSON_Delete(*root);
	*root = NULL;
	return r;
}

static void print_json(FILE *out, const cJSON *root)
{
	char *text = cJSON_Print(root);

	if (text)
		fprintf(out, "%s\n", text);
	cJSON_free(text);
}

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

/* Seconds as "45s", "9m59s", "1h00m00s", "2d03h00m". */
static void duration(double s, char buf[32])
{
	uint64_t v = s > 0 ? (uint64_t)s : 0;

	if (v < 60)
		snprintf(buf, 32, "%us", (unsigned)v);
	else if (v < 3600)
		snprintf(buf, 32, "%um%02us", (unsigned)(v / 60), (unsigned)(v % 60));
	else if (v < 86400)
		snprintf(buf, 32, "%uh%02um%02us", (unsigned)(v / 3600), (unsigned)(v / 60 % 60),
			 (unsigned)(v % 60));
	else
		snprintf(buf, 32, "%llud%02uh%02um", (unsigned long long)(v / 86400),
			 (unsigned)(v / 3600 % 24), (unsigned)(v / 60 % 60));
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
		table_set(t, row, R_AOR, jstr(a, "aor"));
		table_set(t, row, R_CONTACT, jstr(b, "contact"));
		duration(jnum(b, "expires_in"), t->num[row][R_EXPIRES]);
		table_set(t, row, R_EXPIRES, t->num[row][R_EXPIRES]);
		table_set(t, row, R_SOURCE, jstr(b, "source"));
		table_set(t, row, R_UA, jstr(b, "user_agent"));
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
		fputs("sipringctl registrations: out of memory\n", err);
		return EXIT_FAIL;
	}
	t.right[R_EXPIRES] = true;
	for (a = one ? root : (list ? list->child : NULL); a; a = one ? NULL : a->next) {
		long n = aor_rows(&t, a);

		if (n < 0) {
			table_free(&t);
			fputs("sipringctl registrations: out of memory\n", err);
			return EXIT_FAIL;
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
			jnum(root, "aors"), jnum(root, "bindings"));
	table_free(&t);
	return EXIT_DONE;
}

/* The body that names one binding, or NULL with *status set (usage error). */
static char *delete_body(FILE *err, const struct opts *o, int *status)
{
	const char *contact = o->npos > 2 ? o->pos[2] : NULL;
	unsigned long reg_id = 0;
	cJSON *j;
	char *text;

	*status = 0;
	if (!contact && !o->instance) {
		if (o->reg_id)
			*status = usage_error(err, &registrations_cmd, "--reg-id goes with",
					      "--instance");
		return NULL;
	}
	if (contact && o->instance) {
		*status = usage_error(err, &registrations_cmd,
				      "give CONTACT or --instance, not both:", o->instance);
		return NULL;
	}
	if (o->reg_id) {
		char *end;

		errno = 0;
		reg_id = strtoul(o->reg_id, &end, 10);
		if (!isdigit((unsigned char)o->reg_id[0]) || *end || errno || reg_id > UINT32_MAX) {
			*status = usage_error(err, &registrations_cmd,
					      "--reg-id takes a number from 0 to 4294967295, not",
					      o->reg_id);
			return NULL;
		}
	}
	j = cJSON_CreateObject();
	if (contact)
		cJSON_AddStringToObject(j, "contact", contact);
	else {
		cJSON_AddStringToObject(j, "instance", o->instance);
		cJSON_AddNumberToObject(j, "reg_id", (double)reg_id);
	}
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!text) {
		fputs("sipringctl registrations: out of memory\n", err);
		*status = EXIT_FAIL;
	}
	return text;
}

static int registrations_delete(FILE *out, FILE *err, const struct opts *o)
{
	const struct cmd *c = &registrations_cmd;
	const char *aor = o->pos[1];
	char *path, *body;
	cJSON *root;
	double n;
	int r;

	body = delete_body(err, o, &r);
	if (r)
		return r;
	path = key_path(REG_PATH, aor);
	if (!path) {
		cJSON_free(body);
		fputs("sipringctl registrations: out of memory\n", err);
		return EXIT_FAIL;
	}
	r = ask(err, c, o, "DELETE", path, body, aor, "removed", &root);
	free(path);
	cJSON_free(body);
	if (r)
		return r;
	if (o->json) {
		print_json(out, root);
	} else {
		n = jnum(root, "removed");
		fprintf(out, "removed %.0f binding%s of ", n, n == 1 ? "" : "s");
		put_cell(out, aor, 0, false, true);
		fputc('\n', out);
	}
	cJSON_Delete(root);
	return EXIT_DONE;
}

int cmd_registrations_run(FILE *out, FILE *err, int argc, char **argv)
{
	const struct cmd *c = &registrations_cmd;
	const char *aor = NULL;
	char *path = NULL;
	struct opts o;
	cJSON *root;
	int r;

	r = parse_opts(out, err, c, argc, argv, &o);
	if (r < 0)
		return EXIT_DONE; /* --help */
	if (r > 0)
		return r;
	if (o.npos && strcmp(o.pos[0], "delete") == 0) {
		if (o.npos < 2)
			return usage_error(err, c, "missing the AOR after", "delete");
	} else {
		if (o.npos > 1)
			return usage_error(err, c, "unexpected argument", o.pos[1]);
		if (o.instance || o.reg_id)
			return usage_error(err, c, "only with delete:",
					   o.instance ? "--instance" : "--reg-id");
		aor = o.npos ? o.pos[0] : NULL;
	}
	r = endpoint(err, c, &o);
	if (r)
		return r;
	if (o.npos && !aor)
		return registrations_delete(out, err, &o);

	if (aor && !(path = key_path(REG_PATH, aor))) {
		fputs("sipringctl registrations: out of memory\n", err);
		return EXIT_FAIL;
	}
	r = ask(err, c, &o, "GET", aor ? path : REG_PATH, NULL, aor,
		aor ? "bindings" : "registrations", &root);
	free(path);
	if (r)
		return r;
	if (o.json) {
		print_json(out, root);
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
		fputs("sipringctl suspensions: out of memory\n", err);
		return EXIT_FAIL;
	}
	t.right[S_FAILURES] = t.right[S_LEFT] = true;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(root, "suspensions"))
	{
		long row = table_row(&t);

		if (row < 0) {
			table_free(&t);
			fputs("sipringctl suspensions: out of memory\n", err);
			return EXIT_FAIL;
		}
		table_set(&t, row, S_KEY, jstr(s, "key"));
		table_set(&t, row, S_TYPE, jstr(s, "type"));
		snprintf(t.num[row][S_FAILURES], 32, "%.0f", jnum(s, "failures"));
		table_set(&t, row, S_FAILURES, t.num[row][S_FAILURES]);
		duration(jnum(s, "remaining_s"), t.num[row][S_LEFT]);
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
		fprintf(out, "truncated: %.0f in force, 10000 listed\n", jnum(root, "total"));
	table_free(&t);
	return EXIT_DONE;
}

int cmd_suspensions_run(FILE *out, FILE *err, int argc, char **argv)
{
	const struct cmd *c = &suspensions_cmd;
	const char *key = NULL;
	char *path = NULL;
	struct opts o;
	cJSON *root;
	int r;

	r = parse_opts(out, err, c, argc, argv, &o);
	if (r < 0)
		return EXIT_DONE; /* --help */
	if (r > 0)
		return r;
	if (o.npos && strcmp(o.pos[0], "clear") != 0)
		return usage_error(err, c, "unexpected argument", o.pos[0]);
	if (o.npos == 1)
		return usage_error(err, c, "missing the KEY after", "clear");
	if (o.npos > 2)
		return usage_error(err, c, "unexpected argument", o.pos[2]);
	key = o.npos ? o.pos[1] : NULL;
	r = endpoint(err, c, &o);
	if (r)
		return r;
	if (key && !(path = key_path(SUSP_PATH, key))) {
		fputs("sipringctl suspensions: out of memory\n", err);
		return EXIT_FAIL;
	}
	r = ask(err, c, &o, key ? "DELETE" : "GET", key ? path : SUSP_PATH, NULL, key,
		key ? "cleared" : "suspensions", &root);
	free(path);
	if (r)
		return r;
	if (o.json) {
		print_json(out, root);
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
