"""The settings pages in a real browser (Playwright driving Debian's chromium), end to end with the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.testing.emulator import Emulator, Guild, Member
from tests.config.helpers import ECHO, TYPED, service

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "echo": dict(ECHO), "typed": dict(TYPED)}


async def logged_in_page(browser: Any, runtime: Any, web_login: Any, user: Member, width: int = 1280) -> Any:
    """A page whose context carries the session cookie of a real OAuth2 login of ``user``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    client = await web_login(runtime, user)
    context = await browser.new_context(viewport={"width": width, "height": 900})
    await context.add_cookies([{"name": k, "value": v, "url": runtime.web_url} for k, v in client.cookies.items()])
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.omo_errors = errors
    return page


async def test_a_value_saved_in_the_form_with_the_keyboard_is_seen_by_config_show(
    runtime: Any, emulator: Emulator, guild: Guild, admin: Member, web_login: Any, browser: Any
) -> None:
    page = await logged_in_page(browser, runtime, web_login, admin)
    await page.goto(f"{runtime.web_url}/guilds/{guild.id}/config/")
    await page.get_by_role("link", name="Edit echo settings").click()
    await page.wait_for_url(f"**/guilds/{guild.id}/config/echo")

    await page.get_by_label("Repeat", exact=True).focus()
    await page.keyboard.press("Control+A")
    await page.keyboard.type("3")
    await page.keyboard.press("Shift+Tab")  # back to Prefix, by keyboard
    await page.keyboard.press("Control+A")
    await page.keyboard.type("*")
    await page.keyboard.press("Enter")  # submits the form
    await page.wait_for_url(f"**/guilds/{guild.id}/config/echo?saved=1")
    await page.screenshot(path=str(SCREENSHOTS / "config-echo-saved.png"), full_page=True)

    shown = await emulator.invoke(admin, emulator.general(guild), "config show", plugin="echo")
    echo = await emulator.invoke(admin, emulator.general(guild), "echo", text="k")
    assert await page.get_by_role("status").inner_text() == "Saved."
    assert "**repeat** = `3` *(changed here)*" in shown.embeds[0]["description"]
    assert echo.content == "*k*k*k"

    # with reset buttons on the page, Enter in a field still means Save (not "reset the first field")
    await page.get_by_label("Repeat", exact=True).fill("2")
    await page.get_by_label("Repeat", exact=True).press("Enter")
    await page.wait_for_url(f"**/guilds/{guild.id}/config/echo?saved=1")
    settings = await runtime.settings.get(guild.id, "echo")
    assert (settings.prefix, settings.repeat) == ("*", 2)
    await page.get_by_role("button", name="Reset prefix to default").click()
    await page.wait_for_url(f"**/guilds/{guild.id}/config/echo?saved=reset")
    assert await page.get_by_label("Prefix", exact=True).input_value() == ">"
    assert page.omo_errors == []


async def test_an_invalid_value_shows_the_inline_error_next_to_the_field_at_375px(
    runtime: Any, emulator: Emulator, guild: Guild, admin: Member, web_login: Any, browser: Any
) -> None:
    page = await logged_in_page(browser, runtime, web_login, admin, width=375)
    await page.goto(f"{runtime.web_url}/guilds/{guild.id}/config/typed")

    await page.get_by_label("Limit", exact=True).fill("500")
    await page.get_by_label("Every", exact=True).fill("2 fortnights")
    await page.get_by_role("button", name="Save").click()
    await page.wait_for_load_state()
    await page.screenshot(path=str(SCREENSHOTS / "config-typed-error-375.png"), full_page=True)

    limit = page.get_by_label("Limit", exact=True)
    assert await limit.get_attribute("aria-invalid") == "true"
    assert await limit.input_value() == "500"
    assert "a whole number from 1 to 100" in await page.locator("#f-limit-error").inner_text()
    assert await page.locator("#f-limit-error").is_visible()
    assert "not a duration" in await page.locator("#f-every-error").inner_text()
    assert await page.get_by_role("alert").first.is_visible()
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 375px screen"
    assert await service(runtime).overrides(guild.id, "typed") == {}
    # the refused form is answered with 400, which Chromium logs; nothing else may fail (CSP, scripts, styles)
    assert [e for e in page.omo_errors if "status of 400" not in e] == []


async def test_the_revert_button_restores_the_old_value(
    runtime: Any, emulator: Emulator, guild: Guild, admin: Member, web_login: Any, browser: Any
) -> None:
    await emulator.invoke(admin, emulator.general(guild), "config set", plugin="echo", key="repeat", value="2")
    await emulator.invoke(admin, emulator.general(guild), "config set", plugin="echo", key="repeat", value="5")
    [latest, _] = await service(runtime).history(guild.id, "echo")
    page = await logged_in_page(browser, runtime, web_login, admin)
    await page.goto(f"{runtime.web_url}/guilds/{guild.id}/config/echo")

    await page.get_by_role("button", name=f"Revert change #{latest.id} of echo.repeat").click()
    await page.wait_for_url("**/config/echo?saved=reverted")

    assert await page.get_by_label("Repeat", exact=True).input_value() == "2"
    assert (await emulator.invoke(admin, emulator.general(guild), "echo", text="v")).content == ">v>v"
