// SPDX-License-Identifier: MIT
/* Unit tests for ctl/state/config.c: the bootstrap configuration contract. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

static struct cg_config cfg;
static struct cg_error err;

static uint32_t ip(const char *s)
{
	struct in_addr a;

	ck_assert_msg(inet_pton(AF_INET, s, &a) == 1, "bad fixture %s", s);
	return a.s_addr;
}

static int parse(const char *json)
{
	memset(&err, 0, sizeof(err));
	return config_parse(json, strlen(json), &cfg, &err);
}

/* Parse json; it must be rejected with status 400 naming field. */
static void reject(const char *json, const char *field)
{
	int ret = parse(json);

	ck_assert_msg(ret != 0, "accepted: %s", json);
	ck_assert_int_eq(ret, -EINVAL);
	tu_assert_err(&err, 400, field);
}

/*
 * The example config with one member changed: path is "key" or
 * "object.key"; value NULL removes the member, otherwise value is JSON
 * text. Missing parent objects are created.
 */
static char *example_with(const char *path, const char *value)
{
	json_object *root = tu_json(TU_EXAMPLE_CONFIG);
	json_object *parent = root, *child;
	const char *dot = strchr(path, '.');
	char head[64];
	char *out;

	if (dot) {
		snprintf(head, sizeof(head), "%.*s", (int)(dot - path), path);
		if (!json_object_object_get_ex(root, head, &parent)) {
			parent = json_object_new_object();
			json_object_object_add(root, head, parent);
		}
		path = dot + 1;
	}
	if (!value) {
		json_object_object_del(parent, path);
	} else {
		child = json_tokener_parse(value);
		ck_assert_msg(child || !strcmp(value, "null"), "bad value %s",
			      value);
		json_object_object_add(parent, path, child);
	}
	out = strdup(json_object_to_json_string(root));
	json_object_put(root);
	ck_assert_ptr_nonnull(out);
	return out;
}

/* The example with path set to value must be rejected naming field. */
static void reject_with(const char *path, const char *value, const char *field)
{
	char *json = example_with(path, value);

	reject(json, field);
	free(json);
}

static void accept_with(const char *path, const char *value)
{
	char *json = example_with(path, value);
	int ret = parse(json);

	ck_assert_msg(ret == 0, "rejected %s (%s: %s)", json, err.field,
		      err.msg);
	free(json);
}

/* The example shipped in scripts/ (make test runs from the top). */
START_TEST(test_shipped_example)
{
	struct cg_config cfg;
	struct cg_error err = { 0 };

	ck_assert_msg(
		config_load("scripts/cellgate.example.json", &cfg, &err) == 0,
		"%s (%s)", err.msg, err.field);
	ck_assert_uint_eq(cfg.limits.nat, 65536);
	ck_assert(cfg.nat.masquerade);
	ck_assert(cfg.has_dns_ip);
	ck_assert(cfg.wireguard.has_address6 && cfg.uplink.has_prefix6 &&
		  cfg.has_dns_ip6);
}
END_TEST

START_TEST(test_example_parses)
{
	ck_assert_int_eq(parse(TU_EXAMPLE_CONFIG), 0);
	ck_assert_str_eq(cfg.cell_name, "home");
	ck_assert_str_eq(cfg.domain, "home.cell");
	ck_assert_str_eq(cfg.wireguard.interface, "wg0");
	ck_assert_uint_eq(cfg.wireguard.address.s_addr, ip("10.0.0.1"));
	ck_assert_uint_eq(cfg.wireguard.subnet.addr.s_addr, ip("10.0.0.0"));
	ck_assert_uint_eq(cfg.wireguard.subnet.prefix, 24);
	ck_assert_uint_eq(cfg.wireguard.listen_port, 51820);
	ck_assert_str_eq(cfg.wireguard.private_key_file,
			 "/etc/cellgate/wg.key");
	ck_assert_str_eq(cfg.wireguard.endpoint, "198.51.100.7:51820");
	ck_assert_str_eq(cfg.bridge.interface, "br-cell");
	ck_assert(!cfg.bridge.has_subnet);
	ck_assert_str_eq(cfg.uplink.interface, "eth0");
	ck_assert_str_eq(cfg.api.listen, "127.0.0.1:8470");
	ck_assert_uint_eq(cfg.api.listen_addr.s_addr, ip("127.0.0.1"));
	ck_assert_uint_eq(cfg.api.listen_port, 8470);
	ck_assert_str_eq(cfg.api.token_file, "/etc/cellgate/api.token");
	ck_assert_str_eq(cfg.state_dir, "/var/lib/cellgate");
	ck_assert_str_eq(cfg.bpffs, "/sys/fs/bpf/cellgate");
	ck_assert_uint_eq(cfg.n_local_networks, 0);
	/* Omitted optional fields take their defaults. */
	ck_assert_uint_eq(cfg.limits.max_peers, 16384);
	ck_assert_uint_eq(cfg.limits.conntrack_tcp, 65536);
	ck_assert_uint_eq(cfg.limits.conntrack_other, 32768);
	ck_assert_str_eq(cfg.log_level, "info");
	ck_assert_str_eq(cfg.path, "");
}
END_TEST

