"""Two web processes on one PostgreSQL database: a logout or a token revoke on one is honoured at once
by the other (its cached session/token rows are dropped through the bus, not after ROW_CACHE_SECONDS)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.testing.pytest_plugin import eventually
from webadmin.auth import ROW_CACHE_SECONDS

from .conftest import ECHO, People, bearer, operator_token, token_id

pytestmark = pytest.mark.postgres  # web processes share sessions through PostgreSQL (LISTEN/NOTIFY)


async def _refused_within(http: httpx.AsyncClient, url: str, seconds: float) -> None:
    """GET ``url`` until it answers 401; AssertionError if ``seconds`` pass first."""

    async def refused() -> bool:
        return (await http.get(url)).status_code == 401

    await eventually(refused, timeout=seconds, interval=0.05, what=f"{url} answering 401")


@pytest.fixture
async def replicas(runtime_factory: Any, people: People) -> tuple[Any, Any]:
    first = await runtime_factory(dict(ECHO), owners=[people.operator])
    second = await runtime_factory(dict(ECHO), owners=[people.operator])
    return first, second


async def test_logout_on_one_process_ends_the_session_on_the_other_at_once(
    replicas: tuple[Any, Any], people: People, web_login: Any
) -> None:
    first, second = replicas
    client = await web_login(first, people.admin_a)
    cookie = {"omo_session": client.http.cookies["omo_session"]}
    async with httpx.AsyncClient(base_url=second.web_url, cookies=cookie) as other:
        before = (await other.get("/api/v1/me")).status_code  # now cached on the second process

        await client.form("/auth/logout")
        await _refused_within(other, "/api/v1/me", ROW_CACHE_SECONDS / 2)

    assert before == 200


async def test_token_revoked_on_one_process_is_refused_by_the_other_at_once(
    replicas: tuple[Any, Any], people: People, web_login: Any
) -> None:
    first, second = replicas
    secret = await operator_token(first, people, web_login)
    operator = await web_login(first, people.operator)
    async with bearer(second, secret) as script:
        before = (await script.get("/api/v1/me")).status_code

        listed = token_id((await operator.get("/operator")).text)
        await operator.form(f"/operator/tokens/{listed}/revoke")
        await _refused_within(script, "/api/v1/me", ROW_CACHE_SECONDS / 2)

    assert before == 200
