// SPDX-License-Identifier: MIT
#include <stdio.h>

#include "core/cli.h"
#include "core/daemon.h"

#ifndef IOMED_VERSION
#define IOMED_VERSION "unknown"
#endif

int main(int argc, char **argv)
{
	struct cli cli;

	if (cli_parse(&cli, argc, argv))
		return 2;
	switch (cli.action) {
	case CLI_HELP:
		cli_usage(stdout);
		return 0;
	case CLI_VERSION:
		printf("iomed %s\n", IOMED_VERSION);
		return 0;
	default:
		log_set_level(cli.log_level);
		return daemon_run(&cli);
	}
}
