#!/usr/bin/env bash
# run-fulfillment.sh ARGS... : run one `fulfillment` command (migrate, maintenance on|off, seed,
# mask) against the environment's database, and exit with its status.
#
# KURA_TASK_RUNNER selects where it runs:
#   local (default)  the `fulfillment` binary on PATH (or $FULFILLMENT_BIN), with the caller's
#                    DATABASE_URL: one machine, and the deploy-sequence test.
#   ecs              a one-off Fargate task of the fulfillment task definition, command
#                    overridden, in the service's private subnets: the database is reachable
#                    only from there, and the task reads DATABASE_URL from Secrets Manager, so
#                    no database credential ever reaches the runner.
#                    Needs ECS_CLUSTER, KURA_TASK_DEFINITION (family or ARN), TASK_SUBNETS and
#                    TASK_SECURITY_GROUPS (comma-separated), and AWS credentials (OIDC).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$#" -gt 0 ] || die "usage: run-fulfillment.sh ARGS..." 64

case "${KURA_TASK_RUNNER:-local}" in
  local)
    log "fulfillment $1 (local)"
    exec "${FULFILLMENT_BIN:-fulfillment}" "$@"
    ;;
  ecs)
    exec "$(dirname "$0")/run-task.sh" "${KURA_CONTAINER:-fulfillment}" fulfillment "$@"
    ;;
  *) die "KURA_TASK_RUNNER must be local or ecs" 64 ;;
esac
