"""The distillation leaderboard of issue #24: every method from the same offline teacher, 3 seeds, on Kvasir-SEG, DRIVE,
PneumoniaMNIST and BCCD detection, as plain `kdml_train` commands; plans them, estimates them and runs them.

    python tools/leaderboard.py --dry-run [--only DATASET]    # every job, its command, folder and estimated CPU time;
                                                              # writes experiments/leaderboard/plan.md
    python tools/leaderboard.py --probe --only DATASET        # times one epoch of each kind of job on a --subset, for
                                                              # datasets without measured seconds per epoch
    nohup python tools/leaderboard.py --run --commit > experiments/leaderboard/run.log 2>&1 &
                                                              # CPU: one job at a time, teachers first, each with
                                                              # --resume; finished jobs skipped; each seed committed
    python tools/leaderboard.py --run --commit --only kvasir-seg --job kd_ml_online
                                                              # only these jobs (--job, repeatable): on a machine too slow
                                                              # to train the teachers again, the online jobs load none
    python tools/leaderboard.py --run --commit --only kvasir-seg --own-teachers
                                                              # teachers retrained here are not the committed ones
                                                              # (beyond TEACHER_TOL: another kind of CPU): take them
                                                              # as a second set, the students alone again beside them
    bash tools/device_run.sh experiments/leaderboard bash -c \\
      'python3 tools/leaderboard.py --lines | AT_ONCE=8 bash experiments/run_jobs.sh'
                                                              # a lent GPU: many at once (run_jobs.sh starts the jobs
                                                              # that load a teacher once the others have finished)
    bash tools/device_run.sh experiments/leaderboard/kvasir-seg bash tools/leaderboard_gpu.sh kvasir-seg 1 rkd pkt
                                                              # a lent GPU, teachers committed but their weights not here:
                                                              # trains them again there, then the students alone again
                                                              # (independent/retrained1) and the jobs named beside them

Every job writes `experiments/leaderboard/<dataset>/<job>/` (results.csv, results.json, figures; weights stay out of
git). The teacher job of a dataset trains one teacher per seed alone (`--method independent --offline`, which saves
`teacher_seed{N}.pth`); every other offline job loads it (`--teacher_weights`), so each seed's methods learn from the
same teacher, and the students trained alone (`independent`) are an offline job too: the same initial weights, batches
and epochs as every method of that seed, which is what the paired comparison needs. A new checkout has the teacher
job's results but not its weights: when a job left to run loads them, `--run` trains the teachers again from the same
command into `<teacher>/rerun/seed<N>`, only the seeds the jobs left have still to run (`teacher_seeds`: a resumed run loads no
teacher for a finished seed), each seed a run of its own, and takes them only if every such seed's test figures are the committed ones within `TEACHER_TOL` (a run repeats to the last bit
on one machine, not on another), so that rows run before and after learned from the same teachers as nearly as a new
machine allows; each attempt is recorded in `<teacher>/retrained.json`. `--run --own-teachers` takes them whatever they
score: a second set of teachers, for a machine that cannot repeat the committed ones (a CPU of another kind); the rows that
learn from them are paired with the students alone trained again beside them, and the board gives each row its teachers' score.
Estimates: seconds per epoch measured on this 2-core CPU by earlier runs (`train_s` / epochs of the `results.json` of
runs with the same data, networks, batch and options), else by `--probe`, else such a run at another image size scaled
by the pixels; training time only (each seed's evaluation adds a little)."""
from __future__ import annotations
import argparse, functools, json, os, shlex, shutil, statistics, subprocess, sys, tempfile, time
from contextlib import redirect_stdout
from datetime import date
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
OUT = Path('experiments/leaderboard')  # relative to ROOT, as the commands give it
SEEDS = (0, 1, 2)

class Dataset(NamedTuple):
    "A dataset of the leaderboard, its teacher's recipe and its students' (one size, batch and learning rate for all)."
    task: str # kdml_train --task
    data: str # kdml_train --data
    teacher: str # Teacher network
    teacher_epochs: int # Epochs of the teacher job (the online methods train theirs for `epochs`, as the papers did)
    students: tuple # The two students (learning styles takes exactly two)
    rider: str # The student that the teacher job trains alongside (kdml_train needs one): the cheapest; not a result
    epochs: int # Epochs of every student run, the students alone included
    bs: int # Batch size
    lr: float # Maximum learning rate (one-cycle)
    size: int|None # Image size (patch size for DRIVE; None: kdml_train's default)
    options: tuple = () # Further kdml_train options of every job of the dataset
    says: str = '' # Why this recipe
    student_options: tuple = () # Further options of the student jobs only (the teacher job's were fixed when its teachers were trained)
    rider_epochs: int|None = 1 # Epochs of the teacher job's lone student (the teacher trains `teacher_epochs` alone first, --teacher_epochs); None: the teacher's epochs too (no --teacher_epochs)

# Teachers get twice the students' epochs: on the experiment pages, trained for the students' epochs, they were within
# 0 to 4 points of the students trained alone (Kvasir-SEG Dice 0.753-0.776 against 0.754/0.735; DRIVE 0.791 against
# 0.775; PneumoniaMNIST accuracy 0.929 against 0.924; BCCD boxes mAP@0.5 0.567 against 0.574): not worth learning from.
DATASETS = {
    'kvasir-seg': Dataset('segment', 'kvasir-seg', 'unet', 30, ('unet_small', 'unet_tiny'), 'unet_tiny', 15, 16, 3e-3, 128,
                          ('--split_seed', '0', '--channels_last'),
                          'all 1000 images, one split for every seed (640 train, 160 valid, 200 test); 128 px as on the '
                          'experiments page; channels-last, as its CPU runs were timed'),
    'drive': Dataset('segment', 'drive', 'unet', 20, ('unet_small', 'unet_tiny'), 'unet_tiny', 10, 16, 3e-3, None,
                     ('--split_seed', '0'),
                     'the 20 official test images; validation images drawn once (--split_seed 0); 96 px tiles; channels-last (its student '
                     "jobs ran at 37 s an epoch against 55 s for the earlier runs without it, on this CPU); the teachers were trained "
                     'before it was added, without it: it orders the arithmetic, not the recipe', ('--channels_last',), None),
    'pneumoniamnist': Dataset('classify', 'pneumoniamnist', 'resnet34', 20, ('cnn', 'resnet10'), 'cnn', 10, 128, 3e-3, None, (),
                              "official splits, 28 px; the smaller pair of the experiments page (CNN 23,538 and ResNet-10-style "
                              "77,338 parameters: 0.44% and 1.45% of the ResNet-34's 5,323,874)"),
    'bccd-detect': Dataset('detect', 'bccd', 'det_resnet34', 60, ('det_resnet18', 'det_mobilenetv2'), 'det_resnet18', 30, 16, 3e-3, 256, (),
                           "the detection page's full protocol: official BCCD splits, 256 px, 30 epochs"),
}

class Method(NamedTuple):
    "A row of the leaderboard: what it is and the kdml_train options that train it, per task where it applies."
    says: str # The method and its paper
    options: dict # `{task: kdml_train options}`; a task that is missing is one where it does not apply
    online: bool = False # The teacher trained with the students (the two papers' own setting); else loaded, frozen

ALL = ('classify', 'segment', 'detect')
SOFTMAX = ('classify', 'segment')  # detectors score classes with a sigmoid each: no DKD, DIST or logit standardisation
def every(opts:str, tasks=ALL)->dict: return {t: opts for t in tasks}

