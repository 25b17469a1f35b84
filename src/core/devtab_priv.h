/* SPDX-License-Identifier: MIT */
/*
 * Shared by the device table (devtab.c) and its --isolate runner
 * (isolate.c, isolate_child.c): a device of the table, and the set-up a
 * device goes through in whichever process serves it.
 */
#ifndef IOMED_CORE_DEVTAB_PRIV_H
#define IOMED_CORE_DEVTAB_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "core/devtab.h"
#include "devices/device.h"

struct iso_dev;
struct json_object;

struct devtab_entry {
	struct iomed_device dev;
	struct opts opts;
	const char *socket; /* in opts */
	/*
	 * Counters: the server's and the model's. Read through these pointers
	 * only: with --isolate they live in memory shared with the device
	 * process.
	 */
	struct vfu_stats *vfu_stats;
	void *model_stats;
	struct vfu_server *srv;
	pthread_t thread;
	bool serving;        /* the server thread was started */
	struct iso_dev *iso; /* --isolate: the process serving it (isolate.c) */
	/* The files of its trace and packet capture, "" none (devtab_rec.c). */
	char rec_path[2][256];
};

struct devtab {
	struct devtab_entry *dev[DEVTAB_MAX];
	unsigned n;
	bool check_only;
	struct isolate *iso; /* --isolate, or NULL */
};

/* Device @id (its slot in *@index if not NULL), or NULL. */
struct devtab_entry *devtab_find(const struct devtab *t, const char *id, unsigned *index);

/*
 * In the process that serves @d, with its counter blocks in place: check
 * the options, create the model, bind the socket and count into the
 * blocks. 0, or -errno with @e filled (e->backend: the model could not
 * open its backend). devtab_teardown undoes it once the server no longer
 * runs (a connected client's session ends, the socket file goes if this
 * process may remove it).
 */
int devtab_setup(struct devtab_entry *d, struct devtab_error *e);
void devtab_teardown(struct devtab_entry *d);

/*
 * Traces and captures (devtab_rec.c): refuse a device whose trace= or
 * pcap= file another device writes (-EEXIST, @e filled); note the files
 * of a device added.
 */
int devtab_rec_validate(const struct devtab *t, struct devtab_entry *d, struct devtab_error *e);
void devtab_rec_added(struct devtab_entry *d);
/* "recording": {"trace": {...} or null, "pcap": ...} of device_stats, when it serves. */
void devtab_rec_json(struct devtab_entry *d, struct json_object *out);

#endif
