// SPDX-License-Identifier: MIT
/*
 * The daemon: one server thread per device, so a client that misbehaves
 * or stalls holds up nobody but its own device. The main thread only waits
 * for signals: SIGINT/SIGTERM stop, SIGUSR1 asks every device that can for
 * a device-side reset (until the control socket offers one per device).
 */
#include "core/daemon.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/isolate.h"
#include "core/opts.h"
#include "devices/device.h"
#include "net/dpdk.h"
#include "vfio-user/server.h"

struct daemon_device {
	struct iomed_device dev;
	struct opts opts;
	struct vfu_server *srv;
	pthread_t thread;
	bool running;
	bool unavailable; /* its backend could not be opened: not served */
};

static int configure(struct daemon_device *d, const char *spec, unsigned index,
		     const struct daemon_device *all)
{
	char err[512] = "";
	const char *socket, *id, *unused;
	int ret;

	ret = opts_parse(&d->opts, spec, err, sizeof(err));
	if (ret) {
		pr_err("--device %s: %s", spec, err);
		return ret;
	}
	d->dev.model = iomed_model_find(d->opts.model);
	if (!d->dev.model) {
		pr_err("--device %s: unknown device model '%s' (see iomed --help)", spec,
		       d->opts.model);
		return -EINVAL;
	}
	id = opts_get(&d->opts, "id");
	if (id && (!*id || strlen(id) >= sizeof(d->dev.id))) {
		pr_err("--device %s: id must be 1 to %zu characters", spec, sizeof(d->dev.id) - 1);
		return -EINVAL;
	}
	if (id)
		snprintf(d->dev.id, sizeof(d->dev.id), "%s", id);
	else
		snprintf(d->dev.id, sizeof(d->dev.id), "dev%u", index);
	socket = opts_get(&d->opts, "socket");
	if (!socket || !*socket) {
		pr_err("--device %s: socket=PATH is required", spec);
		return -EINVAL;
	}
	for (unsigned i = 0; all && i < index; i++) {
		if (!strcmp(all[i].dev.id, d->dev.id)) {
			pr_err("--device %s: id '%s' is used twice", spec, d->dev.id);
			return -EINVAL;
		}
		if (!strcmp(opts_get((struct opts *)&all[i].opts, "socket"), socket)) {
			pr_err("--device %s: socket %s is used twice", spec, socket);
			return -EINVAL;
		}
	}
	ret = d->dev.model->create(&d->dev, &d->opts, err, sizeof(err));
	if (ret) {
		pr_err("device %s (%s): %s", d->dev.id, d->opts.model, err);
		/*
		 * A well-formed device whose backend is not there (a host device
		 * not bound to vfio-pci, an upstream server not listening) costs
		 * only itself: the others are served.
		 */
		if (ret == -EINVAL)
			return ret;
		pr_err("device %s: not served", d->dev.id);
		d->unavailable = true;
	}
	unused = opts_first_unused(&d->opts);
	if (unused) {
		pr_err("device %s (%s): unknown option '%s'", d->dev.id, d->opts.model, unused);
		return -EINVAL;
	}
	return 0;
}

static int start_server(struct daemon_device *d)
{
	const char *socket = opts_get(&d->opts, "socket");
	int ret;

	ret = vfu_server_create(&d->srv, socket, d->dev.vfu);
	if (ret) {
		pr_err("device %s: cannot listen on %s: %s%s", d->dev.id, socket, strerror(-ret),
		       ret == -EADDRINUSE ? " (another server is listening there)" : "");
		return ret;
	}
	pr_info("device %s (%s) listening on %s", d->dev.id, d->opts.model, socket);
	return 0;
}

static bool serving_any(const struct daemon_device *devs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!devs[i].unavailable)
			return true;
	return false;
}

static void *server_thread(void *arg)
{
	struct daemon_device *d = arg;
	int ret = vfu_server_run(d->srv);

	if (ret)
		pr_err("device %s: server stopped: %s", d->dev.id, strerror(-ret));
	return NULL;
}

