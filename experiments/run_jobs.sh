#!/usr/bin/env bash
# Runs kdml_train jobs in parallel. Each job line reads "OUTDIR ARGS..."; every job writes OUTDIR/results.csv,
# results.json and its figures, and its log to OUTDIR.log. Jobs that load a teacher (--teacher_weights) start once the
# other jobs have finished, since one of those trains it. Used by bccd.sh, segment.sh and detect.sh. kdml_train locks
# its output folder, so two scripts cannot write into the same run.
# Environment: KDML_TRAIN overrides the command; LIMIT=SECONDS sends Ctrl-C after that long (finished seeds stay
# written); AT_ONCE=N runs at most N jobs at a time (AT_ONCE=1 on a CPU: parallel jobs there only share its cores).
# On the lent H100 (16 cores), 4 jobs at once took about 60 s a DRIVE seed; pinning 15 jobs to one core each
# (taskset) made them CPU-bound at about 0.8 s a step, several times slower: do not pin.
set -uo pipefail
train=${KDML_TRAIN:-kdml_train}
pids=(); rc=0
finish() { for p in "${pids[@]}"; do wait $p || rc=1; done; pids=(); }
start() {  # start the job of line "$1", waiting first for a free slot under AT_ONCE
  local dir args; read -r dir args <<< "$1"
  while [[ -n ${AT_ONCE:-} && $(jobs -rp | wc -l) -ge $AT_ONCE ]]; do wait -n || rc=1; done
  mkdir -p "$(dirname "$dir")"
  local pre=(); [[ -n ${LIMIT:-} ]] && pre=(timeout -s INT "$LIMIT")
  "${pre[@]}" $train $args --out "$dir" > "$dir.log" 2>&1 & pids+=($!)
}
mapfile -t lines < <(grep -v -e '^[[:space:]]*$' -e '^[[:space:]]*#')
for l in "${lines[@]}"; do [[ $l == *--teacher_weights* ]] || start "$l"; done
finish
for l in "${lines[@]}"; do [[ $l == *--teacher_weights* ]] && start "$l"; done
finish; exit $rc
