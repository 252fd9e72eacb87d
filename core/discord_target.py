"""Point an unmodified discord.py at another Discord API (the emulator): the only two knobs it offers for that."""

from __future__ import annotations

import discord
import discord.gateway
import discord.http
import yarl

_ORIGINAL_BASE = discord.http.Route.BASE
_ORIGINAL_GATEWAY = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
_ORIGINAL_ASSET_BASE = discord.asset.Asset.BASE


def point_discord_py_at(base_url: str) -> None:
    """Send discord.py's REST calls (incl. webhooks and interaction callbacks) and gateway to ``base_url``.

    Sets ``discord.http.Route.BASE`` to ``{base_url}/api/v10`` and the default gateway to
    ``ws(s)://host:port/gateway``, and asset URLs (avatars) to ``base_url``. A plain ``Client`` dials the
    default gateway directly;
    ``AutoShardedClient`` asks ``/gateway/bot``, which answers with the same URL.
    """
    base = base_url.rstrip("/")
    discord.http.Route.BASE = f"{base}/api/v10"
    discord.asset.Asset.BASE = base  # avatars and other assets from the emulator's CDN
    url = yarl.URL(base)
    scheme = "wss" if url.scheme == "https" else "ws"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = url.with_scheme(scheme).with_path("/gateway")


def restore_discord_py() -> None:
    """Point discord.py back at discord.com."""
    discord.http.Route.BASE = _ORIGINAL_BASE
    discord.asset.Asset.BASE = _ORIGINAL_ASSET_BASE
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = _ORIGINAL_GATEWAY
