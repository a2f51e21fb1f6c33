/* SPDX-License-Identifier: MIT */
/*
 * cmd_uplinks.c: see cmd_uplinks.h. Shaped like cmd_registrations.c: the
 * option parser, the exchange with the daemon (ask(): the request, then the
 * errors turned into one line and an exit status) and a table printer, here
 * with cells of its own (text from the daemon, formatted numbers) and widths
 * counted in characters, not octets. HTTP is cmd_status.c's client.
 */
#define _GNU_SOURCE
#include "cmd_uplinks.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cmd_status.h"
#include "parsers/sv.h"

#define UPLINKS_PATH "/api/v1/uplinks"
#define MAX_POS	     2 /* register NAME */
#define CMD	     "sipringctl uplinks: "

enum { EXIT_DONE = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

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
	"options:\n"
	"  -c, --config FILE  the node's configuration: ask at its http.listen\n"
	"  --url URL          ask at http://HOST:PORT (IPv6: http://[::1]:8080)\n"
	"                     default " CMD_STATUS_DEFAULT_URL "\n"
	"  --json             the daemon's JSON, pretty-printed\n"
	"  -h, --help         this text\n"
	"\n"
	"exit status: 0 done; 1 the daemon could not be asked, or said no (no such\n"
	"uplink, the node is stopping, an HTTP error); 2 usage error or a\n"
	"configuration that does not load.\n";

/* ---- options ---- */

struct opts {
	const char *config, *url;
	bool json;
	const char *pos[MAX_POS];
	int npos;
	char url_buf[128]; /* the URL of -c */
};

static int usage_error(FILE *err, const char *what, const char *arg)
{
	fprintf(err, CMD "%s '%s'\n", what, arg);
	fputs("usage: sipringctl uplinks " CMD_UPLINKS_ARGS "\n", err);
	return EXIT_USAGE;
}

/* Returns -1 after --help, 0, or the exit status of a usage error. */
static int parse_opts(FILE *out, FILE *err, int argc, char **argv, struct opts *o)
{
	bool opts_done = false;

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], **dst = NULL, *v = NULL;
		size_t eq = 0;

		if (opts_done || a[0] != '-' || a[1] == '\0') {
			if (o->npos == MAX_POS)
				return usage_error(err, "unexpected argument", a);
			o->pos[o->npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			opts_done = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fprintf(out, "usage: sipringctl uplinks %s\n\n%s\n%s", CMD_UPLINKS_ARGS,
				CMD_UPLINKS_SUMMARY, cmd_uplinks_help);
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
		else
			return usage_error(err, "unknown option", a);
#undef IS
		if (eq) {
			v = a + eq + 1;
		} else {
			if (i + 1 >= argc)
				return usage_error(err, "missing value for", a);
			v = argv[++i];
		}
		if (*dst)
			return usage_error(err, "given twice:", a);
		*dst = v;
	}
	if (o->config && o->url)
		return usage_error(err, "give one of -c and --url, not both:", o->url);
	return 0;
}

/* The endpoint's URL into o->url; 0 or the exit status. */
static int endpoint(FILE *err, struct opts *o)
{
	char msg[512];

	if (o->config) {
		if (cmd_status_config_url(o->config, o->url_buf, sizeof(o->url_buf), msg,
					  sizeof(msg)) < 0) {
			fprintf(err, CMD "%s\n", msg);
			return EXIT_USAGE;
		}
		o->url = o->url_buf;
	}
	if (!o->url)
		o->url = CMD_STATUS_DEFAULT_URL;
	return 0;
}

/* ---- text from the daemon, as a person reads it ---- */

/*
 * The character at s[0..n): returns its length in octets (at least 1) and
 * whether it may be printed as it is. Not printed: C0 controls and DEL, C1
 * controls (U+0080..U+009F: some terminals take 0x9b as CSI), the line and
 * paragraph separators and the bidirectional embeddings, overrides and
 * isolates (U+2028..U+202E, U+2066..U+2069), and octets that are not UTF-8.
 */
static size_t glyph(const unsigned char *s, size_t n, bool *ok)
{
	size_t k = sv_utf8_seq(s, n);

	if (k == 0) {
		*ok = false;
		return 1;
	}
	if (k == 1)
		*ok = s[0] >= 0x20 && s[0] != 0x7f;
	else if (k == 2)
		*ok = !(s[0] == 0xc2 && s[1] < 0xa0);
	else if (k == 3 && s[0] == 0xe2)
		*ok = !((s[1] == 0x80 && s[2] >= 0xa8 && s[2] <= 0xae) ||
			(s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9));
	else
		*ok = true;
	return k;
}

/* Characters of s as put_text() prints them (one column each). */
static size_t text_width(const char *s)
{
	size_t n = strlen(s), w = 0;
	bool ok;

	for (size_t i = 0; i < n; w++)
		i += glyph((const unsigned char *)s + i, n - i, &ok);
	return w;
}

/* s padded to width (on the left when right), each unprintable character as '?'. */
static void put_text(FILE *out, const char *s, size_t width, bool right)
{
	size_t n = strlen(s), w = text_width(s);
	bool ok;

	if (right && width > w)
		fprintf(out, "%*s", (int)(width - w), "");
	for (size_t i = 0, k; i < n; i += k) {
		k = glyph((const unsigned char *)s + i, n - i, &ok);
		if (ok)
			fwrite(s + i, 1, k, out);
		else
			fputc('?', out);
	}
	if (!right && width > w)
		fprintf(out, "%*s", (int)(width - w), "");
}

/* ---- asking the daemon ---- */

/*
 * UPLINKS_PATH "/" name ["/" action], the name percent-encoded but for
 * letters, digits and -._~ (the daemon takes letters, digits and ._- only).
 */
static char *name_path(const char *name, const char *action)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t al = action ? strlen(action) : 0;
	char *p = malloc(sizeof(UPLINKS_PATH) + 1 + strlen(name) * 3 + 1 + al + 1), *w;

