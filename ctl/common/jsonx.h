/* SPDX-License-Identifier: MIT */
/*
 * Strict JSON reading on top of json-c: whole-input parsing, unknown
 * fields rejected by name, typed getters that report the field's path
 * ("wireguard.address", "endpoints[1].port") in a struct cg_error.
 */
#ifndef CELLGATE_JSONX_H
#define CELLGATE_JSONX_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Parse a complete JSON document whose top level must be an object.
 * NULL (err set, status 400) on any syntax error or trailing data. */
json_object *jx_parse_object(const char *buf, size_t len, struct cg_error *err);

/* Fail (400) naming the first member of obj not listed in allowed
 * (NULL-terminated). prefix is the object's path ("" at the top). */
bool jx_only_fields(json_object *obj, const char *const *allowed,
		    const char *prefix, struct cg_error *err);

/* Path of a member: prefix.key, or key at the top level. */
void jx_path(char *out, size_t len, const char *prefix, const char *key);

/* Typed getters. A missing member is an error only when required; then
 * the out value is left untouched. Return false with err set on error. */
bool jx_string(json_object *obj, const char *key, bool required,
	       const char *prefix, char *out, size_t len, struct cg_error *err);
bool jx_bool(json_object *obj, const char *key, bool required,
	     const char *prefix, bool *out, struct cg_error *err);
bool jx_uint(json_object *obj, const char *key, bool required,
	     const char *prefix, uint64_t min, uint64_t max, uint64_t *out,
	     struct cg_error *err);
/* An interface name (IF_NAMESIZE bytes at out): valid_name's rules. An
 * absent member leaves out as it was, which must then be valid too. */
bool jx_ifname(json_object *obj, const char *key, bool required,
	       const char *prefix, char *out, struct cg_error *err);
/* An object or array member (type checked), NULL when absent. An array
 * given as null is an error: null is not a list. */
bool jx_member(json_object *obj, const char *key, json_type type, bool required,
	       const char *prefix, json_object **out, struct cg_error *err);

#endif
