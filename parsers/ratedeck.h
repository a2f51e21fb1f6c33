/* SPDX-License-Identifier: MIT */
/*
 * ratedeck.h: the CSV rate deck reader.
 *
 * A rate deck is a CSV file a vendor sends (or that we send a customer): one row
 * per prefix (or per destination with several prefixes in one cell), with a
 * rate per minute, maybe a first-period rate, periods, a connect fee, dates.
 * Vendors name and order their columns as they like, so columns are found by
 * their header names through a layout: a table of accepted names per column
 * (docs/rating.md lists the layouts and every name).
 *
 * The reader parses a buffer the caller holds: no I/O, no allocation, no copy.
 * Views in a row point into that buffer and live as long as it. It handles a
 * UTF-8 BOM, CRLF or LF line ends, RFC 4180 quoting (separators, line breaks and
 * doubled quotes inside quotes), a delimiter among , ; TAB | found from the header
 * line, title lines before the header, blank and '#' lines. Amounts are parsed
 * to micro-units exactly (money.h): a rate with a 7th non-zero decimal is an
 * error, not a rounding.
 *
 * Errors say where: the line (1-based, where the record starts), the column
 * (1-based field number as a spreadsheet counts it, 0 for the whole line), that
 * column's header, and why. ratedeck_strerror() writes them as
 * "file:line:column (Header): reason".
 *
 * Reentrant; one struct ratedeck per deck being read.
 */
#ifndef SIPRING_RATEDECK_H
#define SIPRING_RATEDECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rate-t.h"
#include "parsers/sv.h"

/* The logical columns a deck may have. */
enum ratedeck_col {
	RATEDECK_PREFIX,      /* one or more prefixes (required) */
	RATEDECK_DEST,	      /* destination name */
	RATEDECK_RATE,	      /* rate per minute (required) */
	RATEDECK_FIRST_RATE,  /* rate per minute of the first period (default: rate) */
	RATEDECK_FIRST_S,     /* first period, seconds */
	RATEDECK_INCR_S,      /* increment, seconds */
	RATEDECK_INCREMENT,   /* "60/60" (first/increment), or one number (see docs) */
	RATEDECK_CONNECT_FEE, /* per answered call (default 0) */
	RATEDECK_EFFECTIVE,   /* effective date (default: opts.effective) */
	RATEDECK_END,	      /* end date (default: none) */
	RATEDECK_STATUS,      /* "deleted"/"closed"/"removed": the prefixes end at the date */
	RATEDECK__COUNT
};

/* How to read "a/b/yyyy" dates: month first (US, the default) or day first. */
enum ratedeck_date_order { RATEDECK_MDY, RATEDECK_DMY };

/*
 * A layout: for each column the header names it accepts, normalised (lower case,
 * letters and digits only, anything in parentheses dropped: "Rate (USD/min)" is
 * "rate", "Connection Fee" is "connectionfee"), and which columns must be there.
 */
struct ratedeck_layout {
	const char *name;
	const char *summary;
	const char *const *names[RATEDECK__COUNT]; /* NULL-terminated lists, or NULL */
	uint32_t required;			   /* 1u << enum ratedeck_col */
	enum ratedeck_date_order date_order;
};

/* The built-in layouts, NULL-terminated: auto, minimal, increment, vos3000, sipring. */
extern const struct ratedeck_layout *const ratedeck_layouts[];

/* A layout by name (case-insensitive), or NULL. */
const struct ratedeck_layout *ratedeck_layout_find(struct sv name);

/* Human name of a column ("rate", "connect fee"). */
const char *ratedeck_col_name(enum ratedeck_col c);

struct ratedeck_opts {
	char delim;	   /* 0: find it in the header line */
	uint32_t first_s;  /* periods when the deck has no period column */
	uint32_t incr_s;   /* (defaults 60/60) */
	int64_t effective; /* date when the deck has none (RATE_TIME_MIN: always) */
};

extern const struct ratedeck_opts ratedeck_opts_default;

