/* SPDX-License-Identifier: MIT */
/*
 * uplink_api.c: see uplink_api.h.
 */
#include "uplink_api.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/api_json.h"
#include "core/conf.h"
#include "core/mgmt.h"
#include "core/uplink.h"

#define PREFIX "/api/v1/uplinks"

static int64_t secs(int64_t ms)
{
	return ms > 0 ? (ms + 999) / 1000 : ms;
}

static cJSON *info_json(const struct uplink_info *i)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	bool ok =
		cJSON_AddStringToObject(o, "name", i->name) &&
		cJSON_AddStringToObject(o, "state", uplink_state_name(i->state)) &&
		cJSON_AddStringToObject(o, "registrar", i->registrar) &&
		cJSON_AddStringToObject(o, "transport", i->transport == CONF_TCP ? "tcp" : "udp") &&
		cJSON_AddStringToObject(o, "aor", i->aor) &&
		cJSON_AddStringToObject(o, "contact", i->contact) &&
		cJSON_AddStringToObject(o, "call_id", i->call_id) &&
		cJSON_AddNumberToObject(o, "cseq", i->cseq) &&
		cJSON_AddNumberToObject(o, "expires_asked", i->expires_asked) &&
		cJSON_AddNumberToObject(o, "expires_granted", i->expires_granted) &&
		cJSON_AddNumberToObject(o, "expires_in", (double)secs(i->expires_in_ms)) &&
		cJSON_AddNumberToObject(o, "next_action_in",
					i->next_action_ms < 0 ? -1
							      : (double)secs(i->next_action_ms)) &&
		cJSON_AddNumberToObject(o, "last_status", i->last_status) &&
		cJSON_AddStringToObject(o, "last_reason", i->last_reason) &&
		cJSON_AddNumberToObject(o, "failures", i->failures) &&
		cJSON_AddBoolToObject(o, "send_unregister", i->send_unregister) &&
		cJSON_AddBoolToObject(o, "enabled", i->enabled) &&
		cJSON_AddBoolToObject(o, "busy", i->busy);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int on_uplinks(void *arg, const char *method, const char *subpath, const char *body,
		      size_t body_len, cJSON **out)
{
	struct uplink_api *api = arg;
	uint64_t now = api->now_ms();
	struct uplink_info info;
	(void)body;
	(void)body_len;

	if (!subpath[0]) {
		if (!api_is_get(method))
			return api_method_not_allowed(out, method, "GET, HEAD");
		cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "uplinks");
		if (!arr) {
			cJSON_Delete(root);
			return api_error(out, 500, "out of memory");
		}
		for (unsigned i = 0; uplink_mgr_info(api->mgr, i, now, &info); i++) {
			cJSON *o = info_json(&info);
			if (!o) {
				cJSON_Delete(root);
				return api_error(out, 500, "out of memory");
			}
			cJSON_AddItemToArray(arr, o);
		}
		*out = root;
		return 200;
	}
	/* "/<name>" or "/<name>/register" or "/<name>/unregister" */
	char name[UPLINK_NAME_MAX + 1];
	const char *p = subpath + 1, *slash = strchr(p, '/');
	size_t len = slash ? (size_t)(slash - p) : strlen(p);
	if (len == 0 || len > UPLINK_NAME_MAX)
		return api_error(out, 404, "no such uplink");
	memcpy(name, p, len);
	name[len] = 0;
	if (!slash) {
		if (!api_is_get(method))
			return api_method_not_allowed(out, method, "GET, HEAD");
		if (!uplink_mgr_find(api->mgr, name, now, &info))
			return api_error(out, 404, "no such uplink");
		*out = info_json(&info);
		return *out ? 200 : 500;
	}
	const char *action = slash + 1;
	bool reg = !strcmp(action, "register"), unreg = !strcmp(action, "unregister");
	if (!reg && !unreg)
		return api_error(out, 404, "unknown action (register, unregister)");
	if (strcmp(method, "POST") != 0)
		return api_method_not_allowed(out, method, "POST");
	int ret = reg ? uplink_mgr_register(api->mgr, name, now)
		      : uplink_mgr_unregister(api->mgr, name, now);
	if (ret == -ENOENT)
		return api_error(out, 404, "no such uplink");
	if (ret == -ESHUTDOWN)
		return api_error(out, 503, "stopping");
	if (ret == -EPERM)
		return api_error(out, 409, "disabled (enabled: false in the uplinks file)");
	if (ret < 0)
		return api_error(out, 500, "%s", strerror(-ret));
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "name", name) ||
	    !cJSON_AddStringToObject(o, "action", reg ? "register" : "unregister")) {
		cJSON_Delete(o);
		return api_error(out, 500, "out of memory");
	}
	*out = o;
	return 202;
}

int uplink_api_init(struct uplink_api *api, struct mgmt *m)
{
	return mgmt_route(m, PREFIX, on_uplinks, api);
}
