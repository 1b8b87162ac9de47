#!/usr/bin/env bash
# The BCCD cell-crop experiments of nbs/05_experiments.ipynb: every method, teacher online and offline, 3 seeds,
# all in parallel (they were run on one GPU). Usage: bash experiments/bccd.sh [OUTDIR]
set -euo pipefail
out=${1:-experiments}/bccd/r34_r18_mbv2
common="--task classify --data bccd --teacher resnet34 --students resnet18,mobilenetv2 --epochs 10 --bs 128 --seeds 0,1,2"
{ for m in independent kd ml kd_ml styles; do echo "$out/${m}_online $common --method $m --online"; done
  for m in kd kd_ml styles; do echo "$out/${m}_offline $common --method $m --offline"; done
} | bash "$(dirname "$0")/run_jobs.sh"
