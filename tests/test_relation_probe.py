"The relation probe (tools/relation_probe.py, and tools/crd_segmentation.py, its DRIVE and CRD case): what it records of a student trained a few steps against a teacher, on Kvasir-SEG images, and its one-line refusals."
import importlib.util, math, sys
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
    a, b = rp.run(0., 3, dls, teacher, loss), rp.run(1., 3, dls, teacher, loss)
    assert [r['step'] for r in b['rows']] == [0, 1, 2] and b['weight'] == 1.
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
    with pytest.raises(SystemExit) as e: rp.main(['--weights', '1,a'], prog='crd_segmentation', defaults=dict(data='drive', loss='crd'))
    assert str(e.value) == "crd_segmentation: --weights '1,a' is not a list of numbers: pass e.g. --weights 1,0.1."
    assert not any(tmp_path.iterdir())
