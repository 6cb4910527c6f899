#!/usr/bin/env bash
# Property-based run of the REST API against its own OpenAPI description (schemathesis): every
# operation gets generated valid and invalid requests, with an admin token, and no answer may be
# a server error (5xx). CI runs it after the test suite; run it locally the same way:
#
#     bash scripts/api-fuzz.sh            # EVCMS_FUZZ_EXAMPLES=20 cases per operation and phase
#
# It builds and starts evcms (debug build) on a fresh SQLite file and a free loopback port, logs
# in with curl, runs schemathesis, and stops the server; its log is printed when the run fails.
# schemathesis comes from PyPI into a virtual environment of its own (EVCMS_FUZZ_VENV).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${EVCMS_FUZZ_VENV:-${TMPDIR:-/tmp}/evcms-schemathesis}"
examples="${EVCMS_FUZZ_EXAMPLES:-20}"
if ! [ -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'schemathesis>=4.32,<5'
fi
"$venv/bin/schemathesis" --version

cargo build --bin evcms --locked --quiet
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
password='Api-fuzz-admin-password-1'
EVCMS_ADMIN_PASSWORD="$password" DATABASE_URL="sqlite://$work/evcms.db?mode=rwc" \
    EVCMS_BIND="127.0.0.1:$port" RUST_LOG=warn target/debug/evcms >"$work/server.log" 2>&1 &
server=$!
stop() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap stop EXIT

for _ in $(seq 1 100); do
    curl -sf "$base/api/health" >/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 0.2
done
token=$(curl -sf -X POST "$base/api/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"admin@evcms.local\",\"password\":\"$password\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

# Logging out and changing the password revoke the token the run uses: left out, so that the
# other operations are exercised signed in. The event stream never ends by design: its own tests
# (tests/events.rs) cover it.
# Run from the temporary folder: schemathesis keeps state files in its working directory.
if ! (cd "$work" && "$venv/bin/schemathesis" run "$base/api/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error \
    --max-examples "$examples" \
    --phases examples,coverage,fuzzing \
    --exclude-path /api/auth/logout \
    --exclude-path /api/auth/password \
    --exclude-path /api/cms/events \
    --request-timeout 30 \
    --seed 1 \
    --generation-database none \
    --generation-with-security-parameters false \
    --no-color \
    --report-dir "$work/report"); then
    echo "== server log (errors and warnings)"
    grep -E 'ERROR|WARN' "$work/server.log" | tail -n 50 || true
    exit 1
fi
