/* SPDX-License-Identifier: MIT */
/*
 * Splits a byte stream into JSON texts: finds where each top-level value
 * ends (brackets and strings tracked, a bare scalar ends at whitespace) so
 * that each can be parsed on its own, strictly. json-c's strict tokener
 * refuses bytes after a value in the same buffer, so it cannot do this
 * itself.
 */
#ifndef IOMED_CORE_JSONFRAME_H
#define IOMED_CORE_JSONFRAME_H

#include <stdbool.h>
#include <stddef.h>

struct json_frame {
	char *buf;      /* the value being collected, NUL-terminated */
	size_t len, cap, max;
	unsigned depth; /* open brackets */
	bool started, in_string, escaped, bare;
};

void json_frame_init(struct json_frame *f, size_t max);
void json_frame_fini(struct json_frame *f);
/*
 * Take bytes from @data until a value is complete: returns how many were
 * consumed, and sets *@done when f->buf holds a whole value (then call
 * json_frame_reset before feeding more). -E2BIG when the value grows past
 * the maximum, -ENOMEM.
 */
long json_frame_feed(struct json_frame *f, const char *data, size_t len, bool *done);
void json_frame_reset(struct json_frame *f);

#endif
