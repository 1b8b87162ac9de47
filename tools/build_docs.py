#!/usr/bin/env python
"""Build the documentation site and `README.md` from the nbdev notebooks, without Quarto.

    python tools/build_docs.py                  # site into docs/_build/html, and README.md
    python tools/build_docs.py --readme-only    # README.md only (fast: processes index.ipynb alone)
    python tools/build_docs.py --readme-only --out /tmp/README.check.md   # for CI's up-to-date check

How the site is built:
1. `nbdev.serve.proc_nbs` processes `nbs/` into `_proc/` (nbdev's own doc processors: `show_doc`
   cells executed, `#| hide`/`#| export` cells dropped, the `# Title`/`> summary` turned into
   front matter).
2. A notebook whose code cells carry no stored outputs (not executed before committing) is executed
   for the docs, in a fresh process per notebook with a time limit, from a copy held in memory (the
   source notebooks are never written), with cwd = its folder and the same skip rules as `nbdev_test`
   (`#| eval: false`, cells flagged with a `tst_flags` flag unless passed with `--flags`). The result
   is processed like step 1 and cached under `docs/_build/.nbexec/` (keyed on the notebook, the
   library and settings).
3. The processed notebooks are adapted for Sphinx (front matter -> `# Title` + `> summary`; Quarto
   cell options `echo`/`output`/`include` -> myst-nb tags; links to the nbdev doc host -> local
   pages) and written to `docs/_src/`; the home page (`index.ipynb`) gets a toctree of the other
   notebooks in order.
4. Sphinx (`-c docs`, i.e. `docs/conf.py`, myst-nb with execution off) builds `docs/_build/html`.
   The build fails on Sphinx errors and on missing pages; warnings are printed but do not fail it.

`README.md` is made from `index.ipynb` processed the same way (without nbdev's auto-links, so that it
does not depend on which packages are installed), converted with nbconvert's Markdown exporter, with
images and HTML outputs left out (text outputs stay).
"""
from __future__ import annotations

import argparse, hashlib, json, os, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT/'docs'
SRC = DOCS/'_src'
BUILD = DOCS/'_build'
HTML = BUILD/'html'
EXEC_CACHE = BUILD/'.nbexec'
IMG_EXTS = {'.png', '.jpg', '.jpeg', '.gif', '.svg', '.webp'}
_re_directive = re.compile(r'^\s*#\s*\|\s*(.*)$')


def log(*args): print('[build_docs]', *args, flush=True)


def _setup_paths():
    "Run from the repository root with the library importable (also in subprocesses)."
    os.chdir(ROOT)
    if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
    pp = os.environ.get('PYTHONPATH', '')
    if str(ROOT) not in pp.split(os.pathsep): os.environ['PYTHONPATH'] = os.pathsep.join(o for o in (str(ROOT), pp) if o)


def _cfg():
    from nbdev.config import get_config
    return get_config(path=ROOT)


def _src_text(cell):
    s = cell.get('source', '')
    return ''.join(s) if isinstance(s, list) else s


# ---------------------------------------------------------------- notebook adaptation (docs and README)

def _frontmatter(cell) -> dict | None:
    "The YAML front matter dict of a raw `---` cell written by nbdev's FrontmatterProc, else None."
    if cell.get('cell_type') != 'raw': return None
    src = _src_text(cell).strip()
    if not (src.startswith('---') and src.endswith('---')): return None
    import yaml
    try: fm = yaml.safe_load(src.strip('-').strip()) or {}
    except yaml.YAMLError: return None
    return fm if isinstance(fm, dict) else None


def _directives_to_tags(cell) -> dict:
    "Quarto/nbdev `#|` cell options -> myst-nb/nbconvert tags; the option lines are removed from the source."
    if cell.get('cell_type') != 'code': return {}
    lines = _src_text(cell).splitlines()
    opts, i = {}, 0
    while i < len(lines):
        m = _re_directive.match(lines[i])
        if m:
            k, _, v = m.group(1).partition(':')
            opts[k.strip()] = v.strip().strip('"\'').lower()
            i += 1
        elif not lines[i].strip() and i == 0: i += 1
        else: break
    if not opts: return opts
    cell['source'] = '\n'.join(lines[i:])
    tags = list(cell.setdefault('metadata', {}).get('tags', []))
    def tag(t):
        if t not in tags: tags.append(t)
    if opts.get('include') == 'false': tag('remove-cell')
    if opts.get('echo') == 'false': tag('remove-input')
    if opts.get('output') == 'false': tag('remove-output')
    if tags: cell['metadata']['tags'] = tags
    return opts


