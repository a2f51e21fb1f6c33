/* SPDX-License-Identifier: MIT */
/*
 * Tests of parsers/ratedeck.h: the layouts, CSV quoting, BOM and CRLF, header
 * search, delimiters, increments, dates, and errors naming line, column and
 * reason. Every deck is placed against a guard page.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "parsers/ratedeck.h"
#include "tests/guard.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DAY  86400

static int sveq(struct sv v, const char *s)
{
	return v.len == strlen(s) && (v.len == 0 || memcmp(v.p, s, v.len) == 0);
}

/* Read a whole deck; returns the rows read, or the first error. */
static int read_deck(struct ratedeck *d, const char *deck, const char *layout,
		     struct ratedeck_row *rows, int max)
{
	size_t n = strlen(deck);
	const struct ratedeck_layout *l = layout ? ratedeck_layout_find(sv_cstr(layout)) : NULL;
	int ret, k = 0;

	cr_assert(!layout || l, "layout %s", layout);
	ret = ratedeck_init(d, guard_place(deck, n), n, l, NULL);
	if (ret < 0)
		return ret;
	while (k < max && (ret = ratedeck_next(d, &rows[k])) > 0)
		k++;
	return ret < 0 ? ret : k;
}

Test(ratedeck, minimal_layout)
{
	static const char deck[] = "prefix,destination,rate,effective_date\n"
				   "44,United Kingdom,0.0123,2024-03-01\n"
				   "447,UK Mobile,0.05,2024-03-01 12:30\n";
	struct ratedeck_row r[4];
	struct ratedeck d;

	cr_assert_eq(read_deck(&d, deck, "minimal", r, 4), 2);
	cr_assert(sveq(r[0].prefixes, "44"));
	cr_assert(sveq(r[0].dest, "United Kingdom"));
	cr_assert_eq(r[0].rate.rate, 12300);
	cr_assert_eq(r[0].rate.first_rate, 12300);
	cr_assert_eq(r[0].rate.connect_fee, 0);
	cr_assert_eq(r[0].rate.first_s, 60); /* default periods */
	cr_assert_eq(r[0].rate.incr_s, 60);
	cr_assert_eq(r[0].from, 1709251200);
	cr_assert_eq(r[0].until, RATE_TIME_MAX);
	cr_assert_eq(r[0].line, 2);
	cr_assert_eq(r[1].from, 1709251200 + 12 * 3600 + 30 * 60);
	cr_assert_eq(r[1].rate.rate, 50000);
	cr_assert_eq(r[1].line, 3);
}

Test(ratedeck, increment_layout)
{
	static const char deck[] =
		"Prefix,Description,Rate,Connection Fee,Effective Date,Billing Increment\r\n"
		"1212,New York,0.0045,0.01,2024-01-01,6/6\r\n"
		"1,USA,0.006,,2024-01-01,60/60\r\n"
		"33,France,0.02,0,2024-01-01,30/6\r\n";
	struct ratedeck_row r[4];
	struct ratedeck d;

	cr_assert_eq(read_deck(&d, deck, "increment", r, 4), 3);
	cr_assert_eq(r[0].rate.connect_fee, 10000);
	cr_assert_eq(r[0].rate.first_s, 6);
	cr_assert_eq(r[0].rate.incr_s, 6);
	cr_assert_eq(r[1].rate.connect_fee, 0);
	cr_assert_eq(r[1].rate.first_s, 60);
	cr_assert_eq(r[2].rate.first_s, 30);
	cr_assert_eq(r[2].rate.incr_s, 6);
	cr_assert_eq(r[2].rate.rate, 20000);
	/* The same deck without a Billing Increment column is refused by this layout. */
	cr_assert_eq(read_deck(&d, "Prefix,Description,Rate\n1,x,1\n", "increment", r, 4),
		     -EBADMSG);
	cr_assert_eq(d.err.line, 1);
}

