// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/passthrough/host.c: PCI addresses, and the checks a
 * host device must pass before VFIO is asked for it, against a fake sysfs
 * tree built in a temp dir (devices, drivers, IOMMU groups, VFIO cdevs).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "passthrough/host.h"

static char root[64];
static char err[512];

static void mkdirs(const char *rel)
{
	char path[PATH_MAX], *p;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

static void symlink_rel(const char *target, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(symlink(target, path), 0);
}

static void write_file(const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A device at @addr, bound to @driver (NULL: none), in IOMMU group @group (< 0: none). */
static void add_device(const char *addr, const char *driver, int group)
{
	char rel[256], target[256];

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	mkdirs(rel);
	if (driver) {
		snprintf(rel, sizeof(rel), "bus/pci/drivers/%s", driver);
		mkdirs(rel);
		snprintf(target, sizeof(target), "../../../../bus/pci/drivers/%s", driver);
		snprintf(rel, sizeof(rel), "bus/pci/devices/%s/driver", addr);
		symlink_rel(target, rel);
	}
	if (group < 0)
		return;
	snprintf(rel, sizeof(rel), "kernel/iommu_groups/%d/devices", group);
	mkdirs(rel);
	snprintf(target, sizeof(target), "../../../../kernel/iommu_groups/%d", group);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/iommu_group", addr);
	symlink_rel(target, rel);
	snprintf(target, sizeof(target), "../../../../bus/pci/devices/%s", addr);
	snprintf(rel, sizeof(rel), "kernel/iommu_groups/%d/devices/%s", group, addr);
	symlink_rel(target, rel);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/iomed-sysfs.XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) ? -1 : 0;
}

static void test_parse_addr(void **state)
{
	char a[PT_ADDR_LEN];

	(void)state;
	assert_int_equal(pt_host_parse_addr("0000:01:00.0", a), 0);
	assert_string_equal(a, "0000:01:00.0");
	assert_int_equal(pt_host_parse_addr("01:1F.7", a), 0);
	assert_string_equal(a, "0000:01:1f.7");
	assert_int_equal(pt_host_parse_addr("abcd:ff:1f.7", a), 0);
	assert_string_equal(a, "abcd:ff:1f.7");
	static const char *const bad[] = {
		"", "1", "01:00", "0000:01:00", "0000:01:00.8", "0000:01:20.0", "0000:100:00.0",
		"10000:01:00.0", "0000:01:00.0 ", " 01:00.0", "01:00.0x", "+1:00.0", "01:-0.0",
		"0000:01:00.0.0", "0000/01:00.0",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pt_host_parse_addr(bad[i], a) != -EINVAL)
			fail_msg("'%s' was taken as a PCI address (%s)", bad[i], a);
}

static void test_ready(void **state)
{
	struct pt_host h;

	(void)state;
	add_device("0000:01:00.0", "vfio-pci", 7);
	assert_int_equal(pt_host_lookup(root, "01:00.0", false, &h, err, sizeof(err)), 0);
	assert_string_equal(h.addr, "0000:01:00.0");
	assert_string_equal(h.driver, "vfio-pci");
	assert_int_equal(h.group, 7);
	assert_false(h.noiommu);
	assert_string_equal(h.cdev, "");
	/* With VFIO device cdevs, the cdev is found. */
	mkdirs("bus/pci/devices/0000:01:00.0/vfio-dev/vfio3");
	assert_int_equal(pt_host_lookup(root, "0000:01:00.0", false, &h, err, sizeof(err)), 0);
	assert_string_equal(h.cdev, "vfio3");
	/* A variant driver is as good as vfio-pci. */
	add_device("0000:02:00.0", "mlx5_vfio_pci", 8);
	assert_int_equal(pt_host_lookup(root, "0000:02:00.0", false, &h, err, sizeof(err)), 0);
}

static void test_not_there(void **state)
{
	struct pt_host h;

	(void)state;
	assert_int_equal(pt_host_lookup(root, "0000:05:00.0", false, &h, err, sizeof(err)),
			 -ENODEV);
	assert_non_null(strstr(err, "no PCI device 0000:05:00.0"));
	assert_int_equal(pt_host_lookup(root, "5:0.0.1", false, &h, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a PCI address"));
}

static void test_wrong_driver(void **state)
{
	struct pt_host h;

	(void)state;
	add_device("0000:03:00.0", NULL, 4);
	assert_int_equal(pt_host_lookup(root, "0000:03:00.0", false, &h, err, sizeof(err)),
			 -EBUSY);
	assert_non_null(strstr(err, "has no driver"));
	assert_non_null(strstr(err, "driver_override"));
	add_device("0000:03:00.1", "e1000e", 5);
	assert_int_equal(pt_host_lookup(root, "0000:03:00.1", false, &h, err, sizeof(err)),
			 -EBUSY);
	assert_non_null(strstr(err, "bound to e1000e, not vfio-pci"));
}

static void test_no_iommu(void **state)
{
	struct pt_host h;

	(void)state;
	add_device("0000:04:00.0", "vfio-pci", -1);
	assert_int_equal(pt_host_lookup(root, "0000:04:00.0", false, &h, err, sizeof(err)),
			 -ENXIO);
	assert_non_null(strstr(err, "no IOMMU group"));
	assert_non_null(strstr(err, "intel_iommu=on"));
	assert_non_null(strstr(err, "noiommu=on"));
	/* VFIO's no-IOMMU group: only with the opt-in. */
	add_device("0000:04:00.1", "vfio-pci", 9);
	write_file("kernel/iommu_groups/9/name", "vfio-noiommu\n");
	assert_int_equal(pt_host_lookup(root, "0000:04:00.1", false, &h, err, sizeof(err)),
			 -EPERM);
	assert_non_null(strstr(err, "give noiommu=on"));
	assert_int_equal(pt_host_lookup(root, "0000:04:00.1", true, &h, err, sizeof(err)), 0);
	assert_true(h.noiommu);
	assert_int_equal(h.group, 9);
	/* noiommu=on with a real IOMMU: the IOMMU is used. */
	add_device("0000:04:00.2", "vfio-pci", 10);
	assert_int_equal(pt_host_lookup(root, "0000:04:00.2", true, &h, err, sizeof(err)), 0);
	assert_false(h.noiommu);
}

static void test_group_peers(void **state)
{
	struct pt_host h;
	char peers[256];

	(void)state;
	add_device("0000:06:00.0", "vfio-pci", 12);
	add_device("0000:06:00.1", "igb", 12);
	add_device("0000:06:00.2", NULL, 12);
	assert_int_equal(pt_host_lookup(root, "0000:06:00.0", false, &h, err, sizeof(err)), 0);
	assert_int_equal(pt_host_group_peers(root, &h, peers, sizeof(peers)), 2);
	assert_non_null(strstr(peers, "0000:06:00.1 (igb)"));
	assert_non_null(strstr(peers, "0000:06:00.2 (none)"));
	assert_null(strstr(peers, "0000:06:00.0"));
	/* Alone in its group. */
	add_device("0000:07:00.0", "vfio-pci", 13);
	assert_int_equal(pt_host_lookup(root, "0000:07:00.0", false, &h, err, sizeof(err)), 0);
	assert_int_equal(pt_host_group_peers(root, &h, peers, sizeof(peers)), 0);
	assert_string_equal(peers, "");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_addr),
		T(test_ready),
		T(test_not_there),
		T(test_wrong_driver),
		T(test_no_iommu),
		T(test_group_peers),
	};

	return cmocka_run_group_tests_name("pt-host", tests, NULL, NULL);
}