METHODS = {  # in the order --run runs them: the baseline and the two papers' comparisons first, then the other losses, the online runs last
    'independent': Method('students alone: the baseline each row is paired with, seed by seed', every('--method independent')),
    'kd': Method('KD (Hinton et al., 2015)', every('--method kd --kd_loss kd')),
    'dml': Method('deep mutual learning between the students (Zhang et al., CVPR 2018); the teacher only evaluated', every('--method ml')),
    'kd_ml': Method('KD + peer mutual learning (Niyaz & Bathula, ISBI 2022)', every('--method kd_ml')),
    'styles_mse': Method('learning styles (Niyaz, Sambyal & Bathula, 2022), MSE feature flows', every('--method styles --feat_loss mse')),
    'styles_at': Method('learning styles, attention-transfer feature flows', every('--method styles --feat_loss at')),
    'styles_cwd': Method('learning styles, CWD feature flows', every('--method styles --feat_loss cwd')),
    'dkd': Method("DKD (Zhao et al., CVPR 2022); its code's warm-up, 20 of 240 epochs, is under one epoch here: `--warmup 1`, which ramps nothing (epochs count from 1)",
                  every('--method kd --kd_loss dkd --warmup 1', SOFTMAX)),
    'dist': Method("DIST (Huang et al., NeurIPS 2022) at its own temperature, 1 (its segmentation code has none), written out in the command",
                   every('--method kd --kd_loss dist --kd_params T=1', SOFTMAX)),
    'kd_logit_std': Method('KD with logit standardisation (Sun et al., CVPR 2024)', every('--method kd --kd_loss kd --logit_std', SOFTMAX)),
    'cwd': Method("CWD (Shu et al., ICCV 2021) where the paper puts it: the logit maps of segmentation, the feature maps of "
                  "detection (and of classification)",
                  {'segment': '--method kd --kd_loss cwd', 'classify': '--method feat --feat_loss cwd', 'detect': '--method feat --feat_loss cwd'}),
    'fitnets': Method('FitNets-style MSE on feature maps through an adapter (Romero et al., ICLR 2015)', every('--method feat --feat_loss mse')),
    'at': Method('attention transfer, weighted as the original code (beta=1000; Zagoruyko & Komodakis, ICLR 2017)', every('--method feat --feat_loss at')),
    'emkd': Method('EMKD region affinity (Qin et al., IEEE TMI 2021)', every('--method feat --feat_loss emkd', ('segment',))),
    'rkd': Method('RKD (Park et al., CVPR 2019)', every('--method rel --rel_loss rkd', SOFTMAX)),
    'pkt': Method('PKT (Passalis & Tefas, ECCV 2018)', every('--method rel --rel_loss pkt', SOFTMAX)),
    'sp': Method('SP (Tung & Mori, ICCV 2019)', every('--method rel --rel_loss sp', SOFTMAX)),
    'crd': Method('CRD (Tian et al., ICLR 2020)', every('--method rel --rel_loss crd', SOFTMAX)),
    'crd_w0.1': Method("CRD at a tenth of its weight: at 1 its gradient holds DRIVE's students where they mark no vessel (tools/crd_segmentation.py)",
                       every('--method rel --rel_loss crd --rel_weight 0.1', SOFTMAX)),
    'kd_ml_online': Method('KD + ML with the teacher trained alongside, as the ISBI 2022 paper trained it', every('--method kd_ml'), True),
    'styles_online': Method('learning styles (MSE) with the teacher trained alongside, as its paper trained it', every('--method styles --feat_loss mse'), True),
}
TEACHER = 'teacher'  # the folder of each dataset's teacher job
BASELINE = 'independent'  # the job every row is paired with (a key of `METHODS`)

class Job(NamedTuple):
    "One kdml_train command of the plan, all its seeds in one folder."
    dataset: str # A key of `DATASETS`
    name: str # Its folder: 'teacher' or a key of `METHODS`
    kind: str # What it costs like: 'teacher', 'offline', 'styles_offline', 'online' or 'styles_online'
    args: tuple # kdml_train's arguments, --out included
    epochs: int # Epochs of each seed (of the teacher and then of its lone student, for the teacher job)
    seeds: tuple = SEEDS
    @property
    def out(self)->Path: return OUT/self.dataset/self.name
    @property
    def loads_teacher(self)->bool: return '--teacher_weights' in self.args
    @property
    def command(self)->str: return shlex.join(('kdml_train', *self.args, '--resume'))

def _common(d:Dataset, students, epochs:int)->list:
    "The kdml_train arguments every job of dataset `d` shares, for `students` trained `epochs` epochs."
    return ['--task', d.task, '--data', d.data, '--teacher', d.teacher, '--students', ','.join(students), '--epochs', str(epochs),
            '--bs', str(d.bs), '--lr', str(d.lr), '--seeds', ','.join(map(str, SEEDS)), *(['--size', str(d.size)] if d.size else []), *d.options]

def jobs(only:list|None=None)->list:
    "Every job of the plan (of the datasets `only`, if given): each dataset's teacher first, then its methods in the order of `METHODS`."
    res = []
    for name, d in DATASETS.items():
        if only and name not in only: continue
        ride = (*_common(d, [d.rider], d.rider_epochs), '--teacher_epochs', str(d.teacher_epochs)) if d.rider_epochs else _common(d, [d.rider], d.teacher_epochs)
        res.append(Job(name, TEACHER, 'teacher', (*ride, '--method', 'independent', '--offline', '--out', str(OUT/name/TEACHER)), d.teacher_epochs))
        for m, spec in METHODS.items():
            if d.task not in spec.options: continue
            opts = shlex.split(spec.options[d.task])
            mode = ['--online'] if spec.online else ['--offline', '--teacher_weights', str(OUT/name/TEACHER)]
            kind = ('styles_' if 'styles' in opts else '') + ('online' if spec.online else 'offline')
            res.append(Job(name, m, kind, (*_common(d, d.students, d.epochs), *d.student_options, *opts, *mode, '--out', str(OUT/name/m)), d.epochs))
    return res

# ---------------------------------------------------------------- kdml_train's own parser and request check
def _train():
    "kdml_nb.train, imported when needed (five seconds)."
    import kdml_nb.train as t
    return t

@functools.cache
def _parser():
    "kdml_train's own argument parser (fastcore's, from its signature)."
    from fastcore.script import anno_parser
    return anno_parser(_train().kdml_train.__wrapped__)

def parse(args)->dict:
    "kdml_train's arguments from a command line (a list or a string, with or without the 'kdml_train' in front), by its own parser."
    args = shlex.split(args) if isinstance(args, str) else list(args)
    if args and Path(args[0]).name == 'kdml_train': args = args[1:]
    a, _ = _parser().parse_known_args(args)
    return {k: v for k,v in vars(a).items() if k not in ('pdb', 'xtra')}

def check(job:Job, stand_in:Path|None=None)->dict:
    "The request of `job` as kdml_train checks it before training (`plan_run`), a one-line `ValueError` if refused; a teacher not trained yet is stood in for by the empty files in `stand_in`."
    a = parse(job.args)
    tw = a.get('teacher_weights')
    if tw and stand_in is not None and not all((ROOT/tw/f'teacher_seed{s}.pth').is_file() for s in job.seeds):
        a['teacher_weights'] = str(stand_in)
    elif tw: a['teacher_weights'] = str(ROOT/tw)
    return _train().plan_run({k: v for k,v in a.items() if k not in ('resume', 'overwrite', 'out')})[0]

def stand_in_teachers(folder:Path)->Path:
    "Empty teacher files for every seed in `folder`: kdml_train's check asks that they exist, and loads them only when training."
    for s in SEEDS: (folder/f'teacher_seed{s}.pth').touch()
    return folder

def check_all(js:list)->list:
    "`(job, error or None)` for every job, by kdml_train's own request check."
    res = []
    with tempfile.TemporaryDirectory() as tmp:
        stand = stand_in_teachers(Path(tmp))
        for j in js:
            try: check(j, stand); res.append((j, None))
            except (ValueError, FileNotFoundError) as e: res.append((j, str(e)))
    return res

# ---------------------------------------------------------------- seconds per epoch
def _cpu(dev)->bool: return isinstance(dev, str) and dev.startswith('cpu')

def run_kind(a:dict)->str:
    "What a run (its kdml_train arguments) costs like: a kind of `Job`, or 'offline+teacher' for an offline run that trained its own teacher first."
    styles = 'styles_' if a['method'] == 'styles' else ''
    if not a['offline']: return styles + 'online'
    return styles + ('offline' if a.get('teacher_weights') else 'offline+teacher')

