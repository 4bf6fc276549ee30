#!/usr/bin/env bash
# migrate.sh : apply the new release's migrations (embedded in its binary) before its tasks
# start. In ECS mode KURA_TASK_DEFINITION is the release's new task definition revision, so
# the migrations that run are the ones of the image being deployed.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

"$(dirname "$0")/run-fulfillment.sh" migrate
summary "- migrations applied"
