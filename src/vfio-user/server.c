// SPDX-License-Identifier: MIT
/*
 * Listener for one device. It serves one client at a time: while a session
 * runs, the listening socket is not polled, so a second client (a restarted
 * QEMU racing the old one's exit) waits in the backlog instead of being
 * refused. Each device runs its own server loop in its own thread, so a
 * client that stalls mid-message stalls only its own device.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/eventfd.h"
#include "core/log.h"
#include "session.h"
#include "sigbus.h"
#include "sock.h"

struct vfu_server {
	struct vfu_device *dev;
	struct sockaddr_un addr;
	int listen_fd;
	int stop_fd;
	int epoll_fd;
	int watched_resample_fd; /* INTx resample fd registered with epoll, -1 none */
	uint32_t watched_gen;
	int64_t listen_paused_until; /* accept failed for want of fds: retry then */
	bool active;
	struct vfu_session session;
	struct vfu_stats own_stats;
	struct vfu_stats *stats; /* own_stats, or where vfu_server_set_stats put them */
};

enum { EV_LISTEN = 1, EV_STOP, EV_SESSION, EV_RESAMPLE };

#define LISTEN_BACKOFF_MS 100

/* An existing socket file nobody listens on is stale and may be replaced. */
static int claim_path(const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, ret;

	if (lstat(addr->sun_path, &st)) {
		return errno == ENOENT ? 0 : -errno;
	}
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	/* Non-blocking: a live server with a full backlog must not hang us. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	if (ret)
		ret = -errno;
	close(fd);
	if (!ret || ret == -EAGAIN || ret == -EINPROGRESS)
		return -EADDRINUSE;
	if (unlink(addr->sun_path) && errno != ENOENT)
		return -errno;
	return 0;
}

static int epoll_set(int ep, int op, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(ep, op, fd, &ev) ? -errno : 0;
}

int vfu_device_init_tables(struct vfu_device *dev)
{
	uint32_t counts[VFU_PCI_NUM_IRQS], flags[VFU_PCI_NUM_IRQS];

	for (unsigned i = 0; i < VFU_PCI_NUM_IRQS; i++) {
		counts[i] = dev->irqs[i].count;
		flags[i] = dev->irqs[i].flags;
	}
	vfu_dma_init(&dev->dma, VFU_MAX_DMA_MAPS);
	return vfu_irqs_init(&dev->irq, counts, flags);
}

void vfu_device_fini_tables(struct vfu_device *dev)
{
	vfu_dma_fini(&dev->dma);
	vfu_irqs_fini(&dev->irq);
}

/* A device that takes SET_IRQS itself lets go of every eventfd of the client. */
static void disable_device_irqs(struct vfu_device *dev)
{
	struct vfu_irq_set off = {
		.argsz = sizeof(off),
		.flags = VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER,
	};

	for (unsigned i = 0; i < VFU_PCI_NUM_IRQS; i++) {
		if (!dev->irqs[i].count)
			continue;
		off.index = i;
		dev->ops->set_irqs(dev->opaque, &off, 0, NULL, 0);
	}
}

void vfu_device_client_gone(struct vfu_device *dev)
{
	vfu_device_quiesce(dev);
	if (dev->ops->set_irqs)
		disable_device_irqs(dev);
	vfu_dma_remove_all(&dev->dma, vfu_notify_dma_unmap, dev);
	vfu_irqs_reset(&dev->irq);
	dev->ops->reset(dev->opaque);
	vfu_device_resume(dev);
}

int vfu_server_create(struct vfu_server **out, const char *path, struct vfu_device *dev)
{
	struct vfu_server *srv;
	int ret;

	if (strlen(path) >= sizeof(srv->addr.sun_path))
		return -ENAMETOOLONG;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->dev = dev;
	srv->stats = &srv->own_stats;
	srv->listen_fd = srv->stop_fd = srv->epoll_fd = -1;
	srv->watched_resample_fd = -1;
	srv->session.fd = -1;
	srv->addr.sun_family = AF_UNIX;
	strcpy(srv->addr.sun_path, path);

	ret = vfu_sigbus_init();
	if (!ret)
		ret = vfu_device_init_tables(dev);
	if (ret)
		goto err;
	ret = claim_path(&srv->addr);
	if (ret)
		goto err;
	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	srv->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->listen_fd < 0 || srv->stop_fd < 0 || srv->epoll_fd < 0) {
		ret = -errno;
		goto err;
	}
	if (bind(srv->listen_fd, (struct sockaddr *)&srv->addr, sizeof(srv->addr)) ||
	    listen(srv->listen_fd, 8)) {
		ret = -errno;
		goto err;
	}
	ret = epoll_set(srv->epoll_fd, EPOLL_CTL_ADD, srv->listen_fd, EV_LISTEN);
	if (!ret)
		ret = epoll_set(srv->epoll_fd, EPOLL_CTL_ADD, srv->stop_fd, EV_STOP);
	if (ret)
		goto err_unlink;
	*out = srv;
	return 0;
err_unlink:
	unlink(path);
err:
	srv->addr.sun_path[0] = '\0';
	vfu_server_destroy(srv);
	return ret;
}

