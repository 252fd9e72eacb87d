"""Dashboard pages and JSON API of the mileage plugin (blueprint ``mileage``).

Pages at ``/guilds/<guild_id>/mileage/``: leaderboard with progress bars and a chart of points per day (SVG drawn
here), member detail with the ledger, reverse buttons and manual adjustments, the tiers editor with the guild's
roles, import and export. The API lives under ``/guilds/<guild_id>/mileage/api/...`` and is served by the web
admin at ``/api/v1/guilds/<guild_id>/mileage/...`` (in the OpenAPI document). Core checks the user and the
per-guild switch before every request; CSRF is enforced app-wide.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from quart import Blueprint, Response, abort, redirect, render_template, request, send_from_directory
from quart_schema import validate_querystring, validate_request, validate_response

from webadmin.public import current_user

from .cog import MAX_IMPORT_BYTES
from .levels import TierRule, current_tier, level_of, next_tier
from .service import MAX_ADJUST, Board, MileageError, parse_import
from .state import MileageContext, MileageState

ASSETS = Path(__file__).parent / "static"
PER_PAGE = 25
MAX_ID = 2**63


# ------------------------------------------------------------------------------------------ API models
class ErrorOut(BaseModel):
    """An error: a short reason and details."""

    error: str
    detail: Any = None


class RowOut(BaseModel):
    """One leaderboard row (ids are strings: they exceed JavaScript's safe integers)."""

    rank: int
    user_id: str
    name: str | None = None
    points: int
    level: int | None = None
    progress: float | None = Field(None, description="Progress to the next level, 0..1 (all-time window)")


class BoardOut(BaseModel):
    """A leaderboard page."""

    window: str
    page: int
    pages: int
    per_page: int
    total_members: int
    rows: list[RowOut]


class BoardQuery(BaseModel):
    """Which page."""

    window: Literal["all", "30d", "7d"] = "all"
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(25, ge=1, le=100)


class TierOut(BaseModel):
    """A tier."""

    name: str
    basis: str
    threshold: int
    role_id: str | None = None
    role_name: str | None = None
    problem: str | None = Field(None, description="Why the bot cannot grant the role, if it cannot")


class TiersOut(BaseModel):
    """The guild's tiers and mode."""

    mode: str
    tiers: list[TierOut]


class TierIn(BaseModel):
    """A tier to add or change."""

    threshold: int = Field(ge=0, le=10**12)
    basis: Literal["points", "level"] = "points"
    role_id: str = Field(pattern=r"^\d{1,20}$")


class MemberOut(BaseModel):
    """A member's figures."""

    user_id: str
    points: int
    rank: int
    level: int
    level_progress: float
    tier: str | None = None
    next_tier: str | None = None
    points_to_next_tier: int | None = None
    messages: int
    notify: bool


class EventOut(BaseModel):
    """One ledger event."""

    id: int
    user_id: str
    points: int
    kind: str
    reason: str
    source: str
    actor_id: str | None = None
    reverses_id: int | None = None
    reversed_by: int | None = None
    created_at: str


class EventsOut(BaseModel):
    """Events newest first; pass ``before`` = the last id for the next page."""

    events: list[EventOut]


class EventsQuery(BaseModel):
    """Page the ledger."""

    limit: int = Field(50, ge=1, le=200)
    before: int | None = Field(None, ge=1, le=2**62)


class AdjustIn(BaseModel):
    """A manual give (positive) or take (negative)."""

    points: int = Field(ge=-MAX_ADJUST, le=MAX_ADJUST)
    reason: str = Field(min_length=1, max_length=200)


class ReverseIn(BaseModel):
    """Why an event is reversed."""

    reason: str = Field("", max_length=200)


class AppliedOut(BaseModel):
    """An event written."""

    event_id: int
    user_id: str
    points: int
    total: int


class DayOut(BaseModel):
    """Net points earned in the guild on one UTC day."""

    day: date
    points: int


class DailyOut(BaseModel):
    """Points per day, oldest first."""

    days: list[DayOut]


class DailyQuery(BaseModel):
    """How many days."""

    days: int = Field(30, ge=1, le=365)


class SyncOut(BaseModel):
    """What a role reconcile did."""

    checked: int
    added: int
    removed: int
    problems: dict[str, str]


class ImportOut(BaseModel):
    """What an import did."""

    members: int
    points: int
    skipped: int


# ------------------------------------------------------------------------------------------ helpers
async def _viewer_id() -> int | None:
    """The dashboard's current user (the actor of a change)."""
    user = await current_user()
    return user.id if user is not None else None


def chart_svg(days: list[tuple[date, int]], width: int = 720, height: int = 200) -> str:
    """Bars of points per day as an SVG string (no script, no external reference)."""
    top = max((p for _, p in days), default=0) or 1
    pad, base = 30, height - 24
    step = (width - pad) / max(1, len(days))
    bars = []
    for i, (day, points) in enumerate(days):
        h = max(0, round((base - 10) * max(points, 0) / top))
        x = pad + i * step
        bars.append(
            f'<rect x="{x:.1f}" y="{base - h}" width="{max(1.0, step - 2):.1f}" height="{h}" class="mlg-bar">'
            f"<title>{day.isoformat()}: {points:,} points</title></rect>"
        )
    first = days[0][0].isoformat() if days else ""
    last = days[-1][0].isoformat() if days else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" class="mlg-chart" '
        f'aria-label="Points earned per day from {first} to {last}">'
        f'<text x="0" y="14" class="mlg-axis">{top:,}</text><text x="0" y="{base}" class="mlg-axis">0</text>'
        f'<line x1="{pad}" y1="{base}" x2="{width}" y2="{base}" class="mlg-line"/>'
        + "".join(bars)
        + f'<text x="{pad}" y="{height - 4}" class="mlg-axis">{first}</text>'
        f'<text x="{width}" y="{height - 4}" text-anchor="end" class="mlg-axis">{last}</text></svg>'
    )


