"""Dashboard pages and JSON API of the dailies plugin (blueprint ``dailies``).

Pages at ``/guilds/<guild_id>/dailies/``: subscriptions with their health, add/edit with a live preview,
scheduled posts, check-in settings and streaks. API under ``/guilds/<guild_id>/dailies/api/...``, also served
as ``/api/v1/guilds/<guild_id>/dailies/...``. Core's guard runs before every request (guild admin, plugin on
in the guild); CSRF is enforced app-wide (forms carry ``csrf_field()``, scripts send ``X-CSRF-Token``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from quart import Blueprint, redirect, render_template, request, send_from_directory
from quart_schema import validate_request, validate_response

from .models import Schedule, Subscription
from .render import Post
from .service import DailiesError, NotFound, SourceError, Target
from .state import DailiesContext, DailiesState

ASSETS = Path(__file__).parent / "static"


# ------------------------------------------------------------------------------------------ API models
class HealthOut(BaseModel):
    """A subscription's health (its feed's, shared by every subscription to the same URL)."""

    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    next_check: datetime | None = None
    consecutive_failures: int
    items_posted: int


class SubscriptionOut(BaseModel):
    """A feed subscription (the webhook token is never shown)."""

    id: int
    source: str
    feed_url: str
    feed_title: str
    channel_id: str
    webhook: bool
    webhook_name: str | None = None
    webhook_avatar: str | None = None
    mode: str
    digest_time: str
    template: str
    embed: bool
    include: list[str]
    exclude: list[str]
    include_regex: str
    exclude_regex: str
    interval: int
    enabled: bool
    disabled_reason: str | None = None
    health: HealthOut


class SubscriptionList(BaseModel):
    """The guild's subscriptions."""

    subscriptions: list[SubscriptionOut]


class SubscriptionIn(BaseModel):
    """A new subscription. ``interval`` in seconds (the operator's minimum applies)."""

    source: str = Field(min_length=1, max_length=500)
    channel_id: int = Field(gt=0, lt=2**63)
    mode: Literal["instant", "digest"] = "instant"
    digest_time: str = Field(default="09:00", max_length=5)
    template: str = Field(default="", max_length=2000)
    embed: bool = True
    include: list[str] = Field(default_factory=list, max_length=50)
    exclude: list[str] = Field(default_factory=list, max_length=50)
    include_regex: str = Field(default="", max_length=300)
    exclude_regex: str = Field(default="", max_length=300)
    interval: int | None = Field(default=None, ge=1, le=7 * 86_400)
    post_latest: bool = False


class SubscriptionPatch(BaseModel):
    """Fields to change; omitted ones stay."""

    channel_id: int | None = Field(default=None, gt=0, lt=2**63)
    mode: Literal["instant", "digest"] | None = None
    digest_time: str | None = Field(default=None, max_length=5)
    template: str | None = Field(default=None, max_length=2000)
    embed: bool | None = None
    include: list[str] | None = Field(default=None, max_length=50)
    exclude: list[str] | None = Field(default=None, max_length=50)
    include_regex: str | None = Field(default=None, max_length=300)
    exclude_regex: str | None = Field(default=None, max_length=300)
    interval: int | None = Field(default=None, ge=1, le=7 * 86_400)
    enabled: bool | None = None


class PreviewIn(BaseModel):
    """A source and a template to try."""

    source: str = Field(min_length=1, max_length=500)
    template: str = Field(default="", max_length=2000)
    embed: bool = True


class PreviewOut(BaseModel):
    """The newest item rendered: message text and embed (Discord's embed object)."""

    content: str
    embed: dict[str, Any] | None = None


class ScheduleOut(BaseModel):
    """A scheduled post."""

    id: int
    channel_id: str
    cron: str
    timezone: str
    template: str
    prompts: list[str]
    next_run: datetime
    last_run: datetime | None = None
    enabled: bool


class ScheduleList(BaseModel):
    """The guild's scheduled posts."""

    schedules: list[ScheduleOut]


class ScheduleIn(BaseModel):
    """A new scheduled post; ``timezone`` defaults to the server's."""

    channel_id: int = Field(gt=0, lt=2**63)
    cron: str = Field(min_length=9, max_length=100)
    timezone: str | None = Field(default=None, max_length=64)
    template: str = Field(default="", max_length=2000)
    prompts: list[str] = Field(default_factory=list, max_length=100)


