"""Hostile fuzzing of the OpenAPI surface: schemathesis generates a request for every
operation from the schema, then hypothesis bends it the way an attacker would — JSON
nested past any limit, bytes that are not UTF-8, Unicode digits (`²`, `١`, `１２`)
and NUL where numbers and text arrive (query, path, If-Match, Last-Event-ID), numbers
past any range. The only check: no 5xx. tests/system/test_hostile_fuzz.py runs it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import hypothesis
import schemathesis
from hypothesis import strategies as st

UNICODE_DIGITS = ["²", "١", "１２", "٣٤", "߁", "𝟗", "Ⅻ", "໒", "৪২"]
WEIRD_TEXT = st.sampled_from(UNICODE_DIGITS) | st.sampled_from(
    ["\x00", "a\x00b", "9" * 40, "-1", "1e400", "NaN", "9999-12-31T23:59:59-14:00", "\udcff"[:0] + "\u202e",
     "0001-01-01T00:00:00+14:00", "١d", "100000000d"]) | st.text(max_size=12)


def _deep(levels: int) -> bytes:
    return b'{"nextcloud": ' + b"[" * levels + b"]" * levels + b"}"


def _invalid_utf8(body: bytes, cut: int, junk: bytes) -> bytes:
    at = min(cut, len(body))
    return body[:at] + junk + body[at:]


MUTATIONS = ["nested body", "deep value", "invalid UTF-8 body", "Unicode digits in query", "NUL in query",
             "Unicode digits in path", "If-Match", "Last-Event-ID", "number overflow in body"]


def _request(case: schemathesis.Case, base_url: str) -> dict[str, Any]:
    kwargs = case.as_transport_kwargs(base_url=base_url)
    body = kwargs.pop("json", None)
    content = json.dumps(body).encode() if body is not None else kwargs.pop("data", None)
    if isinstance(content, str):
        content = content.encode()
    headers = {k: str(v) for k, v in (kwargs.get("headers") or {}).items()}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return {"method": kwargs["method"], "url": kwargs["url"], "base_url": base_url.rstrip("/"),
            "params": dict(kwargs.get("params") or {}),
            "content": content, "headers": headers}


def _mutate(req: dict[str, Any], case: schemathesis.Case, data: st.DataObject) -> str:
    mutation = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    json_headers = {**req["headers"], "Content-Type": "application/json"}
    if mutation == "nested body":
        req["content"], req["headers"] = _deep(data.draw(st.integers(33, 5000))), json_headers
    elif mutation == "deep value":
        levels = data.draw(st.integers(20, 60))
        req["content"] = ('{"value": ' + '{"a": ' * levels + "1" + "}" * levels + "}").encode()
        req["headers"] = json_headers
    elif mutation == "invalid UTF-8 body":
        base = req["content"] or b'{"system_prompt": "hello"}'
        junk = data.draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]))
        req["content"] = _invalid_utf8(base, data.draw(st.integers(0, len(base))), junk)
        req["headers"] = json_headers
    elif mutation == "number overflow in body":
        value = data.draw(st.sampled_from(["1e400", "-1e400", "9" * 5000, "1" + "0" * 30]))
        req["content"] = f'{{"temperature": {value}, "to": {{"revision": {value}}}}}'.encode()
        req["headers"] = json_headers
    elif mutation in ("Unicode digits in query", "NUL in query"):
        names = list(req["params"]) or ["revision", "as_of", "cursor", "limit", "since", "from", "to", "reason"]
        for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)):
            req["params"][name] = (data.draw(st.sampled_from(UNICODE_DIGITS)) if mutation.startswith("Unicode")
                                   else data.draw(WEIRD_TEXT) + "\x00")
    elif mutation == "Unicode digits in path":
        if case.path_parameters:
            bent = {name: quote(data.draw(st.sampled_from(UNICODE_DIGITS)), safe="") for name in case.path_parameters}
            req["url"] = req["base_url"] + case.path.format(**bent)
        else:
            req["params"]["revision"] = data.draw(st.sampled_from(UNICODE_DIGITS))
    elif mutation in ("If-Match", "Last-Event-ID"):
        digits = data.draw(st.sampled_from([*UNICODE_DIGITS, "9" * 40, "-1", "1e3"]))
        # Headers travel as bytes: non-ASCII ones as their UTF-8 bytes, read as latin-1 by the server.
        req["headers"][mutation] = (f'"{digits}"' if mutation == "If-Match" else digits).encode().decode("latin-1")
    return mutation


def hostile_fuzz(base_url: str, examples: int) -> tuple[list[str], dict[str, int]]:
    """Every operation, ``examples`` bent requests each; the server errors found and the
    count of requests sent per mutation."""
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
    failures: list[str] = []
    counts: dict[str, int] = dict.fromkeys(MUTATIONS, 0)
    client = httpx.Client(timeout=15)
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck),
                             phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
        @hypothesis.given(case=operation.as_strategy(), data=st.data())
        def check(case: schemathesis.Case, data: st.DataObject) -> None:
            req = _request(case, base_url)
            mutation = _mutate(req, case, data)
            counts[mutation] += 1
            headers = {k: v.encode("latin-1", "replace") for k, v in req["headers"].items()}
            with client.stream(req["method"], req["url"], params=req["params"], content=req["content"],
                               headers=headers) as response:  # a stream (watch) is not read to its end
                if response.status_code >= 500:
                    response.read()
                    raise AssertionError(f"{mutation}: {req['method']} {response.request.url} → "
                                         f"{response.status_code} {response.text[:300]}")

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    client.close()
    return failures, counts