START_TEST(test_minimal_config_defaults)
{
	static const char minimal[] =
		"{\"cell_name\": \"c1\", \"domain\": \"c1.cell\","
		" \"wireguard\": {\"address\": \"10.9.0.77/16\"},"
		" \"bridge\": {\"interface\": \"br0\"}}";

	ck_assert_int_eq(parse(minimal), 0);
	ck_assert_str_eq(cfg.wireguard.interface, "wg0");
	ck_assert_uint_eq(cfg.wireguard.address.s_addr, ip("10.9.0.77"));
	/* Host bits of the subnet are cleared. */
	ck_assert_uint_eq(cfg.wireguard.subnet.addr.s_addr, ip("10.9.0.0"));
	ck_assert_uint_eq(cfg.wireguard.subnet.prefix, 16);
	ck_assert_uint_eq(cfg.wireguard.listen_port, 51820);
	ck_assert_str_eq(cfg.wireguard.private_key_file,
			 "/etc/cellgate/wg.key");
	ck_assert_str_eq(cfg.wireguard.endpoint, "");
	ck_assert_str_eq(cfg.uplink.interface, "");
	/* No "api" object: the API still listens on loopback only. */
	ck_assert_str_eq(cfg.api.listen, "127.0.0.1:8470");
	ck_assert_uint_eq(cfg.api.listen_addr.s_addr, ip("127.0.0.1"));
	ck_assert_uint_eq(cfg.api.listen_port, 8470);
	ck_assert_str_eq(cfg.api.token_file, "/etc/cellgate/api.token");
	ck_assert_str_eq(cfg.state_dir, "/var/lib/cellgate");
	ck_assert_str_eq(cfg.bpffs, "/sys/fs/bpf/cellgate");
	ck_assert_uint_eq(cfg.limits.max_peers, 16384);
	ck_assert_uint_eq(cfg.limits.conntrack_tcp, 65536);
	ck_assert_uint_eq(cfg.limits.conntrack_other, 32768);
	ck_assert_str_eq(cfg.log_level, "info");
}
END_TEST

START_TEST(test_api_listen_without_token_file)
{
	/* An "api" object with only listen keeps the default token file. */
	char *json = example_with("api.token_file", NULL);

	ck_assert_int_eq(parse(json), 0);
	ck_assert_str_eq(cfg.api.token_file, "/etc/cellgate/api.token");
	ck_assert_uint_eq(cfg.api.listen_port, 8470);
	free(json);
	json = example_with("api.listen", "\"10.0.0.1:9000\"");
	ck_assert_int_eq(parse(json), 0);
	ck_assert_uint_eq(cfg.api.listen_addr.s_addr, ip("10.0.0.1"));
	ck_assert_uint_eq(cfg.api.listen_port, 9000);
	free(json);
}
END_TEST

