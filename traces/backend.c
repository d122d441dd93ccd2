// SPDX-License-Identifier: GPL-2.0
/*
 * Backend lookup by name (gmemsim --backend=NAME).
 */
#include <string.h>

#include "backend.h"

static const struct {
	const char *name;
	const struct backend_ops *ops;
} backends[] = {
	{ "model", &backend_model_ops },
	{ "kernel", &backend_kernel_ops },
	{ "sim", &backend_sim_ops },
};

const struct backend_ops *backend_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i].name, name))
			return backends[i].ops;
	return NULL;
}
