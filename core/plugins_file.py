"""plugins.toml: the operator's file — which plugins load, and global defaults.

:func:`load_plugins_file` validates the whole file and raises :class:`ConfigError`
naming the file, the line and the reason. :func:`set_plugin_enabled` edits the
file in place with tomlkit so the operator's comments survive.
:class:`PluginsFileWatcher` applies each change of the file while the bot runs.
"""

from __future__ import annotations

import asyncio
import difflib
import re
import tomllib
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import structlog
import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import ConfigError

log = structlog.get_logger("omo.plugins_file")

PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class BotSection(_Strict):
    """``[bot]``: how the Discord side runs."""

    prefix: str = Field(default="!", min_length=1, max_length=5)
    owners: list[int] = Field(default_factory=list)
    dev_guild: int | None = None
    status: str | None = Field(default=None, max_length=128)


class WebSection(_Strict):
    """``[web]``: where the dashboard and API listen."""

    host: str = "127.0.0.1"
    port: int = Field(default=8787, ge=0, le=65535)
    public_url: str | None = None
    trusted_proxies: list[str] = Field(default_factory=list)


class PluginSection(_Strict):
    """``[plugins.NAME]``: one plugin."""

    enabled: bool = True
    guild_default: bool = True
    module: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


class PluginsFile(_Strict):
    """The whole validated file."""

    bot: BotSection = Field(default_factory=BotSection)
    web: WebSection = Field(default_factory=WebSection)
    plugins: dict[str, PluginSection] = Field(default_factory=dict)

    @field_validator("plugins")
    @classmethod
    def _names(cls, value: dict[str, PluginSection]) -> dict[str, PluginSection]:
        for name in value:
            if not PLUGIN_NAME.match(name):
                raise ValueError(
                    f"plugin name {name!r} must be lower-case letters, digits and _ starting with a letter"
                )
        return value

    def enabled_plugins(self) -> list[str]:
        """Names of plugins the operator wants running, in file order."""
        return [name for name, section in self.plugins.items() if section.enabled]

    def nothing_enabled(self) -> str | None:
        """A warning when no plugin is enabled (an empty plugins.toml is valid and means exactly that)."""
        if self.enabled_plugins():
            return None
        return (
            "no plugin is enabled in plugins.toml, so every plugin is off (an empty file is valid and disables "
            "them all): add a [plugins.NAME] table with enabled = true for each plugin to run"
        )


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` to a mistyped ``word``, else ``""``."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _keys_at(table: tuple[str | int, ...]) -> set[str]:
    """The keys plugins.toml allows in ``table`` (``()`` is the top level)."""
    sections: dict[tuple[str | int, ...], type[BaseModel]] = {
        (): PluginsFile,
        ("bot",): BotSection,
        ("web",): WebSection,
    }
    model = sections.get(table) or (PluginSection if len(table) == 2 and table[0] == "plugins" else None)
    return set(model.model_fields) if model else set()


def _table_path(header: str) -> list[str]:
    return [part.strip().strip('"').strip("'") for part in header.split(".")]


def line_of(text: str, loc: tuple[str | int, ...]) -> int | None:
    """Best line number (1-based) in ``text`` for the TOML key path ``loc``."""
    wanted = [str(p) for p in loc]
    table: list[str] = []
    best: int | None = None
    best_len = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?$", line)
        if header:
            table = _table_path(header.group(1))
            path = table
        else:
            key = re.match(r"^([A-Za-z0-9_\-\"'. ]+?)\s*=", line)
            if not key:
                continue
            path = table + _table_path(key.group(1))
        common = 0
        for a, b in zip(path, wanted, strict=False):
            if a != b:
                break
            common += 1
        if common == len(wanted):
            return number
        if common == len(path) and common > best_len:
            best, best_len = number, common
    return best


def parse_plugins_file(text: str, path: str = "plugins.toml") -> PluginsFile:
    """Validate ``text`` as plugins.toml; raise :class:`ConfigError` with line and reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"invalid TOML: {reason}", path=path, line=int(match.group(1)) if match else None) from None
    try:
        return PluginsFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        dotted = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            message = f"unknown key {dotted!r}" + did_you_mean(str(loc[-1]), _keys_at(loc[:-1]))
        else:
            message = f"{dotted}: {err['msg']}"
        more = len(exc.errors()) - 1
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ConfigError(message, path=path, line=line_of(text, loc)) from None


def load_plugins_file(path: Path) -> PluginsFile:
    """Read and validate the plugins.toml at ``path``; a missing file means all defaults."""
    if not path.exists():
        return PluginsFile()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path=str(path)) from None
    return parse_plugins_file(text, str(path))


def settings_error_line(path: Path, plugin: str, key: str) -> int | None:
    """Line of ``[plugins.PLUGIN.settings] KEY`` in the file, for settings validation errors."""
    try:
        return line_of(path.read_text(encoding="utf-8"), ("plugins", plugin, "settings", key))
    except OSError:
        return None


def set_plugin_enabled(path: Path, plugin: str, enabled: bool) -> None:
    """Switch ``[plugins.PLUGIN] enabled`` in the file, keeping comments and layout."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    parse_plugins_file(text, str(path))  # refuse to edit a file that is already broken
    doc = tomlkit.parse(text)
    plugins = doc.get("plugins")
    if plugins is None:
        plugins = tomlkit.table(is_super_table=True)
        doc["plugins"] = plugins
    section = plugins.get(plugin)
    if section is None:
        section = tomlkit.table()
        plugins[plugin] = section
    section["enabled"] = enabled
    new_text = tomlkit.dumps(doc)
    parse_plugins_file(new_text, str(path))
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    tmp.replace(path)


def _signature(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is written or replaced (None while it is missing or unreadable)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


class PluginsFileWatcher:
    """Poll plugins.toml and call ``apply`` once per change of the file.

    ``apply`` reports a bad file itself (once, since it runs once per change); any error it raises is
    logged and the watcher goes on, so the next change of the file is still applied. A missing file is
    left alone (the last good one stays in force) until it comes back.
    """

    def __init__(self, path: Path, interval: float, apply: Callable[[], Awaitable[object]]) -> None:
        self.path = path
        self.interval = interval
        self.apply = apply
        #: How many times the file was looked at (tests wait on it instead of sleeping).
        self.polls = 0
        self._seen = _signature(path)

    async def run(self) -> None:
        """Watch until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            await self.poll()

    async def poll(self) -> None:
        """Look at the file once; apply it when it changed since the last look."""
        self.polls += 1
        now = _signature(self.path)
        if now is None or now == self._seen:
            return
        self._seen = now
        await self.reread()

    async def reread(self) -> None:
        """Apply the file now, changed or not (SIGHUP); an error is logged, never raised."""
        try:
            await self.apply()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("applying plugins.toml failed; the watcher goes on", path=str(self.path))
