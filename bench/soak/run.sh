#!/usr/bin/env bash
# Soak test of a built Ward: steady UDP ingest at half the measured maximum, queries every
# second and 100 websocket clients, sampling memory, goroutines and query latency.
#
#   bench/soak/run.sh            # 30 minutes; rewrites the "## Soak" section of bench/RESULTS.md
#   bench/soak/run.sh 2h         # any Go duration
#   bench/soak/run.sh --ci       # CI short form: 2 minutes, RESULTS.md untouched
#
# Exits non-zero when goroutines do not return to baseline, queries fail, or websocket
# clients receive nothing; STRICT=1 also fails on a memory or latency trend.
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=30m
results=bench/RESULTS.md
case "${1:-}" in
  --ci) duration=2m; results="" ;;
  -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
  "") ;;
  *) duration="$1" ;;
esac
make -s build
strict=()
[ "${STRICT:-0}" = 1 ] && strict=(-strict)
exec go run ./bench/soak -bin bin/ward -duration "$duration" -results "$results" \
  -command "bench/soak/run.sh ${1:-}" "${strict[@]}"