struct ratedeck_err {
	uint32_t line;	    /* 1-based line where the record starts */
	uint16_t col;	    /* 1-based field number, 0: the whole line */
	struct sv name;	    /* header of that field (empty if col == 0) */
	const char *reason; /* static string */
};

#define RATEDECK_MAX_COLS      64 /* fields per record that are looked at */
#define RATEDECK_HEADER_SEARCH 64 /* lines searched for the header row */
#define RATEDECK_MAX_PERIOD_S  86400

struct ratedeck {
	const char *p, *end;
	uint32_t line;
	char delim;
	uint16_t ncols;
	int16_t col[RATEDECK__COUNT]; /* field index of each column, -1: absent */
	const struct ratedeck_layout *layout;
	struct ratedeck_opts opts;
	struct sv hdr[RATEDECK_MAX_COLS];
	struct ratedeck_err err;
};

/*
 * Start reading the deck in buf[0 .. len): find the header row (the first of the
 * first RATEDECK_HEADER_SEARCH lines whose names map every required column), the
 * delimiter, and map the columns. layout NULL is "auto", opts NULL the defaults.
 * Returns 0, or -EBADMSG with d->err set (no header row; two headers mapping to
 * the same column; an unterminated quote).
 */
int ratedeck_init(struct ratedeck *d, const char *buf, size_t len,
		  const struct ratedeck_layout *layout, const struct ratedeck_opts *opts);

/* One row of a deck. Views point into the caller's buffer. */
struct ratedeck_row {
	struct sv prefixes; /* one or more prefixes: ratedeck_prefix_next() */
	struct sv dest;	    /* destination name, trimmed (quotes removed) */
	bool dest_escaped;  /* dest holds "" pairs: ratedeck_unescape() it */
	bool closed;	    /* the status column closes these prefixes at `from` */
	struct rate rate;
	int64_t from;  /* effective date, Unix seconds UTC */
	int64_t until; /* end date, RATE_TIME_MAX: none */
	uint32_t line; /* where the record starts */
	uint16_t pcol; /* 1-based field number of the prefix column */
};

/*
 * Read the next row. Returns 1 and fills *row, 0 at the end of the deck, or
 * -EBADMSG with d->err set; after an error the reader is positioned after the
 * bad record, so a caller that wants every error may go on.
 * Every prefix of the row has been checked (1..RATE_PREFIX_MAX digits, an
 * optional leading '+').
 */
int ratedeck_next(struct ratedeck *d, struct ratedeck_row *row);

/*
 * Take the next prefix out of a row's list (separated by ',', ';' or spaces;
 * a leading '+' dropped). Returns true and *prefix, or false when the list is
 * empty.
 */
bool ratedeck_prefix_next(struct sv *list, struct sv *prefix);

/* Copy a quoted field's text with each "" made ", truncated to cap; returns its length. */
size_t ratedeck_unescape(struct sv s, char *buf, size_t cap);

/*
 * Parse a date (UTC): YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, DD.MM.YYYY,
 * DD-Mon-YY[YY], DD Mon YYYY, and a/b/YYYY read as `order` says (a day over 12
 * decides by itself); each optionally followed by ' ' or 'T' and HH:MM[:SS] and
 * 'Z'. Returns 0 and Unix seconds, or -EINVAL.
 */
int ratedeck_parse_date(struct sv s, enum ratedeck_date_order order, int64_t *out);

/* Write t as "YYYY-MM-DD" (or "YYYY-MM-DD HH:MM:SS" off midnight); "" for RATE_TIME_MIN. */
int ratedeck_format_date(int64_t t, char *buf, size_t cap);

/* Parse "60/60" (first/increment) into seconds. Returns 0 or -EINVAL. */
int ratedeck_parse_increment(struct sv s, uint32_t *first_s, uint32_t *incr_s);

/* Write d->err as "file:line:column (Header): reason"; returns as snprintf. */
int ratedeck_strerror(const struct ratedeck *d, const char *file, char *buf, size_t cap);

#endif
