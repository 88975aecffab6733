#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Inputs of the benchmarks for N peers (tests/bench/run.sh), on stdout.

  gen.py pic-rules N WG UPLINK BRIDGE   iptables-restore input, PIC's way
  gen.py pic-lines N WG UPLINK BRIDGE   the same rules as `iptables` args,
                                        one per line (for per-rule -A)
  gen.py ipset N WG UPLINK BRIDGE       `ipset restore` input, then a line
                                        "COMMIT-IPSET", then the few
                                        iptables-restore rules using them
  gen.py wg-conf N TESTED_PUB PRIVKEY   a `wg setconf` file with N peers
  gen.py state N TESTED_PUB             cellgate's state.json with N peers
  gen.py curl-posts N URL TOKEN         a `curl -K` config: N POST /api/peers
  gen.py import N TESTED_PUB            a POST /api/peers/import body of N
  gen.py curl-puts K URL TOKEN          a `curl -K` config: K PUTs of one
                                        peer's service_access, alternately
                                        revoking and granting, each
                                        printing its time in seconds

Every generator lays the peers out alike: peer i is "p<i>" at 10.0.0.2 + i
(the WireGuard subnet is 10.0.0.0/15: 131070 addresses), with the service
"calendar" (172.20.0.21) and internet access; the peer the traffic comes
from is the last one, p<N-1>, so a linear rule list is walked to its end.
Its public key is TESTED_PUB (a real key pair, for the WireGuard client);
the others get random keys.
"""
import base64
import os
import sys

BASE = (10 << 24) + 2  # 10.0.0.2: .1 is the router
CALENDAR = "172.20.0.21"
API_BACKEND = "172.20.0.10"  # PIC's cell-api behind the wg address :3000
FWD_PORT = 9100  # the port forward of items 2 and 4
CELL_SUBNET = "10.9.0.0/24"  # one linked cell, outside the peers' /15


def ip(i):
    a = BASE + i
    return "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)


def rand_key():
    return base64.b64encode(os.urandom(32)).decode()


def pic_filter(n, wg, uplink):
    """PIC's FORWARD rules as its firewall_manager tags them: per peer, one
    ACCEPT per service it may use and one for the internet, then a DROP
    for the rest of what it sends (comment pic-peer-<name>); per linked
    cell the same with pic-cell-<name>. The conntrack shortcut comes
    first, as PIC's edge gateway restores it: only the first packet of a
    flow walks the list. The port forward's ACCEPT is appended after
    everything, as the edge gateway's agent does (-A)."""
    yield "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    tag = "-m comment --comment pic-cell-office"
    yield "-A FORWARD -i %s -s %s -d %s/32 %s -j ACCEPT" % (
        wg, CELL_SUBNET, CALENDAR, tag)
    yield "-A FORWARD -i %s -s %s %s -j DROP" % (wg, CELL_SUBNET, tag)
    for i in range(n):
        tag = "-m comment --comment pic-peer-p%d" % i
        src = "-i %s -s %s/32" % (wg, ip(i))
        yield "-A FORWARD %s -d %s/32 %s -j ACCEPT" % (src, CALENDAR, tag)
        yield "-A FORWARD %s -o %s %s -j ACCEPT" % (src, uplink, tag)
        yield "-A FORWARD %s %s -j DROP" % (src, tag)
    yield ("-A FORWARD -p tcp -d %s --dport %d -m comment --comment "
           "pic-fwd-bench -j ACCEPT" % (CALENDAR, FWD_PORT))


def pic_nat(wg, uplink, bridge):
    """PIC's NAT: DNAT of wg0:3000 to cell-api with a MASQUERADE for its
    reply path (ensure_cell_api_dnat), MASQUERADE of peers to the internet,
    and the edge gateway's forward (DNAT on the uplink)."""
    yield "-A PREROUTING -i %s -p tcp --dport 3000 -j DNAT " \
        "--to-destination %s:3000" % (wg, API_BACKEND)
    yield "-A PREROUTING -i %s -p tcp --dport %d -j DNAT " \
        "--to-destination %s:%d" % (uplink, FWD_PORT, CALENDAR, FWD_PORT)
    yield "-A POSTROUTING -o %s -d %s -p tcp --dport 3000 -j MASQUERADE" % (
        bridge, API_BACKEND)
    yield "-A POSTROUTING -s 10.0.0.0/15 -o %s -j MASQUERADE" % uplink


def restore_file(filter_rules, nat_rules):
    out = ["*filter"]
    out += list(filter_rules)
    out += ["COMMIT", "*nat"]
    out += list(nat_rules)
    out += ["COMMIT"]
    return "\n".join(out) + "\n"


