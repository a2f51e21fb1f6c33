/* SPDX-License-Identifier: MIT */
/* rateload.c: from a CSV rate deck to a rate table (see rateload.h). */
#include "rateload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rateload_read(const char *path, char **buf, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *p;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			free(p);
			close(fd);
			return ret;
		}
		got += (size_t)n;
	}
	close(fd);
	p[got] = '\0';
	*buf = p;
	*len = got;
	return 0;
}

static int add_row(struct rate_builder *b, const struct ratedeck_row *row, struct sv dest,
		   size_t *nprefixes)
{
	struct sv list = row->prefixes, prefix;
	int ret;

	while (ratedeck_prefix_next(&list, &prefix)) {
		if (row->closed)
			ret = rate_builder_close(b, prefix, row->from, row->line);
		else
			ret = rate_builder_add(b, prefix, dest, &row->rate, row->from, row->line);
		if (ret == 0 && row->until != RATE_TIME_MAX)
			ret = rate_builder_close(b, prefix, row->until, row->line);
		if (ret < 0)
			return ret;
		(*nprefixes)++;
	}
	return 0;
}

int rateload_add(struct rate_builder *b, const char *file, const char *buf, size_t len,
		 const struct ratedeck_layout *layout, const struct ratedeck_opts *opts,
		 struct rateload_stats *st, char *err, size_t errcap)
{
	struct rateload_stats dummy = { 0 };
	struct ratedeck_row row;
	struct ratedeck d;
	int ret;

	if (!st)
		st = &dummy;
	*st = (struct rateload_stats){ 0 };
	ret = ratedeck_init(&d, buf, len, layout, opts);
	if (ret < 0) {
		ratedeck_strerror(&d, file, err, errcap);
		return ret;
	}
	while ((ret = ratedeck_next(&d, &row)) > 0) {
		struct sv dest = row.dest;
		char small[256], *big = NULL;

		if (row.dest_escaped) {
			char *tmp = small;

			if (dest.len > sizeof(small)) {
				big = malloc(dest.len);
				if (!big) {
					snprintf(err, errcap, "%s:%u: out of memory", file,
						 row.line);
					return -ENOMEM;
				}
				tmp = big;
			}
			dest = sv_make(tmp, ratedeck_unescape(row.dest, tmp, dest.len));
		}
		ret = add_row(b, &row, dest, &st->prefixes);
		free(big);
		if (ret < 0) {
			snprintf(err, errcap, "%s:%u: %s", file, row.line,
				 ret == -ENOMEM ? "out of memory"
						: "rate not accepted (destination name too long)");
			return ret;
		}
		st->rows++;
	}
	if (ret < 0) {
		ratedeck_strerror(&d, file, err, errcap);
		return ret;
	}
	return 0;
}

int rateload_file(const char *path, const struct ratedeck_layout *layout,
		  const struct ratedeck_opts *opts, struct rate_table **out,
		  struct rateload_stats *st, char *err, size_t errcap)
{
	struct rate_build_err berr;
	struct rate_builder *b;
	char *buf;
	size_t len;
	int ret;

	ret = rateload_read(path, &buf, &len);
	if (ret < 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(-ret));
		return ret;
	}
	b = rate_builder_new();
	if (!b) {
		free(buf);
		snprintf(err, errcap, "%s: out of memory", path);
		return -ENOMEM;
	}
	ret = rateload_add(b, path, buf, len, layout, opts, st, err, errcap);
	if (ret == 0) {
		ret = rate_table_build(b, out, &berr);
		if (ret == -EEXIST)
			snprintf(err, errcap, "%s:%u: %s (also at line %u)", path, berr.tag,
				 berr.reason, berr.other_tag);
		else if (ret < 0)
			snprintf(err, errcap, "%s: %s", path, berr.reason);
	}
	rate_builder_free(b);
	free(buf);
	return ret;
}
