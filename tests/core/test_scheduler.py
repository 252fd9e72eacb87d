"""The scheduler through running runtimes: daily and cron jobs on each guild's clock, one catch-up after downtime,
bounded per-guild concurrency, run_now, errors, and exclusive jobs (a PostgreSQL lease) across two runtimes.

Time is the ``clock`` fixture's: tests move it instead of sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from core import job_store
from core.clock import ManualClock
from core.environment import Environment
from core.errors import ConfigError
from core.models import JobLease, JobRun
from core.plugin import PluginContext
from core.scheduler import fire_times
from core.testing.emulator import Emulator, Guild
from core.testing.pytest_plugin import eventually
from tests.sample_plugins import clockwork_state as state

CLOCKWORK = {"clockwork": {"module": "tests.sample_plugins.clockwork"}}


@pytest.fixture(autouse=True)
def fresh_clockwork() -> Iterator[None]:
    state.reset()
    yield
    state.reset()


def context(runtime: Any) -> PluginContext:
    loaded = runtime.host.loaded("clockwork")
    assert loaded is not None
    return loaded.context


async def asleep(clock: ManualClock, jobs: int) -> None:
    """Wait until ``jobs`` tasks wait on the clock: the jobs finished their pass and time can move on."""
    await eventually(lambda: clock.sleepers >= jobs, what=f"{jobs} jobs waiting on the clock")


async def at(clock: ManualClock, when: datetime, jobs: int) -> None:
    """Move the clock to ``when`` once ``jobs`` tasks wait on it, then wait until they wait again."""
    await asleep(clock, jobs)
    clock.set(when)
    await asleep(clock, jobs)


async def running(runtime_factory: Any, job: str) -> Any:
    """A runtime with clockwork's ``job``, once it has run."""
    state.JOBS.add(job)
    runtime = await runtime_factory(CLOCKWORK)
    await eventually(lambda: ran(job), what=f"the first run of {job}")
    return runtime


def ran(job: str) -> list[tuple[int | None, datetime]]:
    return [(guild, when) for _job, guild, when, _holder in state.runs(job)]


# -- daily and cron ------------------------------------------------------------------------------------


async def test_daily_job_runs_at_each_guilds_local_time(
    emulator: Emulator, clock: ManualClock, runtime_factory: Any
) -> None:
    tokyo, london = emulator.create_guild("Tokyo"), emulator.create_guild("London")
    state.JOBS.add("digest")
    state.ZONES[tokyo.id] = "Asia/Tokyo"  # London has no setting of its own: the default, UTC
    await runtime_factory(CLOCKWORK)  # the clock starts at 2026-01-05 12:00 UTC

    await at(clock, datetime(2026, 1, 5, 23, 59, tzinfo=UTC), 1)
    before_tokyo_nine = ran("digest")
    await at(clock, datetime(2026, 1, 6, 0, 0, tzinfo=UTC), 1)  # 09:00 in Tokyo
    tokyo_nine = ran("digest")
    await at(clock, datetime(2026, 1, 6, 9, 0, tzinfo=UTC), 1)  # 09:00 in London

    assert before_tokyo_nine == []
    assert tokyo_nine == [(tokyo.id, datetime(2026, 1, 6, 0, 0, tzinfo=UTC))]
    assert sorted(ran("digest"), key=lambda r: r[1]) == [
        (tokyo.id, datetime(2026, 1, 6, 0, 0, tzinfo=UTC)),
        (london.id, datetime(2026, 1, 6, 9, 0, tzinfo=UTC)),
    ]


