#!/usr/bin/env bash
# Prepares a call of the lent GPU machine (the session's `device` tool): that machine has PyTorch but no package
# registry and no ../shared/data, so this puts fastai's wheels and the named datasets into artifacts/device/ (ignored
# by git), the one folder to carry. tools/device_run.sh uses them there.
# Usage: bash tools/device_prep.sh DATASET...     DATASET: a folder under ../shared/data, e.g. bccd or polyps/kvasir-seg
# The call copies the working tree as well, and the carry limit (64 MiB) counts it: the tree's tracked PNGs (about 56
# MB) leave no room for a dataset, so move them out for the call and back after:
#   git ls-files -z '*.png' | xargs -0 rm     and then     git checkout -- $(git ls-files -d)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
data=${KDML_DATA:-../shared/data}
dev=artifacts/device
rm -rf "$dev/wheels" "$dev/data"; mkdir -p "$dev/wheels" "$dev/data"
# the GPU machine's Python is 3.12; fastprogress 1.1.x imports fasthtml, which that machine lacks
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
  --platform manylinux_2_17_x86_64 --platform any -d "$dev/wheels" fastai==2.8.7 fastcore==1.14.5 fastprogress==1.0.3 \
  fastdownload==0.0.8 fasttransform==0.0.2 plum-dispatch==2.9.0 beartype==0.23.1 pycocotools==2.0.11
for d in "$@"; do
  [[ -d $data/$d ]] || { echo "no dataset folder $data/$d" >&2; exit 2; }
  mkdir -p "$dev/data/$(dirname "$d")"; cp -r "$data/$d" "$dev/data/$d"
done
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
carry=$(du -sb "$dev" | cut -f1)
echo "carry $dev: $((carry/1048576)) MiB; files of the tree as they are now: $((tree/1048576)) MiB; limit 64 MiB in all"
