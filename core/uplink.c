/* SPDX-License-Identifier: MIT */
/*
 * uplink.c: outbound registration to upstream carriers (see uplink.h).
 */
#include "uplink.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <yaml.h>

#include "core/auth.h"
#include "core/conf.h"
#include "parsers/sip_hdr.h"
#include "parsers/sip_msg.h"
#include "parsers/sip_uri.h"

#define SHOW_MAX 48
#define NEVER	 UINT64_MAX /* no request scheduled */

/* ---- the uplinks file ---- */

struct dl {
	const char *file;
	char *err;
	size_t errlen;
	yaml_document_t *doc;
};

__attribute__((format(printf, 4, 5))) static int dl_err(struct dl *d, unsigned line,
							const char *key, const char *fmt, ...)
{
	if (d->err && d->errlen) {
		int n = snprintf(d->err, d->errlen, "%s:%u: %s: ", d->file, line, key);
		if (n >= 0 && (size_t)n < d->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

static unsigned node_line(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.line + 1;
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
	       !strncasecmp((const char *)n->data.scalar.value, s, n->data.scalar.length);
}

static bool is_null(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       (n->data.scalar.length == 0 || scalar_is(n, "~") || scalar_is(n, "null")) &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

enum ufield {
	U_NAME,
	U_REGISTRAR,
	U_PORT,
	U_TRANSPORT,
	U_PROXY,
	U_PROXY_PORT,
	U_DOMAIN,
	U_USER,
	U_AUTH_USER,
	U_PASSWORD,
	U_CONTACT_USER,
	U_HOST,
	U_EXPIRE,
	U_SEND_UNREGISTER,
	U_PRIVACY,
	U_ENABLED,
	U_REQUEST_URI,
	U__COUNT,
};

static const char *const ufield_names[U__COUNT] = {
	"name",		"registrar",   "port",	 "transport",	    "proxy",
	"proxy_port",	"domain",      "user",	 "auth_user",	    "password",
	"contact_user", "host",	       "expire", "send_unregister", "privacy",
	"enabled",	"request_uri",
};

/* A host as the file may give it: a name or an IP (no spaces, no controls). */
static bool host_ok(const char *p, size_t len)
{
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!(isalnum(c) || c == '.' || c == '-' || c == ':' || c == '_'))
			return false;
	}
	return true;
}

/* A SIP user part we write unescaped: RFC 3261 unreserved and user-unreserved. */
static bool user_ok(const char *p, size_t len)
{
	if (len == 0 || len > 128)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!(isalnum(c) || strchr("-_.!~*'()&=+$,;?/", c)))
			return false;
	}
	return true;
}

static int get_bool(struct dl *d, const yaml_node_t *v, const char *key, bool *out)
{
	static const char *const t[] = { "true", "yes", "on" }, *const f[] = { "false", "no",
									       "off" };
	for (unsigned i = 0; i < 3; i++) {
		if (scalar_is(v, t[i])) {
			*out = true;
			return 0;
		}
		if (scalar_is(v, f[i])) {
			*out = false;
			return 0;
		}
	}
	return dl_err(d, node_line(v), key, "expected true or false");
}

static int get_num(struct dl *d, const yaml_node_t *v, const char *key, unsigned lo, unsigned hi,
		   unsigned *out)
{
	const char *p = (const char *)v->data.scalar.value;
	size_t len = v->data.scalar.length;
	unsigned long x = 0;
	if (len == 0 || len > 9)
		return dl_err(d, node_line(v), key, "expected a number %u..%u", lo, hi);
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return dl_err(d, node_line(v), key, "'%.*s' is not a number %u..%u",
				      (int)(len > SHOW_MAX ? SHOW_MAX : len), p, lo, hi);
		x = x * 10 + (unsigned long)(p[i] - '0');
	}
	if (x < lo || x > hi)
		return dl_err(d, node_line(v), key, "%lu is out of range %u..%u", x, lo, hi);
	*out = (unsigned)x;
	return 0;
}

static int set_ufield(struct dl *d, struct uplink_def *u, enum ufield f, const char *key,
		      const yaml_node_t *v)
{
	if (v->type != YAML_SCALAR_NODE)
		return dl_err(d, node_line(v), key, "expected a value, not a list or map");
	const char *p = (const char *)v->data.scalar.value;
	size_t len = v->data.scalar.length;
	unsigned x;
	int ret;
	char **s = NULL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return dl_err(d, node_line(v), key, "control characters are not allowed");
	switch (f) {
	case U_NAME:
		if (len == 0 || len > UPLINK_NAME_MAX)
			return dl_err(d, node_line(v), key, "must be 1..%d characters",
				      UPLINK_NAME_MAX);
		for (size_t i = 0; i < len; i++)
			if (!(isalnum((unsigned char)p[i]) || p[i] == '.' || p[i] == '-' ||
			      p[i] == '_'))
				return dl_err(d, node_line(v), key,
					      "'%.*s': only letters, digits, '.', '-', '_'",
					      (int)(len > SHOW_MAX ? SHOW_MAX : len), p);
		s = &u->name;
		break;
	case U_REGISTRAR:
	case U_PROXY:
	case U_DOMAIN:
	case U_HOST:
		if (len && !host_ok(p, len))
			return dl_err(d, node_line(v), key, "'%.*s' is not a host name or address",
				      (int)(len > SHOW_MAX ? SHOW_MAX : len), p);
		s = f == U_REGISTRAR ? &u->registrar
		    : f == U_PROXY   ? &u->proxy
		    : f == U_DOMAIN  ? &u->domain
				     : &u->host;
		break;
	case U_USER:
	case U_CONTACT_USER:
		if (len && !user_ok(p, len))
			return dl_err(d, node_line(v), key,
				      "'%.*s' is not a SIP user (1..128 unescaped characters)",
				      (int)(len > SHOW_MAX ? SHOW_MAX : len), p);
		s = f == U_USER ? &u->user : &u->contact_user;
		break;
	case U_AUTH_USER:
		if (len > 128 || memchr(p, '"', len) || memchr(p, '\\', len))
			return dl_err(d, node_line(v), key,
				      "at most 128 characters, no '\"' or '\\'");
		s = &u->auth_user;
		break;
	case U_PASSWORD:
		if (len > 256)
			return dl_err(d, node_line(v), key, "at most 256 characters");
		s = &u->password;
		break;
	case U_PORT:
	case U_PROXY_PORT:
		if ((ret = get_num(d, v, key, 1, 65535, &x)))
			return ret;
		if (f == U_PORT)
			u->port = (uint16_t)x;
		else
			u->proxy_port = (uint16_t)x;
		return 0;
	case U_TRANSPORT:
		if (scalar_is(v, "udp"))
			u->transport = CONF_UDP;
		else if (scalar_is(v, "tcp"))
			u->transport = CONF_TCP;
		else
			return dl_err(d, node_line(v), key, "expected udp or tcp");
		return 0;
	case U_EXPIRE:
		if (scalar_is(v, "auto")) {
			u->expire_s = 0;
			return 0;
		}
		if ((ret = get_num(d, v, key, UPLINK_EXPIRE_MIN, UPLINK_EXPIRE_MAX, &x)))
			return ret;
		u->expire_s = (int32_t)x;
		return 0;
	case U_SEND_UNREGISTER:
	case U_ENABLED: {
		bool b;
		if ((ret = get_bool(d, v, key, &b)))
			return ret;
		if (f == U_ENABLED)
			u->enabled = b;
		else
			u->send_unregister = b;
		return 0;
	}
	case U_REQUEST_URI:
		if (scalar_is(v, "address"))
			u->ruri_domain = false;
		else if (scalar_is(v, "domain"))
			u->ruri_domain = true;
		else
			return dl_err(d, node_line(v), key, "expected address or domain");
		return 0;
	case U_PRIVACY:
		if (scalar_is(v, "ignore"))
			u->privacy = UPLINK_PRIVACY_IGNORE;
		else if (scalar_is(v, "id"))
			u->privacy = UPLINK_PRIVACY_ID;
		else if (scalar_is(v, "none"))
			u->privacy = UPLINK_PRIVACY_NONE;
		else
			return dl_err(d, node_line(v), key, "expected ignore, id or none");
		return 0;
	case U__COUNT:
		break;
	}
	char *c = strndup(p, len);
	if (!c)
		return -ENOMEM;
	free(*s);
	*s = c;
	return 0;
}

