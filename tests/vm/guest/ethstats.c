// SPDX-License-Identifier: MIT
/*
 * A tiny `ethtool -S` / `ethtool -k` for the test guest (busybox has no
 * ethtool), through the SIOCETHTOOL ioctl:
 *   ethstats IF       every driver statistic, "name value" per line
 *   ethstats -k IF    "rx-checksum N", "tx-checksum N", "tso N" (1 on, 0 off)
 */
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int sock;
static struct ifreq ifr;

static int ethtool(void *data)
{
	ifr.ifr_data = data;
	return ioctl(sock, SIOCETHTOOL, &ifr);
}

static int features(void)
{
	static const struct { unsigned cmd; const char *name; } f[] = {
		{ ETHTOOL_GRXCSUM, "rx-checksum" },
		{ ETHTOOL_GTXCSUM, "tx-checksum" },
		{ ETHTOOL_GTSO, "tso" },
	};

	for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		struct ethtool_value v = { .cmd = f[i].cmd };

		if (ethtool(&v) < 0) {
			perror(f[i].name);
			return 1;
		}
		printf("%s %u\n", f[i].name, v.data);
	}
	return 0;
}

static int stats(void)
{
	struct { struct ethtool_sset_info hdr; uint32_t len; } info = {
		.hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ull << ETH_SS_STATS },
	};
	struct ethtool_gstrings *names;
	struct ethtool_stats *vals;
	uint32_t n;

	if (ethtool(&info) < 0 || !info.hdr.sset_mask) {
		perror("ETHTOOL_GSSET_INFO");
		return 1;
	}
	n = info.len;
	names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	vals = calloc(1, sizeof(*vals) + (size_t)n * sizeof(uint64_t));
	if (!names || !vals)
		return 1;
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_STATS;
	names->len = n;
	vals->cmd = ETHTOOL_GSTATS;
	vals->n_stats = n;
	if (ethtool(names) < 0 || ethtool(vals) < 0) {
		perror("ETHTOOL_GSTRINGS/GSTATS");
		return 1;
	}
	for (uint32_t i = 0; i < n; i++)
		printf("%.*s %llu\n", ETH_GSTRING_LEN, (char *)names->data + i * ETH_GSTRING_LEN,
		       (unsigned long long)vals->data[i]);
	return 0;
}

int main(int argc, char **argv)
{
	int k = argc == 3 && !strcmp(argv[1], "-k");

	if (argc != 2 && !k) {
		fprintf(stderr, "usage: ethstats [-k] IFACE\n");
		return 2;
	}
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	if (sock < 0) {
		perror("socket");
		return 1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[argc - 1]);
	return k ? features() : stats();
}
