"""Where dynamically written test plugins record what they did (survives their reloads)."""

from __future__ import annotations

from typing import Any

EVENTS: list[tuple[Any, ...]] = []


def record(*event: Any) -> None:
    EVENTS.append(event)


def of(kind: str) -> list[tuple[Any, ...]]:
    return [e for e in EVENTS if e[0] == kind]
