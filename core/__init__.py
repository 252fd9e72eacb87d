"""omo-bot core: the runtime, plugin host and the contracts plugins build on.

Plugin authors import what they need from :mod:`core.plugin` (``hookimpl``,
``PluginInfo``, ``PluginContext``) and test with the fixtures of
:mod:`core.testing.pytest_plugin`.
"""

__version__ = "0.1.0"
