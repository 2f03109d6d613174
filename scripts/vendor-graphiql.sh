#!/usr/bin/env bash
# Vendor an offline GraphiQL (browser/UMD builds) into src/http/assets/.
#
# Only the npm registry is contacted (via `npm pack`). Versions and tarball
# integrity hashes are pinned below, so a rerun produces identical files.
# The vendored files are copied byte-for-byte; nothing is patched.
#
# Usage: scripts/vendor-graphiql.sh        (run from anywhere)
set -euo pipefail

# ---- pinned versions ---------------------------------------------------------
# graphiql 4.x still ships a UMD build (dist/index.umd.js, also published as
# graphiql.min.js) exposing window.GraphiQL incl. GraphiQL.createFetcher.
# It expects window.React / window.ReactDOM as globals.
GRAPHIQL_VERSION="4.1.2"
GRAPHIQL_INTEGRITY="sha512-rNlzQIAzm6i2KBXmVQWBgLvt0TloxFVB2d18bukvdsvjEuFDHsKx5IVOomL1W1o5WW+tE54+ioHb2AEKzO2cUg=="
# React 18 is the last major that ships umd/ builds.
REACT_VERSION="18.3.1"
REACT_INTEGRITY="sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ=="
REACT_DOM_VERSION="18.3.1"
REACT_DOM_INTEGRITY="sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw=="
# graphql-ws 6.x ships umd/graphql-ws.min.js exposing window.graphqlWs.
GRAPHQL_WS_VERSION="6.4.2"
GRAPHQL_WS_INTEGRITY="sha512-wxhPhhOGJo8PbGDkBYVE76sZLDrS+GkyrR4bZECSLVbo0pZZNKs0HtBh2Ip/uaUuiVUxwO9ssI9R92buQfNSqQ=="
# ------------------------------------------------------------------------------

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ASSETS="$ROOT/src/http/assets"
LICENSES="$ASSETS/licenses"

