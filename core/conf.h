/* SPDX-License-Identifier: MIT */
/*
 * conf.h: the node configuration file (YAML, read with libyaml).
 *
 * conf_load() reads one file into a `struct conf` that owns all its strings and
 * arrays; the daemon publishes it as an immutable snapshot (workers read it, the
 * service thread replaces it on SIGHUP with a newly loaded one). Every key has a
 * default (conf_defaults()) and a range; an error names the file, the line and
 * the key: "sipring.yaml:12: sip.max_message_size: 70000 is out of range
 * 1024..65535". Unknown keys are errors (a typo must not silently fall back to a
 * default).
 *
 * The parameter names of the VOS3000 manual (SS_SIP_RESEND_INTERVAL, ...) are
 * accepted as aliases of sipring's own keys, at the top level of the file, with
 * VOS3000's value syntax (On/Off, seconds); docs/configuration.md lists them.
 *
 * Thread-safety: conf_load() and conf_free() touch only the struct given; a
 * loaded conf is read-only and may be read by any number of threads.
 */
#ifndef SIPRING_CONF_H
#define SIPRING_CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum conf_proto { CONF_UDP = 1, CONF_TCP = 2 };

enum conf_log_format { CONF_LOG_LOGFMT = 0, CONF_LOG_JSON = 1 };

enum conf_trace_mode {
	CONF_TRACE_OFF = 0, /* no trace file */
	CONF_TRACE_ALL,	    /* every message */
	CONF_TRACE_IP,	    /* messages from or to trace_ip */
	CONF_TRACE_CALLID,  /* messages whose Call-ID equals trace_call_id */
};

/* One listening socket: "udp:0.0.0.0:5060", "tcp:[::1]:5060". */
struct conf_listen {
	uint8_t proto; /* enum conf_proto */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[64]; /* as normalised: "udp:127.0.0.1:5060" */
};

struct conf {
	char *file; /* the path it was loaded from (NULL for defaults only) */

	/* node */
	char *node_name;  /* node.name, default the host name */
	unsigned workers; /* node.workers: 0 = one per online CPU; 1..256 */
	bool pin_workers; /* node.pin_workers, default true */

	/* log */
	int log_level;	/* log.level: LOG_ERR..LOG_DEBUG (syslog numbers), default LOG_INFO */
	int log_format; /* log.format: enum conf_log_format */

	/* sip */
	struct conf_listen *listen; /* sip.listen: list, default udp+tcp 0.0.0.0:5060 */
	unsigned nlisten;
	uint16_t private_port_base; /* sip.private_port_base: 0 = ephemeral; else base + worker */
	char *advertised_host;	    /* sip.advertised_host: "" = the listen address */
	char **domains;		    /* sip.domains: extra hosts that mean "this node" */
	unsigned ndomains;
	char **supported; /* sip.supported: option tags accepted in Require (420 otherwise) */
	unsigned nsupported;
	uint32_t max_message_size; /* sip.max_message_size: 513 above; 1024..65535, default 65535 */
	unsigned max_forwards;	   /* sip.max_forwards: for requests we originate, 1..255, 70 */
	char *server_header;	   /* sip.server_header: default "sipring" ; "" = none */

	/* sip.timers (RFC 3261 §17; T1 is VOS3000's "resend interval") */
	uint32_t t1_ms;	     /* default 500, 100..10000 */
	uint32_t t2_ms;	     /* default 4000, 1000..64000, >= t1 */
	uint32_t t4_ms;	     /* default 5000, 1000..64000 */
	uint32_t timer_b_ms; /* INVITE transaction timeout, default 64*T1 */
	uint32_t timer_f_ms; /* non-INVITE transaction timeout, default 64*T1 */

	/* tcp */
	unsigned tcp_max_connections; /* tcp.max_connections per worker, default 4096, 1..1000000 */
	uint32_t tcp_idle_timeout_s;  /* tcp.idle_timeout, default 300, 5..86400 */
	uint32_t tcp_max_buffer; /* tcp.max_buffer per connection, default 65536, 4096..1048576 */

