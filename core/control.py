"""A local control socket so ``omo plugins reload NAME`` reaches the running process.

The socket lives in the data folder with mode 0600: only the operator's account
can use it. One JSON request per connection, one JSON answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from core.errors import OmoError

if TYPE_CHECKING:
    from core.runtime import Runtime

log = structlog.get_logger("omo.control")


def socket_path(data_dir: Path) -> Path:
    """Where the control socket of a process using ``data_dir`` lives."""
    return data_dir / "control.sock"


async def _handle(runtime: Runtime, request: dict[str, Any]) -> dict[str, Any]:
    op = request.get("op")
    if op == "reload":
        report = await runtime.host.reload(str(request.get("plugin")))
        return {
            "ok": True,
            "plugin": report.plugin,
            "old_version": report.old_version,
            "new_version": report.new_version,
            "seconds": report.seconds,
        }
    if op == "status":
        return {
            "ok": True,
            "plugins": {
                n: {"state": str(r.state), "version": r.version, "error": r.error}
                for n, r in runtime.host.records.items()
            },
        }
    if op == "apply":
        return {"ok": await runtime.apply_plugins_file(), "error": runtime.plugins_file_error}
    return {"ok": False, "error": f"unknown op {op!r}"}


async def serve_control(runtime: Runtime) -> None:
    """Serve the control socket until cancelled."""
    path = socket_path(runtime.env.data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            raw = await asyncio.wait_for(reader.readline(), 5)
            request = json.loads(raw or b"{}")
            try:
                answer = await _handle(runtime, request)
            except OmoError as exc:
                answer = {"ok": False, "error": str(exc)}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (ValueError, TimeoutError, ConnectionError) as exc:
            log.warning("bad control request", error=str(exc))
        finally:
            writer.close()

    server = await asyncio.start_unix_server(client, path=str(path))
    path.chmod(0o600)
    async with server:
        await server.serve_forever()


async def send(data_dir: Path, request: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:  # noqa: ASYNC109
    """Send one request to the running process; raise OmoError if none is running."""
    path = socket_path(data_dir)
    try:
        reader, writer = await asyncio.open_unix_connection(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        raise OmoError(
            f"no running omo process found (no control socket at {path}); is `omo run` running "
            "with the same OMO_DATA_DIR?"
        ) from None
    writer.write(json.dumps(request).encode() + b"\n")
    await writer.drain()
    raw = await asyncio.wait_for(reader.readline(), timeout)
    writer.close()
    answer: dict[str, Any] = json.loads(raw)
    return answer
