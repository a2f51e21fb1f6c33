/* SPDX-License-Identifier: MIT */
/*
 * service.c: the service thread's loop (see service.h).
 */
#include "service.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mgmt.h"

#define SERVICE_TICK_MS	       100
#define SERVICE_TRACE_FLUSH_MS 200
#define SERVICE_MAX_RETIRED    64

struct service {
	struct daemon *d;
	struct snap *retired[SERVICE_MAX_RETIRED]; /* replaced, not yet freed */
	unsigned nretired;
	struct trace_file *tf;
	char *trace_path; /* of tf */
	struct mgmt *mgmt;
	uint64_t deadline_ms; /* graceful stop */
	uint64_t last_flush_ms;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void snap_filter(struct snap *s)
{
	const struct conf *c = &s->conf;
	memset(&s->trace, 0, sizeof(s->trace));
	s->trace.mode = c->trace_mode;
	s->trace.ip = c->trace_ip;
	if (c->trace_call_id) {
		s->trace.call_id = c->trace_call_id;
		s->trace.call_id_len = strlen(c->trace_call_id);
	}
}

struct snap *service_snap_new(struct conf *c, uint64_t gen, const struct snap_addr *addrs,
			      unsigned naddrs, const uint16_t *ports, unsigned nports)
{
	struct snap *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->conf = *c;
	memset(c, 0, sizeof(*c));
	s->gen = gen;
	s->addrs = addrs;
	s->naddrs = naddrs;
	s->ports = ports;
	s->nports = nports;
	snap_filter(s);
	return s;
}

static void snap_free(struct snap *s)
{
	conf_free(&s->conf);
	free(s);
}

/* ---- trace ---- */

static void trace_drain(struct service *sv)
{
	struct daemon *d = sv->d;
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct ring *r = &d->workers[i].trace;
		struct trace_rec **slot;
		while ((slot = ring_peek(r))) {
			struct trace_rec *rec = *slot;
			ring_release(r);
			if (sv->tf && trace_write(sv->tf, rec) == 0)
				d->node.trace_written++;
			else if (sv->tf)
				d->node.trace_failed++;
			free(rec);
		}
	}
}

/* Open (or keep, or close) the trace file that snapshot s asks for. */
static void trace_apply(struct service *sv, struct snap *s)
{
	const char *path = s->conf.trace_file;
	bool want = path && *path && s->conf.trace_mode != CONF_TRACE_OFF;
	if (sv->tf && (!want || strcmp(path, sv->trace_path))) {
		trace_drain(sv);
		trace_close(sv->tf);
		sv->tf = NULL;
		free(sv->trace_path);
		sv->trace_path = NULL;
	}
	if (want && !sv->tf) {
		int ret = trace_open(&sv->tf, path);
		if (ret < 0) {
			LOG_E("trace", "cannot open the trace file", "file=\"%s\" error=\"%s\"",
			      path, strerror(-ret));
			sv->tf = NULL;
		} else {
			sv->trace_path = strdup(path);
			LOG_I("trace", "tracing", "file=\"%s\"", path);
		}
	}
	s->tracing = sv->tf != NULL;
}

/* ---- snapshots ---- */

static void wake_all(struct daemon *d)
{
	for (unsigned i = 0; i < d->nworkers; i++)
		worker_wake(&d->workers[i]);
}

static void publish(struct service *sv, struct snap *s)
{
	struct daemon *d = sv->d;
	struct snap *old = atomic_exchange(&d->snap, s);
	if (sv->nretired == SERVICE_MAX_RETIRED) {
		/* Reloads faster than workers pass a loop: keep the oldest alive
		 * rather than free one in use (it is reclaimed at exit). */
		LOG_W("service", "too many configuration snapshots pending", NULL);
	} else {
		sv->retired[sv->nretired++] = old;
	}
	wake_all(d);
}

/* Free the retired snapshots every running worker has moved past. */
static void reclaim(struct service *sv)
{
	struct daemon *d = sv->d;
	uint64_t min = UINT64_MAX;
	for (unsigned i = 0; i < d->nworkers; i++) {
		if (atomic_load(&d->workers[i].state) != 1)
			continue;
		uint64_t g = atomic_load(&d->workers[i].seen_gen);
		if (g < min)
			min = g;
	}
	unsigned k = 0;
	for (unsigned i = 0; i < sv->nretired; i++) {
		if (sv->retired[i]->gen < min)
			snap_free(sv->retired[i]);
		else
			sv->retired[k++] = sv->retired[i];
	}
	sv->nretired = k;
}

