/* SPDX-License-Identifier: MIT */
/* What the port probes (tap_probe, dpdk_probe, afxdp_probe) share: verdicts, time, bytes. */
#ifndef IOMED_TESTS_PROBE_H
#define IOMED_TESTS_PROBE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static int failures __attribute__((unused));

/* One check's verdict on its own line; a failure says why and is counted. */
static inline __attribute__((format(printf, 3, 4))) void check(bool ok, const char *name,
								 const char *fmt, ...)
{
	va_list ap;

	printf("%s %s", ok ? "ok:  " : "FAIL:", name);
	if (!ok) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		failures++;
	}
	printf("\n");
	fflush(stdout);
}

static inline long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The Internet checksum's running sum of @len bytes at @p, added to @s. */
static inline uint32_t sum16(uint32_t s, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		s += get16(p);
	if (len)
		s += (uint32_t)p[0] << 8;
	return s;
}

static inline uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

#endif
