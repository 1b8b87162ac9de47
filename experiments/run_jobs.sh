#!/usr/bin/env bash
# Runs kdml_train jobs in parallel. Each job line reads "OUTDIR ARGS..."; every job writes OUTDIR/results.csv,
# results.json and its figures, and its log to OUTDIR.log. Used by bccd.sh and segment.sh.
# Environment: KDML_TRAIN overrides the command; LIMIT=SECONDS sends Ctrl-C after that long (finished seeds stay
# written). On the lent H100 (16 cores), 4 jobs at once took about 60 s a DRIVE seed; pinning 15 jobs to one core each
# (taskset) made them CPU-bound at about 0.8 s a step, several times slower: do not pin.
set -uo pipefail
train=${KDML_TRAIN:-kdml_train}
pids=()
while read -r dir args; do
  [[ -z $dir || $dir == \#* ]] && continue
  mkdir -p "$(dirname "$dir")"
  pre=(); [[ -n ${LIMIT:-} ]] && pre=(timeout -s INT "$LIMIT")
  "${pre[@]}" $train $args --out "$dir" > "$dir.log" 2>&1 & pids+=($!)
done
rc=0; for p in "${pids[@]}"; do wait $p || rc=1; done; exit $rc
