"""Forwarding a prepared request to the OpenAI-compatible upstream (the pipeline's only I/O).

One pooled HTTP client session per process (aiohttp: its client costs a quarter
of httpx's CPU per request, which is most of the gateway's own overhead). Answers
pass through unchanged (2xx status, body and content type; streams chunk by chunk).
Failures become UpstreamError: not configured (503), unreachable or an error status
(502), too slow (504).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import structlog
from yarl import URL

from app.pipeline.errors import UpstreamFailed, UpstreamNotConfigured, UpstreamTimeout

log = structlog.get_logger("botsettings.gateway")
CONNECT_TIMEOUT = 5.0
ERROR_SNIPPET = 500  # characters of an upstream error body quoted back
MAX_CONNECTIONS = 512


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
        self._endpoint = URL(f"{url}/chat/completions") if url is not None else None  # parsed once, not per request
        self._headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None  # made in the serving loop, on first use

    @property
    def configured(self) -> bool:
        return self.url is not None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def complete(self, body: dict[str, Any]) -> UpstreamReply:
        response = await self._send(body)
        try:
            content = await response.read()
        except TimeoutError:
            raise self._timed_out() from None
        except aiohttp.ClientError as exc:
            raise UpstreamFailed(f"the upstream model server broke off its answer: {type(exc).__name__}") from None
        finally:
            response.release()
        return UpstreamReply(response.status, response.headers.get("Content-Type", "application/json"), content)

    async def stream(self, body: dict[str, Any]) -> UpstreamStream:
        response = await self._send(body)
        return UpstreamStream(response.headers.get("Content-Type", "text/event-stream"), self._relay(response))

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, connect=min(CONNECT_TIMEOUT, self._timeout),
                                              sock_read=self._timeout),
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS), headers=self._headers)
        return self._session

    def _timed_out(self) -> UpstreamTimeout:
        return UpstreamTimeout(f"the upstream model server did not answer within {self._timeout:g} s")

    async def _send(self, body: dict[str, Any]) -> aiohttp.ClientResponse:
        if self._endpoint is None:
            raise UpstreamNotConfigured("no upstream model server is configured: set BOTSETTINGS_UPSTREAM_URL "
                                        "(an OpenAI-compatible base URL such as http://127.0.0.1:11434/v1)")
        try:
            response = await self._client().post(self._endpoint, data=msgspec.json.encode(body), allow_redirects=False)
        except TimeoutError:
            raise self._timed_out() from None
        except aiohttp.ClientError as exc:
            raise UpstreamFailed(f"the upstream model server is unreachable: {type(exc).__name__}: {exc}") from None
        if not 200 <= response.status < 300:  # redirects are not followed: an error here too
            try:
                text = (await response.read()).decode(errors="replace")
            except (TimeoutError, aiohttp.ClientError):
                text = ""
            finally:
                response.release()
            raise UpstreamFailed(f"the upstream model server answered {response.status}: {text[:ERROR_SNIPPET]}",
                                 upstream_status=response.status)
        return response

    async def _relay(self, response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        """The upstream's bytes as they come; a failure mid-stream (status already sent)
        ends it with an OpenAI-style error event, which clients raise as an error."""
        try:
            async for chunk in response.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            kind = "timeout" if isinstance(exc, TimeoutError) else "upstream_error"
            log.warning("gateway.stream_failed", error=type(exc).__name__)
            event = {"error": {"message": f"the upstream stream broke off: {type(exc).__name__}", "type": kind}}
            yield b"data: " + msgspec.json.encode(event) + b"\n\n"
        finally:
            response.release()
