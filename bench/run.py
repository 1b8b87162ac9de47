"""kdml_nb benchmarks: what distillation costs. Run: `python bench/run.py` (about 42 minutes on 2 CPU cores; section 7 takes 16 of them, section 10 about 4).

Never part of the test suite. Every comparison is measured side by side in one run, the variants alternated
step by step (each step is a one-batch epoch, so fastai's per-fit work is outside the timed step) to cancel machine
drift; times are medians over `--steps` training steps after two warm-up rounds. Data: PneumoniaMNIST from the data folder, batch 128, `torch.set_num_threads(2)`.
1. cohort overhead: one step of the kdml_nb cohort `Learner` / the sum of its members' plain fastai steps;
2. offline KD against fasterai's `KnowledgeDistillationCallback` (`pip install fasterai==0.4.1 --no-deps`): epoch
   time and resident memory during training (sampled after each loss and backward; peak and growth over the level
   before `fit`), each variant in a fresh process, alternated over `--rounds` rounds;
3. feature-alignment cost: extra time per step of `FeatureAlign` (1 and 3 layer pairs) and of the peer feature
   exchange, as a fraction of the cohort step;
4. inference images/s of each member alone;
5. detection cohorts (`--only detect`): the cohort step / the sum of its members' steps for the dense detectors of
   `kdml_nb.detect` (ResNet-34-style teacher, ResNet-18-style and MobileNetV2-style students), BCCD smears at 128 px,
   batch 16, with KD + ML + box distillation and with learning styles on the `neck` maps;
6. the heap (`--only heap`): resident memory over the training steps of a cohort that grew without bound on the CPU
   (U-Net teacher and tiny U-Net student, `FeatureAlign` with the MSE loss, DRIVE tiles, batch 8) when `CohortRecorder`
   kept each batch's losses as tensors (as before) and now that it keeps floats; each in a fresh process, alternated
   over `--rounds` rounds: growth per step after step 10 and median step time;
7. channels last (`--only channels`): the cohort step in the default memory order against `ChannelsLastBatch`
   (`kdml_train --channels_last`), the two learners alternated step by step from the same initial weights, over
   `CL_STEPS` steps: BCCD cell crops at 64 px (the BCCD experiments' ResNet-34-style teacher, ResNet-18-style and
   MobileNetV2-style students, batch 128, KD + ML and learning styles), DRIVE tiles (U-Net teacher, small and tiny
   U-Nets, batch 16, learning styles) and PneumoniaMNIST (28 px, ResNet-18-style teacher, CNN and ResNet-10-style
   students, learning styles).
8. checkpoints (`--only checkpoint`): the time `kdml_train` spends writing its per-epoch checkpoint (`Checkpoint`: every
   member, adapter, optimizer state, random state and the history, through a temporary file) against the training
   steps of one epoch (median of `CK_STEPS` steps after a warm-up, times the batches of an epoch; validation not
   counted, so the ratio is an upper bound), for the default run of each task (`TASK_DEFAULTS`, learning styles).
9. torchdistill (`--only torchdistill`; torchdistill 1.1.5 is a dev requirement): offline KD (a frozen ResNet-18-style
   teacher in eval mode -> the small CNN, CE + T^2 KL at T=4, `torch.optim.SGD` lr 0.01 momentum 0.9, float32) with
   kdml_nb (`cohort_learner(..., offline=True)` with `kd()`, `fit`) against torchdistill's own `DistillationBox`
   (`get_distillation_box`, configured from a Python dict, no YAML file: `WeightedSumLoss` over its `KDLoss`, its SGD, a
   `SequentialSampler` loader), driven by the training loop of its `examples/torchvision/image_classification.py`
   without the logger and validation. The same initial weights and the same batches in the same order (PneumoniaMNIST's
   training split, normalised, no augmentation, one `TensorDataset` read by each library's own loader); the two runs'
   losses agree. Each child trains `TD_EPOCHS` epochs, each timed (wall and CPU), with `TD_THREADS` threads (one: the
   machine is shared); resident memory is sampled after each loss and after each optimizer step, beside the process's
   `getrusage` high-water mark. Each variant in a fresh process, alternated over `--rounds` rounds.
10. losses (`--only losses`; issue #22): each distillation loss's training step against plain KD's on the same cohort,
   as a ratio (goal <= `LS_GOAL` for every loss but CRD). An offline (frozen) ResNet-18-style teacher and two students
   (the small CNN, ResNet-10-style), one PneumoniaMNIST batch of 128 (`dls.train.n`: the same items every step), the
   teacher's predictions with KD (the baseline), KD with logit standardisation, DKD, DIST; its 'auto' map with MSE, AT,
   CWD (`feature_kd`; MSE and CWD through a 1x1 adapter, trained too); its penultimate embedding with RKD, PKT, SP and
   CRD (`relation_kd`, CRD at its default nce_k=16384 and at 4096; its banks hold the whole training split; scored by
   gathering the drawn rows, as the official code does and as this section was measured: section 11 for the default). Then a
   segmentation cohort (U-Net teacher, small and tiny U-Nets, one Kvasir-SEG batch of 8 at 80 px): KD per pixel (its
   baseline), DKD per pixel, CWD and EMKD on the 'auto' maps. What is timed is the whole training step (forward of
   every member, the losses, backward, optimizer step) of the same batch, each variant a `cohort_learner` from the same
   initial weights; so the ratio is the step's, and a loss that brings an adapter brings its forward and backward too.
   Each cohort runs in a fresh process with one thread, its variants alternated step by step (`step_times`, rotated so
   each takes every place in the order), `LS_STEPS` steps after `LS_WARMUP` warm-up rounds (CRD, 7 to 23 times as slow,
   in every `LS_CRD_EVERY`th round), `LS_ROUNDS` processes a cohort, alternated. `ratio`: median CPU time of the step over
   KD's (CPU time, not wall: on the shared cores a step also waits for other processes); `wall_ratio` beside it. Then
   each variant's distillation terms alone (`term_cost`: forward and backward of every flow's term, adapters included,
   on the tensors its flows compare for that batch; CRD's not), to say where a step's extra time goes.
11. CRD's scoring (`--only crd`): on section 10's classification cohort and batch, CRD's step at nce_k=16384 and 4096
   scoring the batch against the whole banks and picking the drawn rows (`CRDMemory.whole`: its choice where that takes
   less memory, as for 4,707 rows against 128 x (K+1) drawn) against the same CRD gathering the drawn rows first (the
   official code's way, `whole_bank=False`), and plain KD, alternated step by step in fresh one-thread processes as in
   section 10: the CPU-time ratios, and the memory a step adds.
12. data (`--only data`): Kvasir-SEG as `kdml_train --task segment --data kvasir-seg --size 128 --bs 16 --split_seed 0` loads
   it (880 training, validation and test images, resized), by the lazy loader (`seg_dls(cache=False)`: each epoch decodes
   every image and mask again, in fastai's default worker processes) and by the default one (`cache=None`: decoded and
   resized on first use, kept in memory, `num_workers=0`): the time to build each, then one epoch of the training and
   validation loaders each (wall, and CPU of the process and its finished workers), the two alternated over `DATA_ROUNDS`
   rounds, each round's order reversed from the last: the first epoch (the store fills) apart from the later ones
   (median); then the next seed's loaders (seed 1, the same split): their build (the statistics of the split are
   computed once a process, either way) and first epoch (the cached one shares the first seed's store); a later epoch of
   the cached loaders without their batch transforms (what the item pipeline alone takes); whether the two
   give the very same batches (seeded alike); and,
   for scale, what the U-Net teacher's forward and backward take for an epoch on this machine (`epoch_seconds`).
`--only` runs some sections and keeps the others' figures already in the results file.
Writes `bench/results.json`, which `nbs/07_benchmarks.ipynb` turns into a table and a bar chart.
"""
import argparse, json, os, subprocess, sys, time, warnings
from copy import deepcopy
from datetime import date
from pathlib import Path
warnings.filterwarnings('ignore')
import numpy as np
import torch
from fastai.vision.all import *
from kdml_nb.data import medmnist_dls
from kdml_nb.models import make_model, n_params
from kdml_nb.cohort import cohort_learner
from kdml_nb.distill import FeatureAlign, PeerDistill, TeacherDistill, kd, kd_ml, learning_styles, LayerPair, feature_kd, relation_kd
from kdml_nb.train import throughput

