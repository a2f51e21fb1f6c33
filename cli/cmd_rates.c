/* SPDX-License-Identifier: MIT */
/*
 * cmd_rates.c: `sipringctl rates lookup|route|autocreate` (see cmd_rates.h).
 *
 * Each subcommand parses its options into a small struct, loads the decks it
 * names through rateload.h, runs the library function it exists to show
 * (rate_lookup / rate_cheapest, gw_rank, autocreate_rate), prints the result as
 * an aligned text table, and frees everything before it returns. Amounts are
 * printed with --precision decimals (default 4), rounded half up for display
 * only; autocreate rounds prices up to that precision.
 */
#include "cmd_rates.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/autocreate.h"
#include "core/charge.h"
#include "core/gwrules.h"
#include "core/money.h"
#include "core/rate.h"
#include "core/rateload.h"
#include "parsers/ratedeck.h"

enum { RATES_OK = 0, RATES_FAIL = 1, RATES_USAGE = 2 };

#define RATES_MAX_VENDORS 64
#define ERRMAX		  512

struct rctx {
	FILE *out;
	FILE *err;
	const struct ratedeck_layout *layout;
	unsigned precision;
	int64_t at;
	bool at_set;
};

static const char rates_usage[] =
	"usage: sipringctl rates <subcommand> [options]\n"
	"\n"
	"Rate decks, charging and gateway rules (docs/rating.md).\n"
	"\n"
	"  rates lookup --deck FILE [--at DATE] [--duration SEC] NUMBER\n"
	"      The rate of NUMBER in a deck: longest prefix in force at DATE (default\n"
	"      now); with --duration, the charge of an answered call of SEC seconds.\n"
	"\n"
	"  rates route --customer FILE [--account FILE] [--private FILE]\n"
	"              --vendor NAME=FILE [--vendor NAME=FILE ...] NUMBER\n"
	"              [--order cost|profit] [--min-profit RATE] [--max-minute-rate RATE]\n"
	"              [--expected-duration SEC] [--no-check-rate] [--at DATE]\n"
	"      The customer's rate (cheapest of group, account and private decks), then\n"
	"      every vendor gateway in the order it would be tried, with each rule's\n"
	"      verdict. --min-profit is per second (may be negative), --max-minute-rate\n"
	"      per minute; both apply to every vendor.\n"
	"\n"
	"  rates autocreate --vendor FILE (--margin PCT | --markup PCT)\n"
	"                   [--increment P/I] [-o FILE]\n"
	"      A customer deck from a vendor deck: each amount priced for the margin\n"
	"      (price = cost / (1 - m)) or markup (price = cost * (1 + k)), rounded up to\n"
	"      --precision decimals; written in the 'sipring' layout.\n"
	"\n"
	"common options:\n"
	"  --layout NAME    column mapping: auto (default), minimal, increment, vos3000,\n"
	"                   sipring\n"
	"  --precision N    decimals of printed amounts, 0..6 (default 4)\n"
	"  -h, --help       this text\n"
	"\n"
	"DATE is YYYY-MM-DD or 'YYYY-MM-DD HH:MM[:SS]' (UTC). Exit status: 0 done; 1 no\n"
	"rate or a malformed deck; 2 usage or I/O error.\n";

