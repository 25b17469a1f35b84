// SPDX-License-Identifier: MIT
/* Logging to stderr with levels and per-call-site rate limiting. */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static enum log_level current_level = LOG_INFO;

static const char *const level_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info",
	[LOG_DEBUG] = "debug", [LOG_TRACE] = "trace",
};

void log_set_level(enum log_level level)
{
	__atomic_store_n(&current_level, level, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
	return __atomic_load_n(&current_level, __ATOMIC_RELAXED);
}

int log_parse_level(const char *name, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(name, level_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n;

	if (level > log_get_level())
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld iomed %s: ", tm.tm_hour,
		     tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000, level_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	/* One write per line so lines from several threads do not interleave. */
	fprintf(stderr, "%s\n", line);
}

bool log_ratelimit_ok(struct log_ratelimit *rl)
{
	time_t now = time(NULL);

	if (now != rl->second) {
		if (rl->suppressed)
			log_msg(LOG_WARN, "%u similar messages suppressed", rl->suppressed);
		rl->second = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed < LOG_RATELIMIT_BURST) {
		rl->printed++;
		return true;
	}
	rl->suppressed++;
	return false;
}
