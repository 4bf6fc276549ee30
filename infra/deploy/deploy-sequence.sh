#!/usr/bin/env bash
# deploy-sequence.sh URL : the deploy sequence of deploy.yml in one process, for one machine and
# for the deploy-sequence test:
#
#   maintenance on (when KURA_MAINTENANCE=true) → migrate → roll out ($KURA_ROLLOUT_CMD, if
#   set) → smoke test against URL → maintenance off, whatever happened in between.
#
# The workflow runs the same scripts as separate steps (maintenance off is its `if: always()`
# step); here a trap does that job, so a failure in the middle never leaves the service in
# maintenance. Exits with the status of the first step that failed.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

url="${1:?usage: deploy-sequence.sh URL}"
here="$(dirname "$0")"
maintenance_on=false

finish() {
  local status=$?
  if [ "$maintenance_on" = true ]; then
    # Retried: leaving maintenance on is the one outcome this sequence must never have.
    local attempt
    for attempt in 1 2 3; do
      if "$here/maintenance.sh" off "deploy of ${KURA_SHA:-unknown} finished (exit ${status})"; then
        maintenance_on=false
        break
      fi
      log "maintenance off failed (attempt ${attempt}); retrying"
      sleep "$attempt"
    done
    if [ "$maintenance_on" = true ]; then
      log "MAINTENANCE IS STILL ON: run 'fulfillment maintenance off --reason ...' now"
      status=1
    fi
  fi
  exit "$status"
}
trap finish EXIT

if [ "${KURA_MAINTENANCE:-false}" = true ]; then
  maintenance_on=true   # set first: a half-done `on` is switched off too
  "$here/maintenance.sh" on
fi
"$here/migrate.sh"
if [ -n "${KURA_ROLLOUT_CMD:-}" ]; then
  log "roll out: ${KURA_ROLLOUT_CMD}"
  bash -c "$KURA_ROLLOUT_CMD"
fi
"$here/smoke.sh" "$url"
