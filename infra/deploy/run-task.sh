#!/usr/bin/env bash
# run-task.sh CONTAINER COMMAND... : run COMMAND as a one-off Fargate task of the task definition
# KURA_TASK_DEFINITION (family or ARN), with CONTAINER's command overridden, in the private
# subnets TASK_SUBNETS with the security groups TASK_SECURITY_GROUPS (comma-separated), on
# ECS_CLUSTER; wait for it to stop and exit with the container's exit code. Its output is in
# the task's CloudWatch log stream (linked in the log).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$#" -ge 2 ] || die "usage: run-task.sh CONTAINER COMMAND..." 64
container="$1"; shift
need ECS_CLUSTER KURA_TASK_DEFINITION TASK_SUBNETS TASK_SECURITY_GROUPS
overrides="$(jq -cn --arg c "$container" '{containerOverrides: [{name: $c, command: $ARGS.positional}]}' --args "$@")"
network="awsvpcConfiguration={subnets=[${TASK_SUBNETS}],securityGroups=[${TASK_SECURITY_GROUPS}],assignPublicIp=DISABLED}"
log "$1 $2 (one-off task of ${KURA_TASK_DEFINITION##*/} on ${ECS_CLUSTER##*/})"
task="$(aws ecs run-task --cluster "$ECS_CLUSTER" --task-definition "$KURA_TASK_DEFINITION" \
  --launch-type FARGATE --network-configuration "$network" --overrides "$overrides" \
  --started-by kura-workflow --query 'tasks[0].taskArn' --output text)"
if [ -z "$task" ] || [ "$task" = "None" ]; then die "the task did not start"; fi
log "task ${task##*/} started; waiting for it to stop"
# `aws ecs wait tasks-stopped` gives up after 10 minutes; a long migration keeps waiting.
deadline=$(( $(date +%s) + ${KURA_TASK_TIMEOUT_SECONDS:-3600} ))
until aws ecs wait tasks-stopped --cluster "$ECS_CLUSTER" --tasks "$task" 2>/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || die "task ${task##*/} still running after ${KURA_TASK_TIMEOUT_SECONDS:-3600}s"
done
read -r code reason < <(aws ecs describe-tasks --cluster "$ECS_CLUSTER" --tasks "$task" \
  --query "tasks[0].[containers[?name=='${container}'].exitCode | [0], stoppedReason]" --output text)
log "task ${task##*/} stopped: exit code ${code}, ${reason}"
if [ "$code" != "0" ]; then
  code="${code//[!0-9]/}"
  die "$1 $2 failed (exit code ${code:-unknown}); see the task's CloudWatch log stream" "${code:-1}"
fi
