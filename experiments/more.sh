#!/usr/bin/env bash
# The BCCD, DRIVE and CVC-ClinicDB experiments of nbs/05_experiments.ipynb: the five methods, teacher online,
# 3 seeds, all in parallel (they were run on one GPU). Usage: bash experiments/more.sh [OUTDIR]
set -euo pipefail
out=${1:-experiments}
train=${KDML_TRAIN:-kdml_train}
seg="--teacher unet --students unet_small,unet_tiny --seeds 0,1,2 --lr 3e-3"
pids=()
for m in independent kd ml kd_ml styles; do
  $train --task classify --data bccd --teacher resnet34 --students resnet18,mobilenetv2 --epochs 10 --bs 128 --seeds 0,1,2 \
         --method $m --online --out $out/bccd/r34_r18_mbv2/${m}_online > $out.bccd.$m.log 2>&1 & pids+=($!)
  $train --task segment --data drive $seg --epochs 10 --bs 16 --method $m --online --out $out/drive/unet/${m}_online > $out.drive.$m.log 2>&1 & pids+=($!)
  $train --task segment --data cvc-clinicdb $seg --epochs 30 --bs 4 --size 128 --method $m --online --out $out/cvc-clinicdb/unet/${m}_online > $out.cvc.$m.log 2>&1 & pids+=($!)
done
rc=0; for p in "${pids[@]}"; do wait $p || rc=1; done; exit $rc
