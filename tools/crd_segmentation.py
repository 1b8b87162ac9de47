"""CRD on a segmentation student, measured: why the leaderboard's DRIVE students trained with CRD mark no vessel.
A U-Net tiny trained from scratch on DRIVE tiles against the leaderboard's seed-0 teacher, side by side in one run, with
cross-entropy alone and with cross-entropy + w * CRD (the board's defaults: 16384 negatives, its 'auto' layer, the
decoder's last map averaged over its positions) for several weights w. Every run sees the same batches from the same
initial weights. Per step it records each term, the size of each term's gradient on the map CRD reads (dec1) and on the
student's weights, how many of dec1's channels are zero at every pixel of the batch (dead ReLUs), how much the map varies
over positions, and the share of pixels predicted vessel (and so the steps that mark none); at the end, Dice on the validation tiles. Prints, and writes to
experiments/leaderboard/drive/crd_segmentation.json. Needs the teacher that `python tools/leaderboard.py --run --only drive`
trains (its weights are not committed).

    python tools/crd_segmentation.py [--steps 200] [--weights 1,0.1,0.01]
"""
import argparse, json, random, sys
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F
from kdml_nb.data import drive_dls
from types import SimpleNamespace
from kdml_nb.distill import embedding
from kdml_nb.explore import _dice as dice  # vessel Dice over the labelled pixels, as the explorer computes it
from kdml_nb.losses import CRDMemory, batch_indices, crd_loss
from kdml_nb.models import make_model
from kdml_nb.zoo import load_weights

ROOT = Path(__file__).resolve().parents[1]
TEACHER = ROOT/'experiments/leaderboard/drive/teacher/teacher_seed0.pth'  # what every offline job of the board loads for seed 0
OUT = ROOT/'experiments/leaderboard/drive/crd_segmentation.json'
LAYER = 'dec1'  # what embedding_layer picks for every U-Net of the board ('auto')

def run(w:float, steps:int, dls, teacher)->dict:
    "Train U-Net tiny for `steps` batches with CE + w*CRD; every step's terms, gradients and the state of the map CRD reads."
    torch.manual_seed(0)
    dls.train.rng = random.Random(0)  # fastai reseeds its shuffle from this generator: every run sees the same batches
    s = make_model('unet_tiny', c_in=3)
    maps = {}
    hs = [m.get_submodule(LAYER).register_forward_hook(lambda mod, i, o, k=k: maps.__setitem__(k, o)) for k, m in (('s', s), ('t', teacher))]
    torch.manual_seed(0)
    mem = CRDMemory(8, 32, len(dls.train_ds))  # U-Net tiny's dec1 has 8 channels, the teacher's 32; the board's other defaults
    params = list(s.parameters())
    opt = torch.optim.Adam(params + list(mem.parameters()), 3e-3)
    dl, it, rows = dls.train, iter(dls.train), []
    i = 0
    for step in range(steps):
        try: xb, yb = next(it)
        except StopIteration: it, i = iter(dl), 0; xb, yb = next(it)
        idx = batch_indices(SimpleNamespace(training=True, dl=dl, iter=i)); i += 1  # what CRDCallback reads inside a fastai batch
        xb, yb = xb.as_subclass(torch.Tensor), yb.as_subclass(torch.Tensor).long()
        with torch.no_grad(): teacher(xb)
        zs = s(xb)
        fs, ft = maps['s'], maps['t']
        ce = F.cross_entropy(zs, yb, ignore_index=255)
        crd = crd_loss(*mem(embedding(fs), embedding(ft), idx), mem.n_data)
        g = {}
        for k, v in (('ce', ce), ('crd', crd)):
            gm, *gp = torch.autograd.grad(v, [fs] + params, retain_graph=True, allow_unused=True)
            g[f'grad_{k}_map'] = gm.norm().item()
            g[f'grad_{k}_weights'] = torch.sqrt(sum((x*x).sum() for x in gp if x is not None)).item()
        with torch.no_grad():
            f = fs.detach()
            pred = zs.argmax(1)
            keep = yb != 255
            rows.append(dict(step=step, ce=ce.item(), crd=crd.item(), **g,
                             dead_channels=int((f.amax((0, 2, 3)) <= 0).sum()), channels=f.shape[1],
                             map_spatial_std=float(f.flatten(2).std(-1).mean()), map_mean=float(f.mean()),
                             vessel_pred=float((pred[keep] == 1).float().mean()), vessel_true=float((yb[keep] == 1).float().mean()),
                             dice_batch=dice(pred, yb)))
        opt.zero_grad(); (ce + w*crd).backward(); opt.step()
    for h in hs: h.remove()
    s.eval()
    with torch.no_grad():
        preds, ys = zip(*[(s(xb.as_subclass(torch.Tensor)).argmax(1), yb.as_subclass(torch.Tensor).long()) for xb, yb in dls.valid])
    return summary(dict(weight=w, steps=steps, valid_dice=dice(torch.cat(preds), torch.cat(ys)), rows=rows))

