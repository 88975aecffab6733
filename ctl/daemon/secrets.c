// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "secrets.h"

#define TOKEN_BYTES 32

/* Make the directory path's file lives in (0700), if it has one. */
static int mkdir_of(const char *path)
{
	char *dir = strdup(path), *slash;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir_p(dir, 0700);
	}
	free(dir);
	return 0;
}

/* Read the token, or create it (0600). */
static int load_or_create_token(struct controller *c)
{
	const char *path = c->cfg.api.token_file;
	unsigned char raw[TOKEN_BYTES];
	char *buf;
	size_t len, i;
	int ret;

	buf = read_file(path, sizeof(c->token) - 1, &len);
	if (buf) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (strlen(buf) < 16) {
			log_err("api token in %s is shorter than 16 "
				"characters; remove the file to get a new one",
				path);
			free(buf);
			return -EINVAL;
		}
		str_copy(c->token, sizeof(c->token), buf);
		free(buf);
		return 0;
	}
	if (errno != ENOENT) {
		log_err("cannot read api token %s: %s", path, strerror(errno));
		return -errno;
	}
	ret = random_bytes(raw, sizeof(raw));
	if (ret)
		return ret;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(c->token + 2 * i, 3, "%02x", raw[i]);
	ret = mkdir_of(path);
	if (ret)
		return ret;
	ret = write_file_atomic(path, c->token, strlen(c->token), 0600);
	if (ret)
		log_err("cannot write api token %s: %s", path, strerror(-ret));
	else
		log_info("created api token %s", path);
	return ret;
}

int secrets_load_cell_key(struct controller *c, wg_key priv)
{
	const char *path = c->cfg.wireguard.private_key_file;
	char b64[WG_KEY_B64_LEN + 1];
	char *buf;
	int ret;

	buf = read_file(path, 256, NULL);
	if (buf) {
		buf[strcspn(buf, "\r\n")] = '\0';
		ret = key_from_base64(priv, buf) ? 0 : -EINVAL;
		explicit_bzero(buf, strlen(buf));
		free(buf);
		if (ret)
			log_err("%s does not hold a WireGuard key (base64 of "
				"32 bytes)",
				path);
		return ret;
	}
	if (errno != ENOENT) {
		log_err("cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	ret = key_generate_private(priv);
	if (ret)
		return ret;
	key_to_base64(b64, priv);
	ret = mkdir_of(path);
	if (ret)
		return ret;
	b64[WG_KEY_B64_LEN] = '\n';
	ret = write_file_atomic(path, b64, WG_KEY_B64_LEN + 1, 0600);
	explicit_bzero(b64, sizeof(b64));
	if (!ret)
		log_info("generated the cell's WireGuard key in %s", path);
	return ret;
}

void secrets_refresh_token(struct controller *c)
{
	struct stat st;
	char *buf;

	if (stat(c->cfg.api.token_file, &st))
		return; /* keep the last good token */
	if (st.st_ino == c->token_ino && st.st_size == c->token_size &&
	    st.st_mtim.tv_sec == c->token_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == c->token_mtime.tv_nsec)
		return;
	buf = read_file(c->cfg.api.token_file, sizeof(c->token) - 1, NULL);
	if (!buf)
		return;
	buf[strcspn(buf, "\r\n")] = '\0';
	if (strlen(buf) >= 16) {
		if (c->token_ino)
			log_info("api token changed (%s)",
				 c->cfg.api.token_file);
		str_copy(c->token, sizeof(c->token), buf);
		c->token_ino = st.st_ino;
		c->token_size = st.st_size;
		c->token_mtime = st.st_mtim;
	} else {
		log_warn("ignoring %s: a token needs 16 characters or more",
			 c->cfg.api.token_file);
	}
	explicit_bzero(buf, strlen(buf));
	free(buf);
}

int secrets_load_token(struct controller *c)
{
	int ret = load_or_create_token(c);

	if (!ret) {
		c->token[0] = '\0';
		secrets_refresh_token(c); /* also records the file's identity */
	}
	return ret;
}

/* Where the private key of a peer whose key pair the cell generated is
 * kept (0600), so its client config can be rendered. */
static int peer_key_path(struct controller *c, const char *name, char *path,
			 size_t len)
{
	return path_fmt(path, len, "%s/peer-keys/%s.key", c->cfg.state_dir,
			name);
}

int secrets_store_peer_key(struct controller *c, const char *name,
			   const wg_key priv)
{
	char path[PATH_MAX], dir[PATH_MAX], b64[WG_KEY_B64_LEN + 2];
	int ret;

	ret = path_fmt(dir, sizeof(dir), "%s/peer-keys", c->cfg.state_dir);
	if (!ret)
		ret = mkdir_p(dir, 0700);
	if (!ret)
		ret = peer_key_path(c, name, path, sizeof(path));
	if (ret)
		return ret;
	key_to_base64(b64, priv);
	b64[WG_KEY_B64_LEN] = '\n';
	ret = write_file_atomic(path, b64, WG_KEY_B64_LEN + 1, 0600);
	explicit_bzero(b64, sizeof(b64));
	return ret;
}

void secrets_forget_peer_key(struct controller *c, const char *name)
{
	char path[PATH_MAX];

	if (!peer_key_path(c, name, path, sizeof(path)))
		unlink(path);
}

bool secrets_load_peer_key(struct controller *c, const char *name,
			   char out[WG_KEY_B64_LEN + 1])
{
	char path[PATH_MAX], *buf;
	wg_key k;
	bool ok;

	if (peer_key_path(c, name, path, sizeof(path)))
		return false;
	buf = read_file(path, 256, NULL);
	if (!buf)
		return false;
	buf[strcspn(buf, "\r\n")] = '\0';
	ok = key_from_base64(k, buf);
	if (ok)
		str_copy(out, WG_KEY_B64_LEN + 1, buf);
	explicit_bzero(buf, strlen(buf));
	explicit_bzero(k, sizeof(k));
	free(buf);
	return ok;
}

bool secrets_peer_key_stored(struct controller *c, const char *name)
{
	char path[PATH_MAX];

	return !peer_key_path(c, name, path, sizeof(path)) &&
	       access(path, F_OK) == 0;
}

bool ctl_token_ok(struct controller *c, const char *presented)
{
	bool ok;

	pthread_mutex_lock(&c->lock);
	secrets_refresh_token(c);
	ok = c->token[0] && const_time_streq(presented, c->token);
	pthread_mutex_unlock(&c->lock);
	return ok;
}
