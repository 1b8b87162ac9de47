"The leaderboard plan of issue #24 (tools/leaderboard.py): every method of the issue where it applies, every command accepted by kdml_train's own request check, and a dry run that prints its totals. Nothing is trained."
import importlib.util, io, shlex, sys
from contextlib import redirect_stdout, redirect_stderr
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location('leaderboard', ROOT/'tools'/'leaderboard.py')
lb = importlib.util.module_from_spec(spec); spec.loader.exec_module(lb)

# The methods issue #24 names, read from the issue, not from the tool: each offline from the same teacher, the two
# papers' methods online too. EMKD (segmentation only) is in the loss table and its brief.
ISSUE = ['independent', 'kd', 'dkd', 'dist', 'kd_logit_std', 'cwd', 'fitnets', 'at', 'rkd', 'pkt', 'sp', 'crd', 'dml', 'kd_ml',
         'styles_mse', 'styles_at', 'styles_cwd', 'kd_ml_online', 'styles_online', 'emkd']
# rows the plan adds beyond the issue's, and why: CRD at a tenth of its weight (tools/crd_segmentation.py: at 1 its
# gradient holds DRIVE's students where they mark no vessel)
BEYOND = ['crd_w0.1']
# where a method cannot apply, and why: detectors score classes with a sigmoid each (no DKD, DIST, logit standardisation)
# and give no embeddings of whole images (no RKD/PKT/SP/CRD); EMKD compares segmentation regions
NOT_ON = {'detect': {'dkd', 'dist', 'kd_logit_std', 'rkd', 'pkt', 'sp', 'crd', 'crd_w0.1', 'emkd'}, 'classify': {'emkd'}, 'segment': set()}
DATASETS = {'kvasir-seg': 'segment', 'drive': 'segment', 'pneumoniamnist': 'classify', 'bccd-detect': 'detect'}
METHOD_OPTIONS = ('--method', '--kd_loss', '--kd_params', '--ml_loss', '--feat_loss', '--rel_loss', '--rel_weight', '--logit_std', '--warmup', '--offline', '--online', '--teacher_weights', '--out')

def without(args, opts=METHOD_OPTIONS)->list:
    "A job's arguments less its method and where it writes: what every student run of a dataset must share."
    a, res, i = list(args), [], 0
    while i < len(a):
        if a[i] in opts: i += 1 if a[i] in ('--logit_std', '--offline', '--online') else 2
        else: res.append(a[i]); i += 1
    return res

def test_the_plan_covers_the_issue():
    "Every dataset of the issue has a teacher job and every method of the issue where it applies, nothing else."
    js = lb.jobs()
    assert {j.dataset for j in js} == set(DATASETS)
    for ds, task in DATASETS.items():
        names = [j.name for j in js if j.dataset == ds]
        assert sorted(names) == sorted({'teacher', *ISSUE, *BEYOND} - NOT_ON[task] - ({'emkd'} if task != 'segment' else set())), ds
        assert names[0] == 'teacher' and len(names) == len(set(names))

def test_every_offline_run_learns_from_the_same_teachers():
    "One teacher per seed, trained by the teacher job and loaded by every offline run; the students trained alone get the same epochs, data and options as every method."
    for ds in DATASETS:
        js = {j.name: j for j in lb.jobs([ds])}
        t = lb.parse(js.pop('teacher').args)
        assert (t['method'], t['offline'], t['teacher_weights'], t['seeds']) == ('independent', True, None, '0,1,2')
        for j in js.values():
            a = lb.parse(j.args)
            assert a['seeds'] == '0,1,2' and a['out'] == str(lb.OUT/ds/j.name)
            assert a['teacher_weights'] == (None if a['online'] else str(lb.OUT/ds/'teacher'))
            assert a['offline'] != a['online'] and a['offline'] == (not j.name.endswith('_online'))
            assert without(j.args) == without(js['independent'].args), j.name  # same networks, epochs, batch, size, split, seeds
            if a['method'] == 'styles': assert len(a['students'].split(',')) == 2

@pytest.fixture(scope='module')
def stand_in(tmp_path_factory): return lb.stand_in_teachers(tmp_path_factory.mktemp('teachers'))

def test_every_command_passes_kdml_trains_check():
    "kdml_train's own request check (`plan_run`), in this process, before any training, accepts every command."
    if lb._train().data_root() is None: pytest.skip('no data folder (KDML_DATA or ../shared/data)')
    bad = [(j.dataset, j.name, err) for j, err in lb.check_all(lb.jobs()) if err]
    assert not bad, bad

@pytest.mark.parametrize('task', ['detect', 'classify'])
def test_what_is_left_out_is_refused(task, stand_in):
    "A method left out of a dataset is one kdml_train refuses there: its options, taken from a task where it applies, fail the check on that dataset."
    if lb._train().data_root() is None: pytest.skip('no data folder')
    ds = next(d for d,t in DATASETS.items() if t == task)
    base = lb.jobs([ds])[1]  # the dataset's 'independent' job
    for m in NOT_ON[task]:
        opts = next(o for o in lb.METHODS[m].options.values())
        args = [*without(base.args, ('--method', '--out')), *shlex.split(opts), '--out', str(base.out)]
        with pytest.raises(ValueError): lb.check(lb.Job(ds, m, 'offline', tuple(args), base.epochs), stand_in)

