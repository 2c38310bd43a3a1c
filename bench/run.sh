#!/usr/bin/env bash
# Entry point of `make bench` (which runs `make build` first): runs every
# benchmark section present, one after the other, and lets each side-by-side
# comparison replace its own section of bench/RESULTS.md.
#
#   bench/run.sh                         # full: about 30-40 minutes on 2 cores
#   bench/run.sh --quick                 # smoke: a few minutes, RESULTS.md untouched
#   BENCH_SECTIONS="statsd" bench/run.sh # some sections only: go, statsd, tsdb, stream
#   BENCHTIME=1s bench/run.sh            # benchtime of the Go micro-benchmarks
#
# Sections:
#   go      go test -bench over every package of Ward's module that has benchmarks
#   statsd  statsd ingest over UDP: Ward vs statsd_exporter vs Etsy statsd (bench/statsd)
#   tsdb    storage: Ward vs Prometheus TSDB vs VictoriaMetrics (bench/tsdbcompare, when present)
#   stream  500 websocket clients x 10 expressions of `ward serve` (bench/wsload): CPU, push p99
# The side-by-side runs want a quiet machine: run them when nothing else is compiling.
set -uo pipefail
cd "$(dirname "$0")/.."

quick=0
for a in "$@"; do
  case "$a" in
    --quick|-quick) quick=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $a (try --help)" >&2; exit 2 ;;
  esac
done
sections=" ${BENCH_SECTIONS:-go statsd tsdb stream} "
if [ "$quick" = 1 ]; then benchtime="${BENCHTIME:-1x}"; else benchtime="${BENCHTIME:-200ms}"; fi
work=bench/.work
mkdir -p "$work/bin"
failed=()
has() { [[ "$sections" == *" $1 "* ]]; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown; }

echo "== bench $(date -u +%FT%TZ): $(nproc) cores, load average $(loadavg)$([ "$quick" = 1 ] && echo ', quick')"
if [ "$(cut -d. -f1 /proc/loadavg 2>/dev/null || echo 0)" -ge 2 ]; then
  echo "== note: the machine is busy; side-by-side ratios still hold, absolute figures will be low"
fi

if has go; then
  pkgs=$(go list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r ip dir; do
    if grep -qs '^func Benchmark' "$dir"/*_test.go; then echo "$ip"; fi
  done)
  if [ -n "$pkgs" ]; then
    echo "== go micro-benchmarks (-benchtime $benchtime), output also in $work/go-bench.txt"
    # shellcheck disable=SC2086 # one argument per package
    timeout 30m go test -run '^$' -bench . -benchmem -benchtime "$benchtime" -timeout 20m $pkgs 2>&1 |
      tee "$work/go-bench.txt" || failed+=(go)
  fi
fi

if has statsd; then
  echo "== statsd ingest (bench/statsd)"
  if go build -o "$work/bin/statsdbench" ./bench/statsd; then
    if [ "$quick" = 1 ]; then
      timeout 20m "$work/bin/statsdbench" -quick || failed+=(statsd)
    else
      timeout 45m "$work/bin/statsdbench" -results bench/RESULTS.md || failed+=(statsd)
    fi
  else
    failed+=(statsd)
  fi
fi

if has tsdb && [ -d bench/tsdbcompare ]; then
  echo "== storage (bench/tsdbcompare)"
  if [ "$quick" = 1 ]; then
    (cd bench/tsdbcompare && timeout 30m go run . -quick) || failed+=(tsdbcompare)
  else
    (cd bench/tsdbcompare && timeout 90m go run . -out ../RESULTS.md) || failed+=(tsdbcompare)
  fi
fi

if has stream; then
  echo "== websocket push through ward serve (bench/wsload)"
  if go build -o "$work/bin/wsload" ./bench/wsload; then
    if [ "$quick" = 1 ]; then
      timeout 5m "$work/bin/wsload" -ward bin/ward -duration 10s || failed+=(stream)
    else
      timeout 10m "$work/bin/wsload" -ward bin/ward -duration 60s -results bench/RESULTS.md || failed+=(stream)
    fi
  else
    failed+=(stream)
  fi
fi

echo "== bench done $(date -u +%FT%TZ), load average $(loadavg)"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "== failed sections: ${failed[*]}" >&2
  exit 1
fi
