"""What plugin pages may use from the web admin: who is asking, and whether they administer a guild.

Everything else in ``webadmin`` is its own business (a test fails if a plugin imports it). Core already
refuses a plugin route unless the user administers the guild in the URL and the plugin is on there; these
helpers are for what a page shows or records (the author of a change, an operator-only button, a guild
named in a form).
"""

from __future__ import annotations

from dataclasses import dataclass

from webadmin import auth


@dataclass(frozen=True)
class DashboardUser:
    """The person behind a dashboard request (a bearer token acts as the operator who made it)."""

    id: int
    name: str
    operator: bool


async def current_user() -> DashboardUser | None:
    """The logged-in user of this request, or None when anonymous."""
    viewer = await auth.current_user()
    if viewer is None:
        return None
    return DashboardUser(viewer.user_id, viewer.username, viewer.operator)


async def is_guild_admin(guild_id: int) -> bool:
    """Whether the user of this request may administer ``guild_id`` (Manage Server or Administrator there,
    or an operator): the rule core applies before every plugin route."""
    viewer = await auth.current_user()
    return viewer is not None and await auth.can_manage_guild(viewer, guild_id)