def _title_cell(fm: dict, fallback: str) -> dict:
    title = str(fm.get('title') or fallback)
    desc = str(fm.get('description') or '').strip()
    src = f'# {title}\n' + (f'\n> {desc}\n' if desc else '')
    return _md_cell(src, 'kdml-title')


_re_callout = re.compile(r'^(:{3,})\s*\{\.callout-(note|tip|warning|important|caution)([^}]*)\}\s*$', re.M)


def _quarto_md(src: str) -> str:
    "Quarto callouts (`::: {.callout-note}`) -> MyST admonitions (`:::{note}`)."
    def sub(m):
        title = re.search(r'title\s*=\s*"([^"]*)"', m.group(3))
        kind = m.group(2)
        return f'{m.group(1)}{{admonition}} {title.group(1)}\n:class: {kind}' if title else f'{m.group(1)}{{{kind}}}'
    return _re_callout.sub(sub, src)


def _md_cell(src, id): return {'cell_type': 'markdown', 'id': id, 'metadata': {}, 'source': src}


def _asis_cells(cell, idx) -> list | None:
    """A `#| output: asis` cell (nbdev sets it on `show_doc` cells) as Quarto renders it: its markdown output
    inlined in the page, so `### name` headings are real sections (page TOC, anchors). None if it has none."""
    mds = [o['data']['text/markdown'] for o in cell.get('outputs', []) if 'text/markdown' in o.get('data', {})]
    if not mds: return None
    res = []
    for j, md in enumerate(mds):
        md = ''.join(md) if isinstance(md, list) else md
        md = re.sub(r'\A\s*---\s*\n', '', md)  # the rule show_doc starts with: docutils rejects it at a section start
        # nbdev's Quarto link `[source](url){target=.. style=..}`: MyST drops the style, so write the HTML
        md = re.sub(r'\[source\]\((\S+?)\)\{[^}\n]*\}', r'<a class="reference external kdml-source" href="\1" '
                    r'style="float:right; font-size:smaller" target="_blank" rel="noopener">source</a>', md)
        res.append(_md_cell(md, f'kdml-asis-{idx}-{j}'))
    return res


def adapt_nb(nb: dict, fallback_title: str) -> dict:
    "Processed nbdev notebook -> one myst-nb and nbconvert render well (front matter kept in `metadata.kdml_frontmatter`)."
    cells, fm = [], None
    for c in nb['cells']:
        f = _frontmatter(c) if fm is None else None
        if f is not None:
            fm = f
            cells.append(_title_cell(fm, fallback_title))
            continue
        opts = _directives_to_tags(c)
        if opts.get('output') == 'asis' and 'remove-cell' not in c['metadata'].get('tags', []):
            md = _asis_cells(c, len(cells))
            if md is not None: cells.extend(md); continue
        if c.get('cell_type') == 'code' and not _src_text(c).strip() and not c.get('outputs'): continue
        if c.get('cell_type') == 'markdown': c['source'] = _quarto_md(_src_text(c))
        cells.append(c)
    if fm is None:  # no front matter: keep the notebook's own first heading, else add one
        fm = {}
        if not any(c.get('cell_type') == 'markdown' and re.match(r'\s*# ', _src_text(c)) for c in cells):
            cells.insert(0, _title_cell(fm, fallback_title))
    nb['cells'] = cells
    nb.setdefault('metadata', {})['kdml_frontmatter'] = fm
    return nb


# ---------------------------------------------------------------- README

def _readme_nb():
    "`index.ipynb` processed by nbdev's doc processors minus `add_links` (so the README is environment-independent)."
    from execnb.nbio import read_nb
    from nbdev.processors import FilterDefaults, add_links
    class _NoLinks(FilterDefaults):
        def base_procs(self): return [p for p in super().base_procs() if p is not add_links]
    cfg = _cfg()
    src = Path(cfg.nbs_path)/cfg.get('readme_nb', 'index.ipynb')
    if not src.exists(): src = ROOT/cfg.get('readme_nb', 'index.ipynb')
    nb = read_nb(src)
    _NoLinks()(nb)
    return json.loads(json.dumps(nb, default=str)), src


def _md_outputs_only(nb):
    "Keep text outputs only: drop images and widgets, prefer markdown, then plain text, over HTML."
    for c in nb['cells']:
        if c.get('cell_type') != 'code': continue
        outs = []
        for o in c.get('outputs', []):
            data = o.get('data')
            if data is None: outs.append(o); continue  # stream / error
            if any(k.startswith('image/') or 'widget' in k for k in data): continue  # not its `<Figure ...>` text either
            for k in ('text/markdown', 'text/plain'):
                if k in data:
                    o['data'] = {k: data[k]}; outs.append(o); break
        c['outputs'] = outs


