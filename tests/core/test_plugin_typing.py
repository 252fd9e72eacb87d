"""``PluginContext`` is generic over the plugin's settings model and state: mypy checks a plugin's use of them."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = """
from pydantic import BaseModel

from core.plugin import PluginContext


class GreeterSettings(BaseModel):
    greeting: str = "Hello"


class GreeterService:
    def count(self) -> int:
        return 1


GreeterContext = PluginContext[GreeterSettings, GreeterService]


async def command(plugin: GreeterContext) -> str:
    settings = await plugin.settings(1)
    total: int = plugin.state.count()
    return f"{settings.greeting} {total} {settings.greting} {plugin.state.cuont()}"
"""


def test_mypy_checks_the_fields_of_settings_and_state(tmp_path: Path) -> None:
    source = tmp_path / "greeter_plugin.py"
    source.write_text(PLUGIN)

    options = ["--config-file", "", "--python-version", "3.11", "--ignore-missing-imports", "--no-error-summary"]
    out, err, _ = api.run([*options, "--cache-dir", str(ROOT / ".mypy_cache"), str(source)])

    errors = [line.split(": error: ", 1)[1] for line in out.splitlines() if ": error: " in line]
    assert err == ""
    assert errors == [
        '"GreeterSettings" has no attribute "greting"; maybe "greeting"?  [attr-defined]',
        '"GreeterService" has no attribute "cuont"; maybe "count"?  [attr-defined]',
    ]
