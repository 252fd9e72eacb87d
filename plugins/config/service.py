"""Per-guild settings of every plugin: stored overrides, validation, cache, history, revert, import/export.

Values are validated by the plugin's own pydantic settings model. Defaults come from plugins.toml,
then from the model; only the keys a guild overrode are stored (JSON), so a changed default reaches
every guild that did not override it. Reads are answered from memory: a cache hit costs no database
round trip. A change invalidates the cache here at once and in the other processes through the bus.

No Discord or HTTP types here: commands, pages and the API all call this module.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from pydantic import BaseModel, ValidationError
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.plugin import PLUGIN_NAME, DatabaseError, OmoError, PluginContext, retrying

from .models import GuildSettings, SettingChange
from .settings_types import Directory, FieldSpec, ValueProblem, check_bounds, coerce_json, model_specs, parse_text

if TYPE_CHECKING:
    from core.plugin import RunningPlugin

log = structlog.get_logger("omo.plugins.config")

EXPORT_FORMAT = "omo-config"
EXPORT_VERSION = 1
MAX_AGE_SHARED = 300.0
#: History entry ids are 32-bit (``IntField``; PostgreSQL ``integer``): a larger id names no entry.
MAX_ENTRY_ID = 2**31 - 1


# ---------------------------------------------------------------------------------------------- errors
class ConfigServiceError(OmoError):
    """Base of the config plugin's errors; ``str()`` is a message for the user."""


class UnknownPlugin(ConfigServiceError):
    """No running plugin of that name has settings."""

    def __init__(self, plugin: str, known: Iterable[str]) -> None:
        self.plugin = plugin
        names = ", ".join(known) or "none"
        super().__init__(f"There is no running plugin `{plugin}` with settings (plugins with settings: {names}).")


class UnsupportedSettings(ConfigServiceError):
    """A plugin's settings model uses a type the config plugin cannot edit."""

    def __init__(self, plugin: str, reason: str) -> None:
        self.plugin = plugin
        super().__init__(f"The settings of `{plugin}` cannot be edited here: {reason}.")


class HistoryEntryNotFound(ConfigServiceError):
    """No history entry of that id in this guild."""

    def __init__(self, entry_id: int) -> None:
        self.entry_id = entry_id
        super().__init__(f"There is no settings history entry #{entry_id} in this server.")


#: Longest problem text echoed back (a refused value may be megabytes long).
PROBLEM_MAX_CHARS = 300


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class FieldError:
    """Why one value was refused: the key, the problem, and what is expected (type and range).
    Key and problem are clipped: an error never echoes a huge value back."""

    key: str
    problem: str
    expected: str = ""
    plugin: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", _clip(self.key, 100))
        object.__setattr__(self, "problem", _clip(self.problem, PROBLEM_MAX_CHARS))

    @property
    def message(self) -> str:
        """The problem and what is expected, without the key ("problem — expected ...")."""
        return f"{self.problem} — expected {self.expected}" if self.expected else self.problem

    def __str__(self) -> str:
        where = f"{self.plugin}.{self.key}" if self.plugin else self.key
        return f"`{where}`: {self.message}"


class SettingsInvalid(ConfigServiceError):
    """One or more values were refused; nothing was changed. ``errors`` lists every one."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))

    def by_key(self) -> dict[str, str]:
        """``{key: "problem — expected ..."}`` for forms and the API (first error of each key)."""
        out: dict[str, str] = {}
        for err in self.errors:
            out.setdefault(err.key, err.message)
        return out


# ---------------------------------------------------------------------------------------------- values
@dataclass(frozen=True)
class Actor:
    """Who made a change (a Discord user id and name; None for the system)."""

    id: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class Change:
    """One key that changed in one plugin."""

    plugin: str
    key: str
    old_value: Any
    new_value: Any
    old_overridden: bool
    new_overridden: bool
    entry_id: int | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One stored change, newest first in :meth:`ConfigService.history`."""

    id: int
    plugin: str
    key: str
    old_value: Any
    new_value: Any
    old_overridden: bool
    new_overridden: bool
    actor_id: int | None
    actor_name: str | None
    source: str
    reverts_id: int | None
    created_at: datetime
    reverted_by: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the API."""
        return {
            "id": self.id,
            "plugin": self.plugin,
            "key": self.key,
            "old_value": self.old_value,
            "new_value": self.new_value,
            "old_overridden": self.old_overridden,
            "new_overridden": self.new_overridden,
            "actor_id": str(self.actor_id) if self.actor_id else None,
            "actor_name": self.actor_name,
            "source": self.source,
            "reverts_id": self.reverts_id,
            "reverted_by": self.reverted_by,
            "created_at": self.created_at.isoformat(),
        }


@dataclass
class PluginView:
    """A plugin's settings in a guild: effective values (JSON), which are overridden, defaults, fields."""

    plugin: str
    specs: dict[str, FieldSpec]
    values: dict[str, Any]
    defaults: dict[str, Any]
    overridden: set[str] = field(default_factory=set)
    json_schema: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Entry:
    model: type[BaseModel]
    defaults: dict[str, Any]
    value: BaseModel
    loaded: float


