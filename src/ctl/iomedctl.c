// SPDX-License-Identifier: MIT
/*
 * iomedctl: the command line of iomed's control socket. Each command is
 * one JSON-RPC call; the result prints for people, or raw with --json.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/opts.h"
#include "ctl/client.h"
#include "ctl/render.h"

#ifndef IOMED_VERSION
#define IOMED_VERSION "unknown"
#endif

/* Exit statuses (docs/usage.md). */
enum { CTL_OK = 0, CTL_RPC_ERROR = 1, CTL_USAGE = 2, CTL_UNREACHABLE = 3 };

struct ctl_opts {
	const char *socket;
	bool json;
	int timeout_ms;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: iomedctl [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Talks to a running iomed over its control socket (JSON-RPC 2.0).\n"
		"\n"
		"Commands:\n"
		"  list                 devices, their sockets and clients\n"
		"  add SPEC             add a device; SPEC as iomed --device:\n"
		"                       MODEL,socket=PATH[,id=NAME][,KEY=VALUE...]\n"
		"  remove ID            remove a device (a connected client is disconnected)\n"
		"  stats ID             counters: vfio-user messages, interrupts, the model's own\n"
		"  reset ID             reset a device as its client's DEVICE_RESET would\n"
		"  log-level [LEVEL]    show or set the daemon's log level\n"
		"  trace start ID PATH  record device ID's driver<->device interactions to PATH\n"
		"  trace stop ID        stop it (print it with iomed-trace PATH)\n"
		"  pcap start ID PATH   capture device ID's packets to PATH (pcap)\n"
		"  pcap stop ID         stop it\n"
		"  call METHOD [JSON]   call any method with a JSON object of params\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH    control socket (default $IOMED_CONTROL, else %s)\n"
		"  -j, --json           print the daemon's JSON-RPC response as it came\n"
		"  -t, --timeout SEC    how long to wait for the daemon (default 10)\n"
		"  -h, --help           show this help\n"
		"  -V, --version        show the version\n"
		"\n"
		"Exit status: 0 success, 1 the daemon refused the request, 2 bad command line,\n"
		"3 no answer from the daemon.\n",
		CTL_DEFAULT_SOCKET);
}

/* "MODEL,key=value,..." as device_add's params object. */
static struct json_object *spec_params(const char *spec)
{
	struct json_object *p;
	char err[256];
	struct opts o;

	if (opts_parse(&o, spec, err, sizeof(err))) {
		fprintf(stderr, "iomedctl: %s: %s\n", spec, err);
		return NULL;
	}
	p = json_object_new_object();
	json_object_object_add(p, "model", json_object_new_string(o.model));
	for (unsigned i = 0; i < o.count; i++)
		json_object_object_add(p, o.items[i].key, json_object_new_string(o.items[i].value));
	opts_free(&o);
	return p;
}

/*
 * The daemon opens the file from its own working directory: a relative
 * @path is made ours. NULL (with the reason said) if it cannot be.
 */
static struct json_object *path_of(const char *path)
{
	struct json_object *p;
	char *cwd, *abs;

	if (path[0] == '/')
		return json_object_new_string(path);
	cwd = getcwd(NULL, 0);
	if (!cwd || asprintf(&abs, "%s/%s", cwd, path) < 0) {
		fprintf(stderr, "iomedctl: %s: cannot make the path absolute: %s\n", path,
			strerror(errno));
		free(cwd);
		return NULL;
	}
	p = json_object_new_string(abs);
	free(abs);
	free(cwd);
	return p;
}

static struct json_object *id_params(const char *id)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "id", json_object_new_string(id));
	return p;
}

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

