#!/bin/bash
# Builds dist/pkg/codex-sm_<version>_<arch>.deb with dpkg-deb from a built checkout
# (`make package-deb` builds first). Needs: node + npm (the registry, for the production
# dependencies; better-sqlite3 compiles from source for this machine's Node ABI), dpkg-deb,
# gzip, strip. No fakeroot: --root-owner-group makes every file root:root.
#
# What goes where (docs/install.md, "Debian package"):
#   /usr/lib/codex-sm                 the app: what package.json `files` lists, production node_modules
#   /usr/bin/codex-sm                 symlink to its CLI
#   /usr/lib/systemd/user/            codex-sm.service, codex-sm-update.{service,timer} (render-units.mjs)
#   /usr/share/man/man1/codex-sm.1.gz and the bash/zsh/fish completions, from `codex-sm completion`
# No maintainer scripts at all: installing enables nothing, and removing touches no user's files.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$ROOT/dist/pkg}
NODE=${NODE:-node}
NPM=${NPM:-npm}

for tool in dpkg-deb dpkg gzip strip "$NODE" "$NPM"; do
  command -v "$tool" >/dev/null || {
    echo "package-deb: $tool is missing (apt-get install dpkg-dev)" >&2
    exit 69
  }
done
[ -f "$ROOT/dist/src/cli/main.js" ] || {
  echo "package-deb: no build in $ROOT/dist (run make build first)" >&2
  exit 66
}

VERSION=$("$NODE" -p "require('$ROOT/package.json').version")
ARCH=$(dpkg --print-architecture) # native module inside: built for this architecture only
# ...and for this node major's ABI (unix-dgram, better-sqlite3 12 on Node 20): Depends says which.
NODE_MAJOR=$("$NODE" -p 'process.versions.node.split(".")[0]')
CHANGELOG_VERSION=$(sed -n '1s/^codex-sm (\([^)]*\)).*/\1/p' "$HERE/changelog")
if [ "$CHANGELOG_VERSION" != "$VERSION" ]; then
  echo "package-deb: packaging/deb/changelog starts at $CHANGELOG_VERSION, package.json says $VERSION: add an entry" >&2
  exit 65
fi
# Reproducible man page date and file times: the last commit, else the changelog file.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || stat -c %Y "$HERE/changelog")}
export SOURCE_DATE_EPOCH

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/codex-sm-deb.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
PKG=$STAGE/root
APP=$PKG/usr/lib/codex-sm
DOC=$PKG/usr/share/doc/codex-sm
umask 022

# The app: exactly the files the npm package carries (package.json `files` is the one list of
# what runs; `npm pack --dry-run` applies it, negations included, so nothing is named twice),
# plus the lockfile for the install below. Not README.md, which npm always adds: documentation
# is not part of the app.
mkdir -p "$APP"
(cd "$ROOT" && "$NPM" pack --dry-run --json --loglevel=error) |
  "$NODE" -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      for (const f of JSON.parse(s)[0].files) if (f.path !== "README.md") console.log(f.path);
    });' >"$STAGE/files"
[ -s "$STAGE/files" ] || {
  echo "package-deb: npm pack --dry-run listed no files" >&2
  exit 70
}
(cd "$ROOT" && xargs -d '\n' cp -p --parents -t "$APP" <"$STAGE/files")
cp "$ROOT/package-lock.json" "$APP/"

# Production dependencies from the lockfile, native modules compiled here.
# JOBS: node-gyp compiles with every core (better-sqlite3's SQLite takes minutes on one).
(cd "$APP" && JOBS=${JOBS:-max} "$NPM" ci --omit=dev --no-audit --no-fund --loglevel=error)
rm "$APP/package-lock.json"
# What only building needed: compiler inputs, object files, test suites, other platforms' files.
rm -rf "$APP"/node_modules/.bin "$APP"/node_modules/.package-lock.json
for mod in "$APP"/node_modules/*/ "$APP"/node_modules/@*/*/; do
  [ -f "$mod/binding.gyp" ] || continue
  rm -rf "$mod/deps" "$mod/src" "$mod/build/Release/obj" "$mod/build/Release/obj.target" \
    "$mod/build/Release/.deps" "$mod/build/Release/test_extension.node" "$mod/build/Release/"*.a \
    "$mod/build/deps" \
    "$mod/build/Makefile" "$mod/build/"*.mk "$mod/build/config.gypi" "$mod/build/node_gyp_bins"
