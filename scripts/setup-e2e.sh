#!/usr/bin/env bash
# The end-to-end harness's own tools, installed into .e2e/ (git-ignored), never into the project's
# package.json: users of the extension never download code-server.
#   - code-server 4.100.3: a complete VS Code 1.100.3 (server, workbench, built-in extensions) that
#     serves the workbench to a browser and runs extensions in its Node extension host;
#   - playwright-core: drives Debian's Chromium (/usr/bin/chromium), never a downloaded browser.
# Works offline except for the npm registry: code-server's postinstall downloads ripgrep from
# GitHub, so its download cache is pre-seeded with Debian's rg (see ENVIRONMENT.md).
# Needs Debian packages chromium, ripgrep, libkrb5-dev (scripts/setup-test-env.sh installs them).
# Idempotent: a second run with everything in place only checks versions.
set -euo pipefail
cd "$(dirname "$0")/.."

CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_CORE_VERSION=1.65.1
E2E_DIR=.e2e

for cmd in rg chromium; do
  command -v "$cmd" >/dev/null || { echo "setup-e2e: '$cmd' is missing; install the Debian packages ripgrep and chromium (scripts/setup-test-env.sh does)" >&2; exit 1; }
done

installed_version() { node -p "require('./$E2E_DIR/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(installed_version code-server)" = "$CODE_SERVER_VERSION" ] && [ "$(installed_version playwright-core)" = "$PLAYWRIGHT_CORE_VERSION" ] \
  && [ -x "$E2E_DIR/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ]; then
  echo "setup-e2e: code-server $CODE_SERVER_VERSION and playwright-core $PLAYWRIGHT_CORE_VERSION already in $E2E_DIR" >&2
  exit 0
fi

# @vscode/ripgrep's postinstall looks for this archive in its cache before downloading it.
RG_CACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
RG_ARCHIVE="$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -s "$RG_ARCHIVE" ]; then
  mkdir -p "$RG_CACHE"
  staging="$(mktemp -d)"
  cp "$(command -v rg)" "$staging/rg"
  tar -czf "$RG_ARCHIVE.tmp" -C "$staging" rg && mv "$RG_ARCHIVE.tmp" "$RG_ARCHIVE"
  rm -rf "$staging"
fi

mkdir -p "$E2E_DIR"
# A package of its own, so the project's package.json and lock file stay untouched.
cat > "$E2E_DIR/package.json" <<EOF
{ "name": "cvw-e2e-tools", "private": true, "description": "End-to-end test tools (scripts/setup-e2e.sh); not part of the package." }
EOF
echo "setup-e2e: installing code-server@$CODE_SERVER_VERSION and playwright-core@$PLAYWRIGHT_CORE_VERSION into $E2E_DIR (a few minutes)" >&2
# unsafe-perm: as root, npm would otherwise run code-server's install scripts as nobody, who cannot
# write its lib/vscode tree. PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: we use Debian's Chromium.
(
  cd "$E2E_DIR"
  npm_config_unsafe_perm=true npm_config_yes=true PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    npm install --no-audit --no-fund --no-save --loglevel=error \
      "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_CORE_VERSION"
)
test -x "$E2E_DIR/node_modules/.bin/code-server" || { echo "setup-e2e: code-server did not install (no $E2E_DIR/node_modules/.bin/code-server)" >&2; exit 1; }
echo "setup-e2e: ready: code-server $(installed_version code-server), playwright-core $(installed_version playwright-core) in $E2E_DIR" >&2
