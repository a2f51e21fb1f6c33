/* SPDX-License-Identifier: MIT */
/*
 * cmd_report.c: see cmd_report.h. Options are parsed by hand (as in
 * sipringctl.c) in both "--opt value" and "--opt=value" forms; the report is
 * printed as an aligned table or as one JSON object whose numbers are exact
 * decimals (never a double's rounding of micro-units).
 */
#include "cmd_report.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parsers/sv.h"
#include "storage/cdr.h"
#include "storage/report.h"

#define NAME "sipringctl"

enum { EXIT_DONE = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

const char cmd_report_help[] =
	"\n"
	"Reads the profit counters from Redis (--redis) or every CDR left in a spool\n"
	"directory (--spool) and prints, per day and per customer, vendor, gateway\n"
	"or destination prefix (--by, default customer; 'day' sums all customers):\n"
	"calls, answered calls, ASR %, ACD in seconds, billed minutes, revenue, cost,\n"
	"profit and margin %, then the total. Days are UTC dates of call setup.\n"
	"\n"
	"options:\n"
	"  --by DIM           customer, vendor, gateway, destination (dest) or day\n"
	"  --day D            one day, YYYY-MM-DD (default: today, UTC)\n"
	"  --from D, --to D   a range of days, inclusive (--to defaults to today)\n"
	"  --redis HOST:PORT  read Redis counters (an IP or a name; or a unix socket\n"
	"                     path); password from SIPRING_REDIS_PASSWORD\n"
	"  --db N             Redis database (default 0)\n"
	"  --prefix P         Redis key prefix (default sipring:)\n"
	"  --spool DIR        read the CDRs of a spool directory instead\n"
	"  --precision N      decimals of money, 0 to 6 (default 4)\n"
	"  --json             one JSON object instead of a table\n"
	"  -h, --help         this text\n"
	"\n"
	"exit status: 0 done; 1 the source could not be read; 2 usage error.\n";

struct opts {
	enum report_by by;
	int32_t from, to;
	bool have_from, have_to, have_day;
	const char *redis;
	const char *spool;
	const char *prefix;
	unsigned db;
	unsigned precision;
	bool json;
};

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, NAME ": %s '%s'\n", what, arg);
	fputs("usage: " NAME " report " CMD_REPORT_ARGS "\n", stderr);
	return EXIT_USAGE;
}

static int32_t today(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return cdr_day((int64_t)ts.tv_sec * 1000);
}

/* A decimal in [0, max]. (Bounded here, not by sv_to_u64(), for a max below 9.) */
static int parse_u(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (sv_to_u64(sv_cstr(s), UINT64_MAX, &v) != 0 || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/*
 * One option: argv[*i] is "--name" or "--name=value"; *val gets the value
 * (the next argument in the first form). Returns 1 when the option matched,
 * 0 when not, -1 when its value is missing.
 */
static int opt_val(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const char *const valued[] = { "--by",	     "--day",	"--from",
					      "--to",	     "--redis", "--spool",
					      "--precision", "--db",	"--prefix" };

	memset(o, 0, sizeof(*o));
	o->by = REPORT_BY_CUSTOMER;
	o->precision = 4;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		int which = -1;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			printf("usage: " NAME " report " CMD_REPORT_ARGS "\n\n%s\n%s",
			       CMD_REPORT_SUMMARY, cmd_report_help);
			return -1;
		}
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]) && which < 0; k++) {
			int m = opt_val(argc, argv, &i, valued[k], &v);

			if (m < 0)
				return usage_error("missing value for", a);
			if (m > 0)
				which = (int)k;
		}
		if (which < 0)
			return usage_error(a[0] == '-' ? "unknown option" : "unexpected argument",
					   a);
		uint64_t u;
		int32_t d;
		switch (which) {
		case 0:
			if (report_by_parse(sv_cstr(v), &o->by) != 0)
				return usage_error("--by takes customer, vendor, gateway, "
						   "destination or day, not",
						   v);
			break;
		case 1:
		case 2:
		case 3:
			if (cdr_day_parse(sv_cstr(v), &d) != 0)
				return usage_error("not a date (YYYY-MM-DD):", v);
			if (which == 1) {
				o->from = o->to = d;
				o->have_day = true;
			} else if (which == 2) {
				o->from = d;
				o->have_from = true;
			} else {
				o->to = d;
				o->have_to = true;
			}
			break;
		case 4:
			o->redis = v;
			break;
		case 5:
			o->spool = v;
			break;
		case 6:
			if (parse_u(v, 6, &u) != 0)
				return usage_error("--precision takes 0 to 6, not", v);
			o->precision = (unsigned)u;
			break;
		case 7:
			if (parse_u(v, 1u << 20, &u) != 0)
				return usage_error("--db takes a number, not", v);
			o->db = (unsigned)u;
			break;
		case 8:
			o->prefix = v;
			break;
		}
	}
	if (o->have_day && (o->have_from || o->have_to))
		return usage_error("--day goes without --from and --to:", "--day");
	if (!o->redis == !o->spool)
		return usage_error("give one source,", "--redis or --spool");
	if (!o->have_day) {
		if (!o->have_to)
			o->to = today();
		if (!o->have_from)
			o->from = o->have_to ? o->to : today();
	}
	if (o->from > o->to)
		return usage_error("--from is after --to:", "--from");
	return 0;
}

