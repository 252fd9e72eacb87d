"""The dashboard in a real browser (Playwright driving Debian's chromium), end to end with the emulator.

Screenshots of every page land in ``test-output/screenshots/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from core.testing.emulator import Emulator

from .conftest import People

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"echo": {"module": "tests.sample_plugins.echo"}, "apiplug": {"module": "tests.webadmin.apiplug"}}


@pytest.fixture
def omo_owners(people: People) -> list[int]:
    """Alice administers guild A and is also an operator here, so one login covers every page."""
    return [people.admin_a]


@pytest_asyncio.fixture
async def browser_page(browser: Any) -> AsyncIterator[Any]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: errors.append(f"{msg.text} {msg.location.get('url')}") if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.omo_errors = errors
    try:
        yield page
    finally:
        await context.close()


async def shot(page: Any, name: str, *, width: int | None = None) -> None:
    if width is not None:
        await page.set_viewport_size({"width": width, "height": 860})
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if width is not None:
        await page.set_viewport_size({"width": 1280, "height": 860})


async def test_admin_logs_in_switches_echo_off_and_on_reloads_and_logs_out(
    runtime: Any, emulator: Emulator, people: People, browser_page: Any
) -> None:
    page = browser_page
    channel = emulator.general(people.guild_a)
    gid = people.guild_a.id

    await page.goto(runtime.web_url + "/")
    await shot(page, "01-start")
    await page.get_by_role("link", name="Log in with Discord").first.click()
    await page.wait_for_url(f"{emulator.base_url}/oauth2/authorize*")
    await shot(page, "02-emulator-authorize")
    await page.get_by_label("alice").check()
    await page.get_by_role("button", name="Authorize").click()

    await page.wait_for_url(runtime.web_url + "/guilds")
    await shot(page, "03-guilds")
    await page.get_by_role("link", name="Manage Test Guild").click()
    await page.wait_for_url(f"{runtime.web_url}/guilds/{gid}/")
    await shot(page, "04-overview")
    await shot(page, "04-overview-375", width=375)

    switch = page.get_by_role("switch", name="echo on, switch off")
    await switch.click()
    await page.wait_for_url(f"**/guilds/{gid}/?switched=echo&on=0*")
    assert await page.get_by_role("status").inner_text() == "echo is now off."
    refused = await emulator.invoke(people.admin_a, channel, "echo", text="hi")
    assert "disabled in this server" in (refused.content or "")
    await shot(page, "05-overview-echo-off")

    switch = page.get_by_role("switch", name="echo off, switch on")
    await switch.focus()
    await page.keyboard.press("Space")  # keyboard works: the switch is a real button
    await page.wait_for_url(f"**/guilds/{gid}/?switched=echo&on=1*")
    served = await emulator.invoke(people.admin_a, channel, "echo", text="hi")
    assert served.content == ">hi"

    await page.get_by_role("link", name="Items", exact=True).first.click()
    await page.wait_for_url(f"**/guilds/{gid}/apiplug/")
    await shot(page, "06-plugin-page")

    page.on("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("link", name="Operator").click()
    await page.wait_for_url(runtime.web_url + "/operator")
    await page.get_by_role("button", name="Reload echo").click()
    await page.wait_for_url("**/operator#plugin-echo")
    assert "Reloaded 1.0 → 1.0" in await page.locator("#plugin-echo").inner_text()
    assert runtime.host.records["echo"].reloads == 1
    await page.get_by_label("Name").fill("deploy script")
    await page.get_by_role("button", name="Create token").click()
    assert (await page.locator("#new-token").inner_text()).startswith("omo_")
    await shot(page, "07-operator")

    await page.get_by_role("link", name="API", exact=True).click()
    await page.wait_for_url(runtime.web_url + "/api/docs")
    await shot(page, "08-api-docs")

    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_url(runtime.web_url + "/")
    assert await page.get_by_role("link", name="Log in with Discord").count() >= 1
    await page.goto(f"{runtime.web_url}/guilds/{gid}/")
    await shot(page, "09-error-401")
    assert "Log in" in await page.locator("h1").inner_text()
    # no CSP violations, script errors or missing resources on our pages; the 401 page itself is expected
    assert [e for e in page.omo_errors if "status of 401" not in e and emulator.base_url not in e] == []