def readme_markdown() -> str:
    import nbformat
    from nbconvert import MarkdownExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    nb, _ = _readme_nb()
    nb = adapt_nb(nb, _cfg().get('title', 'README'))
    _md_outputs_only(nb)
    nb['metadata'].pop('kdml_frontmatter', None)
    nb['metadata'].setdefault('language_info', {'name': 'python'})  # fences get ```python
    for i, c in enumerate(nb['cells']):
        c.setdefault('id', f'kdml-{i}')
        if c.get('cell_type') == 'code': c.setdefault('execution_count', None); c.setdefault('outputs', [])
    node = nbformat.reads(json.dumps({**nb, 'nbformat': 4, 'nbformat_minor': 5}), as_version=4)  # joins line lists
    ex = MarkdownExporter()
    ex.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={'remove-cell'}, remove_input_tags={'remove-input'},
                                                   remove_all_outputs_tags={'remove-output'}, enabled=True), enabled=True)
    body, _ = ex.from_notebook_node(node)
    body = '\n'.join(l.rstrip() for l in body.splitlines())
    body = re.sub(r'\n{3,}', '\n\n', body).strip() + '\n'
    return body


def write_readme(out: Path) -> bool:
    "Write the README to `out`; returns True when the file changed."
    t0 = time.time()
    md = readme_markdown()
    out = Path(out)
    old = out.read_text(encoding='utf-8') if out.exists() else None
    if old != md: out.write_text(md, encoding='utf-8')
    log(f'README: {out} ({"updated" if old != md else "unchanged"}, {time.time()-t0:.1f}s)')
    return old != md


# ---------------------------------------------------------------- execution of notebooks without outputs

def _is_showdoc(src): return bool(re.search(r'^\s*show_doc\(', src, re.M))


def has_stored_outputs(nb: dict) -> bool:
    "Does any code cell other than a `show_doc` cell carry stored outputs?"
    return any(c.get('outputs') for c in nb.get('cells', [])
               if c.get('cell_type') == 'code' and not _is_showdoc(_src_text(c)))


def _exec_key(src: Path, flags: str) -> str:
    h = hashlib.sha256()
    cfg = _cfg()
    files = [src, Path(cfg.config_file)] + sorted(Path(cfg.lib_path).rglob('*.py'))
    for f in files:
        h.update(str(f.relative_to(ROOT) if f.is_absolute() and ROOT in f.parents else f).encode())
        h.update(f.read_bytes())
    h.update(flags.encode())
    return h.hexdigest()


def _exec_one(src: str, exec_dest: str, proc_dest: str, flags: str):
    "In a fresh process: execute notebook `src` (in memory) like `nbdev_test`, save it, then nbdev-process it."
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    from nbdev.process import extract_directives
    import nbdev.serve_drv
    from nbdev.processors import FilterDefaults
    src = Path(src).absolute()
    cfg = _cfg()
    skip = set(cfg.get('tst_flags', '').split()) - set(flags.split())
    nb = read_nb(src)
    def _no_eval(cell):
        if cell.cell_type != 'code': return True
        if 'nbdev_export' + '(' in cell.source: return True
        d = extract_directives(cell, remove=False)
        if d.get('eval:', [''])[0].lower() == 'false': return True
        return bool(skip & d.keys())
    os.environ['IN_TEST'] = '1'
    k = CaptureShell(src)
    t0 = time.time()
    try:
        with working_directory(src.parent): k.run_all(nb, exc_stop=True, preproc=_no_eval)
    except BaseException:
        sys.stderr.write(k.prettytb(fname=src) + '\n')
        sys.exit(1)
    del os.environ['IN_TEST']
    for c in nb.cells: c.pop('directives_', None)
    Path(exec_dest).parent.mkdir(parents=True, exist_ok=True)
    write_nb(nb, exec_dest)
    log(f'executed {src.relative_to(ROOT)} in {time.time()-t0:.1f}s')
    nbdev.serve_drv.main((Path(exec_dest), Path(proc_dest), FilterDefaults))


