/* SPDX-License-Identifier: MIT */
/*
 * cmd_status.c: see cmd_status.h. Three parts: the URL (url_parse()), the
 * HTTP exchange (a non-blocking socket waited on with poll() against one
 * deadline per phase, so that a silent peer costs at most the timeout), and
 * the response parser (resp_parse(), which does no I/O: it is called on what
 * has arrived after every read and says done, need more, or malformed), then
 * the command: its options and its exchange with the daemon are cli_api.h's
 * (which asks with this client), its output is its own.
 */
#define _GNU_SOURCE
#include "cmd_status.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli_api.h"
#include "core/conf.h"

#define MAX_HEAD    (64u << 10)
#define STATUS_PATH "/api/v1/status"

const char cmd_status_help[] =
	"\n"
	"Asks a running sipring for its status (GET /api/v1/status on its management\n"
	"endpoint) and prints the node, version, state, uptime, one line per worker\n"
	"(messages received and sent, parse errors, TCP connections, loop busy %)\n"
	"and the totals.\n"
	"\n"
	"options:\n" CLI_API_ENDPOINT_HELP CLI_API_JSON_HELP "\n"
	"exit status: 0 done; 1 the daemon could not be asked (not running, refused,\n"
	"timed out, an error answer); 2 usage error or a configuration that does not\n"
	"load.\n";

/* ---- the URL ---- */

struct url {
	char host[256];	    /* a name or an address, without brackets */
	char port[6];	    /* decimal */
	char hostport[270]; /* "127.0.0.1:8080", "[::1]:8080": for messages and Host: */
	char base[256];	    /* the path before the API's, "" or "/x" (no trailing '/') */
};

static bool host_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* http://HOST[:PORT][/BASE]; "http://" may be left out. */
static int url_parse(const char *s, struct url *u)
{
	const char *p = s, *h, *he, *q;
	bool v6 = false;
	size_t hl, bl;
	unsigned long port = 80;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(p, "http://", 7) == 0)
		p += 7;
	else if (strstr(p, "://"))
		return -EINVAL; /* https:// and the rest */
	if (*p == '[') {
		h = p + 1;
		he = strchr(h, ']');
		if (!he)
			return -EINVAL;
		q = he + 1;
		v6 = true;
	} else {
		h = p;
		for (he = h; host_char(*he); he++)
			;
		q = he;
	}
	hl = (size_t)(he - h);
	if (hl == 0 || hl >= sizeof(u->host))
		return -EINVAL;
	memcpy(u->host, h, hl);
	if (v6) {
		struct in6_addr a;

		if (inet_pton(AF_INET6, u->host, &a) != 1)
			return -EINVAL;
	}
	if (*q == ':') {
		char *e;

		q++;
		if (!isdigit((unsigned char)*q))
			return -EINVAL;
		port = strtoul(q, &e, 10);
		if (port == 0 || port > 65535 || e - q > 5)
			return -EINVAL;
		q = e;
	}
	if (*q != '\0' && *q != '/')
		return -EINVAL;
	bl = strlen(q);
	while (bl && q[bl - 1] == '/')
		bl--;
	if (bl >= sizeof(u->base))
		return -EINVAL;
	for (size_t i = 0; i < bl; i++)
		if ((unsigned char)q[i] <= 0x20 || q[i] == 0x7f || q[i] == '?' || q[i] == '#')
			return -EINVAL;
	memcpy(u->base, q, bl);
	snprintf(u->port, sizeof(u->port), "%lu", port);
	snprintf(u->hostport, sizeof(u->hostport), v6 ? "[%s]:%s" : "%s:%s", u->host, u->port);
	return 0;
}

/* ---- the response parser: no I/O ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * A chunked body in p[0..n). With out NULL it measures: *total gets the
 * decoded size. With out, it also copies the data there. Returns 1 when the
 * last chunk and the trailers are all there, 0 when more is needed, -EBADMSG,
 * -E2BIG.
 */