torch.set_num_threads(2)
BS = 128

class StepTimer(Callback):
    "Wall time (`times`) and the process's CPU time (`cpu`) of each training step (forward, losses, backward, optimizer step), after the batch is loaded."
    order = 1000  # last in before_batch and in after_batch
    def __init__(self): self.times, self.cpu = [], []
    def before_batch(self): self.t0, self.c0 = time.perf_counter(), time.process_time()
    def after_batch(self): self.times.append(time.perf_counter() - self.t0); self.cpu.append(time.process_time() - self.c0)
    def before_validate(self): raise CancelValidException()

def bench_dls(n_batches=1):
    return medmnist_dls('pneumoniamnist', bs=BS, subset=BS*n_batches, num_workers=0)

def plain(dls, model):
    "The plain fastai Learner of one network."
    return Learner(dls, model, loss_func=CrossEntropyLossFlat())

def step_times(learners:dict, steps:int, warmup:int=2, rotate:bool=False, every:dict|None=None)->dict:
    "Alternate the learners step by step (one-batch epochs); the `StepTimer` of each, holding the steps after `warmup` rounds. `rotate`: round r starts with the r-th learner, so each takes every place in the order; `every`: `{name: n}`, a slow learner that runs in the warm-up rounds and then in every n-th round only."
    timers, every = {k: StepTimer() for k in learners}, every or {}
    for l,t in zip(learners.values(), timers.values()): l.add_cb(t)
    names = list(learners)
    for r in range(warmup + steps):
        if r == warmup:
            for t in timers.values(): t.times, t.cpu = [], []
        for k in (names[r % len(names):] + names[:r % len(names)] if rotate else names):
            if r >= warmup and (r - warmup) % every.get(k, 1): continue
            with learners[k].no_bar(), learners[k].no_logging(): learners[k].fit(1, 1e-3)
    return timers

def timed_rounds(learners:dict, steps:int, warmup:int=2)->dict:
    "Alternate the learners step by step (one-batch epochs); median step time of each after `warmup` rounds."
    return {k: float(np.median(t.times)) for k,t in step_times(learners, steps, warmup).items()}

def cohort_overhead(dls, steps):
    "1. The cohort step against the sum of its members' plain steps."
    res = {}
    set_seed(0)
    T, A, B = make_model('resnet18'), make_model('mobilenetv2', width_mult=0.25), make_model('cnn')
    l = {'cohort': cohort_learner(dls, teacher=deepcopy(T), students={'a': deepcopy(A), 'b': deepcopy(B)}, cbs=learning_styles()),
         'teacher': plain(dls, T), 'a': plain(dls, A), 'b': plain(dls, B)}
    t = timed_rounds(l, steps)
    res['styles_3'] = dict(cohort_s=t['cohort'], members_s=t['teacher'] + t['a'] + t['b'], members=['resnet18', 'mobilenetv2(0.25)', 'cnn'],
                           ratio=t['cohort']/(t['teacher'] + t['a'] + t['b']), each=t)
    pool = ['mobilenetv2', 'cnn', 'resnet10', 'cnn']
    for n in (2, 3, 4):
        set_seed(0)
        ms = {f's{i}': make_model(a, **({'width_mult': 0.25} if a == 'mobilenetv2' else {})) for i,a in enumerate(pool[:n])}
        l = {'cohort': cohort_learner(dls, teacher=make_model('resnet18'), students={k: deepcopy(v) for k,v in ms.items()}, cbs=kd_ml()),
             'teacher': plain(dls, make_model('resnet18')), **{k: plain(dls, v) for k,v in ms.items()}}
        t = timed_rounds(l, steps)
        tot = sum(v for k,v in t.items() if k != 'cohort')
        names = [a + ('(0.25)' if a == 'mobilenetv2' else '') for a in pool[:n]]
        res[f'kd_ml_{n}'] = dict(cohort_s=t['cohort'], members_s=tot, ratio=t['cohort']/tot, members=['resnet18', *names], each=t)
    return res

def feature_cost(dls, steps):
    "3. Extra time per step of feature alignment, as a fraction of the cohort step with it."
    set_seed(0)
    mk = lambda: dict(teacher=make_model('resnet18'), students={'a': make_model('cnn'), 'b': make_model('resnet10')})
    variants = {
        'none': [],
        'align_1_pair': [FeatureAlign([('teacher.layer4', 'b.layer4')])],
        'align_3_pairs': [FeatureAlign([(f'teacher.layer{i}', f'b.layer{i}') for i in (2, 3, 4)])],
        'peer_features': [PeerDistill(['a', 'b'], features={'a': 'body', 'b': 'layer4'})],
        'peer_logits_only': [PeerDistill(['a', 'b'])],
    }
    l = {k: cohort_learner(dls, cbs=cbs, **mk()) for k,cbs in variants.items()}
    t = timed_rounds(l, steps)
    return {k: dict(step_s=v, overhead=(v - t['none'])/v) for k,v in t.items()}

def inference(dls):
    "4. Images per second of each member alone, batch 128."
    xb = dls.valid.one_batch()[0].as_subclass(torch.Tensor)
    archs = ['resnet34', 'resnet18', 'mobilenetv2', 'resnet10', 'cnn']
    return {a: dict(params=n_params(make_model(a)), images_per_s=throughput(make_model(a), xb, reps=10)) for a in archs}

