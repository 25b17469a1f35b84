// SPDX-License-Identifier: MIT
/*
 * The control plane's pieces without a socket: JSON-RPC request handling
 * (jsonrpc.c), stream framing (jsonframe.c), device objects into options
 * (config.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "core/config.h"
#include "core/jsonframe.h"
#include "core/jsonrpc.h"

static int calls;

static int echo(void *ctx, struct json_object *params, struct json_object **result,
		struct rpc_error *err)
{
	(void)ctx, (void)err;
	calls++;
	*result = params ? json_object_get(params) : json_object_new_string("none");
	return 0;
}

static int refuse(void *ctx, struct json_object *params, struct json_object **result,
		  struct rpc_error *err)
{
	(void)ctx, (void)params, (void)result;
	calls++;
	err->data = json_object_new_int(42);
	return rpc_fail(err, RPC_NO_SUCH_DEVICE, "no %s", "such");
}

static const struct rpc_method methods[] = {
	{ "echo", echo },
	{ "refuse", refuse },
	{ NULL, NULL },
};

/* Handle @text; the response as compact JSON ("" for none). */
static const char *handle(const char *text)
{
	static char buf[4096];
	struct json_object *msg = json_tokener_parse(text), *resp;

	assert_non_null(msg);
	resp = jsonrpc_handle(methods, NULL, msg);
	json_object_put(msg);
	snprintf(buf, sizeof(buf), "%s",
		 resp ? json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN) : "");
	json_object_put(resp);
	return buf;
}

static void test_requests(void **state)
{
	(void)state;
	calls = 0;
	assert_string_equal(handle("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"a\":1},"
				   "\"id\":7}"),
			    "{\"jsonrpc\":\"2.0\",\"result\":{\"a\":1},\"id\":7}");
	assert_string_equal(handle("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":\"s\"}"),
			    "{\"jsonrpc\":\"2.0\",\"result\":\"none\",\"id\":\"s\"}");
	/* A null id is an id, not a notification. */
	assert_string_equal(handle("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":null}"),
			    "{\"jsonrpc\":\"2.0\",\"result\":\"none\",\"id\":null}");
	assert_string_equal(handle("{\"jsonrpc\":\"2.0\",\"method\":\"refuse\",\"id\":1}"),
			    "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"no such\","
			    "\"data\":42},\"id\":1}");
	assert_int_equal(calls, 4);
}

static void test_notifications(void **state)
{
	(void)state;
	calls = 0;
	assert_string_equal(handle("{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}"), "");
	assert_string_equal(handle("{\"jsonrpc\":\"2.0\",\"method\":\"refuse\"}"), "");
	assert_string_equal(handle("{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}"), "");
	/* Wrong params on a notification: still no answer. */
	assert_string_equal(handle("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1]}"), "");
	assert_int_equal(calls, 2);
}

static void test_invalid(void **state)
{
	(void)state;
	calls = 0;
	assert_non_null(strstr(handle("1"), "-32600"));
	assert_non_null(strstr(handle("{\"method\":\"echo\",\"id\":1}"), "-32600"));
	assert_non_null(strstr(handle("{\"jsonrpc\":\"2.0\",\"id\":1}"), "\"id\":1"));
	/* Even without an id: an invalid request is never a notification. */
	assert_non_null(strstr(handle("{\"jsonrpc\":\"2.0\",\"method\":1}"), "\"id\":null"));
	assert_non_null(strstr(handle("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":true}"),
			       "\"id\":null"));
	assert_non_null(strstr(handle("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":3,"
				      "\"id\":1}"), "-32600"));
	assert_non_null(strstr(handle("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[],"
				      "\"id\":1}"), "-32602"));
	assert_non_null(strstr(handle("{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":1}"),
			       "-32601"));
	assert_int_equal(calls, 0);
}

