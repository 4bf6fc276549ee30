#!/usr/bin/env bash
# qa-env.sh launch NAME IMAGE PRIORITY | teardown NAME : an ephemeral QA environment (one
# Fargate service with its own database qa_NAME on the QA PostgreSQL, behind the QA load
# balancer at https://NAME.QA_DOMAIN) from terraform/envs/qa-preview, with its own state
# object qa-preview/NAME.tfstate, so environments never share or fight over state.
#
# Settings: TF_STATE_BUCKET, AWS_REGION, and the TF_VAR_* the root module documents (the QA
# environment's state location). `launch` outputs `url`.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

action="${1:-}"
name="${2:?usage: qa-env.sh launch NAME IMAGE PRIORITY | teardown NAME}"
[[ "$name" =~ ^[a-z0-9][a-z0-9-]{0,40}$ ]] || die "a QA environment name is lowercase letters, digits and dashes: $name" 64
need TF_STATE_BUCKET AWS_REGION
root="terraform/envs/qa-preview"
export TF_IN_AUTOMATION=1 TF_INPUT=0 TF_VAR_name="$name"

terraform -chdir="$root" init -reconfigure \
  -backend-config="bucket=${TF_STATE_BUCKET}" \
  -backend-config="key=qa-preview/${name}.tfstate" \
  -backend-config="region=${AWS_REGION}"

case "$action" in
  launch)
    export TF_VAR_image="${3:?usage: qa-env.sh launch NAME IMAGE PRIORITY}"
    export TF_VAR_listener_rule_priority="${4:?usage: qa-env.sh launch NAME IMAGE PRIORITY}"
    terraform -chdir="$root" apply -auto-approve
    url="$(terraform -chdir="$root" output -raw url)"
    output url "$url"
    summary "- QA environment **${name}**: ${url}"
    ;;
  teardown)
    # The values only shape resources that are being destroyed.
    export TF_VAR_image=none TF_VAR_listener_rule_priority=1
    terraform -chdir="$root" destroy -auto-approve
    aws s3 rm --only-show-errors "s3://${TF_STATE_BUCKET}/qa-preview/${name}.tfstate" || true
    summary "- QA environment **${name}** torn down"
    ;;
  *) die "usage: qa-env.sh launch NAME IMAGE PRIORITY | teardown NAME" 64 ;;
esac
