// SPDX-License-Identifier: MIT
/* Command line: iomed [--config FILE] [--control PATH] --device MODEL,socket=PATH[,...] ... */
#include "core/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "devices/device.h"

void cli_usage(FILE *out)
{
	const struct iomed_model *const *m;

	fprintf(out,
		"Usage: iomed [OPTIONS] [--config FILE] [--device MODEL,socket=PATH[,id=NAME][,KEY=VALUE...]]...\n"
		"\n"
		"Serves virtual PCI devices to virtual machines over vfio-user. Attach one to\n"
		"QEMU (>= 10.1) with\n"
		"  -device '{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":\"PATH\"}}'\n"
		"\n"
		"Options:\n"
		"  --device SPEC       serve a device (repeatable); SPEC follows QEMU's -device syntax\n"
		"  --config FILE       read devices, control socket and log level from a JSON file\n"
		"  --control PATH      serve the JSON-RPC control socket at PATH (iomedctl talks to it;\n"
		"                      conventionally /run/iomed/iomed.sock)\n"
		"  --check-config      check the configuration, create nothing, exit 0 if valid\n"
		"  --log-level LEVEL   error, warn, info (default), debug or trace\n"
		"  --isolate           run each device in its own process, without privileges,\n"
		"                      in a seccomp sandbox; a crashed device is restarted\n"
		"  --user USER         with --isolate, as root: device processes run as USER\n"
		"  --dpdk \"ARGS\"       start DPDK's EAL with ARGS (space-separated) for dpdk: ports\n"
		"  -h, --help          show this help\n"
		"  -V, --version       show the version\n"
		"\n"
		"Device models:\n");
	for (m = iomed_models(); *m; m++)
		fprintf(out, "  %-12s %s\n", (*m)->name, (*m)->summary);
	fprintf(out,
		"\n"
		"Device options common to all models:\n"
		"  socket=PATH   Unix socket to listen on (required)\n"
		"  id=NAME       name used in logs (default devN)\n"
		"  trace=PATH    record every driver<->device interaction to PATH\n"
		"                (print it with iomed-trace)\n"
		"  pcap=PATH     capture the device's packets to PATH (pcap, for tcpdump/Wireshark)\n"
		"\n"
		"Command-line values override the file's; --device adds to its devices.\n"
		"SIGINT or SIGTERM stop the daemon and remove its sockets; SIGUSR2 logs every\n"
		"device's message counters; SIGUSR1 asks every device that has one for a\n"
		"device-side reset. See docs/usage.md.\n"
		"Exit status: 0 clean stop (or a valid configuration), 1 runtime error,\n"
		"2 bad command line, 3 invalid configuration.\n");
}

enum { OPT_DEVICE = 256, OPT_LOG_LEVEL, OPT_CONFIG, OPT_CONTROL, OPT_CHECK, OPT_ISOLATE, OPT_USER,
       OPT_DPDK };

/* DPDK or AF_XDP in use: a port several devices (or queues) share in one process. */
static bool shared_ports(const struct cli *cli)
{
	if (cli->dpdk_args)
		return true;
	for (unsigned i = 0; i < cli->ndevices; i++)
		if (strstr(cli->device_specs[i], "net=dpdk:") || strstr(cli->device_specs[i], "net=afxdp:"))
			return true;
	return false;
}

int cli_parse(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "isolate", no_argument, NULL, OPT_ISOLATE },
		{ "user", required_argument, NULL, OPT_USER },
		{ "dpdk", required_argument, NULL, OPT_DPDK },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(cli, 0, sizeof(*cli));
	cli->log_level = LOG_INFO;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DEVICE:
			if (cli->ndevices == CLI_MAX_DEVICES) {
				fprintf(stderr, "iomed: at most %d devices\n", CLI_MAX_DEVICES);
				return -EINVAL;
			}
			cli->device_specs[cli->ndevices++] = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &cli->log_level)) {
				fprintf(stderr, "iomed: unknown log level '%s' "
					"(error, warn, info, debug, trace)\n", optarg);
				return -EINVAL;
			}
			cli->has_log_level = true;
			break;
		case OPT_CONFIG:
			cli->config_file = optarg;
			break;
		case OPT_CONTROL:
			cli->control_path = optarg;
			break;
		case OPT_CHECK:
			cli->action = CLI_CHECK;
			break;
		case OPT_ISOLATE:
			cli->isolate = true;
			break;
		case OPT_USER:
			cli->user = optarg;
			break;
		case OPT_DPDK:
			cli->dpdk_args = optarg;
			break;
		case 'h':
			cli->action = CLI_HELP;
			return 0;
		case 'V':
			cli->action = CLI_VERSION;
			return 0;
		case ':':
			fprintf(stderr, "iomed: option '%s' needs a value\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "iomed: unknown option '%s' (see iomed --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "iomed: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!cli->ndevices && !cli->config_file && !cli->control_path) {
		fprintf(stderr, "iomed: nothing to serve: give --device, --config or --control "
			"(see iomed --help)\n");
		return -EINVAL;
	}
	if (cli->isolate && shared_ports(cli)) {
		fprintf(stderr, "iomed: --dpdk and dpdk:/afxdp: ports live in the daemon's own process "
			"(their devices share them): not with --isolate\n");
		return -EINVAL;
	}
	/* The file may ask for isolation: the daemon checks once it has read it. */
	if (cli->user && !cli->isolate && !cli->config_file) {
		fprintf(stderr, "iomed: --user works with --isolate only\n");
		return -EINVAL;
	}
	return 0;
}
