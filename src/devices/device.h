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

struct iomed_recording;
struct json_object;

struct iomed_device {
	char id[64];
	const struct iomed_model *model;
	struct vfu_device *vfu; /* set by the model's create */
	void *state;            /* the model's own */
	struct iomed_recording *rec; /* its trace and packet capture (recording.c) */
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

/*
 * Create @dev (id set, model found) from @o: the model's create, then the
 * options every model takes, trace=PATH and pcap=PATH. Options nobody took
 * are an error (take yours from @o before). 0, or -errno and a message in
 * @err; nothing is left to destroy on error.
 */
int iomed_device_create(struct iomed_device *dev, struct opts *o, char *err, size_t errlen);
/*
 * Check trace= and pcap= in @o (taking them) as iomed_device_create would,
 * creating no file (iomed --check-config). 0, or -EINVAL and a message.
 */
int iomed_recording_check(struct opts *o, char *err, size_t errlen);
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
enum iomed_rec_kind { IOMED_REC_TRACE, IOMED_REC_PCAP };
/*
 * The start of either, writing to @fd (open for writing on @path, a
 * regular file, truncated; taken over, also on error) when it is not -1:
 * for a device process that may not open files (core/isolate.h).
 */
int iomed_record_start(struct iomed_device *dev, enum iomed_rec_kind kind, const char *path,
		       int fd, char *err, size_t errlen);
int iomed_trace_stop(struct iomed_device *dev, char *err, size_t errlen);
int iomed_pcap_start(struct iomed_device *dev, const char *path, char *err, size_t errlen);
int iomed_pcap_stop(struct iomed_device *dev, char *err, size_t errlen);

/* What is being recorded, for status reports. */
struct iomed_recording_info {
	bool tracing, capturing;
	bool has_ports; /* a packet capture can start: the device has a packet port */
	char trace_path[256], pcap_path[256];
	uint64_t trace_records, trace_lost; /* records so far, dropped so far */
	uint64_t pcap_frames, pcap_lost;
};
void iomed_recording_get(struct iomed_device *dev, struct iomed_recording_info *info);

const struct iomed_model *iomed_model_find(const char *name);
/* NULL-terminated list, for --help. */
const struct iomed_model *const *iomed_models(void);

#endif
