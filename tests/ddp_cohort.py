"""A small cohort trained under DDP (`torchrun --nproc_per_node 2`, gloo on CPU) or, with `--reference`, in one process
on the same global batches in the same order. Used by `tests/test_ddp.py`.

The networks and adapters have no batch norm: with batch norm each process normalises its own share of the batch,
which is what DDP does (and `sync_bn` is CUDA-only), but then no single-process run computes the same thing."""
import argparse, json, warnings
from collections import OrderedDict
from pathlib import Path
warnings.filterwarnings('ignore')
import torch, torch.nn as nn
from fastai.vision.all import *
from fastai.distributed import *
from kdml_nb.data import medmnist_dls
from kdml_nb.cohort import cohort_learner
from kdml_nb.distill import TeacherDistill, FeatureAlign, PeerDistill
import kdml_nb.distributed  # fastai's DistributedDL broadcast on the CPU

def net(width):
    return nn.Sequential(OrderedDict(
        body=nn.Sequential(nn.Conv2d(1, width, 3, 2, 1), nn.ReLU(), nn.Conv2d(width, 2*width, 3, 2, 1), nn.ReLU()),
        head=nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2*width, 2))))

def build():
    dls = medmnist_dls('pneumoniamnist', subset=256, bs=32, aug=False, num_workers=0)
    set_seed(0)
    cbs = [TeacherDistill(['a']), FeatureAlign([('teacher.body', 'b.body')], adapter_bn=False),
           PeerDistill(['a', 'b'], features={'a': 'body', 'b': 'body'}, adapter_bn=False)]
    return cohort_learner(dls, teacher=net(16), students={'a': net(8), 'b': net(4)}, cbs=cbs, metrics=accuracy)

class RecordBatches(Callback):
    "Keep every training batch this process sees, in order."
    def __init__(self): self.batches = []
    def before_batch(self):
        if self.training: self.batches.append((self.xb[0].as_subclass(Tensor).cpu().clone(), self.yb[0].as_subclass(Tensor).cpu().clone()))

def n_hooks(model): return sum(len(m._forward_hooks) for m in model.modules())

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True); p.add_argument('--reference', action='store_true')
    a = p.parse_args()
    out = Path(a.out)
    learn = build()
    if a.reference:
        learn.model.load_state_dict(torch.load(out/'init.pt'))
        per_rank = [torch.load(out/f'batches_rank{r}.pt') for r in (0, 1)]
        glob = [(torch.cat([b0[0], b1[0]]), torch.cat([b0[1], b1[1]])) for b0, b1 in zip(*per_rank)]
        learn.dls.loaders[0] = DataLoader(glob, bs=None)
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
        torch.save(learn.model.state_dict(), out/'weights_reference.pt')
        (out/'metrics_reference.json').write_text(json.dumps(dict(zip(learn.recorder.metric_names[1:-1], map(float, learn.recorder.values[-1])))))
    else:
        rank = rank_distrib()
        if rank == 0: torch.save(learn.model.state_dict(), out/'init.pt')
        rec = RecordBatches()
        with learn.distrib_ctx(sync_bn=False, cpu=True):
            with learn.no_bar(): learn.fit(1, 1e-3, cbs=rec)
            hooks_in_fit = n_hooks(learn.model)
        torch.save(rec.batches, out/f'batches_rank{rank}.pt')
        torch.save(learn.model.state_dict(), out/f'weights_rank{rank}.pt')
        (out/f'metrics_rank{rank}.json').write_text(json.dumps(dict(
            metrics=dict(zip(learn.recorder.metric_names[1:-1], map(float, learn.recorder.values[-1]))),
            world=num_distrib(), hooks_after_fit=n_hooks(learn.model), steps=len(rec.batches))))
