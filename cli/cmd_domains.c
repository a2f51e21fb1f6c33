/* SPDX-License-Identifier: MIT */
/*
 * cmd_domains.c: see cmd_domains.h. Shaped like cmd_uplinks.c: the option
 * parser, the exchange with the daemon (ask(): the request, then the errors
 * turned into one line and an exit status) and a table printer with cells of
 * its own (text from the daemon, formatted numbers) and widths counted in
 * characters, not octets. HTTP is cmd_status.c's client.
 */
#define _GNU_SOURCE
#include "cmd_domains.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli/cmd_status.h"
#include "parsers/sv.h"

#define DOMAINS_PATH "/api/v1/domains"
#define MAX_POS	     2	/* resolve NAME */
#define ADDRS_WIDTH  48 /* the addresses cell: more are counted ("+3"), not listed */
#define CMD	     "sipringctl domains: "

enum { EXIT_DONE = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

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
	"options:\n"
	"  -c, --config FILE  the node's configuration: ask at its http.listen\n"
	"  --url URL          ask at http://HOST:PORT (IPv6: http://[::1]:8080)\n"
	"                     default " CMD_STATUS_DEFAULT_URL "\n"
	"  --all              resolve: every entry\n"
	"  --json             the daemon's JSON, pretty-printed\n"
	"  -h, --help         this text\n"
	"\n"
	"exit status: 0 done; 1 the daemon could not be asked, or said no (no such\n"
	"domain, an HTTP error); 2 usage error or a configuration that does not\n"
	"load.\n";

/* ---- options ---- */

struct opts {
	const char *config, *url;
	bool json, all;
	const char *pos[MAX_POS];
	int npos;
	char url_buf[128]; /* the URL of -c */
};

static int usage_error(FILE *err, const char *what, const char *arg)
{
	fprintf(err, CMD "%s '%s'\n", what, arg);
	fputs("usage: sipringctl domains " CMD_DOMAINS_ARGS "\n", err);
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
			fprintf(out, "usage: sipringctl domains %s\n\n%s\n%s", CMD_DOMAINS_ARGS,
				CMD_DOMAINS_SUMMARY, cmd_domains_help);
			return -1;
		}
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(a, "--all") == 0) {
			o->all = true;
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
 * DOMAINS_PATH "/" name ["/resolve"], the name percent-encoded but for
 * letters, digits and -._~ (an IPv6 address's colons and brackets too).
 */
static char *name_path(const char *name, bool resolve)
{
	static const char hex[] = "0123456789ABCDEF";
	char *p = malloc(sizeof(DOMAINS_PATH) + 1 + strlen(name) * 3 + sizeof("/resolve")), *w;

	if (!p)
		return NULL;
	memcpy(p, DOMAINS_PATH, sizeof(DOMAINS_PATH) - 1);
	w = p + sizeof(DOMAINS_PATH) - 1;
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
	if (resolve) {
		memcpy(w, "/resolve", sizeof("/resolve") - 1);
		w += sizeof("/resolve") - 1;
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

static bool jtrue(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void no_such(FILE *err, const char *name)
{
	fputs(CMD "no domain named ", err);
	put_text(err, name, 0, false);
	fputc('\n', err);
}

/*
 * method path at o->url. Returns 0 and *root (a JSON object with member want,
 * an array when want_array) after a 2xx, or the exit status after one line on
 * err. name is the domain asked about: the daemon's 404 "no such domain" says
 * "no domain named NAME"; any other error gives the URL, the status and the
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
	if (resp.status == 404 && name && e && strcmp(e, "no such domain") == 0) {
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

static char *str_text(const cJSON *e, const char *k)
{
	const char *v = jstr(e, k);

	return strdup(v && v[0] ? v : "-");
}

static char *num_text(const cJSON *e, const char *k)
{
	char *s;

	if (!jhas_num(e, k))
		return strdup("-");
	return asprintf(&s, "%.0f", jnum(e, k)) < 0 ? NULL : s;
}

static char *bool_text(const cJSON *e, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, k);

	return strdup(cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? "yes" : "no") : "-");
}

/* The TTL left; "-" when the entry has no TTL running (literal, pending, failed). */
static char *ttl_left_text(const cJSON *e)
{
	char buf[32];

	if (jtrue(e, "literal") || jnum(e, "expires_at") <= 0 || !jhas_num(e, "ttl_left"))
		return strdup("-");
	duration(jnum(e, "ttl_left"), buf);
	return strdup(buf);
}

/* The time to the next resolution: "now" (due or under way), "-" never. */
static char *next_text(const cJSON *e)
{
	char buf[32];

	if (!jhas_num(e, "next_refresh_in") || jnum(e, "next_refresh_in") < 0)
		return strdup("-");
	if (jnum(e, "next_refresh_in") == 0)
		return strdup("now");
	duration(jnum(e, "next_refresh_in"), buf);
	return strdup(buf);
}

/* A realtime stamp in ms as "2025-06-01T12:00:00Z"; "-" for 0. */
static char *time_text(const cJSON *e, const char *k)
{
	double ms = jnum(e, k);
	char buf[64];
	struct tm tm;
	time_t t;

	if (!jhas_num(e, k) || ms <= 0)
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
#define NSTATUSES (sizeof(statuses) / sizeof(statuses[0]))

/* One row of cells (malloc'd), or false when out of memory (cells freed). */
static bool entry_row(const cJSON *e, char *row[NCOL])
{
	row[C_NAME] = str_text(e, "name");
	row[C_KIND] = str_text(e, "kind");
	row[C_STATUS] = str_text(e, "status");
	row[C_ADDRS] = addrs_text(e);
	row[C_TTL] = ttl_left_text(e);
	row[C_NEXT] = next_text(e);
	row[C_ERROR] = str_text(e, "error");
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
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "domains"), *e;
	size_t width[NCOL], n = 0, count[NSTATUSES + 1] = { 0 };
	char *(*rows)[NCOL];
	int r = EXIT_DONE;

	rows = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*rows));
	if (!rows) {
		fputs(CMD "out of memory\n", err);
		return EXIT_FAIL;
	}
	for (unsigned k = 0; k < NCOL; k++)
		width[k] = strlen(head[k]);
	cJSON_ArrayForEach(e, list)
	{
		const char *st;
		size_t s;

		if (!cJSON_IsObject(e))
			continue;
		if (!entry_row(e, rows[n])) {
			fputs(CMD "out of memory\n", err);
			r = EXIT_FAIL;
			goto out;
		}
		for (unsigned k = 0; k < NCOL; k++)
			if (text_width(rows[n][k]) > width[k])
				width[k] = text_width(rows[n][k]);
		st = jstr(e, "status");
		for (s = 0; s < NSTATUSES && !(st && strcmp(st, statuses[s]) == 0); s++)
			;
		count[s]++;
		n++;
	}
	if (n == 0) {
		fputs("no domains\n", out);
		goto out;
	}
	print_row(out, head, width);
	for (size_t i = 0; i < n; i++)
		print_row(out, (const char *const *)rows[i], width);
	fprintf(out, "\n%zu domain%s:", n, n == 1 ? "" : "s");
	for (size_t s = 0, sep = 0; s <= NSTATUSES; s++)
		if (count[s])
			fprintf(out, "%s %zu %s", sep++ ? "," : "", count[s],
				s < NSTATUSES ? statuses[s] : "other");
	fputc('\n', out);
	if (jtrue(root, "truncated"))
		fputs("truncated: the node lists at most 10000 entries\n", out);
out:
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < NCOL; k++)
			free(rows[i][k]);
	free(rows);
	return r;
}

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
		return str_text(e, f->key);
	case K_BOOL:
		return bool_text(e, f->key);
	case K_NUM:
		return num_text(e, f->key);
	case K_DUR:
		/* a TTL of 0: none (literal, pending, failed) */
		if (!jhas_num(e, f->key) || jnum(e, f->key) <= 0)
			return strdup("-");
		duration(jnum(e, f->key), buf);
		return strdup(buf);
	case K_TTL_LEFT:
		return ttl_left_text(e);
	case K_TIME:
		return time_text(e, f->key);
	case K_NEXT:
		return next_text(e);
	case K_NODE:
		if (!jstr(e, f->key))
			return strdup("-");
		return strdup(jstr(e, f->key)[0] ? jstr(e, f->key) : "this node");
	}
	return strdup("-");
}

