// SPDX-License-Identifier: MIT
/*
 * net_port_open: turns a --device net= value into a backend, and the few
 * helpers every backend shares.
 */
#include "net/backend.h"

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NET_SPECS "tap:NAME, dpdk:PORT, afxdp:IFNAME, loopback, sink or source[:LEN]"
#define SOURCE_MIN 60 /* ETH_ZLEN: the shortest frame on a wire */
#define SOURCE_MAX (NET_MAX_FRAME - NET_HDR_LEN)

int net_err(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return ret;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

void net_port_init(struct net_port *p, const struct net_port_ops *ops, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->rx_fd = -1;
	p->tx_fd = -1;
	p->mtu = NET_DEFAULT_MTU;
}

int net_offloads_check(unsigned offloads)
{
	const unsigned all = NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 |
			     NET_OFFLOAD_TSO_ECN;

	if (offloads & ~all)
		return -EINVAL;
	/* a segment's checksum is always left partial (virtio 5.1.3.1) */
	if ((offloads & ~NET_OFFLOAD_CSUM) && !(offloads & NET_OFFLOAD_CSUM))
		return -EINVAL;
	return 0;
}

/* Interface names as the kernel takes them (dev_valid_name), said plainly. */
static int check_ifname(const char *name, char *err, size_t errlen)
{
	size_t len = strlen(name);

	if (!len)
		return net_err(err, errlen, -EINVAL, "net 'tap:': the interface name is missing (tap:NAME)");
	if (len >= IFNAMSIZ)
		return net_err(err, errlen, -EINVAL, "net 'tap:%s': interface names have at most %d characters",
			       name, IFNAMSIZ - 1);
	if (!strcmp(name, ".") || !strcmp(name, "..") || strpbrk(name, "/: \t\n"))
		return net_err(err, errlen, -EINVAL,
			       "net 'tap:%s': not a valid interface name (no '/', ':' or spaces)", name);
	return 0;
}

static int parse_source_len(const char *arg, size_t *len, char *err, size_t errlen)
{
	unsigned long v;
	char *end;

	*len = SOURCE_MIN;
	if (!arg)
		return 0;
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < SOURCE_MIN || v > SOURCE_MAX)
		return net_err(err, errlen, -EINVAL,
			       "net 'source:%s': expected a frame length from %d to %zu bytes",
			       arg, SOURCE_MIN, (size_t)SOURCE_MAX);
	*len = v;
	return 0;
}

/* "kind" or "kind:arg": @arg is NULL without a colon. */
static bool spec_is(const char *spec, const char *kind, const char **arg)
{
	size_t n = strlen(kind);

	if (strncmp(spec, kind, n))
		return false;
	if (!spec[n]) {
		*arg = NULL;
		return true;
	}
	if (spec[n] != ':')
		return false;
	*arg = spec + n + 1;
	return true;
}

static int no_arg(const char *kind, const char *arg, char *err, size_t errlen)
{
	if (!arg)
		return 0;
	return net_err(err, errlen, -EINVAL, "net '%s:%s': %s takes no argument", kind, arg, kind);
}

int net_port_open(const char *spec, struct net_port **out, char *err, size_t errlen)
{
	const char *arg;
	size_t len;
	int ret;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!spec || !*spec)
		return net_err(err, errlen, -EINVAL, "net: empty port; expected " NET_SPECS);
	if (spec_is(spec, "tap", &arg)) {
		if (!arg)
			return net_err(err, errlen, -EINVAL, "net 'tap': expected tap:NAME");
		ret = check_ifname(arg, err, errlen);
		return ret ? ret : net_tap_open(arg, out, err, errlen);
	}
	if (spec_is(spec, "dpdk", &arg))
		return net_dpdk_open(arg, out, err, errlen);
	if (spec_is(spec, "afxdp", &arg))
		return net_afxdp_open(arg, out, err, errlen);
	if (spec_is(spec, "loopback", &arg)) {
		ret = no_arg("loopback", arg, err, errlen);
		return ret ? ret : net_loopback_open(out, err, errlen);
	}
	if (spec_is(spec, "sink", &arg)) {
		ret = no_arg("sink", arg, err, errlen);
		return ret ? ret : net_sink_open(0, out, err, errlen);
	}
	if (spec_is(spec, "source", &arg)) {
		ret = parse_source_len(arg, &len, err, errlen);
		return ret ? ret : net_sink_open(len, out, err, errlen);
	}
	return net_err(err, errlen, -EINVAL, "net '%s': unknown port; expected " NET_SPECS, spec);
}
