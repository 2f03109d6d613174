#!/usr/bin/env bash
# Real GraphQL clients against the real server: starts target/debug/cosell (built by
# `cargo test`/`cargo build`; this script builds nothing) on a free port with a fresh
# SQLite data folder and demo data, reads the demo tokens it prints, compiles the Relay
# operations, then runs every test in this folder with Node's test runner.
#
#   bash tests/clients/run.sh            # from anywhere; reads no standard input
#   COSELL_BIN=/path/to/cosell bash tests/clients/run.sh
#
# Exports to the tests: COSELL_URL (http://127.0.0.1:PORT), COSELL_WS_URL
# (ws://127.0.0.1:PORT/graphql/ws) and TOKEN_<FIRST NAME> for every demo user
# (TOKEN_ANNA, TOKEN_FRANK, TOKEN_MARIA, ...).
set -euo pipefail
exec </dev/null

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-target}
case "$target" in /*) ;; *) target="$root/$target" ;; esac
bin=${COSELL_BIN:-$target/debug/cosell}
if [ ! -x "$bin" ]; then
  echo "run.sh: no server binary at $bin (run cargo build or cargo test first)" >&2
  exit 1
fi
if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null; then
  echo "run.sh: Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cosell-clients.XXXXXX")
server_pid=
cleanup() {
  status=$?
  set +e
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$status" != 0 ] && [ -f "$work/server.log" ]; then
    # What the server logged while serving (after the banner with the demo tokens).
    echo "--- server output (last 40 lines) ---" >&2
    if grep -q '^GraphiQL:' "$work/server.log"; then
      awk 'seen; /^GraphiQL:/ { seen = 1 }' "$work/server.log"
    else
      cat "$work/server.log"
    fi | grep -v '#token=' | tail -n 40 | cut -c1-300 >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cd "$here"

# Dependencies exactly as locked.
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi

# Relay: compile the operations in relay/ against ../../schema.graphql into
# relay/__generated__ (a compile error fails the run here).
echo "== relay-compiler"
node_modules/.bin/relay-compiler

# A free port, then the server with a fresh data folder; should another process take
# the port between the two, the server exits and the next attempt picks another.
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
started=
for attempt in 1 2 3; do
  port=$(free_port)
  rm -rf "$work/data"
  echo "== starting $bin on 127.0.0.1:$port"
  "$bin" --data-dir "$work/data" --listen "127.0.0.1:$port" --seed-customers 20 \
    --log-filter warn >"$work/server.log" 2>&1 &
  server_pid=$!
  deadline=$(( $(date +%s) + 120 ))
  while :; do
    if grep -q '^GraphiQL:' "$work/server.log"; then started=1; break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      wait "$server_pid" 2>/dev/null || true
      echo "run.sh: the server exited before it printed 'GraphiQL:' (attempt $attempt):" >&2
      grep -v '#token=' "$work/server.log" | tail -n 20 >&2 || true
      server_pid=
      break
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "run.sh: the server did not print 'GraphiQL:' within 120 s" >&2
      exit 1
    fi
    sleep 0.2
  done
  if [ -n "$started" ]; then break; fi
done
[ -n "$started" ] || { echo "run.sh: the server did not start" >&2; exit 1; }

# The printed address (http://127.0.0.1:PORT/graphql) is the one the tests use.
graphiql=$(grep -m1 '^GraphiQL:' "$work/server.log" | sed -E 's/^GraphiQL:[[:space:]]*//')
export COSELL_URL=${graphiql%/graphql}
export COSELL_WS_URL="ws://${COSELL_URL#http://}/graphql/ws"

# "  Anna Admin <anna@contoso.example>  ..." followed by "  http://...#token=TOKEN".
count=0
while read -r name token; do
  export "TOKEN_$name=$token"
  count=$((count + 1))
done < <(awk '
  /^  [^ ].* <[^>]+@[^>]+>/ { split($1, a, /[^A-Za-z]/); name = toupper(a[1]); next }
  /#token=/ && name != "" { sub(/.*#token=/, ""); print name, $0; name = "" }
' "$work/server.log")
# The tests act as Anna (graphql-ws, schema), Frank (Apollo), Nadia (urql), Alex (Relay):
# one organization each, so no test sees another's events.
for name in ANNA FRANK NADIA ALEX MARIA; do
  var=TOKEN_$name
  if [ -z "${!var:-}" ]; then
    echo "run.sh: no token for $name in the server output ($count tokens read)" >&2
    exit 1
  fi
done
echo "== server at $COSELL_URL ($count demo tokens)"

echo "== node --test"
# One file at a time: a stable order and readable output.
node --test --test-concurrency=1 --test-reporter=spec --test-timeout=120000 test/*.test.js