static int chunked(const char *p, size_t n, char *out, size_t *total)
{
	size_t i = 0, sum = 0;

	for (;;) {
		size_t size = 0, digits = 0;
		int d;

		while (i < n && (d = hexval(p[i])) >= 0) {
			if (++digits > 8)
				return -EBADMSG;
			size = size * 16 + (size_t)d;
			i++;
		}
		if (i == n)
			return 0;
		if (!digits || (p[i] != '\r' && p[i] != ';' && p[i] != ' ' && p[i] != '\t'))
			return -EBADMSG;
		while (i < n && p[i] != '\r' && p[i] != '\n') /* chunk extensions: ignored */
			i++;
		if (i + 2 > n)
			return 0;
		if (p[i] != '\r' || p[i + 1] != '\n')
			return -EBADMSG;
		i += 2;
		if (size == 0)
			break;
		if (size > CMD_STATUS_MAX_BODY - sum)
			return -E2BIG;
		if (n - i < size + 2)
			return 0;
		if (out)
			memcpy(out + sum, p + i, size);
		sum += size;
		i += size;
		if (p[i] != '\r' || p[i + 1] != '\n')
			return -EBADMSG;
		i += 2;
	}
	for (;;) { /* trailer fields, then an empty line */
		const char *eol = memmem(p + i, n - i, "\r\n", 2);

		if (!eol)
			return 0;
		if (eol == p + i)
			break;
		i = (size_t)(eol - p) + 2;
	}
	*total = sum;
	return 1;
}

static bool name_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* The framing a response's head announces. */
struct head {
	int status;
	size_t body_off; /* where the body starts */
	bool chunked;
	bool have_length;
	uint64_t length;
};

/* The status line and header fields of the response at buf[0..len). */
static int head_parse(const char *buf, size_t len, struct head *h)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *p, *eol;

	memset(h, 0, sizeof(*h));
	if (!end)
		return len > MAX_HEAD ? -EBADMSG : 0;
	if (end - buf < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)buf[7]) ||
	    buf[8] != ' ' || !isdigit((unsigned char)buf[9]) || !isdigit((unsigned char)buf[10]) ||
	    !isdigit((unsigned char)buf[11]) || (buf[12] != ' ' && buf[12] != '\r'))
		return -EBADMSG;
	h->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	h->body_off = (size_t)(end - buf) + 4;
	/* The header lines: after the status line's CRLF, up to end's (end + 2). */
	p = (const char *)memmem(buf, (size_t)(end + 2 - buf), "\r\n", 2) + 2;
	for (; p < end + 2; p = eol + 2) {
		const char *colon, *v, *ve;

		eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return -EBADMSG;
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		if (name_is(p, (size_t)(colon - p), "Content-Length")) {
			uint64_t n = 0;

			if (v == ve || ve - v > 18)
				return -EBADMSG;
			for (const char *d = v; d < ve; d++) {
				if (!isdigit((unsigned char)*d))
					return -EBADMSG;
				n = n * 10 + (uint64_t)(*d - '0');
			}
			if (h->have_length && n != h->length)
				return -EBADMSG;
			h->have_length = true;
			h->length = n;
		} else if (name_is(p, (size_t)(colon - p), "Transfer-Encoding")) {
			/* chunked is the last coding when there is one (RFC 9112 §6.3) */
			h->chunked = ve - v >= 7 && strncasecmp(ve - 7, "chunked", 7) == 0;
		}
	}
	return 1;
}

/*
 * The response in buf[0..len); eof: nothing more will come. Returns 1 and
 * *resp (the body copied and de-chunked), 0 when more is needed, -EBADMSG,
 * -E2BIG, -ENOMEM. Interim 1xx responses are skipped.
 */
static int resp_parse(const char *buf, size_t len, bool eof, struct cmd_status_resp *resp)
{
	struct head h;
	size_t n, size = 0;
	int r;

	for (;;) {
		r = head_parse(buf, len, &h);
		if (r <= 0)
			return r == 0 && eof ? -EBADMSG : r;
		if (h.status < 100 || h.status / 100 != 1 || h.status == 101)
			break;
		buf += h.body_off;
		len -= h.body_off;
	}
	buf += h.body_off;
	n = len - h.body_off;
	if (h.status == 204 || h.status == 304) {
		size = 0;
	} else if (h.chunked) {
		r = chunked(buf, n, NULL, &size);
		if (r <= 0)
			return r == 0 && eof ? -EBADMSG : r;
	} else if (h.have_length) {
		if (h.length > CMD_STATUS_MAX_BODY)
			return -E2BIG;
		if (n < h.length)
			return eof ? -EBADMSG : 0;
		size = (size_t)h.length;
	} else {
		/* Framed by the end of the connection. */
		if (n > CMD_STATUS_MAX_BODY)
			return -E2BIG;
		if (!eof)
			return 0;
		size = n;
	}
	resp->body = malloc(size + 1);
	if (!resp->body)
		return -ENOMEM;
	if (h.chunked && size)
		chunked(buf, n, resp->body, &size);
	else
		memcpy(resp->body, buf, size);
	resp->body[size] = '\0';
	resp->len = size;
	resp->status = h.status;
	return 1;
}