static void def_free(struct uplink_def *u)
{
	free(u->name);
	free(u->registrar);
	free(u->proxy);
	free(u->domain);
	free(u->user);
	free(u->auth_user);
	free(u->password);
	free(u->contact_user);
	free(u->host);
	memset(u, 0, sizeof(*u));
}

static int def_init(struct uplink_def *u)
{
	memset(u, 0, sizeof(*u));
	char **s[] = { &u->name,      &u->registrar, &u->proxy,	       &u->domain, &u->user,
		       &u->auth_user, &u->password,  &u->contact_user, &u->host };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (!(*s[i] = strdup(""))) {
			def_free(u);
			return -ENOMEM;
		}
	u->port = 0; /* not given: RFC 3263 (NAPTR, SRV, then A/AAAA at 5060) */
	u->proxy_port = 0;
	u->transport = CONF_UDP;
	u->expire_s = -1;
	u->send_unregister = -1;
	u->privacy = -1;
	u->enabled = true;
	return 0;
}

static int def_copy(struct uplink_def *dst, const struct uplink_def *src)
{
	*dst = *src;
	char **s[] = { &dst->name,     &dst->registrar,	   &dst->proxy,
		       &dst->domain,   &dst->user,	   &dst->auth_user,
		       &dst->password, &dst->contact_user, &dst->host };
	bool fail = false;
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		*s[i] = fail ? NULL : strdup(*s[i]);
		fail = fail || !*s[i];
	}
	if (fail) {
		def_free(dst);
		return -ENOMEM;
	}
	return 0;
}

static bool def_same(const struct uplink_def *a, const struct uplink_def *b)
{
	return !strcmp(a->registrar, b->registrar) && !strcmp(a->proxy, b->proxy) &&
	       !strcmp(a->domain, b->domain) && !strcmp(a->user, b->user) &&
	       !strcmp(a->auth_user, b->auth_user) && !strcmp(a->password, b->password) &&
	       !strcmp(a->contact_user, b->contact_user) && !strcmp(a->host, b->host) &&
	       a->port == b->port && a->proxy_port == b->proxy_port &&
	       a->transport == b->transport && a->expire_s == b->expire_s &&
	       a->send_unregister == b->send_unregister && a->privacy == b->privacy &&
	       a->ruri_domain == b->ruri_domain;
}

static int load_one(struct dl *d, const yaml_node_t *n, unsigned idx, struct uplink_def *u)
{
	char key[96];
	int ret;
	if (n->type != YAML_MAPPING_NODE) {
		snprintf(key, sizeof(key), "uplinks[%u]", idx);
		return dl_err(d, node_line(n), key, "expected a map (name:, registrar:, ...)");
	}
	if ((ret = def_init(u)))
		return ret;
	u->line = node_line(n);
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		const yaml_node_t *k = yaml_document_get_node(d->doc, pr->key);
		const yaml_node_t *v = yaml_document_get_node(d->doc, pr->value);
		unsigned f;
		for (f = 0; f < U__COUNT; f++)
			if (k && scalar_is(k, ufield_names[f]))
				break;
		if (!k || !v || f == U__COUNT) {
			snprintf(key, sizeof(key), "uplinks[%u].%.*s", idx,
				 k && k->type == YAML_SCALAR_NODE
					 ? (int)(k->data.scalar.length > 40 ? 40
									    : k->data.scalar.length)
					 : 1,
				 k && k->type == YAML_SCALAR_NODE
					 ? (const char *)k->data.scalar.value
					 : "?");
			def_free(u);
			return dl_err(d, k ? node_line(k) : u->line, key, "unknown key");
		}
		snprintf(key, sizeof(key), "uplinks[%u].%s", idx, ufield_names[f]);
		if (is_null(v))
			continue;
		if ((ret = set_ufield(d, u, (enum ufield)f, key, v))) {
			def_free(u);
			return ret;
		}
	}
	const char *missing = !u->name[0]	 ? "name"
			      : !u->registrar[0] ? "registrar"
			      : !u->user[0]	 ? "user"
						 : NULL;
	if (missing) {
		snprintf(key, sizeof(key), "uplinks[%u].%s", idx, missing);
		def_free(u);
		return dl_err(d, node_line(n), key, "is required");
	}
	return 0;
}

void uplink_defs_free(struct uplink_defs *defs)
{
	if (!defs)
		return;
	for (unsigned i = 0; i < defs->n; i++)
		def_free(&defs->v[i]);
	free(defs->v);
	defs->v = NULL;
	defs->n = 0;
}

int uplink_defs_load(const char *path, struct uplink_defs *defs, char *err, size_t errlen)
{
	struct dl d = { .file = path, .err = err, .errlen = errlen };
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret = 0;

	memset(defs, 0, sizeof(*defs));
	if (err && errlen)
		err[0] = 0;
	FILE *fp = fopen(path, "re");
	if (!fp) {
		ret = -errno;
		dl_err(&d, 0, "(file)", "cannot read: %s", strerror(-ret));
		return ret;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(fp);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &doc)) {
		ret = dl_err(&d, (unsigned)parser.problem_mark.line + 1, "(yaml)", "%s",
			     parser.problem ? parser.problem : "syntax error");
		yaml_parser_delete(&parser);
		fclose(fp);
		return ret;
	}
	d.doc = &doc;
	const yaml_node_t *root = yaml_document_get_root_node(&doc);
	const yaml_node_t *list = NULL;
	if (root && !is_null(root)) {
		if (root->type != YAML_MAPPING_NODE) {
			ret = dl_err(&d, node_line(root), "(top)", "expected a map with uplinks:");
			goto out;
		}
		for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
		     pr < root->data.mapping.pairs.top; pr++) {
			const yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
			const yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
			if (!k || !v || !scalar_is(k, "uplinks")) {
				ret = dl_err(&d, k ? node_line(k) : 1, "(top)",
					     "unknown key (the file holds uplinks:)");
				goto out;
			}
			list = v;
		}
	}
	if (list && !is_null(list)) {
		if (list->type != YAML_SEQUENCE_NODE) {
			ret = dl_err(&d, node_line(list), "uplinks", "expected a list");
			goto out;
		}
		size_t n =
			(size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
		if (n > UPLINK_MAX) {
			ret = dl_err(&d, node_line(list), "uplinks", "more than %u uplinks",
				     UPLINK_MAX);
			goto out;
		}
		defs->v = calloc(n ? n : 1, sizeof(*defs->v));
		if (!defs->v) {
			ret = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			const yaml_node_t *it =
				yaml_document_get_node(&doc, list->data.sequence.items.start[i]);
			if (!it) {
				ret = -EINVAL;
				goto out;
			}
			if ((ret = load_one(&d, it, (unsigned)i, &defs->v[defs->n])))
				goto out;
			defs->n++;
			for (unsigned j = 0; j + 1 < defs->n; j++)
				if (!strcmp(defs->v[j].name, defs->v[defs->n - 1].name)) {
					char key[96];
					snprintf(key, sizeof(key), "uplinks[%zu].name", i);
					ret = dl_err(&d, defs->v[defs->n - 1].line, key,
						     "'%s' is already the name of uplinks[%u]",
						     defs->v[j].name, j);
					goto out;
				}
		}
	}
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(fp);
	if (ret) {
		if (ret == -ENOMEM)
			dl_err(&d, 0, "(file)", "out of memory");
		uplink_defs_free(defs);
	}
	return ret;
}

