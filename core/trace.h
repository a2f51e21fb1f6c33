/* SPDX-License-Identifier: MIT */
/*
 * trace.h: the SIP trace, written as a pcap file that Wireshark and tshark open.
 *
 * An operator checks a call flow by opening the trace in Wireshark. sipring sees
 * SIP messages, not packets, so each traced message is written as the packet(s)
 * it would have been on the wire: a synthesised IPv4 or IPv6 header, a UDP or
 * TCP header, the message as payload. Who does what:
 *
 *   worker (any number, no file I/O)          service thread (one, owns the file)
 *   ───────────────────────────────           ───────────────────────────────────
 *   trace_match(filter, src, dst, msg) ─ no ─> (nothing)
 *     │ yes
 *   r = trace_rec_new(...)  one malloc        trace_write(tf, r); free(r);
 *   push r into its SPSC ring  ─────────────> ... every so often trace_flush(tf)
 *
 * trace_match() and trace_rec_new() touch only their arguments: any thread may
 * call them at once, with a shared read-only filter. A struct trace_file belongs
 * to the one thread that opened it. A record belongs to whoever holds the
 * pointer: the worker until it is pushed, then the service thread, which frees
 * it with free() after trace_write() (trace_write() does not keep it).
 *
 * On disk: classic pcap, little-endian, nanosecond timestamps, link type
 * LINKTYPE_RAW (101): each packet begins with an IP header and its version
 * nibble says IPv4 or IPv6, so both go into one file.
 *
 *   file:   ┌── global header, 24 octets ──┐┌─ record ─┐┌─ record ─┐ ...
 *
 *   global header (all fields u32 LE unless said):
 *   ┌────────────┬────────┬────────┬──────────┬──────────┬──────────┬──────────┐
 *   │ magic      │ major  │ minor  │ thiszone │ sigfigs  │ snaplen  │ linktype │
 *   │ a1b23c4d   │ 2 u16  │ 4 u16  │ 0 i32    │ 0        │ 262144   │ 101      │
 *   └────────────┴────────┴────────┴──────────┴──────────┴──────────┴──────────┘
 *     (octets 4d 3c b2 a1: the nanosecond-resolution magic)
 *
 *   record: ┌─ ts_sec ─┬─ ts_nsec ─┬─ incl_len ─┬─ orig_len ─┐┌── incl_len octets ──┐
 *           │ u32      │ u32       │ u32        │ u32 (same) ││ IP packet            │
 *           └──────────┴───────────┴────────────┴────────────┘└──────────────────────┘
 *
 *   IP packet, big-endian as on the wire:
 *     IPv4: ver/ihl 0x45, tos 0, total length, id (counts packets), flags DF,
 *           ttl 64, protocol, header checksum (valid), src, dst    20 octets
 *     IPv6: ver 6, class 0, flow 0, payload length, next header,
 *           hop limit 64, src, dst                                  40 octets
 *     UDP:  ports, length, checksum (valid, IPv4 and IPv6)          8 octets
 *     TCP:  ports, seq, ack, offset 5, flags ACK|PSH, window 65535,
 *           checksum (valid), urgent 0                             20 octets
 *     payload: the message octets, unchanged
 *
 * IPv4 or IPv6: a packet is IPv4 when both endpoints are IPv4 or IPv4-mapped
 * IPv6 (::ffff:a.b.c.d, what a dual-stack socket reports); otherwise IPv6, an
 * IPv4 endpoint then written as its mapped form.
 *
 * UDP: one message is one packet. The largest is what one IP packet holds
 * (65507 octets of payload over IPv4, 65527 over IPv6), which is also the
 * largest datagram a socket can send or receive; a larger record is refused.
 *
 * TCP: the trace has no handshake; a flow (the 4-tuple in one direction) is
 * known from its first traced segment. trace_file keeps, per flow, the next
 * sequence number in a small set-associative table (TRACE_FLOWS entries, least
 * recently used evicted), so that the segments of a connection are contiguous:
 * seq advances by the payload length, ack is the reverse flow's next seq. That
 * is what Wireshark's TCP reassembly and SIP-over-TCP dissection need. Initial
 * sequence numbers are derived from the flow and a per-open salt. A record
 * larger than one segment holds (65495 octets over IPv4, 65515 over IPv6) is
 * split into several segments with the same timestamp.
 *
 * Writes go to one memory buffer of TRACE_BUF_SIZE octets, written out by
 * trace_flush() or when the next packet does not fit (write(2), no stdio, no
 * fsync). A regular file always ends at a record boundary: a write that fails
 * half-way is truncated back, and the records stay buffered for the next try.
 */
#ifndef SIPRING_TRACE_H
#define SIPRING_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "parsers/sv.h"

