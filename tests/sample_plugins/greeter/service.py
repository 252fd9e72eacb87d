"""Counting greetings: no Discord and no HTTP types here."""

from __future__ import annotations

from collections import Counter

from core.plugin import PluginContext

from .settings import GreeterSettings


def greeting_text(settings: GreeterSettings, name: str, count: int) -> str:
    text = f"{settings.greeting}, {name}! (greeting #{count})"
    return text.upper() if settings.shout else text


class GreeterService:
    def __init__(self) -> None:
        self._counts: Counter[tuple[int, int]] = Counter()

    def greet(self, guild_id: int, user_id: int) -> int:
        self._counts[guild_id, user_id] += 1
        return self._counts[guild_id, user_id]

    def total(self, guild_id: int) -> int:
        return sum(n for (guild, _), n in self._counts.items() if guild == guild_id)

    def reset(self, guild_id: int) -> None:
        for key in [k for k in self._counts if k[0] == guild_id]:
            del self._counts[key]


GreeterContext = PluginContext[GreeterSettings, GreeterService]