static void reload(struct service *sv)
{
	struct daemon *d = sv->d;
	struct snap *cur = atomic_load(&d->snap);
	struct conf c;
	char err[512];
	int ret = conf_load(cur->conf.file, &c, err, sizeof(err));
	if (ret < 0) {
		d->node.reloads_failed++;
		LOG_E("service", "reload failed, keeping the running configuration", "error=\"%s\"",
		      err);
		return;
	}
	char keys[512];
	if (conf_restart_keys(&cur->conf, &c, keys, sizeof(keys)))
		LOG_W("service", "reload: these keys need a restart and keep their running values",
		      "keys=\"%s\"", keys);
	struct snap *s = service_snap_new(&c, cur->gen + 1, cur->addrs, cur->naddrs, cur->ports,
					  cur->nports);
	if (!s) {
		conf_free(&c);
		d->node.reloads_failed++;
		LOG_E("service", "reload failed", "error=\"%s\"", strerror(ENOMEM));
		return;
	}
	/* What needs a restart keeps its running value. */
	struct conf *n = &s->conf, *o = &cur->conf;
	n->workers = o->workers;
	n->pin_workers = o->pin_workers;
	n->ring_entries = o->ring_entries;
	n->rx_buffers = o->rx_buffers;
	n->rx_buffer_size = o->rx_buffer_size;
	n->tcp_max_connections = o->tcp_max_connections;
	n->tcp_max_buffer = o->tcp_max_buffer;
	n->private_port_base = o->private_port_base;
	n->http_enabled = o->http_enabled;
	n->http_addr = o->http_addr;
	n->http_addrlen = o->http_addrlen;
	memcpy(n->http_listen_text, o->http_listen_text, sizeof(n->http_listen_text));
	struct conf_listen *l = malloc(sizeof(*l) * o->nlisten);
	if (l) { /* the sockets that are bound, not the file's new list */
		memcpy(l, o->listen, sizeof(*l) * o->nlisten);
		free(n->listen);
		n->listen = l;
		n->nlisten = o->nlisten;
	}
	log_set_level(n->log_level);
	/* Reopen the trace even under the same name: rename + SIGHUP rotates it
	 * (trace_open() appends to a pcap of its own). */
	if (sv->tf) {
		trace_drain(sv);
		trace_close(sv->tf);
		sv->tf = NULL;
		free(sv->trace_path);
		sv->trace_path = NULL;
	}
	trace_apply(sv, s);
	publish(sv, s);
	d->node.reloads_ok++;
	LOG_I("service", "configuration reloaded", "file=\"%s\" generation=%llu", n->file,
	      (unsigned long long)s->gen);
}

/* ---- management ---- */

static void status_json(void *arg, cJSON *root)
{
	struct service *sv = arg;
	struct daemon *d = sv->d;
	struct snap *s = atomic_load(&d->snap);
	int stop = atomic_load(&d->stop);
	cJSON_AddStringToObject(root, "node", s->conf.node_name ? s->conf.node_name : "");
	cJSON_AddStringToObject(root, "state", stop == 0 ? "running" : "stopping");
	cJSON_AddStringToObject(root, "config_file", s->conf.file ? s->conf.file : "");
	cJSON_AddNumberToObject(root, "config_generation", (double)s->gen);
	cJSON *l = cJSON_AddArrayToObject(root, "listen");
	for (unsigned i = 0; l && i < s->conf.nlisten; i++)
		cJSON_AddItemToArray(l, cJSON_CreateString(s->conf.listen[i].text));
	cJSON_AddStringToObject(root, "trace", sv->trace_path ? sv->trace_path : "");
	cJSON *ws = cJSON_GetObjectItemCaseSensitive(root, "workers");
	for (unsigned i = 0; i < d->nworkers; i++) {
		cJSON *w = ws ? cJSON_GetArrayItem(ws, (int)i) : NULL;
		if (!w)
			break;
		cJSON_AddNumberToObject(w, "cpu", d->workers[i].cpu);
		cJSON_AddNumberToObject(w, "private_port", d->workers[i].private_port);
	}
}

