#!/usr/bin/env bash
# build-image.sh REPOSITORY SHA : build the images (infra/docker/Dockerfile) for one commit and
# push them as REPOSITORY:SHA (target runtime) and REPOSITORY:SHA-tools (target tools, for the
# one-off QA database tasks), unless the tags exist already (tags are immutable: a sha is built
# once, and a redeploy or rollback reuses it). Outputs `image` and `tools_image`.
# Reproducible: SOURCE_DATE_EPOCH is the commit time, so the same sha gives the same binaries.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

repository="${1:?usage: build-image.sh REPOSITORY SHA}"
sha="${2:?usage: build-image.sh REPOSITORY SHA}"
image="${repository}:${sha}"

epoch="$(git log -1 --format=%ct "$sha")"
for target in runtime tools; do
  tag="$image"
  if [ "$target" = tools ]; then tag="${image}-tools"; fi
  if docker manifest inspect "$tag" >/dev/null 2>&1; then
    log "$tag exists; not rebuilding"
    continue
  fi
  # The second target reuses the first one's layers from the builder's cache.
  docker buildx build \
    --file infra/docker/Dockerfile \
    --target "$target" \
    --build-arg "SOURCE_DATE_EPOCH=${epoch}" \
    --build-arg "GIT_SHA=${sha}" \
    --provenance=false \
    --output "type=image,name=${tag},push=true,rewrite-timestamp=true" \
    .
done
output image "$image"
output tools_image "${image}-tools"
summary "- image \`${image}\` (and \`${image}-tools\`)"
