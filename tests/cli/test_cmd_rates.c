/* SPDX-License-Identifier: MIT */
/*
 * Tests of cli/cmd_rates.h: `sipringctl rates lookup|route|autocreate` run
 * in-process on decks written to temporary files, their output read back from
 * memory streams.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd_rates.h"
#include "core/rateload.h"

struct run {
	int status;
	char *out;
	char *err;
};

static struct run rates(int argc, const char **argv)
{
	struct run r;
	size_t no, ne;
	FILE *o = open_memstream(&r.out, &no), *e = open_memstream(&r.err, &ne);

	cr_assert(o && e);
	r.status = cmd_rates_run(o, e, argc, (char **)argv);
	fclose(o);
	fclose(e);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static char *tmpdeck(const char *text)
{
	char *path = strdup("/tmp/sipring-cli-XXXXXX");
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static const char customer[] = "prefix,destination,rate,increment,effective_date\n"
			       "44,UK,0.0110,60/60,2024-01-01\n"
			       "447,UK Mobile,0.0600,60/60,2024-01-01\n";
static const char vend_a[] = "prefix,destination,rate,increment\n"
			     "44,UK,0.0100,1/1\n";
static const char vend_c[] = "prefix,destination,rate,increment\n"
			     "447,UK Mobile,0.0620,1/1\n";
static const char vend_d[] = "prefix,destination,rate,increment\n"
			     "33,France,0.0100,1/1\n";

Test(cmd_rates, lookup)
{
	char *deck = tmpdeck(customer);
	const char *argv[] = { "rates",	     "lookup",	   "--deck", deck,	"--at",
			       "2024-02-01", "--duration", "61",     "+4478123" };
	struct run r = rates(9, argv);

	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "prefix       447\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "destination  UK Mobile\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "rate         0.0600/min, 60/60, connect fee 0.0000\n"),
			   "%s", r.out);
	cr_assert_not_null(strstr(r.out, "from 2024-01-01 until none"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "61 s answered: 120 s billed, 0.1200"), "%s", r.out);
	run_free(&r);

	/* Before the deck's date: no rate, exit 1. */
	argv[5] = "2023-12-31";
	r = rates(9, argv);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "no rate for +4478123"), "%s", r.err);
	run_free(&r);
	unlink(deck);
	free(deck);
}

Test(cmd_rates, usage_errors)
{
	const char *a1[] = { "rates" };
	const char *a2[] = { "rates", "frobnicate" };
	const char *a3[] = { "rates", "lookup", "--deck", "/nonexistent.csv", "44" };
	const char *a4[] = { "rates", "lookup", "--deck" };
	const char *a5[] = { "rates", "route", "--customer", "x", "--vendor", "novalue", "44" };
	const char *a6[] = { "rates", "autocreate", "--vendor", "x", "--margin", "100" };
	const char *a7[] = { "rates", "lookup", "--deck", "x", "--layout", "nope", "44" };
	const char *a8[] = { "rates", "--help" };
	struct run r;

	r = rates(1, a1);
	cr_assert_eq(r.status, 2);
	run_free(&r);
	r = rates(2, a2);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "unknown subcommand 'frobnicate'"));
	run_free(&r);
	r = rates(5, a3);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "/nonexistent.csv: No such file"), "%s", r.err);
	run_free(&r);
	r = rates(3, a4);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "missing value"), "%s", r.err);
	run_free(&r);
	r = rates(7, a5);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "NAME=FILE"), "%s", r.err);
	run_free(&r);
	r = rates(6, a6);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "below 100%"), "%s", r.err);
	run_free(&r);
	r = rates(7, a7);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "unknown layout"), "%s", r.err);
	run_free(&r);
	r = rates(2, a8);
	cr_assert_eq(r.status, 0);
	cr_assert_not_null(strstr(r.out, "rates autocreate"));
	run_free(&r);
}

Test(cmd_rates, malformed_deck_names_line)
{
	char *deck = tmpdeck("prefix,rate\n44,0.01\n45,abc\n");
	const char *argv[] = { "rates", "lookup", "--deck", deck, "44" };
	struct run r = rates(5, argv);
	char want[256];

	cr_assert_eq(r.status, 1);
	snprintf(want, sizeof(want), "sipringctl: %s:3:2 (rate): not a decimal amount\n", deck);
	cr_assert_str_eq(r.err, want);
	run_free(&r);
	unlink(deck);
	free(deck);
}

/* One line of the route table for gateway `name`, or NULL. */
static const char *row_of(const char *out, const char *name)
{
	const char *p = out;
	char key[32];

	snprintf(key, sizeof(key), " %s ", name);
	while ((p = strstr(p, key))) {
		const char *bol = p;

		while (bol > out && bol[-1] != '\n')
			bol--;
		if (p - bol <= 3)
			return bol;
		p++;
	}
	return NULL;
}

