// SPDX-License-Identifier: MIT
/*
 * The control socket's methods (docs/usage.md lists them with their params,
 * results and errors). Each runs on the main thread against the device
 * table; none stops a device other than the one it names.
 */
#include "core/rpc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "core/config.h"
#include "core/devtab.h"
#include "core/log.h"
#include "devices/device.h"

static const char *const only_id[] = { "id", NULL };
static const char *const no_params[] = { NULL };

static int no_device(struct rpc_error *err, const char *id)
{
	err->data = json_object_new_object();
	json_object_object_add(err->data, "id", json_object_new_string(id));
	return rpc_fail(err, RPC_NO_SUCH_DEVICE, "no device '%s'", id);
}

/* The "id" param of the methods that take only that. */
static int device_id(struct json_object *params, const char **id, struct rpc_error *err)
{
	int code = rpc_params_allow(params, only_id, err);

	return code ? code : rpc_param_string(params, "id", true, id, err);
}

static struct json_object *id_result(const char *id)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "id", json_object_new_string(id));
	return r;
}

/* A failed add as a JSON-RPC error: the option to blame goes into data.key. */
static int add_failed(struct rpc_error *err, int ret, const struct devtab_error *e)
{
	int code = RPC_DEVICE_FAILED;

	if (ret == -EINVAL)
		code = RPC_INVALID_PARAMS;
	else if (ret == -EEXIST)
		code = RPC_DEVICE_EXISTS;
	err->data = json_object_new_object();
	if (*e->key)
		json_object_object_add(err->data, "key", json_object_new_string(e->key));
	json_object_object_add(err->data, "errno", json_object_new_int(-ret));
	return rpc_fail(err, code, "%s", e->msg);
}

static int device_add(void *ctx, struct json_object *params, struct json_object **result,
		      struct rpc_error *err)
{
	struct devtab_error e;
	char key[64], msg[256];
	const char *id;
	struct opts o;
	int ret;

	if (!params)
		return rpc_fail(err, RPC_INVALID_PARAMS,
				"params: expected the device {\"model\": ..., \"socket\": ...}");
	ret = opts_from_json(&o, params, key, sizeof(key), msg, sizeof(msg));
	if (ret) {
		snprintf(e.key, sizeof(e.key), "%s", key);
		snprintf(e.msg, sizeof(e.msg), "%s%s%s", key, *key ? ": " : "", msg);
		return add_failed(err, ret, &e);
	}
	ret = devtab_add(ctx, &o, &e, &id);
	if (ret) {
		pr_warn("control: device_add refused: %s", e.msg);
		return add_failed(err, ret, &e);
	}
	*result = id_result(id);
	return 0;
}

static int device_remove(void *ctx, struct json_object *params, struct json_object **result,
			 struct rpc_error *err)
{
	const char *id;
	bool client;
	int code = device_id(params, &id, err);

	if (code)
		return code;
	if (devtab_remove(ctx, id, &client))
		return no_device(err, id);
	*result = id_result(id);
	json_object_object_add(*result, "client_disconnected", json_object_new_boolean(client));
	return 0;
}

static int device_list(void *ctx, struct json_object *params, struct json_object **result,
		       struct rpc_error *err)
{
	int code = rpc_params_allow(params, no_params, err);

	if (code)
		return code;
	*result = json_object_new_object();
	json_object_object_add(*result, "devices", devtab_list(ctx));
	return 0;
}

static int device_stats(void *ctx, struct json_object *params, struct json_object **result,
			struct rpc_error *err)
{
	const char *id;
	int code = device_id(params, &id, err);

	if (code)
		return code;
	return devtab_stats(ctx, id, result) ? no_device(err, id) : 0;
}

static int device_reset(void *ctx, struct json_object *params, struct json_object **result,
			struct rpc_error *err)
{
	const char *id;
	int code = device_id(params, &id, err), ret;

	if (code)
		return code;
	ret = devtab_reset(ctx, id);
	if (ret == -ENOENT)
		return no_device(err, id);
	if (ret == -ESRCH)
		return rpc_fail(err, RPC_DEVICE_FAILED, "device '%s' is not serving", id);
	if (ret)
		return rpc_fail(err, RPC_DEVICE_FAILED, "device '%s': reset failed: %s", id,
				strerror(-ret));
	*result = id_result(id);
	return 0;
}

static int log_level(void *ctx, struct json_object *params, struct json_object **result,
		     struct rpc_error *err)
{
	static const char *const allowed[] = { "level", NULL };
	enum log_level level;
	const char *name;
	int code;

