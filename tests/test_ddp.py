"""Two processes (torchrun, gloo on this CPU) train a cohort with teacher, feature and peer flows; the weights must be
identical across ranks and equal, to float tolerance, to one process trained on the same global batches in order."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest, torch

HERE = Path(__file__).resolve().parent

def ddp_and_reference(tmp_path, task:str, port:int)->tuple:
    "Train with `ddp_cohort.py --task task` on two processes, then the reference on one: the weights (rank 0, rank 1, initial) and metrics (rank 0, rank 1, reference)."
    pytest.importorskip('accelerate')
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    torchrun = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', str(port)]
    for cmd in ([*torchrun, str(HERE/'ddp_cohort.py')], [sys.executable, str(HERE/'ddp_cohort.py'), '--reference']):
        r = subprocess.run([*cmd, '--task', task, '--out', str(tmp_path)], capture_output=True, text=True, timeout=600, env=env)
        assert r.returncode == 0, r.stderr[-3000:]
    w = tuple(torch.load(tmp_path/f'{n}.pt') for n in ('weights_rank0', 'weights_rank1', 'init'))
    m = tuple(json.loads((tmp_path/f'metrics_{n}.json').read_text()) for n in ('rank0', 'rank1', 'reference'))
    return w, m

def test_two_processes_match_one(tmp_path):
    pytest.importorskip('accelerate')
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    torchrun = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', '29561']
    r = subprocess.run([*torchrun, str(HERE/'ddp_cohort.py'), '--out', str(tmp_path)], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([sys.executable, str(HERE/'ddp_cohort.py'), '--out', str(tmp_path), '--reference'], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    w0, w1, ref = (torch.load(tmp_path/f'weights_{n}.pt') for n in ('rank0', 'rank1', 'reference'))
    init = torch.load(tmp_path/'init.pt')
    assert any(k.startswith('adapters.') for k in w0)  # the adapters are part of what is compared
    for k in w0:
        assert torch.equal(w0[k], w1[k]), f'{k} differs across ranks'
        torch.testing.assert_close(w0[k], ref[k], rtol=1e-4, atol=1e-5, msg=f'{k}: DDP and one process differ')
        assert not torch.equal(w0[k], init[k]), f'{k} did not train'
    m0, m1 = (json.loads((tmp_path/f'metrics_rank{r}.json').read_text()) for r in (0, 1))
    assert m0['world'] == 2 and m0['steps'] == m1['steps'] == 4  # 256 items, 2 ranks of 32 per step
    assert m0['hooks_after_fit'] == m1['hooks_after_fit'] == 0
    # every member's and the ensemble's validation metrics are the same on both ranks (gathered across them)
    assert m0['metrics'] == m1['metrics'] and 'ensemble_accuracy' in m0['metrics']
    # ... and equal to the single process's, computed on the whole validation set
    ref_m = json.loads((tmp_path/'metrics_reference.json').read_text())
    for k,v in ref_m.items(): assert abs(m0['metrics'][k] - v) < 1e-4, (k, m0['metrics'][k], v)

def test_detection_cohort_under_ddp(tmp_path):
    "A detection cohort (KD + ML with box distillation) under two processes: the ranks end with the same weights, the hooks are gone, and every member's mAP is gathered over both ranks' images: it equals one process's mAP of the same weights on the whole validation set."
    (w0, w1, init), (m0, m1, ref) = ddp_and_reference(tmp_path, 'detect', 29562)
    for k in w0: assert torch.equal(w0[k], w1[k]), f'{k} differs across ranks'
    assert not all(torch.equal(w0[k], init[k]) for k in w0)
    assert m0['world'] == 2 and m0['steps'] == m1['steps'] == 2  # 16 smears, 2 ranks of 4 per step
    assert m0['hooks_after_fit'] == m1['hooks_after_fit'] == 0
    assert m0['metrics'] == m1['metrics']
    maps = [k for k in m0['metrics'] if k.endswith(('_map50', '_map'))]
    assert len(maps) == 8 and 'ensemble_map50' in maps  # teacher, a, b, ensemble at both IoU settings
    for k in maps: assert abs(m0['metrics'][k] - ref[k]) < 1e-6, (k, m0['metrics'][k], ref[k])

def test_segmentation_cohort_under_ddp(tmp_path):
    "A U-Net cohort (KD + ML) under two processes: the ranks end with the same weights, and every member's Dice and IoU are gathered over both ranks' images (9 validation images, one repeated to pad the last batch and dropped again): they equal one process's Dice and IoU of the same weights on the whole validation set."
    (w0, w1, init), (m0, m1, ref) = ddp_and_reference(tmp_path, 'segment', 29563)
    for k in w0: assert torch.equal(w0[k], w1[k]), f'{k} differs across ranks'
    assert not all(torch.equal(w0[k], init[k]) for k in w0)
    assert m0['world'] == 2 and m0['hooks_after_fit'] == m1['hooks_after_fit'] == 0
    assert m0['metrics'] == m1['metrics']
    scores = [k for k in m0['metrics'] if k.endswith(('_dice', '_iou'))]
    assert len(scores) == 8 and 'ensemble_dice' in scores  # teacher, a, b, ensemble; Dice and IoU
    for k in scores: assert abs(m0['metrics'][k] - ref[k]) < 1e-6, (k, m0['metrics'][k], ref[k])
    print({k: (m0['metrics'][k], ref[k]) for k in scores})
