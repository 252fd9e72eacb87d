"""A sample plugin for the web admin tests: JSON routes under its blueprint's ``/api/``, a status line, nav items."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from quart import Blueprint, render_template_string, request
from quart_schema import hide

from core.plugin import NavItem, PluginContext, PluginInfo, hookimpl

ITEMS: dict[int, list[str]] = {}
FAIL_STATUS = False
PAGE = """{% extends "base.html" %}{% block title %}Items{% endblock %}
{% block main %}<h1>Items</h1><form method="post">{{ csrf_field() }}</form>{% endblock %}"""


class ApiplugSettings(BaseModel):
    """No settings worth speaking of."""

    label: str = "items"


@hookimpl
def omo_plugin_info() -> PluginInfo:
    return PluginInfo(version="2.0", description="keeps a list per server", settings=ApiplugSettings)


@hookimpl
def omo_blueprint(plugin: PluginContext) -> Any:
    bp = Blueprint("apiplug", __name__)

    @bp.get("/")
    async def page(guild_id: int) -> str:
        return await render_template_string(PAGE)

    @bp.get("/api/items")
    async def list_items(guild_id: int) -> Any:
        return {"guild_id": str(guild_id), "items": ITEMS.get(guild_id, [])}

    @bp.post("/api/items")
    async def add_item(guild_id: int) -> Any:
        body = await request.get_json()
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            return {"error": "invalid request body", "detail": [{"field": "name", "message": "required"}]}, 400
        ITEMS.setdefault(guild_id, []).append(body["name"])
        return {"items": ITEMS[guild_id]}, 201

    @bp.get("/api/boom")
    @hide  # fails on purpose: not part of the API that schemathesis probes
    async def boom(guild_id: int) -> Any:
        raise RuntimeError("the plugin route failed")

    @bp.get("/api/items/<int:index>")
    async def item(guild_id: int, index: int) -> Any:
        return {"name": ITEMS.get(guild_id, [])[index]}  # IndexError: the blueprint's own error handler

    @bp.errorhandler(IndexError)
    async def no_such_item(error: IndexError) -> Any:
        return {"error": "no such item", "detail": None}, 404

    @bp.after_request
    async def mark(response: Any) -> Any:
        response.headers["X-Apiplug"] = "seen"
        return response

    @bp.get("/api/summary")
    async def summary(guild_id: int) -> Any:
        answer = SummaryOut(count=len(ITEMS.get(guild_id, [])), last=(ITEMS.get(guild_id) or [None])[-1])
        return (answer, 203) if request.args.get("status") else answer

    return bp


class SummaryOut(BaseModel):
    """A pydantic model answered as it is (with or without a status code)."""

    count: int
    last: str | None


@hookimpl
def omo_guild_status(plugin: PluginContext, guild_id: int) -> str:
    if FAIL_STATUS:
        raise RuntimeError("status exploded")
    return f"{len(ITEMS.get(guild_id, []))} items kept"


@hookimpl
def omo_nav_items(plugin: PluginContext, guild_id: int) -> list[NavItem]:
    return [NavItem("Items", ""), NavItem("Item API", "api/items")]
