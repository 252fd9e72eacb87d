"""An exclusive job across real processes: ``omo run`` holds the lease, is killed (SIGKILL, no goodbye), and a
runtime in the test process takes the job over once the lease has run out."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
import structlog

from core.models import JobLease
from core.testing.emulator import Emulator
from core.testing.pytest_plugin import eventually
from tests.cli.conftest import Omo

pytestmark = pytest.mark.postgres  # leases are for processes sharing PostgreSQL

LEASE_SECONDS = 2.0
CLOCKWORK = {"clockwork": {"module": "tests.sample_plugins.clockwork"}}
CLOCKWORK_TOML = '[plugins.clockwork]\nenabled = true\nmodule = "tests.sample_plugins.clockwork"\n'
log = structlog.get_logger(__name__)


async def _lease_of(holder: str, after: datetime | None = None) -> tuple[str, datetime] | None:
    """The lease of the ``watch`` job when ``holder`` is part of its holder (and it expires after ``after``)."""
    row = await JobLease.get_or_none(name="clockwork:watch")
    if row is None or holder not in row.holder or (after is not None and row.expires_at <= after):
        return None
    return row.holder, row.expires_at


async def test_a_killed_holder_hands_its_exclusive_job_over_within_the_lease_time(
    omo: Omo, emulator: Emulator, runtime_factory: Any
) -> None:
    here = await runtime_factory(CLOCKWORK, connect=False)  # migrates the database; no jobs yet
    omo.write_plugins(CLOCKWORK_TOML)
    child = await omo.start(
        "run",
        "--discord-api",
        emulator.base_url,
        "--port",
        "0",
        DISCORD_TOKEN=emulator.bot_token,
        CLOCKWORK_JOBS="watch",
        OMO_JOB_LEASE_SECONDS=str(LEASE_SECONDS),
    )
    ran_here: list[datetime] = []

    async def watch() -> None:
        ran_here.append(here.scheduler.clock.now())
        await asyncio.Event().wait()

    try:
        first = await eventually(lambda: _lease_of(f":{child.pid}:"), timeout=30, what="the child's lease")
        here.scheduler.lease_seconds = LEASE_SECONDS
        here.host.loaded("clockwork").context.run_forever(watch, exclusive=True)  # the same job, here
        renewed = await eventually(lambda: _lease_of(f":{child.pid}:", after=first[1]), what="the child renewing it")
        ran_here_while_the_child_lived = list(ran_here)

        child.kill()
        await child.wait()
        killed_at = here.scheduler.clock.now()
        await eventually(lambda: ran_here, timeout=LEASE_SECONDS * 3 + 5, what="this process taking the job over")
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()

    log.info("takeover", seconds=(ran_here[0] - killed_at).total_seconds(), lease_seconds=LEASE_SECONDS)
    assert renewed[0] == first[0]
    assert ran_here_while_the_child_lived == []
    assert here.scheduler.holds_lease("clockwork", "watch")
    assert await _lease_of(here.scheduler.holder) is not None