/* ---- the exchange ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline; 0 when they came, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* A connected socket to u (every address of its host in turn), or -errno. */
static int dial(const struct url *u, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	int64_t deadline = now_ms() + CMD_STATUS_TIMEOUT_MS;
	int e = ECONNREFUSED, r;

	r = getaddrinfo(u->host, u->port, &hints, &res);
	if (r != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", u->host,
			 r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return r == EAI_MEMORY ? -ENOMEM : -ENOENT;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		socklen_t sl = sizeof(e);

		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			freeaddrinfo(res);
			return fd;
		}
		if (errno != EINPROGRESS) {
			e = errno;
			close(fd);
			continue;
		}
		r = wait_fd(fd, POLLOUT, deadline);
		if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0 && e == 0) {
			freeaddrinfo(res);
			return fd;
		}
		if (r < 0)
			e = -r;
		close(fd);
		if (r == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	snprintf(err, errlen, "cannot connect to %s: %s", u->hostport, strerror(e));
	return -e;
}

/* Send the request and read the response, all before one deadline. */
static int exchange(int fd, const struct url *u, const char *req, size_t reqlen,
		    struct cmd_status_resp *resp, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + CMD_STATUS_TIMEOUT_MS;
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int r;

	while (reqlen) {
		ssize_t n = send(fd, req, reqlen, MSG_NOSIGNAL);

		if (n > 0) {
			req += n;
			reqlen -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			r = -errno;
			snprintf(err, errlen, "%s: sending the request: %s", u->hostport,
				 strerror(errno));
			return r;
		}
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			goto timeout;
	}
	for (;;) {
		ssize_t n;

		if (cap - len < 16384) {
			char *p;

			cap = cap ? cap * 2 : 65536;
			if (cap > CMD_STATUS_MAX_BODY + MAX_HEAD + 65536) {
				r = -E2BIG;
				break;
			}
			p = realloc(buf, cap);
			if (!p) {
				r = -ENOMEM;
				break;
			}
			buf = p;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			r = wait_fd(fd, POLLIN, deadline);
			if (r < 0) {
				free(buf);
				goto timeout;
			}
			continue;
		}
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: reading the answer: %s", u->hostport,
				 strerror(errno));
			free(buf);
			return r;
		}
		len += (size_t)n;
		r = resp_parse(buf, len, n == 0, resp);
		if (r != 0)
			break;
	}
	free(buf);
	if (r == 1)
		return 0;
	if (r == -E2BIG)
		snprintf(err, errlen, "%s: the answer is larger than %u octets", u->hostport,
			 CMD_STATUS_MAX_BODY);
	else if (r == -EBADMSG)
		snprintf(err, errlen, "%s: the answer is not HTTP, or is cut short", u->hostport);
	else
		snprintf(err, errlen, "%s: %s", u->hostport, strerror(-r));
	return r;
timeout:
	snprintf(err, errlen, "%s: no answer within %d ms", u->hostport, CMD_STATUS_TIMEOUT_MS);
	return -ETIMEDOUT;
}

