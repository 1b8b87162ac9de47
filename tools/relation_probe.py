"""A relation loss on a segmentation student, measured: what the leaderboard's relation rows (RKD, PKT, SP, CRD) do to a
student that segments. A student (U-Net tiny unless told) trained from scratch against the leaderboard's seed-0 teacher of
a dataset, side by side in one run, with cross-entropy alone and with cross-entropy + w * the relation loss (the board's
defaults: its 'auto' layer, the decoder's last map averaged over its positions into one vector an image; CRD with 16384
negatives) for several weights w. Every run sees the same batches from the same initial weights. Per step it records each
term, the size of each term's gradient on the map the loss reads (dec1) and on the student's weights, how many of dec1's
channels are zero at every pixel of the batch (dead ReLUs), how much the map varies over positions, and the share of
pixels predicted foreground (vessel, polyp: and so the steps that mark none); at the end, Dice on the validation images.
Prints, and writes to experiments/leaderboard/<data>/<loss>_segmentation.json. Needs the teacher that
`python tools/leaderboard.py --run --only <data>` trains (its weights are not committed).

    python tools/relation_probe.py --data kvasir-seg --loss rkd [--steps 200] [--weights 1,0.1] [--student unet_tiny]

DRIVE's CRD probe, `tools/crd_segmentation.py`, is this with `--data drive --loss crd --weights 1,0.1,0.01`.
"""
import argparse, hashlib, json, random, sys
from pathlib import Path
from types import SimpleNamespace
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from kdml_nb.distill import embedding
from kdml_nb.explore import _dice as dice  # foreground Dice over the labelled pixels, as the explorer computes it
from kdml_nb.flows import LOSSES
from kdml_nb.losses import CRDMemory, batch_indices, crd_loss
from kdml_nb.models import make_model
from kdml_nb.train import task_dls
from kdml_nb.zoo import load_weights

ROOT = Path(__file__).resolve().parents[1]
LAYER = 'dec1'  # what embedding_layer picks for every U-Net of the board ('auto')
RELATIONS = ('rkd', 'pkt', 'sp', 'crd')

def teacher_path(data:str)->Path: return ROOT/f'experiments/leaderboard/{data}/teacher/teacher_seed0.pth'  # what every offline job of the board loads for seed 0
def out_path(data:str, loss:str)->Path: return ROOT/f'experiments/leaderboard/{data}/{loss}_segmentation.json'

def channels(model:nn.Module)->int:
    "Channels of the map at `LAYER`: its last convolution's."
    return [m for m in model.get_submodule(LAYER).modules() if isinstance(m, nn.Conv2d)][-1].out_channels

def run(w:float, steps:int, dls, teacher, loss:str='crd', student:str='unet_tiny')->dict:
    "Train `student` for `steps` batches with CE + w * `loss`; every step's terms, gradients and the state of the map the loss reads."
    torch.manual_seed(0)
    dls.train.rng = random.Random(0)  # fastai reseeds its shuffle from this generator: every run sees the same batches
    s = make_model(student, c_in=3)
    torch.manual_seed(0)
    mem = CRDMemory(channels(s), channels(teacher), len(dls.train_ds)) if loss == 'crd' else None  # the board's other CRD defaults
    params = list(s.parameters())
    opt = torch.optim.Adam(params + (list(mem.parameters()) if mem else []), 3e-3)  # plain Adam at a constant rate: not the board's one-cycle schedule
    fg = dls.codes[1]
    maps = {}
    hs = [m.get_submodule(LAYER).register_forward_hook(lambda mod, i, o, k=k: maps.__setitem__(k, o)) for k, m in (('s', s), ('t', teacher))]
    dl, it, rows = dls.train, iter(dls.train), []
    i = 0
    try:
        for step in range(steps):
            try: xb, yb = next(it)
            except StopIteration: it, i = iter(dl), 0; xb, yb = next(it)
            idx = batch_indices(SimpleNamespace(training=True, dl=dl, iter=i)); i += 1  # what CRDCallback reads inside a fastai batch
            xb, yb = xb.as_subclass(torch.Tensor), yb.as_subclass(torch.Tensor).long()
            with torch.no_grad(): teacher(xb)
            zs = s(xb)
            fs, ft = maps['s'], maps['t']
            ce = F.cross_entropy(zs, yb, ignore_index=255)
            rel = crd_loss(*mem(embedding(fs), embedding(ft), idx), mem.n_data) if mem else LOSSES[loss].fn(embedding(fs), embedding(ft))
            g = {}
            for k, v in (('ce', ce), (loss, rel)):
                gm, *gp = torch.autograd.grad(v, [fs] + params, retain_graph=True, allow_unused=True)
                g[f'grad_{k}_map'] = gm.norm().item()
                g[f'grad_{k}_weights'] = torch.sqrt(sum((x*x).sum() for x in gp if x is not None)).item()
            with torch.no_grad():
                f = fs.detach()
                pred = zs.argmax(1)
                keep = yb != 255
                rows.append({'step': step, 'ce': ce.item(), loss: rel.item(), **g,
                             'dead_channels': int((f.amax((0, 2, 3)) <= 0).sum()), 'channels': f.shape[1],
                             'map_spatial_std': float(f.flatten(2).std(-1).mean()), 'map_mean': float(f.mean()),
                             f'{fg}_pred': float((pred[keep] == 1).float().mean()), f'{fg}_true': float((yb[keep] == 1).float().mean()),
                             'dice_batch': dice(pred, yb)})
            opt.zero_grad(); (ce + w*rel).backward(); opt.step()
    finally:
        for h in hs: h.remove()
    s.eval()
    with torch.no_grad():
        preds, ys = zip(*[(s(xb.as_subclass(torch.Tensor)).argmax(1), yb.as_subclass(torch.Tensor).long()) for xb, yb in dls.valid])
    return summary(dict(weight=w, steps=steps, valid_dice=dice(torch.cat(preds), torch.cat(ys)), rows=rows), loss, fg)