def make_blueprint(plugin: MileageContext, state_of: Callable[[], MileageState]) -> Blueprint:
    """The ``mileage`` blueprint: pages and API."""
    bp = Blueprint("mileage", __name__, template_folder="templates")

    @bp.url_value_preprocessor
    def bounded_ids(_endpoint: str | None, values: dict[str, Any] | None) -> None:
        """Member and event ids beyond a 64-bit integer name nothing: 404, not a database error."""
        for key in ("user_id", "event_id"):
            if values and isinstance(values.get(key), int) and not 0 < values[key] < MAX_ID:
                abort(404)

    def guild_of(guild_id: int) -> Any:
        return state_of().guild(guild_id)

    def member_name(guild_id: int, user_id: int) -> str | None:
        guild = guild_of(guild_id)
        member = guild.get_member(user_id) if guild is not None else None
        return member.display_name if member is not None else None

    def tier_rows(guild_id: int, tiers: list[TierRule]) -> list[TierOut]:
        guild = guild_of(guild_id)
        problems = state_of().reconciler.problems.get(guild_id, {})
        rows = []
        for t in tiers:
            role = guild.get_role(t.role_id) if guild is not None and t.role_id else None
            problem = problems.get(t.role_id or 0)
            if problem is None and role is not None and not role.is_assignable():
                problem = "the bot's highest role is not above this role, or the bot lacks Manage Roles"
            rows.append(
                TierOut(
                    name=t.name,
                    basis=t.basis,
                    threshold=t.threshold,
                    role_id=str(t.role_id) if t.role_id else None,
                    role_name=role.name if role is not None else None,
                    problem=problem,
                )
            )
        return rows

    async def board_out(guild_id: int, window: str, page: int, per_page: int) -> tuple[Board, BoardOut]:
        state = state_of()
        board = await state.service.leaderboard(guild_id, window=window, page=page, per_page=per_page)
        curve = await state.curve(guild_id)
        rows = []
        for r in board.rows:
            info = level_of(r.points, curve) if window == "all" else None
            rows.append(
                RowOut(
                    rank=r.rank,
                    user_id=str(r.user_id),
                    name=member_name(guild_id, r.user_id),
                    points=r.points,
                    level=info.level if info else None,
                    progress=round(info.fraction, 4) if info else None,
                )
            )
        out = BoardOut(
            window=board.window,
            page=board.page,
            pages=board.pages,
            per_page=board.per_page,
            total_members=board.total_members,
            rows=rows,
        )
        return board, out

    async def member_out(guild_id: int, user_id: int) -> MemberOut:
        state = state_of()
        standing = await state.service.standing(guild_id, user_id)
        curve = await state.curve(guild_id)
        tiers = await state.tiers(guild_id)
        info = level_of(standing.points, curve)
        tier, upcoming = current_tier(standing.points, tiers, curve), next_tier(standing.points, tiers, curve)
        return MemberOut(
            user_id=str(user_id),
            points=standing.points,
            rank=standing.rank,
            level=info.level,
            level_progress=round(info.fraction, 4),
            tier=tier.name if tier else None,
            next_tier=upcoming.name if upcoming else None,
            points_to_next_tier=upcoming.points_needed(curve) - standing.points if upcoming else None,
            messages=standing.messages,
            notify=standing.notify,
        )

    async def events_out(guild_id: int, user_id: int | None, limit: int, before: int | None) -> list[EventOut]:
        state = state_of()
        events = await state.service.history(guild_id, user_id, limit=limit, before=before)
        reversed_by = await state.service.reversed_ids(guild_id, [e.id for e in events])
        return [
            EventOut(
                id=e.id,
                user_id=str(e.user_id),
                points=e.points,
                kind=e.kind,
                reason=e.reason,
                source=e.source,
                actor_id=str(e.actor_id) if e.actor_id else None,
                reverses_id=e.reverses_id,
                reversed_by=reversed_by.get(e.id),
                created_at=e.created_at.isoformat(),
            )
            for e in events
        ]

    def _page_number(value: str | None, default: int = 1, high: int = 100000) -> int:
        return int(value) if value and value.isdigit() and len(value) < 7 and 1 <= int(value) <= high else default

    # ----------------------------------------------------------------------------------- pages
    @bp.get("/assets/<path:filename>")
    async def asset(guild_id: int, filename: str) -> Any:
        """The plugin's stylesheet."""
        return await send_from_directory(ASSETS, filename)

    @bp.get("/")
    async def index(guild_id: int) -> Any:
        window = request.args.get("window", "all")
        if window not in ("all", "30d", "7d"):
            window = "all"
        page = _page_number(request.args.get("page"))
        _, out = await board_out(guild_id, window, page, PER_PAGE)
        days = await state_of().service.per_day(guild_id, 30)
        tiers = tier_rows(guild_id, await state_of().tiers(guild_id))
        return await render_template(
            "mileage/index.html",
            guild_id=guild_id,
            board=out,
            window=window,
            chart=chart_svg(days),
            problems=[t for t in tiers if t.problem],
        )

    async def render_member(guild_id: int, user_id: int, notice: str | None = None, status: int = 200) -> Any:
        before = request.args.get("before")
        events = await events_out(
            guild_id, user_id, 50, int(before) if before and before.isdigit() and len(before) < 20 else None
        )
        body = await render_template(
            "mileage/member.html",
            guild_id=guild_id,
            member=await member_out(guild_id, user_id),
            name=member_name(guild_id, user_id) or str(user_id),
            events=events,
            notice=notice,
            max_adjust=MAX_ADJUST,
        )
        return body, status

    @bp.get("/member/<int:user_id>")
    async def member_page(guild_id: int, user_id: int) -> Any:
        notice = {"adjusted": "Saved.", "reversed": "Reversed."}.get(request.args.get("done", ""))
        return await render_member(guild_id, user_id, notice)

    @bp.post("/member/<int:user_id>/adjust")
    async def adjust_page(guild_id: int, user_id: int) -> Any:
        form = await request.form
        raw, reason = str(form.get("points", "")).strip(), str(form.get("reason", "")).strip()
        try:
            points = int(raw)
        except ValueError:
            return await render_member(guild_id, user_id, f"{raw[:20]!r} is not a whole number of points.", 400)
        if not reason or len(reason) > 200:
            return await render_member(guild_id, user_id, "A reason of 1 to 200 characters is required.", 400)
        try:
            applied = await state_of().service.adjust(
                guild_id, user_id, points, actor_id=await _viewer_id(), reason=reason
            )
        except MileageError as exc:
            return await render_member(guild_id, user_id, str(exc), 400)
        await state_of().changed([applied])
        return redirect(f"/guilds/{guild_id}/mileage/member/{user_id}?done=adjusted", 303)

    @bp.post("/events/<int:event_id>/reverse")
    async def reverse_page(guild_id: int, event_id: int) -> Any:
        form = await request.form
        state = state_of()
        try:
            applied = await state.service.reverse(
                guild_id, event_id, actor_id=await _viewer_id(), reason=str(form.get("reason", ""))[:200]
            )
        except MileageError as exc:
            body = await render_template("mileage/message.html", guild_id=guild_id, message=str(exc))
            return body, 404 if "no mileage event" in str(exc) else 409
        await state.changed([applied])
        return redirect(f"/guilds/{guild_id}/mileage/member/{applied.award.user_id}?done=reversed", 303)

    async def render_tiers(guild_id: int, notice: str | None = None, status: int = 200) -> Any:
        state = state_of()
        guild = guild_of(guild_id)
        roles = []
        if guild is not None:
            roles = [
                {"id": str(r.id), "name": r.name, "assignable": r.is_assignable()}
                for r in reversed(guild.roles)
                if not r.is_default() and not r.managed
            ]
        settings = await state.settings(guild_id)
        body = await render_template(
            "mileage/tiers.html",
            guild_id=guild_id,
            tiers=tier_rows(guild_id, await state.tiers(guild_id)),
            roles=roles,
            mode=settings.tier_mode,
            notice=notice,
        )
        return body, status

    @bp.get("/tiers")
    async def tiers_page(guild_id: int) -> Any:
        notice = {"saved": "Saved.", "removed": "Removed.", "synced": "Roles reconciled."}.get(
            request.args.get("done", "")
        )
        return await render_tiers(guild_id, notice)

    @bp.post("/tiers")
    async def tiers_save(guild_id: int) -> Any:
        form = await request.form
        state = state_of()
        action = form.get("action", "add")
        try:
            if action == "remove":
                await state.service.remove_tier(guild_id, str(form.get("name", "")))
            elif action == "sync":
                await state.settle()
                await state.reconciler.sync_guild(guild_id)
                return redirect(f"/guilds/{guild_id}/mileage/tiers?done=synced", 303)
            else:
                raw = str(form.get("threshold", "")).strip()
                role_raw = str(form.get("role_id", "")).strip()
                if not raw.isdigit() or len(raw) > 13:
                    raise MileageError(f"{raw[:20]!r} is not a threshold (a whole number ≥ 0).")
                guild = guild_of(guild_id)
                role = guild.get_role(int(role_raw)) if guild and role_raw.isdigit() and len(role_raw) < 21 else None
                if role is None or role.is_default() or role.managed:
                    raise MileageError("Choose one of this server's roles.")
                await state.service.add_tier(
                    guild_id, str(form.get("name", "")), int(raw), str(form.get("basis", "points")), role.id
                )
        except MileageError as exc:
            return await render_tiers(guild_id, str(exc), 400)
        state.tiers_changed(guild_id)
        return redirect(f"/guilds/{guild_id}/mileage/tiers?done={'removed' if action == 'remove' else 'saved'}", 303)

    @bp.get("/transfer")
    async def transfer_page(guild_id: int) -> Any:
        return await render_template("mileage/transfer.html", guild_id=guild_id, notice=None, limit=MAX_IMPORT_BYTES)

    @bp.post("/transfer")
    async def import_page(guild_id: int) -> Any:
        state = state_of()
        files = await request.files
        upload = files.get("file")
        data = upload.read(MAX_IMPORT_BYTES + 1) if upload is not None else b""
        try:
            if not data:
                raise MileageError("Choose a file to import.")
            if len(data) > MAX_IMPORT_BYTES:
                raise MileageError(f"The file is over the {MAX_IMPORT_BYTES:,}-byte limit.")
            rows, digest = parse_import(data, await state.curve(guild_id))
            result = await state.service.import_rows(guild_id, rows, digest, await _viewer_id())
        except MileageError as exc:
            body = await render_template(
                "mileage/transfer.html", guild_id=guild_id, notice=str(exc), limit=MAX_IMPORT_BYTES
            )
            return body, 400
        state.tiers_changed(guild_id)
        notice = f"Imported {result.members:,} member(s), {result.points:,} points"
        notice += f"; {result.skipped:,} already imported from this file." if result.skipped else "."
        body = await render_template("mileage/transfer.html", guild_id=guild_id, notice=notice, limit=MAX_IMPORT_BYTES)
        return body

    @bp.get("/export.csv")
    async def export_page(guild_id: int) -> Any:
        return await _export(guild_id)

    async def _export(guild_id: int) -> Response:
        state = state_of()
        await state.settle()
        text = await state.service.export_csv(guild_id, await state.curve(guild_id))
        return Response(
            text,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="mileage-{guild_id}.csv"'},
        )

    # ----------------------------------------------------------------------------------- API
    @bp.get("/api/leaderboard")
    @validate_querystring(BoardQuery)
    @validate_response(BoardOut, 200)
    async def api_leaderboard(guild_id: int, query_args: BoardQuery) -> BoardOut:
        """A leaderboard page: all time (totals) or the last 30 / 7 days (daily rollups)."""
        _, out = await board_out(guild_id, query_args.window, query_args.page, query_args.per_page)
        return out

    @bp.get("/api/members/<int:user_id>")
    @validate_response(MemberOut, 200)
    async def api_member(guild_id: int, user_id: int) -> MemberOut:
        """A member's points, rank, level, tier and progress."""
        return await member_out(guild_id, user_id)

    @bp.get("/api/members/<int:user_id>/events")
    @validate_querystring(EventsQuery)
    @validate_response(EventsOut, 200)
    async def api_member_events(guild_id: int, user_id: int, query_args: EventsQuery) -> EventsOut:
        """A member's ledger, newest first."""
        return EventsOut(events=await events_out(guild_id, user_id, query_args.limit, query_args.before))

    @bp.get("/api/events")
    @validate_querystring(EventsQuery)
    @validate_response(EventsOut, 200)
    async def api_events(guild_id: int, query_args: EventsQuery) -> EventsOut:
        """The guild's ledger, newest first."""
        return EventsOut(events=await events_out(guild_id, None, query_args.limit, query_args.before))

    @bp.post("/api/members/<int:user_id>/adjust")
    @validate_request(AdjustIn)
    @validate_response(AppliedOut, 200)
    @validate_response(ErrorOut, 400)
    async def api_adjust(guild_id: int, user_id: int, data: AdjustIn) -> Any:
        """Give (positive) or take (negative) points, with a reason kept in the ledger."""
        state = state_of()
        try:
            applied = await state.service.adjust(
                guild_id, user_id, data.points, actor_id=await _viewer_id(), reason=data.reason
            )
        except MileageError as exc:
            return {"error": "invalid adjustment", "detail": str(exc)}, 400
        await state.changed([applied])
        return AppliedOut(event_id=applied.event_id, user_id=str(user_id), points=data.points, total=applied.new_total)

    @bp.post("/api/events/<int:event_id>/reverse")
    @validate_request(ReverseIn)
    @validate_response(AppliedOut, 200)
    @validate_response(ErrorOut, 404)
    @validate_response(ErrorOut, 409)
    async def api_reverse(guild_id: int, event_id: int, data: ReverseIn) -> Any:
        """Undo one event (once): a reversal event pointing at it."""
        state = state_of()
        try:
            actor = await _viewer_id()
            applied = await state.service.reverse(guild_id, event_id, actor_id=actor, reason=data.reason)
        except MileageError as exc:
            code = 404 if "no mileage event" in str(exc) else 409
            return {"error": "not found" if code == 404 else "refused", "detail": str(exc)}, code
        await state.changed([applied])
        return AppliedOut(
            event_id=applied.event_id,
            user_id=str(applied.award.user_id),
            points=applied.award.points,
            total=applied.new_total,
        )

    @bp.get("/api/tiers")
    @validate_response(TiersOut, 200)
    async def api_tiers(guild_id: int) -> TiersOut:
        """Tiers, their roles, and roles the bot cannot grant."""
        state = state_of()
        settings = await state.settings(guild_id)
        return TiersOut(mode=settings.tier_mode, tiers=tier_rows(guild_id, await state.tiers(guild_id)))

    @bp.put("/api/tiers/<name>")
    @validate_request(TierIn)
    @validate_response(TiersOut, 200)
    @validate_response(ErrorOut, 400)
    async def api_tier_put(guild_id: int, name: str, data: TierIn) -> Any:
        """Add or change the tier ``name``."""
        state = state_of()
        guild = guild_of(guild_id)
        role = guild.get_role(int(data.role_id)) if guild is not None else None
        if role is None or role.is_default() or role.managed:
            return {"error": "invalid tier", "detail": "role_id is not a role of this server that can be granted"}, 400
        try:
            await state.service.add_tier(guild_id, name, data.threshold, data.basis, role.id)
        except MileageError as exc:
            return {"error": "invalid tier", "detail": str(exc)}, 400
        state.tiers_changed(guild_id)
        return await api_tiers(guild_id)

    @bp.delete("/api/tiers/<name>")
    @validate_response(TiersOut, 200)
    @validate_response(ErrorOut, 404)
    async def api_tier_delete(guild_id: int, name: str) -> Any:
        """Remove the tier ``name``."""
        state = state_of()
        try:
            await state.service.remove_tier(guild_id, name)
        except MileageError as exc:
            return {"error": "not found", "detail": str(exc)}, 404
        state.tiers_changed(guild_id)
        return await api_tiers(guild_id)

    @bp.post("/api/sync-roles")
    @validate_response(SyncOut, 200)
    async def api_sync(guild_id: int) -> SyncOut:
        """Reconcile every member's tier roles now."""
        state = state_of()
        await state.settle()
        report = await state.reconciler.sync_guild(guild_id)
        return SyncOut(
            checked=report.checked,
            added=report.added,
            removed=report.removed,
            problems={str(k): v for k, v in report.problems.items()},
        )

    @bp.get("/api/daily")
    @validate_querystring(DailyQuery)
    @validate_response(DailyOut, 200)
    async def api_daily(guild_id: int, query_args: DailyQuery) -> DailyOut:
        """Net points earned per UTC day (the chart's data)."""
        days = await state_of().service.per_day(guild_id, query_args.days)
        return DailyOut(days=[DayOut(day=d, points=p) for d, p in days])

    @bp.post("/api/import")
    @validate_response(ImportOut, 200)
    @validate_response(ErrorOut, 400)
    @validate_response(ErrorOut, 413)
    async def api_import(guild_id: int) -> Any:
        """Import the request body: MEE6 leaderboard JSON or CSV ``member_id,points``; all or nothing."""
        if (request.content_length or 0) > MAX_IMPORT_BYTES:
            return {"error": "too large", "detail": f"the limit is {MAX_IMPORT_BYTES} bytes"}, 413
        data = await request.get_data(cache=False)
        if not isinstance(data, bytes) or len(data) > MAX_IMPORT_BYTES:
            return {"error": "too large", "detail": f"the limit is {MAX_IMPORT_BYTES} bytes"}, 413
        state = state_of()
        try:
            rows, digest = parse_import(data, await state.curve(guild_id))
        except MileageError as exc:
            return {"error": "invalid import", "detail": str(exc)}, 400
        result = await state.service.import_rows(guild_id, rows, digest, await _viewer_id())
        state.tiers_changed(guild_id)
        return ImportOut(members=result.members, points=result.points, skipped=result.skipped)

    @bp.get("/api/export")
    async def api_export(guild_id: int) -> Response:
        """Every member's points as CSV ``member_id,points,level``."""
        return await _export(guild_id)

    return bp
