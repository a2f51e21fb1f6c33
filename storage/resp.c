/* SPDX-License-Identifier: MIT */
/* resp.c: see resp.h. */
#include "resp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int resp_out_append(struct resp_out *o, const char *p, size_t n)
{
	if (o->len + n > o->cap && o->head) {
		memmove(o->buf, o->buf + o->head, o->len - o->head);
		o->len -= o->head;
		o->head = 0;
	}
	if (o->len + n > o->cap) {
		size_t nc = o->cap ? o->cap : o->first_cap;
		char *np;

		while (nc < o->len + n)
			nc *= 2;
		np = realloc(o->buf, nc);
		if (!np)
			return -ENOMEM;
		o->buf = np;
		o->cap = nc;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

int resp_hdr(struct resp_out *o, char kind, size_t n)
{
	char h[32];
	int k = snprintf(h, sizeof(h), "%c%zu\r\n", kind, n);

	return resp_out_append(o, h, (size_t)k);
}

int resp_bulk(struct resp_out *o, const char *p, size_t n)
{
	if (resp_hdr(o, '$', n) || resp_out_append(o, p, n) || resp_out_append(o, "\r\n", 2))
		return -ENOMEM;
	return 0;
}

int resp_str(struct resp_out *o, const char *s)
{
	return resp_bulk(o, s, strlen(s));
}

int resp_num(struct resp_out *o, int64_t v)
{
	char n[24];
	int k = snprintf(n, sizeof(n), "%" PRId64, v);

	return resp_bulk(o, n, (size_t)k);
}

int resp_out_send(struct resp_out *o, int fd)
{
	while (o->head < o->len) {
		/* send(MSG_NOSIGNAL), not write(): a Redis that went away must not SIGPIPE us. */
		ssize_t w = send(fd, o->buf + o->head, o->len - o->head, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -EAGAIN;
			return -errno;
		}
		o->head += (size_t)w;
	}
	resp_out_reset(o);
	return 0;
}

void resp_out_free(struct resp_out *o)
{
	free(o->buf);
	*o = (struct resp_out){ 0 };
}
