"""The settings service: defaults, storage of overrides only, cache, validation, history, revert, import."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild
from core.testing.pytest_plugin import write_plugins_toml
from plugins.config.models import GuildSettings, SettingChange
from plugins.config.service import Actor, SettingsInvalid, UnknownPlugin
from tests.config.helpers import ECHO, TYPED, count_queries, service

ADA = Actor(1001, "ada")


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "echo": {**ECHO, "settings": {"repeat": 2}}, "typed": TYPED}


async def test_defaults_come_from_plugins_toml_then_the_model(runtime: Any, guild: Guild) -> None:
    settings = await runtime.settings.get(guild.id, "echo")

    assert settings.repeat == 2  # plugins.toml
    assert settings.prefix == ">"  # the model


async def test_only_overridden_keys_are_stored_so_default_changes_flow_through(runtime: Any, guild: Guild) -> None:
    svc = service(runtime)
    await svc.set_values(guild.id, "echo", {"prefix": "!"}, ADA)
    row = await GuildSettings.get(guild_id=guild.id, plugin="echo")
    assert row.values == {"prefix": "!"}

    write_plugins_toml(
        runtime.plugins_file_path, {"config": {}, "echo": {**ECHO, "settings": {"repeat": 4}}, "typed": TYPED}
    )
    assert await runtime.apply_plugins_file()
    settings = await runtime.settings.get(guild.id, "echo")

    assert (settings.prefix, settings.repeat) == ("!", 4)


async def test_cached_read_is_answered_without_a_database_round_trip(runtime: Any, guild: Guild) -> None:
    svc = service(runtime)
    await svc.set_values(guild.id, "echo", {"repeat": 3}, ADA)
    first = await runtime.settings.get(guild.id, "echo")  # miss: loads

    with count_queries() as queries:
        reads = [await runtime.settings.get(guild.id, "echo") for _ in range(200)]
        direct = runtime.host.pm.hook.omo_resolve_settings(
            guild_id=guild.id,
            plugin="echo",
            model=runtime.settings.model_of("echo"),
            defaults=runtime.host.defaults_of("echo"),
        )

    assert queries.statements == []
    assert all(r is first for r in reads) and first.repeat == 3
    assert direct is first  # the hook answers synchronously on a hit, not with an awaitable


async def test_a_miss_reads_the_database_once_and_then_hits(runtime: Any, guild: Guild) -> None:
    with count_queries() as queries:
        await runtime.settings.get(guild.id, "typed")
        after_first = len([q for q in queries.statements if "config_" in q])
        await runtime.settings.get(guild.id, "typed")

    assert after_first == 1
    assert len([q for q in queries.statements if "config_" in q]) == 1


async def test_a_change_is_read_back_at_once(runtime: Any, guild: Guild) -> None:
    svc = service(runtime)
    assert (await runtime.settings.get(guild.id, "echo")).repeat == 2

    await svc.set_values(guild.id, "echo", {"repeat": "5"}, ADA, text=True)

    assert (await runtime.settings.get(guild.id, "echo")).repeat == 5


async def test_an_invalid_value_is_refused_with_key_type_and_range_and_nothing_changes(
    runtime: Any, guild: Guild
) -> None:
    svc = service(runtime)
    await svc.set_values(guild.id, "echo", {"repeat": 3}, ADA)

    with pytest.raises(SettingsInvalid) as caught:
        await svc.set_values(guild.id, "echo", {"repeat": "9", "prefix": "??"}, ADA, text=True)

    assert [e.key for e in caught.value.errors] == ["repeat"]
    assert "expected a whole number from 1 to 5" in str(caught.value)
    assert (await runtime.settings.get(guild.id, "echo")).repeat == 3
    assert (await runtime.settings.get(guild.id, "echo")).prefix == ">"
    assert await SettingChange.filter(guild_id=guild.id).count() == 1


async def test_unknown_plugin_and_unknown_key_are_refused(runtime: Any, guild: Guild) -> None:
    svc = service(runtime)
    with pytest.raises(UnknownPlugin, match="echo, typed"):
        await svc.set_values(guild.id, "nope", {"a": 1}, ADA)
    with pytest.raises(SettingsInvalid, match="has no setting `colour`"):
        await svc.set_values(guild.id, "echo", {"colour": "red"}, ADA)


async def test_every_kind_of_field_is_set_from_text(runtime: Any, guild: Guild, emulator: Emulator) -> None:
    svc = service(runtime)
    general = emulator.general(guild)
    gold = emulator.create_role(guild, "Gold")
    from plugins.config.settings_types import Directory

    directory = Directory(channels=((general.id, "general"),), roles=((gold.id, "Gold"),), known=True)
    await svc.set_values(
        guild.id,
        "typed",
        {
            "limit": "42",
            "ratio": "0.25",
            "active": "off",
            "colour": "Blue",
            "mode": "loud",
            "post_at": "6:15",
            "every": "1h30m",
            "cooldown": "2m",
            "zone": "europe/paris",
            "digest_time": "21:00",
            "channel": "#general",
            "role": f"<@&{gold.id}>",
            "excluded": f"<#{general.id}>",
            "tags": "a, b",
        },
        ADA,
        text=True,
        directory=directory,
    )
    s = await runtime.settings.get(guild.id, "typed")

    assert (s.limit, s.ratio, s.active, s.colour, s.mode.value) == (42, 0.25, False, "blue", "loud")
    assert (str(s.post_at), s.every.total_seconds(), s.cooldown, str(s.zone)) == ("06:15:00", 5400, 120, "Europe/Paris")
    assert (s.digest_time, s.channel, s.role, s.excluded, s.tags) == (
        "21:00",
        general.id,
        gold.id,
        [general.id],
        ["a", "b"],
    )


async def test_history_records_who_when_old_and_new(runtime: Any, guild: Guild) -> None:
    svc = service(runtime)
    await svc.set_values(guild.id, "echo", {"repeat": 3}, ADA, source="command")
    await svc.set_values(guild.id, "echo", {"repeat": 4}, Actor(1002, "bob"), source="web")

    entries = await svc.history(guild.id, "echo")

    assert [(e.key, e.old_value, e.new_value, e.actor_id, e.actor_name, e.source) for e in entries] == [
        ("repeat", 3, 4, 1002, "bob", "web"),
        ("repeat", 2, 3, 1001, "ada", "command"),
    ]
    assert entries[1].old_overridden is False and entries[1].new_overridden is True
    assert entries[0].created_at >= entries[1].created_at and entries[0].created_at.tzinfo is not None


async def test_revert_restores_the_old_value_and_is_recorded(runtime: Any, guild: Guild) -> None:
    svc = service(runtime)
    [first] = await svc.set_values(guild.id, "echo", {"repeat": 3}, ADA)
    [second] = await svc.set_values(guild.id, "echo", {"repeat": 5}, ADA)

    await svc.revert(guild.id, second.entry_id or 0, Actor(1003, "cy"))
    assert (await runtime.settings.get(guild.id, "echo")).repeat == 3
    await svc.revert(guild.id, first.entry_id or 0, Actor(1003, "cy"))

    assert (await runtime.settings.get(guild.id, "echo")).repeat == 2  # back to the default
    assert "repeat" not in await svc.overrides(guild.id, "echo")
    entries = await svc.history(guild.id, "echo")
    assert entries[0].reverts_id == first.entry_id and entries[1].reverts_id == second.entry_id
    assert {e.id: e.reverted_by for e in entries}[first.entry_id or 0] == entries[0].id


async def test_reset_removes_overrides(runtime: Any, guild: Guild) -> None:
    svc = service(runtime)
    await svc.set_values(guild.id, "echo", {"repeat": 3, "prefix": "!"}, ADA)

    await svc.reset(guild.id, "echo", ["repeat"], ADA)
    assert await svc.overrides(guild.id, "echo") == {"prefix": "!"}
    await svc.reset(guild.id, "echo", None, ADA)

    assert await svc.overrides(guild.id, "echo") == {}
    assert (await runtime.settings.get(guild.id, "echo")).repeat == 2


async def test_import_with_one_bad_value_changes_nothing_and_reports_every_bad_value(
    runtime: Any, guild: Guild
) -> None:
    svc = service(runtime)
    await svc.set_values(guild.id, "echo", {"repeat": 3}, ADA)
    document = {
        "format": "omo-config",
        "version": 1,
        "plugins": {
            "echo": {"repeat": 4, "prefix": "much too long"},
            "typed": {"limit": 0, "zone": "Mars/Base"},
            "ghost": {"x": 1},
        },
    }

    with pytest.raises(SettingsInvalid) as caught:
        await svc.import_settings(guild.id, document, ADA)

    bad = {(e.plugin, e.key) for e in caught.value.errors}
    assert bad == {("echo", "prefix"), ("typed", "limit"), ("typed", "zone"), ("ghost", "")}
    assert await svc.overrides(guild.id, "echo") == {"repeat": 3}
    assert await svc.overrides(guild.id, "typed") == {}


async def test_export_then_import_restores_the_overrides(runtime: Any, guild: Guild) -> None:
    svc = service(runtime)
    await svc.set_values(guild.id, "echo", {"repeat": 3}, ADA)
    await svc.set_values(guild.id, "typed", {"every": "2h", "zone": "Asia/Tokyo"}, ADA, text=True)
    exported = await svc.export(guild.id)
    await svc.reset(guild.id, "echo", None, ADA)
    await svc.set_values(guild.id, "typed", {"limit": 7}, ADA)

    changes = await svc.import_settings(guild.id, exported, ADA)

    assert exported["plugins"] == {"echo": {"repeat": 3}, "typed": {"every": "PT2H", "zone": "Asia/Tokyo"}}
    assert await svc.overrides(guild.id, "typed") == {"every": "PT2H", "zone": "Asia/Tokyo"}
    assert (await runtime.settings.get(guild.id, "echo")).repeat == 3
    sources = {e.source for e in await svc.history(guild.id) if e.id in {c.entry_id for c in changes}}
    assert changes and sources == {"import"}


async def test_settings_stay_readable_for_a_plugin_disabled_in_the_guild(runtime: Any, guild: Guild) -> None:
    svc = service(runtime)
    await svc.set_values(guild.id, "echo", {"repeat": 4}, ADA)
    await runtime.gate.set_enabled(guild.id, "echo", False)

    view = await svc.view(guild.id, "echo")

    assert (await runtime.settings.get(guild.id, "echo")).repeat == 4
    assert view.values["repeat"] == 4 and view.overridden == {"repeat"}


async def test_a_stored_value_the_model_no_longer_accepts_falls_back_to_the_default(runtime: Any, guild: Guild) -> None:
    await GuildSettings.create(guild_id=guild.id, plugin="echo", values={"repeat": 50, "prefix": "!", "gone": 1})

    settings = await runtime.settings.get(guild.id, "echo")

    assert (settings.repeat, settings.prefix) == (2, "!")


async def test_concurrent_changes_are_all_recorded(runtime: Any, guild: Guild) -> None:
    svc = service(runtime)

    await asyncio.gather(*(svc.set_values(guild.id, "typed", {"limit": n}, ADA) for n in range(2, 12)))

    assert await SettingChange.filter(guild_id=guild.id, plugin="typed").count() == 10
    assert (await runtime.settings.get(guild.id, "typed")).limit in range(2, 12)


@pytest.fixture
def keep_config_modules() -> Iterator[None]:
    """A reload re-imports ``plugins.config``; put the modules this test session imported back afterwards."""
    saved = {k: v for k, v in sys.modules.items() if k == "plugins.config" or k.startswith("plugins.config.")}
    yield
    for key in [k for k in sys.modules if k == "plugins.config" or k.startswith("plugins.config.")]:
        del sys.modules[key]
    sys.modules.update(saved)


async def test_reloading_the_config_plugin_keeps_settings_and_one_resolver(
    keep_config_modules: None, runtime: Any, guild: Guild
) -> None:
    await service(runtime).set_values(guild.id, "echo", {"repeat": 4}, ADA)

    report = await runtime.host.reload("config")
    assert (await runtime.settings.get(guild.id, "echo")).repeat == 4
    await service(runtime).set_values(guild.id, "echo", {"prefix": "="}, ADA)
    settings = await runtime.settings.get(guild.id, "echo")

    impls = runtime.host.pm.hook.omo_resolve_settings.get_hookimpls()
    resolvers = [i.plugin for i in impls if i.plugin_name.startswith("config")]
    assert report.new_version == report.old_version
    assert (settings.repeat, settings.prefix) == (4, "=")
    assert len(resolvers) == 1 and resolvers[0].service is service(runtime)  # the new version's, only


async def test_the_overview_status_counts_changed_settings(runtime: Any, guild: Guild) -> None:
    from core.plugin_host import call_plugin_hook

    await service(runtime).set_values(guild.id, "echo", {"repeat": 4, "prefix": "!"}, ADA)
    loaded = runtime.host.loaded("config")

    status = await call_plugin_hook(loaded.module, "omo_guild_status", plugin=loaded.context, guild_id=guild.id)

    assert status == "2 settings changed in this server"


async def test_a_cached_entry_older_than_max_age_is_read_again(runtime: Any, guild: Guild) -> None:
    svc = service(runtime)
    await svc.set_values(guild.id, "echo", {"repeat": 3}, ADA)
    assert (await runtime.settings.get(guild.id, "echo")).repeat == 3
    # another process changed the row and its notice was lost (no invalidation reached this process)
    await GuildSettings.filter(guild_id=guild.id, plugin="echo").update(values={"repeat": 5})
    assert (await runtime.settings.get(guild.id, "echo")).repeat == 3

    svc.max_age = 0.0
    stale_entry_reloaded = (await runtime.settings.get(guild.id, "echo")).repeat

    assert stale_entry_reloaded == 5
