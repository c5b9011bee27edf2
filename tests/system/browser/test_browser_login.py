"""Signing in to the page in a real browser, with API tokens configured: the token's
name becomes the actor of a change made on the page; a reader gets no edit forms;
signing out ends the session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from app.domain.access import Role, new_secret, token_line
from bench.process import service_process

WAIT = 10
SECRETS = {"writer": new_secret(), "reader": new_secret()}


@pytest.fixture(scope="module")
def url(module_db_url: str, tmp_path_factory: pytest.TempPathFactory, browser: WebDriver) -> Iterator[str]:
    data = tmp_path_factory.mktemp("web-login")
    tokens = data / "tokens"
    tokens.write_text(f"{token_line('ops-writer', Role.WRITER, SECRETS['writer'])}\n"
                      f"{token_line('ops-reader', Role.READER, SECRETS['reader'])}\n")
    with service_process(module_db_url, data, env={"BOTSETTINGS_TOKENS_FILE": str(tokens)}) as (base, _):
        yield base
        browser.get("about:blank")  # the page closes its /v1/watch stream on leaving: serve stops at once


def sign_in(browser: WebDriver, url: str, who: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{url}/bots/mira")
    WebDriverWait(browser, WAIT).until(EC.url_contains("/login?next="))
    browser.find_element(By.ID, "token").send_keys(SECRETS[who])
    browser.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(EC.url_to_be(f"{url}/bots/mira"))


def test_a_writer_signs_in_and_changes_a_value_as_itself(
        browser: WebDriver, url: str, screenshot: Callable[[str], Path]) -> None:
    browser.get(f"{url}/login")
    browser.find_element(By.ID, "token").send_keys("bst_wrong")
    browser.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(EC.text_to_be_present_in_element((By.ID, "token-error"), "not valid"))
    screenshot("20-login-refused")
    sign_in(browser, url, "writer")
    assert "Signed in as ops-writer (writer)" in browser.find_element(By.CSS_SELECTOR, ".who").text
    field = browser.find_element(By.ID, "v-memory_n_results")
    field.clear()
    field.send_keys("30")
    field.submit()
    WebDriverWait(browser, WAIT).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".notice"), "is now 30"))
    browser.get(f"{url}/history?in=bots/mira")
    assert "by ops-writer via" in browser.find_element(By.CSS_SELECTOR, "li.event").text
    screenshot("21-signed-in-history")


def test_a_reader_sees_values_without_edit_forms_and_signs_out(
        browser: WebDriver, url: str, screenshot: Callable[[str], Path]) -> None:
    sign_in(browser, url, "reader")
    assert browser.find_elements(By.CSS_SELECTOR, "form.edit") == []
    assert "may not change" in browser.find_element(By.CSS_SELECTOR, ".readonly").text
    assert browser.find_element(By.CSS_SELECTOR, "#key-memory_n_results .effective").text == "30"
    screenshot("22-reader")
    browser.find_element(By.CSS_SELECTOR, ".who button").click()
    WebDriverWait(browser, WAIT).until(EC.url_to_be(f"{url}/login"))
    browser.get(f"{url}/")
    WebDriverWait(browser, WAIT).until(EC.url_contains("/login?next="))