DET_BS, DET_SIZE = 16, 128  # the detection section's batch: BCCD smears at 128 px
HEAP_BS, HEAP_STEPS = 8, 40  # the heap section: DRIVE tiles (96 px), batch 8, RSS read after warm-up step 10 and at the last step
CL_STEPS = 8  # the channels-last section: a BCCD cohort step takes 16 to 24 s on 2 cores
CK_STEPS, CK_WRITES = 3, 3  # the checkpoint section: timed training steps (after one warm-up) and checkpoints written, per task
TD_DATA = '/tmp/kdml_bench_torchdistill_data.pt'  # the batches and initial weights both children load
TD_LR, TD_MOM, TD_T, TD_EPOCHS = 0.01, 0.9, 4., 3  # SGD with momentum in both; KD temperature; epochs each child trains (each timed)
TD_THREADS = 1  # both children: with other work on the 2 shared cores, 2-thread epochs took 8 to 23 times as long as alone, up to twice as long from one round to the next
LS_CLS = ('resnet18', ('cnn', 'resnet10'))  # the classification cohort of section 10: offline teacher, students (PneumoniaMNIST, batch BS)
LS_SEG = ('unet', ('unet_small', 'unet_tiny'))  # the segmentation cohort: Kvasir-SEG resized to LS_SEG_SIZE, batch LS_SEG_BS
LS_SEG_SIZE, LS_SEG_BS, LS_SEG_N = 80, 8, 40  # polyp images at 80 px, batch 8, 40 images drawn (one batch of them is trained on)
LS_STEPS, LS_WARMUP, LS_THREADS, LS_GOAL = 12, 2, 1, 1.03  # rounds a child times after its warm-up rounds; threads; the goal for every loss but CRD
LS_CRD_EVERY = 6  # CRD gathering rows takes 7 (K=4096) to 23 or more (K=16384) times KD's step: timed in every 6th round only (2 steps a child)
LS_TERM_REPS = 10  # the terms of a variant alone, timed after the steps
LS_ROUNDS = 2  # child processes per cohort, alternated (the section's own: `--rounds` is for sections 2, 6 and 9)
CRD_STEPS, CRD_ROWS_EVERY = 12, 6  # section 11: rounds a child times after LS_WARMUP; the gathering variants, 7 to 23 times KD's step, in every 6th round
DATA_ROUNDS = 4  # section 12: epochs of each loader, alternated
SECTION_META = {'detect': dict(batch=DET_BS, size=DET_SIZE, data='bccd'), 'heap': dict(batch=HEAP_BS, data='drive', steps=HEAP_STEPS),
                'channels': dict(data='bccd, drive, pneumoniamnist', steps=CL_STEPS),
                'checkpoint': dict(data='pneumoniamnist, drive, bccd (each task\'s default run)', steps=CK_STEPS, batch='per task'),
                'torchdistill': dict(data='pneumoniamnist (training split, no augmentation)', steps=f'{TD_EPOCHS} epochs a child', threads=TD_THREADS, torchdistill='1.1.5'),
                'losses': dict(data=f'pneumoniamnist (batch {BS}); kvasir-seg at {LS_SEG_SIZE} px (batch {LS_SEG_BS})', batch=f'{BS}; {LS_SEG_BS}', threads=LS_THREADS,
                               steps=f'{LS_STEPS} a child after {LS_WARMUP} warm-up rounds (CRD: every {LS_CRD_EVERY}th)', rounds=LS_ROUNDS),
                'crd': dict(data=f'pneumoniamnist (batch {BS})', threads=LS_THREADS, rounds=LS_ROUNDS,
                            steps=f'{CRD_STEPS} a child after {LS_WARMUP} warm-up rounds (gathering rows: every {CRD_ROWS_EVERY}th)'),
                'data': dict(data='kvasir-seg at 128 px (kdml_train\'s loaders)', batch=16, steps='an epoch a round', rounds=DATA_ROUNDS)}  # where a section's data differ from the top level's

def detect_overhead(steps):
    "5. Detection cohorts: one cohort step against the sum of its members' plain steps."
    from kdml_nb.detection_data import bccd_det_dls
    from kdml_nb.detect import make_detector, DetLoss, BoxDistill
    dls = bccd_det_dls(size=DET_SIZE, bs=DET_BS, n=DET_BS, num_workers=0)
    variants = {'kd_ml_box': lambda: [*kd_ml(), BoxDistill()],
                'styles_neck': lambda: learning_styles(teacher_layer='neck', a_layer='neck', b_layer='neck')}
    archs = {'teacher': 'det_resnet34', 'a': 'det_resnet18', 'b': 'det_mobilenetv2'}
    res = {}
    for name, cbs in variants.items():
        set_seed(0)
        ms = {k: make_detector(a, 3) for k,a in archs.items()}
        l = {'cohort': cohort_learner(dls, teacher=deepcopy(ms['teacher']), students={'a': deepcopy(ms['a']), 'b': deepcopy(ms['b'])}, cbs=cbs()),
             **{k: Learner(dls, m, loss_func=DetLoss(3)) for k,m in ms.items()}}
        t = timed_rounds(l, steps)
        tot = sum(t[k] for k in archs)
        res[name] = dict(cohort_s=t['cohort'], members_s=tot, ratio=t['cohort']/tot, members=list(archs.values()), each=t)
    return res

def channels_last(steps:int=CL_STEPS):
    "7. One cohort step in the default memory order against channels last, for the three datasets' cohorts."
    from kdml_nb.train import task_dls, ChannelsLastBatch
    cases = {'bccd_kd_ml': ('classify', 'bccd', 128, 'resnet34', ['resnet18', 'mobilenetv2'], kd_ml),
             'bccd_styles': ('classify', 'bccd', 128, 'resnet34', ['resnet18', 'mobilenetv2'], learning_styles),
             'drive_styles': ('segment', 'drive', 16, 'unet', ['unet_small', 'unet_tiny'], learning_styles),
             'pneumoniamnist_styles': ('classify', 'pneumoniamnist', BS, 'resnet18', ['cnn', 'resnet10'], learning_styles)}
    res = {}
    for name, (task, data, bs, t, ss, method) in cases.items():
        dls = task_dls(task, data, bs=bs, subset=bs if data == 'pneumoniamnist' else None)
        dls.train.n = bs  # one batch an epoch (the step timer cancels validation)
        c_in, n_out = dls.one_batch()[0].shape[1], len(dls.codes) if task == 'segment' else len(dls.vocab)
        set_seed(0)
        ms = {k: make_model(a, c_in=c_in, n_out=n_out) for k,a in zip(['teacher', 'a', 'b'], [t, *ss])}
        mk = lambda extra: cohort_learner(dls, teacher=deepcopy(ms['teacher']), students={'a': deepcopy(ms['a']), 'b': deepcopy(ms['b'])}, cbs=[*method(), *extra])
        tm = timed_rounds({'default': mk([]), 'channels_last': mk([ChannelsLastBatch()])}, steps)
        res[name] = dict(default_s=tm['default'], channels_last_s=tm['channels_last'], speedup=tm['default']/tm['channels_last'],
                         batch=bs, members=[t, *ss])
        print(name, json.dumps(res[name]))
    return res

class _StopAfter(Callback):
    "End the training part of an epoch after `n` batches (the rest of the epoch is what `StepTimer` times)."
    order = StepTimer.order + 1
    def __init__(self, n): self.n = n
    def after_batch(self):
        if self.training and self.iter + 1 >= self.n: raise CancelTrainException()

