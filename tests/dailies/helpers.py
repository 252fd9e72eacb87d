"""Helpers of the dailies tests: the plugin table, the plugin's state, a controllable clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from plugins.dailies.state import DailiesState

OPERATOR: dict[str, Any] = {"allow_networks": ["127.0.0.1/32"], "min_interval": 60, "tick": 3600}


def dailies_plugin(**operator: Any) -> dict[str, Any]:
    """The ``[plugins.dailies]`` table of the tests (local feeds allowed, the poller driven by hand)."""
    return {"settings": {"operator": {**OPERATOR, **operator}}}


def state(runtime: Any) -> DailiesState:
    """The running dailies plugin's state."""
    loaded = runtime.host.loaded("dailies")
    assert loaded is not None, "dailies is not enabled"
    return loaded.context.state  # type: ignore[no-any-return]


@dataclass
class Clock:
    """A clock the tests move by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 12, 1, 8, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def use_clock(runtime: Any, clock: Clock) -> DailiesState:
    """Drive the plugin's service with ``clock``."""
    st = state(runtime)
    st.service.clock = clock
    return st
