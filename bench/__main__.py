"""Run one benchmark: ``python -m bench NAME [ARGS...]``.

Each benchmark is a module ``bench/<name>.py`` exposing ``main(argv: list[str]) -> dict``.
It logs progress as it goes and the runner prints the returned figures as one
JSON line, always the last line of output.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    """Names of the benchmarks shipped in this package."""
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    """Dispatch to ``bench.<name>.main`` and print its figures as the last JSON line."""
    args = list(sys.argv[1:] if argv is None else argv)
    names = available()
    if not args or args[0] in {"-h", "--help"}:
        sys.stderr.write("usage: python -m bench NAME [ARGS...]\n\nbenchmarks: " + ", ".join(names) + "\n")
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in names:
        sys.stderr.write(f"unknown benchmark {name!r}; choose one of: {', '.join(names)}\n")
        return 2
    module = importlib.import_module(f"bench.{name}")
    figures = module.main(rest)
    sys.stdout.write(json.dumps({"bench": name, **figures}, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
