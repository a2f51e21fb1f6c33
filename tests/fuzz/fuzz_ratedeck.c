/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ratedeck: the CSV rate deck reader (parsers/ratedeck.h). The input is a
 * deck; the first octet picks the layout and the delimiter option, the rest is
 * read row by row to the end, going on after errors.
 *
 * Invariants: every view of a row lies inside the input; every prefix the row's
 * list yields is 1..RATE_PREFIX_MAX digits; amounts are not negative and periods
 * are in range with an increment of at least 1 s; an end date is after the
 * effective date; line numbers never go back; an error names a line and, when
 * it names a column, that column's header lies inside the input; reading ends.
 * The date and increment parsers see each field too.
 */
#include <errno.h>
#include <string.h>

#include "parsers/ratedeck.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[] = { 0, ',', ';', '\t' };
	const struct ratedeck_layout *l;
	struct ratedeck_opts o = ratedeck_opts_default;
	struct ratedeck d;
	struct ratedeck_row row;
	struct sv all;
	uint32_t last = 0;
	unsigned nl = 0, rows = 0;
	char buf[128];
	int r;

	if (size < 1)
		return 0;
	while (ratedeck_layouts[nl])
		nl++;
	l = ratedeck_layouts[data[0] % nl];
	o.delim = delims[(data[0] / nl) % 4];
	all = sv_make((const char *)data + 1, size - 1);

	r = ratedeck_init(&d, all.p, all.len, l, &o);
	if (r < 0) {
		CHECK(r == -EBADMSG && d.err.reason && d.err.line >= 1);
		CHECK_IN(d.err.name, all);
		ratedeck_strerror(&d, "fuzz.csv", buf, sizeof(buf));
		return 0;
	}
	while ((r = ratedeck_next(&d, &row)) != 0) {
		struct sv list, p;
		int64_t t;
		uint32_t a, b;

		CHECK(++rows <= all.len + 1);
		if (r < 0) {
			CHECK(r == -EBADMSG && d.err.reason && d.err.line >= last);
			CHECK(d.err.col == 0 || d.err.col <= RATEDECK_MAX_COLS);
			CHECK_IN(d.err.name, all);
			last = d.err.line;
			ratedeck_strerror(&d, "fuzz.csv", buf, sizeof(buf));
			continue;
		}
		CHECK(r == 1 && row.line >= last);
		last = row.line;
		CHECK_IN(row.prefixes, all);
		CHECK_IN(row.dest, all);
		list = row.prefixes;
		while (ratedeck_prefix_next(&list, &p)) {
			CHECK(p.len >= 1 && p.len <= RATE_PREFIX_MAX);
			for (size_t i = 0; i < p.len; i++)
				CHECK(p.p[i] >= '0' && p.p[i] <= '9');
		}
		CHECK(row.rate.rate >= 0 && row.rate.first_rate >= 0 && row.rate.connect_fee >= 0);
		CHECK(row.rate.incr_s >= 1 && row.rate.incr_s <= RATEDECK_MAX_PERIOD_S);
		CHECK(row.rate.first_s <= RATEDECK_MAX_PERIOD_S);
		CHECK(row.until > row.from);
		if (row.dest_escaped)
			CHECK(ratedeck_unescape(row.dest, buf, sizeof(buf)) <= row.dest.len);
		/* The field parsers on arbitrary text. */
		if (ratedeck_parse_date(row.dest, RATEDECK_DMY, &t) == 0)
			CHECK(ratedeck_format_date(t, buf, sizeof(buf)) > 0);
		if (ratedeck_parse_increment(row.dest, &a, &b) == 0)
			CHECK(b >= 1);
	}
	return 0;
}