async def test_downtime_over_several_days_gives_one_catch_up_run_per_guild(
    emulator: Emulator, guild: Guild, clock: ManualClock, runtime_factory: Any
) -> None:
    state.JOBS.add("digest")
    first = await runtime_factory(CLOCKWORK)
    await asleep(clock, 1)  # the schedule is recorded: from now on, 09:00 UTC every day
    await first.stop()

    clock.advance(timedelta(days=3))  # down over three 09:00s
    await runtime_factory(CLOCKWORK)
    await at(clock, clock.now() + timedelta(hours=1), 1)
    after_restart = ran("digest")
    await at(clock, datetime(2026, 1, 9, 9, 0, tzinfo=UTC), 1)  # and the next 09:00 runs as usual

    assert after_restart == [(guild.id, datetime(2026, 1, 8, 12, 0, tzinfo=UTC))]
    assert ran("digest")[1:] == [(guild.id, datetime(2026, 1, 9, 9, 0, tzinfo=UTC))]
    stored = await JobRun.get(plugin="clockwork", job="digest", guild_id=guild.id)
    assert stored.last_fire == datetime(2026, 1, 9, 9, 0, tzinfo=UTC)


async def test_cron_job_runs_at_each_fire_time(guild: Guild, clock: ManualClock, runtime_factory: Any) -> None:
    state.JOBS.add("sweep")  # "*/5 * * * *", not per guild
    await runtime_factory(CLOCKWORK)

    await at(clock, datetime(2026, 1, 5, 12, 4, 59, tzinfo=UTC), 1)
    await at(clock, datetime(2026, 1, 5, 12, 5, tzinfo=UTC), 1)
    await at(clock, datetime(2026, 1, 5, 12, 10, tzinfo=UTC), 1)

    assert ran("sweep") == [
        (None, datetime(2026, 1, 5, 12, 5, tzinfo=UTC)),
        (None, datetime(2026, 1, 5, 12, 10, tzinfo=UTC)),
    ]


async def test_a_failing_run_is_logged_and_the_next_fire_runs(
    emulator: Emulator, guild: Guild, clock: ManualClock, runtime_factory: Any
) -> None:
    other = emulator.create_guild("Other")
    state.JOBS.add("digest")
    state.FAILING.add(guild.id)
    runtime = await runtime_factory(CLOCKWORK)

    await at(clock, datetime(2026, 1, 6, 9, 0, tzinfo=UTC), 1)
    await at(clock, datetime(2026, 1, 7, 9, 0, tzinfo=UTC), 1)

    assert sorted(g for g, _ in ran("digest")) == sorted([guild.id, other.id] * 2)
    assert runtime.scheduler.failures[("clockwork", "digest")] == 2
    assert runtime.scheduler.runs[("clockwork", "digest")] == 2


async def test_unknown_time_zone_in_settings_falls_back_to_utc(
    guild: Guild, clock: ManualClock, runtime_factory: Any
) -> None:
    state.JOBS.add("digest")
    state.ZONES[guild.id] = "Mars/Olympus_Mons"
    await runtime_factory(CLOCKWORK)

    await at(clock, datetime(2026, 1, 6, 9, 0, tzinfo=UTC), 1)

    assert ran("digest") == [(guild.id, datetime(2026, 1, 6, 9, 0, tzinfo=UTC))]


async def test_a_changed_time_zone_starts_from_its_next_fire_instead_of_running_at_once(
    guild: Guild, clock: ManualClock, runtime_factory: Any
) -> None:
    state.JOBS.add("digest")
    await runtime_factory(CLOCKWORK)
    await at(clock, datetime(2026, 1, 5, 20, 0, tzinfo=UTC), 1)  # 09:00 UTC has passed: done for today

    state.ZONES[guild.id] = "America/New_York"  # where 09:00 (14:00 UTC) has passed too, but never ran
    await at(clock, datetime(2026, 1, 5, 20, 1, tzinfo=UTC), 1)
    await at(clock, datetime(2026, 1, 6, 13, 59, tzinfo=UTC), 1)
    before_nine_in_new_york = ran("digest")
    await at(clock, datetime(2026, 1, 6, 14, 0, tzinfo=UTC), 1)

    assert before_nine_in_new_york == []
    assert ran("digest") == [(guild.id, datetime(2026, 1, 6, 14, 0, tzinfo=UTC))]
    stored = await JobRun.get(plugin="clockwork", job="digest", guild_id=guild.id)
    assert stored.schedule == "0 9 * * *@America/New_York"


