/* SPDX-License-Identifier: MIT */
#ifndef IOMED_CORE_CLI_H
#define IOMED_CORE_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/log.h"

#define CLI_MAX_DEVICES 64

enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION };

struct cli {
	enum cli_action action;
	enum log_level log_level;
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
