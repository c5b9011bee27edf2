"""A headless Chromium (Debian's chromium and chromedriver, never a download) for
tests outside tests/web; ``resolve`` maps made-up host names to loopback, which is
how a test plays an attacker's domain, or a DNS-rebinding one, without a DNS server."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextlib.contextmanager
def headless_chromium(resolve: tuple[str, ...] = ()) -> Iterator[object]:
    if not (Path(CHROMEDRIVER).exists() and Path(CHROMIUM).exists()):
        pytest.skip("browser tests need Debian's chromium and chromedriver: "
                    "apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"):
        options.add_argument(arg)
    if resolve:
        options.add_argument("--host-resolver-rules=" + ", ".join(f"MAP {name} 127.0.0.1" for name in resolve))
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