	if (!p)
		return NULL;
	memcpy(p, UPLINKS_PATH, sizeof(UPLINKS_PATH) - 1);
	w = p + sizeof(UPLINKS_PATH) - 1;
	*w++ = '/';
	for (const unsigned char *k = (const unsigned char *)name; *k; k++) {
		if (isalnum(*k) || strchr("-._~", *k)) {
			*w++ = (char)*k;
		} else {
			*w++ = '%';
			*w++ = hex[*k >> 4];
			*w++ = hex[*k & 15];
		}
	}
	if (action) {
		*w++ = '/';
		memcpy(w, action, al);
		w += al;
	}
	*w = '\0';
	return p;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jhas_num(const cJSON *o, const char *k)
{
	return cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, k));
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void no_such(FILE *err, const char *name)
{
	fputs(CMD "no uplink named ", err);
	put_text(err, name, 0, false);
	fputc('\n', err);
}

/*
 * method path at o->url. Returns 0 and *root (a JSON object with member want,
 * an array when want_array) after a 2xx, or the exit status after one line on
 * err. name is the uplink asked about: the daemon's 404 "no such uplink" says
 * "no uplink named NAME"; any other error gives the URL, the status and the
 * daemon's "error" (a 404 "no such endpoint" is a daemon without the route).
 */
