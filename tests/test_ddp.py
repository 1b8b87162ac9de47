"""Two processes (torchrun, gloo on this CPU) train a cohort with teacher, feature and peer flows; the weights must be
identical across ranks and equal, to float tolerance, to one process trained on the same global batches in order."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest, torch

HERE = Path(__file__).resolve().parent

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
