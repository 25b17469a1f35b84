/* SPDX-License-Identifier: MIT */
/* The control socket's methods; their context is the daemon's struct devtab. */
#ifndef IOMED_CORE_RPC_H
#define IOMED_CORE_RPC_H

#include "core/jsonrpc.h"

const struct rpc_method *rpc_methods(void);

#endif
