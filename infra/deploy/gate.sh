#!/usr/bin/env bash
# gate.sh : ask the SLO controller whether this change may be deployed now (`slo gate`), for
# the slo-gate composite action and for anyone at a terminal.
#
# Settings (the action's inputs): GATE_SERVICE, GATE_ENVIRONMENT, GATE_SHA, GATE_REF,
# GATE_LABELS (comma- or space-separated), GATE_CONTROLLER (URL), GATE_WAIT (how long a
# `hold` is re-evaluated, e.g. 10m), GATE_BLOCK_ON_ERROR (true: an unreachable controller
# blocks, the default).
#
# `slo gate` exits 0 approve, 1 reject, 2 hold (still holding when --wait ran out), 3 error,
# and writes its decision and reasons to $GITHUB_STEP_SUMMARY. Outputs `decision`
# (approve|reject|hold|error), `exit-code` and `reasons` (its report, several lines).
# Exits 0 only when the deploy may go on.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

need GATE_SERVICE GATE_ENVIRONMENT GATE_SHA
args=(gate --service "$GATE_SERVICE" --environment "$GATE_ENVIRONMENT" --sha "$GATE_SHA")
if [ -n "${GATE_REF:-}" ]; then args+=(--ref "$GATE_REF"); fi
for label in $(printf '%s' "${GATE_LABELS:-}" | tr ',' ' '); do args+=(--label "$label"); done
if [ -n "${GATE_CONTROLLER:-}" ]; then args+=(--controller "$GATE_CONTROLLER"); fi
if [ -n "${GATE_WAIT:-}" ]; then args+=(--wait "$GATE_WAIT"); fi

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
set +e
"${SLO_BIN:-slo}" "${args[@]}" > "$report"
code=$?
set -e
cat "$report" >&2

case "$code" in
  0) decision=approve ;;
  1) decision=reject ;;
  2) decision=hold ;;
  *) decision=error ;;
esac
output decision "$decision"
output exit-code "$code"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  delimiter="kura_gate_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  { printf 'reasons<<%s\n' "$delimiter"; cat "$report"; printf '%s\n' "$delimiter"; } >> "$GITHUB_OUTPUT"
fi

case "$decision" in
  approve) log "gate: approve" ;;
  reject) die "the SLO gate rejected ${GATE_SHA:0:12} for ${GATE_ENVIRONMENT}: see the reasons above" 1 ;;
  hold) die "the SLO gate still holds ${GATE_SHA:0:12} (data missing or stale) after ${GATE_WAIT:-its wait}" 1 ;;
  error)
    if [ "${GATE_BLOCK_ON_ERROR:-true}" = "true" ]; then
      die "the SLO gate could not decide (exit ${code}: controller unreachable or internal error)" 1
    fi
    log "warning: the SLO gate could not decide (exit ${code}); going on because block-on-error is false"
    if [ -n "${GITHUB_ACTIONS:-}" ]; then echo "::warning title=SLO gate::no decision (exit ${code}); deploying without it"; fi
    ;;
esac
