/* SPDX-License-Identifier: MIT */
/*
 * load_sip.c: templates, the answer scan and the scenarios of sipring-load
 * (see load_sip.h).
 */
#define _GNU_SOURCE /* memmem */
#include "load_sip.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CSEQ_DIGITS_MAX 10

/* The holes: their marker (LOAD_MARK_*, as a character constant here), and the
 * octets each takes filled, at least and at most. */
static const struct {
	char mark;
	uint8_t kind;
	uint16_t fixed, worst;
} holes[] = {
	{ '\x01', LOAD_PATCH_ID, LOAD_ID_LEN, LOAD_ID_LEN },
	{ '\x02', LOAD_PATCH_CSEQ, 0, CSEQ_DIGITS_MAX },
	{ '\x03', LOAD_PATCH_USER, LOAD_USER_LEN, LOAD_USER_LEN },
	{ '\x04', LOAD_PATCH_EXTRA, 0, LOAD_EXTRA_MAX },
};

int load_tmpl_compile(struct load_tmpl *t, const char *text, size_t len)
{
	memset(t, 0, sizeof(*t));
	size_t out = 0, fixed = 0, worst = 0;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		size_t h = 0;
		while (h < sizeof(holes) / sizeof(holes[0]) && holes[h].mark != c)
			h++;
		if (h < sizeof(holes) / sizeof(holes[0])) {
			if (t->npatch == LOAD_PATCH_MAX)
				return -E2BIG;
			t->patch[t->npatch].off = (uint16_t)out;
			t->patch[t->npatch].kind = holes[h].kind;
			t->npatch++;
			fixed += holes[h].fixed;
			worst += holes[h].worst;
			continue;
		}
		if (out == sizeof(t->text))
			return -E2BIG;
		t->text[out++] = c;
	}
	if (out + worst > LOAD_MSG_MAX)
		return -E2BIG;
	t->len = (uint16_t)out;
	t->fixed_len = (uint16_t)(out + fixed);
	return 0;
}

static const char hex_digit[16] = "0123456789abcdef";

static void put_hex(char *out, uint32_t v, unsigned digits)
{
	for (unsigned i = digits; i-- > 0; v >>= 4)
		out[i] = hex_digit[v & 15];
}

void load_id_format(char *out, const struct load_id *id)
{
	put_hex(out, id->thread, 2);
	out[2] = '-';
	put_hex(out + 3, id->slot, 6);
	out[9] = '-';
	put_hex(out + 10, id->gen, 8);
}

static bool get_hex(const char *p, unsigned digits, uint32_t *v)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < digits; i++) {
		unsigned c = (unsigned char)p[i], d;
		if (c - '0' <= 9)
			d = c - '0';
		else if ((c | 0x20) - 'a' <= 5)
			d = (c | 0x20) - 'a' + 10;
		else
			return false;
		n = n << 4 | d;
	}
	*v = n;
	return true;
}

bool load_id_parse(const char *p, struct load_id *id)
{
	uint32_t th;
	if (p[2] != '-' || p[9] != '-')
		return false;
	if (!get_hex(p, 2, &th) || !get_hex(p + 3, 6, &id->slot) || !get_hex(p + 10, 8, &id->gen))
		return false;
	id->thread = th;
	return true;
}