static void test_batches(void **state)
{
	(void)state;
	assert_string_equal(handle("[]"), "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,"
				   "\"message\":\"empty batch\"},\"id\":null}");
	assert_string_equal(handle("[{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}]"), "");
	assert_string_equal(handle("[1,{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":2}]"),
			    "[{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":"
			    "\"a request is a JSON object\"},\"id\":null},"
			    "{\"jsonrpc\":\"2.0\",\"result\":\"none\",\"id\":2}]");
	/* A nested batch is not a request. */
	assert_non_null(strstr(handle("[[{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":2}]]"),
			       "-32600"));
}

static void test_params_helpers(void **state)
{
	static const char *const allowed[] = { "id", NULL };
	struct json_object *p = json_tokener_parse("{\"id\":\"x\",\"n\":1}");
	struct rpc_error err = { 0 };
	const char *s;

	(void)state;
	assert_int_equal(rpc_params_allow(p, allowed, &err), RPC_INVALID_PARAMS);
	assert_string_equal(err.message, "unknown parameter 'n'");
	assert_int_equal(rpc_params_allow(NULL, allowed, &err), 0);
	assert_int_equal(rpc_param_string(p, "id", true, &s, &err), 0);
	assert_string_equal(s, "x");
	assert_int_equal(rpc_param_string(p, "n", true, &s, &err), RPC_INVALID_PARAMS);
	assert_int_equal(rpc_param_string(p, "zz", false, &s, &err), 0);
	assert_null(s);
	assert_int_equal(rpc_param_string(NULL, "id", true, &s, &err), RPC_INVALID_PARAMS);
	json_object_put(p);
	/* "td0\u0000x" is not device td0: the string is refused, not cut */
	p = json_tokener_parse("{\"id\":\"td0\\u0000x\"}");
	assert_int_equal(rpc_param_string(p, "id", true, &s, &err), RPC_INVALID_PARAMS);
	assert_string_equal(err.message, "id: a NUL character in the string");
	json_object_put(p);
}

/* ---- framing ---- */

/* Feed @in in chunks of @chunk bytes; the values found, joined by '|'. */
static const char *frames(const char *in, size_t chunk, size_t max)
{
	static char got[1024];
	struct json_frame f;
	size_t off = 0, len = strlen(in);

	got[0] = '\0';
	json_frame_init(&f, max);
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		size_t used = 0;

		while (used < n) {
			bool done;
			long r = json_frame_feed(&f, in + off + used, n - used, &done);

			if (r < 0) {
				strcat(got, r == -E2BIG ? "E2BIG" : "ERR");
				json_frame_fini(&f);
				return got;
			}
			used += (size_t)r;
			if (done) {
				strcat(got, f.buf);
				strcat(got, "|");
				json_frame_reset(&f);
			}
		}
		off += n;
	}
	json_frame_fini(&f);
	return got;
}

static void test_framing(void **state)
{
	const char *in = " {\"a\":\"}{\\\"\"} [1,[2]]\n\"s\\\"}\" 12 true\n{\"b\":{}}";
	const char *want = "{\"a\":\"}{\\\"\"}|[1,[2]]|\"s\\\"}\"|12|true|{\"b\":{}}|";

	(void)state;
	/* The same values whatever the read sizes. */
	for (size_t chunk = 1; chunk <= strlen(in); chunk++)
		assert_string_equal(frames(in, chunk, 1024), want);
	/* A bare scalar needs its end: still open here. */
	assert_string_equal(frames("12", 1, 1024), "");
	assert_string_equal(frames("{\"a\":\"xxxxxxxxxx\"}", 3, 8), "E2BIG");
	assert_string_equal(frames("{\"a\":1}", 3, 7), "{\"a\":1}|");
	/* Garbage comes out as a value for the parser to refuse. */
	assert_string_equal(frames("]]] {}", 2, 64), "]]]|{}|");
}

/* ---- device objects ---- */

static const char *opt(struct opts *o, const char *key)
{
	const char *v = opts_get(o, key);

	return v ? v : "(none)";
}

