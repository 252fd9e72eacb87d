"""What each field of a plugin's settings model is, how to read it from text and how to show it.

A plugin author declares settings with plain pydantic. Types understood from the annotation:
``int``, ``float``, ``bool``, ``str``, ``Literal[...]``, ``Enum``, ``datetime.time``, ``timedelta``,
``zoneinfo.ZoneInfo``, ``list[...]`` of those, and ``X | None``. Discord objects and text forms that
an annotation cannot express are marked with ``Field(json_schema_extra={"omo_type": KIND})``:

* ``"channel"`` / ``"role"`` on an ``int`` (or ``list[int]``) field: a channel / role id of the guild;
* ``"duration"`` on an ``int`` or ``float`` field: seconds, entered as ``90s``, ``5m``, ``1h30m``, ``2d``;
* ``"time"`` on a ``str`` field: a time of day stored as ``"HH:MM"``;
* ``"timezone"`` on a ``str`` field: an IANA timezone name checked with :mod:`zoneinfo`.

Every value is bounded (:func:`check_bounds`): a list holds at most :data:`DEFAULT_MAX_ITEMS` items and a
value takes at most :data:`DEFAULT_MAX_BYTES` bytes as JSON, unless the model raises the cap explicitly
with ``Field(max_length=N)`` (items of a list, characters of a text) or
``Field(json_schema_extra={"omo_max_bytes": N})``; text holds no NUL or other control character (tab and
newlines excepted); numbers are finite, and yes/no is never read as a number.

No import from this plugin is needed (plugins never import each other). Free of Discord and HTTP types.
"""

from __future__ import annotations

import enum
import json
import math
import re
import types
import typing
from dataclasses import dataclass
from datetime import time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

OMO_TYPES = ("channel", "role", "duration", "time", "timezone")
NONE_WORDS = frozenset({"none", "null", "-", "unset"})
TRUE_WORDS = frozenset({"yes", "y", "on", "true", "1", "enable", "enabled"})
FALSE_WORDS = frozenset({"no", "n", "off", "false", "0", "disable", "disabled"})
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)", re.IGNORECASE)
_DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_MENTION = {"channel": re.compile(r"^<#(\d+)>$"), "role": re.compile(r"^<@&(\d+)>$")}
#: Items in a list setting, unless its model says ``max_length``.
DEFAULT_MAX_ITEMS = 100
#: Bytes of one value as JSON, unless its model says ``omo_max_bytes`` (or a longer ``max_length`` on text).
DEFAULT_MAX_BYTES = 8192
#: Control characters refused in text (tab, newline and carriage return are allowed).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NUMERIC_KINDS = frozenset({"int", "float", "duration", "channel", "role"})


class ValueProblem(ValueError):
    """A value could not be read; the message says what was expected."""


@dataclass(frozen=True)
class Directory:
    """The guild's channels and roles as ``(id, name)`` pairs, to read names and check ids."""

    channels: tuple[tuple[int, str], ...] = ()
    roles: tuple[tuple[int, str], ...] = ()
    known: bool = False

    def entries(self, kind: str) -> tuple[tuple[int, str], ...]:
        """Channels or roles."""
        return self.channels if kind == "channel" else self.roles

    def name_of(self, kind: str, ident: int) -> str | None:
        """Name of a channel or role id, None when unknown."""
        for eid, name in self.entries(kind):
            if eid == ident:
                return name
        return None


