"""The plugin host: discovery, load, dependency order, failure isolation, reload.

Lifecycle: discovered -> loaded (imported, info read) -> enabled (started: cogs,
routes, jobs live) -> per guild (the gate). A plugin that fails at any step is
marked ``failed`` with its error and the others keep running. Reload is a staged
swap: the new code is imported and checked beside the old, then hookimpls,
cogs, routes and jobs are swapped together behind a barrier; on any failure the
old version is put back and stays live.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import pkgutil
import sys
import time
import weakref
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy
import structlog
from discord.ext import commands
from pydantic import ValidationError

from core import hookspecs
from core.contributions import Contributions
from core.errors import (
    ConfigError,
    DependencyError,
    MigrationRequired,
    OmoError,
    PluginError,
    PluginLoadFailed,
    PluginNotFound,
    PluginNotLoaded,
)
from core.hooks import HookCaller
from core.plugin import PluginContext, PluginInfo
from core.plugins_file import PluginsFile, did_you_mean, settings_error_line

if TYPE_CHECKING:
    from core.bus import Bus
    from core.runtime import Runtime

log = structlog.get_logger("omo.plugin_host")

ENTRY_POINT_GROUP = "omo.plugins"
#: Bus topic: a plugin was reloaded in one process; the others reload it too (``{"plugin": name}``).
RELOAD_TOPIC = "plugin_reload"
IN_TREE_PACKAGE = "plugins"


class PluginState(StrEnum):
    """Where a plugin is in its lifecycle."""

    DISCOVERED = "discovered"
    LOADED = "loaded"
    ENABLED = "enabled"
    DISABLED = "disabled"
    FAILED = "failed"


@dataclass
class LoadedPlugin:
    """One imported version of a plugin and what it contributed."""

    name: str
    module: ModuleType
    info: PluginInfo
    context: PluginContext
    models_digest: str | None
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def contributions(self) -> Contributions:
        """What this version adds to the process (hooks, cogs, routes, subscriptions, jobs)."""
        return self.context.contributions


@dataclass
class PluginRecord:
    """What the host knows of one plugin, loaded or not."""

    name: str
    module_name: str
    source: str
    state: PluginState = PluginState.DISCOVERED
    error: str | None = None
    loaded: LoadedPlugin | None = None
    reloads: int = 0

    @property
    def version(self) -> str | None:
        """Version of the loaded code."""
        return self.loaded.info.version if self.loaded else None


@dataclass
class ReloadReport:
    """What a reload did."""

    plugin: str
    old_version: str
    new_version: str
    seconds: float
    commands_changed: bool


class Barrier:
    """Holds commands and events while a plugin is being swapped; they run after, never lost."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._holders = 0

    @property
    def is_open(self) -> bool:
        """True when nothing is being swapped."""
        return self._open.is_set()

    async def wait(self) -> None:
        """Return once no swap is in progress."""
        if not self._open.is_set():
            await self._open.wait()

    @contextlib.asynccontextmanager
    async def closed(self) -> AsyncIterator[None]:
        """Close the barrier for the duration of the block."""
        self._holders += 1
        self._open.clear()
        try:
            yield
        finally:
            self._holders -= 1
            if self._holders == 0:
                self._open.set()


def _mark(module: ModuleType, hook: str) -> Any:
    fn = getattr(module, hook, None)
    return fn if fn is not None and hasattr(fn, "omo_impl") else None


#: Parameter names per hook implementation; weak, so a reloaded plugin's old functions can go.
_ACCEPTED: weakref.WeakKeyDictionary[Any, frozenset[str]] = weakref.WeakKeyDictionary()


