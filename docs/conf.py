"""Sphinx configuration for the kdml_nb docs site.

Used by `python tools/build_docs.py` as `sphinx -c docs docs/_src docs/_build/html`: the sources in
`docs/_src` are nbdev's processed notebooks (`_proc/`), adapted by the build script. Everything is
local: no intersphinx, no CDN assets, notebooks are not executed here (they carry their outputs).
"""
from configparser import ConfigParser
from pathlib import Path

_ini = ConfigParser(delimiters=['='])
_ini.read(Path(__file__).resolve().parents[1]/'settings.ini', encoding='utf-8')
_cfg = _ini['DEFAULT']

project = _cfg.get('title', _cfg.get('lib_name', 'kdml_nb'))
author = _cfg.get('author', '')
copyright = _cfg.get('copyright', '')
version = release = _cfg.get('version', '')

extensions = ['myst_nb']
root_doc = 'index'
source_suffix = {'.ipynb': 'myst-nb', '.md': 'myst-nb'}
exclude_patterns = ['_build', '**.ipynb_checkpoints', 'Thumbs.db', '.DS_Store']

# MyST: the syntax nbdev notebooks use ($math$, ::: fences, {attrs} after nbdev's [source](...) links)
myst_enable_extensions = ['attrs_inline', 'colon_fence', 'dollarmath', 'deflist', 'strikethrough']
myst_heading_anchors = 4

# myst-nb: render stored outputs only; `show_doc` output is text/markdown, parsed as MyST (tables, code)
nb_execution_mode = 'off'
nb_render_markdown_format = 'myst'
nb_mime_priority_overrides = [('html', 'text/markdown', 25)]  # markdown before text/html and text/plain
nb_merge_streams = True
nb_output_stderr = 'remove'  # warnings printed by libraries during execution are not documentation

html_theme = 'pydata_sphinx_theme'
html_title = project
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_theme_options = {
    'navbar_align': 'left',
    'header_links_before_dropdown': 8,
    'show_nav_level': 1,
    'navigation_depth': 1,
    'show_toc_level': 2,
    'secondary_sidebar_items': ['page-toc'],
    'footer_start': ['copyright'],
    'footer_end': [],
    'navigation_with_keys': False,
    'use_edit_page_button': False,
}
# every page lists all notebooks on the left (the site is flat: pydata's default sidebar would be empty)
templates_path = ['_templates']
html_sidebars = {'**': ['sidebar-pages.html']}
