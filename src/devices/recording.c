// SPDX-License-Identifier: MIT
/*
 * A device's recordings: its driver<->device trace (core/trace.h, hooked
 * into the vfio-user layer) and the packet capture of its ports
 * (net/capture.h, hooked into the port layer). Models need no code for
 * either: the trace pointer lives in the vfu_device, and the ports a model
 * opens during its create join the device's port group.
 *
 * The trace and capture objects live as long as the device, open or not,
 * so a server or poller thread that read a hook pointer just before a stop
 * writes into a closed spool (a no-op), never into freed memory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/trace.h"
#include "devices/device.h"
#include "net/capture.h"
#include "net/port.h"

#define PATH_CHARS 256

struct iomed_recording {
	pthread_mutex_t lock; /* start/stop */
	struct trace trace;
	struct net_capture cap;
	struct net_port_group ports;
	char trace_path[PATH_CHARS];
	char pcap_path[PATH_CHARS];
};

static int fail(char *err, size_t errlen, int ret, const char *what, const char *detail)
{
	snprintf(err, errlen, "%s: %s", what, detail);
	return ret;
}

static int check_path(const char *path, const char *what, char *err, size_t errlen)
{
	if (!path || !*path)
		return fail(err, errlen, -EINVAL, what, "expected a file path");
	if (strlen(path) >= PATH_CHARS)
		return fail(err, errlen, -ENAMETOOLONG, what, "the path is too long");
	return 0;
}

/* How a stop of @what (trace or pcap) went: in @err, or in the log with the totals. */
static void stopped(struct iomed_device *dev, const char *what, const char *unit,
		    const char *path, int ret, const struct spool_stats *st, char *err,
		    size_t errlen)
{
	if (ret == -ENOENT)
		snprintf(err, errlen, "%s: not running on this device", what);
	else if (ret)
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(-ret));
	else
		pr_info("device %s: %s %s stopped: %llu %s, %llu lost", dev->id, what, path,
			(unsigned long long)st->records, unit, (unsigned long long)st->lost);
}

/* Opens the trace of @dev (@rec->lock held). */
static int trace_start(struct iomed_device *dev, const char *path, char *err, size_t errlen)
{
	struct iomed_recording *rec = dev->rec;
	int ret = trace_open(&rec->trace, path, dev->id, dev->model->name, err, errlen);

	if (ret)
		return ret;
	snprintf(rec->trace_path, sizeof(rec->trace_path), "%s", path);
	vfu_device_set_trace(dev->vfu, &rec->trace);
	pr_info("device %s: tracing to %s", dev->id, path);
	return 0;
}

/* Opens the packet capture of @dev (@rec->lock held). */
static int pcap_start(struct iomed_device *dev, const char *path, char *err, size_t errlen)
{
	struct iomed_recording *rec = dev->rec;
	int ret = net_capture_open(&rec->cap, path, err, errlen);

	if (ret)
		return ret;
	snprintf(rec->pcap_path, sizeof(rec->pcap_path), "%s", path);
	pr_info("device %s: capturing the packets of %u port(s) to %s", dev->id,
		net_port_group_set_capture(&rec->ports, &rec->cap), path);
	return 0;
}

int iomed_record_start(struct iomed_device *dev, enum iomed_rec_kind kind, const char *path,
		       int fd, char *err, size_t errlen)
{
	struct iomed_recording *rec = dev->rec;
	const char *what = kind == IOMED_REC_PCAP ? "pcap" : "trace";
	int ret = check_path(path, what, err, errlen);

	pthread_mutex_lock(&rec->lock);
	if (!ret && kind == IOMED_REC_PCAP && !rec->ports.ports)
		ret = fail(err, errlen, -ENODEV, "pcap", "this device has no packet port");
	if (ret) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (fd >= 0)
		spool_give_fd(kind == IOMED_REC_PCAP ? &rec->cap.sp : &rec->trace.sp, fd);
	if (kind == IOMED_REC_PCAP)
		ret = pcap_start(dev, path, err, errlen);
	else
		ret = trace_start(dev, path, err, errlen);
out:
	pthread_mutex_unlock(&rec->lock);
	return ret;
}

int iomed_trace_start(struct iomed_device *dev, const char *path, char *err, size_t errlen)
{
	return iomed_record_start(dev, IOMED_REC_TRACE, path, -1, err, errlen);
}

int iomed_trace_stop(struct iomed_device *dev, char *err, size_t errlen)
{
	struct iomed_recording *rec = dev->rec;
	struct spool_stats st;
	int ret;

	pthread_mutex_lock(&rec->lock);
	vfu_device_set_trace(dev->vfu, NULL);
	ret = trace_close(&rec->trace, &st);
	stopped(dev, "trace", "records", rec->trace_path, ret, &st, err, errlen);
	pthread_mutex_unlock(&rec->lock);
	return ret;
}

int iomed_pcap_start(struct iomed_device *dev, const char *path, char *err, size_t errlen)
{
	return iomed_record_start(dev, IOMED_REC_PCAP, path, -1, err, errlen);
}