/* ---- jobs and results (worker side) ---- */

int uplink_req_format(const struct uplink_req *r, const char *branch, uint16_t via_port, char *buf,
		      size_t cap)
{
	int via = snprintf(NULL, 0, "Via: SIP/2.0/%s %s:%u;branch=%s;rport\r\n",
			   r->transport == CONF_TCP ? "TCP" : "UDP", r->via_host, via_port, branch);
	if (via < 0 || r->line_len > r->len || (size_t)via + r->len + 1 > cap)
		return -ENOBUFS;
	memcpy(buf, r->msg, r->line_len);
	snprintf(buf + r->line_len, cap - r->line_len, "Via: SIP/2.0/%s %s:%u;branch=%s;rport\r\n",
		 r->transport == CONF_TCP ? "TCP" : "UDP", r->via_host, via_port, branch);
	memcpy(buf + r->line_len + (size_t)via, r->msg + r->line_len, r->len - r->line_len);
	return (int)(r->len + (size_t)via);
}

static struct uplink_res *res_new(const struct uplink_req *r, size_t chal)
{
	struct uplink_res *s = calloc(1, sizeof(*s) + chal + 1);
	if (!s)
		return NULL;
	s->id = r->id;
	s->slot = r->slot;
	s->expires = -1;
	return s;
}

struct uplink_res *uplink_res_local(const struct uplink_req *r, uint16_t status, const char *reason)
{
	struct uplink_res *s = res_new(r, 0);
	if (!s)
		return NULL;
	s->status = status;
	s->local = true;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	return s;
}

/* Whether two SIP URIs name the same contact: user, host (any case), port. */
static bool same_contact(struct sv a, struct sv b)
{
	struct sip_uri ua, ub;
	struct sip_err err;
	if (sip_uri_parse(a, &ua, &err) < 0 || sip_uri_parse(b, &ub, &err) < 0)
		return false;
	return sv_eq(ua.user, ub.user) && sv_caseeq(ua.host, ub.host) &&
	       (ua.port ? ua.port : 5060) == (ub.port ? ub.port : 5060);
}

struct uplink_res *uplink_res_from(const struct uplink_req *r, const struct sip_msg *m)
{
	enum sip_hdr_id cid =
		m->status == 407 ? SIP_HDR_PROXY_AUTHENTICATE : SIP_HDR_WWW_AUTHENTICATE;
	size_t chal = 0;
	for (const struct sip_hdr *h = sip_msg_hdr(m, cid); h; h = sip_msg_hdr_next(m, h))
		if (chal + h->value.len + 1 <= UPLINK_CHALLENGE_MAX)
			chal += h->value.len + 1;
	struct uplink_res *s = res_new(r, chal);
	if (!s)
		return NULL;
	s->status = m->status;
	size_t rl = m->reason.len < sizeof(s->reason) - 1 ? m->reason.len : sizeof(s->reason) - 1;
	memcpy(s->reason, m->reason.p, rl);
	for (size_t i = 0; i < rl; i++)
		if ((unsigned char)s->reason[i] < 0x20 || s->reason[i] == '"' ||
		    s->reason[i] == '\\')
			s->reason[i] = ' ';
	for (const struct sip_hdr *h = sip_msg_hdr(m, cid); h; h = sip_msg_hdr_next(m, h))
		if (s->chal_len + h->value.len + 1 <= chal) {
			memcpy(s->chal + s->chal_len, h->value.p, h->value.len);
			s->chal_len += (uint32_t)h->value.len;
			s->chal[s->chal_len++] = '\n';
		}
	uint32_t v;
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_MIN_EXPIRES);
	if (h && sip_uint_parse(h->value, UINT32_MAX, &v, NULL) == 0)
		s->min_expires = v;
	h = sip_msg_hdr(m, SIP_HDR_RETRY_AFTER);
	if (h) {
		struct sv val = h->value;
		size_t n = 0;
		while (n < val.len && val.p[n] >= '0' && val.p[n] <= '9')
			n++;
		if (n && sip_uint_parse(sv_make(val.p, n), 86400 * 7, &v, NULL) == 0)
			s->retry_after = v;
	}
	if (m->status >= 200 && m->status < 300) {
		struct sv ours = sv_cstr(r->contact_uri);
		for (h = sip_msg_hdr(m, SIP_HDR_CONTACT); h && s->expires < 0;
		     h = sip_msg_hdr_next(m, h)) {
			struct sv rest = h->value;
			struct sip_contact c;
			while (sip_contact_next(&rest, &c, NULL) == 1) {
				if (!c.addr.star && c.has_expires &&
				    same_contact(c.addr.uri, ours)) {
					s->expires = c.expires;
					break;
				}
			}
		}
		h = sip_msg_hdr(m, SIP_HDR_EXPIRES);
		if (s->expires < 0 && h && sip_uint_parse(h->value, UINT32_MAX, &v, NULL) == 0)
			s->expires = v;
	}
	return s;
}

/* ---- the manager ---- */

struct uplink {
	struct uplink_def def;
	bool removing;	 /* gone from the file: unregister, then free */
	bool manual_off; /* unregistered through the API: stay so */
	enum uplink_state state;
	uint64_t busy_id;    /* the request in flight, 0 none */
	bool busy_unreg;     /* it is an unregistration */
	bool busy_auth;	     /* it carried credentials answering a challenge of this attempt */
	bool pend_unreg;     /* unregister once the request in flight ends */
	bool pend_reg;	     /* register once it ends */
	uint64_t next_ms;    /* the next request, NEVER = none scheduled */
	uint64_t sent_ms;    /* when the request in flight was handed over */
	uint64_t expires_at; /* end of the registration (0: not registered) */
	uint32_t asked, granted, min_expires;
	uint32_t cseq;
	unsigned failures;   /* consecutive failed attempts */
	unsigned auth_fails; /* challenges to credentials in this attempt */
	unsigned hops;	     /* follow-ups (423, challenges) in this attempt */
	uint16_t last_status;
	char last_reason[UPLINK_REASON_MAX];
	char call_id[48];
	char from_tag[20];
	char registrar_text[64];
	struct sockaddr_storage dest; /* where the last request went (AF_UNSPEC: none yet) */
	char aor[300];
	char contact[320];
	/* the challenge answered last (reused for the next request, nc + 1) */
	struct {
		bool have, proxy;
		char realm[128], nonce[200], opaque[200], alg[16];
		bool qop;
		uint32_t nc;
	} ch;
};

