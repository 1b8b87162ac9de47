"""A small cohort trained under DDP (`torchrun --nproc_per_node 2`, gloo on CPU) or, with `--reference`, in one process
on the same global batches in the same order. Used by `tests/test_ddp.py`. With `--task detect`, a detection cohort
(BCCD smears, KD + ML with box distillation, mAP metrics); its `--reference` evaluates rank 0's final weights in one
process on the whole validation set. With `--task segment`, a U-Net cohort on CVC-ClinicDB (KD + ML, `MaskDice` for Dice
and IoU), checked the same way: its 9 validation images do not split evenly over two processes, so the gathered Dice
must also drop the image repeated to pad the last batch.

The classification networks and adapters have no batch norm: with batch norm each process normalises its own share of the batch,
which is what DDP does (and `sync_bn` is CUDA-only), but then no single-process run computes the same thing."""
import argparse, json, warnings
from collections import OrderedDict
from pathlib import Path
warnings.filterwarnings('ignore')
import torch, torch.nn as nn
from fastai.vision.all import *
from fastai.distributed import *
from kdml_nb.data import medmnist_dls, polyp_dls
from kdml_nb.cohort import cohort_learner, MaskDice
from kdml_nb.models import make_model
from kdml_nb.distill import TeacherDistill, FeatureAlign, PeerDistill, kd_ml
from kdml_nb.detection_data import bccd_det_dls
from kdml_nb.detect import make_detector, BoxDistill, DetMAP
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

def build_detect():
    "Detectors have batch norm, so DDP and one process cannot train the same numbers; the checks are across ranks."
    dls = bccd_det_dls(size=64, bs=4, n=16, num_workers=0)
    set_seed(0)
    return cohort_learner(dls, teacher=make_detector('det_resnet18', 3, nf=16),
                          students={'a': make_detector('det_mobilenetv2', 3, nf=16), 'b': make_detector('det_mobilenetv2', 3, nf=16)},
                          cbs=[*kd_ml(), BoxDistill()], metrics=[DetMAP(3, '50'), DetMAP(3, '50:95')])

def build_segment():
    "U-Nets have batch norm too: the checks are across ranks, and against one process with rank 0's weights."
    dls = polyp_dls(dataset='cvc-clinicdb', size=32, n=20, valid_pct=0.45, bs=4, num_workers=0)  # 11 training, 9 validation images
    set_seed(0)
    unet = lambda w: make_model('unet_tiny', c_in=3, width=w)
    return cohort_learner(dls, teacher=unet(8), students={'a': unet(4), 'b': unet(4)}, cbs=kd_ml(),
                          metrics=[MaskDice(), MaskDice(iou=True)])

class RecordBatches(Callback):
    "Keep every training batch this process sees, in order."
    def __init__(self): self.batches = []
    def before_batch(self):
        if self.training: self.batches.append((self.xb[0].as_subclass(Tensor).cpu().clone(), self.yb[0].as_subclass(Tensor).cpu().clone()))

def n_hooks(model): return sum(len(m._forward_hooks) for m in model.modules())

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True); p.add_argument('--reference', action='store_true')
    p.add_argument('--task', default='classify', choices=['classify', 'detect', 'segment'])
    a = p.parse_args()
    out = Path(a.out)
    learn = dict(classify=build, detect=build_detect, segment=build_segment)[a.task]()
    if a.reference and a.task in ('detect', 'segment'):
        learn.model.load_state_dict(torch.load(out/'weights_rank0.pt'))
        with learn.no_bar(), learn.no_logging(): vals = learn.validate()
        (out/'metrics_reference.json').write_text(json.dumps(dict(zip(learn.recorder.metric_names[2:-1], map(float, vals)))))
    elif a.reference:
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
