"""The OpenAPI document says what errors look like: problem+json everywhere, except
on the OpenAI-compatible routes, whose errors come in OpenAI's own shape
(app/http/openai_errors.py).

Litestar documents a handler's success response from its types, and a generic
400 as application/json; ours are RFC 9457 problems (app/api/errors.py). Rather
than repeat that on every handler, the built document is completed once here, so
no route can be left undocumented.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Schema

from app.http.openai_errors import is_openai_route

PROBLEM_MEDIA_TYPE = "application/problem+json"

PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status", "detail"],
    description="An RFC 9457 problem; `errors` names each offending key when there are several.",
    properties={
        "type": Schema(type=OpenAPIType.STRING),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "errors": Schema(type=OpenAPIType.ARRAY, items=Schema(
            type=OpenAPIType.OBJECT, required=["key", "message"],
            properties={"key": Schema(type=OpenAPIType.STRING), "message": Schema(type=OpenAPIType.STRING),
                        "code": Schema(type=OpenAPIType.STRING), "scope": Schema(type=OpenAPIType.STRING)})),
    },
)
OPENAI_ERROR = Schema(
    type=OpenAPIType.OBJECT,
    required=["error"],
    description="OpenAI's error shape: the problem's detail is `message`; its other members ride along.",
    properties={"error": Schema(type=OpenAPIType.OBJECT, required=["message", "type"], properties={
        "message": Schema(type=OpenAPIType.STRING), "type": Schema(type=OpenAPIType.STRING),
        "param": Schema(one_of=[Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.NULL)]),
        "code": Schema(one_of=[Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.NULL)]),
    })},
)
_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def _problem_response(description: str, openai: bool = False) -> OpenAPIResponse:
    if openai:
        return OpenAPIResponse(description=description,
                               content={"application/json": OpenAPIMediaType(schema=OPENAI_ERROR)})
    return OpenAPIResponse(description=description, content={PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=PROBLEM)})


def document_problems(app: Litestar) -> None:
    """Give every operation a ``default`` problem response; re-type generated error responses."""
    for path, path_item in (app.openapi_schema.paths or {}).items():
        openai = is_openai_route(path)
        for method in _METHODS:
            operation = getattr(path_item, method, None)
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            for status, response in list(responses.items()):
                if status[:1] in ("4", "5") and isinstance(response, OpenAPIResponse):
                    responses[status] = _problem_response(response.description, openai)
            responses.setdefault("default", _problem_response(
                "An error, as an RFC 9457 problem (on the OpenAI-compatible routes in OpenAI's error shape): "
                "400 malformed, 401/403 access, 404 unknown, 409 conflict, 410 a conversation pin too old, "
                "413 too large, 422 invalid keys or values, 503 database unavailable", openai))
            operation.responses = responses
