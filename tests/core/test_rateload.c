/* SPDX-License-Identifier: MIT */
/* Tests of core/rateload.h: decks to tables, end dates and deletions, error messages. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rateload.h"

#define DAY	 86400
#define MAR_2024 1709251200LL /* 2024-03-01 */

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/sipring-rateload-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static const char vendor_deck[] =
	"Code,Destination,Rate,Increment,Connect Fee,Effective Date,End Date,Status\n"
	"44,United Kingdom,0.0100,60/60,,2024-03-01,,\n"
	"44,United Kingdom,0.0090,60/60,,2024-04-01,,\n"
	"\"447,4478\",\"UK Mobile, all\",0.0500,1/1,0.002,2024-03-01,2024-05-01,\n"
	"4479,\"UK \"\"O2\"\"\",0.0400,6/6,,2024-03-01,,\n"
	"4479,,,,,2024-04-15,,deleted\n";

Test(rateload, deck_to_table)
{
	struct rate_builder *b = rate_builder_new();
	struct rateload_stats st;
	struct rate_table *t;
	struct rate_match m;
	char err[256];

	cr_assert_eq(rateload_add(b, "v.csv", vendor_deck, strlen(vendor_deck), NULL, NULL, &st,
				  err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(st.rows, 5);
	cr_assert_eq(st.prefixes, 6);
	cr_assert_eq(rate_table_build(b, &t, NULL), 0);

	cr_assert_eq(rate_lookup(t, SV_LIT("4420"), MAR_2024, &m), 0);
	cr_assert_eq(m.rate->rate, 10000);
	cr_assert_eq(m.until, MAR_2024 + 31 * DAY);
	cr_assert_eq(rate_lookup(t, SV_LIT("4420"), MAR_2024 + 31 * DAY, &m), 0);
	cr_assert_eq(m.rate->rate, 9000);

	/* Two prefixes from one cell, with a quoted name holding a comma. */
	cr_assert_eq(rate_lookup(t, SV_LIT("44781"), MAR_2024, &m), 0);
	cr_assert_eq(m.prefix_len, 4);
	cr_assert(sv_eq(m.dest, SV_LIT("UK Mobile, all")));
	cr_assert_eq(m.rate->connect_fee, 2000);
	cr_assert_eq(m.rate->first_s, 1);
	cr_assert_eq(m.until, MAR_2024 + 61 * DAY);
	/* The end date closes 447 and 4478: 44 answers from then on. */
	cr_assert_eq(rate_lookup(t, SV_LIT("44781"), MAR_2024 + 61 * DAY, &m), 0);
	cr_assert_eq(m.prefix_len, 2);
	cr_assert_eq(m.rate->rate, 9000);

	/* A name with "" is stored unescaped; the deleted row closes 4479 on 2024-04-15. */
	cr_assert_eq(rate_lookup(t, SV_LIT("44791"), MAR_2024, &m), 0);
	cr_assert(sv_eq(m.dest, SV_LIT("UK \"O2\"")));
	cr_assert_eq(m.until, MAR_2024 + 45 * DAY);
	cr_assert_eq(rate_lookup(t, SV_LIT("44791"), MAR_2024 + 45 * DAY, &m), 0);
	cr_assert_eq(m.prefix_len, 3);
	cr_assert_eq(rate_lookup(t, SV_LIT("44791"), MAR_2024 - 1, &m), -ENOENT);

	rate_table_free(t);
	rate_builder_free(b);
}

Test(rateload, file_errors_name_file_line_column)
{
	static const struct {
		const char *deck;
		int ret;
		const char *msg; /* after "<path>" */
	} t[] = {
		{ "prefix,rate\n44,0.01\n44,0.02\n", -EEXIST,
		  ":3: two rates for the same prefix and effective date (also at line 2)" },
		{ "prefix,rate\n44,0.01\n45,0.0x\n", -EBADMSG,
		  ":3:2 (rate): not a decimal amount" },
		{ "prefix;rate\n44;0,01\n4 5;1\n", 0, NULL }, /* "4 5": two prefixes */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *path = write_tmp(t[i].deck), err[512] = "", want[512];
		struct rate_table *tab = NULL;
		int ret = rateload_file(path, NULL, NULL, &tab, NULL, err, sizeof(err));

		cr_assert_eq(ret, t[i].ret, "deck %zu: %d %s", i, ret, err);
		if (t[i].msg) {
			snprintf(want, sizeof(want), "%s%s", path, t[i].msg);
			cr_assert_str_eq(err, want);
		}
		rate_table_free(tab);
		unlink(path);
	}
}

Test(rateload, missing_file)
{
	struct rate_table *t = NULL;
	char err[256];

	cr_assert_eq(rateload_file("/nonexistent/deck.csv", NULL, NULL, &t, NULL, err, sizeof(err)),
		     -ENOENT);
	cr_assert_str_eq(err, "/nonexistent/deck.csv: No such file or directory");
	cr_assert_null(t);
}
