#!/usr/bin/env bash
# Renders each NNNN_name.sql.in into the per-backend migrations: one source of truth for the
# tables, two dialects for the few words the engines spell differently.
set -euo pipefail
cd "$(dirname "$0")"
for template in *.sql.in; do
  name="${template%.in}"
  sed -e 's/@PK@/integer primary key autoincrement/' -e 's/@WITHOUT_ROWID@/ without rowid/' "$template" > "sqlite/$name"
  sed -e 's/@PK@/bigint generated always as identity primary key/' -e 's/@WITHOUT_ROWID@//' "$template" > "postgres/$name"
done