def measured_runs(root:Path=ROOT/'experiments')->list:
    "Every run under `root` with CPU timings: its arguments, kind, folder, seconds per epoch of each seed (`train_s` / epochs) and the vector instructions of the CPU each seed ran on (`caps`: its row's, else the run's; None: not recorded)."
    res = []
    for f in sorted(root.glob('**/results.json')):
        try: j = json.loads(f.read_text())
        except (OSError, ValueError): continue
        rows = [r for r in j.get('rows', []) if _cpu(r.get('device')) and r.get('train_s')]
        if not rows: continue
        a = parse(j['command']) if 'args' not in j else dict(j['args'])
        epochs = a['epochs'] + (a.get('teacher_epochs') or 0)  # a teacher trained alone first (--teacher_epochs) counts its epochs too
        secs, caps = {}, {}
        for r in rows:
            secs.setdefault(r['seed'], r['train_s'] / epochs)
            caps.setdefault(r['seed'], r.get('cpu_capability') or (j.get('environment') or {}).get('cpu_capability'))
        res.append(dict(args=a, kind=run_kind(a), path=f.parent.relative_to(ROOT), s=list(secs.values()), caps=list(caps.values())))
    return res

def this_cpu()->str:
    "The vector instructions PyTorch's kernels use on this machine (AVX2, AVX512...), as `results.json` records them."
    import torch
    return torch.backends.cpu.get_cpu_capability()

def _seconds(rs:list, here:str|None)->tuple:
    "The seeds of runs `rs` that ran on this kind of CPU (`here`) if any did, else all: their seconds per epoch, the runs they are from, and whether they are this kind's."
    mine = [r for r in rs if here is not None and here in r['caps']]
    if not mine: return [s for r in rs for s in r['s']], rs, False
    return [s for r in mine for s, c in zip(r['s'], r['caps']) if c == here], mine, True

def cpu_ratio(name:str, runs:list, here:str|None)->float|None:
    """How many times the seconds of the other CPUs' runs this kind of CPU (`here`) takes on dataset `name`: over the kinds of
    board job that ran there both on it and on others, the median of the ratio of their medians; None where no kind did.
    Seeds that record no CPU count as others' (the runs before rows recorded it)."""
    if here is None: return None
    rs = [r for r in runs if board_kind(r) and Path(r['path']).parts[len(OUT.parts)] == name]
    ratios = []
    for k in KINDS:
        ss = [(s, c == here) for r in rs if board_kind(r) == k for s, c in zip(r['s'], r['caps'])]
        a, b = [s for s, m in ss if m], [s for s, m in ss if not m]
        if a and b: ratios.append(statistics.median(a) / statistics.median(b))
    return statistics.median(ratios) if ratios else None

def _same(a:dict, d:Dataset)->str|None:
    "'exact' if run arguments `a` train `d`'s networks on its data with its batch, options and size; 'size' if only the size differs; else None."
    t = _train()
    bs = a.get('bs') or t.TASK_DEFAULTS[a['task']]['bs']
    if (a['task'], a['data'], a['teacher'], bs) != (d.task, d.data, d.teacher, d.bs): return None
    if sorted(t._names(a['students'])) != sorted(d.students) or a.get('subset') or bool(a.get('channels_last')) != ('--channels_last' in d.options + d.student_options): return None
    return 'exact' if a.get('size') == d.size else 'size' if a.get('size') and d.size else None

# the kinds of measured run that cost like each kind of job, best first
PROXIES = {'teacher': (('offline+teacher', 'styles_offline+teacher', 'online'),),  # a teacher trained, then (or with) students
           'offline': (('offline',), ('styles_offline',)),
           'styles_offline': (('styles_offline',), ('offline',)),
           'online': (('online',), ('offline+teacher',), ('styles_online',)),
           'styles_online': (('styles_online',), ('online',), ('offline+teacher',))}
KINDS = tuple(PROXIES)

class Estimate(NamedTuple):
    "Seconds per epoch of a kind of job on one dataset, and where the figure comes from."
    s: float|None # Seconds per epoch (None: not known)
    how: str # 'board' (this job's kind, already run on this board), 'measured', 'probe', 'scaled' or 'none'
    source: str # The runs or the probe it was read from

def probe_file()->Path: return ROOT/OUT/'probe.json'

def board_kind(r:dict)->str|None:
    "The kind of job a measured run `r` is, if it is one of this board's jobs (under `OUT/<dataset>/<job>/`); else None."
    parts = Path(r['path']).parts
    if parts[:len(OUT.parts)] != OUT.parts or len(parts) <= len(OUT.parts) + 1: return None
    if parts[len(OUT.parts) + 1] == TEACHER: return 'teacher'
    return r['kind'] if r['kind'] in KINDS else None

def estimate(name:str, kind:str, runs:list, probes:dict, here:str|None='this')->Estimate:
    """Seconds per epoch of a job of `kind` on dataset `name`: the median over the seeds of this board's jobs of that kind already run, else of measured runs of the same setting, else a probe of it, else runs at another size scaled by the pixels.
    `here`: the kind of CPU to estimate for ('this': this machine's, `this_cpu`; None: any): of the board's and the measured runs, the seeds
    that ran on it if any did; else all of them, times `cpu_ratio` where the dataset's board jobs measured one."""
    d = DATASETS[name]
    here = this_cpu() if here == 'this' else here
    def of(rs, how):
        ss, rs, mine = _seconds(rs, here)
        k = None if mine else cpu_ratio(name, runs, here)
        said = f"median of {len(ss)} seed{'s' if len(ss) > 1 else ''}{f' on {here}' if mine else ''} of {', '.join(str(r['path']) for r in rs)}"
        if k is None: return Estimate(statistics.median(ss), how, said)
        return Estimate(statistics.median(ss) * k, how, f"{said}, times {k:.2f}: this {here} CPU against the others on {name}'s board jobs that ran on both")
    own = [r for r in runs if board_kind(r) == kind and Path(r['path']).parts[len(OUT.parts)] == name]
    if own: return of(own, 'board')
    def pick(match:str):
        for tier in PROXIES[kind]:
            rs = [r for r in runs if r['kind'] in tier and _same(r['args'], d) == match]
            if rs: return rs
    rs = pick('exact')
    if rs: return of(rs, 'measured')
    p = probes.get(name, {}).get(kind)
    if p and p.get('setting') == setting(name):
        two = (f", {p['train_s_big']:.1f} s on --subset {p['subset_big']} ({p['batches_big'][0]}+{p['batches_big'][1]}): the difference scaled to "
               f"{p['full_batches'][0]}+{p['full_batches'][1]}") if 'train_s_big' in p else f" of {p['full_batches'][0]}+{p['full_batches'][1]}"
        return Estimate(scaled(p), 'probe', f"probe {p['date']} ({p['device']}): one epoch of {p['job']} on --subset {p['subset']}, {p['train_s']:.1f} s for "
                        f"{p['batches'][0]}+{p['batches'][1]}{two} training+validation batches")
    rs = pick('size')
    if rs:
        ss = [s * (d.size / r['args']['size'])**2 for r in rs for s in r['s']]
        sizes = sorted({r['args']['size'] for r in rs})
        return Estimate(statistics.median(ss), 'scaled', f"{', '.join(str(r['path']) for r in rs)} at {'/'.join(map(str, sizes))} px, "
                        f"times ({d.size}/{sizes[0]})^2 for the pixels")
    return Estimate(None, 'none', 'not measured: run --probe')

def setting(name:str)->str:
    "What a probe of dataset `name` depends on: its recipe (the fields that set the cost of an epoch, as probes wrote them)."
    d = DATASETS[name]
    return 'Dataset(' + ', '.join(f'{f}={getattr(d, f)!r}' for f in Dataset._fields[:Dataset._fields.index('says') + 1]) + ')'

def load_probes()->dict:
    f = probe_file()
    return json.loads(f.read_text()) if f.is_file() else {}

# ---------------------------------------------------------------- the plan
def hours(s:float|None)->str: return '?' if s is None else f'{s/3600:.1f}'

