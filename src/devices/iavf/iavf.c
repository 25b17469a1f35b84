// SPDX-License-Identifier: MIT
/*
 * iavf model: the PCI function (8086:1889, BAR0 registers, MSI-X in BAR3,
 * PCIe with FLR), BAR access and reset entry points, VF resets, and the
 * --device options:
 *
 *   --device iavf,socket=PATH,net=tap:NAME|loopback|sink,mac=52:54:00:xx:xx:xx,
 *            queues=N,poll-us=N,speed=MBPS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "devices/device.h"
#include "devices/iavf/iavf.h"
#include "devices/nic.h"

#define DEFAULT_SPEED_MBPS 100000 /* E810 */

/* ---- register access (ctl held) ---- */

/* A hostile descriptor the datapath saw: the VF is reset before the guest looks again. */
static void mdd_check(struct iavf *v)
{
	if (__atomic_load_n(&v->mdd, __ATOMIC_ACQUIRE))
		iavf_do_reset(v, "hostile descriptor");
}

static int iavf_bar_read(struct pci_function *f, unsigned bar, uint64_t off, void *buf,
			 uint32_t len)
{
	struct iavf *v = to_iavf(f);
	uint32_t val[2];

	memset(buf, 0, len);
	/* Registers are 32 bits; an aligned 64-bit access covers two. */
	if (bar != IAVF_REGS_BAR || off % 4 || (len != 4 && len != 8))
		return 0;
	pthread_mutex_lock(&v->ctl);
	mdd_check(v);
	for (uint32_t i = 0; i < len / 4; i++)
		val[i] = htole32(iavf_reg_read(v, (uint32_t)off + 4 * i));
	pthread_mutex_unlock(&v->ctl);
	memcpy(buf, val, len);
	return 0;
}

static int iavf_bar_write(struct pci_function *f, unsigned bar, uint64_t off, const void *buf,
			  uint32_t len)
{
	struct iavf *v = to_iavf(f);
	uint32_t val[2];

	if (bar != IAVF_REGS_BAR || off % 4 || (len != 4 && len != 8))
		return 0;
	memcpy(val, buf, len);
	pthread_mutex_lock(&v->ctl);
	mdd_check(v);
	for (uint32_t i = 0; i < len / 4; i++)
		iavf_reg_write(v, (uint32_t)off + 4 * i, le32toh(val[i]));
	pthread_mutex_unlock(&v->ctl);
	return 0;
}

/* ---- resets ---- */

void iavf_do_reset(struct iavf *v, const char *why)
{
	/* The guest can ask for resets at will: their log lines are rate limited. */
	static __thread struct log_ratelimit rl;

	iavf_dp_stop(v);
	iavf_reset_state(v);
	v->resets++;
	if (log_ratelimit_ok(&rl))
		pr_info("%s: VF reset (%s)", v->name, why);
}

/* Function reset (DEVICE_RESET, FLR, client gone): the server holds ctl (quiesce). */
static void iavf_fn_reset(struct pci_function *f)
{
	struct iavf *v = to_iavf(f);

	iavf_dp_stop(v);
	iavf_reset_state(v);
	v->vc.ver = (struct vc_version){ 0 };
	memcpy(v->vc_mac, v->mac, sizeof(v->mac));
	memset(&v->dp.stats, 0, sizeof(v->dp.stats));
}

static void iavf_quiesce(struct pci_function *f)
{
	struct iavf *v = to_iavf(f);

	pthread_mutex_lock(&v->ctl);
	iavf_dp_park(v);
}

static void iavf_resume(struct pci_function *f)
{
	struct iavf *v = to_iavf(f);

	iavf_dp_unpark(v);
	pthread_mutex_unlock(&v->ctl);
}

static const struct pci_function_ops iavf_ops = {
	.bar_read = iavf_bar_read,
	.bar_write = iavf_bar_write,
	.reset = iavf_fn_reset,
	.quiesce = iavf_quiesce,
	.resume = iavf_resume,
};

static void vf_reset(struct iavf *v)
{
	pthread_mutex_lock(&v->ctl);
	iavf_do_reset(v, "requested by the daemon");
	pthread_mutex_unlock(&v->ctl);
}

/* ---- the function ---- */