START_TEST(test_optional_fields_given)
{
	static const char full[] =
		"{\"cell_name\": \"c-2.x_y\", \"domain\": \"c2.cell\","
		" \"wireguard\": {\"interface\": \"wgc\","
		"  \"address\": \"10.1.2.2/30\", \"listen_port\": 1},"
		" \"bridge\": {\"interface\": \"br0\","
		"  \"subnet\": \"172.20.0.0/16\"},"
		" \"local_networks\": [\"192.168.1.0/24\", \"10.2.0.0/16\"],"
		" \"limits\": {\"max_peers\": 16, \"conntrack_tcp\": 1024,"
		"  \"conntrack_other\": 16777216},"
		" \"log_level\": \"debug\"}";

	ck_assert_msg(parse(full) == 0, "%s: %s", err.field, err.msg);
	ck_assert_str_eq(cfg.cell_name, "c-2.x_y");
	ck_assert_str_eq(cfg.wireguard.interface, "wgc");
	ck_assert_uint_eq(cfg.wireguard.subnet.addr.s_addr, ip("10.1.2.0"));
	ck_assert_uint_eq(cfg.wireguard.subnet.prefix, 30);
	ck_assert_uint_eq(cfg.wireguard.listen_port, 1);
	ck_assert(cfg.bridge.has_subnet);
	ck_assert_uint_eq(cfg.bridge.subnet.addr.s_addr, ip("172.20.0.0"));
	ck_assert_uint_eq(cfg.bridge.subnet.prefix, 16);
	ck_assert_uint_eq(cfg.n_local_networks, 2);
	ck_assert_uint_eq(cfg.local_networks[0].addr.s_addr, ip("192.168.1.0"));
	ck_assert_uint_eq(cfg.local_networks[0].prefix, 24);
	ck_assert_uint_eq(cfg.local_networks[1].addr.s_addr, ip("10.2.0.0"));
	ck_assert_uint_eq(cfg.local_networks[1].prefix, 16);
	ck_assert_uint_eq(cfg.limits.max_peers, 16);
	ck_assert_uint_eq(cfg.limits.conntrack_tcp, 1024);
	ck_assert_uint_eq(cfg.limits.conntrack_other, 1 << 24);
	ck_assert_str_eq(cfg.log_level, "debug");
	/* The upper bounds are inclusive too. */
	accept_with("limits.max_peers", "1048576");
	ck_assert_uint_eq(cfg.limits.max_peers, 1 << 20);
	accept_with("wireguard.listen_port", "65535");
	ck_assert_uint_eq(cfg.wireguard.listen_port, 65535);
	accept_with("wireguard.address", "\"10.0.0.1/8\"");
	ck_assert_uint_eq(cfg.wireguard.subnet.prefix, 8);
	ck_assert_uint_eq(cfg.wireguard.subnet.addr.s_addr, ip("10.0.0.0"));
	accept_with("wireguard.endpoint", "\"vpn.example.org:443\"");
	ck_assert_str_eq(cfg.wireguard.endpoint, "vpn.example.org:443");
}
END_TEST

START_TEST(test_malformed_json)
{
	reject("{\"cell_name\": \"home\",", "");
	ck_assert_ptr_nonnull(strstr(err.msg, "malformed JSON"));
	reject("", "");
	reject("{\"cell_name\": 'home'}", "");
	reject("{\"cell_name\": \"home\",}", "");
}
END_TEST

START_TEST(test_trailing_garbage)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "%s x", TU_EXAMPLE_CONFIG);
	reject(buf, "");
	ck_assert_ptr_nonnull(strstr(err.msg, "malformed JSON"));
	snprintf(buf, sizeof(buf), "%s{}", TU_EXAMPLE_CONFIG);
	reject(buf, "");
	/* Trailing whitespace is fine. */
	snprintf(buf, sizeof(buf), "%s \n\t\r\n", TU_EXAMPLE_CONFIG);
	ck_assert_int_eq(parse(buf), 0);
	/* A NUL inside the given length is trailing data too. */
	memset(&err, 0, sizeof(err));
	ck_assert_int_ne(config_parse(TU_EXAMPLE_CONFIG,
				      sizeof(TU_EXAMPLE_CONFIG), &cfg, &err),
			 0);
	ck_assert_int_eq(err.status, 400);
}
END_TEST

START_TEST(test_top_level_not_object)
{
	reject("[]", "");
	ck_assert_ptr_nonnull(strstr(err.msg, "object"));
	reject("\"home\"", "");
	reject("42", "");
	reject("null", "");
}
END_TEST

START_TEST(test_unknown_fields)
{
	reject_with("bogus", "1", "bogus");
	ck_assert_ptr_nonnull(strstr(err.msg, "bogus"));
	reject_with("wireguard.bogus", "1", "wireguard.bogus");
	reject_with("wireguard.public_key", "\"x\"", "wireguard.public_key");
	reject_with("bridge.bogus", "true", "bridge.bogus");
	reject_with("uplink.bogus", "\"eth1\"", "uplink.bogus");
	reject_with("api.bogus", "{}", "api.bogus");
	reject_with("limits.bogus", "1", "limits.bogus");
}
END_TEST

