// SPDX-License-Identifier: MIT
/*
 * An isolated device process (isolate.h): it drops what it inherited from
 * the supervisor, sets its device up with the daemon's privileges, enters
 * the sandbox and serves in its main thread until SIGTERM. A second
 * thread, started inside the sandbox, answers the supervisor's commands
 * (iso_cmd) on the socketpair.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/devtab_priv.h"
#include "core/isolate_priv.h"
#include "core/log.h"
#include "vfio-user/sock.h"

static struct vfu_server *child_server; /* for the SIGTERM handler */

/* What the command thread may touch, until the main thread tears the device down. */
static struct {
	pthread_mutex_t lock;
	struct devtab_entry *d; /* NULL once the server stopped */
	int sock;
} cmds = { .lock = PTHREAD_MUTEX_INITIALIZER, .sock = -1 };

static void child_on_term(int sig)
{
	(void)sig;
	if (child_server)
		vfu_server_stop(child_server);
}

static void child_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = child_on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	/*
	 * ^C in a terminal reaches every process: the supervisor stops us. So
	 * do SIGUSR1/2 sent to the process group: the supervisor passes on
	 * what concerns us.
	 */
	signal(SIGINT, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
}

/* SIGTERM stays blocked (as in the supervisor) until the server runs, and again after it. */
static void sigterm_blocked(bool blocked)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* Nothing of the supervisor or of the other devices stays with us. */
static void child_prepare(struct iso_dev *dev, int sock)
{
	struct isolate *iso = dev->iso;
	char name[16];
	int ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != iso->self)
		_exit(1);
	child_signals();
	/* The supervisor's signalfd is gone: its other signals are ours to take again. */
	sigprocmask(SIG_SETMASK, &(sigset_t){ 0 }, NULL);
	sigterm_blocked(true);
	ret = sandbox_close_inherited(sock);
	if (ret) {
		pr_err("device process: cannot close inherited fds: %s", strerror(-ret));
		_exit(1);
	}
	for (unsigned i = 0; i < iso->ndev; i++)
		if (iso->devs[i] != dev)
			munmap(iso->devs[i]->shared, iso->devs[i]->shared_size);
	snprintf(name, sizeof(name), "iomed-%.9s", dev->d->dev.id); /* 15 at most */
	prctl(PR_SET_NAME, name, 0, 0, 0);
	log_set_thread_tag(dev->d->dev.id);
}

/* How set-up went, as the supervisor's spawn() reads it. write: send is not allowed later. */
static int report(int sock, int ret, const struct devtab_error *e)
{
	struct iso_result r;

	memset(&r, 0, sizeof(r));
	r.ret = ret;
	r.backend = e->backend;
	snprintf(r.key, sizeof(r.key), "%s", e->key);
	snprintf(r.msg, sizeof(r.msg), "%s", e->msg);
	return write(sock, &r, sizeof(r)) == sizeof(r) ? 0 : -EPIPE;
}

/* ---- the supervisor's commands ---- */

static int record_stop(struct devtab_entry *d, int32_t kind);

static int run_command(struct devtab_entry *d, const struct iso_cmd *cmd)
{
	const struct iomed_model *m = d->dev.model;

	switch (cmd->op) {
	case ISO_CMD_RESET:
		return vfu_server_call(d->srv, vfu_device_reset, NULL);
	case ISO_CMD_RESET_REQUEST:
		if (!m->reset_request)
			return -EOPNOTSUPP;
		pr_info("device %s: reset requested", d->dev.id);
		return m->reset_request(&d->dev);
	case ISO_CMD_LOG_LEVEL:
		if (cmd->arg < LOG_ERROR || cmd->arg > LOG_TRACE)
			return -EINVAL;
		log_set_level((enum log_level)cmd->arg);
		return 0;
	case ISO_CMD_RECORD_STOP:
		return record_stop(d, cmd->arg);
	default:
		return -EINVAL;
	}
}

static int record_stop(struct devtab_entry *d, int32_t kind)
{
	char err[320];
	int ret;

	if (kind == IOMED_REC_TRACE)
		ret = iomed_trace_stop(&d->dev, err, sizeof(err));
	else if (kind == IOMED_REC_PCAP)
		ret = iomed_pcap_stop(&d->dev, err, sizeof(err));
	else
		return -EINVAL;
	if (ret && ret != -ENOENT)
		pr_warn("device %s: %s", d->dev.id, err);
	return ret;
}

