// SPDX-License-Identifier: MIT
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_http.h"

/* No reply of the API comes near this; a bigger one is not our server. */
#define CLI_HTTP_MAX_REPLY (64u << 20)

struct cli_http {
	CURL *curl;
	struct curl_slist *headers; /* Authorization */
	struct curl_slist *json_headers; /* Authorization, Content-Type */
	char host_port[64];
	char curl_err[CURL_ERROR_SIZE];
	long timeout_s; /* 0: CLI_HTTP_TIMEOUT_S */
};

void cli_http_set_timeout(struct cli_http *h, long seconds)
{
	h->timeout_s = seconds;
}

static long timeout_of(const struct cli_http *h)
{
	return h->timeout_s ? h->timeout_s : CLI_HTTP_TIMEOUT_S;
}

static struct curl_slist *auth_headers(const char *token, bool with_body)
{
	static const char prefix[] = "Authorization: Bearer ";
	size_t len = sizeof(prefix) + strlen(token);
	struct curl_slist *list = NULL, *next;
	char *line = malloc(len);

	if (!line)
		return NULL;
	snprintf(line, len, "%s%s", prefix, token);
	list = curl_slist_append(NULL, line);
	/* curl keeps its own copy: wipe ours. */
	explicit_bzero(line, len);
	free(line);
	if (list && with_body) {
		next = curl_slist_append(list,
					 "Content-Type: application/json");
		if (!next) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = next;
	}
	return list;
}

struct cli_http *cli_http_new(const char *host_port, const char *token)
{
	struct cli_http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		goto fail_free;
	snprintf(h->host_port, sizeof(h->host_port), "%s", host_port);
	h->curl = curl_easy_init();
	h->headers = auth_headers(token, false);
	h->json_headers = auth_headers(token, true);
	if (!h->curl || !h->headers || !h->json_headers)
		goto fail;
	return h;
fail:
	cli_http_free(h);
	return NULL;
fail_free:
	free(h);
	return NULL;
}

void cli_http_free(struct cli_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
	curl_slist_free_all(h->json_headers);
	free(h);
	curl_global_cleanup();
}

static size_t on_data(char *data, size_t size, size_t n, void *userdata)
{
	struct cli_reply *r = userdata;
	size_t len = size * n;
	char *p;

	if (r->len + len > CLI_HTTP_MAX_REPLY)
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	p = realloc(r->body, r->len + len + 1);
	if (!p)
		return 0;
	memcpy(p + r->len, data, len);
	r->body = p;
	r->len += len;
	p[r->len] = '\0';
	return len;
}

/* The per-request options; the handle keeps the rest (and the
 * connection) from one request to the next. */
static void setup(struct cli_http *h, const char *method, const char *url,
		  const char *body, struct cli_reply *reply)
{
	CURL *c = h->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER,
			 body ? h->json_headers : h->headers);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (strcmp(method, "GET"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_err);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_of(h));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)CLI_HTTP_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* The API is on a local address: an http_proxy in the environment
	 * must not capture it. */
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	/* Names may be "." or "..": send the path as it is. */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cellgate-cli");
}

/* Say in words why no reply came. */
static void transport_error(struct cli_http *h, CURLcode rc, char *err,
			    size_t err_len)
{
	long os_errno = 0;
	const char *detail =
		h->curl_err[0] ? h->curl_err : curl_easy_strerror(rc);

	curl_easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &os_errno);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		snprintf(err, err_len,
			 "cannot connect to the controller at %s: %s (is "
			 "`cellgate run` running?)",
			 h->host_port,
			 os_errno ? strerror((int)os_errno) : detail);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, err_len,
			 "the controller at %s did not answer within %ld s",
			 h->host_port, timeout_of(h));
		break;
	case CURLE_GOT_NOTHING:
		snprintf(err, err_len,
			 "the controller at %s closed the connection without "
			 "a reply",
			 h->host_port);
		break;
	case CURLE_WRITE_ERROR:
		snprintf(err, err_len,
			 "malformed reply from %s: larger than %u MiB",
			 h->host_port, CLI_HTTP_MAX_REPLY >> 20);
		break;
	case CURLE_WEIRD_SERVER_REPLY:
		snprintf(err, err_len, "malformed reply from %s: %s",
			 h->host_port, detail);
		break;
	default:
		snprintf(err, err_len, "request to %s failed: %s", h->host_port,
			 detail);
	}
}

/* The whole body must be one JSON document (an object or an array). */
static json_object *parse_json(const char *buf, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *obj;
	size_t used;

	if (!tok)
		return NULL;
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	used = obj ? json_tokener_get_parse_end(tok) : 0;
	json_tokener_free(tok);
	while (obj && used < len && buf[used] && strchr(" \t\r\n", buf[used]))
		used++;
	if (obj && used < len) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static void content_type(struct cli_http *h, struct cli_reply *r)
{
	char *ct = NULL;

	curl_easy_getinfo(h->curl, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(r->content_type, sizeof(r->content_type), "%s", ct ? ct : "");
	r->content_type[strcspn(r->content_type, "; ")] = '\0';
}

int cli_http_request(struct cli_http *h, const char *method, const char *path,
		     const char *body, struct cli_reply *reply, char *err,
		     size_t err_len)
{
	char url[512];
	CURLcode rc;

	memset(reply, 0, sizeof(*reply));
	h->curl_err[0] = '\0';
	snprintf(url, sizeof(url), "http://%s%s", h->host_port, path);
	setup(h, method, url, body, reply);
	rc = curl_easy_perform(h->curl);
	if (rc != CURLE_OK) {
		transport_error(h, rc, err, err_len);
		cli_reply_free(reply);
		return -1;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &reply->status);
	content_type(h, reply);
	if (!strcmp(reply->content_type, "application/json") && reply->len) {
		reply->json = parse_json(reply->body, reply->len);
		if (!reply->json) {
			snprintf(err, err_len,
				 "malformed reply from %s: HTTP %ld with a "
				 "body that is not valid JSON",
				 h->host_port, reply->status);
			cli_reply_free(reply);
			return -1;
		}
	}
	return 0;
}

void cli_reply_free(struct cli_reply *reply)
{
	free(reply->body);
	json_object_put(reply->json);
	memset(reply, 0, sizeof(*reply));
}
