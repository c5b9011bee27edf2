"""Security headers on every response of the API and the page."""

from __future__ import annotations

from litestar import Response

# HTML pages (the OpenAPI UI, the operators' page) must not be framed or sniffed. The
# operators' page sets a stricter policy of its own (app/web/render.py), kept here.
_HTML_HEADERS = {"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
                 "Content-Security-Policy": "frame-ancestors 'none'"}


async def security_headers(response: Response[object]) -> Response[object]:
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Static files (the page's CSS and JS) come as ASGI file responses, without media_type.
    if (getattr(response, "media_type", None) or "").startswith("text/html"):
        for name, value in _HTML_HEADERS.items():
            response.headers.setdefault(name, value)
    return response
