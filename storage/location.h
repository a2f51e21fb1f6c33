/* SPDX-License-Identifier: MIT */
/*
 * location.h: the registrar's location table, in memory (RFC 3261 §10).
 *
 * Who is registered where: the bindings of each address of record (AOR,
 * "user@domain"), each with its contact, absolute expiry, Call-ID, CSeq, q,
 * the source it registered from (address, port, transport, and the worker and
 * connection owning a TCP/TLS/WS flow), its Path (RFC 3327), +sip.instance and
 * reg-id (RFC 5626), and User-Agent. Sized for millions of bindings.
 *
 * Identity. A binding is identified inside its AOR by (+sip.instance, reg-id)
 * when it has an instance (RFC 5626 §6), otherwise by its contact URI, compared
 * as octets (the registrar normalises). location_set() with the identity of an
 * existing binding updates it; otherwise it adds one.
 *
 * Layout. One allocation per binding: a fixed 76-octet head then the AOR,
 * contact, Call-ID, Path, instance and User-Agent octets (not NUL-terminated).
 * The bindings of an AOR form a chain; an open-addressing table (linear
 * probing, tombstones, load <= 3/4) maps the AOR's hash to the chain's first
 * binding; a binary min-heap of binding pointers orders them by expiry.
 *
 *   table.slot[h & mask] ──► [head|aor|contact|...] ──next──► [head|aor|...] ──► NULL
 *   heap[0..n) = bindings by expires_ms, each binding knows its heap index
 *
 * Threads: one writer, many readers, RCU style. Everything that changes the
 * table (set, remove, expire, reclaim) and location_foreach()/location_scan()
 * belongs to one thread, the owner (the service thread; workers send it their
 * registrations through rings). Readers (workers routing calls) call
 * location_lookup() between location_read_begin() and location_read_end(),
 * with no lock and no write to shared lines other than their own slot. A
 * binding is never changed in place once published: an update publishes a
 * new copy and retires the old one; a removal unlinks and retires; a resize
 * publishes a new slot array and retires the old. Retired memory is freed by
 * location_reclaim() once every reader that could have seen it has left its
 * read section (epochs: each reader announces the epoch it entered in, the
 * owner frees what was retired before the oldest announced epoch). So views
 * returned to a reader stay valid until its location_read_end().
 *
 * Expiry is absolute, in ms since the Unix epoch (CLOCK_REALTIME), so that it
 * survives a restart and matches Redis' PEXPIREAT (location_redis.h).
 */
#ifndef SIPRING_LOCATION_H
#define SIPRING_LOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parsers/sv.h"

enum location_transport {
	LOCATION_TP_NONE = 0,
	LOCATION_TP_UDP,
	LOCATION_TP_TCP,
	LOCATION_TP_TLS,
	LOCATION_TP_WS,
	LOCATION_TP_WSS,
	LOCATION_TP_SCTP,
};

/* The longest string of a binding, and the most bindings one AOR may have. */
#define LOCATION_STR_MAX     65535
#define LOCATION_AOR_MAX     32	    /* hard cap of max_per_aor */
#define LOCATION_WORKER_NONE 0xffff /* src.worker when no worker owns a flow */

/* Where a REGISTER came from. */
struct location_source {
	uint8_t family;	   /* AF_INET, AF_INET6, or 0 when unknown */
	uint8_t transport; /* enum location_transport */
	uint16_t port;	   /* host order */
	uint16_t worker;   /* the worker owning the connection, LOCATION_WORKER_NONE */
	uint64_t conn;	   /* that worker's connection id (slot + generation), 0 = none */
	uint8_t addr[16];  /* network order: 4 octets for AF_INET, 16 for AF_INET6 */
};

/*
 * A binding, as given to location_set() (the strings are copied) and as
 * returned by the lookups (views into the table's memory; see each function
 * for how long they live).
 */
struct location_binding {
	struct sv aor;	      /* "user@domain", required */
	struct sv contact;    /* the Contact URI, required */
	struct sv call_id;    /* of the REGISTER */
	struct sv path;	      /* the Path values, comma-separated, in order; empty = none */
	struct sv instance;   /* +sip.instance value (e.g. "<urn:uuid:...>"); empty = none */
	struct sv user_agent; /* empty = none */
	int64_t expires_ms;   /* absolute, ms since the Unix epoch */
	uint32_t cseq;	      /* of the REGISTER */
	uint32_t reg_id;      /* RFC 5626 reg-id, 0 = none */
	uint16_t q;	      /* q-value x 1000: 0..1000 */
	struct location_source src;
};