def executed_proc(src: Path, timeout: float, flags: str) -> Path:
    "Processed notebook with fresh outputs for `src` (cached); raises if execution fails."
    rel = src.relative_to(Path(_cfg().nbs_path))
    # same file names as the source (nbdev derives the page name from it), in separate folders
    exec_dest, proc_dest, keyf = EXEC_CACHE/'executed'/rel, EXEC_CACHE/'processed'/rel, EXEC_CACHE/'keys'/(str(rel)+'.key')
    for f in (exec_dest, proc_dest, keyf): f.parent.mkdir(parents=True, exist_ok=True)
    key = _exec_key(src, flags)
    if proc_dest.exists() and keyf.exists() and keyf.read_text() == key:
        log(f'{rel}: no stored outputs; using cached execution')
        return proc_dest
    log(f'{rel}: no stored outputs; executing it for the docs (limit {timeout:.0f}s)')
    for f in (exec_dest, proc_dest, keyf): f.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), '--exec-one', str(src), str(exec_dest), str(proc_dest), '--flags', flags]
    try: r = subprocess.run(cmd, cwd=ROOT, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SystemExit(f'build_docs: executing {rel} took longer than {timeout:.0f}s (raise --timeout, or commit the notebook with its outputs)')
    if r.returncode != 0 or not proc_dest.exists():
        raise SystemExit(f'build_docs: executing {rel} failed (exit {r.returncode}); see the traceback above')
    keyf.write_text(key)
    return proc_dest


# ---------------------------------------------------------------- site

def _write_if_changed(path: Path, data: bytes):
    if path.exists() and path.read_bytes() == data: return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _local_links(nb: dict, pages: dict, here: Path):
    "Links to the nbdev doc host (`doc_host` + `doc_baseurl` + Quarto page) -> this site's pages."
    cfg = _cfg()
    host = (cfg.get('doc_host', '') + cfg.get('doc_baseurl', '')).rstrip('/')
    if not host: return
    pat = re.compile(re.escape(host) + r'/([^\s)#"\']+\.html)(#[^\s)"\']*)?')
    def sub(m):
        page = pages.get(m.group(1))
        if page is None: return m.group(0)
        anchor = m.group(2) or ''  # nbdev's anchors are the heading text: MyST's heading slugs for `### name`
        if page == here and anchor: return anchor
        return Path(os.path.relpath(page, here.parent)).as_posix() + '.ipynb' + anchor  # a MyST document link
    def fix(s): return pat.sub(sub, s)
    for c in nb['cells']:
        if c.get('cell_type') == 'markdown': c['source'] = fix(_src_text(c))
        for o in c.get('outputs', []):
            md = o.get('data', {}).get('text/markdown')
            if md is not None: o['data']['text/markdown'] = fix(''.join(md) if isinstance(md, list) else md)


def _toctree_cell(docs: list) -> dict:
    body = '\n'.join(d.as_posix() for d in docs)
    src = f'## Contents\n\n```{{toctree}}\n:maxdepth: 1\n\n{body}\n```\n'
    return _md_cell(src, 'kdml-toctree')


def prepare_sources(execute: str, timeout: float, flags: str, n_workers: int) -> list:
    "Process the notebooks and write the Sphinx sources into docs/_src; returns the page names (home first)."
    from nbdev.serve import proc_nbs
    cfg = _cfg()
    nbs = Path(cfg.nbs_path)
    t0 = time.time()
    cache = Path(proc_nbs(n_workers=n_workers))
    log(f'proc_nbs -> {cache.relative_to(ROOT)} ({time.time()-t0:.1f}s)')
    readme_nb = cfg.get('readme_nb', 'index.ipynb')
    procs = sorted(p.relative_to(cache) for p in cache.rglob('*.ipynb')  # proc_nbs leaves deleted notebooks behind
                   if '.ipynb_checkpoints' not in p.parts and (nbs/p.relative_to(cache)).exists())
    if Path(readme_nb) not in procs: raise SystemExit(f'build_docs: {cache/readme_nb} was not produced by proc_nbs')
    others = [p for p in procs if p != Path(readme_nb)]
    adapted, pages = {}, {}
    for rel in [Path(readme_nb)] + others:
        src = nbs/rel
        src_nb = json.loads(src.read_text(encoding='utf-8')) if src.exists() else {'cells': []}
        proc = cache/rel
        run = execute == 'always' or (execute == 'auto' and not has_stored_outputs(src_nb))
        if run and any(c.get('cell_type') == 'code' for c in src_nb['cells']): proc = executed_proc(src, timeout, flags)
        nb = json.loads(proc.read_text(encoding='utf-8'))
        docname = Path('index') if rel == Path(readme_nb) else rel.with_suffix('')
        nb = adapt_nb(nb, cfg.get('title', 'Home') if docname == Path('index') else rel.stem)
        out = nb['metadata'].get('kdml_frontmatter', {}).get('output-file')
        if out: pages[str((rel.parent/out).as_posix())] = docname
        adapted[docname] = nb
    docnames = list(adapted)
    adapted[Path('index')]['cells'].append(_toctree_cell(docnames[1:]))
    written = set()
    for docname, nb in adapted.items():
        _local_links(nb, pages, docname)
        nb['metadata'].pop('kdml_frontmatter', None)
        dest = SRC/docname.with_suffix('.ipynb')
        _write_if_changed(dest, (json.dumps(nb, indent=1, ensure_ascii=False) + '\n').encode())
        written.add(dest)
    for f in cache.rglob('*'):  # images and other assets referenced from markdown
        if f.is_file() and f.suffix.lower() in IMG_EXTS:
            dest = SRC/f.relative_to(cache)
            _write_if_changed(dest, f.read_bytes()); written.add(dest)
    for f in sorted(SRC.rglob('*'), reverse=True):  # stale files from earlier builds
        if f.is_file() and f not in written: f.unlink()
        elif f.is_dir() and not any(f.iterdir()): f.rmdir()
    return docnames


_bad_warning = re.compile(r'(^|: )(ERROR|CRITICAL|SEVERE):|nonexisting document|toctree contains reference')


def run_sphinx(docnames: list, clean: bool = False) -> int:
    if clean: shutil.rmtree(HTML, ignore_errors=True); shutil.rmtree(BUILD/'doctrees', ignore_errors=True)
    warnfile = BUILD/'sphinx-warnings.txt'
    BUILD.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, '-m', 'sphinx', '-b', 'html', '-c', str(DOCS), '-d', str(BUILD/'doctrees'),
           '-w', str(warnfile), '-q', str(SRC), str(HTML)]
    t0 = time.time()
    r = subprocess.run(cmd, cwd=ROOT)
    log(f'sphinx exit {r.returncode} ({time.time()-t0:.1f}s)')
    if r.returncode != 0: return r.returncode
    keep = set(docnames) | {'genindex', 'search', 'py-modindex'}
    for f in HTML.rglob('*.html'):  # pages of notebooks deleted since an earlier build
        if f.relative_to(HTML).with_suffix('').as_posix() not in keep and '_static' not in f.parts: f.unlink()
    warns = warnfile.read_text(encoding='utf-8').splitlines() if warnfile.exists() else []
    bad = [w for w in warns if _bad_warning.search(w)]
    missing = [d for d in docnames if not (HTML/Path(d).with_suffix('.html')).exists()]
    if warns: log(f'{len(warns)} Sphinx warning line(s), see {warnfile.relative_to(ROOT)}')
    if bad: log('Sphinx reported errors:\n  ' + '\n  '.join(bad))
    if missing: log(f'pages missing from {HTML.relative_to(ROOT)}: {missing}')
    return 1 if bad or missing else 0


