/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the benchmarks (timing, pinning, option parsing). */
#ifndef IOMED_BENCH_H
#define IOMED_BENCH_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in ns. */
uint64_t bench_now_ns(void);
/* Pin thread @t to CPU @cpu (-1: leave it). 0 or -errno. */
int bench_pin(pthread_t t, int cpu);
/* Unsigned number (any base strtoul takes) in [min, max] into *out. 0 or -EINVAL. */
int bench_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);
/* Median of @n values (n <= 100; @v left as it is). */
double bench_median(const double *v, unsigned n);
/* CPU seconds (user + system, all threads) of process @pid, 0 for this one; < 0 on error. */
double bench_cpu_seconds(pid_t pid);
/* Without $IOMED, point it at the iomed built next to this binary (<build>/bench/..). */
void bench_default_daemon(void);

#endif
