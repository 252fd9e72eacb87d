"""webadmin.public: a plugin page learns who is asking and which guilds they administer."""

from __future__ import annotations

from typing import Any

from .conftest import People


async def test_a_plugin_page_sees_the_current_user_and_the_guild_admin_check(
    runtime: Any, people: People, web_login: Any
) -> None:
    admin = await web_login(runtime, people.admin_a)
    operator = await web_login(runtime, people.operator)
    path = f"/guilds/{people.guild_a.id}/echo/whoami?other={people.guild_b.id}"

    by_admin = (await admin.get(path)).json()
    by_operator = (await operator.get(path)).json()

    assert by_admin == {
        "id": str(people.admin_a),
        "name": "alice",
        "operator": False,
        "admin_here": True,
        "admin_of_other": False,  # a plain member of guild B
    }
    assert by_operator["id"] == str(people.operator) and by_operator["operator"] is True
    assert by_operator["admin_here"] is True and by_operator["admin_of_other"] is True
