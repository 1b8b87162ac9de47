"The relation probe (tools/relation_probe.py, and tools/crd_segmentation.py, its DRIVE and CRD case): what it records of a student trained a few steps against a teacher, on Kvasir-SEG images, and its one-line refusals."
import hashlib, importlib.util, json, math, sys
from types import SimpleNamespace
from pathlib import Path
import pytest, torch
from kdml_nb.models import make_model
from kdml_nb.train import task_dls

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location('relation_probe', ROOT/'tools'/'relation_probe.py')
rp = importlib.util.module_from_spec(spec); spec.loader.exec_module(rp)

@pytest.fixture(scope='module')
def setup():
    dls = task_dls('segment', 'kvasir-seg', bs=4, subset=24, seed=0, split_seed=0)
    torch.manual_seed(1)
    return dls, make_model('unet', c_in=3).eval()  # an untrained teacher: the probe reads its map, not its skill

@pytest.mark.parametrize('loss', ['rkd', 'crd'])
def test_run_records_each_step(setup, loss):
    "Every step's terms and gradients, from the same weights and batches whatever the weight; no hook left on the teacher."
    dls, teacher = setup
    a, b = rp.run(0., 5, dls, teacher, loss), rp.run(1., 5, dls, teacher, loss)  # 15 training images in batches of 4: step 3 starts a second epoch
    assert [r['step'] for r in b['rows']] == [0, 1, 2, 3, 4] and b['weight'] == 1. and len(dls.train) == 3
    r0, r1 = a['rows'][0], b['rows'][0]
    assert r0['ce'] == r1['ce'] and r0[loss] == r1[loss]  # step 0: the same initial weights and batch
    assert a['rows'][2]['ce'] != b['rows'][2]['ce']  # after it, the loss's weight shows
    assert all(math.isfinite(r[k]) and r[k] > 0 for r in b['rows'] for k in ('ce', f'grad_ce_weights', f'grad_{loss}_weights', f'grad_{loss}_map'))
    assert r1['channels'] == 8 and 0 <= r1['polyp_pred'] <= 1 and 0 < r1['polyp_true'] < 1  # U-Net tiny's dec1; Kvasir's foreground is 'polyp'
    assert a[f'{loss}_over_ce_weights_median'] == 0 and b[f'{loss}_over_ce_weights_median'] > 0
    assert 0 <= b['valid_dice'] <= 1 and set(b['last20']) >= {'ce', loss, 'polyp_pred'}
    assert not teacher.get_submodule(rp.LAYER)._forward_hooks

def test_refusals(tmp_path, monkeypatch, capsys):
    "No teacher file, or weights that are not numbers: one line that says what to do, and nothing written."
    monkeypatch.setattr(rp, 'ROOT', tmp_path)
    with pytest.raises(SystemExit) as e: rp.main(['--data', 'kvasir-seg', '--loss', 'pkt'])
    assert str(e.value) == ("relation_probe: experiments/leaderboard/kvasir-seg/teacher/teacher_seed0.pth is missing: "
                            "run python tools/leaderboard.py --run --only kvasir-seg first.")
    with pytest.raises(SystemExit) as e: rp.main(['--data', 'kvasir-seg', '--loss', 'rkd', '--student', 'resnet10'])
    assert str(e.value) == "relation_probe: --student 'resnet10' is not a U-Net of kdml_nb.models: pass unet, unet_small or unet_tiny (the probe reads their 'dec1' map)."
    with pytest.raises(SystemExit) as e: rp.main(['--weights', '1,a'], prog='crd_segmentation', defaults=dict(data='drive', loss='crd'))
    assert str(e.value) == "crd_segmentation: --weights '1,a' is not a list of numbers: pass e.g. --weights 1,0.1."
    assert not any(tmp_path.iterdir())

def test_summary_reads_the_steps():
    "A run's figures from its rows, under the names DRIVE's page reads (its foreground is 'vessel')."
    rows = [dict(step=k, ce=1., crd=2., grad_ce_map=1., grad_crd_map=1., grad_ce_weights=1., grad_crd_weights=g, dead_channels=d,
                 map_spatial_std=1., vessel_pred=p, vessel_true=.1, dice_batch=.5) for k, (g, d, p) in enumerate([(2., 0, .2), (4., 1, 0.), (8., 0, 0.), (6., 0, .1)])]
    r = rp.summary(dict(weight=.5, steps=4, valid_dice=.3, rows=rows), 'crd', 'vessel')
    assert (r['crd_over_ce_weights_median'], r['steps_no_vessel'], r['first_step_no_vessel'], r['last_step_vessel'], r['max_dead_channels']) == (2.5, 2, 1, 3, 1)
    assert math.isclose(r['last20']['vessel_pred'], .075) and r['last20']['crd'] == 2.

def test_records_its_command(tmp_path, monkeypatch, capsys):
    "What each entry point writes: the command that repeats it, its runs (cross-entropy alone first) and the teacher file's hash."
    monkeypatch.setattr(rp, 'ROOT', tmp_path)
    monkeypatch.setattr(rp, 'task_dls', lambda *a, **k: SimpleNamespace(codes=['background', 'vessel']))
    monkeypatch.setattr(rp, 'load_weights', lambda m, f: m)
    t = tmp_path/'experiments/leaderboard/drive/teacher'; t.mkdir(parents=True); (t/'teacher_seed0.pth').write_bytes(b'w')
    def fake_run(loss):  # a run's record as `summary` makes it, without training: what main prints and writes
        return lambda w, steps, dls, teacher, l, student: dict(weight=w, steps=steps, valid_dice=0., rows=[dict(channels=8)], max_dead_channels=0, **{
            'last20': {k: 0. for k in ('ce', loss, 'grad_ce_map', f'grad_{loss}_map', 'vessel_pred', 'vessel_true', 'map_spatial_std')},
            f'{loss}_over_ce_weights_median': 0., 'steps_no_vessel': 0, 'first_step_no_vessel': None, 'last_step_vessel': 0})
    for argv, kw, loss, want, ws, steps in [
            (['--data', 'drive', '--loss', 'rkd', '--steps', '7'], {}, 'rkd', 'python tools/relation_probe.py --data drive --loss rkd --steps 7', [0., 1., .1], 7),
            ([], dict(prog='crd_segmentation', defaults=dict(data='drive', loss='crd', weights='1,0.1,0.01')), 'crd', 'python tools/crd_segmentation.py', [0., 1., .1, .01], 200)]:
        monkeypatch.setattr(rp, 'run', fake_run(loss))
        rp.main(argv, **kw)
        rec = json.loads((tmp_path/f'experiments/leaderboard/drive/{loss}_segmentation.json').read_text())
        assert (rec['command'], [r['weight'] for r in rec['runs']], {r['steps'] for r in rec['runs']}) == (want, ws, {steps})
        assert (rec['teacher_sha256'], rec['student'], rec['teacher']) == (hashlib.sha256(b'w').hexdigest(), 'unet_tiny', 'experiments/leaderboard/drive/teacher/teacher_seed0.pth')
    assert 'written: experiments/leaderboard/drive/crd_segmentation.json' in capsys.readouterr().out
