/* SPDX-License-Identifier: MIT */
/*
 * Signal and drain the daemon's own eventfds (wake-ups between its threads).
 * Not for client-supplied eventfds: those go through irq.c, which must never
 * block on them.
 */
#ifndef IOMED_CORE_EVENTFD_H
#define IOMED_CORE_EVENTFD_H

#include <stdint.h>
#include <unistd.h>

static inline void efd_signal(int fd)
{
	uint64_t one = 1;

	/* Fails only when the counter would overflow: it is readable then anyway. */
	if (write(fd, &one, sizeof(one)) < 0)
		return;
}

static inline void efd_drain(int fd)
{
	uint64_t v;

	/* Non-blocking eventfds: EAGAIN just means there was nothing to drain. */
	if (read(fd, &v, sizeof(v)) < 0)
		return;
}

#endif
