/* SPDX-License-Identifier: MIT */
/*
 * rateload.h: from a CSV rate deck to a rate table.
 *
 * The glue between the deck reader (parsers/ratedeck.h), which parses a buffer,
 * and the rate table builder (rate.h): every row's prefixes become versions, a
 * row's end date and a "deleted" status become closes. This runs at load time
 * (configuration, reload, the CLI), never on the call path; it reads files and
 * allocates. Errors come back as one line of text naming the file, the line, the
 * column and the reason ("deck.csv:12:3 (Rate): not a decimal amount").
 */
#ifndef SIPRING_RATELOAD_H
#define SIPRING_RATELOAD_H

#include <stddef.h>

#include "core/rate.h"
#include "parsers/ratedeck.h"

struct rateload_stats {
	size_t rows;	 /* deck rows read */
	size_t prefixes; /* prefixes added (a row may hold several) */
};

/*
 * Add every row of the deck in buf[0 .. len) to b. `file` names the deck in
 * errors; rows are tagged with their line numbers. layout and opts may be NULL
 * (auto, defaults). Returns 0 (st, if not NULL, counts what was added), or
 * -EBADMSG (a malformed deck) / -EINVAL / -ENOMEM with the message in err.
 */
int rateload_add(struct rate_builder *b, const char *file, const char *buf, size_t len,
		 const struct ratedeck_layout *layout, const struct ratedeck_opts *opts,
		 struct rateload_stats *st, char *err, size_t errcap);

/*
 * Read the file at path, add it to a new builder and build the table. Returns 0
 * and *out (free with rate_table_free()), or a negative errno with the message in
 * err: an I/O error (-ENOENT, ...), -EBADMSG, -EEXIST (two rates for one prefix
 * and date: both lines named), -ENOMEM.
 */
int rateload_file(const char *path, const struct ratedeck_layout *layout,
		  const struct ratedeck_opts *opts, struct rate_table **out,
		  struct rateload_stats *st, char *err, size_t errcap);

/* Read a whole file into a malloc'd buffer (NUL-terminated); -errno on failure. */
int rateload_read(const char *path, char **buf, size_t *len);

#endif
