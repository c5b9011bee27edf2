"""The input boundary against a real server process (no tokens: the default, and the
mode a cross-site page can most easily abuse): every hostile input class on every
route it reaches (tests/support/hostile.py) gets its 4xx, never a 5xx, and writes
nothing. The number of cases per class is printed at the end of the session."""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from bench.process import service_process
from tests.support import hostile
from tests.support.ledger import ledger

PORT_PLACEHOLDER = 1  # case ids are built before the server's port is known
CASES = hostile.all_cases(PORT_PLACEHOLDER)
COUNTS = collections.Counter(c.cls.split(":")[0] for c in CASES)


class Server:
    def __init__(self, url: str, db_url: str) -> None:
        self.url, self.db_url = url, db_url
        self.port = urlsplit(url).port or 80
        self.client = httpx.Client(base_url=url, timeout=30)
        first = self.client.patch("/v1/settings/bots/mira", json={"temperature": 0.7})
        assert first.status_code == 200, first.text
        self.ids = {hostile.CHANGE: first.json()["change_id"]}
        scheduled = self.client.post("/v1/scheduled-changes", json={
            "apply_at": "2030-01-01T00:00Z", "scope": "bots/mira", "patch": {"temperature": 0.3}})
        assert scheduled.status_code == 201, scheduled.text
        self.ids[hostile.SCHEDULED] = scheduled.json()["id"]
        self.ids[hostile.JOB] = self.client.get("/v1/jobs").json()["jobs"][0]["id"]
        proposed = self.client.post("/v1/change-requests", headers={"X-Actor": "someone"}, json={
            "scope": "bots/mira", "patch": {"temperature": 0.3}, "reason": "a pending request"})
        assert proposed.status_code == 201, proposed.text
        self.ids[hostile.REQUEST] = proposed.json()["id"]

    def send(self, case: hostile.Case) -> httpx.Response:
        path = case.path
        for placeholder, value in self.ids.items():
            path = path.replace(placeholder, value)
        headers = {k: v.replace(f":{PORT_PLACEHOLDER}", f":{self.port}").replace(
            f"127.0.0.1:{PORT_PLACEHOLDER + 1}", f"127.0.0.1:{self.port + 1}") for k, v in case.headers.items()}
        return self.client.request(case.method, path, content=case.body, headers=headers)


@pytest.fixture(scope="module")
def server(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with service_process(module_db_url, tmp_path_factory.mktemp("boundary")) as (url, _):
        yield Server(url, module_db_url)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_and_writes_nothing(server: Server, case: hostile.Case) -> None:
    before = ledger(server.db_url)
    response = server.send(case)
    expected = case.status if isinstance(case.status, tuple) else (case.status,)
    assert response.status_code in expected, (response.status_code, response.text[:300])
    assert ledger(server.db_url) == before, "a refused request wrote something"
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        assert json.loads(response.text)["detail"], "a refusal must say what is wrong"
    elif response.headers.get("content-type", "") == "application/json":  # the OpenAI-compatible routes' shape
        assert json.loads(response.text)["error"]["message"], "a refusal must say what is wrong"


def test_the_same_requests_without_the_hostile_part_are_served(server: Server) -> None:
    """The control: a valid body, as JSON, from no other site, on the allowed host, is
    written, so the refusals above are the boundary's doing."""
    before = ledger(server.db_url)
    r = server.client.patch("/v1/settings/bots/mira", json={"temperature": 0.55})
    assert r.status_code == 200, r.text
    r = server.client.patch("/v1/settings/bots/mira", json={"temperature": 0.56},
                            headers={"Origin": server.url})  # the page's own origin
    assert r.status_code == 200, r.text
    r = server.client.get("/v1/bots", headers={"Host": f"localhost:{server.port}"})
    assert r.status_code == 200
    r = server.client.post("/v1/scheduled-changes", json={"apply_at": "2031-12-01T00:00Z", "scope": "bots/mira",
                                                          "patch": {"temperature": 0.3}})
    assert r.status_code == 201, r.text  # the README's example form: no seconds
    assert r.json()["apply_at"].startswith("2031-12-01T00:00:00")
    deep_ok = {"nextcloud": {"a": {"b": {"c": [1, 2, {"d": "x"}]}}}}
    assert server.client.patch("/v1/settings/bots/mira", json=deep_ok).status_code == 200
    after = ledger(server.db_url)
    assert after["events"] == before["events"] + 3  # type: ignore[operator]


def test_every_input_class_is_covered(capsys: pytest.CaptureFixture[str]) -> None:
    minimum = {"json body": 100, "content type": 40, "cross-site": 100, "host": 100, "number": 150, "time": 50,
               "NUL": 25, "slug": 80, "integer bounds": 20}
    with capsys.disabled():
        print("\ninput boundary cases per class: " + ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items()))
              + f"; total {len(CASES)}")
    for cls, least in minimum.items():
        assert COUNTS[cls] >= least, f"only {COUNTS[cls]} {cls} cases"