done
# better-sqlite3 13 (on a Node >= 22 build) ships binaries for every platform: keep this one's
# (the tree is checked below, once it is what ships).
find "$APP/node_modules" -path '*/prebuilds/*.node' ! -name "linux-$("$NODE" -p process.arch).node" -delete
find "$APP/node_modules" \( -name '*.node' \) -exec strip --strip-unneeded {} +
find "$APP/node_modules" -depth \( -name test -o -name tests -o -name .github \) -type d -exec rm -rf {} +
find "$APP/node_modules" \( -name '.npmignore' -o -name '.eslintrc*' -o -name '.travis.yml' \
  -o -name '*.map' -o -name '.editorconfig' -o -name '.gitattributes' \) -type f -delete
# Module docs that load scripts from CDNs (lintian: privacy-breach-generic); nothing requires them.
find "$APP/node_modules" -name '*.html' -type f -delete
rm -rf "$APP"/node_modules/*/.husky
# node-gyp (usocket's install-time dependency) compiled the modules above; nothing requires it
# at run time, and its Python scripts would need python3.
rm -rf "$APP/node_modules/node-gyp"
# Modes as npm left them (scripts with a #! keep their x bit), minus group/other write;
# shared objects are not executables (lintian: shared-library-is-executable).
chmod -R u+rwX,go+rX,go-w "$APP"
# An x bit exactly on what can run: files with a #! line (lintian: script-not-executable,
# executable-not-elf-or-script).
find "$APP" -type f ! -name '*.node' -print0 | while IFS= read -r -d '' f; do
  if [ "$(head -c2 "$f" | tr -d '\0')" = '#!' ]; then chmod 0755 "$f"; else chmod 0644 "$f"; fi
done
find "$APP/node_modules" -name '*.node' -exec chmod 0644 {} +
chmod 0755 "$APP/dist/src/cli/main.js"
# The tree as it ships (pruned, stripped): the app's own loader (service/sqlite.ts: 13, or 12
# where 13 has no binary and 12 is safe) must open a database; a module loads its binary only then.
"$NODE" --input-type=module -e "(await import(process.argv[1])).openSqlite(':memory:').close()" \
  "$APP/dist/service/sqlite.js" || {
  echo "package-deb: no SQLite module of the package opens a database on this node after pruning" >&2
  exit 70
}

mkdir -p "$PKG/usr/bin"
ln -s ../lib/codex-sm/dist/src/cli/main.js "$PKG/usr/bin/codex-sm"

"$NODE" "$HERE/render-units.mjs" "$PKG/usr/lib/systemd/user" >/dev/null

# Man page and completions from the packaged CLI itself (the command tree it ships).
CLI=("$NODE" "$APP/dist/src/cli/main.js")
mkdir -p "$PKG/usr/share/man/man1" "$PKG/usr/share/bash-completion/completions" \
  "$PKG/usr/share/zsh/vendor-completions" "$PKG/usr/share/fish/vendor_completions.d"
"${CLI[@]}" completion man | gzip -9n >"$PKG/usr/share/man/man1/codex-sm.1.gz"
"${CLI[@]}" completion bash >"$PKG/usr/share/bash-completion/completions/codex-sm"
"${CLI[@]}" completion zsh >"$PKG/usr/share/zsh/vendor-completions/_codex-sm"
"${CLI[@]}" completion fish >"$PKG/usr/share/fish/vendor_completions.d/codex-sm.fish"

mkdir -p "$DOC"
"$NODE" "$HERE/copyright.mjs" "$APP/node_modules" <"$HERE/copyright" >"$DOC/copyright"
gzip -9n <"$HERE/changelog" >"$DOC/changelog.gz"

mkdir -p "$PKG/DEBIAN"
INSTALLED_SIZE=$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$INSTALLED_SIZE/" \
  -e "s/@NODE_MAJOR@/$NODE_MAJOR/" -e "s/@NODE_NEXT@/$((NODE_MAJOR + 1))/" \
  "$HERE/control" >"$PKG/DEBIAN/control"
(cd "$PKG" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) >"$PKG/DEBIAN/md5sums"
chmod 0644 "$PKG/DEBIAN/control" "$PKG/DEBIAN/md5sums"
find "$PKG" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$OUT"
DEB=$OUT/codex-sm_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
