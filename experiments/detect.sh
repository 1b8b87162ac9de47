#!/usr/bin/env bash
# The detection experiments of nbs/11_detection_experiments.ipynb: a ResNet-34-style dense detector teaching a
# ResNet-18-style and a MobileNetV2-style detector (15% and 11% of its parameters), every method, teacher online and
# offline, in parallel through run_jobs.sh (the offline teacher is trained once per seed by kd_offline; the other
# offline runs load it with --teacher_weights). kd_ml_box / styles_box add box distillation (--box_kd 1); styles_box also
# weights the feature flows towards objects (--feat_bg 0.25). The polyp sets have no official split: --split_seed 0 tests
# every seed on the same images (the CPU pilots of page 11 predate it and draw a split per seed).
# Usage: bash experiments/detect.sh DATA [OUTDIR]     DATA: bccd, kvasir-seg or cvc-clinicdb
# Environment: JOBS="kd_ml_online styles_online ..." runs only those jobs; OPTS replaces the dataset's training options;
# SEEDS (default 0,1,2); TAG names the run folder (default r34_r18_mbv2).
set -euo pipefail
data=${1:?give bccd, kvasir-seg or cvc-clinicdb}
case $data in
  bccd)         opts="--epochs 30 --bs 16 --size 256" ;;   # 205 training smears
  kvasir-seg)   opts="--epochs 20 --bs 16 --size 256 --split_seed 0" ;;   # 640 training images, boxes from its own file
  cvc-clinicdb) opts="--epochs 60 --bs 4 --size 256 --split_seed 0" ;;    # 12 training frames, boxes from the masks
  *) echo "unknown dataset $data" >&2; exit 2 ;;
esac
out=${2:-experiments/detection}/$data/${TAG:-r34_r18_mbv2}
common="--task detect --data $data --teacher det_resnet34 --students det_resnet18,det_mobilenetv2 --seeds ${SEEDS:-0,1,2} --lr 3e-3 ${OPTS:-$opts}"
jobs=${JOBS:-independent_online kd_online ml_online kd_ml_online styles_online kd_ml_box_online styles_box_online kd_offline kd_ml_offline styles_offline}
source "$(dirname "$0")/jobs.sh"
for j in $jobs; do
  case $j in
    kd_ml_box_*)  job_line "$out" "$common" $j kd_ml "--box_kd 1" ;;
    styles_box_*) job_line "$out" "$common" $j styles "--box_kd 1 --feat_bg 0.25" ;;
    *)            job_line "$out" "$common" $j ;;
  esac
done | bash "$(dirname "$0")/run_jobs.sh"
