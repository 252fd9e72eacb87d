"""Shared set-up of the mileage plugin's tests: config + mileage (short cooldown off by default), an admin and
members, and helpers to reach the plugin's live state."""

from __future__ import annotations

from typing import Any

import pytest

from tests.config.conftest import admin, member

__all__ = ["admin", "member"]  # the config tests' fixtures: a member with Manage Server, one without


def mileage_plugins(**settings: Any) -> dict[str, dict[str, Any]]:
    """plugins.toml tables: config and mileage with these default settings."""
    return {"config": {}, "mileage": {"settings": settings}}


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return mileage_plugins()


def state(runtime: Any) -> Any:
    """The live mileage state of ``runtime`` (from the live module: a reload replaces it)."""
    loaded = runtime.host.loaded("mileage")
    assert loaded is not None, "mileage is not running"
    return loaded.context.state


async def settled(runtime: Any) -> Any:
    """Flush the write buffer and let the reconcile finish; return the state."""
    st = state(runtime)
    await st.buffer.flush()
    await st.reconciler.wait_idle()
    return st
