"""End to end in a real headless browser against a real `botsettings serve`: change a
value of mira, reset it, travel in history and roll back with confirmation, and see a
change made through the API arrive without a reload."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from bench.process import service_process

WAIT = 10


@pytest.fixture(scope="module")
def url(module_db_url: str, tmp_path_factory: pytest.TempPathFactory, browser: WebDriver) -> Iterator[str]:
    with service_process(module_db_url, tmp_path_factory.mktemp("web")) as (base, _):
        yield base
        browser.get("about:blank")  # the page closes its /v1/watch stream on leaving: serve stops at once


def text_of(driver: WebDriver, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def wait_text(driver: WebDriver, css: str, expected: str) -> None:
    WebDriverWait(driver, WAIT).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), expected))


def confirm(driver: WebDriver, accept: bool = True) -> str:
    alert = WebDriverWait(driver, WAIT).until(EC.alert_is_present())
    question = str(alert.text)
    alert.accept() if accept else alert.dismiss()
    return question


def test_change_mira_temperature_and_see_the_new_value_from_the_bot_layer(
        browser: WebDriver, url: str, screenshot: Callable[[str], Path]) -> None:
    browser.get(f"{url}/bots/mira")
    assert text_of(browser, "#key-temperature .effective") == "0.85"
    assert text_of(browser, "#key-temperature .badge") == "yaml"
    screenshot("01-mira-before")
    field = browser.find_element(By.ID, "v-temperature")
    field.clear()
    field.send_keys("0.35")
    browser.find_element(By.CSS_SELECTOR, "#key-temperature form.edit button[type=submit]").click()
    wait_text(browser, ".notice", "temperature is now 0.35")
    assert text_of(browser, "#key-temperature .effective") == "0.35"
    assert text_of(browser, "#key-temperature .badge") == "bot"
    assert text_of(browser, "#key-temperature .inherited-value") == "0.85"  # what it overrides
    screenshot("02-mira-temperature-changed")


def test_a_refused_value_shows_the_registry_message_next_to_the_field(
        browser: WebDriver, url: str, screenshot: Callable[[str], Path]) -> None:
    browser.get(f"{url}/bots/mira")
    field = browser.find_element(By.ID, "v-top_p")
    field.clear()
    field.send_keys("3")
    field.submit()
    wait_text(browser, "#e-top_p", "out of bounds")
    assert browser.find_element(By.ID, "v-top_p").get_attribute("aria-invalid") == "true"
    assert "top_p" in text_of(browser, ".error-summary")
    assert browser.switch_to.active_element.get_attribute("id") == "v-top_p"  # the cursor is in the field
    screenshot("03-validation-message")


def test_reset_to_inherited_asks_first_and_shows_the_inherited_value(
        browser: WebDriver, url: str, screenshot: Callable[[str], Path]) -> None:
    browser.get(f"{url}/bots/mira")
    reset = "#key-temperature form.reset button"
    browser.find_element(By.CSS_SELECTOR, reset).click()
    assert "Reset temperature?" in confirm(browser, accept=False)
    assert text_of(browser, "#key-temperature .badge") == "bot"  # dismissed: nothing happened
    browser.find_element(By.CSS_SELECTOR, reset).click()
    confirm(browser)
    wait_text(browser, ".notice", "it now inherits 0.85 from bots.yaml")
    assert text_of(browser, "#key-temperature .effective") == "0.85"
    assert text_of(browser, "#key-temperature .badge") == "yaml"
    screenshot("04-mira-temperature-reset")


def test_history_view_as_of_and_roll_back_with_confirmation(
        browser: WebDriver, url: str, screenshot: Callable[[str], Path]) -> None:
    browser.get(f"{url}/history?in=bots/mira&key=temperature")
    events = browser.find_elements(By.CSS_SELECTOR, "li.event")
    assert len(events) == 2  # the set, then the reset (newest first)
    oldest = events[-1]
    oldest.find_element(By.TAG_NAME, "summary").click()
    assert "not set → 0.35" in oldest.text
    screenshot("05-history-expanded")
    oldest.find_element(By.LINK_TEXT, "View as of here").click()
    WebDriverWait(browser, WAIT).until(EC.title_contains("As of revision"))
    row = browser.find_element(By.XPATH, "//table[1]//th[text()='temperature']/..")
    assert "0.35" in row.text and "bot" in row.text
    screenshot("06-as-of")
    browser.find_element(By.LINK_TEXT, "Roll back to here").click()
    wait_text(browser, "h1", "Roll back bots/mira")
    diff = text_of(browser, "table.diff-table")
    assert "temperature" in diff and "0.35" in diff
    screenshot("07-rollback-dry-run")
    browser.find_element(By.ID, "confirm-rollback").click()
    assert "Roll back bots/mira to revision" in confirm(browser, accept=False)
    assert "This is a dry run" in browser.page_source  # dismissed: still the dry run
    browser.find_element(By.ID, "confirm-rollback").click()
    confirm(browser)
    wait_text(browser, ".notice", "Rolled back")
    newest = browser.find_elements(By.CSS_SELECTOR, "li.event")[0]
    assert "temperature" in newest.text and "rollback" in newest.text
    browser.get(f"{url}/bots/mira")
    assert text_of(browser, "#key-temperature .effective") == "0.35"
    assert text_of(browser, "#key-temperature .badge") == "bot"
    screenshot("08-rolled-back")


def test_a_change_through_the_api_appears_on_an_open_page_without_reload(
        browser: WebDriver, url: str, screenshot: Callable[[str], Path]) -> None:
    browser.get(f"{url}/bots/mira")
    browser.execute_script("window.loadedOnce = true")
    assert text_of(browser, "#key-max_output_tokens .effective") == "2048"
    r = httpx.patch(f"{url}/v1/settings/bots/mira", json={"max_output_tokens": 1234},
                    headers={"X-Actor": "someone-else"})
    assert r.status_code == 200
    wait_text(browser, "#key-max_output_tokens .effective", "1234")
    assert text_of(browser, "#key-max_output_tokens .badge") == "bot"
    WebDriverWait(browser, WAIT).until(EC.visibility_of_element_located((By.ID, "live")))
    assert "Changed elsewhere" in text_of(browser, "#live") and "max_output_tokens" in text_of(browser, "#live")
    loaded: Any = browser.execute_script("return window.loadedOnce === true")
    assert loaded is True  # the same page, not a reload
    screenshot("09-live-update")


def test_overview_and_global_page_on_a_phone(browser: WebDriver, url: str,
                                             screenshot: Callable[[str], Path]) -> None:
    browser.get(url + "/")
    assert "Mira" in text_of(browser, "table.bots")
    screenshot("10-overview")
    browser.get(url + "/global")
    assert "Reaches" in text_of(browser, "#key-temperature .reach")
    screenshot("11-global")
    browser.get(url + "/jobs")
    assert "history_summarization" in text_of(browser, "table.jobs")
    screenshot("11-jobs")
    browser.set_window_size(390, 844)
    try:
        browser.get(f"{url}/bots/mira")
        widths: Any = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        over: Any = browser.execute_script(
            "return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right"
            " > window.innerWidth).map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8)")
        assert widths[0] <= widths[1], over  # nothing forces sideways scrolling on a phone
        screenshot("12-mira-on-a-phone")
    finally:
        browser.set_window_size(1280, 1000)