/*
 * Follow the INTx resample eventfd the client may have (re)assigned. epoll
 * watches a dup of our own: the IRQ table closes its fd when the client
 * replaces it, and only a registration we close ourselves is really gone
 * (epoll keeps an entry while any reference to the file lives, and the
 * client holds one).
 */
static void unwatch_resample(struct vfu_server *srv)
{
	if (srv->watched_resample_fd < 0)
		return;
	epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, srv->watched_resample_fd, NULL);
	close(srv->watched_resample_fd);
	srv->watched_resample_fd = -1;
}

static void sync_resample_fd(struct vfu_server *srv)
{
	int fd = srv->dev->irq.intx_resample_fd, dup;

	/* By generation, not fd number: a new fd may reuse the old number. */
	if (srv->dev->irq.resample_gen == srv->watched_gen)
		return;
	srv->watched_gen = srv->dev->irq.resample_gen;
	unwatch_resample(srv);
	if (fd < 0)
		return;
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return;
	if (epoll_set(srv->epoll_fd, EPOLL_CTL_ADD, dup, EV_RESAMPLE)) {
		close(dup);
		return;
	}
	srv->watched_resample_fd = dup;
}

static void on_resample(struct vfu_server *srv, uint32_t events)
{
	int ret;

	vfu_device_quiesce(srv->dev);
	ret = vfu_irq_intx_resample(&srv->dev->irq);
	vfu_device_resume(srv->dev);
	/* A hung-up or unreadable fd would fire forever: stop watching it. */
	if ((ret && ret != -EAGAIN) || (events & (EPOLLHUP | EPOLLERR)))
		unwatch_resample(srv);
}

static void session_begin(struct vfu_server *srv)
{
	int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return;
		/* Out of fds or memory: back off instead of spinning on the listener. */
		pr_warn_rl("%s: accept: %s; retrying shortly", srv->dev->name, strerror(errno));
		epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, srv->listen_fd, NULL);
		srv->listen_paused_until = vfu_now_ms() + LISTEN_BACKOFF_MS;
		return;
	}
	if (vfu_session_init(&srv->session, fd, srv->dev, srv->stats) ||
	    epoll_set(srv->epoll_fd, EPOLL_CTL_ADD, fd, EV_SESSION)) {
		pr_err("%s: cannot start a session", srv->dev->name);
		vfu_session_fini(&srv->session);
		return;
	}
	epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, srv->listen_fd, NULL);
	srv->active = true;
	srv->stats->sessions++;
	pr_info("%s: client connected", srv->dev->name);
}

/*
 * The client is gone: forget its memory and eventfds and reset the device,
 * so the next client finds it as after power-on.
 */
