/* SPDX-License-Identifier: MIT */
/*
 * cli_api.c: see cli_api.h. The option parser is by hand, as in the other
 * commands: long options take their value after '=' or as the next argument.
 * HTTP is cmd_status.c's client.
 */
#define _GNU_SOURCE
#include "cli_api.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/sv.h"

/* ---- options ---- */

int cli_api_usage_error(FILE *err, const struct cli_api_cmd *c, const char *what, const char *arg)
{
	fprintf(err, "sipringctl %s: %s '%s'\n", c->name, what, arg);
	fprintf(err, "usage: sipringctl %s %s\n", c->name, c->args);
	return EXIT_USAGE;
}

/* a is the option name, or name=value when eq (the offset of the '='). */
static bool is_opt(const char *a, size_t eq, const char *name)
{
	return eq ? eq == strlen(name) && strncmp(a, name, eq) == 0 : strcmp(a, name) == 0;
}

int cli_api_parse(FILE *out, FILE *err, const struct cli_api_cmd *c, int argc, char **argv,
		  struct cli_api_opts *o)
{
	bool opts_done = false;

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], **dst = NULL, *v = NULL;
		size_t eq = 0;
		int k;

		if (opts_done || a[0] != '-' || (a[1] == '\0' && c->max_pos)) {
			if (o->npos == c->max_pos || o->npos == CLI_API_MAX_POS)
				return cli_api_usage_error(err, c, "unexpected argument", a);
			o->pos[o->npos++] = a;
			continue;
		}
		if (c->max_pos && strcmp(a, "--") == 0) {
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
		for (k = 0; k < CLI_API_MAX_OPTS && !(c->flags[k] && strcmp(a, c->flags[k]) == 0);
		     k++)
			;
		if (k < CLI_API_MAX_OPTS) {
			o->flag[k] = true;
			continue;
		}
		if (strncmp(a, "--", 2) == 0 && strchr(a, '='))
			eq = (size_t)(strchr(a, '=') - a);
		if (strcmp(a, "-c") == 0 || is_opt(a, eq, "--config"))
			dst = &o->config;
		else if (is_opt(a, eq, "--url"))
			dst = &o->url;
		for (k = 0; !dst && k < CLI_API_MAX_OPTS; k++)
			if (c->valued[k] && is_opt(a, eq, c->valued[k]))
				dst = &o->value[k];
		if (!dst)
			return cli_api_usage_error(err, c, "unknown option", a);
		if (eq) {
			v = a + eq + 1;
		} else {
			if (i + 1 >= argc)
				return cli_api_usage_error(err, c, "missing value for", a);
			v = argv[++i];
		}
		if (*dst)
			return cli_api_usage_error(err, c, "given twice:", a);
		*dst = v;
	}
	if (o->config && o->url)
		return cli_api_usage_error(err, c, "give one of -c and --url, not both:", o->url);
	return 0;
}

int cli_api_endpoint(FILE *err, const struct cli_api_cmd *c, struct cli_api_opts *o)
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

int cli_api_oom(FILE *err, const struct cli_api_cmd *c)
{
	fprintf(err, "sipringctl %s: out of memory\n", c->name);
	return EXIT_FAIL;
}

/* ---- asking the daemon ---- */

