"""CRD on a segmentation student, measured: why the leaderboard's DRIVE students trained with CRD mark no vessel.
U-Net tiny trained from scratch on DRIVE tiles against the leaderboard's seed-0 teacher, with cross-entropy alone and
with cross-entropy + w * CRD for several weights w (what each run records: `tools/relation_probe.py`, of which this is
the DRIVE and CRD case; when it replaced this tool's own code, the two gave the same figures for 3 steps of CRD on
Kvasir-SEG's images, the DRIVE teacher's weights not being on that machine). Writes
experiments/leaderboard/drive/crd_segmentation.json. Needs the teacher that `python tools/leaderboard.py --run --only drive`
trains (its weights are not committed).

    python tools/crd_segmentation.py [--steps 200] [--weights 1,0.1,0.01]
"""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from relation_probe import main

if __name__ == '__main__': main(prog='crd_segmentation', defaults=dict(data='drive', loss='crd', weights='1,0.1,0.01'))