/* What a command prints from a successful result. */
static void print_result(const char *cmd, struct json_object *result)
{
	struct json_object *v;

	if (!strcmp(cmd, "list")) {
		render_list(stdout, result);
	} else if (!strcmp(cmd, "stats")) {
		render_stats(stdout, result);
	} else if (!strcmp(cmd, "add")) {
		printf("added %s\n", json_object_get_string(member(result, "id")));
	} else if (!strcmp(cmd, "remove")) {
		v = member(result, "client_disconnected");
		printf("removed %s%s\n", json_object_get_string(member(result, "id")),
		       v && json_object_get_boolean(v) ? " (its client was disconnected)" : "");
	} else if (!strcmp(cmd, "reset")) {
		printf("reset %s\n", json_object_get_string(member(result, "id")));
	} else if (!strcmp(cmd, "trace") || !strcmp(cmd, "pcap")) {
		const char *unit = !strcmp(cmd, "trace") ? "records" : "frames";

		v = member(result, "lost");
		printf("%s of %s %s %s", cmd, json_object_get_string(member(result, "id")),
		       v ? "stopped:" : "started:", json_object_get_string(member(result, "path")));
		if (v)
			printf(", %s %s, %s lost", json_object_get_string(member(result, unit)), unit,
			       json_object_get_string(v));
		printf("\n");
	} else if (!strcmp(cmd, "log-level")) {
		printf("log level %s\n", json_object_get_string(member(result, "level")));
	} else {
		printf("%s\n", json_object_to_json_string_ext(result, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
	}
}

/* The method and params of a command; CTL_USAGE when it is not one. */
static int build(int argc, char **argv, const char **method, struct json_object **params)
{
	const char *cmd = argv[0];
	static const struct { const char *cmd, *method; } by_id[] = {
		{ "remove", "device_remove" }, { "stats", "device_stats" },
		{ "reset", "device_reset" },
	};

	*params = NULL;
	if (!strcmp(cmd, "list") && argc == 1) {
		*method = "device_list";
		return CTL_OK;
	}
	if (!strcmp(cmd, "add") && argc == 2) {
		*method = "device_add";
		*params = spec_params(argv[1]);
		return *params ? CTL_OK : CTL_USAGE;
	}
	for (unsigned i = 0; i < sizeof(by_id) / sizeof(by_id[0]); i++) {
		if (!strcmp(cmd, by_id[i].cmd) && argc == 2) {
			*method = by_id[i].method;
			*params = id_params(argv[1]);
			return CTL_OK;
		}
	}
	if ((!strcmp(cmd, "trace") || !strcmp(cmd, "pcap")) && argc >= 3) {
		bool start = !strcmp(argv[1], "start");

		if (start ? argc != 4 : strcmp(argv[1], "stop") || argc != 3)
			goto bad;
		*method = start ? "trace_start" : "trace_stop";
		*params = id_params(argv[2]);
		json_object_object_add(*params, "kind", json_object_new_string(cmd));
		if (start) {
			struct json_object *path = path_of(argv[3]);

			if (!path) {
				json_object_put(*params);
				*params = NULL;
				return CTL_USAGE;
			}
			json_object_object_add(*params, "path", path);
		}
		return CTL_OK;
	}
	if (!strcmp(cmd, "log-level") && argc <= 2) {
		*method = "log_level";
		if (argc == 2) {
			*params = json_object_new_object();
			json_object_object_add(*params, "level", json_object_new_string(argv[1]));
		}
		return CTL_OK;
	}
	if (!strcmp(cmd, "call") && (argc == 2 || argc == 3)) {
		*method = argv[1];
		if (argc == 3) {
			*params = json_tokener_parse(argv[2]);
			if (!*params || !json_object_is_type(*params, json_type_object)) {
				fprintf(stderr, "iomedctl: params must be a JSON object: %s\n", argv[2]);
				json_object_put(*params);
				return CTL_USAGE;
			}
		}
		return CTL_OK;
	}
bad:
	fprintf(stderr, "iomedctl: unknown command or wrong arguments: %s (see iomedctl --help)\n",
		cmd);
	return CTL_USAGE;
}

static int report(const struct ctl_opts *co, const char *cmd, struct json_object *resp)
{
	struct json_object *err = member(resp, "error"), *result = member(resp, "result");

	if (co->json)
		printf("%s\n", json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
	if (err) {
		if (!co->json)
			fprintf(stderr, "iomedctl: %s (error %s)\n",
				json_object_get_string(member(err, "message")),
				json_object_get_string(member(err, "code")));
		return CTL_RPC_ERROR;
	}
	if (!result) {
		fprintf(stderr, "iomedctl: the daemon's answer has neither result nor error\n");
		return CTL_UNREACHABLE;
	}
	if (!co->json)
		print_result(cmd, result);
	return CTL_OK;
}

static int run(const struct ctl_opts *co, int argc, char **argv)
{
	struct json_object *params, *resp = NULL;
	struct ctl_client *c;
	const char *method;
	int status, ret;

	status = build(argc, argv, &method, &params);
	if (status)
		return status;
	ret = ctl_client_connect(&c, co->socket);
	if (ret) {
		fprintf(stderr, "iomedctl: cannot connect to %s: %s\n", co->socket, strerror(-ret));
		json_object_put(params);
		return CTL_UNREACHABLE;
	}
	ret = ctl_client_call(c, method, params, &resp, co->timeout_ms);
	json_object_put(params);
	ctl_client_close(c);
	if (ret) {
		fprintf(stderr, "iomedctl: no answer from %s: %s\n", co->socket,
			ret == -EPROTO ? "not JSON" : strerror(-ret));
		return CTL_UNREACHABLE;
	}
	status = report(co, argv[0], resp);
	json_object_put(resp);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_opts co = { .socket = ctl_socket_path(), .timeout_ms = 10000 };
	char *end;
	long t;
	int c;

	/* '+': options end at the command, so "call M '{...}'" is left alone */
	while ((c = getopt_long(argc, argv, "+s:jt:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			co.socket = optarg;
			break;
		case 'j':
			co.json = true;
			break;
		case 't':
			t = strtol(optarg, &end, 10);
			if (*end || t < 1 || t > 3600) {
				fprintf(stderr, "iomedctl: --timeout takes 1 to 3600 seconds\n");
				return CTL_USAGE;
			}
			co.timeout_ms = (int)t * 1000;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		case 'V':
			printf("iomedctl %s\n", IOMED_VERSION);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	return run(&co, argc - optind, argv + optind);
}
