"""``omo new-plugin``: a package that lints, has its migration, and whose own tests pass."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from core.scaffold import PluginNameError, import_path, scaffold_plugin
from tests.cli.conftest import REPO, Omo


async def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_new_plugin_creates_a_plugin_that_lints_and_passes_its_own_tests(omo: Omo, tmp_path: Path) -> None:
    target = tmp_path / "src"
    target.mkdir()

    result = await omo("new-plugin", "greeter", "--dir", str(target))

    assert result.code == 0, result.err
    package = target / "greeter"
    for name in (
        "__init__.py",
        "cog.py",
        "models.py",
        "service.py",
        "settings.py",
        "web.py",
        "templates/greeter/index.html",
        "tests/test_greeter.py",
    ):
        assert (package / name).is_file(), name
        assert f"created {package / name}" in result.out
    migrations = list((package / "migrations" / "greeter").glob("0_*_init.py"))
    assert len(migrations) == 1
    assert "greeter_greeting" in migrations[0].read_text()
    assert '{"greeter": {"module": "greeter"}}' in (package / "tests" / "test_greeter.py").read_text()
    plugin_code = "".join(p.read_text() for p in package.glob("*.py"))
    assert plugin_code.count("GreeterService()") == 1  # built once, by omo_state; cog and page use plugin.state

    sources = [str(p) for p in package.rglob("*.py") if "migrations" not in p.parts]
    lint_code, lint = await _run(
        sys.executable, "-m", "ruff", "check", "--config", str(REPO / "pyproject.toml"), *sources, cwd=REPO
    )
    assert lint_code == 0, lint

    env = {**omo.env, "PYTHONPATH": os.pathsep.join([str(target), str(REPO)])}
    test_code, report = await _run(
        sys.executable, "-m", "pytest", str(package / "tests"), "-q", "-p", "no:cacheprovider", cwd=REPO, env=env
    )
    assert test_code == 0, report
    assert "4 passed" in report


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Greeter", "lower-case identifier"),
        ("my-plugin", "lower-case identifier"),
        ("1st", "lower-case identifier"),
        ("x" * 33, "32 characters"),
        ("class", "Python keyword"),
        ("match", "Python keyword"),
        ("core", "reserved"),
        ("plugins", "reserved"),
        ("webadmin", "reserved"),
        ("tests", "reserved"),
        ("config", "already exists"),
        ("json", "shadow the installed module"),
    ],
)
def test_new_plugin_refuses_a_bad_name_and_writes_nothing(tmp_path: Path, name: str, reason: str) -> None:
    with pytest.raises(PluginNameError, match=reason):
        scaffold_plugin(name, tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_new_plugin_refuses_an_existing_folder_and_leaves_it_alone(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")

    with pytest.raises(PluginNameError, match="already exists"):
        scaffold_plugin("mine", tmp_path)

    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


async def test_new_plugin_cli_explains_a_bad_name_with_exit_2(omo: Omo, tmp_path: Path) -> None:
    result = await omo("new-plugin", "Bad-Name", "--dir", str(tmp_path))

    assert result.code == 2
    assert "omo: error: plugin name 'Bad-Name' must be a lower-case identifier" in result.err
    assert "Traceback" not in result.err


def test_import_path_follows_the_packages_around_the_target(tmp_path: Path) -> None:
    (tmp_path / "acme" / "bots").mkdir(parents=True)
    (tmp_path / "acme" / "__init__.py").write_text("")
    (tmp_path / "acme" / "bots" / "__init__.py").write_text("")

    assert import_path(REPO / "plugins", "greeter") == "plugins.greeter"
    assert import_path(tmp_path / "acme" / "bots", "greeter") == "acme.bots.greeter"
    assert import_path(tmp_path, "greeter") == "greeter"


async def test_new_plugin_works_without_asyncpg_and_prints_relative_paths(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "asyncpg"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ModuleNotFoundError("No module named \'asyncpg\'", name="asyncpg")\n')
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OMO_", "DISCORD_"))},
        "PYTHONPATH": os.pathsep.join([str(shadow.parent), str(REPO)]),
        "OMO_LOG_FORMAT": "json",
    }

    code, out = await _run(sys.executable, "-m", "core.cli", "new-plugin", "greeter", cwd=work, env=env)

    assert code == 0, out
    assert "Traceback" not in out
    created = [line.removeprefix("created ") for line in out.splitlines() if line.startswith("created ")]
    assert created and all(not Path(path).is_absolute() for path in created), created
    assert any("migrations/greeter/0_" in path for path in created)
    migration = next((work / "plugins" / "greeter" / "migrations" / "greeter").glob("0_*_init.py")).read_text()
    assert "BIGSERIAL" in migration and "AUTOINCREMENT" in migration  # PostgreSQL and SQLite SQL
