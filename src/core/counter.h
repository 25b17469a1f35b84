/* SPDX-License-Identifier: MIT */
/*
 * Statistics counters: written by one thread (a device's server or poller),
 * read by the control thread while they run. Relaxed atomics on both sides:
 * the writer pays a plain load, add and store (no locked instruction), the
 * reader sees each counter whole, and nobody waits for anybody.
 */
#ifndef IOMED_CORE_COUNTER_H
#define IOMED_CORE_COUNTER_H

#include <stdint.h>

/* Only for a counter with a single writer thread. */
static inline void counter_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline void counter_inc(uint64_t *c)
{
	counter_add(c, 1);
}

/* For a counter several threads bump. */
static inline void counter_add_shared(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static inline void counter_set(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, v, __ATOMIC_RELAXED);
}

static inline uint64_t counter_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

#endif
