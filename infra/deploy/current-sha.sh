#!/usr/bin/env bash
# current-sha.sh : the sha an environment runs now, from the image tag of its ECS service's
# task definition (images are tagged with the commit sha, and ECR tags are immutable).
# Prints nothing for a service that does not exist yet. Outputs `sha`.
# Local mode (KURA_TASK_RUNNER unset or local): $KURA_CURRENT_SHA, if set.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

sha=""
if [ "${KURA_TASK_RUNNER:-local}" = "ecs" ]; then
  need ECS_CLUSTER ECS_SERVICE
  taskdef="$(aws ecs describe-services --cluster "$ECS_CLUSTER" --services "$ECS_SERVICE" \
    --query "services[?status=='ACTIVE'].taskDefinition | [0]" --output text)"
  if [ -n "$taskdef" ] && [ "$taskdef" != "None" ]; then
    image="$(aws ecs describe-task-definition --task-definition "$taskdef" \
      --query "taskDefinition.containerDefinitions[?name=='${KURA_CONTAINER:-fulfillment}'].image | [0]" --output text)"
    tag="${image##*:}"
    if [[ "$tag" =~ ^[0-9a-f]{40}$ ]]; then sha="$tag"; fi
  fi
else
  sha="${KURA_CURRENT_SHA:-}"
fi
output sha "$sha"