@dataclass(frozen=True)
class FieldSpec:
    """One settings field, as the commands, forms and API need it."""

    name: str
    kind: str
    label: str = ""
    description: str = ""
    optional: bool = False
    item: FieldSpec | None = None
    choices: tuple[Any, ...] = ()
    ge: Any = None
    le: Any = None
    gt: Any = None
    lt: Any = None
    min_length: int | None = None
    max_length: int | None = None
    max_bytes: int | None = None
    native: str = ""

    # -------------------------------------------------------------- describing
    def range_text(self) -> str:
        """The allowed range in words ("from 1 to 5", "at least 60s"), or ""."""
        low = self.ge if self.ge is not None else self.gt
        high = self.le if self.le is not None else self.lt

        def show(v: Any) -> str:
            if self.kind == "duration" or isinstance(v, timedelta):
                return format_duration(v)
            return str(int(v)) if float(v).is_integer() else str(v)

        if low is not None and high is not None and self.ge is not None and self.le is not None:
            return f"from {show(low)} to {show(high)}"
        parts = []
        if low is not None:
            parts.append(f"{'at least' if self.ge is not None else 'more than'} {show(low)}")
        if high is not None:
            parts.append(f"{'at most' if self.le is not None else 'less than'} {show(high)}")
        return " and ".join(parts)

    def length_text(self, unit: str) -> str:
        """Length limits in words."""
        lo, hi = self.min_length, self.max_length
        if lo and hi is not None:
            return f"{lo} to {hi} {unit}"
        if hi is not None:
            return f"at most {hi} {unit}"
        if lo:
            return f"at least {lo} {unit}"
        return ""

    def expected(self) -> str:
        """What a valid value looks like, with its range ("a whole number from 1 to 5")."""
        base = {
            "int": "a whole number",
            "float": "a number",
            "bool": "yes or no",
            "str": "text",
            "choice": "one of " + ", ".join(str(c) for c in self.choices),
            "time": "a time of day like 07:30",
            "duration": "a duration like 90s, 5m, 1h30m or 2d",
            "timezone": "an IANA timezone like Europe/Paris",
            "channel": "a channel (#mention, id or name)",
            "role": "a role (@mention, id or name)",
        }.get(self.kind, self.kind)
        if self.kind == "list" and self.item is not None:
            base = "a comma-separated list of " + _plural(self.item)
            limit = self.length_text("items")
            if limit:
                base += f" ({limit})"
        elif self.kind == "str":
            limit = self.length_text("characters")
            if limit:
                base += f" of {limit}"
        else:
            rng = self.range_text()
            if rng:
                base += f" {rng}"
        if self.optional:
            base += " (or none)"
        return base

    def to_schema(self) -> dict[str, Any]:
        """A JSON description for the API and the forms."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "label": self.label,
            "description": self.description,
            "optional": self.optional,
            "expected": self.expected(),
        }
        for attr in ("ge", "le", "gt", "lt", "min_length", "max_length"):
            value = getattr(self, attr)
            if value is not None:
                out[attr] = value.total_seconds() if isinstance(value, timedelta) else value
        if self.choices:
            out["choices"] = [_jsonable(c) for c in self.choices]
        if self.item is not None:
            out["item"] = self.item.to_schema()
        return out


def _plural(item: FieldSpec) -> str:
    words = {
        "int": "whole numbers",
        "float": "numbers",
        "str": "texts",
        "channel": "channels",
        "role": "roles",
        "time": "times of day",
        "duration": "durations",
        "timezone": "timezones",
        "bool": "yes/no values",
    }
    if item.kind == "choice":
        return "values among " + ", ".join(str(c) for c in item.choices)
    text = words.get(item.kind, item.kind)
    rng = item.range_text()
    return f"{text} {rng}" if rng else text


def _jsonable(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


# ------------------------------------------------------------------ introspection
def _constraints(spec: dict[str, Any], metadata: list[Any]) -> None:
    for meta in metadata:
        for attr in ("ge", "le", "gt", "lt", "min_length", "max_length"):
            value = getattr(meta, attr, None)
            if value is not None:
                spec[attr] = value
        if isinstance(meta, annotated_types.Len):
            spec["min_length"] = meta.min_length or None
            spec["max_length"] = meta.max_length


def _describe(name: str, annotation: Any, metadata: list[Any], omo_type: str | None, **base: Any) -> FieldSpec:
    spec: dict[str, Any] = dict(base)
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            args = typing.get_args(annotation)
            annotation = args[0]
            metadata = [*metadata, *args[1:]]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(members) < len(typing.get_args(annotation))
            if len(members) == 1:
                annotation = members[0]
                continue
            raise TypeError(f"setting {name!r}: unions other than `X | None` are not supported")
        break
    _constraints(spec, [m for m in metadata if not isinstance(m, FieldInfo)])
    for m in metadata:
        if isinstance(m, FieldInfo):
            _constraints(spec, m.metadata)
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set):
        args = typing.get_args(annotation)
        item_annotation = args[0] if args else str
        item = _describe(name, item_annotation, [], omo_type)
        return FieldSpec(
            name=name,
            kind="list",
            item=item,
            optional=optional,
            native="list",
            **{k: v for k, v in spec.items() if k in ("label", "description", "min_length", "max_length", "max_bytes")},
        )
    if origin is typing.Literal:
        return FieldSpec(
            name=name, kind="choice", choices=typing.get_args(annotation), optional=optional, native="literal", **spec
        )
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return FieldSpec(
            name=name,
            kind="choice",
            choices=tuple(m.value for m in annotation),
            optional=optional,
            native="enum",
            **spec,
        )
    native = (
        {
            bool: "bool",
            int: "int",
            float: "float",
            str: "str",
            time: "time",
            timedelta: "duration",
            ZoneInfo: "timezone",
        }.get(annotation)
        if isinstance(annotation, type)
        else None
    )
    if native is None:
        raise TypeError(f"setting {name!r}: type {annotation!r} is not supported by the config plugin")
    kind = native
    if omo_type:
        if omo_type not in OMO_TYPES:
            raise TypeError(f"setting {name!r}: unknown omo_type {omo_type!r} (use one of {', '.join(OMO_TYPES)})")
        kind = omo_type
    return FieldSpec(name=name, kind=kind, optional=optional, native=native, **spec)


def field_spec(name: str, info: FieldInfo) -> FieldSpec:
    """Describe one field of a settings model."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    omo_type = extra.get("omo_type")
    max_bytes = extra.get("omo_max_bytes")
    if max_bytes is not None and (not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1):
        raise TypeError(f"setting {name!r}: omo_max_bytes must be a positive whole number")
    label = info.title or name.replace("_", " ").capitalize()
    return _describe(
        name,
        info.annotation,
        list(info.metadata),
        str(omo_type) if omo_type else None,
        label=label,
        description=info.description or "",
        max_bytes=max_bytes,
    )


