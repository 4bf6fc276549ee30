#!/usr/bin/env bash
# rollout.sh SERVICE TASK_DEFINITION : a rolling deploy of one ECS service to a task definition
# revision, then wait until it is stable. The service's deployment circuit breaker (Terraform)
# rolls back by itself when new tasks keep failing their health checks (/readyz on the admin
# listener); this script then fails, so the workflow stops before the smoke test.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

service="${1:?usage: rollout.sh SERVICE TASK_DEFINITION}"
taskdef="${2:?usage: rollout.sh SERVICE TASK_DEFINITION}"
need ECS_CLUSTER

log "rolling ${service} to ${taskdef##*/}"
aws ecs update-service --cluster "$ECS_CLUSTER" --service "$service" --task-definition "$taskdef" \
  --query 'service.deployments[0].id' --output text >/dev/null

deadline=$(( $(date +%s) + ${KURA_ROLLOUT_TIMEOUT_SECONDS:-1800} ))
while :; do
  read -r primary state < <(aws ecs describe-services --cluster "$ECS_CLUSTER" --services "$service" \
    --query "services[0].deployments[?status=='PRIMARY'] | [0].[taskDefinition, rolloutState]" --output text)
  if [ "$primary" != "$taskdef" ]; then
    die "${service}: the deployment was rolled back by the circuit breaker (primary is ${primary##*/})"
  fi
  case "$state" in
    COMPLETED) break ;;
    FAILED) die "${service}: the deployment failed; see the service's events" ;;
  esac
  [ "$(date +%s)" -lt "$deadline" ] || die "${service}: not stable after ${KURA_ROLLOUT_TIMEOUT_SECONDS:-1800}s"
  sleep 15
done
summary "- ${service}: rolled out \`${taskdef##*/}\`"
