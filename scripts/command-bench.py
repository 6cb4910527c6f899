#!/usr/bin/env python3
"""Sends remote commands through evcms's REST API to connected simulated chargers and reports how
fast they come back: commands answered per second, latency percentiles, answers by HTTP status.

Run it beside a fleet, for instance the one scripts/load-test.sh starts (chargers LOAD-00000...,
which answer every command at once):

    POINTS=2000 scripts/load-test.sh sqlite 1000 --meter-interval 10s --duration 90s &
    sleep 20; python3 scripts/command-bench.py --chargers 1000 --commands 5000 --concurrency 50
    python3 scripts/command-bench.py --chargers 1 --commands 500 --concurrency 50   # one charger

Each command is a GetConfiguration of one key, a ChangeConfiguration, a TriggerMessage Heartbeat
or a DataTransfer, in turn, to a charger picked in turn. With several nodes, `--url` of one node and
`--first` of chargers held by another measure commands relayed between nodes. With `--chargers 1` every command queues
for the same charger, which takes one at a time (OCPP 1.6): latency then shows the queue.
"""
import argparse
import collections
import concurrent.futures
import http.client
import json
import threading
import time
import urllib.parse

p = argparse.ArgumentParser()
p.add_argument("--url", default="http://127.0.0.1:8080")
p.add_argument("--email", default="admin@evcms.local")
p.add_argument("--password", default="Load-test Passphrase 1")
p.add_argument("--prefix", default="LOAD-", help="charge point ids: PREFIX + 5 digits")
p.add_argument("--chargers", type=int, default=100)
p.add_argument("--first", type=int, default=0,
               help="the first charger's number: with several nodes (load-test.sh NODES=3), --first 6000 "
                    "picks chargers held by the second node, whatever node --url names")
p.add_argument("--commands", type=int, default=1000)
p.add_argument("--concurrency", type=int, default=20)
args = p.parse_args()
url = urllib.parse.urlsplit(args.url)
local = threading.local()


def connection():
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    return local.conn


def request(method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    conn = connection()
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    except (http.client.HTTPException, OSError):
        local.__dict__.pop("conn", None)
        raise


status, body = request("POST", "/api/auth/login", {"email": args.email, "password": args.password})
assert status == 200, body
token = json.loads(body)["token"]

COMMANDS = [
    ("GetConfiguration", {"key": ["HeartbeatInterval"]}),
    ("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "10"}),
    ("TriggerMessage", {"requestedMessage": "Heartbeat"}),
    ("DataTransfer", {"vendorId": "com.example.bench", "data": "ping"}),
]


def one(i):
    charger = f"{args.prefix}{args.first + i % args.chargers:05d}"
    action, payload = COMMANDS[i % len(COMMANDS)]
    started = time.perf_counter()
    try:
        status, _ = request("POST", f"/api/cms/chargers/{charger}/commands/{action}", payload, token)
    except OSError:
        status = 0
    return status, time.perf_counter() - started


started = time.perf_counter()
with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
    results = list(pool.map(one, range(args.commands)))
elapsed = time.perf_counter() - started
by_status = collections.Counter(status for status, _ in results)
latencies = sorted(seconds for status, seconds in results if status == 200)


def pct(q):
    if not latencies:
        return float("nan")
    return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000


print(f"{args.commands} commands to {args.chargers} chargers, {args.concurrency} at a time, in {elapsed:.1f} s")
print(f"answered (200): {len(latencies)} = {len(latencies) / elapsed:.0f}/s; by status: {dict(by_status)}")
print(f"latency ms: p50 {pct(0.5):.1f}  p90 {pct(0.9):.1f}  p99 {pct(0.99):.1f}  max {pct(1.0):.1f}")
