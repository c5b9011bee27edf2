"""Token counting: one pluggable counter for the whole pipeline.

The default needs no tokenizer download and gives the same answer everywhere:
about four bytes of UTF-8 per token (the usual rule of thumb for English with BPE
vocabularies), rounded up, plus a fixed per-message framing cost like OpenAI's
chat format. A deployment that needs exact counts implements ``TokenCounter``
(e.g. over tiktoken) and passes it to ``ChatService``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import msgspec

MESSAGE_OVERHEAD = 4  # role and separators, per message (OpenAI's chat framing)
PROMPT_OVERHEAD = 3  # the priming of the reply
IMAGE_TOKENS = 85  # a low-detail image part, as OpenAI bills it


class TokenCounter(Protocol):
    name: str

    def count_message(self, message: Mapping[str, Any]) -> int:
        """Tokens one message (as sent upstream) takes in the prompt."""
        ...

    def prompt_overhead(self) -> int:
        """Tokens the prompt costs beyond its messages."""
        ...


def _ceil_div(n: int, d: int) -> int:
    return -(-n // d)


class ApproxTokenCounter:
    name = "approx-bytes/4"

    def __init__(self, bytes_per_token: int = 4) -> None:
        self.bytes_per_token = bytes_per_token

    def text(self, text: str) -> int:
        size = len(text) if text.isascii() else len(text.encode())  # isascii: O(1), no copy
        return _ceil_div(size, self.bytes_per_token)

    def count_message(self, message: Mapping[str, Any]) -> int:
        tokens = MESSAGE_OVERHEAD
        content = message.get("content")
        if isinstance(content, str):
            tokens += self.text(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                    tokens += self.text(part["text"])
                elif isinstance(part, Mapping) and part.get("type") == "image_url":
                    tokens += IMAGE_TOKENS
                else:
                    tokens += self.text(msgspec.json.encode(part).decode())
        if len(message) == 2 and "content" in message and "role" in message:
            return tokens  # role and content only: nothing more to count
        for field in ("name", "tool_call_id", "refusal"):
            value = message.get(field)
            if isinstance(value, str):
                tokens += 1 + self.text(value)
        for field in ("tool_calls", "function_call"):
            if message.get(field):
                tokens += self.text(msgspec.json.encode(message[field]).decode())
        return tokens

    def prompt_overhead(self) -> int:
        return PROMPT_OVERHEAD


DEFAULT_COUNTER: TokenCounter = ApproxTokenCounter()
