#!/usr/bin/env bash
# Two evcms nodes on one PostgreSQL behind nginx (deploy/nginx.conf), end to end, by hand's way:
# simulated chargers connect through nginx and spread over both nodes; every charger is commanded
# through nginx (so about half the commands are relayed to the other node) while an operator's
# event stream on node 2 watches; then node 1 is killed with SIGKILL, its chargers
# reconnect through nginx to node 2, and every charger is commanded again.
#
#   cargo build --release --workspace
#   scripts/two-nodes.sh [CHARGERS]            # default 20; needs nginx, psql, curl, jq
#
# Environment: PG (postgres://postgres@127.0.0.1:5432), EVCMS_NODE_TIMEOUT (10 here).
set -euo pipefail

chargers=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release
pg=${PG:-postgres://postgres@127.0.0.1:5432}
db=evcms_two_nodes
password='Two-nodes Passphrase 1'
out=$(mktemp -d /tmp/evcms-two-nodes.XXXX)
export EVCMS_NODE_TIMEOUT=${EVCMS_NODE_TIMEOUT:-10} EVCMS_NODE_HEARTBEAT=2
pids=()
cleanup() {
    nginx -c "$root/deploy/nginx.conf" -s stop 2>/dev/null || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

psql "$pg/postgres" -qc "drop database if exists $db with (force)" -qc "create database $db"
start_node() { # n
    env DATABASE_URL="$pg/$db" EVCMS_ADMIN_PASSWORD="$password" EVCMS_BIND="127.0.0.1:808$1" \
        EVCMS_NODE_ID="node-$1" EVCMS_TRUSTED_PROXIES=127.0.0.1 RUST_LOG=warn \
        "$bin/evcms" >"$out/node-$1.log" 2>&1 &
    pids+=($!)
    eval "node$1=$!"
    until curl -sf "http://127.0.0.1:808$1/api/ready" >/dev/null; do sleep 0.2; done
}
start_node 1
start_node 2
nginx -c "$root/deploy/nginx.conf"
api=http://127.0.0.1:8080/api
token=$(curl -sf "$api/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"admin@evcms.local\",\"password\":\"$password\"}" | jq -r .token)
get() { curl -sf "$api/cms/$1" -H "authorization: Bearer $token"; }
post() { curl -sf "$api/cms/$1" -H "authorization: Bearer $token" -H 'content-type: application/json' -d "$2"; }

# Adopted chargers (points with their device ids), so that they boot Accepted.
post stations '{"station_id":"TWO-STN","station_name":"Two nodes","organization":"massive_mobility","country":"India","status":"Active","grid_phase":"Three Phase"}' >/dev/null
for n in $(seq 1 "$chargers"); do
    id=TWO
    ((n > 1)) && id=TWO-$n
    post points "{\"charging_point_name\":\"Bay $n\",\"station_id\":\"TWO-STN\",\"charger_type\":\"AC\",\"phase\":\"Phase R\",\"oem_list\":\"EVRE\",\"max_power\":7.4,\"device_id\":\"$id\",\"connectors\":[{\"connector_id\":\"1\",\"connector_type\":\"type2\",\"power\":7.4},{\"connector_id\":\"2\",\"connector_type\":\"type2\",\"power\":7.4}]}" >/dev/null
done

# An operator's event stream on node 2 (an EventSource through nginx would reconnect to a live node
# by itself): it must see node 1's chargers too.
curl -sN http://127.0.0.1:8082/api/cms/events -H "authorization: Bearer $token" >"$out/events.txt" &
pids+=($!)
sleep 0.5
"$bin/evcms-sim" --url ws://127.0.0.1:8080/ocpp --id TWO run --chargers "$chargers" >"$out/sim.log" 2>&1 &
pids+=($!)

connected_on() { # node-id: how many chargers it holds
    get "chargers?connected=true&limit=100" | jq "[.data[] | select(.node_id == \"$1\")] | length"
}
wait_until() { # seconds, condition...
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || { echo "timed out: $*" >&2; exit 1; }
        sleep 0.5
    done
}
all_connected() { [[ $(get "chargers?connected=true&limit=100" | jq '.pagination.total') == "$chargers" ]]; }
wait_until 30 all_connected
echo "connected through nginx: node-1 holds $(connected_on node-1), node-2 holds $(connected_on node-2)"

command_all() { # label
    local ok=0 ids
    ids=$(get "chargers?limit=100" | jq -r '.data[].charge_point_id')
    for id in $ids; do
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/cms/chargers/$id/commands/GetConfiguration" \
            -H "authorization: Bearer $token" -H 'content-type: application/json' -d '{"key":["HeartbeatInterval"]}')
        [[ $code == 200 ]] && ok=$((ok + 1))
    done
    echo "$1: $ok of $chargers GetConfiguration answered 200 through nginx"
}
command_all "before the kill"
relayed=$(psql "$pg/$db" -Atc "select count(*) from charger_commands where relay_state = 'done'")
echo "of those, relayed to the other node: $relayed"

echo "killing node-1 (SIGKILL)"
killed_at=$SECONDS
kill -9 "$node1"
all_on_node_2() { [[ $(connected_on node-2) == "$chargers" ]]; }
wait_until 60 all_on_node_2
echo "all $chargers chargers connected to node-2 after $((SECONDS - killed_at)) s"
command_all "after the kill"
sleep 1
echo "events seen by the stream on node 2: $(grep -c '^event: charger.connected' "$out/events.txt") charger.connected ($chargers at first, and those that moved), $(grep -c '^event: command.answered' "$out/events.txt") command.answered (of $((2 * chargers)) sent through either node)"
echo "logs in $out"
