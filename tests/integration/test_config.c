// SPDX-License-Identifier: MIT
/*
 * The configuration file and the control socket's life: a file that runs,
 * --check-config (valid, invalid, creating nothing), every kind of error
 * naming the file, the key and what was expected, the exit statuses (0
 * clean, 1 runtime, 2 command line, 3 configuration), and a control socket
 * path another daemon already serves.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctltest.h"
#include "itest.h"

#define RUN_MS 10000

static char out[16384];
static char dir[64];
static char file[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/iomed-cfg.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(file, sizeof(file), "%s/iomed.json", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in the output:\n%s", needle, hay);
}

/* Write @fmt to the config file; "@D" in it stands for the temp dir. */
static void write_config(const char *text)
{
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	for (const char *p = text; *p; p++) {
		if (p[0] == '@' && p[1] == 'D') {
			fputs(dir, f);
			p++;
		} else {
			fputc(*p, f);
		}
	}
	fclose(f);
}

/* Run iomed with @args (NULL-terminated); expect @status. */
static void run_iomed(int status, const char *const *args)
{
	int ret = test_run_iomed(args, out, sizeof(out), RUN_MS);

	if (ret != status)
		fail_msg("iomed exited with %d, expected %d; output:\n%s", ret, status, out);
}

static bool exists(const char *name)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return !access(path, F_OK);
}

static void wait_for(const char *path)
{
	for (int i = 0; i < 500 && access(path, F_OK); i++)
		usleep(10000);
	assert_int_equal(access(path, F_OK), 0);
}

/* A group other than ours to hand the control socket to, or NULL. */
static const struct group *other_group(void)
{
	struct group *g;

	setgrent();
	while ((g = getgrent()) && g->gr_gid == getgid())
		;
	endgrent();
	return g;
}

