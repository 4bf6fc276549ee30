#!/usr/bin/env bash
# report-deployment.sh STATE [DESCRIPTION] : post a status (success, failure, error,
# in_progress) on this run's GitHub deployment, the one GitHub created for the job's
# `environment:`. The SLO controller receives it as the App's `deployment_status` webhook; a
# `success` starts its post-deploy verification window (a page-level burn inside it marks the
# deployment failed and, if configured, dispatches rollback.yml with the previous good sha).
#
# Needs GH_TOKEN (the job's GITHUB_TOKEN with `deployments: write`), KURA_ENVIRONMENT, and the
# GITHUB_* variables of the run. KURA_SHA is the commit deployed (it can differ from the sha
# the workflow runs on); KURA_ENVIRONMENT_URL is linked from the deployment.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

state="${1:?usage: report-deployment.sh STATE [DESCRIPTION]}"
need GH_TOKEN GITHUB_REPOSITORY GITHUB_SHA KURA_ENVIRONMENT
sha="${KURA_SHA:-$GITHUB_SHA}"
description="${2:-kura ${sha:0:12}: ${state}}"
description="${description:0:140}"   # GitHub's limit

# The concurrency group allows one deploy per environment at a time, so the newest deployment
# of this environment for the run's sha is this run's.
id="$(gh api "repos/${GITHUB_REPOSITORY}/deployments?environment=${KURA_ENVIRONMENT}&sha=${GITHUB_SHA}&per_page=1" --jq '.[0].id // empty')"
if [ -z "$id" ]; then
  log "no GitHub deployment for ${KURA_ENVIRONMENT} at ${GITHUB_SHA}: nothing to report"
  exit 0
fi
args=(-X POST "repos/${GITHUB_REPOSITORY}/deployments/${id}/statuses"
  -f "state=${state}" -f "description=${description}" -f "log_url=$(run_url)" -F auto_inactive=true)
if [ -n "${KURA_ENVIRONMENT_URL:-}" ]; then args+=(-f "environment_url=${KURA_ENVIRONMENT_URL}"); fi
gh api "${args[@]}" --silent
summary "- deployment ${id} (${KURA_ENVIRONMENT}): **${state}**: ${description}"