struct location_config {
	uint32_t initial_aors; /* sizing hint: default 1024 */
	uint32_t max_per_aor;  /* default 16, at most LOCATION_AOR_MAX */
	uint64_t max_bindings; /* default 0 = unbounded */
	unsigned readers;      /* reader slots (one per worker): default 1, at most 1024 */
};

struct location_counts {
	uint64_t aors, bindings;
	uint64_t bytes;	  /* slot array + heap + binding blocks (as malloc sizes them) */
	uint64_t retired; /* blocks and arrays waiting for location_reclaim() */
};

/*
 * Told, on the owner's thread, after every change of an AOR's bindings
 * (add, update, removal, expiry). aor is a view valid during the call.
 */
typedef void (*location_change_fn)(void *arg, struct sv aor);

struct location;

/* Create an empty table. Returns 0 and *out, -EINVAL (config), -ENOMEM. */
int location_create(struct location **out, const struct location_config *cfg);

/* Free everything. No reader may be inside a read section. NULL is allowed. */
void location_destroy(struct location *t);

/* Owner: set the one change listener (NULL to clear). location_redis uses it. */
void location_set_listener(struct location *t, location_change_fn fn, void *arg);

/*
 * Owner: add or update the binding b identifies (see Identity). Returns 1
 * when added, 0 when updated, -EINVAL (no AOR or contact, a string over
 * LOCATION_STR_MAX, q over 1000), -ESTALE (same Call-ID as the stored binding
 * and a lower CSeq: an out-of-order REGISTER, RFC 3261 §10.3 step 7; nothing
 * changed), -E2BIG (the AOR has max_per_aor bindings, or the table
 * max_bindings), -ENOMEM. The expiry may be in the past (location_expire()
 * removes it on its next call).
 */
int location_set(struct location *t, const struct location_binding *b);

/*
 * Owner: remove the binding of aor identified by instance + reg_id when
 * instance is not empty, else by contact. Returns 0 or -ENOENT.
 */
int location_remove(struct location *t, struct sv aor, struct sv contact, struct sv instance,
		    uint32_t reg_id);

/* Owner: remove every binding of aor (REGISTER with "Contact: *"). Returns how many. */
int location_remove_aor(struct location *t, struct sv aor);

/*
 * Owner: remove the bindings whose expires_ms <= now_ms, earliest first, at
 * most cap of them, copying each (views) into out[] so that the caller can
 * count them and tell others. The views stay valid until the owner's next
 * location_reclaim(). Returns how many were removed (cap: call again).
 */
int location_expire(struct location *t, int64_t now_ms, struct location_binding *out, unsigned cap);

/* The expiry of the binding that expires first, or INT64_MAX when there is none. */
int64_t location_next_expiry(const struct location *t);

/*
 * Free retired memory no reader can still see. Owner only. Call it from the
 * owner's loop (every few ms). Returns how many retired items are left.
 */
uint64_t location_reclaim(struct location *t);

/* ---- reading ---- */

/*
 * Reader `reader` (0 <= reader < readers; one thread per index) enters and
 * leaves a read section. Sections are short (one lookup, copy what is kept)
 * and do not nest. The owner does not need them for its own lookups.
 */
void location_read_begin(struct location *t, unsigned reader);
void location_read_end(struct location *t, unsigned reader);

/*
 * The bindings of aor, in no particular order: up to cap copied (views) into
 * out[]. Returns how many the AOR has (may exceed cap), 0 when none. Views
 * live until location_read_end() for a reader, until the owner's next change
 * or reclaim for the owner. Lock-free; also counts expired but not yet
 * removed bindings: compare expires_ms with the time.
 */
unsigned location_lookup(struct location *t, struct sv aor, struct location_binding *out,
			 unsigned cap);

/*
 * Owner: call fn for every binding (views valid during the call), in no
 * particular order; fn returns non-zero to stop. No change may be made from fn.
 */
void location_foreach(struct location *t, int (*fn)(void *arg, const struct location_binding *b),
		      void *arg);

/*
 * Owner: resumable walk over the AORs, for a resynchronisation spread over
 * many loop rounds. Start with *cursor = 0; fn is called for up to max AORs
 * (views valid during the call; no change from fn); returns true while there
 * is more (with *cursor updated), false at the end. A walk that spans changes
 * sees every AOR that stayed present throughout, unless the table was resized
 * meanwhile: location_resizes() tells, and the walk must start again.
 */
bool location_scan(struct location *t, uint64_t *cursor, unsigned max,
		   void (*fn)(void *arg, struct sv aor), void *arg);
uint64_t location_resizes(const struct location *t);

/* Owner (or any thread for a rough figure): the counts. */
void location_counts(const struct location *t, struct location_counts *c);

#endif
