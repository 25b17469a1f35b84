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

size_t net_iov_gather(void *dst, size_t len, const struct iovec *iov, int iovcnt)
{
	size_t done = 0;

	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t n = iov[i].iov_len;

		if (!n)
			continue; /* an empty iovec may have a NULL base */
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)dst + done, iov[i].iov_base, n);
		done += n;
	}
	return done;
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

/* Skip @off bytes: the index of the iovec holding byte @off, and the offset in it. */
static int iov_seek(const struct iovec *iov, int iovcnt, size_t *off)
{
	int i = 0;

	while (i < iovcnt && *off >= iov[i].iov_len) {
		*off -= iov[i].iov_len;
		i++;
	}
	return i;
}

size_t net_iov_gather_at(void *dst, size_t len, const struct iovec *iov, int iovcnt, size_t off)
{
	int i = iov_seek(iov, iovcnt, &off);
	struct iovec first;
	size_t done;

	if (i == iovcnt)
		return 0;
	first.iov_base = (uint8_t *)iov[i].iov_base + off;
	first.iov_len = iov[i].iov_len - off;
	done = net_iov_gather(dst, len, &first, 1);
	return done + net_iov_gather((uint8_t *)dst + done, len - done, iov + i + 1, iovcnt - i - 1);
}

size_t net_iov_scatter_at(const struct iovec *iov, int iovcnt, size_t off, const void *src,
			  size_t len)
{
	int i = iov_seek(iov, iovcnt, &off);
	struct iovec first;
	size_t done;

	if (i == iovcnt)
		return 0;
	first.iov_base = (uint8_t *)iov[i].iov_base + off;
	first.iov_len = iov[i].iov_len - off;
	done = net_iov_scatter(&first, 1, src, len);
	return done + net_iov_scatter(iov + i + 1, iovcnt - i - 1, (const uint8_t *)src + done,
				      len - done);
}
