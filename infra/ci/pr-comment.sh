#!/usr/bin/env bash
# pr-comment.sh PR MARKER FILE : post FILE as a comment on pull request PR, or update the one
# this workflow posted before (found by the HTML comment MARKER in its body), so a pull request
# carries one coverage comment (or one QA-environment comment), always current.
# Needs GH_TOKEN with `pull-requests: write` and GITHUB_REPOSITORY. A pull request from a fork
# gets a read-only token: the comment is then skipped with a warning, the job summary remains.
set -euo pipefail
pr="${1:?usage: pr-comment.sh PR MARKER FILE}"
marker="${2:?usage: pr-comment.sh PR MARKER FILE}"
file="${3:?usage: pr-comment.sh PR MARKER FILE}"
: "${GITHUB_REPOSITORY:?}"
grep -qF -- "$marker" "$file" || { printf '%s\n\n' "$marker" | cat - "$file" > "$file.marked"; file="$file.marked"; }

existing="$(gh api --paginate "repos/${GITHUB_REPOSITORY}/issues/${pr}/comments" \
  --jq ".[] | select(.user.type == \"Bot\" and (.body | contains(\"${marker}\"))) | .id" | tail -n1)"
if [ -n "$existing" ]; then
  gh api -X PATCH "repos/${GITHUB_REPOSITORY}/issues/comments/${existing}" -F "body=@${file}" --silent ||
    echo "::warning::could not update comment ${existing} on #${pr} (read-only token?)"
else
  gh api -X POST "repos/${GITHUB_REPOSITORY}/issues/${pr}/comments" -F "body=@${file}" --silent ||
    echo "::warning::could not comment on #${pr} (read-only token?)"
fi