int iomed_pcap_stop(struct iomed_device *dev, char *err, size_t errlen)
{
	struct iomed_recording *rec = dev->rec;
	struct spool_stats st;
	int ret;

	pthread_mutex_lock(&rec->lock);
	net_port_group_set_capture(&rec->ports, NULL);
	ret = net_capture_close(&rec->cap, &st);
	stopped(dev, "pcap", "frames", rec->pcap_path, ret, &st, err, errlen);
	pthread_mutex_unlock(&rec->lock);
	return ret;
}

void iomed_recording_get(struct iomed_device *dev, struct iomed_recording_info *info)
{
	struct iomed_recording *rec = dev->rec;
	struct spool_stats st;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&rec->lock);
	info->has_ports = rec->ports.ports != NULL;
	info->tracing = spool_is_open(&rec->trace.sp);
	if (info->tracing) {
		spool_get_stats(&rec->trace.sp, &st);
		snprintf(info->trace_path, sizeof(info->trace_path), "%s", rec->trace_path);
		info->trace_records = st.records;
		info->trace_lost = st.lost;
	}
	info->capturing = spool_is_open(&rec->cap.sp);
	if (info->capturing) {
		spool_get_stats(&rec->cap.sp, &st);
		snprintf(info->pcap_path, sizeof(info->pcap_path), "%s", rec->pcap_path);
		info->pcap_frames = st.records;
		info->pcap_lost = st.lost;
	}
	pthread_mutex_unlock(&rec->lock);
}

static struct iomed_recording *recording_new(void)
{
	struct iomed_recording *rec = calloc(1, sizeof(*rec));

	if (!rec)
		return NULL;
	pthread_mutex_init(&rec->lock, NULL);
	trace_init(&rec->trace);
	net_capture_init(&rec->cap);
	net_port_group_init(&rec->ports);
	return rec;
}

static void recording_free(struct iomed_recording *rec)
{
	trace_fini(&rec->trace);
	net_capture_fini(&rec->cap);
	net_port_group_fini(&rec->ports);
	pthread_mutex_destroy(&rec->lock);
	free(rec);
}

int iomed_recording_check(struct opts *o, char *err, size_t errlen)
{
	const char *keys[] = { "trace", "pcap" };

	for (unsigned i = 0; i < 2; i++) {
		const char *path = opts_get(o, keys[i]);
		int ret = path ? check_path(path, keys[i], err, errlen) : 0;

		if (ret)
			return ret;
	}
	return 0;
}

/* "@key: " in front of @err, for callers that find the option to blame there. */
static int blame(char *err, size_t errlen, int ret, const char *key)
{
	char msg[PATH_CHARS + 128];

	if (!strncmp(err, key, strlen(key)) && err[strlen(key)] == ':')
		return ret; /* already */
	snprintf(msg, sizeof(msg), "%s", err);
	snprintf(err, errlen, "%s: %s", key, msg);
	return ret;
}

/* trace= and pcap=, for every model; only once every option is known good. */
static int start_from_options(struct iomed_device *dev, struct opts *o, char *err,
			      size_t errlen)
{
	const char *trace = opts_get(o, "trace");
	const char *pcap = opts_get(o, "pcap");
	const char *unused = opts_first_unused(o);
	int ret = 0;

	if (unused) {
		snprintf(err, errlen, "unknown option '%s' for %s", unused, dev->model->name);
		return -EINVAL;
	}
	if (trace)
		ret = iomed_trace_start(dev, trace, err, errlen);
	if (ret)
		return blame(err, errlen, ret, "trace");
	if (pcap)
		ret = iomed_pcap_start(dev, pcap, err, errlen);
	if (ret == -ENODEV)
		ret = -EINVAL; /* not an option for this model */
	return ret ? blame(err, errlen, ret, "pcap") : 0;
}

int iomed_device_create(struct iomed_device *dev, struct opts *o, char *err, size_t errlen)
{
	int ret;

	dev->rec = recording_new();
	if (!dev->rec)
		return fail(err, errlen, -ENOMEM, "device", "out of memory");
	net_port_group_enter(&dev->rec->ports);
	ret = dev->model->create(dev, o, err, errlen);
	net_port_group_leave();
	if (ret) {
		recording_free(dev->rec);
		dev->rec = NULL;
		return ret;
	}
	ret = start_from_options(dev, o, err, errlen);
	if (ret)
		iomed_device_destroy(dev);
	return ret;
}

void iomed_device_destroy(struct iomed_device *dev)
{
	char err[PATH_CHARS + 64];
	int ret;

	if (!dev->rec)
		return;
	/* Whatever is recorded is written out before the model goes. */
	ret = iomed_trace_stop(dev, err, sizeof(err));
	if (ret && ret != -ENOENT)
		pr_warn("device %s: %s", dev->id, err);
	ret = iomed_pcap_stop(dev, err, sizeof(err));
	if (ret && ret != -ENOENT)
		pr_warn("device %s: %s", dev->id, err);
	if (dev->model->destroy)
		dev->model->destroy(dev);
	dev->vfu = NULL;
	recording_free(dev->rec);
	dev->rec = NULL;
}
