"""The dailies domain: sources, subscriptions, polling state, the exactly-once post pipeline, schedules and
check-ins. Free of Discord and HTTP-framework types: posting goes through a :class:`Sender` the caller gives.

Exactly-once posting (see docs/operators.md, "dailies"): a new item is stored as an ``Entry`` in state
``pending`` together with the fetch that found it (unique per subscription and dedupe key, so a second
process or a second poll cannot add it again). To post, a process moves it ``pending -> posting`` with a
conditional update (only one process wins), sends, then marks it ``posted``. A failed send puts it back to
``pending``. An entry left in ``posting`` by a crash is resolved on start-up by looking for it in the
target channel's recent messages: found means posted; not found means it goes back to ``pending``.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from croniter import croniter
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from . import youtube
from .fetch import Fetcher, FetchError, FetchResult
from .filters import FilterInvalid, Filters, keywords
from .models import Checkin, Entry, Feed, Schedule, Streak, Subscription
from .parse import FeedItem, NotAFeed, ParsedFeed, parse_feed_async
from .render import (
    DEFAULT_SCHEDULE_TEMPLATE,
    Post,
    TemplateInvalid,
    compile_template,
    digest_post,
    item_post,
    render,
)
from .settings import OperatorSettings

log = structlog.get_logger("omo.plugins.dailies")

BACKOFF_BASE = 300.0
BACKOFF_MAX = 24 * 3600.0
LEASE_SECONDS = 120.0
STALE_POSTING = timedelta(minutes=2)
MAX_POST_ATTEMPTS = 5
MAX_DIGEST_ITEMS = 25
MAX_PROMPTS = 100
MAX_PROMPT = 500
MAX_SOURCE = 500
UPDATE_CHUNK = 10


class DailiesError(Exception):
    """A request the service refuses; the message is shown to the admin as is."""


class NotFound(DailiesError):
    """No such subscription or schedule in this guild."""


class SourceError(DailiesError):
    """A source could not be used: ``kind`` is one of the fetch failure kinds."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def utcnow() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


def zone(name: str) -> ZoneInfo:
    """A timezone by IANA name (UTC when unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def url_hash(url: str) -> str:
    """The key of a feed URL."""
    return hashlib.sha256(url.encode()).hexdigest()


def spread_slot(url: str, interval: int, after: datetime) -> datetime:
    """The next check of ``url`` after ``after``: a fixed offset inside each interval, taken from a hash of the
    URL, so feeds with the same interval are spread evenly instead of all being due at minute 0."""
    interval = max(1, int(interval))
    offset = int(url_hash(url)[:12], 16) % interval
    ts = after.timestamp()
    base = ts - ((ts - offset) % interval)
    nxt = base + interval if base <= ts else base
    return datetime.fromtimestamp(nxt, UTC)


def backoff(failures: int, retry_after: float | None = None) -> float:
    """Seconds to wait after ``failures`` failures in a row: 5 min x 2^(n-1), at most a day, at least Retry-After."""
    delay = min(BACKOFF_BASE * 2 ** max(failures - 1, 0), BACKOFF_MAX)
    return max(delay, retry_after or 0.0)


def parse_hhmm(text: str) -> time:
    """``HH:MM`` (24 h) as a time, or :class:`DailiesError`."""
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise DailiesError(f"{text[:20]!r} is not a time like 09:30") from None


def check_cron(expr: str) -> str:
    """A valid 5-field cron expression, or :class:`DailiesError`."""
    expr = " ".join(expr.split())
    if len(expr) > 100 or len(expr.split(" ")) != 5 or not croniter.is_valid(expr):
        raise DailiesError(f"{expr[:40]!r} is not a cron expression like `0 9 * * *` (minute hour day month weekday)")
    return expr


def next_cron(expr: str, tz: str, after: datetime) -> datetime:
    """The next time ``expr`` fires in timezone ``tz`` after ``after`` (UTC)."""
    local = after.astimezone(zone(tz))
    nxt: datetime = croniter(expr, local).get_next(datetime)
    return nxt.astimezone(UTC)


@dataclass
class Target:
    """Where a subscription posts: a channel or thread, optionally through a webhook with its own name/avatar."""

    channel_id: int
    webhook_id: int | None = None
    webhook_token: str | None = None
    webhook_name: str | None = None
    webhook_avatar: str | None = None


class Sender(Protocol):
    """What the service needs from Discord (implemented in :mod:`.poster`)."""

    async def send(self, target: Target, post: Post) -> int:
        """Send ``post``; return the message id. Raise on failure."""

    async def seen(self, target: Target, item: FeedItem) -> bool | None:
        """Whether a recent message in the target shows ``item`` (None when the history cannot be read)."""

    async def notice(self, guild_id: int, channel_id: int | None, text: str) -> None:
        """Tell the guild about a problem (best effort)."""


_POLLED_FIELDS = [
    "etag",
    "last_modified",
    "title",
    "failures",
    "last_success",
    "next_check",
    "lease_owner",
    "lease_until",
]


@dataclass
class Source:
    """A source resolved: its feed URL, content and the validators of the fetch."""

    url: str
    parsed: ParsedFeed
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class Fetched:
    """One feed's fetch: the answer and the parsed feed (None for a 304), or the error."""

    feed: Feed
    result: FetchResult | None = None
    parsed: ParsedFeed | None = None
    error: Exception | None = None


