#!/usr/bin/env python3
"""Creates the fixtures an `evcms-sim load` run needs, through the REST API of a running evcms.

- one tariff and one station, then N charging points whose device_id is `{prefix}{n:05}` (the ids
  the load mode connects with), each with connector 1;
- with --customers M: M customers, each with the id tag `{prefix}TAG{n}` and a wallet credit, so that
  every charger's StartTransaction is Accepted.

Idempotent enough for re-runs: existing records (409/422 on unique codes) are skipped.

    scripts/load-setup.py --url http://127.0.0.1:8080 --password '...' --chargers 5000 [--customers 5000]
"""

import argparse
import concurrent.futures as cf
import sys
import threading
import time

import requests

p = argparse.ArgumentParser()
p.add_argument("--url", default="http://127.0.0.1:8080")
p.add_argument("--email", default="admin@evcms.local")
p.add_argument("--password", required=True)
p.add_argument("--chargers", type=int, default=5000)
p.add_argument("--prefix", default="LOAD-")
p.add_argument("--customers", type=int, default=0, help="customers with id tags and wallet credit (for --sessions runs)")
p.add_argument("--credit", type=float, default=1000)
p.add_argument("--workers", type=int, default=4)
args = p.parse_args()

login = requests.post(f"{args.url}/api/auth/login",
                      json={"email": args.email, "password": args.password}, timeout=30)
login.raise_for_status()
token = login.json()["token"]
local = threading.local()


def session():
    if not hasattr(local, "s"):
        local.s = requests.Session()
        local.s.headers["authorization"] = f"Bearer {token}"
    return local.s


def post(path, body, ok_conflict=True):
    r = session().post(f"{args.url}/api/cms{path}", json=body, timeout=60)
    if r.status_code == 201:
        return r.json()
    if ok_conflict and r.status_code in (409, 422):
        return None
    raise RuntimeError(f"POST {path} {body}: {r.status_code} {r.text[:300]}")


def get(path):
    r = session().get(f"{args.url}/api/cms{path}", timeout=60)
    r.raise_for_status()
    return r.json()


tariff = post("/tariffs", {"tariff_id": "LOAD-TRF", "tariff_name": "Load test", "currency": "INR",
                           "base_charges": 18.5, "tax": 18, "status": "Active"})
if tariff is None:
    found = get("/tariffs?search=LOAD-TRF")
    items = found["data"] if isinstance(found, dict) and "data" in found else found
    tariff = next(t for t in items if t["tariff_id"] == "LOAD-TRF")
post("/stations", {"station_id": "LOAD-STN", "station_name": "Load test", "organization": "massive_mobility",
                   "country": "India", "status": "Active", "grid_phase": "Three Phase"})


def point(n):
    post("/points", {"charging_point_name": f"Load {n}", "station_id": "LOAD-STN", "charger_type": "AC",
                     "phase": "Phase R", "oem_list": "EVRE", "max_power": 7.4,
                     "device_id": f"{args.prefix}{n:05}", "tariff_id": tariff["id"],
                     "connectors": [{"connector_id": "1", "connector_type": "type2", "power": 7.4}]})


def customer(n):
    c = post("/customers", {"customer_name": f"Load {n}", "phone": f"+9177{n:08}"})
    if c is None:
        return  # already there (re-run)
    post(f"/customers/{c['id']}/id-tags", {"id_tag": f"{args.prefix}TAG{n}"})
    post(f"/customers/{c['id']}/wallet-transactions",
         {"transaction_type": "Credit", "amount": args.credit}, ok_conflict=False)


def run(what, fn, count):
    began = time.time()
    with cf.ThreadPoolExecutor(args.workers) as pool:
        for i, _ in enumerate(pool.map(fn, range(count)), 1):
            if i % 1000 == 0:
                print(f"  {what}: {i}", file=sys.stderr)
    print(f"{what}: {count} in {time.time() - began:.1f} s", file=sys.stderr)


run("points", point, args.chargers)
run("customers", customer, args.customers)