static void put_field(FILE *out, const char *key, const char *v)
{
	fprintf(out, "%s:%*s", key, (int)(FIELD_WIDTH - strlen(key) - 1), "");
	put_text(out, v, 0, false);
	fputc('\n', out);
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
	const char *tp = jstr(t, "transport");
	const cJSON *a;
	unsigned n = 0;

	fputs("  ", out);
	put_text(out, jstr(t, "name") ? jstr(t, "name") : "-", 0, false);
	if (jnum(t, "port") > 0)
		fprintf(out, "  port %.0f", jnum(t, "port"));
	if (naptr)
		fprintf(out, "  order %.0f  preference %.0f", jnum(t, "order"),
			jnum(t, "preference"));
	if (srv)
		fprintf(out, "  priority %.0f  weight %.0f", jnum(t, "priority"),
			jnum(t, "weight"));
	if (tp && tp[0]) {
		fputs("  transport ", out);
		put_text(out, tp, 0, false);
	}
	fputc('\n', out);
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(t, "addresses"))
	{
		if (!cJSON_IsString(a))
			continue;
		fputs("    ", out);
		put_text(out, a->valuestring, 0, false);
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

			if (!v) {
				fputs(CMD "out of memory\n", err);
				return EXIT_FAIL;
			}
			put_field(out, fields[i].key, v);
			free(v);
		}
		targets = cJSON_GetObjectItemCaseSensitive(e, "targets");
		if (cJSON_GetArraySize(targets) == 0) {
			put_field(out, "targets", "-");
			continue;
		}
		fputs("targets:\n", out);
		cJSON_ArrayForEach(t, targets)
		{
			if (cJSON_IsObject(t))
				print_target(out, t, jstr(e, "kind"));
		}
	}
	return EXIT_DONE;
}