def test_dry_run_prints_every_job_and_a_total(tmp_path):
    "The dry run prints each job's command, folder and estimate, the totals per dataset and overall, and writes the plan."
    buf, plan = io.StringIO(), tmp_path/'plan.md'
    with redirect_stdout(buf): rc = lb.main(['--dry-run', '--no-check', '--plan', str(plan)])
    out, js = buf.getvalue(), lb.jobs()
    assert rc == 0
    assert all(j.command in out and f'{j.out}/' in out for j in js)
    total = next(l for l in out.splitlines() if l.strip().startswith('total'))
    rows = lb.plan(js, [], {})  # every job, and the students alone again beside teachers retrained here while they train
    assert f'{len(rows)} jobs' in total and ' h ' in total and all(x.job.command in out for x in rows)
    assert all(f"  {ds}" in out for ds in DATASETS)
    md = plan.read_text()
    assert all(f'`{j.command}`' in md for j in js) and '| total |' in md

def test_estimates_are_for_this_kind_of_cpu():
    "A kind of CPU (its vector instructions, as rows record them) trains at its own speed: the seeds that ran on this machine's kind are the estimate where there are any; elsewhere all seeds, times the ratio the dataset's board jobs measured between this kind and the others (seeds that record no CPU count as others')."
    board = lambda job, s, caps, kind: dict(args={}, kind=kind, path=lb.OUT/'kvasir-seg'/job, s=s, caps=caps)
    runs = [board('teacher', [60., 70., 65.], [None, None, 'AVX512'], 'offline+teacher'),
            board(f'teacher/{lb.RERUN}', [120.], ['AVX2'], 'offline+teacher'),
            board('kd', [50., 54., 58.], [None]*3, 'offline'), board('kd_ml_online', [170., 180.], ['AVX2']*2, 'online')]
    t, kd, on = (lb.estimate('kvasir-seg', k, runs, {}, here='AVX2') for k in ('teacher', 'offline', 'online'))
    assert (t.s, t.source, on.s) == (120., f"median of 1 seed on AVX2 of {lb.OUT}/kvasir-seg/teacher/{lb.RERUN}", 175.)  # its own seeds only
    assert lb.cpu_ratio('kvasir-seg', runs, 'AVX2') == pytest.approx(120/65)  # teachers: the only kind that ran on both
    assert kd.s == pytest.approx(54*120/65) and 'times 1.85: this AVX2 CPU' in kd.source
    assert [lb.estimate('kvasir-seg', k, runs, {}, here='AVX512').s for k in ('teacher', 'offline')] == [65., pytest.approx(54*65/70)]  # others: 60, 70 (not recorded) and 120
    assert [lb.estimate('kvasir-seg', k, runs, {}, here=None).s for k in ('teacher', 'offline', 'online')] == [pytest.approx(67.5), 54., 175.]  # any CPU: every seed
    assert lb.cpu_ratio('kvasir-seg', runs[2:], 'AVX2') is None and lb.estimate('kvasir-seg', 'offline', runs[2:], {}, here='AVX2').s == 54.  # nothing ran on both
    mr = [r for r in lb.measured_runs() if r['caps'] and any(r['caps'])]  # rows that record their CPU, read from the result files
    assert mr and all(len(r['caps']) == len(r['s']) and set(r['caps']) <= {None, 'AVX2', 'AVX512', 'DEFAULT', 'AVX512_BF16'} for r in mr)

def test_measured_seconds_come_from_result_files():
    "Where an earlier run on this CPU trained the same networks on the same data with the same options, its train_s per epoch is the estimate (Kvasir-SEG's channels-last offline runs of the experiments; this board's own runs come first, see below)."
    e = lb.estimate('kvasir-seg', 'offline', [r for r in lb.measured_runs() if lb.board_kind(r) is None], {})
    assert e.how == 'measured' and 'experiments/kvasir-seg/unet' in e.source and 10 < e.s < 1000

def test_lines_for_run_jobs():
    "--lines: one 'OUTDIR ARGS' line a job for experiments/run_jobs.sh, which adds --out and starts the lines that load a teacher last."
    ls = lb.lines(lb.jobs()).splitlines()
    assert len(ls) == len(lb.jobs())
    for l, j in zip(ls, lb.jobs()):
        w = shlex.split(l)
        assert w[0] == str(j.out) and '--out' not in w and w[-1] == '--resume'
        assert ('--teacher_weights' in w) == j.loads_teacher

def test_only_leaves_the_plan_alone():
    "A dry run of one dataset prints its jobs but does not replace the plan of all four with its part."
    plan = lb.ROOT/lb.OUT/'plan.md'
    before = plan.read_text()
    with redirect_stdout(io.StringIO()) as buf: rc = lb.main(['--dry-run', '--no-check', '--only', 'drive'])
    assert rc == 0 and 'experiments/leaderboard/drive/teacher/' in buf.getvalue() and 'plan written' not in buf.getvalue()
    assert plan.read_text() == before

def test_commit_takes_results_not_weights(tmp_path, monkeypatch):
    "A finished job's results and figures are committed, only those, and a job finished by a loop that stopped before committing is seen as uncommitted."
    import subprocess
    for c in (['init', '-q'], ['config', 'user.email', 't@t'], ['config', 'user.name', 't']): subprocess.run(['git', *c], cwd=tmp_path, check=True)
    monkeypatch.setattr(lb, 'ROOT', tmp_path)
    j = lb.jobs(['drive'])[0]
    (tmp_path/j.out).mkdir(parents=True)
    for f in ('results.csv', 'results.json', 'curves_seed0.png', 'teacher_seed0.pth'): (tmp_path/j.out/f).write_text('x')
    assert lb.uncommitted(j) and lb.commit(j) and not lb.uncommitted(j)
    tracked = subprocess.run(['git', 'ls-files'], cwd=tmp_path, capture_output=True, text=True).stdout.split()
    assert sorted(tracked) == sorted(f'{j.out}/{f}' for f in ('results.csv', 'results.json', 'curves_seed0.png'))

