/* SPDX-License-Identifier: MIT */
/*
 * The control socket: JSON-RPC 2.0 over a Unix stream socket. A request is
 * one JSON text (a newline after it is customary, not required); each
 * response is one line of JSON. Served from the daemon's main thread.
 */
#ifndef IOMED_CORE_CONTROL_H
#define IOMED_CORE_CONTROL_H

#include "core/jsonrpc.h"

#define CTL_MAX_REQUEST (256u << 10) /* bytes of one request (or batch) */
#define CTL_MAX_CONNS 16
#define CTL_MAX_PENDING_OUT (4u << 20) /* unread responses before we stop reading */
#define CTL_IDLE_TIMEOUT_S 60 /* nothing moved on a connection for this long: it is closed */

struct ctl_server;

/*
 * Listen at @path with permissions @mode, group @group (NULL: ours),
 * replacing a stale socket file (a live one: -EADDRINUSE), creating the
 * folder if missing (one level). Requests go to @methods with @ctx. A
 * connection with no byte either way for @idle_s seconds (0:
 * CTL_IDLE_TIMEOUT_S) is closed.
 */
int ctl_server_create(struct ctl_server **out, const char *path, unsigned mode,
		      const char *group, unsigned idle_s, const struct rpc_method *methods,
		      void *ctx);
/* Readable when ctl_server_process has something to do. */
int ctl_server_fd(const struct ctl_server *s);
/* Accept, read, answer and write what is ready; never blocks. */
void ctl_server_process(struct ctl_server *s);
/* Close every connection, remove the socket file. */
void ctl_server_destroy(struct ctl_server *s);

#endif
