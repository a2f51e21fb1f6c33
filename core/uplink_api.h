/* SPDX-License-Identifier: MIT */
/*
 * uplink_api.h: the management routes of the uplinks (core/uplink.h).
 *
 *   GET  /api/v1/uplinks                  {"uplinks": [ {...}, ... ]}
 *   GET  /api/v1/uplinks/<name>           {...}, 404 when unknown
 *   POST /api/v1/uplinks/<name>/register   202: a REGISTER is sent now
 *   POST /api/v1/uplinks/<name>/unregister 202: REGISTER Expires: 0 now, and
 *                                          no refresh until register or reload
 *
 * One uplink: name, state, registrar ("ip:port" sent to), transport, aor,
 * contact, call_id, cseq, expires_asked, expires_granted, expires_in (s),
 * next_action_in (s, -1 none), last_status, last_reason, failures,
 * send_unregister, enabled, busy. docs/management.md has the details.
 *
 * Thread-safety: the handlers run on the thread that owns both the mgmt
 * endpoint and the manager (the service thread).
 */
#ifndef SIPRING_UPLINK_API_H
#define SIPRING_UPLINK_API_H

#include <stdint.h>

struct mgmt;
struct uplink_mgr;

struct uplink_api {
	struct uplink_mgr *mgr;
	uint64_t (*now_ms)(void); /* the manager's clock (monotonic ms) */
};

/* Add the routes to m. api must outlive m. Returns 0 or a negative errno. */
int uplink_api_init(struct uplink_api *api, struct mgmt *m);

#endif
