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
    need ECS_CLUSTER KURA_TASK_DEFINITION TASK_SUBNETS TASK_SECURITY_GROUPS
    container="${KURA_CONTAINER:-fulfillment}"
    overrides="$(jq -cn --arg c "$container" '{containerOverrides: [{name: $c, command: (["fulfillment"] + $ARGS.positional)}]}' --args "$@")"
    network="awsvpcConfiguration={subnets=[${TASK_SUBNETS}],securityGroups=[${TASK_SECURITY_GROUPS}],assignPublicIp=DISABLED}"
    log "fulfillment $1 (one-off task of ${KURA_TASK_DEFINITION} on ${ECS_CLUSTER})"
    task="$(aws ecs run-task --cluster "$ECS_CLUSTER" --task-definition "$KURA_TASK_DEFINITION" \
      --launch-type FARGATE --network-configuration "$network" --overrides "$overrides" \
      --started-by "kura-deploy" --query 'tasks[0].taskArn' --output text)"
    if [ -z "$task" ] || [ "$task" = "None" ]; then die "the task did not start"; fi
    log "task $task started; waiting for it to stop"
    # `wait tasks-stopped` gives up after 10 minutes; a long migration keeps waiting.
    deadline=$(( $(date +%s) + ${KURA_TASK_TIMEOUT_SECONDS:-3600} ))
    until aws ecs wait tasks-stopped --cluster "$ECS_CLUSTER" --tasks "$task" 2>/dev/null; do
      [ "$(date +%s)" -lt "$deadline" ] || die "task $task still running after ${KURA_TASK_TIMEOUT_SECONDS:-3600}s"
    done
    read -r code reason < <(aws ecs describe-tasks --cluster "$ECS_CLUSTER" --tasks "$task" \
      --query "tasks[0].[containers[?name=='${container}'].exitCode | [0], stoppedReason]" --output text)
    log "task $task stopped: exit code ${code}, ${reason}"
    [ "$code" = "0" ] || die "fulfillment $1 failed (exit code ${code}); its log is in the task's CloudWatch stream" "${code//[!0-9]/}"
    ;;
  *) die "KURA_TASK_RUNNER must be local or ecs" 64 ;;
esac
