// SPDX-License-Identifier: MIT
/*
 * pktcount IFNAME SECONDS [promisc|src=MAC]: counts the probe frames
 * (EtherType 0x88b5) IFNAME receives, by destination: its own address,
 * broadcast, anything else; stops at the end marker (EtherType 0x88b6),
 * after SECONDS or at SIGTERM. Prints "own N broadcast N other N end 0|1".
 * With "promisc" the interface is made promiscuous first (the driver tells
 * the device); with "src=MAC" it counts every frame from that source
 * instead, of any type, and prints "from N".
 * Built with cc -static for the guests of tests/vm/test_mux.sh.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TYPE_PROBE 0x88b5
#define TYPE_END 0x88b6

static volatile sig_atomic_t stopped;

static void on_term(int sig)
{
	(void)sig;
	stopped = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	unsigned char src[6];
	int by_src = 0, from_n = 0;
	struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	unsigned char own[6], f[2048];
	int own_n = 0, bc = 0, other = 0, end = 0;
	struct ifreq ifr = { 0 };
	time_t stop;
	int s;

	if (argc < 3)
		return 2;
	if (argc > 3 && !strncmp(argv[3], "src=", 4)) {
		unsigned b[6];

		if (sscanf(argv[3] + 4, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
			return 2;
		for (int i = 0; i < 6; i++)
			src[i] = (unsigned char)b[i];
		by_src = 1;
	}
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: poll returns */
	s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
		perror("pktcount");
		return 1;
	}
	memcpy(own, ifr.ifr_hwaddr.sa_data, 6);
	a.sll_ifindex = (int)if_nametoindex(argv[1]);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 1;
	mr.mr_ifindex = a.sll_ifindex;
	if (argc > 3 && !strcmp(argv[3], "promisc") &&
	    setsockopt(s, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
		return 1;
	printf("READY\n");
	fflush(stdout);
	stop = time(NULL) + atoi(argv[2]);
	while (!end && !stopped && time(NULL) < stop) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);

		ssize_t n;

		if (poll(&p, 1, 500) <= 0)
			continue;
		n = recvfrom(s, f, sizeof(f), 0, (struct sockaddr *)&from, &fl);
		if (n < 14 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (by_src) {
			from_n += !memcmp(f + 6, src, 6);
			continue;
		}
		if (f[12] == 0x88 && f[13] == 0xb6)
			end = 1;
		if (f[12] != 0x88 || f[13] != 0xb5)
			continue;
		if (!memcmp(f, own, 6))
			own_n++;
		else if (!memcmp(f, "\xff\xff\xff\xff\xff\xff", 6))
			bc++;
		else
			other++;
	}
	if (by_src)
		printf("from %d\n", from_n);
	else
		printf("own %d broadcast %d other %d end %d\n", own_n, bc, other, end);
	return 0;
}