def checkpoint_cost(steps:int=CK_STEPS, writes:int=CK_WRITES):
    "8. The cost of `kdml_train`'s per-epoch checkpoint for the default run of each task: writing one against a training epoch."
    import tempfile
    from kdml_nb.train import TASK_DEFAULTS, check_request, prepare_seed, method_cbs, Checkpoint
    res = {}
    for task, d in TASK_DEFAULTS.items():
        req = check_request(task, d['data'], 'styles', d['teacher'], d['students'].split(','))
        set_seed(0)
        dls, teacher, students = prepare_seed(req, 0, bs=d['bs'])
        learn = cohort_learner(dls, teacher=teacher, students=students, cbs=method_cbs(req, list(students)))
        timer = StepTimer()
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=[timer, _StopAfter(steps + 1)])
        epoch_s = float(np.median(timer.times[1:]))*len(dls.train)  # the training steps of a full epoch; its validation not counted
        path = Path(tempfile.mkdtemp())/f'checkpoint_seed0.pth'
        ck = Checkpoint(path)
        for _ in range(writes):  # one-step epochs, each ending with the checkpoint a full epoch ends with
            with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=[StepTimer(), _StopAfter(1), ck])
        ck_s = float(np.median(ck.write_s))
        res[task] = dict(data=d['data'], batch=d['bs'], members=[d['teacher'], *d['students'].split(',')], batches=len(dls.train),
                         epoch_s=epoch_s, checkpoint_s=ck_s, ratio=ck_s/epoch_s, checkpoint_mb=path.stat().st_size/2**20)
        path.unlink(); path.parent.rmdir()
        print(task, json.dumps(res[task]))
    return res

def rss_mb()->float:
    "Current resident memory of this process, from /proc (MB)."
    for l in Path('/proc/self/status').read_text().splitlines():
        if l.startswith('VmRSS:'): return int(l.split()[1])/1024
    return float('nan')

class RSSPeak(Callback):
    "Largest resident memory seen during training, sampled when the graph is alive (after the loss) and after backward."
    def __init__(self): self.peak = 0.
    def after_loss(self): self.peak = max(self.peak, rss_mb())
    def after_backward(self): self.peak = max(self.peak, rss_mb())

class StepRSS(Callback):
    "Resident memory that a training step adds while its graph is alive: RSS after the loss (every term added) minus RSS before the batch; and the step's system (kernel) CPU time. Small tensors reuse heap pages the process already holds; what shows is the large temporaries (glibc maps blocks above its mmap threshold, at most 32 MB, afresh each time, and the kernel zeroes their pages)."
    order = StepTimer.order - 1  # after every callback's terms
    def __init__(self): self.growth, self.sys = [], []
    def before_batch(self): self.r0, self.s0 = rss_mb(), os.times().system
    def after_loss(self): self.growth.append(rss_mb() - self.r0)
    def after_batch(self): self.sys.append(os.times().system - self.s0)

def kd_child(which:str, out:str):
    "2, in a fresh process: one epoch of offline KD (teacher resnet18 -> student cnn) with kdml_nb or fasterai."
    dls = medmnist_dls('pneumoniamnist', bs=BS, num_workers=0)
    set_seed(0)
    T, S = make_model('resnet18'), make_model('cnn')
    T0 = deepcopy(T.state_dict())
    if which == 'kdml':
        learn = cohort_learner(dls, teacher=T, students={'student': S}, cbs=kd(T=4., weight=1.), offline=True, teacher_weights=True)
    else:
        from fasterai.distill.all import KnowledgeDistillationCallback, SoftTarget
        T.to(dls.device)
        learn = Learner(dls, S, loss_func=CrossEntropyLossFlat(), cbs=KnowledgeDistillationCallback(T, partial(SoftTarget, T=4.), weight=0.5))
    timer, mem = StepTimer(), RSSPeak()
    learn.add_cbs([timer, mem])
    base = rss_mb()  # the process's peak so far is reached while loading, not training: sample during fit instead
    t0 = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    epoch = time.perf_counter() - t0
    peak = mem.peak
    grads = sum(int(p.grad is not None and bool(p.grad.abs().sum() > 0)) for p in T.parameters())
    same = all(torch.equal(v.cpu(), T0[k]) for k,v in T.state_dict().items())
    Path(out).write_text(json.dumps(dict(epoch_s=epoch, step_s=float(np.median(timer.times)), peak_rss_mb=peak,
        rss_before_fit_mb=base, teacher_params_with_grad=grads, teacher_params=len(list(T.parameters())), teacher_unchanged=same)))

def heap_child(which:str, out:str):
    "6, in a fresh process: RSS over the steps of a U-Net FeatureAlign (MSE) cohort, its record kept as tensors or floats."
    import kdml_nb.cohort
    from kdml_nb.train import task_dls
    if which == 'tensor_rows': kdml_nb.cohort._recorded = lambda v: v  # what CohortRecorder did before
    dls = task_dls('segment', 'drive', bs=HEAP_BS)
    set_seed(0)
    mk = lambda a: make_model(a, c_in=3, n_out=len(dls.codes))
    learn = cohort_learner(dls, teacher=mk('unet'), students={'b': mk('unet_tiny')},
                           cbs=[FeatureAlign([LayerPair('teacher.auto', 'b.auto')], loss='mse')])
    rss = {}
    class Stop(Callback):
        def after_batch(self):
            if self.training and self.train_iter in (10, HEAP_STEPS): rss[self.train_iter] = rss_mb()
            if self.train_iter >= HEAP_STEPS: raise CancelFitException()
    timer = StepTimer()
    with learn.no_bar(), learn.no_logging(): learn.fit(100, 1e-3, cbs=[timer, Stop()])
    Path(out).write_text(json.dumps(dict(rss_step10_mb=rss[10], rss_last_mb=rss[HEAP_STEPS], step_s=float(np.median(timer.times[10:])),
                                         growth_mb_per_step=(rss[HEAP_STEPS] - rss[10])/(HEAP_STEPS - 10))))

def alternate_children(child:str, variants:list, rounds:int, env=None)->dict:
    "Run this script's `--{child}-child` once per variant and round, each in a fresh process, the order alternated by round."
    runs = {w: [] for w in variants}
    for r in range(rounds):
        for which in (variants if r % 2 == 0 else variants[::-1]):
            out = f'/tmp/kdml_bench_{child}_{which}.json'
            subprocess.run([sys.executable, __file__, f'--{child}-child', which, '--child-out', out], check=True, env=env)
            runs[which].append(json.loads(Path(out).read_text()))
    return runs

def heap(rounds:int):
    "6. The record kept as tensors against floats, alternating fresh processes (glibc's malloc as it comes)."
    env = {k: v for k,v in os.environ.items() if not k.startswith('MALLOC_')}
    runs = alternate_children('heap', ['tensor_rows', 'float_rows'], rounds, env)
    res = {w: {k: float(np.median([x[k] for x in v])) for k in v[0]} for w,v in runs.items()}
    res['step_time_ratio'] = res['float_rows']['step_s']/res['tensor_rows']['step_s']
    res['rss_last_ratio'] = res['float_rows']['rss_last_mb']/res['tensor_rows']['rss_last_mb']
    return res