/* "host:port", "[v6]:port", or a path (with a '/'): into conn. */
static int parse_redis(const char *s, struct report_redis *conn, char *host, size_t hostcap)
{
	const char *colon;
	uint64_t port = 6379;
	size_t hl;

	if (strchr(s, '/')) {
		conn->unix_path = s;
		return 0;
	}
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb)
			return -EINVAL;
		hl = (size_t)(rb - s - 1);
		if (hl == 0 || hl >= hostcap)
			return -EINVAL;
		memcpy(host, s + 1, hl);
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] && !colon)
			return -EINVAL;
	} else {
		colon = strrchr(s, ':');
		hl = colon ? (size_t)(colon - s) : strlen(s);
		if (hl == 0 || hl >= hostcap)
			return -EINVAL;
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	if (colon && (sv_to_u64(sv_cstr(colon + 1), 65535, &port) != 0 || port == 0))
		return -EINVAL;
	conn->host = host;
	conn->port = (uint16_t)port;
	return 0;
}

static void json_str(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* A figure as a JSON number, or null when it is undefined ("-"). */
static void json_num(FILE *f, const char *name, const char *v, bool comma)
{
	fprintf(f, "\"%s\":%s%s", name, strcmp(v, "-") == 0 ? "null" : v, comma ? "," : "");
}

static void json_row(FILE *f, const struct report_row *r, const struct cdr_counts *c,
		     unsigned precision)
{
	struct report_figures fig;
	char day[11];

	report_figures(c, precision, &fig);
	fputc('{', f);
	if (r) {
		cdr_day_format(r->day, day);
		fprintf(f, "\"day\":\"%s\",\"key\":", day);
		json_str(f, r->key, r->key_len);
		fputc(',', f);
	}
	fprintf(f, "\"calls\":%lld,\"answered\":%lld,", (long long)c->calls,
		(long long)c->answered);
	json_num(f, "asr", fig.asr, true);
	json_num(f, "acd", fig.acd, true);
	fprintf(f, "\"seconds\":%lld,", (long long)c->seconds);
	json_num(f, "minutes", fig.minutes, true);
	json_num(f, "revenue", fig.revenue, true);
	json_num(f, "cost", fig.cost, true);
	json_num(f, "profit", fig.profit, true);
	json_num(f, "margin", fig.margin, false);
	fputc('}', f);
}

static void print_json(FILE *f, const struct opts *o, const struct report *rep)
{
	char from[11], to[11];

	cdr_day_format(o->from, from);
	cdr_day_format(o->to, to);
	fprintf(f, "{\"by\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"source\":\"%s\",",
		report_by_name(o->by), from, to, o->redis ? "redis" : "spool");
	fprintf(f, "\"precision\":%u,\"rows\":[", o->precision);
	for (size_t i = 0; i < rep->n; i++) {
		if (i)
			fputc(',', f);
		json_row(f, &rep->rows[i], &rep->rows[i].c, o->precision);
	}
	fputs("],\"total\":", f);
	json_row(f, NULL, &rep->total, o->precision);
	fprintf(f, ",\"skipped\":%llu}\n", (unsigned long long)rep->skipped);
}

enum {
	COL_DAY,
	COL_KEY,
	COL_CALLS,
	COL_ANS,
	COL_ASR,
	COL_ACD,
	COL_MIN,
	COL_REV,
	COL_COST,
	COL_PROFIT,
	COL_MARGIN,
	NCOL
};

/* The cells of one line of the table; key NULL for the total line. */
static void cells(const struct report_row *r, const struct cdr_counts *c, unsigned precision,
		  char cell[NCOL][48])
{
	struct report_figures fig;

	report_figures(c, precision, &fig);
	if (r) {
		cdr_day_format(r->day, cell[COL_DAY]);
		snprintf(cell[COL_KEY], 48, "%.*s", r->key_len > 47 ? 47 : (int)r->key_len, r->key);
	} else {
		snprintf(cell[COL_DAY], 48, "total");
		cell[COL_KEY][0] = '\0';
	}
	snprintf(cell[COL_CALLS], 48, "%lld", (long long)c->calls);
	snprintf(cell[COL_ANS], 48, "%lld", (long long)c->answered);
	memcpy(cell[COL_ASR], fig.asr, 48);
	memcpy(cell[COL_ACD], fig.acd, 48);
	memcpy(cell[COL_MIN], fig.minutes, 48);
	memcpy(cell[COL_REV], fig.revenue, 48);
	memcpy(cell[COL_COST], fig.cost, 48);
	memcpy(cell[COL_PROFIT], fig.profit, 48);
	memcpy(cell[COL_MARGIN], fig.margin, 48);
}

static void print_table(FILE *f, const struct opts *o, const struct report *rep)
{
	static const char *const head[NCOL] = { "day",	"",	  "calls",   "answered",
						"ASR%", "ACD(s)", "minutes", "revenue",
						"cost", "profit", "margin%" };
	char cell[NCOL][48];
	size_t w[NCOL];
	bool keycol = o->by != REPORT_BY_DAY;
	const char *keyname = report_by_name(o->by);

	for (int k = 0; k < NCOL; k++)
		w[k] = strlen(k == COL_KEY ? keyname : head[k]);
	for (size_t i = 0; i <= rep->n; i++) {
		cells(i < rep->n ? &rep->rows[i] : NULL, i < rep->n ? &rep->rows[i].c : &rep->total,
		      o->precision, cell);
		for (int k = 0; k < NCOL; k++)
			if (strlen(cell[k]) > w[k])
				w[k] = strlen(cell[k]);
	}
	for (int k = 0; k < NCOL; k++) {
		if (k == COL_KEY && !keycol)
			continue;
		const char *h = k == COL_KEY ? keyname : head[k];
		fprintf(f, k <= COL_KEY ? "%-*s" : "%*s", (int)w[k], h);
		fputs(k + 1 < NCOL ? "  " : "\n", f);
	}
	for (size_t i = 0; i <= rep->n; i++) {
		cells(i < rep->n ? &rep->rows[i] : NULL, i < rep->n ? &rep->rows[i].c : &rep->total,
		      o->precision, cell);
		for (int k = 0; k < NCOL; k++) {
			if (k == COL_KEY && !keycol)
				continue;
			fprintf(f, k <= COL_KEY ? "%-*s" : "%*s", (int)w[k], cell[k]);
			fputs(k + 1 < NCOL ? "  " : "\n", f);
		}
	}
	if (rep->skipped)
		fprintf(stderr,
			NAME ": %llu records or fields were not sipring's and were skipped\n",
			(unsigned long long)rep->skipped);
}

int cmd_report(int argc, char **argv)
{
	struct report_query q;
	struct report rep;
	struct opts o;
	char err[256] = "", host[256];
	int r;

	r = parse_opts(argc, argv, &o);
	if (r < 0)
		return EXIT_DONE; /* --help */
	if (r > 0)
		return r;
	q = (struct report_query){ .by = o.by, .from = o.from, .to = o.to };
	report_init(&rep);
	if (o.spool) {
		r = report_from_spool(&rep, o.spool, &q);
		if (r)
			snprintf(err, sizeof(err), "spool %s: %s", o.spool, strerror(-r));
	} else {
		struct report_redis conn = { .db = o.db,
					     .prefix = o.prefix,
					     .password = getenv("SIPRING_REDIS_PASSWORD") };

		if (parse_redis(o.redis, &conn, host, sizeof(host)) != 0) {
			report_free(&rep);
			return usage_error("--redis takes HOST:PORT or a socket path, not",
					   o.redis);
		}
		/* hiredis write()s: a server that closes on us is an error, not a signal. */
		signal(SIGPIPE, SIG_IGN);
		r = report_from_redis(&rep, &conn, &q, err, sizeof(err));
	}
	if (r) {
		fprintf(stderr, NAME ": %s\n", err[0] ? err : strerror(-r));
		report_free(&rep);
		return EXIT_FAIL;
	}
	if (o.json)
		print_json(stdout, &o, &rep);
	else
		print_table(stdout, &o, &rep);
	report_free(&rep);
	return EXIT_DONE;
}
