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

/* The group the ports this thread opens join (a device being created). */
static __thread struct net_port_group *joining;

void net_port_group_init(struct net_port_group *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
}

void net_port_group_fini(struct net_port_group *g)
{
	pthread_mutex_destroy(&g->lock);
}

void net_port_group_enter(struct net_port_group *g)
{
	joining = g;
}

void net_port_group_leave(void)
{
	joining = NULL;
}

static void group_join(struct net_port_group *g, struct net_port *p)
{
	pthread_mutex_lock(&g->lock);
	p->group = g;
	p->group_next = g->ports;
	g->ports = p;
	hook_store(p->capture, g->capture);
	pthread_mutex_unlock(&g->lock);
}

static void group_leave(struct net_port *p)
{
	struct net_port_group *g = p->group;

	pthread_mutex_lock(&g->lock);
	for (struct net_port **pp = &g->ports; *pp; pp = &(*pp)->group_next) {
		if (*pp == p) {
			*pp = p->group_next;
			break;
		}
	}
	pthread_mutex_unlock(&g->lock);
	p->group = NULL;
}

unsigned net_port_group_set_capture(struct net_port_group *g, struct net_capture *c)
{
	unsigned n = 0;

	pthread_mutex_lock(&g->lock);
	g->capture = c;
	for (struct net_port *p = g->ports; p; p = p->group_next, n++)
		hook_store(p->capture, c);
	pthread_mutex_unlock(&g->lock);
	return n;
}

void net_port_close(struct net_port *p)
{
	if (!p)
		return;
	if (p->group)
		group_leave(p);
	p->ops->destroy(p);
}

/* What a net= value names, checked but not opened. */
struct port_spec {
	enum { PORT_TAP, PORT_DPDK, PORT_AFXDP, PORT_LOOPBACK, PORT_SINK } kind;
	const char *ifname; /* tap; dpdk and afxdp: what follows the colon */
	size_t source_len;  /* sink: 0; source: the frame length */
};

static int parse_spec(const char *spec, struct port_spec *ps, char *err, size_t errlen)
{
	const char *arg;

	if (err && errlen)
		err[0] = '\0';
	if (!spec || !*spec)
		return net_err(err, errlen, -EINVAL, "net: empty port; expected " NET_SPECS);
	if (spec_is(spec, "tap", &arg)) {
		if (!arg)
			return net_err(err, errlen, -EINVAL, "net 'tap': expected tap:NAME");
		ps->kind = PORT_TAP;
		ps->ifname = arg;
		return check_ifname(arg, err, errlen);
	}
	if (spec_is(spec, "dpdk", &arg) || spec_is(spec, "afxdp", &arg)) {
		ps->kind = spec[0] == 'd' ? PORT_DPDK : PORT_AFXDP;
		ps->ifname = arg; /* its own open checks the rest (and says what is wrong) */
		return 0;
	}
	if (spec_is(spec, "loopback", &arg)) {
		ps->kind = PORT_LOOPBACK;
		return no_arg("loopback", arg, err, errlen);
	}
	if (spec_is(spec, "sink", &arg)) {
		ps->kind = PORT_SINK;
		ps->source_len = 0;
		return no_arg("sink", arg, err, errlen);
	}
	if (spec_is(spec, "source", &arg)) {
		ps->kind = PORT_SINK;
		return parse_source_len(arg, &ps->source_len, err, errlen);
	}
	return net_err(err, errlen, -EINVAL, "net '%s': unknown port; expected " NET_SPECS, spec);
}

int net_port_check(const char *spec, char *err, size_t errlen)
{
	struct port_spec ps;
	int ret = parse_spec(spec, &ps, err, errlen);

	if (ret || (ps.kind != PORT_DPDK && ps.kind != PORT_AFXDP) || (ps.ifname && *ps.ifname))
		return ret;
	return net_err(err, errlen, -EINVAL, "net '%s': expected %s", spec,
		       ps.kind == PORT_DPDK ? "dpdk:PORT" : "afxdp:IFNAME");
}

int net_port_open(const char *spec, struct net_port **out, char *err, size_t errlen)
{
	struct port_spec ps;
	int ret;

	*out = NULL;
	ret = parse_spec(spec, &ps, err, errlen);
	if (ret)
		return ret;
	switch (ps.kind) {
	case PORT_TAP:
		ret = net_tap_open(ps.ifname, out, err, errlen);
		break;
	case PORT_DPDK:
		ret = net_dpdk_open(ps.ifname, out, err, errlen);
		break;
	case PORT_AFXDP:
		ret = net_afxdp_open(ps.ifname, out, err, errlen);
		break;
	case PORT_LOOPBACK:
		ret = net_loopback_open(out, err, errlen);
		break;
	default:
		ret = net_sink_open(ps.source_len, out, err, errlen);
		break;
	}
	if (!ret && joining)
		group_join(joining, *out);
	return ret;
}