START_TEST(test_missing_required)
{
	reject_with("cell_name", NULL, "cell_name");
	ck_assert_ptr_nonnull(strstr(err.msg, "missing"));
	reject_with("domain", NULL, "domain");
	reject_with("wireguard", NULL, "wireguard");
	reject_with("wireguard.address", NULL, "wireguard.address");
	reject_with("bridge", NULL, "bridge");
	reject_with("bridge.interface", NULL, "bridge.interface");
	/* null is as good as missing. */
	reject_with("cell_name", "null", "cell_name");
}
END_TEST

START_TEST(test_wrong_types)
{
	reject_with("cell_name", "7", "cell_name");
	reject_with("wireguard", "\"wg0\"", "wireguard");
	reject_with("bridge", "[]", "bridge");
	reject_with("uplink", "\"eth0\"", "uplink");
	reject_with("api", "1", "api");
	reject_with("limits", "[]", "limits");
	reject_with("local_networks", "\"10.1.0.0/16\"", "local_networks");
	reject_with("local_networks", "[1]", "local_networks[0]");
	reject_with("wireguard.interface", "0", "wireguard.interface");
	reject_with("log_level", "true", "log_level");
}
END_TEST

START_TEST(test_wireguard_address)
{
	reject_with("wireguard.address", "\"10.0.0.1\"", "wireguard.address");
	reject_with("wireguard.address", "\"10.0.0.1/31\"",
		    "wireguard.address");
	reject_with("wireguard.address", "\"10.0.0.1/32\"",
		    "wireguard.address");
	reject_with("wireguard.address", "\"10.0.0.1/7\"", "wireguard.address");
	reject_with("wireguard.address", "\"10.0.0.0/24\"",
		    "wireguard.address");
	reject_with("wireguard.address", "\"10.0.0.255/24\"",
		    "wireguard.address");
	reject_with("wireguard.address", "\"10.0.0.256/24\"",
		    "wireguard.address");
	reject_with("wireguard.address", "\"10.0.0.1/\"", "wireguard.address");
	reject_with("wireguard.address", "\"\"", "wireguard.address");
	reject_with("wireguard.address", "24", "wireguard.address");
}
END_TEST

START_TEST(test_listen_port)
{
	reject_with("wireguard.listen_port", "0", "wireguard.listen_port");
	reject_with("wireguard.listen_port", "65536", "wireguard.listen_port");
	reject_with("wireguard.listen_port", "\"51820\"",
		    "wireguard.listen_port");
	reject_with("wireguard.listen_port", "-1", "wireguard.listen_port");
	reject_with("wireguard.listen_port", "51820.5",
		    "wireguard.listen_port");
}
END_TEST

/* What to do about another program on one of our hooks. */
START_TEST(test_dataplane_foreign_programs)
{
	char *json;

	ck_assert_int_eq(parse(TU_EXAMPLE_CONFIG), 0);
	ck_assert(!cfg.dataplane.leave_foreign); /* default: replace */
	json = example_with("dataplane", "{\"foreign_programs\":\"leave\"}");
	ck_assert_int_eq(parse(json), 0);
	ck_assert(cfg.dataplane.leave_foreign);
	free(json);
	accept_with("dataplane", "{\"foreign_programs\":\"replace\"}");
	accept_with("dataplane", "{}");
	reject_with("dataplane", "{\"foreign_programs\":\"sometimes\"}",
		    "dataplane.foreign_programs");
	reject_with("dataplane", "{\"foreign_programs\":true}",
		    "dataplane.foreign_programs");
	reject_with("dataplane", "{\"other\":1}", "dataplane.other");
	reject_with("dataplane", "\"replace\"", "dataplane");
}
END_TEST

