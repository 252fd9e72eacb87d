"""What the scheduler keeps in the database: leases of exclusive jobs and the last fire of daily and cron jobs.

Both are safe across processes sharing one database. A lease is taken or renewed by one atomic conditional
upsert (only when it is free, expired, or already ours); a fire time is claimed by one conditional UPDATE
(only when it is later than the stored one), so each fire runs in exactly one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise import connections
from tortoise.exceptions import IntegrityError

from core.db import retrying
from core.models import JobRun

_ACQUIRE = """
INSERT INTO omo_job_lease (name, holder, expires_at, acquired_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO UPDATE SET
    holder = EXCLUDED.holder,
    expires_at = EXCLUDED.expires_at,
    acquired_at = CASE WHEN omo_job_lease.holder = EXCLUDED.holder
                       THEN omo_job_lease.acquired_at ELSE EXCLUDED.acquired_at END
WHERE omo_job_lease.holder = EXCLUDED.holder OR omo_job_lease.expires_at <= EXCLUDED.acquired_at
RETURNING holder
"""

_EXPIRY = "SELECT expires_at FROM omo_job_lease WHERE name = $1"

_RELEASE = "DELETE FROM omo_job_lease WHERE name = $1 AND holder = $2"


async def acquire_lease(name: str, holder: str, now: datetime, expires_at: datetime) -> bool:
    """Take or renew lease ``name`` for ``holder`` until ``expires_at``; False if another holder's lease is
    still valid at ``now``."""
    # execute_query_dict: Tortoise's execute_query returns no rows for an INSERT, RETURNING or not
    rows = await retrying(
        lambda: connections.get("default").execute_query_dict(_ACQUIRE, [name, holder, expires_at, now]),
        what="taking a job lease",
        attempts=2,
    )
    return bool(rows)


async def lease_expiry(name: str) -> datetime | None:
    """When lease ``name`` runs out (None: nobody holds it)."""
    rows = await connections.get("default").execute_query_dict(_EXPIRY, [name])
    expiry: datetime | None = rows[0]["expires_at"] if rows else None
    return expiry


async def release_lease(name: str, holder: str) -> None:
    """Give lease ``name`` up if ``holder`` has it, so another process can take it over at once."""
    await connections.get("default").execute_query(_RELEASE, [name, holder])


@dataclass(frozen=True)
class Mark:
    """What is stored of a calendar job in one guild: the schedule it follows and the fire last claimed."""

    schedule: str
    last_fire: datetime


async def last_mark(plugin: str, job: str, guild_id: int) -> Mark | None:
    """The stored mark of ``job`` in ``guild_id`` (None: never seen)."""
    row = await retrying(
        lambda: JobRun.get_or_none(plugin=plugin, job=job, guild_id=guild_id), what="reading a job's last run"
    )
    return Mark(row.schedule, row.last_fire) if row is not None else None


async def marks_of(plugin: str, job: str) -> dict[int, Mark]:
    """Every stored mark of ``job``, by guild (one query, for a job starting up)."""
    rows = await retrying(
        lambda: JobRun.filter(plugin=plugin, job=job).values_list("guild_id", "schedule", "last_fire"),
        what="reading a job's last runs",
    )
    return {int(guild_id): Mark(str(schedule), last_fire) for guild_id, schedule, last_fire in rows}


async def start_schedule(plugin: str, job: str, guild_id: int, mark: Mark, now: datetime) -> Mark:
    """Record ``mark`` as the baseline of a schedule seen for the first time (nothing runs for its fire); the
    stored mark (another process may have recorded one first)."""
    try:
        await JobRun.create(
            plugin=plugin, job=job, guild_id=guild_id, schedule=mark.schedule, last_fire=mark.last_fire, ran_at=now
        )
    except IntegrityError:
        return await last_mark(plugin, job, guild_id) or mark
    return mark


async def restart_schedule(plugin: str, job: str, guild_id: int, mark: Mark) -> None:
    """Make ``mark`` the baseline of a job whose schedule (expression or time zone) changed: the new schedule
    runs from its next fire on, not at once for a fire it has "missed"."""
    await retrying(
        lambda: JobRun.filter(plugin=plugin, job=job, guild_id=guild_id).update(
            schedule=mark.schedule, last_fire=mark.last_fire
        ),
        what="restarting a schedule",
    )


async def claim_fire(plugin: str, job: str, guild_id: int, mark: Mark, now: datetime) -> bool:
    """Claim the run of ``job`` for ``mark.last_fire`` in ``guild_id``: True for exactly one caller, when that fire
    is later than the last claimed fire of the same schedule."""
    updated = await retrying(
        lambda: JobRun.filter(
            plugin=plugin, job=job, guild_id=guild_id, schedule=mark.schedule, last_fire__lt=mark.last_fire
        ).update(last_fire=mark.last_fire, ran_at=now),
        what="claiming a scheduled run",
    )
    return updated == 1
