// SPDX-License-Identifier: MIT
/* JSON-RPC 2.0 request handling: validation, dispatch, batches, errors. */
#include "core/jsonrpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

int rpc_fail(struct rpc_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

struct json_object *jsonrpc_error(int code, const char *message, struct json_object *id)
{
	struct json_object *resp = json_object_new_object();
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_int(code));
	json_object_object_add(e, "message", json_object_new_string(message));
	json_object_object_add(resp, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(resp, "error", e);
	json_object_object_add(resp, "id", json_object_get(id));
	return resp;
}

static struct json_object *error_response(struct rpc_error *err, struct json_object *id)
{
	struct json_object *resp = jsonrpc_error(err->code, err->message, id);

	if (err->data) {
		struct json_object *e;

		json_object_object_get_ex(resp, "error", &e);
		json_object_object_add(e, "data", err->data);
		err->data = NULL;
	}
	return resp;
}

static struct json_object *result_response(struct json_object *result, struct json_object *id)
{
	struct json_object *resp = json_object_new_object();

	json_object_object_add(resp, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(resp, "result", result ? result : json_object_new_object());
	json_object_object_add(resp, "id", json_object_get(id));
	return resp;
}

/* An id is a string, a number or null (2.0, section 4). */
static bool id_ok(struct json_object *id)
{
	switch (json_object_get_type(id)) {
	case json_type_null:
	case json_type_string:
	case json_type_int:
	case json_type_double:
		return true;
	default:
		return false;
	}
}

/*
 * Check the request object. 0, or the error with @err filled; *@id is set
 * to the request's id when it has a valid one.
 */
static int check_request(struct json_object *req, struct json_object **id, bool *notification,
			 const char **method, struct json_object **params, struct rpc_error *err)
{
	struct json_object *v;

	*id = NULL;
	*notification = false;
	if (!json_object_is_type(req, json_type_object))
		return rpc_fail(err, RPC_INVALID_REQUEST, "a request is a JSON object");
	if (json_object_object_get_ex(req, "id", &v)) {
		if (!id_ok(v))
			return rpc_fail(err, RPC_INVALID_REQUEST,
					"id: expected a string, a number or null");
		*id = v;
	}
	if (!json_object_object_get_ex(req, "jsonrpc", &v) ||
	    !json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), "2.0"))
		return rpc_fail(err, RPC_INVALID_REQUEST, "jsonrpc: expected \"2.0\"");
	if (!json_object_object_get_ex(req, "method", &v) ||
	    !json_object_is_type(v, json_type_string))
		return rpc_fail(err, RPC_INVALID_REQUEST, "method: expected a string");
	*method = json_object_get_string(v);
	*notification = !json_object_object_get_ex(req, "id", NULL);
	*params = NULL;
	if (json_object_object_get_ex(req, "params", &v)) {
		if (json_object_is_type(v, json_type_array))
			return rpc_fail(err, RPC_INVALID_PARAMS,
					"params: expected an object (parameters by name)");
		if (!json_object_is_type(v, json_type_object))
			return rpc_fail(err, RPC_INVALID_REQUEST, "params: expected an object");
		*params = v;
	}
	return 0;
}

static struct json_object *handle_one(const struct rpc_method *methods, void *ctx,
				      struct json_object *req)
{
	struct rpc_error err = { 0 };
	struct json_object *id, *params, *result = NULL;
	const char *method = NULL;
	const struct rpc_method *m;
	bool notification;
	int code;

	code = check_request(req, &id, &notification, &method, &params, &err);
	/* An invalid request is no notification: always answered (id null if unknown). */
	if (code == RPC_INVALID_REQUEST || (code && !notification))
		return error_response(&err, id);
	if (code)
		return NULL;
	for (m = methods; m->name; m++)
		if (!strcmp(m->name, method))
			break;
	if (!m->name)
		code = rpc_fail(&err, RPC_METHOD_NOT_FOUND, "no method '%s'", method);
	else
		code = m->fn(ctx, params, &result, &err);
	if (notification) {
		json_object_put(result);
		json_object_put(err.data);
		return NULL;
	}
	return code ? error_response(&err, id) : result_response(result, id);
}

struct json_object *jsonrpc_handle(const struct rpc_method *methods, void *ctx,
				   struct json_object *msg)
{
	struct json_object *out;
	size_t n;

	if (!json_object_is_type(msg, json_type_array))
		return handle_one(methods, ctx, msg);
	n = json_object_array_length(msg);
	if (!n)
		return jsonrpc_error(RPC_INVALID_REQUEST, "empty batch", NULL);
	if (n > RPC_MAX_BATCH)
		return jsonrpc_error(RPC_INVALID_REQUEST, "batch of more than 64 requests", NULL);
	out = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *r = handle_one(methods, ctx, json_object_array_get_idx(msg, i));

		if (r)
			json_object_array_add(out, r);
	}
	/* A batch of notifications only gets no answer at all. */
	if (!json_object_array_length(out)) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

int rpc_params_allow(struct json_object *params, const char *const *allowed,
		     struct rpc_error *err)
{
	if (!params)
		return 0;
	json_object_object_foreach(params, k, v) {
		const char *const *a;

		(void)v;
		for (a = allowed; *a && strcmp(*a, k); a++)
			;
		if (!*a)
			return rpc_fail(err, RPC_INVALID_PARAMS, "unknown parameter '%s'", k);
	}
	return 0;
}

int rpc_param_string(struct json_object *params, const char *key, bool required,
		     const char **out, struct rpc_error *err)
{
	struct json_object *v;

	*out = NULL;
	if (!params || !json_object_object_get_ex(params, key, &v)) {
		if (required)
			return rpc_fail(err, RPC_INVALID_PARAMS, "%s: missing (expected a string)",
					key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return rpc_fail(err, RPC_INVALID_PARAMS, "%s: expected a string", key);
	/* As C text it would end at the NUL: another id, another path. */
	if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return rpc_fail(err, RPC_INVALID_PARAMS, "%s: a NUL character in the string", key);
	*out = json_object_get_string(v);
	return 0;
}
