// SPDX-License-Identifier: MIT
/*
 * The supervisor's commands to running device processes (isolate.h): one
 * iso_cmd on the socketpair, one iso_reply back within CMD_TIMEOUT_MS. A
 * late reply to an earlier command is told apart by its sequence number.
 * The process may be hostile: its answer is a number to pass on, nothing
 * more, and one that does not answer holds the caller up for the bound
 * only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <json-c/json.h>

#include "core/devtab_priv.h"
#include "core/isolate_priv.h"
#include "vfio-user/sock.h"

#define CMD_TIMEOUT_MS 5000

/* Send @cmd (and @fd if >= 0) and wait for the reply with its sequence number, @len bytes. */
static int exchange(struct iso_dev *dev, struct iso_cmd *cmd, int fd, struct iso_reply *reply,
		    size_t len)
{
	int64_t deadline = vfu_now_ms() + CMD_TIMEOUT_MS;
	int ret;

	if (!dev->pid || dev->sock < 0)
		return -ESRCH;
	cmd->seq = ++dev->seq;
	ret = vfu_sock_send(dev->sock, &(struct iovec){ cmd, sizeof(*cmd) }, 1, &fd, fd >= 0,
			    deadline, &(bool){ false });
	if (ret)
		return ret == -ETIMEDOUT ? ret : -ESRCH;
	for (;;) {
		ret = iso_wait_msg(dev->sock, reply, len, deadline);
		if (ret == -EPROTO)
			continue; /* not a reply of this size: ignored */
		if (ret || reply->seq == cmd->seq)
			break;
	}
	if (ret == -ECONNRESET)
		return -ESRCH;
	if (ret == -ETIMEDOUT)
		pr_warn("device %s (pid %d): no answer to a command within %d ms", dev->d->dev.id,
			(int)dev->pid, CMD_TIMEOUT_MS);
	return ret ? ret : reply->ret;
}

static int command(struct iso_dev *dev, enum iso_op op, int32_t arg)
{
	struct iso_cmd cmd = { .op = op, .arg = arg };
	struct iso_reply reply;

	return exchange(dev, &cmd, -1, &reply, sizeof(reply));
}

int isolate_reset(struct devtab_entry *d)
{
	return d->iso ? command(d->iso, ISO_CMD_RESET, 0) : -ESRCH;
}

int isolate_reset_request(struct devtab_entry *d)
{
	int ret;

	if (!d->iso || !d->iso->pid)
		return -ESRCH;
	ret = command(d->iso, ISO_CMD_RESET_REQUEST, 0);
	if (ret && ret != -EOPNOTSUPP)
		pr_warn("device %s: reset request: %s", d->dev.id, strerror(-ret));
	return ret;
}

void isolate_set_log_level(struct isolate *iso, enum log_level level)
{
	for (unsigned i = 0; i < iso->ndev; i++)
		if (iso->devs[i]->pid)
			command(iso->devs[i], ISO_CMD_LOG_LEVEL, (int32_t)level);
}

int isolate_recording(struct devtab_entry *d, struct iomed_recording_info *info)
{
	struct iso_cmd cmd = { .op = ISO_CMD_RECORDING };
	struct iso_recording rep;
	int ret = d->iso ? exchange(d->iso, &cmd, -1, &rep.r, sizeof(rep)) : -ESRCH;

	memset(info, 0, sizeof(*info));
	if (ret)
		return ret;
	/* Its words, not ours: numbers and names to show, ended where we say. */
	*info = rep.info;
	info->trace_path[sizeof(info->trace_path) - 1] = '\0';
	info->pcap_path[sizeof(info->pcap_path) - 1] = '\0';
	return 0;
}

int isolate_record_start(struct devtab_entry *d, bool pcap, const char *path, int fd)
{
	struct iso_cmd cmd = { .op = ISO_CMD_RECORD_START };
	struct iso_reply reply;

	cmd.arg = pcap ? IOMED_REC_PCAP : IOMED_REC_TRACE;
	snprintf(cmd.path, sizeof(cmd.path), "%s", path);
	return d->iso ? exchange(d->iso, &cmd, fd, &reply, sizeof(reply)) : -ESRCH;
}

int isolate_record_stop(struct devtab_entry *d, bool pcap)
{
	return d->iso ? command(d->iso, ISO_CMD_RECORD_STOP, pcap ? IOMED_REC_PCAP : IOMED_REC_TRACE)
		      : -ESRCH;
}

void isolate_describe(const struct devtab_entry *d, struct json_object *o)
{
	const struct iso_dev *dev = d->iso;
	const char *state = dev->pid ? "running" : dev->restart_at_ms ? "restarting" : "stopped";

	json_object_object_add(o, "pid", json_object_new_int(dev->pid));
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "restarts", json_object_new_int64(dev->restarts));
}