Test(ratedeck, vos3000_layout)
{
	static const char deck[] = "Destination,Codes,Rate,Effective Date,Period\n"
				   "UK Mobile,\"447, 4478;44790\",0.05,01/15/2024,60\n"
				   "France,33,0.02,15-Jan-24,1\n"
				   "Spain,34,0.03,15-Jan-2024,\n";
	struct ratedeck_row r[4];
	struct ratedeck d;
	struct sv list, p;

	cr_assert_eq(read_deck(&d, deck, "vos3000", r, 4), 3);
	list = r[0].prefixes;
	cr_assert(ratedeck_prefix_next(&list, &p) && sveq(p, "447"));
	cr_assert(ratedeck_prefix_next(&list, &p) && sveq(p, "4478"));
	cr_assert(ratedeck_prefix_next(&list, &p) && sveq(p, "44790"));
	cr_assert(!ratedeck_prefix_next(&list, &p));
	cr_assert_eq(r[0].rate.first_s, 60);
	cr_assert_eq(r[0].rate.incr_s, 60);
	cr_assert_eq(r[1].rate.first_s, 1);
	cr_assert_eq(r[0].from, 1705276800);
	cr_assert_eq(r[1].from, 1705276800);
	cr_assert_eq(r[2].from, 1705276800);
	cr_assert_eq(r[2].rate.first_s, 60); /* empty period: the default */
}

Test(ratedeck, auto_layout_csv_details)
{
	/* BOM, title lines, a comment, CRLF, quotes with separators, a line break and "". */
	static const char deck[] =
		"\xEF\xBB\xBF"
		"Rate sheet from Example Carrier\r\n"
		"\r\n"
		"Code,Destination Name,First Rate,Rate (USD/min),Min Duration,"
		"Increment,Setup Fee,Effective Date,End Date,Status\r\n"
		"# a comment line\r\n"
		"44,\"United Kingdom, proper\",0.03,0.0123,30,6,0.001,2024-03-01,"
		"2024-06-01,\r\n"
		",,,,,,,,,\r\n"
		"447,\"UK \"\"Mobile\"\"\r\nall networks\",,0.05,,,,20240301,,\r\n"
		"448,Gone,,,,,,2024-04-01,,Deleted\r\n"
		"449,Last,,0.01,,,,,,";
	struct ratedeck_row r[8];
	struct ratedeck d;
	char buf[64];
	size_t n;

	cr_assert_eq(read_deck(&d, deck, NULL, r, 8), 4);
	cr_assert_eq(d.delim, ',');
	cr_assert(sveq(r[0].dest, "United Kingdom, proper"));
	cr_assert_eq(r[0].rate.first_rate, 30000);
	cr_assert_eq(r[0].rate.rate, 12300);
	cr_assert_eq(r[0].rate.first_s, 30);
	cr_assert_eq(r[0].rate.incr_s, 6);
	cr_assert_eq(r[0].rate.connect_fee, 1000);
	cr_assert_eq(r[0].until, 1717200000);
	cr_assert_eq(r[0].line, 5);
	cr_assert(r[1].dest_escaped);
	n = ratedeck_unescape(r[1].dest, buf, sizeof(buf));
	cr_assert_eq(n, strlen("UK \"Mobile\"\r\nall networks"));
	cr_assert(memcmp(buf, "UK \"Mobile\"\r\nall networks", n) == 0);
	cr_assert_eq(r[1].line, 7);
	cr_assert_eq(r[1].rate.first_rate, 50000); /* empty first rate: the rate */
	cr_assert_eq(r[1].rate.first_s, 60);	   /* empty periods: the defaults */
	cr_assert_eq(r[1].rate.incr_s, 60);
	cr_assert(r[2].closed);
	cr_assert_eq(r[2].line, 9);
	cr_assert_eq(r[3].line, 10);
	cr_assert_eq(r[3].from, RATE_TIME_MIN); /* no date: since always */
}