def stand_in_kdml_train(tmp_path, monkeypatch, then:str):
    "A kdml_train that notes each start in `started` and then runs `then`; the loop's ROOT moved to `tmp_path`."
    monkeypatch.setattr(lb, 'ROOT', tmp_path)
    fake = tmp_path/'kdml_train'
    fake.write_text(f'#!/bin/bash\necho "$@" >> {tmp_path}/started\n{then}\n')
    fake.chmod(0o755)
    monkeypatch.setenv('KDML_TRAIN', str(fake))
    return fake

@pytest.mark.parametrize('how,says', [('kill -KILL $$', 'killed (signal 9)'), ('exit 130', 'interrupted')])
def test_a_stopped_job_stops_the_loop(tmp_path, monkeypatch, how, says):
    "A kdml_train killed or interrupted (Ctrl-C: exit 130) stops the loop: the next job does not start; a job that fails otherwise does not."
    fake = stand_in_kdml_train(tmp_path, monkeypatch, how)
    js = [j for j in lb.jobs(['pneumoniamnist']) if j.kind == 'teacher'] + [j for j in lb.jobs(['drive']) if j.kind == 'teacher']
    out = io.StringIO()
    with redirect_stdout(out): rc = lb.run(js)
    assert rc == 1 and len((tmp_path/'started').read_text().splitlines()) == 1, out.getvalue()
    assert f'stopped  {js[0].out}' in out.getvalue() and says in out.getvalue() and 'start    ' + str(js[1].out) not in out.getvalue()
    fake.write_text(f'#!/bin/bash\necho "$@" >> {tmp_path}/started\nexit 2\n')  # a refused request: the loop goes on
    with redirect_stdout(io.StringIO()): lb.run(js)
    assert len((tmp_path/'started').read_text().splitlines()) == 3

def test_a_stop_file_pauses_the_loop_between_jobs(tmp_path, monkeypatch):
    "While experiments/leaderboard/STOP exists no job starts; without it the same loop runs them."
    stand_in_kdml_train(tmp_path, monkeypatch, 'exit 2')
    js = [j for j in lb.jobs(['drive']) if j.kind == 'teacher']
    (tmp_path/lb.STOP).parent.mkdir(parents=True); (tmp_path/lb.STOP).touch()
    out = io.StringIO()
    with redirect_stdout(out): rc = lb.run(js)
    assert rc == 1 and not (tmp_path/'started').exists() and f'paused   before {js[0].out}' in out.getvalue(), out.getvalue()
    assert f'0 of {len(js)} jobs finished' in out.getvalue() and all(f'not finished: {j.out}' in out.getvalue() for j in js)
    (tmp_path/lb.STOP).unlink()
    with redirect_stdout(io.StringIO()): lb.run(js)
    assert len((tmp_path/'started').read_text().splitlines()) == len(js)

def test_teachers_train_longer_than_their_students():
    "Each teacher trains alone for twice its students' epochs (--teacher_epochs); the teacher job's lone student, not a result, trains one epoch (DRIVE's teachers were trained before --teacher_epochs: there it trained the teacher's)."
    for ds, d in lb.DATASETS.items():
        t = lb.parse(lb.jobs([ds])[0].args)
        assert d.teacher_epochs == 2*d.epochs
        assert (t['teacher_epochs'], t['epochs']) == ((d.teacher_epochs, 1) if d.rider_epochs else (None, d.teacher_epochs)), ds

def committed_teacher_job(tmp_path, monkeypatch, dice:float):
    "DRIVE's teacher job as a new checkout has it: results committed (teacher dice 0.81 each seed), no weights; and a kdml_train that trains teachers scoring `dice`, for the seeds it is given."
    import csv, sys
    monkeypatch.setattr(lb, 'ROOT', tmp_path)
    j = lb.jobs(['drive'])[0]
    (tmp_path/j.out).mkdir(parents=True)
    def write(folder, d):
        with open(folder/'results.csv', 'w', newline='') as f:
            w = csv.writer(f); w.writerow(['member', 'seed', 'dice', 'iou', 'train_s'])
            for s in lb.SEEDS: w.writerows([['teacher', s, d, d - 0.1, 100 + s], ['unet_tiny', s, 0.79, 0.65, 100 + s]])
    write(tmp_path/j.out, 0.81)
    fake = tmp_path/'kdml_train'
    fake.write_text(f"#!{sys.executable}\nimport sys, csv, json\nfrom pathlib import Path\na = sys.argv[1:]\nout = Path(a[a.index('--out') + 1])\n"
                    f"open('{tmp_path}/started', 'a').write(' '.join(a) + '\\n')\nout.mkdir(parents=True, exist_ok=True)\n"
                    # as kdml_train --resume does: a run started with other --seeds is refused
                    f"if (out/'results.json').is_file() and json.loads((out/'results.json').read_text())['args']['seeds'] != a[a.index('--seeds') + 1]: sys.exit(2)\n"
                    f"w = csv.writer(open(out/'results.csv', 'w', newline='')); w.writerow(['member', 'seed', 'dice', 'iou', 'train_s'])\n"
                    f"for s in map(int, a[a.index('--seeds') + 1].split(',')):\n    w.writerow(['teacher', s, {dice}, {dice} - 0.1, 7]); (out/f'teacher_seed{{s}}.pth').write_text('w')\n"
                    f"(out/'results.json').write_text(json.dumps(dict(environment=dict(device='cpu'), args=dict(seeds=a[a.index('--seeds') + 1]), command='kdml_train ' + ' '.join(a))))\n")
    fake.chmod(0o755)
    monkeypatch.setenv('KDML_TRAIN', str(fake))
    return j

