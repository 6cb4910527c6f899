#!/usr/bin/env python3
"""After an `evcms-sim load` run: what reached the database, checked against what the simulator
sent. The load mode's k-th MeterValues of charger n carries the register reading
1,000,000 + 1000·n + k·step Wh (step = power · interval), so the highest stored reading tells how
many MeterValues a charger sent (up to its last stored one) and the row count tells how many were
stored: the difference is lost samples. Each MeterValues carries 5 sampled values (5 rows).

    scripts/load-check.py DATABASE_URL --prefix LOAD- --interval-s 10 --power-kw 60
"""

import argparse
import datetime as dt
import sqlite3
import subprocess
import sys

p = argparse.ArgumentParser()
p.add_argument("url")
p.add_argument("--prefix", default="LOAD-")
p.add_argument("--interval-s", type=float, required=True)
p.add_argument("--power-kw", type=int, default=60)
p.add_argument("--since", default="", help="only rows received at or after this RFC 3339 time")
args = p.parse_args()

sqlite = args.url.startswith("sqlite:")
if sqlite:
    path = args.url.split("://", 1)[1].split("?", 1)[0]
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def q(sql):
        return conn.execute(sql).fetchall()
else:
    def q(sql):
        out = subprocess.run(["psql", args.url, "-AtF", "\t", "-c", sql], check=True,
                             capture_output=True, text=True).stdout
        return [tuple(line.split("\t")) for line in out.splitlines() if line]

# SQLite keeps NUMERIC(p,3) as an integer count of thousandths.
scale = 1000 if sqlite else 1
since = f"AND received_at >= '{args.since}'" if args.since else ""
like = f"'{args.prefix}%'"
step = args.power_kw * 1000 * int(args.interval_s * 1000) // 3_600_000

print("meter_values rows by measurand:")
total = 0
for measurand, n in q(f"SELECT measurand, COUNT(*) FROM meter_values WHERE charge_point_id LIKE {like} {since} GROUP BY measurand ORDER BY measurand"):
    print(f"  {measurand:35} {n}")
    total += int(n)
print(f"  {'total':35} {total}")

rows = q(f"SELECT charge_point_id, COUNT(*), MAX(value), MIN(value) FROM meter_values WHERE charge_point_id LIKE {like} "
         f"AND measurand = 'Energy.Active.Import.Register' {since} GROUP BY charge_point_id")
expected = stored = odd = 0
lost_chargers = 0
for cp, count, top, low in rows:
    n = int(cp[len(args.prefix):])
    base = 1_000_000 + 1000 * n
    top = int(float(top)) // scale
    k, rest = divmod(top - base, step)
    if rest:
        odd += 1
    expected += k
    stored += int(count)
    if k != int(count):
        lost_chargers += 1
print(f"MeterValues messages: {stored} stored of {expected} sent up to each charger's last stored one "
      f"(lost {expected - stored} on {lost_chargers} chargers; {len(rows)} chargers have samples"
      f"{'; ' + str(odd) + ' readings off the expected grid' if odd else ''})")
print(f"rows expected (5 per MeterValues): {expected * 5}, stored: {total}")

# Ingest lag: received_at - sampled_at of energy rows (the simulator stamps samples when sending).
lag = q(f"SELECT sampled_at, received_at FROM meter_values WHERE charge_point_id LIKE {like} "
        f"AND measurand = 'Energy.Active.Import.Register' {since}")


def parse(s):
    s = str(s).replace(" ", "T")
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    if "+" not in s[10:] and "-" not in s[10:]:
        s += "+00:00"
    return dt.datetime.fromisoformat(s)


if lag:
    d = sorted((parse(r) - parse(s)).total_seconds() * 1000 for s, r in lag)
    pick = lambda f: d[min(len(d) - 1, int(f * len(d)))]
    print(f"received_at - sampled_at (ms): p50 {pick(0.5):.1f} p99 {pick(0.99):.1f} max {d[-1]:.1f}")

print("chargers:", q(f"SELECT registration_status, connected, COUNT(*) FROM chargers WHERE charge_point_id LIKE {like} GROUP BY 1, 2"))
print("sessions by status:", q("SELECT status, COUNT(*) FROM charging_sessions GROUP BY status"))
print("completed sessions whose energy differs from meterStop - meterStart:",
      q("SELECT COUNT(*) FROM charging_sessions WHERE status = 'Completed' AND energy_wh <> meter_stop_wh - meter_start_wh"))
print("sessions with an anomaly:", q("SELECT anomaly, COUNT(*) FROM charging_sessions WHERE anomaly IS NOT NULL GROUP BY anomaly"))
print("wallet debits:", q("SELECT COUNT(*) FROM wallet_transactions WHERE transaction_type = 'Debit'"))
# Exactly-once billing: every wallet's ledger adds up to its balance, no session is debited twice,
# and every completed session with a cost has its one debit (reference: the session's id).
print("customers whose ledger sum differs from their balance:",
      q("SELECT COUNT(*) FROM customers c WHERE c.wallet_balance <> COALESCE((SELECT SUM(CASE WHEN w.transaction_type = 'Credit' "
        "THEN w.amount ELSE -w.amount END) FROM wallet_transactions w WHERE w.customer_id = c.id), 0)"))
print("sessions debited more than once:",
      q("SELECT COUNT(*) FROM (SELECT reference_id FROM wallet_transactions WHERE transaction_type = 'Debit' "
        "GROUP BY customer_id, reference_id HAVING COUNT(*) > 1) d"))
print("completed sessions with a cost whose debit is missing or differs:",
      q("SELECT COUNT(*) FROM charging_sessions s WHERE s.status = 'Completed' AND s.customer_id IS NOT NULL "
        "AND COALESCE(s.billed_amount, 0) > 0 AND NOT EXISTS (SELECT 1 FROM wallet_transactions w "
        "WHERE w.customer_id = s.customer_id AND w.transaction_type = 'Debit' AND w.reference_id = s.session_id "
        "AND w.amount = s.billed_amount)"))
