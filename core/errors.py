"""Errors with messages a user can act on. The CLI and dashboard show ``str(error)``."""

from __future__ import annotations


class OmoError(Exception):
    """Base class of every error omo raises on purpose."""


class ConfigError(OmoError):
    """plugins.toml (or the environment) is invalid; the message names file, line and reason."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
        super().__init__(f"{where}{message}")
        self.reason = message


class PluginError(OmoError):
    """Something went wrong with one plugin; ``plugin`` names it."""

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")


class PluginNotFound(PluginError):
    """No plugin of that name was discovered (in-tree or entry point)."""


class PluginNotLoaded(PluginError):
    """The plugin is known but not loaded in this process."""


class PluginLoadFailed(PluginError):
    """Importing or starting the plugin raised; the previous state is kept."""


class MigrationRequired(PluginError):
    """The plugin's models changed: a migration and a restart are needed, not a reload."""


class DependencyError(PluginError):
    """A declared dependency is missing, disabled, failed or cyclic."""


class DatabaseError(OmoError):
    """The database is unreachable or not migrated; the message says what to run."""