START_TEST(test_bridge_allowed_sources)
{
	ck_assert_int_eq(parse("{\"cell_name\": \"c\", \"domain\": \"c.cell\", "
			       "\"wireguard\": {\"address\": \"10.0.0.1/24\"}, "
			       "\"bridge\": {\"interface\": \"br0\"}}"),
			 0);
	ck_assert(cfg.bridge.anti_spoofing); /* default: on */
	ck_assert_uint_eq(cfg.bridge.n_allowed_sources, 0);
	ck_assert_int_eq(parse("{\"cell_name\": \"c\", \"domain\": \"c.cell\", "
			       "\"wireguard\": {\"address\": \"10.0.0.1/24\"}, "
			       "\"bridge\": {\"interface\": \"br0\", "
			       "\"anti_spoofing\": false, \"allowed_sources\": "
			       "[\"172.20.0.50\", \"172.20.0.64/28\"]}}"),
			 0);
	ck_assert(!cfg.bridge.anti_spoofing);
	ck_assert_uint_eq(cfg.bridge.n_allowed_sources, 2);
	ck_assert_uint_eq(cfg.bridge.allowed_sources[0].prefix, 32);
	ck_assert_uint_eq(cfg.bridge.allowed_sources[1].prefix, 28);
	/* IPv6 entries go to their own list, in order. */
	ck_assert_int_eq(parse("{\"cell_name\": \"c\", \"domain\": \"c.cell\", "
			       "\"wireguard\": {\"address\": \"10.0.0.1/24\"}, "
			       "\"bridge\": {\"interface\": \"br0\", "
			       "\"allowed_sources\": [\"fd20::50\", "
			       "\"172.20.0.50\", \"fd21::/64\"]}}"),
			 0);
	ck_assert_uint_eq(cfg.bridge.n_allowed_sources, 1);
	ck_assert_uint_eq(cfg.bridge.n_allowed_sources6, 2);
	ck_assert_uint_eq(cfg.bridge.allowed_sources6[0].prefix, 128);
	ck_assert_uint_eq(cfg.bridge.allowed_sources6[1].prefix, 64);
	reject_with(
		"bridge",
		"{\"interface\":\"br0\",\"allowed_sources\":[\"fd21::1/64\"]}",
		"bridge.allowed_sources[0]");
	reject_with("bridge",
		    "{\"interface\":\"br0\",\"allowed_sources\":[\"x\"]}",
		    "bridge.allowed_sources[0]");
	reject_with("bridge",
		    "{\"interface\":\"br0\",\"allowed_sources\":"
		    "[\"1.2.3.4\",\"172.20.0.65/28\"]}",
		    "bridge.allowed_sources[1]");
	reject_with("bridge",
		    "{\"interface\":\"br0\",\"allowed_sources\":\"1.2.3.4\"}",
		    "bridge.allowed_sources");
	reject_with("bridge", "{\"interface\":\"br0\",\"anti_spoofing\":1}",
		    "bridge.anti_spoofing");
}
END_TEST

START_TEST(test_bad_endpoint)
{
	reject_with("wireguard.endpoint", "\"198.51.100.7\"",
		    "wireguard.endpoint");
	reject_with("wireguard.endpoint", "\"198.51.100.7:\"",
		    "wireguard.endpoint");
	reject_with("wireguard.endpoint", "\":51820\"", "wireguard.endpoint");
	reject_with("wireguard.endpoint", "\"198.51.100.7:0\"",
		    "wireguard.endpoint");
	reject_with("wireguard.endpoint", "\"198.51.100.7:65536\"",
		    "wireguard.endpoint");
	reject_with("wireguard.endpoint", "\"198.51.100.7:51820x\"",
		    "wireguard.endpoint");
	reject_with("wireguard.endpoint", "\"198.51.100.7: 51820\"",
		    "wireguard.endpoint");
	reject_with("wireguard.endpoint", "51820", "wireguard.endpoint");
	/* The host goes into client configs: names and addresses only. */
	reject_with("wireguard.endpoint", "\"vpn example.org:51820\"",
		    "wireguard.endpoint");
	reject_with("wireguard.endpoint", "\"vpn\\nDNS = 1.1.1.1:51820\"",
		    "wireguard.endpoint");
	reject_with("wireguard.endpoint", "\"-vpn.example.org:51820\"",
		    "wireguard.endpoint");
}
END_TEST

START_TEST(test_relative_paths)
{
	reject_with("wireguard.private_key_file", "\"wg.key\"",
		    "wireguard.private_key_file");
	reject_with("wireguard.private_key_file", "\"\"",
		    "wireguard.private_key_file");
	reject_with("api.token_file", "\"./api.token\"", "api.token_file");
	reject_with("state_dir", "\"var/lib/cellgate\"", "state_dir");
	reject_with("bpffs", "\"sys/fs/bpf\"", "bpffs");
}
END_TEST

START_TEST(test_api_listen)
{
	reject_with("api.listen", "\"localhost:8470\"", "api.listen");
	reject_with("api.listen", "\"127.0.0.1\"", "api.listen");
	reject_with("api.listen", "\"127.0.0.1:0\"", "api.listen");
	reject_with("api.listen", "\"127.0.0.1:70000\"", "api.listen");
	reject_with("api.listen", "\"[::1]:8470\"", "api.listen");
	reject_with("api.listen", "\":8470\"", "api.listen");
	reject_with("api.listen", "8470", "api.listen");
}
END_TEST