def test_a_new_checkout_retrains_its_teachers_and_takes_them_if_they_match(tmp_path, monkeypatch):
    "Results committed, weights not: the loop trains the teachers again from the job's own command and takes them when their test figures are the committed ones (timings may differ); the attempt is recorded."
    import json
    j = committed_teacher_job(tmp_path, monkeypatch, 0.8112)  # 0.12 points off: another machine's rounding
    kd = [x for x in lb.jobs(['drive']) if x.name == 'kd'][0]  # a job left to run that loads them: they are needed
    out = io.StringIO()
    with redirect_stdout(out): lb.run([j, kd])
    assert f'retrained {j.out}' in out.getvalue() and lb.teachers_ready('drive') and lb.finished(j), out.getvalue()
    started = (tmp_path/'started').read_text().splitlines()
    assert len(started) == 4 and f'--out {kd.out}' in started[3]  # each seed its own run, then the job that loads them
    assert all(f'--seeds {s} ' in started[s] and f'--out {lb.rerun_of(j, s)} ' in started[s] and '--resume' in started[s] for s in lb.SEEDS), started
    rec = json.loads((tmp_path/j.out/'retrained.json').read_text())
    assert len(rec) == 1 and rec[0]['taken'] and rec[0]['seeds']['0']['max_abs_diff'] == pytest.approx(0.0012) and rec[0]['seeds']['0']['committed']['dice'] == 0.81
    assert rec[0]['seeds']['2']['train_s'] == 7  # the seconds each seed took on this machine

def test_retrained_teachers_that_differ_are_refused(tmp_path, monkeypatch):
    "Teachers that score otherwise than the committed ones are not taken: the dataset's offline jobs wait rather than pair rows across two sets of teachers."
    import json
    j = committed_teacher_job(tmp_path, monkeypatch, 0.8)  # a point below: more than TEACHER_TOL
    kd = [x for x in lb.jobs(['drive']) if x.name == 'kd'][0]
    out = io.StringIO()
    with redirect_stdout(out): rc = lb.run([j, kd])
    assert rc == 1 and not lb.teachers_ready('drive') and f'BLOCKED  {j.out}' in out.getvalue(), out.getvalue()
    assert 'differ by up to 0.01' in out.getvalue() and f'waiting  {kd.out}' in out.getvalue()
    assert not (tmp_path/j.out/'teacher_seed0.pth').exists() and not json.loads((tmp_path/j.out/'retrained.json').read_text())[0]['taken']
    with redirect_stdout(io.StringIO()): lb.run([j, kd])  # the same attempt compared again: one record, not two
    assert len(json.loads((tmp_path/j.out/'retrained.json').read_text())) == 1

def test_own_teachers_takes_retrained_teachers_that_differ_as_a_second_set(tmp_path, monkeypatch):
    "A machine that cannot repeat the committed teachers (another kind of CPU): --own-teachers takes its own, recorded as such, and the students alone train again beside them before any row learns from them; a refused attempt taken later, without training anything again. The plan lists that run of the students alone while it is left."
    import json, shutil
    j = committed_teacher_job(tmp_path, monkeypatch, 0.8)  # a point below the committed 0.81: beyond TEACHER_TOL
    base, kd = [[x for x in lb.jobs(['drive']) if x.name == n][0] for n in (lb.BASELINE, 'kd')]
    (tmp_path/base.out).mkdir(parents=True)
    (tmp_path/base.out/'results.csv').write_text('member,seed,dice,iou,train_s\n' + ''.join(f'teacher,{s},0.81,0.71,9\nunet_small,{s},0.77,0.62,9\n' for s in lb.SEEDS))
    with redirect_stdout(io.StringIO()): lb.run([j, base, kd])  # without it: refused, nothing after it runs
    assert not lb.teachers_ready('drive') and len((tmp_path/'started').read_text().splitlines()) == 3  # each seed's teacher
    out = io.StringIO()
    with redirect_stdout(out): lb.main(['--run', '--only', 'drive', '--job', lb.BASELINE, '--job', 'kd', '--own-teachers'])
    assert f'retrained {j.out}' in out.getvalue() and 'taken by --own-teachers' in out.getvalue() and lb.teachers_ready('drive'), out.getvalue()
    started = (tmp_path/'started').read_text().splitlines()
    assert len(started) == 8 and all(f'--out {lb.rerun_of(j, s)} ' in started[3 + s] for s in lb.SEEDS)  # kdml_train --resume: finished seeds are kept, nothing trains again
    assert f'--out {base.out}/{lb.AGAIN}1' in started[6] and f'--out {kd.out}' in started[7]  # the students alone again first, then the row
    rec = json.loads((tmp_path/j.out/'retrained.json').read_text())
    assert len(rec) == 1 and rec[0]['taken'] and rec[0]['own'] and rec[0]['note'] == lb.OWN and rec[0]['seeds']['1']['max_abs_diff'] == pytest.approx(0.01)
    shutil.rmtree(tmp_path/base.out/f'{lb.AGAIN}1')  # as the loop left it between the teachers taken and the students alone again
    rows = {x.job.name: x for x in lb.plan([j, base, kd], [], {})}
    assert list(rows) == [lb.TEACHER, lb.BASELINE, f'{lb.BASELINE}/{lb.AGAIN}1', 'kd'] and rows[f'{lb.BASELINE}/{lb.AGAIN}1'].standing == 'to run: seeds 0,1,2'
    for other in ('--dry-run', '--lines'):
        with pytest.raises(SystemExit), redirect_stderr(io.StringIO()) as err: lb.main([other, '--own-teachers'])
        assert '--own-teachers is for --run' in err.getvalue()

