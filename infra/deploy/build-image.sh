#!/usr/bin/env bash
# build-image.sh REPOSITORY SHA : build the image (infra/docker/Dockerfile) for one commit and
# push it as REPOSITORY:SHA, unless that tag exists already (tags are immutable: a sha is built
# once, and a redeploy or rollback reuses it). Outputs `image` (REPOSITORY:SHA).
# Reproducible: SOURCE_DATE_EPOCH is the commit time, so the same sha gives the same binaries.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

repository="${1:?usage: build-image.sh REPOSITORY SHA}"
sha="${2:?usage: build-image.sh REPOSITORY SHA}"
image="${repository}:${sha}"

if docker manifest inspect "$image" >/dev/null 2>&1; then
  log "$image exists; not rebuilding"
else
  epoch="$(git log -1 --format=%ct "$sha")"
  docker buildx build \
    --file infra/docker/Dockerfile \
    --target runtime \
    --build-arg "SOURCE_DATE_EPOCH=${epoch}" \
    --build-arg "GIT_SHA=${sha}" \
    --label "org.opencontainers.image.revision=${sha}" \
    --provenance=false \
    --output "type=image,name=${image},push=true,rewrite-timestamp=true" \
    .
fi
output image "$image"
summary "- image \`${image}\`"
