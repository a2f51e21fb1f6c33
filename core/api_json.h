/* SPDX-License-Identifier: MIT */
/*
 * api_json.h: building the management API's JSON answers (cJSON) from text
 * that comes from the network or from tables: always valid UTF-8, and one
 * call to add a member that may have failed to allocate.
 *
 * Shared by the route modules (core/reg_api.c, core/domain_api.c,
 * core/uplink_api.c). Thread-safety: none needed (no state).
 */
#ifndef SIPRING_API_JSON_H
#define SIPRING_API_JSON_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "parsers/sv.h"

/* A JSON string of s with every octet that is not part of valid UTF-8, and
 * every NUL, replaced by U+FFFD. NULL when out of memory. */
cJSON *api_json_sv(struct sv s);

/* The same for a NUL-terminated string (NULL: ""); no copy when it is valid. */
cJSON *api_json_str(const char *s);

/* Add item to o as k. Returns false (item freed) when item is NULL or cannot
 * be added: the caller answers 500 "out of memory". */
bool api_json_add(cJSON *o, const char *k, cJSON *item);

/* *out = {"error": <fmt...>} (NULL when out of memory); returns status. */
int api_error(cJSON **out, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* 405 "method not allowed: M (allowed: ...)", the client's method shown safely
 * (a route cannot set an Allow header). */
int api_method_not_allowed(cJSON **out, const char *method, const char *allowed);

/* GET or HEAD. */
bool api_is_get(const char *method);

#endif
