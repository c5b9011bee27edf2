"""Hostile requests, by input class, against every route each class reaches: the
regression suite of the input boundary (tests/http/test_input_boundary.py).

Each case is a request that would crash a handler, write something it must not, or
let another site act through the operator's browser, with the status it must get.
Cases are built from route tables, so a route added to a table gets every class."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from app.domain.registry import REGISTRY, Kind

CHANGE = "{change}"  # replaced by a real change id of the test's database
SCHEDULED = "{scheduled}"  # replaced by a real pending scheduled change id
JOB = "{job}"  # replaced by a real job id
REQUEST = "{request}"  # replaced by a real pending change request (proposed by someone else)


@dataclass(frozen=True)
class Case:
    cls: str
    method: str
    path: str
    status: int | tuple[int, ...]
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.cls}:{self.method} {self.path}"[:160]


JSON = {"Content-Type": "application/json"}
MESSAGES = [{"role": "user", "content": "hi"}]

# Every route that takes a JSON body, with a body it would accept.
BODY_ROUTES: list[tuple[str, str, Any]] = [
    ("PATCH", "/v1/settings/global", {"temperature": 0.5}),
    ("PATCH", "/v1/settings/bots/mira", {"temperature": 0.5}),
    ("PUT", "/v1/settings/global/temperature", {"value": 0.5}),
    ("PUT", "/v1/settings/bots/mira/temperature", {"value": 0.5}),
    ("POST", "/v1/bots", {"slug": "newbot", "settings": {"temperature": 0.5}}),
    ("PUT", "/v1/settings", {"scope_type": "bot", "scope_id": "mira", "key": "temperature", "value": 0.5}),
    ("POST", "/v1/settings/batch", {"items": [{"scope_type": "bot", "scope_id": "mira", "key": "temperature",
                                               "value": 0.5}]}),
    ("POST", f"/v1/changes/{CHANGE}/revert", {"force": True}),
    ("POST", "/v1/rollback", {"to": {"revision": 0}, "scope": "bots/mira"}),
    ("POST", "/v1/scheduled-changes", {"apply_at": "2030-01-01T00:00Z", "scope": "bots/mira",
                                       "patch": {"temperature": 0.3}}),
    ("POST", "/v1/change-requests", {"scope": "bots/mira", "patch": {"temperature": 0.3}, "reason": "r"}),
    ("POST", f"/v1/change-requests/{REQUEST}/approve", {"note": "ok"}),
    ("POST", "/v1/chat/completions", {"model": "mira", "messages": MESSAGES}),
    ("POST", "/v1/bots/mira/prepare", {"messages": MESSAGES}),
]
# State-changing routes without a JSON body, and the page's forms.
BODYLESS_ROUTES: list[tuple[str, str]] = [
    ("DELETE", "/v1/settings/global/temperature"),
    ("DELETE", "/v1/settings/bots/mira/temperature"),
    ("DELETE", "/v1/settings?scope_type=bot&scope_id=mira&key=temperature"),
    ("DELETE", "/v1/bots/mira"),
    ("DELETE", f"/v1/scheduled-changes/{SCHEDULED}"),
    ("POST", f"/v1/jobs/{JOB}/run"),
]
FORM_ROUTES: list[tuple[str, str, dict[str, str]]] = [
    ("POST", "/bots/mira/settings/temperature", {"value": "0.4"}),
    ("POST", "/bots/mira/settings/temperature/reset", {}),
    ("POST", "/global/settings/temperature", {"value": "0.4"}),
    ("POST", "/global/settings/temperature/reset", {}),
    ("POST", "/rollback", {"to": "0", "in": "bots/mira"}),
    ("POST", f"/changes/{CHANGE}/undo", {}),
    ("POST", "/bots/mira/propose", {"patch": '{"temperature": 0.3}', "reason": "r"}),
    ("POST", f"/requests/{REQUEST}/approve", {}),
]
READ_ROUTES = ["/v1/bots", "/v1/bots/mira", "/v1/bots/mira/effective", "/v1/settings/global",
               "/v1/settings/bots/mira", "/v1/settings/bots/mira/temperature", "/v1/history", "/v1/changes",
               "/v1/diff?from=0", "/v1/settings", "/v1/jobs", "/v1/scheduled-changes", "/v1/models", "/",
               "/bots/mira", "/history", "/jobs"]


def _json(value: Any) -> bytes:
    import json
    return json.dumps(value).encode()


def _form(fields: dict[str, str]) -> bytes:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in fields.items()).encode()


HOSTILE_JSON: dict[str, bytes] = {
    "nested 1200 deep": b'{"nextcloud": ' + b"[" * 1200 + b"]" * 1200 + b"}",
    "nested 40 deep": b'{"nextcloud": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}",
    "invalid UTF-8": b'{"system_prompt": "caf\xe9"}',
    "float overflow": b'{"temperature": 1e400}',
    "NaN": b'{"temperature": NaN}',
    "NUL in a value": b'{"system_prompt": "a\\u0000b"}',
    "NUL in a key": b'{"temp\\u0000": 1}',
    "duplicate keys": b'{"temperature": 0.5, "temperature": 0.6}',
    "5000-digit integer": b'{"max_output_tokens": ' + b"9" * 5000 + b"}",
}


def json_body_cases() -> list[Case]:
    return [Case("json body: " + name, m, p, 400, body, JSON) for name, body in HOSTILE_JSON.items()
            for m, p, _ in BODY_ROUTES]


def content_type_cases() -> list[Case]:
    types = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]
    return [Case(f"content type: {t or 'none'}", m, p, 415, _json(v), {"Content-Type": t} if t else {})
            for t in types for m, p, v in BODY_ROUTES]


def cross_site_cases(port: int) -> list[Case]:
    """Without tokens, every state-changing request a browser marks as cross-site."""
    senders = {"Origin": {"Origin": "http://evil.example"},
               "Origin of another port": {"Origin": f"http://127.0.0.1:{port + 1}"},
               "Origin null": {"Origin": "null"},
               "Referer only": {"Referer": "http://evil.example/page"},
               "Sec-Fetch-Site": {"Sec-Fetch-Site": "cross-site"}}
    cases: list[Case] = []
    for name, headers in senders.items():
        cases += [Case(f"cross-site: {name}", m, p, 403, _json(v), {**JSON, **headers}) for m, p, v in BODY_ROUTES]
        cases += [Case(f"cross-site: {name}", m, p, 403, None, headers) for m, p in BODYLESS_ROUTES]
        cases += [Case(f"cross-site: {name}", m, p, 403, _form(f),
                       {"Content-Type": "application/x-www-form-urlencoded", **headers}) for m, p, f in FORM_ROUTES]
    return cases


def host_cases(port: int) -> list[Case]:
    """DNS rebinding: the browser names the attacker's host, and the Origin matches it."""
    cases: list[Case] = []
    for host in ("evil.example", "rebind.127.0.0.1.nip.io", "localhost.evil.example"):
        headers = {"Host": f"{host}:{port}", "Origin": f"http://{host}:{port}"}
        cases += [Case(f"host: {host}", "GET", p, 421, None, headers) for p in READ_ROUTES]
        cases += [Case(f"host: {host}", m, p, 421, _json(v), {**JSON, **headers}) for m, p, v in BODY_ROUTES]
        cases += [Case(f"host: {host}", m, p, 421, None, headers) for m, p in BODYLESS_ROUTES]
        cases += [Case(f"host: {host}", m, p, 421, _form(f),
                       {"Content-Type": "application/x-www-form-urlencoded", **headers}) for m, p, f in FORM_ROUTES]
    return cases


