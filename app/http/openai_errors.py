"""Errors in OpenAI's shape on the OpenAI-compatible routes.

An OpenAI client (the official SDKs, LangChain, editors' plugins) reads a failed
call's explanation from ``{"error": {"message", "type", "param", "code"}}`` and
nothing else: served as problem+json, its exception says only "Error code: 422".
So on /v1/chat/completions, /v1/models, /v1/models/{id} and /v1/bots/{slug}/prepare
the problem (app/http/problems.py) is re-shaped: its detail (with the field errors'
messages) becomes ``message``, the first field error names ``param`` and ``code``,
the status stays, and the problem's other members ride along inside ``error`` for
callers that want them. Every other route keeps problem+json.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

_TYPES = {401: "authentication_error", 403: "permission_error", 502: "upstream_error", 503: "service_unavailable",
          504: "timeout"}
_CODES = {401: "invalid_api_key", 403: "forbidden", 404: "model_not_found", 405: "method_not_allowed",
          413: "payload_too_large", 415: "unsupported_media_type", 421: "misdirected_request",
          502: "upstream_error", 503: "service_unavailable", 504: "upstream_timeout"}
_PROBLEM_ONLY = frozenset({"type", "detail"})  # replaced by OpenAI's type and message


def is_openai_route(path: str) -> bool:
    return (path == "/v1/chat/completions" or path == "/v1/models" or path.startswith("/v1/models/")
            or (path.startswith("/v1/bots/") and path.endswith("/prepare")))


def error_body(problem: dict[str, Any]) -> dict[str, Any]:
    """``{"error": {...}}`` for a problem+json body."""
    status = int(problem.get("status", 500))
    errors = problem.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    detail = str(problem.get("detail") or problem.get("title") or "error")
    # The detail may summarise ("2 settings are invalid"): the client shows only the
    # message, so each field error's own explanation is added unless already there.
    missing = [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")
               and str(e.get("message")) not in detail]
    message = f"{detail}: {'; '.join(missing)}" if missing else detail
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    error = {"message": message, "type": kind, "param": first.get("key") or ("model" if status == 404 else None),
             "code": first.get("code") or _CODES.get(status)}
    error.update({k: v for k, v in problem.items() if k not in _PROBLEM_ONLY})
    return {"error": error}


def in_openai_shape(request: Request[Any, Any, Any], response: Response[Any]) -> Response[Any]:
    """The problem response as is, or re-shaped when the route is an OpenAI-compatible one."""
    if not is_openai_route(request.scope["path"]) or not isinstance(response.content, dict):
        return response
    return Response(error_body(response.content), status_code=response.status_code,
                    media_type="application/json", headers=response.headers)
