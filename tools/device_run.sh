#!/usr/bin/env bash
# Runs experiment scripts on the lent GPU machine, from the repository root there, with what tools/device_prep.sh
# carried (run with carry ["artifacts/device"]).
# Usage: bash tools/device_run.sh 'RESULTS...' COMMAND...
#   e.g. bash tools/device_run.sh 'experiments/kvasir-seg/unet' bash experiments/segment.sh kvasir-seg
# It installs the carried wheels where fastai is missing, reads the data from artifacts/device/data, runs kdml_train
# from this tree, and packs RESULTS (folders or globs, without weights) into $OUT/runs.tgz every 15 s, so that a
# call stopped by its time limit still brings back the seeds that finished. Here: tar xzf FILES_AT/runs.tgz
# Bring results back in the call that makes them: the next call copies the working tree again and deletes on that machine
# every file this tree lacks except git-ignored ones, so results.csv, results.json and figures written by an earlier call
# are gone (logs, checkpoints and members_seed*/ weights, ignored, stay). Seen on the lent H200, 2026-12-04: a call that ran
# past its limit came back without runs.tgz (over 16 MiB: the members' weights were packed), and the next call's copy
# erased the seeds it had finished. The pack leaves weights out (*.pth, members_seed*/).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
here=$PWD; results=$1; shift
OUT=${OUT:?set OUT: the folder whose files come back}; mkdir -p "$OUT"
python3 -c 'import fastai' 2>/dev/null || python3 -m pip install -q --no-deps --no-index artifacts/device/wheels/*.whl
python3 -c 'import torch, fastai; print("torch", torch.__version__, "| cuda", torch.cuda.is_available(), "| fastai", fastai.__version__)' || exit 1
export KDML_DATA=$here/artifacts/device/data PYTHONPATH=$here
# kdml_train as a script file, as pip's console script is: fastcore's call_parse ignores the arguments under python -c
printf 'from kdml_nb.train import kdml_train\nkdml_train()\n' > /tmp/kdml_train.py
export KDML_TRAIN="python3 /tmp/kdml_train.py"
pack() { tar czf "$OUT/runs.tgz.tmp" --exclude='*.pth' --exclude='members_seed*' --exclude='*.safetensors' $results 2>/dev/null; mv "$OUT/runs.tgz.tmp" "$OUT/runs.tgz"; }
( while sleep 15; do pack; done ) & packer=$!
t0=$(date +%s); "$@"; rc=$?
kill $packer 2>/dev/null; pack
echo "rc=$rc after $(( $(date +%s) - t0 )) s"; exit $rc
