/* SPDX-License-Identifier: MIT */
/*
 * A client of iomed's control socket (JSON-RPC 2.0, one JSON response per
 * line): iomedctl and the tests use it.
 */
#ifndef IOMED_CTL_CLIENT_H
#define IOMED_CTL_CLIENT_H

#include <stddef.h>

struct json_object;
struct ctl_client;

#define CTL_DEFAULT_SOCKET "/run/iomed/iomed.sock"

/* $IOMED_CONTROL, else CTL_DEFAULT_SOCKET. */
const char *ctl_socket_path(void);

int ctl_client_connect(struct ctl_client **out, const char *path);
void ctl_client_close(struct ctl_client *c);
/* Send @len raw bytes (all of them). 0 or -errno. */
int ctl_client_send(struct ctl_client *c, const void *buf, size_t len);
/*
 * The next response line, parsed, within @timeout_ms: 0, -ETIMEDOUT,
 * -ECONNRESET (the daemon closed the connection), -EPROTO (not JSON).
 */
int ctl_client_recv(struct ctl_client *c, struct json_object **out, int timeout_ms);
/*
 * Call @method with @params (an object, or NULL for none; borrowed) and
 * wait for its response: 0 and the whole response object in *@resp. When
 * the daemon closed the connection before the request was sent, an answer
 * it left (e.g. the refusal of a connection too many) is the response.
 */
int ctl_client_call(struct ctl_client *c, const char *method, struct json_object *params,
		    struct json_object **resp, int timeout_ms);

#endif
