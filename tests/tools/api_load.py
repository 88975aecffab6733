#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""API under pressure (issue 21, item 4): idle connections held open
against a listener while concurrent clients make real requests.

  api_load.py --port P --token-file F --idle 500 --clients 200
              --requests 5 --put-peer NAME [--idle-sources 10]

The idle side opens IDLE TCP connections that never send a byte, from
127.0.0.2 .. 127.0.0.(1+IDLE_SOURCES) (several addresses, as a per-address
limit would see them), and reopens each one the listener cuts, until the
clients are done. Each of CLIENTS clients (from 127.0.0.1) makes REQUESTS
requests one after the other, each on its own connection: GETs of
/api/status and /api/peers/NAME, and PUTs to NAME (peer_to_peer flipped).
Every request sent is counted; one is answered when a whole HTTP response
with a 2xx status came back (15 s per request at most, no retry). Prints
one JSON line: sent, answered, failures by kind, latency percentiles (ms),
and how many idle connections were opened and cut. No timing is asserted
here; the suite checks answered == sent.
"""
import argparse
import asyncio
import json
import time

TIMEOUT_S = 15.0


async def idle_conn(host, port, src, stop, stats):
    """One idle connection, reopened whenever the listener cuts it."""
    while not stop.is_set():
        try:
            r, w = await asyncio.open_connection(host, port, local_addr=(src, 0))
        except OSError:
            stats["idle_refused"] += 1
            await asyncio.sleep(0.2)
            continue
        stats["idle_opened"] += 1
        stats["idle_open"] += 1
        stop_task = asyncio.ensure_future(stop.wait())
        read_task = asyncio.ensure_future(r.read(1))
        await asyncio.wait({stop_task, read_task},
                           return_when=asyncio.FIRST_COMPLETED)
        stats["idle_open"] -= 1
        if read_task.done():
            stats["idle_cut"] += 1
        stop_task.cancel()
        read_task.cancel()
        w.close()


def request_bytes(method, path, token, body=None):
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nConnection: close\r\n")
    if body is not None:
        data = body.encode()
        head += ("Content-Type: application/json\r\n"
                 f"Content-Length: {len(data)}\r\n")
        return (head + "\r\n").encode() + data
    return (head + "\r\n").encode()


async def one_request(host, port, req):
    r, w = await asyncio.open_connection(host, port)
    try:
        w.write(req)
        await w.drain()
        data = await r.read()  # Connection: close: until EOF
    finally:
        w.close()
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[1].isdigit() else 0


async def client(i, a, token, stats, lat):
    for k in range(a.requests):
        kind = (i + k) % 3
        if kind == 0:
            req = request_bytes("GET", "/api/status", token)
        elif kind == 1:
            req = request_bytes("GET", f"/api/peers/{a.put_peer}", token)
        else:
            body = json.dumps({"peer_to_peer": (i + k) % 2 == 0})
            req = request_bytes("PUT", f"/api/peers/{a.put_peer}", token, body)
        stats["sent"] += 1
        t0 = time.monotonic()
        try:
            code = await asyncio.wait_for(one_request(a.host, a.port, req),
                                          TIMEOUT_S)
        except asyncio.TimeoutError:
            stats["timeout"] += 1
            continue
        except OSError as e:
            stats["error"] += 1
            stats["errors"][type(e).__name__] = \
                stats["errors"].get(type(e).__name__, 0) + 1
            continue
        if 200 <= code < 300:
            stats["answered"] += 1
            lat.append((time.monotonic() - t0) * 1000)
        else:
            stats["status"][str(code)] = stats["status"].get(str(code), 0) + 1


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return round(v[min(len(v) - 1, int(len(v) * p / 100))], 1)


async def main(a):
    token = open(a.token_file).read().strip()
    stats = {"sent": 0, "answered": 0, "timeout": 0, "error": 0,
             "errors": {}, "status": {}, "idle_opened": 0, "idle_open": 0,
             "idle_cut": 0, "idle_refused": 0}
    lat = []
    stop = asyncio.Event()
    idle = [asyncio.ensure_future(
        idle_conn(a.host, a.port, f"127.0.0.{2 + n % a.idle_sources}", stop,
                  stats)) for n in range(a.idle)]
    # Let the idle side fill the listener first.
    deadline = time.monotonic() + 5
    while stats["idle_opened"] < a.idle and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    stats["idle_opened_before_clients"] = stats["idle_opened"]
    t0 = time.monotonic()
    await asyncio.gather(*(client(i, a, token, stats, lat)
                           for i in range(a.clients)))
    stats["clients_s"] = round(time.monotonic() - t0, 2)
    stop.set()
    await asyncio.gather(*idle, return_exceptions=True)
    stats["latency_ms"] = {"p50": pct(lat, 50), "p90": pct(lat, 90),
                           "p99": pct(lat, 99),
                           "max": round(max(lat), 1) if lat else None}
    del stats["idle_open"]
    print(json.dumps(stats))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--token-file", required=True)
    p.add_argument("--idle", type=int, default=500)
    p.add_argument("--idle-sources", type=int, default=10)
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--requests", type=int, default=5)
    p.add_argument("--put-peer", required=True)
    asyncio.run(main(p.parse_args()))