static int ask(FILE *err, const struct opts *o, const char *method, const char *path,
	       const char *name, const char *want, bool want_array, cJSON **root)
{
	struct cmd_status_resp resp;
	const char *e;
	char msg[512];
	size_t ul;
	int r;

	*root = NULL;
	/* A POST without a body still says so (Content-Length: 0). */
	r = cmd_status_request(o->url, method, path, strcmp(method, "POST") == 0 ? "" : NULL, 0,
			       &resp, msg, sizeof(msg));
	if (r == -EINVAL)
		return usage_error(err, "--url takes http://HOST:PORT, not", o->url);
	if (r < 0) {
		/* The hint is for a daemon that does not answer, not for a bad host name. */
		fprintf(err, CMD "%s%s\n", msg,
			resp.connected || r == -ENOENT ? "" : CMD_STATUS_CONNECT_HINT);
		return EXIT_FAIL;
	}
	ul = strlen(o->url);
	while (ul && o->url[ul - 1] == '/')
		ul--;
	*root = cJSON_ParseWithLength(resp.body, resp.len);
	free(resp.body);
	e = cJSON_IsObject(*root) ? jstr(*root, "error") : NULL;
	if (resp.status == 404 && name && e && strcmp(e, "no such uplink") == 0) {
		no_such(err, name);
		r = EXIT_FAIL;
	} else if (resp.status / 100 != 2) {
		fprintf(err, CMD "%.*s%s: HTTP %d%s", (int)ul, o->url, path, resp.status,
			e ? ": " : "");
		if (e)
			put_text(err, e, 0, false);
		fputc('\n', err);
		r = EXIT_FAIL;
	} else if (!cJSON_IsObject(*root) || !cJSON_GetObjectItemCaseSensitive(*root, want) ||
		   (want_array && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(*root, want)))) {
		fprintf(err, CMD "%.*s%s: the answer is not sipring's JSON\n", (int)ul, o->url,
			path);
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

/* ---- formatting ---- */

/* Seconds as "45s", "9m59s", "1h00m00s", "2d03h00m" (cmd_registrations.c's). */
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

/* "55m00s/1h00m00s": time left and expiry granted; "-" when none was granted. */
static char *expires_text(const cJSON *u)
{
	char in[32], granted[32], *s;

	if (jnum(u, "expires_granted") <= 0)
		return strdup("-");
	duration(jnum(u, "expires_in"), in);
	duration(jnum(u, "expires_granted"), granted);
	return asprintf(&s, "%s/%s", in, granted) < 0 ? NULL : s;
}

/* The time to the next request; "-" for none (-1). */
static char *next_text(const cJSON *u)
{
	char buf[32];

	if (!jhas_num(u, "next_action_in") || jnum(u, "next_action_in") < 0)
		return strdup("-");
	duration(jnum(u, "next_action_in"), buf);
	return strdup(buf);
}

/* "200 OK", "403 Forbidden", a reason without a status ("timeout"), or "-". */
static char *last_text(const cJSON *u)
{
	const char *reason = jstr(u, "last_reason");
	double st = jnum(u, "last_status");
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

static char *num_text(const cJSON *u, const char *k)
{
	char *s;

	if (!jhas_num(u, k))
		return strdup("-");
	return asprintf(&s, "%.0f", jnum(u, k)) < 0 ? NULL : s;
}

static char *str_text(const cJSON *u, const char *k)
{
	const char *v = jstr(u, k);

	return strdup(v && v[0] ? v : "-");
}

static char *bool_text(const cJSON *u, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(u, k);

	return strdup(cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? "yes" : "no") : "-");
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
#define NSTATES (sizeof(states) / sizeof(states[0]))

/* One row of cells (malloc'd), or false when out of memory (cells freed). */
static bool uplink_row(const cJSON *u, char *row[NCOL])
{
	row[C_NAME] = str_text(u, "name");
	row[C_STATE] = str_text(u, "state");
	row[C_REGISTRAR] = str_text(u, "registrar");
	row[C_TP] = str_text(u, "transport");
	row[C_EXPIRES] = expires_text(u);
	row[C_NEXT] = next_text(u);
	row[C_LAST] = last_text(u);
	row[C_FAILS] = num_text(u, "failures");
	for (unsigned k = 0; k < NCOL; k++)
		if (!row[k]) {
			for (unsigned j = 0; j < NCOL; j++)
				free(row[j]);
			return false;
		}
	return true;
}

static void print_row(FILE *out, const char *const *row, const size_t *width)
{
	for (unsigned k = 0; k < NCOL; k++) {
		if (k)
			fputs("  ", out);
		put_text(out, row[k], k + 1 == NCOL ? 0 : width[k], right[k]);
	}
	fputc('\n', out);
}

static int print_table(FILE *out, FILE *err, const cJSON *root)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "uplinks"), *u;
	size_t width[NCOL], n = 0, count[NSTATES + 1] = { 0 };
	char *(*rows)[NCOL];
	int r = EXIT_DONE;

	rows = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*rows));
	if (!rows) {
		fputs(CMD "out of memory\n", err);
		return EXIT_FAIL;
	}
	for (unsigned k = 0; k < NCOL; k++)
		width[k] = strlen(head[k]);
	cJSON_ArrayForEach(u, list)
	{
		const char *st;
		size_t s;

		if (!cJSON_IsObject(u))
			continue;
		if (!uplink_row(u, rows[n])) {
			fputs(CMD "out of memory\n", err);
			r = EXIT_FAIL;
			goto out;
		}
		for (unsigned k = 0; k < NCOL; k++)
			if (text_width(rows[n][k]) > width[k])
				width[k] = text_width(rows[n][k]);
		st = jstr(u, "state");
		for (s = 0; s < NSTATES && !(st && strcmp(st, states[s]) == 0); s++)
			;
		count[s]++;
		n++;
	}
	if (n == 0) {
		fputs("no uplinks\n", out);
		goto out;
	}
	print_row(out, head, width);
	for (size_t i = 0; i < n; i++)
		print_row(out, (const char *const *)rows[i], width);
	fprintf(out, "\n%zu uplink%s:", n, n == 1 ? "" : "s");
	for (size_t s = 0, sep = 0; s <= NSTATES; s++)
		if (count[s])
			fprintf(out, "%s %zu %s", sep++ ? "," : "", count[s],
				s < NSTATES ? states[s] : "other");
	fputc('\n', out);