static void session_end(struct vfu_server *srv, int why)
{
	struct vfu_device *dev = srv->dev;

	epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, srv->session.fd, NULL);
	vfu_session_fini(&srv->session);
	srv->active = false;
	vfu_device_client_gone(dev);
	sync_resample_fd(srv);
	if (!srv->listen_paused_until)
		epoll_set(srv->epoll_fd, EPOLL_CTL_ADD, srv->listen_fd, EV_LISTEN);
	pr_info("%s: client disconnected (%s); ready for the next one", dev->name,
		why == -ECONNRESET ? "closed" : strerror(-why));
	if (log_enabled(LOG_INFO)) {
		char buf[512];

		pr_info("%s: messages so far: %s", dev->name,
			vfu_stats_format(srv->stats, buf, sizeof(buf)));
	}
}

/* How long epoll may sleep: until a session deadline or the listener's back-off. */
static int next_timeout(struct vfu_server *srv)
{
	int64_t now = vfu_now_ms();
	int timeout = -1;

	if (srv->active) {
		int ret = vfu_session_check_timeouts(&srv->session, now, &timeout);

		if (ret) {
			session_end(srv, ret);
			timeout = -1;
		}
	}
	if (srv->listen_paused_until) {
		if (now >= srv->listen_paused_until) {
			srv->listen_paused_until = 0;
			if (!srv->active)
				epoll_set(srv->epoll_fd, EPOLL_CTL_ADD, srv->listen_fd, EV_LISTEN);
		} else if (timeout < 0 || srv->listen_paused_until - now < timeout) {
			timeout = (int)(srv->listen_paused_until - now);
		}
	}
	return timeout;
}

int vfu_server_run(struct vfu_server *srv)
{
	struct epoll_event evs[4];

	for (;;) {
		int n = epoll_wait(srv->epoll_fd, evs, 4, next_timeout(srv));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u64) {
			case EV_STOP:
				return 0;
			case EV_LISTEN:
				if (!srv->active)
					session_begin(srv);
				break;
			case EV_SESSION: {
				int ret = srv->active ? vfu_session_on_readable(&srv->session) : 0;

				if (ret)
					session_end(srv, ret);
				else
					sync_resample_fd(srv);
				break;
			}
			case EV_RESAMPLE:
				on_resample(srv, evs[i].events);
				break;
			}
		}
	}
}

void vfu_server_stop(struct vfu_server *srv)
{
	efd_signal(srv->stop_fd);
}

void vfu_server_destroy(struct vfu_server *srv)
{
	if (!srv)
		return;
	if (srv->active)
		vfu_session_fini(&srv->session);
	if (srv->watched_resample_fd >= 0)
		close(srv->watched_resample_fd);
	vfu_device_fini_tables(srv->dev);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->addr.sun_path[0])
		unlink(srv->addr.sun_path);
	if (srv->stop_fd >= 0)
		close(srv->stop_fd);
	if (srv->epoll_fd >= 0)
		close(srv->epoll_fd);
	free(srv);
}

const struct vfu_stats *vfu_server_stats(const struct vfu_server *srv)
{
	return srv->stats;
}

void vfu_server_set_stats(struct vfu_server *srv, struct vfu_stats *stats)
{
	srv->stats = stats;
}

const char *vfu_stats_format(const struct vfu_stats *st, char *buf, size_t len)
{
	size_t n;
	int w;

	w = snprintf(buf, len, "sessions=%llu errors=%llu bad=%llu",
		     (unsigned long long)st->sessions, (unsigned long long)st->errors,
		     (unsigned long long)st->bad_msgs);
	for (unsigned c = 0; c < VFU_CMD_MAX && w >= 0; c++) {
		n = strlen(buf);
		if (!st->msgs[c] || n >= len)
			continue;
		w = snprintf(buf + n, len - n, " %s=%llu", vfu_cmd_name(c),
			     (unsigned long long)st->msgs[c]);
	}
	return buf;
}
