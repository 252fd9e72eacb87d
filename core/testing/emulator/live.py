"""The emulator's browser pages: a read-only live view of its Discord at ``/`` and the shared page style.

``GET /`` in a browser shows every guild, its text channels and their messages as they arrive (members'
chatter, the bot's replies with embeds and images, ephemeral answers marked as such); the page polls
``GET /_live/feed?after=ID``. A websocket upgrade on ``/`` still reaches the gateway. Nothing here
changes the emulator's state.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .rest import json_response
from .state import ChannelType, Message, iso, snowflake_time

if TYPE_CHECKING:
    from .server import Emulator

#: At most this many messages per feed answer (the page asks again for the rest).
FEED_LIMIT = 200
_TEXT_TYPES = (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT)

#: The dashboard's look (colours, radius, type), for the emulator's own pages.
STYLE = """
:root { --bg: #111318; --bg-2: #181b22; --card: #1f232c; --card-2: #262b36; --fg: #eef0f6; --muted: #a3a9bb;
  --accent: #5865f2; --accent-2: #7983f5; --ok: #3ba55d; --bad: #ed4245; --border: #2e3340; --radius: 12px; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg);
  color: var(--fg); overflow-wrap: anywhere; }
header { display: flex; align-items: center; gap: .6rem; padding: .6rem 1rem; background: var(--bg-2);
  border-bottom: 1px solid var(--border); font-weight: 800; }
