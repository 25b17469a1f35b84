// SPDX-License-Identifier: MIT
/*
 * Human-readable output of iomedctl: device tables and counters. Any
 * model's counters print without knowing the model: numbers as "key
 * value", arrays of objects as tables with a column per key.
 */
#include "ctl/render.h"

#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	return v ? json_object_get_string(v) : "-";
}

static void options_line(FILE *out, struct json_object *opts)
{
	bool first = true;

	if (!opts || !json_object_is_type(opts, json_type_object))
		return;
	json_object_object_foreach(opts, k, v) {
		fprintf(out, "%s%s=%s", first ? "" : ",", k, json_object_get_string(v));
		first = false;
	}
}

/* --isolate: the device's process, its pid while it runs, else its state. */
static const char *process(struct json_object *d)
{
	struct json_object *state = get(d, "state");

	if (state && !strcmp(json_object_get_string(state), "running"))
		return str(d, "pid");
	return state ? json_object_get_string(state) : "-";
}

void render_list(FILE *out, struct json_object *result)
{
	struct json_object *devs = get(result, "devices");
	size_t n = devs ? json_object_array_length(devs) : 0;
	bool isolated = n && get(json_object_array_get_idx(devs, 0), "pid");

	if (!n) {
		fprintf(out, "no devices\n");
		return;
	}
	fprintf(out, "%-16s %-12s %-9s ", "ID", "MODEL", "CLIENT");
	if (isolated)
		fprintf(out, "%-10s ", "PROCESS");
	fprintf(out, "%-40s %s\n", "SOCKET", "OPTIONS");
	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);
		struct json_object *conn = get(d, "connected");

		fprintf(out, "%-16s %-12s %-9s ", str(d, "id"), str(d, "model"),
			conn && json_object_get_boolean(conn) ? "connected" : "-");
		if (isolated)
			fprintf(out, "%-10s ", process(d));
		fprintf(out, "%-40s ", str(d, "socket"));
		options_line(out, get(d, "options"));
		fputc('\n', out);
	}
}

/* "NAME count, NAME count" for the non-zero members of @o, or "none". */
static void nonzero_line(FILE *out, struct json_object *o)
{
	bool any = false;

	json_object_object_foreach(o, k, v) {
		if (!json_object_get_uint64(v))
			continue;
		fprintf(out, "%s%s %llu", any ? ", " : "", k,
			(unsigned long long)json_object_get_uint64(v));
		any = true;
	}
	fprintf(out, "%s\n", any ? "" : "none");
}

/* An array of objects as a table: a column per key of the first one. */
static void table(FILE *out, const char *indent, struct json_object *arr)
{
	struct json_object *first = json_object_array_get_idx(arr, 0);

	fputs(indent, out);
	json_object_object_foreach(first, k, v) {
		(void)v;
		fprintf(out, "%12s", k);
	}
	fputc('\n', out);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *row = json_object_array_get_idx(arr, i);

		fputs(indent, out);
		json_object_object_foreach(first, key, unused) {
			(void)unused;
			fprintf(out, "%12s", str(row, key));
		}
		fputc('\n', out);
	}
}

static bool is_table(struct json_object *v)
{
	return json_object_is_type(v, json_type_array) && json_object_array_length(v) &&
	       json_object_is_type(json_object_array_get_idx(v, 0), json_type_object);
}

/* Any object of counters: scalars first, one per line, then tables and sub-objects. */
static void counters(FILE *out, const char *indent, struct json_object *o)
{
	char deeper[32];

	snprintf(deeper, sizeof(deeper), "%s  ", indent);
	json_object_object_foreach(o, k, v) {
		if (json_object_is_type(v, json_type_object) || is_table(v))
			continue;
		fprintf(out, "%s%-14s %s\n", indent, k, json_object_get_string(v));
	}
	json_object_object_foreach(o, k2, v2) {
		if (is_table(v2)) {
			fprintf(out, "%s%s:\n", indent, k2);
			table(out, deeper, v2);
		} else if (json_object_is_type(v2, json_type_object)) {
			fprintf(out, "%s%s:\n", indent, k2);
			counters(out, deeper, v2);
		}
	}
}

/* "  trace:       PATH, N records, N lost" and the same for pcap, or "off". */
static void recording_lines(FILE *out, struct json_object *rec)
{
	static const char *const kinds[][3] = {
		{ "trace", "trace:", "records" }, { "pcap", "pcap:", "frames" },
	};

	if (!rec)
		return;
	for (unsigned k = 0; k < 2; k++) {
		struct json_object *r = get(rec, kinds[k][0]);

		if (r)
			fprintf(out, "  %-12s %s, %s %s, %s lost\n", kinds[k][1], str(r, "path"),
				str(r, kinds[k][2]), kinds[k][2], str(r, "lost"));
		else
			fprintf(out, "  %-12s off\n", kinds[k][1]);
	}
}

void render_stats(FILE *out, struct json_object *result)
{
	struct json_object *vfu = get(result, "vfio_user");
	struct json_object *dev = get(result, "device");

	fprintf(out, "%s (%s)\n", str(result, "id"), str(result, "model"));
	if (get(result, "pid"))
		fprintf(out, "  process:     %s, %s restart(s)\n", process(result),
			str(result, "restarts"));
	if (vfu) {
		struct json_object *conn = get(vfu, "connected");

		fprintf(out, "  client:      %s, %s session(s)\n",
			conn && json_object_get_boolean(conn) ? "connected" : "none",
			str(vfu, "sessions"));
		fprintf(out, "  messages:    ");
		nonzero_line(out, get(vfu, "messages"));
		fprintf(out, "  errors:      %s failed, %s refused\n", str(vfu, "errors"),
			str(vfu, "bad_messages"));
		fprintf(out, "  interrupts:  ");
		nonzero_line(out, get(vfu, "interrupts"));
	}
	recording_lines(out, get(result, "recording"));
	if (dev && json_object_object_length(dev)) {
		fprintf(out, "  device:\n");
		counters(out, "    ", dev);
	}
}
