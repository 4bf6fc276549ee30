#!/usr/bin/env bash
# register-task.sh FAMILY CONTAINER IMAGE : a new revision of an ECS task definition family
# that differs from the latest one only in CONTAINER's image. Terraform owns everything else
# in the task definition (sizes, environment, secrets, sidecars); a deploy changes the image
# only, so the two never fight. Outputs `task_definition` (the new revision's ARN).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

family="${1:?usage: register-task.sh FAMILY CONTAINER IMAGE}"
container="${2:?usage: register-task.sh FAMILY CONTAINER IMAGE}"
image="${3:?usage: register-task.sh FAMILY CONTAINER IMAGE}"

input="$(mktemp)"
trap 'rm -f "$input"' EXIT
aws ecs describe-task-definition --task-definition "$family" --include TAGS --output json |
  jq --arg c "$container" --arg image "$image" '
    (.tags // []) as $tags
    | .taskDefinition
    | if any(.containerDefinitions[]; .name == $c) then . else error("no container \($c) in the task definition") end
    | .containerDefinitions |= map(if .name == $c then .image = $image else . end)
    | del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
          .registeredAt, .registeredBy, .deregisteredAt)
    | if ($tags | length) > 0 then .tags = $tags else . end' > "$input"
arn="$(aws ecs register-task-definition --cli-input-json "file://${input}" \
  --query 'taskDefinition.taskDefinitionArn' --output text)"
output task_definition "$arn"
