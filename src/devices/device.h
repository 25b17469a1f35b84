/* SPDX-License-Identifier: MIT */
/*
 * The device model registry. A model turns a --device specification into a
 * vfu_device (the region/IRQ tables and callbacks the server serves); it
 * owns no sockets and no threads.
 */
#ifndef IOMED_DEVICES_DEVICE_H
#define IOMED_DEVICES_DEVICE_H

#include "core/opts.h"
#include "core/sandbox.h"
#include "vfio-user/server.h"

struct json_object;

struct iomed_device {
	char id[64];
	const struct iomed_model *model;
	struct vfu_device *vfu; /* set by the model's create */
	void *state;            /* the model's own */
	/*
	 * The model's counter block (model->stats_size bytes, zeroed), given
	 * by the caller of create; it may live in memory another process
	 * reads. NULL: the model counts into a block of its own.
	 */
	void *stats;
	/*
	 * System calls the device makes once it serves beyond a vfio-user
	 * server's, on fds create opened (kernel VFIO passthrough): what its
	 * sandbox allows it under --isolate.
	 */
	struct sandbox_extra syscalls;
};

struct iomed_model {
	const char *name;
	const char *summary;
	/* Consume the options the model knows; fill dev->vfu and dev->state. */
	int (*create)(struct iomed_device *dev, struct opts *o, char *err, size_t errlen);
	void (*destroy)(struct iomed_device *dev);
	/*
	 * Optional: reset the device from the device side (a VF reset the
	 * guest driver recovers from). Any thread but the device's own.
	 */
	int (*reset_request)(struct iomed_device *dev);
	/*
	 * Optional: check the options as create would (consuming those the
	 * model knows, same messages) without opening or allocating anything
	 * that outlives the call (iomed --check-config).
	 */
	int (*check)(const char *id, struct opts *o, char *err, size_t errlen);
	/*
	 * Optional counters. The device's threads write its block with
	 * core/counter.h; stats adds them to @out (a JSON object) reading only
	 * @block, relaxed, so it runs in any thread (or process) while the
	 * device runs, without stopping it.
	 */
	size_t stats_size;
	void (*stats)(const void *block, struct json_object *out);
};

const struct iomed_model *iomed_model_find(const char *name);
/* NULL-terminated list, for --help. */
const struct iomed_model *const *iomed_models(void);

#endif