Test(ratedeck, delimiters_and_decimal_comma)
{
	static const struct {
		const char *deck;
		char delim;
		int64_t rate;
	} t[] = {
		{ "prefix;destination;rate\n44;UK;0,0123\n", ';', 12300 },
		{ "prefix\tdestination\trate\n44\tUK\t0.0123\n", '\t', 12300 },
		{ "prefix|rate\n44|0,5\n", '|', 500000 },
		{ "prefix, rate\n44, 0.0123\n", ',', 12300 },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct ratedeck_row r[2];
		struct ratedeck d;

		cr_assert_eq(read_deck(&d, t[i].deck, NULL, r, 2), 1, "deck %zu", i);
		cr_assert_eq(d.delim, t[i].delim, "deck %zu", i);
		cr_assert_eq(r[0].rate.rate, t[i].rate, "deck %zu", i);
		cr_assert(sveq(r[0].prefixes, "44"), "deck %zu", i);
	}
}

Test(ratedeck, errors_name_line_and_column)
{
	static const struct {
		const char *deck;
		const char *layout;
		uint32_t line;
		uint16_t col;
		const char *name;
		const char *reason; /* a word the reason holds */
	} t[] = {
		{ "prefix,rate\n44,0.01\n4x,0.01\n", NULL, 3, 1, "prefix", "digit" },
		{ "prefix,rate\n,0.01\n", NULL, 2, 1, "prefix", "no prefix" },
		{ "prefix,rate\n+,0.01\n", NULL, 2, 1, "prefix", "empty" },
		{ "a,b,prefix,rate\n1,2,44,abc\n", NULL, 2, 4, "rate", "decimal" },
		{ "prefix,rate\n44,0.0000001\n", NULL, 2, 2, "rate", "6 decimals" },
		{ "prefix,rate\n44,-0.01\n", NULL, 2, 2, "rate", "negative" },
		{ "prefix,rate\n44,\n", NULL, 2, 2, "rate", "empty rate" },
		{ "prefix,rate,increment\n44,0.01,60/0\n", NULL, 2, 3, "increment", "60/60" },
		{ "prefix,rate,increment\n44,0.01,x\n", NULL, 2, 3, "increment", "seconds" },
		{ "prefix,rate,first period\n44,0.01,-1\n", NULL, 2, 3, "first period", "seconds" },
		{ "prefix,rate,effective date\n44,0.01,2024-02-30\n", NULL, 2, 3, "effective date",
		  "date" },
		{ "prefix,rate,effective date,end date\n44,0.01,2024-02-01,2024-01-01\n", NULL, 2,
		  4, "end date", "after" },
		{ "prefix,rate,connect fee\n44,0.01,1e3\n", NULL, 2, 3, "connect fee", "decimal" },
		{ "prefix,rate\n44,\"0.01\" x\n", NULL, 2, 0, NULL, "closing quote" },
		{ "prefix,rate\n44,0.01\n45,\"0.01\n", NULL, 3, 0, NULL, "quote" },
		{ "destination,rate\nUK,0.01\n", NULL, 1, 0, NULL, "header" },
		{ "prefix,rate,price\n44,1,2\n", NULL, 1, 3, "price", "second column" },
		{ "prefix,rate\n44,0.01\n", "minimal", 1, 0, NULL, "header" },
		/* A line break inside quotes counts: the bad record starts on line 4. */
		{ "prefix,destination,rate\n44,\"two\nlines\",0.01\n45,x,y\n", NULL, 4, 3, "rate",
		  "decimal" },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct ratedeck_row r[4];
		struct ratedeck d;
		char msg[256];

		cr_assert_eq(read_deck(&d, t[i].deck, t[i].layout, r, 4), -EBADMSG, "deck %zu", i);
		cr_assert_eq(d.err.line, t[i].line, "deck %zu: line %u", i, d.err.line);
		cr_assert_eq(d.err.col, t[i].col, "deck %zu: col %u", i, d.err.col);
		if (t[i].name)
			cr_assert(sveq(d.err.name, t[i].name), "deck %zu: '%.*s'", i,
				  (int)d.err.name.len, d.err.name.p);
		cr_assert_not_null(strstr(d.err.reason, t[i].reason), "deck %zu: %s", i,
				   d.err.reason);
		ratedeck_strerror(&d, "deck.csv", msg, sizeof(msg));
		cr_assert_eq(strncmp(msg, "deck.csv:", 9), 0, "%s", msg);
	}
}

