/* SPDX-License-Identifier: MIT */
#ifndef IOMED_CORE_CLI_H
#define IOMED_CORE_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/log.h"

#define CLI_MAX_DEVICES 64

/* Exit statuses of iomed (docs/usage.md). */
enum iomed_exit {
	IOMED_EXIT_OK = 0,      /* clean stop on SIGINT/SIGTERM; --check-config: valid */
	IOMED_EXIT_RUNTIME = 1, /* something could not be set up (socket, backend, memory) */
	IOMED_EXIT_USAGE = 2,   /* bad command line */
	IOMED_EXIT_CONFIG = 3,  /* invalid configuration: the file or a --device */
};

enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION, CLI_CHECK };

struct cli {
	enum cli_action action;
	bool has_log_level;
	enum log_level log_level;
	const char *config_file;  /* --config, or NULL */
	const char *control_path; /* --control, or NULL */
	const char *device_specs[CLI_MAX_DEVICES];
	unsigned ndevices;
	const char *dpdk_args; /* --dpdk: EAL arguments, NULL when not given */
	bool isolate;     /* --isolate: one sandboxed process per device */
	const char *user; /* --user: the isolated processes' user, NULL to keep ours */
};

/* Returns 0 or -EINVAL after printing what is wrong to stderr. */
int cli_parse(struct cli *cli, int argc, char **argv);
void cli_usage(FILE *out);

#endif
