#!/usr/bin/env bash
# Runs kdml_train jobs in parallel. Each job line reads "OUTDIR ARGS..."; every job writes OUTDIR/results.csv,
# results.json and its figures, and its log to OUTDIR.log. Used by bccd.sh and segment.sh.
# Environment: KDML_TRAIN overrides the command; PIN=1 pins job i to CPU core i (so that fastai starts one data
# worker per job instead of one per core in every job); LIMIT=SECONDS sends Ctrl-C after that long (finished seeds
# stay written).
set -uo pipefail
train=${KDML_TRAIN:-kdml_train}
ncpu=$(nproc); i=0; pids=()
while read -r dir args; do
  [[ -z $dir || $dir == \#* ]] && continue
  mkdir -p "$(dirname "$dir")"
  pre=(); [[ ${PIN:-0} == 1 ]] && pre=(taskset -c $((i % ncpu)))
  [[ -n ${LIMIT:-} ]] && pre=(timeout -s INT "$LIMIT" "${pre[@]}")
  "${pre[@]}" $train $args --out "$dir" > "$dir.log" 2>&1 & pids+=($!); i=$((i+1))
done
rc=0; for p in "${pids[@]}"; do wait $p || rc=1; done; exit $rc
