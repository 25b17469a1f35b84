// SPDX-License-Identifier: MIT
/*
 * The datapath thread shared by the emulated NICs (see pollthread.h).
 */
#include "devices/pollthread.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/eventfd.h"
#include "core/log.h"

uint64_t pollthread_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void hook(void (*fn)(void *), void *opaque)
{
	if (fn)
		fn(opaque);
}

static void park(struct pollthread *pt)
{
	hook(pt->ops->park, pt->opaque);
	pthread_mutex_lock(&pt->lock);
	pt->parked = true;
	pthread_cond_broadcast(&pt->cond);
	while (pollthread_flag(&pt->park_req) && !pollthread_flag(&pt->stop))
		pthread_cond_wait(&pt->cond, &pt->lock);
	pt->parked = false;
	pthread_mutex_unlock(&pt->lock);
	if (!pollthread_flag(&pt->stop))
		hook(pt->ops->unpark, pt->opaque);
}

static void sleep_once(struct pollthread *pt)
{
	struct epoll_event evs[8];
	int timeout = -1;

	__atomic_store_n(&pt->sleeping, true, __ATOMIC_SEQ_CST);
	if (!pt->ops->sleep_prepare(pt->opaque, &timeout)) {
		__atomic_store_n(&pt->sleeping, false, __ATOMIC_RELEASE);
		hook(pt->ops->sleep_done, pt->opaque);
		return;
	}
	if (!pollthread_flag(&pt->park_req) && !pollthread_flag(&pt->stop) &&
	    epoll_wait(pt->epfd, evs, 8, timeout) < 0 && errno != EINTR)
		pr_warn_rl("%s: epoll_wait: %s", pt->name, strerror(errno));
	__atomic_store_n(&pt->sleeping, false, __ATOMIC_RELEASE);
	efd_drain(pt->kick_fd);
	efd_drain(pt->ctl_fd);
	hook(pt->ops->sleep_done, pt->opaque);
}

static void *thread_main(void *arg)
{
	struct pollthread *pt = arg;
	uint64_t idle_since = 0;

	hook(pt->ops->unpark, pt->opaque);
	while (!pollthread_flag(&pt->stop)) {
		if (pollthread_flag(&pt->park_req)) {
			park(pt);
			idle_since = 0;
			continue;
		}
		if (pt->ops->poll(pt->opaque)) {
			idle_since = 0;
			continue;
		}
		if (!idle_since) {
			idle_since = pollthread_now_ns();
			continue;
		}
		if (pollthread_now_ns() - idle_since < pt->poll_ns)
			continue;
		sleep_once(pt);
		idle_since = 0;
	}
	hook(pt->ops->park, pt->opaque);
	return NULL;
}

int pollthread_start(struct pollthread *pt)
{
	int ret;

	if (pt->manual)
		return 0;
	pollthread_set_flag(&pt->stop, false);
	pt->parked = false;
	ret = pthread_create(&pt->thread, NULL, thread_main, pt);
	if (ret) {
		pr_err("%s: cannot start the datapath thread: %s", pt->name, strerror(ret));
		return -ret;
	}
	pt->running = true;
	return 0;
}

void pollthread_stop(struct pollthread *pt)
{
	if (!pt->running)
		return;
	pthread_mutex_lock(&pt->lock);
	pollthread_set_flag(&pt->stop, true);
	pthread_cond_broadcast(&pt->cond);
	pthread_mutex_unlock(&pt->lock);
	efd_signal(pt->ctl_fd);
	pthread_join(pt->thread, NULL);
	pt->running = false;
}

void pollthread_park(struct pollthread *pt)
{
	pthread_mutex_lock(&pt->lock);
	pollthread_set_flag(&pt->park_req, true);
	if (pt->running) {
		efd_signal(pt->ctl_fd);
		while (!pt->parked)
			pthread_cond_wait(&pt->cond, &pt->lock);
	}
	pthread_mutex_unlock(&pt->lock);
}

void pollthread_unpark(struct pollthread *pt)
{
	pthread_mutex_lock(&pt->lock);
	pollthread_set_flag(&pt->park_req, false);
	pthread_cond_broadcast(&pt->cond);
	pthread_mutex_unlock(&pt->lock);
}

void pollthread_kick(struct pollthread *pt)
{
	/* Pairs with the store in sleep_once: either it sees our work or we see it sleeping. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&pt->sleeping, __ATOMIC_RELAXED))
		efd_signal(pt->kick_fd);
}

void pollthread_wake(struct pollthread *pt)
{
	efd_signal(pt->kick_fd);
}

int pollthread_add_fd(struct pollthread *pt, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = 0, .data.u32 = tag };

	if (fd < 0)
		return 0;
	return epoll_ctl(pt->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

void pollthread_set_events(struct pollthread *pt, int fd, uint32_t tag, uint32_t *cur,
			   uint32_t want)
{
	struct epoll_event ev = { .events = want, .data.u32 = tag };

	if (fd < 0 || *cur == want)
		return;
	if (!epoll_ctl(pt->epfd, EPOLL_CTL_MOD, fd, &ev))
		*cur = want;
}

int pollthread_add_port(struct pollthread *pt, int rx_fd, int tx_fd, uint32_t tag)
{
	int ret = pollthread_add_fd(pt, rx_fd, tag);

	if (!ret && tx_fd != rx_fd)
		ret = pollthread_add_fd(pt, tx_fd, tag);
	return ret;
}

void pollthread_port_events(struct pollthread *pt, int rx_fd, int tx_fd, uint32_t tag,
			    uint32_t cur[2], bool in, bool out)
{
	uint32_t ev_in = in ? EPOLLIN : 0, ev_out = out ? EPOLLOUT : 0;

	if (rx_fd == tx_fd) {
		pollthread_set_events(pt, rx_fd, tag, &cur[0], ev_in | ev_out);
		return;
	}
	pollthread_set_events(pt, rx_fd, tag, &cur[0], ev_in);
	pollthread_set_events(pt, tx_fd, tag, &cur[1], ev_out);
}

int pollthread_init(struct pollthread *pt, const struct pollthread_ops *ops, void *opaque,
		    const char *name)
{
	uint32_t cur = 0;
	int ret;

	pt->ops = ops;
	pt->opaque = opaque;
	pt->name = name;
	pthread_mutex_init(&pt->lock, NULL);
	pthread_cond_init(&pt->cond, NULL);
	pt->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pt->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pt->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (pt->kick_fd < 0 || pt->ctl_fd < 0 || pt->epfd < 0)
		return -errno;
	ret = pollthread_add_fd(pt, pt->kick_fd, POLLTHREAD_TAG_SELF);
	if (!ret)
		ret = pollthread_add_fd(pt, pt->ctl_fd, POLLTHREAD_TAG_SELF);
	if (ret)
		return ret;
	pollthread_set_events(pt, pt->kick_fd, POLLTHREAD_TAG_SELF, &cur, EPOLLIN);
	cur = 0;
	pollthread_set_events(pt, pt->ctl_fd, POLLTHREAD_TAG_SELF, &cur, EPOLLIN);
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void pollthread_fini(struct pollthread *pt)
{
	pollthread_stop(pt);
	close_fd(&pt->epfd);
	close_fd(&pt->kick_fd);
	close_fd(&pt->ctl_fd);
	if (pt->ops) {
		pthread_cond_destroy(&pt->cond);
		pthread_mutex_destroy(&pt->lock);
	}
	pt->ops = NULL;
}
