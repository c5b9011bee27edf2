"""The keys page and a bot page that follows its bot type, in a real headless browser
against a real `botsettings serve`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from bench.process import service_process


@pytest.fixture(scope="module")
def url(module_db_url: str, tmp_path_factory: pytest.TempPathFactory, browser: WebDriver) -> Iterator[str]:
    with service_process(module_db_url, tmp_path_factory.mktemp("keys")) as (base, _):
        yield base
        browser.get("about:blank")


def test_keys_page_and_a_bot_page_that_shows_the_keys_of_its_type(
        browser: WebDriver, url: str, screenshot: Callable[[str], Path]) -> None:
    browser.get(f"{url}/keys")
    row = browser.find_element(By.ID, "key-history_tokens")
    assert "max_context_tokens" in row.text and "12000" in row.text and "chat, agent" in row.text
    assert "global only" in browser.find_element(By.ID, "key-request_output_reserve").text
    screenshot("keys-01-registry")
    browser.find_element(By.LINK_TEXT, "Agent bots").click()
    assert browser.find_elements(By.ID, "key-session_model") and not browser.find_elements(
        By.ID, "key-include_summaries")
    browser.get(f"{url}/bots/nova")
    assert "A chat bot" in browser.find_element(By.CSS_SELECTOR, ".bot-type").text
    assert not browser.find_elements(By.ID, "key-session_model")
    httpx.patch(f"{url}/v1/settings/bots/nova", json={"bot_type": "agent"}, timeout=10).raise_for_status()
    browser.get(f"{url}/bots/nova")
    assert "An agent bot" in browser.find_element(By.CSS_SELECTOR, ".bot-type").text
    assert browser.find_elements(By.ID, "key-session_model")
    assert not browser.find_elements(By.ID, "key-include_summaries")
    screenshot("keys-02-nova-as-an-agent")
