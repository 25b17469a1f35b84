// SPDX-License-Identifier: MIT
/*
 * The daemon: gathers the configuration, puts every device in the device
 * table (each serves from its own thread, or with --isolate its own
 * sandboxed process, so a client that misbehaves or stalls holds up nobody
 * but its own device), then the main thread waits for signals, serves the
 * control socket and supervises the device processes, in one poll loop.
 */
#include "core/daemon.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/config.h"
#include "core/control.h"
#include "core/devtab.h"
#include "core/isolate.h"
#include "core/rpc.h"
#include "net/dpdk.h"

/* Tell systemd (Type=notify) how we are doing; nothing without NOTIFY_SOCKET. */
static void sd_notify_state(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(addr.sun_path))
		return;
	strcpy(addr.sun_path, path);
	if (path[0] == '@')
		addr.sun_path[0] = '\0'; /* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, len) < 0)
		pr_debug("cannot notify systemd: %s", strerror(errno));
	close(fd);
}

/* The command line over the file: one list of devices, one log level, one socket. */
static int gather(const struct cli *cli, struct config *cfg)
{
	int ret;

	if (cli->config_file) {
		ret = config_load(cfg, cli->config_file);
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < cli->ndevices; i++) {
		ret = config_add_spec(cfg, cli->device_specs[i]);
		if (ret)
			return ret;
	}
	if (cli->control_path) {
		free(cfg->control_path);
		cfg->control_path = strdup(cli->control_path);
		if (!cfg->control_path)
			return -ENOMEM;
	}
	if (cfg->has_log_level && !cli->has_log_level)
		log_set_level(cfg->log_level);
	cfg->isolate |= cli->isolate;
	if (cli->user) {
		free(cfg->isolate_user);
		cfg->isolate_user = strdup(cli->user);
		if (!cfg->isolate_user)
			return -ENOMEM;
	}
	return 0;
}

static void print_device_error(const struct config_device *d, const struct devtab_error *e)
{
	if (d->json && *e->key)
		pr_err("%s.%s: %s", d->where, e->key, e->msg);
	else
		pr_err("%s: %s", d->where, e->msg);
}

/*
 * Put (a copy of) every configured device in @t; the exit status for the
 * first that fails. A well-formed device whose backend is not there (a
 * host device not bound to vfio-pci, an upstream server not listening)
 * costs only itself: it is logged and left out.
 */
static int add_devices(struct devtab *t, struct config *cfg)
{
	struct devtab_error e;
	int ret;

	for (unsigned i = 0; i < cfg->ndevs; i++) {
		struct opts o;

		if (opts_copy(&o, &cfg->devs[i].opts))
			return IOMED_EXIT_RUNTIME;
		ret = devtab_add(t, &o, &e, NULL);
		if (!ret)
			continue;
		if (e.backend) {
			pr_err("device %s (%s): %s; not served", e.id, cfg->devs[i].opts.model, e.msg);
			continue;
		}
		print_device_error(&cfg->devs[i], &e);
		return ret == -EINVAL || ret == -EEXIST || ret == -ENOSPC ? IOMED_EXIT_CONFIG
									  : IOMED_EXIT_RUNTIME;
	}
	return IOMED_EXIT_OK;
}

/*
 * --isolate (or "isolate" in the file): the supervisor, or the exit status
 * for a user that cannot be: a bad command line if --user named it.
 */
static int supervisor(const struct cli *cli, const struct config *cfg, struct isolate **iso)
{
	char err[256];
	int ret;

	*iso = NULL;
	if (!cfg->isolate && cfg->isolate_user) {
		pr_err("--user works with --isolate only (or \"isolate\" in the file)");
		return IOMED_EXIT_USAGE;
	}
	if (!cfg->isolate)
		return IOMED_EXIT_OK;
	ret = isolate_create(iso, cfg->isolate_user, err, sizeof(err));
	if (!ret)
		return IOMED_EXIT_OK;
	if (cli->user)
		pr_err("--user %s: %s", cli->user, err);
	else
		pr_err("%s: isolate.user: %s", cli->config_file, err);
	if (ret != -EINVAL && ret != -EPERM)
		return IOMED_EXIT_RUNTIME;
	return cli->user ? IOMED_EXIT_USAGE : IOMED_EXIT_CONFIG;
}

