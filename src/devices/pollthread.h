/* SPDX-License-Identifier: MIT */
/*
 * A device's datapath thread, shared by the emulated NICs: it polls the
 * device's queues; after poll_ns without work it asks the device to arm its
 * wake-ups (guest kicks, port fds, timers), looks once more, and sleeps in
 * epoll on the kick eventfd, the device's fds and the control eventfd.
 *
 * Park protocol (the server brackets every DMA/IRQ table change with it):
 * pollthread_park sets park_req and writes ctl_fd; the thread, between two
 * polls, lets the device drop its pointers into guest memory, says parked
 * and waits until unparked or stopped, then lets the device map again. The
 * mutex and condvar are used only there, never on the hot path.
 */
#ifndef IOMED_DEVICES_POLLTHREAD_H
#define IOMED_DEVICES_POLLTHREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct pollthread_ops {
	/* One pass over the device's queues; returns the work done (0: idle). */
	unsigned (*poll)(void *opaque);
	/* Let go of guest memory (before a park or the end); optional. */
	void (*park)(void *opaque);
	/* After a park, and when the thread starts; optional. */
	void (*unpark)(void *opaque);
	/*
	 * About to sleep: arm the wake-ups the device needs (epoll interest on
	 * pollthread.epfd, guest notifications) and set *timeout_ms (-1: none).
	 * Return false when work arrived meanwhile: the thread polls again.
	 */
	bool (*sleep_prepare)(void *opaque, int *timeout_ms);
	/* Woken up: disarm what sleep_prepare armed; optional. */
	void (*sleep_done)(void *opaque);
};

struct pollthread {
	const struct pollthread_ops *ops;
	void *opaque;
	const char *name; /* for logs */
	uint64_t poll_ns; /* idle time before sleeping */
	/*
	 * No thread: start does nothing and whoever set this calls ops->poll
	 * itself (fuzzing harnesses, which must be deterministic).
	 */
	bool manual;
	pthread_t thread;
	bool running;  /* control path only */
	int epfd;      /* devices add their fds with tags below POLLTHREAD_TAG_SELF */
	int kick_fd;   /* pollthread_kick */
	int ctl_fd;    /* park and stop requests */
	pthread_mutex_t lock; /* park/stop handshake only */
	pthread_cond_t cond;
	bool park_req; /* atomic */
	bool stop;     /* atomic */
	bool sleeping; /* atomic: in or about to enter epoll_wait */
	bool parked;   /* under lock */
};

#define POLLTHREAD_TAG_SELF UINT32_MAX

int pollthread_init(struct pollthread *pt, const struct pollthread_ops *ops, void *opaque,
		    const char *name);
void pollthread_fini(struct pollthread *pt);
/* Add @fd to the epoll set (no events yet) with @tag as its data. */
int pollthread_add_fd(struct pollthread *pt, int fd, uint32_t tag);
/* Set the events of an added fd; *cur caches what is registered. */
void pollthread_set_events(struct pollthread *pt, int fd, uint32_t tag, uint32_t *cur,
			   uint32_t want);
/* A packet port's fds (one when rx_fd == tx_fd; -1 skipped), tagged @tag. */
int pollthread_add_port(struct pollthread *pt, int rx_fd, int tx_fd, uint32_t tag);
/* Wake on a port readable (@in) and/or writable (@out); cur[2] caches the registration. */
void pollthread_port_events(struct pollthread *pt, int rx_fd, int tx_fd, uint32_t tag,
			    uint32_t cur[2], bool in, bool out);
int pollthread_start(struct pollthread *pt);
/* Joins the thread; the device's park hook has run on it. */
void pollthread_stop(struct pollthread *pt);
/* Returns once the thread is parked (at once when not running). */
void pollthread_park(struct pollthread *pt);
void pollthread_unpark(struct pollthread *pt);
/* Wake the thread if it sleeps (always cheap when it polls). */
void pollthread_kick(struct pollthread *pt);
/* Unconditional wake-up, for devices that track sleep themselves. */
void pollthread_wake(struct pollthread *pt);

static inline bool pollthread_flag(const bool *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void pollthread_set_flag(bool *p, bool v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

uint64_t pollthread_now_ns(void);

#endif
