// SPDX-License-Identifier: MIT
/*
 * The device table's side of traces and packet captures (docs/trace.md):
 * which file each device writes, so that two never write one; the control
 * socket's trace_start/trace_stop; the "recording" of device_stats.
 * A device served by a thread of ours is called directly. An isolated
 * device's process may not open files once in its sandbox, so we open the
 * file here, with the daemon's rights, and hand it over on the command
 * socketpair (isolate_cmd.c).
 */
#include "core/devtab_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/isolate.h"
#include "core/log.h"

static const char *const rec_key[2] = { "trace", "pcap" };

static int fail(struct devtab_error *e, int ret, const char *key, const char *msg,
		const char *detail)
{
	snprintf(e->key, sizeof(e->key), "%s", key);
	snprintf(e->msg, sizeof(e->msg), "%s%s%s", msg, detail ? ": " : "", detail ? detail : "");
	return ret;
}

/* Is @path, or the file @st (if not NULL), the file of @d's recording of @kind? */
static bool writes(const struct devtab_entry *d, unsigned kind, const char *path,
		   const struct stat *st)
{
	const char *mine = d->rec_path[kind];
	struct stat o;

	if (!*mine)
		return false;
	if (!strcmp(mine, path))
		return true;
	/* Another name for the same file (a link): in another process, no spool would see it. */
	return st && !stat(mine, &o) && o.st_dev == st->st_dev && o.st_ino == st->st_ino;
}

/* The device that writes (or is to write) @path (file @st), or NULL; @skip's @skip_kind aside. */
static struct devtab_entry *writer_of(const struct devtab *t, const char *path,
				      const struct stat *st, const struct devtab_entry *skip,
				      unsigned skip_kind, unsigned *kind)
{
	for (unsigned i = 0; i < t->n; i++) {
		for (unsigned k = 0; k < 2; k++) {
			if ((t->dev[i] != skip || k != skip_kind) && writes(t->dev[i], k, path, st)) {
				*kind = k;
				return t->dev[i];
			}
		}
	}
	return NULL;
}

/* -EEXIST with @e filled when a recording but @skip's of @skip_kind writes @path. */
static int path_taken(const struct devtab *t, const struct devtab_entry *skip, unsigned skip_kind,
		      const char *key, const char *path, struct devtab_error *e)
{
	struct devtab_entry *w;
	struct stat st;
	unsigned k;

	w = writer_of(t, path, stat(path, &st) ? NULL : &st, skip, skip_kind, &k);
	if (!w)
		return 0;
	snprintf(e->key, sizeof(e->key), "%s", key);
	snprintf(e->msg, sizeof(e->msg), "%s %s is already written by device %s (its %s)", key,
		 path, w->dev.id, rec_key[k]);
	return -EEXIST;
}

int devtab_rec_validate(const struct devtab *t, struct devtab_entry *d, struct devtab_error *e)
{
	const char *path[2];
	int ret = 0;

	for (unsigned k = 0; k < 2; k++) {
		path[k] = opts_get(&d->opts, rec_key[k]);
		if (path[k] && *path[k] && !ret)
			ret = path_taken(t, NULL, 0, rec_key[k], path[k], e);
	}
	if (!ret && path[0] && path[1] && *path[0] && !strcmp(path[0], path[1]))
		ret = fail(e, -EINVAL, "pcap", "pcap: the same file as trace=", path[1]);
	return ret;
}

void devtab_rec_added(struct devtab_entry *d)
{
	for (unsigned k = 0; k < 2; k++) {
		const char *path = opts_get(&d->opts, rec_key[k]);

		snprintf(d->rec_path[k], sizeof(d->rec_path[k]), "%s", path ? path : "");
	}
}

/* What @d records now: its process's answer with --isolate. */
static int recording(struct devtab_entry *d, struct iomed_recording_info *info)
{
	memset(info, 0, sizeof(*info));
	if (d->iso)
		return isolate_recording(d, info);
	if (!d->dev.rec)
		return -ESRCH;
	iomed_recording_get(&d->dev, info);
	return 0;
}

static struct json_object *one_json(bool on, const char *path, uint64_t n, const char *unit,
				    uint64_t lost)
{
	struct json_object *o;

	if (!on)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, unit, json_object_new_int64((int64_t)n));
	json_object_object_add(o, "lost", json_object_new_int64((int64_t)lost));
	return o;
}

void devtab_rec_json(struct devtab_entry *d, struct json_object *out)
{
	struct iomed_recording_info i;
	struct json_object *o;

	if (recording(d, &i))
		return; /* not serving right now: nothing to say */
	o = json_object_new_object();
	json_object_object_add(o, "trace", one_json(i.tracing, i.trace_path, i.trace_records,
						    "records", i.trace_lost));
	json_object_object_add(o, "pcap", one_json(i.capturing, i.pcap_path, i.pcap_frames,
						   "frames", i.pcap_lost));
	json_object_object_add(out, "recording", o);
}

