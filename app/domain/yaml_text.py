"""YAML written for people (exports, the bot editor) and read back with line numbers.

Multi-line strings (system prompts) are written as literal blocks so they read as
they are; everything else is plain YAML. What is written reads back to the same
values, which is what makes export → import and the editor round-trip exactly.
"""

from __future__ import annotations

from typing import Any

import yaml

from app.domain.bots_yaml import SAFE_LOADER, BotsYamlError


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no type hints
    pass


# Line breaks YAML folds or normalises in plain and block styles (a NEL read back as a
# space, CR as LF): a string holding one is written double-quoted, where each is escaped.
_FOLDED = frozenset("\r\x85\u2028\u2029")


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML falls back to a quoted style by itself when a literal block cannot hold
    # the string exactly (trailing spaces, some control characters), but not for these.
    if not _FOLDED.isdisjoint(value):
        style: str | None = '"'
    else:
        style = "|" if "\n" in value.rstrip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(value: Any) -> str:
    """A mapping as block YAML, keys in the given order, unicode kept as is."""
    text: str = yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000,
                          default_flow_style=False)
    return text


def load_with_lines(text: str, source: str) -> tuple[Any, dict[str, int]]:
    """The document, and the line (1-based) of each top-level key, for error messages."""
    try:
        node = yaml.compose(text, Loader=SAFE_LOADER)
        value = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise BotsYamlError(f"{source}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            lines[str(key_node.value)] = key_node.start_mark.line + 1
    return value, lines
