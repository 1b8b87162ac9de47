#!/usr/bin/env bash
# The PneumoniaMNIST experiments of nbs/05_experiments.ipynb: every method, teacher online and offline, two
# architecture pairs, 3 seeds. Usage: bash experiments/pneumoniamnist.sh PAIR [OUTDIR]
#   PAIR a: teacher resnet34, students resnet18 + mobilenetv2   PAIR b: teacher resnet34, students cnn + resnet10
# Runs the eight trainings of a pair in parallel (they were run on one GPU); KDML_TRAIN overrides the command.
set -euo pipefail
pair=${1:?give a or b}; out=${2:-experiments/pneumoniamnist}
train=${KDML_TRAIN:-kdml_train}
case $pair in
  a) students=resnet18,mobilenetv2; tag=r34_r18_mbv2 ;;
  b) students=cnn,resnet10;         tag=r34_cnn_r10 ;;
  *) echo "unknown pair $pair" >&2; exit 2 ;;
esac
common="--task classify --data pneumoniamnist --teacher resnet34 --students $students --epochs 10 --bs 128 --lr 3e-3 --seeds 0,1,2"
modes=${MODES:-online offline}  # MODES=offline runs only the offline-teacher trainings
pids=()
[[ $modes == *online* && $modes != offline ]] && for m in independent kd ml kd_ml styles; do
  $train $common --method $m --online --out $out/$tag/${m}_online > $out.$tag.${m}_online.log 2>&1 & pids+=($!)
done
[[ $modes == *offline* ]] && for m in kd kd_ml styles; do
  $train $common --method $m --offline --out $out/$tag/${m}_offline > $out.$tag.${m}_offline.log 2>&1 & pids+=($!)
done
rc=0; for p in "${pids[@]}"; do wait $p || rc=1; done; exit $rc
