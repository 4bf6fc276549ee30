#!/usr/bin/env bash
# extract-tools.sh IMAGE DIR : copy the command-line tools the workflow runs (slo, kura, and
# fulfillment for local use) out of the release image into DIR and put DIR on the job's PATH,
# so the gate and the smoke test run the very binaries being deployed, without a second build.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

image="${1:?usage: extract-tools.sh IMAGE DIR}"
dir="${2:?usage: extract-tools.sh IMAGE DIR}"
mkdir -p "$dir"
container="$(docker create "$image")"
trap 'docker rm -f "$container" >/dev/null' EXIT
for bin in slo kura fulfillment; do
  if docker cp "${container}:/usr/local/bin/${bin}" "${dir}/${bin}" 2>/dev/null; then
    log "extracted ${bin}"
  fi
done
[ -x "${dir}/slo" ] || die "the image has no slo binary"
if [ -n "${GITHUB_PATH:-}" ]; then realpath "$dir" >> "$GITHUB_PATH"; fi
