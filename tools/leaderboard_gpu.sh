#!/usr/bin/env bash
# A lent GPU runs the leaderboard jobs of one dataset that load a teacher (one call, or several with --resume; see below), when the teachers' weights are not
# here (never committed) and the machine could not train them again as the committed ones (a run repeats to the last bit
# only on one machine; tools/leaderboard.py --run takes retrained teachers only within TEACHER_TOL of the committed ones):
#   1. the dataset's teachers trained again on the GPU from the teacher job's own command, one process per seed, all at
#      once, into <teacher>/rerun/seed<N> (ignored by git); their weights copied into <teacher>/ for the jobs to load;
#   2. the students alone trained again beside them into independent/retrained<K>, and the jobs named, all at once, each
#      with its exact command from tools/leaderboard.py --lines.
# The board pairs every row with the students alone beside its own teachers (kdml_nb.leaderboard.gains matches the
# teachers' test scores), so these rows are paired with independent/retrained<K>, run on the same GPU; `where` says so.
# After the call, here: tar xzf FILES_AT/runs.tgz (results and logs, no weights).
# Measured on the lent H200 (16 cores), 2026-12-04, Kvasir-SEG with AT_ONCE=5 and OMP_NUM_THREADS=2: the three teachers at
# once took 203-207 s (31 epochs; 0.5-0.8 s of each epoch on the GPU, the rest decoding and augmenting on the CPU), then
# about 200 s a seed for five offline jobs at once: about 15 minutes in all, more than one call (10 minutes) and all of a
# session's device time (15 minutes). The teachers scored test Dice 0.838, 0.826, 0.832 (the committed CPU ones 0.822,
# 0.828, 0.837). Since then the loaders decode each image once (kdml_nb.data.ResizedStore; bench/run.py --only data: a
# later epoch of Kvasir-SEG's loading 7.2 s -> 1.51 s on 2 CPU cores, a run's next seed shares it) and hold 1.5 GB a process,
# not 5.6: not yet measured on a GPU. If one call still cannot hold it all, split it: a call for the teachers and seed 0
# that brings its results back, then one for seeds 1 and 2 (the teachers' weights, ignored by git, stay on the machine
# while it is held).
# Usage (from the repository root on the GPU machine, through tools/device_run.sh):
#   bash tools/device_run.sh 'experiments/leaderboard/kvasir-seg' bash tools/leaderboard_gpu.sh kvasir-seg 1 rkd pkt sp crd crd_w0.1
set -uo pipefail
ds=$1; k=$2; shift 2
lb=experiments/leaderboard/$ds
all=$(python3 tools/leaderboard.py --lines --only "$ds") || exit 1
line() { grep -m1 "^$lb/$1 " <<< "$all" || { echo "no job $1 on $ds" >&2; exit 2; }; }
for j in teacher independent "$@"; do line "$j" > /dev/null; done  # every job named exists, before anything trains
teacher=$(line teacher); seeds=$(sed -E 's/.*--seeds ([0-9,]+).*/\1/' <<< "$teacher")
# 1. one teacher process per seed
for s in ${seeds//,/ }; do
  sed -E "s#^$lb/teacher #$lb/teacher/rerun/seed$s #; s#--seeds [0-9,]+#--seeds $s#" <<< "$teacher"
done | bash experiments/run_jobs.sh || { echo "teachers failed: see $lb/teacher/rerun/seed*.log" >&2; exit 1; }
for s in ${seeds//,/ }; do cp "$lb/teacher/rerun/seed$s/teacher_seed$s.pth" "$lb/teacher/" || exit 1; done
# 2. the students alone again, and the jobs named
{ sed -E "s#^$lb/independent #$lb/independent/retrained$k #" <<< "$(line independent)"
  for j in "$@"; do line "$j"; done; } | AT_ONCE=${AT_ONCE:-} bash experiments/run_jobs.sh
