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
line() {  # the job line of run $1; offline runs other than kd_offline load kd_offline's teacher
  local j=$1 mode=${1##*_} m=${1%_*} extra=""
  [[ $m == kd_ml_box ]] && { m=kd_ml; extra="--box_kd 1"; }
  [[ $m == styles_box ]] && { m=styles; extra="--box_kd 1 --feat_bg 0.25"; }
  [[ $mode == offline && $j != kd_offline ]] && extra="$extra --teacher_weights $out/kd_offline"
  echo "$out/$j $common --method $m --$mode $extra"
}
for j in $jobs; do line $j; done | bash "$(dirname "$0")/run_jobs.sh"
