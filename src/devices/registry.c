// SPDX-License-Identifier: MIT
#include <string.h>

#include "devices/device.h"

extern const struct iomed_model testdev_model;
extern const struct iomed_model virtio_net_model;
extern const struct iomed_model passthrough_model;
extern const struct iomed_model iavf_model;

static const struct iomed_model *const models[] = {
	&testdev_model,
	&virtio_net_model,
	&passthrough_model,
	&iavf_model,
	NULL,
};

const struct iomed_model *iomed_model_find(const char *name)
{
	for (unsigned i = 0; models[i]; i++)
		if (!strcmp(models[i]->name, name))
			return models[i];
	return NULL;
}

const struct iomed_model *const *iomed_models(void)
{
	return models;
}
