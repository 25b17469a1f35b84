// SPDX-License-Identifier: MIT
/*
 * Copies between flat frame buffers and the iovecs a device hands a port
 * (guest buffers, often split across descriptors).
 */
#include "net/backend.h"

#include <stdint.h>
#include <string.h>

size_t net_iov_len(const struct iovec *iov, int iovcnt)
{
	size_t total = 0;

	for (int i = 0; i < iovcnt; i++) {
		/* lengths come from guest descriptors: never let them wrap */
		if (iov[i].iov_len > SIZE_MAX - total)
			return SIZE_MAX;
		total += iov[i].iov_len;
	}
	return total;
}

size_t net_iov_gather_at(void *dst, size_t skip, size_t len, const struct iovec *iov,
			 int iovcnt)
{
	size_t done = 0;

	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t n = iov[i].iov_len;
		const uint8_t *src = iov[i].iov_base;

		if (n <= skip) {
			skip -= n; /* an empty iovec may have a NULL base: never touched */
			continue;
		}
		src += skip;
		n -= skip;
		skip = 0;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)dst + done, src, n);
		done += n;
	}
	return done;
}

size_t net_iov_gather(void *dst, size_t len, const struct iovec *iov, int iovcnt)
{
	return net_iov_gather_at(dst, 0, len, iov, iovcnt);
}

size_t net_iov_scatter(const struct iovec *iov, int iovcnt, const void *src, size_t len)
{
	size_t done = 0;

	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t n = iov[i].iov_len;

		if (!n)
			continue; /* an empty iovec may have a NULL base */
		if (n > len - done)
			n = len - done;
		memcpy(iov[i].iov_base, (const uint8_t *)src + done, n);
		done += n;
	}
	return done;
}

/* The iovecs from byte @off on, in @tmp (at most @iovcnt): their count, 0 past the end. */
static int iov_from(const struct iovec *iov, int iovcnt, size_t off, struct iovec *tmp)
{
	int i = 0, n = 0;

	while (i < iovcnt && off >= iov[i].iov_len)
		off -= iov[i++].iov_len;
	for (; i < iovcnt; i++, n++, off = 0) {
		tmp[n].iov_base = (uint8_t *)iov[i].iov_base + off;
		tmp[n].iov_len = iov[i].iov_len - off;
	}
	return n;
}

size_t net_iov_scatter_at(const struct iovec *iov, int iovcnt, size_t off, const void *src,
			  size_t len)
{
	struct iovec tmp[iovcnt > 0 ? iovcnt : 1];

	return net_iov_scatter(tmp, iov_from(iov, iovcnt, off, tmp), src, len);
}