class Row(NamedTuple):
    "A job of the plan, its estimate and how it stands (`Row.of` reads its results once)."
    job: Job
    est: Estimate
    s: float|None # CPU seconds for all its seeds (None: not estimated)
    todo: tuple # The seeds without results yet (a seed halfway through, resumed from its checkpoint, counts whole)
    done: bool # Every seed has results (and, for a teacher job whose teachers a job left to run loads, the weights are here)
    again: tuple|None = None # A teacher job with results but not weights (a new checkout): the seeds still to train again in `rerun/seed<N>` (`rerun_of`); else None
    needed: tuple = SEEDS # A teacher job's: the seeds whose teachers a job left to run loads (`teacher_seeds`)

    @classmethod
    def of(cls, j:Job, e:Estimate, needed=SEEDS):
        "The row of job `j`; `needed`: the seeds whose teachers a job left to run loads (a teacher job's only)."
        done = seeds_done(j.out)
        todo, ok = tuple(s for s in j.seeds if s not in done), settled(j, done, needed)
        missing = [s for s in needed if not teachers_ready(j.dataset, [s])]  # the teachers of the seeds needed whose weights are not here
        again = tuple(s for s in missing if s not in seeds_done(rerun_of(j, s))) if j.kind == 'teacher' and not todo and not ok else None
        return cls(j, e, None if e.s is None else e.s * j.epochs * len(j.seeds), todo, ok, again, tuple(needed))

    @property
    def left(self)->float|None:
        "CPU seconds it still needs; 0 once done. A teacher job with results but not weights (a new checkout) trains again the seeds needed that `rerun/` lacks."
        n = len(self.todo) if self.again is None else len(self.again)
        return 0. if self.done else None if self.s is None else self.s * n / len(self.job.seeds)

    @property
    def standing(self)->str:
        "'done', or the seeds still to run."
        if self.done:
            if self.job.kind != 'teacher' or teachers_ready(self.job.dataset): return 'done'
            here = [s for s in self.job.seeds if teachers_ready(self.job.dataset, [s])]
            return f"done (weights {'of ' + said(here) + ' here; the others ' if here else ''}not here: no job left loads them)"
        if self.again is not None:
            if len(self.again) == len(self.job.seeds): return 'to run: teacher weights (every seed again)'
            rest = [s for s in self.needed if s not in self.again and not teachers_ready(self.job.dataset, [s])]
            if self.again: return (f"to run: teacher weights ({said(self.again)} again" + (f"; {said(rest)} retrained in {RERUN}/" if rest else '') +
                                   (f"; no job left loads the others" if len(self.needed) < len(self.job.seeds) else '') + ')')
            return f"to run: nothing to train; retrained in {RERUN}/ and not taken ({TEACHER}/retrained.json): --run takes them within TEACHER_TOL, --own-teachers whatever they score"
        return f"to run: {said(self.todo)}"

def plan(js:list, runs:list, probes:dict)->list:
    "A `Row` for every job, and one for the students alone trained again beside retrained teachers, when `--run` would (`baseline_again`)."
    rows = []
    for j in js:
        rows.append(Row.of(j, e := estimate(j.dataset, j.kind, runs, probes), needed(j, js)))
        if j.name == BASELINE and j.loads_teacher and finished(j) and (k := baseline_again(j)) is not None: rows.append(Row.of(k, e))
    return rows

def totals(rows:list)->list:
    "`(name, jobs, CPU h, jobs not estimated, jobs left, CPU h left)` per dataset, then for them all ('total')."
    def one(name, r):
        return (name, len(r), sum(x.s for x in r if x.s is not None)/3600, sum(x.s is None for x in r),
                sum(not x.done for x in r), sum(x.left for x in r if x.left is not None)/3600)
    return [one(ds, [x for x in rows if x.job.dataset == ds]) for ds in dict.fromkeys(x.job.dataset for x in rows)] + [one('total', rows)]

def gpu_waves(js:list)->tuple:
    "The jobs a GPU can run all at once (no teacher to wait for), and those that start once their dataset's teacher job has finished."
    return [j for j in js if not j.loads_teacher], [j for j in js if j.loads_teacher]

def print_plan(rows:list, checked:list|None=None):
    "Every job, its command, folder and estimated CPU time; totals per dataset and overall; what a GPU runs in parallel."
    for ds in dict.fromkeys(x.job.dataset for x in rows):
        d = DATASETS[ds]
        print(f"\n== {ds}: {d.task}, teacher {d.teacher} ({d.teacher_epochs} epochs), students {', '.join(d.students)} ({d.epochs} epochs); {d.says}")
        for x in (x for x in rows if x.job.dataset == ds):
            j, spe = x.job, '?' if x.est.s is None else f'{x.est.s:,.0f}'
            print(f"{j.name:<14} seeds {','.join(map(str, j.seeds))}  {len(j.seeds)} x {j.epochs} epochs x {spe} s/epoch ({x.est.how}) = {hours(x.s)} h"
                  f"  [{x.standing}]  -> {j.out}/\n    {j.command}")
    print(f"\nEstimated CPU time (this 2-core machine, {this_cpu()} kernels, one job at a time; training only), all of it and what is left to run:")
    for name, n, h, n_unk, todo, h_left in totals(rows):
        print(f"  {name:<15} {n:>3} jobs  {h:8.1f} h   left: {todo:>2} jobs {h_left:6.1f} h" + (f"  ({h_left/24:.1f} days)" if name == 'total' else '')
              + (f"  (+ {n_unk} jobs not estimated{': --probe' if name != 'total' else ''})" if n_unk else ''))
    w1, w2 = gpu_waves([x.job for x in rows])
    print(f"\nOn a GPU: {len(w1)} jobs need no teacher file and can all run at once (every teacher job and the online runs: "
          f"{', '.join(f'{j.dataset}/{j.name}' for j in w1)}); the other {len(w2)} load their dataset's teachers and can all run at once "
          "as soon as that dataset's teacher job has finished its seeds (experiments/run_jobs.sh starts the lines with "
          "--teacher_weights after the others; --lines prints them).")
    print("Run a dataset's jobs on one device: its rows are paired seed by seed.")
    if checked is not None:
        bad = [(j, err) for j, err in checked if err]
        print(f"\nkdml_train's request check: {len(checked) - len(bad)} of {len(checked)} commands pass" +
              ''.join(f"\n  REFUSED {j.dataset}/{j.name}: {err}" for j, err in bad))