/*
 * The file for an isolated device, opened as spool.c would open it: a
 * regular file (0600, created if missing) no other recording writes,
 * truncated. fd or -errno.
 */
static int open_for(const struct devtab *t, const struct devtab_entry *d, unsigned kind,
		    const char *path)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	unsigned k;
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		ret = -errno;
	else if (!S_ISREG(st.st_mode))
		ret = -EINVAL;
	else if (writer_of(t, path, &st, d, kind, &k))
		ret = -EEXIST; /* renamed or linked since the check by name */
	else if (ftruncate(fd, 0))
		ret = -errno;
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static int start_isolated(const struct devtab *t, struct devtab_entry *d, bool pcap,
			  const char *path)
{
	struct iomed_recording_info i;
	struct stat st;
	bool existed = !stat(path, &st);
	int fd, ret;

	/*
	 * Whatever the process would refuse is refused before the file is
	 * truncated: a running recording's, or one that was there already.
	 */
	ret = isolate_recording(d, &i);
	if (ret)
		return ret;
	if (pcap ? i.capturing : i.tracing)
		return -EBUSY;
	if (pcap && !i.has_ports)
		return -ENODEV;
	fd = open_for(t, d, pcap, path);
	if (fd < 0)
		return fd;
	ret = isolate_record_start(d, pcap, path, fd);
	close(fd);
	if (ret && !existed)
		unlink(path); /* refused: leave no empty file of ours behind */
	return ret;
}

static const char *start_error(int ret)
{
	switch (ret) {
	case -EBUSY:
		return "already running on this device";
	case -ENODEV:
		return "this device has no packet port";
	case -EINVAL:
		return "not a regular file";
	case -EEXIST:
		return "another trace or capture writes this file";
	case -ESRCH:
		return "the device is not serving (its process is restarting)";
	case -ETIMEDOUT:
		return "the device's process did not answer";
	default:
		return strerror(-ret);
	}
}

int devtab_record_start(struct devtab *t, const char *id, bool pcap, const char *path,
			struct devtab_error *e)
{
	struct devtab_entry *d = devtab_find(t, id, NULL);
	const char *key = rec_key[pcap];
	char err[320] = "";
	int ret;

	e->msg[0] = e->key[0] = '\0';
	if (!d)
		return -ENOENT;
	if (!*path || strlen(path) >= sizeof(d->rec_path[0]))
		return fail(e, -EINVAL, "path", "path: expected a file path of 1 to 255 bytes",
			    NULL);
	/* This very recording is the device's to judge: running, or gone with a restart. */
	ret = path_taken(t, d, pcap, "path", path, e);
	if (ret)
		return ret;
	if (d->iso)
		ret = start_isolated(t, d, pcap, path);
	else
		ret = iomed_record_start(&d->dev, pcap, path, -1, err, sizeof(err));
	if (ret) {
		snprintf(e->msg, sizeof(e->msg), "device %s: %s %s: %s", id, key, path,
			 start_error(ret));
		return ret;
	}
	snprintf(d->rec_path[pcap], sizeof(d->rec_path[pcap]), "%s", path);
	pr_info("control: device %s: %s to %s", id, pcap ? "packet capture" : "trace", path);
	return 0;
}

int devtab_record_stop(struct devtab *t, const char *id, bool pcap,
		       struct iomed_recording_info *last, struct devtab_error *e)
{
	struct devtab_entry *d = devtab_find(t, id, NULL);
	char err[320] = "";
	int ret;

	e->msg[0] = e->key[0] = '\0';
	if (!d)
		return -ENOENT;
	/* The totals just before the stop: what the log line of the stop says, near enough. */
	ret = recording(d, last);
	if (!ret && d->iso)
		ret = isolate_record_stop(d, pcap);
	else if (!ret)
		ret = pcap ? iomed_pcap_stop(&d->dev, err, sizeof(err))
			   : iomed_trace_stop(&d->dev, err, sizeof(err));
	if (ret == -ENOENT)
		ret = -EALREADY;
	/* The file is closed, well or not, or was not open (gone with a restart of the process). */
	if (ret != -ESRCH && ret != -ETIMEDOUT)
		d->rec_path[pcap][0] = '\0';
	if (ret == -EALREADY)
		snprintf(e->msg, sizeof(e->msg), "device %s: no %s is running", id,
			 pcap ? "packet capture" : "trace");
	else if (ret)
		snprintf(e->msg, sizeof(e->msg), "device %s: %s: %s", id, rec_key[pcap],
			 *err ? err : start_error(ret));
	return ret;
}
