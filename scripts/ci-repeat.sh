#!/usr/bin/env bash
# Runs `.ci/run` on fresh clean clones of this repository's HEAD, several times in a row, to
# show that CI does not fail by chance. Runs named in --busy have every CPU kept busy by a
# bounded spin loop beside them (stopped by PID when the run ends). Writes one JSON line per
# run to --out (default: bench/results/ci-repeat.jsonl) with the commit, pass/fail, duration,
# and the failing tests if any.
#
#   bash scripts/ci-repeat.sh --runs 3 --busy 2
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3 busy="" out=bench/results/ci-repeat.jsonl
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --busy) busy=",$2,"; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--busy I[,J]] [--out FILE]" >&2; exit 2 ;;
  esac
done
repo=$(pwd)
commit=$(git rev-parse HEAD)
mkdir -p "$(dirname "$out")"

spinners=()
stop_spinners() {
  for pid in "${spinners[@]}"; do kill "$pid" 2>/dev/null || true; done
  spinners=()
}
trap stop_spinners EXIT

for i in $(seq 1 "$runs"); do
  work=$(mktemp -d /tmp/refit-ci-repeat-XXXXXX)
  git clone -q "$repo" "$work/refit"
  git -C "$work/refit" checkout -q "$commit"
  loaded=false
  if [[ "$busy" == *",$i,"* ]]; then
    loaded=true
    # One spinner per CPU, stopped when the run ends; bounded by CI's own 90-minute limit in
    # case this script is killed, so a slow run keeps its load to the end.
    for _ in $(seq 1 "$(nproc)"); do
      timeout 5400 sh -c 'while :; do :; done' &
      spinners+=("$!")
    done
  fi
  start=$(date +%s)
  set +e
  bash "$work/refit/.ci/run" >"$work/ci.log" 2>&1
  rc=$?
  set -e
  seconds=$(( $(date +%s) - start ))
  stop_spinners
  plain=$(sed 's/\x1b\[[0-9;]*m//g' "$work/ci.log")
  failed=$( (grep -E '^ +(FAIL|×) ' <<<"$plain" || true) | sed 's/^ *//' | sort -u | head -20 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.stringify(s.split("\n").filter(Boolean))))')
  tests=$( (grep -E '^ +Tests ' <<<"$plain" || true) | tail -1 | sed 's/^ *//')
  printf '{"run":%d,"commit":"%s","cpusBusy":%s,"exit":%d,"seconds":%d,"tests":"%s","failed":%s,"at":"%s"}\n' \
    "$i" "$commit" "$loaded" "$rc" "$seconds" "$tests" "$failed" "$(date -u +%FT%TZ)" | tee -a "$out"
  if [ "$rc" -ne 0 ]; then cp "$work/ci.log" "/tmp/refit-ci-repeat-failed-$i.log"; fi
  rm -rf "$work"
done