static int mgmt_up(struct service *sv, struct mgmt_source *src)
{
	struct daemon *d = sv->d;
	struct snap *s = atomic_load(&d->snap);
	if (!s->conf.http_enabled)
		return 0;
	*src = (struct mgmt_source){
		.workers = d->stats,
		.nworkers = d->nworkers,
		.node = &d->node,
		.version = SIPRING_VERSION,
		.status_json = status_json,
		.arg = sv,
	};
	char err[256];
	int ret = mgmt_start(&sv->mgmt, (const struct sockaddr *)&s->conf.http_addr,
			     s->conf.http_addrlen, src, err, sizeof(err));
	if (ret < 0) {
		LOG_E("mgmt", "cannot start the management endpoint", "error=\"%s\"", err);
		return ret;
	}
	LOG_I("mgmt", "management endpoint", "listen=%s", s->conf.http_listen_text);
	return 0;
}

/* ---- the loop ---- */

static bool all_stopped(struct daemon *d)
{
	for (unsigned i = 0; i < d->nworkers; i++)
		if (atomic_load(&d->workers[i].state) == 1)
			return false;
	return true;
}

static bool all_drained(struct daemon *d)
{
	for (unsigned i = 0; i < d->nworkers; i++)
		if (!worker_drained(&d->workers[i]))
			return false;
	return true;
}

static void begin_stop(struct service *sv, int sig)
{
	struct daemon *d = sv->d;
	int stop = atomic_load(&d->stop);
	if (stop == 0) {
		struct snap *s = atomic_load(&d->snap);
		sv->deadline_ms = now_ms() + s->conf.stop_deadline_ms;
		atomic_store(&d->stop, 1);
		d->node.stopping = 1;
		LOG_I("service", "stopping", "signal=%s deadline_ms=%u", strsignal(sig),
		      s->conf.stop_deadline_ms);
		wake_all(d);
	} else if (stop == 1) {
		LOG_W("service", "second stop signal: leaving now", NULL);
		atomic_store(&d->stop, 2);
		wake_all(d);
	}
}

int service_run(struct daemon *d, int sigfd)
{
	struct service sv = { .d = d };
	struct mgmt_source src;
	int status = 0;

	trace_apply(&sv, atomic_load(&d->snap));
	if (mgmt_up(&sv, &src) < 0) {
		atomic_store(&d->stop, 2);
		wake_all(d);
		status = 1;
	} else {
		LOG_I("service", "ready", "workers=%u version=%s", d->nworkers, SIPRING_VERSION);
	}

	while (!all_stopped(d)) {
		struct pollfd pf[2] = { { .fd = sigfd, .events = POLLIN },
					{ .fd = sv.mgmt ? mgmt_poll_fd(sv.mgmt) : -1,
					  .events = POLLIN } };
		int timeout = SERVICE_TICK_MS;
		if (sv.mgmt) {
			int t = mgmt_poll_timeout_ms(sv.mgmt);
			if (t >= 0 && t < timeout)
				timeout = t;
		}
		int n = poll(pf, 2, timeout);
		if (n < 0 && errno != EINTR) {
			LOG_E("service", "poll failed", "error=\"%s\"", strerror(errno));
			break;
		}
		if (n > 0 && (pf[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP)
					reload(&sv);
				else
					begin_stop(&sv, (int)si.ssi_signo);
			}
		}
		if (sv.mgmt)
			mgmt_process(sv.mgmt);

		uint64_t now = now_ms();
		trace_drain(&sv);
		if (sv.tf && now - sv.last_flush_ms >= SERVICE_TRACE_FLUSH_MS) {
			trace_flush(sv.tf);
			sv.last_flush_ms = now;
		}
		reclaim(&sv);
		if (atomic_load(&d->stop) == 1 && (all_drained(d) || now >= sv.deadline_ms)) {
			if (!all_drained(d))
				LOG_W("service", "stop deadline reached with work left", NULL);
			atomic_store(&d->stop, 2);
			wake_all(d);
		}
	}
	for (unsigned i = 0; i < d->nworkers; i++)
		pthread_join(d->workers[i].thread, NULL);
	trace_drain(&sv);
	if (sv.tf) {
		trace_flush(sv.tf);
		trace_close(sv.tf);
	}
	free(sv.trace_path);
	if (sv.mgmt)
		mgmt_stop(sv.mgmt);
	for (unsigned i = 0; i < sv.nretired; i++)
		snap_free(sv.retired[i]);
	return status;
}