out:
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < NCOL; k++)
			free(rows[i][k]);
	free(rows);
	return r;
}

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
	double x = jnum(u, f->key);
	char buf[32];

	switch (f->kind) {
	case K_STR:
		return str_text(u, f->key);
	case K_BOOL:
		return bool_text(u, f->key);
	case K_NUM:
	case K_DUR:
		break;
	}
	if (!jhas_num(u, f->key) || (f->none == NONE_ZERO && x <= 0) ||
	    (f->none == NONE_NEGATIVE && x < 0))
		return strdup("-");
	if (f->kind == K_NUM)
		return num_text(u, f->key);
	duration(x, buf);
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

		if (!v) {
			fputs(CMD "out of memory\n", err);
			return EXIT_FAIL;
		}
		fprintf(out, "%s:%*s", fields[i].key,
			(int)(FIELD_WIDTH - strlen(fields[i].key) - 1), "");
		put_text(out, v, 0, false);
		fputc('\n', out);
		free(v);
	}
	return EXIT_DONE;
}

/* ---- the command ---- */

int cmd_uplinks_run(FILE *out, FILE *err, int argc, char **argv)
{
	const char *action = NULL, *name = NULL;
	char *path = NULL;
	struct opts o;
	cJSON *root;
	int r;

	r = parse_opts(out, err, argc, argv, &o);
	if (r < 0)
		return EXIT_DONE; /* --help */
	if (r > 0)
		return r;
	if (o.npos && (strcmp(o.pos[0], "register") == 0 || strcmp(o.pos[0], "unregister") == 0)) {
		action = o.pos[0];
		if (o.npos < 2)
			return usage_error(err, "missing the NAME after", action);
		name = o.pos[1];
	} else {
		if (o.npos > 1)
			return usage_error(err, "unexpected argument", o.pos[1]);
		name = o.npos ? o.pos[0] : NULL;
	}
	if (name && !name[0])
		return usage_error(err, "an uplink's NAME cannot be empty:", name);
	r = endpoint(err, &o);
	if (r)
		return r;
	if (name && !(path = name_path(name, action))) {
		fputs(CMD "out of memory\n", err);
		return EXIT_FAIL;
	}
	if (action)
		r = ask(err, &o, "POST", path, name, "action", false, &root);
	else if (name)
		r = ask(err, &o, "GET", path, name, "name", false, &root);
	else
		r = ask(err, &o, "GET", UPLINKS_PATH, NULL, "uplinks", true, &root);
	free(path);
	if (r)
		return r;
	if (o.json) {
		print_json(out, root);
	} else if (action) {
		put_text(out, name, 0, false);
		fprintf(out, ": %s requested\n", action);
	} else if (name) {
		r = print_one(out, err, root);
	} else {
		r = print_table(out, err, root);
	}
	cJSON_Delete(root);
	return r;
}