def test_a_baseline_is_trained_again_beside_retrained_teachers(tmp_path, monkeypatch):
    "Teachers retrained on a new machine: the students alone are trained again beside them, once, into independent/retrained1 (the rows that learn from those teachers are paired with it); beside the teachers of the machine that trained them, never."
    import csv, shutil
    j = committed_teacher_job(tmp_path, monkeypatch, 0.8112)
    base = [x for x in lb.jobs(['drive']) if x.name == lb.BASELINE][0]
    kd = [x for x in lb.jobs(['drive']) if x.name == 'kd'][0]  # left to run: the teachers are needed
    (tmp_path/base.out).mkdir(parents=True)
    with open(tmp_path/base.out/'results.csv', 'w', newline='') as f:  # finished beside the committed teachers (0.81)
        w = csv.writer(f); w.writerow(['member', 'seed', 'dice', 'iou', 'train_s'])
        for s in lb.SEEDS: w.writerows([['teacher', s, 0.81, 0.71, 9], ['unet_small', s, 0.77, 0.62, 9]])
    assert lb.baseline_again(base) is None  # no teachers retrained yet: the baseline stands
    out = io.StringIO()
    with redirect_stdout(out): lb.run([j, base, kd])
    started = (tmp_path/'started').read_text().splitlines()
    assert len(started) == 5 and f'--out {base.out}/{lb.AGAIN}1' in started[3] and '--method independent' in started[3], out.getvalue()  # after each seed's teacher
    assert f'again    {base.out}' in out.getvalue() and lb.baseline_again(base) is None
    with redirect_stdout(io.StringIO()): lb.run([j, base, kd])  # done once: not again
    assert len((tmp_path/'started').read_text().splitlines()) == 5
    shutil.rmtree(tmp_path/base.out/f'{lb.AGAIN}1'); (tmp_path/base.out/f'{lb.AGAIN}1').mkdir()  # stopped before a seed finished
    assert lb.baseline_again(base).out == base.out/f'{lb.AGAIN}1'  # continued where it was, not a second folder
    shutil.rmtree(tmp_path/base.out/f'{lb.AGAIN}1'); (tmp_path/j.out/'retrained.json').unlink()
    (tmp_path/'started').unlink()
    with redirect_stdout(io.StringIO()): lb.run([base])  # the teachers are the ones the baseline learned beside
    assert not (tmp_path/'started').exists()

def test_a_new_checkout_retrains_only_the_teachers_left_to_load(tmp_path, monkeypatch):
    "The jobs left to run have only seed 2 left: a new checkout trains only seed 2's teacher again (kdml_train --resume loads no teacher for a finished seed), compares and records that seed alone, and, for teachers that differ, trains the students alone again in that seed alone."
    import csv, json
    j = committed_teacher_job(tmp_path, monkeypatch, 0.8)  # a point off the committed 0.81: taken only with --own-teachers
    base, kd = [[x for x in lb.jobs(['drive']) if x.name == n][0] for n in (lb.BASELINE, 'kd')]
    for k, seeds in ((base, lb.SEEDS), (kd, (0, 1))):  # the baseline finished beside the committed teachers; kd has seed 2 left
        (tmp_path/k.out).mkdir(parents=True)
        with open(tmp_path/k.out/'results.csv', 'w', newline='') as f:
            w = csv.writer(f); w.writerow(['member', 'seed', 'dice', 'iou', 'train_s'])
            for s in seeds: w.writerows([['teacher', s, 0.81, 0.71, 9], ['unet_small', s, 0.77, 0.62, 9]])
    assert (lb.seeds_left(kd), lb.teacher_seeds(j, [j, base, kd]), lb.teacher_seeds(j, [j, base])) == ((2,), (2,), ())
    assert lb.plan([j, base, kd], [], {})[0].standing == 'to run: teacher weights (seed 2 again; no job left loads the others)'
    out = io.StringIO()
    with redirect_stdout(out): assert lb.run([j, base, kd], own=True) == 0, out.getvalue()
    started = (tmp_path/'started').read_text().splitlines()
    assert len(started) == 3 and f'--out {j.out}/{lb.RERUN}' in started[0] and '--seeds 2 ' in started[0], started
    assert f'--out {base.out}/{lb.AGAIN}1' in started[1] and '--seeds 2 ' in started[1] and f'--out {kd.out}' in started[2]
    assert lb.teachers_ready('drive', [2]) and not lb.teachers_ready('drive', [0]) and not lb.finished(j) and lb.finished(j, (2,))
    rec = json.loads((tmp_path/j.out/'retrained.json').read_text())
    assert len(rec) == 1 and rec[0]['taken'] and rec[0]['own'] and list(rec[0]['seeds']) == ['2'] and rec[0]['seeds']['2']['max_abs_diff'] == pytest.approx(0.01)
    assert lb.plan([j, base, kd], [], {})[0].standing == 'done (weights of seed 2 here; the others not here: no job left loads them)'
    (tmp_path/'started').unlink()
    with redirect_stdout(io.StringIO()): assert lb.run([j, base, kd], own=True) == 0  # nothing left: nothing trains again
    assert not (tmp_path/'started').exists()
    dml = [x for x in lb.jobs(['drive']) if x.name == 'dml'][0]  # a later session: a job with seeds 1 and 2 left; seed 2's teacher is here
    (tmp_path/dml.out).mkdir(parents=True); (tmp_path/dml.out/'results.csv').write_text('member,seed,dice,iou,train_s\nteacher,0,0.81,0.71,9\n')
    with redirect_stdout(io.StringIO()) as out: assert lb.run([j, base, kd, dml], own=True) == 0, out.getvalue()
    started = (tmp_path/'started').read_text().splitlines()  # seed 1 alone, in its own folder: retrained1, started for seed 2, is not resumed for it
    assert len(started) == 3 and f'--out {lb.rerun_of(j, 1)} ' in started[0] and '--seeds 1 ' in started[0], started
    assert f'--out {base.out}/{lb.AGAIN}2 ' in started[1] and '--seeds 1 ' in started[1] and f'--out {dml.out} ' in started[2]
    assert [list(r['seeds']) for r in json.loads((tmp_path/j.out/'retrained.json').read_text())] == [['2'], ['1']]

