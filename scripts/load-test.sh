#!/usr/bin/env bash
# Reproduces an OCPP fleet load run of evcms with its simulator (evcms-sim load), on SQLite or
# PostgreSQL, and checks what reached the database.
#
#   cargo build --release --workspace
#   scripts/load-test.sh sqlite   5000 --meter-interval 10s --duration 60s
#   scripts/load-test.sh postgres 5000 --meter-interval 10s --duration 60s --sessions
#   scripts/load-test.sh sqlite  19000 --meter-interval 60s --duration 60s --ramp 100000/s
#   NODES=3 scripts/load-test.sh postgres 18000 --meter-interval 10s --duration 120s
#   SIM=storm scripts/load-test.sh postgres 19000 --setup full --hold 20s --resume --stop
#   SIM=storm scripts/load-test.sh bare     19000 --setup full --hold 20s --resume --stop
#
# Arguments: database (sqlite|postgres, or bare: the simulator's bare responder, which stores
# nothing, in place of evcms), number of chargers, then the options of the simulator's mode:
# SIM=load (default: a fleet ramped up at --ramp, evcms-sim load) or SIM=storm (every charger at
# the same instant, evcms-sim storm; see docs/performance.md).
# Each run starts from a copy of a template database holding $POINTS charging points (device ids
# LOAD-00000...) and $CUSTOMERS customers with id tags LOAD-TAG{n} and wallet credit, made once
# through the REST API (scripts/load-setup.py). Output: $OUT (default /tmp/load/run-...), with
# server.log (stderr), sim.log, monitor.log (CPU/RSS every 5 s), metrics.log (SQLite's heap and
# the pool from /metrics, every minute) and check.log (SQL checks).
#
# NODES=N (PostgreSQL only) runs N evcms nodes on one database, on ports PORT, PORT+1...
# (EVCMS_NODE_ID node-1...), and one simulator per node holding an equal share of the chargers
# (--first splits the numbering); CPU, RSS and open files in monitor.log are the nodes' sums.
#
# Environment: POINTS (19000), CUSTOMERS (5000), CREDIT (each customer's wallet credit, 10000), PG (postgres://postgres@127.0.0.1:5432), PGDB (evcms_load:
# the run's database; give two runs at once different ones, and different PORTs),
# SIM (load|storm), SERVER_ENV (extra VAR=value settings for the server), RUST_LOG (warn), PERF ("START_S LEN_S":
# perf record the server from START_S after the simulator starts, for LEN_S; top symbols in
# perf-top.txt), EXTRA_SQL (SQL run on the run's fresh database copy before the server starts).
set -euo pipefail

db=${1:?sqlite, postgres or bare}
chargers=${2:?number of chargers}
shift 2
sim_args=("$@")