#define TRACE_LINKTYPE_RAW 101
#define TRACE_SNAPLEN	   262144
#define TRACE_BUF_SIZE	   (256u << 10)
#define TRACE_FLOWS	   4096
#define TRACE_UDP_MAX4	   (65535 - 20 - 8)  /* 65507 */
#define TRACE_UDP_MAX6	   (65535 - 8)	     /* 65527 */
#define TRACE_TCP_SEG4	   (65535 - 20 - 20) /* 65495 */
#define TRACE_TCP_SEG6	   (65535 - 20)	     /* 65515 */

enum trace_proto { TRACE_UDP = 17, TRACE_TCP = 6 };

/* The same numbers as enum conf_trace_mode of core/conf.h (checked in trace.c). */
enum trace_mode {
	TRACE_OFF = 0,	  /* nothing matches */
	TRACE_ALL = 1,	  /* every message */
	TRACE_IP = 2,	  /* messages from or to filter.ip (the address; the port is ignored) */
	TRACE_CALLID = 3, /* messages whose Call-ID is filter.call_id, octet for octet */
};

/* One traced message, in one malloc: the struct, then len octets of data. */
struct trace_rec {
	uint64_t ts_ns;			  /* CLOCK_REALTIME, ns since the Unix epoch */
	struct sockaddr_storage src, dst; /* AF_INET or AF_INET6, with ports */
	uint8_t proto;			  /* enum trace_proto */
	uint32_t len;
	char data[];
};

/* What to trace; read-only once built, shared by every worker. */
struct trace_filter {
	int mode;		    /* enum trace_mode */
	struct sockaddr_storage ip; /* TRACE_IP: AF_INET or AF_INET6 */
	const char *call_id;	    /* TRACE_CALLID: not NUL-terminated, call_id_len octets */
	size_t call_id_len;
};

struct trace_file;

/*
 * Whether a message from src to dst (AF_INET or AF_INET6; IPv4-mapped IPv6
 * addresses compare equal to their IPv4 form) goes into the trace. call_id is
 * the message's Call-ID when the caller has parsed it; when empty, the header
 * lines of msg[0..len) are searched for "Call-ID:" or its compact form "i:"
 * (names in any case; the value without surrounding white space). A record
 * without that header (the second half of a TCP read, say) does not match in
 * TRACE_CALLID mode. f == NULL is TRACE_OFF. No allocation, no I/O; reads
 * nothing past msg + len.
 */
bool trace_match(const struct trace_filter *f, const struct sockaddr *src,
		 const struct sockaddr *dst, const char *msg, size_t len, struct sv call_id);

/*
 * A record of len octets at data, sent from src to dst over proto, stamped now
 * (CLOCK_REALTIME). One malloc; the caller owns it and frees it with free().
 * Returns NULL with errno ENOMEM, EAFNOSUPPORT (an address neither AF_INET nor
 * AF_INET6), EPROTONOSUPPORT (proto neither TRACE_UDP nor TRACE_TCP) or
 * EMSGSIZE (len > UINT32_MAX).
 */
struct trace_rec *trace_rec_new(uint8_t proto, const struct sockaddr *src,
				const struct sockaddr *dst, const void *data, size_t len);

/*
 * Open the trace file at path and store the writer in *tf (left alone on
 * error). A path that does not exist, or an empty file, or a file holding a
 * torn first write of our global header, gets a new pcap. An existing pcap
 * with our global header (little-endian, nanoseconds, LINKTYPE_RAW, snaplen
 * >= 65535) is appended to, after truncating an incomplete last record (found
 * by walking the record headers: one pread per record); one whose record
 * header is damaged before the end is left untouched: -EBADMSG. Any other
 * existing regular file is left untouched: -EEXIST. A path that is not a
 * regular file (a FIFO with tshark reading it, /dev/null) is opened
 * non-blocking and written from its start; the process must ignore SIGPIPE
 * for a FIFO. The global header is written before returning. Returns 0 or
 * -errno.
 */
int trace_open(struct trace_file **tf, const char *path);

/*
 * Append the packet(s) of r to the buffer, writing the buffer out first when
 * they do not fit. Returns 0, or -errno with the record not (or for a TCP
 * record of several segments, not wholly) in the trace: -ENOSPC, -EAGAIN (a
 * full FIFO) or another write error while making room (what was buffered
 * before stays buffered, for the next try), -EMSGSIZE (a UDP record larger
 * than one packet), -EAFNOSUPPORT, -EPROTONOSUPPORT. A TCP flow's sequence
 * number advances by r->len even for octets not written, so that Wireshark
 * sees a gap, not a corrupted stream. r stays the caller's.
 */
int trace_write(struct trace_file *tf, const struct trace_rec *r);

/*
 * Write the buffer out (write(2): to the kernel, no fsync). Returns 0, or
 * -errno with the unwritten records kept for the next call: a regular file is
 * truncated back to where this call began, so it ends at a record boundary; a
 * FIFO or device, which cannot be cut back, gets the rest of a half-written
 * record first on the next call.
 */
int trace_flush(struct trace_file *tf);

/* trace_flush(), then close and free. NULL is a no-op. Call trace_flush() first to see its error. */
void trace_close(struct trace_file *tf);

#endif