@dataclass
class _Plan:
    """What to write for one plugin: keys to set (JSON values) and keys to reset."""

    assign: dict[str, Any] = field(default_factory=dict)
    unset: set[str] = field(default_factory=set)
    replace: bool = False
    only_changed: bool = False


@lru_cache(maxsize=256)
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(mode="serialization")


def _key_of(loc: tuple[Any, ...]) -> str:
    return str(loc[0]) if loc else ""


def _problem(err: Mapping[str, Any]) -> str:
    value = err.get("input")
    shown = repr(value) if isinstance(value, str) else str(value)
    msg = str(err.get("msg", "invalid"))
    if err.get("type") == "missing":
        return "a value is required"
    return f"{shown} is not allowed ({msg[0].lower() + msg[1:] if msg else msg})"


class Host(Protocol):
    """What the service needs from its surroundings (the plugin's ``PluginContext`` in the bot)."""

    @property
    def multi_process(self) -> bool:
        """Whether other processes share the database."""

    def running_plugins(self) -> list[RunningPlugin]:
        """The plugins running in this process."""

    async def settings_changed(
        self, guild_id: int, plugin: str, changes: dict[str, tuple[Any, Any]], actor_id: int | None
    ) -> None:
        """Announce stored changes to every process."""


class ConfigService:
    """Settings of every plugin in every guild, stored by the config plugin."""

    def __init__(self, host: Host) -> None:
        self._host = host
        self._cache: dict[tuple[int, str], _Entry] = {}
        self._overrides: dict[tuple[int, str], dict[str, Any]] = {}
        self._generation: dict[tuple[int, str], int] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._counts: dict[int, tuple[int, float]] = {}
        self.closed = False
        #: Seconds a cached entry is trusted. Changes invalidate at once (here and, through the bus, in the
        #: other processes); with several processes this bounds how long a lost notice can leave a stale value.
        self.max_age = MAX_AGE_SHARED if host.multi_process else float("inf")

    # ----------------------------------------------------------------------------- plugins
    def _running(self, plugin: str) -> RunningPlugin | None:
        return next((p for p in self._host.running_plugins() if p.name == plugin), None)

    def plugins_with_settings(self) -> list[str]:
        """Running plugins that declare a settings model, sorted by name."""
        return [p.name for p in self._host.running_plugins() if p.info.settings is not None]

    def description(self, plugin: str) -> str:
        """The one-line description of a running plugin ("" if it is not running)."""
        running = self._running(plugin)
        return running.info.description if running is not None else ""

    def model(self, plugin: str) -> type[BaseModel]:
        """The settings model of a running plugin; raises :class:`UnknownPlugin`."""
        running = self._running(plugin)
        if running is None or running.info.settings is None:
            raise UnknownPlugin(plugin, self.plugins_with_settings())
        return running.info.settings

    def operator_defaults(self, plugin: str) -> dict[str, Any]:
        """The operator's defaults of ``plugin`` from plugins.toml (empty if it is not running)."""
        running = self._running(plugin)
        return running.defaults if running is not None else {}

    def specs(self, plugin: str) -> dict[str, FieldSpec]:
        """The fields of a plugin's settings; raises :class:`UnsupportedSettings` for a type it cannot edit."""
        try:
            return model_specs(self.model(plugin))
        except TypeError as exc:
            raise UnsupportedSettings(plugin, str(exc)) from None

    def defaults(self, plugin: str) -> dict[str, Any]:
        """Defaults (plugins.toml over the model) as JSON values."""
        model = self.model(plugin)
        return model.model_validate(self.operator_defaults(plugin)).model_dump(mode="json")

    # ------------------------------------------------------------------------------- reads
    def resolve(
        self, guild_id: int, plugin: str, model: type[BaseModel], defaults: dict[str, Any]
    ) -> BaseModel | Awaitable[BaseModel] | None:
        """The ``omo_resolve_settings`` answer: the cached instance at once, or an awaitable on a miss;
        None for a plugin that is not running here (core's fallback answers)."""
        key = (guild_id, plugin)
        entry = self._cache.get(key)
        if entry is not None and entry.model is model and entry.defaults == defaults:
            if time.monotonic() - entry.loaded < self.max_age:
                return entry.value
            self._overrides.pop(key, None)  # a safety net for a change notice lost while the bus reconnected
        if self.closed or self._running(plugin) is None:
            return None
        return self._load(guild_id, plugin, model, defaults)

    async def get(self, guild_id: int, plugin: str) -> BaseModel:
        """Settings of ``plugin`` in ``guild_id`` (an instance of its model)."""
        model = self.model(plugin)
        defaults = self.operator_defaults(plugin)
        result = self.resolve(guild_id, plugin, model, defaults)
        if result is None:
            return model.model_validate(defaults)
        if isinstance(result, BaseModel):
            return result
        return await result

    async def _load(self, guild_id: int, plugin: str, model: type[BaseModel], defaults: dict[str, Any]) -> BaseModel:
        key = (guild_id, plugin)
        generation = self._generation.get(key, 0)
        try:
            overrides = await self.overrides(guild_id, plugin)
        except DatabaseError as exc:
            log.error("settings unreadable, using defaults", guild_id=guild_id, plugin=plugin, error=str(exc))
            return model.model_validate(defaults)
        value = self._build(guild_id, plugin, model, defaults, overrides)
        if self._generation.get(key, 0) == generation:
            self._cache[key] = _Entry(model, dict(defaults), value, time.monotonic())
        return value

    def _build(
        self,
        guild_id: int,
        plugin: str,
        model: type[BaseModel],
        defaults: dict[str, Any],
        overrides: dict[str, Any],
    ) -> BaseModel:
        """Defaults, then overrides; a stored value the model no longer accepts is skipped (and logged)."""
        usable = {k: v for k, v in overrides.items() if k in model.model_fields}
        while True:
            try:
                return model.model_validate({**defaults, **usable})
            except ValidationError as exc:
                bad = {_key_of(tuple(e["loc"])) for e in exc.errors()} & set(usable)
                if not bad:
                    bad = set(usable)
                    if not bad:
                        raise
                log.warning(
                    "stored settings no longer valid, using defaults for them",
                    guild_id=guild_id,
                    plugin=plugin,
                    keys=sorted(bad),
                )
                usable = {k: v for k, v in usable.items() if k not in bad}

    async def overrides(self, guild_id: int, plugin: str) -> dict[str, Any]:
        """The keys ``guild_id`` overrode for ``plugin`` (JSON values; cached)."""
        key = (guild_id, plugin)
        cached = self._overrides.get(key)
        if cached is not None:
            return dict(cached)
        generation = self._generation.get(key, 0)
        values = await retrying(lambda: self._read_row(guild_id, plugin), what="reading settings")
        if self._generation.get(key, 0) == generation:
            self._overrides[key] = values
        return dict(values)

    @staticmethod
    async def _read_row(guild_id: int, plugin: str) -> dict[str, Any]:
        return ConfigService._row_values(await GuildSettings.get_or_none(guild_id=guild_id, plugin=plugin))

    @staticmethod
    def _row_values(row: GuildSettings | None) -> dict[str, Any]:
        return dict(row.values) if row is not None and isinstance(row.values, dict) else {}

    async def view(self, guild_id: int, plugin: str) -> PluginView:
        """Effective values, overridden keys, defaults and fields of one plugin in one guild."""
        model = self.model(plugin)
        current = await self.get(guild_id, plugin)
        overrides = await self.overrides(guild_id, plugin)
        return PluginView(
            plugin=plugin,
            specs=self.specs(plugin),
            values=current.model_dump(mode="json"),
            defaults=self.defaults(plugin),
            overridden={k for k in overrides if k in model.model_fields},
            json_schema=_json_schema(model),
        )

    # ------------------------------------------------------------------------ invalidation
    def invalidate(self, guild_id: int, plugin: str) -> None:
        """Forget the cached settings of ``plugin`` in ``guild_id`` (the next read loads them)."""
        key = (guild_id, plugin)
        self._generation[key] = self._generation.get(key, 0) + 1
        self._cache.pop(key, None)
        self._overrides.pop(key, None)
        self._counts.pop(guild_id, None)

    # ------------------------------------------------------------------------------ writes
    def _lock(self, guild_id: int) -> asyncio.Lock:
        return self._locks.setdefault(guild_id, asyncio.Lock())

    def _prepare(
        self, plugin: str, values: Mapping[str, Any], *, text: bool, directory: Directory | None
    ) -> tuple[dict[str, Any], list[FieldError]]:
        specs = self.specs(plugin)
        parsed: dict[str, Any] = {}
        errors: list[FieldError] = []
        for key, raw in values.items():
            spec = specs.get(key)
            if spec is None:
                errors.append(
                    FieldError(key, f"`{plugin}` has no setting `{key}` (settings: {', '.join(specs)})", plugin=plugin)
                )
                continue
            try:
                check_bounds(spec, raw)  # before reading it: a huge or NUL-laden value costs nothing more
                if text:
                    parsed[key] = parse_text(spec, str(raw), directory)
                else:
                    parsed[key] = coerce_json(spec, raw, directory)
                check_bounds(spec, parsed[key])
            except ValueProblem as exc:
                errors.append(FieldError(key, str(exc), spec.expected(), plugin))
        return parsed, errors

    def _validate(self, plugin: str, overrides: dict[str, Any]) -> tuple[BaseModel | None, list[FieldError]]:
        model = self.model(plugin)
        specs = self.specs(plugin)
        try:
            return model.model_validate({**self.operator_defaults(plugin), **overrides}), []
        except ValidationError as exc:
            errors = []
            for err in exc.errors():
                key = _key_of(tuple(err["loc"]))
                spec = specs.get(key)
                errors.append(FieldError(key, _problem(err), spec.expected() if spec else "", plugin))
            return None, errors

    def _with_model_errors(self, plugin: str, parsed: dict[str, Any], errors: list[FieldError]) -> list[FieldError]:
        """``errors`` plus what the model says of the values that could be read (every bad value is reported)."""
        _, more = self._validate(plugin, parsed)
        flagged = {e.key for e in errors}
        return errors + [e for e in more if e.key not in flagged]

    async def set_values(
        self,
        guild_id: int,
        plugin: str,
        values: Mapping[str, Any],
        actor: Actor,
        *,
        source: str = "command",
        text: bool = False,
        directory: Directory | None = None,
        only_changed: bool = False,
    ) -> list[Change]:
        """Set some keys of one plugin, validated as a whole; raises :class:`SettingsInvalid` (nothing
        changed) with every bad value. ``text`` reads values as typed text (commands, forms);
        otherwise they are JSON values (API). With ``only_changed`` (a whole form submitted) a key left on
        its default value does not become an override. Returns what changed (unchanged keys are not recorded)."""
        parsed, errors = self._prepare(plugin, values, text=text, directory=directory)
        if errors:
            raise SettingsInvalid(self._with_model_errors(plugin, parsed, errors))
        plan = _Plan(assign=parsed, only_changed=only_changed)
        return await self._apply(guild_id, {plugin: plan}, actor, source)

    async def reset(
        self, guild_id: int, plugin: str, keys: Iterable[str] | None, actor: Actor, *, source: str = "command"
    ) -> list[Change]:
        """Put keys (all with None) of one plugin back to their defaults."""
        specs = self.specs(plugin)
        wanted = list(keys) if keys is not None else None
        unknown = [k for k in wanted or () if k not in specs]
        if unknown:
            raise SettingsInvalid(
                [
                    FieldError(k, f"`{plugin}` has no setting `{k}` (settings: {', '.join(specs)})", plugin=plugin)
                    for k in unknown
                ]
            )
        plan = _Plan(unset=set(wanted) if wanted is not None else set(), replace=wanted is None)
        return await self._apply(guild_id, {plugin: plan}, actor, source)

    async def revert(self, guild_id: int, entry_id: int, actor: Actor, *, source: str = "command") -> list[Change]:
        """Undo one history entry: its key goes back to the entry's old value (or default)."""
        if not 1 <= entry_id <= MAX_ENTRY_ID:
            raise HistoryEntryNotFound(entry_id)
        entry = await SettingChange.get_or_none(id=entry_id, guild_id=guild_id)
        if entry is None:
            raise HistoryEntryNotFound(entry_id)
        self.model(entry.plugin)
        plan = _Plan(assign={entry.key: entry.old_value}) if entry.old_overridden else _Plan(unset={entry.key})
        return await self._apply(guild_id, {entry.plugin: plan}, actor, source, reverts_id=entry.id)

    async def _apply(
        self, guild_id: int, plans: dict[str, _Plan], actor: Actor, source: str, *, reverts_id: int | None = None
    ) -> list[Change]:
        async with self._lock(guild_id):
            for attempt in (1, 2):
                try:
                    changes = await retrying(
                        lambda: self._write(guild_id, plans, actor, source, reverts_id), what="saving settings"
                    )
                    break
                except IntegrityError:  # two processes created the same row at once: read it and retry
                    if attempt == 2:
                        raise
            for plugin in plans:
                self.invalidate(guild_id, plugin)
        touched = sorted({c.plugin for c in changes})
        if touched:
            log.info(
                "settings changed",
                guild_id=guild_id,
                plugins=touched,
                keys=[c.key for c in changes],
                user_id=actor.id,
                source=source,
            )
            for plugin in touched:
                pairs = {c.key: (c.old_value, c.new_value) for c in changes if c.plugin == plugin}
                await self._host.settings_changed(guild_id, plugin, pairs, actor.id)
        return changes

    async def _write(
        self, guild_id: int, plans: dict[str, _Plan], actor: Actor, source: str, reverts_id: int | None
    ) -> list[Change]:
        async with in_transaction() as conn:
            rows: dict[str, GuildSettings | None] = {}
            results: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]] = {}
            errors: list[FieldError] = []
            for plugin, plan in plans.items():
                row = (
                    await GuildSettings.filter(guild_id=guild_id, plugin=plugin)
                    .using_db(conn)
                    .select_for_update()
                    .first()
                )
                rows[plugin] = row
                current = self._row_values(row)
                model = self.model(plugin)
                current = {k: v for k, v in current.items() if k in model.model_fields}
                old_model = self._build(guild_id, plugin, model, self.operator_defaults(plugin), current)
                new = {} if plan.replace else dict(current)
                for key in plan.unset:
                    new.pop(key, None)
                new.update(plan.assign)
                validated, errs = self._validate(plugin, new)
                if errs or validated is None:
                    errors.extend(errs)
                    continue
                dumped = validated.model_dump(mode="json")
                old_values = old_model.model_dump(mode="json")
                stored = {
                    k: dumped[k]
                    for k in new
                    if not (plan.only_changed and k in plan.assign and k not in current and dumped[k] == old_values[k])
                }
                results[plugin] = (current, stored, old_values, dumped)
            if errors:
                raise SettingsInvalid(errors)
            changes: list[Change] = []
            for plugin, (current, stored, old_values, new_values) in results.items():
                row = rows[plugin]
                if stored == current:
                    continue
                if row is None:
                    await GuildSettings.create(guild_id=guild_id, plugin=plugin, values=stored, using_db=conn)
                else:
                    row.values = stored
                    await row.save(using_db=conn, update_fields=["values", "updated_at"])
                for key in sorted(set(current) | set(stored)):
                    was, now = key in current, key in stored
                    if was == now and old_values.get(key) == new_values.get(key):
                        continue
                    record = await SettingChange.create(
                        guild_id=guild_id,
                        plugin=plugin,
                        key=key,
                        old_json=json.dumps(old_values.get(key)),
                        old_overridden=was,
                        new_json=json.dumps(new_values.get(key)),
                        new_overridden=now,
                        actor_id=actor.id,
                        actor_name=(actor.name or "")[:100] or None,
                        source=source,
                        reverts_id=reverts_id,
                        using_db=conn,
                    )
                    changes.append(Change(plugin, key, old_values.get(key), new_values.get(key), was, now, record.id))
            return changes

    async def changed_count(self, guild_id: int) -> int:
        """How many keys ``guild_id`` overrode, over all plugins (cached like the settings themselves)."""
        cached = self._counts.get(guild_id)
        if cached is not None and time.monotonic() - cached[1] < self.max_age:
            return cached[0]
        rows = await GuildSettings.filter(guild_id=guild_id).values_list("values", flat=True)
        count = sum(len(v) for v in rows if isinstance(v, dict))
        self._counts[guild_id] = (count, time.monotonic())
        return count

    # ----------------------------------------------------------------------------- history
    async def history(
        self, guild_id: int, plugin: str | None = None, *, limit: int = 20, before: int | None = None
    ) -> list[HistoryEntry]:
        """Changes in ``guild_id`` (of one plugin or all), newest first; ``before`` an entry id to page."""
        if plugin and not PLUGIN_NAME.fullmatch(plugin):  # no plugin has that name (and NUL is no query text)
            return []
        query = SettingChange.filter(guild_id=guild_id)
        if plugin:
            query = query.filter(plugin=plugin)
        if before:
            query = query.filter(id__lte=min(before - 1, MAX_ENTRY_ID))
        rows = await query.order_by("-id").limit(max(1, min(limit, 200)))
        ids = [r.id for r in rows]
        reverted: dict[int, int] = {}
        if ids:
            for rid, target in (
                await SettingChange.filter(guild_id=guild_id, reverts_id__in=ids)
                .order_by("id")
                .values_list("id", "reverts_id")
            ):
                reverted.setdefault(int(target), int(rid))
        return [
            HistoryEntry(
                id=r.id,
                plugin=r.plugin,
                key=r.key,
                old_value=r.old_value,
                new_value=r.new_value,
                old_overridden=r.old_overridden,
                new_overridden=r.new_overridden,
                actor_id=r.actor_id,
                actor_name=r.actor_name,
                source=r.source,
                reverts_id=r.reverts_id,
                created_at=r.created_at,
                reverted_by=reverted.get(r.id),
            )
            for r in rows
        ]

    # ----------------------------------------------------------------------- import/export
    async def export(self, guild_id: int) -> dict[str, Any]:
        """Every override of ``guild_id`` as a JSON document :meth:`import_settings` reads back."""
        rows = await GuildSettings.filter(guild_id=guild_id).order_by("plugin")
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "guild_id": str(guild_id),
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "plugins": {r.plugin: dict(r.values) for r in rows if r.values},
        }

    async def import_settings(
        self,
        guild_id: int,
        document: Any,
        actor: Actor,
        *,
        directory: Directory | None = None,
        source: str = "import",
    ) -> list[Change]:
        """Replace the overrides of each plugin named in ``document`` (an export); all or nothing:
        raises :class:`SettingsInvalid` listing every bad value, and then nothing changed."""
        if not isinstance(document, dict):
            raise SettingsInvalid([FieldError("", "the file must hold a JSON object")])
        if "format" in document and document.get("format") != EXPORT_FORMAT:
            raise SettingsInvalid(
                [FieldError("format", f"unknown format {document.get('format')!r}", f"{EXPORT_FORMAT!r}")]
            )
        plugins = document.get("plugins", document if "format" not in document else None)
        if not isinstance(plugins, dict):
            raise SettingsInvalid(
                [FieldError("plugins", "missing or not an object", "an object of plugin name -> settings")]
            )
        plans: dict[str, _Plan] = {}
        errors: list[FieldError] = []
        known = self.plugins_with_settings()
        for plugin, values in plugins.items():
            if plugin not in known:
                errors.append(FieldError("", str(UnknownPlugin(str(plugin), known)), plugin=str(plugin)))
                continue
            if not isinstance(values, dict):
                errors.append(FieldError("", "settings must be an object of key -> value", plugin=plugin))
                continue
            parsed, errs = self._prepare(plugin, values, text=False, directory=directory)
            errors.extend(self._with_model_errors(plugin, parsed, errs))
            plans[plugin] = _Plan(assign=parsed, replace=True)
        if errors:
            raise SettingsInvalid(errors)
        return await self._apply(guild_id, plans, actor, source)


#: The config plugin's context: no settings of its own, a :class:`ConfigService` as its state.
ConfigContext = PluginContext[BaseModel, ConfigService]
