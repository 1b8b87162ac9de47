"`kdml_train` choosing the loss of each kind of flow: one short real run per family of losses, and the requests it refuses in one line before training."
import json
from pathlib import Path
import numpy as np
import pandas as pd
import pytest

from kdml_cli import kdml_train, one_line
SMALL = ['--teacher', 'resnet10', '--subset', '64', '--bs', '32', '--epochs', '1']  # two batches of PneumoniaMNIST an epoch

PREDICTIONS = (  # DKD from the teacher (warmed up, standardised logits), DIST between the peers
    ['--method', 'kd_ml', '--students', 'cnn,cnn', '--kd_loss', 'dkd', '--kd_params', 'beta=2', '--warmup', '2', '--logit_std',
     '--ml_loss', 'dist', '--ml_params', 'beta=2'],
    dict(kd_loss='dkd', kd_params='alpha=1.0,beta=2.0,T=4.0,logit_std=true', warmup=2., ml_loss='dist', ml_params='beta=2.0,gamma=1.0,T=1.0'))
FAMILIES = {
    'feature_maps': (['--method', 'feat', '--students', 'cnn', '--feat_loss', 'cwd', '--feat_params', 'T=2', '--feat_weight', '0.5'],
                     dict(feat_loss='cwd', feat_params='T=2.0', feat_weight=0.5)),  # channel-wise distillation of the teacher's maps
    'embeddings': (['--method', 'rel', '--students', 'cnn', '--rel_loss', 'crd', '--rel_params', 'nce_k=64', '--rel_weight', '0.1'],
                   dict(rel_loss='crd', rel_params='feat_dim=128,nce_k=64,nce_t=0.07,nce_m=0.5', rel_weight=0.1)),  # CRD, its banks indexed by the training items
}

def check_run(r, out:Path, args:list, recorded:dict):
    "The run ended, and its results say which loss each kind of flow used, with all its parameters, so that runs can be told apart."
    assert r.returncode == 0, r.stderr[-3000:]
    res = pd.read_csv(out/'results.csv', keep_default_na=False)
    assert res.accuracy.astype(float).between(0, 1).all()
    for k,v in recorded.items(): assert (res[k].astype(type(v)) == v).all(), (k, res[k].tolist())
    assert not ({'kd_loss', 'ml_loss', 'feat_loss', 'rel_loss'} - set(recorded)) & set(res.columns)  # only the kinds of flow the method has
    given = json.loads((out/'results.json').read_text())['args']
    assert all(given[a.lstrip('-')] == v for a,v in zip(args, args[1:]) if a.endswith(('_loss', '_params')))  # recorded for --resume
    assert all(f"{k} {v}" in r.stdout for k,v in recorded.items() if k.endswith('_loss'))  # the run's heading names its losses

@pytest.fixture(scope='module')
def predictions_run(tmp_path_factory):
    "One real run of the prediction losses, shared by the tests that read it and resume it."
    out = tmp_path_factory.mktemp('predictions')/'run'
    return kdml_train(*PREDICTIONS[0], *SMALL, '--out', str(out)), out

def test_prediction_losses_train(predictions_run):
    check_run(*predictions_run, *PREDICTIONS)

@pytest.mark.parametrize('family', FAMILIES)
def test_map_and_embedding_losses_train(tmp_path, family):
    args, recorded = FAMILIES[family]
    check_run(kdml_train(*args, *SMALL, '--out', str(tmp_path)), tmp_path, args, recorded)

def test_resume_replays_the_losses(predictions_run, capsys):
    "A finished run resumed: its recorded losses are its own, and another loss for it is refused in one line."
    r, out = predictions_run
    assert r.returncode == 0, r.stderr[-3000:]
    code, err = _in_process(capsys, ['--resume', '--kd_loss', 'dist'], out)
    assert code == 2 and 'the run was started with --kd_loss dkd, not dist' in one_line(err)
    before = (out/'results.csv').read_text()
    r = kdml_train('--resume', '--out', str(out))
    assert r.returncode == 0 and 'seed 0: finished, kept' in r.stdout and '== kd_ml | kd_loss dkd logit_std=true,beta=2.0 | ml_loss dist beta=2.0 |' in r.stdout, r.stdout[-3000:]
    assert (out/'results.csv').read_text() == before

def _in_process(capsys, args, out:Path)->tuple:
    "`kdml_train` with these command-line arguments, parsed as the console script parses them, in this process: (exit status, stderr)."
    from fastcore.script import anno_parser
    from kdml_nb.train import kdml_train as main
    kw = vars(anno_parser(main).parse_args([*args, '--out', str(out)]))
    kw.pop('pdb', None); kw.pop('xtra', None)
    capsys.readouterr()
    with pytest.raises(SystemExit) as e: main(**kw)
    return e.value.code, capsys.readouterr().err