static int build_function(struct iavf *v)
{
	const struct pci_ids ids = {
		.vendor = AVF_VENDOR_INTEL, .device = AVF_DEVICE_VF,
		.subsys_vendor = AVF_VENDOR_INTEL, .subsys = 0,
		.class_code = 0x020000, .revision = 1, .irq_pin = 0, /* VFs have no INTx */
	};
	const uint8_t type = PCI_BAR_MEM64 | PCI_BAR_PREFETCH;
	struct pci_function *f = &v->fn;
	int ret;

	pci_function_init(f, v->name, &ids, &iavf_ops);
	ret = pci_function_add_bar(f, IAVF_REGS_BAR, IAVF_REGS_SIZE, type, -1, 0, NULL, 0);
	if (!ret)
		ret = pci_function_add_bar(f, IAVF_MSIX_BAR, IAVF_MSIX_SIZE, type, -1, 0, NULL, 0);
	if (!ret)
		ret = pci_function_add_msix(f, v->nvec, IAVF_MSIX_BAR, 0, IAVF_MSIX_PBA);
	if (ret >= 0)
		ret = pci_config_add_pcie(&f->cfg, PCI_EXP_TYPE_ENDPOINT, true);
	if (ret >= 0)
		ret = pci_function_finalize(f);
	return ret < 0 ? ret : 0;
}

/* The options beyond the common ones, and what the VF keeps of those. */
static int parse_own_opts(void *state, const struct nic_opts *nic, struct opts *o, char *err,
			  size_t errlen)
{
	struct iavf *v = state;
	uint64_t x;
	int ret;

	memcpy(v->mac, nic->mac, sizeof(v->mac));
	v->pairs = nic->pairs;
	v->nvec = nic->pairs + 1;
	v->dp.pt.poll_ns = nic->poll_ns;
	v->speed_mbps = DEFAULT_SPEED_MBPS;
	ret = opts_get_u64(o, "speed", 10, 800000, &x);
	if (ret == -EINVAL) {
		snprintf(err, errlen, "speed= must be a link speed in Mbit/s from 10 to 800000");
		return ret;
	}
	if (!ret)
		v->speed_mbps = (uint32_t)x;
	return 0;
}

static const struct nic_model_opts iavf_opts = {
	.max_pairs = IAVF_MAX_QP,
	.state_size = sizeof(struct iavf),
	.parse_own = parse_own_opts,
};

/* iomed --check-config: the options as create takes them, no port opened. */
static int iavf_check(const char *id, struct opts *o, char *err, size_t errlen)
{
	return nic_model_check(&iavf_opts, id, o, err, errlen);
}

static void iavf_free(struct iavf *v)
{
	iavf_dp_fini(v);
	pci_function_fini(&v->fn);
	for (unsigned p = 0; p < IAVF_MAX_QP; p++)
		net_port_close(v->port[p]);
	pthread_mutex_destroy(&v->ctl);
	free(v);
}

static int iavf_create(struct iomed_device *dev, struct opts *o, char *err, size_t errlen)
{
	struct iavf *v = calloc(1, sizeof(*v));
	struct nic_opts nic;
	int ret;

	if (!v)
		return -ENOMEM;
	pthread_mutex_init(&v->ctl, NULL);
	v->dp.pt.epfd = v->dp.pt.kick_fd = v->dp.pt.ctl_fd = -1;
	snprintf(v->name, sizeof(v->name), "iavf %s", dev->id);
	ret = nic_model_parse(&iavf_opts, v, dev->id, o, &nic, err, errlen);
	if (!ret)
		ret = nic_ports_open(&nic, v, v->port, &v->mtu, err, errlen);
	if (ret)
		goto fail;
	ret = build_function(v);
	if (!ret)
		ret = iavf_dp_init(v);
	if (ret) {
		snprintf(err, errlen, "cannot build the device: %s", strerror(-ret));
		goto fail;
	}
	iavf_fn_reset(&v->fn);
	dev->vfu = &v->fn.vfu;
	dev->state = v;
	pr_info("%s: mac %02x:%02x:%02x:%02x:%02x:%02x, %u queue pair(s), port %s", v->name,
		v->mac[0], v->mac[1], v->mac[2], v->mac[3], v->mac[4], v->mac[5], v->pairs,
		v->port[0]->name);
	return 0;
fail:
	iavf_free(v);
	return ret;
}

static void iavf_destroy(struct iomed_device *dev)
{
	iavf_free(dev->state);
}

static int iavf_reset_request(struct iomed_device *dev)
{
	vf_reset(dev->state);
	return 0;
}

const struct iomed_model iavf_model = {
	.name = "iavf",
	.summary = "Intel Ethernet Adaptive Virtual Function (E810 VF, 8086:1889) on a tap, "
		   "loopback or sink port",
	.create = iavf_create,
	.destroy = iavf_destroy,
	.reset_request = iavf_reset_request,
	.check = iavf_check,
};

int iavf_vf_reset(struct iomed_device *dev)
{
	if (!dev || dev->model != &iavf_model || !dev->state)
		return -EINVAL;
	return iavf_reset_request(dev);
}
