#!/usr/bin/env bash
# End-to-end test setup: code-server (a complete VS Code served to a browser) and
# the Debian packages the e2e tests need. Recipe: ../shared/e2e/README.md.
#
#   scripts/e2e-setup.sh          apt packages if missing, then code-server into
#                                 .cache/code-server/ (skipped when already complete)
#   scripts/e2e-setup.sh --deps   only the apt packages (used by .ci/run before npm ci)
#
# Idempotent: the marker file .cache/code-server/.complete is written last, and
# while it names the wanted version nothing is done. A half-finished install (no
# marker) is wiped and redone. A lock keeps concurrent runs from colliding.
set -euo pipefail

CODE_SERVER_VERSION=4.99.4
APT_PACKAGES=(libkrb5-dev ripgrep chromium)

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="$ROOT/.cache/code-server"
PKG="$CACHE/package"
MARKER="$CACHE/.complete"

log() { printf '[e2e-setup] %s\n' "$*" >&2; }

missing_apt_packages() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      printf '%s\n' "$p"
    fi
  done
}

ensure_apt_packages() {
  local missing
  mapfile -t missing < <(missing_apt_packages)
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  log "installing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      log "not root and no sudo: cannot install ${missing[*]}"
      return 1
    fi
  fi
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq)
  "${apt[@]}" update
  "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
}

is_complete() {
  [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$CODE_SERVER_VERSION" ] && [ -f "$PKG/out/node/entry.js" ]
}

install_code_server() {
  # Build native addons against the headers of the node that runs them; node-gyp
  # would otherwise download headers from nodejs.org, which is unreachable here.
  local nodedir
  nodedir="$(dirname "$(dirname "$(command -v node)")")"
  if [ -f "$nodedir/include/node/common.gypi" ]; then
    export npm_config_nodedir="$nodedir"
  fi
  export npm_config_yes=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
  local npm_install=(npm install --ignore-scripts --omit=dev --no-package-lock --loglevel=error)

  rm -rf "$CACHE"
  mkdir -p "$CACHE"
  log "fetching code-server@$CODE_SERVER_VERSION from the npm registry"
  (cd "$CACHE" && npm pack --loglevel=error "code-server@$CODE_SERVER_VERSION" >/dev/null)
  tar xzf "$CACHE/code-server-$CODE_SERVER_VERSION.tgz" -C "$CACHE"
  rm -f "$CACHE/code-server-$CODE_SERVER_VERSION.tgz"

  log "installing code-server dependencies (scripts off)"
  (cd "$PKG" && "${npm_install[@]}")
  log "installing VS Code dependencies (scripts off)"
  (cd "$PKG/lib/vscode" && "${npm_install[@]}")
  # @vscode/ripgrep's postinstall would download rg from GitHub: use Debian's.
  mkdir -p "$PKG/lib/vscode/node_modules/@vscode/ripgrep/bin"
  cp "$(command -v rg)" "$PKG/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"
  log "building native modules"
  (cd "$PKG/lib/vscode" && npm rebuild --loglevel=error node-pty @parcel/watcher @vscode/spdlog kerberos native-watchdog @vscode/deviceid)
  ln -sfn node_modules "$PKG/lib/vscode/node_modules.asar"
  log "installing built-in extension dependencies (scripts off)"
  (cd "$PKG/lib/vscode/extensions" && "${npm_install[@]}")
  (cd "$PKG" && npm rebuild --loglevel=error argon2)

  # Written last: its presence means every step above succeeded.
  printf '%s' "$CODE_SERVER_VERSION" > "$MARKER"
  log "code-server $CODE_SERVER_VERSION ready in ${CACHE#"$ROOT"/}"
}

main() {
  ensure_apt_packages
  if [ "${1:-}" = "--deps" ]; then
    return 0
  fi
  mkdir -p "$ROOT/.cache"
  exec 9>"$ROOT/.cache/code-server.lock"
  flock 9
  if is_complete; then
    log "code-server $CODE_SERVER_VERSION already installed (cached)"
    return 0
  fi
  local start=$SECONDS
  install_code_server
  log "took $((SECONDS - start)) s"
}

main "$@"
