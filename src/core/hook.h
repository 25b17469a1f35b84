/* SPDX-License-Identifier: MIT */
/*
 * Observation hooks (traces, packet capture) sit on hot paths as one pointer
 * that is NULL while nothing observes: reading it is a plain load and the
 * branch on it is always predicted. Built with -Dtrace_hooks=false the load
 * is a constant NULL and the hooks compile away (the baseline the benchmark
 * compares against, see docs/performance.md).
 */
#ifndef IOMED_CORE_HOOK_H
#define IOMED_CORE_HOOK_H

#ifndef IOMED_TRACE_HOOKS
#define IOMED_TRACE_HOOKS 1
#endif

/* The current value of hook pointer @p: another thread may set or clear it. */
#define hook_load(p) (IOMED_TRACE_HOOKS ? __atomic_load_n(&(p), __ATOMIC_ACQUIRE) : NULL)
#define hook_store(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define hook_on(x) __builtin_expect((x) != NULL, 0)

#endif