char *cli_api_path(const char *prefix, const char *elem, const char *keep, const char *action)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t pl = strlen(prefix), al = action ? strlen(action) : 0;
	char *p = malloc(pl + 1 + strlen(elem) * 3 + 1 + al + 1), *w;

	if (!p)
		return NULL;
	memcpy(p, prefix, pl);
	w = p + pl;
	*w++ = '/';
	for (const unsigned char *k = (const unsigned char *)elem; *k; k++) {
		if (isalnum(*k) || strchr("-._~", *k) || strchr(keep, *k)) {
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

/* Text from the daemon, or a name it was asked about, on err. */
static void put_said(FILE *err, const struct cli_api_cmd *c, const char *s)
{
	if (c->error_as_is)
		fputs(s, err);
	else
		cli_api_put_text(err, s, 0, false);
}

int cli_api_ask(FILE *err, const struct cli_api_cmd *c, const struct cli_api_opts *o,
		const char *method, const char *path, const char *body, const char *name,
		const char *want, bool want_array, cJSON **root)
{
	struct cmd_status_resp resp;
	const cJSON *w;
	const char *e;
	char msg[512];
	size_t ul;
	int r;

	*root = NULL;
	/* A POST without a body still says so (Content-Length: 0). */
	if (!body && strcmp(method, "POST") == 0)
		body = "";
	r = cmd_status_request(o->url, method, path, body, body ? strlen(body) : 0, &resp, msg,
			       sizeof(msg));
	if (r == -EINVAL)
		return cli_api_usage_error(err, c, "--url takes http://HOST:PORT, not", o->url);
	if (r < 0) {
		/* The hint is for a daemon that does not answer, not for a bad host name. */
		fprintf(err, "sipringctl %s: %s%s\n", c->name, msg,
			resp.connected || r == -ENOENT ? "" : CMD_STATUS_CONNECT_HINT);
		return EXIT_FAIL;
	}
	/* The URL as asked, for messages: "http://127.0.0.1:8080/api/v1/status". */
	ul = strlen(o->url);
	while (ul && o->url[ul - 1] == '/')
		ul--;
	*root = cJSON_ParseWithLength(resp.body, resp.len);
	free(resp.body);
	e = cJSON_IsObject(*root) ? cli_api_jstr(*root, "error") : NULL;
	w = want ? cJSON_GetObjectItemCaseSensitive(*root, want) : NULL;
	if (resp.status == 404 && name && e && !c->noun) {
		fprintf(err, "sipringctl %s: ", c->name);
		put_said(err, c, name);
		fputs(": ", err);
		put_said(err, c, e);
		fputc('\n', err);
		r = EXIT_FAIL;
	} else if (resp.status == 404 && name && e && strncmp(e, "no such ", 8) == 0 &&
		   strcmp(e + 8, c->noun) == 0) {
		fprintf(err, "sipringctl %s: no %s named ", c->name, c->noun);
		put_said(err, c, name);
		fputc('\n', err);
		r = EXIT_FAIL;
	} else if (c->only_200 ? resp.status != 200 : resp.status / 100 != 2) {
		fprintf(err, "sipringctl %s: %.*s%s: HTTP %d%s", c->name, (int)ul, o->url, path,
			resp.status, e ? ": " : "");
		if (e)
			put_said(err, c, e);
		fputc('\n', err);
		r = EXIT_FAIL;
	} else if (!cJSON_IsObject(*root) || (want && !w) || (want_array && !cJSON_IsArray(w))) {
		fprintf(err, "sipringctl %s: %.*s%s: the answer is not %s\n", c->name, (int)ul,
			o->url, path, c->answer ? c->answer : "sipring's JSON");
		r = EXIT_FAIL;
	} else {
		return 0;
	}
	cJSON_Delete(*root);
	*root = NULL;
	return r;
}

void cli_api_print_json(FILE *out, const cJSON *root)
{
	char *text = cJSON_Print(root);

	if (text)
		fprintf(out, "%s\n", text);
	cJSON_free(text);
}

/* ---- reading the daemon's JSON ---- */

const char *cli_api_jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double cli_api_jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

bool cli_api_jhas_num(const cJSON *o, const char *k)
{
	return cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, k));
}

char *cli_api_str_text(const cJSON *o, const char *k)
{
	const char *v = cli_api_jstr(o, k);

	return strdup(v && v[0] ? v : "-");
}

char *cli_api_num_text(const cJSON *o, const char *k)
{
	char *s;

	if (!cli_api_jhas_num(o, k))
		return strdup("-");
	return asprintf(&s, "%.0f", cli_api_jnum(o, k)) < 0 ? NULL : s;
}

