/* SPDX-License-Identifier: MIT */
/*
 * registrar.h: REGISTER processing (RFC 3261 §10.3), as a worker does it.
 *
 * registrar_process() takes one REGISTER (parsed, checked, addressed to this
 * node) and decides: the answer (status, reason, header fields) and the
 * changes to the location table, which it hands to env->emit() in the order
 * they must be applied. It never writes the table: the table has one writer,
 * the service thread, and the worker sends it the changes through a ring
 * (worker.c). What it reads of the table it reads lock-free, as reader
 * env->reader (storage/location.h).
 *
 *   REGISTER ─► AOR from To (404 when not ours) ─► suspended? 403 / drop
 *            ─► digest (401 challenge, stale, 403 after too many failures)
 *            ─► Contacts: '*' (Expires 0 only), expires (423 below min,
 *               clamped to max), identity (+sip.instance/reg-id, else URI),
 *               Call-ID/CSeq order (500 when not newer), replace or refuse,
 *               max contacts (403)
 *            ─► ops (REMOVE ..., SET ...) + 200 listing every binding
 *
 * The worker decides on the table as it read it plus its own changes that
 * the writer has not applied yet (env->pending): it reads its own writes. A
 * concurrent REGISTER of the same AOR on another worker (rare: one UA's
 * requests land on one worker) may be missing from that view for the
 * milliseconds the writer takes; the writer applies both in arrival order,
 * checking CSeq order again.
 *
 * Thread-safety: one call at a time per env (env->nc is the worker's).
 * docs/registrar.md has the rules and the answers.
 */
#ifndef SIPRING_REGISTRAR_H
#define SIPRING_REGISTRAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/accounts.h"
#include "core/auth.h"
#include "core/conf.h"
#include "core/suspend.h"
#include "parsers/sip_build.h"
#include "parsers/sip_msg-t.h"
#include "storage/location.h"

/* A change of the location table, for its writer. */
enum reg_op_kind {
	REG_OP_SET = 1,	   /* location_set(b) */
	REG_OP_REMOVE,	   /* location_remove(b->aor, b->contact, b->instance, b->reg_id) */
	REG_OP_REMOVE_AOR, /* location_remove_aor(b->aor) */
	REG_OP_KA_OK,	   /* keepalive: the binding answered (not a table change) */
	REG_OP_KA_FAIL,	   /* keepalive: no answer (Timer F) or the flow is gone */
};

/* A change as it travels from a worker to the writer: one allocation, the
 * binding's strings after the struct. The same carries a keepalive job from
 * the service thread to the worker owning a binding's flow (kind
 * REG_OP_KA_OK, unused there): the worker sends OPTIONS to b.src and reports
 * back REG_OP_KA_OK or REG_OP_KA_FAIL with the same binding. */
struct reg_op {
	uint8_t kind; /* enum reg_op_kind */
	struct location_binding b;
	char data[];
};

/* A new op holding a copy of b (NULL: ENOMEM); free() it. */
struct reg_op *reg_op_new(enum reg_op_kind kind, const struct location_binding *b);

/* Apply op to the table (owner thread). Returns location_*()'s result. */
int reg_op_apply(struct location *loc, const struct reg_op *op);

/* What registrar_process() decided, for metrics and logs. */
enum reg_outcome {
	REG_OK = 0,	 /* 200: bound, refreshed, removed or queried */
	REG_CHALLENGED,	 /* 401 without a failure: no or stale credentials */
	REG_AUTH_FAILED, /* 401 after wrong credentials (counted toward suspension) */
	REG_SUSPENDED,	 /* 403 or dropped: the user or address is suspended */
	REG_REFUSED,	 /* 403: replace off and another contact is live, too many
			    * contacts, user mismatch */
	REG_INTERVAL,	 /* 423 */
	REG_BAD,	 /* 400, 404, 500 (out of order) */
	REG_ERROR,	 /* 500: out of memory, crypto failure */
	REG_OUTCOME__COUNT,
};

/* What a worker gives the registrar for one request. */
struct reg_env {
	const struct conf *conf;
	const struct auth_ctx *auth;
	const struct accounts *accounts;       /* the accounts file's; NULL: none */
	const struct accounts *accounts_redis; /* read from Redis (the file's win); NULL: none */
	struct auth_nc *nc;		       /* the worker's nonce-count table */
	struct suspend *susp;		       /* NULL: no brute-force suspension */
	struct location *loc;
	unsigned reader;	     /* the worker's reader slot of loc */
	int64_t now_ms;		     /* CLOCK_REALTIME, ms */
	const struct sockaddr *from; /* source of the request */
	struct location_source src;  /* the same, as stored with a binding */
	/* Hand one change to the table's writer; b's views are valid during the
	 * call only. Returns 0 or a negative errno (the request then gets 500). */
	int (*emit)(void *arg, enum reg_op_kind kind, const struct location_binding *b);
	/* Call fn(ctx, op), in order, for each change of aor this worker emitted
	 * that the writer may not have applied yet (NULL: none). The registrar
	 * replays them on what it read of the table: a worker reads its own
	 * writes, so a REGISTER right after another one sees its effect. */
	void (*pending)(void *arg, struct sv aor, void (*fn)(void *ctx, const struct reg_op *op),
			void *ctx);
	void *arg;
};

#define REG_MAX_FIELDS 48
#define REG_BUF	       8192

/* The answer. Field values point into buf (or into the request). */
struct reg_reply {
	uint16_t status; /* 0: drop, no answer */
	struct sv reason;
	enum reg_outcome outcome;
	bool logged_suspend;  /* this request caused a suspension */
	uint32_t max_expires; /* the longest expiry granted to a contact (s), 0: none */
	struct sip_build_field f[REG_MAX_FIELDS];
	unsigned nf;
	size_t used; /* of buf */
	char buf[REG_BUF];
};

/*
 * Decide on the REGISTER m (a parsed request, method REGISTER, checked by
 * sip_msg_check(), Request-URI for this node). Fills *r; changes go to
 * env->emit() before it returns. Never fails: errors are answers.
 */
void registrar_process(const struct reg_env *env, const struct sip_msg *m, struct reg_reply *r);

/* Whether m carries credentials (Authorization or Proxy-Authorization). The
 * worker answers REGISTERs without them statelessly (a challenge needs no
 * transaction, RFC 3261 §8.2.7) and the others through a server transaction. */
bool registrar_has_credentials(const struct sip_msg *m);

/* Readable outcome ("ok", "challenged", ...). */
const char *registrar_outcome_str(enum reg_outcome o);

#endif
