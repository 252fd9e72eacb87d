"""Answers to app commands that reach the member even when Discord refuses the interaction callback.

Discord accepts the first answer to an interaction (the callback) for 3 seconds only; follow-ups then
work for 15 minutes once the interaction is acknowledged. discord.py retries a refused callback after
1 s and then 3 s (or after a 429's ``retry_after``), past that window, and the answer is lost. Core
installs :class:`ResilientResponse` as ``interaction.response`` of every app command, which:

- sends each callback in one attempt (:class:`SingleAttemptCallbacks`) and retries on its own clock,
  quickly, while the window is open;
- when the answer's callback is refused once (a 5xx, a 429, a network error), acknowledges instead
  (a "thinking" defer, ephemeral like the answer) and delivers the answer as a follow-up;
- acknowledges a command still silent after :data:`AUTO_DEFER_AFTER` seconds (ephemerally: the
  answer then shows only to the member, unless the command says ``extras={"omo_answer": "public"}``),
  so a slow command's answer arrives as a follow-up.

What can still be lost (see docs/plugins.md): an answer whose every acknowledgement Discord refuses
for the whole window (e.g. 429s of one second from the first attempt to the last) — Discord offers no way to
answer an expired
interaction; this is logged as ``interaction answer lost`` —, and a modal a command opens after it was
acknowledged (a modal must be the first answer).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import aiohttp
import discord
import structlog
from discord.http import Route, json_or_text
from discord.utils import MISSING
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

log = structlog.get_logger("omo.interactions")

T = TypeVar("T")

#: Seconds after receipt within which a callback may still start (Discord's window is 3 s from creation).
ACK_WINDOW = 2.5
#: A command that has not answered this many seconds after receipt is acknowledged for it.
AUTO_DEFER_AFTER = 2.0
#: Pause before retrying a refused callback (doubled each time, at most :data:`MAX_PAUSE`).
FIRST_PAUSE = 0.1
MAX_PAUSE = 0.5
#: Keyword arguments of ``InteractionResponse.send_message`` that a follow-up also takes.
FOLLOW_UP_ARGS = frozenset(
    {"embed", "embeds", "file", "files", "view", "tts", "ephemeral", "allowed_mentions", "suppress_embeds", "silent"}
)


class SingleAttemptCallbacks(AsyncWebhookAdapter):
    """discord.py's webhook adapter, except that an interaction callback is sent once, without its retry sleeps
    (the caller retries within Discord's window); every other webhook request is discord.py's own."""

    async def request(self, route: Route, session: aiohttp.ClientSession, **kwargs: Any) -> Any:  # type: ignore[override]
        """One attempt for ``POST /interactions/{id}/{token}/callback``; other routes as discord.py does."""
        if not route.path.endswith("/callback"):
            return await super().request(route, session, **kwargs)
        headers: dict[str, str] = {}
        body: Any = None
        if kwargs.get("payload") is not None:
            headers["Content-Type"] = "application/json"
            body = discord.utils._to_json(kwargs["payload"])
        for file in kwargs.get("files") or []:
            file.reset(seek=True)  # a retry sends the file from its start again
        if kwargs.get("multipart"):
            form = aiohttp.FormData(quote_fields=False)
            for part in kwargs["multipart"]:
                form.add_field(**part)
            body = form
        async with session.request(
            route.method,
            route.url,
            data=body,
            headers=headers,
            params=kwargs.get("params"),
            proxy=kwargs.get("proxy"),
            proxy_auth=kwargs.get("proxy_auth"),
        ) as response:
            data = await json_or_text(response)
            if 200 <= response.status < 300:
                return data
            if response.status >= 500:
                raise discord.DiscordServerError(response, data)
            if response.status == 403:
                raise discord.Forbidden(response, data)
            if response.status == 404:
                raise discord.NotFound(response, data)
            raise discord.HTTPException(response, data)


_single_attempt = SingleAttemptCallbacks()


@contextlib.contextmanager
def single_attempt_callbacks() -> Iterator[None]:
    """Within the block, interaction callbacks of this task are sent in one attempt."""
    token = async_context.set(_single_attempt)
    try:
        yield
    finally:
        async_context.reset(token)


def _retry_pause(exc: BaseException, attempt: int) -> float | None:
    """How long to wait before trying a refused callback again; None when retrying cannot help."""
    if isinstance(exc, aiohttp.ClientError | TimeoutError):
        return min(FIRST_PAUSE * 2**attempt, MAX_PAUSE)
    if not isinstance(exc, discord.HTTPException):
        return None
    if exc.status == 429:
        try:
            return float(exc.response.headers.get("Retry-After", "1"))
        except ValueError:
            return 1.0
    if exc.status >= 500:
        return min(FIRST_PAUSE * 2**attempt, MAX_PAUSE)
    return None


def _refused(exc: BaseException) -> bool:
    return _retry_pause(exc, 0) is not None


class ResilientResponse(discord.InteractionResponse):  # type: ignore[type-arg]
    """``interaction.response`` for app commands: callbacks retried within Discord's window, an answer whose
    callback is refused sent as a follow-up after an acknowledgement, slow commands acknowledged in time."""

    def __init__(self, parent: discord.Interaction, *, received: float) -> None:
        super().__init__(parent)
        self._omo_lock = asyncio.Lock()
        self._omo_deadline = received + ACK_WINDOW
        self._omo_acknowledged = False  # acknowledged by us: answers go out as follow-ups
        #: Whether core's acknowledgement of a slow command is ephemeral (see :func:`answer_is_public`).
        self.auto_defer_ephemeral = True
        self._omo_timer: asyncio.TimerHandle | None = None
        self._omo_tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------------------ the auto-defer
    def acknowledge_if_silent_after(self, delay: float) -> None:
        """Acknowledge the interaction (ephemerally) if nothing answered it within ``delay`` seconds."""
        loop = asyncio.get_running_loop()

        def fire() -> None:
            task = loop.create_task(self._acknowledge_if_silent())
            self._omo_tasks.add(task)
            task.add_done_callback(self._omo_tasks.discard)

        self._omo_timer = loop.call_later(delay, fire)

    def stop_timer(self) -> None:
        """The command has finished: no acknowledgement on its behalf any more."""
        if self._omo_timer is not None:
            self._omo_timer.cancel()

    async def _acknowledge_if_silent(self) -> None:
        async with self._omo_lock:
            if self.is_done():
                return
            try:
                await self._within_window(
                    lambda: discord.InteractionResponse.defer(self, ephemeral=self.auto_defer_ephemeral, thinking=True)
                )
            except Exception as exc:  # noqa: BLE001 - the command's own answer may still get through
                log.warning("could not acknowledge a slow command", interaction_id=self._parent.id, error=str(exc))
                return
            self._omo_acknowledged = True
            log.info("slow command acknowledged; its answer follows as a follow-up", interaction_id=self._parent.id)

    # ------------------------------------------------------------------------------ retries
    async def _within_window(self, send: Callable[[], Awaitable[T]], *, first_error: BaseException | None = None) -> T:
        """Run one callback, retrying quickly while Discord's window is open (a last try at its end, even before
        a 429's ``retry_after`` is over: the window will not wait); the last error once it has closed."""
        loop = asyncio.get_running_loop()
        attempt = 0
        error = first_error
        while True:
            if error is not None:
                pause = _retry_pause(error, attempt)
                if pause is None:
                    raise error
                left = self._omo_deadline - loop.time()
                if left <= 0:
                    log.error(
                        "interaction answer lost: Discord refused every acknowledgement within its 3-second window",
                        interaction_id=self._parent.id,
                        status=getattr(error, "status", None),
                        error=str(error),
                    )
                    raise error
                await asyncio.sleep(min(pause, left))
                attempt += 1
            try:
                with single_attempt_callbacks():
                    return await send()
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
                error = exc

    # ------------------------------------------------------------------------------ answers
    async def defer(self, *, ephemeral: bool = False, thinking: bool = False) -> Any:
        """discord.py's ``defer``, retried within the window; nothing to do once core acknowledged."""
        async with self._omo_lock:
            if self._omo_acknowledged:
                return None
            return await self._within_window(
                lambda: discord.InteractionResponse.defer(self, ephemeral=ephemeral, thinking=thinking)
            )

    async def send_message(self, content: Any = None, **kwargs: Any) -> Any:
        """discord.py's ``send_message``; if its callback is refused, acknowledge and send it as a follow-up."""
        async with self._omo_lock:
            if not self._omo_acknowledged:
                try:
                    with single_attempt_callbacks():
                        return await discord.InteractionResponse.send_message(self, content, **kwargs)
                except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
                    if not _refused(exc):
                        raise
                    log.warning(
                        "interaction answer refused; acknowledging and sending it as a follow-up",
                        interaction_id=self._parent.id,
                        status=getattr(exc, "status", None),
                    )
                    ephemeral = bool(kwargs.get("ephemeral", False))
                    await self._within_window(
                        lambda: discord.InteractionResponse.defer(self, ephemeral=ephemeral, thinking=True),
                        first_error=exc,
                    )
                    self._omo_acknowledged = True
            return await self._follow_up(content, kwargs)

    async def _follow_up(self, content: Any, kwargs: dict[str, Any]) -> Any:
        delete_after = kwargs.get("delete_after")
        extra = {k: v for k, v in kwargs.items() if k in FOLLOW_UP_ARGS and v is not MISSING}
        send: Any = self._parent.followup.send
        message = await send(content if content is not None else MISSING, wait=delete_after is not None, **extra)
        if delete_after is not None and message is not None:
            await message.delete(delay=delete_after)
        return message


def answer_is_public(command: Any) -> bool:
    """Whether an app command declares that its answers are public (``extras={"omo_answer": "public"}``): then
    core's acknowledgement of it, when it is slow, is public too."""
    extras = getattr(command, "extras", None)
    return isinstance(extras, dict) and extras.get("omo_answer") == "public"


def install(
    interaction: discord.Interaction, *, auto_defer_after: float | None = AUTO_DEFER_AFTER
) -> ResilientResponse:
    """Make ``interaction.response`` a :class:`ResilientResponse` (before anything answered it); with
    ``auto_defer_after``, a command still silent after that many seconds is acknowledged."""
    response = ResilientResponse(interaction, received=asyncio.get_running_loop().time())
    interaction._cs_response = response  # type: ignore[attr-defined]  # discord.py caches the property here
    if auto_defer_after is not None:
        response.acknowledge_if_silent_after(auto_defer_after)
    return response
