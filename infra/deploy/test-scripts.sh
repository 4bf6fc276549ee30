#!/usr/bin/env bash
# test-scripts.sh : unit tests of the deploy scripts' decisions, with no service and no cloud:
# - plan-release.sh: maintenance only for a blocking migration or the `maintenance` label;
# - gate.sh: each `slo gate` exit code becomes the right decision, outputs and blocking.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
unset GITHUB_STEP_SUMMARY GITHUB_ACTIONS
passed=0 failed=0
check() { # NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"
  fi
}

# --- plan-release.sh on a scratch repository -------------------------------------------------
repo="$work/repo"
mkdir -p "$repo/app/migrations/postgres"
git -C "$repo" init -q
git -C "$repo" -c user.email=t@example.com -c user.name=t commit -q --allow-empty -m root
commit() { git -C "$repo" add -A && git -C "$repo" -c user.email=t@example.com -c user.name=t commit -qm "$1" && git -C "$repo" rev-parse HEAD; }
echo 'create table a (x int);' > "$repo/app/migrations/postgres/0001_init.sql"
c1="$(commit init)"
printf -- '-- kura: blocking\nalter table a alter column x type bigint;\n' > "$repo/app/migrations/postgres/0002_widen.sql"
c2="$(commit blocking)"
echo 'create index concurrently a_x on a (x);' > "$repo/app/migrations/postgres/0003_index.sql"
c3="$(commit online)"
echo 'docs' > "$repo/README.md"
c4="$(commit docs)"
plan() { (cd "$repo" && "$here/plan-release.sh" "$@" 2>/dev/null | sed -n 's/^maintenance=//p'); }
check "blocking migration → maintenance" true "$(plan "$c1" "$c2")"
check "blocking migration anywhere in the range → maintenance" true "$(plan "$c1" "$c4")"
check "online migration → no maintenance" false "$(plan "$c2" "$c3")"
check "no migration → no maintenance" false "$(plan "$c3" "$c4")"
check "label maintenance → maintenance" true "$(plan "$c3" "$c4" "hotfix, maintenance")"
check "label hotfix alone → no maintenance" false "$(plan "$c3" "$c4" "hotfix")"
check "first deploy → no maintenance" false "$(plan "" "$c4")"
check "same sha → no maintenance" false "$(plan "$c4" "$c4")"
check "unknown deployed sha → maintenance (safe)" true "$(plan 0000000000000000000000000000000000000000 "$c4")"

# --- gate.sh with a stand-in `slo` that exits with $STUB_EXIT and echoes its arguments --------
cat > "$work/slo" <<'STUB'
#!/usr/bin/env bash
echo "decision for: $*"
exit "${STUB_EXIT:-0}"
STUB
chmod +x "$work/slo"
gate() { # EXIT-CODE [ENV...] → "status decision exit-code"
  local code="$1"; shift
  : > "$work/out"
  local status=0
  env STUB_EXIT="$code" SLO_BIN="$work/slo" GITHUB_OUTPUT="$work/out" GATE_SERVICE=fulfillment \
    GATE_ENVIRONMENT=production GATE_SHA=abc123 GATE_LABELS="hotfix,security" GATE_REF=main "$@" \
    "$here/gate.sh" >/dev/null 2>&1 || status=$?
  printf '%s %s %s' "$status" "$(sed -n 's/^decision=//p' "$work/out")" "$(sed -n 's/^exit-code=//p' "$work/out")"
}
check "gate exit 0 → approve, passes" "0 approve 0" "$(gate 0)"
check "gate exit 1 → reject, blocks" "1 reject 1" "$(gate 1)"
check "gate exit 2 → hold, blocks" "1 hold 2" "$(gate 2)"
check "gate exit 3 → error, blocks by default" "1 error 3" "$(gate 3)"
check "gate exit 3 with block-on-error false → passes" "0 error 3" "$(gate 3 GATE_BLOCK_ON_ERROR=false)"
check "gate reject is never softened by block-on-error false" "1 reject 1" "$(gate 1 GATE_BLOCK_ON_ERROR=false)"
gate 0 >/dev/null
check "gate passes service, environment, sha, ref and each label" \
  "decision for: gate --service fulfillment --environment production --sha abc123 --ref main --label hotfix --label security" \
  "$(sed -n '/^reasons<</,/^kura_gate_/p' "$work/out" | sed -n 2p)"
check "gate missing settings → exit 64" "64" "$(env -u GATE_SHA GATE_SERVICE=x GATE_ENVIRONMENT=y "$here/gate.sh" >/dev/null 2>&1; echo $?)"

# --- coverage.py: totals, change against the base, the floor ---------------------------------
cov() { # FILE COVERED COUNT [FILE COVERED COUNT]...
  python3 - "$@" <<'PY'
import json, sys
a = sys.argv[1:]
files = [{"filename": "/src/" + a[i], "summary": {"lines": {"covered": int(a[i + 1]), "count": int(a[i + 2])}}}
         for i in range(0, len(a), 3)]
print(json.dumps({"data": [{"files": files}]}))
PY
}
cov app/src/a.rs 80 100 slo/src/b.rs 50 100 > "$work/current.json"
cov app/src/a.rs 70 100 slo/src/b.rs 50 100 > "$work/base.json"
report() { python3 "$here/../ci/coverage.py" --root /src "$@" > "$work/report.md" 2>&1; echo $?; }
check "coverage above the floor → exit 0" 0 "$(report "$work/current.json" --floor 60)"
check "coverage total is 65.00% of 200 lines" 1 "$(grep -c '\*\*65.00%\*\* of 200 lines' "$work/report.md")"
check "coverage below the floor → exit 1" 1 "$(report "$work/current.json" --floor 70)"
report "$work/current.json" --base "$work/base.json" >/dev/null
check "coverage change against the base (+5 pp)" 1 "$(grep -c '+5.00 pp against the base branch (60.00%)' "$work/report.md")"
row="| \`app\` | 100 | 80.00% | 🔺 +10.00 pp |"
check "coverage per crate: app +10 pp" 1 "$(grep -cF -- "$row" "$work/report.md" || true)"
report "$work/current.json" --base "$work/missing.json" >/dev/null
check "coverage without a base figure says so" 1 "$(grep -c 'no base-branch figure yet' "$work/report.md")"
check "coverage of unreadable data → exit 2" 2 "$(echo '{' > "$work/bad.json"; report "$work/bad.json")"

echo "deploy scripts: ${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