root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release
points=${POINTS:-19000}
customers=${CUSTOMERS:-5000}
# Enough for a session of a whole hour at the simulator's power: with 1,000 every wallet ran dry
# at minute 45 of a soak, and the balance guard stopped 19,000 sessions at once (a storm in the
# middle of what should be steady load).
credit=${CREDIT:-10000}
pg=${PG:-postgres://postgres@127.0.0.1:5432}
password='Load-test Passphrase 1'
port=${PORT:-8080}
run_db=${PGDB:-evcms_load} # the run's PostgreSQL database, dropped and made anew
nodes=${NODES:-1}
mode=${SIM:-load}
if ((nodes > 1)) && [[ $db != postgres ]]; then
    echo "NODES > 1 needs postgres: SQLite runs one node" >&2
    exit 2
fi
base=/tmp/load
out=${OUT:-$base/run-$(date +%H%M%S)-$db-$chargers}
mkdir -p "$base" "$out"

interval=10
for ((i = 0; i < ${#sim_args[@]}; i++)); do
    if [[ ${sim_args[$i]} == --meter-interval ]]; then interval=${sim_args[$((i + 1))]%s}; fi
done

start_server() { # url logfile [port node-id]
    local at=${3:-$port}
    env DATABASE_URL="$1" EVCMS_ADMIN_PASSWORD="$password" EVCMS_BIND="127.0.0.1:$at" \
        ${4:+EVCMS_NODE_ID=$4} RUST_LOG="${RUST_LOG:-warn}" ${SERVER_ENV:-} "$bin/evcms" 2>"$2" >&2 &
    server=$!
    servers+=("$server")
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$at/api/health" >/dev/null && return 0
        kill -0 "$server" 2>/dev/null || { echo "server died, see $2" >&2; exit 1; }
        sleep 0.2
    done
    echo "server did not come up" >&2
    exit 1
}

stop_server() {
    for pid in "${servers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
    servers=()
}
servers=()

start_bare() { # logfile
    "$bin/evcms-sim" respond --bind "127.0.0.1:$port" >"$1" 2>&1 &
    server=$!
    servers+=("$server")
    for _ in $(seq 50); do
        (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "the bare responder did not come up" >&2
    exit 1
}

tpl_name=tpl-$points-$customers-$credit
if [[ $db == bare ]]; then
    url=none
elif [[ $db == sqlite ]]; then
    tpl=$base/$tpl_name.db
    if [[ ! -f $tpl ]]; then
        echo "making the template $tpl" >&2
        rm -f "$tpl" "$tpl-wal" "$tpl-shm"
        start_server "sqlite://$tpl?mode=rwc" "$base/$tpl_name-sqlite.log"
        python3 "$root/scripts/load-setup.py" --url "http://127.0.0.1:$port" --password "$password" \
            --chargers "$points" --customers "$customers" --credit "$credit"
        stop_server
        sqlite3 "$tpl" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
    fi
    rm -f "$out/evcms.db"*
    cp "$tpl" "$out/evcms.db"
    # EXTRA_SQL: statements run on the copy before the run (A/B experiments, e.g. an extra index).
    [[ -n ${EXTRA_SQL:-} ]] && sqlite3 "$out/evcms.db" "$EXTRA_SQL"
    url="sqlite://$out/evcms.db?mode=rwc"
else
    tpl=evcms_${tpl_name//-/_}
    if ! psql "$pg/postgres" -Atc "select 1 from pg_database where datname = '$tpl'" | grep -q 1; then
        echo "making the template database $tpl" >&2
        psql "$pg/postgres" -qc "create database $tpl"
        start_server "$pg/$tpl" "$base/$tpl_name-postgres.log"
        python3 "$root/scripts/load-setup.py" --url "http://127.0.0.1:$port" --password "$password" \
            --chargers "$points" --customers "$customers" --credit "$credit"
        stop_server
    fi
    psql "$pg/postgres" -qc "drop database if exists $run_db with (force)"
    psql "$pg/postgres" -qc "create database $run_db template $tpl"
    url="$pg/$run_db"
    [[ -n ${EXTRA_SQL:-} ]] && psql "$url" -qc "$EXTRA_SQL"
fi

# A network reconnecting at once holds its old sockets beside the new ones for a moment: the
# server needs about twice as many files as chargers. Raise the hard limit where we may (root);
# evcms raises its own soft limit to the hard one.
ulimit -Hn 262144 2>/dev/null || true
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
echo "ulimit -n: $(ulimit -n) (server and simulator inherit it)" | tee "$out/info.txt"
if [[ $db == bare ]]; then
    start_bare "$out/server.log"
elif ((nodes == 1)); then
    start_server "$url" "$out/server.log"
else
    for ((k = 0; k < nodes; k++)); do
        start_server "$url" "$out/server-$((k + 1)).log" $((port + k)) "node-$((k + 1))"
    done
fi
for pid in "${servers[@]}"; do
    echo "server $pid RSS before the run: $(grep VmRSS /proc/$pid/status)" | tee -a "$out/info.txt"
done
rm -f "$out/stop" "$out/sim.pid"
pg_args=()
[[ $db == postgres ]] && pg_args=("$pg/postgres" "$run_db")
server_pids=$(
    IFS=,
    echo "${servers[*]}"
)
python3 "$root/scripts/load-monitor.py" "$server_pids" "$out/sim.pid" "$out/stop" 5 "${pg_args[@]}" >"$out/monitor.log" &
monitor=$!
# Beside the RSS in monitor.log, the server's own view once a minute (SQLite's heap, the pool).
scraper=
if [[ $db != bare ]] && ((nodes == 1)); then
    while sleep 60; do
        printf '%s ' "$(date +%T)"
        curl -s "http://127.0.0.1:$port/metrics" |
            grep -E '^(sqlite_heap_bytes|sqlite_wal_frames|db_pool_connections)' | tr '\n' ' '
        echo
    done >"$out/metrics.log" 2>/dev/null &
    scraper=$!
fi

echo "server: DATABASE_URL=$url EVCMS_BIND=127.0.0.1:$port RUST_LOG=${RUST_LOG:-warn} ${SERVER_ENV:-} $bin/evcms" | tee -a "$out/info.txt"
sims=()
share=$((chargers / nodes))
for ((k = 0; k < nodes; k++)); do
    cmd=("$bin/evcms-sim" --url "ws://127.0.0.1:$((port + k))/ocpp" $mode --chargers "$share" --first $((k * share)) "${sim_args[@]}")
    log=$out/sim.log
    ((nodes > 1)) && log=$out/sim-$((k + 1)).log
    echo "simulator: ${cmd[*]}" | tee -a "$out/info.txt"
    "${cmd[@]}" >"$log" 2>&1 &
    sims+=($!)
    ((k == 0)) && first_log=$log
    echo "$!" >>"$out/sim.pid"
done
sim=${sims[0]}
if [[ -n ${PERF:-} && $db != bare ]]; then
    read -r perf_start perf_len <<<"$PERF"
    (
        sleep "$perf_start"
        perf record -F 499 -g -p "$server" -o "$out/perf.data" -- sleep "$perf_len" 2>"$out/perf.log"
        perf report -i "$out/perf.data" --stdio --no-children --percent-limit 0.5 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -60 >"$out/perf-top.txt"
    ) &
fi
tail -f --pid="$sim" "$first_log" &
set +e
sim_status=0
for pid in "${sims[@]}"; do
    wait "$pid" || sim_status=$?
done
set -e
echo "simulator exit status: $sim_status" | tee -a "$out/info.txt"
sleep 3 # acknowledged samples are already stored; let the disconnections land
for pid in "${servers[@]}"; do
    grep -E 'VmRSS|VmHWM' "/proc/$pid/status" | tee -a "$out/info.txt"
done
touch "$out/stop"
[[ -n $scraper ]] && { kill "$scraper" 2>/dev/null || true; }
wait "$monitor" || true

[[ $db != bare ]] && python3 "$root/scripts/load-check.py" "$url" --interval-s "$interval" | tee "$out/check.log"
stop_server
wait || true # perf, if profiling

server_logs=("$out"/server*.log)
echo "--- server log: $(cat "${server_logs[@]}" | wc -l) lines; by level:"
cat "${server_logs[@]}" | grep -oE '\b(ERROR|WARN|INFO)\b' | sort | uniq -c || true
echo "--- distinct server log messages (timestamps and fields stripped):"
cat "${server_logs[@]}" | sed -E 's/^[^ ]+ +//; s/ charger=[^ ]+//; s/ peer=[^ ]+//' | cut -c1-160 | sort | uniq -c | sort -rn | head -15 || true
echo "--- monitor (CPU % of one core; machine busy % of 2 cores):"
cat "$out/monitor.log"
echo "output in $out"
