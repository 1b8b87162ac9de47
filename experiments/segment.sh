#!/usr/bin/env bash
# The segmentation experiments of nbs/05_experiments.ipynb: U-Net teacher, two smaller U-Net students, every method,
# teacher online and offline, 3 seeds, in parallel (they were run on one GPU). styles_at is learning styles with
# attention transfer as its feature loss (--feat_loss at) instead of the adapter + MSE default. The offline teacher is
# trained once per seed, by kd_offline; the other offline runs load it (--teacher_weights) once kd_offline is done.
# Usage: bash experiments/segment.sh DATA [OUTDIR]     DATA: drive, kvasir-seg or cvc-clinicdb
# JOBS="kd_ml_online styles_offline ..." runs only those of the jobs below; SEEDS (default 0,1,2), SUFFIX (see jobs.sh),
# AT_ONCE (see run_jobs.sh) and EXTRA (more kdml_train options) as in bccd.sh.
set -euo pipefail
data=${1:?give drive, kvasir-seg or cvc-clinicdb}; out=${2:-experiments}/$data/unet
case $data in
  drive)        opts="--epochs 10 --bs 16" ;;            # 96 px tiles of the 16 training images
  kvasir-seg)   opts="--epochs 15 --bs 16 --size 128" ;;
  cvc-clinicdb) opts="--epochs 30 --bs 4 --size 128" ;;
  *) echo "unknown dataset $data" >&2; exit 2 ;;
esac
common="--task segment --data $data --teacher unet --students unet_small,unet_tiny --seeds ${SEEDS:-0,1,2} --lr 3e-3 $opts ${EXTRA:-}"
jobs=${JOBS:-independent_online kd_online ml_online kd_ml_online styles_online styles_at_online kd_offline kd_ml_offline styles_offline styles_at_offline}
source "$(dirname "$0")/jobs.sh"
for j in $jobs; do  # styles_at: learning styles with attention transfer as its feature loss
  if [[ $j == styles_at_* ]]; then job_line "$out" "$common" $j styles "--feat_loss at"; else job_line "$out" "$common" $j; fi
done | bash "$(dirname "$0")/run_jobs.sh"
