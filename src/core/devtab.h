/* SPDX-License-Identifier: MIT */
/*
 * The daemon's device table: one add and one remove path, used by start-up
 * and by the control socket alike. Only the daemon's main thread calls
 * these; each device serves its client from a thread of its own (with
 * --isolate: a process of its own), which an add or a remove never pauses
 * for another device.
 */
#ifndef IOMED_CORE_DEVTAB_H
#define IOMED_CORE_DEVTAB_H

#include <stdbool.h>

#include "core/log.h"
#include "core/opts.h"

struct json_object;
struct devtab;
struct isolate;

#define DEVTAB_MAX 256

/* Why an add failed: a message, and the option to blame when there is one. */
struct devtab_error {
	char msg[512];
	char key[64];
	bool backend; /* well-formed, but the model could not open its backend */
	char id[64];  /* the device's id, once it has one */
};

/*
 * @check_only: adds validate and record, but create and start nothing.
 * @iso (core/isolate.h, or NULL): each device is served by a sandboxed
 * process of its own instead of a thread of ours.
 */
int devtab_create(struct devtab **out, bool check_only, struct isolate *iso);
/* Remove every device (as devtab_remove), then free the table. */
void devtab_destroy(struct devtab *t);

/*
 * Validate @o, create the device and start serving it on its socket. @o is
 * taken over (on success the device keeps it, on failure it is freed). 0
 * and the device's id in *@id (valid while it exists); or -EINVAL bad
 * options, -EEXIST id or socket already taken, -ENOSPC table full, or the
 * -errno of a resource that could not be set up (-EADDRINUSE: another
 * server listens on the socket), with @e filled.
 */
int devtab_add(struct devtab *t, struct opts *o, struct devtab_error *e, const char **id);
/*
 * Stop serving device @id: a connected client's session ends (its DMA maps
 * and eventfds dropped, the device reset), the socket goes away, the device
 * is destroyed. -ENOENT when there is no such device. *@had_client (may be
 * NULL) tells whether a client was connected.
 */
int devtab_remove(struct devtab *t, const char *id, bool *had_client);
/*
 * Reset device @id as a client's DEVICE_RESET does. -ENOENT, -ESRCH (not
 * serving: with --isolate, its process is down), -ETIMEDOUT (its process
 * did not answer).
 */
int devtab_reset(struct devtab *t, const char *id);
/* SIGUSR1: a device-side reset of every device whose model has one. */
void devtab_reset_request_all(struct devtab *t);
/* log_level: the level of every device process too (nothing to do without --isolate). */
void devtab_set_log_level(struct devtab *t, enum log_level level);
/* SIGUSR2: one "device ID stats: ..." line per device (vfu_stats_format). */
void devtab_log_stats(const struct devtab *t);
unsigned devtab_count(const struct devtab *t);

struct iomed_recording_info;
/*
 * Start device @id's trace (@pcap false) or packet capture (docs/trace.md)
 * into @path, or stop it; for the control socket. 0; -ENOENT with
 * e->msg empty: no such device; else -errno with @e filled: -EINVAL a bad path or (pcap) no
 * packet port, -EEXIST another recording writes @path, -EBUSY already
 * running (start), -EALREADY not running (stop), -ESRCH/-ETIMEDOUT its
 * process is down or did not answer (--isolate), or why the file cannot
 * be written. Stop puts what was recorded in @last.
 */
int devtab_record_start(struct devtab *t, const char *id, bool pcap, const char *path,
			struct devtab_error *e);
int devtab_record_stop(struct devtab *t, const char *id, bool pcap,
		       struct iomed_recording_info *last, struct devtab_error *e);

/*
 * [{"id", "model", "socket", "connected", "options"}...]; with --isolate
 * also "pid" (0 while down), "state" and "restarts".
 */
struct json_object *devtab_list(const struct devtab *t);
/* The counters of device @id (docs/usage.md, device_stats); -ENOENT. */
int devtab_stats(const struct devtab *t, const char *id, struct json_object **out);

#endif
