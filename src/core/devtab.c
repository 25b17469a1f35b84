// SPDX-License-Identifier: MIT
/*
 * Device table. A device goes through validate (id, socket, model, no
 * clash with the others), then start (counters, the model's create, the
 * listener, the server thread); remove runs start backwards. --isolate
 * replaces start/stop by a process of the device's own (isolate.c), which
 * runs the same set-up (devtab_setup): the table and validation stay the
 * same.
 */
#include "core/devtab_priv.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/counter.h"
#include "core/isolate.h"
#include "core/log.h"
#include "vfio-user/server.h"

static int fail(struct devtab_error *e, int ret, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct devtab_error *e, int ret, const char *key, const char *fmt, ...)
{
	va_list ap;

	snprintf(e->key, sizeof(e->key), "%s", key ? key : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return ret;
}

int devtab_create(struct devtab **out, bool check_only, struct isolate *iso)
{
	struct devtab *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->check_only = check_only;
	t->iso = iso;
	*out = t;
	return 0;
}

unsigned devtab_count(const struct devtab *t)
{
	return t->n;
}

struct devtab_entry *devtab_find(const struct devtab *t, const char *id, unsigned *index)
{
	for (unsigned i = 0; i < t->n; i++) {
		if (!strcmp(t->dev[i]->dev.id, id)) {
			if (index)
				*index = i;
			return t->dev[i];
		}
	}
	return NULL;
}

/* ---- validate ---- */

/* Ids appear in logs, thread names and JSON: keep them plain. */
static bool id_ok(const char *id)
{
	if (!isalnum((unsigned char)id[0]))
		return false;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	return true;
}

static int pick_id(struct devtab *t, struct devtab_entry *d, struct devtab_error *e)
{
	const char *id = opts_get(&d->opts, "id");

	if (id && (!*id || strlen(id) >= sizeof(d->dev.id) || !id_ok(id)))
		return fail(e, -EINVAL, "id", "id '%s': expected 1 to %zu letters, digits, '.', '_' "
			    "or '-', starting with a letter or digit", id, sizeof(d->dev.id) - 1);
	if (id) {
		if (devtab_find(t, id, NULL))
			return fail(e, -EEXIST, "id", "id '%s' is already in use", id);
		snprintf(d->dev.id, sizeof(d->dev.id), "%s", id);
		return 0;
	}
	/* devN: the first N not taken, so --device order gives dev0, dev1... */
	for (unsigned n = 0;; n++) {
		snprintf(d->dev.id, sizeof(d->dev.id), "dev%u", n);
		if (!devtab_find(t, d->dev.id, NULL))
			return 0;
	}
}

static int validate(struct devtab *t, struct devtab_entry *d, struct devtab_error *e)
{
	int ret;

	if (t->n == DEVTAB_MAX)
		return fail(e, -ENOSPC, NULL, "at most %d devices", DEVTAB_MAX);
	d->dev.model = iomed_model_find(d->opts.model);
	if (!d->dev.model)
		return fail(e, -EINVAL, "model", "unknown device model '%s' (see iomed --help)",
			    d->opts.model);
	ret = pick_id(t, d, e);
	if (ret)
		return ret;
	d->socket = opts_get(&d->opts, "socket");
	if (!d->socket || !*d->socket)
		return fail(e, -EINVAL, "socket", "socket=PATH is required");
	if (strlen(d->socket) >= 108)
		return fail(e, -EINVAL, "socket", "socket %s: longer than 107 bytes", d->socket);
	for (unsigned i = 0; i < t->n; i++)
		if (!strcmp(t->dev[i]->socket, d->socket))
			return fail(e, -EEXIST, "socket", "socket %s is already used by device %s",
				    d->socket, t->dev[i]->dev.id);
	return devtab_rec_validate(t, d, e);
}

static int unused_options(struct devtab_entry *d, struct devtab_error *e)
{
	const char *unused = opts_first_unused(&d->opts);

	if (!unused)
		return 0;
	return fail(e, -EINVAL, unused, "unknown option '%s' for %s", unused, d->dev.model->name);
}

/* A model's own message, with the option it names (if it names one first). */
static int model_fail(struct devtab_entry *d, struct devtab_error *e, int ret, const char *err)
{
	char key[64];

	opts_key_of_error(&d->opts, err, key, sizeof(key));
	return fail(e, ret, key, "%s", *err ? err : strerror(-ret));
}

static int check(struct devtab_entry *d, struct devtab_error *e)
{
	char err[256] = "";
	int ret;

	/* trace= and pcap=, which every model takes: their files are made at create only. */
	ret = iomed_recording_check(&d->opts, err, sizeof(err));
	if (ret)
		return model_fail(d, e, ret, err);
	if (!d->dev.model->check) {
		/* Nothing to check offline: the model accepts its options at create. */
		for (unsigned i = 0; i < d->opts.count; i++)
			d->opts.items[i].used = true;
		return 0;
	}
	ret = d->dev.model->check(d->dev.id, &d->opts, err, sizeof(err));
	return ret ? model_fail(d, e, ret, err) : unused_options(d, e);
}

/* ---- start and stop ---- */

static void *server_thread(void *arg)
{
	struct devtab_entry *d = arg;
	int ret;

	log_set_thread_tag(d->dev.id);
	ret = vfu_server_run(d->srv);
	if (ret)
		pr_err("device %s: server stopped: %s", d->dev.id, strerror(-ret));
	return NULL;
}

static void name_thread(struct devtab_entry *d)
{
	char name[16];

	snprintf(name, sizeof(name), "iomed:%.9s", d->dev.id); /* 15 at most */
	pthread_setname_np(d->thread, name);
}

void devtab_teardown(struct devtab_entry *d)
{
	vfu_server_destroy(d->srv);
	d->srv = NULL;
	iomed_device_destroy(&d->dev);
}

static void stop(struct devtab_entry *d)
{
	if (d->iso) {
		isolate_stop(d);
		return;
	}
	if (d->serving) {
		vfu_server_stop(d->srv);
		pthread_join(d->thread, NULL);
		d->serving = false;
	}
	devtab_teardown(d);
	free(d->vfu_stats);
	free(d->model_stats);
	d->vfu_stats = d->model_stats = NULL;
}

int devtab_setup(struct devtab_entry *d, struct devtab_error *e)
{
	char err[256] = "";
	int ret;

	d->dev.stats = d->model_stats;
	/* Bad options are refused before the model opens anything. */
	ret = check(d, e);
	if (ret)
		return ret;
	/* The model's create, then the trace= and pcap= files (recording.c). */
	ret = iomed_device_create(&d->dev, &d->opts, err, sizeof(err));
	if (ret) {
		model_fail(d, e, ret, err);
		/*
		 * Good options, but the backend is not there (a host device not
		 * bound to vfio-pci, an upstream server not listening); a trace
		 * or capture file that cannot be written is not the backend.
		 */
		e->backend = ret != -EINVAL && strcmp(e->key, "trace") && strcmp(e->key, "pcap");
		return ret;
	}
	ret = vfu_server_create(&d->srv, d->socket, d->dev.vfu);
	if (ret == -EEXIST) /* not a clash with another device: a file is in the way */
		return fail(e, -ENOTSOCK, "socket", "cannot listen on %s: a file that is not a "
			    "socket is there", d->socket);
	if (ret)
		return fail(e, ret, "socket", "cannot listen on %s: %s%s", d->socket, strerror(-ret),
			    ret == -EADDRINUSE ? " (another server is listening there)" : "");
	vfu_server_set_stats(d->srv, d->vfu_stats);
	return 0;
}

static int start(struct devtab_entry *d, struct devtab_error *e)
{
	const struct iomed_model *m = d->dev.model;
	int ret;

	d->vfu_stats = calloc(1, sizeof(*d->vfu_stats));
	d->model_stats = m->stats_size ? calloc(1, m->stats_size) : NULL;
	if (!d->vfu_stats || (m->stats_size && !d->model_stats))
		return fail(e, -ENOMEM, NULL, "out of memory");
	ret = devtab_setup(d, e);
	if (ret)
		return ret;
	ret = -pthread_create(&d->thread, NULL, server_thread, d);
	if (ret)
		return fail(e, ret, NULL, "cannot start its thread: %s", strerror(-ret));
	d->serving = true;
	name_thread(d);
	pr_info("device %s (%s) listening on %s", d->dev.id, m->name, d->socket);
	return 0;
}

static void entry_free(struct devtab_entry *d)
{
	stop(d);
	opts_free(&d->opts);
	free(d);
}

int devtab_add(struct devtab *t, struct opts *o, struct devtab_error *e, const char **id)
{
	struct devtab_entry *d = calloc(1, sizeof(*d));
	int ret;

	e->msg[0] = e->key[0] = e->id[0] = '\0';
	e->backend = false;
	if (!d) {
		opts_free(o);
		return fail(e, -ENOMEM, NULL, "out of memory");
	}
	d->opts = *o;
	memset(o, 0, sizeof(*o));
	ret = validate(t, d, e);
	if (!ret)
		snprintf(e->id, sizeof(e->id), "%s", d->dev.id);
	if (!ret && t->check_only)
		ret = check(d, e);
	else if (!ret)
		ret = t->iso ? isolate_start(t->iso, d, e) : start(d, e);
	if (ret) {
		entry_free(d);
		return ret;
	}
	devtab_rec_added(d);
	t->dev[t->n++] = d;
	if (id)
		*id = d->dev.id;
	return 0;
}

int devtab_remove(struct devtab *t, const char *id, bool *had_client)
{
	struct devtab_entry *d;
	unsigned i;
	bool client;

	d = devtab_find(t, id, &i);
	if (!d)
		return -ENOENT;
	memmove(&t->dev[i], &t->dev[i + 1], (t->n - i - 1) * sizeof(t->dev[0]));
	t->n--;
	client = d->vfu_stats && counter_get(&d->vfu_stats->connected);
	if (!t->check_only)
		pr_info("device %s: removing%s", d->dev.id,
			client ? " (ending its client's session)" : "");
	entry_free(d);
	if (had_client)
		*had_client = client;
	return 0;
}

void devtab_destroy(struct devtab *t)
{
	if (!t)
		return;
	/* Stop every server first: the devices go down together, not one by one. */
	if (t->iso)
		isolate_stop_all(t->iso);
	for (unsigned i = 0; i < t->n; i++)
		if (t->dev[i]->serving)
			vfu_server_stop(t->dev[i]->srv);
	while (t->n)
		devtab_remove(t, t->dev[t->n - 1]->dev.id, NULL);
	free(t);
}

int devtab_reset(struct devtab *t, const char *id)
{
	struct devtab_entry *d = devtab_find(t, id, NULL);

	if (!d)
		return -ENOENT;
	if (!d->serving && !d->iso)
		return -ESRCH;
	pr_info("device %s: reset by the control socket", d->dev.id);
	if (d->iso)
		return isolate_reset(d);
	return vfu_server_call(d->srv, vfu_device_reset, NULL);
}

void devtab_reset_request_all(struct devtab *t)
{
	for (unsigned i = 0; i < t->n; i++) {
		struct devtab_entry *d = t->dev[i];
		const struct iomed_model *m = d->dev.model;

		if (d->iso) {
			isolate_reset_request(d);
		} else if (m->reset_request && d->dev.vfu) {
			pr_info("device %s: reset requested", d->dev.id);
			m->reset_request(&d->dev);
		}
	}
}

void devtab_set_log_level(struct devtab *t, enum log_level level)
{
	if (t->iso)
		isolate_set_log_level(t->iso, level);
}
