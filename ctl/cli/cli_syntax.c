// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_syntax.h"
#include "util.h"

/* A port, 1..65535, digits only (no sign, no spaces, no hex). */
static bool parse_port(const char *s, int *port)
{
	long v = 0;

	if (!*s || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
		return false;
	v = strtol(s, NULL, 10);
	if (v < 1 || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

static bool parse_ip(const char *s)
{
	struct in_addr a;

	return parse_ipv4(s, &a);
}

/* An endpoint's address may be IPv6 (fd20::80/tcp:443: the address
 * ends at the '/'); the controller says whether the cell takes it. */
static bool parse_endpoint_ip(const char *s)
{
	struct in6_addr a6;

	return parse_ip(s) || parse_ipv6(s, &a6);
}

json_object *syntax_endpoint(const char *s, char *why, size_t why_len)
{
	char buf[64], *proto, *port_s;
	json_object *ep;
	uint8_t p;
	int port = 0;

	if (strlen(s) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", s);
	proto = strchr(buf, '/');
	if (!proto)
		goto bad;
	*proto++ = '\0';
	port_s = strchr(proto, ':');
	if (port_s)
		*port_s++ = '\0';
	if (!parse_endpoint_ip(buf) || !parse_proto(proto, &p))
		goto bad;
	if (port_s && (p == 0 || p == IPPROTO_ICMP)) {
		snprintf(why, why_len,
			 "endpoint '%s': no port with %s (it covers every "
			 "port)",
			 s, proto);
		return NULL;
	}
	if (port_s && !parse_port(port_s, &port))
		goto bad;
	ep = json_object_new_object();
	json_object_object_add(ep, "ip", json_object_new_string(buf));
	json_object_object_add(ep, "proto", json_object_new_string(proto));
	if (port)
		json_object_object_add(ep, "port", json_object_new_int(port));
	return ep;
bad:
	snprintf(why, why_len,
		 "endpoint '%s' is not IP/PROTO[:PORT] with PROTO tcp, udp, "
		 "icmp or any (e.g. 172.20.0.21/tcp:80)",
		 s);
	return NULL;
}

/* TO_IP:TO_PORT of a dnat, in place: an IPv6 TO_IP in brackets
 * ([fd20::10]:3000, exposed on the wg address6). */
static bool split_target(char *s, char **ip, char **port)
{
	struct in6_addr a6;
	char *end;

	if (*s != '[') {
		*ip = s;
		*port = strchr(s, ':');
		if (!*port)
			return false;
		*(*port)++ = '\0';
		return parse_ip(*ip);
	}
	end = strchr(s, ']');
	if (!end || end[1] != ':')
		return false;
	*end = '\0';
	*ip = s + 1;
	*port = end + 2;
	return parse_ipv6(*ip, &a6);
}

json_object *syntax_dnat(const char *s, char *why, size_t why_len)
{
	char buf[80], *part[3], *ip, *to_port_s;
	int port, to_port;
	json_object *d;

	if (strlen(s) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", s);
	part[0] = buf;
	part[1] = strchr(buf, ':');
	part[2] = part[1] ? strchr(part[1] + 1, ':') : NULL;
	if (!part[2])
		goto bad;
	*part[1]++ = '\0';
	*part[2]++ = '\0';
	if ((strcmp(part[0], "tcp") && strcmp(part[0], "udp")) ||
	    !parse_port(part[1], &port) ||
	    !split_target(part[2], &ip, &to_port_s) ||
	    !parse_port(to_port_s, &to_port))
		goto bad;
	part[2] = ip;
	d = json_object_new_object();
	json_object_object_add(d, "proto", json_object_new_string(part[0]));
	json_object_object_add(d, "port", json_object_new_int(port));
	json_object_object_add(d, "to_ip", json_object_new_string(part[2]));
	json_object_object_add(d, "to_port", json_object_new_int(to_port));
	return d;
bad:
	snprintf(why, why_len,
		 "dnat '%s' is not PROTO:PORT:TO_IP:TO_PORT with PROTO tcp or "
		 "udp (e.g. tcp:8080:172.20.0.21:80, tcp:8080:[fd20::21]:80)",
		 s);
	return NULL;
}

json_object *syntax_names(const char *s, char *why, size_t why_len)
{
	json_object *arr = json_object_new_array();
	const char *p = s;

	for (;;) {
		size_t n = strcspn(p, ",");
		char name[CG_NAME_MAX + 1];

		if (n == 0 || n > CG_NAME_MAX)
			goto bad;
		memcpy(name, p, n);
		name[n] = '\0';
		if (!valid_name(name))
			goto bad;
		json_object_array_add(arr, json_object_new_string(name));
		if (!p[n])
			return arr;
		p += n + 1;
	}
bad:
	snprintf(why, why_len,
		 "'%s' is not a comma-separated list of names "
		 "([A-Za-z0-9_.-]{1,64} each)",
		 s);
	json_object_put(arr);
	return NULL;
}

bool syntax_on_off(const char *s, bool *on)
{
	if (!strcmp(s, "on"))
		*on = true;
	else if (!strcmp(s, "off"))
		*on = false;
	else
		return false;
	return true;
}

static const char *member_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "?";
	return json_object_get_string(v);
}

static int member_int(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	return json_object_get_int(v);
}

void syntax_fmt_endpoint(json_object *ep, char *buf, size_t len)
{
	int port = member_int(ep, "port");

	if (port)
		snprintf(buf, len, "%s/%s:%d", member_str(ep, "ip"),
			 member_str(ep, "proto"), port);
	else
		snprintf(buf, len, "%s/%s", member_str(ep, "ip"),
			 member_str(ep, "proto"));
}

void syntax_fmt_dnat(json_object *d, char *buf, size_t len)
{
	const char *ip = member_str(d, "to_ip");
	bool v6 = strchr(ip, ':') != NULL;

	snprintf(buf, len, "%s:%d:%s%s%s:%d", member_str(d, "proto"),
		 member_int(d, "port"), v6 ? "[" : "", ip, v6 ? "]" : "",
		 member_int(d, "to_port"));
}
