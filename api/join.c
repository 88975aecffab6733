// SPDX-License-Identifier: MIT
/*
 * The enrolment listener (join.listen: POST /api/join with X-Join-Token)
 * and a peer's own API (peer_api.port on the wg address). Neither takes
 * the admin token. The join listener may face the uplink: each source
 * address gets rate_per_minute requests (a token bucket; 429 past it),
 * before any token is looked at. The peer API knows its caller by the
 * TCP peer's address, which WireGuard's cryptokey routing vouches for.
 */
#include <pthread.h>
#include <string.h>

#include "server.h"

/* Sources the rate limit remembers; a new one takes the slot of the
 * longest idle (a flood of addresses forgets old ones, never blocks). */
#define RATE_SLOTS 1024

struct rate_slot {
	struct in6_addr addr; /* IPv4 as ::ffff:a.b.c.d; ::: free */
	double tokens;
	uint64_t last_ns;
};

static struct rate_slot slots[RATE_SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot of addr, or the idlest of its probe window. */
static struct rate_slot *slot_of(const struct in6_addr *addr, double burst)
{
	uint32_t w[4], h;

	memcpy(w, addr, sizeof(w));
	h = ((w[0] ^ w[1] ^ w[2] ^ w[3]) * 2654435761u) % RATE_SLOTS;
	struct rate_slot *idlest = &slots[h];
	unsigned int i;

	for (i = 0; i < 8; i++) {
		struct rate_slot *s = &slots[(h + i) % RATE_SLOTS];

		if (IN6_ARE_ADDR_EQUAL(&s->addr, addr))
			return s;
		if (s->last_ns < idlest->last_ns)
			idlest = s;
	}
	idlest->addr = *addr;
	idlest->tokens = burst;
	idlest->last_ns = 0;
	return idlest;
}

/* May from make a request now? Else *retry_after seconds to wait. */
static bool rate_ok(const struct in6_addr *from, uint32_t per_minute,
		    unsigned int *retry_after)
{
	double burst = per_minute, per_ns = per_minute / 60e9;
	uint64_t now = monotonic_ns();
	struct rate_slot *s;
	bool ok;

	pthread_mutex_lock(&slots_lock);
	s = slot_of(from, burst);
	if (s->last_ns)
		s->tokens += (double)(now - s->last_ns) * per_ns;
	if (s->tokens > burst)
		s->tokens = burst;
	s->last_ns = now;
	ok = s->tokens >= 1.0;
	if (ok)
		s->tokens -= 1.0;
	else
		*retry_after =
			(unsigned int)((1.0 - s->tokens) / per_ns / 1e9) + 1;
	pthread_mutex_unlock(&slots_lock);
	return ok;
}

static void join(struct controller *c, const struct api_request *req,
		 struct api_response *resp)
{
	struct cg_error err = { 0 };
	json_object *out = NULL;
	int status = 0;

	if (!rate_ok(&req->client6, c->cfg.join.rate_per_minute,
		     &resp->retry_after)) {
		ctl_join_refused(c, JOIN_RATE_LIMITED);
		cg_error_set(&err, 429, "",
			     "too many requests from this "
			     "address; retry later");
		api_error(resp, &err);
		return;
	}
	if (!req->join_token || !req->join_token[0]) {
		ctl_join_refused(c, JOIN_NO_TOKEN);
		cg_error_set(&err, 401, "X-Join-Token",
			     "an X-Join-Token header is required");
		api_error(resp, &err);
		return;
	}
	if (ctl_join(c, req->join_token, req->body, &out, &status, &err)) {
		api_error(resp, &err);
		return;
	}
	resp->status = status;
	resp->json = out;
}

static void peer_me(struct controller *c, const struct api_request *req,
		    struct api_response *resp)
{
	struct cg_error err = { 0 };

	if (ctl_peer_me(c, &req->client6, &resp->json, &err))
		api_error(resp, &err);
}

static void peer_me_config(struct controller *c, const struct api_request *req,
			   struct api_response *resp)
{
	struct cg_error err = { 0 };
	char *text = NULL;

	if (ctl_peer_me_config(c, &req->client6, &text, &err)) {
		api_error(resp, &err);
		return;
	}
	resp->raw = text;
	resp->raw_len = strlen(text);
	resp->content_type = "text/plain; charset=utf-8";
}

static void peer_me_key(struct controller *c, const struct api_request *req,
			struct api_response *resp)
{
	struct cg_error err = { 0 };

	if (ctl_peer_me_key(c, &req->client6, req->body, &resp->json, &err))
		api_error(resp, &err);
}

const struct api_route join_routes[] = {
	{ "POST", "/api/join", join, true, true, 0 },
	{ NULL, NULL, NULL, false, false, 0 },
};

const struct api_route peer_routes[] = {
	{ "GET", "/api/peer/me", peer_me, true, false, 0 },
	{ "GET", "/api/peer/me/config", peer_me_config, true, false, 0 },
	{ "POST", "/api/peer/me/key", peer_me_key, true, true, 0 },
	{ NULL, NULL, NULL, false, false, 0 },
};