	/* runtime */
	unsigned
		ring_entries; /* runtime.ring_entries: io_uring SQ size, power of 2, default 4096 */
	unsigned rx_buffers; /* runtime.rx_buffers: provided buffers per worker, power of 2, 4096 */
	uint32_t
		rx_buffer_size; /* runtime.rx_buffer_size: octets, default 65536 (max UDP payload) */
	uint32_t stop_deadline_ms; /* runtime.stop_deadline: graceful stop limit, default 5000 */
	uint32_t udp_buffer; /* runtime.udp_buffer: UDP socket buffers, octets, default 16 MiB */

	/* trace */
	char *trace_file; /* trace.file: pcap path, NULL/"" = off */
	int trace_mode;	  /* trace.filter: all | ip:ADDR | call-id:ID (enum conf_trace_mode) */
	struct sockaddr_storage trace_ip;
	char *trace_call_id;

	/* http (management: /metrics, /api/v1/...) */
	bool http_enabled;		   /* http.listen not "" / "off" */
	struct sockaddr_storage http_addr; /* http.listen, default 127.0.0.1:8080 */
	socklen_t http_addrlen;
	char http_listen_text[64];

	/* cdr */
	char *spool_dir; /* cdr.spool_dir, default "var/spool" (relative to the cwd) */

	/* registrar (RFC 3261 §10; docs/registrar.md) */
	bool reg_enabled;	    /* registrar.enabled, default true (false: REGISTER -> 501) */
	uint32_t reg_min_expires_s; /* registrar.min_expires, default 60, 1..86400 (423 below) */
	uint32_t reg_max_expires_s; /* registrar.max_expires, default 3600, min..604800 */
	uint32_t reg_default_expires_s; /* registrar.default_expires, default 3600, min..max */
	unsigned reg_max_contacts;	/* registrar.max_contacts per AOR, 1..32, default 10 */
	uint64_t reg_max_bindings;	/* registrar.max_bindings in all, 0 = unbounded (default) */
	bool reg_replace;      /* registrar.replace, default true; SS_ENDPOINT_REGISTER_REPLACE */
	bool reg_authenticate; /* registrar.authenticate, default true */
	uint32_t reg_keepalive_s; /* registrar.keepalive.interval, 0 = off (default), 5..3600 */
	unsigned reg_keepalive_failures; /* registrar.keepalive.failures, default 3, 1..100 */
	unsigned suspend_retry;		 /* registrar.suspend.retry, default 6, 1..1000;
				      * SS_ENDPOINT_REGISTER_RETRY */
	uint32_t suspend_time_s; /* registrar.suspend.time, default 180 s, 0..86400 (0 = off);
				      * SS_ENDPOINT_REGISTER_SUSPEND (seconds) */
	bool suspend_by_ip;	 /* registrar.suspend.by_ip, default false */
	int suspend_action;	 /* registrar.suspend.action: enum conf_suspend_action */

	/* auth (digest, core/auth.h; docs/auth.md) */
	char *auth_realm;	      /* auth.realm, default "" = the domain of the AOR (To host) */
	uint32_t auth_nonce_expire_s; /* auth.nonce_expire, default 300 s, 10..86400 */
	char *auth_secret;	      /* auth.secret, "" = random per start; else >= 16 octets */
	uint8_t auth_algs[2];	  /* auth.algorithms: list of "SHA-256", "MD5", preferred first */
	unsigned auth_nalgs;	  /* default 2: SHA-256, MD5 */
	bool auth_refuse_rfc2069; /* auth.refuse_rfc2069, default false */
	char *accounts_file;	  /* accounts.file: the accounts YAML, "" = none (default) */
	uint32_t accounts_redis_refresh_s; /* accounts.redis_refresh: with redis.*, accounts are
					    * also read from Redis at start and this often;
					    * 0 = at start and on reload only; default 60 s */

