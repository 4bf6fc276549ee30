#!/usr/bin/env bash
# Telemetry overhead: the same open-loop load against the service with telemetry fully on
# (100% sampling, exporting OTLP to a local sink) and with OTEL_SDK_DISABLED=true, alternating
# on/off REPS times in one run; plus a CPU flame graph of the instrumented service at saturation.
#
#   bash app/bench/telemetry.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kura-target}"
REPS="${REPS:-3}"; SECONDS_PER_RUN="${SECONDS_PER_RUN:-8}"
# PEAK must be past saturation (the raw rows then show `shed` > 0), so that completed/s is capacity.
SUSTAINED="${SUSTAINED:-250}"; PEAK="${PEAK:-1200}"
OUT="${OUT:-$(mktemp -d)/telemetry.jsonl}"; SVG="${SVG:-app/bench/results/telemetry-flamegraph.svg}"
PORT=18580; ADMIN_PORT=18581; SINK=127.0.0.1:18582
touch "$OUT"

cargo build --release -q -p fulfillment --bin fulfillment --example otlp_sink
cargo build --release -q -p kura
BIN="$CARGO_TARGET_DIR/release/fulfillment"; KURA="$CARGO_TARGET_DIR/release/kura"
work="$(mktemp -d)"; server=""; sink=""
cleanup() { for p in $server $sink; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
"$CARGO_TARGET_DIR/release/examples/otlp_sink" "$SINK" 2>/dev/null & sink=$!

start() { # $1 = on|off
  rm -f "$work"/bench.db*
  if [ "$1" = on ]; then
    env OTEL_EXPORTER_OTLP_ENDPOINT="http://$SINK" OTEL_TRACES_SAMPLER=always_on \
      DATABASE_URL="sqlite://$work/bench.db?mode=rwc" "$BIN" serve --seed --no-jobs \
      --listen 127.0.0.1:$PORT --admin-listen 127.0.0.1:$ADMIN_PORT > "$work/serve.out" 2>/dev/null & server=$!
  else
    env OTEL_SDK_DISABLED=true DATABASE_URL="sqlite://$work/bench.db?mode=rwc" "$BIN" serve --seed --no-jobs \
      --listen 127.0.0.1:$PORT --admin-listen 127.0.0.1:$ADMIN_PORT > "$work/serve.out" 2>/dev/null & server=$!
  fi
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null && break; sleep 0.2; done
  ADMIN_TOKEN=$(awk '$1 == "admin" {print $2}' "$work/serve.out")
}
stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }
load() { # $1 = mode, $2 = journey, $3 = rate
  RUST_BACKTRACE=0 "$KURA" load --json --items 100 --devices 64 --base "http://127.0.0.1:$PORT" --admin-token "$ADMIN_TOKEN" --mix "$2" \
    --rate "$3" --seconds "$SECONDS_PER_RUN" --warmup 2 --label "$1" | grep -v '"operation":"total"' | tee -a "$OUT"
}

for _ in $(seq "$REPS"); do
  for mode in on off; do
    for point in "create-shipment $SUSTAINED" "create-shipment $PEAK" "hht-scan $SUSTAINED"; do
      start "$mode"
      # shellcheck disable=SC2086 # "journey rate": two words on purpose
      load "$mode" $point
      stop
    done
  done
done

# The flame graph: the instrumented service at saturation, from its own admin listener, in a
# run of its own (not measured) so that the profiler shares the CPU with no measured run.
start on
(sleep 3; curl -s -o "$SVG" "http://127.0.0.1:$ADMIN_PORT/debug/pprof/flamegraph?seconds=$SECONDS_PER_RUN") & profiler=$!
RUST_BACKTRACE=0 "$KURA" load --json --items 100 --devices 64 --base "http://127.0.0.1:$PORT" --admin-token "$ADMIN_TOKEN" --mix create-shipment \
  --rate "$PEAK" --seconds "$((SECONDS_PER_RUN + 2))" --warmup 2 --label profile > /dev/null
wait "$profiler"
stop

python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(mode, journey, rate, key):
    v = [r[key] for r in rows if r["label"] == mode and r["journey"] == journey and r["target_rate"] == rate]
    return statistics.median(v) if v else float("nan")
print("| journey | offered /s | metric | telemetry on | off | on/off |")
print("|---|---|---|---|---|---|")
for journey, rate, key in sorted({(r["journey"], r["target_rate"], k) for r in rows for k in ("throughput", "p99_ms")}):
    on, off = med("on", journey, rate, key), med("off", journey, rate, key)
    print(f"| {journey} | {rate:.0f} | {key} | {on} | {off} | {on / off:.3f} |")
PY
echo "raw: $OUT; flame graph: $SVG"
