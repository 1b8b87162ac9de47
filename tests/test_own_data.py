"""Your own data and networks through the commands, as a new user runs them: folders and CSVs built here from real
images of the shared data, networks from timm / torchvision / smp by name, weights from files, every bad input of the
open-world issue as one `kdml_train: error:` line with no output folder left behind, and a multi-label run end to end."""
import json, pickle, shutil, subprocess, sys, warnings
from pathlib import Path
import numpy as np, pandas as pd
import pytest, torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

def cli(name, *args):
    exe = Path(sys.executable).with_name(name)
    return subprocess.run([str(exe) if exe.exists() else shutil.which(name), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)

def one_line_error(r, msg, out=None):
    "Exit 2, one line on standard error that starts with `kdml_train: error:` and holds `msg`, no traceback, `out` not created."
    lines = [l for l in r.stderr.splitlines() if l.strip() and 'Warning' not in l and 'warnings.warn' not in l]
    assert r.returncode == 2, r.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith('kdml_train: error:') and msg in lines[0], r.stderr[-2000:]
    if out is not None: assert not Path(out).exists()

@pytest.fixture(scope='module')
def xrays(tmp_path_factory):
    "PneumoniaMNIST's official splits written as grey PNG files in train/val/test class folders (small)."
    from kdml_nb.data import medmnist_file, load_medmnist
    root = tmp_path_factory.mktemp('own')/'xrays'
    arrs = load_medmnist(medmnist_file('pneumoniamnist'))
    for split, n in {'train': 96, 'val': 32, 'test': 32}.items():
        xs, ys = arrs[split]
        for i in np.concatenate([np.where(ys[:, 0] == c)[0][:n//2] for c in (0, 1)]):  # half of each class
            d = root/split/('normal', 'pneumonia')[int(ys[i, 0])]; d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(xs[i]).save(d/f'{split}_{i:04d}.png')
    return root

@pytest.fixture(scope='module')
def polyps(tmp_path_factory):
    "Eight Kvasir-SEG frames as 3-sample TIFFs, their masks as PNG: a segmentation folder of TIFF frames."
    import tifffile
    from kdml_nb.data import data_root
    src, root = data_root(must_exist=True)/'polyps'/'kvasir-seg', tmp_path_factory.mktemp('own')/'polyps'
    (root/'images').mkdir(parents=True); (root/'masks').mkdir()
    for p in sorted((src/'images').glob('*.jpg'))[:8]:
        tifffile.imwrite(root/'images'/f'{p.stem}.tif', np.asarray(Image.open(p).convert('RGB').resize((96, 80))))
        Image.open(src/'masks'/p.name).convert('L').resize((96, 80), Image.NEAREST).save(root/'masks'/f'{p.stem}.png')
    return root

def test_class_folders_with_ecosystem_networks(xrays, tmp_path):
    "A folder of X-ray PNGs (never mirrored: --flip none), a timm teacher and a torchvision student, learning styles on 'auto' layers: it trains, and every member is saved."
    out = tmp_path/'run'
    r = cli('kdml_train', '--data', xrays, '--size', '64', '--teacher', 'timm:resnet18', '--students',
            'torchvision:mobilenet_v3_small,fastai:xresnet18', '--method', 'styles', '--epochs', '1', '--bs', '32', '--flip', 'none', '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    res = pd.read_csv(out/'results.csv')
    assert res.member.tolist() == ['teacher', 'mobilenet_v3_small', 'xresnet18', 'ensemble']
    assert res.split.unique().tolist() == ['test'] and res.accuracy.between(0, 1).all()
    assert {p.name for p in (out/'members_seed0').iterdir()} >= {'teacher.safetensors', 'xresnet18.json'}
    assert json.loads((out/'results.json').read_text())['args']['flip'] == 'none'  # recorded: --resume trains it the same way

def test_multi_label_csv_end_to_end(tmp_path):
    "BCCD smears labelled by the cell types they contain (from the VOC annotations), as a CSV with ';'-joined labels: sigmoid KD, mean and per-label AUC."
    from kdml_nb.data import bccd_boxes
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        rows = [(str(img), ';'.join(sorted(set(ls))), split) for split in ('train', 'val', 'test')
                for img,(_,ls) in list(bccd_boxes(split=split).items())[:{'train': 48, 'val': 16, 'test': 24}[split]]]
    pd.DataFrame(rows, columns=['path', 'labels', 'split']).to_csv(tmp_path/'smears.csv', index=False)
    out = tmp_path/'run'
    r = cli('kdml_train', '--data', tmp_path/'smears.csv', '--label_delim', ';', '--size', '64', '--teacher', 'resnet10', '--students', 'cnn,cnn',
            '--method', 'kd_ml', '--epochs', '1', '--bs', '16', '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    res = pd.read_csv(out/'results.csv').set_index('member')
    assert {'accuracy', 'exact_match', 'roc_auc', 'macro_f1', 'auc:RBC', 'auc:WBC', 'auc:Platelets'} <= set(res.columns)
    assert res.accuracy.between(0, 1).all() and 'exact_match' in r.stdout
    assert not (out/'confusion_seed0.png').exists()  # no confusion matrix for labels that are not exclusive

def test_skip_bad_counts_what_it_skips(xrays, tmp_path):
    data = Path(shutil.copytree(xrays, tmp_path/'xrays'))
    bad = sorted((data/'train'/'normal').glob('*.png'))[0]
    bad.write_bytes(bad.read_bytes()[:40])  # truncated
    one_line_error(cli('kdml_train', '--data', data, '--out', tmp_path/'out'), f'cannot read {bad}', tmp_path/'out')
    r = cli('kdml_train', '--data', data, '--skip_bad', '--size', '32', '--teacher', 'cnn', '--students', 'cnn',
            '--method', 'kd', '--epochs', '1', '--bs', '32', '--out', tmp_path/'ok')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'skipped 1 unreadable file(s)' in r.stdout + r.stderr

def test_segmentation_folder_of_tiffs_with_smp(polyps, tmp_path):
    "TIFF frames (which Pillow reads badly or not at all) with an smp U-Net teacher and a built-in student."
    out = tmp_path/'run'
    r = cli('kdml_train', '--task', 'segment', '--data', polyps, '--size', '64', '--teacher', 'smp:Unet:resnet18',
            '--students', 'unet_tiny', '--method', 'kd', '--epochs', '1', '--bs', '4', '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    assert pd.read_csv(out/'results.csv').dice.between(0, 1).all()

def test_mask_of_another_size(polyps, tmp_path):
    data = Path(shutil.copytree(polyps, tmp_path/'polyps'))
    m = sorted((data/'masks').glob('*.png'))[2]
    Image.open(m).resize((50, 40)).save(m)
    one_line_error(cli('kdml_train', '--task', 'segment', '--data', data, '--teacher', 'unet_tiny', '--students', 'unet_tiny',
                       '--method', 'kd', '--out', tmp_path/'out'), f'{m} is 50x40 pixels', tmp_path/'out')

def test_bad_folders_and_tables(xrays, tmp_path):
    (tmp_path/'empty').mkdir()
    one_line_error(cli('kdml_train', '--data', tmp_path/'empty', '--out', tmp_path/'o1'), 'empty', tmp_path/'o1')
    few = tmp_path/'few'
    for c, n in (('normal', 6), ('pneumonia', 1)):
        (few/c).mkdir(parents=True)
        for p in sorted((xrays/'train'/c).glob('*.png'))[:n]: shutil.copy(p, few/c)
    one_line_error(cli('kdml_train', '--data', few, '--out', tmp_path/'o2'), "class 'pneumonia'", tmp_path/'o2')
    files = sorted((xrays/'train').glob('*/*.png'))[:20]
    table = pd.DataFrame({'path': [str(p) for p in files] + [f'/nowhere/x{i}.png' for i in range(7)],
                          'label': [p.parent.name for p in files] + ['normal']*7})
    table.to_csv(tmp_path/'missing.csv', index=False)
    one_line_error(cli('kdml_train', '--data', tmp_path/'missing.csv', '--out', tmp_path/'o3'), '7 file(s)', tmp_path/'o3')
    tab = pd.DataFrame({'path': [str(p) for p in files], 'label': [p.parent.name for p in files],
                        'split': ['train']*16 + ['valid']*3 + ['test']})
    tab.loc[19, 'label'] = 'covid'  # a test label that no training image has
    tab.to_csv(tmp_path/'outside.csv', index=False)
    one_line_error(cli('kdml_train', '--data', tmp_path/'outside.csv', '--out', tmp_path/'o4'), "'covid'", tmp_path/'o4')

@pytest.mark.parametrize('arch,msg', [('timm:resnet19', 'nearest: timm:resnet18'),
                                      ('torchvision:mobilenet_v3_smal', 'torchvision:mobilenet_v3_small'),
                                      ('smp:Unet:resnet19', 'resnet18'),
                                      ('keras:resnet18', "unknown architecture 'keras:resnet18'")])
def test_unknown_network_names(arch, msg, tmp_path):
    task = ['--task', 'segment', '--data', 'cvc-clinicdb'] if arch.startswith('smp') else []
    one_line_error(cli('kdml_train', *task, '--teacher', arch, '--students', 'unet_tiny' if task else 'cnn', '--method', 'kd',
                       '--out', tmp_path/'out'), msg, tmp_path/'out')

def test_weights_that_do_not_fit_and_unsafe_pickles(xrays, tmp_path):
    from kdml_nb.zoo import make_net
    wrong = tmp_path/'resnet34.pth'
    torch.save(make_net('timm:resnet34', c_in=1, n_out=2).state_dict(), wrong)
    args = ['--data', xrays, '--teacher', 'timm:resnet18', '--students', 'cnn', '--method', 'kd', '--offline']
    one_line_error(cli('kdml_train', *args, '--teacher_weights', wrong, '--out', tmp_path/'o1'), 'does not fit', tmp_path/'o1')
    marker = tmp_path/'ran'
    class Evil:
        def __reduce__(self): return (Path.touch, (marker,))
    torch.save({'state_dict': Evil()}, tmp_path/'evil.pth')  # torch.save's zip format
    with open(tmp_path/'evil.pkl', 'wb') as f: pickle.dump({'state_dict': Evil()}, f)  # a plain pickle
    for evil in ('evil.pth', 'evil.pkl'):
        one_line_error(cli('kdml_train', *args, '--teacher_weights', tmp_path/evil, '--out', tmp_path/'o2'),
                       'is not a weights-only file: nothing was loaded', tmp_path/'o2')
    assert not marker.exists()  # nothing in the pickles ran

def test_export_and_predict_agree_with_the_run(xrays, tmp_path):
    "The README's two lines for your own data: train on a folder, export a student, predict a folder; predictions match the run's test accuracy."
    out = tmp_path/'run'
    r = cli('kdml_train', '--data', xrays, '--size', '32', '--teacher', 'resnet10', '--students', 'cnn', '--method', 'kd',
            '--epochs', '1', '--bs', '32', '--out', out)
    assert r.returncode == 0, r.stderr[-2000:]
    r = cli('kdml_export', out, '--member', 'cnn')
    assert r.returncode == 0, r.stderr[-2000:]
    r = cli('kdml_predict', out/'export'/'cnn', xrays/'test', '--out', tmp_path/'preds.csv')
    assert r.returncode == 0, r.stderr[-2000:]
    preds = pd.read_csv(tmp_path/'preds.csv')
    truth = preds.iloc[:, 0].map(lambda p: Path(p).parent.name)
    acc = pd.read_csv(out/'results.csv').set_index('member').loc['cnn', 'accuracy']
    assert abs((preds['pred'] == truth).mean() - acc) < 1e-9

def test_medmnist_without_network(tmp_path, capsys, monkeypatch):
    "A MedMNIST set in no local folder on a machine without network: one line saying where to put the file; no output folder, no cache folder."
    from fastcore.script import anno_parser
    import kdml_nb.data as D
    from kdml_nb.train import kdml_train as main
    (tmp_path/'data').mkdir()
    monkeypatch.setenv('KDML_DATA', str(tmp_path/'data'))  # a data folder without the set
    monkeypatch.setenv('HOME', str(tmp_path/'home'))  # the download cache, ~/.kdml_nb/data, is not there either
    monkeypatch.setattr(D, 'MEDMNIST_URL', (tmp_path/'offline'/'{name}.npz').as_uri())  # a download that fails as it does offline
    kw = vars(anno_parser(main).parse_args(['--data', 'pneumoniamnist', '--method', 'kd', '--students', 'cnn', '--out', str(tmp_path/'out')]))
    kw.pop('pdb', None); kw.pop('xtra', None)
    capsys.readouterr()
    with pytest.raises(SystemExit) as e: main(**kw)
    r = subprocess.CompletedProcess([], e.value.code, '', capsys.readouterr().err)
    one_line_error(r, 'pneumoniamnist.npz is in neither the data folder', tmp_path/'out')
    assert 'put pneumoniamnist.npz in one of them, or set KDML_DATA' in r.stderr
    assert not (tmp_path/'home'/'.kdml_nb').exists()
