// SPDX-License-Identifier: MIT
/*
 * Software checksum completion, for ports whose receive side did not enable
 * NET_OFFLOAD_CSUM. It is the kernel's skb_checksum_help: the sender left
 * the pseudo-header sum (or 0) in the checksum field, and the one's
 * complement sum from csum_start to the end of the frame finishes it.
 */
#include "net/backend.h"
#include "net/flow.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

uint32_t net_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	/* a 64 KiB frame adds up to 2^31 at most: one fold at the end is enough */
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

uint16_t net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

int net_csum_complete(uint8_t *frame, size_t len)
{
	struct net_hdr h;
	size_t start, field;
	uint16_t res;

	memcpy(&h, frame, sizeof(h));
	start = NET_HDR_LEN + le16toh(h.csum_start);
	field = start + le16toh(h.csum_offset);
	if (field + 2 > len)
		return -EINVAL;
	res = (uint16_t)~net_csum_add(0, frame + start, len - start);
	/* as the kernel does: 0 would mean "no checksum" for UDP */
	if (!res)
		res = 0xffff;
	frame[field] = res >> 8;
	frame[field + 1] = res & 0xff;
	frame[0] = h.flags & ~NET_HDR_F_NEEDS_CSUM;
	return 0;
}

uint32_t net_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
	/* Bitwise (Castagnoli, reflected): SCTP is rare enough not to want a table. */
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return crc;
}