Test(ratedeck, error_message_format)
{
	struct ratedeck_row r[2];
	struct ratedeck d;
	char msg[256];

	cr_assert_eq(read_deck(&d, "Prefix,Rate (USD)\n44,zero\n", NULL, r, 2), -EBADMSG);
	ratedeck_strerror(&d, "vendor.csv", msg, sizeof(msg));
	cr_assert_str_eq(msg, "vendor.csv:2:2 (Rate (USD)): not a decimal amount");
	cr_assert_eq(read_deck(&d, "x,y\n", NULL, r, 2), -EBADMSG);
	ratedeck_strerror(&d, "v.csv", msg, sizeof(msg));
	cr_assert_str_eq(msg, "v.csv:1: no header row naming the required columns (see --layout)");
}

Test(ratedeck, reading_goes_on_after_an_error)
{
	static const char deck[] = "prefix,rate\n44,x\n45,0.01\n";
	size_t n = strlen(deck);
	struct ratedeck_row r;
	struct ratedeck d;

	cr_assert_eq(ratedeck_init(&d, guard_place(deck, n), n, NULL, NULL), 0);
	cr_assert_eq(ratedeck_next(&d, &r), -EBADMSG);
	cr_assert_eq(ratedeck_next(&d, &r), 1);
	cr_assert(sveq(r.prefixes, "45"));
	cr_assert_eq(ratedeck_next(&d, &r), 0);
}

Test(ratedeck, dates_table)
{
	static const struct {
		const char *in;
		enum ratedeck_date_order order;
		int ret;
		int64_t t;
	} t[] = {
		{ "1970-01-01", RATEDECK_MDY, 0, 0 },
		{ "2024-03-01", RATEDECK_MDY, 0, 1709251200 },
		{ "2024/03/01", RATEDECK_MDY, 0, 1709251200 },
		{ "2024.3.1", RATEDECK_MDY, 0, 1709251200 },
		{ "20240301", RATEDECK_MDY, 0, 1709251200 },
		{ "01.03.2024", RATEDECK_MDY, 0, 1709251200 }, /* dots: day first */
		{ "03/01/2024", RATEDECK_MDY, 0, 1709251200 },
		{ "01/03/2024", RATEDECK_DMY, 0, 1709251200 },
		{ "13/03/2024", RATEDECK_MDY, 0, 1709251200 + 12 * DAY }, /* 13 is a day */
		{ "03/13/2024", RATEDECK_DMY, 0, 1709251200 + 12 * DAY },
		{ "1-Mar-24", RATEDECK_MDY, 0, 1709251200 },
		{ "01-march-2024", RATEDECK_MDY, 0, 1709251200 },
		{ "1 Mar 2024", RATEDECK_MDY, 0, 1709251200 },
		{ "2024-02-29", RATEDECK_MDY, 0, 1709164800 },
		{ "2024-03-01T01:02:03Z", RATEDECK_MDY, 0, 1709251200 + 3723 },
		{ "2024-03-01 1:02", RATEDECK_MDY, 0, 1709251200 + 3720 },
		{ "2023-02-29", RATEDECK_MDY, -EINVAL, 0 },
		{ "2024-13-01", RATEDECK_MDY, -EINVAL, 0 },
		{ "2024-00-10", RATEDECK_MDY, -EINVAL, 0 },
		{ "2024-03-01 24:00", RATEDECK_MDY, -EINVAL, 0 },
		{ "2024-03", RATEDECK_MDY, -EINVAL, 0 },
		{ "1-Mrz-24", RATEDECK_MDY, -EINVAL, 0 },
		{ "2024-03-01x", RATEDECK_MDY, -EINVAL, 0 },
		{ "", RATEDECK_MDY, -EINVAL, 0 },
		{ "13/13/2024", RATEDECK_MDY, -EINVAL, 0 },
	};
	for (size_t i = 0; i < N(t); i++) {
		size_t n = strlen(t[i].in);
		int64_t v = -1;
		int ret = ratedeck_parse_date(sv_make(guard_place(t[i].in, n), n), t[i].order, &v);

		cr_assert_eq(ret, t[i].ret, "'%s': %d", t[i].in, ret);
		if (ret == 0)
			cr_assert_eq(v, t[i].t, "'%s': %lld", t[i].in, (long long)v);
	}
}