BAD_NUMBERS = ["²", "١", "１２", "99999999999999999999999", "9" * 5000, "-1", "1e3", " "]


def number_cases() -> list[Case]:
    cases: list[Case] = []
    for raw in BAD_NUMBERS:
        q = quote(raw)
        for m, p, v in BODY_ROUTES[:4]:
            cases.append(Case("number: If-Match", m, p, 400, _json(v), {**JSON, "If-Match": f'"{q}"'}))
        for m, p in BODYLESS_ROUTES[:2]:
            cases.append(Case("number: If-Match", m, p, 400, None, {"If-Match": f'"{q}"'}))
        for p in ["/v1/history", "/v1/changes", "/history"]:
            cases.append(Case("number: cursor", "GET", f"{p}?cursor={q}", 400))
        for p in ["/v1/settings/bots/mira", "/v1/settings/global", "/v1/bots/mira/effective", "/v1/settings"]:
            cases.append(Case("number: revision", "GET", f"{p}?revision={q}", 400))
        cases.append(Case("number: diff from", "GET", f"/v1/diff?from={q}", 400))
        cases.append(Case("number: diff to", "GET", f"/v1/diff?from=0&to={q}", 400))
        cases.append(Case("number: history path", "GET", f"/history/{q}", 400))
        cases.append(Case("number: since", "GET", f"/v1/watch?since={q}", 400))
        if raw.isascii() and raw.strip():  # a header is latin-1 text; an empty one means none
            cases.append(Case("number: Last-Event-ID", "GET", "/v1/watch", 400, None, {"Last-Event-ID": raw}))
        for p in ["/v1/history", "/v1/changes", "/v1/scheduled-changes", f"/v1/jobs/{JOB}/runs"]:
            cases.append(Case("number: limit", "GET", f"{p}?limit={q}", 400))
        cases.append(Case("number: rollback revision", "POST", "/v1/rollback", 400,
                          b'{"to": {"revision": ' + (raw.encode() if raw.isascii() else b'"' + raw.encode() + b'"')
                          + b'}, "scope": "bots/mira"}', JSON))
    cases.append(Case("number: rollback revision as text", "POST", "/v1/rollback", 400,
                      _json({"to": {"revision": "1"}, "scope": "bots/mira"}), JSON))
    return cases