def plan_markdown(rows:list, checked:list|None=None)->str:
    "The plan as a markdown page (plan.md)."
    L = ["# Distillation leaderboard: the plan (issue #24)", "",
         "Written by `python tools/leaderboard.py --dry-run`; do not edit by hand. Every job trains seeds "
         f"{', '.join(map(str, SEEDS))} into `{OUT}/<dataset>/<job>/`. The teacher job trains one teacher per seed alone "
         "(`--method independent --offline`, which saves `teacher_seed{N}.pth`, not committed); every other offline job loads "
         "it (`--teacher_weights`). Commit the results and these commands, not the weights.", "",
         "## Datasets", "", "| dataset | task | teacher (epochs) | students (epochs) | batch | lr | size | options | why |", "|---|---|---|---|---|---|---|---|---|"]
    for n, d in DATASETS.items():
        L.append(f"| {n} | {d.task} | {d.teacher} ({d.teacher_epochs}) | {', '.join(d.students)} ({d.epochs}) | {d.bs} | {d.lr} | "
                 f"{d.size or 'default'} | {f'`{shlex.join(d.options)}`' if d.options else '—'} | {d.says} |")
    L += ["", "Teachers train for twice the students' epochs: trained for the students' epochs on the experiment pages, they were "
          "within 0 to 4 points of the students trained alone. The teacher job's lone student (kdml_train trains at least one) "
          "is not a result: it trains for one epoch after the teacher's own (`--teacher_epochs`), except on DRIVE, whose teachers "
          "were trained before that option and gave it the teacher's epochs. The students alone are the `independent` job, "
          "which loads the teacher like every method. Weights are not committed: a new machine trains the teachers again when a job left to run loads them, only the seeds those jobs have left (within "
          f"{TEACHER_TOL:g} of their committed test figures, or whatever they score with `--own-teachers`: a second set of "
          f"teachers) and then the students alone again, in those seeds, into `independent/{AGAIN}<k>`, "
          "since a run repeats to the last bit only on one machine; each row is paired with the students alone beside its own teachers.", "",
          "## Methods", "", "| job | method | " + ' | '.join(DATASETS) + " |", "|---|---|" + '---|' * len(DATASETS)]
    for m, spec in METHODS.items():
        L.append(f"| {m} | {spec.says}{' (teacher online)' if spec.online else ''} | " +
                 ' | '.join(f"`{spec.options[d.task]}`" if d.task in spec.options else '—' for d in DATASETS.values()) + ' |')
    L += ["", "— : does not apply (kdml_train refuses it: detectors give no embeddings of whole images and score classes with a "
          "sigmoid each; EMKD and CWD on logits need segmentation maps). Offline jobs add `--offline --teacher_weights "
          f"{OUT}/<dataset>/teacher`, online ones `--online`.", "", "## Jobs", "",
          "| dataset | job | seeds | epochs | s/epoch | from | CPU h | stands | command |", "|---|---|---|---|---|---|---|---|---|"]
    for x in rows:
        j = x.job
        L.append(f"| {j.dataset} | {j.name} | {','.join(map(str, j.seeds))} | {j.epochs} | {'?' if x.est.s is None else f'{x.est.s:,.0f}'} | "
                 f"{x.est.how} | {hours(x.s)} | {x.standing} | `{j.command}` |")
    L += ["", f"## Totals (this CPU, {this_cpu()} kernels, one job at a time, training only)", "", "| dataset | jobs | CPU h | not estimated | jobs left | CPU h left |",
          "|---|---|---|---|---|---|"]
    L += [f"| {name} | {n} | {h:.1f} | {n_unk} | {todo} | {h_left:.1f} |" for name, n, h, n_unk, todo, h_left in totals(rows)]
    L += ["", "## Where the seconds per epoch come from", "",
          "`board`: `train_s` / epochs of every seed this board's jobs of the same kind on the same dataset have run (a teacher "
          "job's epochs count its teacher's and its lone student's). "
          "`measured`: `train_s` / epochs of every seed of earlier runs on this 2-core CPU with the same data, networks, batch, "
          "size and options (results.json rows whose `device` is the CPU), of the kind of run that costs alike (a run that "
          "trained its teacher for the teacher job; one that loaded it for offline jobs; learning styles apart). `probe`: "
          "`--probe`, one epoch (of the teacher too, for a teacher job) on a `--subset` and on 4 times as many items: the "
          "difference, the cost of the extra batches, scaled to a full epoch's (a validation batch a third of a training "
          "one), so that what a run pays once cancels out (a probe of one subset, older, scales its whole time and errs "
          "high). `scaled`: such runs "
          "at another image size, times the ratio of the pixels. Of the `board` and `measured` runs, the seeds that ran on "
          f"this machine's kind of CPU ({this_cpu()}: the vector instructions PyTorch's kernels use, which each result row "
          "records) where any did; else all of them, times how much longer this kind took than the others on the dataset's "
          "board jobs that ran on both (`cpu_ratio`; rows that record no CPU count as others'). The runs ran on a shared machine: read the figures as "
          "orders of magnitude.", "", "| dataset | kind of job | s/epoch | from | source |", "|---|---|---|---|---|"]
    seen = {}
    for x in rows: seen.setdefault((x.job.dataset, x.job.kind), x.est)
    for (ds, k), e in seen.items():
        L.append(f"| {ds} | {k} | {'?' if e.s is None else f'{e.s:,.1f}'} | {e.how} | {e.source} |")
    w1, w2 = gpu_waves([x.job for x in rows])
    L += ["", "## On a GPU", "", f"{len(w1)} jobs need no teacher file and can run at once: every teacher job and the online runs. "
          f"The other {len(w2)} load their dataset's teachers and can all run at once when that teacher job has finished. "
          "`python tools/leaderboard.py --lines | AT_ONCE=8 bash experiments/run_jobs.sh` (through `tools/device_run.sh`) "
          "runs them in that order. Keep each dataset on one device: its rows are paired seed by seed. Where a dataset's "
          "teachers have committed results but no weights here, `tools/leaderboard_gpu.sh DATASET K JOB...` (through "
          "`tools/device_run.sh`) trains them again on the GPU and then the students alone again (`independent/retrained<K>`) "
          "and the jobs named beside them. Bring each call's results back in that call: the next call's copy of the "
          "working tree erases them there (on the lent H200, Kvasir-SEG's three teachers took 3.5 minutes and its offline "
          "jobs about 200 s a seed five at once, the CPU decoding the images every epoch: more than one 15-minute lease)."]
    if checked is not None:
        bad = [f"{j.dataset}/{j.name}: {err}" for j, err in checked if err]
        L += ["", f"kdml_train's own request check (`plan_run`): {len(checked) - len(bad)} of {len(checked)} commands pass."] + [f"- REFUSED {b}" for b in bad]
    return '\n'.join(L) + '\n'

# ---------------------------------------------------------------- running
def result_rows(folder:Path)->list:
    "The rows of `folder/results.csv` (relative to ROOT, or absolute) as dicts of strings; none if it is not there."
    import csv
    f = ROOT/folder/'results.csv'
    if not f.is_file(): return []
    with open(f) as fh: return list(csv.DictReader(fh))

def seeds_done(out:Path)->set:
    "The seeds of which `out/results.csv` holds results."
    return {int(r['seed']) for r in result_rows(out)}

def said(seeds)->str:
    "'seed 2' or 'seeds 0,1': how the loop's messages name seeds."
    return f"seed{'s' if len(seeds) > 1 else ''} {','.join(map(str, seeds))}"

def with_out(j:Job, out:Path, seeds)->list:
    "Job `j`'s arguments writing to `out` and running only `seeds` (a retrained teacher's seed, the students alone again in those seeds)."
    a = list(j.args); a[a.index('--out') + 1] = str(out); a[a.index('--seeds') + 1] = ','.join(map(str, seeds))
    return a

def teachers_ready(name:str, seeds=SEEDS)->bool:
    "Whether the teacher job of dataset `name` has saved a teacher for each of `seeds` (every seed by default)."
    return all((ROOT/OUT/name/TEACHER/f'teacher_seed{s}.pth').is_file() for s in seeds)

def seeds_left(j:Job)->tuple:
    "The seeds of job `j` without results yet (a seed halfway through, resumed from its checkpoint, counts whole)."
    done = seeds_done(j.out)
    return tuple(s for s in j.seeds if s not in done)

def teacher_seeds(j:Job, js:list)->tuple:
    """The seeds whose teachers of teacher job `j`'s dataset the jobs of `js` still to run load: the seeds those jobs have
    left (`kdml_train --resume` loads no teacher for a finished seed). A new checkout trains only these teachers again."""
    return tuple(sorted({s for k in js if k.dataset == j.dataset and k.loads_teacher for s in seeds_left(k)}))

def needed(j:Job, js:list)->tuple:
    "The seeds whose teachers' weights job `j` needs before it is finished: a teacher job's `teacher_seeds`; for any other job they decide nothing (every seed)."
    return teacher_seeds(j, js) if j.kind == 'teacher' else SEEDS

def settled(j:Job, done:set, needed=SEEDS)->bool:
    "The one rule of what is left: job `j`, with results for the seeds `done`, needs nothing more once every seed has results and, for a teacher job, the weights of the seeds `needed` (those the jobs left to run load, `teacher_seeds`) are here."
    return set(j.seeds) <= done and (j.kind != 'teacher' or teachers_ready(j.dataset, needed))

def finished(j:Job, needed=SEEDS)->bool:
    "Whether job `j` has results for all its seeds (and, for a teacher job, the weights of the teachers of the seeds `needed`: every seed by default)."
    return settled(j, seeds_done(j.out), needed)

def kdml_train_exe()->list:
    "How to call kdml_train: $KDML_TRAIN (as run_jobs.sh reads it), else the console script beside this Python."
    if os.environ.get('KDML_TRAIN'): return shlex.split(os.environ['KDML_TRAIN'])
    exe = Path(sys.executable).with_name('kdml_train')
    return [str(exe) if exe.exists() else (shutil.which('kdml_train') or 'kdml_train')]

def git(*args, tries:int=60)->subprocess.CompletedProcess:
    "A git command in the repository, retried while another process holds the index lock."
    for _ in range(tries):
        r = subprocess.run(['git', *args], cwd=ROOT, capture_output=True, text=True)
        if r.returncode == 0 or 'index.lock' not in r.stderr: return r
        time.sleep(2)
    return r

def results_of(j:Job)->list:
    "The files of job `j` that are committed: results and figures, never weights."
    return [str(f.relative_to(ROOT)) for f in sorted((ROOT/j.out).iterdir()) if f.suffix in ('.csv', '.json', '.png')] if (ROOT/j.out).is_dir() else []

