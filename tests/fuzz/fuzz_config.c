// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: config_parse on any input. It must not crash, refuse
 * with 400 and a message, and what it accepts must hold what the rest of
 * the controller computes with unchecked: the WireGuard subnet (masks,
 * address allocation), distinct interfaces and disjoint networks (the
 * policy's local-network map), absolute paths, bounded limits and NAT
 * port ranges.
 *
 * CELLGATE_FUZZ_VERBOSE=1 prints whether each input was accepted.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

static void fc_fail(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

static void fc_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz_config: accepted config: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define FC_CHECK(cond, ...)                   \
	do {                                  \
		if (!(cond))                  \
			fc_fail(__VA_ARGS__); \
	} while (0)

/* A network with no host bits and a sane prefix. */
static void fc_check_net(const struct cg_cidr *c, const char *what)
{
	FC_CHECK(c->prefix <= 32, "%s has prefix /%u", what, c->prefix);
	FC_CHECK(!(c->addr.s_addr & ~prefix_mask(c->prefix)),
		 "%s has host bits", what);
}

static void fc_check_wireguard(const struct cg_config *cfg)
{
	const struct cg_cidr *net = &cfg->wireguard.subnet;
	uint32_t mask;

	FC_CHECK(net->prefix >= 8 && net->prefix <= 30,
		 "WireGuard prefix /%u is not 8..30", net->prefix);
	mask = prefix_mask(net->prefix);
	fc_check_net(net, "the WireGuard subnet");
	FC_CHECK(cidr_contains(net->addr, net->prefix, cfg->wireguard.address),
		 "the router's address is outside its subnet");
	FC_CHECK(cfg->wireguard.address.s_addr != net->addr.s_addr,
		 "the router's address is the network address");
	FC_CHECK((cfg->wireguard.address.s_addr | mask) != 0xffffffffu,
		 "the router's address is the broadcast address");
	FC_CHECK(cfg->wireguard.listen_port >= 1, "listen_port is 0");
}

static void fc_check_networks(const struct cg_config *cfg)
{
	const struct cg_cidr *wg = &cfg->wireguard.subnet;
	const struct cg_cidr *br = &cfg->bridge.subnet;
	unsigned int i, j;

	if (cfg->bridge.has_subnet) {
		fc_check_net(br, "bridge.subnet");
		FC_CHECK(!cidrs_overlap(br->addr, br->prefix, wg->addr,
					wg->prefix),
			 "bridge.subnet overlaps the WireGuard subnet");
	}
	FC_CHECK(cfg->n_local_networks <= CG_MAX_LOCAL_NETS,
		 "%u local networks", cfg->n_local_networks);
	for (i = 0; i < cfg->n_local_networks; i++) {
		const struct cg_cidr *c = &cfg->local_networks[i];

		fc_check_net(c, "a local network");
		FC_CHECK(!cidrs_overlap(c->addr, c->prefix, wg->addr,
					wg->prefix),
			 "local_networks[%u] overlaps the WireGuard subnet", i);
		FC_CHECK(!cfg->bridge.has_subnet ||
				 !cidrs_overlap(c->addr, c->prefix, br->addr,
						br->prefix),
			 "local_networks[%u] overlaps the bridge subnet", i);
		for (j = 0; j < i; j++)
			FC_CHECK(!cidrs_overlap(c->addr, c->prefix,
						cfg->local_networks[j].addr,
						cfg->local_networks[j].prefix),
				 "local_networks[%u] and [%u] overlap", j, i);
	}
}

static void fc_check_names(const struct cg_config *cfg)
{
	const char *wg = cfg->wireguard.interface;
	const char *br = cfg->bridge.interface;
	const char *up = cfg->uplink.interface;
	static const char *const levels[] = { "error", "warn", "info",
					      "debug" };
	size_t i;

	FC_CHECK(valid_name(cfg->cell_name), "bad cell_name");
	FC_CHECK(cfg->domain[0] && !strchr(cfg->domain, '/') &&
			 !strchr(cfg->domain, ' '),
		 "bad domain");
	FC_CHECK(valid_name(wg) && valid_name(br) && (!up[0] || valid_name(up)),
		 "an interface name is invalid");
	FC_CHECK(strcmp(wg, br) &&
			 (!up[0] || (strcmp(wg, up) && strcmp(br, up))),
		 "two interfaces share the name");
	for (i = 0; i < ARRAY_SIZE(levels); i++)
		if (!strcmp(cfg->log_level, levels[i]))
			break;
	FC_CHECK(i < ARRAY_SIZE(levels), "log_level '%s'", cfg->log_level);
	FC_CHECK(cfg->state_dir[0] == '/' && cfg->bpffs[0] == '/' &&
			 cfg->wireguard.private_key_file[0] == '/' &&
			 cfg->api.token_file[0] == '/',
		 "a path is not absolute");
	FC_CHECK(cfg->api.listen_port >= 1, "api.listen has port 0");
}

static void fc_check_limits(const struct cg_config *cfg)
{
	FC_CHECK(cfg->limits.max_peers >= 16 &&
			 cfg->limits.max_peers <= 1u << 20,
		 "limits.max_peers %u", cfg->limits.max_peers);
	FC_CHECK(cfg->limits.conntrack_tcp >= 1024 &&
			 cfg->limits.conntrack_tcp <= 1u << 24 &&
			 cfg->limits.conntrack_other >= 1024 &&
			 cfg->limits.conntrack_other <= 1u << 24,
		 "conntrack limits %u/%u", cfg->limits.conntrack_tcp,
		 cfg->limits.conntrack_other);
	FC_CHECK(cfg->limits.nat >= 1024 && cfg->limits.nat <= 1u << 24,
		 "limits.nat %u", cfg->limits.nat);
	/* The NAT port allocator assumes a range of at least 256 ports. */
	FC_CHECK(cfg->nat.port_min >= 1024 &&
			 cfg->nat.port_max >= cfg->nat.port_min + 255,
		 "nat ports %u..%u", cfg->nat.port_min, cfg->nat.port_max);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Big (paths); static keeps it off the fuzzer's stack. */
	static struct cg_config cfg;
	struct cg_error err = { 0 };
	char *buf = malloc(size + 1);
	int ret;

	if (!buf)
		return 0;
	/* NUL-terminated, as read_file gives config_load the file. */
	memcpy(buf, data, size);
	buf[size] = '\0';
	ret = config_parse(buf, size, &cfg, &err);
	if (getenv("CELLGATE_FUZZ_VERBOSE"))
		fprintf(stderr, "config: %d %s%s%s\n", ret ? err.status : 200,
			err.field, err.field[0] ? ": " : "",
			ret ? err.msg : "accepted");
	if (ret) {
		free(buf);
		if (err.status != 400 || !err.msg[0]) {
			fprintf(stderr,
				"fuzz_config: refused with status %d and "
				"message '%s'\n",
				err.status, err.msg);
			abort();
		}
		return 0;
	}
	free(buf);
	fc_check_wireguard(&cfg);
	fc_check_networks(&cfg);
	fc_check_names(&cfg);
	fc_check_limits(&cfg);
	return 0;
}
