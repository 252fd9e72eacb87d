"""The library details webadmin/compat.py (and the rate limiter in webadmin/security.py, the route swap in
core/web_mount.py) rely on. An upgrade of Quart, Flask, Werkzeug, quart-schema, quart-auth or quart-rate-limiter
that changes one of them fails here, with the name of what changed, instead of breaking the dashboard."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import flask.templating
import pytest_asyncio
from pydantic import BaseModel
from quart import Blueprint, Quart, Request, Response, request
from quart_auth import AuthUser, QuartAuth, login_user, logout_user
from quart_rate_limiter import RateLimit, RateLimiter, RateLimitExceeded
from quart_schema import QuartSchema
from quart_schema.openapi import OpenAPIProvider
from werkzeug.routing import Map
from werkzeug.routing.matcher import StateMachineMatcher

from core.environment import Environment
from core.runtime import Runtime
from webadmin.app import create_app
from webadmin.compat import OmoAuth, OmoQuart, OmoRequest, RequestRateLimiter, convert_responses_directly


def parameters(func: Any) -> list[str]:
    return list(inspect.signature(func).parameters)


@pytest_asyncio.fixture
async def app(tmp_path: Path) -> AsyncIterator[Quart]:
    """The real web admin app of a runtime that is built but not started (no database, no gateway)."""
    env = Environment.from_environ({"OMO_DATA_DIR": str(tmp_path), "OMO_PLUGINS_FILE": str(tmp_path / "none.toml")})
    web = create_app(Runtime(env))

    @web.get("/compat/login")
    async def log_in() -> str:
        login_user(AuthUser("session-1"), remember=True)
        return "in"

    @web.get("/compat/logout")
    async def log_out() -> str:
        logout_user()
        return "out"

    yield web


# ------------------------------------------------------------------------------------------- Quart and Flask


def test_flask_still_gives_every_blueprint_its_synchronous_noop_context_processor() -> None:
    default = flask.templating._default_template_ctx_processor  # what OmoQuart.ensure_async runs inline
    plain = Quart(__name__)
    plain.register_blueprint(Blueprint("bp", __name__))

    assert not inspect.iscoroutinefunction(default) and default() == {}
    assert default in plain.template_context_processors["bp"]


async def test_ensure_async_is_asked_per_function_and_remembers_its_answer() -> None:
    app = OmoQuart(__name__)

    def sync_view() -> str:
        return "sync"

    wrapped = app.ensure_async(sync_view)

    assert parameters(Quart.ensure_async) == ["self", "func"]
    assert app.ensure_async(sync_view) is wrapped and await wrapped() == "sync"
    assert await app.ensure_async(flask.templating._default_template_ctx_processor)() == {}


async def test_request_blueprints_and_is_secure_are_properties_that_omo_request_can_replace() -> None:
    app = OmoQuart(__name__)
    parent, child = Blueprint("parent", __name__), Blueprint("child", __name__)

    @child.get("/x")
    async def view() -> Any:
        return {"omo": request.blueprints, "quart": Request.blueprints.fget(request)}  # type: ignore[attr-defined]

    parent.register_blueprint(child, url_prefix="/child")
    app.register_blueprint(parent, url_prefix="/parent")
    answer = await (await app.test_client().get("/parent/child/x")).get_json()

    assert isinstance(inspect.getattr_static(Request, "blueprints"), property)
    assert isinstance(inspect.getattr_static(Request, "is_secure"), property)
    assert app.request_class is OmoRequest
    assert answer == {"omo": ["parent.child", "parent"], "quart": ["parent.child", "parent"]}


# ---------------------------------------------------------------------------------------------- quart-schema


class Out(BaseModel):
    name: str
    count: int = 0


async def test_quart_schema_wraps_make_response_and_the_shortcut_gives_the_same_responses() -> None:
    app = Quart(__name__)
    QuartSchema(app)
    converted = app.make_response  # quart-schema's conversion, wrapped around Quart's
    convert_responses_directly(app)
    results: list[Any] = [
        "text",
        b"bytes",
        ("created", 201),
        Out(name="a"),
        (Out(name="b", count=2), 203),
        {"plain": [1, 2]},
        ({"plain": True}, 201),
        (Out(name="c"), {"X-Extra": "1"}),
    ]

    async with app.test_request_context("/"):
        pairs = [(await converted(r), await app.make_response(r)) for r in results]
        bodies = [(await a.get_data(), await b.get_data()) for a, b in pairs]

    assert "make_response" in vars(app)  # an instance attribute: quart-schema's wrapper, then ours
    assert {"QUART_SCHEMA_CONVERT_CASING", "QUART_SCHEMA_PYDANTIC_DUMP_OPTIONS"} <= set(app.config)
    for (expected, got), (expected_body, got_body) in zip(pairs, bodies, strict=True):
        assert isinstance(got, Response)
        assert (got.status_code, got.mimetype, got_body) == (expected.status_code, expected.mimetype, expected_body)
        assert got.headers.get("X-Extra") == expected.headers.get("X-Extra")


def test_the_openapi_provider_hooks_webadmin_overrides_are_still_there() -> None:
    assert parameters(OpenAPIProvider.generate_rules) == ["self"]
    assert parameters(OpenAPIProvider.build_paths) == ["self", "rule"]


# ------------------------------------------------------------------------------------------------ quart-auth


async def test_quart_auth_reads_cookie_secure_per_request_when_it_writes_the_cookie(app: Quart) -> None:
    client = app.test_client()

    plain = await client.get("/compat/login", scheme="http")
    secure = await client.get("/compat/login", scheme="https")
    logout = await client.get("/compat/logout", scheme="https")

    assert "omo_session=" in plain.headers["Set-Cookie"] and "Secure" not in plain.headers["Set-Cookie"]
    assert "omo_session=" in secure.headers["Set-Cookie"] and "Secure" in secure.headers["Set-Cookie"]
    assert "omo_session=;" in logout.headers["Set-Cookie"] and "Secure" in logout.headers["Set-Cookie"]
    assert "HttpOnly" in plain.headers["Set-Cookie"] and "SameSite=Lax" in plain.headers["Set-Cookie"]


def test_quart_auth_registers_a_sync_context_processor_that_omo_auth_drops(app: Quart) -> None:
    plain = Quart(__name__)
    stock = QuartAuth(plain)
    ours: OmoAuth = app.extensions["omo_auth"]

    assert any(getattr(p, "__self__", None) is stock for p in plain.template_context_processors[None])
    assert not any(getattr(p, "__self__", None) is ours for p in app.template_context_processors[None])


async def test_omo_auth_remembers_verified_tokens_and_refuses_bad_ones(app: Quart) -> None:
    ours: OmoAuth = app.extensions["omo_auth"]

    async with app.app_context():
        token = ours.dump_token("session-2")
        first, second, bad = ours.load_token(token), ours.load_token(token), ours.load_token(token + "x")

    assert parameters(QuartAuth.load_token) == ["self", "token", "app"]
    assert first == second == "session-2" and bad is None
    assert token in ours._verified


# ---------------------------------------------------------------------------------------- quart-rate-limiter


def test_the_rate_limiter_internals_request_rate_limiter_overrides_are_still_there() -> None:
    app = Quart(__name__)
    limiter = RequestRateLimiter(app)
    limit = RateLimit(3, timedelta(seconds=60))

    assert any(
        getattr(f, "__func__", None) is RequestRateLimiter._before_request for f in app.before_request_funcs[None]
    )
    assert any(getattr(f, "__func__", None) is RequestRateLimiter._after_request for f in app.after_request_funcs[None])
    assert parameters(RateLimiter._get_limits_for_view_function) == ["self", "view_func", "blueprint"]
    assert parameters(RateLimiter._create_key) == ["self", "endpoint", "rate_limit"]
    assert parameters(RateLimiter._should_skip) == ["self", "rate_limit"]
    assert limiter.skip_function is None and limiter.store is not None
    assert (limit.count, limit.inverse, limit.key_function, limit.skip_function) == (3, 20.0, None, None)
    assert RateLimitExceeded(7).retry_after == 7


# --------------------------------------------------------------------------- Werkzeug (core/web_mount.py)


def test_the_url_map_internals_the_route_swap_replaces_are_still_there() -> None:
    app = Quart(__name__)
    app.add_url_rule("/x", "x", lambda: "x")
    url_map: Map = app.url_map
    url_map.update()
    matcher = StateMachineMatcher(url_map.merge_slashes)
    for rule in url_map.iter_rules():
        matcher.add(rule)

    assert isinstance(url_map._rules_by_endpoint, dict) and "x" in url_map._rules_by_endpoint
    assert hasattr(url_map, "_matcher") and hasattr(url_map, "_remap")
    assert parameters(StateMachineMatcher.add) == ["self", "rule"]
    assert callable(getattr(app.jinja_env.cache, "clear", None))
