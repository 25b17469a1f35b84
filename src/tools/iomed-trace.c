// SPDX-License-Identifier: MIT
/*
 * iomed-trace: print a device trace (docs/trace.md) as text or JSON lines.
 * Exit status: 0 the whole file was read, 1 it is truncated or corrupt
 * (what came before the damage is printed), 2 usage error or unreadable.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/trace_read.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: iomed-trace [--json] FILE\n"
		"\n"
		"Prints a trace written by iomed (--device ...,trace=FILE) one record a line:\n"
		"time since the trace started, record type, then key=value fields.\n"
		"\n"
		"  --json      one JSON object a line instead (the header first)\n"
		"  -h, --help  show this help\n");
}

static int decode(FILE *f, const char *path, bool json)
{
	struct trace_reader r;
	const struct trace_rec *rec;
	char err[256];
	int ret;

	ret = trace_reader_open(&r, f, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "iomed-trace: %s: %s\n", path, err);
		trace_reader_fini(&r);
		return 2;
	}
	trace_print_header(&r.hdr, json, stdout);
	while ((ret = trace_reader_next(&r, &rec, err, sizeof(err))) > 0)
		trace_print_record(&r.hdr, rec, json, stdout);
	fflush(stdout);
	if (ret < 0)
		fprintf(stderr, "iomed-trace: %s: %s\n", path, err);
	else if (!r.ended)
		fprintf(stderr, "iomed-trace: %s: no end record: the trace was not stopped "
			"(still being written, or the daemon was killed)\n", path);
	else if (r.end.records != r.records)
		fprintf(stderr, "iomed-trace: %s: the end record counts %llu records, the file "
			"holds %llu\n", path, (unsigned long long)r.end.records,
			(unsigned long long)r.records);
	if (!ret && r.lost)
		fprintf(stderr, "iomed-trace: %s: %llu records were lost (the writer fell behind)\n",
			path, (unsigned long long)r.lost);
	trace_reader_fini(&r);
	return ret < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	FILE *f;
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	f = fopen(argv[optind], "rb");
	if (!f) {
		fprintf(stderr, "iomed-trace: %s: %s\n", argv[optind], strerror(errno));
		return 2;
	}
	ret = decode(f, argv[optind], json);
	fclose(f);
	return ret;
}