def vs_fasterai(rounds:int):
    "2. kdml_nb offline KD against fasterai, alternating fresh processes."
    runs = alternate_children('kd', ['kdml', 'fasterai'], rounds)
    med = lambda which, k: float(np.median([x[k] for x in runs[which]]))
    res = {w: {k: med(w, k) for k in ('epoch_s', 'step_s', 'peak_rss_mb', 'rss_before_fit_mb')} | {k: runs[w][-1][k] for k in ('teacher_params_with_grad', 'teacher_params', 'teacher_unchanged')} for w in runs}
    res['time_ratio'] = res['kdml']['epoch_s']/res['fasterai']['epoch_s']
    res['peak_rss_ratio'] = res['kdml']['peak_rss_mb']/res['fasterai']['peak_rss_mb']
    grow = lambda w: res[w]['peak_rss_mb'] - res[w]['rss_before_fit_mb']
    res['rss_growth_ratio'] = grow('kdml')/max(grow('fasterai'), 1e-9)
    return res

def td_data(path:str=TD_DATA):
    "9. What both children train on: PneumoniaMNIST's training split (normalised, no augmentation) and the two networks' initial weights."
    from kdml_nb.data import medmnist_file, load_medmnist
    x, y = load_medmnist(medmnist_file('pneumoniamnist'))['train']
    x = torch.from_numpy(x).float().div_(255.)[:, None]
    x = (x - x.mean())/x.std()
    set_seed(0)
    torch.save(dict(x=x.contiguous(), y=torch.from_numpy(y[:, 0]).long(), teacher=make_model('resnet18').state_dict(),
                    student=make_model('cnn').state_dict()), path)

def maxrss_mb()->float:
    "The process's resident-memory high-water mark so far (MB), from `getrusage`."
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024

class _Clock:
    "What both children record: wall and CPU time at the end of each epoch, resident memory after each loss and each optimizer step, the losses."
    def __init__(self): self.marks, self.peak, self.losses, self.steps = [(time.perf_counter(), time.process_time())], 0., [], []
    def sample(self): self.peak = max(self.peak, rss_mb())
    def epoch_end(self): self.marks.append((time.perf_counter(), time.process_time()))
    def epochs(self, i:int)->list: return [b[i] - a[i] for a,b in zip(self.marks, self.marks[1:])]

class _Probe(Callback):
    "`_Clock` inside a fastai fit (after the loss, after the step, at the end of each epoch); validation skipped."
    order = StepTimer.order - 1
    def __init__(self, clock): self.clock = clock
    def after_loss(self): self.clock.sample()
    def after_step(self): self.clock.sample(); self.clock.losses.append(float(self.learn.loss_grad))
    def before_validate(self): raise CancelValidException()
    def after_epoch(self): self.clock.epoch_end()

def torchdistill_child(which:str, out:str):
    "9, in a fresh process: `TD_EPOCHS` epochs of offline KD (frozen resnet18 -> cnn) with kdml_nb's cohort or torchdistill's `DistillationBox`."
    torch.set_num_threads(TD_THREADS)
    d = torch.load(TD_DATA)
    T, S = make_model('resnet18'), make_model('cnn')
    T.load_state_dict(d['teacher']); S.load_state_dict(d['student'])
    T0 = deepcopy(T.state_dict())
    ds = torch.utils.data.TensorDataset(d['x'], d['y'])
    set_seed(0)
    if which == 'kdml':
        from fastai.data.load import DataLoader as FDL
        dls = DataLoaders(FDL(ds, bs=BS, shuffle=False, drop_last=False), FDL(torch.utils.data.Subset(ds, range(BS)), bs=BS))
        learn = cohort_learner(dls, teacher=T, students={'student': S}, cbs=kd(T=TD_T, weight=1.), offline=True, teacher_weights=True,
                               loss_func=CrossEntropyLossFlat(), opt_func=partial(OptimWrapper, opt=torch.optim.SGD, momentum=TD_MOM))
        learn.create_opt()  # both optimizers exist before the clock starts
        timer = StepTimer()
        base, maxrss0, load = rss_mb(), maxrss_mb(), os.getloadavg()[0]
        clock = _Clock()
        with learn.no_bar(), learn.no_logging(): learn.fit(TD_EPOCHS, TD_LR, cbs=[timer, _Probe(clock)])
        clock.steps = timer.times
    else:
        from torchdistill.core.distillation import get_distillation_box
        T.eval()  # torchdistill leaves the teacher's mode to the user (its example script never sets it); kdml_nb's offline teacher is in eval mode
        kd_term = dict(criterion=dict(key='KDLoss', kwargs=dict(student_module_path='.', student_module_io='output', teacher_module_path='.',
                                                                 teacher_module_io='output', temperature=TD_T, alpha=1., beta=1.)), weight=1.)
        config = dict(num_epochs=TD_EPOCHS,
            train_data_loader=dict(dataset_id='train', sampler=dict(class_or_func=torch.utils.data.SequentialSampler, kwargs=dict()),
                                   kwargs=dict(batch_size=BS, num_workers=0, drop_last=False)),
            teacher=dict(forward_proc='forward_batch_only', requires_grad=False), student=dict(forward_proc='forward_batch_only'),
            optimizer=dict(key='SGD', kwargs=dict(lr=TD_LR, momentum=TD_MOM)),
            criterion=dict(key='WeightedSumLoss', kwargs=dict(sub_terms=dict(kd=kd_term))))  # CE + 1 * T^2 KL, as kdml_nb's kd()
        box = get_distillation_box(T, S, dict(train=ds), config, torch.device('cpu'), None, False, 1)
        base, maxrss0, load = rss_mb(), maxrss_mb(), os.getloadavg()[0]
        clock = _Clock()
        for epoch in range(box.num_epochs):  # the loops of torchdistill's examples/torchvision/image_classification.py, without logger and validation
            box.pre_epoch_process(epoch=epoch)
            for xb, yb, supp in box.train_data_loader:
                t1 = time.perf_counter()
                loss = box.forward_process(xb, yb, supp)
                clock.sample()
                box.post_forward_process(loss=loss)
                clock.sample(); clock.losses.append(loss.item())
                clock.steps.append(time.perf_counter() - t1)
            box.post_epoch_process()
            clock.epoch_end()
        box.clean_modules()
    grads = sum(int(p.grad is not None and bool(p.grad.abs().sum() > 0)) for p in T.parameters())
    Path(out).write_text(json.dumps(dict(epochs_s=clock.epochs(0), cpu_epochs_s=clock.epochs(1), step_s=float(np.median(clock.steps)),
        steps=len(clock.steps), load_1min=load, peak_rss_mb=clock.peak, rss_before_mb=base, maxrss_mb=maxrss_mb(), maxrss_before_mb=maxrss0,
        threads=torch.get_num_threads(), first_loss=clock.losses[0], last_loss=clock.losses[-1],
        student_sum=float(sum(p.double().sum() for p in S.parameters())), teacher_params_with_grad=grads,
        teacher_unchanged=all(torch.equal(v, T0[k]) for k,v in T.state_dict().items()))))

class GatherRows(Callback):
    "11. CRD the official code's way: every `CRDMemory` of the cohort gathers the drawn bank rows (`whole_bank=False`); set before the terms are computed."
    def after_pred(self):
        from kdml_nb.losses import CRDMemory
        for m in self.learn.model.adapters.values():
            if isinstance(m, CRDMemory): m.whole_bank = False