@dataclass
class PollOutcome:
    """What one poll of a feed did."""

    feed_id: int
    ok: bool
    new_entries: int = 0
    error: str | None = None
    disabled: list[int] = field(default_factory=list)


@dataclass
class CheckinResult:
    """The answer to a /daily."""

    claimed: bool
    day: str
    streak: int
    best: int
    points: int = 0
    total: int | None = None
    next_day_at: datetime | None = None


def target_of(sub: Subscription) -> Target:
    """A subscription's target."""
    return Target(sub.channel_id, sub.webhook_id, sub.webhook_token, sub.webhook_name, sub.webhook_avatar)


class DailiesService:
    """One per plugin instance. ``owner`` names this process in leases and claims."""

    def __init__(
        self,
        operator: OperatorSettings,
        fetcher: Fetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
        owner: str | None = None,
    ) -> None:
        self.op = operator
        self.fetcher = fetcher
        self.clock = clock
        self.owner = owner or uuid.uuid4().hex[:16]

    # ------------------------------------------------------------------------------------- sources
    async def resolve_source(self, source: str) -> Source:
        """The feed a source names (YouTube channels resolved), fetched and parsed, or :class:`SourceError`."""
        source = source.strip()
        if not source or len(source) > MAX_SOURCE or any(ord(c) < 32 for c in source):
            raise SourceError("bad_source", f"give a feed URL or a YouTube channel (at most {MAX_SOURCE} characters)")
        try:
            url = await youtube.resolve(source, self.op.youtube_url, self.fetcher) or source
            if "://" not in url:
                raise SourceError("bad_source", f"{source[:80]!r} is neither a URL nor a YouTube channel")
            result = await self.fetcher.get(url)
            parsed = await parse_feed_async(result.body, result.url, result.content_type)
            return Source(url, parsed, (result.etag or "")[:512] or None, (result.last_modified or "")[:128] or None)
        except FetchError as exc:
            raise SourceError(exc.kind, _describe_fetch(exc)) from None
        except NotAFeed as exc:
            raise SourceError("not_a_feed", f"that address is not a feed: {exc}") from None

    async def preview(self, source: str, template: str, embed: bool) -> Post:
        """The newest item of ``source`` rendered with ``template``."""
        _check_template(template)
        feed = (await self.resolve_source(source)).parsed
        if not feed.items:
            raise SourceError("not_a_feed", "the feed has no items yet")
        try:
            return item_post(feed.items[0], feed.title, template, embed)
        except TemplateInvalid as exc:
            raise DailiesError(str(exc)) from None

    # ------------------------------------------------------------------------------------- subscriptions
    async def add_subscription(
        self,
        guild_id: int,
        source: str,
        target: Target,
        *,
        mode: str = "instant",
        digest_time: str = "09:00",
        template: str = "",
        embed: bool = True,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        include_regex: str = "",
        exclude_regex: str = "",
        interval: int | None = None,
        post_latest: bool = False,
        actor_id: int | None = None,
    ) -> Subscription:
        """Check everything, fetch the source once, and store the subscription with the current items as seen."""
        fields = self._checked_fields(
            mode=mode,
            digest_time=digest_time,
            template=template,
            embed=embed,
            include_words=list(include),
            exclude_words=list(exclude),
            include_regex=include_regex,
            exclude_regex=exclude_regex,
            interval=interval if interval is not None else self.op.default_interval,
        )
        if await Subscription.filter(guild_id=guild_id).count() >= self.op.max_subscriptions:
            raise DailiesError(f"this server already has {self.op.max_subscriptions} subscriptions, the most allowed")
        found = await self.resolve_source(source)
        parsed = found.parsed
        feed = await self._feed_for(found, int(fields["interval"]))
        sub = await Subscription.create(
            guild_id=guild_id,
            feed=feed,
            source=source.strip()[:MAX_SOURCE],
            channel_id=target.channel_id,
            webhook_id=target.webhook_id,
            webhook_token=target.webhook_token,
            webhook_name=target.webhook_name,
            webhook_avatar=target.webhook_avatar,
            created_by=actor_id,
            **fields,
        )
        await self._prime(sub, parsed, post_latest=post_latest)
        return sub

    def _checked_fields(self, **fields: Any) -> dict[str, Any]:
        if fields["mode"] not in ("instant", "digest"):
            raise DailiesError("mode is `instant` or `digest`")
        parse_hhmm(fields["digest_time"])
        _check_template(fields["template"])
        try:
            fields["include_words"] = keywords(fields["include_words"])
            fields["exclude_words"] = keywords(fields["exclude_words"])
            Filters.build(
                fields["include_words"], fields["exclude_words"], fields["include_regex"], fields["exclude_regex"]
            )
        except FilterInvalid as exc:
            raise DailiesError(str(exc)) from None
        interval = int(fields["interval"])
        if not self.op.min_interval <= interval <= 7 * 86_400:
            raise DailiesError(f"the interval is at least {self.op.min_interval} seconds and at most a week")
        return fields

    async def update_subscription(self, guild_id: int, sub_id: int, **changes: Any) -> Subscription:
        """Change some fields of a subscription (checked like :meth:`add_subscription`)."""
        sub = await self.subscription(guild_id, sub_id)
        allowed = (
            "mode",
            "digest_time",
            "template",
            "embed",
            "include_words",
            "exclude_words",
            "include_regex",
            "exclude_regex",
        )
        current = {k: getattr(sub, k) for k in (*allowed, "interval")}
        current.update({k: v for k, v in changes.items() if k in (*allowed, "interval") and v is not None})
        fields = self._checked_fields(**current)
        for key, value in fields.items():
            setattr(sub, key, value)
        if changes.get("channel_id"):
            sub.channel_id = int(changes["channel_id"])
        await sub.save()
        await self._refresh_interval(sub.feed_id)
        return sub

    async def _feed_for(self, found: Source, interval: int) -> Feed:
        url = found.url
        key = url_hash(url)
        feed = await Feed.get_or_none(url_hash=key)
        if feed is None:
            try:
                feed = await Feed.create(
                    url_hash=key,
                    url=url,
                    title=found.parsed.title[:256],
                    interval=interval,
                    next_check=self._slot(url, interval),
                    etag=found.etag,
                    last_modified=found.last_modified,
                )
            except IntegrityError:
                feed = await Feed.get(url_hash=key)
        elif interval < feed.interval:
            feed.interval = interval
            feed.next_check = min(feed.next_check, self._slot(url, interval))
            await feed.save(update_fields=["interval", "next_check"])
        return feed

    def _slot(self, url: str, interval: int) -> datetime:
        return spread_slot(url, interval, self.clock())

    async def _refresh_interval(self, feed_id: int) -> None:
        intervals = await Subscription.filter(feed_id=feed_id, enabled=True).values_list("interval", flat=True)
        if intervals:
            await Feed.filter(id=feed_id).update(interval=min(intervals))

    async def _prime(self, sub: Subscription, parsed: ParsedFeed, *, post_latest: bool) -> None:
        """The first poll of a subscription: everything already in the feed is seen, not posted."""
        skipped = parsed.items[1:] if post_latest else parsed.items
        rows = [Entry(subscription_id=sub.id, key=i.key, status="skipped", item={}) for i in skipped]
        if post_latest and parsed.items:
            rows.append(
                Entry(
                    subscription_id=sub.id,
                    key=parsed.items[0].key,
                    status="pending",
                    item=_stored(parsed.items[0], parsed.title),
                )
            )
        if rows:
            await Entry.bulk_create(rows, ignore_conflicts=True)
        sub.primed = True
        await sub.save(update_fields=["primed"])

    async def subscriptions(self, guild_id: int) -> list[Subscription]:
        """A guild's subscriptions with their feeds, oldest first."""
        return await Subscription.filter(guild_id=guild_id).order_by("id").prefetch_related("feed")

    async def subscription(self, guild_id: int, sub_id: int) -> Subscription:
        """One subscription of the guild (with its feed), or :class:`NotFound`."""
        sub = await Subscription.get_or_none(id=sub_id, guild_id=guild_id).prefetch_related("feed")
        if sub is None:
            raise NotFound(f"there is no subscription #{sub_id} in this server")
        return sub

    async def remove(self, guild_id: int, sub_id: int) -> Subscription:
        """Delete a subscription (its feed too when nobody else uses it)."""
        sub = await self.subscription(guild_id, sub_id)
        feed_id = sub.feed_id
        await sub.delete()
        if not await Subscription.filter(feed_id=feed_id).exists():
            await Feed.filter(id=feed_id).delete()
        return sub

    async def set_enabled(self, guild_id: int, sub_id: int, enabled: bool) -> Subscription:
        """Pause or resume; resuming also clears the feed's failures and checks it soon."""
        sub = await self.subscription(guild_id, sub_id)
        sub.enabled = enabled
        sub.disabled_reason = None if enabled else "paused"
        await sub.save(update_fields=["enabled", "disabled_reason"])
        if enabled:
            await Feed.filter(id=sub.feed_id).update(failures=0, next_check=self.clock())
        await self._refresh_interval(sub.feed_id)
        return sub

    async def status_line(self, guild_id: int) -> str:
        """One line for the guild overview."""
        subs = await Subscription.filter(guild_id=guild_id).count()
        failing = await Subscription.filter(guild_id=guild_id, enabled=False).exclude(disabled_reason="paused").count()
        schedules = await Schedule.filter(guild_id=guild_id).count()
        extra = f", {failing} disabled after failures" if failing else ""
        return (
            f"{subs} feed{'s' if subs != 1 else ''}{extra}, {schedules} scheduled post{'s' if schedules != 1 else ''}"
        )

    # ------------------------------------------------------------------------------------- polling
    async def due_feeds(self, limit: int = 500, after: Feed | None = None, until: datetime | None = None) -> list[Feed]:
        """Feeds whose check is due (by ``until``, default now) and that have an enabled subscription, most overdue
        first; ``after`` (the last feed of the previous batch) continues a cycle past the feeds of earlier batches,
        including those that stayed due (leased by another process)."""
        query = Feed.filter(next_check__lte=until or self.clock(), subscriptions__enabled=True)
        if after is not None:
            query = query.filter(Q(next_check__gt=after.next_check) | Q(next_check=after.next_check, id__gt=after.id))
        return await query.distinct().order_by("next_check", "id").limit(limit)

    async def lease(self, feeds: list[Feed]) -> list[Feed]:
        """Take the poll lease of those ``feeds`` no other process holds (one UPDATE for the batch): only one
        process polls a feed at a time. Returns the feeds leased."""
        if not feeds:
            return []
        now = self.clock()
        token = f"{self.owner}:{uuid.uuid4().hex[:8]}"
        ids = [f.id for f in feeds]
        await (
            Feed.filter(id__in=ids, next_check__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .update(lease_owner=token, lease_until=now + timedelta(seconds=LEASE_SECONDS))
        )
        return await Feed.filter(id__in=ids, lease_owner=token)

    async def fetch(self, feed: Feed) -> Fetched:
        """Fetch and parse one feed (conditional GET; parsing in a worker thread). No database work."""
        try:
            result = await self.fetcher.get(feed.url, etag=feed.etag, last_modified=feed.last_modified)
            if result.not_modified:
                return Fetched(feed, result)
            return Fetched(feed, result, await parse_feed_async(result.body, result.url, result.content_type))
        except (FetchError, NotAFeed) as exc:
            return Fetched(feed, error=exc)

    async def apply(self, batch: list[Fetched]) -> list[PollOutcome]:
        """Record what a batch of fetches found: new items per enabled subscription, health, next checks, and the
        leases released. Feeds that succeeded are written with one bulk update."""
        now = self.clock()
        outcomes = []
        done: list[Feed] = []
        for fetched in batch:
            feed = fetched.feed
            if fetched.error is not None:
                outcomes.append(await self._failed(feed, fetched.error))
                continue
            new = 0
            if fetched.parsed is not None and fetched.result is not None:
                for sub in await Subscription.filter(feed_id=feed.id, enabled=True):
                    new += await self._record(sub, fetched.parsed)
                feed.etag = (fetched.result.etag or "")[:512] or None
                feed.last_modified = (fetched.result.last_modified or "")[:128] or None
                feed.title = (fetched.parsed.title or feed.title)[:256]
            feed.failures = 0
            feed.last_success = now
            feed.next_check = spread_slot(feed.url, feed.interval, now)
            feed.lease_owner = feed.lease_until = None
            done.append(feed)
            outcomes.append(PollOutcome(feed.id, True, new))
        # Small statements, one at a time: Tortoise builds a bulk UPDATE's SQL (a CASE per field and row) on the
        # event loop, and 100 feeds at once blocked it for ~100 ms (bench/dailies.py, loop lag p99).
        for start in range(0, len(done), UPDATE_CHUNK):
            await Feed.bulk_update(done[start : start + UPDATE_CHUNK], fields=_POLLED_FIELDS)
        return outcomes

    async def poll(self, feed: Feed) -> PollOutcome:
        """Fetch one (leased) feed and record what it holds."""
        return (await self.apply([await self.fetch(feed)]))[0]

    async def _failed(self, feed: Feed, exc: Exception) -> PollOutcome:
        now = self.clock()
        message = _describe_fetch(exc) if isinstance(exc, FetchError) else f"not a feed: {exc}"
        retry_after = exc.retry_after if isinstance(exc, FetchError) else None
        feed.failures += 1
        feed.last_error = message[:500]
        feed.last_error_at = now
        feed.next_check = now + timedelta(seconds=backoff(feed.failures, retry_after))
        feed.lease_owner = feed.lease_until = None
        await feed.save(
            update_fields=["failures", "last_error", "last_error_at", "next_check", "lease_owner", "lease_until"]
        )
        outcome = PollOutcome(feed.id, False, error=message)
        if feed.failures >= self.op.max_failures:
            reason = f"disabled after {feed.failures} failed checks: {message}"[:300]
            subs = await Subscription.filter(feed_id=feed.id, enabled=True)
            for sub in subs:
                sub.enabled = False
                sub.disabled_reason = reason
                await sub.save(update_fields=["enabled", "disabled_reason"])
                outcome.disabled.append(sub.id)
        log.info("feed check failed", feed_id=feed.id, failures=feed.failures, error=message)
        return outcome

    async def _record(self, sub: Subscription, parsed: ParsedFeed) -> int:
        """Store the feed's new items of one subscription as pending (filters, caps), in one go."""
        if not sub.primed:
            await self._prime(sub, parsed, post_latest=False)
            return 0
        keys = [i.key for i in parsed.items]
        known = set(await Entry.filter(subscription_id=sub.id, key__in=keys).values_list("key", flat=True))
        fresh = [i for i in parsed.items if i.key not in known]
        if not fresh:
            return 0
        await self._prune(sub.id, keys)
        filters = Filters.build(sub.include_words, sub.exclude_words, sub.include_regex, sub.exclude_regex)
        fresh.reverse()  # feeds list newest first; post oldest first
        passing = [i for i in fresh if filters.passes(i)]
        rows = [Entry(subscription_id=sub.id, key=i.key, status="skipped", item={}) for i in fresh if i not in passing]
        room = self.op.per_fetch_cap
        if sub.mode == "instant":
            day_start = self.clock() - timedelta(days=1)
            today = await Entry.filter(
                subscription_id=sub.id, status__in=("pending", "posting", "posted"), created_at__gte=day_start
            ).count()
            room = max(0, min(room, self.op.per_day_cap - today))
        else:
            room = MAX_DIGEST_ITEMS * 4
        cut = max(0, len(passing) - room)
        extra, posted = passing[:cut], passing[cut:]
        rows += [Entry(subscription_id=sub.id, key=i.key, status="skipped", item={}) for i in extra]
        rows += [
            Entry(subscription_id=sub.id, key=i.key, status="pending", item=_stored(i, parsed.title)) for i in posted
        ]
        if extra:
            when = self.clock().strftime("%Y%m%d%H%M%S")
            summary = FeedItem(
                key=f"summary:{when}"[:40],
                title=f"{len(extra)} more new item{'s' if len(extra) != 1 else ''} in {parsed.title}",
                link=parsed.link,
                summary=f"Only the newest {len(posted)} were posted. Open the feed to see the rest.",
            )
            rows.append(
                Entry(
                    subscription_id=sub.id,
                    key=summary.key,
                    status="pending",
                    item=_stored(summary, parsed.title, summary=True),
                )
            )
        await Entry.bulk_create(rows, ignore_conflicts=True)
        return len(posted)

    async def _prune(self, sub_id: int, keys: list[str]) -> int:
        """Forget the settled entries (posted, skipped, failed) of a subscription that are older than the retention
        and no longer in its feed (``keys``: the items the feed holds now). Runs when new items are stored, the only
        time the table grows and the one time the feed's current items are known: an item still in the feed keeps
        its entry, so it is never posted again, and one that left it is remembered ``retention_days`` (a feed that
        flaps back to an older version within that time posts nothing twice either)."""
        cutoff = self.clock() - timedelta(days=self.op.retention_days)
        return await (
            Entry.filter(subscription_id=sub_id, status__in=("posted", "skipped", "failed"), created_at__lt=cutoff)
            .exclude(key__in=keys)
            .delete()
        )

    # ------------------------------------------------------------------------------------- posting
    async def deliver(
        self, sender: Sender, *, timezone_of: Callable[[int], Awaitable[str]], feed_ids: Iterable[int] | None = None
    ) -> int:
        """Post pending entries: instant ones now, digests when their local time has come. Returns messages sent."""
        query = Entry.filter(status="pending", subscription__enabled=True)
        if feed_ids is not None:
            query = query.filter(subscription__feed_id__in=list(feed_ids))
        sub_ids = await query.distinct().values_list("subscription_id", flat=True)
        sent = 0
        for sub_id in sub_ids:
            sub = await Subscription.get_or_none(id=sub_id)
            if sub is None:
                continue
            if sub.mode == "digest":
                sent += await self._deliver_digest(sender, sub, await timezone_of(sub.guild_id))
            else:
                sent += await self._deliver_instant(sender, sub)
        return sent

    async def _deliver_instant(self, sender: Sender, sub: Subscription) -> int:
        sent = 0
        entries = await Entry.filter(subscription_id=sub.id, status="pending").order_by("id").limit(50)
        now = self.clock()
        for entry in entries:
            if entry.attempts and entry.claimed_at and now - entry.claimed_at < _retry_delay(entry.attempts):
                continue
            if not await self._claim([entry.id]):
                continue
            item = FeedItem.from_dict(entry.item)
            post = _entry_post(entry.item, item, sub)
            if await self._send(sender, sub, [entry.id], post):
                sent += 1
        return sent

    async def _deliver_digest(self, sender: Sender, sub: Subscription, tz: str) -> int:
        local = self.clock().astimezone(zone(tz))
        day = local.date().isoformat()
        if sub.last_digest_day == day or local.time() < parse_hhmm(sub.digest_time):
            return 0
        entries = await Entry.filter(subscription_id=sub.id, status="pending").order_by("id").limit(200)
        ids = [e.id for e in entries]
        if not ids or not await self._claim(ids):
            return 0
        claimed = await Entry.filter(id__in=ids, status="posting", claimed_by=self.owner).order_by("id")
        items = [FeedItem.from_dict(e.item) for e in claimed if not e.item.get("summary")]
        source = next((e.item.get("source") for e in claimed), "") or sub.source
        post = digest_post(items[:MAX_DIGEST_ITEMS], str(source), sub.template)
        if len(items) > MAX_DIGEST_ITEMS and post.embed is not None:
            post.embed["description"] += f"\n… and {len(items) - MAX_DIGEST_ITEMS} more"
        if not await self._send(sender, sub, [e.id for e in claimed], post):
            return 0
        await Subscription.filter(id=sub.id).update(last_digest_day=day)
        return 1

    async def _claim(self, ids: list[int]) -> bool:
        """pending -> posting for this process; True when it got at least one."""
        got = await Entry.filter(id__in=ids, status="pending").update(
            status="posting", claimed_by=self.owner, claimed_at=self.clock()
        )
        return bool(got)

    async def _send(self, sender: Sender, sub: Subscription, ids: list[int], post: Post) -> bool:
        try:
            message_id = await sender.send(target_of(sub), post)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the send puts the entries back (logged there)
            await self._release(ids, exc)
            return False
        await Entry.filter(id__in=ids, claimed_by=self.owner).update(
            status="posted", posted_at=self.clock(), message_id=message_id
        )
        items = sum(1 for _ in ids)
        await Subscription.filter(id=sub.id).update(items_posted=sub.items_posted + items)
        sub.items_posted += items
        return True

    async def _release(self, ids: list[int], exc: Exception) -> None:
        """A send failed: back to pending (failed after a few attempts)."""
        log.warning("posting a feed item failed", entries=ids, error=repr(exc))
        for entry in await Entry.filter(id__in=ids, claimed_by=self.owner, status="posting"):
            entry.attempts += 1
            entry.status = "failed" if entry.attempts >= MAX_POST_ATTEMPTS else "pending"
            entry.claimed_by = None
            entry.claimed_at = self.clock()  # when it failed: the retry waits (see _retry_delay)
            await entry.save(update_fields=["attempts", "status", "claimed_by", "claimed_at"])

    async def recover(self, sender: Sender) -> dict[str, int]:
        """Resolve entries a crash left in ``posting`` (older than a couple of minutes): posted if the target shows
        them (or its history cannot be read: never post twice), otherwise back to pending."""
        stale = await Entry.filter(status="posting", claimed_at__lt=self.clock() - STALE_POSTING).prefetch_related(
            "subscription"
        )
        counts = {"posted": 0, "pending": 0}
        for entry in stale:
            item = FeedItem.from_dict(entry.item) if entry.item else FeedItem(key=entry.key)
            seen = await sender.seen(target_of(entry.subscription), item)
            state = "pending" if seen is False else "posted"
            updated = await Entry.filter(id=entry.id, status="posting", claimed_at=entry.claimed_at).update(
                status=state, claimed_by=None, posted_at=self.clock() if state == "posted" else None
            )
            if updated:
                counts[state] += 1
        return counts

    async def post_now(self, sender: Sender, guild_id: int, sub_id: int) -> Post:
        """Fetch the subscription's feed and post its newest item now (an admin's test; not recorded as seen)."""
        sub = await self.subscription(guild_id, sub_id)
        parsed = (await self.resolve_source(sub.feed.url)).parsed
        if not parsed.items:
            raise SourceError("not_a_feed", "the feed has no items yet")
        try:
            post = item_post(parsed.items[0], parsed.title, sub.template, sub.embed)
        except TemplateInvalid as exc:
            raise DailiesError(str(exc)) from None
        await sender.send(target_of(sub), post)
        return post

    # ------------------------------------------------------------------------------------- schedules
    async def add_schedule(
        self,
        guild_id: int,
        channel_id: int,
        cron: str,
        tz: str,
        template: str,
        prompts: list[str],
        actor_id: int | None,
    ) -> Schedule:
        """A scheduled post; checks cron, timezone, template and prompts."""
        cron = check_cron(cron)
        if zone(tz).key != tz:
            raise DailiesError(f"{tz[:40]!r} is not a timezone like Europe/Paris")
        template = template or DEFAULT_SCHEDULE_TEMPLATE
        _check_template(template)
        prompts = [p.strip() for p in prompts if p.strip()]
        if len(prompts) > MAX_PROMPTS or any(len(p) > MAX_PROMPT for p in prompts):
            raise DailiesError(f"at most {MAX_PROMPTS} prompts of at most {MAX_PROMPT} characters")
        if await Schedule.filter(guild_id=guild_id).count() >= 25:
            raise DailiesError("this server already has 25 scheduled posts")
        return await Schedule.create(
            guild_id=guild_id,
            channel_id=channel_id,
            cron=cron,
            timezone=tz,
            template=template,
            prompts=prompts,
            next_run=next_cron(cron, tz, self.clock()),
            created_by=actor_id,
        )

    async def schedules(self, guild_id: int) -> list[Schedule]:
        """A guild's scheduled posts."""
        return await Schedule.filter(guild_id=guild_id).order_by("id")

    async def remove_schedule(self, guild_id: int, schedule_id: int) -> None:
        """Delete a scheduled post."""
        if not await Schedule.filter(guild_id=guild_id, id=schedule_id).delete():
            raise NotFound(f"there is no scheduled post #{schedule_id} in this server")

    async def run_schedules(self, sender: Sender) -> int:
        """Post every due schedule once (one catch-up after downtime, not one per missed run)."""
        now = self.clock()
        sent = 0
        for schedule in await Schedule.filter(enabled=True, next_run__lte=now).order_by("next_run").limit(100):
            nxt = next_cron(schedule.cron, schedule.timezone, now)
            # the conditional update is the claim: exactly one process moves next_run on
            claimed = await Schedule.filter(id=schedule.id, next_run=schedule.next_run).update(
                next_run=nxt, last_run=now, next_prompt=schedule.next_prompt + 1
            )
            if not claimed:
                continue
            post = self.schedule_post(schedule, now)
            try:
                await sender.send(Target(schedule.channel_id), post)
                sent += 1
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduled post failed", schedule_id=schedule.id)
        return sent

    def schedule_post(self, schedule: Schedule, now: datetime) -> Post:
        """The message of a scheduled post at ``now``."""
        local = now.astimezone(zone(schedule.timezone))
        prompts = schedule.prompts or []
        prompt = prompts[schedule.next_prompt % len(prompts)] if prompts else ""
        values = {"prompt": prompt, "date": local.date().isoformat(), "weekday": local.strftime("%A")}
        return Post(content=render(schedule.template, values, 2000) or prompt or "(empty scheduled post)")

    # ------------------------------------------------------------------------------------- check-in
    async def checkin(
        self,
        guild_id: int,
        user_id: int,
        tz: str,
        *,
        grace_days: int,
        points: int,
        bonus: int,
        award: Callable[[int, str], Awaitable[int | None]],
    ) -> CheckinResult:
        """Claim today's check-in (the guild's day in ``tz``); streaks survive ``grace_days`` missed days."""
        local = self.clock().astimezone(zone(tz))
        today = local.date()
        next_day = datetime.combine(today + timedelta(days=1), time(0), local.tzinfo).astimezone(UTC)
        streak = await Streak.get_or_none(guild_id=guild_id, user_id=user_id)
        if streak is not None and streak.last_day == today.isoformat():
            return CheckinResult(False, today.isoformat(), streak.current, streak.best, next_day_at=next_day)
        if streak is not None and (today - date.fromisoformat(streak.last_day)).days <= 1 + grace_days:
            current = streak.current + 1
        else:
            current = 1
        earned = points + bonus * min(current - 1, 10)
        try:
            await Checkin.create(
                guild_id=guild_id, user_id=user_id, day=today.isoformat(), streak=current, points=earned
            )
        except IntegrityError:
            again = await Streak.get(guild_id=guild_id, user_id=user_id)
            return CheckinResult(False, today.isoformat(), again.current, again.best, next_day_at=next_day)
        if streak is None:
            streak = Streak(guild_id=guild_id, user_id=user_id, current=0, best=0, total=0, last_day=today.isoformat())
        streak.current = current
        streak.best = max(streak.best, current)
        streak.total += 1
        streak.last_day = today.isoformat()
        await streak.save()
        total = await award(earned, f"daily:{user_id}:{today.isoformat()}") if earned else None
        return CheckinResult(
            True, today.isoformat(), current, streak.best, earned if total is not None else 0, total, next_day
        )

    async def top_streaks(self, guild_id: int, tz: str, grace_days: int, limit: int = 10) -> list[Streak]:
        """The guild's longest running streaks (broken ones left out)."""
        today = self.clock().astimezone(zone(tz)).date()
        oldest = (today - timedelta(days=1 + grace_days)).isoformat()
        return (
            await Streak.filter(guild_id=guild_id, last_day__gte=oldest, current__gt=0)
            .order_by("-current", "-best", "user_id")
            .limit(limit)
        )


def _check_template(template: str) -> None:
    """:class:`DailiesError` when ``template`` (if any) does not compile."""
    if template:
        try:
            compile_template(template)
        except TemplateInvalid as exc:
            raise DailiesError(str(exc)) from None


def _retry_delay(attempts: int) -> timedelta:
    """How long a failed post waits before the next attempt: 30 s x 2^(n-1)."""
    return timedelta(seconds=30 * 2 ** max(attempts - 1, 0))


def _stored(item: FeedItem, source: str, *, summary: bool = False) -> dict[str, Any]:
    data = item.as_dict()
    data["source"] = source
    if summary:
        data["summary_post"] = True
    return data


def _entry_post(data: dict[str, Any], item: FeedItem, sub: Subscription) -> Post:
    source = str(data.get("source") or sub.source)
    if data.get("summary_post"):
        return Post(content=f"**{item.title}**\n{item.summary}" + (f"\n<{item.link}>" if item.link else ""))
    try:
        return item_post(item, source, sub.template, sub.embed)
    except TemplateInvalid as exc:
        return Post(content=f"**{item.title}**\n{item.link}\n-# template error: {exc}"[:2000])


def _describe_fetch(exc: FetchError) -> str:
    prefix = {
        "blocked": "blocked address",
        "unreachable": "unreachable",
        "timeout": "timed out",
        "too_large": "too large",
        "http": "HTTP error",
        "not_a_feed": "not a feed",
        "bad_source": "bad source",
    }[exc.kind]
    return f"{prefix}: {exc}"
