"""Mount, swap and remove plugin blueprints on a live Quart app.

Flask and Quart cannot unregister a blueprint. A plugin's blueprint is therefore
registered on a scratch app first (staging: any error leaves the live app as it
was), and the resulting rules, view functions and per-blueprint hooks are then
swapped into the live app in one synchronous step (rules stay compiled; only the
URL matcher is rebuilt).

A route may also be served at a second address (the web admin serves a plugin's
``api/`` routes under ``/api/v1``): the mount adds a copy of its rule with the same
endpoint, so a request to either address is dispatched by Quart as usual (same
view, guard, hooks, error handlers and rate limits).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from quart import Blueprint, Quart
from quart.routing import QuartRule
from werkzeug.routing.matcher import StateMachineMatcher

GuildGuard = Callable[[str, int], Awaitable[Any]]
#: The second address of a plugin route (a rule string), or None: e.g. ``/guilds/<int:guild_id>/p/api/x``
#: -> ``/api/v1/guilds/<int:guild_id>/p/x``.
RouteAlias = Callable[[str], "str | None"]

_NAME_KEYED = (
    "before_request_funcs",
    "after_request_funcs",
    "teardown_request_funcs",
    "template_context_processors",
    "url_value_preprocessors",
    "url_default_functions",
    "error_handler_spec",
    "before_websocket_funcs",
    "after_websocket_funcs",
    "teardown_websocket_funcs",
)


def mount_prefix(plugin: str) -> str:
    """URL prefix of a plugin's blueprint."""
    return f"/guilds/<int:guild_id>/{plugin}"


def _owned(name: str | None, plugin: str) -> bool:
    return name is not None and (name == plugin or name.startswith(plugin + "."))


def _collect(app: Quart, plugin: str) -> Staged:
    """Everything ``plugin`` has registered on ``app``."""
    staged = Staged(plugin)
    staged.rules = [rule for rule in app.url_map.iter_rules() if _owned(rule.endpoint, plugin)]
    staged.view_functions = {k: v for k, v in app.view_functions.items() if _owned(k, plugin)}
    staged.blueprints = {k: v for k, v in app.blueprints.items() if _owned(k, plugin)}
    for attr in _NAME_KEYED:
        source = getattr(app, attr, None)
        if source is not None:
            staged.keyed[attr] = {k: v for k, v in source.items() if _owned(k, plugin)}
    return staged


def _drop(app: Quart, plugin: str) -> None:
    """Remove ``plugin``'s view functions, blueprints and per-blueprint hooks from ``app`` (not its rules)."""
    targets: list[dict[Any, Any]] = [app.view_functions, app.blueprints]
    targets += [t for t in (getattr(app, attr, None) for attr in _NAME_KEYED) if t is not None]
    for target in targets:
        for key in [k for k in target if _owned(k, plugin)]:
            del target[key]


@dataclass
class Staged:
    """Everything a plugin's blueprint adds to an app, ready to swap in."""

    plugin: str
    rules: list[Any] = field(default_factory=list)
    view_functions: dict[str, Any] = field(default_factory=dict)
    blueprints: dict[str, Any] = field(default_factory=dict)
    keyed: dict[str, dict[str, Any]] = field(default_factory=dict)


