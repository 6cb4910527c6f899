#!/usr/bin/env python3
"""Samples CPU% and RSS of the evcms server, the simulator and PostgreSQL (all its processes)
every few seconds from /proc, plus the whole machine's busy CPU, until the server exits or the
stop file appears. Prints one line per sample and a summary (peak RSS, mean CPU over samples
where the simulator was running).

    scripts/load-monitor.py SERVER_PID SIM_PID_FILE STOP_FILE [INTERVAL [PG_URL PG_DB]]

With PG_URL and PG_DB, the PostgreSQL column counts only the backends connected to PG_DB (other
users of the same cluster are left out; its background writers too).
"""

import os
import subprocess
import sys
import time

server = int(sys.argv[1])
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


def sim_pid():
    try:
        with open(sim_pid_file) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


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
while os.path.exists(f"/proc/{server}") and not os.path.exists(stop_file):
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

    s_cpu = delta("server", server)
    spid = sim_pid()
    m_cpu = delta("sim", spid) if spid else None
    pg = 0.0
    pg_seen = False
    for pid in postgres_pids():
        d = delta(f"pg{pid}", pid)
        if d is not None:
            pg += d
            pg_seen = True
    s_rss = (rss_kib(server) or 0) / 1024
    m_rss = (rss_kib(spid) or 0) / 1024 if spid else 0
    peak["server"] = max(peak["server"], s_rss)
    peak["sim"] = max(peak["sim"], m_rss)
    fmt = lambda x: "   -  " if x is None else f"{x:6.1f}"
    print(f"{time.time() - began:5.0f} {fmt(s_cpu)} {s_rss:7.1f} {fds(server) or 0:5d} | {fmt(m_cpu)} {m_rss:7.1f} |"
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
