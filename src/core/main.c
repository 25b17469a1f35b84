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

	log_init();
	if (cli_parse(&cli, argc, argv))
		return IOMED_EXIT_USAGE;
	switch (cli.action) {
	case CLI_HELP:
		cli_usage(stdout);
		return IOMED_EXIT_OK;
	case CLI_VERSION:
		printf("iomed %s\n", IOMED_VERSION);
		return IOMED_EXIT_OK;
	default:
		log_set_level(cli.log_level);
		return daemon_run(&cli);
	}
}