async def test_a_job_registered_again_with_another_schedule_waits_for_its_next_fire(
    guild: Guild, clock: ManualClock, runtime_factory: Any
) -> None:
    runtime = await runtime_factory(CLOCKWORK)
    plugin = context(runtime)
    posts: list[datetime] = []

    async def post() -> None:
        posts.append(clock.now())

    plugin.cron("0 12 * * *", post, name="post-1", tz="UTC")  # a scheduled post, at noon
    await at(clock, datetime(2026, 1, 5, 20, 0, tzinfo=UTC), 1)
    assert await plugin.cancel_job("post-1")
    assert not await plugin.cancel_job("post-1")
    plugin.cron("0 18 * * *", post, name="post-1", tz="UTC")  # moved to 18:00, which has passed today
    await at(clock, datetime(2026, 1, 6, 17, 59, tzinfo=UTC), 1)
    before_six = list(posts)
    await at(clock, datetime(2026, 1, 6, 18, 0, tzinfo=UTC), 1)

    assert before_six == []
    assert posts == [datetime(2026, 1, 6, 18, 0, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("kind", "args", "message"),
    [
        ("daily", {"at": "25:00"}, "HH:MM"),
        ("daily", {"at": "9:5"}, "HH:MM"),
        ("daily", {"at": "09:00\x00"}, "HH:MM"),
        ("daily", {"at": "09:00", "tz": "Mars/Olympus_Mons"}, "unknown time zone"),
        ("daily", {"at": "09:00", "tz": "../../etc/passwd"}, "unknown time zone"),
        ("cron", {"expression": "every day"}, "cron expression"),
        ("cron", {"expression": "61 * * * *"}, "cron expression"),
        ("cron", {"expression": "*/5 * * * *" + " " * 200}, "cron expression"),
        ("daily", {"at": "09:00", "tz": "Europe/" + "x" * 10_000}, "unknown time zone"),
        ("daily", {"at": "09:00", "tz": "UTC\x00"}, "unknown time zone"),
        ("daily", {"at": "09:00", "tz": ""}, "unknown time zone"),
        ("every", {"seconds": 0}, "interval must be positive"),
        ("every", {"seconds": 60, "per_guild": True, "concurrency": 0}, "concurrency must be at least 1"),
        ("every", {"seconds": 60, "name": "x" * 101}, "job name"),
        ("cron", {"expression": "* * * * *", "name": "post\n1"}, "job name"),
    ],
)
async def test_bad_schedules_are_refused_with_the_reason(
    runtime_factory: Any, kind: str, args: dict[str, Any], message: str
) -> None:
    runtime = await runtime_factory(CLOCKWORK, connect=False)

    async def job() -> None:
        raise AssertionError("never runs")

    with pytest.raises(ValueError, match=message):
        getattr(context(runtime), kind)(job=job, **args)
    assert runtime.scheduler.jobs("clockwork") == []


def test_fire_times_follow_daylight_saving_time() -> None:
    paris = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # the day clocks go forward in Europe
    previous, following = fire_times("0 9 * * *", paris, ZoneInfo("Europe/Paris"))

    assert previous == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert following == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


# -- per-guild concurrency and run_now -----------------------------------------------------------------


async def test_per_guild_runs_are_concurrent_up_to_the_bound(emulator: Emulator, runtime_factory: Any) -> None:
    guilds = [emulator.create_guild(f"G{i}") for i in range(5)]
    state.JOBS.add("slow")  # per guild, concurrency=2
    runtime = await runtime_factory(CLOCKWORK)
    plugin = context(runtime)

    everyone = asyncio.ensure_future(plugin.run_now("slow"))
    await eventually(lambda: state.ACTIVE["now"] == 2, what="two guilds running at once")
    state.RELEASE.set()
    await everyone

    assert state.ACTIVE["peak"] == 2
    assert sorted(g for g, _ in ran("slow")) == sorted(g.id for g in guilds)


async def test_run_now_runs_for_one_guild_or_all_and_raises_the_jobs_error(
    emulator: Emulator, guild: Guild, clock: ManualClock, runtime_factory: Any
) -> None:
    other = emulator.create_guild("Other")
    state.JOBS.update({"digest", "sweep"})
    runtime = await runtime_factory(CLOCKWORK)
    plugin = context(runtime)

    await plugin.run_now("digest", guild_id=other.id)
    one = ran("digest")
    await plugin.run_now("digest")
    await plugin.run_now("sweep")
    state.FAILING.add(guild.id)
    with pytest.raises(RuntimeError, match="failed in"):
        await plugin.run_now("digest", guild_id=guild.id)
    with pytest.raises(LookupError):
        await plugin.run_now("nosuchjob")
    with pytest.raises(ValueError, match="not per guild"):
        await plugin.run_now("sweep", guild_id=guild.id)

    assert one == [(other.id, clock.now())]
    assert sorted(g for g, _ in ran("digest")) == sorted([other.id, other.id, guild.id, guild.id])
    assert ran("sweep") == [(None, clock.now())]
    # run_now leaves the schedule alone: still the baseline recorded when the job started
    assert (await JobRun.get(job="sweep")).last_fire == datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


# -- exclusive jobs ------------------------------------------------------------------------------------


async def test_exclusive_job_is_a_plain_job_without_postgres(
    guild: Guild, clock: ManualClock, runtime_factory: Any
) -> None:
    if runtime_factory.database_url.startswith("postgres"):
        pytest.skip("SQLite only: on PostgreSQL exclusive jobs take a lease")
    runtime = await running(runtime_factory, "poll")  # every 60 s, exclusive

    await at(clock, clock.now() + timedelta(seconds=60), 1)

    assert len(ran("poll")) == 2
    assert not runtime.scheduler.holds_lease("clockwork", "poll")


async def _metrics(runtime: Any) -> str:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        return (await http.get("/metrics")).text


def holders(job: str) -> set[str]:
    return {holder for _job, _guild, _when, holder in state.runs(job)}


@pytest.mark.postgres
async def test_exclusive_job_runs_in_one_process_and_another_takes_over_when_the_holder_dies(
    guild: Guild, clock: ManualClock, runtime_factory: Any
) -> None:
    state.JOBS.update({"poll", "watch"})
    first = await runtime_factory(CLOCKWORK)
    await eventually(lambda: len(ran("poll")) == 1 and len(ran("watch")) == 1, what="the holder running its jobs")
    second = await runtime_factory(CLOCKWORK)
    # first: lease keepers of poll and watch + poll's loop (watch waits on an event); second: two lease waiters
    await asleep(clock, 5)
    for _ in range(16):  # two minutes in lease quarters: the holder renews, the other keeps waiting
        clock.advance(first.scheduler.lease_seconds / 4)
        await asleep(clock, 5)
    while_first_lives = holders("poll") | holders("watch")
    polls_while_first_lives = len(ran("poll"))
    metrics = [await _metrics(runtime) for runtime in (first, second)]
    lease = await JobLease.get(name="clockwork:poll")

    # the holder dies: its tasks stop without giving the leases up (what a killed process leaves behind)
    for task in first.scheduler.detach("clockwork").values():
        task.cancel()
    await eventually(lambda: clock.sleepers == 2, what="only the waiters left")
    clock.advance(first.scheduler.lease_seconds)
    await eventually(
        lambda: (
            second.scheduler.holds_lease("clockwork", "poll") and second.scheduler.holds_lease("clockwork", "watch")
        ),
        what="the other process taking the leases over",
    )
    await eventually(lambda: second.scheduler.holder in holders("poll") | holders("watch"), what="its runs")

    assert while_first_lives == {first.scheduler.holder}
    assert 'omo_job_lease_held{job="poll",plugin="clockwork"} 1.0' in metrics[0]
    assert "omo_job_lease_held{" not in metrics[1]
    assert lease.holder == first.scheduler.holder
    assert polls_while_first_lives == 3  # at 0, 60 and 120 s, all by the holder: the other never ran it
    assert holders("watch") == {first.scheduler.holder, second.scheduler.holder}
    assert (await JobLease.get(name="clockwork:poll")).holder == second.scheduler.holder


@pytest.mark.postgres
async def test_a_stopping_holder_gives_its_lease_up_and_the_other_takes_over_without_waiting_for_expiry(
    guild: Guild, clock: ManualClock, runtime_factory: Any
) -> None:
    first = await running(runtime_factory, "poll")
    second = await runtime_factory(CLOCKWORK)
    await asleep(clock, 3)

    await first.stop()
    assert not await JobLease.exists(name="clockwork:poll")
    clock.advance(second.scheduler.lease_seconds / 4)  # the waiter's next look, well before the old expiry

    await eventually(lambda: second.scheduler.holds_lease("clockwork", "poll"), what="the other taking the lease")
    await eventually(lambda: len(ran("poll")) == 2, what="its first poll")
    assert holders("poll") == {first.scheduler.holder, second.scheduler.holder}


@pytest.mark.postgres
async def test_lease_is_taken_by_exactly_one_of_many_contenders(runtime_factory: Any) -> None:
    await runtime_factory({}, connect=False)  # connects the database and migrates
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    later = now + timedelta(seconds=30)
    won = await asyncio.gather(*(job_store.acquire_lease("race:job", f"h{i}", now, later) for i in range(12)))
    renewed = await job_store.acquire_lease("race:job", f"h{won.index(True)}", now, later)
    refused = await job_store.acquire_lease("race:job", "late", now + timedelta(seconds=29), later)
    taken_over = await job_store.acquire_lease("race:job", "late", later, later + timedelta(seconds=30))

    assert won.count(True) == 1
    assert renewed and not refused and taken_over


@pytest.mark.postgres
async def test_a_holder_that_finds_its_lease_taken_stops_the_job_at_its_next_renewal(
    guild: Guild, clock: ManualClock, runtime_factory: Any
) -> None:
    runtime = await running(runtime_factory, "watch")  # run_forever, exclusive
    await asleep(clock, 1)

    # another process took the lease (say an operator deleted the row and a standby grabbed it)
    await JobLease.filter(name="clockwork:watch").delete()
    later = clock.now() + timedelta(seconds=runtime.scheduler.lease_seconds)
    assert await job_store.acquire_lease("clockwork:watch", "intruder", clock.now(), later)
    clock.advance(runtime.scheduler.lease_seconds / 4)

    await eventually(lambda: not runtime.scheduler.holds_lease("clockwork", "watch"), what="the holder stepping back")
    await eventually(lambda: clock.sleepers == 1, what="the job waiting for the lease again")
    assert len(ran("watch")) == 1
    assert (await JobLease.get(name="clockwork:watch")).holder == "intruder"


@pytest.mark.parametrize("raw", ["0", "1.5", "3601", "nan", "soon", "1e9"])
def test_lease_seconds_out_of_range_are_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="OMO_JOB_LEASE_SECONDS"):
        Environment.from_environ({"OMO_JOB_LEASE_SECONDS": raw})


def test_lease_seconds_come_from_the_environment() -> None:
    assert Environment.from_environ({"OMO_JOB_LEASE_SECONDS": "12.5"}).job_lease_seconds == 12.5
    assert Environment.from_environ({}).job_lease_seconds == 30.0


@pytest.mark.postgres
async def test_reload_keeps_the_lease_in_this_process_and_disable_gives_it_up(
    guild: Guild, clock: ManualClock, runtime_factory: Any
) -> None:
    runtime = await running(runtime_factory, "watch")

    await runtime.host.reload("clockwork")
    await eventually(lambda: len(ran("watch")) == 2, what="the new version's job running")
    kept = await JobLease.get(name="clockwork:watch")
    await runtime.host.disable("clockwork")

    assert kept.holder == runtime.scheduler.holder
    assert not runtime.scheduler.holds_lease("clockwork", "watch")
    assert not await JobLease.exists(name="clockwork:watch")
