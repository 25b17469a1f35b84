// SPDX-License-Identifier: MIT
/*
 * virtio-net model: the PCI function (IDs, virtio vendor capabilities,
 * BARs, MSI-X), its BAR registers and the --device options.
 *
 *   --device virtio-net,socket=PATH,net=tap:NAME|loopback|sink,
 *            mac=52:54:00:xx:xx:xx,queues=N,mtu=N,poll-us=N
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/counter.h"
#include "core/log.h"
#include "devices/device.h"
#include "devices/nic.h"
#include "devices/virtio-net/vnet.h"

#define VIRTIO_ID_NET 1

/* struct virtio_pci_cap after the 3-byte vendor header (4.1.4). */
struct vcap {
	uint8_t cfg_type, bar, id, pad[2];
	uint32_t offset, length;
	uint32_t notify_off_multiplier; /* notify capability only */
} __attribute__((packed));

static void devcfg_read(struct vnet *v, uint64_t off, void *buf, uint32_t len)
{
	uint8_t img[VNET_DEVCFG_SIZE] = { 0 };

	/* struct virtio_net_config: mac, status, max_virtqueue_pairs, mtu, speed, duplex. */
	memcpy(img, v->mac, 6);
	img[6] = VNET_S_LINK_UP;
	img[8] = (uint8_t)v->pairs;
	img[10] = v->mtu & 0xff;
	img[11] = v->mtu >> 8;
	memset(img + 12, 0xff, 5); /* speed and duplex unknown */
	memset(buf, 0, len);
	if (off < sizeof(img))
		memcpy(buf, img + off, len < sizeof(img) - off ? len : sizeof(img) - off);
}

static int vnet_bar_read(struct pci_function *f, unsigned bar, uint64_t off, void *buf,
			 uint32_t len)
{
	struct vnet *v = to_vnet(f);
	uint64_t in = off & 0xfff;

	memset(buf, 0, len);
	if (bar != VNET_REGS_BAR)
		return 0;
	switch (off & ~0xfffull) {
	case VNET_COMMON_OFF:
		vnet_common_read(v, in, buf, len);
		break;
	case VNET_ISR_OFF:
		/* Reading the ISR clears it (4.1.4.5). */
		if (!in)
			*(uint8_t *)buf = __atomic_exchange_n(&v->isr, 0, __ATOMIC_ACQ_REL);
		break;
	case VNET_DEVCFG_OFF:
		devcfg_read(v, in, buf, len);
		break;
	default:
		break;
	}
	return 0;
}

static int vnet_bar_write(struct pci_function *f, unsigned bar, uint64_t off, const void *buf,
			  uint32_t len)
{
	struct vnet *v = to_vnet(f);

	if (bar != VNET_REGS_BAR)
		return 0;
	if ((off & ~0xfffull) == VNET_COMMON_OFF)
		vnet_common_write(v, off & 0xfff, buf, len);
	else if ((off & ~0xfffull) == VNET_NOTIFY_OFF)
		vnet_dp_kick(v); /* the poller looks at every queue anyway */
	return 0;
}

static void vnet_fn_reset(struct pci_function *f)
{
	vnet_reset(to_vnet(f));
}

static void vnet_quiesce(struct pci_function *f)
{
	vnet_dp_quiesce(to_vnet(f));
}

static void vnet_resume(struct pci_function *f)
{
	vnet_dp_resume(to_vnet(f));
}

static const struct pci_function_ops vnet_ops = {
	.bar_read = vnet_bar_read,
	.bar_write = vnet_bar_write,
	.reset = vnet_fn_reset,
	.quiesce = vnet_quiesce,
	.resume = vnet_resume,
};

static int add_vcap(struct pci_function *f, uint8_t type, uint32_t off, uint32_t len)
{
	struct vcap c = {
		.cfg_type = type, .bar = VNET_REGS_BAR, .offset = htole32(off),
		.length = htole32(len), .notify_off_multiplier = htole32(VNET_NOTIFY_MULT),
	};
	size_t size = type == VIRTIO_PCI_CAP_NOTIFY_CFG ? sizeof(c) : sizeof(c) - 4;

	/* The cap_len byte counts from cap_vndr: 16, or 20 for notify. */
	return pci_config_add_vendor(&f->cfg, &c, size);
}