static void teardown(struct daemon_device *devs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (devs[i].running)
			vfu_server_stop(devs[i].srv);
	for (unsigned i = 0; i < n; i++) {
		struct daemon_device *d = &devs[i];

		if (d->running)
			pthread_join(d->thread, NULL);
		vfu_server_destroy(d->srv);
		if (d->dev.vfu && d->dev.model->destroy)
			d->dev.model->destroy(&d->dev);
		opts_free(&d->opts);
	}
}

static int start_dpdk(const char *args)
{
	char err[512];

	if (!net_dpdk_init(args, err, sizeof(err)))
		return 0;
	pr_err("--dpdk: %s", err);
	net_dpdk_fini();
	return -1;
}

/* SIGUSR2: every device's message counters, one log line each. */
static void dump_stats(const struct daemon_device *devs, unsigned n)
{
	char buf[512];

	for (unsigned i = 0; i < n; i++) {
		if (!devs[i].running)
			continue;
		pr_info("device %s stats: %s", devs[i].dev.id,
			vfu_stats_format(vfu_server_stats(devs[i].srv), buf, sizeof(buf)));
	}
}

/* SIGUSR1: a device-side reset of every device that has one (iavf: a VF reset). */
static void reset_devices(struct daemon_device *devs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct iomed_model *m = devs[i].dev.model;

		if (m && m->reset_request && devs[i].dev.vfu) {
			pr_info("device %s: reset requested", devs[i].dev.id);
			m->reset_request(&devs[i].dev);
		}
	}
}

static int wait_for_signal(struct daemon_device *devs, unsigned n)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig == SIGUSR1)
			reset_devices(devs, n);
		else if (sig == SIGUSR2)
			dump_stats(devs, n);
		else
			return sig;
	}
}

int daemon_run(const struct cli *cli)
{
	struct daemon_device *devs;
	unsigned n = cli->ndevices, served = 0;
	int status = 0, sig;
	sigset_t set;

	if (cli->isolate)
		return isolate_run(cli);
	/* Threads inherit this mask: only the main thread takes the signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cli->dpdk_args && start_dpdk(cli->dpdk_args))
		return 2;
	devs = calloc(n, sizeof(*devs));
	if (!devs)
		return 1;
	for (unsigned i = 0; i < n && !status; i++)
		if (configure(&devs[i], cli->device_specs[i], i, devs))
			status = 2;
	if (!status && !serving_any(devs, n)) {
		pr_err("no device could be served");
		status = 1;
	}
	for (unsigned i = 0; i < n && !status; i++)
		if (!devs[i].unavailable && start_server(&devs[i]))
			status = 1;
	for (unsigned i = 0; i < n && !status; i++) {
		if (devs[i].unavailable)
			continue;
		if (pthread_create(&devs[i].thread, NULL, server_thread, &devs[i])) {
			pr_err("device %s: cannot start its thread", devs[i].dev.id);
			status = 1;
			break;
		}
		devs[i].running = true;
		served++;
	}
	if (!status) {
		pr_info("serving %u device%s", served, served == 1 ? "" : "s");
		sig = wait_for_signal(devs, n);
		pr_info("%s: stopping", strsignal(sig));
	}
	teardown(devs, n);
	free(devs);
	net_dpdk_fini();
	return status;
}

/* ---- one device served by the calling process (core/isolate.c) ---- */

int daemon_device_create(struct daemon_device **out, const char *spec, unsigned index)
{
	struct daemon_device *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	ret = configure(d, spec, index, NULL);
	if (ret) {
		daemon_device_free(d);
		return ret;
	}
	*out = d;
	return 0;
}

int daemon_device_listen(struct daemon_device *d)
{
	return start_server(d);
}

const char *daemon_device_id(const struct daemon_device *d)
{
	return d->dev.id;
}

const char *daemon_device_socket(struct daemon_device *d)
{
	return opts_get(&d->opts, "socket");
}

struct vfu_server *daemon_device_server(const struct daemon_device *d)
{
	return d->srv;
}

void daemon_device_free(struct daemon_device *d)
{
	teardown(d, 1);
	free(d);
}
