/* SPDX-License-Identifier: MIT */
/*
 * --isolate: every device of the device table (devtab.h) is served by a
 * process of its own. The process sets its device up with the daemon's
 * privileges, enters the sandbox (core/sandbox.h) and serves; the
 * supervisor (the daemon's main thread) reports a device process that dies
 * and starts a new one after a back-off, while the others go on. The
 * device table calls the functions below in place of starting, stopping
 * and resetting a server thread.
 */
#ifndef IOMED_CORE_ISOLATE_H
#define IOMED_CORE_ISOLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/log.h"

struct isolate;
struct devtab_entry;
struct devtab_error;
struct json_object;
struct iomed_recording_info;

/*
 * The supervisor. @user: the device processes' user (--user), or NULL.
 * -errno with the reason in @err (-EINVAL: no such user, -EPERM: not root).
 * The caller takes SIGCHLD (blocked, through a signalfd) and calls
 * isolate_reap on it. Device processes are forked from the calling
 * thread: keep other threads away from locks a child would need.
 */
int isolate_create(struct isolate **out, const char *user, char *err, size_t errlen);
/*
 * Free the supervisor once every device is stopped. 0, or -EIO when a
 * device process did not stop cleanly at some point (killed, or a bad exit).
 */
int isolate_destroy(struct isolate *iso);

/*
 * Start the process serving @d (validated by the table) and wait until it
 * listens inside its sandbox. 0, or -errno with @e filled as an in-process
 * start would fill it.
 */
int isolate_start(struct isolate *iso, struct devtab_entry *d, struct devtab_error *e);
/*
 * Stop @d's process (SIGTERM, SIGKILL after a bound), remove its socket and
 * its shared counters, forget it. Nothing for a device without a process.
 */
void isolate_stop(struct devtab_entry *d);
/* SIGTERM every device process at once and wait for them all (the same bound). */
void isolate_stop_all(struct isolate *iso);

/* Dead device processes: report them and schedule their restart (on SIGCHLD). */
void isolate_reap(struct isolate *iso);
/* Poll at most this long (-1: no limit), then call isolate_restart_due. */
int isolate_timeout_ms(const struct isolate *iso);
void isolate_restart_due(struct isolate *iso);

/*
 * Commands to a running device process, answered by it (isolate_cmd.c).
 * DEVICE_RESET: 0, -ESRCH (no process right now), -ETIMEDOUT, or the
 * process's answer.
 */
int isolate_reset(struct devtab_entry *d);
/* A device-side reset (the model's reset_request), where the model has one. */
int isolate_reset_request(struct devtab_entry *d);
/* The log level of every device process (and of those started later). */
void isolate_set_log_level(struct isolate *iso, enum log_level level);
/*
 * Traces and packet captures of @d's process: what it records now; start
 * writing @fd (open for writing on @path and truncated: the process cannot
 * open files; @fd is ours still, close it after); stop. 0, -ESRCH,
 * -ETIMEDOUT or the process's answer (as iomed_record_start and
 * iomed_trace_stop/iomed_pcap_stop return).
 */
int isolate_recording(struct devtab_entry *d, struct iomed_recording_info *info);
int isolate_record_start(struct devtab_entry *d, bool pcap, const char *path, int fd);
int isolate_record_stop(struct devtab_entry *d, bool pcap);
/* "pid", "state" ("running", "restarting"), "restarts" of @d into @o. */
void isolate_describe(const struct devtab_entry *d, struct json_object *o);

#endif
