/* SPDX-License-Identifier: MIT */
/*
 * load_sip.h: the SIP side of sipring-load: request templates, the scan of an
 * answer, and the scenarios (what a transaction sends and what its answers
 * mean). No I/O and no allocation here: sipring_load.c owns the sockets.
 *
 * A template is a request with holes. It is written once per socket at start;
 * for each transmission load_tmpl_fill() copies it into a send buffer and
 * writes the transaction's identity into the holes:
 *
 *   OPTIONS sip:127.0.0.1:5070 SIP/2.0
 *   Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-[ID]      ID = TT-SSSSSS-GGGGGGGG
 *   From: <sip:load@127.0.0.1>;tag=[ID]                           thread, slot, generation
 *   Call-ID: [ID]-<run tag>@127.0.0.1                              in hexadecimal
 *   CSeq: [CSEQ] OPTIONS                                           decimal
 *
 * The branch carries the transaction's slot in its thread's table, so an
 * answer finds its transaction with one array index and a generation compare
 * (a late answer for a slot since reused does not match). The scan reads the
 * status line and the branch of the top Via, nothing else.
 *
 * Scenarios are a table (load_scen_find()): a scenario builds the template of
 * each step of its transaction and says what an answer means. Today there is
 * "options" (one non-INVITE request, any method); REGISTER with digest and
 * calls are further entries (a 401 answer -> LOAD_NEXT, step 1 with the
 * credentials).
 */
#ifndef SIPRING_LOAD_SIP_H
#define SIPRING_LOAD_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOAD_MSG_MAX	  1400 /* octets of a request we send */
#define LOAD_ID_LEN	  18   /* "TT-SSSSSS-GGGGGGGG" */
#define LOAD_PATCH_MAX	  8
#define LOAD_BRANCH_MAGIC "z9hG4bK-"

/* What goes into a hole of a template. */
enum load_patch_kind {
	LOAD_PATCH_ID = 1, /* the transaction identity, LOAD_ID_LEN hex and '-' */
	LOAD_PATCH_CSEQ,   /* the CSeq number, decimal, no padding */
};

/*
 * The markers a scenario writes in the text it gives load_tmpl_compile(); each
 * becomes a hole.
 */
#define LOAD_MARK_ID   "\x01"
#define LOAD_MARK_CSEQ "\x02"

struct load_tmpl {
	char text[LOAD_MSG_MAX]; /* the request without its holes */
	uint16_t len;		 /* octets of text */
	uint16_t fixed_len;	 /* len + every fixed-width hole: the smallest fill */
	uint8_t npatch;
	struct {
		uint16_t off; /* in text, where the hole is */
		uint8_t kind; /* enum load_patch_kind */
	} patch[LOAD_PATCH_MAX];
};

/* The identity a transmission carries. */
struct load_id {
	unsigned thread; /* < 256 */
	uint32_t slot;	 /* < 2^24 */
	uint32_t gen;
};

/*
 * Turn text[0..len), in which LOAD_MARK_ID and LOAD_MARK_CSEQ stand for the
 * holes, into t. Returns 0, or -E2BIG (longer than LOAD_MSG_MAX with its
 * holes filled, or more than LOAD_PATCH_MAX holes).
 */
int load_tmpl_compile(struct load_tmpl *t, const char *text, size_t len);

/*
 * Write the request of t with identity id and CSeq number cseq into out,
 * which has room for LOAD_MSG_MAX octets. Returns its length.
 */
size_t load_tmpl_fill(const struct load_tmpl *t, char *out, const struct load_id *id,
		      uint32_t cseq);

/* Write id as LOAD_ID_LEN characters into out (no NUL). */
void load_id_format(char *out, const struct load_id *id);

/* Read LOAD_ID_LEN characters at p as an identity: true, or false if malformed. */
bool load_id_parse(const char *p, struct load_id *id);

/* What load_answer_scan() found in a datagram. */
struct load_answer {
	int status;	    /* 100..699 for a response, 0 for a request */
	bool has_id;	    /* the top Via's branch is one of ours */
	struct load_id id;  /* when has_id */
	const char *method; /* of a request: its first octet (into the datagram) */
	size_t method_len;
};

/*
 * Read the start line and the branch of the top Via (full "Via" or compact
 * "v", any case) of the datagram p[0..len). Returns 0 with *a filled (has_id
 * false when there is no Via, no branch, or a branch not made by
 * load_id_format()), or -EBADMSG when the first line is neither a status line
 * nor a request line. Reads nothing past p + len.
 */
int load_answer_scan(const char *p, size_t len, struct load_answer *a);

/* What a scenario makes of an answer. */
enum load_verdict {
	LOAD_FINAL,	  /* the transaction is over: answered */
	LOAD_PROVISIONAL, /* 1xx: keep waiting (retransmit at T2) */
	LOAD_NEXT,	  /* send step + 1 in the same slot (digest challenge, ...) */
};

/* What the requests of a run are made from (the command line, the sockets). */
struct load_req_params {
	const char *method;    /* "OPTIONS" */
	const char *ruri;      /* "sip:127.0.0.1:5070" */
	const char *to_uri;    /* To: address; NULL = ruri */
	const char *from_user; /* "load" */
	const char *host;      /* the local address as written in Via/From ("[::1]") */
	uint16_t port;	       /* the socket's local port */
	const char *run_tag;   /* a few hex digits that differ from run to run */
};

struct load_scen {
	const char *name;
	unsigned steps; /* requests in one transaction chain (1 for options) */
	/* Write the template of step `step` for the socket of rp. 0 or -E2BIG. */
	int (*build)(const struct load_req_params *rp, unsigned step, struct load_tmpl *t);
	/* What the (response) answer a means to a transaction at step `step`. */
	enum load_verdict (*answer)(const struct load_answer *a, unsigned step);
};

/* The scenario called name, or NULL. */
const struct load_scen *load_scen_find(const char *name);

/* The names of every scenario, comma-separated, for --help. */
const char *load_scen_names(void);

#endif
