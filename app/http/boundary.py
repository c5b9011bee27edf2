"""The input boundary: every request passes here before any handler sees it.

It refuses, with a 4xx naming what is wrong, what would otherwise crash deeper or
let another web site act through the operator's browser:

- **Host allowlist** (421): a DNS-rebinding page makes the browser send its own host
  name to this service; only loopback names, the bound address and
  ``BOTSETTINGS_ALLOWED_HOSTS`` are served. Bound to a wildcard address (0.0.0.0,
  which `serve` allows only with tokens) the check applies when the list is given.
- **Same origin** for every state-changing request when no tokens are configured: a
  request whose Origin (or Referer, or ``Sec-Fetch-Site``) says another site sent it
  is refused (403). Tools (curl, the platform) send none of these and pass.
- **JSON only** on the API's state-changing routes (415 otherwise): a page can post
  ``text/plain`` or a form cross-site without a CORS preflight, never JSON.
- **The body**: JSON is checked before the framework decodes it (UTF-8, depth,
  duplicate keys, numbers, NUL: app/domain/input_checks.py); a form must be UTF-8
  without NUL; the size limit is named.
- **The query string and path**: UTF-8, no NUL.

Litestar runs app middleware after routing, so the handler's ``opt`` is known here
(``web`` marks the operators' page, whose forms are not JSON).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec
import structlog
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from app.domain.access import Forbidden
from app.domain.errors import BadRequest, FieldError, TooLarge
from app.domain.input_checks import check_json_body, check_text

log = structlog.get_logger("botsettings.boundary")

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_WILDCARDS = ("0.0.0.0", "::", "")


def allowed_hosts(bound: str, extra: Iterable[str]) -> frozenset[str] | None:
    """The host names served; ``None`` means any (a wildcard bind without a list, or ``*``)."""
    extra = [h.strip().lower() for h in extra if h.strip()]
    if "*" in extra or (bound in _WILDCARDS and not extra):
        return None
    return frozenset({*LOOPBACK_NAMES, bound.lower(), *extra})


def host_name(header: str) -> str:
    """`example.org:8642` → `example.org`; `[::1]:8642` → `::1`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def is_loopback(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return name == "localhost" or name.endswith(".localhost")


def _media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _check_query(raw: bytes) -> None:
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("the query string is not UTF-8 once percent-decoded",
                         [FieldError(key="query", code="invalid_utf8", message="not UTF-8")]) from None
    for name, value in pairs:
        check_text(name, "query parameter name")
        check_text(value, name)


def _check_form(raw: bytes) -> None:
    try:
        text = raw.decode("ascii")  # a urlencoded form is ASCII; its percent-escapes must decode as UTF-8
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeError:
        raise BadRequest("the form is not UTF-8", [FieldError(key="form", code="invalid_utf8",
                                                              message="not UTF-8")]) from None
    for name, value in pairs:
        check_text(value, name)


def _check_shape(handler: Any, document: Any) -> None:
    """The body must have its declared types as sent: the framework converts loosely
    (``{"revision": "1"}`` would be taken as 1), so the shape is checked strictly first."""
    field = handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return
    try:
        msgspec.convert(document, field.annotation, strict=True)
    except msgspec.ValidationError as exc:
        where = str(exc).rpartition(" - at ")[2] if " - at " in str(exc) else "body"
        raise BadRequest(f"invalid request body: {exc}",
                         [FieldError(key=where.replace("$.", "body.").replace("$", "body"),
                                     code="invalid_type", message=str(exc))]) from None


class Boundary:
    def __init__(self, app: ASGIApp, *, hosts: frozenset[str] | None, tokenless: bool,
                 cors_origins: Iterable[str], max_body_bytes: int) -> None:
        self.app, self.hosts, self.tokenless = app, hosts, tokenless
        self.origins = frozenset(urlsplit(o).netloc.lower() for o in cors_origins)
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:  # Any: http or websocket
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        self._check_host(host, scope)
        if "\x00" in scope["path"]:
            raise BadRequest("the path contains a NUL character", [FieldError(key="path", code="nul_character",
                                                                               message="NUL in the path")])
        _check_query(scope.get("query_string", b""))
        method = scope["method"]
        if method in _SAFE:
            await self.app(scope, receive, send)
            return
        web = bool(scope["route_handler"].opt.get("web"))
        if self.tokenless and not web:  # the page's own check is stricter (app/http/auth.py)
            self._check_origin(headers, host, scope)
        media_type = _media_type(headers)
        if not web and self._has_body(headers) and not _is_json(media_type):
            raise HTTPException(status_code=415, detail=(
                f"this route takes a JSON body: send 'Content-Type: application/json' "
                f"(got {media_type or 'no Content-Type'})"))
        if not self._has_body(headers) or not (_is_json(media_type) or media_type ==
                                               "application/x-www-form-urlencoded"):
            await self.app(scope, receive, send)
            return
        body = await self._read(receive)
        if _is_json(media_type):
            _check_shape(scope["route_handler"], check_json_body(body))
        else:
            _check_form(body)
        await self.app(scope, _replay(body, receive), send)

    def _check_host(self, host: str, scope: Scope) -> None:
        name = host_name(host)
        if self.hosts is None or name in self.hosts or (name and is_loopback(name)):
            return
        log.warning("boundary.host_refused", host=host, path=scope["path"])
        raise HTTPException(status_code=421, detail=(
            f"this service does not answer to the host name {name or '(none)'!r}; add it to "
            "BOTSETTINGS_ALLOWED_HOSTS if it is meant to"))

    def _check_origin(self, headers: dict[str, str], host: str, scope: Scope) -> None:
        origin = headers.get("origin")
        source = origin if origin is not None else headers.get("referer")
        netloc = urlsplit(source).netloc.lower() if source and source != "null" else None
        cross = (headers.get("sec-fetch-site") == "cross-site" or origin == "null"
                 or (source is not None and netloc != host.lower() and netloc not in self.origins))
        if cross:
            log.warning("boundary.cross_site_refused", path=scope["path"], origin=origin)
            raise Forbidden("cross-site request refused: without API tokens, a change must come from this "
                            "service's own origin or from a tool that sends no Origin header")

    @staticmethod
    def _has_body(headers: dict[str, str]) -> bool:
        return headers.get("content-length", "0") not in ("0", "") or "transfer-encoding" in headers

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise TooLarge(f"the body is larger than the limit of {self.max_body_bytes} bytes "
                               "(BOTSETTINGS_MAX_BODY_BYTES)")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> ReceiveMessage:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def boundary_middleware(*, hosts: frozenset[str] | None, tokenless: bool, cors_origins: Iterable[str],
                        max_body_bytes: int) -> Any:
    def factory(app: ASGIApp) -> ASGIApp:
        return Boundary(app, hosts=hosts, tokenless=tokenless, cors_origins=cors_origins,
                        max_body_bytes=max_body_bytes)
    return factory
