/* SPDX-License-Identifier: MIT */
/*
 * The device model registry. A model turns a --device specification into a
 * vfu_device (the region/IRQ tables and callbacks the server serves); it
 * owns no sockets and no threads.
 */
#ifndef IOMED_DEVICES_DEVICE_H
#define IOMED_DEVICES_DEVICE_H

#include "core/opts.h"
#include "vfio-user/server.h"

struct iomed_device {
	char id[64];
	const struct iomed_model *model;
	struct vfu_device *vfu; /* set by the model's create */
	void *state;            /* the model's own */
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
};

const struct iomed_model *iomed_model_find(const char *name);
/* NULL-terminated list, for --help. */
const struct iomed_model *const *iomed_models(void);

#endif
