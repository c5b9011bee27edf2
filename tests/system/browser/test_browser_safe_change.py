"""Safe change in a real browser against a real `botsettings serve` with tokens: a
change request proposed on a bot's page by one person and approved by another, the
history as a change log (a many-key change is one row, expanded to its events, a
long value as a unified diff), and the compare view."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from app.domain.access import Role, new_secret, token_line
from bench.process import service_process

WAIT = 10
SECRETS = {"writer": new_secret(), "admin": new_secret()}
PROMPT = "\n".join(f"rule {i}: answer in plain words" for i in range(10))


@pytest.fixture(scope="module")
def url(module_db_url: str, tmp_path_factory: pytest.TempPathFactory, browser: WebDriver) -> Iterator[str]:
    data = tmp_path_factory.mktemp("web-safe-change")
    tokens = data / "tokens"
    tokens.write_text(f"{token_line('ops-writer', Role.WRITER, SECRETS['writer'])}\n"
                      f"{token_line('ops-admin', Role.ADMIN, SECRETS['admin'])}\n")
    with service_process(module_db_url, data, env={"BOTSETTINGS_TOKENS_FILE": str(tokens)}) as (base, _):
        yield base
        browser.get("about:blank")


def sign_in(browser: WebDriver, url: str, who: str, then: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{url}/login?next={then}")
    browser.find_element(By.ID, "token").send_keys(SECRETS[who])
    browser.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(EC.url_to_be(f"{url}{then}"))


def text_of(driver: WebDriver, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def test_a_change_request_proposed_by_one_person_is_approved_by_another(
        browser: WebDriver, url: str, screenshot: Callable[[str], Path]) -> None:
    sign_in(browser, url, "writer", "/bots/mira")
    browser.find_element(By.CSS_SELECTOR, "#propose summary").click()
    browser.find_element(By.ID, "propose-patch").send_keys('{"temperature": 0.25, "max_output_tokens": 900}')
    browser.find_element(By.ID, "propose-reason").send_keys("calmer, shorter answers")
    screenshot("30-propose-from-bot-page")
    browser.find_element(By.ID, "propose-submit").click()
    WebDriverWait(browser, WAIT).until(EC.url_contains("/requests/"))
    request_url = browser.current_url.split("?")[0]
    assert text_of(browser, "#request-status") == "pending"
    assert "You proposed it: another person must approve it." in browser.page_source
    assert not browser.find_elements(By.ID, "approve")
    diff = text_of(browser, "#request-diff")
    assert "temperature" in diff and "0.25" in diff and "max_output_tokens" in diff
    screenshot("31-request-pending-own")

    sign_in(browser, url, "admin", "/requests")
    row = browser.find_element(By.CSS_SELECTOR, "#requests-table tbody tr")
    assert "pending" in row.text and "ops-writer" in row.text and "calmer" in row.text
    screenshot("32-requests-list")
    row.find_element(By.TAG_NAME, "a").click()
    WebDriverWait(browser, WAIT).until(EC.url_to_be(request_url))
    browser.find_element(By.ID, "approve-note").send_keys("fine for tonight")
    browser.find_element(By.ID, "approve").click()
    WebDriverWait(browser, WAIT).until(EC.text_to_be_present_in_element((By.ID, "request-status"), "applied"))
    assert text_of(browser, "#request-decider") == "ops-admin"
    screenshot("33-request-approved-applied")

    browser.get(f"{url}/history?in=bots/mira")
    newest = browser.find_element(By.CSS_SELECTOR, "li.change")
    assert "2 keys" in newest.text and "by ops-writer, approved by ops-admin" in newest.text
    newest.find_element(By.TAG_NAME, "summary").click()
    assert len(newest.find_elements(By.CSS_SELECTOR, "li.change-event")) == 2
    assert "proposed by ops-writer, approved by ops-admin" in newest.text
    screenshot("34-history-approved-change")
    browser.get(f"{url}/bots/mira")
    assert text_of(browser, "#key-temperature .effective") == "0.25"


def test_history_groups_a_change_and_shows_long_values_as_a_unified_diff(
        browser: WebDriver, url: str, screenshot: Callable[[str], Path]) -> None:
    admin = {"Authorization": f"Bearer {SECRETS['admin']}", "X-Change-Reason": "nova migration"}
    many = {"temperature": 0.6, "top_p": 0.9, "max_output_tokens": 1500, "memory_n_results": 8,
            "system_prompt": PROMPT}
    assert httpx.patch(f"{url}/v1/settings/bots/nova", json=many, headers=admin).status_code == 200
    edited = PROMPT.replace("rule 4: answer in plain words", "rule 4: answer in one sentence")
    assert httpx.patch(f"{url}/v1/settings/bots/nova", json={"system_prompt": edited},
                       headers={**admin, "X-Change-Reason": "one-sentence rule"}).status_code == 200
    sign_in(browser, url, "admin", "/history?in=bots/nova")
    rows = browser.find_elements(By.CSS_SELECTOR, "li.change")
    assert [r.get_attribute("data-keys") for r in rows] == ["1", "5"]  # 5 keys: one row, not 5
    prompt_edit, migration = rows
    assert "5 keys" in migration.text and "nova migration" in migration.text
    migration.find_element(By.TAG_NAME, "summary").click()
    events = migration.find_elements(By.CSS_SELECTOR, "li.change-event")
    assert len(events) == 5
    screenshot("35-history-change-expanded")
    prompt_edit.find_element(By.TAG_NAME, "summary").click()
    diff = prompt_edit.find_element(By.CSS_SELECTOR, "pre.diff")
    assert "- rule 4: answer in plain words" in diff.text and "+ rule 4: answer in one sentence" in diff.text
    assert "rule 0" not in diff.text  # only the context around the edit, not the whole prompt
    screenshot("36-history-unified-diff")


def test_compare_two_bots_and_two_points(browser: WebDriver, url: str, screenshot: Callable[[str], Path]) -> None:
    sign_in(browser, url, "admin", "/compare")
    browser.find_element(By.CSS_SELECTOR, "#c-a option[value='mira']").click()
    browser.find_element(By.CSS_SELECTOR, "#c-b option[value='nova']").click()
    browser.find_element(By.CSS_SELECTOR, "#compare-bots button").click()
    WebDriverWait(browser, WAIT).until(EC.presence_of_element_located((By.ID, "compare-table")))
    rows = browser.find_elements(By.CSS_SELECTOR, "#compare-table tbody tr")
    kinds = [r.get_attribute("class") for r in rows]
    assert kinds == sorted(kinds, key=lambda k: k != "differs") and kinds[0] == "differs"  # differences first
    temperature = browser.find_element(By.CSS_SELECTOR, "#compare-table tr[data-key='temperature']")
    assert "0.25" in temperature.text and "0.6" in temperature.text and "bot" in temperature.text
    screenshot("37-compare-bots")
    browser.find_element(By.ID, "c-from").send_keys("0")
    browser.find_element(By.CSS_SELECTOR, "#c-in option[value='bots/mira']").click()
    browser.find_element(By.CSS_SELECTOR, "#compare-points button").click()
    WebDriverWait(browser, WAIT).until(EC.presence_of_element_located((By.ID, "points-table")))
    table = text_of(browser, "#points-table")
    assert "temperature" in table and "added" in table and "0.25" in table
    screenshot("38-compare-points")