static int build_function(struct vnet *v)
{
	const struct pci_ids ids = {
		.vendor = VIRTIO_PCI_VENDOR, .device = VIRTIO_PCI_DEVICE_BASE + VIRTIO_ID_NET,
		.subsys_vendor = VIRTIO_PCI_VENDOR, .subsys = 0x1100,
		.class_code = 0x020000, .revision = 1, .irq_pin = 0,
	};
	struct pci_function *f = &v->fn;
	int ret;

	pci_function_init(f, v->name, &ids, &vnet_ops);
	ret = pci_function_add_bar(f, VNET_REGS_BAR, VNET_REGS_SIZE, PCI_BAR_MEM32, -1, 0, NULL,
				   0);
	if (!ret)
		ret = pci_function_add_bar(f, VNET_MSIX_BAR, VNET_MSIX_SIZE, PCI_BAR_MEM32, -1, 0,
					   NULL, 0);
	if (!ret)
		ret = pci_config_add_pm(&f->cfg);
	/* A vector per queue plus one for configuration changes. */
	if (ret >= 0)
		ret = pci_function_add_msix(f, v->nqueues + 1, VNET_MSIX_BAR, 0, VNET_MSIX_PBA);
	if (ret >= 0)
		ret = pci_config_add_pcie(&f->cfg, PCI_EXP_TYPE_ENDPOINT, true);
	if (ret >= 0)
		ret = add_vcap(f, VIRTIO_PCI_CAP_COMMON_CFG, VNET_COMMON_OFF,
			       VIRTIO_PCI_COMMON_SIZE);
	if (ret >= 0)
		ret = add_vcap(f, VIRTIO_PCI_CAP_NOTIFY_CFG, VNET_NOTIFY_OFF,
			       v->nqueues * VNET_NOTIFY_MULT);
	if (ret >= 0)
		ret = add_vcap(f, VIRTIO_PCI_CAP_ISR_CFG, VNET_ISR_OFF, 4);
	if (ret >= 0)
		ret = add_vcap(f, VIRTIO_PCI_CAP_DEVICE_CFG, VNET_DEVCFG_OFF, VNET_DEVCFG_SIZE);
	if (ret >= 0)
		ret = pci_function_finalize(f);
	return ret < 0 ? ret : 0;
}

/* ---- options ---- */

/* The options beyond the common ones, and what the device keeps of those. */
static int parse_own_opts(void *state, const struct nic_opts *nic, struct opts *o, char *err,
			  size_t errlen)
{
	struct vnet *v = state;
	uint64_t x;
	int ret;

	memcpy(v->mac, nic->mac, sizeof(v->mac));
	v->pairs = nic->pairs;
	v->dp.pt.poll_ns = nic->poll_ns;
	v->mtu = 0;
	ret = opts_get_u64(o, "mtu", 68, 65535 - 18, &x);
	if (ret == -EINVAL) {
		snprintf(err, errlen, "mtu= must be from 68 to %u", 65535 - 18);
		return ret;
	}
	if (!ret)
		v->mtu = (uint16_t)x;
	return 0;
}

static const struct nic_model_opts vnet_opts = {
	.max_pairs = VNET_MAX_PAIRS,
	.state_size = sizeof(struct vnet),
	.parse_own = parse_own_opts,
};

static uint64_t host_features(struct vnet *v)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
		     VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	static const unsigned bits[] = {
		VNET_F_MAC, VNET_F_STATUS, VNET_F_MTU, VNET_F_MRG_RXBUF, VNET_F_CSUM,
		VNET_F_HOST_TSO4, VNET_F_HOST_TSO6, VNET_F_CTRL_VQ, VNET_F_CTRL_RX,
		VNET_F_CTRL_MAC_ADDR,
	};

	for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		f |= VIRTIO_BIT(bits[i]);
	if (v->pairs > 1)
		f |= VIRTIO_BIT(VNET_F_MQ);
	/* Receive offloads only if the port can deliver them. */
	if (!net_port_set_offloads(v->port[0], NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 |
				   NET_OFFLOAD_TSO6)) {
		f |= VIRTIO_BIT(VNET_F_GUEST_CSUM) | VIRTIO_BIT(VNET_F_GUEST_TSO4) |
		     VIRTIO_BIT(VNET_F_GUEST_TSO6);
		net_port_set_offloads(v->port[0], 0);
	}
	return f;
}

