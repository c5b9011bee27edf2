"""Forwarding a prepared request to the OpenAI-compatible upstream (the pipeline's only I/O).

One pooled HTTP client per process. Answers pass through unchanged (status 2xx,
body and content type; streams chunk by chunk). Failures become UpstreamError:
not configured (503), unreachable or an error status (502), too slow (504).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import structlog

from app.pipeline.errors import UpstreamFailed, UpstreamNotConfigured, UpstreamTimeout

log = structlog.get_logger("botsettings.gateway")
CONNECT_TIMEOUT = 5.0
ERROR_SNIPPET = 500  # characters of an upstream error body quoted back


class UpstreamReply(msgspec.Struct, frozen=True):
    status: int
    content_type: str
    body: bytes


class UpstreamStream(msgspec.Struct, frozen=True):
    content_type: str
    chunks: AsyncIterator[bytes]


class Gateway:
    def __init__(self, url: str | None, api_key: str | None = None, timeout: float = 60.0) -> None:
        self.url = url
        self._headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._timeout = timeout
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=128)) if url else None

    @property
    def configured(self) -> bool:
        return self._client is not None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def complete(self, body: dict[str, Any]) -> UpstreamReply:
        response = await self._send(body, stream=False)
        return UpstreamReply(response.status_code, response.headers.get("content-type", "application/json"),
                             response.content)

    async def stream(self, body: dict[str, Any]) -> UpstreamStream:
        response = await self._send(body, stream=True)
        return UpstreamStream(response.headers.get("content-type", "text/event-stream"), self._relay(response))

    async def _send(self, body: dict[str, Any], *, stream: bool) -> httpx.Response:
        if self._client is None:
            raise UpstreamNotConfigured("no upstream model server is configured: set BOTSETTINGS_UPSTREAM_URL "
                                        "(an OpenAI-compatible base URL such as http://127.0.0.1:11434/v1)")
        request = self._client.build_request("POST", f"{self.url}/chat/completions",
                                             content=msgspec.json.encode(body), headers=self._headers)
        try:
            response = await self._client.send(request, stream=stream)
        except httpx.TimeoutException:
            raise UpstreamTimeout(f"the upstream model server did not answer within {self._timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise UpstreamFailed(f"the upstream model server is unreachable: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            try:
                text = (await response.aread()).decode(errors="replace")
            except httpx.HTTPError:
                text = ""
            finally:
                await response.aclose()
            raise UpstreamFailed(f"the upstream model server answered {response.status_code}: "
                                 f"{text[:ERROR_SNIPPET]}", upstream_status=response.status_code)
        return response

    async def _relay(self, response: httpx.Response) -> AsyncIterator[bytes]:
        """The upstream's bytes as they come; a failure mid-stream (status already sent)
        ends it with an OpenAI-style error event, which clients raise as an error."""
        try:
            async for chunk in response.aiter_bytes():
                yield chunk
        except httpx.HTTPError as exc:
            kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "upstream_error"
            log.warning("gateway.stream_failed", error=type(exc).__name__)
            event = {"error": {"message": f"the upstream stream broke off: {type(exc).__name__}", "type": kind}}
            yield b"data: " + msgspec.json.encode(event) + b"\n\n"
        finally:
            await response.aclose()