@lru_cache(maxsize=256)
def model_specs(model: type[BaseModel]) -> dict[str, FieldSpec]:
    """Every field of a settings model, in declaration order (cached per model class)."""
    return {name: field_spec(name, info) for name, info in model.model_fields.items()}


# ------------------------------------------------------------------ parsing text
def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``5m``, ``1h30m``, ``2d``, ``1w`` (or ISO 8601 ``PT5M``)."""
    raw = text.strip().lower().replace(" ", "")
    if not raw:
        raise ValueProblem("empty duration")
    try:
        return float(raw)
    except ValueError:
        pass
    if raw.startswith("p"):
        from pydantic import TypeAdapter, ValidationError

        try:
            return TypeAdapter(timedelta).validate_python(raw.upper()).total_seconds()
        except ValidationError:
            raise ValueProblem(f"{text!r} is not a duration") from None
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]
        pos = match.end()
    if pos != len(raw):
        raise ValueProblem(f"{text!r} is not a duration")
    return total


def format_duration(seconds: float | timedelta) -> str:
    """``5400`` -> ``1h30m``."""
    rest = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
    if rest == 0:
        return "0s"
    sign = "-" if rest < 0 else ""
    rest = abs(rest)
    out = []
    for unit in ("d", "h", "m"):
        size = _DURATION_UNITS[unit]
        count = int(rest // size)
        if count:
            out.append(f"{count}{unit}")
            rest -= count * size
    if rest:
        out.append(f"{int(rest) if float(rest).is_integer() else round(rest, 3)}s")
    return sign + "".join(out)


def parse_time(text: str) -> str:
    """``"7:30"`` -> ``"07:30"`` (seconds kept when given)."""
    match = _TIME.match(text.strip())
    if not match:
        raise ValueProblem(f"{text!r} is not a time of day")
    hour, minute, second = int(match.group(1)), int(match.group(2)), match.group(3)
    if hour > 23 or minute > 59 or (second is not None and int(second) > 59):
        raise ValueProblem(f"{text!r} is not a time of day")
    return f"{hour:02d}:{minute:02d}" + (f":{int(second):02d}" if second else "")


@lru_cache(maxsize=1)
def _timezones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones() if name not in ("localtime", "Factory", "posixrules")}


def parse_timezone(text: str) -> str:
    """An IANA name, case-insensitively (``europe/paris`` -> ``Europe/Paris``)."""
    raw = text.strip()
    name = _timezones().get(raw.lower(), raw)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueProblem(f"{text!r} is not a known timezone") from None
    return name


def timezone_names(prefix: str = "") -> list[str]:
    """Known IANA names containing ``prefix`` (case-insensitive), sorted."""
    low = prefix.lower()
    return sorted(n for k, n in _timezones().items() if low in k)


def parse_reference(kind: str, text: str, directory: Directory | None) -> int:
    """A channel or role from a mention, an id or a name (names need ``directory``)."""
    raw = text.strip()
    match = _MENTION[kind].match(raw)
    if match:
        ident = int(match.group(1))
    elif raw.isdigit():
        ident = int(raw)
    else:
        name = raw.lstrip("#@").strip().lower()
        found = [eid for eid, ename in (directory.entries(kind) if directory else ()) if ename.lower() == name]
        if not found:
            raise ValueProblem(f"no {kind} named {raw!r} in this server")
        return found[0]
    if directory is not None and directory.known and directory.name_of(kind, ident) is None:
        raise ValueProblem(f"{kind} {ident} is not in this server")
    return ident


def parse_bool(text: str) -> bool:
    """yes/no, on/off, true/false, 1/0."""
    low = text.strip().lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    raise ValueProblem(f"{text!r} is not yes or no")


def _parse_one(spec: FieldSpec, text: str, directory: Directory | None) -> Any:
    kind = spec.kind
    raw = text.strip()
    if kind == "int":
        try:
            return int(raw.replace("_", ""))
        except ValueError:
            raise ValueProblem(f"{text!r} is not a whole number") from None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise ValueProblem(f"{text!r} is not a number") from None
    if kind == "bool":
        return parse_bool(raw)
    if kind == "str":
        return text
    if kind == "choice":
        for choice in spec.choices:
            if str(choice).lower() == raw.lower():
                return choice
        raise ValueProblem(f"{text!r} is not one of {', '.join(str(c) for c in spec.choices)}")
    if kind == "time":
        return parse_time(raw)
    if kind == "duration":
        seconds = parse_duration(raw)
        if spec.native == "int" and not float(seconds).is_integer():
            raise ValueProblem(f"{text!r} is not a whole number of seconds")
        return int(seconds) if spec.native == "int" else seconds
    if kind == "timezone":
        return parse_timezone(raw)
    if kind in ("channel", "role"):
        return parse_reference(kind, raw, directory)
    raise ValueProblem(f"cannot read a {kind} from text")


def parse_text(spec: FieldSpec, text: str, directory: Directory | None = None) -> Any:
    """Read ``text`` typed by a user (command option or form input) as a value for ``spec``.

    Returns a value the settings model validates (JSON-compatible); raises :class:`ValueProblem`.
    """
    if spec.optional and text.strip().lower() in NONE_WORDS | {""}:
        return None
    if spec.kind == "list":
        assert spec.item is not None
        if text.strip().lower() in NONE_WORDS | {""}:
            return []
        return [_parse_one(spec.item, part.strip(), directory) for part in text.split(",") if part.strip()]
    return _parse_one(spec, text, directory)


def _leaves(value: Any) -> typing.Iterator[Any]:
    """Every scalar of a JSON value, object keys included (no recursion)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        else:
            yield item