BAD_TIMES = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "10000-01-01T00:00:00Z",
             "2026-13-01T00:00:00Z", "2026-12-01T00:00:00²", "١٢"]


def time_cases() -> list[Case]:
    cases: list[Case] = []
    for raw in BAD_TIMES:
        q = quote(raw)
        for name, p in [("since", "/v1/history"), ("until", "/v1/history"), ("since", "/v1/changes"),
                        ("until", "/v1/changes")]:
            cases.append(Case(f"time: {name}", "GET", f"{p}?{name}={q}", 400))
        for p in ["/v1/settings/bots/mira", "/v1/settings/global", "/v1/bots/mira/effective", "/v1/settings"]:
            cases.append(Case("time: as_of", "GET", f"{p}?as_of={q}", 400))
        cases.append(Case("time: diff", "GET", f"/v1/diff?from={q}", 400))
        cases.append(Case("time: rollback", "POST", "/v1/rollback", 400,
                          _json({"to": {"time": raw}, "scope": "bots/mira"}), JSON))
        cases.append(Case("time: apply_at", "POST", "/v1/scheduled-changes", 400,
                          _json({"apply_at": raw, "scope": "bots/mira", "patch": {"temperature": 0.3}}), JSON))
        cases.append(Case("time: apply_at", "POST", "/v1/change-requests", 400, _json(
            {"apply_at": raw, "scope": "bots/mira", "patch": {"temperature": 0.3}, "reason": "r"}), JSON))
    return cases


