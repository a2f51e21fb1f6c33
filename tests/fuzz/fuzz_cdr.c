/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cdr: the CDR decoder (storage/cdr.h), which reads what the spool holds.
 * The input is an encoded record, as the ring and the spool carry it.
 *
 * Invariants: decoding accepts or refuses with -EBADMSG; an accepted record's
 * strings lie inside the input and within their maxima, and encoding it again
 * gives back exactly the input; its CSV line and stream fields are built
 * within their bounds; its counters are defined for every dimension. The id
 * and day parsers see the input as text too, and what they accept formats
 * back to the same text.
 */
#include <errno.h>
#include <string.h>

#include "storage/cdr.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sv all = sv_make((const char *)data, size);
	uint8_t again[CDR_ENC_MAX];
	char line[CDR_CSV_MAX], scratch[CDR_FIELDS_SCRATCH], text[CDR_ID_MAX];
	struct sv v[CDR_NFIELDS];
	struct cdr c;
	struct cdr_id id;
	int32_t day;
	int r;

	r = cdr_decode(data, size, &c);
	if (r == 0) {
		const struct sv s[] = { c.call_id, c.customer, c.vendor,      c.gateway,
					c.dialled, c.routed,   c.cust_prefix, c.vend_prefix };
		for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
			CHECK_IN(s[i], all);
		CHECK(size <= CDR_ENC_MAX);
		r = cdr_encode(&c, again, sizeof(again));
		CHECK(r == (int)size && memcmp(again, data, size) == 0);
		r = cdr_csv(&c, line, sizeof(line));
		CHECK(r > 0 && r <= CDR_CSV_MAX);
		CHECK(cdr_fields(&c, scratch, sizeof(scratch), v) == 0);
		for (unsigned d = 0; d < CDR_NDIM; d++) {
			struct cdr_counts k;
			struct sv key;
			if (cdr_count(&c, (enum cdr_dim)d, &key, &k))
				CHECK(key.len > 0 && k.calls >= 0 && k.answered >= 0);
		}
		CHECK(cdr_duration_ms(&c) >= 0 && cdr_pdd_ms(&c) >= 0);
	} else {
		CHECK(r == -EBADMSG);
	}
	if (cdr_id_parse(all, &id) == 0) {
		size_t n = cdr_id_format(id, text, sizeof(text));
		/* Leading zeros are accepted: the canonical text is never longer. */
		CHECK(n <= size);
	}
	if (cdr_day_parse(all, &day) == 0) {
		char d[11];
		cdr_day_format(day, d);
		CHECK(size == 10 && memcmp(d, data, 10) == 0);
	}
	return 0;
}
