"""Every dashboard page fits a 390 px phone screen: no horizontal scrolling of the page itself (wide
tables and code blocks scroll inside their own box)."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild, Member
from plugins.config.service import Actor
from tests.config.helpers import ECHO, TYPED, service
from tests.config.test_browser import SCREENSHOTS, logged_in_page

pytestmark = pytest.mark.browser

PHONE = 390
LONG = "a-very-long-word-without-any-space-that-a-member-typed-" * 2


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "echo": dict(ECHO), "typed": dict(TYPED)}


@pytest.fixture
def omo_owners(admin: Member) -> list[int]:
    """The admin is an operator too, so one login reaches every page."""
    return [admin.user_id]


async def test_no_page_scrolls_sideways_at_390px(
    runtime: Any, emulator: Emulator, guild: Guild, admin: Member, web_login: Any, browser: Any
) -> None:
    svc = service(runtime)
    await svc.set_values(guild.id, "typed", {"tags": [LONG[:90], "short"], "limit": 42}, Actor(admin.user_id, "ada"))
    await svc.set_values(guild.id, "typed", {"greeting": "hi there", "ratio": 0.25}, Actor(admin.user_id, "ada"))
    await svc.set_values(guild.id, "echo", {"prefix": "#"}, Actor(admin.user_id, "ada"))
    page = await logged_in_page(browser, runtime, web_login, admin, width=PHONE)
    pages = [
        "/",
        "/guilds",
        f"/guilds/{guild.id}/",
        "/operator",
        "/api/docs",
        f"/guilds/{guild.id}/config/",
        f"/guilds/{guild.id}/config/typed",
        f"/guilds/{guild.id}/config/echo",
        f"/guilds/{guild.id}/echo/",
        "/no-such-page",
    ]

    wide: dict[str, int] = {}
    for path in pages:
        await page.goto(runtime.web_url + path)
        await page.wait_for_load_state()
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            wide[path] = overflow
        name = path.strip("/").replace(str(guild.id), "guild").replace("/", "-") or "start"
        await page.screenshot(path=str(SCREENSHOTS / f"phone-{PHONE}-{name}.png"), full_page=True)

    assert wide == {}, f"pages wider than a {PHONE}px screen (px too wide): {wide}"