struct uplink_mgr {
	struct uplink **v;
	unsigned n, cap;
	unsigned workers;
	struct uplink_ops ops;
	void *arg;
	struct uplink_params p;
	char user_agent[129];
	uint64_t next_id;
	uint64_t rnd;
	bool stopping;
	struct uplink_counters cnt;
};

const char *uplink_state_name(enum uplink_state s)
{
	static const char *const n[UPLINK_STATE__COUNT] = {
		"registering", "registered", "unregistering", "unregistered", "failed", "disabled",
	};
	return (unsigned)s < UPLINK_STATE__COUNT ? n[s] : "?";
}

const char *uplink_result_name(enum uplink_result r)
{
	static const char *const n[UPLINK_RES__COUNT] = { "ok", "rejected", "auth_failed",
							  "timeout", "error" };
	return (unsigned)r < UPLINK_RES__COUNT ? n[r] : "?";
}

static uint64_t rnd_next(struct uplink_mgr *m)
{
	/* xorshift64*: jitter and tags, not secrets */
	m->rnd ^= m->rnd >> 12;
	m->rnd ^= m->rnd << 25;
	m->rnd ^= m->rnd >> 27;
	return m->rnd * 0x2545F4914F6CDD1Dull;
}

struct uplink_mgr *uplink_mgr_new(unsigned workers, const struct uplink_ops *ops, void *arg)
{
	struct uplink_mgr *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->workers = workers ? workers : 1;
	m->ops = *ops;
	m->arg = arg;
	if (getrandom(&m->rnd, sizeof(m->rnd), 0) != sizeof(m->rnd) || !m->rnd)
		m->rnd = 0x9e3779b97f4a7c15ull;
	m->next_id = 1;
	m->p = (struct uplink_params){ .retry_delay_ms = 60000,
				       .send_unregister = true,
				       .auth_retry = 2,
				       .max_forwards = 70 };
	return m;
}

static void up_free(struct uplink *u)
{
	def_free(&u->def);
	free(u);
}

void uplink_mgr_free(struct uplink_mgr *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->n; i++)
		if (m->v[i])
			up_free(m->v[i]);
	free(m->v);
	free(m);
}

static bool want_unreg(const struct uplink_mgr *m, const struct uplink *u)
{
	return u->def.send_unregister < 0 ? m->p.send_unregister : u->def.send_unregister > 0;
}

static uint32_t ask_expire(const struct uplink_mgr *m, const struct uplink *u)
{
	int32_t e = u->def.expire_s < 0 ? (int32_t)m->p.expire_s : u->def.expire_s;
	uint32_t a = e > 0 ? (uint32_t)e : UPLINK_EXPIRE_AUTO;
	return u->min_expires > a ? u->min_expires : a;
}

static const char *up_domain(const struct uplink *u)
{
	return u->def.domain[0] ? u->def.domain : u->def.registrar;
}

static struct uplink *up_new(struct uplink_mgr *m, const struct uplink_def *d)
{
	struct uplink *u = calloc(1, sizeof(*u));
	if (!u || def_copy(&u->def, d)) {
		free(u);
		return NULL;
	}
	uint64_t a = rnd_next(m), b = rnd_next(m);
	snprintf(u->call_id, sizeof(u->call_id), "%016llx%08llx-up", (unsigned long long)a,
		 (unsigned long long)(b >> 32));
	snprintf(u->from_tag, sizeof(u->from_tag), "%016llx", (unsigned long long)rnd_next(m));
	u->cseq = (uint32_t)(rnd_next(m) % 10000) + 1;
	snprintf(u->aor, sizeof(u->aor), "sip:%s@%s", u->def.user, up_domain(u));
	u->state = d->enabled ? UPLINK_REGISTERING : UPLINK_DISABLED;
	u->next_ms = NEVER;
	return u;
}

static unsigned slot_of(const struct uplink_mgr *m, const struct uplink *u)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->v[i] == u)
			return i;
	return UINT32_MAX;
}

static struct uplink *by_name(const struct uplink_mgr *m, const char *name, bool live)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->v[i] && !(live && m->v[i]->removing) && !strcmp(m->v[i]->def.name, name))
			return m->v[i];
	return NULL;
}

static int put_slot(struct uplink_mgr *m, struct uplink *u)
{
	for (unsigned i = 0; i < m->n; i++)
		if (!m->v[i]) {
			m->v[i] = u;
			return 0;
		}
	if (m->n == m->cap) {
		unsigned cap = m->cap ? m->cap * 2 : 16;
		struct uplink **v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n++] = u;
	return 0;
}

/* Jitter: d +- 20 %. */
static uint64_t jitter(struct uplink_mgr *m, uint64_t d)
{
	uint64_t span = d * 2 / 5;
	return span ? d - d / 5 + rnd_next(m) % (span + 1) : d;
}

/* The refresh point after a grant of g seconds (from the time it was asked). */
static uint64_t refresh_after_ms(uint32_t g)
{
	uint64_t ms = (uint64_t)g * 1000;
	return g <= 600 ? ms / 2 : ms - 300000;
}

/* Mark u to register at now (or after the request in flight). */
static void schedule_register(struct uplink *u, uint64_t now)
{
	if (u->busy_id) {
		u->pend_reg = true;
		u->pend_unreg = false;
		return;
	}
	u->state = u->expires_at ? u->state : UPLINK_REGISTERING;
	u->next_ms = now;
}

