#!/usr/bin/env bash
# qa-db.sh create NAME demo|snapshot [S3_URI] | drop NAME | export S3_URI : the QA database
# commands of qa-db-task.sh, run as a one-off task of the environment's `qa-db` task definition
# (QA_DB_TASK_DEFINITION) from a workflow. See qa-db-task.sh for what each does.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

need QA_DB_TASK_DEFINITION
KURA_TASK_DEFINITION="$QA_DB_TASK_DEFINITION" "$(dirname "$0")/run-task.sh" qa-db qa-db-task.sh "$@"
summary "- QA database: \`$*\` done"
