"""``python -m core.testing.emulator [PORT]``: the standalone emulator with its demo guild."""

from __future__ import annotations

from .standalone import main

if __name__ == "__main__":
    main()
