#!/usr/bin/env bash
# protection-rule.sh enable|disable REPOSITORY ENVIRONMENT APP_ID : enable or disable a GitHub
# App's custom deployment protection rule on an environment, idempotently (the GitHub Terraform
# provider has no resource for it). REPOSITORY is the name; the owner is GITHUB_OWNER, as for
# the provider. Needs gh and GH_TOKEN (or GITHUB_TOKEN) with administration rights on it.
set -euo pipefail
action="${1:?usage: protection-rule.sh enable|disable REPOSITORY ENVIRONMENT APP_ID}"
repo="${GITHUB_OWNER:?GITHUB_OWNER is the repository owner}/${2:?}"
environment="${3:?}"
app_id="${4:?}"
rules="repos/${repo}/environments/${environment}/deployment_protection_rules"

existing="$(gh api "$rules" --jq ".custom_deployment_protection_rules[] | select(.app.id == ${app_id}) | .id")"
case "$action" in
  enable)
    if [ -n "$existing" ]; then
      echo "the App's protection rule is already enabled on ${environment}"
    else
      gh api -X POST "$rules" -F "integration_id=${app_id}" --silent
      echo "enabled the App's protection rule on ${environment}"
    fi
    ;;
  disable)
    if [ -n "$existing" ]; then
      gh api -X DELETE "${rules}/${existing}" --silent
      echo "disabled the App's protection rule on ${environment}"
    fi
    ;;
  *) echo "usage: protection-rule.sh enable|disable REPOSITORY ENVIRONMENT APP_ID" >&2; exit 64 ;;
esac
