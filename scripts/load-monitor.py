#!/usr/bin/env python3
"""Samples CPU% and RSS of the evcms server, the simulator and PostgreSQL (all its processes)
every few seconds from /proc, plus the whole machine's busy CPU, until the server exits or the
stop file appears. Prints one line per sample and a summary (peak RSS, mean CPU over samples
where the simulator was running).

    scripts/load-monitor.py SERVER_PIDS SIM_PID_FILE STOP_FILE [INTERVAL [PG_URL PG_DB]]

SERVER_PIDS is one pid, or several separated by commas (evcms nodes: their CPU, RSS and open
files are added up); SIM_PID_FILE holds one simulator pid per line (added up likewise).

With PG_URL and PG_DB, the PostgreSQL column counts only the backends connected to PG_DB (other
users of the same cluster are left out; its background writers too).
"""

import os
import subprocess
import sys
import time

servers = [int(p) for p in sys.argv[1].split(",")]
sim_pid_file = sys.argv[2]
stop_file = sys.argv[3]
interval = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
pg_url, pg_db = (sys.argv[5], sys.argv[6]) if len(sys.argv) > 6 else (None, None)
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError):
        return None


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE // 1024
    except OSError:
        return None


def postgres_pids():
    if pg_url:
        try:
            r = subprocess.run(["psql", pg_url, "-Atc", f"select pid from pg_stat_activity where datname = '{pg_db}'"],
                               capture_output=True, text=True, timeout=5)
            return [int(x) for x in r.stdout.split()]
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return []
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/comm") as f:
                    if f.read().strip() == "postgres":
                        out.append(int(d))
            except OSError:
                pass
    return out


def machine():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v), idle


def sim_pids():
    try:
        with open(sim_pid_file) as f:
            return [int(line) for line in f.read().split()]
    except (OSError, ValueError):
        return []


def fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


prev = {}
prev_machine = machine()
began = time.time()
peak = {"server": 0, "sim": 0}
sums = {"server": 0.0, "sim": 0.0, "postgres": 0.0, "machine": 0.0}
n_busy = 0
print("   t  server%  rssMiB  fds |   sim%  rssMiB |  pg%  | machine busy%", flush=True)
while any(os.path.exists(f"/proc/{pid}") for pid in servers) and not os.path.exists(stop_file):
    time.sleep(interval)
    now_machine = machine()
    total = now_machine[0] - prev_machine[0]
    busy = 100.0 * (total - (now_machine[1] - prev_machine[1])) / max(total, 1)
    prev_machine = now_machine
    cores_pct = lambda d: 100.0 * d / TICK / interval

    def delta(key, pid):
        t = ticks(pid) if pid else None
        if t is None:
            return None
        d = t - prev.get(key, (pid, t))[1] if prev.get(key, (None,))[0] == pid else None
        prev[key] = (pid, t)
        return None if d is None else cores_pct(d)

    def added(key, pids):
        readings = [delta(f"{key}{pid}", pid) for pid in pids]
        readings = [r for r in readings if r is not None]
        return sum(readings) if readings else None

    s_cpu = added("server", servers)
    spids = sim_pids()
    m_cpu = added("sim", spids) if spids else None
    pg = 0.0
    pg_seen = False
    for pid in postgres_pids():
        d = delta(f"pg{pid}", pid)
        if d is not None:
            pg += d
            pg_seen = True
    s_rss = sum(rss_kib(pid) or 0 for pid in servers) / 1024
    m_rss = sum(rss_kib(pid) or 0 for pid in spids) / 1024
    peak["server"] = max(peak["server"], s_rss)
    peak["sim"] = max(peak["sim"], m_rss)
    fmt = lambda x: "   -  " if x is None else f"{x:6.1f}"
    print(f"{time.time() - began:5.0f} {fmt(s_cpu)} {s_rss:7.1f} {sum(fds(pid) or 0 for pid in servers):5d} | {fmt(m_cpu)} {m_rss:7.1f} |"
          f" {fmt(pg if pg_seen else None)} | {busy:5.1f}", flush=True)
    if m_cpu is not None and s_cpu is not None:
        n_busy += 1
        sums["server"] += s_cpu
        sums["sim"] += m_cpu
        sums["postgres"] += pg
        sums["machine"] += busy
if n_busy:
    print(f"summary: while the simulator ran ({n_busy} samples): server {sums['server'] / n_busy:.1f}% "
          f"sim {sums['sim'] / n_busy:.1f}% postgres {sums['postgres'] / n_busy:.1f}% "
          f"machine busy {sums['machine'] / n_busy:.1f}% (of 2 cores = 100%); "
          f"peak RSS server {peak['server']:.1f} MiB sim {peak['sim']:.1f} MiB", flush=True)