class StreakOut(BaseModel):
    """A member's running streak."""

    user_id: str
    current: int
    best: int
    total: int
    last_day: str


class StreaksOut(BaseModel):
    """Top running streaks and the check-in settings."""

    timezone: str
    points: int
    streak_bonus: int
    grace_days: int
    streaks: list[StreakOut]


class ErrorOut(BaseModel):
    """An error: a short reason and details."""

    error: str
    detail: Any = None


# ------------------------------------------------------------------------------------------ helpers
def subscription_out(sub: Subscription) -> SubscriptionOut:
    """API form of a subscription (with its feed prefetched)."""
    feed = sub.feed
    return SubscriptionOut(
        id=sub.id,
        source=sub.source,
        feed_url=feed.url,
        feed_title=feed.title,
        channel_id=str(sub.channel_id),
        webhook=sub.webhook_id is not None,
        webhook_name=sub.webhook_name,
        webhook_avatar=sub.webhook_avatar,
        mode=sub.mode,
        digest_time=sub.digest_time,
        template=sub.template,
        embed=sub.embed,
        include=sub.include_words,
        exclude=sub.exclude_words,
        include_regex=sub.include_regex,
        exclude_regex=sub.exclude_regex,
        interval=sub.interval,
        enabled=sub.enabled,
        disabled_reason=sub.disabled_reason,
        health=HealthOut(
            last_success=feed.last_success,
            last_error=feed.last_error,
            last_error_at=feed.last_error_at,
            next_check=feed.next_check if sub.enabled else None,
            consecutive_failures=feed.failures,
            items_posted=sub.items_posted,
        ),
    )


def schedule_out(s: Schedule) -> ScheduleOut:
    """API form of a scheduled post."""
    return ScheduleOut(
        id=s.id,
        channel_id=str(s.channel_id),
        cron=s.cron,
        timezone=s.timezone,
        template=s.template,
        prompts=s.prompts,
        next_run=s.next_run,
        last_run=s.last_run,
        enabled=s.enabled,
    )


def _error(exc: DailiesError) -> tuple[dict[str, Any], int]:
    if isinstance(exc, NotFound):
        return {"error": "not found", "detail": str(exc)}, 404
    if isinstance(exc, SourceError):
        return {"error": f"bad source: {exc.kind}", "detail": str(exc)}, 422
    return {"error": "invalid", "detail": str(exc)}, 400


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


def _form_int(value: Any, default: int | None = None) -> int | None:
    text = str(value or "").strip()
    if not text:
        return default
    if not text.isdigit() or len(text) > 19:
        raise DailiesError(f"{text[:20]!r} is not a whole number")
    return int(text)


