"""Templates of feed posts and scheduled posts: Jinja2's immutable sandbox, bounded in size and work.

Placeholders of a feed item: ``title``, ``link``, ``author``, ``summary`` (plain text, cut), ``published``
(``YYYY-MM-DD HH:MM UTC``), ``source`` (the feed's title), ``thumbnail``. A digest gets ``items`` (a list of
those) and ``source``; a scheduled post gets ``prompt``, ``date`` and ``weekday``.

The sandbox blocks attribute tricks; on top of it templates may not nest loops, ``range`` is capped, string
and list repetition/power are bounded, padding methods and filters are gone, and output stops at a cap —
so no template can spin the CPU or fill the memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .parse import FeedItem

MAX_TEMPLATE = 2000
MAX_OUTPUT = 4000
MAX_RANGE = 100
MAX_REPEAT = 4000
DEFAULT_TEMPLATE = "**{{ title }}**\n{{ link }}"
DEFAULT_EMBED_TEMPLATE = "{{ summary }}"
DEFAULT_DIGEST_TEMPLATE = "{% for item in items %}• [{{ item.title }}]({{ item.link }})\n{% endfor %}"
DEFAULT_SCHEDULE_TEMPLATE = "**Question of the day** ({{ date }}): {{ prompt }}"
_BLOCKED_METHODS = frozenset({"format", "format_map", "center", "ljust", "rjust", "zfill", "expandtabs", "join"})
_BLOCKED_FILTERS = ("center", "indent", "wordwrap", "format", "filesizeformat", "xmlattr", "urlize", "tojson")


class TemplateInvalid(Exception):
    """The template cannot be used; the message says why (shown to admins)."""


class _Env(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and (abs(left) > 1000 or abs(right) > 10) if _numbers(left, right) else operator == "**":
            raise SecurityError("power is limited to small numbers")
        if operator == "*":
            size = (
                _length(left) * right
                if isinstance(right, int)
                else _length(right) * left
                if isinstance(left, int)
                else 0
            )
            if size > MAX_REPEAT:
                raise SecurityError("repetition is limited")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if getattr(__obj, "__name__", "") in _BLOCKED_METHODS and isinstance(owner, str):
            raise SecurityError(f"str.{__obj.__name__} is not available in templates")
        return super().call(__context, __obj, *args, **kwargs)


def _numbers(*values: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


def _range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE} numbers")
    return r


def _truncate(text: Any, length: int = 200) -> str:
    value = str(text)
    length = max(1, min(int(length), MAX_OUTPUT))
    return value if len(value) <= length else value[: length - 1].rstrip() + "…"


ENV = _Env(autoescape=False, trim_blocks=True, lstrip_blocks=True)
ENV.globals = {"range": _range}
for _name in _BLOCKED_FILTERS:
    ENV.filters.pop(_name, None)
ENV.filters["truncate"] = _truncate


def _nested_loops(tree: nodes.Node) -> bool:
    return any(loop.find(nodes.For) is not None for loop in tree.find_all(nodes.For))


def compile_template(source: str) -> Any:
    """A compiled template, or :class:`TemplateInvalid` with the reason."""
    if len(source) > MAX_TEMPLATE:
        raise TemplateInvalid(f"the template is longer than {MAX_TEMPLATE} characters")
    if "\x00" in source:
        raise TemplateInvalid("the template contains a NUL character")
    try:
        tree = ENV.parse(source)
        if _nested_loops(tree):
            raise TemplateInvalid("loops inside loops are not allowed in templates")
        return ENV.from_string(tree)
    except TemplateSyntaxError as exc:
        raise TemplateInvalid(f"template syntax error on line {exc.lineno}: {exc.message}") from None


def render(source: str, values: dict[str, Any], limit: int = MAX_OUTPUT) -> str:
    """Render ``source`` with ``values``; output cut to ``limit``; :class:`TemplateInvalid` on any error."""
    template = compile_template(source)
    out: list[str] = []
    size = 0
    try:
        for chunk in template.generate(**values):
            out.append(chunk)
            size += len(chunk)
            if size > limit:
                break
    except (SecurityError, UndefinedError, TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateInvalid(f"the template failed: {exc}") from None
    text = "".join(out).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def item_values(item: FeedItem, source: str) -> dict[str, Any]:
    """The placeholders of one feed item."""
    return {
        "title": item.title,
        "link": item.link,
        "author": item.author,
        "summary": item.summary,
        "published": item.published.strftime("%Y-%m-%d %H:%M UTC") if item.published else "",
        "source": source,
        "thumbnail": item.thumbnail,
    }


@dataclass
class Post:
    """A message to send: text and optionally one embed (as Discord's embed dict)."""

    content: str
    embed: dict[str, Any] | None = None


def item_post(item: FeedItem, source: str, template: str, as_embed: bool) -> Post:
    """The message for one item: the template as plain text, or as the description of an embed."""
    values = item_values(item, source)
    if not as_embed:
        return Post(content=render(template or DEFAULT_TEMPLATE, values, 2000) or item.link or item.title)
    embed: dict[str, Any] = {
        "title": _truncate(item.title or source, 256),
        "description": render(template or DEFAULT_EMBED_TEMPLATE, values, 4000),
        "footer": {"text": _truncate(source, 200)},
    }
    if item.link:
        embed["url"] = item.link
    if item.author:
        embed["author"] = {"name": _truncate(item.author, 256)}
    if item.thumbnail:
        embed["image"] = {"url": item.thumbnail}
    if item.published:
        embed["timestamp"] = item.published.isoformat()
    return Post(content="", embed=embed)


def digest_post(items: list[FeedItem], source: str, template: str) -> Post:
    """One message for a day's items."""
    values = {"items": [item_values(i, source) for i in items], "source": source}
    body = render(template or DEFAULT_DIGEST_TEMPLATE, values, 4000)
    return Post(content="", embed={"title": _truncate(f"{source}: {len(items)} new", 256), "description": body})
