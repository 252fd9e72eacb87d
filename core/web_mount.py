"""Mount, swap and remove plugin blueprints on a live Quart app.

Flask and Quart cannot unregister a blueprint. A plugin's blueprint is therefore
registered on a scratch app first (staging: any error leaves the live app as it
was), and the resulting rules, view functions and per-blueprint hooks are then
swapped into the live app in one step, with a freshly built URL map.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from quart import Blueprint, Quart
from werkzeug.routing import Map

GuildGuard = Callable[[str, int], Awaitable[Any]]

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


def copy_rule(rule: Any) -> Any:
    """An unbound copy of a routing rule (Quart's rules take different arguments than werkzeug's ``empty``)."""
    return type(rule)(
        rule.rule,
        defaults=dict(rule.defaults) if rule.defaults else None,
        subdomain=rule.subdomain,
        methods=rule.methods,
        endpoint=rule.endpoint,
        strict_slashes=rule.strict_slashes,
        merge_slashes=rule.merge_slashes,
        host=rule.host,
        websocket=rule.websocket,
        provide_automatic_options=getattr(rule, "provide_automatic_options", False),
    )


def _owned(name: str | None, plugin: str) -> bool:
    return name is not None and (name == plugin or name.startswith(plugin + "."))


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

    def __init__(self, app: Quart, guard: GuildGuard) -> None:
        self.app = app
        self.guard = guard

    def stage(self, plugin: str, blueprint: Blueprint | None) -> Staged:
        """Register ``blueprint`` on a scratch app and collect what it added; raises on any error."""
        staged = Staged(plugin)
        if blueprint is None:
            return staged
        if blueprint.name != plugin:
            raise ValueError(f"the blueprint of plugin {plugin!r} must be named {plugin!r}, not {blueprint.name!r}")
        scratch = Quart(self.app.import_name)
        scratch.url_map.converters.update(self.app.url_map.converters)
        scratch.register_blueprint(blueprint, url_prefix=mount_prefix(plugin))
        staged.rules = [copy_rule(rule) for rule in scratch.url_map.iter_rules() if _owned(rule.endpoint, plugin)]
        staged.view_functions = {k: v for k, v in scratch.view_functions.items() if _owned(k, plugin)}
        staged.blueprints = {k: v for k, v in scratch.blueprints.items() if _owned(k, plugin)}
        for attr in _NAME_KEYED:
            source = getattr(scratch, attr, None)
            if source is not None:
                staged.keyed[attr] = {k: v for k, v in source.items() if _owned(k, plugin)}
        guard = self._guard_for(plugin)
        staged.keyed.setdefault("before_request_funcs", {}).setdefault(plugin, []).insert(0, guard)
        return staged

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
        app = self.app
        staged = Staged(plugin)
        staged.rules = [copy_rule(rule) for rule in app.url_map.iter_rules() if _owned(rule.endpoint, plugin)]
        staged.view_functions = {k: v for k, v in app.view_functions.items() if _owned(k, plugin)}
        staged.blueprints = {k: v for k, v in app.blueprints.items() if _owned(k, plugin)}
        for attr in _NAME_KEYED:
            source = getattr(app, attr, None)
            if source is not None:
                staged.keyed[attr] = {k: v for k, v in source.items() if _owned(k, plugin)}
        return staged

    def swap(self, plugin: str, staged: Staged) -> Staged:
        """Replace ``plugin``'s routes with ``staged``; return what was there before."""
        app = self.app
        previous = self.current(plugin)
        old_map = app.url_map
        new_map = Map(
            default_subdomain=old_map.default_subdomain,
            strict_slashes=old_map.strict_slashes,
            merge_slashes=old_map.merge_slashes,
            redirect_defaults=old_map.redirect_defaults,
            sort_parameters=old_map.sort_parameters,
            sort_key=old_map.sort_key,
            host_matching=old_map.host_matching,
        )
        new_map.__class__ = old_map.__class__
        new_map.converters = dict(old_map.converters)
        for rule in old_map.iter_rules():
            if not _owned(rule.endpoint, plugin):
                new_map.add(copy_rule(rule))
        for rule in staged.rules:
            new_map.add(copy_rule(rule))
        # everything below is synchronous: no request can see a half-swapped app
        for key in [k for k in app.view_functions if _owned(k, plugin)]:
            del app.view_functions[key]
        app.view_functions.update(staged.view_functions)
        for key in [k for k in app.blueprints if _owned(k, plugin)]:
            del app.blueprints[key]
        app.blueprints.update(staged.blueprints)
        for attr in _NAME_KEYED:
            target = getattr(app, attr, None)
            if target is None:
                continue
            for key in [k for k in target if _owned(k, plugin)]:
                del target[key]
            target.update(staged.keyed.get(attr, {}))
        app.url_map = new_map
        cache = getattr(app.jinja_env, "cache", None)
        if cache is not None:
            cache.clear()
        return previous

    def remove(self, plugin: str) -> Staged:
        """Take ``plugin``'s routes off the app; return them."""
        return self.swap(plugin, Staged(plugin))

    def plugin_of_endpoint(self, endpoint: str | None) -> str | None:
        """The plugin that owns ``endpoint`` (its blueprint name prefix)."""
        return endpoint.split(".", 1)[0] if endpoint and "." in endpoint else None
