// SPDX-License-Identifier: MIT
#include "core/jsonframe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void json_frame_init(struct json_frame *f, size_t max)
{
	memset(f, 0, sizeof(*f));
	f->max = max;
}

void json_frame_fini(struct json_frame *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

void json_frame_reset(struct json_frame *f)
{
	f->len = 0;
	f->depth = 0;
	f->started = f->in_string = f->escaped = f->bare = false;
	if (f->buf)
		f->buf[0] = '\0';
}

static int append(struct json_frame *f, char c)
{
	if (f->len + 2 > f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 256;
		char *b;

		if (cap > f->max + 2)
			cap = f->max + 2;
		if (f->len + 2 > cap)
			return -E2BIG;
		b = realloc(f->buf, cap);
		if (!b)
			return -ENOMEM;
		f->buf = b;
		f->cap = cap;
	}
	f->buf[f->len++] = c;
	f->buf[f->len] = '\0';
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One byte of a started value: true when it ends the value. */
static bool step(struct json_frame *f, char c)
{
	if (f->in_string) {
		if (f->escaped)
			f->escaped = false;
		else if (c == '\\')
			f->escaped = true;
		else if (c == '"')
			f->in_string = false;
		return !f->in_string && !f->depth;
	}
	switch (c) {
	case '"':
		f->in_string = true;
		return false;
	case '{':
	case '[':
		f->depth++;
		return false;
	case '}':
	case ']':
		if (f->depth)
			f->depth--;
		return !f->depth;
	default:
		return false;
	}
}

long json_frame_feed(struct json_frame *f, const char *data, size_t len, bool *done)
{
	size_t i;
	int ret;

	*done = false;
	for (i = 0; i < len && !*done; i++) {
		char c = data[i];

		if (!f->started && is_space(c))
			continue;
		if (f->bare && (is_space(c) || !c)) {
			*done = true; /* the separator is consumed, not kept */
			continue;
		}
		if (!f->started) {
			f->started = true;
			/* Anything that opens no bracket or string is a bare scalar (or garbage). */
			f->bare = !strchr("{[\"", c) || !c;
		}
		ret = append(f, c);
		if (ret)
			return ret;
		if (!f->bare && step(f, c))
			*done = true;
	}
	return (long)i;
}
