/* SPDX-License-Identifier: MIT */
/*
 * log.h: structured log lines, logfmt or JSON, one write(2) each.
 *
 * Every thread of the daemon (workers, the service thread, the management
 * server) logs through log_kv(), or through the LOG_E..LOG_D macros that skip
 * all formatting when the level is off. A line is a timestamp, a level, the
 * module, a message and the key=value pairs the caller formats with printf:
 *
 *   LOG_I("uring", "listening", "addr=%s worker=%u", addr, id);
 *
 *   logfmt: ts=2026-11-21T10:00:00.123Z level=info mod=uring msg="listening" addr=127.0.0.1:5060 worker=0
 *   json:   {"ts":"2026-11-21T10:00:00.123Z","level":"info","mod":"uring","msg":"listening","addr":"127.0.0.1:5060","worker":0}
 *
 * The pairs: kvfmt expands to space-separated tokens `key=value`; a value may
 * be quoted, `ua="Linphone 5.2"`, with \" and \\ inside; a token without `=` is
 * a key alone (logfmt's boolean true; JSON gets `true`). In JSON an unquoted
 * value that is a plain integer stays a number, anything else is a string. Keys
 * are kept to printable ASCII (other octets become `_`); values and the message
 * are escaped (\" \\ \n \r \t \u00XX) and invalid UTF-8 becomes U+FFFD, so a
 * line is always one valid logfmt record or one valid JSON object, whatever
 * the input. The caller quotes a value that may contain spaces; a value that
 * may contain `"` should be escaped by the caller, or it ends early (harmless:
 * the rest becomes more tokens).
 *
 *   line (<= LOG_LINE_MAX octets, '\n' included)
 *   ┌──────────────────────────────────────────────────┬────────────────────┐
 *   │ ts level mod msg pairs ... (cut at an escape or   │ "  truncated=true  │
 *   │ UTF-8 boundary; a key never cut)                  │ } \n  (reserved)   │
 *   └──────────────────────────────────────────────────┴────────────────────┘
 *
 * A line longer than LOG_LINE_MAX is cut, its open string closed, and marked
 * ` truncated=true` (logfmt) or `,"truncated":true` (JSON). LOG_LINE_MAX is
 * PIPE_BUF: a line to a pipe is one atomic write, so lines of several threads
 * never interleave (nor, with O_APPEND, in a file).
 *
 * Nothing is allocated on the logging path: the line is built in two stack
 * buffers (2 x LOG_LINE_MAX) and written with one write(2), retried on EINTR.
 * A failed write is dropped (the log has nowhere to report it). errno is
 * preserved across every call, so `%m` works and callers may log before using
 * errno.
 *
 * Global state, and why: the log is the one facility every thread and every
 * error path shares, and threading a handle through every function that might
 * log would touch the whole tree for three integers. So the state is exactly
 * three atomics (level, format, fd), set by log_setup()/log_set_level() and
 * read relaxed on each line; there is no lock, no buffer and nothing else
 * global. Before log_setup() the defaults are LOG_INFO, logfmt, fd 2.
 *
 * Ownership: log_setup() does not take ownership of fd; the caller keeps it
 * open while any thread may log to it (to switch files at reload, dup2() the
 * new one onto it, or set a new fd and close the old one once no line can be
 * in flight).
 */
#ifndef SIPRING_LOG_H
#define SIPRING_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <syslog.h>

#define LOG_LINE_MAX 4096 /* octets per line, '\n' included: PIPE_BUF */

/* The same values as enum conf_log_format in core/conf.h. */
#define LOG_FORMAT_LOGFMT 0
#define LOG_FORMAT_JSON	  1

/* The threshold: lines at levels <= it are written. Read it through log_enabled(). */
extern _Atomic int log_threshold;

/*
 * Set the level threshold (LOG_ERR..LOG_DEBUG of <syslog.h>; values outside
 * are clamped into that range), the format (LOG_FORMAT_LOGFMT or
 * LOG_FORMAT_JSON; anything else is logfmt) and the fd lines go to (2 for
 * stderr; a negative fd drops every line). Each of the three is stored
 * atomically: safe from any thread at any time, a line racing with it may see
 * some old and some new values.
 */
void log_setup(int level, int format, int fd);

/* Change the threshold only (clamped as above), e.g. at reload; any thread. */
void log_set_level(int level);

/* The current threshold. */
int log_level(void);

/* Whether a line at level would be written: one relaxed atomic load. */
static inline bool log_enabled(int level)
{
	return level <= atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

/*
 * Write one line at level (<syslog.h>; below LOG_ERR is shown as error, above
 * LOG_DEBUG as debug) if log_enabled(level). mod and msg are NUL-terminated (NULL
 * is taken as ""); kvfmt is a printf format producing the key=value pairs
 * described above, or NULL for none. Thread-safe, async-signal-unsafe (it calls
 * vsnprintf), never allocates, never fails: a line it cannot write is lost.
 */
void log_kv(int level, const char *mod, const char *msg, const char *kvfmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * The usual way in: LOG_I(mod, msg, kvfmt, args...), kvfmt being a string
 * literal or NULL. Arguments are not evaluated when the level is off.
 */
#define LOG_AT(level, mod, msg, ...)                                \
	do {                                                        \
		if (log_enabled(level))                             \
			log_kv((level), (mod), (msg), __VA_ARGS__); \
	} while (0)
#define LOG_E(mod, msg, ...) LOG_AT(LOG_ERR, mod, msg, __VA_ARGS__)
#define LOG_W(mod, msg, ...) LOG_AT(LOG_WARNING, mod, msg, __VA_ARGS__)
#define LOG_N(mod, msg, ...) LOG_AT(LOG_NOTICE, mod, msg, __VA_ARGS__)
#define LOG_I(mod, msg, ...) LOG_AT(LOG_INFO, mod, msg, __VA_ARGS__)
#define LOG_D(mod, msg, ...) LOG_AT(LOG_DEBUG, mod, msg, __VA_ARGS__)

#endif
