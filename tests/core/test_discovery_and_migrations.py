"""Discovery through the entry-point group, and migrations that work on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import aiohttp
from tortoise import connections

from core.migrator import make_migration, migration_files
from core.plugin_host import PluginState, discover
from tests.core.conftest import PluginWriter, section


def _install_dist(root: Path, dist: str, entry_name: str, module: str) -> None:
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[omo.plugins]\n{entry_name} = {module}\n")


async def test_third_party_plugin_found_through_entry_point(runtime_factory: Any, plugin_writer: PluginWriter) -> None:
    module = plugin_writer.write("thirdparty")
    _install_dist(plugin_writer.root, "omo-thirdparty", "thirdparty", module)
    importlib.invalidate_caches()

    found = discover()
    runtime = await runtime_factory({"thirdparty": {}}, connect=False)  # no module key: found by entry point

    assert found["thirdparty"] == (module, "entry point omo-thirdparty")
    assert runtime.host.records["thirdparty"].state == PluginState.ENABLED


async def test_model_change_migration_applies_on_this_database(
    runtime_factory: Any, plugin_writer: PluginWriter
) -> None:
    module = plugin_writer.write("modl", models_length=20)
    location = plugin_writer.root / module / "migrations"
    await make_migration("modl", f"{module}.models", location, "init")
    models = plugin_writer.root / module / "models.py"
    models.write_text(models.read_text().replace("label = ", "note = fields.TextField(null=True)\n    label = "))
    for key in [k for k in sys.modules if k.startswith(module)]:
        del sys.modules[key]
    second = await make_migration("modl", f"{module}.models", location, "add_note")

    runtime = await runtime_factory({"modl": section(module)}, connect=False)
    conn = connections.get("default")
    await conn.execute_query("INSERT INTO modl_thing (label, note) VALUES ('a', 'b')")
    _, rows = await conn.execute_query("SELECT label, note FROM modl_thing")

    assert second is not None and len(migration_files(location, "modl")) == 2
    assert "sqlite" in second.read_text() and "postgres" in second.read_text()
    assert [tuple(r.values()) if hasattr(r, "values") else tuple(r) for r in rows] == [("a", "b")]
    assert runtime.host.records["modl"].state == PluginState.ENABLED


async def test_health_endpoints(runtime: Any) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{runtime.web_url}/healthz") as health:
            assert health.status == 200 and (await health.json())["ok"] is True
        async with session.get(f"{runtime.web_url}/readyz") as ready:
            body = await ready.json()
            assert ready.status == 200 and body["database"]["ok"] and body["gateway"]["ok"]
        async with session.get(f"{runtime.web_url}/metrics") as metrics:
            text = await metrics.text()
            assert metrics.status == 200
            assert "# TYPE omo_plugins gauge" in text
            assert "omo_guilds 1.0" in text and "omo_http_requests_total" in text