static void test_config_runs(void **state)
{
	const struct group *g = other_group();
	char text[2048], ctl[160], c1[160], c2[160];
	const char *extra[] = { "--config", file, NULL };
	struct test_daemon d;
	struct ctl_client *c;
	struct json_object *resp, *r;
	struct stat st;

	(void)state;
	snprintf(ctl, sizeof(ctl), "%s/ctl.sock", dir);
	snprintf(c1, sizeof(c1), "%s/c1.sock", dir);
	snprintf(c2, sizeof(c2), "%s/c2.sock", dir);
	snprintf(text, sizeof(text),
		 "{\n"
		 "  \"log_level\": \"warn\",\n"
		 "  \"control\": { \"socket\": \"@D/ctl.sock\", \"mode\": \"0660\"%s%s%s },\n"
		 "  \"devices\": [\n"
		 "    { \"model\": \"testdev\", \"id\": \"c1\", \"socket\": \"@D/c1.sock\" },\n"
		 "    { \"model\": \"virtio-net\", \"id\": \"c2\", \"socket\": \"@D/c2.sock\",\n"
		 "      \"net\": \"sink\", \"queues\": 2, \"mac\": \"52:54:00:00:00:42\" }\n"
		 "  ]\n"
		 "}\n", g ? ", \"group\": \"" : "", g ? g->gr_name : "", g ? "\"" : "");
	write_config(text);
	assert_int_equal(test_daemon_prepare(&d, 1), 0);
	d.extra_args = extra;
	assert_int_equal(test_daemon_launch(&d), 0);
	wait_for(ctl);
	wait_for(c1);
	wait_for(c2);

	assert_int_equal(stat(ctl, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	if (g)
		assert_int_equal(st.st_gid, g->gr_gid);
	c = ct_connect(ctl);
	resp = ct_call(c, "device_list", NULL);
	r = ct_result(resp);
	assert_string_equal(ct_str(r, "devices.0.id"), "c1");
	assert_string_equal(ct_str(r, "devices.1.id"), "c2");
	assert_string_equal(ct_str(r, "devices.2.id"), "td0"); /* --device comes after the file's */
	assert_string_equal(ct_str(r, "devices.1.options.queues"), "2");
	assert_string_equal(ct_str(r, "devices.1.options.mac"), "52:54:00:00:00:42");
	json_object_put(resp);
	/* --log-level on the command line wins over the file's. */
	resp = ct_call(c, "log_level", NULL);
	assert_string_equal(ct_str(ct_result(resp), "level"), "debug");
	json_object_put(resp);
	ctl_client_close(c);

	assert_int_equal(test_daemon_stop_within(&d, 10000), 0);
	assert_false(exists("ctl.sock"));
	assert_false(exists("c1.sock"));
	assert_false(exists("c2.sock"));
}

static void test_check_config_valid(void **state)
{
	char text[1024], tap[16], path[128], spec[200];

	(void)state;
	snprintf(tap, sizeof(tap), "iomc%d", (int)getpid() % 100000);
	snprintf(text, sizeof(text),
		 "{ \"control\": { \"socket\": \"@D/ctl.sock\" },\n"
		 "  \"devices\": [ { \"model\": \"virtio-net\", \"socket\": \"@D/n.sock\","
		 " \"net\": \"tap:%s\" },\n"
		 "               { \"model\": \"testdev\", \"socket\": \"@D/t.sock\" } ] }\n", tap);
	write_config(text);
	run_iomed(0, (const char *[]){ "--check-config", "--config", file, NULL });
	assert_contains(out, "configuration valid: 2 devices, control socket");
	/* Nothing was created: no sockets, no tap. */
	assert_false(exists("ctl.sock"));
	assert_false(exists("n.sock"));
	assert_false(exists("t.sock"));
	snprintf(path, sizeof(path), "/sys/class/net/%s", tap);
	assert_int_equal(access(path, F_OK), -1);
	/* --device adds to the file's devices. */
	snprintf(spec, sizeof(spec), "testdev,socket=%s/x.sock", dir);
	run_iomed(0, (const char *[]){ "--check-config", "--config", file, "--device", spec, NULL });
	assert_contains(out, "configuration valid: 3 devices");
	assert_false(exists("x.sock"));
}

/* Checking the configuration of a running daemon does not disturb it. */
static void test_check_config_while_running(void **state)
{
	const char *extra[] = { "--config", file, NULL };
	struct test_daemon d;
	char ctl[160];

	(void)state;
	write_config("{ \"control\": { \"socket\": \"@D/ctl.sock\" },\n"
		     "  \"devices\": [ { \"model\": \"testdev\", \"id\": \"a\", \"socket\": \"@D/a.sock\" } ] }");
	snprintf(ctl, sizeof(ctl), "%s/ctl.sock", dir);
	assert_int_equal(test_daemon_prepare(&d, 1), 0);
	d.extra_args = extra;
	assert_int_equal(test_daemon_launch(&d), 0);
	wait_for(ctl);
	run_iomed(0, (const char *[]){ "--check-config", "--config", file, NULL });
	assert_true(exists("a.sock"));
	assert_int_equal(ct_stat(ctl, "a", "vfio_user.sessions"), 0);
	assert_int_equal(test_daemon_stop_within(&d, 10000), 0);
}

struct bad_config {
	const char *text;
	const char *expect; /* after "FILE" */
};

static void test_config_errors(void **state)
{
	static const struct bad_config cases[] = {
		{ "{ \"devices\": [ }", ":1:16: malformed JSON" },
		{ "{\n  \"devices\": [\n    { \"model\": \"testdev\" \"socket\": \"x\" }\n  ]\n}",
		  ":3:26: malformed JSON" },
		{ "{ \"log_level\": \"info\" } trailing", ":1:25: malformed JSON" },
		{ "{ \"devices\": [], }", ":1:18: malformed JSON" },
		{ "[ { \"model\": \"testdev\" } ]", ": expected a JSON object" },
		{ "{ \"bogus\": 1 }", ": bogus: unknown key (expected log_level, control, isolate or devices)" },
		{ "{ \"log_level\": 5 }", ": log_level: expected \"error\"" },
		{ "{ \"log_level\": \"loud\" }", ": log_level: expected \"error\"" },
		{ "{ \"control\": \"/run/x.sock\" }", ": control: expected an object" },
		{ "{ \"control\": { \"mode\": \"0600\" } }", ": control.socket: missing" },
		{ "{ \"control\": { \"socket\": \"@D/c.sock\", \"mode\": \"rw\" } }",
		  ": control.mode: expected permission bits" },
		{ "{ \"control\": { \"socket\": \"@D/c.sock\", \"mode\": \"01777\" } }",
		  ": control.mode: expected permission bits" },
		{ "{ \"control\": { \"socket\": \"@D/c.sock\", \"owner\": \"me\" } }",
		  ": control.owner: unknown key" },
		{ "{ \"control\": { \"socket\": 42 } }", ": control.socket: expected a non-empty string" },
		{ "{ \"control\": { \"socket\": \"@D/c.sock\\u0000x\" } }",
		  ": control.socket: expected a non-empty string (without NUL)" },
		{ "{ \"isolate\": { \"user\": \"root\\u0000x\" } }", ": isolate.user: expected a user name" },
		{ "{ \"log_level\": \"info\\u0000x\" }", ": log_level: expected \"error\"" },
		{ "{ \"control\": { \"socket\": \"@D/c.sock\", \"idle_timeout\": 0 } }",
		  ": control.idle_timeout: expected seconds from 1 to 86400" },
		{ "{ \"control\": { \"socket\": \"@D/c.sock\", \"idle_timeout\": \"60\" } }",
		  ": control.idle_timeout: expected seconds from 1 to 86400" },
		{ "{ \"control\": { \"socket\": \"@D/c.sock\", \"group\": \"no-such-group-iomed\" } }",
		  ": control.group: no group 'no-such-group-iomed'" },
		{ "{ \"isolate\": 1 }", ": isolate: expected true, false or an object with user" },
		{ "{ \"isolate\": { \"usr\": \"x\" } }", ": isolate.usr: unknown key (expected user)" },
		{ "{ \"isolate\": { \"user\": \"\" } }", ": isolate.user: expected a user name or uid" },
		/* not root: switching users needs root; root: no such user */
		{ "{ \"isolate\": { \"user\": \"no-such-user-iomed\" } }", ": isolate.user: " },
		{ "{ \"devices\": { \"model\": \"testdev\" } }", ": devices: expected an array" },
		{ "{ \"devices\": [ { \"model\": \"testdev\", \"socket\": \"@D/a.sock\" }, 7 ] }",
		  ": devices[1]: expected a device object" },
		{ "{ \"devices\": [ { \"socket\": \"@D/a.sock\" } ] }", ": devices[0].model: expected" },
		{ "{ \"devices\": [ { \"model\": \"warp\", \"socket\": \"@D/a.sock\" } ] }",
		  ": devices[0].model: unknown device model 'warp'" },
		{ "{ \"devices\": [ { \"model\": \"testdev\" } ] }",
		  ": devices[0].socket: socket=PATH is required" },
		{ "{ \"devices\": [ { \"model\": \"virtio-net\", \"socket\": \"@D/a.sock\","
		  " \"net\": \"sink\", \"queues\": 2.5 } ] }",
		  ": devices[0].queues: expected a string, an integer or a boolean" },
		{ "{ \"devices\": [ { \"model\": \"virtio-net\", \"socket\": \"@D/a.sock\","
		  " \"net\": \"sink\", \"queues\": 99 } ] }",
		  ": devices[0].queues: queues= must be a number of queue pairs from 1 to 16" },
		{ "{ \"devices\": [ { \"model\": \"virtio-net\", \"socket\": \"@D/a.sock\","
		  " \"net\": \"wormhole\" } ] }", ": devices[0].net: net 'wormhole': unknown port" },
		{ "{ \"devices\": [ { \"model\": \"virtio-net\", \"socket\": \"@D/a.sock\","
		  " \"net\": \"sink\", \"mac\": \"01:00:5e:00:00:01\" } ] }",
		  ": devices[0].mac: mac=01:00:5e:00:00:01: expected a unicast address" },
		{ "{ \"devices\": [ { \"model\": \"testdev\", \"socket\": \"@D/a.sock\","
		  " \"speed\": \"fast\" } ] }", ": devices[0].speed: unknown option 'speed' for testdev" },
		{ "{ \"devices\": [ { \"model\": \"testdev\", \"socket\": \"@D/a.sock\","
		  " \"id\": \"x y\" } ] }", ": devices[0].id: id 'x y': expected" },
		{ "{ \"devices\": [ { \"model\": \"testdev\", \"socket\": \"@D/a.sock\", \"id\": \"a\" },"
		  " { \"model\": \"testdev\", \"socket\": \"@D/b.sock\", \"id\": \"a\" } ] }",
		  ": devices[1].id: id 'a' is already in use" },
		{ "{ \"devices\": [ { \"model\": \"testdev\", \"socket\": \"@D/a.sock\" },"
		  " { \"model\": \"testdev\", \"socket\": \"@D/a.sock\" } ] }",
		  ": devices[1].socket: socket @D/a.sock is already used by device dev0" },
	};
	char expect[512];

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *at = strstr(cases[i].expect, "@D");

		write_config(cases[i].text);
		if (at)
			snprintf(expect, sizeof(expect), "%s%.*s%s%s", file,
				 (int)(at - cases[i].expect), cases[i].expect, dir, at + 2);
		else
			snprintf(expect, sizeof(expect), "%s%s", file, cases[i].expect);
		run_iomed(3, (const char *[]){ "--check-config", "--config", file, NULL });
		assert_contains(out, expect);
		/* The daemon itself refuses it the same way, before it creates any device. */
		run_iomed(3, (const char *[]){ "--config", file, NULL });
		assert_contains(out, expect);
		if (strstr(out, "listening on"))
			fail_msg("a device was created from an invalid file:\n%s", out);
		assert_false(exists("a.sock"));
		assert_false(exists("b.sock"));
		assert_false(exists("c.sock"));
	}
}

/* "isolate" in the file: every device in a sandboxed process of its own, as with --isolate. */
static void test_config_isolate(void **state)
{
	const char *extra[] = { "--config", file, NULL };
	struct test_daemon d;
	struct ctl_client *c;
	struct json_object *resp, *r;
	char ctl[160];
	int64_t pid;

	(void)state;
	write_config("{ \"isolate\": true, \"control\": { \"socket\": \"@D/ctl.sock\" },\n"
		     "  \"devices\": [ { \"model\": \"testdev\", \"id\": \"a\", \"socket\": \"@D/a.sock\" } ] }");
	run_iomed(0, (const char *[]){ "--check-config", "--config", file, NULL });
	assert_contains(out, "configuration valid: 1 device, control socket");
	assert_contains(out, ", each device in a sandboxed process");
	snprintf(ctl, sizeof(ctl), "%s/ctl.sock", dir);
	assert_int_equal(test_daemon_prepare(&d, 1), 0);
	d.extra_args = extra;
	assert_int_equal(test_daemon_launch(&d), 0);
	wait_for(ctl);
	c = ct_connect(ctl);
	resp = ct_call(c, "device_list", NULL);
	r = ct_result(resp);
	for (unsigned i = 0; i < 2; i++) {
		pid = ct_int(json_object_array_get_idx(ct_get(r, "devices"), i), "pid");
		assert_true(pid > 0 && pid != d.pid);
		assert_string_equal(ct_str(json_object_array_get_idx(ct_get(r, "devices"), i),
					   "state"), "running");
	}
	json_object_put(resp);
	ctl_client_close(c);
	assert_int_equal(test_daemon_stop_within(&d, 10000), 0);
	assert_false(exists("a.sock"));
}

static void test_config_file_errors(void **state)
{
	static const char nul[] = "{}\n\0{ \"bogus\": 1 }";
	char big[160], missing[160];
	int fd;

	(void)state;
	snprintf(missing, sizeof(missing), "%s/nonexistent.json", dir);
	run_iomed(3, (const char *[]){ "--config", missing, NULL });
	assert_contains(out, "nonexistent.json: cannot read: No such file or directory");
	run_iomed(3, (const char *[]){ "--config", dir, NULL });
	assert_contains(out, "cannot read: not a regular file");
	snprintf(big, sizeof(big), "%s/big.json", dir);
	fd = open(big, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (5 << 20)), 0);
	close(fd);
	run_iomed(3, (const char *[]){ "--config", big, NULL });
	assert_contains(out, "big.json: cannot read: larger than 4 MiB");
	write_config("");
	run_iomed(3, (const char *[]){ "--check-config", "--config", file, NULL });
	assert_contains(out, "malformed JSON");
	/* A NUL byte does not end the file: what follows it is not ignored */
	fd = open(file, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, nul, sizeof(nul) - 1), (ssize_t)sizeof(nul) - 1);
	close(fd);
	run_iomed(3, (const char *[]){ "--check-config", "--config", file, NULL });
	assert_contains(out, ":2:1: malformed JSON: a NUL byte");
}

