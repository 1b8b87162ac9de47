"Headless Chromium driven by Selenium through Debian's chromedriver: the browser of the docs and explorer tests."
import contextlib, os, shutil, tempfile
from pathlib import Path

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
CHROMEDRIVER = shutil.which('chromedriver') or ('/usr/bin/chromedriver' if Path('/usr/bin/chromedriver').exists() else None)

@contextlib.contextmanager
def chromium(window:str='1400,1000', page_timeout:int=60):
    "A headless Chromium `webdriver.Chrome` with a throw-away profile, quit and cleaned up on every exit path."
    os.environ.setdefault('SE_OFFLINE', 'true')  # Selenium Manager must not try the network
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix='kdml-chromium-')
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
              f'--user-data-dir={profile}', f'--window-size={window}', '--hide-scrollbars']:
        opts.add_argument(a)
    try:
        drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
        try:
            drv.set_page_load_timeout(page_timeout)
            yield drv
        finally: drv.quit()
    finally: shutil.rmtree(profile, ignore_errors=True)