static size_t put_dec(char *out, uint32_t v)
{
	char tmp[CSEQ_DIGITS_MAX];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

size_t load_tmpl_fill(const struct load_tmpl *t, char *out, const struct load_vars *v)
{
	char idtext[LOAD_ID_LEN];
	load_id_format(idtext, &v->id);
	size_t src = 0, pos = 0;
	for (unsigned i = 0; i < t->npatch; i++) {
		size_t off = t->patch[i].off;
		memcpy(out + pos, t->text + src, off - src);
		pos += off - src;
		src = off;
		switch (t->patch[i].kind) {
		case LOAD_PATCH_ID:
			memcpy(out + pos, idtext, LOAD_ID_LEN);
			pos += LOAD_ID_LEN;
			break;
		case LOAD_PATCH_CSEQ:
			pos += put_dec(out + pos, v->cseq);
			break;
		case LOAD_PATCH_USER:
			load_user_name(out + pos, v->user);
			pos += LOAD_USER_LEN;
			break;
		case LOAD_PATCH_EXTRA:
			if (v->extra && v->extra_len <= LOAD_EXTRA_MAX) {
				memcpy(out + pos, v->extra, v->extra_len);
				pos += v->extra_len;
			}
			break;
		}
	}
	memcpy(out + pos, t->text + src, t->len - src);
	return pos + t->len - src;
}

void load_user_name(char *out, uint32_t n)
{
	out[0] = 'u';
	for (unsigned i = LOAD_USER_LEN; i-- > 1; n /= 10)
		out[i] = (char)('0' + n % 10);
}

void load_user_password(char *out, uint32_t n)
{
	out[0] = 'p';
	out[1] = 'w';
	put_hex(out + 2, (n - LOAD_USER_FIRST) * 2654435761u, 8);
}

/* ---- the answer scan ---- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Does the header line l[0..n) have the name long (or its compact form c, 0 for
 * none), any case? *value = after the colon.
 */
static bool is_header(const char *l, size_t n, const char *name, char c, size_t *value)
{
	size_t i = 0, nl = strlen(name);
	if (n >= nl && strncasecmp(l, name, nl) == 0)
		i = nl;
	else if (c && n >= 1 && (l[0] | 0x20) == c)
		i = 1;
	else
		return false;
	while (i < n && is_ws(l[i]))
		i++;
	if (i == n || l[i] != ':')
		return false;
	*value = i + 1;
	return true;
}

/* Find our identity in the branch of the first via-parm of v[0..n). */
static bool via_branch(const char *v, size_t n, struct load_id *id)
{
	static const char key[] = "branch=" LOAD_BRANCH_MAGIC;
	const size_t klen = sizeof(key) - 1;
	const char *comma = memchr(v, ',', n);
	if (comma)
		n = (size_t)(comma - v);
	const char *b = memmem(v, n, key, klen);
	if (!b)
		return false;
	size_t at = (size_t)(b - v) + klen;
	if (n - at < LOAD_ID_LEN)
		return false;
	if (n - at > LOAD_ID_LEN) {
		char d = v[at + LOAD_ID_LEN];
		if (d != ';' && d != '\r' && !is_ws(d))
			return false;
	}
	return load_id_parse(v + at, id);
}

int load_answer_scan(const char *p, size_t len, struct load_answer *a)
{
	memset(a, 0, sizeof(*a));
	const char *end = p + len;
	const char *eol = memchr(p, '\n', len);
	if (!eol)
		return -EBADMSG;
	size_t first = (size_t)(eol - p);
	if (first >= 12 && memcmp(p, "SIP/2.0 ", 8) == 0) {
		unsigned d0 = (unsigned char)p[8] - '0', d1 = (unsigned char)p[9] - '0',
			 d2 = (unsigned char)p[10] - '0';
		if (d0 < 1 || d0 > 6 || d1 > 9 || d2 > 9 || (p[11] != ' ' && p[11] != '\r'))
			return -EBADMSG;
		a->status = (int)(d0 * 100 + d1 * 10 + d2);
	} else {
		const char *sp = memchr(p, ' ', first);
		if (!sp || sp == p || first < 8 || memmem(p, first, " SIP/2.0", 8) == NULL)
			return -EBADMSG;
		a->method = p;
		a->method_len = (size_t)(sp - p);
	}
	/* a challenge: every header line is looked at, not only up to the top Via */
	const char *chal = a->status == 401   ? "WWW-Authenticate"
			   : a->status == 407 ? "Proxy-Authenticate"
					      : NULL;
	bool via_seen = false;
	for (const char *l = eol + 1; l < end;) {
		const char *e = memchr(l, '\n', (size_t)(end - l));
		size_t n = (size_t)((e ? e : end) - l);
		if (n > 0 && l[n - 1] == '\r')
			n--;
		if (n == 0)
			break; /* end of the header */
		size_t value;
		if (!via_seen && is_header(l, n, "Via", 'v', &value)) {
			a->has_id = via_branch(l + value, n - value, &a->id);
			via_seen = true; /* only the top Via is ours */
			if (!chal)
				break;
		} else if (chal && a->nchallenge < LOAD_CHALLENGES_MAX &&
			   is_header(l, n, chal, 0, &value)) {
			while (value < n && is_ws(l[value]))
				value++;
			a->challenge[a->nchallenge].p = l + value;
			a->challenge[a->nchallenge].len = n - value;
			a->nchallenge++;
		}
		if (!e)
			break;
		l = e + 1;
	}
	return 0;
}

/* ---- scenarios ---- */

/* One non-INVITE request (OPTIONS unless --method says otherwise), one answer. */
static int options_build(const struct load_req_params *rp, unsigned step, struct load_tmpl *t)
{
	char text[LOAD_MSG_MAX + 64];
	(void)step;
	int n = snprintf(text, sizeof(text),
			 "%s %s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s:%u;branch=" LOAD_BRANCH_MAGIC LOAD_MARK_ID "\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:%s@%s>;tag=" LOAD_MARK_ID "\r\n"
			 "To: <%s>\r\n"
			 "Call-ID: " LOAD_MARK_ID "-%s@%s\r\n"
			 "CSeq: " LOAD_MARK_CSEQ " %s\r\n"
			 "User-Agent: sipring-load\r\n"
			 "Content-Length: 0\r\n"
			 "\r\n",
			 rp->method, rp->ruri, rp->host, rp->port, rp->from_user, rp->host,
			 rp->to_uri ? rp->to_uri : rp->ruri, rp->run_tag, rp->host, rp->method);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -E2BIG;
	return load_tmpl_compile(t, text, (size_t)n);
}

static enum load_verdict options_answer(const struct load_answer *a, unsigned step)
{
	(void)step;
	return a->status < 200 ? LOAD_PROVISIONAL : LOAD_FINAL;
}

/*
 * REGISTER of the user in the hole, from the socket of rp (step 1 of
 * register-auth: with the Authorization hole). The Request-URI is --ruri
 * (sip:HOST:PORT by default, as the anchor's SIPp scenario sends).
 */
static int register_build(const struct load_req_params *rp, unsigned step, struct load_tmpl *t)
{
	char text[LOAD_MSG_MAX + 64];
	int n = snprintf(text, sizeof(text),
			 "REGISTER %s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s:%u;branch=" LOAD_BRANCH_MAGIC LOAD_MARK_ID "\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:" LOAD_MARK_USER "@%s>;tag=" LOAD_MARK_ID "\r\n"
			 "To: <sip:" LOAD_MARK_USER "@%s>\r\n"
			 "Call-ID: " LOAD_MARK_USER "-%s@%s\r\n"
			 "CSeq: " LOAD_MARK_CSEQ " REGISTER\r\n"
			 "Contact: <sip:" LOAD_MARK_USER "@%s:%u>\r\n"
			 "%s"
			 "Expires: %u\r\n"
			 "User-Agent: sipring-load\r\n"
			 "Content-Length: 0\r\n"
			 "\r\n",
			 rp->ruri, rp->host, rp->port, rp->domain, rp->domain, rp->run_tag,
			 rp->host, rp->host, rp->port, step > 0 ? LOAD_MARK_EXTRA : "",
			 LOAD_EXPIRES);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -E2BIG;
	return load_tmpl_compile(t, text, (size_t)n);
}

static enum load_verdict register_answer(const struct load_answer *a, unsigned step)
{
	(void)step;
	if (a->status < 200)
		return LOAD_PROVISIONAL;
	return a->status == 200 ? LOAD_FINAL : LOAD_FAILED;
}

/* 401 then 200: anything else (a 200 without a challenge too) fails. */
static enum load_verdict register_auth_answer(const struct load_answer *a, unsigned step)
{
	if (a->status < 200)
		return LOAD_PROVISIONAL;
	if (step == 0)
		return a->status == 401 ? LOAD_NEXT : LOAD_FAILED;
	return a->status == 200 ? LOAD_FINAL : LOAD_FAILED;
}

static const struct load_scen scens[] = {
	{ "options", NULL, 1, 0, options_build, options_answer },
	{ "register", "REGISTER", 1, LOAD_SCEN_USERS, register_build, register_answer },
	{ "register-auth", "REGISTER", 2, LOAD_SCEN_USERS | LOAD_SCEN_AUTH, register_build,
	  register_auth_answer },
};

const struct load_scen *load_scen_find(const char *name)
{
	for (size_t i = 0; i < sizeof(scens) / sizeof(scens[0]); i++)
		if (strcmp(scens[i].name, name) == 0)
			return &scens[i];
	return NULL;
}

const char *load_scen_names(void)
{
	return "options, register, register-auth";
}