int uplink_mgr_apply(struct uplink_mgr *m, const struct uplink_defs *defs,
		     const struct uplink_params *p, uint64_t now_ms)
{
	/* New uplinks first, into a list: nothing changes when memory runs out. */
	struct uplink **fresh = calloc(defs->n ? defs->n : 1, sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	unsigned nfresh = 0;
	for (unsigned i = 0; i < defs->n; i++) {
		struct uplink *old = by_name(m, defs->v[i].name, true);
		if (old && def_same(&old->def, &defs->v[i]))
			continue;
		if (!(fresh[nfresh] = up_new(m, &defs->v[i])))
			goto nomem;
		nfresh++;
	}
	if (m->n + nfresh > m->cap) {
		unsigned cap = m->n + nfresh + 16;
		struct uplink **v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			goto nomem;
		m->v = v;
		m->cap = cap;
	}
	m->p = *p;
	snprintf(m->user_agent, sizeof(m->user_agent), "%s", p->user_agent ? p->user_agent : "");
	m->p.user_agent = m->user_agent;
	if (!m->p.auth_retry)
		m->p.auth_retry = 1;
	/* Changed or removed: unregister the old registration, then go. */
	for (unsigned i = 0; i < m->n; i++) {
		struct uplink *u = m->v[i];
		if (!u || u->removing)
			continue;
		const struct uplink_def *d = NULL;
		for (unsigned j = 0; j < defs->n && !d; j++)
			if (!strcmp(defs->v[j].name, u->def.name))
				d = &defs->v[j];
		if (d && def_same(&u->def, d)) {
			if (u->def.enabled != d->enabled) {
				u->def.enabled = d->enabled;
				if (d->enabled) {
					u->manual_off = false;
					u->failures = 0;
					schedule_register(u, now_ms);
				} else if (u->expires_at && want_unreg(m, u)) {
					u->pend_unreg = !!u->busy_id;
					u->next_ms = u->busy_id ? NEVER : now_ms;
					u->state = UPLINK_UNREGISTERING;
				} else {
					u->state = UPLINK_DISABLED;
					u->next_ms = NEVER;
					u->expires_at = 0;
				}
			}
			continue;
		}
		u->removing = true;
		if ((u->expires_at || u->busy_id) && want_unreg(m, u) && !m->stopping) {
			if (u->busy_id) {
				u->pend_unreg = true;
				u->pend_reg = false;
			} else {
				u->state = UPLINK_UNREGISTERING;
				u->next_ms = now_ms;
			}
		} else if (!u->busy_id) {
			up_free(u);
			m->v[i] = NULL;
		}
	}
	for (unsigned i = 0; i < nfresh; i++) {
		struct uplink *u = fresh[i];
		if (u->def.enabled && !m->stopping)
			u->next_ms = now_ms;
		put_slot(m, u); /* room was made above */
	}
	free(fresh);
	return 0;
nomem:
	for (unsigned i = 0; i < nfresh; i++)
		up_free(fresh[i]);
	free(fresh);
	return -ENOMEM;
}

/* ---- building a REGISTER ---- */

struct out {
	char *p;
	size_t len, cap;
	bool full;
};

__attribute__((format(printf, 2, 3))) static void outf(struct out *o, const char *fmt, ...)
{
	if (o->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

/* The Authorization line answering u's kept challenge for uri, nc + 1. */
static int auth_line(struct uplink_mgr *m, struct uplink *u, const char *uri, struct out *o)
{
	const char *user = u->def.auth_user[0] ? u->def.auth_user : u->def.user;
	char cnonce[17], nc[9], hex[AUTH_HEX_MAX + 1];
	snprintf(cnonce, sizeof(cnonce), "%016llx", (unsigned long long)rnd_next(m));
	u->ch.nc++;
	snprintf(nc, sizeof(nc), "%08x", u->ch.nc);
	struct auth_account acct = { .user = sv_cstr(user),
				     .realm = sv_cstr(u->ch.realm),
				     .password = sv_cstr(u->def.password) };
	struct sip_auth cred = {
		.username = acct.user,
		.realm = acct.realm,
		.nonce = sv_cstr(u->ch.nonce),
		.uri = sv_cstr(uri),
		.algorithm = u->ch.alg[0] ? sv_cstr(u->ch.alg) : SV_NULL,
		.qop = u->ch.qop ? SV_LIT("auth") : SV_NULL,
		.nc = u->ch.qop ? sv_cstr(nc) : SV_NULL,
		.cnonce = u->ch.qop ? sv_cstr(cnonce) : SV_NULL,
	};
	int ret = auth_response(&acct, acct.realm, SV_LIT("REGISTER"), &cred, hex);
	if (ret < 0)
		return ret;
	outf(o,
	     "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", response=\"%s\"",
	     u->ch.proxy ? "Proxy-Authorization" : "Authorization", user, u->ch.realm, u->ch.nonce,
	     uri, hex);
	if (u->ch.alg[0])
		outf(o, ", algorithm=%s", u->ch.alg);
	if (u->ch.qop)
		outf(o, ", cnonce=\"%s\", qop=auth, nc=%s", cnonce, nc);
	if (u->ch.opaque[0])
		outf(o, ", opaque=\"%s\"", u->ch.opaque);
	outf(o, "\r\n");
	return 0;
}

static void fail(struct uplink_mgr *m, struct uplink *u, enum uplink_result r, uint16_t status,
		 const char *reason, uint64_t now, uint64_t delay_ms);

/* Build and hand over u's next request (register or unregister) at now. */
static void send_req(struct uplink_mgr *m, struct uplink *u, bool unreg, uint64_t now)
{
	unsigned slot = slot_of(m, u);
	const char *host = u->def.proxy[0] ? u->def.proxy : u->def.registrar;
	uint16_t port = u->def.proxy[0] ? u->def.proxy_port : u->def.port;
	struct sockaddr_storage ss = u->dest; /* the server used last: kept while it may be */
	socklen_t sl = sizeof(ss);
	int ret = m->ops.resolve(m->arg, host, port, u->def.transport, &ss, &sl);
	if (ret == -EAGAIN) {
		u->next_ms = now + 200; /* ask again shortly */
		return;
	}
	if (ret < 0) {
		if (unreg)
			m->cnt.unregisters[UPLINK_RES_ERROR]++;
		fail(m, u, UPLINK_RES_ERROR, 0, "cannot resolve the registrar", now,
		     m->p.retry_delay_ms);
		return;
	}
	u->dest = ss;
	char lhost[64];
	uint16_t lport = 0;
	ret = m->ops.local(m->arg, (struct sockaddr *)&ss, u->def.transport, lhost, sizeof(lhost),
			   &lport);
	if (ret < 0) {
		if (unreg)
			m->cnt.unregisters[UPLINK_RES_ERROR]++;
		fail(m, u, UPLINK_RES_ERROR, 0, "no local address toward the registrar", now,
		     m->p.retry_delay_ms);
		return;
	}
	char ip[INET6_ADDRSTRLEN];
	uint16_t dport;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		dport = ntohs(s6->sin6_port);
		snprintf(u->registrar_text, sizeof(u->registrar_text), "[%s]:%u", ip, dport);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		dport = ntohs(s4->sin_port);
		snprintf(u->registrar_text, sizeof(u->registrar_text), "%s:%u", ip, dport);
	}
	const char *cuser = u->def.contact_user[0] ? u->def.contact_user : u->def.user;
	const char *chost = u->def.host[0] ? u->def.host : lhost;
	const char *tp = u->def.transport == CONF_TCP ? ";transport=tcp" : "";
	snprintf(u->contact, sizeof(u->contact), "sip:%s@%s:%u%s", cuser, chost, lport, tp);

	/* Request-URI: the address the request goes to (the default), or the
	 * registrar's domain (request_uri: domain, or through an outbound proxy). */
	char uri[300];
	if (u->def.ruri_domain || u->def.proxy[0])
		snprintf(uri, sizeof(uri), "sip:%s", up_domain(u));
	else
		snprintf(uri, sizeof(uri), "sip:%s%s", u->registrar_text, tp);
	uint32_t expires = unreg ? 0 : ask_expire(m, u);
	char buf[4096];
	struct out o = { buf, 0, sizeof(buf), false };
	u->cseq++;
	outf(&o, "REGISTER %s SIP/2.0\r\n", uri);
	size_t line_len = o.len;
	if (u->def.proxy[0]) {
		if (u->def.proxy_port)
			outf(&o, "Route: <sip:%s:%u;lr%s>\r\n", u->def.proxy, u->def.proxy_port,
			     tp);
		else
			outf(&o, "Route: <sip:%s;lr%s>\r\n", u->def.proxy, tp);
	}
	outf(&o, "Max-Forwards: %u\r\n", m->p.max_forwards);
	outf(&o, "From: <sip:%s@%s>;tag=%s\r\n", u->def.user,
	     u->def.host[0] ? u->def.host : up_domain(u), u->from_tag);
	outf(&o, "To: <%s>\r\n", u->aor);
	outf(&o, "Call-ID: %s\r\n", u->call_id);
	outf(&o, "CSeq: %u REGISTER\r\n", u->cseq);
	outf(&o, "Contact: <%s>\r\n", u->contact);
	outf(&o, "Expires: %u\r\n", expires);
	uint8_t priv = u->def.privacy >= 0 ? (uint8_t)u->def.privacy : m->p.privacy;
	if (priv == UPLINK_PRIVACY_ID)
		outf(&o, "Privacy: id\r\n");
	else if (priv == UPLINK_PRIVACY_NONE)
		outf(&o, "Privacy: none\r\n");
	if (m->user_agent[0])
		outf(&o, "User-Agent: %s\r\n", m->user_agent);
	bool with_auth = false;
	if (u->ch.have && u->def.password[0]) {
		ret = auth_line(m, u, uri, &o);
		with_auth = ret == 0;
	}
	outf(&o, "Content-Length: 0\r\n\r\n");
	if (o.full) {
		fail(m, u, UPLINK_RES_ERROR, 0, "request too large", now, m->p.retry_delay_ms);
		return;
	}
	struct uplink_req *r = malloc(sizeof(*r) + o.len);
	if (!r) {
		u->next_ms = now + 100;
		return;
	}
	memset(r, 0, sizeof(*r));
	r->id = m->next_id++;
	r->slot = slot;
	r->transport = u->def.transport;
	r->unregister = unreg;
	memcpy(&r->dest, &ss, sizeof(ss));
	r->destlen = sl;
	snprintf(r->via_host, sizeof(r->via_host), "%s", lhost);
	r->via_port = lport;
	snprintf(r->contact_uri, sizeof(r->contact_uri), "%s", u->contact);
	r->line_len = (uint32_t)line_len;
	r->len = (uint32_t)o.len;
	memcpy(r->msg, buf, o.len);
	if (m->ops.send(m->arg, slot % m->workers, r) < 0) {
		free(r);
		u->cseq--;
		u->next_ms = now + 100; /* the worker's queue is full: soon again */
		return;
	}
	m->cnt.requests++;
	u->busy_id = r->id;
	u->busy_unreg = unreg;
	u->busy_auth = with_auth && u->hops > 0; /* not a nonce kept from before */
	u->sent_ms = now;
	u->next_ms = NEVER;
	u->asked = expires ? expires : u->asked;
	if (unreg)
		u->state = UPLINK_UNREGISTERING;
	else if (u->state != UPLINK_REGISTERED)
		u->state = UPLINK_REGISTERING;
}

int64_t uplink_mgr_run(struct uplink_mgr *m, uint64_t now_ms)
{
	int64_t next = -1;
	for (unsigned i = 0; i < m->n; i++) {
		struct uplink *u = m->v[i];
		if (!u || u->busy_id || u->next_ms == NEVER)
			continue;
		if (u->next_ms <= now_ms) {
			bool unreg = u->state == UPLINK_UNREGISTERING;
			if (!unreg && (m->stopping || u->removing || !u->def.enabled)) {
				u->next_ms = NEVER;
				continue;
			}
			u->hops = 0;
			u->auth_fails = 0;
			send_req(m, u, unreg, now_ms);
		}
		if (u->next_ms != NEVER) {
			int64_t d = u->next_ms > now_ms ? (int64_t)(u->next_ms - now_ms) : 0;
			if (next < 0 || d < next)
				next = d;
		}
	}
	return next;
}

/* After the request in flight: what was asked meanwhile. Returns true when u was freed. */
static bool after(struct uplink_mgr *m, struct uplink *u, uint64_t now)
{
	if (u->pend_unreg) {
		u->pend_unreg = false;
		if (u->expires_at || u->state == UPLINK_REGISTERED) {
			u->state = UPLINK_UNREGISTERING;
			u->hops = u->auth_fails = 0;
			send_req(m, u, true, now);
			return false;
		}
	}
	if (u->pend_reg && !m->stopping && !u->removing) {
		u->pend_reg = false;
		u->hops = u->auth_fails = 0;
		send_req(m, u, false, now);
		return false;
	}
	if (u->removing && !u->busy_id &&
	    !(u->next_ms != NEVER && u->state == UPLINK_UNREGISTERING)) {
		unsigned s = slot_of(m, u);
		if (s != UINT32_MAX)
			m->v[s] = NULL;
		up_free(u);
		return true;
	}
	return false;
}

static void fail(struct uplink_mgr *m, struct uplink *u, enum uplink_result r, uint16_t status,
		 const char *reason, uint64_t now, uint64_t delay_ms)
{
	bool unreg = u->state == UPLINK_UNREGISTERING;
	u->busy_id = 0;
	u->last_status = status;
	snprintf(u->last_reason, sizeof(u->last_reason), "%s", reason);
	if (unreg) {
		/* An unregistration that failed: the binding ends by itself at its
		 * expiry; nothing is retried (a stop, a removal, the API). */
		u->state = u->def.enabled && !u->removing && !u->manual_off ? UPLINK_FAILED
			   : u->def.enabled				    ? UPLINK_UNREGISTERED
									    : UPLINK_DISABLED;
		u->expires_at = 0;
		u->next_ms = NEVER;
		if (u->state == UPLINK_FAILED && !m->stopping)
			u->next_ms = now + jitter(m, delay_ms);
		return;
	}
	m->cnt.registers[r]++;
	u->failures++;
	u->state = UPLINK_FAILED;
	if (r == UPLINK_RES_TIMEOUT || r == UPLINK_RES_ERROR || status >= 500)
		u->dest.ss_family = AF_UNSPEC; /* the next attempt may pick another server */
	if (u->expires_at && now >= u->expires_at)
		u->expires_at = 0;
	u->next_ms =
		m->stopping || u->removing || !u->def.enabled ? NEVER : now + jitter(m, delay_ms);
	if (u->next_ms == NEVER && !u->def.enabled)
		u->state = UPLINK_DISABLED;
}

/* No quote, backslash or control octet: safe inside a quoted string. */
static bool quotable(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

/* Keep the challenge of a 401/407 for the next request. Returns false when
 * none is usable (no Digest with MD5 or SHA-256 and qop auth or none). */
static bool take_challenge(struct uplink *u, const struct uplink_res *r, bool *stale)
{
	const char *p = r->chal, *end = r->chal + r->chal_len;
	int best = 0;
	struct sip_auth a, pick = { 0 };
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		if (sip_auth_parse(sv_make(p, (size_t)(nl - p)), &a, NULL) == 0 && a.is_digest &&
		    a.realm.len && a.nonce.len) {
			enum auth_alg alg = AUTH_MD5;
			bool alg_ok = !a.algorithm.len || auth_alg_parse(a.algorithm, &alg) == 0;
			bool qop_ok = !a.qop.len;
			struct sv q = a.qop, tok;
			while (!qop_ok && sip_token_next(&q, &tok, NULL) == 1)
				qop_ok = sv_caseeq(tok, SV_LIT("auth"));
			/* sip_token_next stops at ','; walk the list by hand too */
			if (!qop_ok && a.qop.len) {
				for (size_t i = 0; i + 4 <= a.qop.len; i++)
					if (!strncasecmp(a.qop.p + i, "auth", 4) &&
					    (i + 4 == a.qop.len || a.qop.p[i + 4] == ',' ||
					     a.qop.p[i + 4] == ' ') &&
					    (i == 0 || a.qop.p[i - 1] == ',' ||
					     a.qop.p[i - 1] == ' ' || a.qop.p[i - 1] == '"'))
						qop_ok = true;
			}
			int rank = alg_ok && qop_ok ? (alg == AUTH_SHA256 ? 2 : 1) : 0;
			if (rank > best) {
				best = rank;
				pick = a;
			}
		}
		p = nl + 1;
	}
	if (!best)
		return false;
	char realm[128], nonce[200], opaque[200];
	int rl = sip_unquote(pick.realm, realm, sizeof(realm) - 1);
	int nl = sip_unquote(pick.nonce, nonce, sizeof(nonce) - 1);
	int ol = pick.opaque.len ? sip_unquote(pick.opaque, opaque, sizeof(opaque) - 1) : 0;
	if (rl < 0 || nl <= 0 || ol < 0)
		return false;
	realm[rl] = nonce[nl] = opaque[ol] = 0;
	/* They go back inside quoted strings. */
	if (!quotable(realm) || !quotable(nonce) || !quotable(opaque))
		return false;
	*stale = pick.stale.len == 4 && !strncasecmp(pick.stale.p, "true", 4);
	bool same_nonce = u->ch.have && !strcmp(u->ch.nonce, nonce);
	snprintf(u->ch.realm, sizeof(u->ch.realm), "%s", realm);
	snprintf(u->ch.nonce, sizeof(u->ch.nonce), "%s", nonce);
	snprintf(u->ch.opaque, sizeof(u->ch.opaque), "%s", opaque);
	size_t al = pick.algorithm.len < sizeof(u->ch.alg) ? pick.algorithm.len : 0;
	memcpy(u->ch.alg, pick.algorithm.p, al);
	u->ch.alg[al] = 0;
	u->ch.qop = pick.qop.len != 0;
	u->ch.proxy = r->status == 407;
	if (!same_nonce)
		u->ch.nc = 0;
	u->ch.have = true;
	return true;
}

void uplink_mgr_result(struct uplink_mgr *m, struct uplink_res *r, uint64_t now_ms)
{
	struct uplink *u = r->slot < m->n ? m->v[r->slot] : NULL;
	if (!u || u->busy_id != r->id) {
		free(r);
		return;
	}
	bool unreg = u->busy_unreg;
	uint16_t st = r->status;
	u->last_status = st;
	snprintf(u->last_reason, sizeof(u->last_reason), "%s", r->reason);
	const uint64_t delay = m->p.retry_delay_ms;

	if (st >= 200 && st < 300) {
		u->busy_id = 0;
		u->hops = u->auth_fails = 0;
		if (unreg) {
			m->cnt.unregisters[UPLINK_RES_OK]++;
			u->expires_at = 0;
			u->granted = 0;
			u->state = !u->def.enabled ? UPLINK_DISABLED : UPLINK_UNREGISTERED;
			u->next_ms = NEVER;
		} else {
			int64_t g = r->expires >= 0 ? r->expires : (int64_t)u->asked;
			if (g <= 0) {
				/* the registrar kept no binding for us */
				fail(m, u, UPLINK_RES_REJECTED, st, "binding not granted", now_ms,
				     delay);
				free(r);
				after(m, u, now_ms);
				return;
			}
			m->cnt.registers[UPLINK_RES_OK]++;
			u->granted = (uint32_t)(g > UINT32_MAX / 1000 ? UINT32_MAX / 1000 : g);
			u->expires_at = u->sent_ms + (uint64_t)u->granted * 1000;
			u->next_ms = u->sent_ms + refresh_after_ms(u->granted);
			if (u->next_ms < now_ms)
				u->next_ms = now_ms;
			u->failures = 0;
			u->state = UPLINK_REGISTERED;
			if (m->stopping || u->removing || !u->def.enabled || u->manual_off)
				u->next_ms = NEVER;
		}
		free(r);
		after(m, u, now_ms);
		return;
	}
	u->busy_id = 0;
	if ((st == 401 || st == 407) && !r->local) {
		bool stale = false;
		bool had = u->busy_auth;
		u->hops++;
		if (!u->def.password[0] || !take_challenge(u, r, &stale)) {
			if (unreg)
				m->cnt.unregisters[UPLINK_RES_AUTH_FAILED]++;
			fail(m, u, UPLINK_RES_AUTH_FAILED, st,
			     u->def.password[0] ? "no usable challenge"
						: "no password for a challenge",
			     now_ms, delay);
		} else if (had && !stale && ++u->auth_fails >= m->p.auth_retry) {
			if (unreg)
				m->cnt.unregisters[UPLINK_RES_AUTH_FAILED]++;
			u->ch.have = false;
			fail(m, u, UPLINK_RES_AUTH_FAILED, st, "credentials refused", now_ms,
			     delay);
		} else if (u->hops > m->p.auth_retry + 4) {
			if (unreg)
				m->cnt.unregisters[UPLINK_RES_AUTH_FAILED]++;
			fail(m, u, UPLINK_RES_AUTH_FAILED, st, "too many challenges", now_ms,
			     delay);
		} else {
			free(r);
			send_req(m, u, unreg, now_ms);
			return;
		}
		free(r);
		after(m, u, now_ms);
		return;
	}
	if (st == 423 && !unreg && r->min_expires > u->asked && r->min_expires <= 86400 &&
	    ++u->hops <= m->p.auth_retry + 4) {
		u->min_expires = r->min_expires;
		free(r);
		send_req(m, u, false, now_ms);
		return;
	}
	enum uplink_result res = st == 408 && r->local ? UPLINK_RES_TIMEOUT
				 : r->local	       ? UPLINK_RES_ERROR
						       : UPLINK_RES_REJECTED;
	uint64_t d = st == 403 || st == 404 ? delay * 10 : delay;
	uint64_t ra = (uint64_t)(r->retry_after > 3600 ? 3600 : r->retry_after) * 1000;
	if (unreg)
		m->cnt.unregisters[res]++;
	char reason[UPLINK_REASON_MAX];
	snprintf(reason, sizeof(reason), "%s", r->reason);
	free(r);
	fail(m, u, res, st, reason, now_ms, d);
	if (u->next_ms != NEVER && u->next_ms < now_ms + ra)
		u->next_ms = now_ms + ra; /* the server's Retry-After, never sooner */
	after(m, u, now_ms);
}

unsigned uplink_mgr_stop(struct uplink_mgr *m, uint64_t now_ms)
{
	unsigned n = 0;
	m->stopping = true;
	for (unsigned i = 0; i < m->n; i++) {
		struct uplink *u = m->v[i];
		if (!u)
			continue;
		bool live = u->expires_at > now_ms || u->state == UPLINK_REGISTERED ||
			    (u->busy_id && !u->busy_unreg);
		if (u->state == UPLINK_UNREGISTERING) {
			n += u->busy_id || u->next_ms != NEVER;
			continue;
		}
		u->next_ms = NEVER;
		u->pend_reg = false;
		if (!live || !want_unreg(m, u))
			continue;
		/* A REGISTER in flight is overtaken: the unregistration has the higher
		 * CSeq, so a registrar that sees both keeps the later one. */
		u->busy_id = 0;
		u->hops = u->auth_fails = 0;
		u->expires_at = u->expires_at ? u->expires_at : now_ms + 1;
		u->state = UPLINK_UNREGISTERING;
		send_req(m, u, true, now_ms);
		n++;
	}
	return n;
}

unsigned uplink_mgr_busy(const struct uplink_mgr *m)
{
	unsigned n = 0;
	for (unsigned i = 0; i < m->n; i++) {
		const struct uplink *u = m->v[i];
		if (u && (u->busy_id || (u->state == UPLINK_UNREGISTERING && u->next_ms != NEVER)))
			n++;
	}
	return n;
}

int uplink_mgr_register(struct uplink_mgr *m, const char *name, uint64_t now_ms)
{
	struct uplink *u = by_name(m, name, true);
	if (!u)
		return -ENOENT;
	if (m->stopping)
		return -ESHUTDOWN;
	if (!u->def.enabled)
		return -EPERM; /* enabled: false in the file says otherwise */
	u->manual_off = false;
	u->failures = 0;
	if (u->busy_id) {
		u->pend_reg = true;
		u->pend_unreg = false;
	} else {
		if (u->state != UPLINK_REGISTERED)
			u->state = UPLINK_REGISTERING;
		u->next_ms = now_ms;
	}
	return 0;
}

int uplink_mgr_unregister(struct uplink_mgr *m, const char *name, uint64_t now_ms)
{
	struct uplink *u = by_name(m, name, true);
	if (!u)
		return -ENOENT;
	u->manual_off = true;
	u->pend_reg = false;
	if (u->busy_id) {
		u->pend_unreg = true;
		return 0;
	}
	u->state = UPLINK_UNREGISTERING;
	u->next_ms = now_ms;
	return 0;
}

unsigned uplink_mgr_count(const struct uplink_mgr *m)
{
	unsigned n = 0;
	for (unsigned i = 0; i < m->n; i++)
		n += m->v[i] != NULL;
	return n;
}

static void fill_info(const struct uplink_mgr *m, const struct uplink *u, uint64_t now,
		      struct uplink_info *o)
{
	*o = (struct uplink_info){
		.name = u->def.name,
		.state = u->state,
		.registrar = u->registrar_text,
		.transport = u->def.transport,
		.aor = u->aor,
		.contact = u->contact,
		.call_id = u->call_id,
		.cseq = u->cseq,
		.expires_asked = u->asked,
		.expires_granted = u->state == UPLINK_REGISTERED ? u->granted : 0,
		.expires_in_ms = u->expires_at > now ? (int64_t)(u->expires_at - now) : 0,
		.next_action_ms = u->next_ms != NEVER
					  ? (u->next_ms > now ? (int64_t)(u->next_ms - now) : 0)
					  : -1,
		.last_status = u->last_status,
		.last_reason = u->last_reason,
		.failures = u->failures,
		.send_unregister = want_unreg(m, u),
		.enabled = u->def.enabled,
		.busy = u->busy_id != 0,
	};
}

bool uplink_mgr_info(const struct uplink_mgr *m, unsigned i, uint64_t now_ms,
		     struct uplink_info *out)
{
	for (unsigned k = 0; k < m->n; k++) {
		if (!m->v[k])
			continue;
		if (i-- == 0) {
			fill_info(m, m->v[k], now_ms, out);
			return true;
		}
	}
	return false;
}

bool uplink_mgr_find(const struct uplink_mgr *m, const char *name, uint64_t now_ms,
		     struct uplink_info *out)
{
	const struct uplink *u = by_name(m, name, false);
	if (!u)
		return false;
	fill_info(m, u, now_ms, out);
	return true;
}

bool uplink_mgr_uses(const struct uplink_mgr *m, const char *host, bool with_port)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct uplink_def *d = m->v[i] ? &m->v[i]->def : NULL;
		if (d &&
		    ((!strcasecmp(d->registrar, host) && !!d->port == with_port) ||
		     (d->proxy[0] && !strcasecmp(d->proxy, host) && !!d->proxy_port == with_port)))
			return true;
	}
	return false;
}

