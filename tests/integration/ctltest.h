/* SPDX-License-Identifier: MIT */
/*
 * Control-socket helpers of the integration tests: calls that assert an
 * answer came, and checks of results and JSON-RPC errors. Include after
 * <cmocka.h>.
 */
#ifndef IOMED_TESTS_CTLTEST_H
#define IOMED_TESTS_CTLTEST_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "ctl/client.h"

#define CT_TIMEOUT_MS 5000

/* Connect to @path (asserts). */
struct ctl_client *ct_connect(const char *path);
/* Call @method with @params_json (NULL: no params); the whole response (asserts one came). */
struct json_object *ct_call(struct ctl_client *c, const char *method, const char *params_json);
/* Send @text as is and return the next response (asserts one came). */
struct json_object *ct_raw(struct ctl_client *c, const char *text);
/* The response's result (asserts it is a success; borrowed from @resp). */
struct json_object *ct_result(struct json_object *resp);
/* The response is an error with @code; returns its message (borrowed). */
const char *ct_error(struct json_object *resp, int code);
/* Member @path ("a.b.c", array indices as numbers) of @o, or NULL. */
struct json_object *ct_get(struct json_object *o, const char *path);
int64_t ct_int(struct json_object *o, const char *path);
const char *ct_str(struct json_object *o, const char *path);
/* Call @method on a fresh connection and return its result's @path as an integer. */
int64_t ct_stat(const char *socket, const char *id, const char *path);
/* The connection was closed by the daemon (no more responses). */
void ct_expect_closed(struct ctl_client *c);
/* Nothing arrives within @ms. */
void ct_expect_silence(struct ctl_client *c, int ms);

#endif
