// SPDX-License-Identifier: MIT
/*
 * What the device table tells: the device list and each device's counters
 * as JSON for the control socket, and the SIGUSR2 log lines. The counters
 * are read relaxed, while the devices run (with --isolate, from the pages
 * they share with their processes).
 */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "core/counter.h"
#include "core/devtab_priv.h"
#include "core/isolate.h"
#include "core/log.h"

void devtab_log_stats(const struct devtab *t)
{
	char buf[1024];

	for (unsigned i = 0; i < t->n; i++) {
		const struct devtab_entry *d = t->dev[i];

		if (d->vfu_stats)
			pr_info("device %s stats: %s", d->dev.id,
				vfu_stats_format(d->vfu_stats, buf, sizeof(buf)));
	}
}

static struct json_object *options_json(const struct opts *o)
{
	struct json_object *obj = json_object_new_object();

	for (unsigned i = 0; i < o->count; i++)
		if (strcmp(o->items[i].key, "id") && strcmp(o->items[i].key, "socket"))
			json_object_object_add(obj, o->items[i].key,
					       json_object_new_string(o->items[i].value));
	return obj;
}

static bool connected(const struct devtab_entry *d)
{
	return d->vfu_stats && counter_get(&d->vfu_stats->connected);
}

struct json_object *devtab_list(const struct devtab *t)
{
	struct json_object *arr = json_object_new_array();

	for (unsigned i = 0; i < t->n; i++) {
		const struct devtab_entry *d = t->dev[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_string(d->dev.id));
		json_object_object_add(o, "model", json_object_new_string(d->dev.model->name));
		json_object_object_add(o, "socket", json_object_new_string(d->socket));
		json_object_object_add(o, "connected", json_object_new_boolean(connected(d)));
		json_object_object_add(o, "options", options_json(&d->opts));
		if (d->iso)
			isolate_describe(d, o);
		json_object_array_add(arr, o);
	}
	return arr;
}

static void add_counter(struct json_object *o, const char *key, const uint64_t *c)
{
	json_object_object_add(o, key, json_object_new_uint64(counter_get(c)));
}

static struct json_object *vfu_json(const struct vfu_stats *st)
{
	static const char *const irq_names[VFU_PCI_NUM_IRQS] = {
		[VFU_PCI_INTX] = "intx", [VFU_PCI_MSI] = "msi", [VFU_PCI_MSIX] = "msix",
		[VFU_PCI_ERR] = "err", [VFU_PCI_REQ] = "req",
	};
	struct json_object *o = json_object_new_object();
	struct json_object *msgs = json_object_new_object();
	struct json_object *irqs = json_object_new_object();

	json_object_object_add(o, "connected",
			       json_object_new_boolean(counter_get(&st->connected)));
	add_counter(o, "sessions", &st->sessions);
	for (unsigned c = 1; c < VFU_CMD_MAX; c++)
		if (strcmp(vfu_cmd_name(c), "UNKNOWN"))
			add_counter(msgs, vfu_cmd_name(c), &st->msgs[c]);
	json_object_object_add(o, "messages", msgs);
	add_counter(o, "errors", &st->errors);
	add_counter(o, "bad_messages", &st->bad_msgs);
	for (unsigned i = 0; i < VFU_PCI_NUM_IRQS; i++)
		add_counter(irqs, irq_names[i], &st->irqs[i]);
	json_object_object_add(o, "interrupts", irqs);
	return o;
}

int devtab_stats(const struct devtab *t, const char *id, struct json_object **out)
{
	struct devtab_entry *d = devtab_find(t, id, NULL);
	struct json_object *o, *dev;

	if (!d)
		return -ENOENT;
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(d->dev.id));
	json_object_object_add(o, "model", json_object_new_string(d->dev.model->name));
	if (d->vfu_stats)
		json_object_object_add(o, "vfio_user", vfu_json(d->vfu_stats));
	dev = json_object_new_object();
	if (d->model_stats && d->dev.model->stats)
		d->dev.model->stats(d->model_stats, dev);
	json_object_object_add(o, "device", dev);
	devtab_rec_json(d, o);
	if (d->iso)
		isolate_describe(d, o);
	*out = o;
	return 0;
}
