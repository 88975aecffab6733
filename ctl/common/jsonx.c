// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <net/if.h>
#include <string.h>

#include "jsonx.h"
#include "util.h"

json_object *jx_parse_object(const char *buf, size_t len, struct cg_error *err)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *obj;
	size_t used;

	if (!tok) {
		cg_error_set(err, 500, "", "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (!obj) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		cg_error_set(err, 400, "", "malformed JSON: %s",
			     e == json_tokener_continue ?
				     "unexpected end of input" :
				     json_tokener_error_desc(e));
		json_tokener_free(tok);
		return NULL;
	}
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	/* strchr() would find a NUL byte too: that is not whitespace. */
	while (used < len && buf[used] && strchr(" \t\r\n", buf[used]))
		used++;
	if (used < len) {
		cg_error_set(err, 400, "", "malformed JSON: trailing data");
		json_object_put(obj);
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		cg_error_set(err, 400, "", "expected a JSON object");
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

void jx_path(char *out, size_t len, const char *prefix, const char *key)
{
	if (prefix && *prefix)
		snprintf(out, len, "%s.%s", prefix, key);
	else
		snprintf(out, len, "%s", key);
}

bool jx_only_fields(json_object *obj, const char *const *allowed,
		    const char *prefix, struct cg_error *err)
{
	char path[128];

	json_object_object_foreach(obj, key, val) {
		const char *const *a;

		(void)val;
		for (a = allowed; *a && strcmp(*a, key); a++)
			;
		if (!*a) {
			jx_path(path, sizeof(path), prefix, key);
			cg_error_set(err, 400, path, "unknown field '%s'",
				     path);
			return false;
		}
	}
	return true;
}

/* Look key up; false with err when required and missing. *val is NULL
 * when absent. */
static bool lookup(json_object *obj, const char *key, bool required,
		   const char *prefix, json_object **val, struct cg_error *err)
{
	char path[128];

	*val = NULL;
	if (json_object_object_get_ex(obj, key, val) && *val)
		return true;
	*val = NULL;
	if (!required)
		return true;
	jx_path(path, sizeof(path), prefix, key);
	cg_error_set(err, 400, path, "missing field '%s'", path);
	return false;
}

static bool type_error(const char *prefix, const char *key, const char *want,
		       struct cg_error *err)
{
	char path[128];

	jx_path(path, sizeof(path), prefix, key);
	cg_error_set(err, 400, path, "'%s' must be %s", path, want);
	return false;
}

bool jx_string(json_object *obj, const char *key, bool required,
	       const char *prefix, char *out, size_t len, struct cg_error *err)
{
	json_object *val;
	const char *s;

	if (!lookup(obj, key, required, prefix, &val, err))
		return false;
	if (!val)
		return true;
	if (!json_object_is_type(val, json_type_string))
		return type_error(prefix, key, "a string", err);
	s = json_object_get_string(val);
	if ((size_t)json_object_get_string_len(val) >= len ||
	    strlen(s) != (size_t)json_object_get_string_len(val))
		return type_error(prefix, key, "a shorter string", err);
	memcpy(out, s, strlen(s) + 1);
	return true;
}

bool jx_bool(json_object *obj, const char *key, bool required,
	     const char *prefix, bool *out, struct cg_error *err)
{
	json_object *val;

	if (!lookup(obj, key, required, prefix, &val, err))
		return false;
	if (!val)
		return true;
	if (!json_object_is_type(val, json_type_boolean))
		return type_error(prefix, key, "true or false", err);
	*out = json_object_get_boolean(val);
	return true;
}

bool jx_uint(json_object *obj, const char *key, bool required,
	     const char *prefix, uint64_t min, uint64_t max, uint64_t *out,
	     struct cg_error *err)
{
	char want[64];
	json_object *val;
	int64_t n;

	if (!lookup(obj, key, required, prefix, &val, err))
		return false;
	if (!val)
		return true;
	snprintf(want, sizeof(want), "an integer from %llu to %llu",
		 (unsigned long long)min, (unsigned long long)max);
	if (!json_object_is_type(val, json_type_int))
		return type_error(prefix, key, want, err);
	n = json_object_get_int64(val);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return type_error(prefix, key, want, err);
	*out = (uint64_t)n;
	return true;
}

bool jx_member(json_object *obj, const char *key, json_type type, bool required,
	       const char *prefix, json_object **out, struct cg_error *err)
{
	const char *want = type == json_type_array ? "an array" : "an object";

	if (!lookup(obj, key, required, prefix, out, err))
		return false;
	/* null is no list: read as absent, {"service_access": null} in a
	 * PUT kept the old list. */
	if (!*out && type == json_type_array &&
	    json_object_object_get_ex(obj, key, NULL))
		return type_error(prefix, key, "an array, not null", err);
	if (*out && !json_object_is_type(*out, type))
		return type_error(prefix, key, want, err);
	return true;
}

bool jx_ifname(json_object *obj, const char *key, bool required,
	       const char *prefix, char *out, struct cg_error *err)
{
	char path[128];

	if (!jx_string(obj, key, required, prefix, out, IF_NAMESIZE, err))
		return false;
	if (*out && valid_name(out))
		return true;
	jx_path(path, sizeof(path), prefix, key);
	cg_error_set(err, 400, path, "'%s' is not a valid interface name",
		     path);
	return false;
}