static int from_json(const char *text, struct opts *o, char *key, char *err)
{
	struct json_object *obj = json_tokener_parse(text);
	int ret;

	assert_non_null(obj);
	ret = opts_from_json(o, obj, key, 64, err, 256);
	json_object_put(obj);
	return ret;
}

static void test_opts_from_json(void **state)
{
	char key[64], err[256];
	struct opts o;

	(void)state;
	assert_int_equal(from_json("{\"model\":\"m\",\"s\":\"x,y\",\"n\":-3,\"b\":true,\"f\":false,"
				   "\"big\":18446744073709551615}", &o, key, err), 0);
	assert_string_equal(o.model, "m");
	assert_string_equal(opt(&o, "s"), "x,y");
	assert_string_equal(opt(&o, "n"), "-3");
	assert_string_equal(opt(&o, "b"), "on");
	assert_string_equal(opt(&o, "f"), "off");
	assert_string_equal(opt(&o, "big"), "18446744073709551615");
	assert_null(opts_get(&o, "model"));
	opts_free(&o);

	assert_int_equal(from_json("{\"s\":\"x\"}", &o, key, err), -EINVAL);
	assert_string_equal(key, "model");
	assert_int_equal(from_json("{\"model\":\"m\",\"q\":1.5}", &o, key, err), -EINVAL);
	assert_string_equal(key, "q");
	assert_int_equal(from_json("{\"model\":\"m\",\"q\":null}", &o, key, err), -EINVAL);
	assert_int_equal(from_json("{\"model\":\"m\",\"q\":{}}", &o, key, err), -EINVAL);
	assert_string_equal(key, "q");
	assert_int_equal(from_json("[1]", &o, key, err), -EINVAL);
	assert_string_equal(key, "");
}

/* A value is taken whole or refused: never cut at a NUL or at a buffer's end. */
static void test_opts_from_json_whole(void **state)
{
	char key[64], err[256], text[4096];
	struct opts o;

	(void)state;
	assert_int_equal(from_json("{\"model\":\"m\",\"s\":\"a\\u0000b\"}", &o, key, err), -EINVAL);
	assert_string_equal(key, "s");
	assert_int_equal(from_json("{\"model\":\"m\\u0000x\"}", &o, key, err), -EINVAL);
	assert_string_equal(key, "model");
	snprintf(text, sizeof(text), "{\"model\":\"m\",\"s\":\"%02000d\"}", 7);
	assert_int_equal(from_json(text, &o, key, err), -EINVAL);
	assert_string_equal(key, "s");
	snprintf(text, sizeof(text), "{\"model\":\"m\",\"s\":\"%01000d\"}", 7);
	assert_int_equal(from_json(text, &o, key, err), 0);
	assert_int_equal(strlen(opt(&o, "s")), 1000);
	opts_free(&o);
}

static void test_key_of_error(void **state)
{
	char key[64], err[64];
	struct opts o;

	(void)state;
	assert_int_equal(opts_parse(&o, "m,net=x,queues=2,poll-us=3", err, sizeof(err)), 0);
	opts_key_of_error(&o, "queues= must be", key, sizeof(key));
	assert_string_equal(key, "queues");
	opts_key_of_error(&o, "net 'x': unknown port", key, sizeof(key));
	assert_string_equal(key, "net");
	opts_key_of_error(&o, "poll-us=9: no", key, sizeof(key));
	assert_string_equal(key, "poll-us");
	opts_key_of_error(&o, "cannot build the device", key, sizeof(key));
	assert_string_equal(key, "");
	opts_key_of_error(&o, "mac=1: bad", key, sizeof(key)); /* not one of the keys */
	assert_string_equal(key, "");
	opts_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_notifications),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_params_helpers),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_opts_from_json),
		cmocka_unit_test(test_opts_from_json_whole),
		cmocka_unit_test(test_key_of_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
