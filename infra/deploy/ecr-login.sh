#!/usr/bin/env bash
# ecr-login.sh REPOSITORY_URL : docker login to the ECR registry of REPOSITORY_URL with the
# job's short-lived OIDC credentials. The password goes through a pipe, never argv or the log.
set -euo pipefail
registry="${1:?usage: ecr-login.sh REPOSITORY_URL}"
registry="${registry%%/*}"
region="$(printf '%s' "$registry" | cut -d. -f4)"
aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
