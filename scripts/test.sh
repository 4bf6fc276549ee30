#!/usr/bin/env bash
# The README's test command: installs what the test suite drives for real when it is missing,
# makes sure PostgreSQL answers, then runs every test of the workspace.
#
#   bash scripts/test.sh [extra cargo test arguments]
#
# What it needs, and how it gets it:
# - Debian's `prometheus` (promtool: checks the service's /metrics and the generated rules, and a
#   real Prometheus for the SLO source tests), `prometheus-alertmanager` (a real Alertmanager for
#   the controller's receiver) and `chromium` (the dashboard and reports rendered headless):
#   installed with apt-get (through sudo when not root) if missing;
# - PostgreSQL at TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres, trust
#   auth): started with pg_ctlcluster when the machine has a cluster that is down. If none
#   answers, the PostgreSQL tests fail loudly (set TEST_POSTGRES_URL=disabled to skip them on
#   purpose).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1
  fi
}

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]} (Debian packages the tests drive for real)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if [ "$TEST_POSTGRES_URL" != disabled ] && command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && [ -d /etc/postgresql ]; then
    echo "== starting PostgreSQL"
    version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf "%f\n" | sort | head -n1)
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break; sleep 1; done
  fi
fi

echo "== cargo test --workspace"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked "$@" 2>&1 | tee "$log"
# One closing line for the whole suite, summed over every test binary; a run in which no test
# passed is a failure (a build that produced no tests, a filter that matched nothing).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed/) p += $(i-1); if ($(i) ~ /^failed/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f; exit (p == 0 || f > 0) }' "$log"
