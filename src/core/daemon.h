/* SPDX-License-Identifier: MIT */
#ifndef IOMED_CORE_DAEMON_H
#define IOMED_CORE_DAEMON_H

#include "core/cli.h"

/*
 * Create every device, serve each from its own thread until SIGINT or
 * SIGTERM, then stop them and remove their sockets. Returns the exit
 * status: 0 clean stop, 1 runtime error, 2 bad device specification.
 */
int daemon_run(const struct cli *cli);

#endif
