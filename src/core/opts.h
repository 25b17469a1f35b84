/* SPDX-License-Identifier: MIT */
/*
 * A parsed device specification: "MODEL,key=value,key=value..." as given
 * to --device (the syntax of QEMU's -device).
 */
#ifndef IOMED_CORE_OPTS_H
#define IOMED_CORE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPTS_MAX 32

struct opt {
	char *key;
	char *value;
	bool used; /* consumed by someone: unused keys are reported as unknown */
};

struct opts {
	char *model;
	struct opt items[OPTS_MAX];
	unsigned count;
};

/* Parse @spec. On error -EINVAL and a message in @err. */
int opts_parse(struct opts *o, const char *spec, char *err, size_t errlen);
void opts_free(struct opts *o);
/* Add @key=@value (copied); -EINVAL and a message for a repeated key or too many. */
int opts_set(struct opts *o, const char *key, const char *value, char *err, size_t errlen);
/* A copy of @src, nothing used yet; 0 or -ENOMEM. */
int opts_copy(struct opts *dst, const struct opts *src);
/* Value of @key (marked used), or NULL. */
const char *opts_get(struct opts *o, const char *key);
/* Integer value of @key within [min, max]; -ENOENT if absent, -EINVAL if bad. */
int opts_get_u64(struct opts *o, const char *key, uint64_t min, uint64_t max, uint64_t *out);
/* First key nobody consumed, or NULL. */
const char *opts_first_unused(const struct opts *o);

#endif
