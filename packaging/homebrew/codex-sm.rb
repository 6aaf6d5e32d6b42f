# Homebrew formula for codex-sm, installed from the npm tarball (`make package` builds the same
# file into dist/pkg/). Checked here with `ruby -c` and test/integration/homebrew-formula.test.ts;
# the steps for a real Mac (audit, install, brew services) are in docs/macos.md.
class CodexSm < Formula
  desc "Session manager and supervisor for the Codex coding agent"
  homepage "https://www.npmjs.com/package/codex-sm"
  url "https://registry.npmjs.org/codex-sm/-/codex-sm-0.1.0.tgz"
  # Set on release: shasum -a 256 dist/pkg/codex-sm-<version>.tgz (the file npm publishes).
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "Apache-2.0"

  # node@24, an LTS codex-sm supports, not `node`: that formula moves to each new major (27 in
  # April 2027), which is refused until it is supported (src/node-support.ts).
  # On it codex-sm loads better-sqlite3 13, prebuilt for macOS; npm still compiles unix-dgram and
  # better-sqlite3 12 (node-gyp, Xcode Command Line Tools).
  depends_on "node@24"

  def install
    system "npm", "install", *std_npm_args
    # node@24 is keg-only: the CLI must not run on whatever `node` comes first on PATH.
    (bin/"codex-sm").write_env_script libexec/"bin/codex-sm", PATH: "#{Formula["node@24"].opt_bin}:$PATH"
    generate_completions_from_executable(bin/"codex-sm", "completion")
    (man1/"codex-sm.1").write Utils.safe_popen_read(bin/"codex-sm", "completion", "man")
  end

  # The same process `codex-sm install-service` puts in its LaunchAgent: absolute node, the
  # package's main.js, `serve`. The flags install-service adds (--host, --port, --codex-home,
  # --token-file, --codex-bin) are what `serve` resolves by itself from HOME and PATH, so they
  # are left out here: the bottle is built on another machine, under another HOME.
  service do
    run [Formula["node@24"].opt_bin/"node", opt_libexec/"lib/node_modules/codex-sm/dist/src/cli/main.js", "serve"]
    # Restart after a crash, not after a deliberate clean exit (install-service's KeepAlive).
    keep_alive successful_exit: false
    log_path var/"log/codex-sm.log"
    error_log_path var/"log/codex-sm.err.log"
    # PATH finds Homebrew's `codex`; CODEX_SM_LOG_FILES lets the service truncate its own logs.
    environment_variables PATH:               std_service_path_env,
                          CODEX_SM_LOG_FILES: "#{var}/log/codex-sm.log:#{var}/log/codex-sm.err.log"
  end

  test do
    assert_equal version.to_s, JSON.parse(shell_output("#{bin}/codex-sm version --json"))["version"]
    # doctor exits 1 when a check fails, and `codex` (not a dependency) may be missing here; what
    # must hold is that the installed CLI runs on Homebrew's node with a valid (default) config.
    checks = JSON.parse(shell_output("#{bin}/codex-sm doctor --json", nil))["checks"]
    statuses = checks.to_h { |c| [c["name"], c["status"]] }
    assert_equal "ok", statuses["node"]
    assert_equal "ok", statuses["sqlite"]
    assert_equal "ok", statuses["config"]
  end
end
