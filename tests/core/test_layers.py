"""Core does not import its UI: only the composition point knows webadmin, and the runtime knows no test code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from core.environment import Environment
from core.runtime import RunOptions, Runtime
from core.testing.pytest_plugin import write_plugins_toml
from tests.core.conftest import PluginWriter, section

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"
#: The modules of core that may import webadmin: the CLI and the composition point.
MAY_IMPORT_WEBADMIN = {"core/cli.py", "core/compose.py"}
#: The modules of core that may import core.testing (besides core/testing itself): the CLI (``omo emulator``)
#: and the demo, which runs the emulator.
MAY_IMPORT_TESTING = {"core/cli.py", "core/demo.py"}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def core_files() -> list[tuple[str, set[str]]]:
    files = [p for p in CORE.rglob("*.py") if "testing" not in p.relative_to(CORE).parts]
    return [(p.relative_to(ROOT).as_posix(), imported_modules(p)) for p in sorted(files)]


def importers_of(prefix: str) -> dict[str, list[str]]:
    return {
        name: sorted(m for m in modules if m == prefix or m.startswith(prefix + "."))
        for name, modules in core_files()
        if any(m == prefix or m.startswith(prefix + ".") for m in modules)
    }


def test_the_import_scan_sees_imports_inside_functions() -> None:
    scanned = dict(core_files())

    assert "webadmin.app.create_app" in scanned["core/compose.py"]  # imported inside the function
    assert "core.runtime.Runtime" in scanned["core/compose.py"]


def test_core_imports_webadmin_only_at_the_composition_point() -> None:
    offenders = {name: mods for name, mods in importers_of("webadmin").items() if name not in MAY_IMPORT_WEBADMIN}

    assert offenders == {}


def test_runtime_and_the_rest_of_core_import_no_test_code() -> None:
    importers = importers_of("core.testing")

    assert "core/runtime.py" not in importers
    assert set(importers) <= MAY_IMPORT_TESTING


def test_importing_the_runtime_loads_neither_webadmin_nor_test_code() -> None:
    code = (
        "import sys, core.runtime\n"
        "print(sorted(m for m in sys.modules if m.startswith(('webadmin', 'core.testing', 'core.compose'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)

    assert loaded.stdout.strip() == "[]"


async def test_a_runtime_without_a_web_app_serves_no_web_and_still_runs_plugins(
    tmp_path: Path, database_url: str, plugin_writer: PluginWriter
) -> None:
    module = plugin_writer.write("dyn")  # a plugin with a blueprint
    write_plugins_toml(tmp_path / "plugins.toml", {"dyn": section(module)}, ())
    env = Environment.from_environ(
        {
            "OMO_DATA_DIR": str(tmp_path / "data"),
            "OMO_PLUGINS_FILE": str(tmp_path / "plugins.toml"),
            "DATABASE_URL": database_url,
        }
    )
    runtime = Runtime(env, RunOptions(connect_gateway=False, web_port=0, auto_migrate=True, control_socket=False))
    try:
        await runtime.start()
        enabled = runtime.host.enabled_names()
    finally:
        await runtime.stop()

    assert enabled == ["dyn"]
    assert runtime.app is None and runtime.web_url is None and runtime.web_mount is None


async def test_the_composed_runtime_serves_the_web_admin(runtime_factory: Any) -> None:
    runtime = await runtime_factory({}, connect=False)

    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        health = await http.get("/healthz")

    assert runtime.web_factory is not None and runtime.web_mount is not None
    assert health.status_code == 200
