/* SPDX-License-Identifier: MIT */
/* Shared by the supervisor (isolate.c, isolate_cmd.c) and the device processes (isolate_child.c). */
#ifndef IOMED_CORE_ISOLATE_PRIV_H
#define IOMED_CORE_ISOLATE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/isolate.h"
#include "core/sandbox.h"
#include "devices/device.h"
#include "vfio-user/server.h"

/*
 * Memory shared by the supervisor and one device process, kept across its
 * restarts: the counters of its server and of its model (model_stats, the
 * model's stats_size bytes), and the forbidden system call that killed it.
 * The process may be hostile: these are numbers to show, nothing to trust.
 */
struct iso_shared {
	struct vfu_stats stats;
	int32_t bad_syscall; /* -1 none */
	uint64_t model_stats[] __attribute__((aligned(64)));
};

/*
 * How set-up went, the device process's one message before it serves (or
 * exits): ret 0 ready, else -errno with the reason as devtab_error has it.
 */
struct iso_result {
	int32_t ret;
	uint8_t backend;
	char key[64];
	char msg[512];
};

/* Commands on the socketpair, once the process serves; each gets one iso_reply. */
enum iso_op {
	ISO_CMD_RESET = 1,         /* DEVICE_RESET, as a client's */
	ISO_CMD_RESET_REQUEST = 2, /* the model's device-side reset, if it has one */
	ISO_CMD_LOG_LEVEL = 3,     /* arg: enum log_level */
	ISO_CMD_RECORDING = 4,     /* what it records: the reply is an iso_recording */
	/*
	 * arg: enum iomed_rec_kind; the file comes with it (SCM_RIGHTS), opened
	 * and truncated by the supervisor: the process may not open files.
	 */
	ISO_CMD_RECORD_START = 5,
	ISO_CMD_RECORD_STOP = 6,   /* arg: enum iomed_rec_kind */
};

struct iso_cmd {
	uint32_t seq;
	uint32_t op;
	int32_t arg;
	char path[256]; /* RECORD_START: the file's name, for logs and device_stats */
};

struct iso_reply {
	uint32_t seq;
	int32_t ret;
};

/* The reply to ISO_CMD_RECORDING. */
struct iso_recording {
	struct iso_reply r;
	struct iomed_recording_info info;
};

struct iso_dev {
	struct isolate *iso;
	struct devtab_entry *d;
	pid_t pid;     /* 0: not running */
	int sock;      /* our end of the socketpair with the running process, -1 none */
	uint32_t seq;  /* of the last command sent */
	struct iso_shared *shared;
	size_t shared_size;
	bool listened; /* the socket file is ours to remove */
	int64_t started_ms;
	int64_t restart_at_ms; /* 0: none due */
	unsigned failures;     /* deaths in a row: the back-off */
	unsigned restarts;
};

struct isolate {
	struct iso_dev **devs;
	unsigned ndev;
	pid_t self;
	bool stopping;
	bool unclean; /* a device process did not stop cleanly */
	struct sandbox_user user;
};

/*
 * One message of exactly @len bytes on @sock before @deadline (vfu_now_ms):
 * 0, -ECONNRESET (the process is gone), -EPROTO (another size), -ETIMEDOUT.
 */
int iso_wait_msg(int sock, void *buf, size_t len, int64_t deadline);

/* The device process: set up, say how it went on @sock, serve, exit. */
__attribute__((noreturn)) void isolate_child_main(struct iso_dev *dev, int sock);

#endif