def loss_variants(task:str, students:list)->dict:
    "10. `{name: callbacks}` of the losses timed on `task`'s cohort: plain KD (the baseline, first) and every other loss in its place; 11 (`task='crd'`): KD and CRD, scoring the whole banks or gathering rows (`_rows`)."
    if task == 'crd':
        return {'kd': kd(), **{f'crd_{k}{r}': relation_kd(loss='crd', params=dict(nce_k=k)) + ([GatherRows()] if r else []) for k in (16384, 4096) for r in ('', '_rows')}}
    if task == 'segment':  # dense outputs and maps: KD and DKD per pixel, CWD and EMKD on the 'auto' maps
        return {'kd': kd(), 'dkd': kd(loss='dkd'), 'cwd': feature_kd(students, loss='cwd'), 'emkd': feature_kd(students, loss='emkd')}
    return {'kd': kd(), 'kd_logit_std': kd(params=dict(logit_std=True)), 'dkd': kd(loss='dkd'), 'dist': kd(loss='dist'),
            **{l: feature_kd(students, loss=l) for l in ('mse', 'at', 'cwd')}, **{l: relation_kd(loss=l) for l in ('rkd', 'pkt', 'sp')},
            'crd_16384': relation_kd(loss='crd') + [GatherRows()], 'crd_4096': relation_kd(loss='crd', params=dict(nce_k=4096)) + [GatherRows()]}  # as measured: the official code's rows (11: both)

def term_cost(learn, xb:Tensor, yb:Tensor, reps:int=LS_TERM_REPS)->float:
    "10. Median CPU seconds of one variant's distillation terms alone (every flow's, forward and backward, adapters included), on the tensors its flows compare for batch `xb`: where the step's extra time goes."
    from kdml_nb.distill import FeatureAlign, RelationDistill, flow_inputs, embedding
    cohort, keep, hooks = learn.model.train(), {}, []
    cbs = [cb for cb in learn.cbs if isinstance(cb, (TeacherDistill, FeatureAlign, RelationDistill))]
    for f in learn.knowledge_flows():
        for side in ('source', 'target'):
            ref = f.ref(side)
            if f.kind != 'predictions' and ref not in keep:
                keep[ref] = None
                def _keep(m, i, o, ref=ref): keep[ref] = i[0] if ref.endswith(':in') else o
                hooks.append(cohort.layer(ref.removesuffix(':in')).register_forward_hook(_keep))
    with torch.no_grad(): preds = cohort(xb)
    for h in hooks: h.remove()
    learn.xb, learn.yb = (xb,), (yb,)  # what `flow_inputs` reads: the targets, the mask, its void label
    ins, leaf = flow_inputs(learn), lambda x: x.detach().float().requires_grad_()
    def terms():
        tot = 0.
        for cb in cbs:
            for f in cb.flows():
                if isinstance(cb, TeacherDistill): o = leaf(preds[f.target]); tot = tot + f(o, preds[f.source], **flow_inputs(learn, o, 'softmax'))
                elif isinstance(cb, FeatureAlign): tot = tot + cb.map_term(f, keep[f.ref('source')], leaf(keep[f.ref('target')]), None, ins.get('labels'), ins.get('void'))
                else: tot = tot + f(embedding(leaf(keep[f.ref('target')])), embedding(keep[f.ref('source')]))
        tot.backward()
    ts = []
    for r in range(2 + reps):
        c0 = time.process_time(); terms(); ts.append(time.process_time() - c0)
    return float(np.median(ts[2:]))

def losses_child(task:str, out:str):
    "10, in a fresh process with one thread: every loss of `loss_variants` on one cohort (same teacher, students, batch), alternated step by step."
    torch.set_num_threads(LS_THREADS)
    from kdml_nb.data import polyp_dls
    from kdml_nb.distill import memory_key
    if task == 'segment': dls, bs, (t, ss) = polyp_dls(size=LS_SEG_SIZE, bs=LS_SEG_BS, n=LS_SEG_N, num_workers=0), LS_SEG_BS, LS_SEG
    else: dls, bs, (t, ss) = medmnist_dls('pneumoniamnist', bs=BS, num_workers=0), BS, LS_CLS  # 'classify' and 'crd'
    n_data = len(dls.train_ds)  # what CRD's banks hold: the whole training split
    dls.train.n = bs  # one batch an epoch, the same items for every variant (the step timer cancels validation)
    xb, yb = (b.as_subclass(Tensor) for b in dls.one_batch())
    c_in, n_out = xb.shape[1], len(dls.codes) if task == 'segment' else len(dls.vocab)
    set_seed(0)
    ms = {k: make_model(a, c_in=c_in, n_out=n_out) for k,a in zip(['teacher', *ss], [t, *ss])}
    learners = {}
    for name, cbs in loss_variants(task, list(ss)).items():
        set_seed(0)
        learners[name] = cohort_learner(dls, teacher=deepcopy(ms['teacher']), students={s: deepcopy(ms[s]) for s in ss}, cbs=cbs,
                                        offline=True, teacher_weights=True)
    mem = {k: StepRSS() for k in learners}
    for k,l in learners.items(): l.add_cb(mem[k])
    t0 = time.perf_counter()
    every = {k: CRD_ROWS_EVERY for k in learners if k.endswith('_rows')} if task == 'crd' else {k: LS_CRD_EVERY for k in learners if k.startswith('crd')}
    timers = step_times(learners, CRD_STEPS if task == 'crd' else LS_STEPS, LS_WARMUP, rotate=True, every=every)
    res = dict(task=task, batch=bs, n_data=n_data, members=[t, *ss], threads=torch.get_num_threads(), load_1min=os.getloadavg()[0],
               wall_s=time.perf_counter() - t0, variants={})
    for name, l in learners.items():
        ad, fs = l.model.adapters, l.knowledge_flows()
        crd = [ad[memory_key(f)] for f in fs if f.loss == 'crd']  # CRD's memory of each student: heads and two banks
        res['variants'][name] = dict(step_s=timers[name].times, cpu_s=timers[name].cpu, step_rss_mb=mem[name].growth[LS_WARMUP:], sys_s=mem[name].sys[LS_WARMUP:],
            terms_cpu_s=None if crd else term_cost(l, xb, yb),  # CRD's terms are nearly its whole step: not timed apart
            flows=[f'{f.source}->{f.target}: {f.detail}' for f in fs],
            adapter_params=sum(p.numel() for p in ad.parameters()),  # trained beside the students: adapters of mse and cwd, CRD's heads
            **(dict(nce_k=crd[0].nce_k, feat_dim=crd[0].feat_dim, bank_rows=crd[0].n_data, memories=len(crd),
                    whole_bank=crd[0].whole(bs),  # how it scored
                    bank_mb=sum(b.numel()*b.element_size() for m in crd for b in (m.memory_s, m.memory_t))/2**20) if crd else {}))
    Path(out).write_text(json.dumps(res))

