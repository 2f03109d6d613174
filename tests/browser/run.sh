#!/usr/bin/env bash
# GraphiQL in a real headless Chromium: starts target/debug/cosell on a free port with a
# throwaway data folder, takes Anna Admin's token from its start-up output and runs
# graphiql.test.mjs (node:test + playwright-core driving Debian's chromium; no browser is
# ever downloaded). Reads no standard input; exits non-zero when any test fails.
set -euo pipefail
exec </dev/null

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
[ -f "$root/Cargo.toml" ] || { echo "run.sh: no Cargo.toml in $root" >&2; exit 1; }
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
bin="${COSELL_BIN:-$target/debug/cosell}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

# Debian's Chromium, only when missing.
if [ ! -x /usr/bin/chromium ] && [ "$CHROMIUM" = /usr/bin/chromium ]; then
  echo "installing chromium (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
"$CHROMIUM" --version 2>/dev/null || true

cd "$here"
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi

if [ ! -x "$bin" ]; then
  echo "run.sh: $bin is missing (cargo build first)" >&2
  exit 1
fi

work="$(mktemp -d /tmp/cosell-browser.XXXXXX)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

# Start the server; a port taken between free_port and the bind is tried again.
started=""
for attempt in 1 2 3; do
  port="$(free_port)"
  log="$work/server-$attempt.log"
  "$bin" serve --data-dir "$work/data-$attempt" --listen "127.0.0.1:$port" \
    --seed-customers 20 --log-filter warn >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 600); do   # up to 60 s: migrations and demo data come first
    if grep -q '^GraphiQL:' "$log"; then started=1; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$started" ] && break
  echo "cosell did not start (attempt $attempt); its output:" >&2
  cat "$log" >&2
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
done
[ -n "$started" ] || { echo "run.sh: cosell never started" >&2; exit 1; }

# "  Anna Admin <anna@contoso.example> ..." then "  http://127.0.0.1:PORT/graphql#token=TOKEN".
token="$(awk '/<anna@contoso\.example>/ { found = 1; next }
              found && /#token=/ { sub(/.*#token=/, ""); print; exit }' "$log")"
[ -n "$token" ] || { echo "run.sh: no token for anna@contoso.example in:" >&2; cat "$log" >&2; exit 1; }

# Serving, not just printing.
for _ in $(seq 100); do
  node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' \
    "http://127.0.0.1:$port/healthz" && break
  sleep 0.1
done

echo "$("$bin" --version 2>/dev/null || echo cosell) on 127.0.0.1:$port (pid $server_pid)"
export COSELL_URL="http://127.0.0.1:$port"
export COSELL_TOKEN="$token"
export ARTIFACTS="$here/artifacts"
status=0
node --test --test-reporter=spec --test-timeout=180000 graphiql.test.mjs || status=$?

# Anything the server logged at warn or above while the browser used it.
if grep -vE '^(Demo |  |$|GraphiQL:)' "$log" | grep -q .; then
  echo "-- cosell logged:"
  grep -vE '^(Demo |  |$|GraphiQL:)' "$log" | tail -n 50
fi
exit "$status"
