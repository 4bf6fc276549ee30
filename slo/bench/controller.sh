#!/usr/bin/env bash
# One SLO controller evaluation cycle for 1,000 SLOs against a real Prometheus and against the
# embedded scraper, Prometheus's own rule-evaluation time for the generated recording rules in
# the same run, and the scraper's storage and CPU over a simulated 30 days.
#
#   slo/bench/controller.sh            # from the workspace root; results in slo/bench/results/
#
# Env: REPS (cycles per source, default 5), ROUNDS (Prometheus rule-evaluation rounds to wait
# for before measuring, default 4 at 30 s), PROMETHEUS (default /usr/bin/prometheus).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/kura-target}
REPS=${REPS:-5}
ROUNDS=${ROUNDS:-4}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
out=slo/bench/results/controller-$(date -u +%Y-%m-%d).txt
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cargo build --release -p slo --bin slo --example bench_cycle
slo=$CARGO_TARGET_DIR/release/slo
bench=$CARGO_TARGET_DIR/release/examples/bench_cycle

exec > >(tee "$out") 2>&1
echo "# slo/bench/controller.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git rev-parse --short HEAD)"
echo "# $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "# $(uptime)"
echo "# $($PROMETHEUS --version 2>&1 | head -1)"

"$bench" spec "$work/slos.yaml"
"$slo" generate prometheus "$work/slos.yaml" > "$work/rules.yaml"
echo "rules: $(grep -c '^  - name:' "$work/rules.yaml") groups, $(grep -c 'record:' "$work/rules.yaml") recording rules, $(grep -c 'alert:' "$work/rules.yaml") alerts"

fport=$(free_port)
python3 slo/bench/fixture.py "$fport" & pids+=($!)
fixture=http://127.0.0.1:$fport/metrics
for _ in $(seq 50); do curl -sf "$fixture" >/dev/null && break; sleep 0.1; done
echo "fixture: $(curl -sf "$fixture" | grep -vc '^#') series"

pport=$(free_port)
cat > "$work/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  evaluation_interval: 30s
rule_files: ['$work/rules.yaml']
scrape_configs:
  - job_name: fixture
    static_configs:
      - targets: ['127.0.0.1:$fport']
YAML
"$PROMETHEUS" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$pport" > "$work/prometheus.log" 2>&1 & ppid=$!; pids+=("$ppid")
purl=http://127.0.0.1:$pport
for _ in $(seq 300); do curl -sf "$purl/-/ready" >/dev/null && break; sleep 0.2; done
curl -sf "$purl/-/ready" >/dev/null || { cat "$work/prometheus.log"; exit 1; }
echo "prometheus: $purl pid $ppid; waiting for $ROUNDS rule-evaluation rounds ($((ROUNDS * 30 + 10)) s)"
sleep $((ROUNDS * 30 + 10))

prom_query() { curl -sf "$purl/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'; }
rule_eval() {
  echo "prometheus_rule_groups $1 count=$(prom_query 'count(prometheus_rule_group_last_duration_seconds)')" \
    "sum_s=$(prom_query 'sum(prometheus_rule_group_last_duration_seconds)')" \
    "max_group_s=$(prom_query 'max(prometheus_rule_group_last_duration_seconds)')" \
    "rules=$(prom_query 'sum(prometheus_rule_group_rules)')" \
    "eval_failures=$(prom_query 'sum(prometheus_rule_evaluation_failures_total)')" \
    "iterations_missed=$(prom_query 'sum(prometheus_rule_group_iterations_missed_total)')" \
    "prometheus_cpu_s=$(prom_query 'process_cpu_seconds_total{job="prometheus"} or process_cpu_seconds_total')"
}
# Prometheus does not scrape itself here: read its own metrics through its /metrics.
rule_eval_metrics() {
  curl -sf "$purl/metrics" | python3 -c '
import sys
s = {}; n = 0; mx = 0.0; cpu = "?"; missed = 0.0; fail = 0.0; rules = 0.0
for l in sys.stdin:
    if l.startswith("prometheus_rule_group_last_duration_seconds{"):
        v = float(l.rsplit(" ", 1)[1]); n += 1; mx = max(mx, v); s[n] = v
    elif l.startswith("prometheus_rule_group_rules{"): rules += float(l.rsplit(" ", 1)[1])
    elif l.startswith("prometheus_rule_group_iterations_missed_total{"): missed += float(l.rsplit(" ", 1)[1])
    elif l.startswith("prometheus_rule_evaluation_failures_total{"): fail += float(l.rsplit(" ", 1)[1])
    elif l.startswith("process_cpu_seconds_total "): cpu = l.split()[1]
print(f"prometheus_rule_groups '"$1"' groups={n} rules={rules:.0f} sum_last_duration_s={sum(s.values()):.4f} max_group_s={mx:.4f} eval_failures={fail:.0f} iterations_missed={missed:.0f} process_cpu_s={cpu}")'
}
rule_eval_metrics before
cpu0=$(curl -sf "$purl/metrics" | awk '/^process_cpu_seconds_total /{print $2}')
sleep 30
cpu1=$(curl -sf "$purl/metrics" | awk '/^process_cpu_seconds_total /{print $2}')
echo "prometheus_idle_cpu over 30 s (one rule round + 6 scrapes, no controller): $(python3 -c "print(f'{$cpu1-$cpu0:.2f}')") s"
"$bench" prometheus "$purl" "$ppid" "$work/slos.yaml" "$work" "$REPS"
rule_eval_metrics after
"$bench" scrape "$fixture" "$work/slos.yaml" "$work" "$REPS"
# Prometheus's last rule round again, after the controller runs (same process, same run).
sleep 31
rule_eval_metrics later
"$bench" thirty-days "$work" 1000
echo "# $(uptime)"
