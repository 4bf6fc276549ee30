#!/usr/bin/env bash
# datadog-generate.sh [--check] : write terraform/modules/datadog/generated/main.tf from the
# service's SLO specs (`slo generate datadog-terraform app/slos`). With --check, write nothing
# and fail when the committed file differs from what the specs generate (CI).
# SLO_BIN: the slo binary (default: `cargo run -q -p slo --`).
#
# Datadog's SLO time frames are 7d, 30d and 90d; the fulfillment spec's windows are 28d and
# the calendar month. The mapping is explicit and visible: each mapped SLO carries a comment
# and a `kura_window` tag, and burn tiers whose long window is over 48h (Datadog's burn-rate
# alerts take no longer) are left out, each named in a comment.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."

target=terraform/modules/datadog/generated/main.tf
MAPPING=(--datadog-window 28d=30d --datadog-window month=30d --datadog-skip-long-tiers)
generated="$(mktemp)"
trap 'rm -f "$generated"' EXIT
if [ -n "${SLO_BIN:-}" ]; then
  "$SLO_BIN" generate datadog-terraform "${MAPPING[@]}" app/slos > "$generated"
else
  cargo run -q -p slo --locked -- generate datadog-terraform "${MAPPING[@]}" app/slos > "$generated"
fi
if [ "${1:-}" = --check ]; then
  diff -u "$target" "$generated" || die "$target is stale: run infra/deploy/datadog-generate.sh and commit it"
  log "$target is up to date"
else
  cp "$generated" "$target"
  log "wrote $target"
fi
