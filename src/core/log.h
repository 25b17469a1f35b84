/* SPDX-License-Identifier: MIT */
#ifndef IOMED_CORE_LOG_H
#define IOMED_CORE_LOG_H

#include <stdbool.h>
#include <time.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "error", "warn", "info", "debug", "trace". */
const char *log_level_name(enum log_level level);
/* Parses "error", "warn", "info", "debug", "trace"; -EINVAL otherwise. */
int log_parse_level(const char *name, enum log_level *out);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Under systemd (stderr is the journal stream): print the journal's
 * priority prefix instead of a time stamp. Call once at start.
 */
void log_init(void);
/*
 * The device the calling thread serves (a string that outlives the
 * thread), named by the lines that do not name one themselves.
 */
void log_set_thread_tag(const char *tag);

/*
 * Rate limit for messages a client or guest can provoke at will: at most
 * LOG_RATELIMIT_BURST per second per call site, then a count of suppressed.
 */
#define LOG_RATELIMIT_BURST 10
struct log_ratelimit {
	time_t second;
	unsigned printed;
	unsigned suppressed;
};
bool log_ratelimit_ok(struct log_ratelimit *rl);

#define log_enabled(level) ((level) <= log_get_level())
#define pr_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)                                  \
	do {                                           \
		if (log_enabled(LOG_DEBUG))            \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)
#define pr_trace(...)                                  \
	do {                                           \
		if (log_enabled(LOG_TRACE))            \
			log_msg(LOG_TRACE, __VA_ARGS__); \
	} while (0)

/* A warning a hostile peer can trigger: rate limited per call site. */
#define pr_warn_rl(...)                                       \
	do {                                                  \
		static __thread struct log_ratelimit rl_;     \
		if (log_ratelimit_ok(&rl_))                   \
			log_msg(LOG_WARN, __VA_ARGS__);       \
	} while (0)

#endif
