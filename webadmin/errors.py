"""Error answers: JSON ``{"error": ..., "detail": ...}`` for API calls, an HTML page for browsers."""

from __future__ import annotations

from typing import Any

from quart import Response, jsonify, render_template, request

TITLES = {
    400: "Bad request",
    401: "Log in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    429: "Slow down",
    500: "Something went wrong",
    502: "Discord did not answer",
    503: "Unavailable",
}


def wants_json() -> bool:
    """API paths (``/api/...`` and plugin ``.../api/...`` routes) and clients asking for JSON get JSON."""
    path = request.path
    if path.startswith("/api/") or "/api/" in path:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


async def error_response(
    status: int, error: str, message: str | None = None, *, detail: Any = None, **page: Any
) -> Response:
    """A response for ``status``: JSON for API callers, ``error.html`` otherwise.

    ``error`` is a short machine-readable reason; ``message`` the sentence shown to a person
    (also the JSON ``detail`` unless ``detail`` is given).
    """
    if wants_json():
        response = jsonify({"error": error, "detail": detail if detail is not None else message})
        response.status_code = status
        return response
    if status == 401:
        page.setdefault("login_link", "/auth/login?next=" + _quote_next())
    body = await render_template(
        "error.html",
        status=status,
        title=page.pop("title", TITLES.get(status, "Error")),
        message=message or error,
        **page,
    )
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def _quote_next() -> str:
    from urllib.parse import quote

    return quote(request.full_path.rstrip("?") if request.method == "GET" else "/guilds", safe="")
