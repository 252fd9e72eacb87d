"""The add/edit subscription page in a real browser (Playwright driving Debian's chromium): the live preview."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild, Member
from plugins.dailies.models import Subscription
from tests.config.test_browser import SCREENSHOTS, logged_in_page
from tests.dailies.feedserver import FeedServer, rss
from tests.dailies.helpers import dailies_plugin

pytestmark = pytest.mark.browser

ITEMS = [{"title": "Hello world", "link": "https://n.example/1", "guid": "1", "author": "Ada"}]


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "dailies": dailies_plugin()}


async def test_typing_a_template_updates_the_live_preview_on_the_add_and_edit_pages(
    runtime: Any, emulator: Emulator, guild: Guild, admin: Member, web_login: Any, browser: Any, feeds: FeedServer
) -> None:
    url = feeds.set("/live", rss(ITEMS))
    page = await logged_in_page(browser, runtime, web_login, admin)
    preview = page.locator("#preview")
    await page.goto(f"{runtime.web_url}/guilds/{guild.id}/dailies/new")
    assert await preview.is_hidden()

    await page.get_by_label("Source (feed URL", exact=False).fill(url)
    template = page.locator("#f-template")
    await template.click()
    await page.keyboard.type("NEWS: {{ title }}")  # typed key by key: no button pressed
    await preview.get_by_text("NEWS: Hello world").wait_for()

    await page.keyboard.press("Control+A")
    await page.keyboard.type("{{ author }} wrote {{ link }}")
    await preview.get_by_text("Ada wrote https://n.example/1").wait_for()
    assert "NEWS:" not in await preview.inner_text()

    await page.keyboard.type(" {{ nope(")  # a template that does not compile: the preview says so
    await page.locator("#preview-error").wait_for()
    assert "template" in (await page.locator("#preview-error").inner_text()).lower()
    await page.screenshot(path=str(SCREENSHOTS / "dailies-preview-error.png"), full_page=True)

    await page.keyboard.press("Control+A")
    await page.keyboard.type("Saved: {{ title }}")
    await page.get_by_role("button", name="Subscribe").click()
    await page.wait_for_url(f"**/guilds/{guild.id}/dailies/**")
    sub = await Subscription.get(guild_id=guild.id)
    assert sub.template == "Saved: {{ title }}"

    await page.goto(f"{runtime.web_url}/guilds/{guild.id}/dailies/{sub.id}")
    await page.locator("#f-template").click()
    await page.keyboard.press("End")
    await page.keyboard.type(" (edited)")
    await preview.get_by_text("Saved: Hello world (edited)").wait_for()
    await page.screenshot(path=str(SCREENSHOTS / "dailies-preview-edit.png"), full_page=True)
    # the one console error is the browser's note of the bad template's 400 answer
    assert [e for e in page.omo_errors if "status of 400" not in e] == []
