"""The emulated Discord gateway: websocket sessions, heartbeats, resume, sharding and compression.

One ``GatewaySession`` per IDENTIFY. A session outlives its websocket: events
dispatched while it is disconnected are kept (with their sequence numbers) and
replayed on RESUME. Each connection has one writer task that drains a queue,
so dispatches stay ordered and ``Gateway.dispatch`` can be called from plain
synchronous code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from . import payloads
from .state import World

log = structlog.get_logger(__name__)

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

#: Seconds between a client's heartbeat and its ACK: a network round trip. discord.py's keep-alive
#: thread notes the time of a heartbeat only once the event loop has sent it; an ACK handled before
#: that (an instant loopback answer while the thread waits for the interpreter lock) is measured
#: against the previous heartbeat, i.e. a whole interval ("Can't keep up, shard ID 0 websocket is
#: 41.3s behind" and a latency of 41,334 ms). Discord is never that fast, so neither is the emulator.
HEARTBEAT_ACK_DELAY = 0.04

CLOSE_UNKNOWN_ERROR = 4000
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_SEQ = 4007
CLOSE_RATE_LIMITED = 4008
CLOSE_SESSION_TIMED_OUT = 4009
CLOSE_INVALID_SHARD = 4010
CLOSE_SHARDING_REQUIRED = 4011
CLOSE_INVALID_API_VERSION = 4012
CLOSE_INVALID_INTENTS = 4013
CLOSE_DISALLOWED_INTENTS = 4014

#: Close codes after which a session cannot be resumed.
NON_RESUMABLE_CODES = {
    CLOSE_INVALID_SEQ,
    CLOSE_SESSION_TIMED_OUT,
    CLOSE_AUTHENTICATION_FAILED,
    CLOSE_INVALID_SHARD,
}

#: Gateway send limit Discord documents: 120 events per 60 seconds per connection.
SEND_LIMIT = 120
SEND_WINDOW = 60.0


def shard_for(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events: ``(guild_id >> 22) % shard_count``."""
    return (guild_id >> 22) % shard_count


class Compressor:
    """Transport compression for one connection: a single zlib or zstd stream, flushed per message."""

    def __init__(self, mode: str | None) -> None:
        self.mode = mode
        self._zlib: Any = None
        self._zstd: Any = None
        self._zstd_flush = 0
        if mode == "zlib-stream":
            self._zlib = zlib.compressobj()
        elif mode == "zstd-stream":
            import zstandard

            self._zstd = zstandard.ZstdCompressor().compressobj()
            self._zstd_flush = zstandard.COMPRESSOBJ_FLUSH_BLOCK
        elif mode is not None:
            raise ValueError(f"unsupported compression {mode!r}")

    def compress(self, text: str) -> bytes | str:
        """One gateway message as it goes on the wire (bytes when compressed)."""
        raw = text.encode("utf-8")
        if self._zlib is not None:
            return bytes(self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
        if self._zstd is not None:
            return bytes(self._zstd.compress(raw) + self._zstd.flush(self._zstd_flush))
        return text


class Connection:
    """One websocket: an ordered outgoing queue drained by a writer task."""

    def __init__(self, ws: web.WebSocketResponse, compressor: Compressor) -> None:
        self.ws = ws
        self.compressor = compressor
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.writer = asyncio.get_running_loop().create_task(self._write())
        self.closed = False
        self.sent = 0
        self.flushed = asyncio.Event()

    def send(self, text: str) -> None:
        """Queue one gateway message (already JSON)."""
        if not self.closed:
            self.flushed.clear()
            self.queue.put_nowait(text)

    async def _write(self) -> None:
        ws = self.ws
        queue = self.queue
        try:
            while True:
                if queue.empty():
                    self.flushed.set()
                text = await queue.get()
                if text is None:
                    return
                frame = self.compressor.compress(text)
                if isinstance(frame, bytes):
                    await ws.send_bytes(frame)
                else:
                    await ws.send_str(frame)
                self.sent += 1
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            return
        finally:
            self.flushed.set()

    async def close(self, code: int) -> None:
        """Close the socket with a gateway close code, dropping whatever is still queued."""
        if self.closed:
            return
        self.closed = True
        self.writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.writer
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(code=code), timeout=2.0)


