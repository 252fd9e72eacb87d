"""CSRF protection for every state-changing request made with the session cookie.

The token is an HMAC of the login session id under the app's secret key: one token per
session, nothing to store, still valid after a restart, useless for any other session.

Contract for templates and plugin blueprints:

- ``{{ csrf_field() }}`` inside a ``<form method="post">`` renders the hidden ``csrf_token`` input;
- ``base.html`` carries ``<meta name="csrf-token" content="...">``; ``fetch`` calls send it in the
  ``X-CSRF-Token`` header (``webadmin/static/omo.js`` does so for ``omoFetch``);
- enforcement is app-wide (:func:`enforce_csrf` runs before every request): POST, PUT, PATCH and
  DELETE requests that carry the session cookie need a valid token in the form field or the header,
  otherwise 403. Requests with an operator bearer token and no session cookie are exempt.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import structlog
from markupsafe import Markup
from quart import Quart, current_app, g, request

log = structlog.get_logger("omo.web.csrf")

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def token_for(session_id: str, secret_key: str | bytes) -> str:
    """The CSRF token of login session ``session_id``."""
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(key, b"omo-csrf\x00" + session_id.encode(), hashlib.sha256).hexdigest()


def _session_id() -> str | None:
    from webadmin.auth import session_id_from_cookie

    return session_id_from_cookie()


def csrf_token() -> str:
    """The token of the current request's login session ("" when nobody is logged in)."""
    session_id = _session_id()
    if session_id is None:
        return ""
    cached = g.get("omo_csrf")
    if cached is not None and cached[0] == session_id:
        return cached[1]  # type: ignore[no-any-return]
    token = token_for(session_id, current_app.secret_key or "")
    g.omo_csrf = (session_id, token)
    return token


_FIELD_START = Markup('<input type="hidden" name="csrf_token" value="')  # name: FIELD
_FIELD_END = Markup('">')


def csrf_field() -> Markup:
    """The hidden form input carrying the CSRF token (a Jinja global; built once per request)."""
    token = csrf_token()
    cached: tuple[str, Markup] | None = g.get("omo_csrf_field")
    if cached is None or cached[0] != token:
        cached = g.omo_csrf_field = (token, _FIELD_START + token + _FIELD_END)  # Markup + str escapes the str
    return cached[1]


def valid_token(candidate: str | None) -> bool:
    """Whether ``candidate`` is the token of the current login session."""
    expected = csrf_token()
    return bool(expected and candidate) and hmac.compare_digest(expected, str(candidate))


async def enforce_csrf() -> Any:
    """``before_request``: refuse a state change made with the session cookie and no valid token."""
    if request.method not in UNSAFE_METHODS:
        return None
    if _session_id() is None:
        # no (valid) session cookie: no ambient authority to abuse; bearer/anonymous checks happen later
        return None
    candidate = request.headers.get(HEADER)
    if not candidate:
        content_type = request.mimetype or ""
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            candidate = (await request.form).get(FIELD)
    if valid_token(candidate):
        return None
    log.warning("csrf token missing or invalid", path=request.path, method=request.method)
    from webadmin.errors import error_response

    return await error_response(
        403,
        "csrf token missing or invalid",
        "This form has expired or did not come from this site. Reload the page and try again.",
    )


def init_csrf(app: Quart) -> None:
    """Install the Jinja globals and the app-wide check on ``app``."""
    app.jinja_env.globals["csrf_field"] = csrf_field
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.before_request(enforce_csrf)