/* join.listen takes IPv4:port or [IPv6]:port (a device may join over
 * IPv6); anything else is a 400 naming it. */
START_TEST(test_join_listen)
{
	struct in6_addr any6 = IN6ADDR_ANY_INIT;

	accept_with("join.listen", "\"0.0.0.0:8473\"");
	ck_assert(cfg.join.enabled && !cfg.join.listen_v6);
	ck_assert_uint_eq(cfg.join.listen_port, 8473);
	accept_with("join.listen", "\"[::]:8474\"");
	ck_assert(cfg.join.listen_v6);
	ck_assert(IN6_ARE_ADDR_EQUAL(&cfg.join.listen_addr6, &any6));
	ck_assert_uint_eq(cfg.join.listen_port, 8474);
	reject_with("join.listen", "\"[zz]:8473\"", "join.listen");
	reject_with("join.listen", "\"[::1]\"", "join.listen");
	reject_with("join.listen", "\"::1:8473\"", "join.listen");
	reject_with("join.listen", "\"[]:8473\"", "join.listen");
}
END_TEST

START_TEST(test_cell_name)
{
	char name[80], value[96];

	reject_with("cell_name", "\"my cell\"", "cell_name");
	reject_with("cell_name", "\"\"", "cell_name");
	reject_with("cell_name", "\"a/b\"", "cell_name");
	memset(name, 'n', 65);
	name[65] = '\0';
	snprintf(value, sizeof(value), "\"%s\"", name);
	reject_with("cell_name", value, "cell_name");
	name[64] = '\0';
	snprintf(value, sizeof(value), "\"%s\"", name);
	accept_with("cell_name", value);
	ck_assert_str_eq(cfg.cell_name, name);
}
END_TEST

START_TEST(test_domain)
{
	reject_with("domain", "\"\"", "domain");
	reject_with("domain", "\"home cell\"", "domain");
	reject_with("domain", "\"home/cell\"", "domain");
}
END_TEST

START_TEST(test_interfaces)
{
	reject_with("wireguard.interface", "\"\"", "wireguard.interface");
	reject_with("wireguard.interface", "\"wg 0\"", "wireguard.interface");
	reject_with("wireguard.interface", "\"abcdefghijklmnop\"",
		    "wireguard.interface");
	accept_with("wireguard.interface", "\"abcdefghijklmno\"");
	reject_with("bridge.interface", "\"br/0\"", "bridge.interface");
	reject_with("uplink.interface", "\"\"", "uplink.interface");
}
END_TEST

START_TEST(test_identical_interfaces)
{
	reject_with("bridge.interface", "\"wg0\"", "bridge.interface");
	ck_assert_ptr_nonnull(strstr(err.msg, "differ"));
	reject_with("uplink.interface", "\"wg0\"", "uplink.interface");
	reject_with("uplink.interface", "\"br-cell\"", "uplink.interface");
	reject_with("wireguard.interface", "\"eth0\"", "uplink.interface");
}
END_TEST

START_TEST(test_bridge_subnet)
{
	reject_with("bridge.subnet", "\"172.20.0.1/16\"", "bridge.subnet");
	reject_with("bridge.subnet", "\"172.20.0.0\"", "bridge.subnet");
	reject_with("bridge.subnet", "\"172.20.0.0/33\"", "bridge.subnet");
	/* Overlaps with the WireGuard subnet, in both directions. */
	reject_with("bridge.subnet", "\"10.0.0.0/16\"", "bridge.subnet");
	ck_assert_ptr_nonnull(strstr(err.msg, "overlaps"));
	reject_with("bridge.subnet", "\"10.0.0.128/25\"", "bridge.subnet");
	reject_with("bridge.subnet", "\"10.0.0.0/24\"", "bridge.subnet");
	accept_with("bridge.subnet", "\"10.0.1.0/24\"");
	ck_assert(cfg.bridge.has_subnet);
	ck_assert_uint_eq(cfg.bridge.subnet.addr.s_addr, ip("10.0.1.0"));
}
END_TEST

