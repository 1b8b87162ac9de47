"""DIST on two classes, measured: a U-Net tiny trained from scratch on DRIVE tiles against the leaderboard's seed-0 teacher,
with cross-entropy + DIST, once with the inter-class term (beta=1) and once without (beta=0), side by side in one run.
Prints, and writes to experiments/leaderboard/drive/dist_two_classes.json, per run: the size of each term's gradient on the
student's logits at every step, how often the inter-class gradient exceeds ten times the cross-entropy's, and the losses
at the end. Needs the teacher that `python tools/leaderboard.py --run --only drive` trains (its weights are not committed).

    python tools/dist_two_classes.py [--steps 150]
"""
import argparse, json, random, sys
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F
from kdml_nb.data import drive_dls
from kdml_nb.losses import _pearson, logit_rows
from kdml_nb.models import make_model
from kdml_nb.zoo import load_weights

ROOT = Path(__file__).resolve().parents[1]
TEACHER = ROOT/'experiments/leaderboard/drive/teacher/teacher_seed0.pth'  # what every offline job of the board loads for seed 0
OUT = ROOT/'experiments/leaderboard/drive/dist_two_classes.json'

def run(beta:float, steps:int, dls, teacher)->dict:
    "Train U-Net tiny for `steps` batches with CE + beta*inter + intra (DIST at T=1); every step's terms and logit gradients."
    torch.manual_seed(0)
    dls.train.rng = random.Random(0)  # fastai reseeds its shuffle from this generator: both runs see the same batches
    s = make_model('unet_tiny', c_in=3)
    opt = torch.optim.Adam(s.parameters(), 3e-3)
    it, rows = iter(dls.train), []
    for step in range(steps):
        try: xb, yb = next(it)
        except StopIteration: it = iter(dls.train); xb, yb = next(it)
        xb, yb = xb.as_subclass(torch.Tensor), yb.as_subclass(torch.Tensor)
        with torch.no_grad(): zt = teacher(xb)
        zs, keep = s(xb), yb != 255
        ps, pt = F.softmax(logit_rows(zs, keep), -1), F.softmax(logit_rows(zt, keep), -1)
        terms = dict(ce=F.cross_entropy(zs, yb.long(), ignore_index=255), inter=1 - _pearson(ps, pt).mean(), intra=1 - _pearson(ps.T, pt.T).mean())
        g = {f'grad_{k}': torch.autograd.grad(v, zs, retain_graph=True)[0].norm().item() for k, v in terms.items()}
        rows.append(dict(step=step, **{k: v.item() for k, v in terms.items()}, **g))
        opt.zero_grad(); (terms['ce'] + beta*terms['inter'] + terms['intra']).backward(); opt.step()
    gi, gc = np.array([r['grad_inter'] for r in rows]), np.array([r['grad_ce'] for r in rows])
    end = {k: float(np.mean([r[k] for r in rows[-10:]])) for k in ('ce', 'inter', 'intra')}
    return dict(beta=beta, steps=steps, inter_grad_median=float(np.median(gi)), inter_grad_max=float(gi.max()),
                inter_grad_max_step=int(gi.argmax()), ce_grad_median=float(np.median(gc)),
                steps_inter_over_10x_ce=int((gi > 10*gc).sum()), last10=end, rows=rows)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--steps', type=int, default=150)
    a = p.parse_args(argv)
    if not TEACHER.exists(): sys.exit(f"dist_two_classes: {TEACHER.relative_to(ROOT)} is missing: run python tools/leaderboard.py --run --only drive first.")
    torch.set_num_threads(1)
    dls = drive_dls(bs=16, seed=0, split_seed=0)
    teacher = load_weights(make_model('unet', c_in=3), TEACHER).eval()
    res = [run(b, a.steps, dls, teacher) for b in (1., 0.)]
    for r in res:
        print(f"beta={r['beta']:g}: inter-class gradient on the logits median {r['inter_grad_median']:.2g}, max {r['inter_grad_max']:.3g} "
              f"(step {r['inter_grad_max_step']}), over 10x the cross-entropy's in {r['steps_inter_over_10x_ce']} of {r['steps']} steps; "
              f"last 10 steps: CE {r['last10']['ce']:.3f}, inter {r['last10']['inter']:.3f}, intra {r['last10']['intra']:.3f}")
    OUT.write_text(json.dumps(dict(command='python tools/dist_two_classes.py' + (f' --steps {a.steps}' if a.steps != 150 else ''),
                                   teacher=str(TEACHER.relative_to(ROOT)), runs=res), indent=1))
    print(f"written: {OUT.relative_to(ROOT)}")

if __name__ == '__main__': main()