REFUSED = [
    (['--method', 'ml', '--kd_loss', 'dkd'], "--kd_loss sets the teacher -> student predictions flows; ml has none: use --method kd, kd_ml or styles."),
    (['--method', 'independent', '--kd_loss', 'dkd'], "independent has none"),
    (['--method', 'kd', '--ml_loss', 'dist'], "--ml_loss sets the peer <-> peer predictions flows; kd has none"),
    (['--method', 'kd', '--feat_loss', 'at'], "--feat_loss sets the feature maps flows; kd has none: use --method styles or feat."),
    (['--method', 'styles', '--rel_loss', 'pkt'], "--rel_loss sets the embedding relations flows; styles has none: use --method rel."),
    (['--method', 'ml', '--warmup', '20'], "--warmup sets the teacher -> student predictions flows; ml has none"),
    (['--method', 'feat', '--logit_std'], "--logit_std standardises the logits that kd or dkd compare; --method feat has no such flow"),
    (['--method', 'kd', '--kd_loss', 'dist', '--logit_std'], "--method kd has no such flow (its prediction losses: dist)."),
    (['--task', 'detect', '--method', 'rel'], "--method rel relates embeddings of whole images, which detectors do not give"),
    (['--task', 'detect', '--method', 'kd', '--kd_loss', 'dkd'], "--kd_loss dkd compares softmax outputs (one class per item or pixel), and detectors"),
    (['--task', 'detect', '--method', 'feat', '--feat_loss', 'emkd'], "--feat_loss emkd needs segmentation masks, which only --task segment gives"),
    (['--method', 'feat', '--feat_loss', 'emkd'], "--feat_loss emkd needs segmentation masks, which only --task segment gives: for classify use"),
    (['--method', 'kd', '--kd_loss', 'cwd'], "--kd_loss cwd compares dense outputs (B,C,H,W), which only --task segment gives: for classify use kd, dkd or dist."),
    (['--method', 'kd', '--kd_loss', 'dkd', '--data', 'tags.csv', '--label_delim', ';'],
     "--kd_loss dkd compares softmax outputs (one class per item or pixel), and multi-label classification has a sigmoid per label: use kd."),
    (['--method', 'kd', '--kd_loss', 'fitnet'], "--kd_loss: unknown loss 'fitnet': for predictions use one of"),
    (['--method', 'kd', '--kd_params', 'gamma=1'], "--kd_params: kd has no parameter 'gamma': its parameters are"),
    (['--method', 'rel', '--rel_params', 'nce_k=64'], "--rel_params: rkd has no parameter 'nce_k'"),
    (['--method', 'kd', '--kd_loss', 'dkd', '--kd_params', 'beta=high'], "--kd_params: dkd's beta takes a number, not 'high'."),
    (['--method', 'kd', '--kd_params', 'T'], "--kd_params: 'T' is not name=value"),
    (['--method', 'kd', '--T', '2', '--kd_params', 'T=3'], "give the teacher's temperature once"),
]
@pytest.mark.parametrize('args,msg', REFUSED, ids=[' '.join(a) for a,_ in REFUSED])
def test_refused_in_one_line(tmp_path, capsys, args, msg):
    "What makes no sense is refused before any data are read: exit status 2, one line, no output folder."
    code, err = _in_process(capsys, args, tmp_path/'out')
    assert code == 2 and msg in one_line(err), err
    assert not (tmp_path/'out').exists()

def test_crd_needs_one_process(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv('WORLD_SIZE', '2')  # as a distributed launcher sets it
    code, err = _in_process(capsys, ['--method', 'rel', '--rel_loss', 'crd'], tmp_path/'out')
    assert code == 2 and "--rel_loss crd keeps memory banks of the items of one process's epoch: train it in a single process, not 2." in one_line(err)

def test_data_that_turn_out_multi_label(tmp_path, capsys):
    "An .npz whose labels have one 0/1 column per label is multi-label, which only its data tell: DKD is refused once they are read, still before training."
    rng = np.random.default_rng(0)
    arrs = {f'{s}_{k}': v for s in ('train', 'val', 'test') for k,v in
            (('images', rng.integers(0, 255, (40, 28, 28), dtype=np.uint8)), ('labels', rng.integers(0, 2, (40, 3)).astype(np.uint8)))}
    np.savez(tmp_path/'tags.npz', **arrs)
    code, err = _in_process(capsys, ['--method', 'kd', '--kd_loss', 'dkd', '--data', str(tmp_path/'tags.npz'), '--students', 'cnn', *SMALL],
                            tmp_path/'out')
    assert code == 2 and "--kd_loss dkd compares softmax outputs (one class per item or pixel), and multi-label classification" in one_line(err)
    assert not (tmp_path/'out').exists()

def test_console_script_refuses_in_one_line(tmp_path):
    "The same refusal through the console script itself."
    r = kdml_train('--method', 'ml', '--kd_loss', 'dkd', '--out', str(tmp_path/'out'))
    assert r.returncode == 2 and '--kd_loss sets the teacher -> student predictions flows; ml has none' in one_line(r.stderr)
    assert not (tmp_path/'out').exists()

def test_help_lists_every_loss_and_its_parameters():
    "The help is written from the loss table: every loss of every kind, with its parameters and their defaults."
    from fastcore.script import anno_parser
    from kdml_nb.train import kdml_train as main
    from kdml_nb.flows import LOSSES, loss_params
    h = ' '.join(anno_parser(main).format_help().split())
    for name in LOSSES:
        assert f'{name} (' in h, name
        ps = ', '.join(f'{k}={v}' for k,v in loss_params(name).items()) or 'none'
        assert f'{name}: {ps}' in h, (name, ps)
    for o in ('--kd_loss', '--ml_loss', '--feat_loss', '--rel_loss', '--logit_std', '--T', '--warmup', '--kd_params', '--rel_params', '--rel_weight'): assert o in h
    assert 'feat (' in h and 'rel (' in h