Test(ratedeck, date_format_roundtrip)
{
	char buf[32];

	cr_assert_eq(ratedeck_format_date(1709251200, buf, sizeof(buf)), 10);
	cr_assert_str_eq(buf, "2024-03-01");
	ratedeck_format_date(1709251200 + 3723, buf, sizeof(buf));
	cr_assert_str_eq(buf, "2024-03-01 01:02:03");
	ratedeck_format_date(RATE_TIME_MIN, buf, sizeof(buf));
	cr_assert_str_eq(buf, "");
	for (int64_t t = -86400LL * 365 * 60; t < 86400LL * 365 * 400; t += 86400 * 37 + 3607) {
		int64_t back;

		ratedeck_format_date(t, buf, sizeof(buf));
		if (t < -2208988800LL) /* before 1900: not a deck date */
			continue;
		cr_assert_eq(ratedeck_parse_date(sv_cstr(buf), RATEDECK_MDY, &back), 0, "%s", buf);
		cr_assert_eq(back, t, "%s", buf);
	}
}

Test(ratedeck, increments_table)
{
	static const struct {
		const char *in;
		int ret;
		uint32_t first, incr;
	} t[] = {
		{ "60/60", 0, 60, 60 },	      { "6/6", 0, 6, 6 },      { "1/1", 0, 1, 1 },
		{ "30/6", 0, 30, 6 },	      { " 0 / 6 ", 0, 0, 6 },  { "60/0", -EINVAL, 0, 0 },
		{ "60", -EINVAL, 0, 0 },      { "/6", -EINVAL, 0, 0 }, { "a/6", -EINVAL, 0, 0 },
		{ "86401/1", -EINVAL, 0, 0 },
	};
	for (size_t i = 0; i < N(t); i++) {
		uint32_t a = 0, b = 0;
		int ret = ratedeck_parse_increment(sv_cstr(t[i].in), &a, &b);

		cr_assert_eq(ret, t[i].ret, "'%s'", t[i].in);
		if (ret == 0) {
			cr_assert_eq(a, t[i].first, "'%s'", t[i].in);
			cr_assert_eq(b, t[i].incr, "'%s'", t[i].in);
		}
	}
}

Test(ratedeck, layouts_listed)
{
	static const char *const names[] = { "auto", "minimal", "increment", "vos3000", "sipring" };

	for (size_t i = 0; i < N(names); i++) {
		const struct ratedeck_layout *l = ratedeck_layout_find(sv_cstr(names[i]));

		cr_assert_not_null(l, "%s", names[i]);
		cr_assert_eq(l, ratedeck_layouts[i]);
		cr_assert(l->required & (1u << RATEDECK_PREFIX));
		cr_assert(l->required & (1u << RATEDECK_RATE));
	}
	cr_assert_null(ratedeck_layouts[N(names)]);
	cr_assert_not_null(ratedeck_layout_find(SV_LIT("VOS3000")));
	cr_assert_null(ratedeck_layout_find(SV_LIT("nope")));
	cr_assert_str_eq(ratedeck_col_name(RATEDECK_CONNECT_FEE), "connect fee");
}