def summary(r:dict)->dict:
    "A run's figures from its rows: means over the last 20 steps, the median ratio of the weighted CRD gradient on the weights to the cross-entropy's, and the steps that mark no vessel (under 0.1% of pixels)."
    rows, w = r['rows'], r['weight']
    avg = lambda k: float(np.mean([x[k] for x in rows[-20:]]))
    none = [x['step'] for x in rows if x['vessel_pred'] < 1e-3]
    return dict(weight=w, steps=r['steps'], valid_dice=r['valid_dice'],
                last20={k: avg(k) for k in ('ce', 'crd', 'grad_ce_map', 'grad_crd_map', 'grad_ce_weights', 'grad_crd_weights',
                                            'dead_channels', 'map_spatial_std', 'vessel_pred', 'vessel_true', 'dice_batch')},
                crd_over_ce_weights_median=float(np.median([w*x['grad_crd_weights']/x['grad_ce_weights'] for x in rows])),
                steps_no_vessel=len(none), first_step_no_vessel=none[0] if none else None,
                last_step_vessel=max((x['step'] for x in rows if x['vessel_pred'] >= 1e-3), default=None),
                max_dead_channels=max(x['dead_channels'] for x in rows), rows=rows)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--steps', type=int, default=200)
    p.add_argument('--weights', default='1,0.1,0.01', help='CRD weights to compare with cross-entropy alone')
    a = p.parse_args(argv)
    if not TEACHER.exists(): sys.exit(f"crd_segmentation: {TEACHER.relative_to(ROOT)} is missing: run python tools/leaderboard.py --run --only drive first.")
    torch.set_num_threads(1)
    dls = drive_dls(bs=16, seed=0, split_seed=0)
    teacher = load_weights(make_model('unet', c_in=3), TEACHER).eval()
    res = [run(w, a.steps, dls, teacher) for w in [0.] + [float(x) for x in a.weights.split(',')]]
    for r in res:
        l = r['last20']
        print(f"w={r['weight']:g}: valid Dice {r['valid_dice']:.3f}; last 20 steps: CE {l['ce']:.3f}, CRD {l['crd']:.2f}, "
              f"gradient on dec1 CE {l['grad_ce_map']:.2g} / CRD {l['grad_crd_map']:.2g}, on the weights w*CRD/CE median {r['crd_over_ce_weights_median']:.3g}; "
              f"no vessel marked in {r['steps_no_vessel']} steps (first {r['first_step_no_vessel']}, last step marking one {r['last_step_vessel']}); "
              f"dead dec1 channels at most {r['max_dead_channels']} of 8; "
              f"spatial std of dec1 {l['map_spatial_std']:.3g}; vessel predicted {l['vessel_pred']:.3f} (true {l['vessel_true']:.3f})")
    cmd = 'python tools/crd_segmentation.py' + (f' --steps {a.steps}' if a.steps != 200 else '') + (f' --weights {a.weights}' if a.weights != '1,0.1,0.01' else '')
    OUT.write_text(json.dumps(dict(command=cmd, teacher=str(TEACHER.relative_to(ROOT)), layer=LAYER, runs=res), indent=1))
    print(f"written: {OUT.relative_to(ROOT)}")

if __name__ == '__main__': main()
