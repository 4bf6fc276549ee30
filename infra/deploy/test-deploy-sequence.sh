#!/usr/bin/env bash
# test-deploy-sequence.sh : the deploy sequence's scripts against a real local fulfillment
# service on SQLite: maintenance on → migrate → smoke → maintenance off, and a failure in the
# middle (the migration, the smoke test) still leaves maintenance off.
#
# Uses the built `fulfillment` ($FULFILLMENT_BIN, default $CARGO_TARGET_DIR/debug/fulfillment)
# and, for the passing smoke test, `kura smoke` when $KURA_BIN (default
# $CARGO_TARGET_DIR/debug/kura) exists; otherwise a stand-in that checks /livez and
# /openapi.json. The failing smoke test is always a stand-in that fails. Cleans up everything.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$here/../../target}"
export FULFILLMENT_BIN="${FULFILLMENT_BIN:-$target/debug/fulfillment}"
[ -x "$FULFILLMENT_BIN" ] || { echo "no fulfillment binary at $FULFILLMENT_BIN (cargo build -p fulfillment)" >&2; exit 1; }

work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"; admin="$(free_port)"
url="http://127.0.0.1:${port}"
export DATABASE_URL="sqlite://${work}/kura.db"
export KURA_TASK_RUNNER=local KURA_SHA=0123456789abcdef0123456789abcdef01234567
unset GITHUB_OUTPUT GITHUB_STEP_SUMMARY

"$FULFILLMENT_BIN" migrate >/dev/null
# The smoke test prepares its own data with an admin token, as the environment's secret gives it.
SMOKE_TOKEN="$("$FULFILLMENT_BIN" seed | awk '$1 == "admin" {print $2}')"
export SMOKE_TOKEN
"$FULFILLMENT_BIN" serve --listen "127.0.0.1:${port}" --admin-listen "127.0.0.1:${admin}" > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:${admin}/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:${admin}/readyz" >/dev/null || { cat "$work/serve.log" >&2; exit 1; }

# Stand-ins for `kura smoke` and for a fulfillment whose migration fails.
mkdir -p "$work/bin"
cat > "$work/bin/smoke-ok" <<'STUB'
#!/usr/bin/env bash
# kura smoke --url URL --token T (stand-in): the service is live and serves its API document.
[ "$1" = smoke ] && [ "$2" = --url ] || exit 64
curl -sf "$3/openapi.json" >/dev/null
STUB
printf '#!/usr/bin/env bash\necho "smoke: create-shipment failed (stand-in)" >&2\nexit 1\n' > "$work/bin/smoke-fail"
cat > "$work/bin/fulfillment-bad-migration" <<STUB
#!/usr/bin/env bash
if [ "\$1" = migrate ]; then echo "migration failed (stand-in)" >&2; exit 1; fi
exec "$FULFILLMENT_BIN" "\$@"
STUB
chmod +x "$work/bin/"*
smoke_ok="${KURA_BIN:-$target/debug/kura}"
if ! { [ -x "$smoke_ok" ] && "$smoke_ok" smoke --help >/dev/null 2>&1; }; then smoke_ok="$work/bin/smoke-ok"; fi

# The maintenance log, newest first: "COUNT ENABLED-OF-NEWEST".
maintenance() {
  curl -sf "http://127.0.0.1:${admin}/maintenance" |
    python3 -c 'import json, sys; log = json.load(sys.stdin); print(len(log), str(log[0]["enabled"]).lower() if log else "none")'
}

passed=0 failed=0
scenario() { # NAME EXPECTED-EXIT EXPECTED-EVENTS-ADDED ENV... -- (runs deploy-sequence.sh)
  local name="$1" expect="$2" events="$3"; shift 3
  local before after status
  read -r before _ < <(maintenance)
  set +e
  env "$@" "$here/deploy-sequence.sh" "$url" > "$work/out.log" 2>&1
  status=$?
  set -e
  read -r after enabled < <(maintenance)
  if { [ "$expect" = 0 ] && [ "$status" = 0 ]; } || { [ "$expect" != 0 ] && [ "$status" != 0 ]; }; then :; else
    echo "FAIL ${name}: exit ${status}, expected ${expect}"; cat "$work/out.log"; failed=$((failed + 1)); return
  fi
  if [ $((after - before)) != "$events" ] || { [ "$enabled" != none ] && [ "$enabled" != false ]; }; then
    echo "FAIL ${name}: ${before} → ${after} maintenance events (expected +${events}), newest enabled=${enabled}"
    cat "$work/out.log"; failed=$((failed + 1)); return
  fi
  echo "ok   ${name} (exit ${status}; maintenance events +${events}; maintenance off)"
  passed=$((passed + 1))
}

scenario "deploy with maintenance: on → migrate → smoke → off" 0 2 KURA_MAINTENANCE=true KURA_BIN="$smoke_ok"
scenario "deploy without maintenance: migrate → smoke" 0 0 KURA_MAINTENANCE=false KURA_BIN="$smoke_ok"
scenario "smoke test fails: maintenance still switched off" 1 2 KURA_MAINTENANCE=true KURA_BIN="$work/bin/smoke-fail"
scenario "migration fails: maintenance still switched off" 1 2 KURA_MAINTENANCE=true KURA_BIN="$smoke_ok" \
  FULFILLMENT_BIN="$work/bin/fulfillment-bad-migration"
scenario "rollout fails: maintenance still switched off" 1 2 KURA_MAINTENANCE=true KURA_BIN="$smoke_ok" \
  KURA_ROLLOUT_CMD="exit 3"

echo "deploy sequence: ${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
