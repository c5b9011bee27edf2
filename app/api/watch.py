"""/v1/watch: server-sent events, one per applied change, for processes that do not
talk to PostgreSQL. Resume with `?since=REV` (or the Last-Event-ID header).

Many followers watch one process (every platform process runs a client), so a change
is fanned out once (app/api/watch_fanout.py): encoded once per audience (every bot,
or the bots one token is limited to) and written as the same bytes to every watcher.
The response is Litestar's streaming response with its body replaced by that
fan-out: the headers go out as for any response (middleware sees them), the body is
written by the fan-out rather than pulled from an iterator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Request, get
from litestar.exceptions import HTTPException
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import Receive, Send

from app.api.watch_fanout import Audience, follow
from app.domain.input_checks import MAX_INT
from app.http.auth import principal_of
from app.http.deps import Service
from app.http.request import last_event_id, query_int
from app.services.settings import SettingsService


class _Follow:
    """What the watch streams: an async iterable in name only (Litestar's streaming
    response wants one); :class:`_WatchBody` runs :func:`follow` instead."""

    def __init__(self, service: SettingsService, since: int, audience: Audience) -> None:
        self.service, self.since, self.audience = service, since, audience

    def __aiter__(self) -> AsyncIterator[bytes]:
        raise TypeError("the watch body is written by the fan-out, not iterated")


class _WatchBody(ASGIStreamingResponse):
    __slots__ = ()

    async def send_body(self, send: Send, receive: Receive) -> None:
        source = self.iterator
        assert isinstance(source, _Follow)
        await follow(source.service, source.since, source.audience, send, receive)


class WatchStream(Stream):
    """A streaming response (headers, OpenAPI) whose body is the fan-out's."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        response = super().to_asgi_response(*args, **kwargs)
        response.__class__ = _WatchBody  # same layout (no slots of its own): only send_body differs
        return response


@get("/v1/watch", summary="Server-sent events: one per applied change after `since`", tags=["watch"])
async def watch(request: Request[Any, Any, Any], service: Service,
                since_: Annotated[str | None, QueryParameter(name="since")] = None,
                every_revision: FromQuery[bool] = False) -> WatchStream:
    since = query_int(since_, "since", -1, 0, MAX_INT) if since_ else None
    if since is None:
        last = last_event_id(request)
        since = last if last is not None else service.revision
    if since < 0 or since > service.revision:
        raise HTTPException(status_code=400,
                            detail=f"since must be between 0 and the head revision {service.revision}")
    audience = (principal_of(request).bots, every_revision)
    return WatchStream(_Follow(service, since, audience), media_type="text/event-stream",
                  headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no",
                           # a follower is current once it has applied this revision
                           "X-Settings-Revision": str(service.revision)})


HANDLERS = [watch]