def max_items(spec: FieldSpec) -> int:
    """How many items a list setting may hold: its model's ``max_length``, else :data:`DEFAULT_MAX_ITEMS`."""
    return spec.max_length if spec.max_length is not None else DEFAULT_MAX_ITEMS


def max_bytes(spec: FieldSpec) -> int:
    """How large a value may be as JSON: ``omo_max_bytes``, else :data:`DEFAULT_MAX_BYTES` (more for a text
    whose ``max_length`` needs more)."""
    if spec.max_bytes is not None:
        return spec.max_bytes
    if spec.kind == "str" and spec.max_length is not None:
        return max(DEFAULT_MAX_BYTES, 6 * spec.max_length + 2)  # every character escaped, and the quotes
    return DEFAULT_MAX_BYTES


def check_bounds(spec: FieldSpec, value: Any) -> None:
    """Refuse a value no store or screen should get (raises :class:`ValueProblem`): more list items or JSON
    bytes than the caps (see :func:`max_items`, :func:`max_bytes`), text with NUL or other control characters
    (PostgreSQL cannot store NUL in JSON), numbers that are not finite. Works on typed text and JSON alike."""
    if spec.kind == "list" and isinstance(value, list) and len(value) > max_items(spec):
        raise ValueProblem(f"{len(value)} items is too many (at most {max_items(spec)})")
    for leaf in _leaves(value):
        bad = _CONTROL.search(leaf) if isinstance(leaf, str) else None
        if bad is not None:
            char = bad.group()
            what = "a NUL character" if char == "\x00" else f"a control character (U+{ord(char):04X})"
            raise ValueProblem(f"the text contains {what}, which is not allowed")
        if isinstance(leaf, float) and not math.isfinite(leaf):
            raise ValueProblem("the number is not finite (NaN and infinities are not allowed)")
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > max_bytes(spec):
        raise ValueProblem(f"the value is too large ({size} bytes as JSON; at most {max_bytes(spec)})")


