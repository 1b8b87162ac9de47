"The README's first command, run as a user runs it: the `kdml_data` console script on the shared data."
import shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name('kdml_data')

def run(*args):
    cmd = [str(EXE) if EXE.exists() else shutil.which('kdml_data'), *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)

def test_kdml_data_default_summarises_pneumoniamnist():
    r = run()
    assert r.returncode == 0, r.stderr
    assert 'pneumoniamnist: 3 loaders, input batch (128, 1, 28, 28)' in r.stdout
    # the official split sizes and class balance of the shared copy (see ../shared/data/README.md)
    lines = {l.split()[0]: l.split()[1:] for l in r.stdout.splitlines()[1:] if l.strip()}
    assert lines['train'] == ['1213', '3494', '4707']
    assert lines['test'] == ['234', '390', '624']

def test_kdml_data_bccd_crops():
    r = run('--name', 'bccd')
    assert r.returncode == 0, r.stderr
    assert 'bccd: 3 loaders' in r.stdout
    assert 'RBC' in r.stdout and 'Platelets' in r.stdout

def test_kdml_data_unknown_dataset_fails_clearly():
    r = run('--name', 'nosuchmnist')
    assert r.returncode != 0
    assert "Unknown MedMNIST dataset 'nosuchmnist'" in r.stderr
