// SPDX-License-Identifier: MIT
/* Logging to stderr with levels and per-call-site rate limiting. */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

static enum log_level current_level = LOG_INFO;
static bool to_journal;
static __thread const char *thread_tag;

/* syslog priorities of the levels, for the journal's "<N>" prefix */
static const char level_prio[] = {
	[LOG_ERROR] = '3', [LOG_WARN] = '4', [LOG_INFO] = '6', [LOG_DEBUG] = '7', [LOG_TRACE] = '7',
};

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

const char *log_level_name(enum log_level level)
{
	return level <= LOG_TRACE ? level_names[level] : "?";
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

void log_init(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat st;

	/* "DEV:INODE" of the journal's stream; stderr may have been redirected since. */
	to_journal = js && sscanf(js, "%lu:%lu", &dev, &ino) == 2 && !fstat(2, &st) &&
		     st.st_dev == dev && st.st_ino == ino;
}

void log_set_thread_tag(const char *tag)
{
	thread_tag = tag;
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
	if (to_journal) {
		n = snprintf(line, sizeof(line), "<%c>", level_prio[level]);
	} else {
		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld iomed %s: ", tm.tm_hour,
			     tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000, level_names[level]);
	}
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
			log_msg(LOG_WARN, "%s%s%u similar messages suppressed",
				thread_tag ? thread_tag : "", thread_tag ? ": " : "", rl->suppressed);
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