static void test_exit_statuses(void **state)
{
	char spec[200], ctl[200];

	(void)state;
	run_iomed(2, (const char *[]){ "--control", NULL });
	assert_contains(out, "--control");
	run_iomed(2, (const char *[]){ "--config", NULL });
	run_iomed(2, (const char *[]){ "--check-config", NULL });
	assert_contains(out, "nothing to serve");
	snprintf(spec, sizeof(spec), "testdev,socket=%s/t.sock,bogus=1", dir);
	run_iomed(3, (const char *[]){ "--device", spec, NULL });
	/* Runtime: the control socket's folder cannot be made. */
	snprintf(spec, sizeof(spec), "testdev,socket=%s/t.sock", dir);
	snprintf(ctl, sizeof(ctl), "%s/no/such/ctl.sock", dir);
	run_iomed(1, (const char *[]){ "--device", spec, "--control", ctl, NULL });
	assert_contains(out, "control socket");
	assert_false(exists("t.sock"));
}

/* A stale control socket (nobody listening) is replaced; a live one is left alone. */
static void test_control_socket_in_use(void **state)
{
	const char *extra[] = { "--control", NULL, NULL };
	char ctl[160], spec[200];
	struct test_daemon d;
	int fd;

	(void)state;
	snprintf(ctl, sizeof(ctl), "%s/ctl.sock", dir);
	fd = test_unix_socket(ctl, false);
	assert_true(fd >= 0);
	close(fd); /* stale now */

	extra[1] = ctl;
	assert_int_equal(test_daemon_prepare(&d, 1), 0);
	d.extra_args = extra;
	assert_int_equal(test_daemon_launch(&d), 0);
	wait_for(ctl);
	assert_int_equal(ct_stat(ctl, "td0", "vfio_user.sessions"), 0);

	/* A second daemon on the same control socket: refused, the first unharmed. */
	snprintf(spec, sizeof(spec), "testdev,socket=%s/t2.sock", dir);
	run_iomed(1, (const char *[]){ "--device", spec, "--control", ctl, NULL });
	assert_contains(out, "another daemon is listening there");
	assert_false(exists("t2.sock"));
	assert_true(test_daemon_alive(&d));
	assert_int_equal(ct_stat(ctl, "td0", "vfio_user.sessions"), 0);
	assert_int_equal(test_daemon_stop_within(&d, 10000), 0);
	assert_false(exists("ctl.sock"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_config_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_config_while_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_isolate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_statuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_socket_in_use, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
