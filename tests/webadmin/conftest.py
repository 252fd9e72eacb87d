"""Fixtures for the web admin tests: a runtime with the echo plugin, an operator, admins and plain members."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from core.testing.emulator import Emulator, Guild
from core.testing.emulator.permissions import ADMINISTRATOR, MANAGE_GUILD

ECHO = {"echo": {"module": "tests.sample_plugins.echo"}}


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    """Every web admin test runs with the echo sample plugin."""
    return dict(ECHO)


@dataclass
class People:
    """Who is who in the web admin tests."""

    guild_a: Guild
    guild_b: Guild
    admin_a: int  # Manage Server in A, plain member of B
    admin_b: int  # Administrator in B
    member_a: int  # plain member of A
    operator: int  # a user in no guild, operator by plugins.toml


@pytest.fixture
def people(emulator: Emulator, guild: Guild) -> People:
    """Two guilds with their admins, a plain member and an operator (created before the runtime starts)."""
    guild_b = emulator.create_guild("Other Guild")
    managers = emulator.create_role(guild, "Managers", permissions=MANAGE_GUILD)
    admins_b = emulator.create_role(guild_b, "Admins", permissions=ADMINISTRATOR)
    admin_a = emulator.create_member(guild, "alice", roles=[managers])
    emulator.create_member(guild_b, user=emulator.world.users[admin_a.user_id])
    admin_b = emulator.create_member(guild_b, "bob", roles=[admins_b])
    member_a = emulator.create_member(guild, "carol")
    operator = emulator.create_user("olga")
    return People(guild, guild_b, admin_a.user_id, admin_b.user_id, member_a.user_id, operator.id)


@pytest.fixture
def omo_owners(people: People) -> list[int]:
    """The operator of the web admin tests."""
    return [people.operator]


# -- API tokens (plain helpers: import them from .conftest) ---------------------------------------------


async def operator_token(runtime: Any, people: People, web_login: Any, name: str = "script") -> str:
    """Create an API token on the operator page and read it from the page (shown once)."""
    operator = await web_login(runtime, people.operator)
    created = await operator.form("/operator/tokens", {"name": name})
    assert created.status_code == 201
    return created.text.split('id="new-token">', 1)[1].split("<", 1)[0]


def bearer(runtime: Any, secret: str) -> httpx.AsyncClient:
    """An HTTP client for ``runtime``'s dashboard sending ``secret`` as its bearer token (no cookie)."""
    return httpx.AsyncClient(base_url=runtime.web_url, headers={"Authorization": f"Bearer {secret}"})


def token_id(page_text: str) -> str:
    """The id of the (first) token listed on the operator page, from its ``/operator/tokens/<id>/`` links."""
    return page_text.split("/operator/tokens/", 1)[1].split("/", 1)[0]
