/* SPDX-License-Identifier: MIT */
/*
 * api_json.c: see api_json.h.
 */
#include "api_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s, which a NUL follows when terminated: no copy then when it is valid. */
static cJSON *make(struct sv s, bool terminated)
{
	const unsigned char *p = (const unsigned char *)s.p;
	size_t i, n;

	for (i = 0; i < s.len; i += n)
		if (!p[i] || (n = sv_utf8_seq(p + i, s.len - i)) == 0)
			break;
	if (terminated && i == s.len)
		return cJSON_CreateString(s.p);

	char *buf = malloc(s.len * 3 + 1), *w = buf;
	if (!buf)
		return NULL;
	for (i = 0; i < s.len;) {
		n = p[i] ? sv_utf8_seq(p + i, s.len - i) : 0; /* NUL: U+FFFD */
		if (n) {
			memcpy(w, p + i, n);
			w += n;
			i += n;
		} else {
			memcpy(w, "\xef\xbf\xbd", 3);
			w += 3;
			i++;
		}
	}
	*w = '\0';
	cJSON *j = cJSON_CreateString(buf);
	free(buf);
	return j;
}

cJSON *api_json_sv(struct sv s)
{
	return make(s, false);
}

cJSON *api_json_str(const char *s)
{
	return make(sv_cstr(s ? s : ""), true);
}

bool api_json_add(cJSON *o, const char *k, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToObject(o, k, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

int api_error(cJSON **out, int status, const char *fmt, ...)
{
	cJSON *j = cJSON_CreateObject();
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (j && !api_json_add(j, "error", api_json_str(msg))) {
		cJSON_Delete(j);
		j = NULL;
	}
	*out = j;
	return status;
}

int api_method_not_allowed(cJSON **out, const char *method, const char *allowed)
{
	char m[32];
	size_t i = 0;

	/* The method is the client's: printable ASCII only, and short. */
	for (; method[i] && i + 1 < sizeof(m); i++)
		m[i] = method[i] > 0x20 && method[i] < 0x7f ? method[i] : '?';
	m[i] = '\0';
	return api_error(out, 405, "method not allowed: %s (allowed: %s)", m, allowed);
}

bool api_is_get(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}
