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

/*
 * One device served by the calling process (an isolated device process,
 * core/isolate.c). daemon_device_create parses @spec (the @index-th
 * --device, for the default id) and creates the model: -errno is a bad
 * specification, already logged. daemon_device_listen binds the socket
 * (-errno, logged). daemon_device_free stops nothing: call it once the
 * server no longer runs; it removes the socket and frees all.
 */
struct daemon_device;
struct vfu_server;
int daemon_device_create(struct daemon_device **out, const char *spec, unsigned index);
int daemon_device_listen(struct daemon_device *d);
const char *daemon_device_id(const struct daemon_device *d);
const char *daemon_device_socket(struct daemon_device *d);
struct vfu_server *daemon_device_server(const struct daemon_device *d);
void daemon_device_free(struct daemon_device *d);

#endif
