"`kdml_train --resume` and the offline teacher: a teacher stopped in its own training continues to the same result, and a resumed run loads a teacher only for the seeds it has still to train (a new checkout has results, never the teachers' weights)."
import signal, subprocess, sys, shutil, time
from pathlib import Path
import pandas as pd

from kdml_cli import ROOT, kdml_train

SEG = ['--task', 'segment', '--data', 'kvasir-seg', '--teacher', 'unet', '--students', 'unet_tiny', '--subset', '48', '--size', '64',
       '--bs', '16', '--split_seed', '0', '--channels_last', '--method', 'independent', '--offline', '--teacher_epochs', '3', '--epochs', '1', '--seeds', '2']
SMALL = ['--teacher', 'resnet10', '--students', 'cnn', '--subset', '64', '--bs', '32', '--epochs', '1']  # two batches of PneumoniaMNIST an epoch

def scores(out:Path)->pd.DataFrame: return pd.read_csv(out/'results.csv').set_index(['seed', 'member'])[['dice', 'iou']]

def test_a_teacher_stopped_in_its_own_training_ends_where_the_whole_run_does(tmp_path):
    "Kvasir-SEG's teacher recipe, small: interrupted in its second epoch (Ctrl-C), then `--resume` from its first epoch's checkpoint; every test figure equal to the uninterrupted run's, teacher and student."
    whole = kdml_train(*SEG, '--out', str(tmp_path/'whole'))
    assert whole.returncode == 0, whole.stderr[-3000:]
    exe = Path(sys.executable).with_name('kdml_train')
    p = subprocess.Popen([str(exe) if exe.exists() else shutil.which('kdml_train'), *SEG, '--out', str(tmp_path/'killed')],
                         cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ck = tmp_path/'killed'/'checkpoint_seed2.pth'
    while not ck.exists() and p.poll() is None: time.sleep(0.05)  # the teacher's first epoch is done
    p.send_signal(signal.SIGINT); err = p.communicate()[1]
    assert p.returncode == 130 and not (tmp_path/'killed'/'results.csv').exists(), err[-3000:]  # stopped before the seed's end
    res = kdml_train('--resume', '--out', str(tmp_path/'killed'))
    assert res.returncode == 0, res.stderr[-3000:]
    pd.testing.assert_frame_equal(scores(tmp_path/'killed'), scores(tmp_path/'whole'), check_exact=True)

def test_a_resumed_run_loads_teachers_only_for_the_seeds_it_has_left(tmp_path):
    "A run's results without its teachers' weights (a new checkout): `--resume` keeps the finished seeds and asks for no teacher of theirs; a new run asks for every seed's."
    t, k = tmp_path/'teachers', tmp_path/'kd'
    assert kdml_train(*SMALL, '--method', 'independent', '--offline', '--seeds', '0,1', '--out', str(t)).returncode == 0
    r = kdml_train(*SMALL, '--method', 'kd', '--offline', '--teacher_weights', str(t), '--seeds', '0,1', '--out', str(k))
    assert r.returncode == 0, r.stderr[-3000:]
    before = (k/'results.csv').read_text()
    for s in (0, 1): (t/f'teacher_seed{s}.pth').unlink()  # the weights are not committed
    r = kdml_train('--resume', '--out', str(k))
    assert r.returncode == 0 and r.stdout.count('finished, kept') == 2, r.stderr[-3000:]
    assert (k/'results.csv').read_text() == before
    r = kdml_train(*SMALL, '--method', 'kd', '--offline', '--teacher_weights', str(t), '--seeds', '0,1', '--out', str(tmp_path/'new'))
    assert r.returncode == 2 and 'teacher_seed0.pth' in r.stderr and not (tmp_path/'new').exists(), r.stderr[-3000:]
