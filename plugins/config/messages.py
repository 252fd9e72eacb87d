"""How a refused value is told to a person: one plain sentence, the value cut short.

The service says what went wrong and what is expected (:class:`FieldError`); this module only words it
for the form and the ``/config`` replies, so a 120-character value is not echoed back in full and
pydantic's technical reason ("string should have at least 1 character") does not reach the reader.
"""

from __future__ import annotations

import re

from .service import FieldError

#: A value quoted back in a message is cut to this many characters.
VALUE_CHARS = 40

_ECHO = re.compile(r"^(?P<value>.*) is not allowed \((?P<reason>.*)\)$", re.DOTALL)
_QUOTED = re.compile("'([^']{" + str(VALUE_CHARS + 1) + ",})'")


def cut(text: str, limit: int = VALUE_CHARS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plain(err: FieldError) -> str:
    """One sentence: what is wrong with the value (quoted short), then what is expected."""
    echoed = _ECHO.match(err.problem)
    if echoed is None:
        problem = _QUOTED.sub(lambda m: repr(cut(m.group(1))), err.problem)
    elif echoed["value"] in ("''", '""'):
        problem = "this cannot be empty"
    else:
        value = echoed["value"]
        quoted = value[:1] in ("'", '"') and value[-1:] == value[:1]
        problem = f"{repr(cut(value[1:-1])) if quoted else cut(value)} is not allowed"
    sentence = f"{problem}: expected {err.expected}" if err.expected else problem
    sentence = sentence[0].upper() + sentence[1:]
    return sentence if sentence.endswith((".", "?", "!")) else sentence + "."
