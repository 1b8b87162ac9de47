"`kdml_train --offline --teacher_epochs N`: the teacher trains alone for N epochs, the students for --epochs (a teacher worth learning from, without a long students' run beside it); refused in one line where it cannot apply."
import json, re
import pytest

from kdml_cli import kdml_train, one_line
SMALL = ['--teacher', 'resnet10', '--students', 'cnn', '--subset', '64', '--bs', '32']  # two batches of PneumoniaMNIST an epoch

def epoch_tables(stdout:str)->list:
    "The epochs of each of fastai's printed progress tables, in order: one table per fit."
    tables = []
    for line in stdout.splitlines():
        if line.split()[:1] == ['epoch']: tables.append([])
        elif tables and re.match(r'\s*\d+\s', line): tables[-1].append(int(line.split()[0]))
    return tables

def test_the_teacher_trains_its_own_epochs(tmp_path):
    out = tmp_path/'run'
    r = kdml_train(*SMALL, '--method', 'kd', '--offline', '--teacher_epochs', '3', '--epochs', '1', '--out', str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    assert epoch_tables(r.stdout) == [[0, 1, 2], [0]]  # the teacher alone for 3 epochs, then the cohort for 1
    assert json.loads((out/'results.json').read_text())['args']['teacher_epochs'] == 3  # recorded: --resume replays it
    assert (out/'teacher_seed0.pth').is_file()  # loadable by other runs with --teacher_weights

def test_by_default_the_teacher_trains_the_students_epochs(tmp_path):
    r = kdml_train(*SMALL, '--method', 'independent', '--offline', '--epochs', '1', '--out', str(tmp_path/'run'))
    assert r.returncode == 0, r.stderr[-3000:]
    assert epoch_tables(r.stdout) == [[0], [0]]

def args(**kw)->dict:
    "kdml_train's arguments with its defaults, as `plan_run` gets them."
    import inspect
    from kdml_nb.train import kdml_train as k
    a = {n: p.default for n, p in inspect.signature(k).parameters.items() if n not in ('resume', 'overwrite', 'out')}
    return {**a, 'method': 'kd', 'teacher': 'resnet10', 'students': 'cnn', **kw}

@pytest.mark.parametrize('kw, says', [
    (dict(online=True, teacher_epochs=2), '--teacher_epochs is how long an offline teacher trains alone before the students: add --offline'),
    (dict(teacher_epochs=2), 'add --offline'),  # online is the default
    (dict(offline=True, teacher_epochs=0), '--teacher_epochs must be 1 or more, got 0.'),
    (dict(offline=True, teacher_epochs=2, teacher_weights='experiments'), '--teacher_epochs trains the teacher and --teacher_weights loads a trained one: give one of them.'),
])
def test_refused_before_training(kw, says):
    from kdml_nb.train import plan_run
    with pytest.raises(ValueError, match=re.escape(says)): plan_run(args(**kw))

def test_refused_in_one_line_with_nothing_left(tmp_path):
    out = tmp_path/'run'
    r = kdml_train(*SMALL, '--method', 'kd', '--epochs', '1', '--online', '--teacher_epochs', '2', '--out', str(out))
    assert r.returncode == 2 and one_line(r.stderr).startswith('kdml_train: error: --teacher_epochs')
    assert not out.exists()