def coerce_json(spec: FieldSpec, value: Any, directory: Directory | None = None) -> Any:
    """A JSON value from the API or an import, made ready for the model: text forms of durations,
    times, channels and roles are read like typed text; ids of channels and roles are checked. As strictly
    as ``/config set`` reads text: yes/no (a JSON boolean) is not a number."""
    if value is None:
        return None
    if isinstance(value, bool) and spec.kind in _NUMERIC_KINDS:
        raise ValueProblem(f"{json.dumps(value)} is yes/no, not a number")
    if spec.kind == "list" and isinstance(value, list):
        assert spec.item is not None
        return [coerce_json(spec.item, v, directory) for v in value]
    if spec.kind == "list" and isinstance(value, str):
        return parse_text(spec, value, directory)
    if (
        isinstance(value, str)
        and spec.kind in ("int", "float", "bool", "duration", "time", "timezone", "channel", "role")
        and not (spec.kind == "duration" and spec.native == "duration" and value.upper().startswith("P"))
    ):
        if spec.kind == "time" and spec.native == "time" and _TIME.match(value.strip()) is None:
            return value
        return _parse_one(spec, value, directory)
    is_id = isinstance(value, int) and not isinstance(value, bool)
    if (
        spec.kind in ("channel", "role")
        and is_id
        and directory is not None
        and directory.known
        and directory.name_of(spec.kind, value) is None
    ):
        raise ValueProblem(f"{spec.kind} {value} is not in this server")
    return value


# ------------------------------------------------------------------ showing values
def _format_one(spec: FieldSpec, value: Any, directory: Directory | None, mentions: bool) -> str:
    if value is None:
        return "none"
    kind = spec.kind
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "duration":
        seconds = value if isinstance(value, int | float) else parse_duration(str(value))
        return format_duration(seconds)
    if kind == "time":
        text = str(value)
        return text[:5] if text.endswith(":00") and len(text) == 8 else text
    if kind in ("channel", "role"):
        if mentions:
            return f"<#{value}>" if kind == "channel" else f"<@&{value}>"
        name = directory.name_of(kind, int(value)) if directory else None
        sigil = "#" if kind == "channel" else "@"
        return f"{sigil}{name}" if name else str(value)
    return str(value)


def format_value(spec: FieldSpec, value: Any, directory: Directory | None = None, *, mentions: bool = False) -> str:
    """A stored (JSON) value as people read it: ``1h30m``, ``07:30``, ``<#123>`` or ``#general``, ``yes``."""
    if spec.kind == "list":
        assert spec.item is not None
        if not value:
            return "none"
        return ", ".join(_format_one(spec.item, v, directory, mentions) for v in value)
    return _format_one(spec, value, directory, mentions)


def input_text(spec: FieldSpec, value: Any) -> str:
    """A stored value as it goes back into a text input (the inverse of :func:`parse_text`)."""
    if value is None:
        return ""
    if spec.kind == "list":
        assert spec.item is not None
        return ", ".join(input_text(spec.item, v) for v in value)
    if spec.kind in ("channel", "role"):
        return str(value)
    return _format_one(spec, value, None, False)
