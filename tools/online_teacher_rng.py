"""Why the online teachers of two methods differ, measured: the distillation terms never reach an online teacher, yet
`kd_ml_online` and `styles_online` on PneumoniaMNIST end with different teachers for the same seed. This trains the same
online cohort (ResNet-34-style teacher, CNN and ResNet-10-style students, seed 0, one epoch of 512 training images) with
`independent`, `kd_ml` and `styles` (MSE flows), once as `kdml_train` does and once with the random generators put back
after the cohort is built, and compares the teachers' weights. Prints, and writes to
experiments/leaderboard/pneumoniamnist/online_teacher_rng.json, the largest weight difference of each teacher from
`independent`'s.

    python tools/online_teacher_rng.py
"""
import json, random
from pathlib import Path
import numpy as np, torch
from fastai.vision.all import set_seed
import kdml_nb.train as T

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT/'experiments/leaderboard/pneumoniamnist/online_teacher_rng.json'
METHODS = {'independent': {}, 'kd_ml': {}, 'styles': dict(feat_loss='mse')}
build = T.cohort_learner

def restoring(*args, **kwargs):
    "`cohort_learner`, with the generators as they were before it: whatever it draws (adapters' weights) no longer shifts training's draws."
    state = torch.get_rng_state(), random.getstate(), np.random.get_state()
    learn = build(*args, **kwargs)
    torch.set_rng_state(state[0]); random.setstate(state[1]); np.random.set_state(state[2])
    return learn

def teacher_after(method:str, restore:bool)->dict:
    "The online teacher's weights after one epoch of `method`'s cohort, seed 0."
    T.cohort_learner = restoring if restore else build
    try:
        req = T.check_request('classify', 'pneumoniamnist', method, 'resnet34', ['cnn', 'resnet10'], **METHODS[method])
        set_seed(0, reproducible=True)
        dls, teacher, students = T.prepare_seed(req, 0, bs=64, subset=512)
        T.train_seed(req, dls, teacher, students, 0, epochs=1, quiet=True)
    finally: T.cohort_learner = build
    return {k: v.detach().clone().float() for k, v in teacher.state_dict().items()}

def max_diff(a, b): return max((a[k] - b[k]).abs().max().item() for k in a)

if __name__ == '__main__':
    res = {}
    for restore in (False, True):
        w = {m: teacher_after(m, restore) for m in METHODS}
        key = 'generators restored after building the cohort' if restore else 'as kdml_train trains'
        res[key] = {m: max_diff(w[m], w['independent']) for m in METHODS if m != 'independent'}
        print(key, {m: f'{d:.3g}' for m, d in res[key].items()})
    OUT.write_text(json.dumps(dict(runs=res, subset=512, epochs=1, seed=0, teacher='resnet34', students=['cnn', 'resnet10']), indent=1) + '\n')