static void errorf(struct rctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errorf(struct rctx *c, const char *fmt, ...)
{
	va_list ap;

	fputs("sipringctl: ", c->err);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
}

static int usage_error(struct rctx *c, const char *what, const char *arg)
{
	errorf(c, "rates: %s '%s' (see sipringctl rates --help)", what, arg);
	return RATES_USAGE;
}

/*
 * If argv[*i] is option `name`, return its value ("--name V" or "--name=V") and
 * advance *i; *missing is set when the value is absent. Otherwise NULL.
 */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Options every subcommand takes. Returns 1 when consumed, 0 when not, RATES_USAGE on error. */
static int common_opt(struct rctx *c, int argc, char **argv, int *i)
{
	bool missing = false;
	const char *v;
	uint32_t u;

	if ((v = opt_value(argc, argv, i, "--layout", &missing))) {
		c->layout = ratedeck_layout_find(sv_cstr(v));
		if (!c->layout)
			return usage_error(c, "unknown layout", v);
		return 1;
	}
	if (!missing && (v = opt_value(argc, argv, i, "--precision", &missing))) {
		if (parse_u32(v, MONEY_DECIMALS, &u) < 0)
			return usage_error(c, "precision is 0..6, not", v);
		c->precision = u;
		return 1;
	}
	if (!missing && (v = opt_value(argc, argv, i, "--at", &missing))) {
		if (ratedeck_parse_date(sv_cstr(v), RATEDECK_MDY, &c->at) < 0)
			return usage_error(c, "not a date (YYYY-MM-DD [HH:MM[:SS]])", v);
		c->at_set = true;
		return 1;
	}
	if (missing)
		return usage_error(c, "missing value after", argv[*i]);
	return 0;
}

static const char *fmt_money(const struct rctx *c, int64_t v, char *buf)
{
	if (money_format(v, c->precision, buf, MONEY_FMT_MAX) < 0)
		snprintf(buf, MONEY_FMT_MAX, "?");
	return buf;
}

static const char *fmt_ppm(int64_t ppm, char *buf)
{
	if (money_format_ppm(ppm, 2, buf, MONEY_FMT_MAX) < 0)
		snprintf(buf, MONEY_FMT_MAX, "?");
	else
		strcat(buf, "%");
	return buf;
}

static const char *fmt_date(int64_t t, char *buf, size_t cap)
{
	if (t == RATE_TIME_MIN)
		snprintf(buf, cap, "always");
	else if (t == RATE_TIME_MAX)
		snprintf(buf, cap, "none");
	else
		ratedeck_format_date(t, buf, cap);
	return buf;
}

/* Load one deck; prints the error and returns the exit status on failure. */
static int load(struct rctx *c, const char *path, struct rate_table **t)
{
	char msg[ERRMAX];
	int ret = rateload_file(path, c->layout, NULL, t, NULL, msg, sizeof(msg));

	if (ret == 0)
		return RATES_OK;
	errorf(c, "%s", msg);
	return ret == -EBADMSG || ret == -EEXIST ? RATES_FAIL : RATES_USAGE;
}

/* The number as matched: digits only, a leading '+' dropped. */
static int number_arg(struct rctx *c, const char *s, struct sv *out)
{
	if (*s == '+')
		s++;
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return usage_error(c, "not a number (digits, an optional leading '+')", s);
	*out = sv_cstr(s);
	return RATES_OK;
}

static void print_rate(struct rctx *c, const char *label, const struct rate *r)
{
	char a[MONEY_FMT_MAX], b[MONEY_FMT_MAX], f[MONEY_FMT_MAX];

	fprintf(c->out, "%-12s %s/min", label, fmt_money(c, r->rate, a));
	if (r->first_rate != r->rate)
		fprintf(c->out, " (first period %s/min)", fmt_money(c, r->first_rate, b));
	fprintf(c->out, ", %u/%u, connect fee %s\n", r->first_s, r->incr_s,
		fmt_money(c, r->connect_fee, f));
}

static void print_match(struct rctx *c, struct sv number, const struct rate_match *m)
{
	char d1[32], d2[32];

	fprintf(c->out, "%-12s %.*s\n", "prefix", (int)m->prefix_len, number.p);
	fprintf(c->out, "%-12s %.*s\n", "destination", (int)m->dest.len, m->dest.p);
	print_rate(c, "rate", m->rate);
	fprintf(c->out, "%-12s from %s until %s\n", "effective", fmt_date(m->from, d1, sizeof(d1)),
		fmt_date(m->until, d2, sizeof(d2)));
}

static int cmd_lookup(struct rctx *c, int argc, char **argv)
{
	const char *deck = NULL, *num = NULL, *v;
	struct rate_table *t = NULL;
	uint32_t duration = 0;
	bool has_duration = false;
	struct rate_match m;
	struct sv number;
	int ret;

	for (int i = 1; i < argc; i++) {
		bool missing = false;

		ret = common_opt(c, argc, argv, &i);
		if (ret == 1)
			continue;
		if (ret)
			return ret;
		if ((v = opt_value(argc, argv, &i, "--deck", &missing))) {
			deck = v;
		} else if (!missing && (v = opt_value(argc, argv, &i, "--duration", &missing))) {
			if (parse_u32(v, UINT32_MAX, &duration) < 0)
				return usage_error(c, "not a duration in seconds", v);
			has_duration = true;
		} else if (missing) {
			return usage_error(c, "missing value after", argv[i]);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error(c, "unknown option", argv[i]);
		} else if (num) {
			return usage_error(c, "more than one number:", argv[i]);
		} else {
			num = argv[i];
		}
	}
	if (!deck || !num) {
		errorf(c, "rates lookup: --deck FILE and a NUMBER are required");
		return RATES_USAGE;
	}
	ret = number_arg(c, num, &number);
	if (ret)
		return ret;
	ret = load(c, deck, &t);
	if (ret)
		return ret;
	fprintf(c->out, "%-12s %.*s\n", "number", (int)number.len, number.p);
	if (rate_lookup(t, number, c->at, &m) < 0) {
		char d[32];

		errorf(c, "no rate for %s at %s in %s", num, fmt_date(c->at, d, sizeof(d)), deck);
		rate_table_free(t);
		return RATES_FAIL;
	}
	print_match(c, number, &m);
	if (has_duration) {
		uint64_t billed = charge_billed_s(duration, m.rate->first_s, m.rate->incr_s);
		char a[MONEY_FMT_MAX];
		int64_t amount;

		if (charge_amount(m.rate, billed, NULL, &amount) == 0)
			fprintf(c->out, "%-12s %u s answered: %llu s billed, %s\n", "charge",
				duration, (unsigned long long)billed, fmt_money(c, amount, a));
	}
	rate_table_free(t);
	return RATES_OK;
}

struct vendor {
	const char *name;
	const char *path;
	struct rate_table *t;
};

static void print_route(struct rctx *c, const struct gw *gws, const struct gw_choice *ch,
			uint32_t n, int ntry, struct sv number, const struct gw_policy *pol)
{
	char a[MONEY_FMT_MAX], b[MONEY_FMT_MAX], d[MONEY_FMT_MAX], e[MONEY_FMT_MAX];
	char f[MONEY_FMT_MAX];

	if (pol->expected_s)
		fprintf(c->out, "\n%-3s %-12s %-10s %-10s %-9s %-10s %-10s %-10s %-9s %s\n", "#",
			"gateway", "prefix", "rate/min", "periods", "profit/min", "exp.cost",
			"exp.profit", "exp.margin", "verdict");
	else
		fprintf(c->out, "\n%-3s %-12s %-10s %-10s %-9s %-10s %s\n", "#", "gateway",
			"prefix", "rate/min", "periods", "profit/min", "verdict");
	for (uint32_t k = 0; k < n; k++) {
		const struct gw_choice *x = &ch[k];
		char idx[16], per[24], pfx[40];

		if ((int)k < ntry)
			snprintf(idx, sizeof(idx), "%u", k + 1);
		else
			snprintf(idx, sizeof(idx), "-");
		if (x->has_rate) {
			snprintf(per, sizeof(per), "%u/%u", x->vend.rate->first_s,
				 x->vend.rate->incr_s);
			snprintf(pfx, sizeof(pfx), "%.*s", (int)x->vend.prefix_len, number.p);
			fmt_money(c, x->vend.rate->rate, a);
			fmt_money(c, x->profit_per_min, b);
		} else {
			snprintf(per, sizeof(per), "-");
			snprintf(pfx, sizeof(pfx), "-");
			snprintf(a, sizeof(a), "-");
			snprintf(b, sizeof(b), "-");
		}
		if (pol->expected_s) {
			if (x->has_rate) {
				fmt_money(c, x->exp.cost, d);
				fmt_money(c, x->exp.profit, e);
				if (x->exp.flags & CHARGE_HAS_MARGIN)
					fmt_ppm(x->exp.margin_ppm, f);
				else
					snprintf(f, sizeof(f), "-");
			} else {
				snprintf(d, sizeof(d), "-");
				snprintf(e, sizeof(e), "-");
				snprintf(f, sizeof(f), "-");
			}
			fprintf(c->out, "%-3s %-12.*s %-10s %-10s %-9s %-10s %-10s %-10s %-9s %s\n",
				idx, (int)gws[x->gw].name.len, gws[x->gw].name.p, pfx, a, per, b, d,
				e, f, gw_verdict_str(x->verdict));
		} else {
			fprintf(c->out, "%-3s %-12.*s %-10s %-10s %-9s %-10s %s\n", idx,
				(int)gws[x->gw].name.len, gws[x->gw].name.p, pfx, a, per, b,
				gw_verdict_str(x->verdict));
		}
	}
}

static int cmd_route(struct rctx *c, int argc, char **argv)
{
	const char *cust_path = NULL, *acct_path = NULL, *priv_path = NULL, *num = NULL, *v;
	struct vendor vend[RATES_MAX_VENDORS];
	struct gw gws[RATES_MAX_VENDORS];
	struct gw_choice ch[RATES_MAX_VENDORS];
	struct gw_policy pol = { .order = GW_ORDER_COST };
	struct rate_table *group = NULL, *acct = NULL, *priv = NULL;
	unsigned flags = GW_CHECK_RATE;
	int64_t min_profit = 0, max_minute = 0;
	uint32_t nvend = 0;
	struct rate_match cm;
	enum rate_source src;
	bool has_cust;
	struct sv number;
	int ret, ntry, status = RATES_OK;

	for (int i = 1; i < argc; i++) {
		bool missing = false;

		ret = common_opt(c, argc, argv, &i);
		if (ret == 1)
			continue;
		if (ret)
			return ret;
		if ((v = opt_value(argc, argv, &i, "--customer", &missing))) {
			cust_path = v;
		} else if (!missing && (v = opt_value(argc, argv, &i, "--account", &missing))) {
			acct_path = v;
		} else if (!missing && (v = opt_value(argc, argv, &i, "--private", &missing))) {
			priv_path = v;
		} else if (!missing && (v = opt_value(argc, argv, &i, "--vendor", &missing))) {
			const char *eq = strchr(v, '=');

			if (!eq || eq == v || !eq[1])
				return usage_error(c, "--vendor takes NAME=FILE, not", v);
			if (nvend == RATES_MAX_VENDORS)
				return usage_error(c, "too many vendors at", v);
			vend[nvend].name = v;
			vend[nvend].path = eq + 1;
			vend[nvend].t = NULL;
			gws[nvend] = (struct gw){ .name = sv_make(v, (size_t)(eq - v)) };
			nvend++;
		} else if (!missing && (v = opt_value(argc, argv, &i, "--order", &missing))) {
			if (strcmp(v, "cost") == 0)
				pol.order = GW_ORDER_COST;
			else if (strcmp(v, "profit") == 0)
				pol.order = GW_ORDER_PROFIT;
			else
				return usage_error(c, "--order is cost or profit, not", v);
		} else if (!missing && (v = opt_value(argc, argv, &i, "--min-profit", &missing))) {
			if (money_parse(sv_cstr(v), &min_profit) < 0)
				return usage_error(c, "not an amount per second", v);
			flags |= GW_MIN_PROFIT;
		} else if (!missing &&
			   (v = opt_value(argc, argv, &i, "--max-minute-rate", &missing))) {
			if (money_parse(sv_cstr(v), &max_minute) < 0 || max_minute < 0)
				return usage_error(c, "not an amount per minute", v);
			flags |= GW_MAX_MINUTE;
		} else if (!missing &&
			   (v = opt_value(argc, argv, &i, "--expected-duration", &missing))) {
			if (parse_u32(v, 86400, &pol.expected_s) < 0)
				return usage_error(c, "not a duration in seconds (0..86400)", v);
		} else if (missing) {
			return usage_error(c, "missing value after", argv[i]);
		} else if (strcmp(argv[i], "--no-check-rate") == 0) {
			flags &= ~(unsigned)GW_CHECK_RATE;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error(c, "unknown option", argv[i]);
		} else if (num) {
			return usage_error(c, "more than one number:", argv[i]);
		} else {
			num = argv[i];
		}
	}
	if (!num || !nvend || !(cust_path || acct_path || priv_path)) {
		errorf(c, "rates route: --customer FILE, at least one --vendor NAME=FILE and a "
			  "NUMBER are required");
		return RATES_USAGE;
	}
	ret = number_arg(c, num, &number);
	if (ret)
		return ret;
	if ((cust_path && (status = load(c, cust_path, &group))) ||
	    (acct_path && (status = load(c, acct_path, &acct))) ||
	    (priv_path && (status = load(c, priv_path, &priv))))
		goto out;
	for (uint32_t k = 0; k < nvend; k++) {
		status = load(c, vend[k].path, &vend[k].t);
		if (status)
			goto out;
		gws[k].rates = vend[k].t;
		gws[k].flags = flags;
		gws[k].min_profit = min_profit;
		gws[k].max_minute = max_minute;
	}

	{
		struct rate_account a = { group, acct, priv };
		char d[32];

		has_cust = rate_cheapest(&a, number, c->at, 60, &cm, &src) == 0;
		fprintf(c->out, "%-12s %.*s at %s\n", "number", (int)number.len, number.p,
			fmt_date(c->at, d, sizeof(d)));
	}
	if (has_cust) {
		fprintf(c->out, "%-12s %.*s %.*s (%s)\n", "customer", (int)cm.prefix_len, number.p,
			(int)cm.dest.len, cm.dest.p, rate_source_str(src));
		print_rate(c, "  rate", cm.rate);
	} else {
		fprintf(c->out, "%-12s no rate\n", "customer");
	}
	fprintf(c->out, "%-12s by %s", "order", pol.order == GW_ORDER_COST ? "cost" : "profit");
	if (pol.expected_s)
		fprintf(c->out, ", expected call %u s", pol.expected_s);
	fputc('\n', c->out);
	ntry = gw_rank(gws, nvend, has_cust ? cm.rate : NULL, number, c->at, &pol, ch);
	if (ntry < 0) {
		errorf(c, "rates route: %s", strerror(-ntry));
		status = RATES_FAIL;
		goto out;
	}
	print_route(c, gws, ch, nvend, ntry, number, &pol);
	if (!has_cust || ntry == 0)
		status = RATES_FAIL;
out:
	rate_table_free(group);
	rate_table_free(acct);
	rate_table_free(priv);
	for (uint32_t k = 0; k < nvend; k++)
		rate_table_free(vend[k].t);
	return status;
}

/* Write a CSV field, quoted when it holds a separator, a quote or a line break. */
static void csv_field(FILE *f, struct sv s)
{
	if (!s.len || strcspn(s.p, ",\"\r\n") >= s.len) {
		fwrite(s.p ? s.p : "", 1, s.len, f);
		return;
	}
	fputc('"', f);
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] == '"')
			fputc('"', f);
		fputc(s.p[i], f);
	}
	fputc('"', f);
}