def nul_text_cases() -> list[Case]:
    """NUL where text arrives outside a JSON body: query parameters and the path."""
    cases = [Case("NUL: ?reason=", m, f"{p}{'&' if '?' in p else '?'}reason=a%00b", 400, _json(v), JSON)
             for m, p, v in BODY_ROUTES]
    cases += [Case("NUL: ?reason=", m, f"{p}{'&' if '?' in p else '?'}reason=a%00b", 400) for m, p in BODYLESS_ROUTES]
    cases += [Case("NUL: filter", "GET", f"{p}?{name}=a%00b", 400) for p in ["/v1/history", "/v1/changes"]
              for name in ("actor", "key", "scope")]
    cases += [Case("NUL: path", m, "/v1/settings/bots/mira/temp%00erature", 400, body, JSON if body else {})
              for m, body in [("GET", None), ("PUT", _json({"value": 1})), ("DELETE", None)]]
    cases.append(Case("NUL: query not UTF-8", "GET", "/v1/history?actor=%FF", 400))
    return cases


BAD_SLUGS = ["mira%0A", "mira%0D%0A", "global", "bots", "Mira", "mira%00"]


def slug_cases() -> list[Case]:
    cases: list[Case] = []
    for s in BAD_SLUGS:
        raw = s.replace("%0A", "\n").replace("%0D", "\r").replace("%00", "\x00")
        status = (400,)
        for m, p, v in [("PATCH", f"/v1/settings/bots/{s}", {"temperature": 0.5}),
                        ("PUT", f"/v1/settings/bots/{s}/temperature", {"value": 0.5}),
                        ("POST", f"/v1/bots/{s}/prepare", {"messages": MESSAGES}),
                        ("POST", "/v1/bots", {"slug": raw}),
                        ("PUT", "/v1/settings", {"scope_type": "bot", "scope_id": raw, "key": "temperature",
                                                 "value": 0.5}),
                        ("POST", "/v1/settings/batch", {"items": [{"scope_type": "bot", "scope_id": raw,
                                                                   "key": "temperature", "value": 0.5}]}),
                        ("POST", "/v1/scheduled-changes", {"apply_at": "2030-01-01T00:00Z", "scope": f"bots/{raw}",
                                                           "patch": {"temperature": 0.3}}),
                        ("POST", "/v1/change-requests", {"scope": f"bots/{raw}", "patch": {"temperature": 0.3},
                                                         "reason": "r"}),
                        ("POST", "/v1/rollback", {"to": {"revision": 0}, "scope": f"bots/{raw}"})]:
            if p in ("/v1/settings", "/v1/settings/batch") and raw.strip().lower() == "mira":
                continue  # the platform's routes trim and lower-case scope_id, as its own do: this is mira
            # a batch names what is wrong with each item: 422
            cases.append(Case("slug", m, p, (400, 422) if p.endswith("batch") else status, _json(v), JSON))
        for m, p in [("GET", f"/v1/settings/bots/{s}"), ("GET", f"/v1/bots/{s}"), ("GET", f"/v1/bots/{s}/effective"),
                     ("DELETE", f"/v1/bots/{s}"), ("DELETE", f"/v1/settings/bots/{s}/temperature"),
                     ("GET", f"/bots/{s}")]:
            cases.append(Case("slug", m, p, status))
        cases.append(Case("slug", "POST", f"/bots/{s}/settings/temperature", status, b"value=0.4",
                          {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://127.0.0.1:1"}))
    return cases


def integer_bound_cases() -> list[Case]:
    """Every numeric key has an upper bound, and a value past it is refused."""
    cases: list[Case] = []
    for key, defn in sorted(REGISTRY.items()):
        if defn.kind not in (Kind.INT, Kind.FLOAT) or not defn.writable:
            continue
        assert defn.maximum is not None, f"{key} has no upper bound"
        over = int(defn.maximum) + 1 if defn.kind is Kind.INT else defn.maximum * 2 + 1
        for value in (over, 10**30):
            path = "/v1/settings/bots/mira" if "bot" in {s.value for s in defn.scopes} else "/v1/settings/global"
            cases.append(Case("integer bounds", "PATCH", path, 422, _json({key: value}), JSON))
    return cases


def all_cases(port: int) -> list[Case]:
    return [*json_body_cases(), *content_type_cases(), *cross_site_cases(port), *host_cases(port),
            *number_cases(), *time_cases(), *nul_text_cases(), *slug_cases(), *integer_bound_cases()]