Test(cmd_rates, route_rules_and_order)
{
	char *c = tmpdeck(customer), *a = tmpdeck(vend_a), *cc = tmpdeck(vend_c),
	     *d = tmpdeck(vend_d);
	char va[80], vc[80], vd[80];
	const char *argv[] = { "rates",	       "route", "--customer", c,  "--vendor", va,
			       "--vendor",     vc,	"--vendor",   vd, "--at",     "2024-02-01",
			       "--min-profit", "0",	"447123" };
	struct run r;
	const char *row;

	snprintf(va, sizeof(va), "alpha=%s", a);
	snprintf(vc, sizeof(vc), "charlie=%s", cc);
	snprintf(vd, sizeof(vd), "delta=%s", d);
	r = rates(15, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "customer     447 UK Mobile (group)"), "%s", r.out);
	/* alpha (0.0100) earns 0.0500/min and is tried; charlie loses 0.0020/min. */
	row = row_of(r.out, "alpha");
	cr_assert_not_null(row, "%s", r.out);
	cr_assert_eq(row[0], '1', "%s", r.out);
	cr_assert_not_null(strstr(row, "0.0500"), "%s", row);
	row = row_of(r.out, "charlie");
	cr_assert_not_null(row);
	cr_assert_eq(row[0], '-', "%s", r.out);
	cr_assert_eq(strncmp(strchr(row, '\n') - 16, "below min profit", 16), 0, "%s", row);
	row = row_of(r.out, "delta");
	cr_assert_not_null(row);
	cr_assert_eq(strncmp(strchr(row, '\n') - 7, "no rate", 7), 0, "%s", row);
	run_free(&r);

	/*
	 * The same rule on an expected 20 s call: the 60/60 customer earns 0.0600 while
	 * charlie (1/1) costs 0.020667, so charlie now passes min profit 0 and comes
	 * second by profit, after alpha (0.0600 - 0.003334).
	 */
	{
		const char *argv2[] = { "rates",
					"route",
					"--customer",
					c,
					"--vendor",
					va,
					"--vendor",
					vc,
					"--at",
					"2024-02-01",
					"--min-profit",
					"0",
					"--order",
					"profit",
					"--expected-duration",
					"20",
					"447123" };

		r = rates(17, argv2);
		cr_assert_eq(r.status, 0, "%s", r.err);
		cr_assert_not_null(strstr(r.out, "by profit, expected call 20 s"), "%s", r.out);
		row = row_of(r.out, "alpha");
		cr_assert_eq(row[0], '1', "%s", r.out);
		cr_assert_not_null(strstr(row, " 0.0033 "), "%s", row);
		cr_assert_not_null(strstr(row, " 0.0567 "), "%s", row);
		row = row_of(r.out, "charlie");
		cr_assert_eq(row[0], '2', "%s", r.out);
		cr_assert_not_null(strstr(row, " 0.0393 "), "%s", row);
		cr_assert_not_null(strstr(row, "65.56%"), "%s", row);
		run_free(&r);
	}
	unlink(c);
	unlink(a);
	unlink(cc);
	unlink(d);
	free(c);
	free(a);
	free(cc);
	free(d);
}

Test(cmd_rates, autocreate_margin_and_markup)
{
	char *v = tmpdeck("Code,Destination,Rate,First Rate,Increment,Connect Fee,Effective Date\n"
			  "44,\"UK, fixed\",0.0100,0.0200,1/1,0.001,2024-03-01\n"
			  "\"447,4478\",UK Mobile,0.0123,,60/60,,2024-03-01\n");
	char *outp = strdup("/tmp/sipring-cli-out-XXXXXX");
	int fd = mkstemp(outp);
	const char *argv[] = { "rates", "autocreate", "--vendor", v, "--margin", "20", "-o", outp };
	struct rate_table *t;
	struct rate_match m;
	char err[256], *text;
	size_t len;
	struct run r;

	cr_assert_geq(fd, 0);
	close(fd);
	r = rates(8, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "3 prefixes, margin 20.00%"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(rateload_read(outp, &text, &len), 0);
	cr_assert_not_null(strstr(text, "44,\"UK, fixed\",0.0250,1,0.0125,1,0.0013,2024-03-01,,\n"),
			   "%s", text);
	cr_assert_not_null(strstr(text, "4478,UK Mobile,0.0154,60,0.0154,60,0.0000,2024-03-01,,\n"),
			   "%s", text);
	free(text);
	/* What autocreate writes is a deck the sipring layout reads back. */
	cr_assert_eq(rateload_file(outp, ratedeck_layout_find(SV_LIT("sipring")), NULL, &t, NULL,
				   err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(rate_lookup(t, SV_LIT("4471"), 1709251200, &m), 0);
	cr_assert_eq(m.rate->rate, 15400);
	rate_table_free(t);

	/* Markup 20%: 0.0100 -> 0.0120 (margin would give 0.0125). */
	argv[4] = "--markup";
	r = rates(8, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(rateload_read(outp, &text, &len), 0);
	cr_assert_not_null(strstr(text, "44,\"UK, fixed\",0.0240,1,0.0120,1,0.0012,"), "%s", text);
	free(text);
	unlink(outp);
	unlink(v);
	free(outp);
	free(v);
}
