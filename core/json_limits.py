"""JSON text from outside (request bodies, uploaded files), read with a nesting limit.

Python's decoder recurses once per level: a body nested thousands deep raises ``RecursionError``, which
no caller expects. :func:`loads_bounded` turns that, and any nesting deeper than :data:`MAX_DEPTH`, into
:class:`JSONTooDeep`, a ``ValueError`` like every other malformed JSON.
"""

from __future__ import annotations

import json
from typing import Any

#: The deepest nesting accepted (objects and arrays); no settings value or API body comes near it.
MAX_DEPTH = 32


class JSONTooDeep(ValueError):
    """The JSON nests objects or arrays deeper than allowed."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        super().__init__(f"the JSON is nested more than {max_depth} levels deep")


def depth_exceeds(value: Any, max_depth: int = MAX_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON) nests lists and dicts deeper than ``max_depth`` (no recursion)."""
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > max_depth:
            return True
        todo.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads_bounded(text: str | bytes, *, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """``json.loads``, raising :class:`JSONTooDeep` when the value nests deeper than ``max_depth``."""
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise JSONTooDeep(max_depth) from None
    if depth_exceeds(value, max_depth):
        raise JSONTooDeep(max_depth)
    return value
