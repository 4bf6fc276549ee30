#!/usr/bin/env bash
# plan-release.sh PREVIOUS_SHA NEW_SHA [LABELS] : does this release need maintenance mode?
#
# Yes when a migration added or changed between the deployed sha and the new one is flagged
# blocking, i.e. contains the line
#
#   -- kura: blocking
#
# (a migration that locks or rewrites a busy table, or one the old release cannot run against),
# or when the labels (comma- or space-separated) contain `maintenance`. Everything else is
# an online, backward-compatible migration (expand, then contract in a later release) and
# deploys without maintenance. Outputs `maintenance=true|false` and `reason`.
# Runs in a checkout with enough history to contain both shas.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

previous="${1:-}"
new="${2:?usage: plan-release.sh PREVIOUS_SHA NEW_SHA [LABELS]}"
labels=" $(printf '%s' "${3:-}" | tr ',' ' ') "
migrations="${KURA_MIGRATIONS_DIR:-app/migrations}"

decide() {
  output maintenance "$1"
  output reason "$2"
  summary "- maintenance needed: **$1** ($2)"
  exit 0
}

case "$labels" in
  *" maintenance "*) decide true "the release is labelled maintenance" ;;
esac
if [ -z "$previous" ]; then
  decide false "first deploy of this environment: no traffic to protect"
fi
if [ "$previous" = "$new" ]; then
  decide false "the same sha is already deployed"
fi
if ! git cat-file -e "${previous}^{commit}" 2>/dev/null; then
  # Unknown history (a force-push, a shallow clone): be safe, not fast.
  decide true "the deployed sha ${previous} is not in this checkout's history"
fi

blocking=()
while IFS= read -r file; do
  [ -n "$file" ] || continue
  if git show "${new}:${file}" 2>/dev/null | grep -Eq '^[[:space:]]*--[[:space:]]*kura:[[:space:]]*blocking'; then
    blocking+=("$file")
  fi
done < <(git diff --name-only --diff-filter=AM "$previous" "$new" -- "$migrations" | grep -E '\.sql$' || true)

if [ "${#blocking[@]}" -gt 0 ]; then
  decide true "blocking migration: ${blocking[*]}"
fi
decide false "no blocking migration between ${previous:0:12} and ${new:0:12}"