def loss_costs(rounds:int, cohorts:tuple=('classify', 'segment'))->dict:
    "10. Each loss's training step against plain KD's on the same cohort: both cohorts' children alternated over `rounds` rounds (11: `cohorts=('crd',)`)."
    runs = alternate_children('losses', list(cohorts), rounds)
    crd = tuple(cohorts) == ('crd',)
    res = dict(goal=LS_GOAL, steps=CRD_STEPS if crd else LS_STEPS, warmup=LS_WARMUP, crd_every=CRD_ROWS_EVERY if crd else LS_CRD_EVERY, rounds=rounds)
    for task, rs in runs.items():
        med = lambda k, v, i=None: float(np.median([x for r in (rs if i is None else rs[i:i+1]) for x in r['variants'][v][k]]))
        vs, r0 = {}, rs[0]
        for v, d in r0['variants'].items():
            vs[v] = dict(flows=d['flows'], adapter_params=d['adapter_params'], steps=sum(len(r['variants'][v]['cpu_s']) for r in rs),
                         cpu_s=med('cpu_s', v), step_s=med('step_s', v), step_rss_mb=med('step_rss_mb', v), sys_s=med('sys_s', v),
                         **{k: d[k] for k in ('nce_k', 'feat_dim', 'bank_rows', 'memories', 'bank_mb', 'whole_bank') if k in d})
            vs[v]['ratio'] = vs[v]['cpu_s']/med('cpu_s', 'kd')  # CPU time: what the step computes, without the waits for a shared core
            vs[v]['wall_ratio'] = vs[v]['step_s']/med('step_s', 'kd')
            vs[v]['round_ratios'] = [med('cpu_s', v, i)/med('cpu_s', 'kd', i) for i in range(len(rs))]
            tc = [r['variants'][v]['terms_cpu_s'] for r in rs]
            vs[v]['terms_cpu_s'] = None if None in tc else float(np.median(tc))  # the terms alone, median over the processes
            if 'nce_k' in d:  # one student's memory, and the bank rows one step gathers (both banks: K negatives and the positive of each item)
                vs[v]['bank_mb_per_student'] = d['bank_rows']*d['feat_dim']*2*4/2**20
                vs[v]['gathered_mb_per_student'] = r0['batch']*(d['nce_k'] + 1)*d['feat_dim']*2*4/2**20
                vs[v]['whole_bank_mb_per_student'] = (r0['batch'] + d['feat_dim'])*d['bank_rows']*2*4/2**20  # instead: B x N scores and a copy of each bank
        res[task] = dict(batch=r0['batch'], members=r0['members'], n_data=r0['n_data'], threads=r0['threads'],
                         load_1min=[r['load_1min'] for r in rs], child_wall_s=[r['wall_s'] for r in rs], variants=vs)
    return res

def print_losses(ls:dict):
    "10. The ratios as a table."
    print(f"{'cohort':9} {'loss':13} {'step ms (CPU)':>13} {'ratio':>6} {'wall':>6} {'rounds':>13} {'terms ms':>9} {'step MB':>8}  goal <= {ls['goal']} (not CRD)")
    for task in [t for t in ('classify', 'segment', 'crd') if t in ls]:
        for v, d in ls[task]['variants'].items():
            rr = '/'.join(f'{x:.3f}' for x in d['round_ratios'])
            tm = f"{1000*d['terms_cpu_s']:9.2f}" if d['terms_cpu_s'] is not None else f"{'-':>9}"
            crd = (f"  K={d['nce_k']}: bank {d['bank_mb_per_student']:.1f} MB a student, gathers {d['gathered_mb_per_student']:.0f} MB a student"
                   f" a step, {100*d['sys_s']/d['cpu_s']:.0f}% of its CPU time in the kernel") if 'nce_k' in d else ''
            print(f"{task:9} {v:13} {1000*d['cpu_s']:13.1f} {d['ratio']:6.3f} {d['wall_ratio']:6.3f} {rr:>13} {tm} {d['step_rss_mb']:8.1f}{crd}")

def vs_torchdistill(rounds:int):
    "9. kdml_nb offline KD against torchdistill's `DistillationBox` (same teacher, student, batches, SGD), alternating fresh processes."
    td_data()
    try: runs = alternate_children('torchdistill', ['kdml', 'torchdistill'], rounds)
    finally: Path(TD_DATA).unlink()
    res = {}
    for w,v in runs.items():  # an epoch's time: the median over the rounds' epochs after the first; the first (each library's setup, warm-up) apart
        med = lambda k: float(np.median([x[k] for x in v]))
        res[w] = dict(epoch_s=float(np.median([e for x in v for e in x['epochs_s'][1:]])), first_epoch_s=float(np.median([x['epochs_s'][0] for x in v])),
                      cpu_epoch_s=float(np.median([e for x in v for e in x['cpu_epochs_s'][1:]])), step_s=med('step_s'),
                      peak_rss_mb=med('peak_rss_mb'), rss_before_mb=med('rss_before_mb'), maxrss_mb=med('maxrss_mb'),
                      maxrss_before_mb=med('maxrss_before_mb'), load_1min=[x['load_1min'] for x in v],
                      **{k: v[-1][k] for k in ('steps', 'threads', 'first_loss', 'last_loss', 'student_sum', 'teacher_params_with_grad', 'teacher_unchanged')})
        res[w]['rss_growth_mb'] = res[w]['peak_rss_mb'] - res[w]['rss_before_mb']
    ratio = lambda k: res['kdml'][k]/res['torchdistill'][k]
    res |= dict(time_ratio=ratio('epoch_s'), first_epoch_ratio=ratio('first_epoch_s'), cpu_ratio=ratio('cpu_epoch_s'), step_ratio=ratio('step_s'),
                peak_rss_ratio=ratio('peak_rss_mb'), maxrss_ratio=ratio('maxrss_mb'), rss_growth_ratio=ratio('rss_growth_mb'), epochs=TD_EPOCHS,
                rounds={w: [{k: x[k] for k in ('epochs_s', 'cpu_epochs_s', 'step_s', 'load_1min', 'peak_rss_mb', 'maxrss_mb')} for x in v]
                        for w,v in runs.items()})
    return res

def cpu_s()->float:
    "CPU seconds of this process and of its finished children (fastai's workers end with their epoch)."
    import resource
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

