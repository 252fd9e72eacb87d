"""Fixtures for core tests: plugins written to disk per test, so reload can change their code."""

from __future__ import annotations

import secrets
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.core import probe

PLUGIN_TEMPLATE = """
from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from quart import Blueprint

from core.plugin import PluginContext, PluginInfo, hookimpl
from tests.core import probe

VERSION = {version!r}
{import_error}

class DynCog(commands.Cog, name={name!r}):
    def __init__(self, plugin: PluginContext) -> None:
        self.plugin = plugin

    @app_commands.command(name={command!r}, description="dynamic test command")
    async def cmd(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"{{self.plugin.name}} v{{VERSION}}")

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        probe.record("message", self.plugin.name, VERSION, message.content)
        if {listener_raises!r}:
            raise RuntimeError("listener exploded")
{extra_commands}

@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(
        version=VERSION, description="dynamic", requires={requires!r}, intents=("message_content",){models}
    )


@hookimpl
def omo_cogs(plugin: PluginContext) -> list[Any]:
    return [DynCog(plugin)]


@hookimpl
def omo_blueprint(plugin: PluginContext) -> Any:
    bp = Blueprint({name!r}, __name__)

    @bp.get("/")
    async def index(guild_id: int) -> str:
        return f"{{plugin.name}} page v{{VERSION}}"

    return bp


@hookimpl
async def omo_setup(plugin: PluginContext) -> None:
    probe.record("setup", plugin.name, VERSION)
    if {setup_raises!r}:
        raise RuntimeError("setup exploded")

    async def job() -> None:
        probe.record("job", plugin.name, VERSION)
        if {job_raises!r}:
            raise RuntimeError("job exploded")

    plugin.every(0.05, job, name="tick")


@hookimpl
def omo_teardown(plugin: PluginContext) -> None:
    probe.record("teardown", plugin.name, VERSION)
"""

MODELS_TEMPLATE = """
from tortoise import fields
from tortoise.models import Model


class Thing(Model):
    id = fields.IntField(primary_key=True)
    label = fields.CharField(max_length={length})

    class Meta:
        table = "{name}_thing"
"""


class PluginWriter:
    """Writes a plugin package under a temporary import root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(
        self,
        name: str,
        *,
        version: str = "1",
        requires: tuple[str, ...] = (),
        setup_raises: bool = False,
        job_raises: bool = False,
        listener_raises: bool = False,
        import_raises: bool = False,
        syntax_error: bool = False,
        commands: int = 1,
        models_length: int | None = None,
        module: str | None = None,
    ) -> str:
        """Write (or overwrite) plugin ``name``; return its module name."""
        module = module or f"dyn_{name}_{self.root.name}"
        pkg = self.root / module
        pkg.mkdir(exist_ok=True)
        extra = "".join(
            textwrap.indent(
                textwrap.dedent(f'''
                @app_commands.command(name="{name}x{i}", description="extra command {i}")
                async def extra{i}(self, interaction: discord.Interaction) -> None:
                    await interaction.response.send_message("extra {i} v" + VERSION)
            '''),
                "    ",
            )
            for i in range(1, commands)
        )
        models = ""
        if models_length is not None:
            (pkg / "models.py").write_text(MODELS_TEMPLATE.format(length=models_length, name=name))
            models = f", models={module + '.models'!r}"
        source = PLUGIN_TEMPLATE.format(
            version=version,
            requires=requires,
            setup_raises=setup_raises,
            job_raises=job_raises,
            listener_raises=listener_raises,
            command=name,
            name=name,
            extra_commands=extra,
            models=models,
            import_error="raise ImportError('broken on purpose')" if import_raises else "",
        )
        if syntax_error:
            source += "\ndef broken(:\n"
        (pkg / "__init__.py").write_text(source)
        return module


@pytest.fixture
def plugin_writer(tmp_path: Path) -> Iterator[PluginWriter]:
    root = tmp_path / f"plugroot{secrets.token_hex(3)}"
    root.mkdir()
    sys.path.insert(0, str(root))
    probe.EVENTS.clear()
    try:
        yield PluginWriter(root)
    finally:
        sys.path.remove(str(root))
        for key in [k for k in sys.modules if k.startswith("dyn_")]:
            del sys.modules[key]
        probe.EVENTS.clear()


def section(module: str, **extra: Any) -> dict[str, Any]:
    """A ``[plugins.NAME]`` table for ``module``."""
    return {"module": module, **extra}