.mark { display: inline-grid; place-items: center; width: 30px; height: 30px; border-radius: 50%;
  background: var(--accent); color: #fff; }
main { max-width: 980px; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
h1 { font-size: 1.5rem; margin: .2rem 0 .8rem; } h2 { font-size: 1.15rem; margin: 0 0 .6rem; }
.panel { background: var(--card); border: 1px solid var(--border); border-radius: var(--radius); padding: 1.1rem;
  margin-bottom: 1rem; }
.muted { color: var(--muted); } small { color: var(--muted); }
code { font-family: ui-monospace, monospace; font-size: .9em; }
fieldset { border: 0; padding: 0; margin: 0; }
.btn { min-height: 40px; padding: .45rem 1rem; border-radius: 8px; border: 1px solid transparent;
  background: var(--accent); color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
.btn-ghost { background: transparent; border-color: var(--border); color: var(--fg); }
.who { display: flex; gap: .7rem; align-items: flex-start; padding: .6rem .7rem; border-radius: 8px;
  border: 1px solid var(--border); margin-bottom: .5rem; cursor: pointer; }
.who:has(input:checked) { border-color: var(--accent); background: var(--card-2); }
.who input { margin-top: .35rem; width: 18px; height: 18px; }
.who strong { display: block; } .actions { display: flex; gap: .6rem; flex-wrap: wrap; margin-top: 1rem; }
.badge { display: inline-block; border-radius: 999px; padding: 0 .5rem; font-size: .75rem; font-weight: 700;
  background: var(--card-2); color: var(--muted); }
.badge.bot { background: var(--accent); color: #fff; } .badge.ok { background: rgba(59,165,93,.2); color: #7bd89a; }
.channel h2 span { color: var(--muted); font-weight: 400; }
.msgs { display: flex; flex-direction: column; gap: .45rem; max-height: 26rem; overflow-y: auto; }
.msg { padding: .35rem .5rem; border-radius: 8px; } .msg.bot { background: var(--bg-2); }
.msg .head { font-weight: 700; } .msg .head time { color: var(--muted); font-weight: 400; font-size: .8rem; }
.msg .text { white-space: pre-wrap; }
.embed { border-left: 4px solid var(--accent); background: var(--card-2); border-radius: 6px; padding: .5rem .7rem;
  margin-top: .3rem; max-width: 520px; }
.embed .title { font-weight: 700; } .embed .field { margin-top: .3rem; } .embed .field b { display: block; }
.msg img { display: block; max-width: min(100%, 360px); max-height: 240px; border-radius: 6px; margin-top: .3rem; }
.empty { color: var(--muted); font-style: italic; }
"""


def page(title: str, body: str, script: str = "") -> web.Response:
    """An HTML page of the emulator in the dashboard's style (``title`` is escaped; ``body`` is HTML)."""
    text = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body><header><span class="mark" aria-hidden="true">D</span> Discord emulator</header>
<main>{body}</main>{f"<script>{script}</script>" if script else ""}</body></html>"""
    return web.Response(text=text, content_type="text/html")


_SCRIPT = """
const channels = document.getElementById("channels");
let after = "0";
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}
function channelBox(guild, channel) {
  let box = document.getElementById("c-" + channel.id);
  if (box) return box.querySelector(".msgs");
  box = el("section", "panel channel"); box.id = "c-" + channel.id;
  box.setAttribute("aria-label", guild.name + " #" + channel.name);
  const head = el("h2", null, "#" + channel.name + " ");
  head.appendChild(el("span", null, guild.name));
  box.appendChild(head);
  const list = el("div", "msgs"); list.setAttribute("role", "log"); list.setAttribute("aria-live", "polite");
  list.appendChild(el("p", "empty", "No messages yet."));
  box.appendChild(list); channels.appendChild(box);
  return list;
}
function image(url, alt) {
  const img = el("img"); img.src = url; img.alt = alt || ""; img.loading = "lazy"; return img;
}
function render(m) {
  const row = el("article", "msg" + (m.author.bot ? " bot" : "")); row.id = "m-" + m.id;
  const head = el("div", "head", m.author.name + " ");
  if (m.author.bot) head.appendChild(el("span", "badge bot", "BOT"));
  if (m.ephemeral) head.appendChild(el("span", "badge", "only " + (m.for || "the user") + " sees this"));
  if (m.command) head.appendChild(el("span", "badge ok", "/" + m.command));
  const when = el("time", null, " " + new Date(m.timestamp).toLocaleTimeString()); when.dateTime = m.timestamp;
  head.appendChild(when); row.appendChild(head);
  if (m.content) row.appendChild(el("div", "text", m.content));
  for (const e of m.embeds) {
    const box = el("div", "embed");
    if (e.color) box.style.borderLeftColor = "#" + e.color.toString(16).padStart(6, "0");
    if (e.author) box.appendChild(el("div", "muted", e.author));
    if (e.title) box.appendChild(el("div", "title", e.title));
    if (e.description) box.appendChild(el("div", "text", e.description));
    for (const f of e.fields) { const d = el("div", "field"); d.appendChild(el("b", null, f.name));
      d.appendChild(el("span", "text", f.value)); box.appendChild(d); }
    for (const url of e.images) box.appendChild(image(url, e.title));
    if (e.footer) box.appendChild(el("small", null, e.footer));
    row.appendChild(box);
  }
  for (const a of m.attachments) {
    if (a.image) row.appendChild(image(a.url, a.filename));
    else { const link = el("a", null, a.filename); link.href = a.url; row.appendChild(link); }
  }
  return row;
}
async function poll() {
  try {
    const answer = await fetch("/_live/feed?after=" + after);
    const feed = await answer.json();
    for (const g of feed.guilds) for (const c of g.channels) channelBox(g, c);
    for (const m of feed.messages) {
      const list = channelBox({name: m.guild}, {id: m.channel_id, name: m.channel});
      const empty = list.querySelector(".empty"); if (empty) empty.remove();
      const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
      list.appendChild(render(m));
      if (stick) list.scrollTop = list.scrollHeight;
      after = m.id;
    }
    document.getElementById("status").textContent = "Live: updated " + new Date().toLocaleTimeString();
    setTimeout(poll, feed.more ? 50 : 1500);
  } catch (err) {
    document.getElementById("status").textContent = "The emulator does not answer; trying again…";
    setTimeout(poll, 3000);
  }
}
poll();
"""


class LiveView:
    """``/`` for browsers and ``/_live/feed``: what happens in the emulated Discord, read-only."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.world = emu.world

    def routes(self) -> list[tuple[str, str, Any]]:
        """GET routes (``/`` dispatches websocket upgrades to the gateway)."""
        return [("GET", "/", self.root), ("GET", "/_live/feed", self.feed)]

    async def root(self, request: web.Request) -> web.StreamResponse:
        """The gateway for a websocket upgrade, else the live page."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.emu.gateway.handle(request)
        bot = html.escape(self.world.bot.username)
        body = f"""<h1>Live: what {bot} sees</h1>
<p class="muted">Read-only. Guilds, channels and messages of this emulator as they arrive: the members' chatter,
the bot's replies (embeds and images included) and ephemeral answers, marked. The dashboard is where you
change things. <span id="status" role="status">Loading…</span></p>
<div id="channels"></div>"""
        return page(f"Live — {self.world.bot.username}", body, _SCRIPT)

    async def feed(self, request: web.Request) -> web.Response:
        """``{"guilds": [...], "messages": [...], "more": bool}``: messages with an id above ``after``."""
        try:
            after = max(0, int(request.query.get("after", "0")))
        except ValueError:
            return json_response({"message": "after must be a message id", "code": 50035}, status=400)
        guilds = [
            {
                "id": str(g.id),
                "name": g.name,
                "channels": [
                    {"id": str(c.id), "name": c.name}
                    for c in sorted(g.channels.values(), key=lambda c: (c.position, c.id))
                    if c.type in _TEXT_TYPES
                ],
            }
            for g in sorted(self.world.guilds.values(), key=lambda g: g.id)
        ]
        fresh = sorted(
            (m for by_id in self.world.messages.values() for m in by_id.values() if m.id > after and not m.deleted),
            key=lambda m: m.id,
        )
        messages = [self._message(m) for m in fresh[:FEED_LIMIT]]
        return json_response({"guilds": guilds, "messages": messages, "more": len(fresh) > FEED_LIMIT})

    def _message(self, m: Message) -> dict[str, Any]:
        author = self.world.users[m.author_id]
        channel = self.world.channels.get(m.channel_id)
        guild = self.world.guilds.get(m.guild_id) if m.guild_id is not None else None
        meta = m.interaction_metadata or {}
        asker = self.world.users.get(int((meta.get("user") or {}).get("id", 0) or 0))
        return {
            "id": str(m.id),
            "channel_id": str(m.channel_id),
            "channel": channel.name if channel else str(m.channel_id),
            "guild": guild.name if guild else "direct messages",
            "author": {"name": author.global_name or author.username, "bot": author.bot},
            "content": m.content,
            "timestamp": iso(snowflake_time(m.id)),
            "ephemeral": bool(m.flags & 64),
            "for": (asker.global_name or asker.username) if asker else None,
            "command": meta.get("name"),
            "embeds": [self._embed(e, m) for e in m.embeds],
            "attachments": [
                {
                    "url": self._local(a.get("url")) or "",
                    "filename": a.get("filename", "file"),
                    "image": str(a.get("content_type", "")).startswith("image/") and bool(self._local(a.get("url"))),
                }
                for a in m.attachments
            ],
        }

    def _embed(self, e: dict[str, Any], m: Message) -> dict[str, Any]:
        files = {a.get("filename"): a.get("url") for a in m.attachments}
        urls = [str((e.get(k) or {}).get("url") or "") for k in ("thumbnail", "image")]
        images = [
            self._local(files.get(u.removeprefix("attachment://")) if u.startswith("attachment://") else u)
            for u in urls
        ]
        return {
            "title": e.get("title"),
            "description": e.get("description"),
            "color": e.get("color"),
            "author": (e.get("author") or {}).get("name"),
            "footer": (e.get("footer") or {}).get("text"),
            "fields": [{"name": f.get("name", ""), "value": f.get("value", "")} for f in e.get("fields") or []],
            "images": [url for url in images if url],
        }

    def _local(self, url: Any) -> str | None:
        """``url`` when the emulator serves it (its CDN, ``attachment://`` files), else None: the page loads
        nothing from elsewhere."""
        if not isinstance(url, str):
            return None
        base = self.emu.base_url
        return url if url.startswith(base + "/") else None