def build(execute='auto', timeout=900., flags='', readme=True, clean=False, n_workers=0) -> int:
    "Build README.md (if `readme`) and the site; returns an exit status."
    _setup_paths()
    t0 = time.time()
    if readme: write_readme(ROOT/'README.md')
    docnames = prepare_sources(execute, timeout, flags, n_workers)
    rc = run_sphinx([str(d) for d in docnames], clean=clean)
    log(f'{"done" if rc == 0 else "FAILED"}: {HTML.relative_to(ROOT)}/index.html ({time.time()-t0:.1f}s in all)')
    return rc


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--readme-only', action='store_true', help='only write the README (no site)')
    p.add_argument('--out', type=Path, default=None, help='where --readme-only writes (default: README.md at the repo root)')
    p.add_argument('--no-readme', action='store_true', help='build the site without touching README.md')
    p.add_argument('--execute', choices=['auto', 'always', 'never'], default='auto',
                   help='execute notebooks for the docs: auto = only those without stored outputs (default)')
    p.add_argument('--timeout', type=float, default=900., help='seconds allowed to execute one notebook (default 900)')
    p.add_argument('--flags', default='', help='tst_flags whose cells run when executing (like nbdev_test --flags)')
    p.add_argument('--n-workers', type=int, default=0, help='proc_nbs workers (0: in this process, the default)')
    p.add_argument('--clean', action='store_true', help='remove docs/_build/html and doctrees first')
    p.add_argument('--exec-one', nargs=3, metavar=('SRC', 'EXEC_DEST', 'PROC_DEST'), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.exec_one:
        _setup_paths()
        return _exec_one(*a.exec_one, flags=a.flags) or 0
    if a.readme_only:
        out = a.out.absolute() if a.out else ROOT/'README.md'
        _setup_paths()
        write_readme(out)
        return 0
    return build(execute=a.execute, timeout=a.timeout, flags=a.flags, readme=not a.no_readme, clean=a.clean, n_workers=a.n_workers)


if __name__ == '__main__':
    sys.exit(main())
