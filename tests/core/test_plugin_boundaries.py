"""Plugins stand on the public plugin API only: ``core.plugin`` (and ``core.testing`` in their tests) and
``webadmin.public``; they never reach the runtime, the plugin host, pluggy's manager, the bus or webadmin's
request globals. The scaffold that ``omo new-plugin`` writes is held to the same rule."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.scaffold import TEMPLATE_DIR, _render

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"core.plugin", "webadmin.public"}
ALLOWED_IN_TESTS = {"core.testing"}
FORBIDDEN_ATTRIBUTES = {"runtime", "host", "pm", "bus"}
FORBIDDEN_STRINGS = ("omo_viewer", "OMO_RUNTIME", "OMO_ADMIN_CHECK")


def violations(source: str, where: str, *, in_tests: bool) -> list[str]:
    """Every import of core or webadmin outside the public API, and every reach into core's internals."""
    allowed = ALLOWED | (ALLOWED_IN_TESTS if in_tests else set())
    found = []
    for node in ast.walk(ast.parse(source)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        for module in modules:
            top = module.split(".")[0]
            if top in ("core", "webadmin") and not any(module == a or module.startswith(a + ".") for a in allowed):
                found.append(f"{where}:{node.lineno} imports {module}")
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            found.append(f"{where}:{node.lineno} uses .{node.attr}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(FORBIDDEN_STRINGS):
            found.append(f"{where}:{node.lineno} uses {node.value!r}")
    return found


def plugin_sources() -> Iterator[tuple[str, str, bool]]:
    """``(where, source, in_tests)`` of every module under plugins/ and of the rendered scaffold."""
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        relative = path.relative_to(ROOT)
        if "migrations" in relative.parts:
            continue
        yield str(relative), path.read_text(encoding="utf-8"), "tests" in relative.parts
    values = {"name": "sample", "Name": "Sample", "title": "Sample", "module": "plugins.sample"}
    for path in sorted(TEMPLATE_DIR.rglob("*.py.tmpl")):
        relative = path.relative_to(ROOT)
        yield str(relative), _render(path.read_text(encoding="utf-8"), values), "tests" in relative.parts


SOURCES = list(plugin_sources())


@pytest.mark.parametrize(("where", "source", "in_tests"), SOURCES, ids=[s[0] for s in SOURCES])
def test_plugin_uses_only_the_public_plugin_api(where: str, source: str, in_tests: bool) -> None:
    assert violations(source, where, in_tests=in_tests) == []


def test_the_check_finds_what_it_is_meant_to_find() -> None:
    bad = """
from core.db import retrying
from core.plugin import hookimpl
import webadmin.auth
from webadmin.public import current_user
from core.testing import eventually
from quart import g

def f(plugin):
    plugin.runtime.host.pm.register(object())
    plugin.bus.publish("x", {})
    return g.get("omo_viewer")
"""
    found = violations(bad, "bad.py", in_tests=False)
    in_tests = violations(bad, "tests/bad.py", in_tests=True)

    imports = [f for f in found if " imports " in f]
    uses = {f.split(" uses ")[1] for f in found if " uses " in f}
    assert imports == ["bad.py:2 imports core.db", "bad.py:4 imports webadmin.auth", "bad.py:6 imports core.testing"]
    assert uses == {".runtime", ".host", ".pm", ".bus", "'omo_viewer'"}
    assert [f for f in in_tests if " imports " in f] == [i.replace("bad.py", "tests/bad.py") for i in imports[:2]]
