"""Gateway throughput: MESSAGE_CREATE events per second from the emulator into a bare discord.py client.

``python -m bench gateway [--events N] [--batch B] [--compress zstd-stream|zlib-stream]``

The client counts ``on_message`` and nothing else, so the figure is the ceiling that
benchmarks of real bots (plugins, database) are read against. Events are serialised
one by one like real dispatches (fresh snowflake and sequence number each).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import discord
import structlog

from core.logging import configure_logging
from core.testing.emulator import Emulator, point_discord_py_at, restore_discord_py
from core.testing.emulator import payloads as P

log = structlog.get_logger(__name__)


async def _run(events: int, batch: int) -> dict[str, Any]:
    async with Emulator() as emu:
        guild = emu.create_guild("Bench")
        member = emu.create_member(guild, "sender")
        channel = emu.general(guild)
        point_discord_py_at(emu.base_url)
        intents = discord.Intents.default()
        intents.message_content = True
        client = discord.Client(intents=intents, guild_ready_timeout=0.05, max_messages=None)
        received = 0
        done = asyncio.Event()

        @client.event
        async def on_message(message: discord.Message) -> None:
            nonlocal received
            received += 1
            if received >= events:
                done.set()

        await client.login(emu.bot_token)
        task = asyncio.create_task(client.connect())
        await asyncio.wait_for(client.wait_until_ready(), 15)
        session = next(iter(emu.gateway.sessions.values()))
        template = P.message(
            emu.world,
            emu.world.add_message(channel, emu.world.users[member.user_id], content="bench message"),
        )
        log.info(
            "bench starting",
            events=events,
            compression=session.connection and session.connection.compressor.mode,
        )
        started = time.perf_counter()
        sent = 0
        next_report = events // 10 or 1
        while sent < events:
            conn = session.connection
            # Back-pressure: keep the outgoing queue bounded like a real socket buffer would.
            if conn is not None and conn.queue.qsize() > batch * 4:
                await conn.flushed.wait()
            for _ in range(min(batch, events - sent)):
                template["id"] = str(emu.world.new_id())
                emu.gateway.dispatch("MESSAGE_CREATE", template, guild_id=guild.id, intent=P.INTENT_GUILD_MESSAGES)
                sent += 1
            await asyncio.sleep(0)
            if sent >= next_report:
                log.info(
                    "bench progress",
                    sent=sent,
                    received=received,
                    seconds=round(time.perf_counter() - started, 2),
                )
                next_report += events // 10 or 1
        await asyncio.wait_for(done.wait(), timeout=600)
        seconds = time.perf_counter() - started
        await client.close()
        await asyncio.wait_for(task, 10)
        restore_discord_py()
        size = len(json.dumps(template))
        return {
            "events": events,
            "seconds": round(seconds, 3),
            "events_per_sec": round(events / seconds, 1),
            "payload_bytes": size,
            "compression": "zstd-stream"
            if discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE == "zstd-stream"
            else "zlib-stream",
        }


def main(argv: list[str]) -> dict[str, Any]:
    """Run the benchmark; returns ``{"events", "seconds", "events_per_sec", ...}``."""
    parser = argparse.ArgumentParser(prog="python -m bench gateway", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="MESSAGE_CREATE events to push (default 100000)")
    parser.add_argument("--batch", type=int, default=500, help="events queued per loop iteration")
    args = parser.parse_args(argv)
    configure_logging("console", level="INFO")
    figures = asyncio.run(_run(args.events, args.batch))
    log.info("bench done", **figures)
    return figures
