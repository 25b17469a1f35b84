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

struct iomed_recording;

struct iomed_device {
	char id[64];
	const struct iomed_model *model;
	struct vfu_device *vfu; /* set by the model's create */
	void *state;            /* the model's own */
	struct iomed_recording *rec; /* its trace and packet capture (recording.c) */
};

struct iomed_model {
	const char *name;
	const char *summary;
	/* Consume the options the model knows; fill dev->vfu and dev->state. */
	int (*create)(struct iomed_device *dev, struct opts *o, char *err, size_t errlen);
	void (*destroy)(struct iomed_device *dev);
};

/*
 * Create @dev (id set, model found) from @o: the model's create, then the
 * options every model takes, trace=PATH and pcap=PATH. Options nobody took
 * are an error (take yours from @o before). 0, or -errno and a message in
 * @err; nothing is left to destroy on error.
 */
int iomed_device_create(struct iomed_device *dev, struct opts *o, char *err, size_t errlen);
/* Stop its recordings and destroy it (once its server has stopped). */
void iomed_device_destroy(struct iomed_device *dev);

/*
 * Start or stop a trace of every driver<->device interaction (docs/trace.md)
 * or a packet capture (pcap) of the device's ports, at any time, also while
 * a client is served. Calls for one device must not run concurrently with
 * its creation or destruction. 0, or -errno and a message in @err:
 * -EBUSY already running, -ENOENT not running, -ENODEV (pcap) no packet
 * port, or why @path cannot be written.
 */
int iomed_trace_start(struct iomed_device *dev, const char *path, char *err, size_t errlen);
int iomed_trace_stop(struct iomed_device *dev, char *err, size_t errlen);
int iomed_pcap_start(struct iomed_device *dev, const char *path, char *err, size_t errlen);
int iomed_pcap_stop(struct iomed_device *dev, char *err, size_t errlen);

/* What is being recorded, for status reports. */
struct iomed_recording_info {
	bool tracing, capturing;
	char trace_path[256], pcap_path[256];
	uint64_t trace_records, trace_lost; /* records so far, dropped so far */
	uint64_t pcap_frames, pcap_lost;
};
void iomed_recording_get(struct iomed_device *dev, struct iomed_recording_info *info);

const struct iomed_model *iomed_model_find(const char *name);
/* NULL-terminated list, for --help. */
const struct iomed_model *const *iomed_models(void);

#endif
