#!/usr/bin/env bash
# The BCCD cell-crop experiments of nbs/05_experiments.ipynb: every method, teacher online and offline, 3 seeds,
# all in parallel (they were run on one GPU). The offline teacher is trained once per seed, by kd_offline; kd_ml_offline
# and styles_offline load it (--teacher_weights; run_jobs.sh starts them once kd_offline is done). Usage: bash experiments/bccd.sh [OUTDIR]
# Environment: SEEDS (default 0,1,2); JOBS="kd_offline kd_ml_offline ..." runs only those runs; EXTRA adds options to
# every run (EXTRA=--channels_last on a CPU: about 1.5x faster steps here, see nbs/07_benchmarks.ipynb); SUFFIX=_seed2
# with SEEDS=2 writes new seeds beside the runs already there (see jobs.sh).
set -euo pipefail
out=${1:-experiments}/bccd/r34_r18_mbv2
common="--task classify --data bccd --teacher resnet34 --students resnet18,mobilenetv2 --epochs 10 --bs 128 --seeds ${SEEDS:-0,1,2} ${EXTRA:-}"
jobs=${JOBS:-independent_online kd_online ml_online kd_ml_online styles_online kd_offline kd_ml_offline styles_offline}
source "$(dirname "$0")/jobs.sh"
for j in $jobs; do job_line "$out" "$common" $j; done | bash "$(dirname "$0")/run_jobs.sh"