def ipset_filter(wg, uplink):
    """The same policy with sets: one set of peers per service, one for
    internet access, one of all peers; a constant number of rules."""
    yield "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    yield "-A FORWARD -i %s -d %s/32 -m set --match-set pic-svc-calendar " \
        "src -j ACCEPT" % (wg, CALENDAR)
    yield "-A FORWARD -i %s -o %s -m set --match-set pic-internet src " \
        "-j ACCEPT" % (wg, uplink)
    yield "-A FORWARD -i %s -m set --match-set pic-peers src -j DROP" % wg
    yield "-A FORWARD -i %s -s %s -d %s/32 -j ACCEPT" % (wg, CELL_SUBNET,
                                                        CALENDAR)
    yield "-A FORWARD -i %s -s %s -j DROP" % (wg, CELL_SUBNET)
    yield "-A FORWARD -p tcp -d %s --dport %d -j ACCEPT" % (CALENDAR,
                                                            FWD_PORT)


def ipset_sets(n):
    # maxelem: ipset's default (65536) is too small for 100k peers.
    maxelem = max(65536, n)
    for s in ("pic-svc-calendar", "pic-internet", "pic-peers"):
        yield "create %s hash:ip family inet maxelem %d" % (s, maxelem)
    for i in range(n):
        for s in ("pic-svc-calendar", "pic-internet", "pic-peers"):
            yield "add %s %s" % (s, ip(i))


def main(argv):
    cmd, n = argv[1], int(argv[2])
    w = sys.stdout.write
    if cmd in ("pic-rules", "pic-lines", "ipset"):
        wg, uplink, bridge = argv[3], argv[4], argv[5]
        if cmd == "pic-rules":
            w(restore_file(pic_filter(n, wg, uplink),
                           pic_nat(wg, uplink, bridge)))
        elif cmd == "pic-lines":
            for r in pic_filter(n, wg, uplink):
                w(r + "\n")
            for r in pic_nat(wg, uplink, bridge):
                w("-t nat " + r + "\n")
        else:
            w("\n".join(ipset_sets(n)) + "\nCOMMIT-IPSET\n")
            w(restore_file(ipset_filter(wg, uplink),
                           pic_nat(wg, uplink, bridge)))
    elif cmd == "wg-conf":
        tested, priv = argv[3], argv[4]
        w("[Interface]\nPrivateKey = %s\nListenPort = 51820\n" % priv)
        for i in range(n):
            key = tested if i == n - 1 else rand_key()
            w("[Peer]\nPublicKey = %s\nAllowedIPs = %s/32\n" % (key, ip(i)))
    elif cmd == "state":
        tested = argv[3]
        w('{"version": 1,\n "services": [{"name": "calendar", "id": 0, '
          '"endpoints": [{"ip": "%s", "proto": "any", "port": 0}], '
          '"dnat": []}],\n "peers": [\n' % CALENDAR)
        for i in range(n):
            key = tested if i == n - 1 else rand_key()
            w('  {"name": "p%d", "id": %d, "public_key": "%s", "ip": "%s", '
              '"service_access": ["calendar"], "internet_access": true, '
              '"peer_to_peer": false}%s\n'
              % (i, i + 1, key, ip(i), "," if i < n - 1 else ""))
        w(' ],\n "forwards": [], "cells": [], "invites": []}\n')
    elif cmd == "import":
        tested = argv[3]
        w('{"peers": [\n')
        for i in range(n):
            key = tested if i == n - 1 else rand_key()
            w('  {"name": "p%d", "public_key": "%s", "ip": "%s", '
              '"service_access": ["calendar"], "internet_access": true}%s\n'
              % (i, key, ip(i), "," if i < n - 1 else ""))
        w(']}\n')
    elif cmd == "curl-puts":
        url, token = argv[3], argv[4]
        for i in range(n):
            if i:
                w("next\n")
            w('url = "%s"\nrequest = "PUT"\n' % url)
            w('header = "Authorization: Bearer %s"\n' % token)
            w('header = "Content-Type: application/json"\n')
            w('data = "{\\"service_access\\":[%s]}"\n'
              % ("" if i % 2 == 0 else '\\"calendar\\"'))
            w('write-out = "%{http_code} %{time_total}\\n"\n'
              'output = "/dev/null"\n')
    elif cmd == "curl-posts":
        url, token = argv[3], argv[4]
        for i in range(n):
            if i:
                w("next\n")
            w('url = "%s"\nrequest = "POST"\n' % url)
            w('header = "Authorization: Bearer %s"\n' % token)
            w('header = "Content-Type: application/json"\n')
            w('data = "{\\"name\\":\\"p%d\\",\\"public_key\\":\\"%s\\",'
              '\\"ip\\":\\"%s\\",\\"service_access\\":[\\"calendar\\"],'
              '\\"internet_access\\":true}"\n' % (i, rand_key(), ip(i)))
            w('write-out = "%{http_code}\\n"\noutput = "/dev/null"\n')
    else:
        sys.exit("gen.py: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