char *cli_api_bool_text(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return strdup(cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? "yes" : "no") : "-");
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

size_t cli_api_text_width(const char *s)
{
	size_t n = strlen(s), w = 0;
	bool ok;

	for (size_t i = 0; i < n; w++)
		i += glyph((const unsigned char *)s + i, n - i, &ok);
	return w;
}

void cli_api_put_text(FILE *out, const char *s, size_t width, bool right)
{
	size_t n = strlen(s), w = cli_api_text_width(s);
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

void cli_api_put_field(FILE *out, const char *key, const char *v, size_t width)
{
	fprintf(out, "%s:%*s", key, (int)(width - strlen(key) - 1), "");
	cli_api_put_text(out, v, 0, false);
	fputc('\n', out);
}

void cli_api_duration(double s, char buf[32])
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

/* ---- a table of the daemon's objects ---- */

static void print_row(FILE *out, const struct cli_api_table *t, const char *const *row,
		      const size_t *width)
{
	for (unsigned k = 0; k < t->ncol; k++) {
		if (k)
			fputs("  ", out);
		cli_api_put_text(out, row[k], k + 1 == t->ncol ? 0 : width[k], t->right[k]);
	}
	fputc('\n', out);
}

/* The cells of obj into row[0..t->ncol), or false when out of memory (cells freed). */
static bool table_row(const struct cli_api_table *t, const cJSON *obj, char **row)
{
	t->row(obj, row);
	for (unsigned k = 0; k < t->ncol; k++)
		if (!row[k]) {
			for (unsigned j = 0; j < t->ncol; j++)
				free(row[j]);
			return false;
		}
	return true;
}

int cli_api_print_table(FILE *out, FILE *err, const struct cli_api_cmd *c,
			const struct cli_api_table *t, const cJSON *root)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, t->list), *obj;
	size_t width[CLI_API_MAX_COLS], n = 0, *count;
	char **rows; /* row i is rows[i * ncol ..] */
	int r = EXIT_DONE;

	rows = calloc(((size_t)cJSON_GetArraySize(list) + 1) * t->ncol, sizeof(*rows));
	count = calloc(t->nstates + 1, sizeof(*count));
	if (!rows || !count) {
		free(rows);
		free(count);
		return cli_api_oom(err, c);
	}
	for (unsigned k = 0; k < t->ncol; k++)
		width[k] = strlen(t->head[k]);
	cJSON_ArrayForEach(obj, list)
	{
		char **row = rows + n * t->ncol;
		const char *st;
		size_t s;

		if (!cJSON_IsObject(obj))
			continue;
		if (!table_row(t, obj, row)) {
			r = cli_api_oom(err, c);
			goto out;
		}
		for (unsigned k = 0; k < t->ncol; k++)
			if (cli_api_text_width(row[k]) > width[k])
				width[k] = cli_api_text_width(row[k]);
		st = cli_api_jstr(obj, t->state);
		for (s = 0; s < t->nstates && !(st && strcmp(st, t->states[s]) == 0); s++)
			;
		count[s]++;
		n++;
	}
	if (n == 0) {
		fprintf(out, "no %ss\n", t->noun);
		goto out;
	}
	print_row(out, t, t->head, width);
	for (size_t i = 0; i < n; i++)
		print_row(out, t, (const char *const *)rows + i * t->ncol, width);
	fprintf(out, "\n%zu %s%s:", n, t->noun, n == 1 ? "" : "s");
	for (size_t s = 0, sep = 0; s <= t->nstates; s++)
		if (count[s])
			fprintf(out, "%s %zu %s", sep++ ? "," : "", count[s],
				s < t->nstates ? t->states[s] : "other");
	fputc('\n', out);
	if (t->truncated && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "truncated")))
		fprintf(out, "%s\n", t->truncated);
out:
	for (size_t i = 0; i < n * t->ncol; i++)
		free(rows[i]);
	free(rows);
	free(count);
	return r;
}
