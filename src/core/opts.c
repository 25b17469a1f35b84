// SPDX-License-Identifier: MIT
#include "core/opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void opts_free(struct opts *o)
{
	free(o->model);
	for (unsigned i = 0; i < o->count; i++) {
		free(o->items[i].key);
		free(o->items[i].value);
	}
	memset(o, 0, sizeof(*o));
}

static int add_item(struct opts *o, const char *tok, char *err, size_t errlen)
{
	const char *eq = strchr(tok, '=');

	if (!eq || eq == tok) {
		snprintf(err, errlen, "'%s' is not key=value", tok);
		return -EINVAL;
	}
	for (unsigned i = 0; i < o->count; i++) {
		if (strlen(o->items[i].key) == (size_t)(eq - tok) &&
		    !strncmp(o->items[i].key, tok, eq - tok)) {
			snprintf(err, errlen, "option '%.*s' given twice", (int)(eq - tok), tok);
			return -EINVAL;
		}
	}
	if (o->count == OPTS_MAX) {
		snprintf(err, errlen, "too many options");
		return -EINVAL;
	}
	o->items[o->count].key = strndup(tok, eq - tok);
	o->items[o->count].value = strdup(eq + 1);
	if (!o->items[o->count].key || !o->items[o->count].value) {
		free(o->items[o->count].key);
		free(o->items[o->count].value);
		return -ENOMEM;
	}
	o->count++;
	return 0;
}

int opts_parse(struct opts *o, const char *spec, char *err, size_t errlen)
{
	char *copy, *save = NULL, *tok;
	int ret = 0;

	memset(o, 0, sizeof(*o));
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	tok = strtok_r(copy, ",", &save);
	if (!tok || strchr(tok, '=')) {
		snprintf(err, errlen, "'%s' does not start with a device model", spec);
		ret = -EINVAL;
		goto out;
	}
	o->model = strdup(tok);
	if (!o->model) {
		ret = -ENOMEM;
		goto out;
	}
	while ((tok = strtok_r(NULL, ",", &save))) {
		ret = add_item(o, tok, err, errlen);
		if (ret)
			break;
	}
out:
	free(copy);
	if (ret)
		opts_free(o);
	return ret;
}

const char *opts_get(struct opts *o, const char *key)
{
	for (unsigned i = 0; i < o->count; i++) {
		if (!strcmp(o->items[i].key, key)) {
			o->items[i].used = true;
			return o->items[i].value;
		}
	}
	return NULL;
}

int opts_get_u64(struct opts *o, const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *v = opts_get(o, key);
	unsigned long long x;
	char *end;

	if (!v)
		return -ENOENT;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || end == v || *end || *v == '-' || x < min || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

const char *opts_first_unused(const struct opts *o)
{
	for (unsigned i = 0; i < o->count; i++)
		if (!o->items[i].used)
			return o->items[i].key;
	return NULL;
}