/* A trace or capture into the file the supervisor opened for us (@fd, ours to close). */
static int record_start(struct devtab_entry *d, struct iso_cmd *cmd, int fd)
{
	char err[320];
	int ret;

	if (fd < 0 || (cmd->arg != IOMED_REC_TRACE && cmd->arg != IOMED_REC_PCAP)) {
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	cmd->path[sizeof(cmd->path) - 1] = '\0';
	ret = iomed_record_start(&d->dev, cmd->arg, cmd->path, fd, err, sizeof(err));
	if (ret)
		pr_warn("device %s: %s", d->dev.id, err);
	return ret;
}

/* One command and its reply; @fd came with it (-1 none) and is used or closed. */
static int answer(struct iso_cmd *cmd, int fd)
{
	struct iso_recording rec = { .r.seq = cmd->seq };
	size_t len = sizeof(rec.r);

	pthread_mutex_lock(&cmds.lock);
	if (!cmds.d) {
		rec.r.ret = -ESRCH;
	} else if (cmd->op == ISO_CMD_RECORD_START) {
		rec.r.ret = record_start(cmds.d, cmd, fd);
		fd = -1;
	} else if (cmd->op == ISO_CMD_RECORDING) {
		iomed_recording_get(&cmds.d->dev, &rec.info);
		len = sizeof(rec);
	} else {
		rec.r.ret = run_command(cmds.d, cmd);
	}
	pthread_mutex_unlock(&cmds.lock);
	if (fd >= 0)
		close(fd);
	return write(cmds.sock, &rec, len) == (ssize_t)len ? 0 : -EPIPE;
}

static void *command_thread(void *arg)
{
	struct iso_cmd cmd;
	int fd;

	(void)arg;
	log_set_thread_tag(cmds.d->dev.id);
	/* Until the supervisor closes its end (we are being stopped). */
	for (;;) {
		struct pollfd p = { .fd = cmds.sock, .events = POLLIN };
		struct vfu_fdset fds = { .n = 0 };
		ssize_t n;

		if (poll(&p, 1, -1) < 0)
			continue;
		n = vfu_sock_recv(cmds.sock, &cmd, sizeof(cmd), &fds);
		if (n == -EAGAIN || n == -EINTR)
			continue;
		if (n != sizeof(cmd)) {
			vfu_fdset_close(&fds);
			break;
		}
		/* One fd at most, for RECORD_START: anything more is closed unread. */
		fd = fds.n == 1 && !fds.lost ? fds.fds[0] : -1;
		if (fd >= 0)
			fds.n = 0;
		vfu_fdset_close(&fds);
		if (answer(&cmd, fd))
			break;
	}
	return NULL;
}

/* The command thread leaves the device alone from now on. */
static void commands_end(void)
{
	pthread_mutex_lock(&cmds.lock);
	cmds.d = NULL;
	pthread_mutex_unlock(&cmds.lock);
}

/* ---- the process ---- */

static int enter_sandbox(struct iso_dev *dev, struct devtab_error *e)
{
	char label[80];
	int ret;

	snprintf(label, sizeof(label), "device %s", dev->d->dev.id);
	ret = sandbox_enter(&dev->iso->user, label, &dev->shared->bad_syscall,
			    &dev->d->dev.syscalls);
	if (ret)
		snprintf(e->msg, sizeof(e->msg), "cannot enter the sandbox: %s", strerror(-ret));
	return ret;
}

void isolate_child_main(struct iso_dev *dev, int sock)
{
	struct devtab_entry *d = dev->d;
	struct devtab_error e = { .msg = "" };
	pthread_t thread;
	int status = 1, ret;

	child_prepare(dev, sock);
	ret = devtab_setup(d, &e);
	if (!ret) {
		child_server = d->srv;
		ret = enter_sandbox(dev, &e);
	}
	/* The user switch cleared the death signal for a moment: is the supervisor still there? */
	if (!ret && getppid() != dev->iso->self)
		ret = -EPIPE;
	if (!ret) {
		cmds.d = d;
		cmds.sock = sock;
		ret = -pthread_create(&thread, NULL, command_thread, NULL);
		if (ret)
			snprintf(e.msg, sizeof(e.msg), "cannot start a thread: %s", strerror(-ret));
	}
	if (report(sock, ret, &e) || ret)
		goto out;
	sigterm_blocked(false);
	ret = vfu_server_run(child_server);
	if (ret)
		pr_err("device %s: server stopped: %s", d->dev.id, strerror(-ret));
	status = ret ? 1 : 0;
out:
	sigterm_blocked(true);
	commands_end();
	child_server = NULL;
	devtab_teardown(d);
	exit(status);
}
