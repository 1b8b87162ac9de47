"The `kdml_train` console script as a user runs it, for the tests that call it: its run and its one-line errors."
import shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def kdml_train(*args, timeout:int=600)->subprocess.CompletedProcess:
    "The console script beside this Python (else on the PATH), run in the repository with `args`."
    exe = Path(sys.executable).with_name('kdml_train')
    return subprocess.run([str(exe) if exe.exists() else shutil.which('kdml_train'), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)

def one_line(stderr:str)->str:
    "The single line a refused request prints (`kdml_train: error: ...`); fails the test otherwise."
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith('kdml_train: error:'), stderr[-3000:]
    return lines[0]
