#!/usr/bin/env bash
# maintenance.sh on|off [REASON] : switch the fulfillment service's maintenance mode (writes
# answer 503 with Retry-After; the SLO controller reads it from the admin listener's
# /maintenance and pages nobody meanwhile). The actor is the GitHub user who started the run.
# `off` is safe to repeat and is what the deploy's `if: always()` step runs.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

state="${1:-}"
case "$state" in on|off) ;; *) die "usage: maintenance.sh on|off [REASON]" 64 ;; esac
reason="${2:-deploy of ${KURA_SHA:-unknown} ($(run_url))}"
actor="${GITHUB_ACTOR:-${USER:-cli}}"
"$(dirname "$0")/run-fulfillment.sh" maintenance "$state" --reason "$reason" --actor "$actor"
summary "- maintenance **${state}** (${actor}): ${reason}"