START_TEST(test_local_networks)
{
	reject_with("local_networks", "[\"192.168.1.1/24\"]",
		    "local_networks[0]");
	reject_with("local_networks", "[\"192.168.1.0/24\", \"x\"]",
		    "local_networks[1]");
	/* Overlapping the WireGuard subnet. */
	reject_with("local_networks", "[\"192.168.1.0/24\", \"10.0.0.0/8\"]",
		    "local_networks[1]");
	ck_assert_ptr_nonnull(strstr(err.msg, "overlaps"));
	reject_with("local_networks", "[\"10.0.0.64/26\"]",
		    "local_networks[0]");
	/* Overlapping each other. */
	reject_with("local_networks",
		    "[\"192.168.0.0/16\", \"192.168.1.0/24\"]",
		    "local_networks[1]");
	reject_with("local_networks",
		    "[\"192.168.1.0/24\", \"192.168.1.0/24\"]",
		    "local_networks[1]");
	/* Overlapping the bridge subnet. */
	{
		json_object *root = tu_json(TU_EXAMPLE_CONFIG), *br;

		json_object_object_get_ex(root, "bridge", &br);
		json_object_object_add(br, "subnet",
				       json_object_new_string("172.20.0.0/16"));
		json_object_object_add(
			root, "local_networks",
			json_tokener_parse("[\"172.20.5.0/24\"]"));
		reject(json_object_to_json_string(root), "local_networks[0]");
		json_object_put(root);
	}
	/* At most CG_MAX_LOCAL_NETS. */
	{
		char list[1024] = "[";
		int i;

		for (i = 0; i <= CG_MAX_LOCAL_NETS; i++)
			snprintf(list + strlen(list),
				 sizeof(list) - strlen(list),
				 "%s\"192.168.%d.0/24\"", i ? "," : "", i);
		strcat(list, "]");
		reject_with("local_networks", list, "local_networks");
	}
	accept_with("local_networks", "[]");
	ck_assert_uint_eq(cfg.n_local_networks, 0);
}
END_TEST

START_TEST(test_log_level)
{
	reject_with("log_level", "\"verbose\"", "log_level");
	reject_with("log_level", "\"INFO\"", "log_level");
	reject_with("log_level", "\"\"", "log_level");
	reject_with("log_level", "\"debugging\"", "log_level");
	accept_with("log_level", "\"error\"");
	ck_assert_str_eq(cfg.log_level, "error");
	accept_with("log_level", "\"warn\"");
	ck_assert_str_eq(cfg.log_level, "warn");
}
END_TEST

START_TEST(test_limits)
{
	reject_with("limits.max_peers", "15", "limits.max_peers");
	reject_with("limits.max_peers", "1048577", "limits.max_peers");
	reject_with("limits.max_peers", "0", "limits.max_peers");
	reject_with("limits.max_peers", "\"100\"", "limits.max_peers");
	reject_with("limits.conntrack_tcp", "1023", "limits.conntrack_tcp");
	reject_with("limits.conntrack_tcp", "16777217", "limits.conntrack_tcp");
	reject_with("limits.conntrack_other", "1023", "limits.conntrack_other");
	reject_with("limits.conntrack_other", "16777217",
		    "limits.conntrack_other");
	reject_with("limits.conntrack_other", "-5", "limits.conntrack_other");
	/* Only the given limits change. */
	accept_with("limits.max_peers", "16");
	ck_assert_uint_eq(cfg.limits.max_peers, 16);
	ck_assert_uint_eq(cfg.limits.conntrack_tcp, 65536);
	ck_assert_uint_eq(cfg.limits.conntrack_other, 32768);
}
END_TEST

/* metrics.per_peer_limit: a count (default 1000); "metrics" without
 * "listen" is a limit alone, no listener. */
START_TEST(test_metrics_per_peer_limit)
{
	ck_assert_int_eq(parse(TU_EXAMPLE_CONFIG), 0);
	ck_assert_uint_eq(cfg.metrics.per_peer_limit, 1000);
	ck_assert(!cfg.metrics.enabled);
	accept_with("metrics", "{\"per_peer_limit\": 20000}");
	ck_assert_uint_eq(cfg.metrics.per_peer_limit, 20000);
	ck_assert(!cfg.metrics.enabled);
	accept_with("metrics",
		    "{\"listen\": \"127.0.0.1:9470\", \"per_peer_limit\": 0}");
	ck_assert_uint_eq(cfg.metrics.per_peer_limit, 0);
	ck_assert(cfg.metrics.enabled);
	ck_assert_uint_eq(cfg.metrics.listen_port, 9470);
	reject_with("metrics", "{\"per_peer_limit\": -1}",
		    "metrics.per_peer_limit");
	reject_with("metrics", "{\"per_peer_limit\": \"5\"}",
		    "metrics.per_peer_limit");
	reject_with("metrics", "{\"per_peer_limit\": 4294967296}",
		    "metrics.per_peer_limit");
	reject_with("metrics", "{\"limit\": 5}", "metrics.limit");
}
END_TEST

