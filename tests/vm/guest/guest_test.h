/* SPDX-License-Identifier: MIT */
/*
 * Marker lines for guest-side test programs (built with cc -static and run
 * inside the VM): the host side parses "IOMED-TEST: PASS/FAIL name".
 */
#ifndef IOMED_TESTS_VM_GUEST_TEST_H
#define IOMED_TESTS_VM_GUEST_TEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

static int fails;

static inline void pass(const char *n)
{
	printf("IOMED-TEST: PASS %s\n", n);
	fflush(stdout);
}

static inline void __attribute__((format(printf, 2, 3))) fail(const char *n, const char *fmt, ...)
{
	va_list ap;

	printf("IOMED-TEST: FAIL %s ", n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	fails++;
}

static inline void check_u32(const char *n, uint32_t got, uint32_t want)
{
	if (got == want)
		pass(n);
	else
		fail(n, "got 0x%08x want 0x%08x", got, want);
}

#endif
