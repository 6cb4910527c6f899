#!/usr/bin/env python3
"""Floods a running evcms with failed logins from many loopback addresses and reports the
server's memory before, after and at its peak (VmRSS / VmHWM of /proc/PID/status).

    python3 scripts/login-flood.py --url http://127.0.0.1:8080 --pid $(pgrep -n evcms) \
        --logins 1000 --addresses 50 --concurrency 200

evcms counts failed logins per client address (it does not trust X-Forwarded-For), so each
worker binds its own source address 127.0.1.N; Linux routes all of 127.0.0.0/8 to loopback.
Every login uses a fresh e-mail, so only the per-address limit (20 in 15 minutes) applies.
"""
import argparse
import collections
import concurrent.futures
import http.client
import json
import time
import urllib.parse

p = argparse.ArgumentParser()
p.add_argument("--url", default="http://127.0.0.1:8080")
p.add_argument("--pid", type=int, required=True, help="the evcms server's process id")
p.add_argument("--logins", type=int, default=1000)
p.add_argument("--addresses", type=int, default=50)
p.add_argument("--concurrency", type=int, default=200)
args = p.parse_args()
url = urllib.parse.urlsplit(args.url)


def memory_kib():
    fields = {}
    with open(f"/proc/{args.pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                fields[key] = int(value.split()[0])
    return fields


def login(n):
    source = f"127.0.1.{n % args.addresses + 1}"
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120, source_address=(source, 0))
    body = json.dumps({"email": f"flood{n}@example.com", "password": "Wrong password 1"})
    try:
        conn.request("POST", "/api/auth/login", body, {"content-type": "application/json"})
        return conn.getresponse().status
    except OSError as e:
        return f"error: {type(e).__name__}"
    finally:
        conn.close()


before = memory_kib()
started = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
    statuses = collections.Counter(pool.map(login, range(args.logins)))
elapsed = time.monotonic() - started
time.sleep(1)
after = memory_kib()
print(json.dumps({
    "logins": args.logins,
    "addresses": args.addresses,
    "concurrency": args.concurrency,
    "seconds": round(elapsed, 1),
    "statuses": {str(k): v for k, v in sorted(statuses.items(), key=str)},
    "rss_before_mib": round(before["VmRSS"] / 1024, 1),
    "rss_after_mib": round(after["VmRSS"] / 1024, 1),
    "rss_peak_mib": round(after["VmHWM"] / 1024, 1),
    "threads_after": after["Threads"],
}))
