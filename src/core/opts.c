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

int opts_set(struct opts *o, const char *key, const char *value, char *err, size_t errlen)
{
	struct opt *it;

	if (!*key) {
		snprintf(err, errlen, "empty option name");
		return -EINVAL;
	}
	for (unsigned i = 0; i < o->count; i++) {
		if (!strcmp(o->items[i].key, key)) {
			snprintf(err, errlen, "option '%s' given twice", key);
			return -EINVAL;
		}
	}
	if (o->count == OPTS_MAX) {
		snprintf(err, errlen, "too many options (at most %d)", OPTS_MAX);
		return -EINVAL;
	}
	it = &o->items[o->count];
	it->key = strdup(key);
	it->value = strdup(value);
	it->used = false;
	if (!it->key || !it->value) {
		free(it->key);
		free(it->value);
		return -ENOMEM;
	}
	o->count++;
	return 0;
}

static int add_item(struct opts *o, const char *tok, char *err, size_t errlen)
{
	const char *eq = strchr(tok, '=');
	char *key;
	int ret;

	if (!eq || eq == tok) {
		snprintf(err, errlen, "'%s' is not key=value", tok);
		return -EINVAL;
	}
	key = strndup(tok, eq - tok);
	if (!key)
		return -ENOMEM;
	ret = opts_set(o, key, eq + 1, err, errlen);
	free(key);
	return ret;
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

int opts_copy(struct opts *dst, const struct opts *src)
{
	char err[64];
	int ret = 0;

	memset(dst, 0, sizeof(*dst));
	dst->model = strdup(src->model ? src->model : "");
	if (!dst->model)
		return -ENOMEM;
	for (unsigned i = 0; i < src->count && !ret; i++)
		ret = opts_set(dst, src->items[i].key, src->items[i].value, err, sizeof(err));
	if (ret)
		opts_free(dst);
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