/* "gw.test: resolve requested (2 entries)"; "nothing to resolve" when none. */
static void print_resolving(FILE *out, const cJSON *root, const char *asked)
{
	const char *name = jstr(root, "name");
	double n = jnum(root, "resolving");

	if (asked) {
		put_text(out, name ? name : asked, 0, false);
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
	const char *name = NULL;
	bool resolve = false;
	char *path = NULL;
	struct opts o;
	cJSON *root;
	int r;

	r = parse_opts(out, err, argc, argv, &o);
	if (r < 0)
		return EXIT_DONE; /* --help */
	if (r > 0)
		return r;
	if (o.npos && strcmp(o.pos[0], "resolve") == 0) {
		resolve = true;
		if (o.all && o.npos > 1)
			return usage_error(err, "give NAME or --all, not both:", o.pos[1]);
		if (!o.all && o.npos < 2)
			return usage_error(err, "missing the NAME (or --all) after", "resolve");
		name = o.all ? NULL : o.pos[1];
	} else {
		if (o.all)
			return usage_error(err, "--all goes with resolve:", "--all");
		if (o.npos > 1)
			return usage_error(err, "unexpected argument", o.pos[1]);
		name = o.npos ? o.pos[0] : NULL;
	}
	if (name && !name[0])
		return usage_error(err, "a domain's NAME cannot be empty:", name);
	r = endpoint(err, &o);
	if (r)
		return r;
	if (name && !(path = name_path(name, resolve))) {
		fputs(CMD "out of memory\n", err);
		return EXIT_FAIL;
	}
	if (resolve)
		r = ask(err, &o, "POST", name ? path : DOMAINS_PATH "/resolve", name, "resolving",
			false, &root);
	else
		r = ask(err, &o, "GET", name ? path : DOMAINS_PATH, name, "domains", true, &root);
	free(path);
	if (r)
		return r;
	if (o.json)
		print_json(out, root);
	else if (resolve)
		print_resolving(out, root, name);
	else if (name)
		r = print_entries(out, err, root);
	else
		r = print_table(out, err, root);
	cJSON_Delete(root);
	return r;
}
