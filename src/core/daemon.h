/* SPDX-License-Identifier: MIT */
#ifndef IOMED_CORE_DAEMON_H
#define IOMED_CORE_DAEMON_H

#include "core/cli.h"

/*
 * Gather the configuration (--config, --device), then either check it
 * (--check-config) or create every device, serve each from its own thread
 * (--isolate: its own sandboxed process) and the control socket from this
 * one until SIGINT or SIGTERM, then stop them and remove their sockets.
 * Returns the exit status (enum iomed_exit).
 */
int daemon_run(const struct cli *cli);

#endif
