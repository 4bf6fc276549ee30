#!/usr/bin/env bash
# Reproducible benchmark of the fulfillment service's two hot journeys, on SQLite and
# PostgreSQL: open-loop load at a sweep of fixed arrival rates (`kura load`, HDR
# percentiles), plus pgbench replaying one create-shipment transaction's SQL as the ceiling
# PostgreSQL allows on this machine. Results: one JSON line per run in $OUT, and a summary.
#
#   bash app/bench/run.sh                    # full sweep (about 15 minutes)
#   RATES="100 200" SECONDS_PER_RUN=5 bash app/bench/run.sh   # quick look
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kura-target}"
RATES="${RATES:-100 200 300 400 600}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
OUT="${OUT:-$(mktemp -d)/results.jsonl}"
PORT=18480; ADMIN_PORT=18481

cargo build --release -q -p fulfillment --bin fulfillment
cargo build --release -q -p kura
BIN="$CARGO_TARGET_DIR/release/fulfillment"; KURA="$CARGO_TARGET_DIR/release/kura"
work="$(mktemp -d)"; server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

start() { # $1 = database url
  DATABASE_URL="$1" "$BIN" serve --seed --no-jobs --listen 127.0.0.1:$PORT --admin-listen 127.0.0.1:$ADMIN_PORT \
    > "$work/serve.out" 2> "$work/serve.err" & server=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null && break; sleep 0.2; done
  ADMIN_TOKEN=$(awk '$1 == "admin" {print $2}' "$work/serve.out")
}
stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -r)" | tee "$OUT.machine"
fresh() { # $1 = backend; prints a database URL for an empty database
  case $1 in
    sqlite) rm -f "$work"/bench.db*; echo "sqlite://$work/bench.db?mode=rwc" ;;
    postgres) psql "$PG/postgres" -qc "drop database if exists kura_bench with (force)" -c "create database kura_bench" >/dev/null 2>&1
              echo "$PG/kura_bench" ;;
  esac
}

for backend in $BACKENDS; do
  for journey in create-shipment hht-scan; do
    for rate in $RATES; do
      # A fresh database and server for every point, so no run inherits another's backlog.
      start "$(fresh "$backend")"
      RUST_BACKTRACE=0 "$KURA" load --json --items 100 --devices 64 --base "http://127.0.0.1:$PORT" --admin-token "$ADMIN_TOKEN" --mix "$journey" \
        --rate "$rate" --seconds "$SECONDS_PER_RUN" --warmup 2 --label "$backend" | grep -v '"operation":"total"' | tee -a "$OUT"
      stop
    done
  done
  if [ "$backend" = postgres ]; then
    # pgbench needs the data the load generator prepares: one short run makes it.
    start "$(fresh postgres)"
    RUST_BACKTRACE=0 "$KURA" load --json --items 100 --devices 64 --base "http://127.0.0.1:$PORT" --admin-token "$ADMIN_TOKEN" --mix create-shipment \
      --rate 50 --seconds 1 --warmup 0 --label setup > /dev/null
    stop
    q() { psql -tA "$PG/kura_bench" -c "$1"; }
    shipper=$(q "select shipper_id from shipper where code like 'load-%' order by shipper_id desc limit 1")
    vars=(-D shipper="$shipper" -D warehouse="$(q "select warehouse_id from warehouse order by 1 limit 1")"
          -D item_min="$(q "select min(item_id) from item where shipper_id = $shipper")"
          -D item_max="$(q "select max(item_id) from item where shipper_id = $shipper")"
          -D token_hash="'$(q "select token_hash from api_token order by 1 limit 1")'")
    for clients in 8 16 32; do
      tps=$(pgbench -n -M prepared -c "$clients" -j 2 -T "$SECONDS_PER_RUN" "${vars[@]}" \
              -f app/bench/create_shipment.pgbench.sql "$PG/kura_bench" 2>/dev/null | awk '/^tps/ {print $3; exit}')
      echo "{\"label\":\"pgbench\",\"journey\":\"CreateShipmentSql\",\"clients\":$clients,\"throughput\":$tps}" | tee -a "$OUT"
    done
  fi
done

python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ceiling = max((r["throughput"] for r in rows if r["label"] == "pgbench"), default=None)
print("\n| backend | journey | offered /s | completed /s | p50 ms | p99 ms | shed (503) | failed |")
print("|---|---|---|---|---|---|---|---|")
best = {}
for r in rows:
    if r["label"] == "pgbench":
        continue
    print(f'| {r["label"]} | {r["journey"]} | {r["target_rate"]:.0f} | {r["throughput"]} | {r["p50_ms"]} | {r["p99_ms"]} | {r.get("shed", 0)} | {r["failed"]} |')
    sustained = r["failed"] == 0 and r.get("shed", 0) == 0 and r["throughput"] >= 0.98 * r["target_rate"] and r["p99_ms"] < 500
    key = (r["label"], r["journey"])
    if sustained and r["throughput"] > best.get(key, (0,))[0]:
        best[key] = (r["throughput"], r["p50_ms"], r["p99_ms"])
print("\nHighest sustained rate (nothing shed or failed, >= 98% of the offered rate completed, p99 < 500 ms):")
for (label, journey), (tput, p50, p99) in sorted(best.items()):
    ratio = f", {tput / ceiling:.0%} of the pgbench ceiling ({ceiling:.0f} tps)" if ceiling and label == "postgres" and journey == "create-shipment" else ""
    print(f"- {label} {journey}: {tput}/s at p50 {p50} ms, p99 {p99} ms{ratio}")
PY
echo "raw results: $OUT"
