/* SPDX-License-Identifier: MIT */
/* Shared by the supervisor (isolate.c) and the device processes (isolate_child.c). */
#ifndef IOMED_CORE_ISOLATE_PRIV_H
#define IOMED_CORE_ISOLATE_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/isolate.h"
#include "core/sandbox.h"

struct iso_shared {
	struct vfu_stats stats;
	int32_t bad_syscall; /* what killed the process with SIGSYS, -1 none */
};

/* What a device process says once its model exists (SOCK_SEQPACKET: one message). */
struct iso_hello {
	char id[64];
	char socket[108]; /* sun_path */
};
#define ISO_READY 'R'

struct iso_dev {
	char *spec;
	unsigned index;   /* on the command line: the default id is devINDEX */
	char id[sizeof(((struct iso_hello *)0)->id)];
	char socket[sizeof(((struct iso_hello *)0)->socket)];
	bool listened;    /* the socket file is ours to remove */
	pid_t pid;        /* 0: not running */
	struct iso_shared *shared;
	int64_t started_ms;
	int64_t restart_at_ms; /* 0: none due */
	unsigned failures;     /* deaths in a row: the back-off */
	unsigned restarts;
};

struct isolate {
	struct iso_dev **devs;
	unsigned ndev;
	int sigfd;
	pid_t self;
	bool stopping;
	bool unclean; /* a device process did not stop cleanly */
	struct sandbox_user user;
};

/* The device process: set up, say hello and ready on @sock, serve, exit. */
__attribute__((noreturn)) void isolate_child_main(struct isolate *iso, struct iso_dev *dev,
						  int sock);

#endif
