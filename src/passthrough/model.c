// SPDX-License-Identifier: MIT
/*
 * The "passthrough" device: --device passthrough,host=DDDD:BB:DD.F (kernel
 * VFIO) or --device passthrough,upstream=PATH (another vfio-user server).
 * See docs/passthrough.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "passthrough/host.h"
#include "passthrough/passthrough.h"

struct passthrough {
	struct pt_vfio *vfio;
	struct pt_upstream *upstream;
};

static int parse_onoff(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* The options alone: a mistake here is a command-line error (-EINVAL). */
static int check_options(struct opts *o, const char **host, const char **upstream,
			 bool *noiommu, char *err, size_t errlen)
{
	const char *v = opts_get(o, "noiommu");
	char addr[PT_ADDR_LEN];

	*host = opts_get(o, "host");
	*upstream = opts_get(o, "upstream");
	*noiommu = false;
	if (!*host == !*upstream) {
		snprintf(err, errlen, "give one of host=DDDD:BB:DD.F (a device bound to vfio-pci) "
			 "and upstream=PATH (a vfio-user server)");
		return -EINVAL;
	}
	if (*host && pt_host_parse_addr(*host, addr)) {
		snprintf(err, errlen, "host=%s is not a PCI address (DDDD:BB:DD.F)", *host);
		return -EINVAL;
	}
	if (*upstream && !**upstream) {
		snprintf(err, errlen, "upstream= needs a socket path");
		return -EINVAL;
	}
	if (v && (*upstream || parse_onoff(v, noiommu))) {
		snprintf(err, errlen, *upstream ? "noiommu= applies to host= only"
						: "noiommu=%s: use on or off", v);
		return -EINVAL;
	}
	return 0;
}

static int passthrough_create(struct iomed_device *dev, struct opts *o, char *err,
			      size_t errlen)
{
	struct passthrough *pt;
	const char *host, *upstream;
	char name[80];
	bool noiommu;
	int ret;

	ret = check_options(o, &host, &upstream, &noiommu, err, errlen);
	if (ret)
		return ret;
	pt = calloc(1, sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	snprintf(name, sizeof(name), "passthrough %s", dev->id);
	if (host)
		ret = pt_vfio_open(&pt->vfio, name, "/sys", host, noiommu, err, errlen);
	else
		ret = pt_upstream_open(&pt->upstream, name, upstream, err, errlen);
	if (ret) {
		free(pt);
		/* The options were fine: the device is just not there (see daemon.c). */
		return ret == -EINVAL ? -EIO : ret;
	}
	dev->vfu = host ? pt_vfio_device(pt->vfio) : pt_upstream_device(pt->upstream);
	dev->state = pt;
	return 0;
}

static void passthrough_destroy(struct iomed_device *dev)
{
	struct passthrough *pt = dev->state;

	pt_vfio_close(pt->vfio);
	pt_upstream_close(pt->upstream);
	free(pt);
}

const struct iomed_model passthrough_model = {
	.name = "passthrough",
	.summary = "a real device: host=DDDD:BB:DD.F (vfio-pci) or upstream=PATH (vfio-user)",
	.create = passthrough_create,
	.destroy = passthrough_destroy,
};