def summary(r:dict, loss:str='crd', fg:str='vessel')->dict:
    "A run's figures from its rows: means over the last 20 steps, the median ratio of the weighted loss's gradient on the weights to the cross-entropy's, and the steps that mark no foreground (under 0.1% of pixels)."
    rows, w = r['rows'], r['weight']
    avg = lambda k: float(np.mean([x[k] for x in rows[-20:]]))
    none = [x['step'] for x in rows if x[f'{fg}_pred'] < 1e-3]
    return {'weight': w, 'steps': r['steps'], 'valid_dice': r['valid_dice'],
            'last20': {k: avg(k) for k in ('ce', loss, 'grad_ce_map', f'grad_{loss}_map', 'grad_ce_weights', f'grad_{loss}_weights',
                                           'dead_channels', 'map_spatial_std', f'{fg}_pred', f'{fg}_true', 'dice_batch')},
            f'{loss}_over_ce_weights_median': float(np.median([w*x[f'grad_{loss}_weights']/x['grad_ce_weights'] for x in rows])),
            f'steps_no_{fg}': len(none), f'first_step_no_{fg}': none[0] if none else None,
            f'last_step_{fg}': max((x['step'] for x in rows if x[f'{fg}_pred'] >= 1e-3), default=None),
            'max_dead_channels': max(x['dead_channels'] for x in rows), 'rows': rows}

def main(argv=None, prog:str='relation_probe', defaults:dict|None=None):
    d = {**dict(data=None, loss=None, weights='1,0.1', steps=200, student='unet_tiny'), **(defaults or {})}
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split('\n')[0])
    p.add_argument('--data', default=d['data'], required=d['data'] is None, choices=('drive', 'kvasir-seg'), help="a leaderboard dataset that segments")
    p.add_argument('--loss', default=d['loss'], required=d['loss'] is None, choices=RELATIONS, help="the relation loss")
    p.add_argument('--steps', type=int, default=d['steps'])
    p.add_argument('--weights', default=d['weights'], help='weights of the loss to compare with cross-entropy alone')
    p.add_argument('--student', default=d['student'], help="the student network (a name of kdml_nb.models)")
    a = p.parse_args(argv)
    try: ws = [float(x) for x in a.weights.split(',')]
    except ValueError: sys.exit(f"{prog}: --weights {a.weights!r} is not a list of numbers: pass e.g. --weights 1,0.1.")
    try: make_model(a.student, c_in=3).get_submodule(LAYER)
    except (ValueError, AttributeError): sys.exit(f"{prog}: --student {a.student!r} is not a U-Net of kdml_nb.models: pass unet, unet_small or unet_tiny (the probe reads their {LAYER!r} map).")
    teacher_file = teacher_path(a.data)
    if not teacher_file.exists(): sys.exit(f"{prog}: {teacher_file.relative_to(ROOT)} is missing: run python tools/leaderboard.py --run --only {a.data} first.")
    torch.set_num_threads(1)
    dls = task_dls('segment', a.data, bs=16, seed=0, split_seed=0)  # the board's loaders of seed 0 (kvasir-seg: 128 px; drive: 96 px tiles)
    teacher = load_weights(make_model('unet', c_in=3), teacher_file).eval()
    res = [run(w, a.steps, dls, teacher, a.loss, a.student) for w in [0.] + ws]
    fg, n = dls.codes[1], res[0]['rows'][0]['channels']
    for r in res:
        l = r['last20']
        print(f"w={r['weight']:g}: valid Dice {r['valid_dice']:.3f}; last 20 steps: CE {l['ce']:.3f}, {a.loss} {l[a.loss]:.3g}, "
              f"gradient on dec1 CE {l['grad_ce_map']:.2g} / {a.loss} {l[f'grad_{a.loss}_map']:.2g}, on the weights w*{a.loss}/CE median {r[f'{a.loss}_over_ce_weights_median']:.3g}; "
              f"no {fg} marked in {r[f'steps_no_{fg}']} steps (first {r[f'first_step_no_{fg}']}, last step marking one {r[f'last_step_{fg}']}); "
              f"dead dec1 channels at most {r['max_dead_channels']} of {n}; "
              f"spatial std of dec1 {l['map_spatial_std']:.3g}; {fg} predicted {l[f'{fg}_pred']:.3f} (true {l[f'{fg}_true']:.3f})")
    given = {k: getattr(a, k) for k in d if getattr(a, k) != d[k]}
    cmd = f'python tools/{prog}.py' + ''.join(f' --{k} {v}' for k, v in given.items())
    out = out_path(a.data, a.loss)
    sha = hashlib.sha256(teacher_file.read_bytes()).hexdigest()  # which teacher: its weights are not committed, and a new machine trains others
    out.write_text(json.dumps(dict(command=cmd, teacher=str(teacher_file.relative_to(ROOT)), teacher_sha256=sha, student=a.student, layer=LAYER, runs=res), indent=1))
    print(f"written: {out.relative_to(ROOT)}")

if __name__ == '__main__': main()
