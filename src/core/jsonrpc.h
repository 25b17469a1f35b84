/* SPDX-License-Identifier: MIT */
/*
 * JSON-RPC 2.0 (https://www.jsonrpc.org/specification) without a transport:
 * a parsed message in, the response out. Requests, notifications, batches,
 * and the standard errors for whatever is not one of those.
 */
#ifndef IOMED_CORE_JSONRPC_H
#define IOMED_CORE_JSONRPC_H

#include <stdbool.h>

struct json_object;

enum rpc_code {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_INVALID_PARAMS = -32602,
	RPC_INTERNAL_ERROR = -32603,
	/* iomed's own (the range JSON-RPC leaves to servers) */
	RPC_NO_SUCH_DEVICE = -32000,
	RPC_DEVICE_EXISTS = -32001,
	RPC_DEVICE_FAILED = -32002,
	RPC_NOT_AVAILABLE = -32003,
	RPC_BUSY = -32004,
	RPC_RECORDING_STATE = -32005, /* trace_start: already running; trace_stop: not running */
};

#define RPC_MAX_BATCH 64

struct rpc_error {
	int code;
	char message[512];
	struct json_object *data; /* optional, owned: becomes error.data */
};

/*
 * A method: @params is the request's params object, or NULL when it had
 * none (a params array is refused before the call). Returns 0 with *@result
 * set (owned), or the error code with @err filled (rpc_fail).
 */
struct rpc_method {
	const char *name;
	int (*fn)(void *ctx, struct json_object *params, struct json_object **result,
		  struct rpc_error *err);
};

/*
 * Answer one parsed message (a request, a notification or a batch) with
 * the methods of @methods (terminated by a NULL name). Returns the response
 * to send (owned), or NULL when there is nothing to send (notifications).
 */
struct json_object *jsonrpc_handle(const struct rpc_method *methods, void *ctx,
				   struct json_object *msg);
/* An error response with @id (NULL: JSON null). */
struct json_object *jsonrpc_error(int code, const char *message, struct json_object *id);

/* Fill @err; returns @code. */
int rpc_fail(struct rpc_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Params helpers: only the keys of @allowed (NULL-terminated) may appear;
 * a string member @key (absent: *@out NULL, an error if @required). They
 * return 0 or RPC_INVALID_PARAMS with @err filled.
 */
int rpc_params_allow(struct json_object *params, const char *const *allowed,
		     struct rpc_error *err);
int rpc_param_string(struct json_object *params, const char *key, bool required,
		     const char **out, struct rpc_error *err);

#endif