int cmd_status_request(const char *url, const char *method, const char *path, const char *body,
		       size_t body_len, struct cmd_status_resp *resp, char *err, size_t errlen)
{
	char *req, clen[64] = "";
	struct url u;
	int fd, n, r;

	memset(resp, 0, sizeof(*resp));
	if (url_parse(url, &u) != 0) {
		snprintf(err, errlen, "not an http:// URL: '%s'", url);
		return -EINVAL;
	}
	if (body)
		snprintf(clen, sizeof(clen),
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n", body_len);
	n = asprintf(&req,
		     "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sipringctl\r\n"
		     "Accept: application/json\r\n%sConnection: close\r\n\r\n",
		     method, u.base, path, u.hostport, clen);
	if (n < 0) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (body) {
		char *p = realloc(req, (size_t)n + body_len + 1);

		if (!p) {
			free(req);
			snprintf(err, errlen, "%s", strerror(ENOMEM));
			return -ENOMEM;
		}
		req = p;
		memcpy(req + n, body, body_len);
	}
	fd = dial(&u, err, errlen);
	if (fd < 0) {
		free(req);
		return fd;
	}
	r = exchange(fd, &u, req, (size_t)n + (body ? body_len : 0), resp, err, errlen);
	resp->connected = true;
	close(fd);
	free(req);
	return r;
}

int cmd_status_get(const char *url, const char *path, struct cmd_status_resp *resp, char *err,
		   size_t errlen)
{
	return cmd_status_request(url, "GET", path, NULL, 0, resp, err, errlen);
}

/* ---- the command ---- */

/*
 * It takes no operands ("-" and "--" are unknown options), only 200 is an
 * answer, and the daemon's error is printed as it is.
 */
static const struct cli_api_cmd status_cmd = {
	.name = "status",
	.args = CMD_STATUS_ARGS,
	.summary = CMD_STATUS_SUMMARY,
	.help = cmd_status_help,
	.answer = "sipring's status JSON",
	.only_200 = true,
	.error_as_is = true,
};

int cmd_status_config_url(const char *path, char *url, size_t len, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN];
	struct conf c;
	int r;

	if (errlen)
		err[0] = '\0';
	r = conf_load(path, &c, err, errlen);
	if (r < 0) {
		if (errlen && !err[0])
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!c.http_enabled) {
		snprintf(err, errlen, "%s: http.listen is off: the management endpoint is disabled",
			 path);
		conf_free(&c);
		return -ENOTCONN;
	}
	/* The unspecified address means every local one: ask at the loopback's. */
	if (c.http_addr.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&c.http_addr;
		struct in6_addr any = IN6ADDR_ANY_INIT, lo = IN6ADDR_LOOPBACK_INIT;

		inet_ntop(AF_INET6, memcmp(&a->sin6_addr, &any, sizeof(any)) ? &a->sin6_addr : &lo,
			  host, sizeof(host));
		snprintf(url, len, "http://[%s]:%u", host, ntohs(a->sin6_port));
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&c.http_addr;
		struct in_addr lo = { .s_addr = htonl(INADDR_LOOPBACK) };

		inet_ntop(AF_INET, a->sin_addr.s_addr != htonl(INADDR_ANY) ? &a->sin_addr : &lo,
			  host, sizeof(host));
		snprintf(url, len, "http://%s:%u", host, ntohs(a->sin_port));
	}
	conf_free(&c);
	return 0;
}

/* A whole number (or "-" when absent) into cell. */
static void jint(const cJSON *o, const char *k, char cell[32])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsNumber(v))
		snprintf(cell, 32, "%.0f", v->valuedouble);
	else
		snprintf(cell, 32, "-");
}

static void uptime(double s, char *buf, size_t len)
{
	uint64_t t = s > 0 ? (uint64_t)s : 0;
	unsigned d = (unsigned)(t / 86400), h = (unsigned)(t / 3600 % 24),
		 m = (unsigned)(t / 60 % 60), sec = (unsigned)(t % 60);

	if (d)
		snprintf(buf, len, "%ud %02u:%02u:%02u", d, h, m, sec);
	else
		snprintf(buf, len, "%02u:%02u:%02u", h, m, sec);
}

enum { C_WORKER, C_CPU, C_PORT, C_RX, C_TX, C_PERR, C_TCP, C_BUSY, NCOL };