command -v npm >/dev/null || { echo "error: npm not found" >&2; exit 1; }
command -v node >/dev/null || { echo "error: node not found" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Keep npm quiet and self-contained (no project .npmrc, no audit/fund noise).
export npm_config_loglevel=error npm_config_fund=false npm_config_audit=false

sri_sha512() {
  node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"
}

# fetch <name> <version> <integrity>  -> extracts into $TMP/<name>/package
fetch() {
  local name="$1" version="$2" integrity="$3"
  local dir="$TMP/$name"
  mkdir -p "$dir"
  echo "==> npm pack $name@$version" >&2
  local tgz
  tgz="$(cd "$TMP" && npm pack --silent --ignore-scripts --pack-destination "$dir" "$name@$version" | tail -n1)"
  tgz="$dir/$tgz"
  [[ -f "$tgz" ]] || { echo "error: npm pack did not produce a tarball for $name@$version" >&2; exit 1; }
  local actual
  actual="$(sri_sha512 "$tgz")"
  if [[ "$actual" != "$integrity" ]]; then
    echo "error: integrity mismatch for $name@$version" >&2
    echo "  expected: $integrity" >&2
    echo "  actual:   $actual" >&2
    exit 1
  fi
  tar -xzf "$tgz" -C "$dir"
  local got
  got="$(node -p 'require(process.argv[1]).version' "$dir/package/package.json")"
  [[ "$got" == "$version" ]] || { echo "error: $name: got version $got, expected $version" >&2; exit 1; }
}

# copy <src> <dest-name>
copy() {
  [[ -f "$1" ]] || { echo "error: missing $1" >&2; exit 1; }
  cp "$1" "$ASSETS/$2"
}

# first existing file among args
first_of() {
  local f
  for f in "$@"; do [[ -f "$f" ]] && { echo "$f"; return 0; }; done
  echo "error: none of these exist: $*" >&2
  return 1
}

fetch graphiql   "$GRAPHIQL_VERSION"   "$GRAPHIQL_INTEGRITY"
fetch react      "$REACT_VERSION"      "$REACT_INTEGRITY"
fetch react-dom  "$REACT_DOM_VERSION"  "$REACT_DOM_INTEGRITY"
fetch graphql-ws "$GRAPHQL_WS_VERSION" "$GRAPHQL_WS_INTEGRITY"

mkdir -p "$ASSETS" "$LICENSES"

G="$TMP/graphiql/package"
copy "$G/graphiql.min.js"  graphiql.min.js     # == dist/index.umd.js
copy "$G/graphiql.min.css" graphiql.min.css    # == dist/style.css (fonts inlined as data: URIs)
copy "$TMP/react/package/umd/react.production.min.js"          react.production.min.js
copy "$TMP/react-dom/package/umd/react-dom.production.min.js"  react-dom.production.min.js
copy "$TMP/graphql-ws/package/umd/graphql-ws.min.js"           graphql-ws.min.js

cp "$(first_of "$G"/LICENSE "$G"/LICENSE.md)"                                         "$LICENSES/graphiql-LICENSE"
cp "$(first_of "$TMP"/react/package/LICENSE "$TMP"/react/package/LICENSE.md)"         "$LICENSES/react-LICENSE"
cp "$(first_of "$TMP"/react-dom/package/LICENSE "$TMP"/react-dom/package/LICENSE.md)" "$LICENSES/react-dom-LICENSE"
cp "$(first_of "$TMP"/graphql-ws/package/LICENSE "$TMP"/graphql-ws/package/LICENSE.md)" "$LICENSES/graphql-ws-LICENSE"

# Sanity checks: the bundles must expose the globals the page relies on.
grep -q '\.GraphiQL=' "$ASSETS/graphiql.min.js"   || { echo "error: graphiql.min.js is not a UMD build exposing window.GraphiQL" >&2; exit 1; }
grep -q 'createFetcher' "$ASSETS/graphiql.min.js" || { echo "error: graphiql.min.js lacks GraphiQL.createFetcher" >&2; exit 1; }
grep -q '\.graphqlWs=' "$ASSETS/graphql-ws.min.js" || { echo "error: graphql-ws.min.js does not expose window.graphqlWs" >&2; exit 1; }

cat > "$ASSETS/VERSIONS" <<EOF
# Vendored by scripts/vendor-graphiql.sh from the npm registry (npm pack).
# Files are byte-identical copies of the files named below.
# package     version  tarball integrity
graphiql      $GRAPHIQL_VERSION    $GRAPHIQL_INTEGRITY
react         $REACT_VERSION   $REACT_INTEGRITY
react-dom     $REACT_DOM_VERSION   $REACT_DOM_INTEGRITY
graphql-ws    $GRAPHQL_WS_VERSION    $GRAPHQL_WS_INTEGRITY

# asset                         <- package/path
graphiql.min.js                 <- graphiql@$GRAPHIQL_VERSION/graphiql.min.js (UMD, global GraphiQL)
graphiql.min.css                <- graphiql@$GRAPHIQL_VERSION/graphiql.min.css
react.production.min.js         <- react@$REACT_VERSION/umd/react.production.min.js (global React)
react-dom.production.min.js     <- react-dom@$REACT_DOM_VERSION/umd/react-dom.production.min.js (global ReactDOM)
graphql-ws.min.js               <- graphql-ws@$GRAPHQL_WS_VERSION/umd/graphql-ws.min.js (global graphqlWs)
licenses/graphiql-LICENSE       <- graphiql@$GRAPHIQL_VERSION/LICENSE
licenses/react-LICENSE          <- react@$REACT_VERSION/LICENSE
licenses/react-dom-LICENSE      <- react-dom@$REACT_DOM_VERSION/LICENSE
licenses/graphql-ws-LICENSE     <- graphql-ws@$GRAPHQL_WS_VERSION/LICENSE.md
EOF

echo "==> vendored into $ASSETS:" >&2
(cd "$ASSETS" && ls -l graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js graphql-ws.min.js VERSIONS licenses/) >&2