struct ac_summary {
	size_t rows, prefixes;
	int64_t worst_ppm; /* lowest margin or markup reached on a non-zero rate */
	bool any;
};

static int ac_row(struct rctx *c, FILE *o, const struct ratedeck_row *row, struct sv dest,
		  const struct autocreate_opts *opts, struct ac_summary *s)
{
	char a[MONEY_FMT_MAX], b[MONEY_FMT_MAX], f[MONEY_FMT_MAX], d1[32], d2[32];
	struct sv list = row->prefixes, prefix;
	struct rate r = row->rate;

	if (!row->closed) {
		int ret = autocreate_rate(&row->rate, opts, &r);

		if (ret < 0)
			return ret;
		if (row->rate.rate) {
			int64_t ppm;
			int64_t profit = r.rate - row->rate.rate;

			if (money_ratio_ppm(profit,
					    opts->mode == AUTOCREATE_MARGIN ? r.rate
									    : row->rate.rate,
					    &ppm) == 0 &&
			    (!s->any || ppm < s->worst_ppm)) {
				s->worst_ppm = ppm;
				s->any = true;
			}
		}
	}
	ratedeck_format_date(row->from, d1, sizeof(d1));
	ratedeck_format_date(row->until, d2, sizeof(d2));
	while (ratedeck_prefix_next(&list, &prefix)) {
		fprintf(o, "%.*s,", (int)prefix.len, prefix.p);
		csv_field(o, dest);
		if (row->closed)
			fprintf(o, ",,,,,,%s,%s,closed\n", d1, d2);
		else
			fprintf(o, ",%s,%u,%s,%u,%s,%s,%s,\n", fmt_money(c, r.first_rate, a),
				r.first_s, fmt_money(c, r.rate, b), r.incr_s,
				fmt_money(c, r.connect_fee, f), d1, d2);
		s->prefixes++;
	}
	s->rows++;
	return 0;
}

