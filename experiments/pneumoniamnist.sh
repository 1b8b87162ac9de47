#!/usr/bin/env bash
# The PneumoniaMNIST experiments of nbs/05_experiments.ipynb: every method, teacher online and offline, two
# architecture pairs, 3 seeds, in parallel through run_jobs.sh (they were run on one GPU). The offline teacher is
# trained once per seed, by kd_offline; kd_ml_offline and styles_offline load it (--teacher_weights) once it is done.
# (The committed results predate this: each of their offline runs trained its own teacher; results.json has the command.)
# Usage: bash experiments/pneumoniamnist.sh PAIR [OUTDIR]
#   PAIR a: teacher resnet34, students resnet18 + mobilenetv2   PAIR b: teacher resnet34, students cnn + resnet10
# Environment: JOBS="kd_offline kd_ml_offline ..." runs only those runs; SEEDS (default 0,1,2); AT_ONCE, KDML_TRAIN and
# LIMIT as in run_jobs.sh.
set -euo pipefail
pair=${1:?give a or b}
case $pair in
  a) students=resnet18,mobilenetv2; tag=r34_r18_mbv2 ;;
  b) students=cnn,resnet10;         tag=r34_cnn_r10 ;;
  *) echo "unknown pair $pair" >&2; exit 2 ;;
esac
out=${2:-experiments/pneumoniamnist}/$tag
common="--task classify --data pneumoniamnist --teacher resnet34 --students $students --epochs 10 --bs 128 --lr 3e-3 --seeds ${SEEDS:-0,1,2}"
jobs=${JOBS:-independent_online kd_online ml_online kd_ml_online styles_online kd_offline kd_ml_offline styles_offline}
source "$(dirname "$0")/jobs.sh"
for j in $jobs; do job_line "$out" "$common" $j; done | bash "$(dirname "$0")/run_jobs.sh"
