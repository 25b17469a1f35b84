// SPDX-License-Identifier: MIT
#include "sigbus.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static __thread uint64_t thread_faults;
static uint64_t total_faults;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_error;

static void die_default(int sig)
{
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t page = (uintptr_t)si->si_addr & ~((uintptr_t)sysconf(_SC_PAGESIZE) - 1);
	void *p;

	(void)uc;
	/* Only "no backing page" faults are survivable; anything else is a bug. */
	if (si->si_code != BUS_ADRERR || !page) {
		die_default(sig);
		return;
	}
	p = mmap((void *)page, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED) {
		die_default(sig);
		return;
	}
	thread_faults++;
	__atomic_add_fetch(&total_faults, 1, __ATOMIC_RELAXED);
}

static void install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL))
		init_error = -errno;
}

int vfu_sigbus_init(void)
{
	pthread_once(&once, install);
	return init_error;
}

uint64_t vfu_sigbus_faults(void)
{
	return thread_faults;
}

uint64_t vfu_sigbus_total(void)
{
	return __atomic_load_n(&total_faults, __ATOMIC_RELAXED);
}