def uncommitted(j:Job)->bool:
    "Whether some result or figure of job `j` is not committed as it is."
    fs = results_of(j)
    return bool(fs) and bool(git('status', '--porcelain', '--', *fs).stdout.strip())

def commit(j:Job)->bool:
    "Commit the results and figures of job `j` (never weights), and only those files: the seeds finished so far, all or some."
    fs = results_of(j)
    if not fs or not uncommitted(j): return False
    done = sorted(seeds_done(j.out))
    part = '' if set(j.seeds) <= set(done) else f" of {','.join(map(str, j.seeds))} (the others to run)"
    r = git('add', '--', *fs)
    if r.returncode == 0:
        r = git('commit', '-m', f"Leaderboard (#24): {j.dataset}/{j.name}, {said(done)}{part}\n\n{j.command}", '--', *fs)
    if r.returncode != 0: print(f"commit of {j.out} failed: {r.stderr.strip() or r.stdout.strip()}", flush=True)
    return r.returncode == 0

RERUN = 'rerun'  # the teacher job's subfolder where a new checkout trains its teachers again (weights are never committed)

def rerun_of(j:Job, seed:int)->Path:
    "Where a new checkout trains teacher job `j`'s teacher of `seed` again: `rerun/seed<N>`, a run of that seed alone (a resumed run must ask for the seeds it started with)."
    return j.out/RERUN/f'seed{seed}'
TEACHER_TOL = 0.003  # how far (absolute, any test figure of any seed) retrained teachers may be from the committed ones and still be taken for them:
# a run repeats to the last bit on one machine, not on another (DRIVE's teachers, retrained on another 2-core CPU with the same
# torch: Dice 0.06 and 0.13 points off), so a third of a point, below the seed-to-seed spread of the boards' paired gains
NOT_SCORES = {'seed', 'params', 'compression', 'images_per_s', 'epoch_s', 'train_s', 'split_seed', 'threads'}

def teacher_scores(folder:Path)->dict:
    "{seed: {figure: value}}: the test figures (not the timings) of the teacher rows of `folder/results.csv`."
    res = {}
    for r in result_rows(folder):
        if r.get('member') != 'teacher': continue
        figs = {}
        for k, v in r.items():
            if k in NOT_SCORES: continue
            try: figs[k] = float(v)
            except (TypeError, ValueError): pass
        res[int(r['seed'])] = figs
    return res

def compare_teachers(committed:dict, retrained:dict)->dict:
    "Per seed of `committed`, the largest absolute difference of a test figure the two share (None: the seed or its figures are missing from `retrained`)."
    res = {}
    for s, old in committed.items():
        both = [k for k in old if k in retrained.get(s, {})]
        res[s] = max(abs(retrained[s][k] - old[k]) for k in both) if both else None
    return res

POLL = 30  # seconds between two looks at a running job's results, for the seeds it has finished