static void print_human(FILE *out, const cJSON *root)
{
	static const char *const head[NCOL] = { "worker", "cpu",	  "port", "received",
						"sent",	  "parse errors", "tcp",  "busy" };
	const cJSON *workers = cJSON_GetObjectItemCaseSensitive(root, "workers");
	const cJSON *totals = cJSON_GetObjectItemCaseSensitive(root, "totals");
	const cJSON *v, *w;
	int nw = cJSON_IsArray(workers) ? cJSON_GetArraySize(workers) : 0;
	char(*cell)[NCOL][32] = calloc((size_t)nw + 2, sizeof(*cell));
	bool show[NCOL];
	size_t width[NCOL];
	char buf[64];
	double tcp = 0;
	int row = 1;

	if (cli_api_jstr(root, "node"))
		fprintf(out, "node     %s\n", cli_api_jstr(root, "node"));
	fprintf(out, "version  %s\n",
		cli_api_jstr(root, "version") ? cli_api_jstr(root, "version") : "-");
	if (cli_api_jstr(root, "state"))
		fprintf(out, "state    %s\n", cli_api_jstr(root, "state"));
	v = cJSON_GetObjectItemCaseSensitive(root, "uptime_seconds");
	uptime(cJSON_IsNumber(v) ? v->valuedouble : 0, buf, sizeof(buf));
	fprintf(out, "uptime   %s\n", buf);
	jint(root, "pid", buf);
	fprintf(out, "pid      %s\n", buf);
	if (cli_api_jstr(root, "config_file"))
		fprintf(out, "config   %s\n", cli_api_jstr(root, "config_file"));
	v = cJSON_GetObjectItemCaseSensitive(root, "listen");
	if (cJSON_IsArray(v) && cJSON_GetArraySize(v)) {
		const char *sep = "";

		fputs("listen   ", out);
		cJSON_ArrayForEach(w, v)
		{
			if (cJSON_IsString(w)) {
				fprintf(out, "%s%s", sep, w->valuestring);
				sep = ", ";
			}
		}
		fputc('\n', out);
	}
	if (!cell)
		return;

	/* The workers' table: row 0 the head, then one per worker, then the total. */
	for (int k = 0; k < NCOL; k++)
		snprintf(cell[0][k], 32, "%s", head[k]);
	show[C_CPU] = show[C_PORT] = false;
	cJSON_ArrayForEach(w, workers)
	{
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(w, "loop_utilisation");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(w, "tcp_connections");

		jint(w, "id", cell[row][C_WORKER]);
		jint(w, "cpu", cell[row][C_CPU]);
		jint(w, "private_port", cell[row][C_PORT]);
		jint(w, "messages_received", cell[row][C_RX]);
		jint(w, "messages_sent", cell[row][C_TX]);
		jint(w, "parse_errors", cell[row][C_PERR]);
		jint(w, "tcp_connections", cell[row][C_TCP]);
		if (cJSON_IsNumber(u))
			snprintf(cell[row][C_BUSY], 32, "%.1f%%", u->valuedouble * 100);
		else
			snprintf(cell[row][C_BUSY], 32, "-");
		show[C_CPU] |= cJSON_HasObjectItem(w, "cpu");
		show[C_PORT] |= cJSON_HasObjectItem(w, "private_port");
		if (cJSON_IsNumber(t))
			tcp += t->valuedouble;
		row++;
	}
	snprintf(cell[row][C_WORKER], 32, "total");
	jint(totals, "messages_received", cell[row][C_RX]);
	jint(totals, "messages_sent", cell[row][C_TX]);
	jint(totals, "parse_errors", cell[row][C_PERR]);
	snprintf(cell[row][C_TCP], 32, "%.0f", tcp);
	row++;
	show[C_WORKER] = show[C_RX] = show[C_TX] = show[C_PERR] = show[C_TCP] = show[C_BUSY] = true;
	for (int k = 0; k < NCOL; k++) {
		width[k] = 0;
		for (int r = 0; r < row; r++)
			if (strlen(cell[r][k]) > width[k])
				width[k] = strlen(cell[r][k]);
	}
	fprintf(out, "workers  %d\n\n", nw);
	for (int r = 0; r < row; r++) {
		char line[NCOL * 36];
		size_t n = 0;

		for (int k = 0; k < NCOL; k++) {
			if (!show[k])
				continue;
			n += (size_t)snprintf(line + n, sizeof(line) - n,
					      k == C_WORKER ? "%s%-*s" : "%s%*s", n ? "  " : "",
					      (int)width[k], cell[r][k]);
		}
		while (n && line[n - 1] == ' ')
			n--; /* the total's empty busy column */
		fprintf(out, "%.*s\n", (int)n, line);
	}
	jint(totals, "drops", buf);
	fprintf(out, "\ndrops    %s\n", buf);
	free(cell);
}

int cmd_status_run(FILE *out, FILE *err, int argc, char **argv)
{
	const struct cli_api_cmd *c = &status_cmd;
	struct cli_api_opts o;
	cJSON *root;
	int r;

	r = cli_api_parse(out, err, c, argc, argv, &o);
	if (r < 0)
		return EXIT_DONE; /* --help */
	if (r > 0)
		return r;
	r = cli_api_endpoint(err, c, &o);
	if (r)
		return r;
	r = cli_api_ask(err, c, &o, "GET", STATUS_PATH, NULL, NULL, NULL, false, &root);
	if (r)
		return r;
	if (o.json)
		cli_api_print_json(out, root);
	else
		print_human(out, root);
	cJSON_Delete(root);
	return EXIT_DONE;
}
