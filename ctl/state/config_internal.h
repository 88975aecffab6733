/* SPDX-License-Identifier: MIT */
/*
 * What config.c and config_listen.c share, nobody else: the listeners'
 * parsers config.c calls, and the path check both use. Each returns
 * false with err set (400 naming the field).
 */
#ifndef CELLGATE_CONFIG_INTERNAL_H
#define CELLGATE_CONFIG_INTERNAL_H

#include <json-c/json.h>
#include <stdbool.h>

#include "config.h"

bool config_absolute_path(const char *field, const char *path,
			  struct cg_error *err);
bool config_parse_api(json_object *api, struct cg_config *cfg,
		      struct cg_error *err);
bool config_parse_metrics(json_object *metrics, struct cg_config *cfg,
			  struct cg_error *err);
bool config_parse_sync(json_object *sync, struct cg_config *cfg,
		       struct cg_error *err);
/* "join" and "peer_api" at the top level. */
bool config_parse_peer_listeners(json_object *root, struct cg_config *cfg,
				 struct cg_error *err);

#endif
