// SPDX-License-Identifier: MIT
/* pcap writer (classic libpcap format, written by hand: no libpcap). */
#include "net/capture.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "net/backend.h"

#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define LINKTYPE_ETHERNET 1

struct pcap_file_header {
	uint32_t magic;
	uint16_t version_major; /* 2 */
	uint16_t version_minor; /* 4 */
	int32_t thiszone;
	uint32_t sigfigs;
	uint32_t snaplen;
	uint32_t linktype;
} __attribute__((packed));

struct pcap_rec_header {
	uint32_t ts_sec;
	uint32_t ts_usec;
	uint32_t incl_len;
	uint32_t orig_len;
} __attribute__((packed));

static const struct spool_format pcap_spool_format = { 0 }; /* no lost marker, no tail */

void net_capture_init(struct net_capture *c)
{
	spool_init(&c->sp, &pcap_spool_format);
}

void net_capture_fini(struct net_capture *c)
{
	spool_fini(&c->sp);
}

int net_capture_open(struct net_capture *c, const char *path, char *err, size_t errlen)
{
	const struct pcap_file_header h = {
		.magic = PCAP_MAGIC_USEC, .version_major = 2, .version_minor = 4,
		.snaplen = NET_CAPTURE_SNAPLEN, .linktype = LINKTYPE_ETHERNET,
	};
	int ret = spool_open(&c->sp, path, NET_CAPTURE_BUFFER_BYTES, &h, sizeof(h));

	if (ret == -EBUSY)
		snprintf(err, errlen, "a packet capture of this device is already running");
	else if (ret)
		snprintf(err, errlen, "cannot write a packet capture to %s: %s", path,
			 spool_strerror(ret));
	return ret;
}

int net_capture_close(struct net_capture *c, struct spool_stats *st)
{
	return spool_close(&c->sp, st);
}

void net_capture_frame(struct net_capture *c, const struct iovec *iov, int iovcnt, size_t len)
{
	size_t total = net_iov_len(iov, iovcnt), orig, incl;
	struct pcap_rec_header r;
	struct timespec ts;
	uint8_t *at;

	if (len > total)
		len = total;
	if (len <= NET_HDR_LEN || len == SIZE_MAX)
		return;
	orig = len - NET_HDR_LEN;
	incl = orig < NET_CAPTURE_SNAPLEN ? orig : NET_CAPTURE_SNAPLEN;
	at = spool_reserve(&c->sp, sizeof(r) + incl);
	if (!at)
		return;
	/* Stamped under the spool lock: records stay in time order. */
	clock_gettime(CLOCK_REALTIME, &ts);
	r.ts_sec = (uint32_t)ts.tv_sec;
	r.ts_usec = (uint32_t)(ts.tv_nsec / 1000);
	r.incl_len = (uint32_t)incl;
	r.orig_len = (uint32_t)(orig > UINT32_MAX ? UINT32_MAX : orig);
	memcpy(at, &r, sizeof(r));
	net_iov_gather_at(at + sizeof(r), NET_HDR_LEN, incl, iov, iovcnt);
	spool_commit(&c->sp);
}