class GatewaySession:
    """An identified gateway session: shard, intents, sequence numbers and the replay buffer."""

    def __init__(self, session_id: str, shard_id: int, shard_count: int, intents: int, replay_size: int) -> None:
        self.session_id = session_id
        self.shard_id = shard_id
        self.shard_count = shard_count
        self.intents = intents
        self.seq = 0
        self.buffer: deque[tuple[int, str]] = deque(maxlen=replay_size)
        self.connection: Connection | None = None
        self.ready = False
        self.identified_at = time.monotonic()
        self.large_threshold = 50

    def covers(self, guild_id: int | None) -> bool:
        """Whether this session's shard receives events of ``guild_id`` (DMs go to shard 0)."""
        if guild_id is None:
            return self.shard_id == 0
        return shard_for(guild_id, self.shard_count) == self.shard_id

    def push(self, event: str, data_json: str) -> None:
        """Number a dispatch, keep it for replay and send it if connected."""
        self.seq += 1
        text = f'{{"op":0,"t":"{event}","s":{self.seq},"d":{data_json}}}'
        self.buffer.append((self.seq, text))
        if self.connection is not None:
            self.connection.send(text)


class Gateway:
    """The gateway endpoint and the registry of sessions, shared by REST and the control API."""

    def __init__(
        self,
        world: World,
        *,
        heartbeat_interval_ms: int = 41250,
        heartbeat_ack_delay: float = HEARTBEAT_ACK_DELAY,
        replay_size: int = 100_000,
        allowed_intents: int = payloads.ALL_INTENTS,
    ) -> None:
        self.world = world
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.heartbeat_ack_delay = heartbeat_ack_delay
        self.replay_size = replay_size
        self.allowed_intents = allowed_intents
        self.sessions: dict[str, GatewaySession] = {}
        self.url = ""
        self.identifies = 0
        self.resumes = 0
        self._ready_changed = asyncio.Event()
        self._connections: set[Connection] = set()

    # -- routing ---------------------------------------------------------------------------------------

    def live_sessions(self) -> list[GatewaySession]:
        """Sessions that are identified and still resumable."""
        return list(self.sessions.values())

    def connected_shards(self) -> set[int]:
        """Shard ids with a connected, READY session."""
        return {s.shard_id for s in self.sessions.values() if s.ready and s.connection is not None}

    def dispatch(
        self,
        event: str,
        data: dict[str, Any] | None = None,
        *,
        guild_id: int | None = None,
        intent: int | None = payloads.INTENT_GUILDS,
        variant: Callable[[GatewaySession], dict[str, Any]] | None = None,
    ) -> int:
        """Send a DISPATCH to every session whose shard covers ``guild_id`` and who asked for ``intent``.

        ``variant(session)`` builds the payload per session when it depends on the session's
        intents or ``large_threshold`` (message content, member lists); it is built once per
        distinct pair. Returns how many sessions got it.
        """
        sent = 0
        cache: dict[tuple[int, int], str] = {}
        data_json = json.dumps(data, separators=(",", ":")) if variant is None else ""
        for session in self.sessions.values():
            if not session.covers(guild_id):
                continue
            if intent is not None and not session.intents & intent:
                continue
            if variant is not None:
                key = (session.intents, session.large_threshold)
                text = cache.get(key)
                if text is None:
                    text = cache[key] = json.dumps(variant(session), separators=(",", ":"))
                session.push(event, text)
            else:
                session.push(event, data_json)
            sent += 1
        return sent

    # -- control ---------------------------------------------------------------------------------------

    def session_for_shard(self, shard_id: int) -> GatewaySession | None:
        """The newest session of a shard."""
        found = [s for s in self.sessions.values() if s.shard_id == shard_id]
        return max(found, key=lambda s: s.identified_at) if found else None

    async def drop_connection(self, shard_id: int = 0, code: int | None = None, resume: bool = True) -> None:
        """Close a shard's socket; with ``resume`` the session stays resumable, else it is invalidated."""
        session = self.session_for_shard(shard_id)
        if session is None or session.connection is None:
            raise LookupError(f"shard {shard_id} is not connected")
        conn = session.connection
        session.connection = None
        session.ready = False
        if not resume:
            self.sessions.pop(session.session_id, None)
            conn.send(json.dumps({"op": OP_INVALID_SESSION, "d": False}))
            await asyncio.wait_for(conn.flushed.wait(), timeout=2.0)
            # The client closes the socket itself when it reads op 9; give it a moment.
            for _ in range(40):
                if conn.ws.closed:
                    break
                await asyncio.sleep(0.025)
            await conn.close(code if code is not None else 1000)
            return
        if code in NON_RESUMABLE_CODES:
            self.sessions.pop(session.session_id, None)
        await conn.close(code if code is not None else CLOSE_UNKNOWN_ERROR)

    def request_reconnect(self, shard_id: int = 0) -> None:
        """Send op 7 RECONNECT: the client closes and resumes."""
        session = self.session_for_shard(shard_id)
        if session is not None and session.connection is not None:
            session.connection.send(json.dumps({"op": OP_RECONNECT, "d": None}))

    def request_heartbeat(self, shard_id: int = 0) -> None:
        """Send op 1 HEARTBEAT: the client must answer with a heartbeat at once."""
        session = self.session_for_shard(shard_id)
        if session is not None and session.connection is not None:
            session.connection.send(json.dumps({"op": OP_HEARTBEAT, "d": session.seq}))

    async def wait_ready(self, shard_count: int | None = None, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until ``shard_count`` shards (default: as identified) are READY and their events flushed."""
        deadline = time.monotonic() + timeout
        while True:
            ready = [s for s in self.sessions.values() if s.ready and s.connection is not None]
            want = shard_count if shard_count is not None else (ready[0].shard_count if ready else 1)
            if ready and len({s.shard_id for s in ready}) >= want:
                for s in ready:
                    if s.connection is not None:
                        await asyncio.wait_for(s.connection.flushed.wait(), max(0.01, deadline - time.monotonic()))
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the bot did not connect to the emulated gateway in time")
            self._ready_changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._ready_changed.wait(), timeout=min(remaining, 0.1))

    async def close_all(self) -> None:
        """Close every socket (used when the emulator stops)."""
        for conn in list(self._connections):
            await conn.close(1001)
        self.sessions.clear()

    # -- websocket handler -----------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The ``/gateway`` websocket endpoint."""
        ws = web.WebSocketResponse(compress=False, max_msg_size=4096 * 1024, autoping=True)
        await ws.prepare(request)
        version = request.query.get("v", "10")
        encoding = request.query.get("encoding", "json")
        compress = request.query.get("compress") or None
        try:
            compressor = Compressor(compress)
        except ValueError:
            await ws.close(code=CLOSE_DECODE_ERROR)
            return ws
        conn = Connection(ws, compressor)
        self._connections.add(conn)
        if version not in ("9", "10"):
            await conn.close(CLOSE_INVALID_API_VERSION)
            return ws
        if encoding != "json":
            await conn.close(CLOSE_DECODE_ERROR)
            return ws
        conn.send(
            json.dumps(
                {
                    "op": OP_HELLO,
                    "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["omo-emulator"]},
                }
            )
        )
        session: GatewaySession | None = None
        sends: deque[float] = deque()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.BINARY:
                        await conn.close(CLOSE_DECODE_ERROR)
                    break
                try:
                    frame = json.loads(msg.data)
                    op = frame["op"]
                    data = frame.get("d")
                except (ValueError, KeyError, TypeError):
                    await conn.close(CLOSE_DECODE_ERROR)
                    break
                if op != OP_HEARTBEAT:
                    # Heartbeats do not count towards the send limit (clients send them unthrottled).
                    now = time.monotonic()
                    sends.append(now)
                    while sends and sends[0] < now - SEND_WINDOW:
                        sends.popleft()
                    if len(sends) > SEND_LIMIT:
                        await conn.close(CLOSE_RATE_LIMITED)
                        break
                if op == OP_HEARTBEAT:
                    # answered after a network round trip, as Discord does: see HEARTBEAT_ACK_DELAY
                    asyncio.get_running_loop().call_later(self.heartbeat_ack_delay, conn.send, '{"op":11,"d":null}')
                elif op == OP_IDENTIFY:
                    if session is not None:
                        await conn.close(CLOSE_ALREADY_AUTHENTICATED)
                        break
                    session = await self._identify(conn, data)
                    if session is None:
                        break
                elif op == OP_RESUME:
                    if session is not None:
                        await conn.close(CLOSE_ALREADY_AUTHENTICATED)
                        break
                    session = await self._resume(conn, data)
                    if session is None:
                        continue
                elif session is None:
                    await conn.close(CLOSE_NOT_AUTHENTICATED)
                    break
                elif op == OP_PRESENCE_UPDATE:
                    continue
                elif op == OP_VOICE_STATE_UPDATE:
                    self._voice_state_update(data)
                elif op == OP_REQUEST_GUILD_MEMBERS:
                    self._request_members(session, data)
                else:
                    await conn.close(CLOSE_UNKNOWN_OPCODE)
                    break
        finally:
            self._connections.discard(conn)
            client_code = ws.close_code
            if session is not None and session.connection is conn:
                session.connection = None
                session.ready = False
                if client_code in (1000, 1001) and not conn.closed:
                    # A clean close from the client ends the session, as on Discord.
                    self.sessions.pop(session.session_id, None)
            conn.closed = True
            conn.writer.cancel()
            self._ready_changed.set()
            log.debug("gateway connection closed", code=client_code)
        return ws

    async def _identify(self, conn: Connection, data: Any) -> GatewaySession | None:
        if not isinstance(data, dict):
            await conn.close(CLOSE_DECODE_ERROR)
            return None
        token = str(data.get("token", ""))
        if token.startswith("Bot "):
            token = token[4:]
        if not secrets.compare_digest(token, self.world.bot_token):
            await conn.close(CLOSE_AUTHENTICATION_FAILED)
            return None
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents & ~payloads.ALL_INTENTS:
            await conn.close(CLOSE_INVALID_INTENTS)
            return None
        if intents & payloads.PRIVILEGED_INTENTS & ~self.allowed_intents:
            await conn.close(CLOSE_DISALLOWED_INTENTS)
            return None
        shard = data.get("shard") or [0, 1]
        try:
            shard_id, shard_count = int(shard[0]), int(shard[1])
        except (TypeError, ValueError, IndexError):
            await conn.close(CLOSE_INVALID_SHARD)
            return None
        if shard_count < 1 or not 0 <= shard_id < shard_count:
            await conn.close(CLOSE_INVALID_SHARD)
            return None
        self.identifies += 1
        session = GatewaySession(secrets.token_hex(16), shard_id, shard_count, intents, self.replay_size)
        threshold = data.get("large_threshold", 50)
        session.large_threshold = min(250, max(50, threshold)) if isinstance(threshold, int) else 50
        # Disconnected sessions of the same shard are stale once it identifies again (connected ones
        # stay: several clients may share a shard, as on Discord).
        for old in [s for s in self.sessions.values() if s.shard_id == shard_id and s.connection is None]:
            self.sessions.pop(old.session_id, None)
        self.sessions[session.session_id] = session
        session.connection = conn
        world = self.world
        guild_ids = [g for g in world.guilds if session.covers(g)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": payloads.current_user(world.bot),
            "user_settings": {},
            "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.url,
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "application": {"id": str(world.application_id), "flags": (1 << 13) | (1 << 15) | (1 << 19)},
            "_trace": ["omo-emulator"],
        }
        if data.get("shard") is not None:
            ready["shard"] = [shard_id, shard_count]
        session.push("READY", json.dumps(ready, separators=(",", ":")))
        for gid in guild_ids:
            guild_data = payloads.guild_create(
                world, world.guilds[gid], intents=intents, large_threshold=session.large_threshold
            )
            session.push("GUILD_CREATE", json.dumps(guild_data, separators=(",", ":")))
        session.ready = True
        self._ready_changed.set()
        log.debug("gateway identified", shard_id=shard_id, shard_count=shard_count, intents=intents)
        return session

    async def _resume(self, conn: Connection, data: Any) -> GatewaySession | None:
        if not isinstance(data, dict):
            await conn.close(CLOSE_DECODE_ERROR)
            return None
        token = str(data.get("token", ""))
        if token.startswith("Bot "):
            token = token[4:]
        if not secrets.compare_digest(token, self.world.bot_token):
            await conn.close(CLOSE_AUTHENTICATION_FAILED)
            return None
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if session is None or session.connection is not None or not isinstance(seq, int):
            conn.send(json.dumps({"op": OP_INVALID_SESSION, "d": False}))
            return None
        if seq > session.seq or (session.buffer and seq < session.buffer[0][0] - 1):
            conn.send(json.dumps({"op": OP_INVALID_SESSION, "d": False}))
            self.sessions.pop(session.session_id, None)
            return None
        self.resumes += 1
        for number, text in session.buffer:
            if number > seq:
                conn.send(text)
        session.connection = conn
        session.push("RESUMED", '{"_trace":["omo-emulator"]}')
        session.ready = True
        self._ready_changed.set()
        log.debug("gateway resumed", shard_id=session.shard_id, replayed=session.seq - seq - 1)
        return session

    def _voice_state_update(self, data: Any) -> None:
        if not isinstance(data, dict) or data.get("guild_id") is None:
            return
        hook = self.on_bot_voice_state
        if hook is not None:
            hook(
                int(data["guild_id"]),
                int(data["channel_id"]) if data.get("channel_id") else None,
                bool(data.get("self_mute")),
                bool(data.get("self_deaf")),
            )

    #: Set by the emulator: applies the bot's own op 4 voice state updates to the world.
    on_bot_voice_state: Callable[[int, int | None, bool, bool], None] | None = None

    def _request_members(self, session: GatewaySession, data: Any) -> None:
        if not isinstance(data, dict):
            return
        guild_ids = data.get("guild_id")
        if not isinstance(guild_ids, list):
            guild_ids = [guild_ids]
        query = str(data.get("query") or "").lower()
        limit = int(data.get("limit") or 0)
        user_ids = data.get("user_ids")
        if user_ids is not None and not isinstance(user_ids, list):
            user_ids = [user_ids]
        for raw_gid in guild_ids:
            guild = self.world.guilds.get(int(raw_gid))
            if guild is None:
                continue
            members = list(guild.members.values())
            not_found: list[str] = []
            if user_ids is not None:
                wanted = [int(u) for u in user_ids]
                not_found = [str(u) for u in wanted if u not in guild.members]
                members = [guild.members[u] for u in wanted if u in guild.members]
            elif query:
                members = [m for m in members if self.world.users[m.user_id].username.lower().startswith(query)]
            if limit:
                members = members[:limit]
            chunks = [members[i : i + 1000] for i in range(0, len(members), 1000)] or [[]]
            for index, chunk in enumerate(chunks):
                payload: dict[str, Any] = {
                    "guild_id": str(guild.id),
                    "members": [payloads.member(self.world, m) for m in chunk],
                    "chunk_index": index,
                    "chunk_count": len(chunks),
                    "not_found": not_found,
                }
                if data.get("nonce") is not None:
                    payload["nonce"] = data["nonce"]
                if data.get("presences"):
                    payload["presences"] = []
                session.push("GUILD_MEMBERS_CHUNK", json.dumps(payload, separators=(",", ":")))
