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
 * status line and the branch of the top Via, and of a 401 or 407 its
 * challenges, nothing else.
 *
 * Scenarios are a table (load_scen_find()): a scenario builds the template of
 * each step of its transaction chain and says what an answer means:
 *
 *   options        one non-INVITE request (any method), any final answer ends it
 *   register       REGISTER -> 200 of a user (below); anything else fails
 *   register-auth  REGISTER -> 401, REGISTER with Authorization -> 200: one
 *                  registration; any other final answer fails
 *
 * The register scenarios are per user (LOAD_SCEN_USERS): a chain registers the
 * user u<number>, numbers from LOAD_USER_FIRST, whose password is
 * load_user_password() (the rule bench/registrar/ writes the servers' account
 * stores with). Their templates have two more holes: the user name, and the
 * header lines of a transmission (the Authorization that answers the 401,
 * load_auth.h), so one template per socket and step serves every user:
 *
 *   REGISTER sip:127.0.0.1:5070 SIP/2.0
 *   Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-[ID]
 *   From: <sip:[USER]@127.0.0.1>;tag=[ID]
 *   To: <sip:[USER]@127.0.0.1>
 *   Call-ID: [USER]-<run tag>@127.0.0.1          the same for all of a user's REGISTERs
 *   CSeq: [CSEQ] REGISTER                         the user's, increasing
 *   Contact: <sip:[USER]@127.0.0.1:40000>         a user always sends from one socket
 *   [EXTRA]Expires: 3600                          "Authorization: Digest ...\r\n" in step 1
 */
#ifndef SIPRING_LOAD_SIP_H
#define SIPRING_LOAD_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOAD_MSG_MAX	    1400 /* octets of a request we send */
#define LOAD_ID_LEN	    18	 /* "TT-SSSSSS-GGGGGGGG" */
#define LOAD_PATCH_MAX	    12
#define LOAD_BRANCH_MAGIC   "z9hG4bK-"
#define LOAD_USER_FIRST	    100000u /* u100000 is the first user */
#define LOAD_USERS_MAX	    900000u /* u100000 .. u999999 */
#define LOAD_USER_LEN	    7	    /* "u" and 6 digits */
#define LOAD_PASSWORD_LEN   10	    /* "pw" and 8 hex digits */
#define LOAD_EXTRA_MAX	    510	    /* octets of the header lines of one transmission */
#define LOAD_EXPIRES	    3600    /* seconds a REGISTER asks for */
#define LOAD_CHALLENGES_MAX 4	    /* WWW-Authenticate values read from one 401 */

/* What goes into a hole of a template. */
enum load_patch_kind {
	LOAD_PATCH_ID = 1, /* the transaction identity, LOAD_ID_LEN hex and '-' */
	LOAD_PATCH_CSEQ,   /* the CSeq number, decimal, no padding */
	LOAD_PATCH_USER,   /* the user name, LOAD_USER_LEN characters */
	LOAD_PATCH_EXTRA,  /* header lines given per transmission, 0..LOAD_EXTRA_MAX octets */
};

/*
 * The markers a scenario writes in the text it gives load_tmpl_compile(); each
 * becomes a hole.
 */
#define LOAD_MARK_ID	"\x01"
#define LOAD_MARK_CSEQ	"\x02"
#define LOAD_MARK_USER	"\x03"
#define LOAD_MARK_EXTRA "\x04"

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
 * Turn text[0..len), in which the LOAD_MARK_* characters stand for the holes,
 * into t. Returns 0, or -E2BIG (longer than LOAD_MSG_MAX with its holes filled
 * at their widest, or more than LOAD_PATCH_MAX holes).
 */
int load_tmpl_compile(struct load_tmpl *t, const char *text, size_t len);

