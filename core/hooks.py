"""Calling hooks: every implementation may be async, and one plugin's failure stays its own.

pluggy calls implementations synchronously and hands back what they return, so an
``async def`` implementation would only give a coroutine that nobody awaits. Core
calls broadcast hooks through :class:`HookCaller` instead: each implementation is
called in pluggy's order (``tryfirst`` first, then the most recently registered),
its result awaited when it is awaitable, and one that raises is logged with its
plugin's name while the others still run. A first-result hook hands over to the
next implementation when one answers None, async or not. Historic hooks are
remembered and replayed for hook objects registered later (plugins enabled or
reloaded after the call).
"""

from __future__ import annotations

import inspect
from typing import Any

import pluggy
import structlog

log = structlog.get_logger("omo.hooks")


class HookError(Exception):
    """A first-result hook's implementation raised; ``plugin`` names the plugin it belongs to."""

    def __init__(self, hook: str, plugin: str, error: BaseException) -> None:
        self.hook = hook
        self.plugin = plugin
        super().__init__(f"{hook} of plugin {plugin!r} raised {type(error).__name__}: {error}")


def _owner(impl: Any) -> str:
    """The plugin a hook implementation belongs to (``config`` for ``config`` and ``config:...`` objects)."""
    name = str(impl.plugin_name)
    return name.split(":", 1)[0]


async def _invoke(impl: Any, kwargs: dict[str, Any]) -> Any:
    """Call one implementation with the arguments it declares; await its result when it is awaitable."""
    value = impl.function(*[kwargs[arg] for arg in impl.argnames])
    return await value if inspect.isawaitable(value) else value


class HookCaller:
    """Awaiting, isolating calls of the hooks of one pluggy manager."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._history: list[tuple[str, dict[str, Any]]] = []

    def _impls(self, name: str, kwargs: dict[str, Any]) -> list[Any]:
        caller = getattr(self.pm.hook, name, None)
        if caller is None or caller.spec is None:
            raise LookupError(f"no hook named {name!r}")
        missing = [arg for arg in caller.spec.argnames if arg not in kwargs]
        if missing:
            raise TypeError(f"hook {name} called without {', '.join(missing)}")
        impls = caller.get_hookimpls()
        impls.reverse()  # pluggy's call order: tryfirst, then last registered first, trylast at the end
        return impls

    def is_first_result(self, name: str) -> bool:
        """Whether ``name`` is a first-result hook."""
        caller = getattr(self.pm.hook, name, None)
        return bool(caller is not None and caller.spec is not None and caller.spec.opts.get("firstresult"))

    async def broadcast(self, name: str, /, **kwargs: Any) -> list[Any]:
        """Call every implementation of ``name``; return the results that are not None (failures left out)."""
        results = []
        for impl in self._impls(name, kwargs):
            value = await self._run(name, impl, kwargs)
            if value is not None:
                results.append(value)
        return results

    async def first(self, name: str, /, **kwargs: Any) -> Any:
        """The first answer that is not None (None when nobody answers). An implementation that raises
        stops the call: :class:`HookError` names its plugin (the caller must not take silence for an answer)."""
        for impl in self._impls(name, kwargs):
            try:
                value = await _invoke(impl, kwargs)
            except Exception as exc:
                log.error("hook failed", hook=name, plugin=_owner(impl), exc_info=exc)
                raise HookError(name, _owner(impl), exc) from exc
            if value is not None:
                return value
        return None

    async def call(self, name: str, /, **kwargs: Any) -> Any:
        """:meth:`first` for a first-result hook, :meth:`broadcast` otherwise."""
        if self.is_first_result(name):
            return await self.first(name, **kwargs)
        return await self.broadcast(name, **kwargs)

    async def call_historic(self, name: str, /, **kwargs: Any) -> list[Any]:
        """Broadcast ``name`` now and to every hook object registered later (see :meth:`replay`)."""
        self._history.append((name, kwargs))
        return await self.broadcast(name, **kwargs)

    async def replay(self, obj: object) -> None:
        """Call ``obj``'s implementations of the historic hooks called so far (``obj`` was just registered)."""
        for name, kwargs in self._history:
            caller = getattr(self.pm.hook, name)
            for impl in caller.get_hookimpls():
                if impl.plugin is obj:
                    await self._run(name, impl, kwargs)

    @staticmethod
    async def _run(name: str, impl: Any, kwargs: dict[str, Any]) -> Any:
        try:
            value = await _invoke(impl, kwargs)
        except Exception as exc:
            log.error("hook failed", hook=name, plugin=_owner(impl), exc_info=exc)
            return None
        return value
