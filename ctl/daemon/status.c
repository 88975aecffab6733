// SPDX-License-Identifier: MIT
/* GET /api/status: what runs, where, and how full the maps are. */
#include <string.h>

#include <bpf/bpf.h>

#include "rate_qdisc.h"
#include "controller.h"
#include "programs.h"

static json_object *maps_json(struct controller *c)
{
	json_object *arr = json_object_new_array();
	int m;

	for (m = 0; m < DP_MAP__COUNT; m++) {
		struct dp_map_usage u;
		json_object *o;

		if (dp_map_usage(&c->dp, m, &u))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "name",
				       json_object_new_string(u.name));
		json_object_object_add(o, "entries",
				       json_object_new_int64(u.entries));
		json_object_object_add(o, "capacity",
				       json_object_new_int64(u.capacity));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* Kernel id, verified instruction count and JIT size of a program. */
static void add_prog_info(json_object *o, int fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return;
	json_object_object_add(o, "id", json_object_new_int64(info.id));
	json_object_object_add(o, "verified_insns",
			       json_object_new_int64(info.verified_insns));
	json_object_object_add(o, "jited_bytes",
			       json_object_new_int64(info.jited_prog_len));
}

/* Every program, where it is attached; for XDP, how. */
static json_object *programs_json(struct controller *c)
{
	json_object *arr = json_object_new_array(), *o;
	struct ctl_program progs[4];
	struct xdp_state xs;
	size_t i, n = ctl_programs(&c->cfg, &c->dp, progs, &xs);

	for (i = 0; i < n; i++) {
		o = json_object_new_object();
		json_object_object_add(o, "interface",
				       json_object_new_string(progs[i].ifname));
		json_object_object_add(o, "hook",
				       json_object_new_string(progs[i].hook));
		json_object_object_add(
			o, "attached",
			json_object_new_boolean(progs[i].attached));
		add_prog_info(o, progs[i].fd);
		if (!strcmp(progs[i].hook, "xdp")) {
			json_object_object_add(o, "xdp_mode",
					       json_object_new_string(xs.mode));
			json_object_object_add(
				o, "libxdp",
				json_object_new_string(ctl_libxdp_way(&xs)));
		}
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *nat_json(struct controller *c)
{
	json_object *o = json_object_new_object();
	struct cg_nat_stats st;
	char ip[16];
	struct in_addr up;

	memcpy(&up.s_addr, c->settings.uplink_addr, 4);
	json_object_object_add(o, "uplink_address",
			       json_object_new_string(ipv4_str(up, ip)));
	json_object_object_add(o, "masquerade",
			       json_object_new_boolean(c->cfg.nat.masquerade));
	if (dp_nat_stats(&c->dp, &st) == 0) {
		json_object_object_add(o, "flows_created",
				       json_object_new_uint64(st.created));
		json_object_object_add(
			o, "port_collisions",
			json_object_new_uint64(st.port_collisions));
		json_object_object_add(o, "exhausted",
				       json_object_new_uint64(st.exhausted));
	}
	return o;
}

static void add_cidr6(json_object *o, const char *key, const struct in6_addr *a,
		      uint8_t prefix)
{
	char ip[CG_IP6_STRLEN], buf[CG_IP6_STRLEN + 5];

	snprintf(buf, sizeof(buf), "%s/%u", ipv6_str(a, ip), prefix);
	json_object_object_add(o, key, json_object_new_string(buf));
}

/* An IPv6 cell's addresses (absent for an IPv4-only cell). */
static json_object *ipv6_json(const struct controller *c)
{
	const struct cg_config *cfg = &c->cfg;
	json_object *o = json_object_new_object();
	char ip[CG_IP6_STRLEN];
	struct in6_addr up;

	add_cidr6(o, "wg_address6", &cfg->wireguard.address6,
		  cfg->wireguard.subnet6.prefix);
	memcpy(&up, c->settings6.uplink_addr, 16);
	if (!ipv6_is_zero(&up))
		json_object_object_add(
			o, "uplink_address6",
			json_object_new_string(ipv6_str(&up, ip)));
	if (cfg->uplink.has_prefix6)
		add_cidr6(o, "prefix6", &cfg->uplink.prefix6.addr,
			  cfg->uplink.prefix6.prefix);
	if (cfg->bridge.has_subnet6)
		add_cidr6(o, "bridge_subnet6", &cfg->bridge.subnet6.addr,
			  cfg->bridge.subnet6.prefix);
	return o;
}

/* Whether /metrics has per-peer series, and above how many peers not. */
static json_object *metrics_json(const struct controller *c)
{
	json_object *o = json_object_new_object();
	uint32_t limit = c->cfg.metrics.per_peer_limit;

	json_object_object_add(o, "per_peer_limit",
			       json_object_new_uint64(limit));
	json_object_object_add(
		o, "per_peer_series",
		json_object_new_boolean(c->state.n_peers <= limit));
	return o;
}

/* Which generation of the state this start came from, and, when the
 * newest did not validate, what was refused and what was lost. */
static json_object *state_json(const struct controller *c)
{
	const struct state_recovery *r = &c->recovery;
	json_object *o = json_object_new_object(), *ref;
	unsigned int i;

	json_object_object_add(o, "generation",
			       json_object_new_uint64(c->journal.gen));
	json_object_object_add(o, "started_from",
			       json_object_new_string(r->started_from));
	json_object_object_add(o, "started_from_generation",
			       json_object_new_uint64(r->generation));
	json_object_object_add(o, "fell_back",
			       json_object_new_boolean(r->fell_back));
	ref = json_object_new_array();
	for (i = 0; i < r->n_refused; i++)
		json_object_array_add(ref,
				      json_object_new_string(r->refused[i]));
	json_object_object_add(o, "refused", ref);
	json_object_object_add(o, "lost", json_object_new_string(r->lost));
	json_object_object_add(o, "lost_after",
			       json_object_new_int64(r->lost_after));
	json_object_object_add(
		o, "on_corrupt",
		json_object_new_string(
			c->cfg.state.refuse_corrupt ? "refuse" : "fallback"));
	return o;
}

/* Bridge anti-spoofing: on or off, and the ports guarded. */
static json_object *bridge_json(const struct controller *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(
		o, "anti_spoofing",
		json_object_new_boolean(c->cfg.bridge.anti_spoofing));
	json_object_object_add(o, "ports_guarded",
			       json_object_new_uint64(c->ports.guarded));
	json_object_object_add(o, "ports",
			       json_object_new_uint64(c->ports.seen.n));
	return o;
}

int ctl_status(struct controller *c, json_object **out)
{
	json_object *o = json_object_new_object();
	char key[WG_KEY_B64_LEN + 1];

	pthread_mutex_lock(&c->lock);
	key_to_base64(key, c->public_key);
	json_object_object_add(o, "version",
			       json_object_new_string(CG_VERSION));
	json_object_object_add(o, "cell_name",
			       json_object_new_string(c->cfg.cell_name));
	json_object_object_add(o, "public_key", json_object_new_string(key));
	json_object_object_add(
		o, "wireguard_backend",
		json_object_new_string(c->wg_backend == WG_BACKEND_KERNEL ?
					       "kernel" :
					       "userspace"));
	json_object_object_add(o, "uptime_seconds",
			       json_object_new_int64((int64_t)((monotonic_ns() -
								c->started_ns) /
							       1000000000ull)));
	json_object_object_add(
		o, "services",
		json_object_new_int64((int64_t)c->state.n_services));
	json_object_object_add(
		o, "peers", json_object_new_int64((int64_t)c->state.n_peers));
	json_object_object_add(
		o, "forwards",
		json_object_new_int64((int64_t)c->state.n_forwards));
	json_object_object_add(o, "programs", programs_json(c));
	json_object_object_add(o, "nat", nat_json(c));
	if (c->cfg.wireguard.has_address6)
		json_object_object_add(o, "ipv6", ipv6_json(c));
	json_object_object_add(o, "maps", maps_json(c));
	json_object_object_add(o, "wireguard_repairs",
			       json_object_new_uint64(c->stats.wg_repairs));
	json_object_object_add(o, "conntrack_gc_deleted",
			       json_object_new_uint64(c->stats.ct_gc_deleted));
	json_object_object_add(o, "metrics", metrics_json(c));
	json_object_object_add(o, "state", state_json(c));
	json_object_object_add(o, "bridge", bridge_json(c));
	json_object_object_add(o, "rate_limits", ctl_rate_qdisc_json(c));
	pthread_mutex_unlock(&c->lock);
	*out = o;
	return 0;
}