static void vnet_free(struct vnet *v)
{
	vnet_dp_fini(v);
	pci_function_fini(&v->fn);
	for (unsigned p = 0; p < VNET_MAX_PAIRS; p++)
		net_port_close(v->port[p]);
	free(v);
}

static int vnet_create(struct iomed_device *dev, struct opts *o, char *err, size_t errlen)
{
	struct vnet *v = calloc(1, sizeof(*v));
	struct nic_opts nic;
	int ret;

	if (!v)
		return -ENOMEM;
	v->dp.pt.epfd = v->dp.pt.kick_fd = v->dp.pt.ctl_fd = -1;
	snprintf(v->name, sizeof(v->name), "virtio-net %s", dev->id);
	v->stats = dev->stats ? dev->stats : &v->own_stats;
	ret = nic_model_parse(&vnet_opts, v, dev->id, o, &nic, err, errlen);
	/* One port per queue pair: a tap gets one queue per pair. */
	if (!ret)
		ret = nic_ports_open(&nic, v, v->port, &v->mtu, err, errlen);
	if (ret)
		goto fail;
	v->nqueues = 2 * v->pairs + 1;
	counter_set(&v->stats->pairs, v->pairs);
	v->host_features = host_features(v);
	ret = build_function(v);
	if (!ret)
		ret = vnet_dp_init(v);
	if (ret) {
		snprintf(err, errlen, "cannot build the device: %s", strerror(-ret));
		goto fail;
	}
	vnet_reset(v);
	dev->vfu = &v->fn.vfu;
	dev->state = v;
	pr_info("%s: mac %02x:%02x:%02x:%02x:%02x:%02x, %u queue pair(s), mtu %u, port %s",
		v->name, v->mac[0], v->mac[1], v->mac[2], v->mac[3], v->mac[4], v->mac[5],
		v->pairs, v->mtu, v->port[0]->name);
	return 0;
fail:
	vnet_free(v);
	return ret;
}

static void vnet_destroy(struct iomed_device *dev)
{
	vnet_free(dev->state);
}

static int vnet_check(const char *id, struct opts *o, char *err, size_t errlen)
{
	return nic_model_check(&vnet_opts, id, o, err, errlen);
}

static void add_u64(struct json_object *o, const char *key, const uint64_t *counter)
{
	json_object_object_add(o, key, json_object_new_uint64(counter_get(counter)));
}

static struct json_object *queue_json(const char *name, const struct vnet_queue_stats *q)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "queue", json_object_new_string(name));
	add_u64(o, "packets", &q->packets);
	add_u64(o, "bytes", &q->bytes);
	add_u64(o, "drops", &q->drops);
	add_u64(o, "interrupts", &q->interrupts);
	add_u64(o, "filtered", &q->filtered);
	return o;
}

static void vnet_stats_json(const void *block, struct json_object *out)
{
	const struct vnet_stats *st = block;
	uint64_t pairs = counter_get(&st->pairs);
	struct json_object *queues = json_object_new_array();
	char name[16];

	if (pairs > VNET_MAX_PAIRS)
		pairs = VNET_MAX_PAIRS;
	for (unsigned p = 0; p < pairs; p++) {
		snprintf(name, sizeof(name), "rx%u", p);
		json_object_array_add(queues, queue_json(name, &st->rx[p]));
		snprintf(name, sizeof(name), "tx%u", p);
		json_object_array_add(queues, queue_json(name, &st->tx[p]));
	}
	json_object_array_add(queues, queue_json("ctrl", &st->ctrl));
	add_u64(out, "queue_pairs", &st->pairs);
	add_u64(out, "needs_reset", &st->needs_reset);
	json_object_object_add(out, "queues", queues);
}

const struct iomed_model virtio_net_model = {
	.name = "virtio-net",
	.summary = "virtio 1.x network device (modern PCI) on a tap, loopback or sink port",
	.create = vnet_create,
	.destroy = vnet_destroy,
	.check = vnet_check,
	.stats_size = sizeof(struct vnet_stats),
	.stats = vnet_stats_json,
};