def data_loading(rounds:int=DATA_ROUNDS)->dict:
    "12. Kvasir-SEG's loaders decoding every epoch against decoding once."
    import kdml_nb.data as D
    from kdml_nb.data import polyp_dls
    from kdml_nb.train import epoch_seconds
    args = dict(dataset='kvasir-seg', size=128, bs=16, test_pct=0.2, seed=0, split_seed=0)
    variants, res, dls, first = {'lazy': False, 'cached': None}, {}, {}, {}
    for k, c in variants.items():
        D._seg_stats.cache_clear(); D._STORES.clear()  # each built cold, as the first seed of a run is
        t, c0 = time.perf_counter(), cpu_s()
        dls[k] = polyp_dls(**args, cache=c)
        res[k] = dict(build_s=time.perf_counter() - t, build_cpu_s=cpu_s() - c0, epoch_s=[], epoch_cpu_s=[], num_workers=dls[k].train.fake_l.num_workers)
    for r in range(rounds):
        for k in (list(variants) if r % 2 == 0 else list(variants)[::-1]):
            set_seed(r)
            t, c0 = time.perf_counter(), cpu_s()
            bs = [b for dl in (dls[k].train, dls[k].valid) for b in dl]
            res[k]['epoch_s'].append(time.perf_counter() - t); res[k]['epoch_cpu_s'].append(cpu_s() - c0)
            if r == 0: first[k] = bs
    for k, c in variants.items():  # the next seed of the run: new loaders over the same split (the statistics are computed once a process either way)
        t = time.perf_counter()
        nxt = polyp_dls(**{**args, 'seed': 1}, cache=c)
        res[k]['next_seed_build_s'] = time.perf_counter() - t
        t = time.perf_counter()
        for dl in (nxt.train, nxt.valid):
            for b in dl: pass
        res[k]['next_seed_first_epoch_s'] = time.perf_counter() - t
    t = time.perf_counter()  # a later epoch of the cached loaders without their batch transforms (augmentation, normalisation)
    for dl in (dls['cached'].train, dls['cached'].valid):
        for b in dl.new(after_batch=[]): pass
    res['cached']['later_epoch_items_only_s'] = time.perf_counter() - t
    same = len(first['lazy']) == len(first['cached']) and all(torch.equal(x, y) for a, b in zip(first['lazy'], first['cached']) for x, y in zip(a, b))
    d = dls['cached']
    set_seed(0)
    compute_s = epoch_seconds(make_model('unet', c_in=3, n_out=len(d.codes)), d.train, CrossEntropyLossFlat(axis=1))
    for k in variants:
        res[k].update(first_epoch_s=res[k]['epoch_s'][0], later_epoch_s=float(np.median(res[k]['epoch_s'][1:])),
                      later_epoch_cpu_s=float(np.median(res[k]['epoch_cpu_s'][1:])))
    res['cached']['stored'] = len(d.store.items)
    out = dict(res, same_batches=same, items={n: len(dl.dataset) for n, dl in zip(('train', 'valid', 'test'), d.loaders)},
               teacher_compute_epoch_s=compute_s, rounds=rounds,
               epoch_ratio=res['cached']['later_epoch_s']/res['lazy']['later_epoch_s'],
               epoch_cpu_ratio=res['cached']['later_epoch_cpu_s']/res['lazy']['later_epoch_cpu_s'],
               first_epoch_ratio=res['cached']['first_epoch_s']/res['lazy']['first_epoch_s'])
    print(f"decode once / every epoch, Kvasir-SEG at 128 px, training + validation loaders: a later epoch {out['epoch_ratio']:.3f} (wall), "
          f"{out['epoch_cpu_ratio']:.3f} (CPU), the first {out['first_epoch_ratio']:.2f}; a later epoch {res['lazy']['later_epoch_s']:.1f} s -> "
          f"{res['cached']['later_epoch_s']:.2f} s; the next seed's loaders built in {res['lazy']['next_seed_build_s']:.1f} s (lazy) and "
          f"{res['cached']['next_seed_build_s']:.1f} s, their first epoch {res['lazy']['next_seed_first_epoch_s']:.1f} s and {res['cached']['next_seed_first_epoch_s']:.2f} s; "
          f"the teacher's forward + backward an epoch {compute_s:.1f} s; same batches: {same}")
    return out

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--steps', type=int, default=40)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--out', default=str(Path(__file__).parent/'results.json'))
    p.add_argument('--only', default='overhead,fasterai,features,inference,detect,heap,channels,checkpoint,torchdistill,losses,crd,data')
    p.add_argument('--kd-child'); p.add_argument('--heap-child'); p.add_argument('--torchdistill-child'); p.add_argument('--losses-child'); p.add_argument('--child-out')
    a = p.parse_args()
    if a.kd_child: kd_child(a.kd_child, a.child_out); sys.exit(0)
    if a.heap_child: heap_child(a.heap_child, a.child_out); sys.exit(0)
    if a.torchdistill_child: torchdistill_child(a.torchdistill_child, a.child_out); sys.exit(0)
    if a.losses_child: losses_child(a.losses_child, a.child_out); sys.exit(0)
    meta = dict(date=str(date.today()), command='python bench/run.py ' + ' '.join(sys.argv[1:]), torch=torch.__version__,
                threads=torch.get_num_threads(), cpus=os.cpu_count(), batch=BS, steps=a.steps)
    only = a.only.split(',')
    sections = ['overhead', 'fasterai', 'features', 'inference', 'detect', 'heap', 'channels', 'checkpoint', 'torchdistill', 'losses', 'crd', 'data']
    unknown = set(only) - set(sections)
    if unknown: p.error(f"unknown sections {sorted(unknown)}: use {', '.join(sections)}")
    # a partial run keeps the other sections of the results file; each section records the run that measured it
    res = json.loads(Path(a.out).read_text()) if Path(a.out).exists() and len(only) < len(sections) else {}
    if len(only) == len(sections) or not res: res.update(meta)
    res.setdefault('measured_by', {}).update({s: {**meta, **SECTION_META.get(s, {})} for s in only})
    dls = bench_dls()
    t0 = time.time()
    if 'overhead' in only: res['overhead'] = cohort_overhead(dls, a.steps); print('cohort overhead', json.dumps(res['overhead'], indent=1))
    if 'features' in only: res['features'] = feature_cost(dls, a.steps); print('feature cost', json.dumps(res['features'], indent=1))
    if 'inference' in only: res['inference'] = inference(dls); print('inference', json.dumps(res['inference'], indent=1))
    if 'fasterai' in only: res['fasterai'] = vs_fasterai(a.rounds); print('vs fasterai', json.dumps(res['fasterai'], indent=1))
    if 'detect' in only: res['detect'] = detect_overhead(a.steps); print('detection cohorts', json.dumps(res['detect'], indent=1))
    if 'heap' in only: res['heap'] = heap(a.rounds); print('heap', json.dumps(res['heap'], indent=1))
    if 'channels' in only: res['channels'] = channels_last(); print('channels last', json.dumps(res['channels'], indent=1))
    if 'checkpoint' in only: res['checkpoint'] = checkpoint_cost(); print('checkpoint cost', json.dumps(res['checkpoint'], indent=1))
    if 'torchdistill' in only:
        res['torchdistill'] = vs_torchdistill(a.rounds); print('vs torchdistill', json.dumps(res['torchdistill'], indent=1))
        td = res['torchdistill']
        print(f"kdml_nb / torchdistill, offline KD: time per epoch {td['time_ratio']:.3f} (first epoch {td['first_epoch_ratio']:.3f}, CPU time "
              f"{td['cpu_ratio']:.3f}, median step {td['step_ratio']:.3f}); peak RSS during training {td['peak_rss_ratio']:.3f}, process RSS "
              f"high-water mark {td['maxrss_ratio']:.3f}, RSS growth during training {td['rss_growth_ratio']:.3f} (goal <= 1.0 for time and peak memory)")
    if 'losses' in only:
        t1 = time.time()
        res['losses'] = loss_costs(LS_ROUNDS); res['losses']['wall_s'] = time.time() - t1; print_losses(res['losses'])
    if 'crd' in only:
        t1 = time.time()
        res['crd'] = loss_costs(LS_ROUNDS, ('crd',)); res['crd']['wall_s'] = time.time() - t1; print_losses(res['crd'])
    if 'data' in only: res['data'] = data_loading(); print('data', json.dumps(res['data'], indent=1))
    if len(only) == len(sections) or 'wall_s' not in res: res['wall_s'] = time.time() - t0
    meta['wall_s'] = time.time() - t0
    Path(a.out).write_text(json.dumps(res, indent=1))
    print(f'wrote {a.out} in {meta["wall_s"]:.0f} s')
