"""Errors raised by the emulator: Discord-shaped API errors and test-facing failures."""

from __future__ import annotations

from typing import Any


class EmulatorError(Exception):
    """Base class for errors a test author sees from the emulator's control API."""


class EmulatorTimeout(EmulatorError, TimeoutError):
    """The bot did not do what a control call waited for within the timeout."""


class DiscordAPIError(Exception):
    """An error the emulated API answers with: HTTP status plus Discord's JSON error body."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        """The JSON body Discord sends for this error."""
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            data["errors"] = self.errors
        return data


def not_found_route() -> DiscordAPIError:
    """Discord's answer for a path it does not route."""
    return DiscordAPIError(404, 0, "404: Not Found")


def unauthorized() -> DiscordAPIError:
    """Discord's answer for a missing or wrong token."""
    return DiscordAPIError(401, 0, "401: Unauthorized")


def unknown(entity: str) -> DiscordAPIError:
    """404 for an unknown entity, with Discord's JSON error code for it."""
    code = UNKNOWN_CODES[entity]
    return DiscordAPIError(
        404, code, f"Unknown {entity.title() if entity != 'application command' else 'application command'}"
    )


UNKNOWN_CODES: dict[str, int] = {
    "account": 10001,
    "application": 10002,
    "channel": 10003,
    "guild": 10004,
    "integration": 10005,
    "invite": 10006,
    "member": 10007,
    "message": 10008,
    "overwrite": 10009,
    "role": 10011,
    "token": 10012,
    "user": 10013,
    "emoji": 10014,
    "webhook": 10015,
    "interaction": 10062,
    "application command": 10063,
}


def missing_permissions() -> DiscordAPIError:
    """403 code 50013, what Discord answers when a permission or the role hierarchy forbids an action."""
    return DiscordAPIError(403, 50013, "Missing Permissions")


def missing_access() -> DiscordAPIError:
    """403 code 50001: the bot cannot see the resource."""
    return DiscordAPIError(403, 50001, "Missing Access")


def already_acknowledged() -> DiscordAPIError:
    """400 code 40060: the interaction was already answered."""
    return DiscordAPIError(400, 40060, "Interaction has already been acknowledged.")


def empty_message() -> DiscordAPIError:
    """400 code 50006: a message with nothing in it."""
    return DiscordAPIError(400, 50006, "Cannot send an empty message")


def invalid_form_body(errors: dict[str, Any]) -> DiscordAPIError:
    """400 code 50035 with Discord's nested ``errors`` object.

    ``errors`` maps a field path (``"content"`` or ``"embeds.0.title"``) to
    ``(code, message)``; it is expanded into Discord's ``{"field": {"_errors": [...]}}`` shape.
    """
    tree: dict[str, Any] = {}
    for path, (code, message) in errors.items():
        node = tree
        for part in path.split("."):
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": code, "message": message})
    return DiscordAPIError(400, 50035, "Invalid Form Body", tree)