/* conntrack.per_peer_max: 1/8 of both tables unless given; 0
 * turns the flow budget off. */
START_TEST(test_conntrack_per_peer_max)
{
	ck_assert_int_eq(parse(TU_EXAMPLE_CONFIG), 0);
	ck_assert_uint_eq(
		cfg.conntrack.per_peer_max,
		(cfg.limits.conntrack_tcp + cfg.limits.conntrack_other) / 8);
	accept_with("limits.conntrack_other", "4096");
	ck_assert_uint_eq(cfg.conntrack.per_peer_max, (65536 + 4096) / 8);
	accept_with("conntrack", "{\"per_peer_max\": 0}");
	ck_assert_uint_eq(cfg.conntrack.per_peer_max, 0);
	accept_with("conntrack", "{\"per_peer_max\": 300}");
	ck_assert_uint_eq(cfg.conntrack.per_peer_max, 300);
	accept_with("conntrack", "{}");
	reject_with("conntrack", "{\"per_peer_max\": -1}",
		    "conntrack.per_peer_max");
	reject_with("conntrack", "{\"per_peer_max\": \"5\"}",
		    "conntrack.per_peer_max");
	reject_with("conntrack", "{\"per_peer_max\": 16777217}",
		    "conntrack.per_peer_max");
	reject_with("conntrack", "{\"max\": 5}", "conntrack.max");
	reject_with("conntrack", "5", "conntrack");
}
END_TEST

START_TEST(test_config_load)
{
	char *dir = tu_mkdtemp();
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/cellgate.json", dir);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(config_load(path, &cfg, &err), -ENOENT);
	ck_assert_int_eq(err.status, 400);
	ck_assert_ptr_nonnull(strstr(err.msg, path));

	tu_write(path, TU_EXAMPLE_CONFIG);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(config_load(path, &cfg, &err), 0);
	ck_assert_str_eq(cfg.path, path);
	ck_assert_str_eq(cfg.cell_name, "home");

	tu_write(path, "{\"cell_name\": \"home\"}");
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(config_load(path, &cfg, &err), -EINVAL);
	tu_assert_err(&err, 400, "domain");
	tu_rmtree(dir);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *ok = tcase_create("valid");
	TCase *bad = tcase_create("invalid");

	tcase_add_test(ok, test_example_parses);
	tcase_add_test(ok, test_shipped_example);
	tcase_add_test(ok, test_minimal_config_defaults);
	tcase_add_test(ok, test_api_listen_without_token_file);
	tcase_add_test(ok, test_optional_fields_given);
	tcase_add_test(ok, test_config_load);
	tcase_add_test(bad, test_malformed_json);
	tcase_add_test(bad, test_trailing_garbage);
	tcase_add_test(bad, test_top_level_not_object);
	tcase_add_test(bad, test_unknown_fields);
	tcase_add_test(bad, test_missing_required);
	tcase_add_test(bad, test_wrong_types);
	tcase_add_test(bad, test_wireguard_address);
	tcase_add_test(bad, test_listen_port);
	tcase_add_test(bad, test_bad_endpoint);
	tcase_add_test(bad, test_relative_paths);
	tcase_add_test(bad, test_api_listen);
	tcase_add_test(bad, test_join_listen);
	tcase_add_test(bad, test_cell_name);
	tcase_add_test(bad, test_domain);
	tcase_add_test(bad, test_interfaces);
	tcase_add_test(bad, test_identical_interfaces);
	tcase_add_test(bad, test_bridge_subnet);
	tcase_add_test(bad, test_local_networks);
	tcase_add_test(bad, test_log_level);
	tcase_add_test(bad, test_limits);
	tcase_add_test(bad, test_metrics_per_peer_limit);
	tcase_add_test(bad, test_conntrack_per_peer_max);
	tcase_add_test(bad, test_dataplane_foreign_programs);
	tcase_add_test(bad, test_bridge_allowed_sources);
	suite_add_tcase(s, ok);
	suite_add_tcase(s, bad);
	return s;
}

int main(void)
{
	return tu_run(config_suite());
}