def test_each_seed_is_committed_as_it_finishes(tmp_path, monkeypatch):
    "A session can end mid-job: `--run --commit` commits each seed's results while the job runs, so that a new checkout keeps them and resumes after them; the finished job once more, whole."
    import subprocess, sys
    monkeypatch.setattr(lb, 'ROOT', tmp_path); monkeypatch.setattr(lb, 'POLL', 0.05)
    subprocess.run(['git', 'init', '-q'], cwd=tmp_path, check=True)
    for k, v in [('user.name', 'test'), ('user.email', 'test@example.com')]: subprocess.run(['git', 'config', k, v], cwd=tmp_path, check=True)
    kd = [x for x in lb.jobs(['drive']) if x.name == 'kd'][0]
    (tmp_path/lb.OUT/'drive'/lb.TEACHER).mkdir(parents=True)
    for s in lb.SEEDS: (tmp_path/lb.OUT/'drive'/lb.TEACHER/f'teacher_seed{s}.pth').write_text('w')  # not committed: weights
    fake = tmp_path/'kdml_train'  # writes a seed's results, then waits until the loop has committed it (no timing to guess)
    fake.write_text(f"#!{sys.executable}\nimport os, sys, subprocess, time\nfrom pathlib import Path\na = sys.argv[1:]\nout = Path(a[a.index('--out') + 1])\n"
                    "out.mkdir(parents=True, exist_ok=True)\nrows = 'member,seed,dice\\n'\n"
                    f"for s in {list(lb.SEEDS)}:\n    rows += f'unet_small,{{s}},0.7\\n'; (out/'tmp').write_text(rows); os.replace(out/'tmp', out/'results.csv')\n"
                    f"    if s == {lb.SEEDS[-1]}: break\n    t0 = time.time()\n"
                    "    while int(subprocess.run(['git', 'rev-list', '--all', '--count'], capture_output=True, text=True).stdout or 0) < s + 1:\n"
                    "        time.sleep(0.02)\n        if time.time() - t0 > 60: sys.exit(1)\n")
    fake.chmod(0o755); monkeypatch.setenv('KDML_TRAIN', str(fake))
    with redirect_stdout(io.StringIO()) as out: assert lb.run([kd], do_commit=True) == 0, out.getvalue()
    subjects = subprocess.run(['git', 'log', '--reverse', '--format=%s'], cwd=tmp_path, capture_output=True, text=True).stdout.splitlines()
    assert subjects == ['Leaderboard (#24): drive/kd, seed 0 of 0,1,2 (the others to run)', 'Leaderboard (#24): drive/kd, seeds 0,1 of 0,1,2 (the others to run)',
                        'Leaderboard (#24): drive/kd, seeds 0,1,2'], out.getvalue()
    assert 'failed' not in out.getvalue() and not lb.uncommitted(kd)
    files = subprocess.run(['git', 'ls-files'], cwd=tmp_path, capture_output=True, text=True).stdout.split()
    assert files == [f'{kd.out}/results.csv']  # its results only: no weights, no log
    calls = []  # a teacher job is committed whole, never seed by seed: its weights are not committed, its seeds count only together
    monkeypatch.setattr(lb, '_train_job', lambda args, log, seed_done=None: calls.append(seed_done) or 0)
    with redirect_stdout(io.StringIO()): lb.run([lb.jobs(['pneumoniamnist'])[0]], do_commit=True)
    assert calls == [None]

def test_a_failing_commit_does_not_stop_the_job(tmp_path, monkeypatch):
    "What runs after a seed (the commit) may fail: the job goes on, and the loop says so in one line."
    import sys
    monkeypatch.setattr(lb, 'ROOT', tmp_path); monkeypatch.setattr(lb, 'POLL', 0.05)
    fake = tmp_path/'kdml_train'  # writes a seed's results, then waits for the loop's look at them
    fake.write_text(f"#!{sys.executable}\nimport sys, time\nfrom pathlib import Path\nout = Path(sys.argv[sys.argv.index('--out') + 1])\n"
                    "out.mkdir(parents=True)\n(out/'results.csv').write_text('member,seed\\na,0\\n')\nt0 = time.time()\n"
                    f"while not Path('{tmp_path}/seen').exists():\n    time.sleep(0.02)\n    if time.time() - t0 > 60: sys.exit(1)\n")
    fake.chmod(0o755); monkeypatch.setenv('KDML_TRAIN', str(fake))
    def fails(): (tmp_path/'seen').touch(); raise RuntimeError('no git here')
    with redirect_stdout(io.StringIO()) as out: rc = lb._train_job(['--out', 'x'], tmp_path/'log', fails)
    assert rc == 0 and 'warning: after a seed of x: RuntimeError: no git here; the job goes on' in out.getvalue()

def test_a_probe_scales_the_cost_of_extra_batches(tmp_path):
    "Two subsets: what a run pays once cancels out (the old one-subset probe counted it once per batch); a teacher job's probe trains its teacher one epoch, not all of them."
    p = dict(train_s=30., batches=(2, 2), train_s_big=33., batches_big=(8, 5), full_batches=(36, 5))
    assert lb.scaled(p) == pytest.approx(3 / (9 + 2/3 - (2 + 2/3)) * (36 + 5/3))  # 0.43 s a batch, not 30 s for 2
    assert lb.scaled({k: p[k] for k in ('train_s', 'batches', 'full_batches')}) == pytest.approx(30 * (36 + 5/3) / (2 + 2/3))
    assert lb.scaled({**p, 'train_s_big': 29.}) == lb.scaled({k: p[k] for k in ('train_s', 'batches', 'full_batches')})  # noise: the old rule
    t = lb._probe_args(lb.jobs(['pneumoniamnist'])[0], 256, tmp_path)
    assert (t['teacher_epochs'], t['epochs'], t['subset'], t['out']) == (1, 1, 256, str(tmp_path/'teacher'))
    kd = lb._probe_args([j for j in lb.jobs(['pneumoniamnist']) if j.name == 'kd'][0], 256, tmp_path)
    assert kd['teacher_weights'] == str(tmp_path/lb.TEACHER) and not kd.get('teacher_epochs')

