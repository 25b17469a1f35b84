// SPDX-License-Identifier: MIT
/*
 * Host PCI functions in sysfs. Each failure names the fix, since the
 * person reading it is setting up a host, not debugging iomed.
 */
#include "passthrough/host.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pt_host_parse_addr(const char *in, char out[PT_ADDR_LEN])
{
	unsigned dom = 0, bus, dev, fn;
	char tail;
	int n;

	n = sscanf(in, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &tail);
	if (n != 4) {
		dom = 0;
		n = sscanf(in, "%x:%x.%x%c", &bus, &dev, &fn, &tail);
		if (n != 3)
			return -EINVAL;
	}
	/* sscanf's %x takes signs and spaces: insist on plain hex digits. */
	for (const char *p = in; *p; p++)
		if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
			return -EINVAL;
	if (dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(out, PT_ADDR_LEN, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

static int copy_name(char *out, size_t len, const char *name)
{
	size_t n = strlen(name);

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(out, name, n + 1);
	return 0;
}

/* Last component of the target of the symlink @dir/@name into @out; -errno. */
static int link_name(const char *dir, const char *name, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	return copy_name(out, len, base ? base + 1 : target);
}

/* vfio-pci itself, or a variant driver built on it (mlx5_vfio_pci, ...). */
static bool is_vfio_driver(const char *driver)
{
	return strstr(driver, "vfio") != NULL;
}

static int check_driver(const char *devdir, struct pt_host *h, char *err, size_t errlen)
{
	if (link_name(devdir, "driver", h->driver, sizeof(h->driver))) {
		snprintf(err, errlen, "PCI device %s has no driver; bind it to vfio-pci: echo "
			 "vfio-pci > /sys/bus/pci/devices/%s/driver_override; echo %s > "
			 "/sys/bus/pci/drivers_probe", h->addr, h->addr, h->addr);
		return -EBUSY;
	}
	if (!is_vfio_driver(h->driver)) {
		snprintf(err, errlen, "PCI device %s is bound to %s, not vfio-pci: unbind it "
			 "(/sys/bus/pci/devices/%s/driver/unbind), set its driver_override to "
			 "vfio-pci and reprobe", h->addr, h->driver, h->addr);
		return -EBUSY;
	}
	return 0;
}

static void read_group_name(const char *sysfs, int group, char *out, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/name", sysfs, group);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

static int check_group(const char *sysfs, const char *devdir, bool noiommu, struct pt_host *h,
		       char *err, size_t errlen)
{
	char name[64], *end;
	long g;

	if (link_name(devdir, "iommu_group", name, sizeof(name))) {
		snprintf(err, errlen,
			 "PCI device %s has no IOMMU group: the kernel runs no IOMMU for it "
			 "(boot with intel_iommu=on or amd_iommu=on); to pass it through "
			 "without DMA isolation, load vfio with enable_unsafe_noiommu_mode=1 "
			 "and give noiommu=on", h->addr);
		return -ENXIO;
	}
	g = strtol(name, &end, 10);
	if (*end || g < 0 || g > INT32_MAX) {
		snprintf(err, errlen, "PCI device %s: odd IOMMU group '%s'", h->addr, name);
		return -ENXIO;
	}
	h->group = (int)g;
	read_group_name(sysfs, h->group, name, sizeof(name));
	h->noiommu = !strcmp(name, "vfio-noiommu");
	if (h->noiommu && !noiommu) {
		snprintf(err, errlen,
			 "PCI device %s has no IOMMU (VFIO no-IOMMU group %d): its DMA would "
			 "reach all host memory; give noiommu=on to accept that", h->addr,
			 h->group);
		return -EPERM;
	}
	return 0;
}

/* The device's VFIO cdev (vfio-dev/vfioN), when the kernel has them. */
static void find_cdev(const char *devdir, struct pt_host *h)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	h->cdev[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/vfio-dev", devdir) >= (int)sizeof(path))
		return;
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strncmp(e->d_name, "vfio", 4) && isdigit((unsigned char)e->d_name[4]) &&
		    !copy_name(h->cdev, sizeof(h->cdev), e->d_name))
			break;
	}
	closedir(d);
}

int pt_host_lookup(const char *sysfs, const char *addr, bool noiommu, struct pt_host *h,
		   char *err, size_t errlen)
{
	char devdir[PATH_MAX];
	struct stat st;
	int ret;

	memset(h, 0, sizeof(*h));
	h->group = -1;
	ret = pt_host_parse_addr(addr, h->addr);
	if (ret) {
		snprintf(err, errlen, "'%s' is not a PCI address (DDDD:BB:DD.F)", addr);
		return ret;
	}
	snprintf(devdir, sizeof(devdir), "%s/bus/pci/devices/%s", sysfs, h->addr);
	if (stat(devdir, &st)) {
		snprintf(err, errlen, "no PCI device %s on this host (see lspci -D)", h->addr);
		return -ENODEV;
	}
	ret = check_driver(devdir, h, err, errlen);
	if (!ret)
		ret = check_group(sysfs, devdir, noiommu, h, err, errlen);
	if (ret)
		return ret;
	find_cdev(devdir, h);
	return 0;
}

static void append(char *buf, size_t len, const char *fmt, const char *a, const char *b)
{
	size_t n = strlen(buf);

	if (n < len)
		snprintf(buf + n, len - n, fmt, a, b);
}

int pt_host_group_peers(const char *sysfs, const struct pt_host *h, char *buf, size_t len)
{
	char path[PATH_MAX], driver[64];
	struct dirent *e;
	int count = 0;
	DIR *d;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/devices", sysfs, h->group);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, h->addr))
			continue;
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", sysfs, e->d_name);
		if (link_name(path, "driver", driver, sizeof(driver)))
			snprintf(driver, sizeof(driver), "none");
		append(buf, len, count ? ", %s (%s)" : "%s (%s)", e->d_name, driver);
		count++;
	}
	closedir(d);
	return count;
}