/* What the holes of one transmission are filled with. */
struct load_vars {
	struct load_id id;
	uint32_t cseq;
	uint32_t user;	   /* its number, LOAD_USER_FIRST.. (only if the template has the hole) */
	const char *extra; /* header lines, each ending in CRLF; NULL = none */
	size_t extra_len;  /* <= LOAD_EXTRA_MAX */
};

/*
 * Write the request of t with the values of v into out, which has room for
 * LOAD_MSG_MAX octets. Returns its length.
 */
size_t load_tmpl_fill(const struct load_tmpl *t, char *out, const struct load_vars *v);

/* Write the name of user number n ("u100000") as LOAD_USER_LEN characters (no NUL). */
void load_user_name(char *out, uint32_t n);

/*
 * Write the password of user number n as LOAD_PASSWORD_LEN characters (no
 * NUL): "pw" and 8 hex digits of (n - LOAD_USER_FIRST) * 2654435761 mod 2^32,
 * the rule of shared/anchors/kamailio/gen_users.sh (so u100000 has "pw00000000",
 * u100001 "pw9e3779b1").
 */
void load_user_password(char *out, uint32_t n);

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
	/* of a 401 or 407: the values of its WWW-Authenticate (401) or
	 * Proxy-Authenticate (407) headers, in order, into the datagram */
	unsigned nchallenge;
	struct {
		const char *p;
		size_t len;
	} challenge[LOAD_CHALLENGES_MAX];
};

/*
 * Read the start line and the branch of the top Via (full "Via" or compact
 * "v", any case) of the datagram p[0..len), and for a 401 or 407 the values of
 * its first LOAD_CHALLENGES_MAX challenge headers (more are ignored). Returns
 * 0 with *a filled (has_id false when there is no Via, no branch, or a branch
 * not made by load_id_format()), or -EBADMSG when the first line is neither a
 * status line nor a request line. Reads nothing past p + len.
 */
int load_answer_scan(const char *p, size_t len, struct load_answer *a);

/* What a scenario makes of an answer. */
enum load_verdict {
	LOAD_FINAL,	  /* the chain is over: answered as the scenario wants */
	LOAD_FAILED,	  /* the chain is over: a final answer the scenario does not accept */
	LOAD_PROVISIONAL, /* 1xx: keep waiting (retransmit at T2) */
	LOAD_NEXT,	  /* send step + 1 in the same slot (digest challenge, ...) */
};

/* What the requests of a run are made from (the command line, the sockets). */
struct load_req_params {
	const char *method;    /* "OPTIONS" */
	const char *ruri;      /* "sip:127.0.0.1:5070" */
	const char *to_uri;    /* To: address; NULL = ruri */
	const char *from_user; /* "load" */
	const char *domain;    /* the users' domain, in From and To (register scenarios) */
	const char *host;      /* the local address as written in Via/From ("[::1]") */
	uint16_t port;	       /* the socket's local port */
	const char *run_tag;   /* a few hex digits that differ from run to run */
};

/* What a scenario needs of sipring-load besides its templates. */
#define LOAD_SCEN_USERS 0x1 /* a chain registers a user: per-user Call-ID, CSeq, socket */
#define LOAD_SCEN_AUTH	0x2 /* LOAD_NEXT answers a 401 with credentials (load_auth.h) */

struct load_scen {
	const char *name;
	const char *method; /* the method it sends; NULL: --method */
	unsigned steps;	    /* requests in one transaction chain (1 for options) */
	unsigned flags;	    /* LOAD_SCEN_* */
	/* Write the template of step `step` for the socket of rp. 0 or -E2BIG. */
	int (*build)(const struct load_req_params *rp, unsigned step, struct load_tmpl *t);
	/* What the (response) answer a means to a chain at step `step`. */
	enum load_verdict (*answer)(const struct load_answer *a, unsigned step);
};

/* The scenario called name, or NULL. */
const struct load_scen *load_scen_find(const char *name);

/* The names of every scenario, comma-separated, for --help. */
const char *load_scen_names(void);

#endif
