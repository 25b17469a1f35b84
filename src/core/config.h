/* SPDX-License-Identifier: MIT */
/*
 * The daemon's configuration: a JSON file (iomed --config) and the
 * --device flags, gathered before anything is created. docs/usage.md has
 * the file format.
 */
#ifndef IOMED_CORE_CONFIG_H
#define IOMED_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/log.h"
#include "core/opts.h"

struct json_object;

#define CONFIG_MAX_BYTES (4u << 20)

/* One device to create, and where it was given (for messages). */
struct config_device {
	struct opts opts;
	/*
	 * "FILE: devices[N]" (a JSON object: a bad option is named as
	 * WHERE.KEY) or "--device SPEC".
	 */
	char *where;
	bool json;
};

struct config {
	bool has_log_level;
	enum log_level log_level;
	char *control_path;  /* NULL: no control socket */
	unsigned control_mode; /* permission bits of the control socket */
	char *control_group;   /* NULL: the daemon's group */
	unsigned control_idle_s; /* close connections idle this long; 0: the default */
	bool isolate;          /* a sandboxed process per device (--isolate) */
	char *isolate_user;    /* their user (--user), or NULL */
	struct config_device *devs;
	unsigned ndevs;
};

void config_init(struct config *c);
void config_free(struct config *c);
/*
 * Read @file into @c (log level, control socket, isolation, devices
 * appended). On error prints "FILE: KEY: what was expected" (KEY a JSON
 * path such as devices[1].queues, or LINE:COLUMN for malformed JSON) and
 * returns -errno.
 */
int config_load(struct config *c, const char *file);
/* Append a --device SPEC; on error prints it and returns -EINVAL. */
int config_add_spec(struct config *c, const char *spec);
/*
 * Turn a device object {"model": M, "id": ..., KEY: VALUE...} into @o.
 * Values are strings, integers or booleans (on/off). On error -EINVAL and
 * "KEY: what was expected" in @err (KEY empty when @obj itself is wrong).
 */
int opts_from_json(struct opts *o, struct json_object *obj, char *key, size_t keylen, char *err,
		   size_t errlen);
/*
 * The option a model's message is about, if it names one of @o's keys
 * first ("queues= must be...", "net 'tap:x': ..."): copied into @key.
 */
void opts_key_of_error(const struct opts *o, const char *msg, char *key, size_t keylen);

#endif