class WebMount:
    """Keeps track of which plugin owns which routes on ``app``."""

    def __init__(self, app: Quart, guard: GuildGuard, alias: RouteAlias | None = None) -> None:
        self.app = app
        self.guard = guard
        self.alias = alias
        self._scratch: Quart | None = None

    def stage(self, plugin: str, blueprint: Blueprint | None) -> Staged:
        """Register ``blueprint`` on a scratch app and collect what it added; raises on any error."""
        if blueprint is None:
            return Staged(plugin)
        if blueprint.name != plugin:
            raise ValueError(f"the blueprint of plugin {plugin!r} must be named {plugin!r}, not {blueprint.name!r}")
        scratch = self._scratch_app()
        try:
            scratch.register_blueprint(blueprint, url_prefix=mount_prefix(plugin))
            self._add_aliases(scratch, plugin)
            staged = _collect(scratch, plugin)
        finally:  # also after a failed registration: the next staging of this plugin starts clean
            self._reset_scratch(plugin)
        guard = self._guard_for(plugin)
        staged.keyed.setdefault("before_request_funcs", {}).setdefault(plugin, []).insert(0, guard)
        return staged

    def _add_aliases(self, scratch: Quart, plugin: str) -> None:
        """Give each route of ``plugin`` that has an alias a second rule at that address (same endpoint)."""
        if self.alias is None:
            return
        for rule in list(scratch.url_map.iter_rules()):
            path = self.alias(rule.rule) if _owned(rule.endpoint, plugin) else None
            if path is None:
                continue
            assert isinstance(rule, QuartRule)
            scratch.add_url_rule(
                path,
                rule.endpoint,
                provide_automatic_options=rule.provide_automatic_options,
                methods=rule.methods,
                defaults=rule.defaults,
                strict_slashes=rule.strict_slashes,
                merge_slashes=rule.merge_slashes,
                websocket=rule.websocket,
            )

    def _scratch_app(self) -> Quart:
        if self._scratch is None:
            self._scratch = Quart(self.app.import_name, static_folder=None)
            self._scratch.url_map.converters.update(self.app.url_map.converters)
        return self._scratch

    def _reset_scratch(self, plugin: str) -> None:
        """Forget what staging ``plugin`` added to the scratch app, so it can be reused."""
        scratch = self._scratch
        assert scratch is not None
        old = scratch.url_map
        scratch.url_map = type(old)(
            host_matching=old.host_matching, strict_slashes=old.strict_slashes, merge_slashes=old.merge_slashes
        )
        scratch.url_map.converters = dict(old.converters)
        _drop(scratch, plugin)

    def _guard_for(self, plugin: str) -> Callable[[], Awaitable[Any]]:
        async def guard() -> Any:
            from quart import request

            guild_id = (request.view_args or {}).get("guild_id")
            if not isinstance(guild_id, int):
                return "Not found", 404
            return await self.guard(plugin, guild_id)

        guard.__name__ = f"omo_guard_{plugin}"
        return guard

    def current(self, plugin: str) -> Staged:
        """What ``plugin`` has on the live app now (to restore on rollback)."""
        return _collect(self.app, plugin)

    def swap(self, plugin: str, staged: Staged) -> None:
        """Replace ``plugin``'s routes with ``staged`` (:meth:`current` first, to keep what was there)."""
        app = self.app
        live = app.url_map
        # Rules stay compiled: the live ones are reused, the staged ones were compiled on the scratch
        # map. Only the matcher (cheap, no compiling) is rebuilt.
        matcher = StateMachineMatcher(live.merge_slashes)
        by_endpoint: dict[Any, list[Any]] = {}
        for endpoint, rules in live._rules_by_endpoint.items():
            if _owned(endpoint, plugin):
                continue
            by_endpoint[endpoint] = rules
            for rule in rules:
                if not rule.build_only:
                    matcher.add(rule)
        for rule in staged.rules:
            rule.map = live
            if not rule.build_only:
                matcher.add(rule)
            by_endpoint.setdefault(rule.endpoint, []).append(rule)
        # everything below is synchronous: no request can see a half-swapped app
        _drop(app, plugin)
        app.view_functions.update(staged.view_functions)
        app.blueprints.update(staged.blueprints)
        for attr in _NAME_KEYED:
            target = getattr(app, attr, None)
            if target is not None:
                target.update(staged.keyed.get(attr, {}))
        live._matcher = matcher
        live._rules_by_endpoint = by_endpoint
        live._remap = True
        cache = getattr(app.jinja_env, "cache", None)
        if cache is not None:
            cache.clear()

    def remove(self, plugin: str) -> None:
        """Take ``plugin``'s routes off the app."""
        self.swap(plugin, Staged(plugin))
