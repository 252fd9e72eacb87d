"""The rate limiter's memory store forgets keys whose allowance is full again, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from webadmin.security import ExpiringMemoryStore


async def test_expired_keys_are_swept_once_the_store_has_grown_and_answers_do_not_change() -> None:
    store = ExpiringMemoryStore(first_sweep_at=8)
    now = datetime.now(UTC)
    past, future = now - timedelta(seconds=5), now + timedelta(seconds=60)
    for i in range(6):
        await store.set(f"a:gone-{i}", past)
    await store.set("s:busy", future)
    before_sweep = len(store)

    await store.set("a:gone-6", past)  # the 8th key: sweep

    assert before_sweep == 7 and len(store) == 1
    assert await store.get("s:busy", now) == future
    assert await store.get("a:gone-0", now) == now  # as if never seen: a full allowance, as before


async def test_the_next_sweep_waits_until_the_store_has_doubled() -> None:
    store = ExpiringMemoryStore(first_sweep_at=4)
    future = datetime.now(UTC) + timedelta(seconds=60)
    for i in range(4):
        await store.set(f"s:{i}", future)  # all live: the sweep at 4 keeps them
    for i in range(4, 7):
        await store.set(f"s:{i}", future)

    assert len(store) == 7  # nothing expired, nothing lost