	code = rpc_params_allow(params, allowed, err);
	if (!code)
		code = rpc_param_string(params, "level", false, &name, err);
	if (code)
		return code;
	if (name && log_parse_level(name, &level))
		return rpc_fail(err, RPC_INVALID_PARAMS,
				"level: expected error, warn, info, debug or trace");
	if (name) {
		log_set_level(level);
		devtab_set_log_level(ctx, level);
		pr_info("control: log level %s", name);
	}
	*result = json_object_new_object();
	json_object_object_add(*result, "level",
			       json_object_new_string(log_level_name(log_get_level())));
	return 0;
}

/* "kind": "trace" (the default) or "pcap"; *@pcap says which. */
static int record_kind(struct json_object *params, bool *pcap, struct rpc_error *err)
{
	const char *kind;
	int code = rpc_param_string(params, "kind", false, &kind, err);

	if (code)
		return code;
	*pcap = kind && !strcmp(kind, "pcap");
	if (kind && !*pcap && strcmp(kind, "trace"))
		return rpc_fail(err, RPC_INVALID_PARAMS, "kind: expected \"trace\" or \"pcap\"");
	return 0;
}

/* The params of trace_start (@path not NULL) and trace_stop: id, path, kind. */
static int record_params(struct json_object *params, const char *const *allowed, const char **id,
			 const char **path, bool *pcap, struct rpc_error *err)
{
	int code = rpc_params_allow(params, allowed, err);

	if (!code)
		code = rpc_param_string(params, "id", true, id, err);
	if (!code && path)
		code = rpc_param_string(params, "path", true, path, err);
	return code ? code : record_kind(params, pcap, err);
}

/* A recording that cannot start or stop, as a JSON-RPC error. */
static int record_failed(struct rpc_error *err, const char *id, int ret,
			 const struct devtab_error *e)
{
	int code = RPC_DEVICE_FAILED;

	if (ret == -ENOENT && !*e->msg)
		return no_device(err, id);
	if (ret == -EINVAL || ret == -ENODEV)
		code = RPC_INVALID_PARAMS;
	else if (ret == -EBUSY || ret == -EALREADY)
		code = RPC_RECORDING_STATE;
	err->data = json_object_new_object();
	if (*e->key)
		json_object_object_add(err->data, "key", json_object_new_string(e->key));
	json_object_object_add(err->data, "errno", json_object_new_int(-ret));
	return rpc_fail(err, code, "%s", e->msg);
}

static struct json_object *record_result(const char *id, bool pcap, const char *path)
{
	struct json_object *r = id_result(id);

	json_object_object_add(r, "kind", json_object_new_string(pcap ? "pcap" : "trace"));
	json_object_object_add(r, "path", json_object_new_string(path));
	return r;
}

static int trace_start(void *ctx, struct json_object *params, struct json_object **result,
		       struct rpc_error *err)
{
	static const char *const allowed[] = { "id", "path", "kind", NULL };
	struct devtab_error e;
	const char *id, *path;
	bool pcap;
	int code = record_params(params, allowed, &id, &path, &pcap, err), ret;

	if (code)
		return code;
	if (!IOMED_TRACE_HOOKS)
		return rpc_fail(err, RPC_NOT_AVAILABLE,
				"traces and packet capture are not available in this build "
				"(-Dtrace_hooks=false)");
	ret = devtab_record_start(ctx, id, pcap, path, &e);
	if (ret)
		return record_failed(err, id, ret, &e);
	*result = record_result(id, pcap, path);
	return 0;
}

static int trace_stop(void *ctx, struct json_object *params, struct json_object **result,
		      struct rpc_error *err)
{
	static const char *const allowed[] = { "id", "kind", NULL };
	struct iomed_recording_info last;
	struct devtab_error e;
	const char *id;
	bool pcap;
	int code = record_params(params, allowed, &id, NULL, &pcap, err), ret;

	if (code)
		return code;
	ret = devtab_record_stop(ctx, id, pcap, &last, &e);
	if (ret)
		return record_failed(err, id, ret, &e);
	*result = record_result(id, pcap, pcap ? last.pcap_path : last.trace_path);
	json_object_object_add(*result, pcap ? "frames" : "records",
			       json_object_new_int64((int64_t)(pcap ? last.pcap_frames
								   : last.trace_records)));
	json_object_object_add(*result, "lost",
			       json_object_new_int64((int64_t)(pcap ? last.pcap_lost
								   : last.trace_lost)));
	return 0;
}

static const struct rpc_method methods[] = {
	{ "device_add", device_add },
	{ "device_remove", device_remove },
	{ "device_list", device_list },
	{ "device_stats", device_stats },
	{ "device_reset", device_reset },
	{ "log_level", log_level },
	{ "trace_start", trace_start },
	{ "trace_stop", trace_stop },
	{ NULL, NULL },
};

const struct rpc_method *rpc_methods(void)
{
	return methods;
}