def test_board_jobs_estimate_their_own_kind():
    "Once this board has run a kind of job on a dataset, its own seconds per epoch are the estimate; a teacher job's epochs count its teacher's and its lone student's."
    runs = lb.measured_runs()
    e = lb.estimate('drive', 'offline', runs, {})
    assert e.how == 'board' and 'experiments/leaderboard/drive/independent' in e.source and 'experiments/drive' not in e.source
    import json, statistics
    def per_epoch(job):
        j = json.loads((lb.ROOT/lb.OUT/'kvasir-seg'/job/'results.json').read_text()); a = lb.parse(j['command'])
        return {r['seed']: r['train_s'] / (a['epochs'] + (a.get('teacher_epochs') or 0)) for r in j['rows']}
    t = lb.estimate('kvasir-seg', 'teacher', runs, {}, here=None)  # any CPU (the machine's own kind: see below)
    mine = ['teacher'] + [f'teacher/{lb.RERUN}'] * (lb.ROOT/lb.OUT/'kvasir-seg'/'teacher'/lb.RERUN/'results.json').is_file()  # teachers retrained here count too (never committed)
    assert t.how == 'board' and t.s == pytest.approx(statistics.median([v for job in mine for v in per_epoch(job).values()]))
    assert 50 < t.s < 200  # 30 teacher epochs and 1 of the lone student in 2,000 to 4,500 s a seed (AVX512, AVX2 here), not that an epoch
    assert lb.estimate('kvasir-seg', 'teacher', [r for r in runs if lb.board_kind(r) is None], {}).how == 'measured'  # the experiments' runs, as before

def test_what_is_left_to_run(tmp_path, monkeypatch):
    "The dry run says what each job still needs: a seed with results is done, the others are left, and the hours left count only them; a new checkout's teachers are trained again, every seed, only if a job left to run loads them."
    monkeypatch.setattr(lb, 'ROOT', tmp_path)
    j = lb.jobs(['drive'])[1]
    e, none = lb.Estimate(10., 'board', 'x'), lb.Estimate(None, 'none', '')  # 10 s an epoch: 3 seeds x 10 epochs = 300 s
    row = lambda e=e: lb.Row.of(j, e)
    assert (row().standing, row().s, row().left, row().todo) == ('to run: seeds 0,1,2', 300., 300., (0, 1, 2))
    (tmp_path/j.out).mkdir(parents=True)
    (tmp_path/j.out/'results.csv').write_text('member,seed,dice\nunet_small,0,0.7\nunet_tiny,0,0.7\n')
    assert (row().standing, row().left, row(none).left) == ('to run: seeds 1,2', 200., None)
    (tmp_path/j.out/'results.csv').write_text('member,seed,dice\n' + ''.join(f'unet_small,{s},0.7\n' for s in lb.SEEDS))
    assert (row().standing, row().left, row(none).left, row().done, lb.finished(j)) == ('done', 0., 0., True, True)
    t = lb.jobs(['drive'])[0]  # the teacher job: results without weights are not done
    (tmp_path/t.out).mkdir(parents=True)
    (tmp_path/t.out/'results.csv').write_text('member,seed,dice\n' + ''.join(f'teacher,{s},0.8\n' for s in lb.SEEDS))
    assert (lb.Row.of(t, e).standing, lb.Row.of(t, e).done) == ('to run: teacher weights (every seed again)', False)
    (tmp_path/lb.rerun_of(t, 0)).mkdir(parents=True)  # a retraining stopped after its first seed (a session's end): the others are left
    (tmp_path/lb.rerun_of(t, 0)/'results.csv').write_text('member,seed,dice\nteacher,0,0.8\n')
    part = lb.Row.of(t, e)
    assert (part.standing, part.left, part.done) == (f'to run: teacher weights (seeds 1,2 again; seed 0 retrained in {lb.RERUN}/)', 10*t.epochs*2, False)
    for s in lb.SEEDS[1:]: (tmp_path/lb.rerun_of(t, s)).mkdir(); (tmp_path/lb.rerun_of(t, s)/'results.csv').write_text(f'member,seed,dice\nteacher,{s},0.8\n')
    assert lb.Row.of(t, e).left == 0 and '--own-teachers' in lb.Row.of(t, e).standing  # retrained, not taken: nothing to train, a choice to make
    import shutil; shutil.rmtree(tmp_path/t.out/lb.RERUN)
    rows = [row(), lb.Row.of(t, e)]
    h = (300 + (ht := 10*t.epochs*len(t.seeds)))/3600  # both jobs; left: the teachers' weights, which --run trains again for every seed
    assert lb.totals(rows) == [('drive', 2, h, 0, 1, ht/3600), ('total', 2, h, 0, 1, ht/3600)]
    assert lb.totals(rows + [lb.Row.of(lb.jobs(['drive'])[2], none)])[-1] == ('total', 3, h, 1, 2, ht/3600)  # a job not estimated: counted apart
    with redirect_stdout(io.StringIO()) as buf: lb.print_plan(rows)
    assert '[done]' in buf.getvalue() and '[to run: teacher weights (every seed again)]' in buf.getvalue() and 'left:  1 jobs' in buf.getvalue()
    k = lb.jobs(['drive'])[2]  # a job that loads the teachers, not run: they are needed; once it has run (or without it), not
    assert (bool(lb.teacher_seeds(t, [t, j, k])), lb.finished(t, lb.needed(t, [t, j, k])), lb.finished(t, lb.needed(t, [t, j]))) == (True, False, True)
    assert [(x.done, x.standing) for x in lb.plan([t, j], [], {})] == [(True, 'done (weights not here: no job left loads them)'), (True, 'done')]
    assert lb.plan([t, j, k], [], {})[0].standing == 'to run: teacher weights (every seed again)'
    with redirect_stdout(io.StringIO()) as out: assert lb.run([t, j]) == 0  # nothing to train: no teacher trained again for nothing
    assert 'no job left to run loads them' in out.getvalue() and not (tmp_path/t.out/lb.RERUN).exists()

