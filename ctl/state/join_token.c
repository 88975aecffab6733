// SPDX-License-Identifier: MIT
/* Join tokens: parsing, the constant-time match, the file (join_token.h). */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "join_token.h"
#include "jsonx.h"

#define JT_FILE_VERSION 1
#define JT_FILE_MAX (16u << 20) /* bytes of join-tokens.json we read */

void jt_free(struct cg_join_tokens *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].keys);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* SHA-256 of secret, hex. */
static int hash_secret(const char *secret, char out[JT_HASH_HEX_LEN + 1])
{
	unsigned char md[32];
	unsigned int len = 0;
	size_t i;

	if (!EVP_Digest(secret, strlen(secret), md, &len, EVP_sha256(), NULL) ||
	    len != sizeof(md))
		return -EIO;
	for (i = 0; i < sizeof(md); i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

struct cg_join_token *jt_find(const struct cg_join_tokens *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	return NULL;
}

struct cg_join_token *jt_match(const struct cg_join_tokens *t,
			       const char *secret)
{
	char hash[JT_HASH_HEX_LEN + 1];
	struct cg_join_token *found = NULL;
	size_t i;

	if (!secret || strlen(secret) != JT_SECRET_LEN ||
	    hash_secret(secret, hash))
		return NULL;
	/* No early exit: the time taken does not say which token (or how
	 * much of a hash) matched. */
	for (i = 0; i < t->n; i++)
		if (!CRYPTO_memcmp(hash, t->v[i].hash, JT_HASH_HEX_LEN))
			found = &t->v[i];
	return found;
}

bool jt_expired(const struct cg_join_token *tok, int64_t now)
{
	return tok->expires_at && now >= tok->expires_at;
}

bool jt_used_up(const struct cg_join_token *tok)
{
	return tok->max_uses && tok->uses >= tok->max_uses;
}

bool jt_joined(const struct cg_join_token *tok, const wg_key key)
{
	size_t i;

	for (i = 0; i < tok->n_keys; i++)
		if (key_equal(tok->keys[i], key))
			return true;
	return false;
}

int jt_use(struct cg_join_token *tok, const wg_key key)
{
	wg_key *keys;

	if (jt_joined(tok, key)) {
		tok->uses++;
		return 0;
	}
	keys = realloc(tok->keys, (tok->n_keys + 1) * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	tok->keys = keys;
	memcpy(tok->keys[tok->n_keys++], key, sizeof(wg_key));
	tok->uses++;
	return 1;
}

void jt_unuse(struct cg_join_token *tok, const wg_key key, int added)
{
	size_t i;

	if (!added) {
		tok->uses -= tok->uses > 0;
		return;
	}
	for (i = 0; i < tok->n_keys; i++)
		if (key_equal(tok->keys[i], key)) {
			memmove(&tok->keys[i], &tok->keys[i + 1],
				(tok->n_keys - i - 1) * sizeof(wg_key));
			tok->n_keys--;
			tok->uses--;
			return;
		}
}

/* A list of names (groups, services) into out; each checked by valid. */
static bool parse_names(json_object *body, const char *key,
			char (*out)[CG_NAME_MAX + 1], unsigned int *n,
			struct cg_error *err)
{
	json_object *arr;
	size_t i, len;

	*n = 0;
	if (!jx_member(body, key, json_type_array, false, "", &arr, err))
		return false;
	len = arr ? json_object_array_length(arr) : 0;
	if (len > JT_MAX_LIST) {
		cg_error_set(err, 400, key, "'%s' takes at most %d names", key,
			     JT_MAX_LIST);
		return false;
	}
	for (i = 0; i < len; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		const char *s = json_object_get_string(e);
		char field[48];

		snprintf(field, sizeof(field), "%s[%zu]", key, i);
		if (!json_object_is_type(e, json_type_string) ||
		    !valid_name(s)) {
			cg_error_set(
				err, 400, field,
				"'%s' must be a name ([A-Za-z0-9_.-]{1,64})",
				field);
			return false;
		}
		str_copy(out[(*n)++], CG_NAME_MAX + 1, s);
	}
	return true;
}

static bool parse_new(const struct cg_state *st, json_object *body, int64_t now,
		      struct cg_join_token *tok, struct cg_error *err)
{
	static const char *const fields[] = { "name",
					      "groups",
					      "service_access",
					      "internet_access",
					      "expires_in",
					      "max_uses",
					      NULL };
	uint64_t expires_in = 0, max_uses = 0;
	unsigned int i;

	if (!jx_only_fields(body, fields, "", err) ||
	    !jx_string(body, "name", true, "", tok->name, sizeof(tok->name),
		       err) ||
	    !parse_names(body, "groups", tok->groups, &tok->n_groups, err) ||
	    !parse_names(body, "service_access", tok->services,
			 &tok->n_services, err) ||
	    !jx_bool(body, "internet_access", false, "", &tok->internet_access,
		     err) ||
	    !jx_uint(body, "expires_in", false, "", 1, JT_MAX_EXPIRES_IN,
		     &expires_in, err) ||
	    !jx_uint(body, "max_uses", false, "", 1, 1000000, &max_uses, err))
		return false;
	if (!valid_name(tok->name)) {
		cg_error_set(err, 400, "name",
			     "'name' must match [A-Za-z0-9_.-]{1,64}");
		return false;
	}
	for (i = 0; i < tok->n_services; i++)
		if (!state_service(st, tok->services[i])) {
			char field[48];

			snprintf(field, sizeof(field), "service_access[%u]", i);
			cg_error_set(err, 400, field, "no service '%s'",
				     tok->services[i]);
			return false;
		}
	tok->created_at = now;
	tok->expires_at = expires_in ? now + (int64_t)expires_in : 0;
	tok->max_uses = (uint32_t)max_uses;
	return true;
}

int jt_create(struct cg_join_tokens *t, const struct cg_state *st,
	      json_object *body, int64_t now, char secret[JT_SECRET_LEN + 1],
	      struct cg_error *err)
{
	struct cg_join_token tok = { 0 }, *v;

	if (!parse_new(st, body, now, &tok, err))
		return -EINVAL;
	if (jt_find(t, tok.name)) {
		cg_error_set(err, 409, "name", "a join token '%s' exists",
			     tok.name);
		return -EEXIST;
	}
	if (t->n >= JT_MAX_TOKENS) {
		cg_error_set(err, 409, "name",
			     "a cell keeps at most %d join "
			     "tokens",
			     JT_MAX_TOKENS);
		return -ENOSPC;
	}
	if (pairing_secret_new(secret) || hash_secret(secret, tok.hash)) {
		cg_error_set(err, 500, "", "cannot make a secret");
		return -EIO;
	}
	v = realloc(t->v, (t->n + 1) * sizeof(*v));
	if (!v) {
		cg_error_set(err, 500, "", "out of memory");
		return -ENOMEM;
	}
	t->v = v;
	t->v[t->n++] = tok;
	return 0;
}

int jt_delete(struct cg_join_tokens *t, const char *name, struct cg_error *err)
{
	struct cg_join_token *tok = jt_find(t, name);
	size_t i;

	if (!tok) {
		cg_error_set(err, 404, "name", "no join token '%s'", name);
		return -ENOENT;
	}
	i = (size_t)(tok - t->v);
	free(tok->keys);
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
	t->n--;
	return 0;
}

static json_object *names_json(char (*names)[CG_NAME_MAX + 1], unsigned int n)
{
	json_object *arr = json_object_new_array();
	unsigned int i;

	for (i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(names[i]));
	return arr;
}

/* What the API and the file share. */
static json_object *common_json(const struct cg_join_token *tok)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(tok->name));
	json_object_object_add(o, "groups",
			       names_json((void *)tok->groups, tok->n_groups));
	json_object_object_add(
		o, "service_access",
		names_json((void *)tok->services, tok->n_services));
	json_object_object_add(o, "internet_access",
			       json_object_new_boolean(tok->internet_access));
	json_object_object_add(o, "created_at",
			       json_object_new_int64(tok->created_at));
	json_object_object_add(o, "expires_at",
			       tok->expires_at ?
				       json_object_new_int64(tok->expires_at) :
				       NULL);
	json_object_object_add(
		o, "max_uses",
		tok->max_uses ? json_object_new_int64(tok->max_uses) : NULL);
	json_object_object_add(o, "uses", json_object_new_int64(tok->uses));
	return o;
}

json_object *jt_to_json(const struct cg_join_token *tok, int64_t now)
{
	json_object *o = common_json(tok);

	json_object_object_add(
		o, "uses_left",
		tok->max_uses ?
			json_object_new_int64(tok->max_uses - tok->uses) :
			NULL);
	json_object_object_add(o, "expired",
			       json_object_new_boolean(jt_expired(tok, now)));
	return o;
}

/* ---- the file ---------------------------------------------------------- */

static json_object *record_json(const struct cg_join_token *tok)
{
	json_object *o = common_json(tok), *keys = json_object_new_array();
	char b64[WG_KEY_B64_LEN + 1];
	size_t i;

	json_object_object_add(o, "hash", json_object_new_string(tok->hash));
	for (i = 0; i < tok->n_keys; i++) {
		key_to_base64(b64, tok->keys[i]);
		json_object_array_add(keys, json_object_new_string(b64));
	}
	json_object_object_add(o, "joined", keys);
	return o;
}

char *jt_to_string(const struct cg_join_tokens *t)
{
	json_object *root = json_object_new_object();
	json_object *arr = json_object_new_array();
	const char *text;
	char *out;
	size_t i;

	json_object_object_add(root, "version",
			       json_object_new_int(JT_FILE_VERSION));
	for (i = 0; i < t->n; i++)
		json_object_array_add(arr, record_json(&t->v[i]));
	json_object_object_add(root, "tokens", arr);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	out = text ? strdup(text) : NULL;
	json_object_put(root);
	return out;
}

int jt_save(const struct cg_join_tokens *t, const char *path)
{
	char *text = jt_to_string(t);
	int ret;

	if (!text)
		return -ENOMEM;
	ret = write_file_atomic(path, text, strlen(text), 0600);
	free(text);
	return ret;
}

static int64_t int_or_zero(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ?
		       json_object_get_int64(v) :
		       0;
}

/* One record of the file, as jt_save wrote it. */
static bool parse_record(json_object *o, struct cg_join_token *tok,
			 struct cg_error *err)
{
	json_object *keys, *k;
	size_t i, n;

	memset(tok, 0, sizeof(*tok));
	if (!jx_string(o, "name", true, "tokens", tok->name, sizeof(tok->name),
		       err) ||
	    !jx_string(o, "hash", true, "tokens", tok->hash, sizeof(tok->hash),
		       err) ||
	    !parse_names(o, "groups", tok->groups, &tok->n_groups, err) ||
	    !parse_names(o, "service_access", tok->services, &tok->n_services,
			 err) ||
	    !jx_bool(o, "internet_access", false, "tokens",
		     &tok->internet_access, err) ||
	    !jx_member(o, "joined", json_type_array, false, "tokens", &keys,
		       err))
		return false;
	tok->created_at = int_or_zero(o, "created_at");
	tok->expires_at = int_or_zero(o, "expires_at");
	tok->max_uses = (uint32_t)int_or_zero(o, "max_uses");
	tok->uses = (uint32_t)int_or_zero(o, "uses");
	n = keys ? json_object_array_length(keys) : 0;
	tok->keys = n ? calloc(n, sizeof(wg_key)) : NULL;
	if (n && !tok->keys) {
		cg_error_set(err, 500, "", "out of memory");
		return false;
	}
	for (i = 0; i < n; i++) {
		k = json_object_array_get_idx(keys, i);
		if (!key_from_base64(tok->keys[i], json_object_get_string(k))) {
			cg_error_set(err, 400, "tokens.joined",
				     "token '%s': a joined key is not a key",
				     tok->name);
			return false;
		}
	}
	tok->n_keys = n;
	return true;
}

int jt_load(struct cg_join_tokens *t, const char *path, struct cg_error *err)
{
	size_t len;
	char *text;
	int ret;

	memset(t, 0, sizeof(*t));
	text = read_file(path, JT_FILE_MAX, &len);
	if (!text)
		return errno == ENOENT ? 0 : -errno;
	ret = jt_parse(t, text, len, err);
	free(text);
	return ret;
}

int jt_parse(struct cg_join_tokens *t, const char *text, size_t len,
	     struct cg_error *err)
{
	json_object *root, *arr;
	size_t i, n;
	int ret = -EINVAL;

	memset(t, 0, sizeof(*t));
	root = jx_parse_object(text, len, err);
	if (!root ||
	    !jx_member(root, "tokens", json_type_array, true, "", &arr, err))
		goto out;
	n = json_object_array_length(arr);
	t->v = calloc(n ? n : 1, sizeof(*t->v));
	if (!t->v) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!parse_record(json_object_array_get_idx(arr, i), &t->v[i],
				  err)) {
			free(t->v[i].keys);
			goto out;
		}
		t->n++;
	}
	ret = 0;
out:
	json_object_put(root);
	if (ret)
		jt_free(t);
	return ret;
}