/* Check every device as its model would take it, creating nothing; print the verdict if @say. */
static int check_config(const char *what, struct config *cfg, bool say)
{
	struct devtab *t;
	int status;

	if (devtab_create(&t, true, NULL))
		return IOMED_EXIT_RUNTIME;
	status = add_devices(t, cfg);
	if (!status && cfg->control_path &&
	    strlen(cfg->control_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		pr_err("control socket %s: longer than 107 bytes", cfg->control_path);
		status = IOMED_EXIT_CONFIG;
	}
	if (!status && say)
		printf("%s: configuration valid: %u device%s%s%s%s\n", what, devtab_count(t),
		       devtab_count(t) == 1 ? "" : "s", cfg->control_path ? ", control socket " : "",
		       cfg->control_path ? cfg->control_path : "",
		       cfg->isolate ? ", each device in a sandboxed process" : "");
	devtab_destroy(t);
	return status;
}

/* --check-config: the devices, the control socket and the device processes' user. */
static int check(const struct cli *cli, struct config *cfg)
{
	struct isolate *iso;
	int status = supervisor(cli, cfg, &iso);

	isolate_destroy(iso);
	if (status)
		return status;
	return check_config(cli->config_file ? cli->config_file : "command line", cfg, true);
}

/*
 * SIGINT/SIGTERM stop, SIGUSR2 logs every device's counters, SIGUSR1 asks
 * for device-side resets, SIGCHLD reports a device process gone.
 */
static int signal_fd(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGCHLD };
	sigset_t set;

	/* Threads inherit this mask: only the main thread takes the signals. */
	sigemptyset(&set);
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Act on the signals that came in; SIGINT or SIGTERM if one did, else 0. */
static int on_signals(int sfd, struct devtab *t, struct isolate *iso)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (!stop && read(sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGUSR1:
			devtab_reset_request_all(t);
			break;
		case SIGUSR2:
			devtab_log_stats(t);
			break;
		case SIGCHLD:
			if (iso)
				isolate_reap(iso);
			break;
		default:
			stop = (int)si.ssi_signo;
		}
	}
	return stop;
}

/* Serve the control socket and supervise until SIGINT/SIGTERM; returns the signal. */
static int main_loop(int sfd, struct ctl_server *ctl, struct devtab *t, struct isolate *iso)
{
	struct pollfd p[2] = {
		{ .fd = sfd, .events = POLLIN },
		{ .fd = ctl ? ctl_server_fd(ctl) : -1, .events = POLLIN },
	};
	int sig;

	for (;;) {
		if (poll(p, 2, iso ? isolate_timeout_ms(iso) : -1) < 0 && errno != EINTR) {
			pr_err("poll: %s", strerror(errno));
			return 0;
		}
		sig = on_signals(sfd, t, iso);
		if (sig)
			return sig;
		if (iso)
			isolate_restart_due(iso);
		if (p[1].revents)
			ctl_server_process(ctl);
	}
}

/* --dpdk: the EAL, once per daemon, before any device opens a dpdk: port. */
static int start_dpdk(const struct cli *cli, const struct config *cfg)
{
	char err[512];

	if (!cli->dpdk_args)
		return IOMED_EXIT_OK;
	if (cfg->isolate) {
		pr_err("--dpdk: dpdk: ports live in the daemon's own process: not with isolation");
		return IOMED_EXIT_USAGE;
	}
	if (!net_dpdk_init(cli->dpdk_args, err, sizeof(err)))
		return IOMED_EXIT_OK;
	pr_err("--dpdk: %s", err);
	net_dpdk_fini();
	return IOMED_EXIT_USAGE;
}

static int serve(const struct cli *cli, struct config *cfg)
{
	struct ctl_server *ctl = NULL;
	struct isolate *iso = NULL;
	struct devtab *t = NULL;
	int status = IOMED_EXIT_RUNTIME, sfd, sig, ret;

	/* A configuration with a bad device creates nothing, not even the good ones. */
	status = check_config(NULL, cfg, false);
	if (status)
		return status;
	sfd = signal_fd();
	status = start_dpdk(cli, cfg);
	if (!status)
		status = supervisor(cli, cfg, &iso);
	if (status)
		goto out;
	status = IOMED_EXIT_RUNTIME;
	if (sfd < 0 || devtab_create(&t, false, iso))
		goto out;
	if (cfg->control_path) {
		ret = ctl_server_create(&ctl, cfg->control_path, cfg->control_mode,
					cfg->control_group, cfg->control_idle_s, rpc_methods(), t);
		if (ret) {
			pr_err("control socket %s: %s%s", cfg->control_path, strerror(-ret),
			       ret == -EADDRINUSE ? " (another daemon is listening there)" : "");
			goto out;
		}
	}
	status = add_devices(t, cfg);
	if (status)
		goto out;
	/* Without a control socket to add one later, nothing served is nothing to do. */
	if (cfg->ndevs && !devtab_count(t) && !ctl) {
		pr_err("no device could be served");
		status = IOMED_EXIT_RUNTIME;
		goto out;
	}
	pr_info("serving %u device%s%s", devtab_count(t), devtab_count(t) == 1 ? "" : "s",
		iso ? ", each in a sandboxed process of its own" : "");
	sd_notify_state("READY=1");
	sig = main_loop(sfd, ctl, t, iso);
	sd_notify_state("STOPPING=1");
	if (sig)
		pr_info("%s: stopping", strsignal(sig));
	else
		status = IOMED_EXIT_RUNTIME;
out:
	ctl_server_destroy(ctl);
	devtab_destroy(t);
	if (isolate_destroy(iso) && !status)
		status = IOMED_EXIT_RUNTIME;
	if (sfd >= 0)
		close(sfd);
	net_dpdk_fini();
	return status;
}

int daemon_run(const struct cli *cli)
{
	struct config cfg;
	int status;

	config_init(&cfg);
	if (gather(cli, &cfg))
		status = IOMED_EXIT_CONFIG;
	else if (cli->action == CLI_CHECK)
		status = check(cli, &cfg);
	else
		status = serve(cli, &cfg);
	config_free(&cfg);
	return status;
}
