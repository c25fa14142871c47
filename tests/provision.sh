#!/usr/bin/env bash
# What the test suite needs beyond Rust, installed where it is missing, so
# that `bash tests/run` passes on a fresh machine with Rust and nothing
# else: Go (from the Go module proxy when missing or older than 1.26),
# valgrind and jq (Debian packages), Chromium (a Debian package) and
# Mermaid (npm, pinned in tests/render/package-lock.json), benchstat (the
# Go module proxy, pinned), and the Prometheus OpenMetrics parser (PyPI,
# pinned, in a virtualenv). Per-user installs go under
# ${XDG_CACHE_HOME:-~/.cache}/memgate and Go's GOPATH. Sourced by tests/run
# and .ci/run; it exports PATH with Go and its installed tools. A tool that
# cannot be installed stops here, saying how to install it.
# usage: . tests/provision.sh
set -euo pipefail

need() { command -v "$1" >/dev/null 2>&1; }
cannot() {
  echo "tests/provision.sh: cannot install $1; install it and run again: $2" >&2
  exit 1
}
if ! need cargo; then
  cannot "Rust" "https://rustup.rs (rustup installs cargo)"
fi
sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
apt_install() {
  { [ -z "$sudo" ] || need sudo; } && need apt-get &&
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" ||
    cannot "$*" "apt-get install $* (as root), or your system's package of the same name"
}
# Go builds the Go workloads and the pinned benchstat, which needs Go 1.26.
# Distribution packages lag (Debian 12's golang-go is 1.19), so a missing or
# older Go is replaced by the toolchain the Go module proxy serves as the
# module golang.org/toolchain (what GOTOOLCHAIN downloads).
GO_MIN=1.26.0
GO_PINNED=1.26.8
go_ok() {
  need go || return 1
  local v
  v=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$GO_MIN" "$v" | sort -V | head -n1)" = "$GO_MIN" ]
}
if ! go_ok; then
  echo "== Go missing or older than $GO_MIN ($(go env GOVERSION 2>/dev/null || echo none)): installing go$GO_PINNED from the Go module proxy"
  arch=$(uname -m); case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
  mod="v0.0.1-go$GO_PINNED.linux-$arch"
  dest="${XDG_CACHE_HOME:-$HOME/.cache}/memgate/go-toolchain"
  root="$dest/golang.org/toolchain@$mod"
  if [ ! -x "$root/bin/go" ]; then
    mkdir -p "$dest"
    zip="$dest/$mod.zip"
    curl -fsSL --retry 3 -o "$zip" "${GOPROXY_URL:-https://proxy.golang.org}/golang.org/toolchain/@v/$mod.zip" ||
      cannot "go$GO_PINNED" "https://go.dev/dl/ (Go $GO_MIN or newer on PATH)"
    python3 -m zipfile -e "$zip" "$dest"
    rm -f "$zip"
    # Module zips keep no file modes.
    chmod +x "$root"/bin/* "$root"/pkg/tool/*/*
  fi
  export PATH="$root/bin:$PATH" GOTOOLCHAIN=local
  go_ok || { echo "the Go toolchain at $root does not run" >&2; exit 1; }
fi
echo "== $(go version)"
# valgrind runs the valgrind-dhat collector's tests; jq, the workflows' scripts (tests/cli/workflow_scripts.rs).
need valgrind || apt_install valgrind
need jq || apt_install jq
# Chromium and Mermaid (pinned in tests/render/package-lock.json) render
# the Markdown report in tests/cli/render.rs, as GitHub shows it.
# Mermaid goes to the user's cache, where the test finds it from any clone.
[ -x /usr/bin/chromium ] || apt_install chromium
render="${XDG_CACHE_HOME:-$HOME/.cache}/memgate/render"
if ! cmp -s tests/render/package-lock.json "$render/package-lock.json" ||
  [ ! -f "$render/node_modules/mermaid/dist/mermaid.min.js" ]; then
  mkdir -p "$render"
  cp tests/render/package.json tests/render/package-lock.json "$render/"
  need npm || apt_install npm
  npm ci --prefix "$render" --silent --no-audit --no-fund ||
    cannot "Mermaid" "npm ci --prefix $render (with tests/render/package*.json copied there)"
fi

# benchstat, the independent reference for the statistics tests, at the
# version fixtures/benchstat/ was recorded with.
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
gobin=$(go env GOPATH)/bin
if ! "$gobin/benchstat" -h 2>&1 | grep -q 'Usage: benchstat'; then
  go install "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION" ||
    cannot benchstat "go install golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"
fi
export PATH="$gobin:$PATH"

# The Prometheus project's OpenMetrics parser (client_python), which reads
# back memgate's export in tests/cli/export.rs.
PROM_CLIENT_VERSION=0.21.1
prom_env="${XDG_CACHE_HOME:-$HOME/.cache}/memgate/pyprom"
if ! "$prom_env/bin/python" -c "import prometheus_client" 2>/dev/null; then
  python3 -m venv "$prom_env"
  "$prom_env/bin/pip" install --quiet "prometheus-client==$PROM_CLIENT_VERSION" ||
    cannot prometheus-client "python3 -m venv $prom_env && $prom_env/bin/pip install prometheus-client==$PROM_CLIENT_VERSION"
fi