def test_job_runs_only_the_jobs_named(tmp_path, monkeypatch):
    "`--run --job` runs only the jobs named (an online job, which loads no teacher: no teacher is trained first); a job no dataset has, or --job outside --run, is refused in one line."
    stand_in_kdml_train(tmp_path, monkeypatch, 'exit 2')
    out = io.StringIO()
    with redirect_stdout(out): lb.main(['--run', '--only', 'kvasir-seg', '--job', 'kd_ml_online'])
    started = (tmp_path/'started').read_text().splitlines()
    assert len(started) == 1 and '--online' in started[0] and 'experiments/leaderboard/kvasir-seg/kd_ml_online' in started[0], out.getvalue()
    assert 'kvasir-seg/teacher' not in out.getvalue() and 'retrain' not in out.getvalue()
    with redirect_stdout(io.StringIO()) as out: lb.main(['--run', '--only', 'drive', '--job', 'rkd'])  # a job that loads a teacher: its teacher job first
    started = (tmp_path/'started').read_text().splitlines()[1:]
    assert [s.split('--out ')[1].split()[0] for s in started] == ['experiments/leaderboard/drive/teacher'], out.getvalue()  # the stand-in trains no teacher...
    assert 'waiting  experiments/leaderboard/drive/rkd' in out.getvalue()  # ...so rkd waits for it
    for argv, says in ((['--run', '--only', 'bccd-detect', '--job', 'rkd'], 'no job rkd on bccd-detect'),
                       (['--dry-run', '--job', 'kd'], '--job only selects what --run runs'),
                       (['--run', '--job', 'nope'], 'invalid choice')):
        err = io.StringIO()
        with pytest.raises(SystemExit), redirect_stderr(err): lb.main(argv)
        assert says in err.getvalue().splitlines()[-1], err.getvalue()

STAND_IN = '''import sys, pathlib
a = sys.argv[1:]; out = pathlib.Path(a[a.index('--out') + 1]); out.mkdir(parents=True, exist_ok=True)
with open(sys.argv[0] + '.calls', 'a') as f: print(' '.join(a), file=f)
if '--teacher_weights' in a:
    tw = pathlib.Path(a[a.index('--teacher_weights') + 1])
    if not all((tw/f'teacher_seed{s}.pth').is_file() for s in (0, 1, 2)): sys.exit('no teacher weights')
else: (out/f"teacher_seed{a[a.index('--seeds') + 1]}.pth").write_text('w')
'''

def test_gpu_script_trains_teachers_then_the_jobs(tmp_path):
    "tools/leaderboard_gpu.sh (a lent GPU): the teachers one process a seed into teacher/rerun/seed<N>, their weights copied for the jobs, then the students alone into independent/retrained<K> and the jobs named, each with its --lines command; an unknown job refused before anything runs."
    import subprocess, shutil, os
    for p in ('tools/leaderboard.py', 'tools/leaderboard_gpu.sh', 'experiments/run_jobs.sh'):
        (tmp_path/p).parent.mkdir(parents=True, exist_ok=True); shutil.copy(ROOT/p, tmp_path/p)
    (tmp_path/'kt.py').write_text(STAND_IN)
    env = dict(os.environ, KDML_TRAIN=f"{sys.executable} {tmp_path/'kt.py'}", PYTHONPATH=str(ROOT))
    sh = lambda *a: subprocess.run(['bash', 'tools/leaderboard_gpu.sh', *a], cwd=tmp_path, env=env, capture_output=True, text=True)
    r = sh('kvasir-seg', '1', 'nope')
    assert r.returncode == 2 and 'no job nope on kvasir-seg' in r.stderr and not (tmp_path/'kt.py.calls').exists()
    r = sh('kvasir-seg', '1', 'rkd', 'crd')
    assert r.returncode == 0, r.stderr
    calls = (tmp_path/'kt.py.calls').read_text().splitlines()
    outs = [c.split('--out ')[1] for c in calls]
    lb_lines = {shlex.split(l)[0]: l for l in lb.lines(lb.jobs(['kvasir-seg'])).splitlines()}
    k = 'experiments/leaderboard/kvasir-seg'
    assert sorted(outs[:3]) == [f'{k}/teacher/rerun/seed{s}' for s in (0, 1, 2)] and sorted(outs[3:]) == [f'{k}/crd', f'{k}/independent/retrained1', f'{k}/rkd']
    for c, o in zip(calls, outs):
        job = o.split('/rerun/')[0] if '/rerun/' in o else o.split('/retrained')[0]
        want = shlex.split(lb_lines[job])[1:]
        if '/rerun/' in o: want[want.index('--seeds') + 1] = o[-1]  # a teacher's one seed
        assert shlex.split(c.split(' --out ')[0]) == want, c
    assert all((tmp_path/k/'teacher'/f'teacher_seed{s}.pth').is_file() for s in (0, 1, 2))
