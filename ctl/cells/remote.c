// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "log.h"
#include "remote.h"

#define SYNC_TIMEOUT_MS 3000

uint64_t cells_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t on_reply(char *data, size_t size, size_t n, void *arg)
{
	struct sync_reply *r = arg;
	size_t len = size * n, room = sizeof(r->body) - 1 - r->len;

	memcpy(r->body + r->len, data, len < room ? len : room);
	r->len += len < room ? len : room;
	r->body[r->len] = '\0';
	return len;
}

int cells_post(const char *host, uint16_t port, const char *path,
	       const char *body, const uint8_t key[LINK_KEY_LEN],
	       const struct in_addr *from, struct sync_reply *r)
{
	char url[512], ts[32], sig[MAC_HEX_LEN + 1], h_ts[64], h_sig[128];
	char iface[32], ip[16];
	struct curl_slist *hdrs = NULL;
	CURL *curl = curl_easy_init();
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	if (!curl)
		return -ENOMEM;
	snprintf(url, sizeof(url), "http://%s:%u%s", host, port, path);
	snprintf(ts, sizeof(ts), "%" PRIu64, cells_wall_ms());
	request_mac(sig, key, "POST", path, ts, body, strlen(body));
	snprintf(h_ts, sizeof(h_ts), "X-Cellgate-Timestamp: %s", ts);
	snprintf(h_sig, sizeof(h_sig), "X-Cellgate-Signature: %s", sig);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, h_ts);
	hdrs = curl_slist_append(hdrs, h_sig);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)SYNC_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_reply);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, r->error);
	if (from) {
		snprintf(iface, sizeof(iface), "host!%s", ipv4_str(*from, ip));
		curl_easy_setopt(curl, CURLOPT_INTERFACE, iface);
	}
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	else if (!r->error[0])
		snprintf(r->error, sizeof(r->error), "%s",
			 curl_easy_strerror(rc));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	return rc == CURLE_OK ? 0 : -EHOSTUNREACH;
}

const char *cells_reply_error(const struct sync_reply *r)
{
	static char msg[256];
	json_object *o = json_tokener_parse(r->body), *e;

	snprintf(msg, sizeof(msg), "%s",
		 r->status ? "unexpected reply" : r->error);
	if (o && json_object_object_get_ex(o, "error", &e))
		snprintf(msg, sizeof(msg), "%s", json_object_get_string(e));
	json_object_put(o);
	return msg;
}

/* The remote's answer to accept-invite, as our answer to the operator. */
static int remote_refused(const struct sync_reply *r, struct cg_error *err)
{
	if (r->status == 403 || r->status == 409 || r->status == 400) {
		cg_error_set(err, (int)r->status,
			     r->status == 403 ? "pairing_secret" : "",
			     "the remote cell refused the link: %s",
			     cells_reply_error(r));
		return -EPERM;
	}
	cg_error_set(err, 502, "endpoint",
		     "the remote cell did not accept the link (%s%s)",
		     r->status ? "status " : "",
		     r->status ? cells_reply_error(r) : r->error);
	return -EHOSTUNREACH;
}

int cells_call_accept_invite(const struct cg_cell_info *me,
			     const struct cg_cell_info *remote,
			     const uint8_t key[LINK_KEY_LEN],
			     struct cg_error *err)
{
	json_object *body = cell_info_to_json(me);
	char host[256];
	uint16_t port;
	struct sync_reply r;
	int ret;

	parse_host_port(remote->endpoint, host, sizeof(host), &port);
	ret = cells_post(host, remote->pairing_port, CELLS_PATH_ACCEPT,
			 json_object_to_json_string(body), key, NULL, &r);
	json_object_put(body);
	if (!ret && r.status == 200)
		return 0;
	return remote_refused(&r, err);
}

void cells_tell_unlink(const struct cg_cell_def *gone, const char *hello,
		       const struct in_addr *from)
{
	const char *name = gone->info.cell_name;
	struct sync_reply r = { 0 };
	char ip[16];

	if (hello &&
	    cells_post(ipv4_str(gone->info.wg_address, ip),
		       gone->info.sync_port, CELLS_PATH_UNLINK, hello,
		       gone->link_key, from, &r) == 0 &&
	    r.status == 200)
		log_info("cell '%s' unlinked on both sides", name);
	else
		log_warn("cell '%s' unlinked here; telling it failed (%s)",
			 name, r.status ? cells_reply_error(&r) : r.error);
}
