// SPDX-License-Identifier: MIT
/*
 * DPDK's EAL, started once per daemon (see dpdk.h). EAL keeps pointers
 * into its argv, so the vector lives until net_dpdk_fini.
 */
#include "net/dpdk.h"
#include "net/dpdk_priv.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_version.h>

#include "core/log.h"

#define EAL_MAX_ARGS 64

static pthread_mutex_t eal_lock = PTHREAD_MUTEX_INITIALIZER;
static int eal_state;        /* 0: not started, 1: running, -errno: failed */
static char eal_error[256];  /* why it failed, for every later open */
static char *eal_copy;       /* the arguments, split in place */
static char *eal_argv[EAL_MAX_ARGS + 8];

static bool has_arg(char **argv, int argc, const char *prefix)
{
	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], prefix, strlen(prefix)))
			return true;
	return false;
}

/* argv: "iomed", our defaults unless the user's arguments say otherwise, theirs. */
static int build_argv(const char *args, char *err, size_t errlen)
{
	char *user[EAL_MAX_ARGS], *save = NULL, *tok;
	int n = 0, argc = 0;

	free(eal_copy);
	eal_copy = strdup(args ? args : "");
	if (!eal_copy)
		return net_err(err, errlen, -ENOMEM, "dpdk: out of memory");
	for (tok = strtok_r(eal_copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		if (n == EAL_MAX_ARGS)
			return net_err(err, errlen, -E2BIG, "dpdk: more than %d EAL arguments",
				       EAL_MAX_ARGS);
		user[n++] = tok;
	}
	eal_argv[argc++] = "iomed";
	/*
	 * No files under /var/run/dpdk or hugetlbfs: several daemons and tests
	 * side by side. --no-huge memory is anonymous already, and --in-memory
	 * refuses it: there only the shared config goes.
	 */
	if (!has_arg(user, n, "--in-memory") && !has_arg(user, n, "--file-prefix") &&
	    !has_arg(user, n, "--proc-type") && !has_arg(user, n, "--no-shconf"))
		eal_argv[argc++] = has_arg(user, n, "--no-huge") ? "--no-shconf" : "--in-memory";
	if (!has_arg(user, n, "--telemetry") && !has_arg(user, n, "--no-telemetry"))
		eal_argv[argc++] = "--no-telemetry";
	if (!has_arg(user, n, "--log-level"))
		eal_argv[argc++] = "--log-level=notice";
	memcpy(eal_argv + argc, user, n * sizeof(*user));
	argc += n;
	eal_argv[argc] = NULL;
	return argc;
}

static int eal_start(const char *args, char *err, size_t errlen)
{
	cpu_set_t cpus;
	bool have_cpus;
	int argc, ret;

	argc = build_argv(args, err, errlen);
	if (argc < 0)
		return argc;
	/* EAL pins the calling thread to its main lcore; iomed's threads are not lcores */
	have_cpus = !sched_getaffinity(0, sizeof(cpus), &cpus);
	ret = rte_eal_init(argc, eal_argv);
	if (have_cpus)
		sched_setaffinity(0, sizeof(cpus), &cpus);
	if (ret < 0) {
		ret = rte_errno ? -rte_errno : -EINVAL;
		return net_err(err, errlen, ret,
			       "dpdk: EAL initialization failed with arguments \"%s\": %s%s",
			       args ? args : "", rte_strerror(-ret),
			       ret == -EINVAL ? " (an unknown or malformed EAL argument?)" :
			       ret == -ENOMEM ? " (not enough memory: give EAL more with -m)" : "");
	}
	pr_info("dpdk: EAL started (%s%s%s), %u port(s)", rte_version(), args && *args ? ": " : "",
		args ? args : "", rte_eth_dev_count_avail());
	return 0;
}

/* Under eal_lock: start once, or say why the one try failed. */
static int start_locked(const char *args, bool explicit, char *err, size_t errlen)
{
	int ret;

	if (eal_state > 0)
		return explicit ? net_err(err, errlen, -EALREADY, "dpdk: EAL is already running") : 0;
	if (eal_state < 0)
		return net_err(err, errlen, eal_state, "%s", eal_error);
	ret = eal_start(args, eal_error, sizeof(eal_error));
	eal_state = ret ? ret : 1;
	return ret ? net_err(err, errlen, ret, "%s", eal_error) : 0;
}

int net_dpdk_init(const char *args, char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&eal_lock);
	ret = start_locked(args, true, err, errlen);
	pthread_mutex_unlock(&eal_lock);
	return ret;
}

/* For a port opened without --dpdk: EAL with none of the user's arguments. */
int dpdk_eal_ready(char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&eal_lock);
	ret = start_locked(NULL, false, err, errlen);
	pthread_mutex_unlock(&eal_lock);
	return ret;
}

/*
 * The datapath threads become DPDK lcores at their first use of a port, so
 * their mbuf gets and puts go through a cache of their own instead of the
 * pool's ring every time; a key's destructor gives the lcore back at thread
 * exit. A thread that cannot have one (every lcore id taken) works without.
 */
static pthread_key_t lcore_key;
static bool lcore_key_ok;
static pthread_once_t lcore_once = PTHREAD_ONCE_INIT;
static __thread bool lcore_tried; /* once per thread, whatever the outcome */

static void flush_cache(struct rte_mempool *mp, void *unused)
{
	struct rte_mempool_cache *c = rte_mempool_default_cache(mp, rte_lcore_id());

	(void)unused;
	if (c)
		rte_mempool_cache_flush(c, mp);
}

static void lcore_leave(void *unused)
{
	(void)unused;
	rte_mempool_walk(flush_cache, NULL); /* its cached mbufs back to their pools */
	rte_thread_unregister();
}

static void lcore_key_init(void)
{
	lcore_key_ok = !pthread_key_create(&lcore_key, lcore_leave);
}

void dpdk_thread_enter(void)
{
	if (__builtin_expect(lcore_tried, 1))
		return;
	lcore_tried = true;
	if (rte_lcore_id() != LCORE_ID_ANY)
		return; /* EAL's own thread */
	pthread_once(&lcore_once, lcore_key_init);
	if (!lcore_key_ok)
		return;
	if (rte_thread_register()) {
		pr_warn_rl("dpdk: a datapath thread works without an mbuf cache: %s",
			   rte_strerror(rte_errno));
		return;
	}
	pthread_setspecific(lcore_key, &lcore_tried); /* any non-NULL value: the destructor runs */
}

void net_dpdk_fini(void)
{
	pthread_mutex_lock(&eal_lock);
	if (eal_state > 0) {
		dpdk_devs_fini();
		rte_eal_cleanup();
	}
	eal_state = 0;
	free(eal_copy);
	eal_copy = NULL;
	pthread_mutex_unlock(&eal_lock);
}
