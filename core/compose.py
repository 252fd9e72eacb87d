"""The composition point: a runtime together with the web admin it serves.

The runtime (:mod:`core.runtime`) does not import its UI; ``omo run``, ``omo demo``, the test fixtures
and the benchmarks build their runtime here, which hands it the web admin's app factory. This module
and the CLI are the only places in core (besides :mod:`core.testing`) that know :mod:`webadmin` exists.
"""

from __future__ import annotations

from core.environment import Environment
from core.runtime import RunOptions, Runtime


def compose_runtime(env: Environment, options: RunOptions | None = None) -> Runtime:
    """A runtime for ``env`` serving the web admin (dashboard, JSON API and plugin pages)."""
    from webadmin.app import create_app

    return Runtime(env, options, web=create_app)
