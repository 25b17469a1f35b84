// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctltest.h"

struct ctl_client *ct_connect(const char *path)
{
	struct ctl_client *c = NULL;

	assert_int_equal(ctl_client_connect(&c, path), 0);
	return c;
}

static struct json_object *params_of(const char *json)
{
	struct json_object *p;

	if (!json)
		return NULL;
	p = json_tokener_parse(json);
	if (!p)
		fail_msg("test bug: params are not JSON: %s", json);
	return p;
}

struct json_object *ct_call(struct ctl_client *c, const char *method, const char *params_json)
{
	struct json_object *params = params_of(params_json), *resp = NULL;
	int ret = ctl_client_call(c, method, params, &resp, CT_TIMEOUT_MS);

	json_object_put(params);
	if (ret)
		fail_msg("%s: no response: %s", method, strerror(-ret));
	return resp;
}

struct json_object *ct_raw(struct ctl_client *c, const char *text)
{
	struct json_object *resp = NULL;
	int ret;

	assert_int_equal(ctl_client_send(c, text, strlen(text)), 0);
	ret = ctl_client_recv(c, &resp, CT_TIMEOUT_MS);
	if (ret)
		fail_msg("no response to %.80s: %s", text, strerror(-ret));
	return resp;
}

struct json_object *ct_get(struct json_object *o, const char *path)
{
	char key[64];
	const char *p = path;

	while (o && *p) {
		size_t n = strcspn(p, ".");
		char *end;
		long idx;

		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		p += n + (p[n] == '.');
		idx = strtol(key, &end, 10);
		if (json_object_is_type(o, json_type_array) && !*end)
			o = json_object_array_get_idx(o, (size_t)idx);
		else if (!json_object_object_get_ex(o, key, &o))
			o = NULL;
	}
	return o;
}

int64_t ct_int(struct json_object *o, const char *path)
{
	struct json_object *v = ct_get(o, path);

	if (!v || !json_object_is_type(v, json_type_int))
		fail_msg("%s: not an integer in %s", path, json_object_to_json_string(o));
	return json_object_get_int64(v);
}

const char *ct_str(struct json_object *o, const char *path)
{
	struct json_object *v = ct_get(o, path);

	if (!v || !json_object_is_type(v, json_type_string))
		fail_msg("%s: not a string in %s", path, json_object_to_json_string(o));
	return json_object_get_string(v);
}

struct json_object *ct_result(struct json_object *resp)
{
	struct json_object *r = ct_get(resp, "result");

	if (!r || ct_get(resp, "error"))
		fail_msg("expected a result: %s", json_object_to_json_string(resp));
	assert_string_equal(ct_str(resp, "jsonrpc"), "2.0");
	return r;
}

const char *ct_error(struct json_object *resp, int code)
{
	if (!ct_get(resp, "error") || ct_get(resp, "result"))
		fail_msg("expected error %d: %s", code, json_object_to_json_string(resp));
	if (ct_int(resp, "error.code") != code)
		fail_msg("expected error %d: %s", code, json_object_to_json_string(resp));
	assert_string_equal(ct_str(resp, "jsonrpc"), "2.0");
	return ct_str(resp, "error.message");
}

int64_t ct_stat(const char *socket, const char *id, const char *path)
{
	struct ctl_client *c = ct_connect(socket);
	char params[128];
	struct json_object *resp;
	int64_t v;

	snprintf(params, sizeof(params), "{\"id\":\"%s\"}", id);
	resp = ct_call(c, "device_stats", params);
	v = ct_int(ct_result(resp), path);
	json_object_put(resp);
	ctl_client_close(c);
	return v;
}

void ct_expect_closed(struct ctl_client *c)
{
	struct json_object *resp = NULL;
	int ret = ctl_client_recv(c, &resp, CT_TIMEOUT_MS);

	if (ret != -ECONNRESET)
		fail_msg("expected the daemon to close the connection, got %s%s",
			 ret ? strerror(-ret) : "a response: ",
			 ret ? "" : json_object_to_json_string(resp));
}

void ct_expect_silence(struct ctl_client *c, int ms)
{
	struct json_object *resp = NULL;
	int ret = ctl_client_recv(c, &resp, ms);

	if (ret != -ETIMEDOUT)
		fail_msg("expected no response, got %s%s", ret ? strerror(-ret) : "",
			 ret ? "" : json_object_to_json_string(resp));
}
