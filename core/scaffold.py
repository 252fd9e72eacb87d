"""``omo new-plugin NAME``: write a plugin package that runs, has a migration and a passing test.

The files come from ``core/scaffold_template/`` (``*.tmpl``; ``__name__`` in a path
becomes the plugin name, ``${name}``-style placeholders in the text are filled in).
After writing them, the initial migration for the plugin's model is generated
with :func:`core.migrator.make_migration`, so the plugin is ready for
``omo db upgrade``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import keyword
import re
import shutil
import sys
from pathlib import Path
from string import Template

import structlog

from core.errors import ConfigError

log = structlog.get_logger("omo.scaffold")

TEMPLATE_DIR = Path(__file__).parent / "scaffold_template"
#: Lower-case identifier short enough to be a Discord command name (32 characters at most).
NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
#: Names that would shadow omo's own packages or core's commands.
RESERVED = frozenset({"core", "plugins", "webadmin", "tests", "bench", "docs", "migrations", "help", "omo"})


class PluginNameError(ConfigError):
    """The name given to ``omo new-plugin`` cannot be used; the message says why."""


def validate_name(name: str, target_dir: Path) -> None:
    """Raise :class:`PluginNameError` unless ``name`` can become a new plugin in ``target_dir``."""
    if not NAME.match(name):
        raise PluginNameError(
            f"plugin name {name!r} must be a lower-case identifier: a letter, then letters, digits or _ "
            "(32 characters at most)"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise PluginNameError(f"plugin name {name!r} is a Python keyword")
    if name in RESERVED:
        raise PluginNameError(f"plugin name {name!r} is reserved by omo; choose another")
    if (target_dir / name).exists():
        raise PluginNameError(f"{target_dir / name} already exists; choose another name or remove it")
    from core.plugin_host import discover

    found = discover()
    if name in found:
        raise PluginNameError(f"a plugin named {name!r} already exists ({found[name][0]})")


def import_path(target_dir: Path, name: str) -> str:
    """The dotted module name of the package ``target_dir/name``.

    Like Python (and pytest) see it: the enclosing folders that are packages (have an
    ``__init__.py``) become the prefix, so the project's ``plugins/`` gives ``plugins.NAME`` and a
    plain folder gives ``NAME`` (importable once that folder is on ``sys.path``).
    """
    folder = target_dir.resolve()
    return ".".join((*folder.relative_to(package_root(folder)).parts, name))


def package_root(target_dir: Path) -> Path:
    """The folder that must be on ``sys.path`` for :func:`import_path` to import."""
    folder = target_dir.resolve()
    while (folder / "__init__.py").is_file() and folder.name.isidentifier() and folder.parent != folder:
        folder = folder.parent
    return folder


def _render(text: str, values: dict[str, str]) -> str:
    return Template(text).substitute(values)


def _write_files(name: str, package: Path, values: dict[str, str]) -> list[Path]:
    created: list[Path] = []
    for source in sorted(TEMPLATE_DIR.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE_DIR).with_suffix("")
        target = package / Path(*(part.replace("__name__", name) for part in relative.parts))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_render(source.read_text(encoding="utf-8"), values), encoding="utf-8")
        created.append(target)
    return created


def _make_initial_migration(name: str, module: str, target_dir: Path) -> Path:
    from core.migrator import make_migration, migrations_root

    root = str(package_root(target_dir))
    added = False
    importlib.invalidate_caches()
    if _not_importable(module):
        sys.path.insert(0, root)
        added = True
    before = set(sys.modules)
    try:
        location = migrations_root(f"{module}.models")
        path = asyncio.run(make_migration(name, f"{module}.models", location, "init"))
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(root)
        for key in set(sys.modules) - before:
            if key == module or key.startswith(module + "."):
                del sys.modules[key]
    if path is None:
        raise ConfigError(f"no migration was generated for the models of {name!r}")
    return path


def _not_importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ImportError:
        return True


def scaffold_plugin(name: str, target_dir: Path) -> list[Path]:
    """Create the plugin package ``target_dir/name`` with its initial migration; return the files written.

    Raises :class:`PluginNameError` (a :class:`ConfigError`) when ``name`` cannot be used; on any
    failure nothing is left behind.
    """
    validate_name(name, target_dir)
    module = import_path(target_dir, name)
    if "." not in module and not _not_importable(module):
        raise PluginNameError(f"plugin name {name!r} would shadow the installed module {name!r}; choose another")
    camel = "".join(part.capitalize() for part in name.split("_") if part)
    values = {
        "name": name,
        "Name": camel,
        "title": name.replace("_", " ").capitalize(),
        "module": module,
    }
    package = target_dir / name
    try:
        created = _write_files(name, package, values)
        created.append(_make_initial_migration(name, module, target_dir))
    except BaseException:
        shutil.rmtree(package, ignore_errors=True)
        raise
    for cache in package.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    log.info("plugin scaffolded", plugin=name, module=module, files=len(created))
    return created