def make_blueprint(plugin: DailiesContext) -> Blueprint:
    """The ``dailies`` blueprint: pages and API."""
    bp = Blueprint("dailies", __name__, template_folder="templates")
    # API routes let a DailiesError through: 404, 422 or 400 with the reason (pages catch their own)
    bp.register_error_handler(DailiesError, _error)

    def state() -> DailiesState:
        return plugin.state

    def channels(guild_id: int) -> list[tuple[int, str]]:
        guild = plugin.bot.get_guild(guild_id) if plugin.bot is not None else None
        if guild is None:
            return []
        found = [(c.id, c.name) for c in guild.text_channels]
        found += [(t.id, f"{t.parent.name if t.parent else '?'} / {t.name}") for t in guild.threads]
        return found

    def check_channel(guild_id: int, channel_id: int) -> None:
        known = channels(guild_id)
        if known and channel_id not in {c for c, _ in known}:
            raise DailiesError("that channel is not a text channel or thread of this server")

    async def add(guild_id: int, data: SubscriptionIn) -> Subscription:
        check_channel(guild_id, data.channel_id)
        return await state().service.add_subscription(
            guild_id,
            data.source,
            Target(data.channel_id),
            mode=data.mode,
            digest_time=data.digest_time,
            template=data.template,
            embed=data.embed,
            include=data.include,
            exclude=data.exclude,
            include_regex=data.include_regex,
            exclude_regex=data.exclude_regex,
            interval=data.interval,
            post_latest=data.post_latest,
        )

    async def patch(guild_id: int, sub_id: int, data: SubscriptionPatch) -> Subscription:
        svc = state().service
        if data.channel_id is not None:
            check_channel(guild_id, data.channel_id)
        changes = data.model_dump(exclude_none=True, exclude={"enabled", "include", "exclude"})
        if data.include is not None:
            changes["include_words"] = data.include
        if data.exclude is not None:
            changes["exclude_words"] = data.exclude
        await svc.update_subscription(guild_id, sub_id, **changes)
        if data.enabled is not None:
            await svc.set_enabled(guild_id, sub_id, data.enabled)
        return await svc.subscription(guild_id, sub_id)

    # ----------------------------------------------------------------------------------- pages
    @bp.get("/assets/<path:filename>")
    async def asset(guild_id: int, filename: str) -> Any:
        """The preview script."""
        return await send_from_directory(ASSETS, filename)

    @bp.get("/")
    async def index(guild_id: int) -> Any:
        subs = await state().service.subscriptions(guild_id)
        names = dict(channels(guild_id))
        return await render_template(
            "dailies/index.html",
            guild_id=guild_id,
            subs=[subscription_out(s) for s in subs],
            names=names,
            notice=request.args.get("notice", "")[:200],
        )

    async def render_form(
        guild_id: int, values: dict[str, Any], error: str | None, status: int, sub_id: int | None
    ) -> Any:
        body = await render_template(
            "dailies/form.html",
            guild_id=guild_id,
            values=values,
            error=error,
            channels=channels(guild_id),
            sub_id=sub_id,
        )
        return body, status

    @bp.get("/new")
    async def new(guild_id: int) -> Any:
        return await render_form(guild_id, {"mode": "instant", "digest_time": "09:00", "embed": True}, None, 200, None)

    def form_values(form: Any) -> dict[str, Any]:
        return {
            key: str(form.get(key, ""))[:2000]
            for key in (
                "source",
                "channel_id",
                "mode",
                "digest_time",
                "template",
                "include",
                "exclude",
                "include_regex",
                "exclude_regex",
                "interval",
            )
        } | {"embed": form.get("embed") in ("on", "yes", "1", "true")}

    @bp.post("/new")
    async def create(guild_id: int) -> Any:
        values = form_values(await request.form)
        try:
            interval = _form_int(values["interval"])
            data = SubscriptionIn(
                source=values["source"],
                channel_id=_form_int(values["channel_id"], 0) or 1,
                mode="digest" if values["mode"] == "digest" else "instant",
                digest_time=values["digest_time"][:5] or "09:00",
                template=values["template"],
                embed=values["embed"],
                include=_words(values["include"]),
                exclude=_words(values["exclude"]),
                include_regex=values["include_regex"][:300],
                exclude_regex=values["exclude_regex"][:300],
                interval=interval * 60 if interval else None,
            )
            await add(guild_id, data)
        except (DailiesError, ValueError) as exc:
            return await render_form(guild_id, values, _plain(exc), 400, None)
        return redirect(f"/guilds/{guild_id}/dailies/?notice=added", 303)

    @bp.get("/<int:sub_id>")
    async def edit(guild_id: int, sub_id: int) -> Any:
        try:
            sub = await state().service.subscription(guild_id, sub_id)
        except NotFound as exc:
            return await render_template("dailies/missing.html", guild_id=guild_id, message=str(exc)), 404
        values = {
            "source": sub.source,
            "channel_id": str(sub.channel_id),
            "mode": sub.mode,
            "digest_time": sub.digest_time,
            "template": sub.template,
            "embed": sub.embed,
            "include": ", ".join(sub.include_words),
            "exclude": ", ".join(sub.exclude_words),
            "include_regex": sub.include_regex,
            "exclude_regex": sub.exclude_regex,
            "interval": str(sub.interval // 60),
        }
        return await render_form(guild_id, values, None, 200, sub_id)

    @bp.post("/<int:sub_id>")
    async def save(guild_id: int, sub_id: int) -> Any:
        values = form_values(await request.form)
        try:
            interval = _form_int(values["interval"])
            data = SubscriptionPatch(
                channel_id=_form_int(values["channel_id"]),
                mode="digest" if values["mode"] == "digest" else "instant",
                digest_time=values["digest_time"][:5] or "09:00",
                template=values["template"],
                embed=values["embed"],
                include=_words(values["include"]),
                exclude=_words(values["exclude"]),
                include_regex=values["include_regex"][:300],
                exclude_regex=values["exclude_regex"][:300],
                interval=interval * 60 if interval else None,
            )
            await patch(guild_id, sub_id, data)
        except NotFound as exc:
            return await render_template("dailies/missing.html", guild_id=guild_id, message=str(exc)), 404
        except (DailiesError, ValueError) as exc:
            return await render_form(guild_id, values, _plain(exc), 400, sub_id)
        return redirect(f"/guilds/{guild_id}/dailies/?notice=saved", 303)

    @bp.post("/<int:sub_id>/<any(pause, resume, delete):action>")
    async def act(guild_id: int, sub_id: int, action: str) -> Any:
        svc = state().service
        try:
            if action == "delete":
                await svc.remove(guild_id, sub_id)
            else:
                await svc.set_enabled(guild_id, sub_id, action == "resume")
        except NotFound as exc:
            return await render_template("dailies/missing.html", guild_id=guild_id, message=str(exc)), 404
        done = {"pause": "paused", "resume": "resumed", "delete": "deleted"}[action]
        return redirect(f"/guilds/{guild_id}/dailies/?notice={done}", 303)

    @bp.get("/schedules")
    async def schedules(guild_id: int) -> Any:
        items = await state().service.schedules(guild_id)
        settings = await state().settings(guild_id)
        return await render_template(
            "dailies/schedules.html",
            guild_id=guild_id,
            schedules=[schedule_out(s) for s in items],
            channels=channels(guild_id),
            names=dict(channels(guild_id)),
            timezone=settings.timezone,
            error=None,
        )

    @bp.post("/schedules")
    async def schedule_create(guild_id: int) -> Any:
        form = await request.form
        settings = await state().settings(guild_id)
        try:
            channel_id = _form_int(form.get("channel_id")) or 0
            check_channel(guild_id, channel_id)
            await state().service.add_schedule(
                guild_id,
                channel_id,
                str(form.get("cron", ""))[:100],
                str(form.get("timezone") or settings.timezone)[:64],
                str(form.get("template", ""))[:2000],
                str(form.get("prompts", ""))[:50_000].splitlines(),
                None,
            )
        except DailiesError as exc:
            items = await state().service.schedules(guild_id)
            body = await render_template(
                "dailies/schedules.html",
                guild_id=guild_id,
                schedules=[schedule_out(s) for s in items],
                channels=channels(guild_id),
                names=dict(channels(guild_id)),
                timezone=settings.timezone,
                error=_plain(exc),
            )
            return body, 400
        return redirect(f"/guilds/{guild_id}/dailies/schedules", 303)

    @bp.post("/schedules/<int:schedule_id>/delete")
    async def schedule_delete(guild_id: int, schedule_id: int) -> Any:
        try:
            await state().service.remove_schedule(guild_id, schedule_id)
        except NotFound as exc:
            return await render_template("dailies/missing.html", guild_id=guild_id, message=str(exc)), 404
        return redirect(f"/guilds/{guild_id}/dailies/schedules", 303)

    @bp.get("/checkin")
    async def checkin(guild_id: int) -> Any:
        out = await streaks_out(guild_id)
        return await render_template("dailies/checkin.html", guild_id=guild_id, data=out)

    async def streaks_out(guild_id: int) -> StreaksOut:
        s = await state().settings(guild_id)
        top = await state().service.top_streaks(guild_id, s.timezone, s.checkin_grace_days, limit=50)
        return StreaksOut(
            timezone=s.timezone,
            points=s.checkin_points,
            streak_bonus=s.checkin_streak_bonus,
            grace_days=s.checkin_grace_days,
            streaks=[
                StreakOut(user_id=str(x.user_id), current=x.current, best=x.best, total=x.total, last_day=x.last_day)
                for x in top
            ],
        )

    # ----------------------------------------------------------------------------------- API
    @bp.get("/api/subscriptions")
    @validate_response(SubscriptionList, 200)
    async def api_list(guild_id: int) -> SubscriptionList:
        """The guild's feed subscriptions with their health."""
        subs = await state().service.subscriptions(guild_id)
        return SubscriptionList(subscriptions=[subscription_out(s) for s in subs])

    @bp.post("/api/subscriptions")
    @validate_request(SubscriptionIn)
    @validate_response(SubscriptionOut, 201)
    @validate_response(ErrorOut, 400)
    @validate_response(ErrorOut, 422)
    async def api_create(guild_id: int, data: SubscriptionIn) -> Any:
        """Subscribe a channel to a feed; the source is fetched once (422 says what is wrong with it)."""
        sub = await add(guild_id, data)
        sub = await state().service.subscription(guild_id, sub.id)
        return subscription_out(sub), 201

    @bp.get("/api/subscriptions/<int:sub_id>")
    @validate_response(SubscriptionOut, 200)
    @validate_response(ErrorOut, 404)
    async def api_get(guild_id: int, sub_id: int) -> Any:
        """One subscription."""
        return subscription_out(await state().service.subscription(guild_id, sub_id))

    @bp.patch("/api/subscriptions/<int:sub_id>")
    @validate_request(SubscriptionPatch)
    @validate_response(SubscriptionOut, 200)
    @validate_response(ErrorOut, 400)
    @validate_response(ErrorOut, 404)
    async def api_patch(guild_id: int, sub_id: int, data: SubscriptionPatch) -> Any:
        """Change a subscription; ``enabled`` pauses or resumes it."""
        return subscription_out(await patch(guild_id, sub_id, data))

    @bp.delete("/api/subscriptions/<int:sub_id>")
    @validate_response(ErrorOut, 404)
    async def api_delete(guild_id: int, sub_id: int) -> Any:
        """Delete a subscription."""
        await state().service.remove(guild_id, sub_id)
        return "", 204

    @bp.post("/api/preview")
    @validate_request(PreviewIn)
    @validate_response(PreviewOut, 200)
    @validate_response(ErrorOut, 400)
    @validate_response(ErrorOut, 422)
    async def api_preview(guild_id: int, data: PreviewIn) -> Any:
        """The newest item of a source rendered with a template (nothing is posted or stored)."""
        try:
            post: Post = await state().service.preview(data.source, data.template, data.embed)
        except ValueError as exc:
            return {"error": "invalid", "detail": str(exc)}, 400
        return PreviewOut(content=post.content, embed=post.embed)

    @bp.get("/api/schedules")
    @validate_response(ScheduleList, 200)
    async def api_schedules(guild_id: int) -> ScheduleList:
        """The guild's scheduled posts."""
        return ScheduleList(schedules=[schedule_out(s) for s in await state().service.schedules(guild_id)])

    @bp.post("/api/schedules")
    @validate_request(ScheduleIn)
    @validate_response(ScheduleOut, 201)
    @validate_response(ErrorOut, 400)
    async def api_schedule_create(guild_id: int, data: ScheduleIn) -> Any:
        """Add a scheduled post (cron, timezone, template, prompts in rotation)."""
        tz = data.timezone or (await state().settings(guild_id)).timezone
        check_channel(guild_id, data.channel_id)
        s = await state().service.add_schedule(
            guild_id, data.channel_id, data.cron, tz, data.template, data.prompts, None
        )
        return schedule_out(s), 201

    @bp.delete("/api/schedules/<int:schedule_id>")
    @validate_response(ErrorOut, 404)
    async def api_schedule_delete(guild_id: int, schedule_id: int) -> Any:
        """Delete a scheduled post."""
        await state().service.remove_schedule(guild_id, schedule_id)
        return "", 204

    @bp.get("/api/streaks")
    @validate_response(StreaksOut, 200)
    async def api_streaks(guild_id: int) -> StreaksOut:
        """Check-in settings and the top running streaks."""
        return await streaks_out(guild_id)

    return bp


def _plain(exc: Exception) -> str:
    return str(exc).replace("`", "")
