#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The report of tests/bench/run.sh: docs/BENCHMARKS.md and its plots
(docs/bench/*.png, with gnuplot), or with --headline the headline ratios
on stdout, the last line "name=ratio ...".

Input: RESULTS/*.tsv, rows "item competitor N run metric value" (value
"NA" when a figure could not be measured), and RESULTS/machine.tsv.
Every figure is the median of its runs with the spread (min-max) beside
it; item 1's ratios are taken per run (against the reference programs of
the same run) and their medians reported.
"""
import argparse
import collections
import os
import statistics
import subprocess
import sys

COMPETITORS = ["none", "iptables", "ipset", "cellgate"]
# Control rows over wireguard-go only (run.sh): where the path's time goes.
CONTROLS = ["cg_detached", "cg_stopped", "cg_nofilter"]
COMP_LABEL = {
    "cg_detached": "control: cellgate running, programs detached",
    "cg_stopped": "control: programs attached, controller stopped",
    "cg_nofilter": "control: cellgate's wireguard-go, no filter",
    "none": "no filter",
    "iptables": "iptables (PIC)",
    "ipset": "ipset",
    "cellgate": "cellgate",
    "wireguard-go": "wireguard-go",
}
PROG_PATHS = [
    ("wg_ingress", "est", "wg0 ingress, established (peer -> service)"),
    ("wg_ingress", "new", "wg0 ingress, new allowed flow"),
    ("wg_ingress", "denied", "wg0 ingress, denied (service_denied)"),
    ("wg_ingress", "p2p_new",
     "wg0 ingress, new peer-to-peer flow allowed by both flags"),
    ("wg_ingress", "rule_new",
     "wg0 ingress, new peer-to-peer flow allowed by a rule (1k rules)"),
    ("wg_ingress", "dnat_est",
     "wg0 ingress, established to a service on the wg address (DNAT)"),
    ("wg_egress", "est", "wg0 egress, established (service -> peer)"),
    ("wg_egress", "new", "wg0 egress, new flow from the bridge"),
    ("wg_egress", "denied", "wg0 egress, denied (unsolicited)"),
    ("wg_egress", "dnat_est", "wg0 egress, DNAT reply (service -> peer)"),
    ("uplink_xdp", "est", "uplink XDP, masqueraded reply (rewrite)"),
    ("uplink_xdp", "new", "uplink XDP, new port-forward flow (DNAT)"),
    ("uplink_xdp", "denied", "uplink XDP, denied by allow_from"),
    ("uplink_egress", "est", "uplink egress, masqueraded (rewrite)"),
    ("uplink_egress", "new", "uplink egress, new masqueraded flow"),
    ("wg_ingress", "est6", "wg0 ingress, established, IPv6"),
    ("wg_ingress", "new6", "wg0 ingress, new allowed flow, IPv6"),
    ("wg_ingress", "denied6", "wg0 ingress, denied, IPv6"),
    ("wg_egress", "est6", "wg0 egress, established, IPv6"),
    ("wg_egress", "new6", "wg0 egress, new flow from the bridge, IPv6"),
    ("wg_egress", "denied6", "wg0 egress, denied (unsolicited), IPv6"),
    ("uplink_xdp", "est6", "uplink XDP, NAT66 reply (rewrite)"),
    ("uplink_egress", "est6", "uplink egress, NAT66 (rewrite)"),
    ("uplink_egress", "new6", "uplink egress, new NAT66 flow"),
]
# Paths timed one packet per call (see tests/bench/prog_bench.c).
SINGLE_TIMED = {("wg_ingress", "new6"), ("wg_egress", "new6"),
                ("wg_ingress", "new"), ("wg_egress", "new"),
                ("wg_ingress", "p2p_new"), ("wg_ingress", "rule_new"),
                ("wg_ingress", "dnat_est"), ("wg_egress", "dnat_est"),
                ("uplink_xdp", "new"), ("uplink_xdp", "est"),
                ("uplink_egress", "new"), ("uplink_egress", "est"),
                ("uplink_xdp", "est6"), ("uplink_egress", "new6"),
                ("uplink_egress", "est6")}


def load(results):
    rows = collections.defaultdict(list)
    for name in sorted(os.listdir(results)):
        if not name.endswith(".tsv") or name == "machine.tsv":
            continue
        with open(os.path.join(results, name)) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) != 6:
                    continue
                item, comp, n, run, metric, value = p
                if not run.isdigit():
                    # A figure taken once, at a named moment (item 5:
                    # "traffic", after the traffic runs).
                    metric = "%s@%s" % (metric, run)
                rows[(item, comp, int(n), metric)].append(value)
    machine = collections.OrderedDict()
    path = os.path.join(results, "machine.tsv")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("\t")
                machine[k] = v
    return rows, machine


def nums(vals):
    out = []
    for v in vals:
        try:
            out.append(float(v))
        except ValueError:
            pass
    return out


class Stat:
    def __init__(self, vals):
        self.v = nums(vals)
        self.raw = vals

    def ok(self):
        return bool(self.v)

    def med(self):
        return statistics.median(self.v) if self.v else None

    def lo(self):
        return min(self.v)

    def hi(self):
        return max(self.v)

    def pct(self, p):
        s = sorted(self.v)
        k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
        return s[k]


def stat(rows, item, comp, n, metric):
    return Stat(rows.get((item, comp, n, metric), []))


def fmt(x, digits=3):
    if x is None:
        return "n/a"
    if abs(x) >= 100:
        return "%.0f" % x
    return ("%%.%dg" % digits) % x


def cell(s, scale=1.0, digits=3):
    """median [min-max] of a Stat, scaled."""
    if not s.ok():
        return "n/a"
    m = s.med() / scale
    if len(s.v) == 1:
        return fmt(m, digits)
    return "%s [%s-%s]" % (fmt(m, digits), fmt(s.lo() / scale, digits),
                           fmt(s.hi() / scale, digits))


def n_label(n):
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


def ns_of(rows):
    return sorted({k[2] for k in rows})


def table(header, lines):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(["---"] * len(header)) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out) + "\n"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


# ---- headline ------------------------------------------------------------


def headline(rows):
    """The figures the README quotes, at the largest N that has them."""
    out = collections.OrderedDict()

    def at_largest(item, comp, metric):
        for n in reversed(ns_of(rows)):
            s = stat(rows, item, comp, n, metric)
            if s.ok():
                return n, s.med()
        return None, None

    for path, key in (("wg_ingress.est", "est_vs_lookup"),
                      ("wg_ingress.new", "new_vs_lookup"),
                      ("wg_ingress.denied", "denied_vs_lookup"),
                      ("wg_egress.est", "egress_est_vs_lookup")):
        out[key] = at_largest("prog", "cellgate", path + ".vs_lookup")
    out["est_vs_empty"] = at_largest("prog", "cellgate",
                                     "wg_ingress.est.vs_empty")
    for metric, tag in (("wg_tcp_bps", "wg_tput"), ("wg_udp_pps", "wg_pps"),
                        ("veth_tcp_bps", "veth_tput"),
                        ("veth_udp_pps", "veth_pps")):
        for comp in ("cellgate", "iptables", "ipset", "cg_nofilter"):
            for n in reversed(ns_of(rows)):
                a = stat(rows, "fwd", comp, n, metric).med()
                b = stat(rows, "fwd", "none", n, metric).med()
                if a is not None and b:
                    name = ("" if comp == "cellgate" else comp + "_") + \
                        tag + "_vs_nofilter"
                    out[name] = (n, a / b)
                    break
    # The same ratio from paired rounds (wg_pair.sh), full mode only.
    for comp in ("cellgate", "iptables", "ipset", "cg_nofilter"):
        name = ("" if comp == "cellgate" else comp + "_") + \
            "wg_pps_paired_vs_nofilter"
        out[name] = at_largest("fwd", comp, "wg_udp_pair_ratio")
    for metric, tag in (("masq_cps", "masq_conn_rate"),
                        ("fwd_cps", "fwd_conn_rate")):
        for n in reversed(ns_of(rows)):
            a = stat(rows, "conn", "cellgate", n, metric).med()
            b = stat(rows, "conn", "iptables", n, metric).med()
            if a is not None and b:
                out[tag + "_vs_iptables"] = (n, a / b)
                break
    for n in reversed(ns_of(rows)):
        a = stat(rows, "ctl", "cellgate", n, "bulk_s").med()
        b = stat(rows, "ctl", "iptables", n, "restore_s").med()
        if a is not None and b:
            out["bulk_install_s"] = (n, a)
            out["bulk_vs_iptables_restore"] = (n, a / b)
            break
    for n in reversed(ns_of(rows)):
        s = stat(rows, "ctl", "cellgate", n, "enforce_us")
        if s.ok():
            out["enforce_p99_ms"] = (n, s.pct(99) / 1000.0)
            break
    for n in reversed(ns_of(rows)):
        s = stat(rows, "mem", "cellgate", n, "rss_kib")
        if s.ok():
            out["rss_mib"] = (n, s.med() / 1024.0)
            break
    # The control plane at scale (task_api): one PUT's p99 at the largest
    # N against 10 peers, and the bulk import of 10k.
    small = stat(rows, "api", "cellgate", 10, "put_ms")
    for n in reversed(ns_of(rows)):
        s = stat(rows, "api", "cellgate", n, "put_ms")
        if n > 10 and s.ok() and small.ok():
            out["put_p99_ratio_big_vs_10"] = (n, s.pct(99) / small.pct(99))
            break
    s = stat(rows, "api", "cellgate", 10000, "import_s")
    out["import_10k_s"] = (10000, s.med() if s.ok() else None)
    b = stat(rows, "api", "iptables", 10000, "restore_s")
    out["import_10k_vs_iptables_restore"] = (
        10000, ratio(s.med(), b.med()) if s.ok() and b.ok() else None)
    return collections.OrderedDict(
        (k, v) for k, v in out.items() if v[1] is not None)


def print_headline(rows):
    h = headline(rows)
    for k, (n, v) in h.items():
        print("%-32s %8s   (N=%s)" % (k, fmt(v), n_label(n)))
    print(" ".join("%s=%s" % (k, fmt(v)) for k, (n, v) in h.items()))


# ---- plots -----------------------------------------------------------------


def gnuplot(script, datafiles, plots):
    for name, text in datafiles.items():
        with open(os.path.join(plots, name), "w") as f:
            f.write(text)
    p = subprocess.run(["gnuplot"], input=script, text=True, cwd=plots,
                       capture_output=True)
    if p.returncode:
        sys.exit("report: gnuplot failed:\n" + p.stderr)


# N from 10 to 100k on a log axis, a little margin on both sides; the
# legend under the plot, where it hides no point.
PLOT_HEAD = """set terminal pngcairo noenhanced size 900,600 font ",10"
set logscale x
set xrange [7:150000]
set xtics ("10" 10, "1k" 1000, "10k" 10000, "100k" 100000)
set grid
set key below left Left reverse
"""


def series(rows, item, comp, metric, scale=1.0):
    lines = []
    for n in ns_of(rows):
        s = stat(rows, item, comp, n, metric)
        if s.ok():
            lines.append("%d %g %g %g" % (n, s.med() / scale, s.lo() / scale,
                                         s.hi() / scale))
    return "\n".join(lines) + "\n"


def plot_all(rows, plots):
    os.makedirs(plots, exist_ok=True)
    made = []

    def one(png, title, ylabel, curves, logy=False):
        data, cmds = {}, []
        for i, (label, item, comp, metric, scale) in enumerate(curves):
            text = series(rows, item, comp, metric, scale)
            if text.strip():
                fname = "%s.%d.dat" % (png[:-4], i)
                data[fname] = text
                cmds.append('"%s" using 1:2:3:4 with yerrorlines title "%s"'
                            % (fname, label))
        if not cmds:
            return
        script = PLOT_HEAD + 'set output "%s"\nset title "%s"\n' \
            'set ylabel "%s"\nset xlabel "peers (N)"\n%s' \
            "plot %s\n" % (png, title, ylabel,
                           "set logscale y\n" if logy else "",
                           ", ".join(cmds))
        gnuplot(script, data, plots)
        for f in data:
            os.remove(os.path.join(plots, f))
        made.append(png)

    one("prog_cost.png", "Per-packet cost (BPF_PROG_TEST_RUN)", "ns per packet",
        [("empty program (tc)", "prog", "baseline", "empty_tc", 1),
         ("one hash lookup (tc)", "prog", "baseline", "lookup_tc", 1),
         ("wg ingress established", "prog", "cellgate", "wg_ingress.est", 1),
         ("wg ingress denied", "prog", "cellgate", "wg_ingress.denied", 1),
         ("wg ingress new flow", "prog", "cellgate", "wg_ingress.new", 1),
         ("wg egress established", "prog", "cellgate", "wg_egress.est", 1)],
        logy=True)
    for metric, title, ylabel, scale in (
            ("wg_tcp_bps", "TCP over wireguard-go (iperf3)", "Mbit/s", 1e6),
            ("wg_udp_pps", "UDP 64-byte datagrams over wireguard-go",
             "kpackets/s received", 1e3),
            ("veth_tcp_bps", "TCP over veth (filter cost alone)", "Mbit/s",
             1e6),
            ("veth_udp_pps", "UDP 64-byte datagrams over veth",
             "kpackets/s received", 1e3)):
        one("fwd_%s.png" % metric.rsplit("_", 1)[0], title, ylabel,
            [(COMP_LABEL[c], "fwd", c, metric, scale) for c in COMPETITORS])
    one("install.png", "Installing N peers", "seconds",
        [("iptables-restore (PIC rules)", "ctl", "iptables", "restore_s", 1),
         ("ipset restore + rules", "ctl", "ipset", "restore_s", 1),
         ("iptables -A per rule", "ctl", "iptables", "per_rule_s", 1),
         ("wg setconf (PIC's WireGuard)", "ctl", "none", "wg_setconf_s", 1),
         ("cellgate from its state (maps + WireGuard)", "ctl", "cellgate",
          "bulk_s", 1),
         ("cellgate POST /api/peers one by one", "ctl", "cellgate",
          "per_peer_s", 1)], logy=True)
    one("conn_rate.png", "Connection setup rate", "connections/s (log)",
        [("%s, masquerade" % COMP_LABEL[c], "conn", c, "masq_cps", 1)
         for c in COMPETITORS] +
        [("%s, port forward" % COMP_LABEL[c], "conn", c, "fwd_cps", 1)
         for c in COMPETITORS], logy=True)
    one("memory.png", "Controller memory", "MiB",
        [("cellgate RSS", "mem", "cellgate", "rss_kib", 1024),
         ("BPF maps (kernel accounting)", "mem", "cellgate", "map_bytes",
          1024 * 1024),
         ("wireguard-go RSS", "mem", "wireguard-go", "rss_kib", 1024)],
        logy=True)
    return made


# ---- the document -------------------------------------------------------------


def doc(rows, machine, made):
    ns = ns_of(rows)
    cols = ["N=" + n_label(n) for n in ns]
    out = []
    w = out.append
    w("# Benchmarks: cellgate against PIC's iptables\n\n")
    w("Generated by `make bench` (`tests/bench/run.sh full`, then "
      "`tests/bench/report.py`); do not edit by hand. Every figure is the "
      "median of %s runs with the spread [min-max] beside it; ratios of "
      "item 1 are taken within each run. Exceptions, said where they "
      "occur: the one-by-one installs run once (against a time budget), "
      "the enforcement latency gives percentiles over its changes. "
      "`n/a`: not measured (see the notes of the item).\n\n"
      % machine.get("runs", "?"))
    if machine.get("mode") != "full" or machine.get("n_list", "") != \
            "10 1000 10000 100000" or machine.get("runs") != "5":
        w("**Reduced run** (N = %s, %s run(s)): the full run "
          "(`make bench`: N = 10, 1k, 10k, 100k, 5 runs) replaces these "
          "figures.\n\n" % (machine.get("n_list"), machine.get("runs")))
    w("## Headline\n\n")
    h = headline(rows)
    w(table(["figure", "value", "at N"],
            [[k, fmt(v), n_label(n)] for k, (n, v) in h.items()]))
    w("\n`*_vs_nofilter`: throughput with the competitor installed over "
      "throughput with no filter at all, same N; `*_vs_iptables`: "
      "cellgate's rate over PIC iptables'; `est_vs_lookup`, "
      "`new_vs_lookup`, `denied_vs_lookup`: wg0 ingress per-packet cost "
      "over a program doing one hash lookup (targets 1.5, 4 and 3), "
      "`egress_est_vs_lookup` the same for wg0 egress (target 1.5).\n\n")

    w("## The machine and the commands\n\n")
    w(table(["", ""], [[k, v.replace("|", "\\|")]
                       for k, v in machine.items()]))
    w("\n```sh\nmake bench                               # everything "
      "below, about an hour\nBENCH_N=\"10 1000\" BENCH_RUNS=2 make bench "
      "  # a trial\nmake bench-quick                         # headline "
      "ratios, < 3 min\n```\n\n")
    w("`make bench` builds `build/cellgate`, `build/bench/prog_bench`, "
      "`build/bench/baseline.bpf.o` and `build/tests/conn_storm`, then "
      "runs `tests/bench/run.sh full`. Per N it runs, in network "
      "namespaces named `cgb-<tag>-*` that it removes afterwards:\n\n"
      "- `prog_bench --n N --runs R --repeat %s --single %s` (item 1);\n"
      "- `iptables-restore` / `ipset restore` of the rules `tests/bench/"
      "gen.py` writes, `iptables -A` rule by rule, `wg setconf`, "
      "`cellgate run` on a state file of N peers, `curl -K` of N `POST "
      "/api/peers` (item 3);\n"
      "- `iperf3 -c 172.20.0.21 -t %s -J` and `iperf3 -u -l 64 -b 0` "
      "(item 2), `conn_storm client IP PORT %s 60` (item 4) from a "
      "wireguard-go peer (or a veth client), with each competitor in the "
      "router namespace;\n"
      "- `prog_bench --probe` (enforcement latency, %s changes), "
      "`/proc/PID/status`, `GET /metrics` (items 3 and 5).\n\n"
      % (machine.get("repeat"), machine.get("single"),
         machine.get("iperf_seconds"), machine.get("conns"),
         machine.get("changes")))

    w("## The competitors\n\n")
    w("- **no filter**: the router forwards; for item 4 the internet host "
      "routes the cell's networks back (no NAT), the reference.\n"
      "- **iptables (PIC)**: the rules PIC installs, rebuilt from its "
      "sources (shared/seeds): per peer, in `FORWARD`, one `ACCEPT` per "
      "service it may use, one for the internet (`-o uplink`) and a final "
      "`DROP` for the rest, each tagged `-m comment --comment "
      "pic-peer-<name>`; per linked cell the same with `pic-cell-<name>`; "
      "a `RELATED,ESTABLISHED` accept first, as PIC's edge gateway "
      "restores it (so only the first packet of a flow walks the list); "
      "the port forward's `ACCEPT` appended last, as the edge agent's "
      "`-A` does; in `nat`, DNAT of wg0:3000 to cell-api with its "
      "MASQUERADE, MASQUERADE of the peers on the uplink and the forward's "
      "DNAT. The peer the traffic comes from is the last one, so its flow "
      "matches rule 3N. iptables is Debian's (nf_tables back end).\n"
      "- **ipset**: the same policy with sets, a best-effort modern "
      "alternative: one `hash:ip` set of peers per service, one for "
      "internet access, one of all peers, and seven rules whatever N; the "
      "same NAT rules.\n"
      "- **cellgate**: `build/cellgate run` in the router namespace with a "
      "state of N peers (each with the service and internet access), "
      "WireGuard through wireguard-go as the controller creates it, the "
      "forward added through the API.\n\n"
      "Over wireguard-go the router's WireGuard holds the N peers in every "
      "case (PIC's `wg setconf` for the first three). wireguard-go refuses "
      "more than 65,536 peers (`device.MaxPeers`), so nothing runs over "
      "WireGuard at N = 100k: those cells say n/a; the veth runs and items "
      "1 and 3 cover 100k.\n\n")

    # ---- item 1
    w("## 1. Per-packet cost of each program\n\n")
    w("`BPF_PROG_TEST_RUN` of the four programs as the controller's loader "
      "builds them, their maps filled by `dp_sync` with N peers; the "
      "sender is the last peer. References in the same run: an empty "
      "program and one doing one hash lookup of the source in a map of N "
      "entries (`tests/bench/baseline.bpf.c`).\n\n"
      "How each path is timed: paths that leave no state and do not "
      "rewrite the packet (established and denied on wg0, denied in XDP) "
      "with `repeat` %s, the kernel's mean. A new flow cannot be repeated "
      "(its second run would find the conntrack entry the first made) and "
      "a rewritten packet would be seen rewritten by the next run, so "
      "those paths run one packet per call, each new flow a genuinely new "
      "5-tuple (the tables flushed outside the timing before they fill), "
      "%s calls per figure, the median; the kernel's timer around a "
      "single run (two clock reads) is measured with the empty program "
      "run the same way and subtracted. Those single-timed paths are "
      "marked (1) and compared with the lookup program timed the same way, "
      "because a run after a syscall finds colder caches than a run in a "
      "loop: the established wg0 paths timed both ways show by how much "
      "(row \"timed singly\").\n\n"
      % (machine.get("repeat"), machine.get("single")))
    w("### Nanoseconds per packet\n\n")
    lines = []
    for ref, label in (("empty_tc", "empty program, tc"),
                       ("empty_xdp", "empty program, XDP"),
                       ("lookup_tc", "one hash lookup, tc"),
                       ("lookup_xdp", "one hash lookup, XDP"),
                       ("lookup_tc.single", "one hash lookup, tc (1)"),
                       ("timer_overhead_tc", "timer of a single run, tc")):
        lines.append([label] + [cell(stat(rows, "prog", "baseline", n, ref))
                                for n in ns])
    for prog, path, label in PROG_PATHS:
        mark = " (1)" if (prog, path) in SINGLE_TIMED else ""
        lines.append([label + mark] +
                     [cell(stat(rows, "prog", "cellgate", n,
                                "%s.%s" % (prog, path))) for n in ns])
        if (prog, path) not in SINGLE_TIMED and prog.startswith("wg"):
            lines.append([label + ", timed singly (1)"] +
                         [cell(stat(rows, "prog", "cellgate", n,
                                    "%s.%s.single" % (prog, path)))
                          for n in ns])
    w(table(["path"] + cols, lines))
    w("\n### Ratios (same run): x one hash lookup / x empty program\n\n")
    lines = []
    for prog, path, label in PROG_PATHS:
        cells = []
        for n in ns:
            a = stat(rows, "prog", "cellgate", n,
                     "%s.%s.vs_lookup" % (prog, path))
            b = stat(rows, "prog", "cellgate", n,
                     "%s.%s.vs_empty" % (prog, path))
            cells.append("%s / %s" % (cell(a), cell(b)))
        mark = " (1)" if (prog, path) in SINGLE_TIMED else ""
        lines.append([label + mark] + cells)
    w(table(["path"] + cols, lines))
    w("\nTargets (the team's guide): established <= 1.5x the lookup, a new "
      "allowed flow <= 4x, flat from 10 to 100k peers.\n\n")
    w("### IPv6 against IPv4 (same run): median IPv6 ns / median IPv4 ns\n\n")
    lines = []
    for prog, path, label in PROG_PATHS:
        if not path.endswith("6"):
            continue
        cells = []
        for n in ns:
            v6 = stat(rows, "prog", "cellgate", n, "%s.%s" % (prog, path))
            v4 = stat(rows, "prog", "cellgate", n, "%s.%s" % (prog, path[:-1]))
            cells.append(fmt(v6.med() / v4.med())
                         if v6.ok() and v4.ok() and v4.med() else "n/a")
        lines.append([label] + cells)
    w(table(["path"] + cols, lines))
    w("\nTarget (issue 17): IPv6 within 1.2x of IPv4.\n\n")
    if "prog_cost.png" in made:
        w("![per-packet cost](bench/prog_cost.png)\n\n")

    # ---- item 2
    w("## 2. Forwarding through the router\n\n")
    w("A client namespace, the router namespace with the competitor, a "
      "server namespace (172.20.0.21, on the router's bridge). TCP: one "
      "iperf3 stream for %s s, receiver's rate. UDP: iperf3 with 64-byte "
      "payloads at unlimited rate, datagrams received per second (one "
      "flow: after its first packet conntrack, iptables' or cellgate's, "
      "takes it). Over wireguard-go the client is a WireGuard peer whose "
      "key is among the N; over veth it is routed directly (10.0.x.y on a "
      "veth), with cellgate's wg0 programs attached to the router's veth "
      "(`prog_bench --attach`: the same objects, loaded for an Ethernet "
      "header). Ratio: over no filter at the same N.\n\n"
      % machine.get("iperf_seconds"))
    for metric, title, scale, unit in (
            ("wg_tcp_bps", "TCP over wireguard-go", 1e6, "Mbit/s"),
            ("wg_udp_pps", "UDP over wireguard-go", 1e3, "kpackets/s"),
            ("veth_tcp_bps", "TCP over veth", 1e6, "Mbit/s"),
            ("veth_udp_pps", "UDP over veth", 1e3, "kpackets/s")):
        w("### %s (%s)\n\n" % (title, unit))
        lines = []
        for c in COMPETITORS + (CONTROLS if metric.startswith("wg_") else []):
            cells = []
            for n in ns:
                s = stat(rows, "fwd", c, n, metric)
                base = stat(rows, "fwd", "none", n, metric).med()
                r = ratio(s.med(), base)
                cells.append(cell(s, scale) +
                             ("" if r is None or c == "none"
                              else " (%s)" % fmt(r)))
            lines.append([COMP_LABEL[c]] + cells)
        w(table(["competitor"] + cols, lines))
        png = "fwd_%s.png" % metric.rsplit("_", 1)[0]
        if png in made:
            w("\n![%s](bench/%s)\n" % (title, png))
        w("\n")
    pair_ns = [n for n in ns
               if stat(rows, "fwd", "cellgate", n, "wg_udp_pair_ratio").ok()]
    if pair_ns:
        w("### UDP over wireguard-go, paired rounds (ratio to no filter)\n\n")
        w("The runs above are tens of seconds apart, each on a topology of "
          "its own, and the load of a shared machine drifts between them "
          "more than the filters differ. `tests/bench/wg_pair.sh` (`make "
          "bench-wg`) keeps every set-up's topology and alternates 2-s UDP "
          "tests between them, the order rotated each round; each round "
          "over no filter's of the same round, median [min-max] of the "
          "rounds.\n\n")
        w(table(["competitor"] + ["N=" + n_label(n) for n in pair_ns],
                [[COMP_LABEL[c]] +
                 [cell(stat(rows, "fwd", c, n, "wg_udp_pair_ratio"))
                  for n in pair_ns]
                 for c in COMPETITORS + ["cg_nofilter"] if c != "none"]))
        w("\n")
    w("Target: over WireGuard with 10k peers, >= 97% of the throughput with "
      "no filter.\n\n")
    w("The control rows and the programs' own cost on the real path "
      "(`kernel.bpf_stats_enabled` during cellgate's UDP runs, ns per "
      "packet) say where the WireGuard path's time goes; see "
      "[the WireGuard path's analysis](bench/wg-path-analysis.md).\n\n")
    progs = sorted({m for (i, c, n, m) in rows
                    if i == "fwd" and m.startswith("bpf_ns.")})
    if progs:
        w(table(["program, ns per packet (real path)"] + cols,
                [[p[len("bpf_ns."):]] +
                 [cell(stat(rows, "fwd", "cellgate", n, p))
                  for n in ns] for p in progs]))
        w("\n")

    # ---- item 3
    w("## 3. Control plane\n\n")
    w("### Installing N peers (seconds)\n\n")
    w("PIC's rules with `iptables-restore` (3N + 5 filter rules, 4 NAT "
      "rules) or one `iptables -A` per rule, as shell-outs do, for at most "
      "%s s (beyond it: the share done and a lower bound extrapolated from "
      "its rate, since each -A only slows as the chain grows); the sets; "
      "PIC's WireGuard (`wg setconf` of N peers into wireguard-go, which "
      "PIC pays on top of its rules); cellgate started on a state file of "
      "N peers, until its API answers (state loaded and checked, maps "
      "written, programs attached, the N peers programmed into "
      "wireguard-go: everything); and cellgate fed through its API, one "
      "`POST /api/peers` per peer (each saved to disk before the answer), "
      "same budget.\n\n" % machine.get("budget_s"))

    def budget_cell(comp, n, full, done, lower):
        s = stat(rows, "ctl", comp, n, full)
        if s.ok():
            return cell(s)
        d = rows.get(("ctl", comp, n, done))
        lo = stat(rows, "ctl", comp, n, lower)
        if d and lo.ok():
            return "> %s s (%s done; >= %s s)" % (machine.get("budget_s"),
                                                   d[0], fmt(lo.med()))
        return "n/a"

    lines = [
        ["iptables-restore (PIC)"] +
        [cell(stat(rows, "ctl", "iptables", n, "restore_s")) for n in ns],
        ["iptables -A per rule (PIC)"] +
        [budget_cell("iptables", n, "per_rule_s", "per_rule_done",
                     "per_rule_lower_s") for n in ns],
        ["ipset restore + rules"] +
        [cell(stat(rows, "ctl", "ipset", n, "restore_s")) for n in ns],
        ["wg setconf, N peers (PIC's WireGuard)"] +
        [cell(Stat(rows.get(("ctl", "none", n, "wg_setconf_s"), []) +
                   rows.get(("ctl", "iptables", n, "wg_setconf_s"), []) +
                   rows.get(("ctl", "ipset", n, "wg_setconf_s"), [])))
         for n in ns],
        ["cellgate, from its state (all included)"] +
        [cell(stat(rows, "ctl", "cellgate", n, "bulk_s")) for n in ns],
        ["cellgate, POST /api/peers one by one"] +
        [budget_cell("cellgate", n, "per_peer_s", "per_peer_done",
                     "per_peer_lower_s") for n in ns],
    ]
    w(table(["method"] + cols, lines))
    if "install.png" in made:
        w("\n![install](bench/install.png)\n")
    w("\nTarget: 10k peers applied in <= 1 s.\n\n")
    w("### The control plane at scale\n\n")
    w("`task_api`, once per N: `POST /api/peers/import` of N peers into an "
      "empty cell (answered when the maps and wireguard-go hold them; "
      "beside it, in the same task, iptables-restore of PIC's rules for "
      "the same N); then %s `PUT /api/peers/p<N-1>` changing its "
      "service_access (one curl, keep-alive), each timed; then a "
      "`GET /api/peers`, the controller's RSS after that load (settled: "
      "after one more request) and its peak, and one /metrics scrape. "
      "Beyond wireguard-go's 65,536 peers the import is not measured.\n\n"
      % machine.get("puts", "200"))
    api_ns = sorted({k[2] for k in rows if k[0] == "api"})
    api_cols = ["N=" + n_label(n) for n in api_ns]

    def pcts(n, metric):
        st = stat(rows, "api", "cellgate", n, metric)
        return "%s / %s" % (fmt(st.pct(50)), fmt(st.pct(99))) \
            if st.ok() else "n/a"
    lines = [
        ["POST /api/peers/import, s"] +
        [cell(stat(rows, "api", "cellgate", n, "import_s")) for n in api_ns],
        ["iptables-restore (PIC), same task, s"] +
        [cell(stat(rows, "api", "iptables", n, "restore_s"))
         for n in api_ns],
        ["one PUT, ms (p50 / p99)"] + [pcts(n, "put_ms") for n in api_ns],
        ["RSS after the import, the PUTs and a listing, MiB"] +
        [cell(stat(rows, "api", "cellgate", n, "rss_after_api_kib"), 1024.0)
         for n in api_ns],
        ["RSS peak (VmHWM), MiB"] +
        [cell(stat(rows, "api", "cellgate", n, "rss_peak_kib"), 1024.0)
         for n in api_ns],
        ["one /metrics scrape, ms"] +
        [cell(stat(rows, "api", "cellgate", n, "scrape_s"), 0.001)
         for n in api_ns],
    ]
    w(table(["cellgate"] + api_cols, lines))
    w("\nTargets: import of 10k <= 1 s and <= iptables-restore; one PUT's "
      "p99 at the largest N <= 2x its p99 at 10 peers.\n\n")
    w("### From the API's answer to enforcement\n\n")
    w("`prog_bench --probe`, in the router namespace of a running cellgate: "
      "%s times `PUT /api/peers/p<N-1>` alternately revoking and granting "
      "the service, then from the moment the answer arrived, new flows "
      "of that peer to the service through a second instance of the wg0 "
      "ingress program loaded on the controller's pinned maps, until the "
      "verdict follows the change. The controller writes the maps before "
      "it answers, so this is the time to see the change on the first "
      "probe.\n\n" % machine.get("changes"))
    lines = []
    for metric, label, scale in (("enforce_us", "enforced after the answer, "
                                  "ms", 1000.0),
                                 ("api_change_ms", "the API call itself, ms",
                                  1.0)):
        cells = []
        for n in ns:
            s = stat(rows, "ctl", "cellgate", n, metric)
            cells.append("%s / %s" % (fmt(s.pct(50) / scale),
                                      fmt(s.pct(99) / scale))
                         if s.ok() else "n/a")
        lines.append([label + " (p50 / p99)"] + cells)
    w(table(["cellgate"] + cols, lines))
    w("\nTarget: change enforced <= 5 ms p99 after the API answers.\n\n")

    # ---- item 4
    w("## 4. Connection setup rate\n\n")
    w("`conn_storm`: %s TCP connections opened at once, each round-tripping "
      "a token, until all are done; connections per second. Masquerade: "
      "from the WireGuard peer to the internet host (iptables: "
      "MASQUERADE; cellgate: its uplink egress program). Forward: from the "
      "internet host to the uplink's port %s, forwarded to the server "
      "(iptables: DNAT, and the FORWARD rule appended after PIC's; "
      "cellgate: XDP). No filter: plain routing, no NAT. In parentheses: "
      "over iptables at the same N.\n\n"
      % (machine.get("conns"), "9100"))
    for metric, title in (("masq_cps", "Masquerade, over wireguard-go"),
                          ("fwd_cps", "Port forward (veth uplink)")):
        w("### %s (connections/s)\n\n" % title)
        lines = []
        for c in COMPETITORS:
            cells = []
            for n in ns:
                s = stat(rows, "conn", c, n, metric)
                base = stat(rows, "conn", "iptables", n, metric).med()
                r = ratio(s.med(), base)
                cells.append(cell(s) + ("" if r is None or c == "iptables"
                                        else " (%s)" % fmt(r)))
            lines.append([COMP_LABEL[c]] + cells)
        w(table(["competitor"] + cols, lines))
        w("\n")
    if "conn_rate.png" in made:
        w("![connection rate](bench/conn_rate.png)\n\n")

    # ---- item 5
    w("## 5. Memory and /metrics\n\n")
    w("The controller's resident memory (`VmRSS`) right after it started "
      "on a state of N peers, and after the traffic runs; the BPF maps' "
      "memory as the kernel accounts it (sum of "
      "`cellgate_map_memory_bytes`); wireguard-go's RSS for scale; the "
      "time of one `GET /metrics` scrape (`curl -w %{time_total}`).\n\n")
    lines = [
        ["cellgate RSS at start, MiB"] +
        [cell(stat(rows, "mem", "cellgate", n, "rss_kib"), 1024) for n in ns],
        ["cellgate RSS after the traffic runs, MiB"] +
        [cell(stat(rows, "mem", "cellgate", n, "rss_kib@traffic"), 1024)
         for n in ns],
        ["BPF maps, MiB"] +
        [cell(stat(rows, "mem", "cellgate", n, "map_bytes"), 1024 * 1024)
         for n in ns],
        ["wireguard-go RSS, MiB"] +
        [cell(stat(rows, "mem", "wireguard-go", n, "rss_kib"), 1024)
         for n in ns],
        ["/metrics scrape, ms"] +
        [cell(stat(rows, "mem", "cellgate", n, "scrape_s"), 0.001)
         for n in ns],
    ]
    w(table(["figure"] + cols, lines))
    if "memory.png" in made:
        w("\n![memory](bench/memory.png)\n")
    w("\nTarget: RSS <= 32 MiB at 10k peers.\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--out")
    ap.add_argument("--plots")
    ap.add_argument("--headline", action="store_true")
    a = ap.parse_args()
    rows, machine = load(a.results)
    if a.headline:
        print_headline(rows)
        return
    made = plot_all(rows, a.plots) if a.plots else []
    text = doc(rows, machine, made)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text)
    print("bench: wrote %s and %d plots in %s" % (a.out, len(made), a.plots),
          file=sys.stderr)
    print_headline(rows)


if __name__ == "__main__":
    main()
