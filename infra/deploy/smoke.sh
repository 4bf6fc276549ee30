#!/usr/bin/env bash
# smoke.sh URL : the critical journeys against a deployed environment (`kura smoke`), non-zero
# on the first journey that fails. The token comes from SMOKE_TOKEN (an environment secret)
# and is passed through the environment of this process only, never printed.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

url="${1:?usage: smoke.sh URL}"
need SMOKE_TOKEN
if "${KURA_BIN:-kura}" smoke --url "$url" --token "$SMOKE_TOKEN"; then
  summary "- smoke test of the critical journeys against ${url}: **passed**"
else
  status=$?
  summary "- smoke test of the critical journeys against ${url}: **failed** (exit ${status})"
  exit "$status"
fi
