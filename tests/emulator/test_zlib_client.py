"""zlib-stream end to end: a real discord.py in a subprocess where zstandard cannot be imported.

discord.py picks zstd-stream whenever zstandard is importable, so the only unpatched way to
make it use zlib-stream is an interpreter without zstandard.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap

from core.testing.emulator import Emulator, Guild

CLIENT = textwrap.dedent(
    """
    import sys
    sys.modules["zstandard"] = None  # not importable in this interpreter
    import asyncio, discord
    from discord.utils import _ActiveDecompressionContext
    from core.testing.emulator import point_discord_py_at

    async def main(base_url, token, guild_id):
        assert _ActiveDecompressionContext.COMPRESSION_TYPE == "zlib-stream"
        point_discord_py_at(base_url)
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        async with client:
            await client.login(token)
            task = asyncio.create_task(client.connect())
            await asyncio.wait_for(client.wait_until_ready(), 10)
            guild = client.get_guild(int(guild_id))
            sys.stdout.write(f"OK {guild.name}\\n")
            sys.stdout.flush()
        await asyncio.wait_for(task, 5)

    asyncio.run(main(*sys.argv[1:4]))
    """
)


async def test_zlib_stream_with_real_client(emulator: Emulator, guild: Guild) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CLIENT,
        emulator.base_url,
        emulator.bot_token,
        str(guild.id),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert out.decode().strip() == "OK Test Guild"
