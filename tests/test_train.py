"The main job, run as a user runs it: `kdml_train` on real data, one smoke run per task, and its error cases."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]

def kdml_train(*args, cwd=ROOT):
    exe = Path(sys.executable).with_name('kdml_train')
    cmd = [str(exe) if exe.exists() else shutil.which('kdml_train'), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)

def test_classify_smoke(tmp_path):
    (tmp_path/'results.csv').write_text('an earlier run')  # replaced, because of --overwrite
    r = kdml_train('--method', 'styles', '--teacher', 'resnet10', '--students', 'cnn,resnet10', '--epochs', '1',
                   '--bs', '64', '--subset', '256', '--overwrite', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    res = pd.read_csv(tmp_path/'results.csv')
    assert res.member.tolist() == ['teacher', 'cnn', 'resnet10', 'ensemble']
    assert res.split.unique().tolist() == ['test']
    assert res[['accuracy', 'balanced_accuracy', 'roc_auc', 'macro_f1']].notna().all().all()
    assert json.loads((tmp_path/'results.json').read_text())['command'].startswith('kdml_train --method styles')
    assert {'curves_seed0.png', 'confusion_seed0.png'} <= {p.name for p in tmp_path.iterdir()}
    assert 'styles on pneumoniamnist, test split, mean ± sd over 1 seed(s)' in r.stdout

def test_segment_smoke(tmp_path):
    r = kdml_train('--task', 'segment', '--data', 'cvc-clinicdb', '--method', 'kd_ml', '--teacher', 'unet_tiny',
                   '--students', 'unet_tiny,unet_tiny', '--epochs', '1', '--bs', '4', '--size', '64', '--seeds', '0,1',
                   '--split_seed', '5', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    res = pd.read_csv(tmp_path/'results.csv')
    assert res.member.tolist() == ['teacher', 'unet_tiny_1', 'unet_tiny_2', 'ensemble']*2
    assert res.seed.tolist() == [0]*4 + [1]*4 and (res.split_seed == 5).all()  # both seeds test on the same images
    assert res[['dice', 'iou']].notna().all().all() and (res.dice.between(0, 1)).all()
    assert (tmp_path/'masks_seed0.png').exists()

def test_detect_smoke(tmp_path):
    "Detection through the same command (offline teacher, learning styles with both detection options, channels-last order): every member and the ensemble get mAP@0.5 and mAP@[.5:.95] on the BCCD test smears."
    r = kdml_train('--task', 'detect', '--method', 'styles', '--offline', '--box_kd', '1', '--feat_bg', '0.25', '--epochs', '1', '--channels_last',
                   '--subset', '8', '--size', '128', '--bs', '8', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    res = pd.read_csv(tmp_path/'results.csv')
    assert res.member.tolist() == ['teacher', 'det_resnet18', 'det_mobilenetv2', 'ensemble']
    assert res.arch.tolist()[:3] == ['det_resnet34', 'det_resnet18', 'det_mobilenetv2']
    assert res[['map50', 'map']].notna().all().all() and res.map50.between(0, 1).all()
    assert (res.epoch_s[:3] > 0).all() and (res.images_per_s[:3] > 0).all()
    assert res.split.unique().tolist() == ['test'] and res.feat_bg[0] == 0.25 and res.box_kd[0] == 1.
    assert res.teacher_mode.unique().tolist() == ['offline'] and res.channels_last.all()
    assert {'curves_seed0.png', 'boxes_seed0.png'} <= {p.name for p in tmp_path.iterdir()}
    assert 'styles on bccd, test split' in r.stdout and 's/epoch alone' in r.stdout

@pytest.mark.parametrize('args,msg', [
    (['--method', 'fitnet'], "unknown method 'fitnet'"),
    (['--teacher', 'vgg16'], "unknown architecture 'vgg16'"),
    (['--data', 'drive'], 'drive is a segmentation dataset: use --task segment'),
    (['--task', 'segment', '--data', 'pneumoniamnist', '--teacher', 'unet', '--students', 'unet_small,unet_tiny'], 'is a classification dataset'),
    (['--data', '/no/such/data.npz'], 'nor an existing path'),
    (['--students', 'cnn'], 'styles needs exactly two students'),
    (['--online', '--offline'], 'not both'),
    (['--task', 'detect', '--data', 'drive'], 'drive has no boxes'),
    (['--task', 'detect', '--teacher', 'resnet18'], "'resnet18' is for classify, not detect"),
    (['--task', 'detect', '--method', 'ml', '--box_kd', '1'], 'ml has none'),
    (['--box_kd', '1'], 'needs --task detect'),
    (['--task', 'track'], "unknown task 'track'"),
    (['--task', 'detect', '--subset', '4', '--bs', '16'], 'fewer than one batch of 16'),
    (['--teacher_weights', 'teacher.pth'], 'it needs --offline'),
    (['--offline', '--teacher_weights', '/no/such/run'], 'no /no/such/run'),
    (['--split_seed', '0'], 'pneumoniamnist comes with its own splits'),
    (['--flip', 'none'], '--flip sets the flips of your own image folders and label tables'),
])
def test_errors_are_one_line_before_training(tmp_path, args, msg):
    r = kdml_train(*args, '--out', str(tmp_path/'out'))
    assert r.returncode == 2
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith('kdml_train: error:') and msg in lines[0], r.stderr
    assert not (tmp_path/'out').exists()  # nothing written

def test_output_is_a_file(tmp_path):
    (tmp_path/'notes.txt').write_text('keep me')
    r = kdml_train('--out', str(tmp_path/'notes.txt'))
    assert r.returncode == 2 and 'is a file: give a folder' in r.stderr, r.stderr
    assert (tmp_path/'notes.txt').read_text() == 'keep me'

def test_finished_run_is_kept(tmp_path):
    "A folder that holds a finished run is refused before any training (no --overwrite), and its files stay as they were."
    (tmp_path/'run').mkdir(); (tmp_path/'run'/'results.csv').write_text('an earlier run')
    r = kdml_train('--out', str(tmp_path/'run'))
    assert r.returncode == 2 and "already holds a run's results.csv: give another --out, --resume to finish its seeds, or --overwrite" in r.stderr, r.stderr
    assert [p.name for p in (tmp_path/'run').iterdir()] == ['results.csv'] and (tmp_path/'run'/'results.csv').read_text() == 'an earlier run'

def test_busy_output_folder(tmp_path):
    "A second run into a folder that a run is writing stops (after waiting a few seconds for a run that is ending), and leaves the folder as it was."
    from kdml_nb.train import _FolderLock
    lock = _FolderLock(tmp_path/'run')
    try:
        r = kdml_train('--out', str(tmp_path/'run'))
        assert r.returncode == 2 and 'another kdml_train is writing into' in r.stderr, r.stderr
    finally: lock.release()
    assert not (tmp_path/'run').exists()  # the lock created it, nothing was written, so releasing removed it

def test_ctrl_c_keeps_finished_seeds(tmp_path):
    "Interrupting after the first seed leaves that seed's results written, and exits 130."
    import signal, time
    exe = Path(sys.executable).with_name('kdml_train')
    args = [str(exe) if exe.exists() else shutil.which('kdml_train'), '--method', 'kd', '--teacher', 'resnet10',
            '--students', 'cnn', '--epochs', '1', '--bs', '64', '--subset', '128', '--seeds', '0,1,2', '--out', str(tmp_path)]
    p = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while not (tmp_path/'results.csv').exists() and p.poll() is None and time.time() < deadline: time.sleep(0.2)
    assert p.poll() is None, 'finished before it could be interrupted'
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, err[-2000:]
    assert 'interrupted' in err
    res = pd.read_csv(tmp_path/'results.csv')
    seeds = sorted(res.seed.unique())
    # seed 0 was written before the signal; the run stopped before the last seed (at the latest after the one in progress)
    assert seeds[0] == 0 and 2 not in seeds and seeds == list(range(len(seeds))), seeds
    assert not list(tmp_path.glob('*.part'))  # no half-written file

@pytest.mark.parametrize('script,args,sub,off', [('bccd.sh', [], 'bccd/r34_r18_mbv2', 'styles_offline'),
                                                  ('segment.sh', ['kvasir-seg'], 'kvasir-seg/unet', 'styles_at_offline')])
def test_experiment_script_lines(tmp_path, script, args, sub, off):
    "The experiment scripts, with `echo` for kdml_train: each run gets its folder (SUFFIX for added seeds), SEEDS and EXTRA reach every run, and the offline runs load kd_offline's teacher."
    env = {**os.environ, 'KDML_TRAIN': 'echo', 'SEEDS': '2', 'SUFFIX': '_seed2', 'EXTRA': '--channels_last',
           'JOBS': f'independent_online kd_offline {off}'}
    r = subprocess.run(['bash', str(ROOT/'experiments'/script), *args, str(tmp_path)], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    d = tmp_path/sub
    logs = {p.name: p.read_text().split() for p in d.glob('*.log')}
    assert set(logs) == {'independent_online_seed2.log', 'kd_offline_seed2.log', f'{off}_seed2.log'}
    for name, a in logs.items():
        assert a[a.index('--out')+1] == str(d/name[:-4]) and a[a.index('--seeds')+1] == '2' and '--channels_last' in a
    sty = logs[f'{off}_seed2.log']
    assert sty[sty.index('--method')+1] == 'styles' and '--offline' in sty and sty[sty.index('--teacher_weights')+1] == str(d/'kd_offline_seed2')
    assert ('--feat_loss' in sty) == (off == 'styles_at_offline')  # styles_at: learning styles with attention transfer
    assert '--teacher_weights' not in logs['kd_offline_seed2.log'] and '--online' in logs['independent_online_seed2.log']

DRILL = ['--method', 'styles', '--teacher', 'resnet10', '--students', 'cnn,cnn', '--epochs', '3', '--bs', '64', '--subset', '1024']  # 16 batches an epoch
TIMING = {'images_per_s', 'epoch_s', 'train_s'}  # clock readings: the only columns allowed to differ

def _members(d:Path)->dict:
    from safetensors.torch import load_file
    return {p.name: load_file(p) for p in sorted(d.glob('*.safetensors'))}

def test_kill_and_resume_is_exact(tmp_path):
    "A run killed with SIGKILL in its second epoch, then resumed with --resume, ends as the same run uninterrupted: same metrics, bit-identical member weights."
    import signal, time, torch
    exe = Path(sys.executable).with_name('kdml_train')
    exe = str(exe) if exe.exists() else shutil.which('kdml_train')
    ref, run = tmp_path/'ref', tmp_path/'run'
    p = subprocess.Popen([exe, *DRILL, '--out', str(run)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ck, deadline = run/'checkpoint_seed0.pth', time.time() + 600
    while not ck.exists() and p.poll() is None and time.time() < deadline: time.sleep(0.1)
    assert p.poll() is None, 'finished before it could be killed: ' + p.stderr.read()[-2000:]
    time.sleep(1)  # into the second epoch, which starts as the first one's checkpoint is written (16 batches: 10 s or more on 2 cores)
    p.send_signal(signal.SIGKILL); p.wait(timeout=60)
    assert p.returncode == -signal.SIGKILL and not (run/'results.csv').exists(), 'the run ended before the kill'
    assert torch.load(ck, weights_only=True)['epoch'] == 0  # killed in the second epoch: the first one's checkpoint is the last
    assert not list(run.glob('*.part'))  # no half-written file
    # without --resume the folder is refused; --resume with another option too; both in one line, before any training
    r = kdml_train(*DRILL, '--out', str(run))
    assert r.returncode == 2 and 'checkpoint of an unfinished run: --resume to continue it' in r.stderr, r.stderr
    r = kdml_train('--resume', '--lr', '0.01', '--out', str(run))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1 and 'the run was started with --lr 0.003, not 0.01' in lines[0], r.stderr
    r = kdml_train('--resume', '--out', str(run))  # its options come from the checkpoint
    assert r.returncode == 0, r.stderr[-2000:]
    assert not ck.exists()  # spent once the seed's results are written
    r0 = kdml_train(*DRILL, '--out', str(ref))
    assert r0.returncode == 0, r0.stderr[-2000:]
    a, b = pd.read_csv(run/'results.csv'), pd.read_csv(ref/'results.csv')
    cols = [c for c in b.columns if c not in TIMING]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    ma, mb = _members(run/'members_seed0'), _members(ref/'members_seed0')
    assert list(ma) == ['cnn_1.safetensors', 'cnn_2.safetensors', 'teacher.safetensors']
    for f in mb:
        assert ma[f].keys() == mb[f].keys() and all(torch.equal(ma[f][k], mb[f][k]) for k in mb[f]), f  # bit-exact on the CPU
    j = json.loads((run/'results.json').read_text())
    assert j['command'].startswith('kdml_train --method styles') and j['args']['lr'] == 0.003  # the command that started the run

def test_resume_finished_and_empty(tmp_path):
    "--resume on a finished run trains nothing and prints its table; on an empty folder it says so and starts the run."
    r = kdml_train('--method', 'kd', '--teacher', 'resnet10', '--students', 'cnn', '--epochs', '1', '--bs', '64', '--subset', '128',
                   '--resume', '--out', str(tmp_path/'run'))
    assert r.returncode == 0 and 'no run to resume' in r.stderr, r.stderr[-2000:]
    before = (tmp_path/'run'/'results.csv').read_text()
    r = kdml_train('--resume', '--out', str(tmp_path/'run'))
    assert r.returncode == 0 and 'seed 0: finished, kept' in r.stdout and 'mean ± sd over 1 seed(s)' in r.stdout, r.stderr[-2000:]
    assert (tmp_path/'run'/'results.csv').read_text() == before

def test_divergence_stops_the_run(tmp_path):
    "An absurd learning rate: the run stops at the first diverged batch, exits 3 with one line, and writes no result."
    r = kdml_train('--lr', '1000', '--epochs', '2', '--subset', '256', '--out', str(tmp_path/'run'))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 3 and len(lines) == 1, r.stderr[-3000:]
    assert lines[0].startswith('kdml_train: error: seed 0: Training diverged at epoch 0') and '--lr' in lines[0], lines[0]
    assert not (tmp_path/'run'/'results.csv').exists() and not list((tmp_path/'run').glob('checkpoint_seed*.pth'))

def test_bf16_smoke(tmp_path):
    "--bf16 trains in bfloat16 mixed precision on the CPU (autocast on the CPU): finite results, recorded as such."
    r = kdml_train('--method', 'kd', '--offline', '--teacher', 'resnet10', '--students', 'cnn', '--epochs', '1', '--bs', '64', '--subset', '128',
                   '--bf16', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    res = pd.read_csv(tmp_path/'results.csv')
    assert res[['accuracy', 'roc_auc']].notna().all().all() and (res.precision == 'bf16').all()

def test_fp16_needs_cuda(tmp_path):
    import torch
    if torch.cuda.is_available(): pytest.skip('a CUDA GPU is here: --fp16 is allowed')
    r = kdml_train('--fp16', '--out', str(tmp_path/'out'))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1 and '--fp16 needs a CUDA GPU' in lines[0], r.stderr
    assert not (tmp_path/'out').exists()
