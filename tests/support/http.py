"""Request helpers for the tests that talk HTTP to the app."""

from __future__ import annotations

from httpx import AsyncClient


def same_origin(client: AsyncClient) -> dict[str, str]:
    """The Origin header of the page's own site: what a form post from the page carries."""
    return {"Origin": str(client.base_url).rstrip("/")}
