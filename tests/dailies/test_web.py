"""Dashboard pages and ``/api/v1/guilds/{guild_id}/dailies/...``: permissions, CSRF, validation, health."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.testing.emulator import Emulator, Guild, Member
from plugins.dailies.models import Feed, Schedule, Subscription
from tests.dailies.feedserver import FeedServer, rss
from tests.dailies.helpers import dailies_plugin


@pytest.fixture
def omo_plugins() -> dict[str, dict[str, Any]]:
    return {"config": {}, "dailies": dailies_plugin()}


def api(guild: Guild, rest: str) -> str:
    return f"/api/v1/guilds/{guild.id}/dailies/{rest}"


def page(guild: Guild, rest: str = "") -> str:
    return f"/guilds/{guild.id}/dailies/{rest}"


ITEMS = [{"title": "Hello world", "link": "https://n.example/1", "guid": "1", "description": "<p>First</p>"}]


async def test_api_create_list_patch_delete(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, web_login: Any, feeds: FeedServer
) -> None:
    url = feeds.set("/rss", rss(ITEMS))
    general = emulator.general(guild)
    client = await web_login(runtime, admin)

    created = await client.json("POST", api(guild, "subscriptions"), {"source": url, "channel_id": general.id})
    sub_id = created.json()["id"]
    listed = await client.get(api(guild, "subscriptions"))
    patched = await client.json(
        "PATCH", api(guild, f"subscriptions/{sub_id}"), {"mode": "digest", "digest_time": "18:30", "enabled": False}
    )
    bad_patch = await client.json("PATCH", api(guild, f"subscriptions/{sub_id}"), {"digest_time": "nope"})
    deleted = await client.json("DELETE", api(guild, f"subscriptions/{sub_id}"))
    gone = await client.get(api(guild, f"subscriptions/{sub_id}"))

    assert created.status_code == 201, created.text
    body = listed.json()["subscriptions"][0]
    assert body["feed_title"] == "Example News" and body["channel_id"] == str(general.id)
    assert body["health"]["consecutive_failures"] == 0 and body["health"]["next_check"] is not None
    assert "webhook_token" not in body
    assert patched.status_code == 200 and patched.json()["mode"] == "digest" and patched.json()["enabled"] is False
    assert bad_patch.status_code == 400 and "09:30" in bad_patch.json()["detail"]
    assert deleted.status_code == 204 and gone.status_code == 404
    assert await Feed.all().count() == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"source": "", "channel_id": 1}, 400),
        ({"source": "x" * 501, "channel_id": 1}, 400),
        ({"source": "http://a.example/", "channel_id": -5}, 400),
        ({"source": "http://a.example/", "channel_id": 2**64}, 400),
        ({"source": "http://a.example/", "channel_id": 1, "interval": 10**12}, 400),
        ({"source": "http://a.example/", "channel_id": 1, "include": ["x"] * 51}, 400),
        ({"source": "http://a.example/", "channel_id": 1, "template": "t" * 2001}, 400),
        ({"source": "http://a.example/", "channel_id": 1, "mode": "hourly"}, 400),
        ({"source": "http://127.0.0.1:9/\x00", "channel_id": 1}, 400),
        ("not an object", 400),
    ],
)
async def test_api_refuses_bad_input_with_4xx(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, web_login: Any, body: Any, status: int
) -> None:
    client = await web_login(runtime, admin)

    answer = await client.json("POST", api(guild, "subscriptions"), body)

    assert answer.status_code == status, answer.text
    assert await Subscription.all().count() == 0


async def test_api_bad_sources_answer_422_with_the_reason(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, web_login: Any, feeds: FeedServer
) -> None:
    feeds.set("/page", "<html></html>", content_type="text/html")
    general = emulator.general(guild)
    client = await web_login(runtime, admin)

    blocked = await client.json(
        "POST", api(guild, "subscriptions"), {"source": "http://10.0.0.1/", "channel_id": general.id}
    )
    page_ = await client.json(
        "POST", api(guild, "subscriptions"), {"source": feeds.url("/page"), "channel_id": general.id}
    )
    foreign = await client.json(
        "POST", api(guild, "subscriptions"), {"source": feeds.url("/page"), "channel_id": 12345}
    )

    assert blocked.status_code == 422 and blocked.json()["error"] == "bad source: blocked"
    assert page_.status_code == 422 and page_.json()["error"] == "bad source: not_a_feed"
    assert foreign.status_code == 400 and "not a text channel" in foreign.json()["detail"]


async def test_preview_api_renders_without_storing(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, web_login: Any, feeds: FeedServer
) -> None:
    url = feeds.set("/rss", rss(ITEMS))
    client = await web_login(runtime, admin)

    plain = await client.json(
        "POST", api(guild, "preview"), {"source": url, "template": "{{ title }}!", "embed": False}
    )
    broken = await client.json("POST", api(guild, "preview"), {"source": url, "template": "{{ 'a' * 99999 }}"})

    assert plain.status_code == 200 and plain.json() == {"content": "Hello world!", "embed": None}
    assert broken.status_code == 400 and "repetition is limited" in broken.json()["detail"]
    assert await Subscription.all().count() == 0


async def test_schedules_and_streaks_api(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, member: Member, web_login: Any
) -> None:
    general = emulator.general(guild)
    client = await web_login(runtime, admin)
    await emulator.invoke(member, general, "daily")

    created = await client.json(
        "POST", api(guild, "schedules"), {"channel_id": general.id, "cron": "30 7 * * 1-5", "prompts": ["a", "b"]}
    )
    bad = await client.json("POST", api(guild, "schedules"), {"channel_id": general.id, "cron": "61 * * * *"})
    listed = await client.get(api(guild, "schedules"))
    streaks = await client.get(api(guild, "streaks"))
    deleted = await client.json("DELETE", api(guild, f"schedules/{created.json()['id']}"))

    assert created.status_code == 201 and created.json()["timezone"] == "UTC"
    assert bad.status_code == 400 and "not a cron expression" in bad.json()["detail"]
    assert [s["cron"] for s in listed.json()["schedules"]] == ["30 7 * * 1-5"]
    assert streaks.json()["streaks"][0]["user_id"] == str(member.id) and streaks.json()["points"] == 10
    assert deleted.status_code == 204 and await Schedule.all().count() == 0


async def test_pages_show_health_and_forms_need_csrf(
    emulator: Emulator, guild: Guild, runtime: Any, admin: Member, web_login: Any, feeds: FeedServer
) -> None:
    url = feeds.set("/rss", rss(ITEMS))
    general = emulator.general(guild)
    client = await web_login(runtime, admin)

    without_token = await client.http.post(page(guild, "new"), data={"source": url, "channel_id": str(general.id)})
    bad = await client.form(page(guild, "new"), {"source": url, "channel_id": str(general.id), "digest_time": "99:99"})
    added = await client.form(page(guild, "new"), {"source": url, "channel_id": str(general.id), "mode": "instant"})
    sub = await Subscription.get()
    await Feed.filter(id=sub.feed_id).update(failures=2, last_error="timed out: no complete answer within 15 s")
    index = await client.get(page(guild))
    edit = await client.get(page(guild, str(sub.id)))
    saved = await client.form(
        page(guild, str(sub.id)), {"channel_id": str(general.id), "mode": "digest", "digest_time": "06:00"}
    )
    paused = await client.form(page(guild, f"{sub.id}/pause"))
    missing = await client.get(page(guild, "999"))
    schedules = await client.get(page(guild, "schedules"))
    scheduled = await client.form(
        page(guild, "schedules"), {"channel_id": str(general.id), "cron": "0 8 * * *", "prompts": "one\ntwo"}
    )
    checkin = await client.get(page(guild, "checkin"))

    assert without_token.status_code == 403
    assert bad.status_code == 400 and "09:30" in bad.text
    assert added.status_code == 303
    assert "Example News" in index.text and "2 failure(s)" in index.text and "timed out" in index.text
    assert edit.status_code == 200 and 'id="preview-button"' in edit.text and url in edit.text
    assert saved.status_code == 303 and (await Subscription.get()).digest_time == "06:00"
    assert paused.status_code == 303 and not (await Subscription.get()).enabled
    assert missing.status_code == 404
    assert schedules.status_code == 200 and scheduled.status_code == 303
    assert (await Schedule.get()).prompts == ["one", "two"]
    assert checkin.status_code == 200 and "Top streaks" in checkin.text


async def test_members_without_manage_server_are_refused(
    emulator: Emulator, guild: Guild, runtime: Any, member: Member, web_login: Any
) -> None:
    client = await web_login(runtime, member)

    answers = [
        await client.get(page(guild)),
        await client.get(api(guild, "subscriptions")),
        await client.json("POST", api(guild, "schedules"), {"channel_id": 1, "cron": "0 9 * * *"}),
    ]

    assert [a.status_code for a in answers] == [403, 403, 403]


async def test_the_api_is_in_the_openapi_document(runtime: Any) -> None:
    async with httpx.AsyncClient(base_url=runtime.web_url) as http:
        schema = (await http.get("/openapi.json")).json()

    paths = set(schema["paths"])
    for path in (
        "subscriptions",
        "subscriptions/{sub_id}",
        "preview",
        "schedules",
        "schedules/{schedule_id}",
        "streaks",
    ):
        assert f"/api/v1/guilds/{{guild_id}}/dailies/{path}" in paths
