"""In a real headless browser against a real `botsettings serve` in front of a fake
upstream: a bot's recent replies, each with the settings revision it used, reached
from the bot's page; the revision leads to the bot as of that revision."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from bench.process import service_process
from tests.support.upstream import serving_upstream

HI = [{"role": "user", "content": "hi"}]


async def test_the_replies_page_shows_each_reply_with_its_revision_and_links_to_it(
        browser: WebDriver, db_url: str, tmp_path: Path, screenshot: Callable[[str], Path]) -> None:
    async with serving_upstream() as upstream:
        with service_process(db_url, tmp_path, env={"BOTSETTINGS_UPSTREAM_URL": upstream.url}) as (url, _):
            async with httpx.AsyncClient(base_url=url, timeout=10) as http:
                for request_id, conversation in (("morning", "talk"), ("noon", None), ("evening", "talk")):
                    if request_id == "noon":
                        assert (await http.patch("/v1/settings/bots/mira", json={"temperature": 0.4})
                                ).status_code == 200
                    headers = {"X-Request-Id": request_id, **({"X-Conversation-Id": conversation}
                                                             if conversation else {})}
                    answer = await http.post("/v1/chat/completions", json={"model": "mira", "messages": HI},
                                             headers=headers)
                    assert answer.status_code == 200
            browser.get(f"{url}/bots/mira")
            browser.find_element(By.LINK_TEXT, "Recent replies").click()
            WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "table.replies")))
            rows = browser.find_elements(By.CSS_SELECTOR, "table.replies tbody tr")
            seen = [(r.find_element(By.CSS_SELECTOR, "code").text, r.find_element(By.CSS_SELECTOR, "td.revision").text)
                    for r in rows]
            assert seen == [("evening", "0 pinned"), ("noon", "1"), ("morning", "0 pinned")]
            screenshot("20-mira-recent-replies")
            rows[0].find_element(By.CSS_SELECTOR, "td.revision a").click()
            WebDriverWait(browser, 10).until(EC.url_contains("/history/0"))
            assert "0.85" in browser.page_source  # mira as of the pinned revision
            browser.get("about:blank")