	/* uplinks: sipring registering to upstream carriers (core/uplink.h, docs/uplinks.md) */
	char *uplinks_file;	     /* uplinks.file: the uplinks YAML, "" = none (default) */
	uint32_t uplink_expire_s;    /* uplinks.expire: 0 = auto (default), else 20..7200 s;
				     * SS_SIP_USER_AGENT_EXPIRE */
	uint32_t uplink_retry_s;     /* uplinks.retry_delay: after a failure, default 60 s,
				     * 1..3600 s; SS_SIP_USER_AGENT_RETRY_DELAY (30..600) */
	int uplink_privacy;	     /* uplinks.privacy: enum uplink_privacy (ignore, id, none);
				     * SS_SIP_USER_AGENT_PRIVACY */
	bool uplink_send_unregister; /* uplinks.send_unregister, default true;
				      * SS_SIP_USER_AGENT_SEND_UNREGISTER */
	unsigned uplink_auth_retry;  /* uplinks.auth_retry: challenges to credentials before an
				      * attempt fails, 1..10, default 2 */

	/* dns: carrier domain names (storage/domains.h, docs/domains.md) */
	char **dns_servers;	 /* dns.servers: "ip", "ip:port", "[v6]:port"; none = resolv.conf */
	unsigned ndns_servers;	 /* 0..8 */
	uint32_t dns_timeout_ms; /* dns.timeout: first try, default 2000, 100..30000 */
	unsigned dns_tries;	 /* dns.tries: rounds over the servers, default 2, 1..10 */
	uint32_t dns_ttl_floor_s;    /* dns.ttl_floor, default 10, 1..3600 */
	uint32_t dns_ttl_ceiling_s;  /* dns.ttl_ceiling, default 3600, floor..604800 */
	uint32_t dns_negative_ttl_s; /* dns.negative_ttl, default 30, 1..3600 */
	uint32_t dns_stale_grace_s;  /* dns.stale_grace, default 86400, 0..604800 */
	unsigned dns_prefetch;	     /* dns.prefetch: % of the TTL, default 85, 50..95 */

	/* redis (registrations; later the other stores), "" host and socket = none */
	char *redis_host;     /* redis.host: an IP address, default "" */
	uint16_t redis_port;  /* redis.port, default 6379 */
	char *redis_unix;     /* redis.unix_socket: a path, instead of host and port */
	char *redis_password; /* redis.password, default "" (no AUTH) */
	unsigned redis_db;    /* redis.db, default 0, 0..255 */
	char *redis_prefix;   /* redis.prefix, default "sipring:", 1..64 octets */
};

enum conf_suspend_action {
	CONF_SUSPEND_REJECT = 0, /* 403 Forbidden (default) */
	CONF_SUSPEND_DROP = 1,	 /* no answer */
};

/* Fill c with every default (listen: udp and tcp on 0.0.0.0:5060). Allocates;
 * conf_free() releases. Returns 0 or -ENOMEM. */
int conf_defaults(struct conf *c);

/*
 * Load path into c (which the call initialises; on failure nothing is left
 * allocated). Returns 0, or a negative errno with a one-line message in
 * err[0..errlen): "FILE:LINE: KEY: what is wrong".
 */
int conf_load(const char *path, struct conf *c, char *err, size_t errlen);

/* Free what c owns (c itself is the caller's). NULL-safe on the fields. */
void conf_free(struct conf *c);

/*
 * Which keys changed between a running configuration and a newly loaded one
 * that a reload cannot apply (listen addresses, workers, pinning, ring and
 * buffer sizes, TCP connection and buffer limits, http.listen, private ports, redis.*): written comma-separated into
 * buf, returns how many (0: the reload applies whole).
 */
unsigned conf_restart_keys(const struct conf *old, const struct conf *new_, char *buf, size_t len);

#endif
