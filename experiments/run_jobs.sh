#!/usr/bin/env bash
# Runs kdml_train jobs in parallel. Each job line reads "OUTDIR ARGS..."; every job writes OUTDIR/results.csv,
# results.json and its figures, and its log to OUTDIR.log. A line "wait" waits for the jobs above it before starting
# the ones below (for runs that load the teacher an earlier run trained: --teacher_weights). Used by bccd.sh,
# segment.sh and detect.sh. kdml_train locks its output folder, so two scripts cannot write into the same run.
# Environment: KDML_TRAIN overrides the command; LIMIT=SECONDS sends Ctrl-C after that long (finished seeds stay
# written); AT_ONCE=N runs at most N jobs at a time (AT_ONCE=1 on a CPU: parallel jobs there only share its cores). On the lent H100 (16 cores), 4 jobs at once took about 60 s a DRIVE seed; pinning 15 jobs to one core each
# (taskset) made them CPU-bound at about 0.8 s a step, several times slower: do not pin.
set -uo pipefail
train=${KDML_TRAIN:-kdml_train}
pids=(); rc=0
while read -r dir args; do
  [[ -z $dir || $dir == \#* ]] && continue
  if [[ $dir == wait ]]; then for p in "${pids[@]}"; do wait $p || rc=1; done; pids=(); continue; fi
  while [[ -n ${AT_ONCE:-} && $(jobs -rp | wc -l) -ge $AT_ONCE ]]; do wait -n || rc=1; done
  mkdir -p "$(dirname "$dir")"
  pre=(); [[ -n ${LIMIT:-} ]] && pre=(timeout -s INT "$LIMIT")
  "${pre[@]}" $train $args --out "$dir" > "$dir.log" 2>&1 & pids+=($!)
done
for p in "${pids[@]}"; do wait $p || rc=1; done; exit $rc