def _train_job(args:list, log:Path, seed_done=None)->int:
    """kdml_train with `args` and --resume, its output appended to `log`; its exit status (negative: killed by that signal).
    `seed_done`: called whenever the job's results have changed while it runs (a seed finished; `run` commits it, so that a
    session that ends mid-job keeps its finished seeds on main and a new checkout resumes after them). kdml_train writes
    results.csv, then results.json: both are watched, so that a look between the two writes is followed by another."""
    out = ROOT/args[args.index('--out') + 1]
    stamp = lambda: tuple(f.stat().st_mtime_ns if f.is_file() else None for f in (out/'results.csv', out/'results.json'))
    with open(log, 'a') as fh:
        pr = subprocess.Popen([*kdml_train_exe(), *args, '--resume'], cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
        seen = stamp()
        try:
            while True:
                try: return pr.wait(timeout=POLL)
                except subprocess.TimeoutExpired: pass
                if seed_done is None or stamp() == seen: continue
                seen = stamp()
                try: seed_done()
                except Exception as e: print(f"warning: after a seed of {out.relative_to(ROOT)}: {type(e).__name__}: {e}; the job goes on", flush=True)
        except BaseException: pr.kill(); pr.wait(); raise  # the loop stopped (Ctrl-C): not the job left running alone

def _stopped(rc:int)->bool: return rc < 0 or rc == 130  # killed or interrupted: whoever stopped it stops the loop too

OWN = ("taken by --own-teachers: not the committed teachers (beyond TEACHER_TOL) but a second set; the rows that learn from "
       "them are paired with the students alone trained again beside them, and the board gives each row its teachers' score")

def retrain_teachers(j:Job, do_commit:bool=False, own:bool=False, seeds=None)->str:
    """Train the teachers of teacher job `j` again, from its own command, into `j.out/rerun/seed<N>`: a new checkout has their results
    (committed) but not their weights (never committed). The weights are taken only if every seed's test figures are the
    committed ones within `TEACHER_TOL` (a run repeats exactly on one machine, not across machines), so that every row of
    the dataset learned from the same teachers as nearly as a new machine allows; each attempt is
    recorded in `j.out/retrained.json` either way (the figures of both, and the seconds each seed took here). `own`: take them whatever they score (`OWN`), when every seed trained.
    `seeds`: only these seeds' teachers (`teacher_seeds`: those the jobs left to run load; None: every seed of `j`), each seed
    its own `kdml_train --resume` run (`rerun_of`), so that a later session that needs other seeds resumes or starts each one.
    'ok', 'own' (taken beyond the tolerance), 'stopped' (kdml_train killed or interrupted), or why not."""
    seeds, cmds, rc = tuple(j.seeds if seeds is None else seeds), [], 0
    print(f"retrain  {j.out}: its results are committed but not its teachers' weights; training {said(seeds)} "
          f"again into {j.out/RERUN}/seed<N>  {time.strftime('%Y-%m-%d %H:%M:%S')}", flush=True)
    for s in seeds:
        rr = rerun_of(j, s)
        a = with_out(j, rr, [s])
        cmds.append(shlex.join(['kdml_train', *a]))
        (ROOT/rr).mkdir(parents=True, exist_ok=True)
        rc = _train_job(a, ROOT/f'{rr}.log')
        if _stopped(rc): return 'stopped'
        if rc: break
    cmd, rr = '; '.join(cmds), rerun_of(j, s)  # rr: the last seed's run (its log, if it failed)
    old, new = teacher_scores(ROOT/j.out), {s: teacher_scores(ROOT/rerun_of(j, s)).get(s) for s in seeds}
    new = {s: v for s, v in new.items() if v is not None}
    diff = compare_teachers({s: old[s] for s in seeds if s in old}, new)
    trained = rc == 0 and all(d is not None for d in diff.values()) and all((ROOT/rerun_of(j, s)/f'teacher_seed{s}.pth').is_file() for s in seeds)
    within = trained and all(d <= TEACHER_TOL for d in diff.values())
    ok = within or (own and trained)
    envs = [json.loads(f.read_text()).get('environment') for s in seeds if (f := ROOT/rerun_of(j, s)/'results.json').is_file()]
    env = envs[-1] if envs else None  # the machine (each seed's results.json records its own; here, one machine)
    secs = {int(r['seed']): float(r['train_s']) for s in seeds for r in result_rows(rerun_of(j, s)) if r.get('member') == 'teacher' and r.get('train_s')}  # seconds a seed took here
    rec = ROOT/j.out/'retrained.json'
    log = json.loads(rec.read_text()) if rec.is_file() else []
    if log and log[-1]['command'] == cmd and log[-1]['environment'] == env: log.pop()  # the same attempt, compared again
    log.append(dict(date=time.strftime('%Y-%m-%d'), command=cmd, environment=env, exit=rc, tolerance=TEACHER_TOL,
                    seeds={str(s): dict(committed=old.get(s), retrained=new.get(s), max_abs_diff=diff.get(s), train_s=secs.get(s)) for s in seeds}, taken=ok,
                    **({} if within or not ok else dict(own=True, note=OWN))))
    rec.write_text(json.dumps(log, indent=1))
    if ok:
        for s in seeds: shutil.move(str(ROOT/rerun_of(j, s)/f'teacher_seed{s}.pth'), str(ROOT/j.out/f'teacher_seed{s}.pth'))
    if do_commit: commit(j)
    if ok: return 'ok' if within else 'own'
    if rc: return f"kdml_train exited {rc} (log: {rr}.log)"
    worst = max((d for d in diff.values() if d is not None), default=None)
    return (f"the retrained teachers are not the committed ones: test figures differ by up to {worst:.3g} (> {TEACHER_TOL:g}; "
            f"per seed in {j.out}/retrained.json)" if worst is not None else f"no teacher figures to compare in {j.out/RERUN}/seed<N>/results.csv") + \
           (": the rows finished so far learned from the committed teachers; --own-teachers takes these as a second set (the rows "
            f"that learn from them paired with the students alone trained again beside them), or move {j.out.parent} away to start {j.dataset} over")

AGAIN = 'retrained'  # the baseline job's subfolders `retrained1`, `retrained2`...: the students trained alone again beside teachers retrained on a new machine

def same_teachers(a:dict, b:dict)->bool:
    "Whether teacher rows `b` ({seed: figures}, some seeds) are of the teachers `a` describes: every seed of `b` is in `a` with the same test figures."
    d = compare_teachers(b, a)
    from kdml_nb.leaderboard import SAME_TEACHER  # the tolerance `gains` pairs rows by
    return bool(d) and all(v is not None and v <= SAME_TEACHER for v in d.values())

def baseline_again(j:Job)->Job|None:
    """For the baseline job `j`, finished: when the teachers now in the dataset's teacher folder are retrained ones (the last
    attempt `retrained.json` took) and no run of the baseline learned beside them, the job that trains the baseline again
    into `j.out/retrained<k>` (or continues one it started); else None. The students alone do not learn from the teacher, but a
    run repeats to the last bit only on one machine: rows that learned from retrained teachers are paired with the students
    trained alone on their machine (`kdml_nb.leaderboard.gains` matches the teacher's test scores). Only the seeds retrained
    (`teacher_seeds`: a new checkout trains again only the teachers that the jobs left to run load) are compared, and trained again."""
    rec = ROOT/OUT/j.dataset/TEACHER/'retrained.json'
    taken = [a for a in (json.loads(rec.read_text()) if rec.is_file() else []) if a.get('taken')]
    now = {int(s): v['retrained'] for s, v in taken[-1]['seeds'].items() if v.get('retrained')} if taken else {}
    if not now or not teachers_ready(j.dataset, now): return None
    of = lambda p: {s: v for s, v in teacher_scores(p).items() if s in now}  # the teachers a run learned beside, in the seeds retrained
    if same_teachers(now, of(ROOT/j.out)): return None
    again = sorted((p for p in (ROOT/j.out).glob(f'{AGAIN}*') if p.is_dir()), key=lambda p: p.name)
    seeds = tuple(sorted(now))
    if any(set(now) <= set(of(p)) and same_teachers(now, of(p)) for p in again): return None  # trained beside them, in those seeds
    mine = [p for p in again if _recorded_seeds(p) in (None, ','.join(map(str, seeds))) and (not of(p) or same_teachers(now, of(p)))]  # started beside them, for these seeds
    out = (OUT/j.dataset/j.name/mine[0].name) if mine else OUT/j.dataset/j.name/f'{AGAIN}{len(again) + 1}'
    k = j._replace(name=f'{j.name}/{out.name}', args=tuple(with_out(j, out, seeds)), seeds=seeds)
    return None if finished(k) else k

def _recorded_seeds(out:Path)->str|None:
    "The `--seeds` the run in `out` was started with (None: no run there; '?': one that records no arguments); `kdml_train --resume` refuses others."
    from kdml_nb.train import recorded_run
    try: r = recorded_run(out)
    except ValueError: return '?'
    return None if r is None else str(r['args'].get('seeds'))

STOP = OUT/'STOP'  # `touch` it to stop the loop after the job that is running (tests or benchmarks then have the CPU to themselves)

def run(js:list, do_commit:bool=False, own:bool=False)->int:
    "Run the jobs one at a time, teachers first, each with --resume (an interrupted seed continues from its last epoch); finished jobs are skipped; the loop pauses before a job while `STOP` exists; `own`: take teachers retrained here whatever they score (`retrain_teachers`). 0 if all finished."
    order, agains = [j for j in js if j.kind == 'teacher'] + [j for j in js if j.kind != 'teacher'], []  # agains: the students alone trained again (`baseline_again`)
    for j in order:
        need = needed(j, js)
        if finished(j, need):  # a teacher job: the weights of the seeds the jobs left load are here (or none is needed)
            gone = [s for s in j.seeds if not teachers_ready(j.dataset, [s])] if j.kind == 'teacher' else []
            print(f"done     {j.out}" + (f": the teachers' weights of {said(gone)} are not here, "
                                         "and no job left to run loads them" if gone else ''), flush=True)
            if do_commit and uncommitted(j): commit(j)  # finished by a loop that stopped before committing it
            again = baseline_again(j) if j.name == BASELINE and j.loads_teacher else None
            if again is None: continue
            print(f"again    {j.out}: the teachers were retrained on this machine; the students alone again beside them, into {again.out}", flush=True)
            j = again; agains.append(j)
        if j.loads_teacher and not teachers_ready(j.dataset, seeds_left(j)):
            print(f"waiting  {j.out}: the teachers of {j.dataset} are not trained", flush=True); continue
        if (ROOT/STOP).exists():  # a pause between jobs: the running one finishes and is committed, the next does not start
            print(f"paused   before {j.out}: {STOP} exists; delete it and --run goes on", flush=True)
            break
        t0 = time.time()
        if j.kind == 'teacher' and set(j.seeds) <= seeds_done(j.out):  # a new checkout: results committed, weights not
            why = retrain_teachers(j, do_commit, own, tuple(s for s in need if not teachers_ready(j.dataset, [s])))  # not the ones here: rows learned from them
            if why == 'stopped':
                print(f"stopped  {j.out}/{RERUN} after {(time.time() - t0)/3600:.2f} h: its finished seeds and last checkpoint are kept: --run continues it", flush=True)
                break
            print(f"{'retrained' if why in ('ok', 'own') else 'BLOCKED '} {j.out} after {(time.time() - t0)/3600:.2f} h" +
                  ('' if why == 'ok' else f" ({OWN})" if why == 'own' else f": {why}"), flush=True)
            continue
        (ROOT/j.out).parent.mkdir(parents=True, exist_ok=True)
        print(f"start    {j.out}  {time.strftime('%Y-%m-%d %H:%M:%S')}\n    {j.command}", flush=True)
        # each seed committed as it finishes, but not a teacher job's (its weights are not committed: its seeds are worth
        # something only all together) nor the students alone again beside retrained teachers (ditto: that machine's teachers)
        per_seed = do_commit and j.kind != 'teacher' and '/' not in j.name
        if per_seed: commit(j)  # seeds an earlier loop on this machine finished and did not commit
        rc = _train_job(list(j.args), ROOT/f'{j.out}.log', (lambda j=j: commit(j)) if per_seed else None)
        if per_seed: commit(j)  # a seed that finished after the last look, whatever became of the job
        if _stopped(rc):
            print(f"stopped  {j.out} after {(time.time() - t0)/3600:.2f} h: kdml_train was {'interrupted' if rc == 130 else f'killed (signal {-rc})'}; "
                  "its finished seeds and last checkpoint are kept: --run continues it", flush=True)
            break
        ok = rc == 0 and finished(j)
        print(f"{'finished' if ok else f'FAILED rc={rc}'} {j.out} after {(time.time() - t0)/3600:.2f} h (log: {j.out}.log)", flush=True)
        if not ok: continue
        if do_commit: commit(j)
    left = [j for j in order + agains if not finished(j, needed(j, js))]  # a loop that stopped early leaves the jobs after it unstarted too
    print(f"{len(order) - len(left)} of {len(order)} jobs finished" + ''.join(f"\n  not finished: {j.out}" for j in left), flush=True)
    return 1 if left else 0

def lines(js:list)->str:
    "Job lines for experiments/run_jobs.sh ('OUTDIR ARGS'; it adds --out OUTDIR and starts the lines with --teacher_weights last)."
    res = []
    for j in js:
        a = list(j.args); i = a.index('--out'); del a[i:i+2]
        res.append(shlex.join([str(j.out), *a, '--resume']))
    return '\n'.join(res)

# ---------------------------------------------------------------- the probe
PROBED = {'teacher': TEACHER, 'offline': 'kd', 'styles_offline': 'styles_mse', 'online': 'kd_ml_online', 'styles_online': 'styles_online'}  # the job timed for each kind
VALID_COST = 1/3  # a validation batch, forward passes only, against a training batch (forward and backward: about three)

def epoch_batches(name:str, subset:int|None)->tuple:
    "Training and validation batches an epoch of dataset `name` has (with --subset `subset`)."
    d, t = DATASETS[name], _train()
    ss = d.options[d.options.index('--split_seed') + 1] if '--split_seed' in d.options else None
    dls = t.task_dls(d.task, d.data, bs=d.bs, size=d.size, subset=subset, seed=0, split_seed=None if ss is None else int(ss))
    return len(dls.train), len(dls.valid)

PROBE_FACTOR = 4  # the probe's second, bigger subset: `PROBE_FACTOR` times --subset

def _w(tr:int, va:int)->float: return tr + VALID_COST*va  # an epoch's batches in training-batch units

def scaled(p:dict)->float:
    """Seconds of a full epoch from a probe `p`. A probe with two subsets (`train_s`, `batches` and `train_s_big`,
    `batches_big`): the cost of one more batch, from their difference, times the full epoch's batches: what every run pays
    once (networks built, data read, the test set scored), which one subset cannot tell from the epoch, cancels out. An
    older probe of one subset: its seconds times the full epoch's batches over its own, which counts those costs once per
    batch and errs high. A validation batch counts `VALID_COST` of a training one."""
    if 'train_s_big' in p:
        per = (p['train_s_big'] - p['train_s']) / (_w(*p['batches_big']) - _w(*p['batches']))
        if per > 0: return per * _w(*p['full_batches'])
    return p['train_s'] * _w(*p['full_batches']) / _w(*p['batches'])

def _probe_args(j:Job, subset:int, tmp:Path)->dict:
    "kdml_train's arguments for timing job `j` on `subset` items in `tmp`: one epoch of the students and, for a teacher job, of its teacher too."
    a = parse(j.args)
    a.update(epochs=1, seeds='0', subset=subset, out=str(tmp/j.name), resume=False, overwrite=False)
    if a.get('teacher_epochs'): a['teacher_epochs'] = 1  # else the teacher job's teacher trains all its epochs on the subset
    if a.get('teacher_weights'): a['teacher_weights'] = str(tmp/TEACHER)
    return a

def probe(names:list, subset:int)->dict:
    """Time one epoch of each kind of job of each dataset on `subset` items and on `PROBE_FACTOR` times as many (seed 0,
    in this process); `scaled` makes a full epoch of the difference. Merged into probe.json."""
    t, probes = _train(), load_probes()
    for name in names:
        full, sizes = epoch_batches(name, None), [subset, PROBE_FACTOR*subset]
        parts = [epoch_batches(name, n) for n in sizes]
        if parts[1][0] >= full[0]:
            print(f"{name}: --subset {subset} times {PROBE_FACTOR} does not shrink its epoch ({full[0]} training batches): not probed"); continue
        js, times = {j.name: j for j in jobs([name])}, {}
        for n, part in zip(sizes, parts):
            with tempfile.TemporaryDirectory() as tmp:
                for kind, job in PROBED.items():  # the teacher job first: the offline jobs load its teacher
                    j = js[job]
                    print(f"probe {name}/{kind} ({j.name}): 1 epoch, --subset {n}", flush=True)
                    try:
                        with redirect_stdout(sys.stderr): t.kdml_train(**_probe_args(j, n, Path(tmp)))
                    except SystemExit as e:
                        if e.code: raise RuntimeError(f"probe of {name}/{j.name} failed (kdml_train exit {e.code}): see above") from None
                    times.setdefault(kind, []).append(json.loads((Path(tmp)/j.name/'results.json').read_text())['rows'][0]['train_s'])
        for kind, job in PROBED.items():
            (t1, t2) = times[kind]
            p = probes.setdefault(name, {})[kind] = dict(train_s=t1, batches=parts[0], train_s_big=t2, batches_big=parts[1], full_batches=full,
                                                         subset=subset, subset_big=sizes[1], job=job, date=date.today().isoformat(),
                                                         setting=setting(name), device=t.environment()['device'])
            print(f"  {kind}: {t1:.1f} s for {parts[0][0]}+{parts[0][1]} batches, {t2:.1f} s for {parts[1][0]}+{parts[1][1]} -> "
                  f"{scaled(p):,.0f} s an epoch of {full[0]}+{full[1]}", flush=True)
    probe_file().parent.mkdir(parents=True, exist_ok=True)
    probe_file().write_text(json.dumps(probes, indent=1))
    return probes

# ----------------------------------------------------------------
def main(argv=None)->int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument('--dry-run', action='store_true', help='print every job and its estimated CPU time; write the plan (--plan)')
    g.add_argument('--run', action='store_true', help='run the jobs one at a time, teachers first, each with --resume')
    g.add_argument('--probe', action='store_true', help='time one epoch of each kind of job on a --subset (datasets without measurements)')
    g.add_argument('--lines', action='store_true', help='print the job lines of experiments/run_jobs.sh (a GPU: many at once)')
    p.add_argument('--only', action='append', choices=list(DATASETS), help='only this dataset (repeatable)')
    p.add_argument('--job', action='append', choices=[TEACHER, *METHODS], help="--run: only this job (repeatable), e.g. the online "
                   "ones, which load no teacher, on a machine that cannot train the teachers again in the time it has")
    p.add_argument('--plan', default=None, help='where --dry-run writes the plan (default: experiments/leaderboard/plan.md, and '
                                                 'not at all with --only, which would leave out the other datasets)')
    p.add_argument('--no-check', action='store_true', help="--dry-run: skip kdml_train's request check of every command")
    p.add_argument('--own-teachers', action='store_true', help="--run: take teachers retrained here even when their test figures are "
                   "not the committed ones (beyond TEACHER_TOL: a CPU of another kind), as a second set of teachers")
    p.add_argument('--commit', action='store_true', help="--run: commit each seed's results and figures as it finishes (a job's finished seeds outlive a session that ends mid-job)")
    p.add_argument('--subset', type=int, default=256, help='--probe: items (or images) of the timed epoch (default: %(default)s)')
    a = p.parse_args(argv)
    js = jobs(a.only)
    if a.job:
        if not a.run: p.error('--job only selects what --run runs: the plan and --lines cover every job')
        named = {j.dataset for j in js if j.name in a.job and j.loads_teacher}  # their teacher jobs come too: --run skips them once the weights are here
        js = [j for j in js if j.name in a.job or (j.kind == 'teacher' and j.dataset in named)]
        if not js: p.error(f"no job {', '.join(a.job)} on {', '.join(a.only or DATASETS)}: --dry-run lists each dataset's jobs")
    if a.own_teachers and not a.run: p.error('--own-teachers is for --run: it decides which teachers the jobs that run learn from')
    if a.lines: print(lines(js)); return 0
    if a.run: return run(js, a.commit, a.own_teachers)
    runs = measured_runs()
    if a.probe:  # by default the datasets with a kind of job that no run measured
        probe(a.only or [n for n in DATASETS if any(estimate(n, k, runs, {}).how != 'measured' for k in KINDS)], a.subset)
    rows = plan(js, runs, load_probes())
    checked = None if a.no_check else check_all(js)
    print_plan(rows, checked)
    rc = 0 if checked is None or not any(err for _, err in checked) else 1
    if a.plan is None and a.only: return rc  # one dataset's part would replace the whole plan
    a.plan = a.plan or str(ROOT/OUT/'plan.md')
    Path(a.plan).parent.mkdir(parents=True, exist_ok=True)
    Path(a.plan).write_text(plan_markdown(rows, checked))
    print(f"\nplan written to {Path(a.plan).resolve().relative_to(ROOT) if Path(a.plan).resolve().is_relative_to(ROOT) else a.plan}")
    return rc

if __name__ == '__main__': sys.exit(main())
