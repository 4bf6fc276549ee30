# shellcheck shell=bash
# Helpers sourced by the deploy scripts in this directory (not run on its own).
# Every script works the same in GitHub Actions and on a laptop: outside Actions the
# GITHUB_* files are unset and outputs go to stdout only.

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit "${2:-1}"; }

# need VAR... : fail early, naming every missing setting (values are never printed).
need() {
  local missing=() name
  for name in "$@"; do
    [ -n "${!name:-}" ] || missing+=("$name")
  done
  [ "${#missing[@]}" -eq 0 ] || die "missing settings: ${missing[*]}" 64
}

# output NAME VALUE : a step output (single line) for later steps.
output() {
  printf '%s=%s\n' "$1" "$2"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s=%s\n' "$1" "$2" >> "$GITHUB_OUTPUT"; fi
}

# summary TEXT... : a line of Markdown in the job summary (and on stderr).
summary() {
  printf '%s\n' "$*" >&2
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then printf '%s\n' "$*" >> "$GITHUB_STEP_SUMMARY"; fi
}

# The run's own page, for reasons and status links.
run_url() {
  if [ -n "${GITHUB_RUN_ID:-}" ]; then
    printf '%s/%s/actions/runs/%s' "${GITHUB_SERVER_URL:-https://github.com}" "${GITHUB_REPOSITORY:-}" "$GITHUB_RUN_ID"
  else
    printf 'local run by %s' "${USER:-unknown}"
  fi
}
