#!/usr/bin/env bash
# datadog-generate.sh [--check] : write terraform/modules/datadog/generated/main.tf from the
# service's SLO specs (`slo generate datadog-terraform app/slos`). With --check, write nothing
# and fail when the committed file differs from what the specs generate (CI).
# SLO_BIN: the slo binary (default: `cargo run -q -p slo --`).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."

target=terraform/modules/datadog/generated/main.tf
generated="$(mktemp)"
trap 'rm -f "$generated"' EXIT
if [ -n "${SLO_BIN:-}" ]; then
  "$SLO_BIN" generate datadog-terraform app/slos > "$generated"
else
  cargo run -q -p slo --locked -- generate datadog-terraform app/slos > "$generated"
fi
if [ "${1:-}" = --check ]; then
  diff -u "$target" "$generated" || die "$target is stale: run infra/deploy/datadog-generate.sh and commit it"
  log "$target is up to date"
else
  cp "$generated" "$target"
  log "wrote $target"
fi
