#!/usr/bin/env bash
# qa-db-task.sh : QA databases, run inside the image's `tools` target (the Kura binaries plus
# psql, pg_dump, pg_restore and the AWS CLI) as a one-off task next to the database. Nothing
# here runs on a CI runner, so no database credential or row of data ever leaves the VPC.
#
#   qa-db-task.sh create NAME demo              fresh database qa_NAME: schema from the
#                                               migrations, then the demo data (fulfillment seed)
#   qa-db-task.sh create NAME snapshot S3_URI   fresh database qa_NAME from a masked dump
#                                               (made by `export`), migrated to this release's
#                                               schema, then masked again (defence in depth)
#   qa-db-task.sh drop NAME                     drop qa_NAME (the QA environment is gone)
#   qa-db-task.sh export S3_URI                 production side: copy the production database
#                                               into a scratch database, mask it there
#                                               (fulfillment mask), dump the masked copy to S3,
#                                               drop the scratch copy. Unmasked rows never leave
#                                               the production database server.
#
# Settings: DATABASE_ADMIN_URL (postgres://USER@HOST:PORT/postgres?sslmode=require; the
# password in PGPASSWORD, injected from Secrets Manager), and for `export` DATABASE_URL (the
# production database).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

need DATABASE_ADMIN_URL
admin="$DATABASE_ADMIN_URL"

# postgres://user@host:port/DB?params with DB replaced.
url_for() {
  local base="${admin%%\?*}" params=""
  case "$admin" in *\?*) params="?${admin#*\?}" ;; esac
  printf '%s/%s%s' "${base%/*}" "$1" "$params"
}
database_of() {
  [[ "$1" =~ ^[a-z0-9][a-z0-9-]{0,40}$ ]] || die "a QA environment name is lowercase letters, digits and dashes: $1" 64
  printf 'qa_%s' "${1//-/_}"
}
recreate() {
  psql "$admin" -v ON_ERROR_STOP=1 -q \
    -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" -c "CREATE DATABASE \"$1\""
}

command="${1:-}"
case "$command" in
  create)
    name="${2:?usage: qa-db-task.sh create NAME demo|snapshot [S3_URI]}"
    source="${3:?usage: qa-db-task.sh create NAME demo|snapshot [S3_URI]}"
    db="$(database_of "$name")"
    recreate "$db"
    DATABASE_URL="$(url_for "$db")"
    export DATABASE_URL
    case "$source" in
      demo)
        fulfillment migrate
        fulfillment seed > /dev/null   # prints demo tokens: QA-only, but keep them out of logs
        log "qa database ${db}: migrations and demo data"
        ;;
      snapshot)
        uri="${4:?usage: qa-db-task.sh create NAME snapshot S3_URI}"
        aws s3 cp --only-show-errors "$uri" - | pg_restore --no-owner --no-privileges --exit-on-error --dbname "$DATABASE_URL"
        fulfillment migrate
        fulfillment mask
        log "qa database ${db}: masked snapshot ${uri##*/}, migrated to this release, masked again"
        ;;
      *) die "source is demo or snapshot" 64 ;;
    esac
    ;;
  drop)
    db="$(database_of "${2:?usage: qa-db-task.sh drop NAME}")"
    psql "$admin" -v ON_ERROR_STOP=1 -q -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
    log "qa database ${db} dropped"
    ;;
  export)
    uri="${2:?usage: qa-db-task.sh export S3_URI}"
    need DATABASE_URL
    production="$DATABASE_URL"
    scratch="kura_mask_$(date -u +%Y%m%d%H%M%S)"
    trap 'psql "$admin" -q -c "DROP DATABASE IF EXISTS \"$scratch\" WITH (FORCE)" || true' EXIT
    recreate "$scratch"
    pg_dump --format=custom --no-owner --no-privileges "$production" |
      pg_restore --no-owner --no-privileges --exit-on-error --dbname "$(url_for "$scratch")"
    DATABASE_URL="$(url_for "$scratch")" fulfillment mask
    pg_dump --format=custom --no-owner --no-privileges "$(url_for "$scratch")" |
      aws s3 cp --only-show-errors --sse aws:kms - "$uri"
    log "masked snapshot written to ${uri}"
    ;;
  *) die "usage: qa-db-task.sh create|drop|export ..." 64 ;;
esac
