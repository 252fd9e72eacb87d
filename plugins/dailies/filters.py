"""Include/exclude filters of a subscription: keywords (case-insensitive) and regular expressions with a time
limit (the ``regex`` module's ``timeout``), so a catastrophic pattern cannot stall the poller."""

from __future__ import annotations

from dataclasses import dataclass, field

import regex

from .parse import FeedItem

REGEX_TIMEOUT = 0.05
MAX_PATTERN = 300
MAX_KEYWORDS = 50
MAX_KEYWORD = 100


class FilterInvalid(Exception):
    """A keyword list or pattern is refused; the message says why."""


def compile_pattern(pattern: str) -> regex.Pattern[str] | None:
    """A compiled case-insensitive pattern (None for an empty one), or :class:`FilterInvalid`."""
    pattern = pattern.strip()
    if not pattern:
        return None
    if len(pattern) > MAX_PATTERN:
        raise FilterInvalid(f"the pattern is longer than {MAX_PATTERN} characters")
    try:
        return regex.compile(pattern, regex.IGNORECASE)
    except regex.error as exc:
        raise FilterInvalid(f"the pattern is not a valid regular expression ({exc})") from None


def keywords(text: str | list[str]) -> list[str]:
    """Keywords from a comma-separated text (or a list), checked and lower-cased."""
    parts = text.split(",") if isinstance(text, str) else text
    words = [w.strip().lower() for w in parts if w.strip()]
    if len(words) > MAX_KEYWORDS:
        raise FilterInvalid(f"at most {MAX_KEYWORDS} keywords")
    for w in words:
        if len(w) > MAX_KEYWORD or any(ord(c) < 32 for c in w):
            raise FilterInvalid(f"keyword {w[:20]!r} is too long or has control characters")
    return words


@dataclass
class Filters:
    """Compiled filters: an item passes when it matches an include (if any) and no exclude."""

    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    include_regex: regex.Pattern[str] | None = None
    exclude_regex: regex.Pattern[str] | None = None

    @classmethod
    def build(cls, include: list[str], exclude: list[str], include_regex: str, exclude_regex: str) -> Filters:
        """Check and compile; :class:`FilterInvalid` on bad input."""
        return cls(keywords(include), keywords(exclude), compile_pattern(include_regex), compile_pattern(exclude_regex))

    def passes(self, item: FeedItem) -> bool:
        """Whether ``item`` is posted. A pattern that runs out of time counts as no match."""
        text = f"{item.title}\n{item.summary}"
        lowered = text.lower()
        if self.include and not any(w in lowered for w in self.include):
            return False
        if any(w in lowered for w in self.exclude):
            return False
        if self.include_regex is not None and not _search(self.include_regex, text):
            return False
        return not (self.exclude_regex is not None and _search(self.exclude_regex, text))


def _search(pattern: regex.Pattern[str], text: str) -> bool:
    try:
        return pattern.search(text, timeout=REGEX_TIMEOUT) is not None
    except TimeoutError:
        return False
