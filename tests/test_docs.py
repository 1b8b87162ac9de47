"""The docs site, as a person sees it: built by `tools/build_docs.py`, opened in headless Chromium.

The build runs once per session (module fixture). Notebooks committed without outputs are executed
by the build (see `tools/build_docs.py`), so plots are always there. Screenshots go to `artifacts/`.
"""
import functools, http.server, os, shutil, subprocess, sys, tempfile, threading, time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT/'docs'/'_build'/'html'
ART = ROOT/'artifacts'
from chromium import CHROMIUM, CHROMEDRIVER, chromium
BUILD_TIMEOUT = int(os.environ.get('KDML_DOCS_BUILD_TIMEOUT', 2400))

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
    reason='headless Chromium and chromedriver are needed (Debian: apt-get install -y chromium chromium-driver)')


@pytest.fixture(scope='module')
def site():
    "Build the site once; serve docs/_build/html on 127.0.0.1 for the module."
    t0 = time.time()
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--no-readme'], cwd=ROOT,
                       capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    out = r.stdout + r.stderr
    if r.returncode != 0: pytest.fail(f'docs build failed (exit {r.returncode}):\n{out[-6000:]}', pytrace=False)
    print(f'docs built in {time.time()-t0:.0f}s')
    assert (HTML/'index.html').exists() and (HTML/'00_data.html').exists(), out[-3000:]
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f'http://127.0.0.1:{srv.server_address[1]}'
    srv.shutdown(); srv.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(scope='module')
def browser(site):
    with chromium('1400,1000', 60) as drv: yield drv


def _open(drv, url):
    from selenium.webdriver.support.ui import WebDriverWait
    drv.get(url)
    WebDriverWait(drv, 30).until(lambda d: d.execute_script('return document.readyState') == 'complete')


def _screenshot(drv, name, max_h=5000):
    "Full page (up to `max_h` pixels tall) into artifacts/."
    ART.mkdir(exist_ok=True)
    h = drv.execute_script('return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)')
    drv.set_window_size(1400, min(max(h, 800), max_h))
    drv.execute_script('window.scrollTo(0, 0)')
    time.sleep(0.3)
    drv.save_screenshot(str(ART/name))
    drv.set_window_size(1400, 1000)


def _h1(drv):
    from selenium.webdriver.common.by import By
    h = drv.find_element(By.CSS_SELECTOR, 'article h1, main h1')
    return h.text.replace('#', '').strip()


def _loaded_images(drv, css):
    "Images under `css` that the browser really decoded (naturalWidth > 0)."
    return drv.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map(i => ({src: i.getAttribute('src'), w: i.naturalWidth, h: i.naturalHeight, ok: i.complete && i.naturalWidth > 0}));", css)


def test_home_page(browser, site):
    from selenium.webdriver.common.by import By
    _open(browser, site + '/index.html')
    assert 'kdml_nb' in browser.title
    assert _h1(browser) == 'kdml_nb'
    body = browser.find_element(By.TAG_NAME, 'body').text
    assert 'Knowledge distillation and mutual learning' in body  # the `> summary` line
    assert 'test-command' not in body and '#| hide' not in body
    _screenshot(browser, 'docs_home.png')


def test_navigation_home_to_data(browser, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    _open(browser, site + '/index.html')
    links = [a for a in browser.find_elements(By.CSS_SELECTOR, 'article a[href$="00_data.html"]') if a.is_displayed()]
    assert links, 'no visible link from the home page to 00_data.html in the page body'
    assert links[0].text.strip() == 'Data'
    browser.execute_script('arguments[0].scrollIntoView({block: "center"})', links[0])
    links[0].click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url.endswith('/00_data.html'))
    _open(browser, browser.current_url)
    assert _h1(browser) == 'Data'
    # the sidebar lists the pages too, and leads back home
    side = [a.get_attribute('href') for a in browser.find_elements(By.CSS_SELECTOR, '.bd-sidebar-primary a') if a.is_displayed()]
    assert any(h.endswith('/01_models.html') or h.endswith('/00_data.html') for h in side), side


def test_data_page_api_and_plots(browser, site):
    from selenium.webdriver.common.by import By
    _open(browser, site + '/00_data.html')
    assert 'Data' in browser.title and _h1(browser) == 'Data'
    body = browser.find_element(By.TAG_NAME, 'body').text
    assert '```' not in body and '### ' not in body, 'raw markdown on the page: show_doc output was not rendered'
    # the API entry of medmnist_dls: a heading, then the signature with each parameter's documentation
    head = browser.find_element(By.XPATH, "//article//h3[normalize-space(translate(., '#', ''))='medmnist_dls']")
    sig = head.find_element(By.XPATH, 'following::pre[1]')
    browser.execute_script('arguments[0].scrollIntoView({block: "start"})', head)
    assert sig.is_displayed()
    assert 'def medmnist_dls(' in sig.text and 'bs:int=128' in sig.text
    assert 'Batch size' in sig.text and 'Resize images to' in sig.text
    doc = head.find_element(By.XPATH, 'following::p[1]')
    assert doc.is_displayed() and 'DataLoaders' in doc.text
    assert doc.find_elements(By.TAG_NAME, 'em'), 'the docstring line should be in italics (rendered markdown)'
    # show_batch plots: images in the cell outputs that the browser decoded
    imgs = _loaded_images(browser, 'article .cell_output img')
    assert imgs, 'no image in the outputs of 00_data (show_batch plots)'
    assert all(i['ok'] for i in imgs), [i for i in imgs if not i['ok']]
    assert max(i['w'] for i in imgs) >= 200, imgs
    assert all(i['ok'] for i in _loaded_images(browser, 'img')), 'a broken image on the page'
    first = browser.find_element(By.CSS_SELECTOR, 'article .cell_output img')
    browser.execute_script('arguments[0].scrollIntoView({block: "center"})', first)
    assert first.is_displayed() and first.size['width'] > 100
    ART.mkdir(exist_ok=True)
    browser.execute_script('arguments[0].scrollIntoView({block: "start"}); window.scrollBy(0, -110);', head)
    time.sleep(0.2)
    browser.save_screenshot(str(ART/'docs_data_api.png'))
    _screenshot(browser, 'docs_data.png')