static int cmd_autocreate(struct rctx *c, int argc, char **argv)
{
	const char *vpath = NULL, *opath = NULL, *v;
	struct autocreate_opts opts = { 0 };
	bool have_ratio = false;
	struct ac_summary sum = { 0 };
	struct ratedeck_row row;
	struct ratedeck d;
	char *buf = NULL, msg[ERRMAX], p1[MONEY_FMT_MAX], p2[MONEY_FMT_MAX];
	size_t len;
	FILE *o = NULL;
	int ret, status = RATES_OK;

	for (int i = 1; i < argc; i++) {
		bool missing = false;

		ret = common_opt(c, argc, argv, &i);
		if (ret == 1)
			continue;
		if (ret)
			return ret;
		if ((v = opt_value(argc, argv, &i, "--vendor", &missing))) {
			vpath = v;
		} else if (!missing &&
			   ((v = opt_value(argc, argv, &i, "--margin", &missing)) ||
			    (!missing && (v = opt_value(argc, argv, &i, "--markup", &missing))))) {
			/* argv[i] is now the value, or "--margin=V" itself. */
			bool margin = strncmp(argv[i], "--margin=", 9) == 0 ||
				      (v == argv[i] && strcmp(argv[i - 1], "--margin") == 0);

			if (have_ratio)
				return usage_error(c, "one of --margin or --markup, again at", v);
			if (money_parse_percent(sv_cstr(v), &opts.ppm) < 0)
				return usage_error(c, "not a percentage", v);
			opts.mode = margin ? AUTOCREATE_MARGIN : AUTOCREATE_MARKUP;
			have_ratio = true;
		} else if (!missing && (v = opt_value(argc, argv, &i, "--increment", &missing))) {
			if (ratedeck_parse_increment(sv_cstr(v), &opts.first_s, &opts.incr_s) < 0)
				return usage_error(c, "not an increment like 60/60", v);
		} else if (!missing && (v = opt_value(argc, argv, &i, "-o", &missing))) {
			opath = v;
		} else if (missing) {
			return usage_error(c, "missing value after", argv[i]);
		} else {
			return usage_error(c, "unknown argument", argv[i]);
		}
	}
	if (!vpath || !have_ratio) {
		errorf(c, "rates autocreate: --vendor FILE and one of --margin PCT or --markup PCT "
			  "are required");
		return RATES_USAGE;
	}
	if (opts.mode == AUTOCREATE_MARGIN && opts.ppm >= MONEY_PPM)
		return usage_error(c, "a margin must be below 100%, not", "--margin");
	if (opts.mode == AUTOCREATE_MARKUP && opts.ppm < -MONEY_PPM)
		return usage_error(c, "a markup must be -100% or more, not", "--markup");
	opts.decimals = (uint8_t)c->precision;

	ret = rateload_read(vpath, &buf, &len);
	if (ret < 0) {
		errorf(c, "%s: %s", vpath, strerror(-ret));
		return RATES_USAGE;
	}
	ret = ratedeck_init(&d, buf, len, c->layout, NULL);
	if (ret < 0) {
		ratedeck_strerror(&d, vpath, msg, sizeof(msg));
		errorf(c, "%s", msg);
		free(buf);
		return RATES_FAIL;
	}
	o = opath ? fopen(opath, "w") : c->out;
	if (!o) {
		errorf(c, "%s: %s", opath, strerror(errno));
		free(buf);
		return RATES_USAGE;
	}
	fputs("prefix,destination,first_rate,first_period,rate,increment,connect_fee,"
	      "effective_date,end_date,status\n",
	      o);
	while ((ret = ratedeck_next(&d, &row)) > 0) {
		struct sv dest = row.dest;
		char *tmp = NULL;

		if (row.dest_escaped) {
			tmp = malloc(dest.len ? dest.len : 1);
			if (!tmp) {
				ret = -ENOMEM;
				break;
			}
			dest = sv_make(tmp, ratedeck_unescape(row.dest, tmp, dest.len));
		}
		ret = ac_row(c, o, &row, dest, &opts, &sum);
		free(tmp);
		if (ret < 0)
			break;
	}
	if (ret == -EBADMSG) {
		ratedeck_strerror(&d, vpath, msg, sizeof(msg));
		errorf(c, "%s", msg);
		status = RATES_FAIL;
	} else if (ret < 0) {
		errorf(c, "%s:%u: %s", vpath, row.line, strerror(-ret));
		status = RATES_FAIL;
	}
	if (opath && fclose(o) != 0) {
		errorf(c, "%s: %s", opath, strerror(errno));
		status = RATES_USAGE;
	}
	if (status == RATES_OK) {
		fprintf(c->err, "autocreate: %zu rows, %zu prefixes, %s %s", sum.rows, sum.prefixes,
			opts.mode == AUTOCREATE_MARGIN ? "margin" : "markup",
			fmt_ppm(opts.ppm, p1));
		if (sum.any)
			fprintf(c->err, " (lowest reached %s after rounding up to %u decimals)",
				fmt_ppm(sum.worst_ppm, p2), c->precision);
		fputc('\n', c->err);
	}
	free(buf);
	return status;
}

int cmd_rates_run(FILE *out, FILE *err, int argc, char **argv)
{
	struct rctx c = { .out = out, .err = err, .precision = 4 };

	c.at = (int64_t)time(NULL);
	if (argc < 2) {
		fputs(rates_usage, err);
		return RATES_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(rates_usage, out);
		return RATES_OK;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(rates_usage, out);
			return RATES_OK;
		}
	}
	if (strcmp(argv[1], "lookup") == 0)
		return cmd_lookup(&c, argc - 1, argv + 1);
	if (strcmp(argv[1], "route") == 0)
		return cmd_route(&c, argc - 1, argv + 1);
	if (strcmp(argv[1], "autocreate") == 0)
		return cmd_autocreate(&c, argc - 1, argv + 1);
	errorf(&c, "rates: unknown subcommand '%s'", argv[1]);
	fputs(rates_usage, err);
	return RATES_USAGE;
}

int cmd_rates(int argc, char **argv)
{
	return cmd_rates_run(stdout, stderr, argc, argv);
}