def _accepted(fn: Any) -> frozenset[str]:
    try:
        return _ACCEPTED[fn]
    except KeyError:
        code = inspect.unwrap(fn).__code__  # what inspect.signature reads, without building a Signature
        names = _ACCEPTED[fn] = frozenset(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
        return names


async def call_plugin_hook(module: ModuleType, hook: str, **kwargs: Any) -> Any:
    """Call one plugin's implementation of ``hook`` (None if it has none), awaiting an awaitable result."""
    fn = _mark(module, hook)
    if fn is None:
        return None
    accepted = _accepted(fn)
    result = fn(**{k: v for k, v in kwargs.items() if k in accepted})
    if inspect.isawaitable(result):
        result = await result
    return result


def models_digest(module_name: str | None) -> str | None:
    """SHA-256 of a models module's source (None without models)."""
    if not module_name:
        return None
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise PluginError(module_name.split(".")[-2], f"models module {module_name!r} not found")
    return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()


def discover(extra_modules: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """``{name: (module, source)}`` of every plugin found in-tree and through entry points."""
    found: dict[str, tuple[str, str]] = {}
    try:
        package = importlib.import_module(IN_TREE_PACKAGE)
        for info in pkgutil.iter_modules(package.__path__):
            if info.ispkg and not info.name.startswith("_"):
                found[info.name] = (f"{IN_TREE_PACKAGE}.{info.name}", "in-tree")
    except ImportError:
        pass
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, (ep.value.split(":")[0], f"entry point {ep.dist.name if ep.dist else '?'}"))
    for name, module in (extra_modules or {}).items():
        found[name] = (module, "plugins.toml")
    return found


def dependency_order(infos: dict[str, PluginInfo]) -> tuple[list[str], dict[str, str]]:
    """Names sorted so requirements come first, and ``{name: error}`` for unsatisfiable ones."""
    order: list[str] = []
    errors: dict[str, str] = {}
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> bool:
        if state.get(name) == 2:
            return name not in errors
        if state.get(name) == 1:
            errors[name] = "dependency cycle: " + " -> ".join([*path, name])
            return False
        state[name] = 1
        ok = True
        for dep in infos[name].requires:
            if dep not in infos:
                errors[name] = f"requires plugin {dep!r}, which is not enabled"
                ok = False
            elif not visit(dep, [*path, name]):
                errors.setdefault(name, f"requires plugin {dep!r}, which cannot start")
                ok = False
        state[name] = 2
        if ok:
            order.append(name)
        return ok

    for name in infos:
        visit(name, [])
    return order, errors


class OmoPluginManager(pluggy.PluginManager):
    """pluggy's manager, reading a plugin module's hook implementations straight from its namespace.

    pluggy looks at every name of a registered object without running descriptors; a module has none, and
    a plugin module holds many names (its imports), so a reload registers it in a fraction of the time.
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        """The ``@hookimpl`` options of function ``name`` of a module; pluggy's own lookup for other objects."""
        if isinstance(plugin, ModuleType):
            value = plugin.__dict__.get(name)
            opts = getattr(value, "omo_impl", None) if inspect.isfunction(value) else None
            return opts if isinstance(opts, dict) else None
        return super().parse_hookimpl_opts(plugin, name)


class PluginHost:
    """Owns the pluggy manager and every plugin's records."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.pm = OmoPluginManager("omo")
        self.pm.add_hookspecs(hookspecs)
        self.hooks = HookCaller(self.pm)
        self.records: dict[str, PluginRecord] = {}
        self.barrier = Barrier()
        self._locks: dict[str, asyncio.Lock] = {}
        #: ``id(cog) -> plugin`` of every live cog (kept by :class:`Contributions`).
        self.cog_owner: dict[int, str] = {}
        self._bus: Bus | None = None

    # ----------------------------------------------------------------- queries
    def loaded(self, name: str) -> LoadedPlugin | None:
        """The live version of ``name`` (enabled plugins only)."""
        record = self.records.get(name)
        return record.loaded if record and record.state == PluginState.ENABLED else None

    def enabled_names(self) -> list[str]:
        """Names of plugins running in this process."""
        return [n for n, r in self.records.items() if r.state == PluginState.ENABLED]

    def defaults_of(self, name: str) -> dict[str, Any]:
        """The operator's settings defaults for ``name`` from plugins.toml."""
        section = self.runtime.plugins_file.plugins.get(name)
        return dict(section.settings) if section else {}

    def owner_of_cog(self, cog: object) -> str | None:
        """The plugin a cog instance belongs to."""
        return self.cog_owner.get(id(cog))

    def intents(self) -> set[str]:
        """Gateway intents the loaded plugins declare."""
        return {i for r in self.records.values() if r.loaded for i in r.loaded.info.intents}

    def models(self) -> dict[str, str]:
        """``{plugin: models module}`` of loaded plugins that have models."""
        return {n: r.loaded.info.models for n, r in self.records.items() if r.loaded and r.loaded.info.models}

    # ------------------------------------------------------------- discovery
    def discover(self, plugins_file: PluginsFile) -> None:
        """Record every discoverable plugin and those plugins.toml names; unknown names fail."""
        extra = {n: s.module for n, s in plugins_file.plugins.items() if s.module}
        found = discover(extra)
        for name, (module, source) in found.items():
            record = self.records.get(name)
            if record is None:
                self.records[name] = PluginRecord(name, module, source)
            elif record.state in (PluginState.DISCOVERED, PluginState.FAILED, PluginState.DISABLED):
                record.module_name, record.source = module, source
        for name in [n for n, r in self.records.items() if r.source == "plugins.toml" and not r.module_name]:
            del self.records[name]  # an unknown name from an earlier version of the file
        for name in plugins_file.enabled_plugins():
            if name not in found:
                self.records[name] = PluginRecord(
                    name,
                    "",
                    "plugins.toml",
                    PluginState.FAILED,
                    f"unknown plugin {name!r}{did_you_mean(name, found)}: not in plugins/ "
                    "and no entry point in group 'omo.plugins'; set [plugins.NAME] module = '...'",
                )

    # ------------------------------------------------------------------ load
    def _import(self, record: PluginRecord) -> LoadedPlugin:
        try:
            module = importlib.import_module(record.module_name)
        except Exception as exc:
            raise PluginLoadFailed(record.name, f"import failed: {type(exc).__name__}: {exc}") from exc
        return self._describe(record.name, module)

    def _describe(self, name: str, module: ModuleType) -> LoadedPlugin:
        fn = _mark(module, "omo_plugin_info")
        if fn is None:
            raise PluginLoadFailed(name, "no @hookimpl omo_plugin_info() in the plugin's __init__")
        try:
            info = fn()
        except Exception as exc:
            raise PluginLoadFailed(name, f"omo_plugin_info raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(info, PluginInfo):
            raise PluginLoadFailed(name, "omo_plugin_info must return a core.plugin.PluginInfo")
        try:
            self.pm.parse_hookimpl_opts(module, "omo_plugin_info")
            unknown = [
                attr
                for attr in dir(module)
                if attr.startswith("omo_")
                and _mark(module, attr)
                and not hasattr(self.pm.hook, attr)
                and not (info.hookspecs and hasattr(info.hookspecs, attr))
            ]
        except Exception as exc:
            raise PluginLoadFailed(name, str(exc)) from exc
        if unknown:
            raise PluginLoadFailed(name, f"unknown hook(s) {', '.join(unknown)}: check the names in docs/plugins.md")
        defaults = self.defaults_of(name)
        if info.settings is not None:
            try:
                info.settings.model_validate(defaults)
            except ValidationError as exc:
                err = exc.errors()[0]
                key = str(err["loc"][0]) if err["loc"] else ""
                path = self.runtime.plugins_file_path
                raise ConfigError(
                    f"[plugins.{name}.settings] {key}: {err['msg']}",
                    path=str(path),
                    line=settings_error_line(path, name, key),
                ) from None
        elif defaults:
            raise ConfigError(
                f"[plugins.{name}.settings] given, but plugin {name!r} has no settings",
                path=str(self.runtime.plugins_file_path),
            )
        context: PluginContext = PluginContext(name=name, info=info, runtime=self.runtime, defaults=defaults)
        context.contributions = Contributions(name, self, module, info.hookspecs)
        return LoadedPlugin(name, module, info, context, models_digest(info.models))

    def load_enabled(self, names: Iterable[str]) -> list[str]:
        """Import the named plugins (not yet started); return them in dependency order.

        A plugin that fails to import or whose requirements are missing is marked failed."""
        candidates: dict[str, LoadedPlugin] = {}
        for name in names:
            record = self.records.get(name)
            if record is None or (record.state == PluginState.FAILED and not record.module_name):
                continue
            try:
                candidates[name] = self._import(record)
                record.state, record.error = PluginState.LOADED, None
                record.loaded = candidates[name]
            except (PluginError, ConfigError) as exc:
                self._fail(record, exc)
        order, errors = dependency_order({n: c.info for n, c in candidates.items()})
        for name, reason in errors.items():
            self._fail(self.records[name], DependencyError(name, reason))
        return order

    def _fail(self, record: PluginRecord, exc: BaseException) -> None:
        record.state = PluginState.FAILED
        record.error = str(exc)
        record.loaded = None
        if isinstance(exc, ConfigError):  # the operator's mistake: the reason is the whole story, no traceback
            log.error("plugin failed", plugin=record.name, error=str(exc))
        else:
            log.error("plugin failed", plugin=record.name, error=str(exc), exc_info=exc.__cause__ or exc)

    # ----------------------------------------------------------------- start
    def _lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    async def _prepare(self, loaded: LoadedPlugin) -> None:
        """Build what the version contributes without putting anything in place: state, then routes staged on
        a scratch app, then cogs. Raises on any error; the running process is untouched."""
        context = loaded.context
        context.set_state(await call_plugin_hook(loaded.module, "omo_state", plugin=context))
        contributions = loaded.contributions
        web = self.runtime.web_mount
        if web is not None:
            blueprint = await call_plugin_hook(loaded.module, "omo_blueprint", plugin=context)
            contributions.routes = web.stage(loaded.name, blueprint)
        cogs = await call_plugin_hook(loaded.module, "omo_cogs", plugin=context) or []
        for cog in cogs:
            if not isinstance(cog, commands.Cog):
                raise PluginLoadFailed(loaded.name, f"omo_cogs returned {cog!r}, not a discord.py Cog")
        contributions.cogs = list(cogs)

    async def _go_live(self, loaded: LoadedPlugin) -> None:
        """Install the version's contributions, then run its ``omo_setup`` (raises if either fails)."""
        await loaded.contributions.install()
        await call_plugin_hook(loaded.module, "omo_setup", plugin=loaded.context)

    async def _go_quiet(self, loaded: LoadedPlugin, *, swapping: bool = False) -> None:
        """Jobs cancelled, ``omo_teardown`` (errors logged), contributions uninstalled; never raises. When
        ``swapping`` (reload, rollback) routes and job leases stay for the version that comes next."""
        await loaded.contributions.cancel_jobs(swapping=swapping)
        try:
            await call_plugin_hook(loaded.module, "omo_teardown", plugin=loaded.context)
        except Exception:
            log.exception("plugin teardown failed", plugin=loaded.name)
        await loaded.contributions.uninstall(swapping=swapping)

    async def start(self, name: str) -> None:
        """Start a loaded plugin: state, routes, cogs, hooks, then ``omo_setup``; on failure undo and mark failed."""
        record = self.records[name]
        loaded = record.loaded
        if loaded is None or record.state != PluginState.LOADED:
            raise PluginNotLoaded(name, f"is {record.state}, not loaded")
        for dep in loaded.info.requires:
            if self.loaded(dep) is None:
                self._fail(record, DependencyError(name, f"requires plugin {dep!r}, which is not running"))
                return
        async with self._lock(name):
            try:
                await self._prepare(loaded)
                await self._go_live(loaded)
            except Exception as exc:  # noqa: BLE001 - isolation: one plugin's failure is its own
                await self._go_quiet(loaded)
                self._fail(
                    record,
                    exc
                    if isinstance(exc, PluginError)
                    else PluginLoadFailed(name, f"start failed: {type(exc).__name__}: {exc}"),
                )
                return
            record.state, record.error = PluginState.ENABLED, None
        log.info("plugin enabled", plugin=name, version=loaded.info.version)

    def add_hookspecs(self, module: ModuleType | None) -> None:
        """Register a plugin's own hookspecs; specs already known (a reload) are kept as they are."""
        if module is None:
            return
        fresh = {
            name: getattr(module, name)
            for name in dir(module)
            if self.pm.parse_hookspec_opts(module, name) is not None
            and not (hasattr(self.pm.hook, name) and getattr(self.pm.hook, name).spec is not None)
        }
        if fresh:
            specs = ModuleType(f"{module.__name__}.omo_fresh_specs")
            for name, spec in fresh.items():
                setattr(specs, name, spec)
            self.pm.add_hookspecs(specs)

    async def stop(self, name: str, *, state: PluginState = PluginState.DISABLED) -> None:
        """Stop a running plugin: jobs cancelled, teardown, then hooks, cogs, routes and subscriptions removed."""
        record = self.records.get(name)
        if record is None:
            raise PluginNotFound(name, "no such plugin")
        async with self._lock(name):
            if record.state == PluginState.ENABLED and record.loaded:
                await self._go_quiet(record.loaded)
            record.state = state
            record.loaded = None if state != PluginState.LOADED else record.loaded
        log.info("plugin stopped", plugin=name)

    async def enable(self, name: str) -> PluginRecord:
        """Load and start ``name`` at runtime (plugins.toml switched it on)."""
        record = self.records.get(name)
        if record is None or not record.module_name:
            raise PluginNotFound(name, "not in plugins/ and no entry point in group 'omo.plugins'")
        if record.state == PluginState.ENABLED:
            return record
        record.state = PluginState.DISCOVERED
        self._purge_modules(record.module_name, keep=None)
        if self.load_enabled([name]) and record.loaded is not None:
            missing = self.intents_missing(record.loaded.info.intents)
            if missing:
                log.warning("restart needed for intents", plugin=name, intents=sorted(missing))
            await self.start(name)
        if record.state == PluginState.ENABLED:
            self.runtime.after_commands_changed()
        return record

    def intents_missing(self, wanted: Iterable[str]) -> set[str]:
        """Intents a plugin needs that the running gateway connection was not opened with."""
        current = self.runtime.bot.intents
        return {i for i in wanted if not getattr(current, i, False)}

    async def disable(self, name: str) -> None:
        """Stop ``name`` at runtime (plugins.toml switched it off)."""
        await self.stop(name, state=PluginState.DISABLED)
        self.runtime.after_commands_changed()

    async def start_all(self, order: Iterable[str]) -> None:
        """Start loaded plugins in dependency order; failures are isolated."""
        for name in order:
            await self.start(name)

    async def stop_all(self) -> None:
        """Stop every running plugin, dependents first."""
        for name in reversed(self.enabled_names()):
            await self.stop(name, state=PluginState.LOADED)

    # ---------------------------------------------------------------- reload
    def _purge_modules(self, module_name: str, keep: str | None) -> dict[str, ModuleType]:
        removed = {}
        for key in list(sys.modules):
            if (key == module_name or key.startswith(module_name + ".")) and key != keep:
                removed[key] = sys.modules.pop(key)
        importlib.invalidate_caches()
        return removed

    def _restore_modules(self, module_name: str, saved: dict[str, ModuleType], keep: str | None) -> None:
        self._purge_modules(module_name, keep)
        sys.modules.update(saved)

    def attach_bus(self, bus: Bus) -> None:
        """Reload plugins when another process sharing the database reloaded them."""
        self._bus = bus
        bus.subscribe(RELOAD_TOPIC, self._remote_reload)

    async def _remote_reload(self, payload: dict[str, Any]) -> None:
        name = payload.get("plugin")
        if not isinstance(name, str) or self.loaded(name) is None:
            return
        try:
            await self.reload(name, announce=False)
        except OmoError as exc:
            log.error("reload asked by another process failed, old version kept", plugin=name, error=str(exc))

    async def reload(self, name: str, *, announce: bool = True) -> ReloadReport:
        """Swap ``name`` for its current code on disk; on any failure the old version stays live. With
        ``announce``, every other process sharing the database then reloads it too."""
        record = self.records.get(name)
        if record is None:
            raise PluginNotFound(name, "no such plugin")
        old = record.loaded
        if old is None or record.state != PluginState.ENABLED:
            raise PluginNotLoaded(name, f"is {record.state}; only a running plugin can be reloaded")
        started = time.perf_counter()
        async with self._lock(name):
            keep = old.info.models
            saved = self._purge_modules(record.module_name, keep)
            try:
                new = self._import(record)
                if new.models_digest != old.models_digest or new.info.models != old.info.models:
                    raise MigrationRequired(
                        name, f"models changed: run `omo db migrate {name}` and `omo db upgrade`, then restart"
                    )
                await self._prepare(new)
            except BaseException as exc:
                self._restore_modules(record.module_name, saved, keep)
                log.error("reload failed, old version kept", plugin=name, error=str(exc))
                if isinstance(exc, PluginError | ConfigError):
                    raise
                raise PluginLoadFailed(name, f"reload failed: {type(exc).__name__}: {exc}") from exc
            tree = self.runtime.bot.tree
            changed = new.contributions.commands_digest(tree) != old.contributions.commands_digest(tree)
            async with self.runtime.barrier_for_swap():
                await self._go_quiet(old, swapping=True)
                try:
                    await self._go_live(new)
                except BaseException as exc:
                    self._restore_modules(record.module_name, saved, keep)
                    await self._go_quiet(new, swapping=True)
                    try:
                        await self._go_live(old)
                    except Exception:
                        log.exception("old version failed to restart after rollback", plugin=name)
                    log.error("reload failed, old version restored", plugin=name, error=str(exc))
                    raise PluginLoadFailed(name, f"reload failed: {type(exc).__name__}: {exc}") from exc
            record.loaded = new
            record.reloads += 1
        if changed:
            self.runtime.after_commands_changed()
        report = ReloadReport(name, old.info.version, new.info.version, time.perf_counter() - started, changed)
        log.info("plugin reloaded", plugin=name, version=new.info.version, seconds=round(report.seconds, 4))
        if announce and self._bus is not None:
            await self._bus.publish(RELOAD_TOPIC, {"plugin": name})
        return report
