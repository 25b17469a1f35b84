// SPDX-License-Identifier: MIT
/*
 * An isolated device process (isolate.h): it drops what it inherited from
 * the supervisor, sets its device up with the daemon's privileges, enters
 * the sandbox and serves in its main thread until SIGTERM.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/daemon.h"
#include "core/isolate_priv.h"
#include "core/log.h"

static struct vfu_server *child_server; /* for the SIGTERM handler */

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
	/* ^C in a terminal reaches every process: the supervisor stops us. */
	signal(SIGINT, SIG_IGN);
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
static void child_prepare(struct isolate *iso, struct iso_dev *dev, int sock)
{
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
			munmap(iso->devs[i]->shared, sizeof(struct iso_shared));
}

static int child_hello(int sock, struct daemon_device *d)
{
	struct iso_hello h;
	int32_t verdict;
	char name[16];

	snprintf(name, sizeof(name), "iomed-%s", daemon_device_id(d));
	prctl(PR_SET_NAME, name, 0, 0, 0);
	memset(&h, 0, sizeof(h));
	snprintf(h.id, sizeof(h.id), "%s", daemon_device_id(d));
	snprintf(h.socket, sizeof(h.socket), "%s", daemon_device_socket(d));
	if (send(sock, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h) ||
	    recv(sock, &verdict, sizeof(verdict), 0) != sizeof(verdict))
		return -EPIPE;
	return verdict;
}

void isolate_child_main(struct isolate *iso, struct iso_dev *dev, int sock)
{
	const char ready = ISO_READY;
	struct daemon_device *d;
	char label[80];
	int status = 1, ret;

	child_prepare(iso, dev, sock);
	if (daemon_device_create(&d, dev->spec, dev->index))
		exit(2);
	snprintf(label, sizeof(label), "device %s", daemon_device_id(d));
	ret = child_hello(sock, d);
	if (ret) {
		status = ret == -EPIPE ? 1 : 2; /* the supervisor is gone, or said no */
		goto out;
	}
	if (daemon_device_listen(d))
		goto out;
	child_server = daemon_device_server(d);
	vfu_server_set_stats(child_server, &dev->shared->stats);
	if (sandbox_enter(&iso->user, label, &dev->shared->bad_syscall))
		goto out;
	/*
	 * The user switch cleared the death signal for a moment: is the
	 * supervisor still there? (write: send is sendto, not allowed now.)
	 */
	if (getppid() != iso->self || write(sock, &ready, 1) != 1)
		goto out;
	close(sock);
	sigterm_blocked(false);
	ret = vfu_server_run(child_server);
	if (ret)
		pr_err("%s: server stopped: %s", label, strerror(-ret));
	status = ret ? 1 : 0;
out:
	sigterm_blocked(true);
	child_server = NULL;
	daemon_device_free(d);
	exit(status);
}