void uplink_mgr_states(const struct uplink_mgr *m, uint64_t out[UPLINK_STATE__COUNT])
{
	memset(out, 0, sizeof(uint64_t) * UPLINK_STATE__COUNT);
	for (unsigned i = 0; i < m->n; i++)
		if (m->v[i] && (unsigned)m->v[i]->state < UPLINK_STATE__COUNT)
			out[m->v[i]->state]++;
}

const struct uplink_counters *uplink_mgr_counters(const struct uplink_mgr *m)
{
	return &m->cnt;
}

/* ---- contact users -> uplink ---- */

struct uplink_index {
	unsigned n;
	struct {
		const char *user;
		const char *name;
	} * e;
	char *strings;
};

static int ix_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct uplink_index *uplink_index_build(const struct uplink_defs *defs)
{
	struct uplink_index *x = calloc(1, sizeof(*x));
	size_t bytes = 0;
	if (!x)
		return NULL;
	for (unsigned i = 0; i < defs->n; i++) {
		const struct uplink_def *d = &defs->v[i];
		const char *cu = d->contact_user[0] ? d->contact_user : d->user;
		bytes += strlen(cu) + strlen(d->name) + 2;
	}
	x->e = calloc(defs->n ? defs->n : 1, sizeof(*x->e));
	x->strings = malloc(bytes ? bytes : 1);
	if (!x->e || !x->strings) {
		uplink_index_free(x);
		return NULL;
	}
	char *s = x->strings;
	for (unsigned i = 0; i < defs->n; i++) {
		const struct uplink_def *d = &defs->v[i];
		if (!d->enabled)
			continue;
		const char *cu = d->contact_user[0] ? d->contact_user : d->user;
		size_t a = strlen(cu) + 1, b = strlen(d->name) + 1;
		memcpy(s, cu, a);
		memcpy(s + a, d->name, b);
		x->e[x->n].user = s;
		x->e[x->n].name = s + a;
		x->n++;
		s += a + b;
	}
	qsort(x->e, x->n, sizeof(*x->e), ix_cmp);
	return x;
}

const char *uplink_index_find(const struct uplink_index *x, struct sv user)
{
	if (!x || !user.len)
		return NULL;
	unsigned lo = 0, hi = x->n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const char *k = x->e[mid].user;
		size_t kl = strlen(k);
		int c = memcmp(k, user.p, kl < user.len ? kl : user.len);
		if (!c)
			c = kl < user.len ? -1 : kl > user.len ? 1 : 0;
		if (!c)
			return x->e[mid].name;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void uplink_index_free(struct uplink_index *x)
{
	if (!x)
		return;
	free(x->e);
	free(x->strings);
	free(x);
}
