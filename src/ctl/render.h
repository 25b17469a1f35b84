/* SPDX-License-Identifier: MIT */
/* iomedctl's human-readable output of method results. */
#ifndef IOMED_CTL_RENDER_H
#define IOMED_CTL_RENDER_H

#include <stdio.h>

struct json_object;

/* device_list's result as a table. */
void render_list(FILE *out, struct json_object *result);
/* device_stats's result: vfio-user counters, then the model's own. */
void render_stats(FILE *out, struct json_object *result);

#endif
