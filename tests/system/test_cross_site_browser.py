"""CSRF and DNS rebinding in a real headless browser against a real tokenless
`botsettings serve` on loopback (the default, and the mode with no secret to steal):

- a page on another origin (a second loopback server, under another host name) tries
  every write a page can send without a CORS preflight — fetch() with text/plain or
  no body, and auto-submitted forms, urlencoded and text/plain shaped like JSON — and
  the JSON ones that need a preflight;
- a page whose host name was rebound to the service's address (the browser believes
  it is same-origin) tries the same with JSON.

Nothing is written (PostgreSQL read directly afterwards), and the server's log shows
the requests did arrive and were refused, so the test cannot pass by never sending."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.process import free_port, service_process
from tests.support.browser import headless_chromium
from tests.support.ledger import ledger

ATTACKER, REBOUND = "attacker.test", "rebind.test"

ATTACK = """<!doctype html><html><body><h1>cute cats</h1>
<iframe name="s1"></iframe><iframe name="s2"></iframe><iframe name="s3"></iframe><iframe name="s4"></iframe>
<form id="f1" target="s1" method="post" action="{svc}/bots/mira/settings/temperature">
  <input name="value" value="0.01"></form>
<form id="f2" target="s2" method="post" action="{svc}/global/settings/temperature">
  <input name="value" value="0.02"></form>
<form id="f3" target="s3" method="post" enctype="text/plain" action="{svc}/v1/settings/batch">
  <input name='{{"items": [{{"scope_type": "bot", "scope_id": "mira", "key": "temperature", "value": 0.03}}], "x": "'
         value='"}}'></form>
<form id="f4" target="s4" method="post" action="{svc}/rollback"><input name="to" value="0">
  <input name="in" value="bots/mira"></form>
<script>
const svc = "{svc}";
const batch = JSON.stringify({{items: [{{scope_type: "bot", scope_id: "mira", key: "temperature", value: 0.04}}]}});
const tries = [
  fetch(svc + "/v1/settings/batch", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
                                      body: batch}}),
  fetch(svc + "/v1/rollback", {{method: "POST", mode: "no-cors", body: '{{"to": {{"revision": 0}}}}'}}),
  fetch(svc + "/v1/bots", {{method: "POST", mode: "no-cors", body: '{{"slug": "evil"}}'}}),
  fetch(svc + "/v1/jobs/{job}/run", {{method: "POST", mode: "no-cors"}}),
  fetch(svc + "/v1/settings/bots/mira", {{method: "PATCH", headers: {{"Content-Type": "application/json"}},
                                          body: '{{"temperature": 0.05}}'}}),
  fetch(svc + "/v1/settings/bots/mira/temperature", {{method: "DELETE", mode: "no-cors"}}),
];
for (const f of document.forms) f.submit();
Promise.allSettled(tries).then(r => setTimeout(() => {{
  document.title = "done " + r.map(x => x.status).join(",");
}}, 1500));
</script></body></html>"""

REBOUND_SCRIPT = """
const done = arguments[arguments.length - 1];
const send = (method, path, body, type) => fetch(path, {method, body,
  headers: type ? {"Content-Type": type} : {}}).then(r => r.status, e => "error " + e);
Promise.all([
  send("PATCH", "/v1/settings/bots/mira", '{"temperature": 0.06}', "application/json"),
  send("POST", "/v1/settings/batch", JSON.stringify({items: [{scope_type: "bot", scope_id: "mira",
       key: "temperature", value: 0.07}]}), "application/json"),
  send("POST", "/bots/mira/settings/temperature", "value=0.08", "application/x-www-form-urlencoded"),
  send("GET", "/v1/settings/bots/mira"),
]).then(done);
"""


class _Attacker(http.server.BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:  # the stdlib names it so
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def service(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("csrf")
    log = tmp / "serve.log"
    with log.open("wb") as out, service_process(module_db_url, tmp, env={"BOTSETTINGS_LOG_FORMAT": "json"},
                                                output=out.fileno()) as (url, _):
        yield url, log


def test_a_page_on_another_origin_writes_nothing(service: tuple[str, Path], module_db_url: str) -> None:
    url, log = service
    port = url.rsplit(":", 1)[1]
    seed = httpx.patch(f"{url}/v1/settings/bots/mira", json={"temperature": 0.5})
    assert seed.status_code == 200
    job = httpx.get(f"{url}/v1/jobs").json()["jobs"][0]["id"]
    _Attacker.page = ATTACK.format(svc=f"http://127.0.0.1:{port}", job=job).encode()
    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Attacker)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    before = ledger(module_db_url)
    try:
        with headless_chromium(resolve=(ATTACKER,)) as browser:
            browser.get(f"http://{ATTACKER}:{attacker.server_port}/")  # type: ignore[attr-defined]
            deadline = time.monotonic() + 20
            while not browser.title.startswith("done") and time.monotonic() < deadline:  # type: ignore[attr-defined]
                time.sleep(0.2)
            assert browser.title.startswith("done"), browser.title  # type: ignore[attr-defined]
    finally:
        attacker.shutdown()
    time.sleep(0.5)  # the last form posts may still be on the wire
    assert ledger(module_db_url) == before, "a cross-site page wrote something"
    assert httpx.get(f"{url}/v1/settings/bots/mira/temperature").json()["value"] == 0.5
    text = log.read_text()
    # The no-preflight writes arrived and were refused (not merely never sent).
    assert text.count("boundary.cross_site_refused") >= 5, text[-2000:]  # 4 fetches, the text/plain form
    assert text.count("auth.cross_site_refused") >= 3, text[-2000:]  # the page's forms


def test_a_rebound_host_name_is_refused_even_for_same_origin_json(service: tuple[str, Path],
                                                                   module_db_url: str) -> None:
    url, log = service
    port = url.rsplit(":", 1)[1]
    before = ledger(module_db_url)
    with headless_chromium(resolve=(REBOUND,)) as browser:
        browser.set_script_timeout(20)  # type: ignore[attr-defined]
        browser.get(f"http://{REBOUND}:{port}/login")  # type: ignore[attr-defined]  # the browser reaches the service
        statuses = browser.execute_async_script(REBOUND_SCRIPT)  # type: ignore[attr-defined]
    assert statuses == [421, 421, 421, 421], statuses  # not even a read
    assert ledger(module_db_url) == before
    assert "boundary.host_refused" in log.read_text()
